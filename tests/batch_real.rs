//! Batch tables on the real published files (skipped, visibly, without ../shared/data): the
//! national totals of the source, the Eure-et-Loir figures of the end-to-end issue, and a handful
//! of EPCIs equal, field by field, to what `diagnose` gives for them.

use crate::common;

use std::sync::OnceLock;

use cpts_diag::aci::Grid;
use cpts_diag::batch::{self, Level};
use cpts_diag::diagnose;
use cpts_diag::sources::DataDir;
use cpts_diag::territory::{self, TerritorySpec};
use cpts_diag::transforms::curated::Curated;
use polars::prelude::*;

use common::batch_fixture::*;

fn data() -> Option<DataDir> {
    common::real_data("batch_real")
}

/// The curated table, built once for every test of this file.
/// From the real files, or from the embedded snapshot (the same build) on a clone without them.
fn real() -> Option<&'static Curated> {
    static C: OnceLock<Curated> = OnceLock::new();
    Some(C.get_or_init(|| common::curated_or_snapshot("batch_real")))
}

fn sum(df: &DataFrame, c: &str) -> f64 {
    df.column(c).unwrap().as_materialized_series().cast(&DataType::Float64).unwrap().f64().unwrap().sum().unwrap_or(0.0)
}

#[test]
fn commune_level_sums_to_the_national_population_of_the_source() {
    let Some(c) = real() else { return };
    let t = batch::compute(&c.communes, Level::Commune, &Grid::embedded()).unwrap();
    assert_eq!(t.frame.height(), c.communes.height());
    let communes = t.frame.clone().lazy().filter(col("kind").eq(lit("commune"))).collect().unwrap();
    let france = communes.clone().lazy().filter(col("zone").neq(lit("com"))).collect().unwrap();
    // The source: every commune actuelle of communes.json (metro, DROM and COM), read here
    // directly, not through the staging module (when the data folder is here).
    if let Some(d) = data() {
        let path = d.file(cpts_diag::sources::decoupage::COMMUNES.file).unwrap();
        let mut text = String::new();
        let mut z = flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap());
        std::io::Read::read_to_string(&mut z, &mut text).unwrap();
        let raw: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
        let actuelles = raw.iter().filter(|o| o["type"] == "commune-actuelle");
        let source_total: i64 = actuelles.clone().filter_map(|o| o["population"].as_i64()).sum();
        let source_france: i64 =
            actuelles.filter(|o| o["zone"] != "com").filter_map(|o| o["population"].as_i64()).sum();
        assert_eq!(sum(&communes, "population"), source_total as f64);
        assert_eq!(sum(&france, "population"), source_france as f64);
    }
    // SOURCES.md §2a: metro + DROM = 68 350 798.
    assert_eq!(sum(&france, "population"), 68_350_798.0);
    // Arrondissements are there too, and add up to their cities.
    let arr = t.frame.clone().lazy().filter(col("kind").eq(lit("arrondissement"))).collect().unwrap();
    assert_eq!(arr.height(), 45);
    let cities = communes
        .lazy()
        .filter(col("code").is_in(lit(Series::new("c".into(), ["75056", "69123", "13055"])).implode(false), false))
        .collect()
        .unwrap();
    assert_eq!(sum(&arr, "population"), sum(&cities, "population"));
}

#[test]
fn departement_level_reproduces_eure_et_loir() {
    let Some(c) = real() else { return };
    let t = batch::compute(&c.communes, Level::Departement, &Grid::embedded()).unwrap();
    assert_eq!(f64_at(&t.frame, "departement", "28", "population"), Some(433_129.0));
    assert_eq!(f64_at(&t.frame, "departement", "28", "gp_count"), Some(254.0));
    let apl = f64_at(&t.frame, "departement", "28", "apl_mg").unwrap();
    assert!((apl - 2.413).abs() <= 0.0005, "APL 2023 of Eure-et-Loir {apl}");
    assert_eq!(f64_at(&t.frame, "departement", "28", "communes_count"), Some(363.0));
    // Every commune is in one département: the level adds up to the commune level.
    let communes = c.communes.clone().lazy().filter(col("kind").eq(lit("commune"))).collect().unwrap();
    assert_eq!(sum(&t.frame, "population"), sum(&communes, "population"));
    assert_eq!(sum(&t.frame, "communes_count"), communes.height() as f64);
    let r = batch::compute(&c.communes, Level::Region, &Grid::embedded()).unwrap();
    assert_eq!(sum(&r.frame, "population"), sum(&communes, "population"));
}

#[test]
fn epci_and_bassin_de_vie_levels_leave_no_commune_out_silently() {
    let Some(c) = real() else { return };
    let communes = c.communes.clone().lazy().filter(col("kind").eq(lit("commune"))).collect().unwrap();
    for level in [Level::Epci, Level::BassinDeVie] {
        let t = batch::compute(&c.communes, level, &Grid::embedded()).unwrap();
        let excluded: Vec<String> = t.excluded.iter().map(|e| e.code.clone()).collect();
        let out_pop = sum(
            &communes
                .clone()
                .lazy()
                .filter(col("code").is_in(lit(Series::new("c".into(), excluded.clone())).implode(false), false))
                .collect()
                .unwrap(),
            "population",
        );
        assert_eq!(sum(&t.frame, "population") + out_pop, sum(&communes, "population"), "{}", level.id());
        assert_eq!(sum(&t.frame, "communes_count") as usize + excluded.len(), communes.height(), "{}", level.id());
        if level == Level::Epci {
            // SOURCES.md §2a: 1 255 EPCI; the 4 island communes of no EPCI, and the COM.
            assert_eq!(t.frame.height(), 1255);
            for island in ["22016", "29083", "29155", "85113"] {
                assert!(excluded.contains(&island.to_string()), "{island}");
            }
        }
    }
}

