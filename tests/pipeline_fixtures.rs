//! The whole pipeline on a made-up data folder in the published formats. Every expected number
//! is worked out by hand from the fixture values in `common/mod.rs`.

use crate::common;

use cpts_diag::aci::Grid;
use cpts_diag::diagnose::{diagnose, Diagnosis};
use cpts_diag::sinks::parquet;
use cpts_diag::territory::{resolve, TerritorySpec};
use cpts_diag::transforms::curated::{build, Curated};
use polars::prelude::*;

fn curated() -> Curated {
    let data = common::fixture_data("pipeline");
    build(&data, &mut |_| {}).expect("fixture data builds")
}

fn row_f64(df: &DataFrame, code: &str, col: &str) -> Option<f64> {
    let i = df.column("code").unwrap().str().unwrap().iter().position(|c| c == Some(code)).expect(code);
    df.column(col).unwrap().cast(&DataType::Float64).unwrap().f64().unwrap().get(i)
}

fn row_str(df: &DataFrame, code: &str, col: &str) -> Option<String> {
    let i = df.column("code").unwrap().str().unwrap().iter().position(|c| c == Some(code)).expect(code);
    df.column(col).unwrap().str().unwrap().get(i).map(str::to_string)
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

#[test]
fn curated_table_applies_cog_and_aggregation_rules() {
    let c = curated();
    let df = &c.communes;
    assert_eq!(df.height(), 7, "5 communes actuelles + 2 arrondissements; the déléguée is not a unit");
    // 28901 (former code) merged into 28001: APL weighted by standardised population.
    assert!(close(row_f64(df, "28001", "apl_mg_2023"), (2.0 * 800.0 + 4.0 * 200.0) / 1000.0));
    assert!(close(row_f64(df, "28001", "apl_pop_total_2023"), 1000.0));
    assert!(close(row_f64(df, "28001", "apl_mg_2022"), 1.1 * 2.4));
    // Counts and areas are summed; the centre is area-weighted.
    assert!(close(row_f64(df, "28001", "gp_count_bpe2020"), 2.0));
    assert!(close(row_f64(df, "28001", "area_km2"), 15.0));
    assert!(close(row_f64(df, "28001", "lat"), (48.0 * 10.0 + 48.2 * 5.0) / 15.0));
    // Paris: APL published by arrondissement, rolled up with the same weights.
    assert!(close(row_f64(df, "75056", "apl_mg_2023"), (5.0 * 1000.0 + 2.0 * 2000.0) / 3000.0));
    assert!(close(row_f64(df, "75101", "apl_mg_2023"), 5.0));
    assert!(close(row_f64(df, "75056", "area_km2"), 3.0));
    // BPE counts Paris whole: arrondissements have no figure, and say why.
    assert!(close(row_f64(df, "75056", "gp_count_bpe2020"), 5.0));
    assert_eq!(row_f64(df, "75101", "gp_count_bpe2020"), None);
    assert!(row_str(df, "75101", "gp_count_note").unwrap().contains("whole communes"));
    // COM: outside every health source, with a reason.
    assert_eq!(row_f64(df, "98411", "apl_mg_2023"), None);
    assert!(row_str(df, "98411", "apl_note").unwrap().contains("outre-mer"));
    // Bassin de vie through the former code's successor; arrondissements inherit their city's.
    assert_eq!(row_str(df, "28001", "bv2022").as_deref(), Some("28002"));
    assert_eq!(row_str(df, "75101", "bv2022").as_deref(), Some("75056"));
    assert_eq!(row_str(df, "28001", "epci").as_deref(), Some("200000001"));
    assert_eq!(row_str(df, "75102", "epci").as_deref(), Some("200054781"));
}

#[test]
fn normalization_report_lists_every_remap() {
    let c = curated();
    let apl = c.reports.iter().find(|r| r.source == "drees_apl_2023").unwrap();
    assert_eq!(apl.rows_read, 6);
    assert_eq!(apl.codes_remapped.get("28901").map(String::as_str), Some("28001"));
    assert!(apl.codes_unknown.is_empty());
    assert!(apl.communes_without_data.is_empty(), "{:?}", apl.communes_without_data);
    // Current boundaries are in COG 2026: nothing to remap, arrondissements included.
    let geo = c.reports.iter().find(|r| r.source == "contours_communes_cog2026").unwrap();
    assert!(geo.codes_remapped.is_empty() && geo.communes_without_data.is_empty(), "{geo:?}");
    assert!(apl.one_line().contains("1 former codes remapped, 0 unknown"));
}

fn diag(c: &Curated, spec: TerritorySpec) -> Diagnosis {
    let index = cpts_diag::transforms::cog::CogIndex::new(&c.cog);
    let t = resolve(&spec, &c.cog, &index).unwrap();
    diagnose(&c.communes, t, &Grid::embedded()).unwrap()
}

#[test]
fn diagnose_epci_territory_by_hand() {
    let c = curated();
    let d = diag(&c, TerritorySpec { name: "CC".into(), epci: vec!["200000001".into()], ..Default::default() });
    let t = d.territory();
    assert!(close(t.value("communes_count"), 3.0));
    assert!(close(t.value("population"), 4500.0));
    assert!(close(t.value("gp_count"), 5.0));
    assert!(close(t.value("inhabitants_per_gp"), 900.0));
    assert!(close(t.value("gp_per_100k"), 5.0 * 100_000.0 / 4500.0));
    assert!(close(t.value("area_km2"), 50.0));
    assert!(close(t.value("density_per_km2"), 90.0));
    assert!(close(t.value("apl_mg"), (2.4 * 1000.0 + 3.0 * 3000.0 + 1.0 * 500.0) / 4500.0));
    assert!(close(t.value("population_apl_below_2_5"), 1500.0));
    assert!(close(t.value("share_population_apl_below_2_5"), 100.0 / 3.0));
    // The embedded grid counts the population totale (DGCL fixture: 1010 + 3090 + 505 = 4605).
    let aci = d.aci.as_ref().unwrap();
    assert_eq!((aci.taille, aci.inhabitants_to_next_band), (1, Some(40_000 - 4605)));
    let m = d.aci_municipale.as_ref().unwrap();
    assert_eq!((m.taille, m.inhabitants_to_next_band), (1, Some(35_500)));
    // Compared with its département (same communes here), région and France (metro + DROM).
    let kinds: Vec<&str> = d.scopes.iter().map(|s| s.scope.kind.as_str()).collect();
    assert_eq!(kinds, ["territory", "departement", "region", "france"]);
    assert!(close(d.scopes[1].value("population"), 4500.0));
    // France = all communes of metro + DROM, Paris counted once (not with its arrondissements).
    assert!(close(d.scopes[3].value("population"), 7500.0));
    assert!(close(d.scopes[3].value("gp_count"), 10.0));
}

#[test]
fn arrondissement_territory_has_no_gp_count_and_says_why() {
    let c = curated();
    let d = diag(&c, TerritorySpec::from_codes(Some("Paris 1er"), "75101"));
    let t = d.territory();
    assert!(close(t.value("population"), 1000.0));
    assert!(close(t.value("apl_mg"), 5.0));
    let gp = t.get("gp_count").unwrap();
    assert_eq!(gp.value, None);
    assert!(gp.note.as_deref().unwrap().starts_with("unavailable: BPE 2020 counts Paris"), "{:?}", gp.note);
    assert_eq!(t.value("inhabitants_per_gp"), None);
}

#[test]
fn outputs_are_written_with_schema_and_provenance() {
    let c = curated();
    let d = diag(&c, TerritorySpec { name: "CC".into(), epci: vec!["200000001".into()], ..Default::default() });
    let dir = common::Scratch::new("outputs");
    let written = cpts_diag::sinks::territory::write_all(&dir, &d, &Grid::embedded()).unwrap();
    assert_eq!(written.len(), 5);
    for p in &written {
        assert!(std::fs::metadata(p).unwrap().len() > 100, "{} is too small", p.display());
    }
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "temp files left behind");

    let ind = parquet::read(&dir.join("indicators.parquet")).unwrap();
    assert_eq!(ind.height(), 4 * cpts_diag::indicators::INDICATORS.len());
    let md = parquet::read_metadata(&dir.join("indicators.parquet")).unwrap();
    let prov = md.iter().find(|(k, _)| k == parquet::PROVENANCE_KEY).and_then(|(_, v)| v.clone()).unwrap();
    let prov: serde_json::Value = serde_json::from_str(&prov).unwrap();
    assert!(prov["sources"].as_array().unwrap().iter().any(|s| s["id"] == "drees_apl" && s["licence"].is_string()));
    assert!(md.iter().any(|(k, _)| k == parquet::COLUMNS_KEY));

    let communes = parquet::read(&dir.join("communes.parquet")).unwrap();
    assert_eq!(communes.height(), 3);
    parquet::check_schema(&dir.join("communes.parquet"), &communes, &cpts_diag::schema::COMMUNES).unwrap();

    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
    for key in [
        "name",
        "communes_count",
        "population",
        "area_km2",
        "density_per_km2",
        "gp_count",
        "inhabitants_per_gp",
        "gp_per_100k",
        "apl_mg",
        "population_apl_below_2_5",
        "aci_band",
        "aci_max_annual_funding_eur",
        "aci_inhabitants_to_next_band",
        "comparisons",
        "sources",
    ] {
        assert!(s.get(key).is_some(), "summary.json lacks {key}");
    }
    assert_eq!(s["population"], 4500);
    assert_eq!(s["aci_max_annual_funding_eur"], 220_000);
    assert_eq!(s["comparisons"]["departements"][0]["code"], "28");
    let svg = std::fs::read_to_string(dir.join("chart_gp_apl.svg")).unwrap();
    assert!(svg.contains("<svg") && svg.contains("APL"));
    let png = std::fs::read(dir.join("chart_gp_apl.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
}

#[test]
fn unavailable_summary_numbers_are_null_with_a_reason() {
    let c = curated();
    let d = diag(&c, TerritorySpec::from_codes(None, "75101,75102"));
    let s = cpts_diag::sinks::territory::summary(&d, &Grid::embedded());
    assert!(s["gp_count"].is_null());
    assert!(s["notes"]["gp_count"].as_str().unwrap().contains("arrondissement"));
    assert_eq!(s["population"], 3000);
}

/// Scenarios on the made-up folder: its communes lie more than 20 minutes apart, so a GP serves
/// its own commune only and every change can be worked out by hand: ΔA = ΔGPs × c / P_std.
#[test]
fn scenarios_and_placement_by_hand() {
    use cpts_diag::access::{self, Params};
    use cpts_diag::territory::ScenarioSpec;
    let c = curated();
    let mut d = diag(&c, TerritorySpec { name: "CC".into(), epci: vec!["200000001".into()], ..Default::default() });
    let spec: TerritorySpec = toml::from_str(
        r#"
name = "CC"
epci = ["200000001"]
[[scenario]]
name = "deux de plus à Beta"
add_gps = { "28002" = 2 }
[[scenario]]
name = "départ à Beta"
remove_gps = { "28002" = 3 }
"#,
    )
    .unwrap();
    assert_eq!(spec.scenarios.len(), 2);
    let cpg = Params::reference().consultations_per_gp;
    let w = access::what_if(&c.communes, &d.territory.codes, &spec.scenarios, 2).unwrap();
    let add = &w.scenarios[0];
    let beta = add.rows.iter().find(|r| r.code == "28002").unwrap();
    assert!((beta.delta - 2.0 * cpg / 3000.0).abs() < 1e-12, "{beta:?}");
    assert!((beta.scenario - (3.0 + 2.0 * cpg / 3000.0)).abs() < 1e-12);
    assert!(add.rows.iter().filter(|r| r.code != "28002").all(|r| r.delta == 0.0));
    let want = (2.4 * 1000.0 + (3.0 + 2.0 * cpg / 3000.0) * 3000.0 + 1.0 * 500.0) / 4500.0;
    assert!((add.apl_mg - want).abs() < 1e-12, "{} vs {want}", add.apl_mg);
    assert_eq!((add.population_apl_below_2_5_baseline, add.population_apl_below_2_5), (1500.0, 1500.0));
    // Removing Beta's 3 GPs leaves it nothing: its APL falls by its whole model supply.
    let rm = &w.scenarios[1];
    let beta = rm.rows.iter().find(|r| r.code == "28002").unwrap();
    assert!((beta.delta + 3.0 * cpg / 3000.0).abs() < 1e-12);
    assert_eq!(rm.communes_crossing.len(), 1);
    assert_eq!((rm.communes_crossing[0].code.as_str(), rm.communes_crossing[0].direction), ("28002", "down"));
    // Two added GPs lift both communes under 2.5 (Alpha 2.4, Gamma 1.0): 1 500 inhabitants.
    let p = w.placement.as_ref().unwrap();
    assert_eq!(p.greedy.len(), 2);
    assert_eq!(p.greedy[1].lifted_total, 1500.0);
    let mut picked: Vec<&str> = p.greedy.iter().map(|g| g.code.as_str()).collect();
    picked.sort_unstable();
    assert_eq!(picked, ["28001", "28003"]);

    // Paris's BPE count (5) is split between its arrondissements by population share.
    let u = access::Units::from_curated(&c.communes).unwrap();
    let (a, b) = (u.gps[u.index["75101"]], u.gps[u.index["75102"]]);
    assert!((a + b - 5.0).abs() < 1e-12);
    assert!(!u.index.contains_key("75056"));

    // Errors name the scenario and the code.
    let bad = |s: ScenarioSpec| access::what_if(&c.communes, &d.territory.codes, &[s], 0).unwrap_err().to_string();
    let e = bad(ScenarioSpec { name: "trop".into(), remove_gps: [("28003".into(), 1)].into(), ..Default::default() });
    assert!(e.contains("\"trop\"") && e.contains("28003") && e.contains("which has 0"), "{e}");
    let e = bad(ScenarioSpec { name: "x".into(), add_gps: [("99999".into(), 1)].into(), ..Default::default() });
    assert!(e.contains("unknown code \"99999\""), "{e}");

    // Outputs: scenarios.parquet with its declared schema, `scenarios` in summary.json.
    d.what_if = Some(w);
    let dir = common::Scratch::new("scenarios");
    cpts_diag::sinks::territory::write_all(&dir.0, &d, &Grid::embedded()).unwrap();
    let df = parquet::read(&dir.0.join("scenarios.parquet")).unwrap();
    assert_eq!(df.height(), 6);
    let names: Vec<&str> = df.get_column_names().iter().map(|s| s.as_str()).collect();
    assert_eq!(
        names,
        ["scenario", "code", "apl_mg_baseline", "apl_mg_scenario", "delta", "population", "in_territory"]
    );
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.0.join("summary.json")).unwrap()).unwrap();
    let s0 = &s["scenarios"][0];
    assert_eq!(s0["name"], "deux de plus à Beta");
    assert!((s0["apl_mg"].as_f64().unwrap() - want).abs() < 1e-12);
    assert_eq!(s0["population_apl_below_2_5"], 1500.0);
    assert_eq!(s["scenarios"][1]["communes_crossing"][0]["code"], "28002");
}

