//! INSEE Base des bassins de vie 2022 (BV2022): the commune composition of each bassin de vie,
//! from INSEE's own file (https://www.insee.fr/fr/information/6676988).
//!
//! Published as `BV2022_au_01-01-<year>.zip` holding `BV2022_au_01-01-<year>.xlsx`, one file per
//! COG year (the zonage is the 2022 one, carried on the communes of 1 January of that year). Quirks:
//! sheet `Composition_communale` with 5 title rows (title, date of geography, source, blank), the
//! header `CODGEO, LIBGEO, BV2022, LIBBV2022, DEP, REG` on row 6; a second sheet `BV2022` lists the
//! bassins themselves; Paris, Lyon and Marseille are whole communes (arrondissements inherit their
//! city's bassin); a BV2022 code is the code of its pole commune. The COG year is read from the
//! file name (`au_01-01-2024` → COG 2024). Read from the xlsx that `fetch` unpacks, or straight
//! from the zip.

use std::path::{Path, PathBuf};

use polars::prelude::*;

use super::table::{find_latest, read_xlsx, read_xlsx_bytes, zip_member, RawTable};
use super::{DataDir, SourceMeta};
use crate::error::{Error, Result};

pub const META: SourceMeta = SourceMeta {
    id: "insee_bv2022",
    title: "Base des bassins de vie 2022, composition communale",
    publisher: "INSEE",
    vintage: "zonage en bassins de vie 2022",
    geography: "COG of the file's year (BV2022_au_01-01-<year>; Paris, Lyon, Marseille entiers)",
    licence: "Licence Ouverte / Open Licence",
    url: "https://www.insee.fr/fr/information/6676988",
    file: "population/BV2022_au_01-01-*.xlsx",
};

pub const DIR: &str = "population";
pub const SHEET: &str = "Composition_communale";
const XLSX_PATTERN: &str = "BV2022_au_01-01-*.xlsx";
/// The archive as `fetch` stores it (`data/sources.toml`), and as INSEE names it.
const ZIP_PATTERNS: [&str; 2] = ["BV2022_composition_communale.zip", "BV2022_au_01-01-*.zip"];
const COLUMNS: [&str; 4] = ["CODGEO", "LIBGEO", "BV2022", "LIBBV2022"];

/// The unpacked workbook, else the archive, of the latest year in the data folder.
pub fn find(data: &DataDir) -> Option<PathBuf> {
    let dir = data.root.join(DIR);
    find_latest(&dir, XLSX_PATTERN).or_else(|| ZIP_PATTERNS.iter().find_map(|p| find_latest(&dir, p)))
}

#[derive(Debug)]
pub struct Staged {
    /// `code`, `bv2022`, `bv2022_name`, `line` (the spreadsheet row).
    pub frame: DataFrame,
    /// `COG 2024`, from the workbook's name; `None` if the name does not say.
    pub cog: Option<String>,
    pub path: PathBuf,
}

/// `None` when the data folder has no BV2022 file.
pub fn load(data: &DataDir) -> Result<Option<Staged>> {
    find(data).map(|p| load_file(&p)).transpose()
}

fn cog_of(name: &str) -> Option<String> {
    let i = name.find("au_01-01-")? + "au_01-01-".len();
    let y = name.get(i..i + 4)?;
    y.bytes().all(|b| b.is_ascii_digit()).then(|| format!("COG {y}"))
}

pub fn load_file(path: &Path) -> Result<Staged> {
    let t = if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("zip")) {
        let (bytes, label) = zip_member(path, XLSX_PATTERN)?;
        read_xlsx_bytes(&label, bytes, SHEET, "CODGEO", &COLUMNS)?
    } else {
        read_xlsx(path, SHEET, "CODGEO", &COLUMNS)?
    };
    let cog = cog_of(&t.path.to_string_lossy());
    Ok(Staged { frame: staged(&t)?, cog, path: path.to_path_buf() })
}

fn staged(t: &RawTable) -> Result<DataFrame> {
    let (c_code, c_bv, c_name) = (t.column("CODGEO")?, t.column("BV2022")?, t.column("LIBBV2022")?);
    let (mut code, mut bv, mut name, mut line) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for row in &t.rows {
        code.push(t.commune_code(row, c_code)?);
        let b = t.text(row, c_bv);
        // A pole commune's code; a spreadsheet that stored it as a number lost its leading zero.
        let Some(b) = super::table::normalize_commune_code(b) else {
            return Err(Error::data(t.location(row, c_bv), format!("\"{b}\" is not a bassin de vie code")));
        };
        bv.push(b);
        name.push(t.text(row, c_name).to_string());
        line.push(row.line as u32);
    }
    Ok(df!("code" => code, "bv2022" => bv, "bv2022_name" => name, "line" => line)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cog_year_from_the_file_name() {
        assert_eq!(cog_of("x/BV2022_au_01-01-2024.zip!BV2022_au_01-01-2024.xlsx").as_deref(), Some("COG 2024"));
        assert_eq!(cog_of("bv.xlsx"), None);
    }
}
