//! `coverage` and listing files on the made-up data folder of tests/common: figures worked out by
//! hand, and bad listings rejected with the file, line and column.
//!
//! The made-up région 24 has Alpha 28001 (1 000 inhabitants, former code 28901), Beta 28002
//! (3 000) and Gamma 28003 (500), side by side west to east; région 11 has Paris 75056 (3 000)
//! with arrondissements 75101 (1 000) and 75102 (2 000).

use crate::common;

use std::path::{Path, PathBuf};

use clap::Parser;
use cpts_diag::aci::Grid;
use cpts_diag::cli::{run, Cli};
use cpts_diag::coverage::{self, Coverage};
use cpts_diag::geo::Geography;
use cpts_diag::territory::Context;
use cpts_diag::transforms::curated;

const LISTING: &str = "nom,statut,communes,arrondissements
CPTS Alpha,,28901,
CPTS Beta,,28002|28001,
CPTS Paris Centre,,75056,75101
";

fn listing(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn compute(data: &cpts_diag::sources::DataDir, path: &Path, region: Option<&str>) -> Coverage {
    let c = curated::build(data, &mut |_| {}).unwrap();
    let geo = Geography::load(data, &c.index).unwrap();
    let l = coverage::read_listing(path).unwrap();
    let ctx = Context { curated: Some(&c.communes), geography: Some(&geo) };
    let cpts = coverage::resolve_listing(&l, &c.cog, &c.index, ctx).unwrap();
    // The made-up COG has no population totale: the bands count the municipale here.
    let grid = Grid::embedded().with_basis(Some(cpts_diag::aci::Basis::Municipale));
    let inputs =
        coverage::Inputs { cog: &c.cog, index: &c.index, curated: &c.communes, geography: Some(&geo), grid: &grid };
    coverage::compute(path, cpts, region, inputs).unwrap()
}

#[test]
fn region_coverage_shared_units_zones_blanches_and_outside_codes() {
    let data = common::fixture_data("coverage-fixture");
    let p = listing(&data.root, "listing.csv", LISTING);
    let v = compute(&data, &p, None);
    assert_eq!(v.region, "24", "two of the three CPTS are in région 24");
    assert_eq!(v.layer, vec!["28001", "28002", "28003"]);
    assert_eq!((v.region_population, v.population_covered, v.population_not_covered()), (4_500, 4_000, 500));
    // Alpha is listed by Alpha (as its former code) and by Beta: in both, once in the région.
    assert_eq!(v.in_several.len(), 1);
    assert_eq!(v.in_several[0].code, "28001");
    assert_eq!(v.in_several[0].cpts, vec!["CPTS Alpha", "CPTS Beta"]);
    assert!(v.warnings.iter().any(|w| w.contains("listing.csv:2:") && w.contains("28901 is a former commune code")));
    // Paris Centre lists 75056 with 75101: it means 75101, which is outside région 24.
    let paris = &v.cpts[2];
    assert_eq!(paris.territory.codes, vec!["75101"]);
    assert_eq!(v.outside.len(), 1);
    assert_eq!((v.outside[0].code.as_str(), v.outside[0].region.as_str()), ("75101", "11"));
    assert!(v.outside[0].listed_at.ends_with("listing.csv:4"), "{}", v.outside[0].listed_at);
    assert!(v.warnings.iter().any(|w| w.contains("listing.csv:4:") && w.contains("75101") && w.contains("not in 24")));
    // Gamma is the zone blanche; it borders Beta only, and joining leaves Beta in taille 1.
    assert_eq!(v.not_covered.len(), 1);
    let g = &v.not_covered[0];
    assert_eq!((g.code.as_str(), g.population), ("28003", 500));
    assert_eq!(g.adjacent_cpts, vec!["CPTS Beta"]);
    let o = &g.options[0];
    assert_eq!((o.population_before, o.population_after, o.band_before, o.band_after), (4_000, 4_500, 1, 1));
    assert_eq!(o.inhabitants_to_next_band_after, Some(40_000 - 4_500));
    // Each CPTS's own figures count the shared unit fully.
    let pops: Vec<f64> = v.table.column("population").unwrap().f64().unwrap().iter().flatten().collect();
    let names: Vec<&str> = v.table.column("territory_name").unwrap().str().unwrap().iter().flatten().collect();
    let pop_of = |n: &str| pops[names.iter().position(|x| *x == n).unwrap()];
    assert_eq!((pop_of("CPTS Alpha"), pop_of("CPTS Beta"), pop_of("CPTS Paris Centre")), (1_000.0, 4_000.0, 1_000.0));
    let shared: Vec<Option<&str>> = v.table.column("shared_units").unwrap().str().unwrap().iter().collect();
    let beta = names.iter().position(|x| *x == "CPTS Beta").unwrap();
    assert_eq!(shared[beta], Some("28001 Alpha (CPTS Alpha)"));
    let neighbours: Vec<Option<&str>> = v.table.column("neighbour_cpts").unwrap().str().unwrap().iter().collect();
    assert_eq!(neighbours[beta], Some("CPTS Alpha"));
}

#[test]
fn a_city_listed_with_some_arrondissements_is_counted_by_arrondissement() {
    let data = common::fixture_data("coverage-paris");
    let p = listing(&data.root, "listing.csv", LISTING);
    let v = compute(&data, &p, Some("11"));
    assert_eq!(v.split_cities, vec!["75056"]);
    assert_eq!(v.layer, vec!["75101", "75102"]);
    assert_eq!((v.region_population, v.population_covered), (3_000, 1_000));
    assert_eq!(v.not_covered[0].code, "75102");
    assert_eq!(v.not_covered[0].adjacent_cpts, vec!["CPTS Paris Centre"]);
    assert_eq!(v.outside.len(), 3, "Alpha and Beta's communes are outside région 11");
}

fn error_of(name: &str, text: &[u8]) -> String {
    let dir = common::Scratch::new("coverage-bad");
    let p = dir.0.join(name);
    std::fs::write(&p, text).unwrap();
    let e = coverage::read_listing(&p).unwrap_err();
    assert_eq!(e.exit_code(), 2, "{e}");
    e.to_string()
}

#[test]
fn bad_listings_name_the_file_line_and_column() {
    let empty = error_of("empty.csv", b"nom,statut,communes,arrondissements\nCPTS A,,28002,\nCPTS Vide,,,\n");
    assert!(empty.contains("empty.csv:3: column \"communes\""), "{empty}");
    assert!(empty.contains("CPTS Vide") && empty.contains("empty code list"), "{empty}");

    let dup =
        error_of("dup.csv", b"nom,statut,communes,arrondissements\nCPTS A,,28002,\nCPTS B,,28003,\ncpts a,,28001,\n");
    assert!(dup.contains("dup.csv:4: column \"nom\": duplicated CPTS name \"cpts a\""), "{dup}");
    assert!(dup.contains("dup.csv:2"), "names the first listing too: {dup}");

    let xlsx = error_of("listing.xlsx", b"PK\x03\x04 not a csv");
    assert!(xlsx.contains("listing.xlsx") && xlsx.contains("not a CPTS listing"), "{xlsx}");

    let binary = error_of("listing.csv", b"nom,communes\nCPTS A,28002\n\xff\xfe\x00binary");
    assert!(binary.contains("listing.csv:3") && binary.contains("not a UTF-8 text CSV"), "{binary}");

    let header = error_of("header.csv", b"CPTS;codes\nCPTS A;28002\n");
    assert!(header.contains("header.csv:1: column \"nom\" missing"), "{header}");
}

#[test]
fn unknown_code_is_an_error_naming_the_line() {
    let data = common::fixture_data("coverage-unknown");
    let c = curated::build(&data, &mut |_| {}).unwrap();
    let p = listing(
        &data.root,
        "unknown.csv",
        "nom,statut,communes,arrondissements\nCPTS A,,28002,\nCPTS B,,28003|28999,\n",
    );
    let l = coverage::read_listing(&p).unwrap();
    let e = coverage::resolve_listing(&l, &c.cog, &c.index, Context::default()).unwrap_err();
    let m = e.to_string();
    assert!(m.contains("unknown.csv:3: column \"communes\": CPTS \"CPTS B\": unknown commune code 28999"), "{m}");
    assert_eq!(e.exit_code(), 2);
}

#[test]
fn geojson_perimeters_and_toml_folders_are_listings_too() {
    let data = common::fixture_data("coverage-formats");
    // A perimeter over Beta and Gamma (1.2 to 1.4 east), one with codes, in one FeatureCollection.
    let gj = r#"{"type":"FeatureCollection","features":[
      {"type":"Feature","properties":{"nom":"CPTS Est"},"geometry":{"type":"Polygon","coordinates":[[[1.19,47.99],[1.41,47.99],[1.41,48.11],[1.19,48.11],[1.19,47.99]]]}},
      {"type":"Feature","properties":{"nom":"CPTS Ouest","communes":"28001"},"geometry":null}]}"#;
    let p = listing(&data.root, "perimetres.geojson", gj);
    let v = compute(&data, &p, None);
    let codes: Vec<Vec<String>> = v.cpts.iter().map(|c| c.territory.codes.clone()).collect();
    assert_eq!(codes, vec![vec!["28002".to_string(), "28003".to_string()], vec!["28001".to_string()]]);
    assert_eq!(v.population_covered, v.region_population);

    let dir = data.root.join("cpts");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("a.toml"), "name = \"CPTS A\"\ncommunes = [\"28002\"]\n").unwrap();
    std::fs::write(dir.join("b.toml"), "name = \"CPTS B\"\ncommunes = [\"28003\"]\n").unwrap();
    let v = compute(&data, &dir, None);
    assert_eq!(v.cpts.len(), 2);
    assert_eq!(v.not_covered.iter().map(|u| u.code.as_str()).collect::<Vec<_>>(), vec!["28001"]);
}

