use std::path::{Path, PathBuf};

use crate::cli::Progress;
use crate::error::Result;
use crate::schema;
use crate::sinks::{parquet, write_json, Provenance};
use crate::sources::{self, DataDir};
use crate::transforms::curated::{self, Curated};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output folder of the curated tables.
    #[arg(long, default_value = "data/processed")]
    pub out: PathBuf,
}

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
    let p = out.join(COMMUNES_FILE);
    parquet::write(&p, &mut c.communes.clone(), prov, schema::COMMUNES)?;
    let r = out.join(REPORT_FILE);
    write_json(&r, &serde_json::json!({ "provenance": prov, "sources": c.reports }))?;
    Ok(vec![p, r])
}

pub fn run(data: &DataDir, args: &Args, progress: &mut Progress) -> Result<()> {
    let c = build_curated(data, progress)?;
    progress.step("writing Parquet");
    // Files fetched by `cpts-diag fetch` carry their lock (URLs, sha256, dates) into the outputs.
    let prov = Provenance::new(sources::all()).with_fetch_lock(&data.root)?;
    if prov.fetch_lock.is_some() {
        progress.say(&format!("provenance: {}", data.root.join(crate::fetch::LOCK_FILE).display()));
    }
    let written = write_curated_with(&args.out, &c, &prov)?;
    for p in written {
        progress.say(&format!("wrote {}", p.display()));
    }
    progress.done(&format!("built {} units", c.communes.height()));
    Ok(())
}
