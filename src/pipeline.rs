//! The pipeline's library entry points: build the curated national tables from a data folder
//! (with the normalization summary) and write them. The CLI's subcommands only call these.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use polars::prelude::DataFrame;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::geo::Geography;
use crate::progress::Progress;
use crate::schema;
use crate::sinks::{parquet, write_json, Provenance};
use crate::snapshot;
use crate::sources::decoupage::{self, Cog};
use crate::sources::{self, boundaries, DataDir};
use crate::transforms::cog::CogIndex;
use crate::transforms::curated::{self, Curated};

pub const COMMUNES_FILE: &str = "communes.parquet";
pub const REPORT_FILE: &str = "normalization_report.json";
/// The COG 2026 reference the curated table was built on (units, former codes, EPCI, names):
/// territories resolve against it, so a folder of `build` output needs no data folder.
pub const COG_FILE: &str = "cog.json.gz";
/// What the snapshot holds and from which vintages (`build --snapshot`).
pub const SNAPSHOT_INFO_FILE: &str = "snapshot.json";
/// Where `build --snapshot` writes, relative to the checkout; the binary embeds it.
pub const SNAPSHOT_DIR: &str = "data/snapshot";

/// Where the curated tables of a run came from.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    /// `build` output folder.
    Processed(PathBuf),
    /// Built in memory from the published files of a data folder.
    DataFolder(PathBuf),
    /// The national snapshot embedded in the binary.
    Snapshot,
}

/// The curated national table and the COG it was built on.
pub struct Inputs {
    pub cog: Cog,
    pub communes: DataFrame,
    pub origin: Origin,
}

/// Build the curated tables in memory, printing the normalization summary.
pub fn build_curated(data: &DataDir, progress: &mut Progress) -> Result<Curated> {
    build_curated_with(data, &curated::Options::default(), progress)
}

pub fn build_curated_with(data: &DataDir, opts: &curated::Options, progress: &mut Progress) -> Result<Curated> {
    progress.say(&format!("reading published files from {}", data.root.display()));
    let c = curated::build_with(data, opts, &mut |s| progress.step(s))?;
    for r in &c.reports {
        progress.say(&format!("  {}", r.one_line()));
        // The fetched sources' notes carry what was not attributed (RPPS without commune) or masked.
        if ["rpps", "insee_age", "ameli_ald_sans_mt"].contains(&r.source.as_str()) {
            progress.say(&format!("    {}", r.coverage_note));
        }
        if let Some(k) = r.contract.as_ref().filter(|k| k.masked_rows > 0) {
            progress.say(&format!(
                "warning: {}: {} rows with values {}, left null; indicators over them are unavailable (lines in {REPORT_FILE})",
                r.source,
                k.masked_rows,
                crate::sources::contract::MASKED_REASON
            ));
        }
    }
    let remapped: usize = c.reports.iter().map(|r| r.codes_remapped.len()).sum();
    let unknown: usize = c.reports.iter().map(|r| r.codes_unknown.len()).sum();
    let without: usize = c.reports.iter().map(|r| r.communes_without_data.len()).sum();
    progress.say(&format!(
        "normalization to COG 2026: {} sources, {remapped} former codes remapped, {unknown} unknown codes, \
         {without} commune gaps (details in {REPORT_FILE})",
        c.reports.len()
    ));
    Ok(c)
}

pub fn write_curated(out: &Path, c: &Curated) -> Result<Vec<PathBuf>> {
    write_curated_with(out, c, &Provenance::new(sources::all()))
}

pub fn write_curated_with(out: &Path, c: &Curated, prov: &Provenance) -> Result<Vec<PathBuf>> {
    crate::atomic::clean_temp_leftovers(out);
    let p = out.join(COMMUNES_FILE);
    parquet::write(&p, &mut c.communes.clone(), prov, &schema::COMMUNES)?;
    let r = out.join(REPORT_FILE);
    write_json(&r, &serde_json::json!({ "provenance": prov, "sources": c.reports }))?;
    let g = out.join(COG_FILE);
    write_cog(&g, &c.cog)?;
    Ok(vec![p, r, g])
}

/// The national boundaries in COG 2026, or `None` (with a visible line) when the file is absent.
pub fn load_geography(data: &DataDir, index: &CogIndex, progress: &mut Progress) -> Result<Option<Geography>> {
    if !data.exists(boundaries::META.file) {
        progress.say(&format!(
            "warning: {} not found in {}: no maps, neighbours or sizing advice (cpts-diag fetch {})",
            boundaries::META.file,
            data.root.display(),
            boundaries::META.id
        ));
        return Ok(None);
    }
    progress.step("reading commune boundaries (IGN 2018)");
    let g = Geography::load(data, index)?;
    if !g.unknown_codes.is_empty() {
        progress.say(&format!(
            "warning: {} boundary codes unknown to COG 2026, not drawn: {}",
            g.unknown_codes.len(),
            g.unknown_codes.join(", ")
        ));
    }
    Ok(Some(g))
}

/// The COG as gzip JSON; level 9 and no timestamp in the gzip header, so a rebuild gives the same bytes.
pub fn write_cog(path: &Path, cog: &Cog) -> Result<()> {
    let json = serde_json::to_vec(cog).map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
    let mut z = GzEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&json).map_err(|e| Error::io(path, e))?;
    let bytes = z.finish().map_err(|e| Error::io(path, e))?;
    crate::sinks::write_bytes(path, &bytes)
}

