//! The pipeline's library entry points: build the curated national tables from a data folder
//! (with the normalization summary) and write them. The CLI's subcommands only call these.

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::geo::Geography;
use crate::progress::Progress;
use crate::schema;
use crate::sinks::{parquet, write_json, Provenance};
use crate::sources::{self, boundaries, DataDir};
use crate::transforms::cog::CogIndex;
use crate::transforms::curated::{self, Curated};

pub const COMMUNES_FILE: &str = "communes.parquet";
pub const REPORT_FILE: &str = "normalization_report.json";

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
    parquet::write(&p, &mut c.communes.clone(), prov, schema::COMMUNES)?;
    let r = out.join(REPORT_FILE);
    write_json(&r, &serde_json::json!({ "provenance": prov, "sources": c.reports }))?;
    Ok(vec![p, r])
}

/// The national boundaries in COG 2026, or `None` (with a visible line) when the file is absent.
pub fn load_geography(data: &DataDir, index: &CogIndex, progress: &mut Progress) -> Result<Option<Geography>> {
    if !data.exists(boundaries::META.file) {
        progress.say(&format!(
            "warning: {} not found in {}: no maps, neighbours or sizing advice",
            boundaries::META.file,
            data.root.display()
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
