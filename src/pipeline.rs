//! The pipeline's library entry points: build the curated national tables from a data folder
//! (with the normalization summary) and write them. The CLI's subcommands only call these.

use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use polars::prelude::{DataFrame, ParquetCompression};
use serde::{Deserialize, Serialize};

use crate::atomic::Staged;
use crate::error::{Error, Result};
use crate::geo::{geoparquet, Geography, StoredGeography};
use crate::progress::Progress;
use crate::schema;
use crate::sinks::{mapped, parquet, write_json, Provenance};
use crate::snapshot;
use crate::sources::decoupage::{self, Cog};
use crate::sources::{self, boundaries, DataDir};
use crate::transforms::cog::CogIndex;
use crate::transforms::curated::{self, Curated};

pub const COMMUNES_FILE: &str = "communes.parquet";
pub const REPORT_FILE: &str = "normalization_report.json";
/// GeoParquet 1.1 geometry of every COG 2026 unit with a polygon (see `geo::geoparquet`).
pub const GEOMETRY_FILE: &str = "geometry.parquet";
/// The COG 2026 reference the curated table was built on (units, former codes, EPCI, names):
/// territories resolve against it, so a folder of `build` output needs no data folder.
pub const COG_FILE: &str = "cog.postcard.gz";
/// First bytes of the COG file: a stale file from another layout of [`Cog`] is refused, not
/// misread (postcard is not self-describing). Change it with any field of `decoupage::Cog`.
const COG_MAGIC: &[u8] = b"cpts-diag COG postcard v1\n";
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
    /// The index of `cog`, built on the thread that reads it, while polars reads the table.
    pub index: CogIndex,
    pub communes: DataFrame,
    pub origin: Origin,
    /// The boundaries the tables were just built from, in memory from the data folder, for
    /// [`load_geography_from`]: the GeoJSON is then parsed once, not twice. `None` otherwise.
    pub boundaries: Option<boundaries::Boundaries>,
}

/// The COG and its index, from the bytes of `cog.postcard.gz`.
fn read_cog_indexed(bytes: &[u8], origin: &Path) -> Result<(Cog, CogIndex)> {
    let cog = read_cog(bytes, origin)?;
    let index = CogIndex::new(&cog);
    Ok((cog, index))
}

/// Build the curated tables in memory, printing the normalization summary.
pub fn build_curated(data: &DataDir, progress: &mut Progress) -> Result<Curated> {
    build_curated_with(data, &curated::Options::default(), progress)
}

pub fn build_curated_with(data: &DataDir, opts: &curated::Options, progress: &mut Progress) -> Result<Curated> {
    build_and_report(data, opts, None, progress)
}

/// Where `build` writes: its output folder, read back by every later run, or the snapshot that
/// the binary embeds. They differ in how hard the files are compressed, and only the output folder
/// has the curated table's mapped copy (`sinks::mapped`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Processed,
    Snapshot,
}

impl Target {
    /// `cog.postcard.gz`: level 9 was ~5 % of `build`'s CPU for 20 % fewer bytes, worth it only
    /// in the binary.
    fn cog_level(self) -> flate2::Compression {
        match self {
            Target::Processed => flate2::Compression::fast(),
            Target::Snapshot => flate2::Compression::best(),
        }
    }

    /// `geometry.parquet`: uncompressed. The WKB of coordinates compresses little (LZ4: 20.4 →
    /// 15.2 MB; zstd: 8 MB), and compressing was `build`'s last ~50 ms of CPU, after every other
    /// table (zstd: 6 % of its CPU samples); `diagnose` reads it as fast (BENCHMARKS.md, eleventh
    /// round). The snapshot keeps zstd, since the binary carries it.
    fn geometry_codec(self) -> ParquetCompression {
        match self {
            Target::Processed => ParquetCompression::Uncompressed,
            Target::Snapshot => ParquetCompression::Zstd(None),
        }
    }
}

