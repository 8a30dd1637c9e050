use std::path::PathBuf;
use std::time::Duration;

use crate::cli::Progress;
use crate::error::{Error, Result};
use crate::fetch::{self, Fetcher, Manifest, Mirror, Options, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Sources to fetch (ids of data/sources.toml); all when none.
    pub sources: Vec<String>,
    /// Cache folder; give it to `build --data-dir`.
    #[arg(long, default_value = fetch::DEFAULT_DEST)]
    pub dest: PathBuf,
    /// Manifest (default: the data/sources.toml built into the binary).
    #[arg(long)]
    pub manifest: Option<PathBuf>,
    /// Use only the cache: no network; fails if a file is missing or differs from the lock.
    #[arg(long, conflicts_with = "mirror")]
    pub offline: bool,
    /// Take every file from a copy laid out like the manifest: a base URL or a local folder
    /// (e.g. ../shared/data).
    #[arg(long)]
    pub mirror: Option<String>,
    /// Seconds a server may stay silent before the attempt fails.
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
    /// Attempts after the first one, on 5xx and connection errors (never on 404).
    #[arg(long, default_value_t = 3)]
    pub retries: u32,
    /// List the manifest and exit.
    #[arg(long)]
    pub list: bool,
}

pub fn run(args: &Args, progress: &mut Progress) -> Result<()> {
    let manifest = match &args.manifest {
        Some(p) => Manifest::load(p)?,
        None => Manifest::embedded(),
    };
    if args.list {
        for s in &manifest.sources {
            println!(
                "{:<20} {:<9} {}\n{:<20} {}",
                s.id,
                if s.required { "required" } else { "optional" },
                s.file,
                "",
                s.urls.first().map_or("(mirror only)", |u| u.as_str())
            );
        }
        return Ok(());
    }
    let selected = manifest.select(&args.sources)?;
    let mut opts = Options::new(&args.dest);
    opts.offline = args.offline;
    opts.mirror = args.mirror.as_deref().map(Mirror::parse);
    opts.timeout = Duration::from_secs(args.timeout.max(1));
    opts.retries = args.retries;
    opts.progress_bar = !progress.is_quiet();
    let mut f = Fetcher::new(opts)?;
    let quiet = progress.is_quiet();
    f.log = Box::new(move |m| {
        if !quiet {
            eprintln!("  {m}");
        }
    });
    let mut failed_required = Vec::new();
    for src in selected {
        progress.step(&format!("{} ({})", src.id, src.file));
        match f.fetch(src) {
            Ok(o) => {
                let what = match o {
                    Outcome::Downloaded { size } => format!("downloaded {size} bytes"),
                    Outcome::NotModified => "unchanged (HTTP 304)".to_string(),
                    Outcome::Copied { size } => format!("copied {size} bytes from the mirror"),
                    Outcome::Cached => "cached copy used".to_string(),
                };
                progress.say(&format!("{}: {what}", src.id));
            }
            Err(e) if src.required => {
                progress.say(&format!("error: {e}"));
                failed_required.push(src.id.clone());
            }
            Err(e) => progress.say(&format!("warning: optional source skipped: {e}")),
        }
    }
    // The lock records whatever succeeded, even when something else failed.
    f.save()?;
    progress.say(&format!("wrote {}", args.dest.join(fetch::LOCK_FILE).display()));
    if !failed_required.is_empty() {
        return Err(Error::Config(format!("required sources not fetched: {}", failed_required.join(", "))));
    }
    progress.done("fetched");
    Ok(())
}
