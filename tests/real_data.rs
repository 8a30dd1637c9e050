//! Checks against the publishers' own figures, on the real files of `../shared/data`
//! (SOURCES.md). Where the folder is absent, they run on the snapshot embedded in the binary,
//! which is the same build (tests/snapshot.rs); CI always has the folder.

use crate::common;

use std::sync::OnceLock;

use cpts_diag::aci::Grid;
use cpts_diag::diagnose::{communes_of, diagnose, evaluate, Scope};
use cpts_diag::territory::{resolve, TerritorySpec};
use cpts_diag::transforms::cog::CogIndex;
use cpts_diag::transforms::curated::Curated;
use polars::prelude::*;

/// From the real files, or from the embedded snapshot (the same build) on a clone without them.
fn curated(test: &str) -> Option<&'static Curated> {
    static C: OnceLock<Curated> = OnceLock::new();
    Some(C.get_or_init(|| common::curated_or_snapshot(test)))
}

fn dep(c: &Curated, code: &str) -> cpts_diag::diagnose::ScopeResult {
    let rows = communes_of(&c.communes, col("departement").eq(lit(code))).unwrap();
    evaluate(&rows, Scope { kind: "departement".into(), code: code.into(), name: String::new() }).unwrap()
}

#[test]
fn eure_et_loir_matches_published_figures() {
    let Some(c) = curated("eure_et_loir_matches_published_figures") else { return };
    let d = dep(c, "28");
    assert_eq!(d.value("population"), Some(433_129.0), "INSEE populations légales 2023, COG 2026");
    assert_eq!(d.value("communes_count"), Some(363.0));
    assert_eq!(d.value("gp_count"), Some(254.0), "BPE 2020 via ANCT");
    let apl = d.value("apl_mg").unwrap();
    assert!((apl - 2.413).abs() <= 0.001, "DREES-weighted APL 2023 = {apl}");
    let apl22 = d.value("apl_mg_2022").unwrap();
    assert!((apl22 - 2.626).abs() <= 0.001, "DREES-weighted APL 2022 = {apl22}");
    let below = d.value("population_apl_below_2_5").unwrap();
    assert!((below - 241_925.0).abs() / 241_925.0 < 0.01, "population under APL 2.5 = {below}");
    assert!((d.value("inhabitants_per_gp").unwrap() - 1705.2).abs() < 0.1);
    assert!((d.value("gp_per_100k").unwrap() - 58.6).abs() < 0.05);
}

#[test]
fn commune_figures_match_sources() {
    let Some(c) = curated("commune_figures_match_sources") else { return };
    let df = &c.communes;
    let get = |code: &str, col: &str| {
        let i = df.column("code").unwrap().str().unwrap().iter().position(|x| x == Some(code)).unwrap();
        df.column(col).unwrap().cast(&DataType::Float64).unwrap().f64().unwrap().get(i)
    };
    assert_eq!(get("28085", "apl_mg_2023"), Some(2.679), "Chartres APL 2023 (DREES)");
    assert_eq!(get("28085", "gp_count_bpe2020"), Some(36.0));
    assert_eq!(get("28134", "gp_count_bpe2020"), Some(16.0), "Dreux");
    assert_eq!(get("28088", "gp_count_bpe2020"), Some(8.0), "Châteaudun");
    assert_eq!(get("28085", "area_km2"), Some(16.85));
    assert_eq!(get("75056", "gp_count_bpe2020"), Some(2515.0), "Paris BPE 2020");
    assert_eq!(get("75113", "gp_count_bpe2020"), None, "BPE has no arrondissement figure");
}

#[test]
fn national_totals_match_sources() {
    let Some(c) = curated("national_totals_match_sources") else { return };
    let france = communes_of(&c.communes, cpts_diag::diagnose::france_filter()).unwrap();
    let fr = evaluate(&france, Scope { kind: "france".into(), code: "FR".into(), name: String::new() }).unwrap();
    assert_eq!(fr.value("population"), Some(68_350_798.0), "metro + DROM, SOURCES.md §2a");
    assert_eq!(fr.value("communes_count"), Some(34_875.0));
    assert_eq!(fr.value("gp_count"), Some(60_305.0), "BPE 2020 France total");
    let metro = communes_of(&c.communes, col("zone").eq(lit("metro"))).unwrap();
    let pop: i64 = metro.column("population").unwrap().i64().unwrap().sum().unwrap();
    assert_eq!(pop, 66_165_815);
}