/// The made-up INSEE populations légales file, in the published layout.
fn populations_legales_fixture() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/populations_legales/donnees_communes.csv")
}

#[test]
fn population_totale_from_dgcl_is_labelled_with_its_millesime() {
    let c = curated();
    let df = &c.communes;
    // DGCL members (made-up millésime 2022 figures in common::EPCI_JSON).
    assert!(close(row_f64(df, "28001", "population_totale"), 1010.0));
    assert!(close(row_f64(df, "28001", "population_comptee_a_part"), 1010.0 - 990.0));
    assert!(close(row_f64(df, "28001", "population_totale_millesime"), 2022.0));
    assert!(row_str(df, "28001", "population_totale_vintage")
        .unwrap()
        .contains("millésime 2022, not the millésime 2023"));
    assert!(close(row_f64(df, "75056", "population_totale"), 3100.0));
    // The DGCL lists Paris whole; the COM is in no EPCI.
    assert_eq!(row_f64(df, "75101", "population_totale"), None);
    assert!(row_str(df, "75101", "population_totale_note").unwrap().contains("arrondissement municipal"));
    assert_eq!(row_f64(df, "98411", "population_totale"), None);
    assert!(row_str(df, "98411", "population_totale_note").unwrap().contains("outre-mer"));
    let d = diag(&c, TerritorySpec::from_codes(Some("CC"), "28001,28002,28003"));
    let s = d.territory();
    assert!(close(s.value("population_totale"), 1010.0 + 3090.0 + 505.0));
    assert_eq!(d.population_totale_other_millesimes, vec![2022]);
    let json = cpts_diag::sinks::territory::summary(&d, &Grid::embedded());
    assert_eq!(json["population_totale"].as_f64(), Some(4605.0));
    assert!(json["notes"]["population_totale_vintage"].as_str().unwrap().contains("millésime 2022"));
    assert_eq!(json["aci_population_basis"], "totale");
    // A territory on arrondissements has no DGCL population totale: its band falls back to nothing
    // on the totale, and the municipale band is still given.
    let p = diag(&c, TerritorySpec::from_codes(Some("P1"), "75101"));
    assert_eq!(p.territory().value("population_totale"), None);
    assert!(p.aci.is_none() && p.aci_municipale.is_some());
}