#[test]
fn the_command_writes_tables_json_maps_and_report_and_batch_reads_the_listing() {
    let data = common::fixture_data("coverage-cli");
    let p = listing(&data.root, "listing.csv", LISTING);
    let out = data.root.join("out");
    let (d, l, o) = (data.root.to_str().unwrap(), p.to_str().unwrap(), out.to_str().unwrap());
    let none = data.root.join("no-processed");
    let np = none.to_str().unwrap();
    let args = ["cpts-diag", "-q", "--data-dir", d, "coverage", "--listing", l, "--out", o, "--processed", np];
    run(Cli::try_parse_from(args).unwrap()).unwrap();
    for f in [
        "cpts.parquet",
        "cpts.csv",
        "coverage.json",
        "report.html",
        "map_cpts.svg",
        "map_cpts.png",
        "map_aci_band.png",
        "map_apl.svg",
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("coverage.json")).unwrap()).unwrap();
    for k in [
        "region",
        "cpts_count",
        "region_population",
        "region_units",
        "population_covered",
        "population_not_covered",
        "units_not_covered",
        "units_in_several",
        "units_outside_region",
        "provenance",
    ] {
        assert!(j.get(k).is_some(), "coverage.json lacks {k}");
    }
    assert_eq!(j["cpts_count"], 3);
    assert_eq!(j["units_not_covered"][0]["code"], "28003");
    assert_eq!(j["units_not_covered"][0]["adjacent_cpts"][0], "CPTS Beta");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("Couverture CPTS") && html.contains("<svg") && html.contains("class=\"sortable\""));
    assert!(!html.contains("src=\"http") && !html.contains("<script src"), "self-contained");
    let df = cpts_diag::sinks::parquet::read(&out.join("cpts.parquet")).unwrap();
    assert_eq!(df.height(), 3);

    let bout = data.root.join("batch");
    let bo = bout.to_str().unwrap();
    let args = [
        "cpts-diag",
        "-q",
        "--data-dir",
        d,
        "batch",
        "--level",
        "territories",
        "--territories",
        l,
        "--out",
        bo,
        "--processed",
        np,
    ];
    run(Cli::try_parse_from(args).unwrap()).unwrap();
    let t = cpts_diag::sinks::parquet::read(&bout.join("territories.parquet")).unwrap();
    let names: Vec<&str> = t.column("territory_name").unwrap().str().unwrap().iter().flatten().collect();
    assert_eq!(names, vec!["CPTS Alpha", "CPTS Beta", "CPTS Paris Centre"]);
    let pops: Vec<f64> = t.column("population").unwrap().f64().unwrap().iter().flatten().collect();
    assert_eq!(pops, vec![1_000.0, 4_000.0, 1_000.0], "the same figures as coverage's cpts table");
}
