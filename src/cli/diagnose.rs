use std::path::PathBuf;

use crate::aci::Grid;
use crate::cli::{build, Progress};
use crate::diagnose;
use crate::error::{Error, Result};
use crate::sinks::{parquet, territory as out};
use crate::sources::decoupage::Cog;
use crate::sources::DataDir;
use crate::territory::{self, TerritorySpec};
use crate::transforms::cog::CogIndex;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Territory file (TOML: name, communes, epci, exclude).
    #[arg(long, short, conflicts_with = "communes", required_unless_present = "communes")]
    pub territory: Option<PathBuf>,
    /// Comma-separated commune or arrondissement codes, instead of a file.
    #[arg(long)]
    pub communes: Option<String>,
    /// Name of a territory given with --communes.
    #[arg(long, requires = "communes")]
    pub name: Option<String>,
    /// Output folder (default: reports/<territory file name>).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Curated tables written by `build`; built in memory when absent.
    #[arg(long, default_value = "data/processed")]
    pub processed: PathBuf,
    /// ACI grid (default: the embedded data/reference/aci.toml).
    #[arg(long)]
    pub aci: Option<PathBuf>,
}

fn slug(s: &str) -> String {
    let s: String = s.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    s.split('-').filter(|p| !p.is_empty()).collect::<Vec<_>>().join("-")
}

pub fn run(data: &DataDir, args: &Args, progress: &mut Progress) -> Result<()> {
    let spec = match (&args.territory, &args.communes) {
        (Some(p), _) => TerritorySpec::load(p)?,
        (None, Some(c)) => TerritorySpec::from_codes(args.name.as_deref(), c),
        (None, None) => return Err(Error::Config("give --territory FILE or --communes CODES".into())),
    };
    let grid = match &args.aci {
        Some(p) => Grid::load(p)?,
        None => Grid::embedded(),
    };
    let processed = args.processed.join(build::COMMUNES_FILE);
    let (cog, curated) = if processed.is_file() {
        progress.step(&format!("reading {}", processed.display()));
        let cog = Cog::load(data)?;
        (cog, parquet::read(&processed)?)
    } else {
        progress.say(&format!("{} not found: building the curated tables in memory", processed.display()));
        let c = build::build_curated(data, progress)?;
        (c.cog, c.communes)
    };
    let index = CogIndex::new(&cog);
    progress.step("resolving territory");
    let t = territory::resolve(&spec, &cog, &index)?;
    for w in &t.warnings {
        progress.say(&format!("warning: {w}"));
    }
    progress.step("computing indicators");
    let d = diagnose::diagnose(&curated, t, &grid)?;
    let dir = args.out.clone().unwrap_or_else(|| {
        let stem = args
            .territory
            .as_ref()
            .and_then(|p| p.file_stem())
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| slug(&d.territory.name));
        PathBuf::from("reports").join(stem)
    });
    progress.step("writing outputs");
    let written = out::write_all(&dir, &d, &grid)?;
    let s = d.territory();
    let fmt = |id: &str, dec: usize| s.value(id).map_or("n.d.".to_string(), |v| format!("{v:.dec$}"));
    progress.say(&format!(
        "{}: {} communes, {} inhabitants, {} GPs ({}), APL 2023 {}, ACI {}",
        d.territory.name,
        fmt("communes_count", 0),
        fmt("population", 0),
        fmt("gp_count", 0),
        crate::indicators::gp_source_short(&d.units),
        fmt("apl_mg", 3),
        d.aci.as_ref().map_or("n.d.".to_string(), |a| match a.inhabitants_to_next_band {
            Some(n) => format!("{} ({n} inhabitants to the next band)", a.label),
            None => a.label.clone(),
        }),
    ));
    for p in written {
        progress.say(&format!("wrote {}", p.display()));
    }
    progress.done("diagnosed");
    Ok(())
}