#[test]
fn every_old_code_is_remapped_none_unknown() {
    let Some(c) = curated("every_old_code_is_remapped_none_unknown") else { return };
    if c.reports.is_empty() {
        eprintln!("SKIP every_old_code_is_remapped_none_unknown: the snapshot carries no reports");
        return;
    }
    let r = |id: &str| c.reports.iter().find(|r| r.source == id).unwrap();
    for (id, remapped) in [
        ("drees_apl_2023", 68),
        ("drees_apl_2022", 81),
        ("bpe_nb_medg", 102),
        ("contours_communes_cog2026", 0),
        ("comparateur_rcarlier", 68),
        ("insee_tagc_bv2022", 68),
    ] {
        assert_eq!(r(id).codes_remapped.len(), remapped, "{id}");
        assert!(r(id).codes_unknown.is_empty(), "{id}: {:?}", r(id).codes_unknown);
    }
    assert_eq!(r("drees_apl_2023").rows_read, 34_954);
    assert_eq!(r("bpe_nb_medg").rows_read, 34_965);
    // The current boundaries: 34 867 communes and 45 arrondissements; the 8 communes without
    // polygon (SOURCES.md §8a) are listed.
    let b = r("contours_communes_cog2026");
    assert_eq!(b.rows_read, 34_867 + 45);
    assert_eq!(b.communes_without_data, ["12218", "14581", "15031", "15035", "15047", "15171", "49126", "69114"]);
}

#[test]
fn boundary_areas_are_set_against_insee_for_eure_et_loir_and_chartres() {
    let Some(c) = curated("boundary_areas_are_set_against_insee_for_eure_et_loir_and_chartres") else { return };
    // The comparison is in the build's report (the snapshot carries none).
    if let Some(rep) = c.reports.iter().find(|r| r.source == "contours_communes_cog2026") {
        let cmp = rep.comparison.as_ref().unwrap();
        eprintln!("{cmp:#}");
        let chartres = &cmp["chartres_28085"];
        assert_eq!(chartres["insee_km2"].as_f64(), Some(16.85));
        // Simplified polygons: close to INSEE's figure, not equal to it.
        let b = chartres["boundaries_km2"].as_f64().unwrap();
        assert!((b - 16.85).abs() / 16.85 < 0.05, "Chartres {b} km²");
        let d28 = &cmp["departement_28"];
        assert!(d28["difference_pct"].as_f64().unwrap().abs() < 1.0, "{d28}");
        assert!(cmp["france"]["units_compared"].as_u64().unwrap() > 34_000);
        // The polygon of Hesdin-la-Forêt is old Hesdin's alone (see tests/geo_real.rs): flagged.
        let flagged: Vec<&str> =
            cmp["largest_differences"].as_array().unwrap().iter().filter_map(|o| o["code"].as_str()).collect();
        assert!(flagged.contains(&"62447"), "{flagged:?}");
    }
    // INSEE's area stays the reference; every unit with a polygon has its boundary area.
    let df = &c.communes;
    let i = df.column("code").unwrap().str().unwrap().iter().position(|c| c == Some("28085")).unwrap();
    assert_eq!(df.column("area_km2").unwrap().f64().unwrap().get(i), Some(16.85));
    let with_polygon = df.column("has_boundary").unwrap().bool().unwrap().iter().filter(|b| *b == Some(true)).count();
    assert_eq!(with_polygon, 34_867 + 45);
}

