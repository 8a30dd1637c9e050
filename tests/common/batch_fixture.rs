//! Shared helpers of the integration tests: a small made-up curated table, and the field-by-field
//! comparison of a batch row with `diagnose::evaluate`.
#![allow(dead_code)]

use cpts_diag::aci::Grid;
use cpts_diag::diagnose::{self, Scope};
use cpts_diag::indicators::INDICATORS;
use polars::prelude::*;

pub struct Unit {
    pub code: &'static str,
    pub kind: &'static str,
    pub parent: Option<&'static str>,
    pub dep: &'static str,
    pub region: &'static str,
    pub epci: Option<&'static str>,
    pub bv: Option<&'static str>,
    pub pop: i64,
    pub gp: Option<i64>,
    pub apl: Option<f64>,
    pub std: Option<f64>,
    pub area: Option<f64>,
}

#[allow(clippy::too_many_arguments)]
const fn u(
    code: &'static str,
    kind: &'static str,
    parent: Option<&'static str>,
    dep: &'static str,
    region: &'static str,
    epci: Option<&'static str>,
    bv: Option<&'static str>,
    pop: i64,
    gp: Option<i64>,
    apl: Option<f64>,
    std: Option<f64>,
    area: Option<f64>,
) -> Unit {
    Unit { code, kind, parent, dep, region, epci, bv, pop, gp, apl, std, area }
}

/// Made-up units: two EPCIs, one island outside any EPCI, a city with two arrondissements, a
/// bassin de vie across two départements and two régions, a commune without BPE or APL figure.
pub const UNITS: &[Unit] = &[
    u(
        "91001",
        "commune",
        None,
        "91",
        "R1",
        Some("200000001"),
        Some("91001"),
        30_000,
        Some(20),
        Some(3.0),
        Some(31_000.0),
        Some(12.0),
    ),
    u(
        "91002",
        "commune",
        None,
        "91",
        "R1",
        Some("200000001"),
        Some("91001"),
        5_000,
        Some(2),
        Some(2.0),
        Some(5_200.0),
        Some(20.0),
    ),
    u("91003", "commune", None, "91", "R1", None, Some("91001"), 100, Some(0), Some(1.0), Some(90.0), Some(2.0)),
    u("92001", "commune", None, "92", "R1", Some("200000001"), Some("93055"), 8_000, None, None, None, Some(9.0)),
    u(
        "93055",
        "commune",
        None,
        "93",
        "R2",
        Some("200000002"),
        Some("93055"),
        60_000,
        Some(50),
        Some(3.86),
        Some(61_000.0),
        Some(30.0),
    ),
    u(
        "93101",
        "arrondissement",
        Some("93055"),
        "93",
        "R2",
        Some("200000002"),
        Some("93055"),
        25_000,
        None,
        Some(3.5),
        Some(26_000.0),
        Some(10.0),
    ),
    u(
        "93102",
        "arrondissement",
        Some("93055"),
        "93",
        "R2",
        Some("200000002"),
        Some("93055"),
        35_000,
        None,
        Some(4.2),
        Some(35_000.0),
        Some(20.0),
    ),
    u(
        "93002",
        "commune",
        None,
        "93",
        "R2",
        Some("200000002"),
        Some("93055"),
        1_000,
        Some(1),
        Some(1.5),
        Some(1_100.0),
        Some(5.0),
    ),
];

/// Whether the made-up DGCL file has a population totale for the unit (not for arrondissements
/// nor communes outside any EPCI).
pub fn has_totale(x: &Unit) -> bool {
    x.kind == "commune" && x.epci.is_some()
}