pub fn read_cog(bytes: &[u8], origin: &Path) -> Result<Cog> {
    let mut json = Vec::new();
    GzDecoder::new(bytes)
        .read_to_end(&mut json)
        .map_err(|e| Error::data(crate::error::Location::file(origin), format!("not a whole gzip stream: {e}")))?;
    serde_json::from_slice(&json).map_err(|e| {
        Error::data(
            crate::error::Location::file(origin),
            format!("not the COG of this version of cpts-diag ({e}): run `cpts-diag build` again"),
        )
    })
}

fn read_stored(processed: &Path, data: &DataDir, progress: &mut Progress) -> Result<Option<Inputs>> {
    let path = processed.join(COMMUNES_FILE);
    if !path.is_file() {
        return Ok(None);
    }
    progress.step(&format!("reading {}", path.display()));
    let df = parquet::read(&path)?;
    // A curated table from another version of the tool may lack columns: rebuild rather than
    // compute on a stale shape.
    if let Err(e) = parquet::check_schema(&path, &df, &schema::COMMUNES) {
        progress.say(&format!("warning: {e}\n  not used: run `cpts-diag build` again"));
        return Ok(None);
    }
    let cog_path = processed.join(COG_FILE);
    let cog = if cog_path.is_file() {
        read_cog(&std::fs::read(&cog_path).map_err(|e| Error::io(&cog_path, e))?, &cog_path)?
    } else {
        Cog::load(data)?
    };
    Ok(Some(Inputs { cog, communes: df, origin: Origin::Processed(processed.to_path_buf()) }))
}

/// The curated inputs of `diagnose`, `batch` and `map`, from the first place that has them:
/// `build` output in `processed`, else the published files of the data folder (built in memory),
/// else the national snapshot embedded in the binary, which a bare clone or `cargo install` has.
pub fn load_inputs(processed: &Path, data: &DataDir, progress: &mut Progress) -> Result<Inputs> {
    if let Some(i) = read_stored(processed, data, progress)? {
        return Ok(i);
    }
    if data.exists(decoupage::COMMUNES.file) {
        progress.say(&format!(
            "{} not found: building the curated tables in memory from {}",
            processed.join(COMMUNES_FILE).display(),
            data.root.display()
        ));
        let c = build_curated(data, progress)?;
        return Ok(Inputs { cog: c.cog, communes: c.communes, origin: Origin::DataFolder(data.root.clone()) });
    }
    progress.say(&format!(
        "no build output in {} and no data folder at {}: using the built-in national snapshot ({})",
        processed.display(),
        data.root.display(),
        snapshot_info()?.vintages_line()
    ));
    progress.step("reading the built-in snapshot");
    Ok(Inputs {
        cog: read_cog(snapshot::COG, Path::new(SNAPSHOT_DIR).join(COG_FILE).as_path())?,
        communes: parquet::read_bytes(snapshot::COMMUNES)?,
        origin: Origin::Snapshot,
    })
}

/// `snapshot.json`: the sources and vintages a snapshot was built from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SnapshotInfo {
    pub built_by: String,
    pub tool_version: String,
    pub geography: String,
    pub sources: Vec<SnapshotSource>,
    pub files: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SnapshotSource {
    pub id: String,
    pub title: String,
    pub vintage: String,
    pub licence: String,
}

impl SnapshotInfo {
    /// "COG 2026; cog_communes populations légales millésime 2023; …" for the one line a run prints.
    pub fn vintages_line(&self) -> String {
        let mut parts = vec![self.geography.clone()];
        parts.extend(self.sources.iter().map(|s| format!("{}: {}", s.id, s.vintage)));
        parts.join("; ")
    }
}

pub fn snapshot_info() -> Result<SnapshotInfo> {
    serde_json::from_str(snapshot::INFO).map_err(|e| {
        Error::Config(format!("{SNAPSHOT_DIR}/{SNAPSHOT_INFO_FILE}: {e} (run `cpts-diag build --snapshot`)"))
    })
}

/// Write the snapshot folder: the `build` outputs that `diagnose`, `batch` and `map` need, and
/// `snapshot.json`. Every file is deterministic, so a test can rebuild it and compare bytes.
pub fn write_snapshot(out: &Path, c: &Curated) -> Result<Vec<PathBuf>> {
    let prov = Provenance::new(sources::all());
    let mut written = write_curated_with(out, c, &prov)?;
    let read: Vec<&str> = c.reports.iter().map(|r| r.source.as_str()).collect();
    let sources = sources::all()
        .into_iter()
        .filter(|m| m.id.starts_with("cog_") || read.iter().any(|r| r == &m.id || r.starts_with(&format!("{}_", m.id))))
        .map(|m| SnapshotSource {
            id: m.id.to_string(),
            title: m.title.to_string(),
            vintage: m.vintage.to_string(),
            licence: m.licence.to_string(),
        })
        .collect();
    let mut files: Vec<String> =
        written.iter().filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned())).collect();
    files.sort();
    let info = SnapshotInfo {
        built_by: "cpts-diag build --snapshot".into(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        geography: "COG 2026".into(),
        sources,
        files,
    };
    let p = out.join(SNAPSHOT_INFO_FILE);
    write_json(&p, &info)?;
    written.push(p);
    Ok(written)
}
