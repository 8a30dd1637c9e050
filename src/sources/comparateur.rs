//! INSEE Base du comparateur de territoires (June 2024, COG 2024) joined with La Poste's base
//! des codes postaux, compiled by rcarlier/datas.fun: commune area (km²) and centre.
//!
//! Quirks: one row per (commune, code postal), so communes repeat; `COMD` rows (communes
//! déléguées) repeat their parent's figures and are skipped; Paris, Lyon and Marseille appear
//! only as arrondissements (`ARM`); geography COG 2024.

use std::collections::HashMap;

use polars::prelude::*;

use super::table::{read_delimited, Num};
use super::{DataDir, SourceMeta};
use crate::error::{Error, Result};

pub const META: SourceMeta = SourceMeta {
    id: "insee_comparateur",
    title: "Base du comparateur de territoires (superficie, centre de la commune)",
    publisher: "INSEE, compiled with La Poste codes postaux by rcarlier/datas.fun",
    vintage: "superficie INSEE, recensement 2021 (édition juin 2024)",
    geography: "COG 2024 (Paris, Lyon, Marseille par arrondissement)",
    licence: "Licence Ouverte / Open Licence",
    url: "https://www.insee.fr/fr/statistiques/2521169",
    file: "population/communes_cog2024_comparateur_territoires.csv.gz",
};

const REQUIRED: [&str; 7] = ["insee_com", "commune", "commune_type", "lat", "lng", "superficie_km2", "population_2021"];

/// One row per COM or ARM code. Columns: `code`, `kind` (`COM`/`ARM`), `name`, `area_km2`,
/// `lat`, `lon`, `population_2021`, `line` (first line of that code), `masked` (cells masked by
/// the publisher, see [`super::contract`]).
pub fn load(data: &DataDir) -> Result<DataFrame> {
    load_file(&data.file(META.file)?)
}

pub fn load_file(path: &std::path::Path) -> Result<DataFrame> {
    let t = read_delimited(path, "insee_com", &REQUIRED)?;
    let [c_code, c_name, c_type, c_lat, c_lng, c_area, c_pop] = REQUIRED.map(|c| t.column(c).expect("checked"));
    let checked = super::contract::check(&t, &super::contract::COMPARATEUR, |_, _| false)?;
    let mut masked = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut code = Vec::new();
    let mut kind = Vec::new();
    let mut name = Vec::new();
    let mut area: Vec<Option<f64>> = Vec::new();
    let mut lat = Vec::new();
    let mut lon = Vec::new();
    let mut pop = Vec::new();
    let mut line = Vec::new();
    let opt = |n: Num| match n {
        Num::Value(v) => Some(v),
        Num::Missing => None,
    };
    for row in &t.rows {
        let ty = t.text(row, c_type);
        match ty {
            "COM" | "ARM" => {}
            "COMD" => continue,
            other => return Err(Error::data(t.location(row, c_type), format!("unknown commune_type \"{other}\""))),
        }
        let c = t.commune_code(row, c_code)?;
        let a = opt(t.number(row, c_area)?);
        if let Some(&i) = seen.get(&c) {
            // Repeated per postal code: the figures must agree, or the file is not what we think.
            if area[i] != a {
                return Err(Error::data(
                    t.location(row, c_area),
                    format!("{c} repeats with a different area ({:?} vs {:?} on line {})", a, area[i], line[i]),
                ));
            }
            continue;
        }
        seen.insert(c.clone(), code.len());
        code.push(c);
        kind.push(ty.to_string());
        name.push(t.text(row, c_name).to_string());
        area.push(a);
        lat.push(opt(t.number(row, c_lat)?));
        lon.push(opt(t.number(row, c_lng)?));
        pop.push(opt(t.number(row, c_pop)?));
        line.push(row.line as u32);
        masked.push(checked.masked_at(row));
    }
    Ok(df!(
        "code" => code, "kind" => kind, "name" => name, "area_km2" => area,
        "lat" => lat, "lon" => lon, "population_2021" => pop, "line" => line, "masked" => masked,
    )?)
}
