use std::path::PathBuf;

use crate::error::Result;
use crate::pipeline::{build_curated, write_curated_with};
use crate::progress::Progress;
use crate::sinks::Provenance;
use crate::sources::{self, DataDir};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output folder of the curated tables.
    #[arg(long, default_value = "data/processed")]
    pub out: PathBuf,
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