#[test]
fn insee_populations_legales_file_parses_and_wins_over_dgcl() {
    let staged = cpts_diag::sources::populations_legales::load_file(&populations_legales_fixture()).unwrap();
    assert_eq!(staged.height(), 4);
    let codes: Vec<&str> = staged.column("code").unwrap().str().unwrap().iter().flatten().collect();
    assert_eq!(codes, ["28001", "28002", "75101", "75102"]);

    let data = common::fixture_data("populations-legales");
    let dest = data.root.join(cpts_diag::sources::populations_legales::CSV_FILE);
    std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
    std::fs::copy(populations_legales_fixture(), &dest).unwrap();
    let c = build(&data, &mut |_| {}).expect("fixture data builds");
    let df = &c.communes;
    // INSEE wins where it has the commune, with its own millésime (the municipale's).
    assert!(close(row_f64(df, "28001", "population_totale"), 1025.0));
    assert!(close(row_f64(df, "28001", "population_comptee_a_part"), 25.0));
    assert!(close(row_f64(df, "28001", "population_totale_millesime"), 2023.0));
    assert_eq!(
        row_str(df, "28001", "population_totale_vintage").as_deref(),
        Some("INSEE populations légales millésime 2023")
    );
    // A commune the file lacks keeps the DGCL figure, labelled as such.
    assert!(close(row_f64(df, "28003", "population_totale"), 505.0));
    assert!(close(row_f64(df, "28003", "population_totale_millesime"), 2022.0));
    // Arrondissements now have a figure, and Paris is their sum (counted once).
    assert!(close(row_f64(df, "75101", "population_totale"), 1030.0));
    assert!(close(row_f64(df, "75056", "population_totale"), 3050.0));
    assert!(close(row_f64(df, "75056", "population_comptee_a_part"), 50.0));
    let rep = c.reports.iter().find(|r| r.source == "insee_populations_legales").expect("a normalization report");
    assert_eq!(rep.rows_read, 4);
    let d = diag(&c, TerritorySpec::from_codes(Some("P"), "75101,75102"));
    assert!(close(d.territory().value("population_totale"), 3050.0));
    assert!(d.population_totale_other_millesimes.is_empty());
    std::fs::remove_dir_all(&data.root).ok();
}

