//! INSEE populations légales (« populations de référence ») by commune: population municipale,
//! population comptée à part and population totale, from the `ensemble.zip` of the yearly
//! publication (`donnees_communes.csv`).
//!
//! Layout of the publication of December 2025 (millésime 2023, in force on 1 January 2026): `;`,
//! UTF-8, one header line `REG;Région;DEP;CODARR;CODCAN;CODCOM;COM;Commune;PMUN;PCAP;PTOT`, where
//! `COM` is the 5-character commune code and `CODCOM` its last three characters. Quirks: Paris,
//! Lyon and Marseille appear only as their 45 arrondissements municipaux (the curated table rolls
//! them up); Mayotte (own census cycle) and the collectivités d'outre-mer (`donnees_collectivites.csv`)
//! are not in the file. Older publications put the commune *name* in `COM` and the code in
//! `DEP` + `CODCOM`: that layout is read too. The millésime is not written in the file: it is the
//! one of the fetch entry ([`META`]).

use std::path::{Path, PathBuf};

use polars::prelude::*;

use super::table::{normalize_commune_code, parse_delimited, read_text, RawRow, RawTable};
use super::{DataDir, SourceMeta};
use crate::error::{Error, Result};

/// Millésime of the populations légales of the file [`META`] points at.
pub const MILLESIME: i64 = 2023;

pub const META: SourceMeta = SourceMeta {
    id: "insee_populations_legales",
    title: "Populations légales (de référence) des communes: municipale, comptée à part, totale",
    publisher: "INSEE, recensement de la population",
    vintage: "populations légales millésime 2023, en vigueur au 1er janvier 2026",
    geography: "COG 2025 (Paris, Lyon, Marseille par arrondissement municipal)",
    licence: "Licence Ouverte / Open Licence",
    url: "https://www.insee.fr/fr/statistiques/fichier/8680726/ensemble.zip",
    file: "population/populations-legales-2023/ensemble.zip",
};

/// The CSV that `fetch` unpacks next to the archive.
pub const CSV_FILE: &str = "population/populations-legales-2023/donnees_communes.csv";
const MEMBER: &str = "donnees_communes.csv";

/// The unpacked CSV, else the zip, when the data folder has either.
pub fn find(data: &DataDir) -> Option<PathBuf> {
    [CSV_FILE, META.file].iter().map(|f| data.root.join(f)).find(|p| p.is_file())
}

/// The commune code of a row: `COM` in the current layout, `DEP` + `CODCOM` in the older one.
fn row_code(t: &RawTable, row: &RawRow, c_com: usize, dep_codcom: Option<(usize, usize)>) -> Result<String> {
    let com = t.text(row, c_com);
    if let Some(code) = normalize_commune_code(com) {
        return Ok(code);
    }
    if let Some((c_dep, c_codcom)) = dep_codcom {
        let (dep, codcom) = (t.text(row, c_dep), t.text(row, c_codcom));
        // Overseas départements have three characters and number their communes 101…: `971` +
        // `101` is 97101, so only the last `width` characters of CODCOM count.
        let width = 5usize.saturating_sub(dep.len());
        let tail = codcom.get(codcom.len().saturating_sub(width)..).unwrap_or(codcom);
        if let Some(code) = normalize_commune_code(&format!("{dep}{tail:0>width$}")) {
            return Ok(code);
        }
    }
    Err(Error::data(t.location(row, c_com), format!("\"{com}\" is not an INSEE commune code")))
}

/// Columns `code`, `line`, `pmun`, `pcap`, `ptot` (int64), one row per line of the file.
pub fn load_file(path: &Path) -> Result<DataFrame> {
    let (text, label) = if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("zip")) {
        super::table::zip_member_text(path, MEMBER)?
    } else {
        (read_text(path)?, path.to_path_buf())
    };
    let t = parse_delimited(&label, &text, "PTOT", &["COM", "PMUN", "PCAP", "PTOT"])?;
    let (c_com, c_pmun, c_pcap, c_ptot) = (t.column("COM")?, t.column("PMUN")?, t.column("PCAP")?, t.column("PTOT")?);
    let dep = t.headers.iter().position(|h| h == "DEP" || h == "CODDEP");
    let dep_codcom = dep.zip(t.headers.iter().position(|h| h == "CODCOM"));
    let n = t.rows.len();
    let (mut code, mut line, mut pmun, mut pcap, mut ptot) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let count = |row: &RawRow, c: usize| -> Result<i64> {
        let v = t.required_number(row, c)?;
        if v < 0.0 || v.fract() != 0.0 {
            return Err(Error::data(t.location(row, c), format!("{v} is not a count of inhabitants")));
        }
        Ok(v as i64)
    };
    for row in &t.rows {
        let (m, a, tot) = (count(row, c_pmun)?, count(row, c_pcap)?, count(row, c_ptot)?);
        if m + a != tot {
            return Err(Error::data(
                t.location(row, c_ptot),
                format!("PTOT {tot} is not PMUN {m} + PCAP {a} (the population totale is their sum)"),
            ));
        }
        code.push(row_code(&t, row, c_com, dep_codcom)?);
        line.push(row.line as u32);
        pmun.push(m);
        pcap.push(a);
        ptot.push(tot);
    }
    Ok(df!("code" => code, "line" => line, "pmun" => pmun, "pcap" => pcap, "ptot" => ptot)?)
}

/// The populations légales, or `None` when the data folder has no such file.
pub fn load(data: &DataDir) -> Result<Option<(DataFrame, PathBuf)>> {
    find(data).map(|p| Ok((load_file(&p)?, p))).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<DataFrame> {
        let dir = std::env::temp_dir().join(format!("cpts-pl-{}-{}", std::process::id(), text.len()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("donnees_communes.csv");
        std::fs::write(&p, text).unwrap();
        let r = load_file(&p);
        std::fs::remove_dir_all(&dir).ok();
        r
    }

    #[test]
    fn the_older_layout_builds_the_code_from_dep_and_codcom() {
        let df = parse(
            "CODREG;REG;CODDEP;CODARR;CODCAN;CODCOM;COM;PMUN;PCAP;PTOT\n\
             11;Île;91;1;01;007;Abc;120;3;123\n\
             01;Guadeloupe;971;1;01;101;Def;5000;40;5040\n",
        )
        .unwrap();
        let codes: Vec<&str> = df.column("code").unwrap().str().unwrap().iter().flatten().collect();
        assert_eq!(codes, ["91007", "97101"]);
    }

    #[test]
    fn a_missing_column_is_named_with_the_header() {
        let e = parse("REG;DEP;COM;PMUN;PTOT\n24;28;28001;100;100\n").unwrap_err().to_string();
        assert!(e.contains("PCAP") && e.contains("donnees_communes.csv:1"), "{e}");
    }

    #[test]
    fn a_totale_that_is_not_the_sum_is_an_error_naming_line_and_column() {
        let e = parse("REG;DEP;COM;PMUN;PCAP;PTOT\n24;28;28001;100;5;106\n").unwrap_err().to_string();
        assert!(e.contains("donnees_communes.csv:2") && e.contains("\"PTOT\"") && e.contains("106"), "{e}");
    }
}
