//! CartoSanté staging: a fixture in the export's exact layout (BOM, `;`, two preamble lines,
//! `N/A - secret statistique`; values made up) and the real 2024 export of the data folder.

use std::path::Path;

use cpts_diag::professions::Professions;
use cpts_diag::sources::{cartosante, DataDir};
use polars::prelude::*;

fn value(s: &cartosante::Staged, bv: &str, column: &str) -> Option<f64> {
    let i = s.frame.column("bv").unwrap().str().unwrap().iter().position(|c| c == Some(bv)).unwrap();
    s.frame.column(column).unwrap().f64().unwrap().get(i)
}

#[test]
fn fixture_in_the_published_layout() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cartosante/made_up_export.csv");
    let s = cartosante::load_file(&p, Professions::embedded()).unwrap();
    assert_eq!(s.frame.height(), 3);
    assert_eq!(s.value_columns.len(), 8);
    assert_eq!(value(&s, "28085", "Densité de généralistes lib. 2024"), Some(6.1));
    assert_eq!(value(&s, "28088", "Densité de sages-femmes lib. 2024"), None);
    let why = s.masked_reason("28088", "Densité de sages-femmes lib. 2024").unwrap();
    assert!(why.contains("N/A - secret statistique") && why.contains(":5"), "{why}");
    assert_eq!(s.masked.len(), 2);
    assert!(s.masked_reason("28085", "Densité de sages-femmes lib. 2024").is_none());
    // The first line after the two preamble lines and the header is line 4.
    let lines: Vec<u32> = s.frame.column("line").unwrap().u32().unwrap().into_no_null_iter().collect();
    assert_eq!(lines, vec![4, 5, 6]);
}

#[test]
fn a_renamed_density_column_is_an_error() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cartosante/made_up_export.csv");
    let text =
        std::fs::read_to_string(&p).unwrap().replace("Densité d'infirmiers lib. 2024", "Densité d'infirmiers 2025");
    let dir = std::env::temp_dir().join(format!("cpts-cartosante-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("export.csv");
    std::fs::write(&f, text).unwrap();
    let e = cartosante::load_file(&f, Professions::embedded()).unwrap_err().to_string();
    assert!(e.contains("export.csv:3") && e.contains("Densité d'infirmiers lib. 2024"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn real_2024_export_anet_and_bonneval() {
    let data = DataDir::from_env();
    if !data.exists(cartosante::META.file) {
        eprintln!("SKIP: {} not in {}", cartosante::META.file, data.root.display());
        return;
    }
    let s = cartosante::load(&data).unwrap().unwrap();
    assert_eq!(s.frame.height(), 1709);
    // As published on CartoSanté: GP density 2024 per 10 000 inhabitants.
    assert_eq!(value(&s, "28007", "Densité de généralistes lib. 2024"), Some(3.7));
    assert_eq!(value(&s, "28051", "Densité de généralistes lib. 2024"), Some(2.8));
    assert_eq!(value(&s, "28007", "Densité d'infirmiers lib. 2024"), Some(7.7));
    // Ambérieu-en-Bugey's ALD share is secret: null, with the reason.
    assert_eq!(value(&s, "01004", "Part des bénéf. en ALD dans la pop 2024"), None);
    let why = s.masked_reason("01004", "Part des bénéf. en ALD dans la pop 2024").unwrap();
    assert!(why.contains("secret statistique") && why.contains("01004"), "{why}");
    // No profession density is masked in this export; every null is listed with a reason.
    let nulls: usize = s.value_columns.iter().map(|c| s.frame.column(c).unwrap().null_count()).sum();
    assert_eq!(nulls, s.masked.len());
    let prof_cols: Vec<&str> =
        Professions::embedded().cartosante().map(|p| p.cartosante_column.as_deref().unwrap()).collect();
    assert!(s.masked.iter().all(|m| !prof_cols.contains(&m.column.as_str())));
    let _ = s.frame.column("bv_name").unwrap().str().unwrap().iter().collect::<Vec<_>>();
    assert!(s.frame.clone().lazy().filter(col("bv").eq(lit("28007"))).collect().unwrap().height() == 1);
}
