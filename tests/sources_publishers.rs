//! Staging of the publishers' own files that replaced third-party compiles: INSEE's BV2022
//! composition (zip of xlsx, title rows above the header) and INSEE's base du comparateur de
//! territoires (zip of a `;` CSV). Fixtures follow the published layouts with made-up values.

use crate::common;

use std::path::{Path, PathBuf};

use common::Scratch;
use cpts_diag::sources::{bv2022, comparateur, DataDir};
use polars::prelude::*;

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(rel)
}

fn strs(df: &DataFrame, c: &str) -> Vec<String> {
    df.column(c).unwrap().str().unwrap().iter().map(|s| s.unwrap_or("").to_string()).collect()
}

#[test]
fn bv2022_composition_from_the_insee_zip() {
    let st = bv2022::load_file(&fixture("bv2022/BV2022_au_01-01-2024.zip")).unwrap();
    assert_eq!(st.cog.as_deref(), Some("COG 2024"), "geography read from the file name");
    let df = &st.frame;
    assert_eq!(strs(df, "code"), ["28001", "28002", "28003", "45001", "75056", "2A004"]);
    assert_eq!(strs(df, "bv2022"), ["28002", "28002", "45001", "45001", "75056", "2A004"]);
    assert_eq!(strs(df, "bv2022_name")[2], "Delta");
    // Rows are the spreadsheet's own: 5 title rows, the header on row 6, data from row 7.
    let lines: Vec<u32> = df.column("line").unwrap().u32().unwrap().into_no_null_iter().collect();
    assert_eq!(lines, [7, 8, 9, 10, 11, 12]);
}

#[test]
fn bv2022_found_in_a_data_folder_unpacked_or_not() {
    let tmp = Scratch::new("bv2022");
    let data = DataDir::new(&tmp.0);
    assert!(bv2022::load(&data).unwrap().is_none(), "absent: None, not an error");
    let dir = tmp.0.join(bv2022::DIR);
    std::fs::create_dir_all(&dir).unwrap();
    // As `fetch` stores it (the manifest's archive name)…
    std::fs::copy(fixture("bv2022/BV2022_au_01-01-2024.zip"), dir.join("BV2022_composition_communale.zip")).unwrap();
    let a = bv2022::load(&data).unwrap().unwrap();
    // …and the member `fetch` unpacks beside it, which is preferred.
    let bytes =
        cpts_diag::sources::table::zip_member(&dir.join("BV2022_composition_communale.zip"), "*.xlsx").unwrap().0;
    std::fs::write(dir.join("BV2022_au_01-01-2024.xlsx"), bytes).unwrap();
    let b = bv2022::load(&data).unwrap().unwrap();
    assert!(b.path.ends_with("BV2022_au_01-01-2024.xlsx"), "{}", b.path.display());
    assert!(a.frame.equals(&b.frame));
}

#[test]
fn bv2022_bad_code_names_file_row_and_column() {
    let p = fixture("bv2022/BV2022_au_01-01-2023_bad_code.xlsx");
    let msg = bv2022::load_file(&p).unwrap_err().to_string();
    assert!(msg.contains("BV2022_au_01-01-2023_bad_code.xlsx:8"), "{msg}");
    assert!(msg.contains("\"BV2022\"") && msg.contains("\"BVX\" is not a bassin de vie code"), "{msg}");
}

#[test]
fn comparateur_from_insee_zip() {
    let df = comparateur::load_insee_file(&fixture("comparateur/base_cc_comparateur_csv.zip")).unwrap();
    assert_eq!(strs(&df, "code"), ["28001", "28002", "28003", "75101", "75102", "97501"]);
    // The compile's columns, so that either source normalizes the same way.
    let names: Vec<&str> = df.get_column_names().into_iter().map(|n| n.as_str()).collect();
    assert_eq!(names, ["code", "area_km2", "lat", "lon", "population_2021", "line", "masked"]);
    let area: Vec<Option<f64>> = df.column("area_km2").unwrap().f64().unwrap().iter().collect();
    assert_eq!(area, [Some(12.5), Some(20.25), Some(8.0), Some(1.83), Some(0.99), None], "`s` is missing");
    let pop: Vec<Option<f64>> = df.column("population_2021").unwrap().f64().unwrap().iter().collect();
    assert_eq!(pop[1], Some(3000.0), "P22_POP read whatever the census year");
    assert_eq!(df.column("lat").unwrap().null_count(), 6, "INSEE publishes no centre");
}

#[test]
fn comparateur_prefers_insee_then_the_compile() {
    let tmp = Scratch::new("comparateur");
    let data = DataDir::new(&tmp.0);
    assert!(comparateur::load_any(&data).unwrap().is_none());
    let compile =
        "insee_com,commune,commune_type,lat,lng,superficie_km2,population_2021\n28001,Alpha,COM,48.1,1.2,99,1000\n";
    common::write_gz(&tmp.0.join(comparateur::META_RCARLIER.file), compile);
    let st = comparateur::load_any(&data).unwrap().unwrap();
    assert_eq!(st.meta.id, "comparateur_rcarlier");
    std::fs::copy(fixture("comparateur/base_cc_comparateur_csv.zip"), tmp.0.join(comparateur::INSEE_ZIP)).unwrap();
    let st = comparateur::load_any(&data).unwrap().unwrap();
    assert_eq!(st.meta.id, "insee_comparateur");
    assert_eq!(st.frame.column("area_km2").unwrap().f64().unwrap().get(0), Some(12.5), "INSEE's area, not 99");
}

#[test]
fn comparateur_negative_area_names_file_line_and_column() {
    let p = fixture("comparateur/base_cc_comparateur_negative_area.csv");
    let msg = comparateur::load_insee_file(&p).unwrap_err().to_string();
    assert!(msg.contains("base_cc_comparateur_negative_area.csv:3"), "{msg}");
    assert!(
        msg.contains("\"SUPERF\"")
            && (msg.contains("-4 is not an area") || msg.contains("-4 for") && msg.contains("out of range")),
        "{msg}"
    );
}
