//! Outputs of the accessibility model: `cpts-diag access` (national table, calibration JSON,
//! residual map, exported case for the cross-check) and the what-if maps of `diagnose`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use super::map::{self, MapSpec, Theme};
use super::{parquet, write_bytes, write_json, Provenance};
use crate::access::calibrate::Calibration;
use crate::access::Model;
use crate::error::Result;
use crate::schema;
use crate::sources;

pub const COMMUNES_FILE: &str = "communes.parquet";
pub const CALIBRATION_FILE: &str = "calibration.json";

fn texts(v: &[compact_str::CompactString]) -> Vec<&str> {
    v.iter().map(|s| s.as_str()).collect()
}

pub fn communes_frame(m: &Model) -> Result<DataFrame> {
    let u = &m.units;
    let residual: Vec<f64> = m.baseline.iter().zip(&u.apl_drees).map(|(a, b)| a - b).collect();
    Ok(df!(
        "code" => texts(&u.code),
        "name" => texts(&u.name),
        "departement" => texts(&u.departement),
        "gps" => &u.gps,
        "demand" => &u.demand,
        "apl_model" => &m.baseline,
        "apl_drees" => &u.apl_drees,
        "residual" => residual,
    )?)
}

/// `communes.parquet` and `calibration.json` in `dir`.
pub fn write_model(dir: &Path, m: &Model, cal: &Calibration) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| crate::error::Error::io(dir, e))?;
    let prov = Provenance::new(sources::all());
    let p = dir.join(COMMUNES_FILE);
    parquet::write(&p, &mut communes_frame(m)?, &prov, schema::ACCESS_COMMUNES)?;
    let j = dir.join(CALIBRATION_FILE);
    write_json(
        &j,
        &serde_json::json!({
            "calibration": cal,
            "method": "E2SFCA with the DREES APL decay (1 up to 10 min, 2/3 up to 15, 1/3 up to 20); \
                       minutes = great-circle km × detour × 60 / speed; supply = GPs × consultations_per_gp; \
                       demand = DREES standardised population; see docs/access.md",
            "provenance": prov,
        }),
    )?;
    Ok(vec![p, j])
}

/// A map of signed values (`Theme::Residual` or `Theme::Change`) as `<stem>.svg` and `.png`;
/// units without a value get `default` (a scenario leaves units beyond 20 minutes unchanged).
pub fn write_value_map(
    dir: &Path,
    stem: &str,
    spec: &mut MapSpec,
    values: &HashMap<String, f64>,
    default: Option<f64>,
    theme: Theme,
) -> Result<(String, Vec<PathBuf>)> {
    for u in &mut spec.units {
        u.change = values.get(&u.code).copied().or(default);
    }
    let p = dir.join(format!("{stem}.svg"));
    let drawing = map::MapDrawing::new(spec)
        .map_err(|e| crate::error::Error::Config(format!("{}: cannot draw map: {e}", p.display())))?;
    let svg = drawing.write_svg(&p, theme)?;
    let q = dir.join(format!("{stem}.png"));
    drawing.write_png(&q, theme)?;
    Ok((svg, vec![p, q]))
}

/// The inputs and result of the model on the units of département `dep` alone (their own
/// catchments, nothing from outside; `all`: every unit), as CSV for `scripts/access_crosscheck.py`: `units.csv`
/// (code, demand, supply, lat, lon), `cost.csv` (origin, destination, minutes, every pair within 20 min,
/// both directions and self-pairs), `model.csv` (code, apl), `timing.json` (seconds the model took:
/// neighbour search and both steps, on this machine).
pub fn export_case(dir: &Path, full: &Model, dep: &str) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| crate::error::Error::io(dir, e))?;
    let idx: Vec<usize> = (0..full.units.len()).filter(|&i| dep == "all" || full.units.departement[i] == dep).collect();
    let u = &full.units;
    let mut sub = crate::access::Units::default();
    for &i in &idx {
        sub.index.insert(u.code[i].clone(), sub.code.len());
        sub.code.push(u.code[i].clone());
        sub.name.push(u.name[i].clone());
        sub.lat.push(u.lat[i]);
        sub.lon.push(u.lon[i]);
        sub.demand.push(u.demand[i]);
        sub.population.push(u.population[i]);
        sub.gps.push(u.gps[i]);
        sub.apl_drees.push(u.apl_drees[i]);
        sub.epci.push(u.epci[i].clone());
        sub.departement.push(u.departement[i].clone());
    }
    // Timed as the benchmark's "national model": neighbour search and both steps.
    let t = std::time::Instant::now();
    let m = Model::new(sub, full.params);
    let model_s = t.elapsed().as_secs_f64();
    let mpk = m.params.minutes_per_km();
    let mut units = String::from("code,demand,supply,lat,lon\n");
    for i in 0..m.units.len() {
        units.push_str(&format!(
            "{},{:?},{:?},{:?},{:?}\n",
            m.units.code[i],
            m.units.demand[i],
            m.units.gps[i] * m.params.consultations_per_gp,
            m.units.lat[i],
            m.units.lon[i]
        ));
    }
    let mut cost = String::from("origin,destination,minutes\n");
    for i in 0..m.units.len() {
        for e in m.net.row(i) {
            let t = m.net.km[e] * mpk;
            if t <= crate::access::e2sfca::MAX_MINUTES {
                cost.push_str(&format!("{},{},{:?}\n", m.units.code[i], m.units.code[m.net.neighbour[e] as usize], t));
            }
        }
    }
    let mut out = String::from("code,apl\n");
    for i in 0..m.units.len() {
        out.push_str(&format!("{},{:?}\n", m.units.code[i], m.baseline[i]));
    }
    let timing = serde_json::json!({
        "units": m.units.len(),
        "pairs": m.weights.iter().filter(|&&w| w > 0.0).count(),
        "model_seconds": model_s,
        "build_profile": if cfg!(debug_assertions) { "dev" } else { "release" },
    });
    let mut written = Vec::new();
    let p = dir.join("timing.json");
    write_json(&p, &timing)?;
    written.push(p);
    for (name, text) in [("units.csv", units), ("cost.csv", cost), ("model.csv", out)] {
        let p = dir.join(name);
        write_bytes(&p, text.as_bytes())?;
        written.push(p);
    }
    Ok(written)
}
