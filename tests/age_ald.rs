//! Age structure (INSEE base-cc-evol-struct-pop) and ALD-without-médecin-traitant staging, on
//! made-up fixtures; the 75+ share is also checked on the real RP 2018 figures of questionr
//! (communes ≥ 2 000 inhabitants) through a small adapter to the INSEE layout.

use crate::common;
use std::io::Write;

use std::path::Path;

use common::Scratch;

use cpts_diag::sources::table::read_delimited;
use cpts_diag::sources::{age, ald, DataDir};

/// An INSEE-shaped zip: the data CSV with two census years and a `meta_` dictionary.
pub fn age_zip(path: &Path) {
    let csv = "CODGEO;P22_POP;P22_POP0014;P22_POP1529;P22_POP3044;P22_POP4559;P22_POP6074;P22_POP75P;P16_POP;P16_POP0014;P16_POP1529;P16_POP3044;P16_POP4559;P16_POP6074;P16_POP75P\n\
28085;38000.5;6000;8000;7000.25;7000.25;5500;4500;37000;6100;7900;7100;7000;5000;3900\n\
28088;13000;2000;2000;2200;2600;2400;1800;13500;2100;2100;2300;2700;2300;2000\n\
2A004;70000;10000;12000;14000;14000;12000;8000;68000;1;1;1;1;1;1\n";
    let meta = "COD_VAR;LIB_VAR\nP22_POP;Population en 2022\n";
    let f = std::fs::File::create(path).unwrap();
    let mut w = zip::ZipWriter::new(f);
    let o = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    w.start_file("meta_base-cc-evol-struct-pop-2022.CSV", o).unwrap();
    w.write_all(meta.as_bytes()).unwrap();
    w.start_file("base-cc-evol-struct-pop-2022.CSV", o).unwrap();
    w.write_all(csv.as_bytes()).unwrap();
    w.finish().unwrap();
}

#[test]
fn age_structure_from_the_zip_and_unpacked() {
    let tmp = Scratch::new("age");
    let dir = tmp.0.join(age::DIR);
    std::fs::create_dir_all(&dir).unwrap();
    let data = DataDir::new(&tmp.0);
    assert!(age::load(&data).unwrap().is_none(), "absent source: None, not zeros");
    let zip_path = dir.join("base-cc-evol-struct-pop-2022_csv.zip");
    age_zip(&zip_path);
    // Read straight from the zip…
    let s = age::load(&data).unwrap().unwrap();
    assert_eq!(s.census_year, 2022, "the most recent prefix wins over P16_");
    assert!(s.path.ends_with("base-cc-evol-struct-pop-2022_csv.zip"));
    let df = &s.frame;
    assert_eq!(df.height(), 3);
    let code = df.column("code").unwrap().str().unwrap().clone();
    let i = code.iter().position(|c| c == Some("28085")).unwrap();
    assert_eq!(df.column("pop").unwrap().f64().unwrap().get(i), Some(38000.5));
    assert_eq!(df.column("pop_75p").unwrap().f64().unwrap().get(i), Some(4500.0));
    assert_eq!(df.column("pop_30_44").unwrap().f64().unwrap().get(i), Some(7000.25));
    // …and after `fetch` unpacked it (the meta_ member is not taken).
    let got =
        cpts_diag::fetch::unpack::extract(&zip_path, &dir, &["base-cc-evol-struct-pop-*.csv".to_string()]).unwrap();
    assert_eq!(got.len(), 1);
    let s2 = age::load(&data).unwrap().unwrap();
    assert!(s2.path.ends_with("base-cc-evol-struct-pop-2022.CSV"));
    assert_eq!(s2.frame.height(), 3);
}

#[test]
fn age_without_the_bands_names_them() {
    let tmp = Scratch::new("age-bad");
    let p = tmp.0.join("base-cc-evol-struct-pop-2022.csv");
    std::fs::write(&p, "CODGEO;P22_POP;P22_POP0014\n28085;1;1\n").unwrap();
    let m = age::load_file(&p).err().unwrap().to_string();
    assert!(m.contains("Pyy_POP75P") && m.contains("P22_POP0014"), "{m}");
}