/// A data folder as a fresh `fetch` leaves it when the optional sources failed: no BPE, no
/// comparateur, no TAGC nor BV2022, no 2018 boundaries. The build still runs, and each figure
/// needing an absent source says so with the `fetch` id; INSEE's BV2022 file is then read alone.
#[test]
fn optional_sources_absent_say_unavailable_with_the_fetch_id() {
    let data = common::fixture_data("optional-absent");
    for rel in [
        "health/anct_offre_sante_nb_medg_bpe2020_communes.xlsx",
        "population/communes_cog2024_comparateur_territoires.csv.gz",
        "population/insee_tagc_communes_cog2024_bv2022.csv.gz",
        "geo/communes-france-2018.geojson.gz",
    ] {
        std::fs::remove_file(data.root.join(rel)).unwrap();
    }
    let c = build(&data, &mut |_| {}).expect("builds without the optional sources");
    let df = &c.communes;
    assert!(close(row_f64(df, "28001", "apl_mg_2023"), (2.0 * 800.0 + 4.0 * 200.0) / 1000.0), "APL unchanged");
    assert_eq!(row_f64(df, "28001", "gp_count_bpe2020"), None);
    let n = row_str(df, "28001", "gp_count_note").unwrap();
    assert!(n.starts_with("unavailable:") && n.contains("(cpts-diag fetch rpps)"), "{n}");
    assert_eq!(row_str(df, "28001", "gp_source").as_deref(), Some("none"));
    // Without INSEE's areas, the boundaries give them, and the note says so and how to fetch INSEE's.
    let from_boundaries = row_f64(df, "28001", "area_km2_boundaries").unwrap();
    assert_eq!(row_f64(df, "28001", "area_km2"), Some(from_boundaries));
    let n = row_str(df, "75101", "area_note").unwrap();
    assert!(n.contains("from the commune boundaries") && n.contains("(cpts-diag fetch insee_comparateur)"), "{n}");
    assert_eq!(df.column("bv2022").unwrap().null_count(), df.height());
    let sources: Vec<&str> = c.reports.iter().map(|r| r.source.as_str()).collect();
    assert!(
        !sources.iter().any(|s| ["bpe_nb_medg", "insee_tagc_bv2022", "ign_communes_2018"].contains(s)),
        "{sources:?}"
    );

    // A territory drawn on bassins de vie says which fetch brings them.
    let spec = TerritorySpec { name: "BV".into(), bv: vec!["28002".into()], ..Default::default() };
    let ctx = cpts_diag::territory::Context { curated: Some(&c.communes), geography: None };
    let e = cpts_diag::territory::resolve_in(&spec, &c.cog, &c.index, ctx).unwrap_err().to_string();
    assert!(e.contains("unavailable") && e.contains("cpts-diag fetch insee_bv2022"), "{e}");

    // INSEE's own BV2022 file, as `fetch` stores it, is read with no TAGC beside it.
    let zip = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bv2022/BV2022_au_01-01-2024.zip");
    std::fs::copy(zip, data.root.join("population/BV2022_composition_communale.zip")).unwrap();
    let c = build(&data, &mut |_| {}).unwrap();
    assert_eq!(row_str(&c.communes, "28001", "bv2022").as_deref(), Some("28002"));
    assert_eq!(row_str(&c.communes, "28003", "bv2022_name").as_deref(), Some("Delta"));
    assert_eq!(row_str(&c.communes, "75102", "bv2022").as_deref(), Some("75056"), "arrondissements inherit Paris's");
    let r = c.reports.iter().find(|r| r.source == "insee_bv2022").unwrap();
    assert_eq!(r.geography, "COG 2024 (Paris, Lyon, Marseille entiers)");
    std::fs::remove_dir_all(&data.root).unwrap();
}

