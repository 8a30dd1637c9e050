//! `coverage` on the real ARS PACA listing of January 2026 (SOURCES.md §8b): 70 CPTS, with the
//! listing's real quirks. Skips with a visible line when the data folder is absent.

use std::path::Path;
use std::sync::OnceLock;

use cpts_diag::aci::Grid;
use cpts_diag::coverage::{self, Coverage};
use cpts_diag::diagnose;
use cpts_diag::geo::Geography;
use cpts_diag::sources::decoupage::UnitKind;
use cpts_diag::sources::DataDir;
use cpts_diag::territory::Context;
use cpts_diag::transforms::curated::{self, Curated};

const LISTING: &str = "cpts/ars-paca_cpts_communes_2026-01.csv";

struct Real {
    c: Curated,
    coverage: Coverage,
}

fn data_dir() -> DataDir {
    let d = DataDir::from_env();
    if d.root.is_relative() {
        DataDir::new(Path::new(env!("CARGO_MANIFEST_DIR")).join(&d.root))
    } else {
        d
    }
}

fn real(test: &str) -> Option<&'static Real> {
    static REAL: OnceLock<Option<Real>> = OnceLock::new();
    let r = REAL.get_or_init(|| {
        let data = data_dir();
        if !data.exists(LISTING) || !data.exists("population/decoupage-administratif-6.0.0/communes.json.gz") {
            return None;
        }
        let c = curated::build(&data, &mut |_| {}).expect("curated table builds from the real files");
        let geo = c.boundaries.clone().map(|b| Geography::new(b, &c.index));
        let listing = coverage::read_listing(&data.root.join(LISTING)).expect("the listing reads");
        let ctx = Context { curated: Some(&c.communes), geography: geo.as_ref() };
        let cpts = coverage::resolve_listing(&listing, &c.cog, &c.index, ctx).expect("every code resolves");
        let grid = Grid::embedded();
        let inputs = coverage::Inputs {
            cog: &c.cog,
            index: &c.index,
            curated: &c.communes,
            geography: geo.as_ref(),
            grid: &grid,
        };
        let coverage = coverage::compute(&listing.path, cpts, None, inputs).expect("coverage computes");
        Some(Real { c, coverage })
    });
    if r.is_none() {
        eprintln!("SKIP {test}: real data folder {} not found (set CPTS_DATA_DIR)", data_dir().root.display());
    }
    r.as_ref()
}

#[test]
fn seventy_cpts_resolve_and_the_former_code_is_remapped_with_a_warning() {
    let Some(r) = real("seventy_cpts_resolve") else { return };
    let v = &r.coverage;
    assert_eq!(v.cpts.len(), 70);
    assert_eq!(v.region, "93");
    assert_eq!(v.table.height(), 70);
    let remap: Vec<&String> = v.warnings.iter().filter(|w| w.contains("05120")).collect();
    assert_eq!(remap.len(), 1, "{:?}", v.warnings);
    assert!(remap[0].contains("former commune code, merged into 05001"), "{}", remap[0]);
    // The warning names the listing's line of that CPTS.
    let line = std::fs::read_to_string(data_dir().root.join(LISTING))
        .unwrap()
        .lines()
        .position(|l| l.contains("05120"))
        .unwrap()
        + 1;
    assert!(remap[0].contains(&format!("ars-paca_cpts_communes_2026-01.csv:{line}:")), "{}", remap[0]);
    assert!(v.cpts.iter().all(|c| !c.territory.codes.contains(&"05120".to_string())));
    assert!(v.outside.is_empty(), "every listed unit is in PACA: {:?}", v.outside.first());
}

#[test]
fn marseille_is_counted_by_arrondissement_and_its_first_is_not_covered() {
    let Some(r) = real("marseille_by_arrondissement") else { return };
    let v = &r.coverage;
    assert_eq!(v.split_cities, vec!["13055".to_string()]);
    assert!(!v.layer.contains(&"13055".to_string()));
    let arrs: Vec<&String> = v.layer.iter().filter(|c| c.starts_with("132")).collect();
    assert_eq!(arrs.len(), 16);
    assert!(v.cpts.iter().all(|c| !c.territory.codes.contains(&"13055".to_string())));
    let first = v.not_covered.iter().find(|u| u.code == "13201").expect("13201 is a zone blanche");
    assert!(first.population > 0);
    for code in ["13202", "13214", "13216"] {
        assert!(v.membership.contains_key(code), "{code} is covered");
    }
    if v.has_geography {
        assert!(!first.adjacent_cpts.is_empty(), "13201 borders Marseille CPTS");
        let added = v.units["13201"].aci_population;
        assert!(added >= first.population, "the ACI counts the population totale by default");
        assert!(first.options.iter().all(|o| o.population_after == o.population_before + added));
    }
}

#[test]
fn nice_is_in_three_cpts_and_toulon_in_two() {
    let Some(r) = real("nice_and_toulon_shared") else { return };
    let v = &r.coverage;
    let find = |code: &str| v.in_several.iter().find(|u| u.code == code).unwrap_or_else(|| panic!("{code} shared"));
    assert_eq!(find("06088").cpts.len(), 3);
    assert_eq!(find("83137").cpts.len(), 2);
    assert_eq!(v.membership["06088"].len(), 3);
}

#[test]
fn region_population_is_the_cog_total_and_covered_plus_not_covered_adds_up() {
    let Some(r) = real("region_population") else { return };
    let v = &r.coverage;
    let cog_total: i64 =
        r.c.cog
            .units
            .iter()
            .filter(|u| u.kind == UnitKind::Commune && u.region == "93")
            .map(|u| u.population.unwrap_or(0))
            .sum();
    assert!(cog_total > 5_000_000, "{cog_total}");
    assert_eq!(v.region_population, cog_total);
    assert_eq!(v.population_covered + v.population_not_covered(), v.region_population);
    // Shared units count once in the région: the sum over CPTS exceeds the covered population.
    let sum_cpts: f64 = v.table.column("population").unwrap().f64().unwrap().iter().flatten().sum();
    assert!(sum_cpts as i64 > v.population_covered);
}

#[test]
fn each_cpts_population_is_that_of_diagnose_on_the_same_perimeter() {
    let Some(r) = real("cpts_population_vs_diagnose") else { return };
    let v = &r.coverage;
    let grid = Grid::embedded();
    let ids: Vec<&str> = v.table.column("territory").unwrap().str().unwrap().iter().flatten().collect();
    let pops: Vec<f64> = v.table.column("population").unwrap().f64().unwrap().iter().flatten().collect();
    let marseille = v.cpts.iter().position(|c| c.territory.codes.iter().any(|x| x.starts_with("132"))).unwrap();
    let nice = v.cpts.iter().position(|c| c.territory.codes.contains(&"06088".to_string())).unwrap();
    let mut picked = vec![marseille, nice, 0, 20, 45, 69];
    picked.dedup();
    for i in picked {
        let c = &v.cpts[i];
        let d = diagnose::diagnose(&r.c.communes, c.territory.clone(), &grid).unwrap();
        let k = ids.iter().position(|id| *id == c.id).unwrap();
        assert_eq!(d.territory().value("population"), Some(pops[k]), "{}", c.territory.name);
        // And the population straight from the COG, unit by unit.
        let by_cog: i64 = c
            .territory
            .codes
            .iter()
            .map(|code| r.c.cog.units.iter().find(|u| u.code == *code).unwrap().population.unwrap_or(0))
            .sum();
        assert_eq!(pops[k] as i64, by_cog, "{}", c.territory.name);
    }
}