/// questionr's RP 2018 rows (real INSEE figures) rewritten in the INSEE base-cc layout: only the
/// bands questionr has (0-14, 15-29, 75+) are filled, the others left empty.
#[test]
fn real_rp2018_share_75_plus_chartres() {
    let data = DataDir::from_env();
    let file = "population/questionr_rp2018_communes_2000hab_plus.csv.gz";
    if !data.exists(file) {
        eprintln!("SKIP: {file} not in {}", data.root.display());
        return;
    }
    let t = read_delimited(
        &data.file(file).unwrap(),
        "code_insee",
        &["code_insee", "pop_tot", "pop_0_14", "pop_15_29", "pop_75p"],
    )
    .unwrap();
    let (c, p, a, b, o) = (
        t.column("code_insee").unwrap(),
        t.column("pop_tot").unwrap(),
        t.column("pop_0_14").unwrap(),
        t.column("pop_15_29").unwrap(),
        t.column("pop_75p").unwrap(),
    );
    let mut csv =
        String::from("CODGEO;P18_POP;P18_POP0014;P18_POP1529;P18_POP3044;P18_POP4559;P18_POP6074;P18_POP75P\n");
    for row in t.rows.iter().filter(|r| t.text(r, c).starts_with("28")) {
        csv.push_str(&format!(
            "{};{};{};{};;;;{}\n",
            t.text(row, c),
            t.text(row, p),
            t.text(row, a),
            t.text(row, b),
            t.text(row, o)
        ));
    }
    let tmp = Scratch::new("rp2018");
    let path = tmp.0.join("base-cc-evol-struct-pop-2018.csv");
    std::fs::write(&path, csv).unwrap();
    let s = age::load_file(&path).unwrap();
    assert_eq!(s.census_year, 2018);
    assert_eq!(s.frame.height(), 39, "39 communes of dep 28 have 2 000 inhabitants or more");
    let codes = s.frame.column("code").unwrap().str().unwrap().clone();
    let i = codes.iter().position(|x| x == Some("28085")).unwrap();
    let pop = s.frame.column("pop").unwrap().f64().unwrap().get(i).unwrap();
    let p75 = s.frame.column("pop_75p").unwrap().f64().unwrap().get(i).unwrap();
    assert_eq!(format!("{:.2}", 100.0 * p75 / pop), "11.60");
    assert_eq!(s.frame.column("pop_30_44").unwrap().f64().unwrap().get(i), None, "questionr has no 30-44 band");
}

#[test]
fn ald_shares_latest_year_masked_and_aggregates_skipped() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ald/patients-longueduree-annuelle.csv");
    let s = ald::load_file(&p).unwrap();
    assert_eq!(s.latest_year, "2024");
    let keys: Vec<&str> = s.by_departement.keys().map(|k| k.as_str()).collect();
    assert_eq!(keys, vec!["28", "2A", "36", "45"], "France (99), aggregates (999) and inconnu are skipped");
    assert_eq!(s.by_departement["28"].share, Some(4.6));
    assert_eq!(s.by_departement["28"].year, "2024");
    assert_eq!(s.by_departement["36"].share, None, "NC is masked, not zero");
    assert_eq!(s.by_departement["36"].line, 4);
}

#[test]
fn ald_value_out_of_range_is_an_error_with_its_place() {
    let tmp = Scratch::new("ald-bad");
    let p = tmp.0.join("x.csv");
    std::fs::write(&p, "annee;region;libelle_region;departement;libelle_departement;taux_patients_ald_sans_mt_integer\n2024;24;C;28;E;146\n").unwrap();
    let m = ald::load_file(&p).unwrap_err().to_string();
    assert!(
        m.contains("x.csv:2") && m.contains("taux_patients_ald_sans_mt_integer") && m.contains("percentage"),
        "{m}"
    );
}
