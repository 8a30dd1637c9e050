//! DREES — Accessibilité potentielle localisée (APL) aux médecins généralistes, by commune,
//! millésimes 2022 and 2023, read from the published xlsx.
//!
//! Quirks: one sheet per millésime (`APL 2022`, `APL 2023`); 8 title/notes rows, the header on
//! row 9 and a units row on row 10; the population columns carry the year of the population used
//! (`Population totale 2021`); France hors Mayotte; Paris, Lyon and Marseille by arrondissement
//! municipal only; codes are those of the millésime's COG (68 former codes in 2023).
//! DREES rule: an aggregate APL is weighted by the standardised population; a population under a
//! threshold is counted with the non-standardised population.

use polars::prelude::*;

use super::table::{read_xlsx_sheets, Num};
use super::{DataDir, SourceMeta};
use crate::error::{Error, Result};

pub const META: SourceMeta = SourceMeta {
    id: "drees_apl",
    title: "Accessibilité potentielle localisée (APL) aux médecins généralistes",
    publisher: "DREES",
    vintage: "millésimes 2022 et 2023 (populations 2020 et 2021)",
    geography: "COG 2022 / COG 2023 (arrondissements municipaux pour Paris, Lyon, Marseille)",
    licence: "Licence Ouverte / Open Licence",
    url: "https://data.drees.solidarites-sante.gouv.fr/explore/dataset/530_l-accessibilite-potentielle-localisee-apl/information/",
    file: "health/drees_apl_medecins_generalistes_2022_2023.xlsx",
};

pub const MILLESIMES: [i32; 2] = [2022, 2023];
pub const CODE: &str = "Code commune INSEE";

/// One millésime, one row per commune code of that millésime's geography.
/// Columns: `code`, `apl_mg`, `apl_mg_u65`, `pop_std`, `pop_total`, `line`, `masked`
/// (`column=value` of the cells masked by the publisher, see [`super::contract`]). The commune's
/// name is checked present but not staged: the COG names every unit, and nothing read it.
pub fn load(data: &DataDir, millesime: i32) -> Result<DataFrame> {
    let path = data.file(META.file)?;
    load_file(&path, millesime)
}

pub fn load_file(path: &std::path::Path, millesime: i32) -> Result<DataFrame> {
    Ok(load_file_millesimes(path, &[millesime])?.pop().expect("one millésime"))
}

/// One frame per asked millésime (one sheet each), the workbook opened once.
pub fn load_millesimes(data: &DataDir, millesimes: &[i32]) -> Result<Vec<DataFrame>> {
    load_file_millesimes(&data.file(META.file)?, millesimes)
}

pub fn load_file_millesimes(path: &std::path::Path, millesimes: &[i32]) -> Result<Vec<DataFrame>> {
    let sheets: Vec<String> = millesimes.iter().map(|m| format!("APL {m}")).collect();
    let sheets: Vec<&str> = sheets.iter().map(String::as_str).collect();
    let tables = read_xlsx_sheets(
        path,
        &sheets,
        CODE,
        &[CODE, "Commune", "APL aux médecins généralistes", "APL aux médecins généralistes de moins de 65 ans"],
    )?;
    tables.iter().map(sheet_frame).collect()
}

fn sheet_frame(t: &super::table::RawTable) -> Result<DataFrame> {
    let cols = Columns {
        code: t.column(CODE)?,
        apl: t.column("APL aux médecins généralistes")?,
        u65: t.column("APL aux médecins généralistes de moins de 65 ans")?,
        std: t.column_starting_with("Population standardisée")?,
        tot: t.column_starting_with("Population totale")?,
    };
    let checked = super::contract::check(t, &super::contract::APL_XLSX, |i, row| units_row(t, &cols, i, row))?;
    staged(t, &cols, &checked, |_| true)
}

/// The same figures from the CSV re-encoding of the workbook (both millésimes in one file, a
/// `millesime` column; SOURCES.md §3a), which reads in a fraction of the xlsx time. Staged
/// frames are identical to [`load_file`]'s (tested on the real files).
pub const DERIVED_FILE: &str = "health/drees_apl_medecins_generalistes_2022_2023_communes.csv.gz";

/// One frame per asked millésime, from [`DERIVED_FILE`], read once.
pub fn load_derived(data: &DataDir, millesimes: &[i32]) -> Result<Vec<DataFrame>> {
    load_derived_file(&data.file(DERIVED_FILE)?, millesimes)
}