/// The fixture as a curated table with the columns of `schema::COMMUNES`.
pub fn curated() -> DataFrame {
    let s = |f: &dyn Fn(&Unit) -> Option<String>| UNITS.iter().map(f).collect::<Vec<_>>();
    let n = |f: &dyn Fn(&Unit) -> Option<f64>| UNITS.iter().map(f).collect::<Vec<_>>();
    let name = |c: &str| format!("Nom {c}");
    let df = df!(
        "code" => s(&|x| Some(x.code.into())),
        "name" => s(&|x| Some(name(x.code))),
        "kind" => s(&|x| Some(x.kind.into())),
        "parent_code" => s(&|x| x.parent.map(Into::into)),
        "departement" => s(&|x| Some(x.dep.into())),
        "departement_name" => s(&|x| Some(format!("Département {}", x.dep))),
        "region" => s(&|x| Some(x.region.into())),
        "region_name" => s(&|x| Some(format!("Région {}", x.region))),
        "zone" => s(&|_| Some("metro".into())),
        "epci" => s(&|x| x.epci.map(Into::into)),
        "epci_name" => s(&|x| x.epci.map(|e| format!("EPCI {e}"))),
        "population" => UNITS.iter().map(|x| Some(x.pop)).collect::<Vec<_>>(),
        // Made-up totale: 3 % counted apart; the island (no EPCI) and the arrondissements have
        // none, as in the DGCL file.
        "population_totale" => UNITS.iter().map(|x| has_totale(x).then(|| x.pop + x.pop * 3 / 100)).collect::<Vec<_>>(),
        "population_comptee_a_part" => UNITS.iter().map(|x| has_totale(x).then(|| x.pop * 3 / 100)).collect::<Vec<_>>(),
        "population_totale_vintage" => s(&|x| has_totale(x).then(|| "DGCL, millésime 2022".into())),
        "population_totale_millesime" => UNITS.iter().map(|x| has_totale(x).then_some(2022i64)).collect::<Vec<_>>(),
        "population_totale_note" => s(&|x| (!has_totale(x)).then(|| "no population totale".into())),
        "apl_mg_2023" => n(&|x| x.apl),
        "apl_mg_u65_2023" => n(&|x| x.apl.map(|a| a * 0.8)),
        "apl_pop_std_2023" => n(&|x| x.std),
        "apl_pop_total_2023" => n(&|x| x.std.map(|s| s * 0.99)),
        "apl_mg_2022" => n(&|x| x.apl.map(|a| a + 0.1)),
        "apl_mg_u65_2022" => n(&|x| x.apl.map(|a| a * 0.7)),
        "apl_pop_std_2022" => n(&|x| x.std),
        "apl_pop_total_2022" => n(&|x| x.std),
        "gp_count_bpe2020" => UNITS.iter().map(|x| x.gp).collect::<Vec<_>>(),
        "area_km2" => n(&|x| x.area),
        "lat" => n(&|_| Some(48.0)),
        "lon" => n(&|_| Some(1.5)),
        "bv2022" => s(&|x| x.bv.map(Into::into)),
        "bv2022_name" => s(&|x| x.bv.map(|b| format!("BV {b}"))),
        "has_boundary_2018" => UNITS.iter().map(|x| x.kind == "commune").collect::<Vec<_>>(),
        "gp_count_note" => s(&|x| match (x.gp, x.kind) {
            (Some(_), _) => None,
            (None, "arrondissement") => Some("BPE counts the city as a whole".into()),
            (None, _) => Some("no BPE row (commune re-created)".into()),
        }),
        "apl_note" => s(&|x| x.apl.is_none().then(|| "no APL row (commune re-created)".into())),
        "area_note" => s(&|x| x.area.is_none().then(|| "no area".into())),
    )
    .expect("fixture frame");
    with_declared_columns(df)
}

/// Columns of `schema::COMMUNES` the fixture does not set (RPPS, age, ALD: sources absent here)
/// are added as the curated build adds them when their file is missing, in declared order.
fn with_declared_columns(mut df: DataFrame) -> DataFrame {
    let n = df.height();
    for c in cpts_diag::schema::COMMUNES {
        if df.column(c.name).is_ok() {
            continue;
        }
        let col = match (c.name, c.dtype) {
            ("gp_source", _) => Column::new(c.name.into(), vec!["BPE 2020"; n]),
            (name, "string") if name.ends_with("_note") => Column::new(c.name.into(), vec!["source file absent"; n]),
            (_, "string") => Column::full_null(c.name.into(), n, &DataType::String),
            (_, "int64") => Column::full_null(c.name.into(), n, &DataType::Int64),
            _ => Column::full_null(c.name.into(), n, &DataType::Float64),
        };
        df.with_column(col).unwrap();
    }
    df.select(cpts_diag::schema::COMMUNES.iter().map(|c| c.name)).unwrap()
}

