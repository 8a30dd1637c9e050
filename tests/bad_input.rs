//! Bad or quirky input gives a clear error naming the file, the line and the column, or is read
//! as the publisher meant it — never a wrong number.

use crate::common;

use cpts_diag::error::Error;
use cpts_diag::sources::table::{parse_number, read_delimited, Num};
use cpts_diag::sources::{apl, bpe, comparateur, DataDir};
use cpts_diag::territory::{resolve, TerritorySpec};
use cpts_diag::transforms::cog::CogIndex;

fn comparateur_file(tag: &str, text: &str) -> common::ScratchFile {
    common::ScratchFile::new(tag, "comparateur.csv", text)
}

#[test]
fn missing_column_names_file_and_column() {
    let header = common::COMPARATEUR_HEADER.replace(",superficie_km2", "");
    let body: String = common::comparateur_csv("x")
        .lines()
        .skip(1)
        .map(|l| {
            let mut f: Vec<&str> = l.split(',').collect();
            f.remove(10);
            f.join(",") + "\n"
        })
        .collect();
    let p = comparateur_file("missing", &format!("{header}\n{body}"));
    let e = comparateur::load_file(&p).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, Error::MissingColumn { .. }), "{msg}");
    assert!(msg.contains("comparateur.csv:1: column \"superficie_km2\" missing"), "{msg}");
}

#[test]
fn renamed_header_suggests_the_close_name() {
    let header = common::COMPARATEUR_HEADER.replace("superficie_km2", "superficie_km²");
    let p = comparateur_file("renamed", &common::comparateur_csv(&header));
    let msg = comparateur::load_file(&p).unwrap_err().to_string();
    assert!(msg.contains("column \"superficie_km2\" missing"), "{msg}");
    assert!(msg.contains("did you mean \"superficie_km²\"?"), "{msg}");
}

#[test]
fn insee_export_style_bom_preamble_semicolon_is_read_like_the_plain_csv() {
    let plain = common::comparateur_csv(common::COMPARATEUR_HEADER);
    let insee = format!(
        "\u{feff}Insee - Statistiques locales;;;\nRéférentiel géographique : France par commune;;;\n{}",
        plain.replace(',', ";")
    );
    let a = comparateur::load_file(&comparateur_file("plain", &plain)).unwrap();
    let b = comparateur::load_file(&comparateur_file("insee", &insee)).unwrap();
    assert!(a.drop("line").unwrap().equals_missing(&b.drop("line").unwrap()));
    let lines = |df: &polars::prelude::DataFrame| df.column("line").unwrap().u32().unwrap().get(0);
    assert_eq!(lines(&b), lines(&a).map(|l| l + 2), "line numbers count the preamble");
    assert_eq!(a.height(), 6, "28001 deduplicated over its two postal codes, COMD skipped");
}

#[test]
fn na_strings_are_missing_values_not_zero() {
    assert_eq!(parse_number("N/A - résultat non disponible"), Ok(Num::Missing));
    assert_eq!(parse_number("N/A - secret statistique"), Ok(Num::Missing));
    assert_eq!(parse_number(""), Ok(Num::Missing));
    assert_eq!(parse_number("2,679"), Ok(Num::Value(2.679)));
    assert_eq!(parse_number("12 345,5"), Ok(Num::Value(12345.5)));
    assert!(parse_number("abc").is_err());
    // The fast parser reads what std reads, to the bit; what it refuses still gets the slow paths.
    for text in ["0", "1", "-0.25", "+2", "1e3", "2.5E-3", "433129", "2.4130000000000003", " 7.5 ", "1.", ".5"] {
        let std: f64 = text.trim().parse().unwrap();
        assert_eq!(parse_number(text), Ok(Num::Value(std)), "{text}");
    }
    assert!(parse_number("inf").is_err(), "not a finite figure");
    assert!(parse_number("1,2,3").is_err());
    // In a file: the Gamma population is N/A in the fixture, and stays null.
    let p = comparateur_file("na", &common::comparateur_csv(common::COMPARATEUR_HEADER));
    let df = comparateur::load_file(&p).unwrap();
    let pop = df.column("population_2021").unwrap().f64().unwrap().clone();
    let codes = df.column("code").unwrap().str().unwrap().clone();
    let i = codes.iter().position(|c| c == Some("28003")).unwrap();
    assert_eq!(pop.get(i), None);
}

#[test]
fn wrong_separator_in_data_rows_names_the_line() {
    let mut text = common::comparateur_csv(common::COMPARATEUR_HEADER).replace(',', ";");
    text.push_str("28004,24,28,Delta,Delta,28400,COM,,48.1,1.1,3.0,100,100\n");
    let p = comparateur_file("sep", &text);
    let msg = comparateur::load_file(&p).unwrap_err().to_string();
    assert!(msg.contains("comparateur.csv:10: expected 13 fields separated by ';', found 1"), "{msg}");
}

#[test]
fn bad_commune_code_in_a_source_names_line_and_column() {
    let text = common::comparateur_csv(common::COMPARATEUR_HEADER).replace("28002,24", "28-02,24");
    let msg = comparateur::load_file(&comparateur_file("code", &text)).unwrap_err().to_string();
    assert!(msg.contains("comparateur.csv:6: column \"insee_com\": \"28-02\" is not an INSEE commune code"), "{msg}");
}

