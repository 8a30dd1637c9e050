//! INSEE Base permanente des équipements (BPE) 2020: médecins généralistes libéraux per commune,
//! as exported by the Observatoire des territoires (ANCT), indicator `nb_medg`.
//!
//! Quirks: sheet `Data` with 4 title rows and the header on row 5; geography "Commune (2021)"
//! (COG 2021, 102 former codes); Paris, Lyon and Marseille as whole communes, so no figure exists
//! per arrondissement; BPE counts practice locations, so a GP with two cabinets counts twice.

use polars::prelude::*;

use super::table::{read_xlsx, Num};
use super::{DataDir, SourceMeta};
use crate::error::{Error, Result};

pub const META: SourceMeta = SourceMeta {
    id: "bpe_nb_medg",
    title: "Médecins généralistes libéraux par commune (indicateur nb_medg)",
    publisher: "INSEE, Base permanente des équipements 2020, via Observatoire des territoires (ANCT)",
    vintage: "BPE 2020",
    geography: "COG 2021 (Paris, Lyon, Marseille entiers)",
    licence: "Licence Ouverte / Open Licence",
    url: "https://www.observatoire-des-territoires.gouv.fr/",
    file: "health/anct_offre_sante_nb_medg_bpe2020_communes.xlsx",
};

/// Columns: `code`, `gp_count`, `line`, `masked` (cells masked by the publisher, see
/// [`super::contract`]).
pub fn load(data: &DataDir) -> Result<DataFrame> {
    load_file(&data.file(META.file)?)
}

pub fn load_file(path: &std::path::Path) -> Result<DataFrame> {
    staged(&read_xlsx(path, "Data", "codgeo", &["codgeo", "libgeo", "an", "nb_medg"])?)
}

/// The same figures from the CSV re-encoding of the workbook (SOURCES.md §3b), which reads in a
/// fraction of the xlsx time; staged frames are identical to [`load_file`]'s (tested).
pub const DERIVED_FILE: &str = "health/anct_offre_sante_nb_medg_bpe2020_communes.csv.gz";

pub fn load_derived(data: &DataDir) -> Result<DataFrame> {
    load_derived_file(&data.file(DERIVED_FILE)?)
}

pub fn load_derived_file(path: &std::path::Path) -> Result<DataFrame> {
    let text = super::table::read_text(path)?;
    // One typed pass; a file it refuses is read again as text cells, which name the first fault
    // exactly as they always have (the typed pass is at least as strict).
    typed(path, &text).or_else(|_| staged(&super::table::parse_delimited(path, &text, "codgeo", &COLUMNS)?))
}

const COLUMNS: [&str; 4] = ["codgeo", "libgeo", "an", "nb_medg"];

/// [`staged`] of the CSV without a table of text cells: the contract row by row, values parsed
/// once. Any error sends the caller to the text-cell reader.
fn typed(path: &std::path::Path, text: &str) -> Result<DataFrame> {
    use super::table::{normalize_commune_code_cow, Delimited};
    let d = Delimited::new(path, text, "codgeo")?;
    for c in COLUMNS {
        d.column(c)?;
    }
    let (c_code, c_n) = (d.column("codgeo")?, d.column("nb_medg")?);
    let rc = super::contract::RowCheck::new(&super::contract::BPE, path, &d.headers, d.header_line)?;
    let cap = 36_000;
    let mut code = StringChunkedBuilder::new("code".into(), cap);
    let (mut n, mut line, mut masked) = (Vec::with_capacity(cap), Vec::with_capacity(cap), Vec::with_capacity(cap));
    let fail = || Error::data(crate::error::Location::file(path), "refused by the typed reader");
    rc.records(&d, |rc, l, r| {
        let cell = |i: usize| super::table::trim(r.get(i).unwrap_or(""));
        code.append_value(normalize_commune_code_cow(cell(c_code)).ok_or_else(fail)?);
        n.push(match rc.number(l, c_n, cell(c_n)) {
            Ok(Num::Value(v)) if v >= 0.0 && v.fract() == 0.0 => Some(v as i64),
            Ok(Num::Missing) => None,
            _ => return Err(fail()),
        });
        line.push(l as u32);
        masked.push(rc.masked_at_line(l));
        Ok(())
    })?;
    Ok(DataFrame::new_infer_height(vec![
        code.finish().into_column(),
        Column::new("gp_count".into(), n),
        Column::new("line".into(), line),
        Column::new("masked".into(), masked),
    ])?)
}

fn staged(t: &super::table::RawTable) -> Result<DataFrame> {
    let checked = super::contract::check(t, &super::contract::BPE, |_, _| false)?;
    let (c_code, c_n) = (t.column("codgeo")?, t.column("nb_medg")?);
    let mut code = Vec::with_capacity(t.rows.len());
    let mut n = Vec::with_capacity(t.rows.len());
    let mut line = Vec::with_capacity(t.rows.len());
    let mut masked = Vec::with_capacity(t.rows.len());
    for row in &t.rows {
        code.push(t.commune_code(row, c_code)?);
        n.push(match t.number(row, c_n)? {
            Num::Value(v) if v >= 0.0 && v.fract() == 0.0 => Some(v as i64),
            Num::Value(v) => {
                return Err(Error::data(t.location(row, c_n), format!("{v} is not a count of practitioners")))
            }
            Num::Missing => None,
        });
        line.push(row.line as u32);
        masked.push(checked.masked_at(row));
    }
    Ok(df!("code" => code, "gp_count" => n, "line" => line, "masked" => masked)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_read_is_taken_and_equals_the_text_cell_read() {
        let csv = "codgeo,libgeo,an,nb_medg\n01001,Alpha,2020,0\n1002,Beta,2020,NS\n2A004,Gamma,2020,3\n";
        let p = std::path::Path::new("bpe.csv");
        let typed = typed(p, csv).expect("a good file takes the typed path");
        let cells = staged(&super::super::table::parse_delimited(p, csv, "codgeo", &COLUMNS).unwrap()).unwrap();
        assert_eq!(typed, cells);
        assert!(super::typed(p, &csv.replace(",3\n", ",1.5\n")).is_err());
    }
}
