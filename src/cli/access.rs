use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use crate::access::{calibrate, Units};
use crate::cli::Progress;
use crate::diagnose::select_units;
use crate::error::Result;
use crate::pipeline;
use crate::sinks::access as out;
use crate::sinks::map::Theme;
use crate::sinks::report;
use crate::sources::DataDir;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output folder.
    #[arg(long, short, default_value = "reports/access")]
    pub out: PathBuf,
    /// Curated tables written by `build`; built in memory (or the snapshot) when absent.
    #[arg(long, default_value = "data/processed")]
    pub processed: PathBuf,
    /// Département of the residual map.
    #[arg(long, default_value = "28")]
    pub map_departement: String,
    /// Skip the commune boundaries: no residual map.
    #[arg(long)]
    pub no_geo: bool,
    /// Also write the calibrated parameters to this TOML (data/reference/access.toml).
    #[arg(long)]
    pub write_reference: Option<PathBuf>,
    /// Export the model's inputs and result on one département to <out>/case-<DEP>/ (for
    /// scripts/access_crosscheck.py).
    #[arg(long)]
    pub export_case: Option<String>,
}

pub fn run(data: &DataDir, args: &Args, progress: &mut Progress) -> Result<()> {
    let pipeline::Inputs { cog, index, communes: curated, boundaries, .. } =
        pipeline::load_inputs(&args.processed, data, progress)?;
    let units = Units::from_curated(&curated)?;
    // The map's shapes and facts first: the boundaries and the curated table are then dropped
    // before the calibration, whose national network is the largest thing this command holds.
    let map = if args.no_geo {
        // Read with the sources when the tables were built in memory: not held through the
        // calibration.
        drop(boundaries);
        None
    } else {
        // The GeoParquet of `build` output when the table came from there: decoded in a
        // fraction of the GeoJSON's time and memory.
        pipeline::load_geography_from(data, Some(&args.processed), &index, boundaries, progress)?
            .0
            .map(|geography| -> Result<_> {
                let dep = &args.map_departement;
                let codes = cog.communes_of_departement(dep);
                let g = crate::geo::analyse(&geography, &codes, &index);
                let members = report::unit_facts(&select_units(&curated, &codes)?)?;
                let others: Vec<String> = g.neighbours.iter().map(|n| n.code.clone()).collect();
                let others = report::unit_facts(&select_units(&curated, &others)?)?;
                Ok((g, members, others))
            })
            .transpose()?
    };
    let dep = &args.map_departement;
    let dep_name = cog.departements.iter().find(|d| d.code == *dep).map_or(dep.clone(), |d| d.name.to_string());
    drop((index, cog, curated));
    crate::memory::release_freed();
    let t0 = Instant::now();
    progress.step("calibrating the E2SFCA model against DREES APL 2023");
    let (model, cal) = calibrate::calibrate(units);
    let calib_s = t0.elapsed().as_secs_f64();
    progress.say(&format!(
        "calibrated in {calib_s:.2} s: speed {} km/h (detour {}), {:.0} consultations per GP; {} units, {} pairs within 20 min",
        cal.params.speed_kmh, cal.params.detour, cal.params.consultations_per_gp, cal.units, cal.pairs_within_20_min
    ));
    for l in &cal.levels {
        progress.say(&format!(
            "  {:<12} n={:<6} Spearman {:.3}  Pearson {:.3}  median |error| {:.3}",
            l.level, l.n, l.spearman, l.pearson, l.median_abs_error
        ));
    }
    let mut written = out::write_model(&args.out, &model, &cal)?;
    if let Some(p) = &args.write_reference {
        crate::sinks::write_bytes(p, model.params.to_toml().as_bytes())?;
        written.push(p.clone());
    }
    if let Some(dep) = &args.export_case {
        written.extend(out::export_case(&args.out.join(format!("case-{dep}")), &model, dep)?);
    }
    if let Some((g, members, others)) = map {
        let mut spec = crate::sinks::territory::map_spec(&format!("{dep_name} ({dep})"), &g, &members, &others, 8);
        let residual: HashMap<String, f64> = model
            .units
            .code
            .iter()
            .enumerate()
            .map(|(i, c)| (c.to_string(), model.baseline[i] - model.units.apl_drees[i]))
            .collect();
        let (_, w) = out::write_value_map(
            &args.out,
            &format!("map_residual_{dep}"),
            &mut spec,
            &residual,
            None,
            Theme::Residual,
        )?;
        written.extend(w);
    }
    for p in written {
        progress.say(&format!("wrote {}", p.display()));
    }
    progress.done(&format!("access model: {} units", cal.units));
    Ok(())
}
