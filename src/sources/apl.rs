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

use super::table::{read_xlsx, Num};
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
/// Columns: `code`, `name`, `apl_mg`, `apl_mg_u65`, `pop_std`, `pop_total`, `line`.
pub fn load(data: &DataDir, millesime: i32) -> Result<DataFrame> {
    let path = data.file(META.file)?;
    load_file(&path, millesime)
}

pub fn load_file(path: &std::path::Path, millesime: i32) -> Result<DataFrame> {
    let sheet = format!("APL {millesime}");
    let t = read_xlsx(
        path,
        &sheet,
        CODE,
        &[CODE, "Commune", "APL aux médecins généralistes", "APL aux médecins généralistes de moins de 65 ans"],
    )?;
    let c_code = t.column(CODE)?;
    let c_name = t.column("Commune")?;
    let c_apl = t.column("APL aux médecins généralistes")?;
    let c_u65 = t.column("APL aux médecins généralistes de moins de 65 ans")?;
    let c_std = t.column_starting_with("Population standardisée")?;
    let c_tot = t.column_starting_with("Population totale")?;

    let n = t.rows.len();
    let (mut code, mut name, mut apl, mut u65, mut std, mut tot, mut line) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for (i, row) in t.rows.iter().enumerate() {
        // The row right under the header holds units ("En nombre de …"), not a commune.
        if i == 0 && t.text(row, c_code).is_empty() && t.text(row, c_apl).starts_with("En ") {
            continue;
        }
        code.push(t.commune_code(row, c_code)?);
        name.push(t.text(row, c_name).to_string());
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
    }
    Ok(df!(
        "code" => code,
        "name" => name,
        "apl_mg" => apl,
        "apl_mg_u65" => u65,
        "pop_std" => std,
        "pop_total" => tot,
        "line" => line,
    )?)
}
