//! `cpts-diag map`: the three maps (APL, GP density, population) of a whole département or of a
//! territory, without the rest of the diagnostic. Prints how long each step takes, which is how
//! the map benchmark in docs/maps.md is measured.

use std::path::PathBuf;
use std::time::Instant;

use crate::cli::Progress;
use crate::diagnose::select_units;
use crate::error::{Error, Result};
use crate::pipeline;
use crate::sinks::map::{self, Theme};
use crate::sinks::report;
use crate::sources::DataDir;
use crate::territory::{self, TerritorySpec};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Département code: map all its communes and their neighbours.
    #[arg(long, conflicts_with = "territory", required_unless_present = "territory")]
    pub departement: Option<String>,
    /// Territory file (TOML), as for `diagnose`.
    #[arg(long, short)]
    pub territory: Option<PathBuf>,
    /// Output folder (default: reports/map-<departement or territory file name>).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Curated tables written by `build`; built in memory when absent.
    #[arg(long, default_value = "data/processed")]
    pub processed: PathBuf,
}

pub fn run(data: &DataDir, args: &Args, progress: &mut Progress) -> Result<()> {
    let pipeline::Inputs { cog, index, communes: curated, boundaries, .. } =
        pipeline::load_inputs(&args.processed, data, progress)?;
    let geography = pipeline::load_geography_from(data, Some(&args.processed), &index, boundaries, progress)?
        .0
        .ok_or_else(|| {
            Error::Config(format!(
                "map needs the commune boundaries ({} from `build`, or {} in the data folder)",
                pipeline::GEOMETRY_FILE,
                crate::sources::boundaries::META.file
            ))
        })?;
    let (name, codes, stem) = match (&args.departement, &args.territory) {
        (Some(dep), _) => {
            let codes = cog.communes_of_departement(dep);
            if codes.is_empty() {
                return Err(Error::Config(format!("unknown département {dep}")));
            }
            let name =
                cog.departements.iter().find(|d| d.code == *dep).map_or(dep.clone(), |d| format!("{} ({dep})", d.name));
            (name, codes, format!("map-{dep}"))
        }
        (None, Some(p)) => {
            let spec = TerritorySpec::load(p)?;
            let ctx = territory::Context { curated: Some(&curated), geography: Some(&geography) };
            let t = territory::resolve_in(&spec, &cog, &index, ctx)?;
            let stem = p.file_stem().map_or("territory".into(), |s| s.to_string_lossy().into_owned());
            (t.name, t.codes, format!("map-{stem}"))
        }
        (None, None) => return Err(Error::Config("give --departement CODE or --territory FILE".into())),
    };
    let dir = args.out.clone().unwrap_or_else(|| PathBuf::from("reports").join(stem));

    let t0 = Instant::now();
    progress.step("geometry (dissolve, neighbours, enclaves)");
    let g = crate::geo::analyse(&geography, &codes, &index);
    let mut others: Vec<String> = g.neighbours.iter().map(|n| n.code.clone()).collect();
    others.extend(g.enclaves.iter().flatten().cloned());
    let members = report::unit_facts(&select_units(&curated, &codes)?)?;
    let others = report::unit_facts(&select_units(&curated, &others)?)?;
    let geometry_s = t0.elapsed().as_secs_f64();
    progress.say(&format!(
        "{name}: {} communes ({} mapped), {} neighbours, {} piece(s), {} enclave(s); geometry in {geometry_s:.3} s",
        codes.len(),
        g.mapped.len(),
        g.neighbours.len(),
        g.pieces.len(),
        g.enclaves.iter().flatten().count()
    ));
    let spec = crate::sinks::territory::map_spec(&name, &g, &members, &others, 8);
    let drawing = map::MapDrawing::new(&spec).map_err(|e| Error::Config(format!("{name}: cannot draw map: {e}")))?;
    let t_all = Instant::now();
    for theme in Theme::ALL {
        let t = Instant::now();
        let p = dir.join(format!("{}.svg", theme.stem()));
        let svg = drawing.write_svg(&p, theme)?;
        let svg_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let q = dir.join(format!("{}.png", theme.stem()));
        drawing.write_png(&q, theme)?;
        progress.say(&format!(
            "{}: SVG {:.3} s ({} kB), PNG {:.3} s; wrote {} and {}",
            theme.stem(),
            svg_s,
            svg.len() / 1000,
            t.elapsed().as_secs_f64(),
            p.display(),
            q.display()
        ));
    }
    progress.done(&format!(
        "rendered 3 maps (SVG + PNG) in {:.3} s after {geometry_s:.3} s of geometry",
        t_all.elapsed().as_secs_f64()
    ));
    Ok(())
}
