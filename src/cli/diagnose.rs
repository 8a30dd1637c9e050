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
    /// A quick scenario: GPs added per unit, `28061=2` (a negative count removes), comma-separated.
    #[arg(long, allow_hyphen_values = true)]
    pub add_gps: Option<String>,
    /// How many added GPs the placement plan of the report places (0: none).
    #[arg(long, default_value_t = 5)]
    pub place_gps: usize,
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
    // Warnings are counted where they are printed (`Progress::say`), geometry ones included.
    let (pipeline::Inputs { cog, index, communes: curated, .. }, geography, _) =
        pipeline::load_inputs_and_geography(&args.processed, data, !args.no_geo, progress)?;
    progress.step("resolving territory");
    let ctx = territory::Context { curated: Some(&curated), geography: geography.as_ref() };
    let t = territory::resolve_in(&spec, &cog, &index, ctx)?;
    for w in &t.warnings {
        progress.say(&format!("warning: {w}"));
    }
    let mut scenarios = spec.scenarios.clone();
    if let Some(text) = &args.add_gps {
        scenarios.push(crate::access::scenario::parse_cli(text)?);
    }
    let what_if = !scenarios.is_empty() || args.place_gps > 0;
    progress.step(match (what_if, geography.is_some()) {
        (true, true) => "computing indicators, what-if accessibility and neighbours alongside",
        (true, false) => "computing indicators, what-if accessibility alongside (scenarios, GP placement)",
        (false, true) => "computing indicators, neighbours alongside",
        (false, false) => "computing indicators",
    });
    // The what-if model and the territory's geometry read the curated table and the codes, not
    // the indicators: the three run at once (the indicators are one thread's work).
    let codes = t.codes.clone();
    let (d, result, neighbourhood) = std::thread::scope(|s| {
        // Freed as soon as unused, off the main thread (35 000 units), the COG's memory serves
        // the later steps (fewer fresh pages to fault in, a lower peak).
        s.spawn(move || drop(cog));
        let w = what_if.then(|| {
            s.spawn(|| {
                // Without the APL or the unit centres there is no model: say so, as for any absent source.
                crate::access::Units::from_curated(&curated)
                    .map(|units| crate::access::what_if_on(units, &codes, &scenarios, args.place_gps))
            })
        });
        let n = geography.as_ref().map(|g| s.spawn(|| advice::neighbourhood(g, &index, &codes, &curated)));
        let d = diagnose::diagnose(&curated, t, &grid);
        (
            d,
            w.map(|h| h.join().expect("the what-if model does not panic")),
            n.map(|h| h.join().expect("the neighbourhood does not panic")),
        )
    });
    let mut d = d?;
    let result = match result {
        None => None,
        Some(Ok(r)) => Some(r),
        Some(Err(e)) => {
            progress.say(&format!("warning: no scenarios or GP placement: {e}"));
            None
        }
    };
    match result.transpose() {
        Ok(None) => {}
        Ok(Some(w)) => {
            if let Some(p) = &w.placement {
                progress.say(&format!(
                    "GP placement: {} GPs placed greedily in {:.3} s (model in {:.3} s); first at {} ({})",
                    p.greedy.len(),
                    w.seconds.1,
                    w.seconds.0,
                    p.greedy.first().map_or("-", |g| g.name.as_str()),
                    p.greedy.first().map_or("-", |g| g.code.as_str()),
                ));
            }
            for o in &w.scenarios {
                progress.say(&format!(
                    "scenario \"{}\": APL {:.3} -> {:.3}, population under 2.5 {:.0} -> {:.0}, {} commune(s) crossing 2.5",
                    o.name,
                    o.apl_mg_baseline,
                    o.apl_mg,
                    o.population_apl_below_2_5_baseline,
                    o.population_apl_below_2_5,
                    o.communes_crossing.len()
                ));
            }
            d.what_if = Some(w);
        }
        // Scenarios asked for must run; the placement plan alone is a bonus.
        Err(e) if scenarios.is_empty() => progress.say(&format!("warning: no GP placement plan: {e}")),
        Err(e) => return Err(e),
    }
    let dir = args.out.clone().unwrap_or_else(|| {
        let stem = args
            .territory
            .as_ref()
            .and_then(|p| p.file_stem())
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| slug(&d.territory.name));
        PathBuf::from("reports").join(stem)
    });
    let around = match (&geography, neighbourhood) {
        (Some(g), Some(n)) => {
            progress.step("sizing advice");
            let s = advice::surroundings_of(n?, &d, &curated, &grid)?;
            for m in &s.geometry.missing {
                progress.say(&format!("warning: {} has no boundary polygon, not mapped: {}", m.code, m.reason));
            }
            // Repairs made when the boundaries were read, for the units this run draws.
            let drawn = s.geometry.mapped.iter().chain(s.geometry.neighbours.iter().map(|n| &n.code));
            for (code, note) in drawn.filter_map(|c| g.unit(c).and_then(|u| u.note.as_ref().map(|n| (c, n)))) {
                progress.say(&format!("warning: boundary of {code}: {note}"));
            }
            Some(s)
        }
        _ => None,
    };
    // The outputs read the diagnosis and the territory's own shapes only. Their memory is kept
    // for the writers' bitmaps and buffers, not returned: since the units and columns of the
    // eighth round, returning it (`memory::release_freed`) no longer lowered the peak (150 MiB
    // either way) and cost ~7 ms of wall in unmapping it (docs/performance.md).
    drop((curated, geography, index));
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
    // Every warning printed counts (territory, cache, geometry), not only the territory's.
    let warnings = progress.warnings();
    progress.done(&format!("diagnosed with {warnings} warning(s)"));
    Ok(())
}
