//! `cpts-diag coverage`: every CPTS of a listing at once, the région's coverage, the zones
//! blanches and the overlaps, with tables, maps and a report for the ARS.

use std::path::PathBuf;

use crate::aci::Grid;
use crate::cli::Progress;
use crate::coverage;
use crate::error::Result;
use crate::pipeline;
use crate::sinks::coverage as out;
use crate::sinks::report::fr_int;
use crate::sources::DataDir;
use crate::territory::Context;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The CPTS listing: a CSV (nom, communes and arrondissements as `|`-separated codes), a
    /// GeoJSON of perimeters, or a folder of territory .toml files.
    #[arg(long, short)]
    pub listing: PathBuf,
    /// Région code (COG 2026); default: the région most listed units fall in.
    #[arg(long)]
    pub region: Option<String>,
    /// Output folder.
    #[arg(long, short, default_value = "reports/coverage")]
    pub out: PathBuf,
    /// Curated tables written by `build`; built in memory when absent.
    #[arg(long, default_value = "data/processed")]
    pub processed: PathBuf,
    /// ACI grid (default: the embedded data/reference/aci.toml).
    #[arg(long)]
    pub aci: Option<PathBuf>,
    /// Skip the commune boundaries: no maps, neighbouring CPTS or join suggestions.
    #[arg(long)]
    pub no_geo: bool,
}

pub fn run(data: &DataDir, args: &Args, progress: &mut Progress) -> Result<()> {
    let grid = match &args.aci {
        Some(p) => Grid::load(p)?,
        None => Grid::embedded(),
    };
    progress.step(&format!("reading {}", args.listing.display()));
    let listing = coverage::read_listing(&args.listing)?;
    let pipeline::Inputs { cog, index, communes: curated, boundaries, .. } =
        pipeline::load_inputs(&args.processed, data, progress)?;
    let geography = if args.no_geo {
        // Read with the sources when the tables were built in memory: not held for nothing.
        drop(boundaries);
        None
    } else {
        pipeline::load_geography_from(data, Some(&args.processed), &index, boundaries, progress)?.0
    };
    progress.step(&format!("resolving {} CPTS", listing.entries.len()));
    let ctx = Context { curated: Some(&curated), geography: geography.as_ref() };
    let cpts = coverage::resolve_listing(&listing, &cog, &index, ctx)?;
    progress.step("coverage, overlaps, zones blanches");
    let inputs =
        coverage::Inputs { cog: &cog, index: &index, curated: &curated, geography: geography.as_ref(), grid: &grid };
    let c = coverage::compute(&listing.path, cpts, args.region.as_deref(), inputs)?;
    for w in &c.warnings {
        progress.say(&format!("warning: {w}"));
    }
    progress.step("writing tables, maps and report");
    let written = out::write_all(&args.out, &c, &grid, geography.as_ref())?;
    progress.say(&format!(
        "{} ({}): {} CPTS; {} inhabitants, {} covered, {} in {} units of no CPTS; {} units in several CPTS; {} codes outside the région",
        c.region_name,
        c.region,
        c.cpts.len(),
        fr_int(c.region_population),
        fr_int(c.population_covered),
        fr_int(c.population_not_covered()),
        c.not_covered.len(),
        c.in_several.len(),
        c.outside.len()
    ));
    for p in written {
        progress.say(&format!("wrote {}", p.display()));
    }
    progress.done(&format!("coverage done with {} warning(s)", c.warnings.len()));
    Ok(())
}