const DERIVED_COLUMNS: [&str; 7] = [
    "millesime",
    "code_commune_insee",
    "commune",
    "apl_mg",
    "apl_mg_moins_65ans",
    "population_standardisee",
    "population_totale",
];

pub fn load_derived_file(path: &std::path::Path, millesimes: &[i32]) -> Result<Vec<DataFrame>> {
    let text = super::table::read_text(path)?;
    // One typed pass; a file it refuses is read again as text cells, which name the first fault
    // exactly as they always have (the typed pass is at least as strict, so a good file never
    // takes the second path).
    derived_typed(path, &text, millesimes).or_else(|_| derived_cells(path, &text, millesimes))
}

/// One millésime's staged columns, built as the rows are read.
struct Builder {
    code: StringChunkedBuilder,
    apl: Vec<f64>,
    u65: Vec<Option<f64>>,
    std: Vec<f64>,
    tot: Vec<f64>,
    line: Vec<u32>,
    masked: Vec<Option<String>>,
}

impl Builder {
    fn new(n: usize) -> Self {
        Builder {
            code: StringChunkedBuilder::new("code".into(), n),
            apl: Vec::with_capacity(n),
            u65: Vec::with_capacity(n),
            std: Vec::with_capacity(n),
            tot: Vec::with_capacity(n),
            line: Vec::with_capacity(n),
            masked: Vec::with_capacity(n),
        }
    }

    fn finish(self) -> Result<DataFrame> {
        Ok(DataFrame::new_infer_height(vec![
            self.code.finish().into_column(),
            Column::new("apl_mg".into(), self.apl),
            Column::new("apl_mg_u65".into(), self.u65),
            Column::new("pop_std".into(), self.std),
            Column::new("pop_total".into(), self.tot),
            Column::new("line".into(), self.line),
            Column::new("masked".into(), self.masked),
        ])?)
    }
}

/// [`derived_cells`] without a table of text cells: the contract row by row, values parsed once
/// into the staged columns. Any error sends the caller to [`derived_cells`].
fn derived_typed(path: &std::path::Path, text: &str, millesimes: &[i32]) -> Result<Vec<DataFrame>> {
    use super::table::{normalize_commune_code_cow, Delimited};
    let d = Delimited::new(path, text, "code_commune_insee")?;
    let mut c = [0; 7];
    for (i, name) in DERIVED_COLUMNS.iter().enumerate() {
        c[i] = d.column(name)?;
    }
    let [c_year, c_code, _, c_apl, c_u65, c_std, c_tot] = c;
    let rc = super::contract::RowCheck::new(&super::contract::APL_CSV, path, &d.headers, d.header_line)?;
    let known: Vec<String> = MILLESIMES.iter().map(|m| m.to_string()).collect();
    let asked: Vec<String> = millesimes.iter().map(|m| m.to_string()).collect();
    let mut out: Vec<Builder> = millesimes.iter().map(|_| Builder::new(36_000)).collect();
    let fail = || Error::data(crate::error::Location::file(path), "refused by the typed reader");
    rc.records(&d, |rc, line, r| {
        let cell = |i: usize| super::table::trim(r.get(i).unwrap_or(""));
        let year = cell(c_year);
        if !known.iter().any(|k| k == year) {
            return Err(fail());
        }
        let Some(k) = asked.iter().position(|a| a == year) else { return Ok(()) };
        let b = &mut out[k];
        let number = |i: usize| match rc.number(line, i, cell(i)) {
            Ok(Num::Value(v)) => Ok(Some(v)),
            Ok(Num::Missing) => Ok(None),
            Err(_) => Err(fail()),
        };
        let required = |i: usize| number(i)?.ok_or_else(fail);
        b.code.append_value(normalize_commune_code_cow(cell(c_code)).ok_or_else(fail)?);
        b.apl.push(required(c_apl)?);
        b.u65.push(number(c_u65)?);
        let s = required(c_std)?;
        if s < 0.0 {
            return Err(fail());
        }
        b.std.push(s);
        b.tot.push(required(c_tot)?);
        b.line.push(line as u32);
        b.masked.push(rc.masked_at_line(line));
        Ok(())
    })?;
    out.into_iter().map(Builder::finish).collect()
}