/// Without `build` output, the commands build the curated tables in memory and the boundaries
/// read for the areas make the geography (`Inputs::boundaries`): the same GeoParquet table, byte
/// for byte, as parsing the GeoJSON a second time.
#[test]
fn the_boundaries_read_with_the_sources_make_the_geography_a_second_parse_would() {
    use cpts_diag::pipeline::{self, Target};
    use cpts_diag::progress::Progress;
    use cpts_diag::sinks::Provenance;
    let data = common::fixture_data("geography-handed-over");
    let none = data.root.join("no-processed");
    let mut inputs = pipeline::load_inputs(&none, &data, &mut Progress::new(true)).unwrap();
    let read = inputs.boundaries.take();
    assert!(read.as_ref().is_some_and(|b| !b.features.is_empty()), "the in-memory build keeps its boundaries");
    let geography = |read| {
        let (g, _) =
            pipeline::load_geography_from(&data, Some(&none), &inputs.index, read, &mut Progress::new(true)).unwrap();
        g.expect("the fixture has boundaries")
    };
    let (handed, parsed) = (geography(read), geography(None));
    let prov = Provenance::new(cpts_diag::sources::all());
    let bytes = |g| pipeline::geometry_bytes(g, &prov, Target::Processed).unwrap();
    assert_eq!(bytes(&handed), bytes(&parsed));
    assert_eq!(handed.warnings.len(), parsed.warnings.len());
}

