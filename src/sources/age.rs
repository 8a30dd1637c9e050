//! INSEE base communale « Évolution et structure de la population » (`base-cc-evol-struct-pop-<year>`):
//! population by age band per commune.
//!
//! Quirks: shipped as `base-cc-evol-struct-pop-<year>_csv.zip` holding a `;`-separated CSV (and
//! a `meta_…` dictionary); key `CODGEO`; every column is prefixed by the census year (`P22_POP0014`,
//! and older years `P16_…` in the same file for the evolution): the most recent prefix present is
//! used, found by pattern; values are decimal (weighted census counts). Read from the CSV that
//! `fetch` unpacks, or straight from the zip.

use std::path::{Path, PathBuf};

use polars::prelude::*;

use super::table::{parse_delimited, read_text, Num};
use super::{DataDir, SourceMeta};
use crate::error::{Error, Location, Result};

pub const META: SourceMeta = SourceMeta {
    id: "insee_age",
    title: "Population par tranche d'âge (base communale évolution et structure de la population)",
    publisher: "INSEE, recensement de la population",
    vintage: "recensement de l'année du préfixe des colonnes (P22_ = RP 2022), see the build report",
    geography: "COG de l'année de publication",
    licence: "Licence Ouverte / Open Licence",
    url: "https://www.insee.fr/fr/statistiques/fichier/8581696/base-cc-evol-struct-pop-2022_csv.zip",
    file: "population/base-cc-evol-struct-pop-*.csv",
};

pub const DIR: &str = "population";
const CSV_PATTERN: &str = "base-cc-evol-struct-pop-*.csv";
const ZIP_PATTERN: &str = "base-cc-evol-struct-pop-*_csv.zip";

/// Age bands: output column and INSEE column suffix (after `Pyy_`).
pub const BANDS: [(&str, &str); 6] = [
    ("pop_0_14", "POP0014"),
    ("pop_15_29", "POP1529"),
    ("pop_30_44", "POP3044"),
    ("pop_45_59", "POP4559"),
    ("pop_60_74", "POP6074"),
    ("pop_75p", "POP75P"),
];

fn find_in(dir: &Path, pattern: &str) -> Option<PathBuf> {
    let mut hits: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.file_name().is_some_and(|n| crate::fetch::unpack::glob_match(pattern, &n.to_string_lossy()))
        })
        .collect();
    hits.sort();
    hits.pop()
}

/// The unpacked CSV, else the zip, of the latest year in the data folder.
pub fn find(data: &DataDir) -> Option<PathBuf> {
    let dir = data.root.join(DIR);
    find_in(&dir, CSV_PATTERN).or_else(|| find_in(&dir, ZIP_PATTERN))
}

/// Census year of a column prefix `Pyy_`: 2000 + yy (the base starts with RP 2006 columns).
fn prefix_year(h: &str) -> Option<(u32, String)> {
    let b = h.as_bytes();
    if b.len() > 4 && b[0] == b'P' && b[1].is_ascii_digit() && b[2].is_ascii_digit() && b[3] == b'_' {
        let yy = u32::from(b[1] - b'0') * 10 + u32::from(b[2] - b'0');
        let year = if yy >= 60 { 1900 + yy } else { 2000 + yy };
        return Some((year, h[..4].to_string()));
    }
    None
}

pub struct Staged {
    /// `code`, `line`, `pop` and the [`BANDS`] columns (float64).
    pub frame: DataFrame,
    pub census_year: u32,
    pub path: PathBuf,
}

pub fn load_file(path: &Path) -> Result<Staged> {
    let (text, label) = if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("zip")) {
        super::table::zip_member_text(path, CSV_PATTERN)?
    } else {
        (read_text(path)?, path.to_path_buf())
    };
    let t = parse_delimited(&label, &text, "CODGEO", &["CODGEO"])?;
    // The most recent census whose prefix has the total population and every band.
    let mut prefixes: Vec<(u32, String)> = t.headers.iter().filter_map(|h| prefix_year(h)).collect();
    prefixes.sort();
    prefixes.dedup();
    let (year, prefix) = prefixes
        .into_iter()
        .rev()
        .find(|(_, p)| {
            std::iter::once("POP".to_string())
                .chain(BANDS.iter().map(|(_, s)| s.to_string()))
                .all(|s| t.headers.iter().any(|h| *h == format!("{p}{s}")))
        })
        .ok_or_else(|| Error::MissingColumn {
            location: Location::at(&label, t.header_line),
            column: "Pyy_POP, Pyy_POP0014 … Pyy_POP75P".into(),
            detail: format!(
                "(header has: {})",
                t.headers.iter().take(20).map(|h| format!("\"{h}\"")).collect::<Vec<_>>().join(", ")
            ),
        })?;
    let c_code = t.column("CODGEO")?;
    let c_pop = t.column(&format!("{prefix}POP"))?;
    let c_bands: Vec<usize> = BANDS.iter().map(|(_, s)| t.column(&format!("{prefix}{s}"))).collect::<Result<_>>()?;
    let mut code = Vec::with_capacity(t.rows.len());
    let mut line = Vec::with_capacity(t.rows.len());
    let mut pop = Vec::with_capacity(t.rows.len());
    let mut bands: Vec<Vec<Option<f64>>> = vec![Vec::with_capacity(t.rows.len()); BANDS.len()];
    let value = |row, c| -> Result<Option<f64>> {
        Ok(match t.number(row, c)? {
            Num::Value(v) if v >= 0.0 => Some(v),
            Num::Value(v) => return Err(Error::data(t.location(row, c), format!("{v} is not a population"))),
            Num::Missing => None,
        })
    };
    for row in &t.rows {
        code.push(t.commune_code(row, c_code)?);
        line.push(row.line as u32);
        pop.push(value(row, c_pop)?);
        for (b, &c) in bands.iter_mut().zip(&c_bands) {
            b.push(value(row, c)?);
        }
    }
    let mut cols =
        vec![Column::new("code".into(), code), Column::new("line".into(), line), Column::new("pop".into(), pop)];
    for ((name, _), v) in BANDS.iter().zip(bands) {
        cols.push(Column::new((*name).into(), v));
    }
    Ok(Staged { frame: DataFrame::new_infer_height(cols)?, census_year: year, path: path.to_path_buf() })
}

/// The age structure, or `None` when the data folder has no such file.
pub fn load(data: &DataDir) -> Result<Option<Staged>> {
    find(data).map(|p| load_file(&p)).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        assert_eq!(prefix_year("P22_POP75P"), Some((2022, "P22_".into())));
        assert_eq!(prefix_year("P99_POP"), Some((1999, "P99_".into())));
        assert_eq!(prefix_year("C22_POP15P"), None);
        assert_eq!(prefix_year("CODGEO"), None);
    }
}
