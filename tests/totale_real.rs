//! The ACI band under the population totale and the population municipale, on the real files
//! (issue 14). Expected figures come from the published files themselves (the DGCL figures of
//! `epci.json`) or from the published oracle (Grand Châteaudun). Without the data folder
//! they run on the embedded snapshot (the same build), except the checks that read `epci.json`
//! itself, which print SKIP.

use crate::common;

use std::collections::BTreeSet;
use std::io::Read;
use std::sync::OnceLock;

use cpts_diag::aci::{Basis, Grid};
use cpts_diag::batch::{self, Level};
use cpts_diag::diagnose::{communes_of, diagnose, evaluate, Scope};
use cpts_diag::territory::{resolve, TerritorySpec};
use cpts_diag::transforms::cog::CogIndex;
use cpts_diag::transforms::curated::Curated;
use polars::prelude::*;
use serde_json::Value;

/// From the real files, or from the embedded snapshot on a clone without them.
fn curated(test: &str) -> &'static Curated {
    static C: OnceLock<Curated> = OnceLock::new();
    C.get_or_init(|| common::curated_or_snapshot(test))
}

/// The DGCL `epci.json` of the data folder, as published.
fn epci_json(test: &str) -> Option<Vec<Value>> {
    let data = common::real_data(test)?;
    let path = data.file("population/decoupage-administratif-6.0.0/epci.json.gz").unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap()).read_to_string(&mut text).unwrap();
    Some(serde_json::from_str(&text).unwrap())
}

/// French report text with ordinary spaces (the report separates thousands with narrow ones).
fn plain(s: &str) -> String {
    s.replace(['\u{202f}', '\u{a0}'], " ")
}

#[test]
fn grand_chateaudun_is_taille_1_on_the_municipale_and_taille_2_on_the_totale() {
    let c = curated("grand_chateaudun_is_taille_1_on_the_municipale_and_taille_2_on_the_totale");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/territories/grand-chateaudun.toml");
    let index = CogIndex::new(&c.cog);
    let t = resolve(&TerritorySpec::load(&path).unwrap(), &c.cog, &index).unwrap();
    let grid = Grid::embedded();
    let d = diagnose(&c.communes, t.clone(), &grid).unwrap();
    let s = d.territory();
    assert_eq!(s.value("population"), Some(39_574.0), "INSEE population municipale 2023");
    assert_eq!(s.value("population_totale"), Some(40_648.0), "DGCL population totale, millésime 2022");
    assert_eq!(d.aci_municipale.as_ref().map(|p| p.taille), Some(1));
    assert_eq!(d.aci_totale.as_ref().map(|p| p.taille), Some(2));
    assert_eq!((d.aci_basis, d.aci.as_ref().map(|p| p.taille)), (Basis::Totale, Some(2)));
    assert_eq!(d.population_totale_other_millesimes, vec![2022]);
    let note = s.get("population_totale").unwrap().note.clone().unwrap();
    assert!(note.contains("millésime 2022") && note.contains("not the millésime 2023"), "{note}");

    let json = cpts_diag::sinks::territory::summary(&d, &grid);
    assert_eq!(json["population_totale"].as_f64(), Some(40_648.0));
    assert_eq!((json["aci_band_municipale"].as_i64(), json["aci_band_totale"].as_i64()), (Some(1), Some(2)));
    assert_eq!(json["aci_band"].as_i64(), Some(2));
    assert!(json["population_totale_vintage"].as_str().unwrap().contains("millésime 2022"));

    // The headline states both bands, both populations, the funding at stake and the CPAM.
    let h = plain(&cpts_diag::sinks::report::band_headline(&d, &grid).expect("the bands differ"));
    for part in ["taille 1", "taille 2", "39 574", "40 648", "67 000 €", "CPAM", "millésime 2022"] {
        assert!(h.contains(part), "headline lacks {part}: {h}");
    }

    // `--population municipale`: the band of the published example, 426 short of taille 2.
    let m = diagnose(&c.communes, t, &grid.clone().with_basis(Some(Basis::Municipale))).unwrap();
    let a = m.aci.unwrap();
    assert_eq!((a.taille, a.inhabitants_to_next_band), (1, Some(426)));
}