#[test]
fn the_mapped_copy_is_the_parquet_s_frame_and_never_stands_in_for_another_table() {
    use cpts_diag::pipeline;
    use cpts_diag::progress::Progress;
    use cpts_diag::sinks::mapped;
    let data = common::fixture_data("pipeline");
    let dir = common::Scratch::new("mapped-copy");
    let written = pipeline::write_curated(&dir, &curated()).unwrap();
    let copy = written.iter().find(|p| p.extension().is_some_and(|e| e == "arrow")).expect("build writes the copy");
    let path = dir.join(pipeline::COMMUNES_FILE);
    let decoded = parquet::read(&path).unwrap();
    assert!(mapped::read(&path).unwrap().expect("the copy of this Parquet").equals_missing(&decoded));
    let mut progress = Progress::new(true);
    let (read, _) = pipeline::load_curated_table(&dir, &data, &mut progress).unwrap();
    assert!(read.equals_missing(&decoded));
    assert_eq!(progress.warnings(), 0);

    // The Parquet rewritten with other figures (another build, a restored backup): the copy is
    // not used, the run says so, and the figures are the new Parquet's.
    let mut other = decoded.lazy().with_column(col("apl_mg_2023") + lit(1.0)).collect().unwrap();
    let prov = cpts_diag::sinks::Provenance::new(vec![]);
    parquet::write_for_reading(&path, &mut other, &prov, &cpts_diag::schema::COMMUNES).unwrap();
    let e = mapped::read(&path).unwrap_err().to_string();
    assert!(e.contains(&copy.display().to_string()), "{e}");
    let (read, _) = pipeline::load_curated_table(&dir, &data, &mut progress).unwrap();
    assert!(read.equals_missing(&other));
    assert_eq!(progress.warnings(), 1);
}
