use std::path::PathBuf;

use crate::aci::Grid;
use crate::advice;
use crate::cli::Progress;
use crate::diagnose;
use crate::error::{Error, Result};
use crate::pipeline;
use crate::sinks::territory as out;
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
    /// Population the ACI band counts, overriding the grid's `population` (default there:
    /// totale, the rule of the decrees on populations légales).
    #[arg(long, value_enum)]
    pub population: Option<crate::aci::Basis>,
    /// Skip the commune boundaries: no maps, neighbours, advice or GeoJSON.
    #[arg(long)]
    pub no_geo: bool,
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
    }
    .with_basis(args.population);
    let pipeline::Inputs { cog, communes: curated, .. } = pipeline::load_inputs(&args.processed, data, progress)?;
    let index = CogIndex::new(&cog);
    let (geography, mut geo_warnings) = if args.no_geo {
        (None, 0)
    } else {
        pipeline::load_geography_from(data, Some(&args.processed), &index, progress)?
    };
    progress.step("resolving territory");
    let ctx = territory::Context { curated: Some(&curated), geography: geography.as_ref() };
    let t = territory::resolve_in(&spec, &cog, &index, ctx)?;
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
    let around = match &geography {
        Some(g) => {
            progress.step("geometry, neighbours and sizing advice");
            let s = advice::surroundings(g, &index, &d, &curated, &grid)?;
            for m in &s.geometry.missing {
                progress.say(&format!("warning: {} has no boundary polygon, not mapped: {}", m.code, m.reason));
                geo_warnings += 1;
            }
            // Repairs made when the boundaries were read, for the units this run draws.
            let drawn = s.geometry.mapped.iter().chain(s.geometry.neighbours.iter().map(|n| &n.code));
            for (code, note) in drawn.filter_map(|c| g.unit(c).and_then(|u| u.note.as_ref().map(|n| (c, n)))) {
                progress.say(&format!("warning: boundary of {code}: {note}"));
                geo_warnings += 1;
            }
            Some(s)
        }
        None => None,
    };
    progress.step("writing outputs");
    let written = out::write_all_with(&dir, &d, &grid, around.as_ref())?;
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
            Some(n) =>
                format!("{} on the population {} ({n} inhabitants to the next band)", a.label, d.aci_basis.as_str()),
            None => format!("{} on the population {}", a.label, d.aci_basis.as_str()),
        }),
    ));
    if let Some(line) = crate::sinks::report::band_headline(&d, &grid) {
        progress.say(&line);
    }
    if let Some(s) = &around {
        let g = &s.geometry;
        progress.say(&format!(
            "geometry: {} km², {} piece(s), {} enclave(s), {} neighbours",
            g.area_km2.round(),
            g.pieces.len(),
            g.enclaves.iter().flatten().count(),
            g.neighbours.len()
        ));
        for line in crate::sinks::report::headline(&s.advice) {
            progress.say(&line);
        }
    }
    for p in written {
        progress.say(&format!("wrote {}", p.display()));
    }
    progress.done(&format!("diagnosed with {} warning(s)", d.territory.warnings.len() + geo_warnings));
    Ok(())
}
