//! INSEE Table d'appartenance géographique des communes (TAGC) au 1er janvier 2024, with the
//! bassins de vie 2022 (BV2022), as shipped by the COGugaison R package (derived CSV).
//!
//! Quirks: COG 2024 (68 former codes since, 8 communes re-created since have no row); Paris,
//! Lyon and Marseille as whole communes (arrondissements inherit their city's bassin de vie);
//! `ZZZZZZZZZ` means "none" for EPCI/EPT; a BV2022 code is the code of its pole commune.

use polars::prelude::*;

use super::table::read_delimited;
use super::{DataDir, SourceMeta};
use crate::error::{Error, Result};

pub const META: SourceMeta = SourceMeta {
    id: "insee_tagc_bv2022",
    title: "Table d'appartenance géographique des communes, bassins de vie 2022",
    publisher: "INSEE, via the COGugaison R package (antuki/COGugaison)",
    vintage: "zonage en bassins de vie 2022",
    geography: "COG 2024 (Paris, Lyon, Marseille entiers)",
    licence: "Licence Ouverte (INSEE data); package data ODbL",
    url: "https://www.insee.fr/fr/information/6676988",
    file: "population/insee_tagc_communes_cog2024_bv2022.csv.gz",
};

/// Columns: `code`, `bv2022`, `bv2022_name`, `line`.
pub fn load(data: &DataDir) -> Result<DataFrame> {
    load_file(&data.file(META.file)?)
}

pub fn load_file(path: &std::path::Path) -> Result<DataFrame> {
    let t = read_delimited(path, "CODGEO", &["CODGEO", "BV2022", "LIBBV2022"])?;
    super::contract::check(&t, &super::contract::TAGC, |_, _| false)?;
    let (c_code, c_bv, c_name) = (t.column("CODGEO")?, t.column("BV2022")?, t.column("LIBBV2022")?);
    let (mut code, mut bv, mut name, mut line) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for row in &t.rows {
        code.push(t.commune_code(row, c_code)?);
        let b = t.text(row, c_bv);
        if super::table::normalize_commune_code(b).is_none() {
            return Err(Error::data(t.location(row, c_bv), format!("\"{b}\" is not a bassin de vie code")));
        }
        bv.push(b.to_string());
        name.push(t.text(row, c_name).to_string());
        line.push(row.line as u32);
    }
    Ok(df!("code" => code, "bv2022" => bv, "bv2022_name" => name, "line" => line)?)
}