/// Compare one batch row (`key` = `code`) with `diagnose::evaluate` over `units`, field by field:
/// every indicator (both null, or equal to 1e-9 relative: group_by and select may add in another order), the ACI placement, and the notes
/// (present in the batch row exactly when diagnose notes an indicator resting on them).
pub fn assert_row_matches_diagnose(batch: &DataFrame, key: &str, code: &str, units: &DataFrame, grid: &Grid) {
    let row = batch.clone().lazy().filter(col(key).eq(lit(code))).collect().unwrap();
    assert_eq!(row.height(), 1, "{key} = {code}: one batch row expected");
    let d =
        diagnose::evaluate(units, Scope { kind: "territory".into(), code: code.into(), name: code.into() }).unwrap();
    for ind in INDICATORS {
        let b = row.column(ind.id).unwrap().f64().unwrap().get(0);
        let e = d.value(ind.id);
        match (b, e) {
            (None, None) => {}
            (Some(b), Some(e)) => {
                assert!((b - e).abs() <= 1e-9 * e.abs().max(1.0), "{key} {code}: {} batch {b} vs diagnose {e}", ind.id)
            }
            _ => panic!("{key} {code}: {} batch {b:?} vs diagnose {e:?}", ind.id),
        }
        if let Some(nc) = ind.note_column {
            let batch_note = row.column(nc).unwrap().str().unwrap().get(0).map(str::to_string);
            // diagnose also names the source used ("source: BPE 2020"); only its missing-data
            // reasons have a batch counterpart.
            let diag_note = d.get(ind.id).and_then(|v| v.note.clone());
            let diag_reason =
                diag_note.as_deref().is_some_and(|n| n.contains("unavailable:") || n.contains("partial:"));
            assert_eq!(batch_note.is_some(), diag_reason, "{key} {code}: {nc} {batch_note:?} vs {diag_note:?}");
        }
    }
    let int = |c: &str| row.column(c).unwrap().i64().unwrap().get(0);
    let band = |id: &str| d.value(id).map(|v| grid.place(v.round() as i64).taille as i64);
    assert_eq!(int("aci_band_municipale"), band("population"), "{key} {code}: aci_band_municipale");
    assert_eq!(int("aci_band_totale"), band("population_totale"), "{key} {code}: aci_band_totale");
    let text = |c: &str| row.column(c).unwrap().str().unwrap().get(0).map(str::to_string);
    assert_eq!(text("aci_population_basis").as_deref(), Some(grid.population.as_str()));
    match d.value(grid.population.indicator()) {
        Some(v) => {
            let p = grid.place(v.round() as i64);
            assert_eq!(int("aci_band"), Some(p.taille as i64), "{key} {code}: aci_band");
            assert_eq!(int("aci_max_annual_funding_eur"), Some(p.max_annual_funding_2019_eur), "{key} {code}: funding");
            assert_eq!(int("aci_inhabitants_to_next_band"), p.inhabitants_to_next_band, "{key} {code}: to next band");
        }
        None => assert_eq!(int("aci_band"), None, "{key} {code}: no population on the basis, no band"),
    }
}

pub fn f64_at(df: &DataFrame, key: &str, code: &str, column: &str) -> Option<f64> {
    let row = df.clone().lazy().filter(col(key).eq(lit(code))).collect().unwrap();
    assert_eq!(row.height(), 1, "{key} = {code}");
    row.column(column).unwrap().f64().unwrap().get(0)
}

pub fn str_at(df: &DataFrame, key: &str, code: &str, column: &str) -> Option<String> {
    let row = df.clone().lazy().filter(col(key).eq(lit(code))).collect().unwrap();
    assert_eq!(row.height(), 1, "{key} = {code}");
    row.column(column).unwrap().str().unwrap().get(0).map(str::to_string)
}