#[test]
fn xlsx_missing_column_and_missing_value() {
    let scratch = common::Scratch::new("xlsx");
    let dir = &scratch.0;
    let p = dir.join("apl.xlsx");
    let header: Vec<&str> = common::APL_HEADER.iter().map(|h| if *h == "Commune" { "Nom" } else { h }).collect();
    common::write_apl_xlsx(&p, common::APL_ROWS, &header);
    let msg = apl::load_file(&p, 2023).unwrap_err().to_string();
    assert!(msg.contains("apl.xlsx:9: column \"Commune\" missing"), "{msg}");

    let p = dir.join("bpe.xlsx");
    common::write_bpe_xlsx(&p, &[("28001", "Alpha", Some(1.5))]);
    let msg = bpe::load_file(&p).unwrap_err().to_string();
    assert!(msg.contains("bpe.xlsx:6: column \"nb_medg\": 1.5 is not a count"), "{msg}");

    // A secret-statistique count is missing, not zero.
    common::write_bpe_xlsx(&p, &[("28001", "Alpha", None)]);
    let df = bpe::load_file(&p).unwrap();
    assert_eq!(df.column("gp_count").unwrap().i64().unwrap().get(0), None);

    let p = dir.join("apl_sheet.xlsx");
    common::write_apl_xlsx(&p, common::APL_ROWS, common::APL_HEADER);
    let msg = apl::load_file(&p, 2019).unwrap_err().to_string();
    assert!(msg.contains("sheet \"APL 2019\" missing (workbook has: Paramètres, APL 2022, APL 2023)"), "{msg}");
}

#[test]
fn missing_data_file_says_where_it_looked() {
    let scratch = common::Scratch::new("empty");
    let data = DataDir::new(&scratch.0);
    let msg = apl::load(&data, 2023).unwrap_err().to_string();
    assert!(msg.contains("drees_apl_medecins_generalistes_2022_2023.xlsx: file not found"), "{msg}");
    assert!(msg.contains("CPTS_DATA_DIR"), "{msg}");
}

fn cog() -> (cpts_diag::sources::decoupage::Cog, CogIndex) {
    let data = common::fixture_data("territory");
    let cog = cpts_diag::sources::decoupage::Cog::load(&data).unwrap();
    let index = CogIndex::new(&cog);
    (cog, index)
}

#[test]
fn unknown_commune_code_is_an_error_naming_it_with_close_matches() {
    let (cog, index) = cog();
    let e = resolve(&TerritorySpec::from_codes(Some("T"), "28001,28004"), &cog, &index).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("territory T: unknown commune code 28004; close matches: 28001 Alpha"), "{msg}");
    let msg = resolve(&TerritorySpec::from_codes(Some("T"), "Gama"), &cog, &index).unwrap_err().to_string();
    assert!(msg.contains("close matches: 28003 Gamma"), "{msg}");
    let msg = resolve(
        &TerritorySpec { name: "T".into(), epci: vec!["200000002".into()], ..Default::default() },
        &cog,
        &index,
    )
    .unwrap_err()
    .to_string();
    assert!(msg.contains("unknown EPCI 200000002; close matches: 200000001 CC de Test"), "{msg}");
}

#[test]
fn empty_territory_is_an_error() {
    let (cog, index) = cog();
    let msg =
        resolve(&TerritorySpec { name: "Vide".into(), ..Default::default() }, &cog, &index).unwrap_err().to_string();
    assert_eq!(msg, "territory Vide: the territory has no commune");
    let spec = TerritorySpec {
        name: "Vide".into(),
        communes: vec!["28001".into()],
        exclude: vec!["28001".into()],
        ..Default::default()
    };
    assert!(resolve(&spec, &cog, &index).is_err());
}

#[test]
fn old_codes_duplicates_names_and_overlaps_are_warnings() {
    let (cog, index) = cog();
    let spec = TerritorySpec {
        name: "T".into(),
        communes: vec!["28901".into(), "28002".into(), "28002".into(), "gamma".into(), "75056".into(), "75101".into()],
        ..Default::default()
    };
    let t = resolve(&spec, &cog, &index).unwrap();
    assert_eq!(t.codes, ["28001", "28002", "28003", "75056"]);
    let w = t.warnings.join("\n");
    assert!(w.contains("28901 is a former commune code, merged into 28001 Alpha"), "{w}");
    assert!(w.contains("28002 listed more than once"), "{w}");
    assert!(w.contains("\"gamma\" read as commune 28003 Gamma"), "{w}");
    assert!(w.contains("75101 dropped: its commune 75056 is already in the territory"), "{w}");
}

#[test]
fn territory_file_with_unknown_key_is_rejected() {
    let p = common::ScratchFile::new("toml", "t.toml", "name = \"T\"\ncommunes = [\"28001\"]\ncommune = [\"28002\"]\n");
    let msg = TerritorySpec::load(&p).unwrap_err().to_string();
    assert!(msg.contains("t.toml") && msg.contains("commune"), "{msg}");
}

#[test]
fn read_delimited_finds_header_below_preamble_and_drops_trailing_pipe_column() {
    let p = common::ScratchFile::new("pipe", "x.txt", "Code|Libellé|\n28001|Alpha|\n");
    let t = read_delimited(&p, "Code", &["Code", "Libellé"]).unwrap();
    assert_eq!(t.headers, ["Code", "Libellé"]);
    assert_eq!(t.rows[0].cells().collect::<Vec<_>>(), ["28001", "Alpha"]);
    assert_eq!(t.rows[0].line, 2);
}