/// `build`: the curated tables read and written to `out` (the snapshot's files when `target` is
/// [`Target::Snapshot`]). The geometry table is encoded and written beside its place on a thread
/// of its own from the moment the boundaries' thread has placed the shapes, while the curated
/// table is finished and the other tables are written (its encoding was the last ~90 ms before
/// them); it is put in place with them, and removed if the build fails.
pub fn build_and_write(
    data: &DataDir,
    prov: &Provenance,
    target: Target,
    out: &Path,
    progress: &mut Progress,
) -> Result<(Curated, Vec<PathBuf>)> {
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Geography>(1);
        let path = out.join(GEOMETRY_FILE);
        let encoder = std::thread::Builder::new()
            .name("encode-geometry".into())
            .spawn_scoped(s, move || rx.recv().ok().map(|g| stage_geometry_of(&path, g, prov, target)).transpose())
            .expect("spawn a thread");
        let sink: curated::GeometrySink = Box::new(move |b, index| {
            // The receiver is gone only if the encoder panicked; its join says so.
            let _ = tx.send(Geography::new(b, index));
        });
        let c = build_and_report(data, &curated::Options::default(), Some(sink), progress);
        let encoded = || encoder.join().expect("geometry encoder panicked");
        let c = match c {
            Ok(c) => c,
            Err(e) => {
                // What the encoder wrote is removed (its `Staged` dropped uncommitted).
                let _ = encoded();
                return Err(e);
            }
        };
        progress.step("writing Parquet");
        let written = match target {
            Target::Processed => write_tables(out, &c, prov, target, Some(Box::new(encoded)))?,
            Target::Snapshot => write_snapshot_with(out, &c, Some(Box::new(encoded)))?,
        };
        Ok((c, written))
    })
}