#[test]
fn paris_arrondissements_sum_to_paris() {
    let Some(c) = curated("paris_arrondissements_sum_to_paris") else { return };
    for (city, n) in [("75056", 20), ("69123", 9), ("13055", 16)] {
        let arr = c
            .communes
            .clone()
            .lazy()
            .filter(col("parent_code").eq(lit(city)))
            .select([
                col("code").count().alias("n"),
                col("population").sum().alias("pop"),
                col("apl_pop_std_2023").sum().alias("std"),
                col("area_km2").sum().alias("area"),
            ])
            .collect()
            .unwrap();
        let whole = c.communes.clone().lazy().filter(col("code").eq(lit(city))).collect().unwrap();
        let g = |df: &DataFrame, col: &str| {
            df.column(col).unwrap().cast(&DataType::Float64).unwrap().f64().unwrap().get(0).unwrap()
        };
        assert_eq!(g(&arr, "n"), n as f64);
        assert_eq!(g(&arr, "pop"), g(&whole, "population"), "{city} population");
        assert!((g(&arr, "std") - g(&whole, "apl_pop_std_2023")).abs() < 1e-6, "{city} APL weights");
        assert!((g(&arr, "area") - g(&whole, "area_km2")).abs() < 1e-6, "{city} area");
    }
    assert_eq!(
        c.communes
            .clone()
            .lazy()
            .filter(col("code").eq(lit("75056")))
            .collect()
            .unwrap()
            .column("population")
            .unwrap()
            .i64()
            .unwrap()
            .get(0),
        Some(2_103_778)
    );
}

#[test]
fn example_territory_grand_chateaudun() {
    let Some(c) = curated("example_territory_grand_chateaudun") else { return };
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/territories/grand-chateaudun.toml");
    let spec = TerritorySpec::load(&path).unwrap();
    let index = CogIndex::new(&c.cog);
    let t = resolve(&spec, &c.cog, &index).unwrap();
    assert!(t.warnings.is_empty(), "{:?}", t.warnings);
    let d = diagnose(&c.communes, t, &Grid::embedded()).unwrap();
    let s = d.territory();
    assert_eq!(s.value("communes_count"), Some(23.0));
    assert_eq!(s.value("population"), Some(39_574.0));
    // Population municipale (2023): taille 1, 426 short of taille 2.
    let m = d.aci_municipale.clone().unwrap();
    assert_eq!(m.taille, 1);
    assert_eq!(m.inhabitants_to_next_band, Some(426));
    assert_eq!(m.next_band_max_annual_funding_2019_eur, Some(287_000));
    // The embedded grid counts the population totale (DGCL, millésime 2022): taille 2.
    assert_eq!(s.value("population_totale"), Some(40_648.0));
    let aci = d.aci.clone().unwrap();
    assert_eq!((aci.taille, aci.inhabitants_to_next_band), (2, Some(80_000 - 40_648)));
    // The same EPCI through `epci = [...]` gives the same communes.
    let by_epci = TerritorySpec { name: "CC".into(), epci: vec!["200069961".into()], ..Default::default() };
    assert_eq!(resolve(&by_epci, &c.cog, &index).unwrap().codes, d.territory.codes);
    assert_eq!(d.scopes[1].scope.code, "28");
}

#[test]
fn urban_territory_on_arrondissements() {
    let Some(c) = curated("urban_territory_on_arrondissements") else { return };
    let index = CogIndex::new(&c.cog);
    let t = resolve(&TerritorySpec::from_codes(Some("Paris 13-14"), "75113,75114"), &c.cog, &index).unwrap();
    let d = diagnose(&c.communes, t, &Grid::embedded()).unwrap();
    let s = d.territory();
    assert!(s.value("population").unwrap() > 250_000.0);
    assert!(s.value("apl_mg").is_some());
    assert_eq!(s.value("gp_count"), None);
    assert!(s.get("gp_count").unwrap().note.as_deref().unwrap().contains("whole communes"));
}

