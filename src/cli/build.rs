use std::path::PathBuf;

use crate::error::Result;
use crate::pipeline;
use crate::progress::Progress;
use crate::sinks::Provenance;
use crate::sources::{self, DataDir};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output folder of the curated tables (default: data/processed, or data/snapshot with --snapshot).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Regenerate the national snapshot that the binary embeds (data/snapshot/; commit it, then rebuild).
    #[arg(long)]
    pub snapshot: bool,
}

pub fn run(data: &DataDir, args: &Args, progress: &mut Progress) -> Result<()> {
    // Four staging threads free large buffers while the others allocate (crate::memory).
    crate::memory::for_staging();
    // The provenance first: the geometry table is encoded with it while the sources are read.
    let prov = if args.snapshot {
        // No fetch lock in the snapshot: it must be the same bytes wherever it is rebuilt.
        pipeline::snapshot_provenance()
    } else {
        // Files fetched by `cpts-diag fetch` carry their lock (URLs, sha256, dates) into the outputs.
        let prov = Provenance::new(sources::all()).with_fetch_lock(&data.root)?;
        if prov.fetch_lock.is_some() {
            progress.say(&format!("provenance: {}", data.root.join(crate::fetch::LOCK_FILE).display()));
        }
        prov
    };
    let target = if args.snapshot { pipeline::Target::Snapshot } else { pipeline::Target::Processed };
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(if args.snapshot { pipeline::SNAPSHOT_DIR } else { "data/processed" }));
    let (c, written) = pipeline::build_and_write(data, &prov, target, &out, progress)?;
    for p in written {
        progress.say(&format!("wrote {}", p.display()));
    }
    progress.done(&format!("built {} units", c.communes.height()));
    Ok(())
}
