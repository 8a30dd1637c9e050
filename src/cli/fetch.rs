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
    /// Ask every canonical URL at this base instead of its host, path and query kept
    /// (`https://www.insee.fr/fr/x.zip` → `<BASE_URL>/fr/x.zip`): a local copy of the publishers'
    /// sites, e.g. for tests or a caching proxy.
    #[arg(long, conflicts_with_all = ["mirror", "offline"])]
    pub base_url: Option<String>,
    /// Seconds a server may stay silent before the attempt fails.
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
    /// Attempts after the first one, on 5xx and connection errors (never on 404).
    #[arg(long, default_value_t = 3)]
    pub retries: u32,
    /// List the sources (publisher, URL, required or optional, what is lost without it) and exit.
    #[arg(long)]
    pub list: bool,
}

pub fn run(args: &Args, progress: &mut Progress) -> Result<()> {
    let manifest = match &args.manifest {
        Some(p) => Manifest::load(p)?,
        None => Manifest::embedded(),
    };
    if args.list {
        print!("{}", list(&manifest));
        return Ok(());
    }
    let selected = manifest.select(&args.sources)?;
    let mut opts = Options::new(&args.dest);
    opts.offline = args.offline;
    opts.mirror = args.mirror.as_deref().map(Mirror::parse);
    opts.base_url = args.base_url.clone();
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

/// `fetch --list`: per source, publisher, URL(s), required or optional, and what a build lacks
/// without it.
pub fn list(manifest: &Manifest) -> String {
    let mut out = String::new();
    for s in &manifest.sources {
        out.push_str(&format!("{} ({}): {}\n", s.id, if s.required { "required" } else { "optional" }, s.title));
        out.push_str(&format!("    publisher:    {}\n", s.publisher));
        if s.urls.is_empty() {
            out.push_str("    url:          none (mirror only: --mirror)\n");
        }
        for u in &s.urls {
            out.push_str(&format!("    url:          {u}\n"));
        }
        out.push_str(&format!("    file:         {}\n", s.file));
        out.push_str(&format!("    without it:   {}\n", s.lost_without));
        if !s.note.is_empty() {
            out.push_str(&format!("    note:         {}\n", s.note));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_says_publisher_url_requirement_and_loss() {
        let m = Manifest::embedded();
        let text = list(&m);
        for s in &m.sources {
            let block: String = text
                .split_inclusive('\n')
                .skip_while(|l| !l.starts_with(&format!("{} (", s.id)))
                .take_while(|l| l.starts_with(&format!("{} (", s.id)) || l.starts_with("    "))
                .collect();
            let kind = if s.required { "required" } else { "optional" };
            assert!(block.starts_with(&format!("{} ({kind})", s.id)), "{block}");
            assert!(block.contains(&format!("publisher:    {}", s.publisher)), "{block}");
            assert!(block.contains(&format!("without it:   {}", s.lost_without)), "{block}");
            match s.urls.first() {
                Some(u) => assert!(block.contains(u.as_str()), "{block}"),
                None => assert!(block.contains("mirror only"), "{block}"),
            }
        }
    }
}