#[test]
fn epci_rows_equal_diagnose_field_by_field() {
    let Some(c) = real() else { return };
    let grid = Grid::embedded();
    let t = batch::compute(&c.communes, Level::Epci, &grid).unwrap();
    let f = &t.frame;
    // Chosen for their traps: Grand Châteaudun (the example CPTS), Métropole du Grand Paris and
    // Métropole de Lyon (cities with arrondissements), plus the first EPCI across départements,
    // the first in a DROM, the first with a commune lacking a BPE figure and the first without
    // any APL note.
    let mut epcis: Vec<String> = ["200069961", "200054781", "200046977"].map(String::from).to_vec();
    let first = |filter: Expr| {
        f.clone()
            .lazy()
            .filter(filter)
            .select([col("epci")])
            .collect()
            .unwrap()
            .column("epci")
            .unwrap()
            .str()
            .unwrap()
            .get(0)
            .unwrap()
            .to_string()
    };
    epcis.push(first(col("departements").neq(col("departement"))));
    epcis.push(first(
        col("region").is_in(lit(Series::new("r".into(), ["01", "02", "03", "04", "06"])).implode(false), false),
    ));
    epcis.push(first(col("gp_count_note").is_not_null()));
    epcis.push(first(col("apl_note").is_null()));
    for e in &epcis {
        let units = c
            .communes
            .clone()
            .lazy()
            .filter(col("kind").eq(lit("commune")).and(col("epci").eq(lit(e.as_str()))))
            .collect()
            .unwrap();
        assert!(units.height() > 0, "{e}");
        assert_row_matches_diagnose(f, "epci", e, &units, &grid);
    }
    // And through the full diagnose path: the EPCI as a territory file would give it.
    let spec = TerritorySpec { name: "Grand Châteaudun".into(), epci: vec!["200069961".into()], ..Default::default() };
    let terr = territory::resolve(&spec, &c.cog, &c.index).unwrap();
    let d = diagnose::diagnose(&c.communes, terr, &grid).unwrap();
    for ind in cpts_diag::indicators::INDICATORS.iter() {
        let (a, b) = (d.territory().value(ind.id), f64_at(f, "epci", "200069961", ind.id));
        // group_by and select may add in another order: equal to the last bits. Indicators of
        // sources absent from the data folder (age, ALD, RPPS) are null on both sides.
        match (a, b) {
            (None, None) => {
                assert!(
                    ind.sources.iter().any(|s| ["insee_age", "ameli_ald_sans_mt", "rpps"].contains(s)),
                    "{} null",
                    ind.id
                )
            }
            (Some(a), Some(b)) => assert!((a - b).abs() <= 1e-12 * a.abs().max(1.0), "{}: {a} vs {b}", ind.id),
            _ => panic!("{}: diagnose {a:?} vs batch {b:?}", ind.id),
        }
    }
    let aci = d.aci.unwrap();
    let int = |c: &str| {
        f.clone()
            .lazy()
            .filter(col("epci").eq(lit("200069961")))
            .collect()
            .unwrap()
            .column(c)
            .unwrap()
            .i64()
            .unwrap()
            .get(0)
    };
    assert_eq!(int("aci_band"), Some(aci.taille as i64));
    assert_eq!(int("aci_inhabitants_to_next_band"), aci.inhabitants_to_next_band);
}

#[test]
fn territories_level_equals_diagnose_of_each_territory_file() {
    let Some(c) = real() else { return };
    let grid = Grid::embedded();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/territories");
    let list = batch::load_territories(&dir, &c.cog, &c.index, &c.communes, None).unwrap();
    let t = batch::territories(&c.communes, &list, &grid).unwrap();
    assert_eq!(t.frame.height(), list.len());
    for (id, terr) in &list {
        let units = diagnose::select_units(&c.communes, &terr.codes).unwrap();
        assert_row_matches_diagnose(&t.frame, "territory", id, &units, &grid);
    }
}

#[test]
fn derived_csvs_stage_exactly_what_the_xlsx_workbooks_hold() {
    let Some(d) = data() else { return };
    use cpts_diag::sources::{apl, bpe};
    if !d.exists(apl::DERIVED_FILE) || !d.exists(bpe::DERIVED_FILE) {
        eprintln!("SKIP: derived CSVs absent");
        return;
    }
    let no_line = |df: DataFrame| df.drop("line").unwrap();
    let derived = apl::load_derived(&d, &[2023, 2022]).unwrap();
    for (m, csv) in [2023, 2022].into_iter().zip(derived) {
        let xlsx = no_line(apl::load(&d, m).unwrap());
        assert!(xlsx.height() > 34_000);
        assert!(no_line(csv).equals_missing(&xlsx), "APL {m}: CSV and xlsx differ");
    }
    let xlsx = no_line(bpe::load(&d).unwrap());
    assert!(no_line(bpe::load_derived(&d).unwrap()).equals_missing(&xlsx), "BPE: CSV and xlsx differ");
}
