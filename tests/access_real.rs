//! The what-if accessibility model on the real national table (issue 10): calibration against
//! DREES APL 2023, scenario properties, the Grand Châteaudun example.

use crate::common;

use std::sync::OnceLock;

use cpts_diag::access::calibrate::{self, Calibration};
use cpts_diag::access::scenario::{self, Checked};
use cpts_diag::access::{Model, Units};
use cpts_diag::territory::ScenarioSpec;

fn calibrated(test: &str) -> &'static (Model, Calibration) {
    static M: OnceLock<(Model, Calibration)> = OnceLock::new();
    M.get_or_init(|| {
        let c = common::curated_or_snapshot(test);
        calibrate::calibrate(Units::from_curated(&c.communes).unwrap())
    })
}

const CHATEAUDUN: &[&str] = &[
    "28012", "28027", "28061", "28075", "28078", "28088", "28103", "28106", "28123", "28132", "28182", "28198",
    "28211", "28233", "28256", "28273", "28329", "28330", "28334", "28389", "28398", "28410", "28424",
];

fn codes(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn calibration_figures_are_computed_and_reported() {
    let (m, cal) = calibrated("calibration_figures_are_computed_and_reported");
    eprintln!("{}", serde_json::to_string_pretty(cal).unwrap());
    // Every unit DREES publishes (34 954 rows, COG 2023) lands on a COG 2026 unit with a centre.
    assert!(cal.units > 34_500, "{}", cal.units);
    // The chosen speed is the best of the search, not a constant.
    let best = cal.search.iter().map(|s| s.spearman_commune).fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(cal.levels[0].spearman, best);
    assert_eq!(cal.search.iter().find(|s| s.spearman_commune == best).unwrap().speed_kmh, cal.params.speed_kmh);
    // The level figures are the model's: recomputed here from the model output.
    let rho = calibrate::spearman(&m.baseline, &m.units.apl_drees);
    assert_eq!(rho, cal.levels[0].spearman);
    for l in &cal.levels {
        assert!(l.spearman.is_finite() && l.spearman.abs() <= 1.0 && l.pearson.abs() <= 1.0, "{l:?}");
        assert!(l.median_abs_error >= 0.0);
    }
    assert!(cal.levels[1].n > 1_000 && cal.levels[2].n > 90, "{:?}", cal.levels);
    // The least-squares scale makes the weighted national means agree closely.
    let w = |a: &[f64]| {
        let num: f64 = a.iter().zip(&m.units.demand).map(|(x, p)| x * p).sum();
        num / m.units.demand.iter().sum::<f64>()
    };
    let (mm, md) = (w(&m.baseline), w(&m.units.apl_drees));
    assert!((mm - md).abs() / md < 0.1, "model {mm} vs DREES {md}");
}

#[test]
fn adding_never_lowers_removing_never_raises() {
    let (m, _) = calibrated("adding_never_lowers_removing_never_raises");
    let n = m.units.len();
    let mut more = m.units.gps.clone();
    let mut less = m.units.gps.clone();
    for i in (0..n).step_by(97) {
        more[i] += 3.0;
        less[i] = (less[i] - 2.0).max(0.0);
    }
    let (a, b) = (m.apl_with(&more), m.apl_with(&less));
    for i in 0..n {
        assert!(a[i] >= m.baseline[i], "{}: {} < {}", m.units.code[i], a[i], m.baseline[i]);
        assert!(b[i] <= m.baseline[i], "{}: {} > {}", m.units.code[i], b[i], m.baseline[i]);
    }
    // The sparse change equals the full recomputation.
    let changes: Vec<(usize, f64)> = (0..n).step_by(97).map(|i| (i, 3.0)).collect();
    let mut full = vec![0.0; n];
    for (i, d) in m.delta(&changes) {
        full[i] = d;
    }
    for i in 0..n {
        assert!((a[i] - m.baseline[i] - full[i]).abs() < 1e-9, "{}", m.units.code[i]);
    }
}

#[test]
fn no_change_reproduces_drees() {
    let (m, _) = calibrated("no_change_reproduces_drees");
    let (inside, missing) = scenario::members(m, &codes(CHATEAUDUN));
    assert!(missing.is_empty(), "{missing:?}");
    let spec = ScenarioSpec { name: "rien".into(), ..Default::default() };
    let o = scenario::evaluate(m, &inside, &scenario::check(m, &spec).unwrap());
    for r in &o.rows {
        assert!((r.scenario - r.baseline).abs() <= 1e-12 && r.delta.abs() <= 1e-12, "{r:?}");
        assert!((r.baseline - m.units.apl_drees[m.units.index[r.code.as_str()]]).abs() <= 1e-12);
    }
    assert!((o.apl_mg - o.apl_mg_baseline).abs() <= 1e-12);
    assert_eq!(o.population_apl_below_2_5, o.population_apl_below_2_5_baseline);
    assert!(o.communes_crossing.is_empty());
}

#[test]
fn two_gps_at_brou_help_grand_chateaudun() {
    let (m, _) = calibrated("two_gps_at_brou_help_grand_chateaudun");
    let (inside, _) = scenario::members(m, &codes(CHATEAUDUN));
    let spec = scenario::parse_cli("28061=2").unwrap();
    let o = scenario::evaluate(m, &inside, &scenario::check(m, &spec).unwrap());
    eprintln!("{}", serde_json::to_string_pretty(&o).unwrap());
    assert!(o.apl_mg > o.apl_mg_baseline, "{} <= {}", o.apl_mg, o.apl_mg_baseline);
    assert!(o.population_apl_below_2_5 <= o.population_apl_below_2_5_baseline);
    let brou = o.rows.iter().find(|r| r.code == "28061").unwrap();
    assert!(brou.delta > 0.0);
    assert!(o.rows.iter().all(|r| r.delta >= 0.0));
    // Brou's GPs also serve communes outside the CC.
    assert!(o.outside_units_changed > 0);
    assert!(o.communes_crossing.iter().all(|c| c.direction == "up"));

    // The mirror image: removing GPs at Cloyes never raises anything.
    let gps = m.units.gps[m.units.index["28103"]];
    let spec = ScenarioSpec {
        name: "départs".into(),
        remove_gps: [("28103".to_string(), gps.floor() as i64)].into(),
        ..Default::default()
    };
    let o = scenario::evaluate(m, &inside, &scenario::check(m, &spec).unwrap());
    assert!(o.rows.iter().all(|r| r.delta <= 0.0));
    assert!(o.population_apl_below_2_5 >= o.population_apl_below_2_5_baseline);
}

#[test]
fn greedy_placement_for_grand_chateaudun() {
    let (m, _) = calibrated("greedy_placement_for_grand_chateaudun");
    let (inside, _) = scenario::members(m, &codes(CHATEAUDUN));
    let p = scenario::place(m, &inside, 5);
    eprintln!("{}", serde_json::to_string_pretty(&p.greedy).unwrap());
    assert_eq!(p.greedy.len(), 5);
    assert_eq!(p.by_lifted.len(), 23);
    // The greedy plan equals the scenario of its picks.
    let mut spec = ScenarioSpec { name: "plan".into(), ..Default::default() };
    for pick in &p.greedy {
        *spec.add_gps.entry(pick.code.clone()).or_default() += 1;
    }
    let checked: Checked = scenario::check(m, &spec).unwrap();
    let o = scenario::evaluate(m, &inside, &checked);
    let last = p.greedy.last().unwrap();
    assert!((o.apl_mg - last.apl_mg).abs() < 1e-9, "{} vs {}", o.apl_mg, last.apl_mg);
    assert_eq!(o.population_apl_below_2_5_baseline - o.population_apl_below_2_5, last.lifted_total);
    // The first pick is the best single GP.
    assert_eq!(p.greedy[0].code, p.by_lifted[0].code);
}

/// `diagnose` builds only the rows its territory and scenarios change; every figure must be the
/// national model's, bit for bit: Grand Châteaudun (rural, one département) with the example's
/// scenarios, and Lyon's arrondissements (dense, many neighbours) with a change far away in Paris.
#[test]
fn local_what_if_model_equals_the_national_one() {
    let c = common::curated_or_snapshot("local_what_if_model_equals_the_national_one");
    let units = Units::from_curated(&c.communes).unwrap();
    let spec = |name: &str, add: &[(&str, i64)], remove: &[(&str, i64)]| ScenarioSpec {
        name: name.into(),
        add_gps: add.iter().map(|(c, n)| (c.to_string(), *n)).collect(),
        remove_gps: remove.iter().map(|(c, n)| (c.to_string(), *n)).collect(),
    };
    let lyon: Vec<String> = (69381..=69389).map(|c| c.to_string()).chain(["69266".to_string()]).collect();
    let cases = [
        (codes(CHATEAUDUN), vec![spec("Brou", &[("28061", 2)], &[]), spec("Cloyes", &[("28088", 1)], &[("28103", 1)])]),
        (lyon, vec![spec("Lyon et Paris", &[("69383", 3), ("75111", 2)], &[("69381", 1)])]),
    ];
    for (territory, specs) in cases {
        let local = cpts_diag::access::what_if_on(units.clone(), &territory, &specs, 5).unwrap();
        let national = cpts_diag::access::what_if_national(units.clone(), &territory, &specs, 5).unwrap();
        assert!(!local.scenarios.is_empty() && local.placement.as_ref().is_some_and(|p| p.greedy.len() == 5));
        for (a, b) in local.scenarios.iter().zip(&national.scenarios) {
            assert!(a.outside_units_changed > 0, "{}", a.name);
            assert_eq!(format!("{a:?}"), format!("{b:?}"), "scenario {}", a.name);
        }
        assert_eq!(local.scenarios.len(), national.scenarios.len());
        assert_eq!(format!("{:?}", local.placement), format!("{:?}", national.placement), "{territory:?}");
        assert_eq!(local.not_modelled, national.not_modelled);
    }
}

#[test]
fn scenario_errors_name_the_code() {
    let (m, _) = calibrated("scenario_errors_name_the_code");
    let bad = |spec: ScenarioSpec| scenario::check(m, &spec).unwrap_err().to_string();
    let e = bad(ScenarioSpec { name: "x".into(), add_gps: [("28999".into(), 1)].into(), ..Default::default() });
    assert!(e.contains("28999") && e.contains("unknown"), "{e}");
    let e = bad(ScenarioSpec { name: "x".into(), add_gps: [("28061".into(), -1)].into(), ..Default::default() });
    assert!(e.contains("28061") && e.contains("negative"), "{e}");
    let gps = m.units.gps[m.units.index["28103"]];
    let e = bad(ScenarioSpec {
        name: "x".into(),
        remove_gps: [("28103".into(), gps as i64 + 1)].into(),
        ..Default::default()
    });
    assert!(e.contains("28103") && e.contains("which has"), "{e}");
    let e = bad(ScenarioSpec { name: "x".into(), add_gps: [("75056".into(), 1)].into(), ..Default::default() });
    assert!(e.contains("arrondissement"), "{e}");
}

#[test]
fn shipped_reference_parameters_are_the_calibration() {
    let (_, cal) = calibrated("shipped_reference_parameters_are_the_calibration");
    let r = cpts_diag::access::Params::reference();
    assert_eq!((r.detour, r.speed_kmh), (cal.params.detour, cal.params.speed_kmh));
    assert!(
        (r.consultations_per_gp - cal.params.consultations_per_gp).abs() < 1e-6,
        "data/reference/access.toml is stale: run `cpts-diag access --write-reference data/reference/access.toml` ({} vs {})",
        r.consultations_per_gp,
        cal.params.consultations_per_gp
    );
    assert_eq!(toml::from_str::<cpts_diag::access::Params>(&cal.params.to_toml()).unwrap(), cal.params);
}

/// The CLI on the built-in snapshot (the README's bare-clone path): the example's scenarios from
/// its TOML, one more from `--add-gps`, and an unknown code refused with exit code 2.
#[test]
fn diagnose_cli_writes_scenarios() {
    use clap::Parser;
    use cpts_diag::cli::{run, Cli};
    let tmp = common::Scratch::new("access-cli");
    let nowhere = tmp.0.join("no-data").display().to_string();
    let processed = tmp.0.join("no-processed").display().to_string();
    let out = tmp.0.join("report").display().to_string();
    let territory = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/territories/grand-chateaudun.toml")
        .display()
        .to_string();
    let base = [
        "cpts-diag",
        "--quiet",
        "--data-dir",
        &nowhere,
        "diagnose",
        "--territory",
        &territory,
        "--processed",
        &processed,
        "--out",
        &out,
    ];
    let mut args = base.to_vec();
    args.extend(["--add-gps", "28061=1,28103=-3"]);
    run(Cli::try_parse_from(args).unwrap()).unwrap();
    let s: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.0.join("report/summary.json")).unwrap()).unwrap();
    let names: Vec<&str> = s["scenarios"].as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["2 médecins de plus à Brou", "--add-gps 28061=1,28103=-3"]);
    let brou = &s["scenarios"][0];
    assert!(brou["apl_mg"].as_f64().unwrap() > s["apl_mg"].as_f64().unwrap(), "{brou}");
    assert!(brou["population_apl_below_2_5"].as_f64().unwrap() <= s["population_apl_below_2_5"].as_f64().unwrap());
    assert_eq!(s["gp_placement"]["greedy"].as_array().unwrap().len(), 5);
    let df = cpts_diag::sinks::parquet::read(&tmp.0.join("report/scenarios.parquet")).unwrap();
    assert!(df.height() >= 2 * 23);
    let retire = &s["scenarios"][1];
    assert!(retire["apl_mg"].as_f64().unwrap() < s["apl_mg"].as_f64().unwrap(), "{retire}");
    let md = std::fs::read_to_string(tmp.0.join("report/report.md")).unwrap();
    assert!(md.contains("## Scénarios") && md.contains("## Où un médecin de plus aide le plus"), "{md}");

    let mut args = base.to_vec();
    args.extend(["--add-gps", "28999=1"]);
    let e = run(Cli::try_parse_from(args).unwrap()).unwrap_err();
    assert!(e.to_string().contains("28999"), "{e}");
    assert_eq!(e.exit_code(), 2);
}