/// The derived CSV as a table of text cells, checked whole, then staged.
fn derived_cells(path: &std::path::Path, text: &str, millesimes: &[i32]) -> Result<Vec<DataFrame>> {
    let req = DERIVED_COLUMNS;
    let t = super::table::parse_delimited(path, text, "code_commune_insee", &req)?;
    let cols = Columns {
        code: t.column(req[1])?,
        apl: t.column(req[3])?,
        u65: t.column(req[4])?,
        std: t.column(req[5])?,
        tot: t.column(req[6])?,
    };
    let checked = super::contract::check(&t, &super::contract::APL_CSV, |_, _| false)?;
    let c_year = t.column("millesime")?;
    for row in &t.rows {
        let y = t.text(row, c_year);
        if !MILLESIMES.iter().any(|m| m.to_string() == y) {
            return Err(Error::data(t.location(row, c_year), format!("unknown millésime \"{y}\"")));
        }
    }
    millesimes
        .iter()
        .map(|m| {
            let y = m.to_string();
            staged(&t, &cols, &checked, |row| t.text(row, c_year) == y)
        })
        .collect()
}

struct Columns {
    code: usize,
    apl: usize,
    u65: usize,
    std: usize,
    tot: usize,
}

/// The row right under the workbook's header holds units ("En nombre de …"), not a commune.
fn units_row(t: &super::table::RawTable, cols: &Columns, i: usize, row: &super::table::RawRow) -> bool {
    i == 0 && t.text(row, cols.code).is_empty() && t.text(row, cols.apl).starts_with("En ")
}

fn staged(
    t: &super::table::RawTable,
    cols: &Columns,
    checked: &super::contract::Checked,
    keep: impl Fn(&super::table::RawRow) -> bool,
) -> Result<DataFrame> {
    let (c_code, c_apl, c_u65, c_std, c_tot) = (cols.code, cols.apl, cols.u65, cols.std, cols.tot);
    let n = t.rows.len();
    let mut masked = Vec::with_capacity(n);
    let (mut code, mut apl, mut u65, mut std, mut tot, mut line) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for (i, row) in t.rows.iter().enumerate() {
        if !keep(row) {
            continue;
        }
        if units_row(t, cols, i, row) {
            continue;
        }
        code.push(t.commune_code(row, c_code)?);
        apl.push(t.required_number(row, c_apl)?);
        u65.push(match t.number(row, c_u65)? {
            Num::Value(v) => Some(v),
            Num::Missing => None,
        });
        let s = t.required_number(row, c_std)?;
        if s < 0.0 {
            return Err(Error::data(t.location(row, c_std), format!("negative population {s}")));
        }
        std.push(s);
        tot.push(t.required_number(row, c_tot)?);
        line.push(row.line as u32);
        masked.push(checked.masked_at(row));
    }
    Ok(df!(
        "code" => code,
        "apl_mg" => apl,
        "apl_mg_u65" => u65,
        "pop_std" => std,
        "pop_total" => tot,
        "line" => line,
        "masked" => masked,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The derived CSV's layout with made-up values: a code written as a number, both millésimes.
    const CSV: &str =
        "millesime,code_commune_insee,commune,apl_mg,apl_mg_moins_65ans,population_standardisee,population_totale\n\
        2022,01001,Alpha,1.5,1.25,800.5,806\n\
        2022,1002,Beta,2,1e0,250.25,262\n\
        2023,01001,Alpha,1.75,1.5,810.125,812\n\
        2023,2A004,Gamma,0,0,0,0\n";

    #[test]
    fn typed_read_is_taken_and_equals_the_text_cell_read() {
        let p = std::path::Path::new("apl.csv");
        let typed = derived_typed(p, CSV, &[2023, 2022]).expect("a good file takes the typed path");
        let cells = derived_cells(p, CSV, &[2023, 2022]).unwrap();
        assert_eq!(typed, cells);
        assert_eq!(typed[1].column("code").unwrap().str().unwrap().get(1), Some("01002"));
        assert_eq!(typed[1].column("apl_mg_u65").unwrap().f64().unwrap().get(1), Some(1.0));
        // A fault makes the typed read give way; the text-cell read names it.
        let bad = CSV.replace("2023,2A004,Gamma,0,", "2023,2A004,Gamma,-1,");
        assert!(derived_typed(p, &bad, &[2023]).is_err());
        let e = derived_cells(p, &bad, &[2023]).unwrap_err().to_string();
        assert!(e.contains("apl.csv:5: column \"apl_mg\": -1 for 2023, 2A004 is out of range"), "{e}");
    }
}