fn build_and_report(
    data: &DataDir,
    opts: &curated::Options,
    sink: Option<curated::GeometrySink>,
    progress: &mut Progress,
) -> Result<Curated> {
    progress.say(&format!("reading published files from {}", data.root.display()));
    let c = curated::build_with_sink(data, opts, sink, &mut |s| progress.step(s))?;
    for r in &c.reports {
        progress.say(&format!("  {}", r.one_line()));
        // The fetched sources' notes carry what was not attributed (RPPS without commune) or masked.
        if ["rpps", "insee_age", "ameli_ald_sans_mt"].contains(&r.source.as_str()) {
            progress.say(&format!("    {}", r.coverage_note));
        }
        if let Some(c) = &r.comparison {
            let pct = |k: &str| c[k]["difference_pct"].as_f64().map_or("n.d.".into(), |v| format!("{v:+.2} %"));
            progress.say(&format!(
                "    boundary areas vs INSEE: median |difference| {} % over {} units; département 28 {}, Chartres 28085 {} ({} vs {} km²)",
                c["france"]["median_abs_difference_pct"],
                c["france"]["units_compared"],
                pct("departement_28"),
                pct("chartres_28085"),
                c["chartres_28085"]["boundaries_km2"],
                c["chartres_28085"]["insee_km2"],
            ));
            if let Some(list) = c["largest_differences"].as_array().filter(|l| !l.is_empty()) {
                let codes: Vec<String> = list
                    .iter()
                    .map(|o| format!("{} ({:+} %)", o["code"].as_str().unwrap_or("?"), o["difference_pct"]))
                    .collect();
                progress.say(&format!(
                    "warning: {} polygons differ from INSEE's area by more than half (water areas drawn in, or not the whole commune; listed in {REPORT_FILE}), largest: {}",
                    c["units_over_50_pct"],
                    codes.join(", ")
                ));
            }
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
    say_geometry_warnings(&c.geometry_warnings, progress);
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

/// Write the curated tables, and the geometry table when the boundaries were read.
pub fn write_curated_with(out: &Path, c: &Curated, prov: &Provenance) -> Result<Vec<PathBuf>> {
    write_tables(out, c, prov, Target::Processed, None)
}

/// The geometry table being written elsewhere (`build`), or `None` when there is none.
type Encoded<'a> = Box<dyn FnOnce() -> Result<Option<Staged>> + 'a>;

/// [`write_curated_with`], compressed for `target`; the geometry table from `encoded` when given.
fn write_tables(
    out: &Path,
    c: &Curated,
    prov: &Provenance,
    target: Target,
    encoded: Option<Encoded<'_>>,
) -> Result<Vec<PathBuf>> {
    crate::atomic::clean_temp_leftovers(out);
    // The staged sources are freed: returned before the writers allocate their buffers.
    crate::memory::release_freed();
    let p = out.join(COMMUNES_FILE);
    let g = out.join(GEOMETRY_FILE);
    // The geometry table (WKB of every polygon) is as long to write as the rest together: encoded
    // by `build` while it stages ([`build_and_write`]), else on its own thread.
    let (wrote_geometry, copy) = std::thread::scope(|s| -> Result<(bool, Option<PathBuf>)> {
        let geometry = c.boundaries.as_ref().map(|b| {
            std::thread::Builder::new()
                .name("write-geometry".into())
                .spawn_scoped(s, || write_geometry(&g, &Geography::new(b.clone(), &c.index), prov, target))
                .expect("spawn a thread")
        });
        // The mapped copy every later run reads (`sinks::mapped`), then the COG, written beside the
        // Parquet: the copy writes the columns from where they are, so it and the Parquet stay
        // under `build`'s peak together. The embedded snapshot has no copy.
        let beside = std::thread::Builder::new()
            .name("write-copy-cog".into())
            .spawn_scoped(s, || -> Result<Option<(Staged, u64)>> {
                let copy = (target == Target::Processed).then(|| mapped::stage(&p, &c.communes)).transpose()?;
                write_cog(&out.join(COG_FILE), &c.cog, target.cog_level())?;
                Ok(copy)
            })
            .expect("spawn a thread");
        parquet::write_for_reading(&p, &mut c.communes.clone(), prov, &schema::COMMUNES)?;
        let copy = beside.join().expect("the copy and COG writer panicked")?;
        let mut wrote = geometry.is_some();
        if let Some(t) = geometry {
            t.join().expect("geometry writer panicked")?;
        }
        if let Some(staged) = encoded.map(|e| e()).transpose()?.flatten() {
            staged.commit()?;
            wrote = true;
        }
        let copy = copy.map(|staged| mapped::commit(staged, &p)).transpose()?;
        Ok((wrote, copy))
    })?;
    let mut written = vec![p];
    written.extend(copy);
    if wrote_geometry {
        written.push(g);
    }
    let r = out.join(REPORT_FILE);
    write_json(
        &r,
        &serde_json::json!({ "provenance": prov, "sources": c.reports, "geometry_warnings": c.geometry_warnings }),
    )?;
    written.push(r);
    written.push(out.join(COG_FILE));
    Ok(written)
}

/// Write the GeoParquet geometry table of `g`, a row group at a time.
pub fn write_geometry(path: &Path, g: &Geography, prov: &Provenance, target: Target) -> Result<()> {
    let table = geoparquet::table(g);
    stage_geometry(path, table.meta.clone(), table.groups(), prov, target)?.commit()
}

/// The geometry table as bytes (what the snapshot embeds, and what `build` writes).
pub fn geometry_bytes(g: &Geography, prov: &Provenance, target: Target) -> Result<Vec<u8>> {
    let table = geoparquet::table(g);
    encode_geometry(table.meta.clone(), table.groups(), prov, target)
}

/// The geometry table of a geography given up, written beside `path` (not held in memory): its
/// units are freed as they are encoded, while `build`'s other threads are at their own peak.
fn stage_geometry_of(path: &Path, g: Geography, prov: &Provenance, target: Target) -> Result<Staged> {
    let table = geoparquet::Table::of_owned(g);
    stage_geometry(path, table.meta.clone(), table.groups(), prov, target)
}

fn stage_geometry(
    path: &Path,
    meta: String,
    groups: impl Iterator<Item = Result<DataFrame>>,
    prov: &Provenance,
    target: Target,
) -> Result<Staged> {
    parquet::stage_row_groups(path, groups, geometry_table(meta, prov, target))
}

fn encode_geometry(
    meta: String,
    groups: impl Iterator<Item = Result<DataFrame>>,
    prov: &Provenance,
    target: Target,
) -> Result<Vec<u8>> {
    parquet::encode_row_groups(Path::new(GEOMETRY_FILE), groups, geometry_table(meta, prov, target))
}

/// The geometry table's metadata (`geo`, GeoParquet's) and codec for `target`.
fn geometry_table(meta: String, prov: &Provenance, target: Target) -> parquet::Grouped<'_> {
    parquet::Grouped {
        provenance: prov,
        columns: schema::GEOMETRY,
        extra: vec![(geoparquet::GEO_KEY.to_string(), meta)],
        compression: target.geometry_codec(),
    }
}

/// The national boundaries in COG 2026, or `None` (with a visible line) when there are none.
/// `--boundaries` files win; else the GeoParquet table of `processed` (no GeoJSON parsing); else
/// the data folder's GeoJSON, or `read`, the same files already parsed ([`Inputs::boundaries`]).
/// Returns the number of warning lines printed.
pub fn load_geography_from(
    data: &DataDir,
    processed: Option<&Path>,
    index: &CogIndex,
    read: Option<boundaries::Boundaries>,
    progress: &mut Progress,
) -> Result<(Option<Geography>, usize)> {
    let table = processed.map(|d| d.join(GEOMETRY_FILE)).filter(|p| p.is_file());
    if let (Some(t), true) = (&table, data.boundaries.is_empty()) {
        progress.step(&format!("reading commune boundaries ({})", t.display()));
        let g = Geography::from_geoparquet_file(t, index)?;
        let warned = unknown_warning(&g.unknown_codes, progress);
        return Ok((Some(g), warned));
    }
    if !boundaries::available(data) {
        // A bare clone or an installed binary: the COG 2026 boundaries of the built-in snapshot.
        progress.say(&format!(
            "{} not found in {}: commune boundaries from the built-in snapshot (COG 2026)",
            boundaries::META.file,
            data.root.display()
        ));
        progress.step("reading commune boundaries (built-in snapshot)");
        let g = Geography::from_static_geoparquet(snapshot::GEOMETRY, index)?;
        let warned = unknown_warning(&g.unknown_codes, progress);
        return Ok((Some(g), warned));
    }
    let g = match read {
        Some(b) => {
            progress.step("placing the commune boundaries read with the sources");
            Geography::new(b, index)
        }
        None => {
            progress.step("reading commune boundaries (GeoJSON)");
            crate::memory::for_staging();
            Geography::load(data, index)?
        }
    };
    let warned = unknown_warning(&g.unknown_codes, progress) + say_geometry_warnings(&g.warnings, progress);
    Ok((Some(g), warned))
}

/// [`load_inputs`] then [`load_geography_from`] (when `geography`), with the same result, but
/// a GeoParquet table (`build` output or the snapshot) is read and decoded on a second thread
/// while the curated table and the COG are read: the two are independent until the COG places
/// the shapes. Returns the inputs, the boundaries and the number of warning lines printed.
pub fn load_inputs_and_geography(
    processed: &Path,
    data: &DataDir,
    geography: bool,
    progress: &mut Progress,
) -> Result<(Inputs, Option<Geography>, usize)> {
    let table = Some(processed.join(GEOMETRY_FILE)).filter(|p| p.is_file() && data.boundaries.is_empty());
    let snapshot = table.is_none() && data.boundaries.is_empty() && !boundaries::available(data);
    if !geography || (table.is_none() && !snapshot) {
        let mut inputs = load_inputs(processed, data, progress)?;
        let read = inputs.boundaries.take();
        if !geography {
            return Ok((inputs, None, 0));
        }
        let (g, warned) = load_geography_from(data, Some(processed), &inputs.index, read, progress)?;
        return Ok((inputs, g, warned));
    }
    let label = match &table {
        Some(t) => t.display().to_string(),
        None => {
            progress.say(&format!(
                "{} not found in {}: commune boundaries from the built-in snapshot (COG 2026)",
                boundaries::META.file,
                data.root.display()
            ));
            "geometry table".to_string()
        }
    };
    // The units are built on the reading thread too; only their check against the COG waits.
    let (inputs, stored) = std::thread::scope(|s| {
        let stored = s.spawn(|| {
            match &table {
                Some(t) => Geography::rows_of_geoparquet_file(t),
                None => geoparquet::read_rows(snapshot::GEOMETRY.into(), &label),
            }
            .map(|rows| StoredGeography::new(rows, label.clone()))
        });
        let inputs = load_inputs(processed, data, progress);
        (inputs, stored.join().expect("the boundaries reader does not panic"))
    });
    let inputs = inputs?;
    progress.step(&format!("placing commune boundaries read alongside ({label})"));
    let g = stored?.place(&inputs.index);
    let warned = unknown_warning(&g.unknown_codes, progress);
    Ok((inputs, Some(g), warned))
}

/// Print what reading the boundaries repaired or dropped (the first few, then a count); returns
/// the number of warning lines.
fn say_geometry_warnings(warnings: &[boundaries::GeometryWarning], progress: &mut Progress) -> usize {
    const SHOWN: usize = 5;
    for w in warnings.iter().take(SHOWN) {
        progress.say(&format!("warning: {w}"));
    }
    if warnings.len() > SHOWN {
        progress.say(&format!(
            "warning: {} more boundary polygons repaired or dropped (listed under geometry_warnings in {REPORT_FILE} by `build`)",
            warnings.len() - SHOWN
        ));
    }
    warnings.len().min(SHOWN + 1)
}

fn unknown_warning(unknown: &[String], progress: &mut Progress) -> usize {
    if unknown.is_empty() {
        return 0;
    }
    progress.say(&format!(
        "warning: {} boundary codes unknown to COG 2026, not drawn: {}",
        unknown.len(),
        unknown.join(", ")
    ));
    1
}

/// The COG as gzip postcard, after [`COG_MAGIC`]; no timestamp in the gzip header, so a rebuild
/// gives the same bytes. Postcard rather than JSON: every run that resolves a territory reads it,
/// and it decodes in 13 ms against 45-90 ms for the same COG in JSON (docs/performance.md).
pub fn write_cog(path: &Path, cog: &Cog, level: flate2::Compression) -> Result<()> {
    let mut raw = COG_MAGIC.to_vec();
    raw.extend(postcard::to_allocvec(cog).map_err(|e| Error::Config(format!("{}: {e}", path.display())))?);
    let mut z = GzEncoder::new(Vec::new(), level);
    z.write_all(&raw).map_err(|e| Error::io(path, e))?;
    let bytes = z.finish().map_err(|e| Error::io(path, e))?;
    crate::sinks::write_bytes(path, &bytes)
}

pub fn read_cog(bytes: &[u8], origin: &Path) -> Result<Cog> {
    // libdeflate, as for the published files: the COG is read by every command.
    let raw = sources::gzip::inflate(bytes)
        .map_err(|e| Error::data(crate::error::Location::file(origin), format!("not a whole gzip stream: {e}")))?;
    let stale = |why: String| {
        Error::data(
            crate::error::Location::file(origin),
            format!("not the COG of this version of cpts-diag ({why}): run `cpts-diag build` again"),
        )
    };
    let body = raw.strip_prefix(COG_MAGIC).ok_or_else(|| stale("another format".into()))?;
    postcard::from_bytes(body).map_err(|e| stale(e.to_string()))
}

/// The curated table of `build` output: its mapped copy when there is one for this Parquet,
/// else the Parquet decoded.
fn read_curated(path: &Path, progress: &mut Progress) -> Result<DataFrame> {
    match mapped::read(path) {
        Ok(Some(df)) => return Ok(df),
        Ok(None) => {}
        Err(e) => progress.say(&format!("warning: {e}\n  reading {} instead", path.display())),
    }
    parquet::read(path)
}

fn read_stored(processed: &Path, data: &DataDir, progress: &mut Progress) -> Result<Option<Inputs>> {
    let path = processed.join(COMMUNES_FILE);
    if !path.is_file() {
        return Ok(None);
    }
    progress.step(&format!("reading {}", path.display()));
    let cog_path = processed.join(COG_FILE);
    // The COG (gzip JSON, one thread) is parsed while polars reads the table.
    let (df, stored_cog) = std::thread::scope(|s| {
        let cog = cog_path.is_file().then(|| {
            s.spawn(|| read_cog_indexed(&std::fs::read(&cog_path).map_err(|e| Error::io(&cog_path, e))?, &cog_path))
        });
        (read_curated(&path, progress), cog.map(|h| h.join().expect("the COG reader does not panic")))
    });
    let df = df?;
    // A curated table from another version of the tool may lack columns: rebuild rather than
    // compute on a stale shape.
    if let Err(e) = parquet::check_schema(&path, &df, &schema::COMMUNES) {
        progress.say(&format!("warning: {e}\n  not used: run `cpts-diag build` again"));
        return Ok(None);
    }
    let (cog, index) = match stored_cog {
        Some(c) => c?,
        None => {
            let cog = Cog::load(data)?;
            let index = CogIndex::new(&cog);
            (cog, index)
        }
    };
    Ok(Some(Inputs { cog, index, communes: df, origin: Origin::Processed(processed.to_path_buf()), boundaries: None }))
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
        crate::memory::for_staging();
        let c = build_curated(data, progress)?;
        return Ok(Inputs {
            cog: c.cog,
            index: c.index,
            communes: c.communes,
            origin: Origin::DataFolder(data.root.clone()),
            boundaries: c.boundaries,
        });
    }
    announce_snapshot(processed, data, progress)?;
    let (communes, cog) = std::thread::scope(|s| {
        let cog = s.spawn(|| read_cog_indexed(snapshot::COG, Path::new(SNAPSHOT_DIR).join(COG_FILE).as_path()));
        (parquet::read_bytes(snapshot::COMMUNES), cog.join().expect("the COG reader does not panic"))
    });
    let communes = communes?;
    // Only a binary built from a stale data/snapshot/ can fail here; tests/snapshot.rs prevents it.
    parquet::check_schema(&Path::new(SNAPSHOT_DIR).join(COMMUNES_FILE), &communes, &schema::COMMUNES)?;
    let (cog, index) = cog?;
    Ok(Inputs { cog, index, communes, origin: Origin::Snapshot, boundaries: None })
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

/// The snapshot's provenance: no fetch lock, so that it is the same bytes wherever it is rebuilt.
pub fn snapshot_provenance() -> Provenance {
    Provenance::new(sources::all())
}

/// Write the snapshot folder: the `build` outputs that `diagnose`, `batch` and `map` need, and
/// `snapshot.json`. Every file is deterministic, so a test can rebuild it and compare bytes.
pub fn write_snapshot(out: &Path, c: &Curated) -> Result<Vec<PathBuf>> {
    write_snapshot_with(out, c, None)
}

/// [`write_snapshot`], the geometry table from `encoded` when given.
fn write_snapshot_with(out: &Path, c: &Curated, encoded: Option<Encoded<'_>>) -> Result<Vec<PathBuf>> {
    let prov = snapshot_provenance();
    let mut written = write_tables(out, c, &prov, Target::Snapshot, encoded)?;
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

/// The one line a run prints when it falls back to the built-in snapshot, with its vintages.
fn announce_snapshot(processed: &Path, data: &DataDir, progress: &mut Progress) -> Result<()> {
    progress.say(&format!(
        "no build output in {} and no data folder at {}: using the built-in national snapshot ({})",
        processed.display(),
        data.root.display(),
        snapshot_info()?.vintages_line()
    ));
    progress.step("reading the built-in snapshot");
    Ok(())
}

/// The curated table alone, for work that needs no COG reference (the batch of the administrative
/// levels): the same places as [`load_inputs`], without parsing the COG when `build` output or the
/// snapshot has the table.
pub fn load_curated_table(processed: &Path, data: &DataDir, progress: &mut Progress) -> Result<(DataFrame, Origin)> {
    let path = processed.join(COMMUNES_FILE);
    if path.is_file() {
        progress.step(&format!("reading {}", path.display()));
        let df = read_curated(&path, progress)?;
        match parquet::check_schema(&path, &df, &schema::COMMUNES) {
            Ok(()) => return Ok((df, Origin::Processed(processed.to_path_buf()))),
            Err(e) => progress.say(&format!("warning: {e}\n  not used: run `cpts-diag build` again")),
        }
    } else if !data.exists(decoupage::COMMUNES.file) {
        announce_snapshot(processed, data, progress)?;
        let communes = parquet::read_bytes(snapshot::COMMUNES)?;
        parquet::check_schema(&Path::new(SNAPSHOT_DIR).join(COMMUNES_FILE), &communes, &schema::COMMUNES)?;
        return Ok((communes, Origin::Snapshot));
    }
    let i = load_inputs(processed, data, progress)?;
    Ok((i.communes, i.origin))
}