#[test]
fn batch_epci_finds_every_epci_whose_band_differs_in_the_dgcl_file() {
    let test = "batch_epci_finds_every_epci_whose_band_differs_in_the_dgcl_file";
    let Some(epcis) = epci_json(test) else { return };
    let c = curated(test);
    let grid = Grid::embedded();
    let band = |p: &Value| grid.place(p.as_i64().unwrap()).taille as i64;
    // From the file: the EPCIs whose own populationMunicipale and populationTotale (one
    // millésime) fall in different bands.
    let expected: BTreeSet<String> = epcis
        .iter()
        .filter(|e| band(&e["populationMunicipale"]) != band(&e["populationTotale"]))
        .map(|e| e["code"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(expected.len(), 14, "the issue counts 14: {expected:?}");
    assert!(expected.contains("200069961"), "CC du Grand Châteaudun");

    let t = batch::compute(&c.communes, Level::Epci, &grid).unwrap();
    let differs = t
        .frame
        .clone()
        .lazy()
        .filter(col("aci_band_municipale_same_millesime").neq(col("aci_band_totale")))
        .select([col("epci")])
        .collect()
        .unwrap();
    let found: BTreeSet<String> =
        differs.column("epci").unwrap().str().unwrap().iter().flatten().map(str::to_string).collect();
    assert_eq!(found, expected);
    // The batch's totale is the file's, EPCI by EPCI (sum of its members, counted once).
    for e in &epcis {
        let code = e["code"].as_str().unwrap();
        let v = common::batch_fixture::f64_at(&t.frame, "epci", code, "population_totale");
        assert_eq!(v, Some(e["populationTotale"].as_f64().unwrap()), "{code}");
    }
    let mixed = t
        .frame
        .clone()
        .lazy()
        .filter(col("aci_band_municipale").neq(col("aci_band_totale")))
        .collect()
        .unwrap()
        .height();
    println!(
        "EPCIs changing band: {} within the DGCL millésime 2022, {mixed} between municipale 2023 and totale 2022",
        found.len()
    );
    let vintage = common::batch_fixture::str_at(&t.frame, "epci", "200069961", "population_totale_vintage").unwrap();
    assert!(vintage.contains("millésime 2022"), "{vintage}");
}

#[test]
fn eure_et_loir_totale_is_the_sum_of_its_communes_totale() {
    let test = "eure_et_loir_totale_is_the_sum_of_its_communes_totale";
    let c = curated(test);
    let rows = communes_of(&c.communes, col("departement").eq(lit("28"))).unwrap();
    let d = evaluate(&rows, Scope { kind: "departement".into(), code: "28".into(), name: String::new() }).unwrap();
    let of_rows: f64 =
        rows.column("population_totale").unwrap().cast(&DataType::Float64).unwrap().f64().unwrap().sum().unwrap();
    assert_eq!(rows.height(), 363);
    assert_eq!(d.value("population_totale"), Some(of_rows));
    assert_eq!(d.get("population_totale").unwrap().note.as_deref().map(|n| n.contains("partial")), Some(false));
    println!("Eure-et-Loir population totale {of_rows}, municipale 2023 {:?}", d.value("population"));
    // From the file: every member of an EPCI in Eure-et-Loir, once.
    if let Some(epcis) = epci_json(test) {
        let mut members = BTreeSet::new();
        let mut expected = 0i64;
        for m in epcis.iter().flat_map(|e| e["membres"].as_array().unwrap()) {
            let code = m["code"].as_str().unwrap();
            if code.starts_with("28") && members.insert(code.to_string()) {
                expected += m["populationTotale"].as_i64().unwrap();
            }
        }
        assert_eq!(members.len(), 363, "every commune of Eure-et-Loir is in an EPCI");
        assert_eq!(d.value("population_totale"), Some(expected as f64), "DGCL, millésime 2022");
    }

    // Paris: the DGCL figure is the city's; its arrondissements have none, so France counts it
    // once, and a territory drawn on arrondissements has no totale, with the reason.
    let get = |code: &str, col: &str| {
        let df = &c.communes;
        let i = df.column("code").unwrap().str().unwrap().iter().position(|x| x == Some(code)).unwrap();
        df.column(col).unwrap().cast(&DataType::Float64).unwrap().f64().unwrap().get(i)
    };
    assert!(get("75056", "population_totale").is_some());
    assert_eq!(get("75113", "population_totale"), None);
    let all = communes_of(&c.communes, cpts_diag::diagnose::france_filter()).unwrap();
    let sum_communes: f64 =
        all.column("population_totale").unwrap().cast(&DataType::Float64).unwrap().f64().unwrap().sum().unwrap();
    let fr = evaluate(&all, Scope { kind: "france".into(), code: "FR".into(), name: String::new() }).unwrap();
    assert_eq!(fr.value("population_totale"), Some(sum_communes));
    // The 4 islands outside any EPCI make France's figure partial, and say so.
    let note = fr.get("population_totale").unwrap().note.clone().unwrap();
    assert!(note.contains("partial") && note.contains("outside any EPCI"), "{note}");
}

#[test]
fn population_option_is_offered_on_diagnose_and_batch_and_checked() {
    use clap::Parser;
    use cpts_diag::cli::{Cli, Command};
    let parse = |args: &[&str]| Cli::try_parse_from(std::iter::once("cpts-diag").chain(args.iter().copied()));
    match parse(&["diagnose", "--communes", "28088", "--population", "municipale"]).unwrap().command {
        Command::Diagnose(a) => assert_eq!(a.population, Some(Basis::Municipale)),
        other => panic!("{other:?}"),
    }
    match parse(&["batch", "--level", "epci", "--population", "totale"]).unwrap().command {
        Command::Batch(a) => assert_eq!(a.population, Some(Basis::Totale)),
        other => panic!("{other:?}"),
    }
    let e = parse(&["diagnose", "--communes", "28088", "--population", "légale"]).unwrap_err().to_string();
    assert!(e.contains("municipale") && e.contains("totale"), "{e}");
}