#[test]
fn statistiques_locales_export_is_read_with_its_quirks() {
    let Some(data) = common::real_data("statistiques_locales_export_is_read_with_its_quirks") else { return };
    use cpts_diag::sources::table::{read_delimited, Num};
    let path = data.file("population/insee_statlocales_pop_municipale_2019_communes.csv.gz").unwrap();
    let t = read_delimited(&path, "Code", &["Code", "Libellé", "Population municipale 2019"]).unwrap();
    assert_eq!(t.header_line, 3, "two preamble lines");
    assert_eq!(t.delimiter, Some(b';'));
    assert_eq!(t.rows.len(), 34_955);
    let c = t.column("Population municipale 2019").unwrap();
    let mut na = 0;
    let mut dep28 = 0.0;
    for row in &t.rows {
        match t.number(row, c).unwrap() {
            Num::Missing => na += 1,
            Num::Value(v) if t.text(row, 0).starts_with("28") => dep28 += v,
            Num::Value(_) => {}
        }
    }
    assert_eq!(na, 17, "Mayotte rows are N/A");
    assert_eq!(dep28, 431_575.0);
}

/// CartoSanté 2024 by bassin de vie, through the curated table and the indicators: a commune
/// carries its bassin de vie's published density; a bassin de vie of the batch gets the published
/// value back; any other scope is an estimate with its method. Without an RPPS extraction the
/// profession counts are unavailable, with the command that brings one, never 0.
#[test]
fn first_line_professions_on_the_real_data() {
    let Some(c) = curated("first_line_professions_on_the_real_data") else { return };
    let get = |code: &str, column: &str| -> Option<f64> {
        let row = c.communes.clone().lazy().filter(col("code").eq(lit(code))).collect().unwrap();
        row.column(column).unwrap().f64().unwrap().get(0)
    };
    // Anet (28007) and Bonneval (28051) are the pole communes of their bassins de vie.
    assert_eq!(get("28007", "cartosante_gp_per_10k"), Some(3.7), "CartoSanté: BV Anet GP density 2024");
    assert_eq!(get("28051", "cartosante_gp_per_10k"), Some(2.8), "CartoSanté: BV Bonneval GP density 2024");
    assert_eq!(get("28051", "cartosante_midwife_per_10k"), Some(0.0));

    let grid = Grid::embedded();
    let bv = cpts_diag::batch::compute(&c.communes, cpts_diag::batch::Level::BassinDeVie, &grid).unwrap();
    // The population-weighted mean of one published value is that value (to rounding).
    let at = |code: &str, column: &str| common::batch_fixture::f64_at(&bv.frame, "bv2022", code, column).unwrap();
    assert!((at("28007", "cartosante_gp_per_10k") - 3.7).abs() < 1e-9);
    assert!((at("28051", "cartosante_gp_per_10k") - 2.8).abs() < 1e-9);
    assert!((at("28051", "cartosante_nurse_per_10k") - 11.3).abs() < 1e-9);

    // Grand Châteaudun: an estimate between its bassins de vie's densities, labelled as such.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/territories/grand-chateaudun.toml");
    let index = CogIndex::new(&c.cog);
    let t = resolve(&TerritorySpec::load(&path).unwrap(), &c.cog, &index).unwrap();
    let units = cpts_diag::diagnose::select_units(&c.communes, &t.codes).unwrap();
    let d = diagnose(&c.communes, t, &grid).unwrap();
    let s = d.territory();
    let v = s.value("cartosante_gp_per_10k").unwrap();
    let bvs = units.column("cartosante_gp_per_10k").unwrap().f64().unwrap();
    assert!(bvs.min().unwrap() <= v && v <= bvs.max().unwrap(), "{v} within its bassins de vie");
    assert!(s
        .get("cartosante_gp_per_10k")
        .unwrap()
        .note
        .as_deref()
        .unwrap()
        .contains("ESTIMATE at bassin-de-vie level"));
    // No RPPS in the data folder: unavailable, with the way to get it.
    for id in ["rpps_nurse_count", "rpps_nurse_per_10k", "rpps_physio_rezone_hidden_communes"] {
        let x = s.get(id).unwrap();
        assert_eq!(x.value, None, "{id}");
        assert!(x.note.as_deref().unwrap().contains("cpts-diag fetch rpps"), "{id}: {:?}", x.note);
    }
}
