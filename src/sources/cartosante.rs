//! CartoSanté (ARS, ATLASANTE) export "offre de soins" **by bassin de vie**, 2024: densities of
//! libéral professionals per 10 000 inhabitants (GPs, infirmiers, sages-femmes, orthophonistes),
//! pharmacies per 10 000 inhabitants, and a few shares. The densities are published per bassin de
//! vie only: no commune figure exists.
//!
//! Quirks (as exported by the site): UTF-8 with a BOM, `;`, two preamble lines above the header
//! (`CartoSanté; ; …`, `Référentiel géographique : France par bassin de vie; …`), decimal point,
//! the year in the column headers, and masked cells written `N/A - secret statistique` (or
//! `N/A - résultat non disponible`): they become null and are listed in [`Staged::masked`] with
//! their line, so each null has its reason. `Code` is the bassin de vie 2022 code (the code of its
//! pole commune); Saint-Barthélemy and Saint-Martin come as `977ZZ` and `978ZZ`.
//!
//! The site builds exports on demand: there is no stable download URL, so the source is optional
//! and read from the data folder (or a mirror) only.

use std::path::{Path, PathBuf};

use polars::prelude::*;

use super::table::{normalize_commune_code, read_delimited, Num};
use super::{DataDir, SourceMeta};
use crate::error::{Error, Result};
use crate::professions::Professions;

pub const META: SourceMeta = SourceMeta {
    id: "cartosante_bv",
    title: "CartoSanté : offre de soins par bassin de vie (densités de professionnels libéraux et de pharmacies pour 10 000 habitants)",
    publisher: "ARS / ATLASANTE (CartoSanté)",
    vintage: "2024 (année dans les en-têtes de colonnes)",
    geography: "bassins de vie 2022 (INSEE ; code de la commune pôle)",
    licence: "données publiques des ARS (conditions du site CartoSanté)",
    url: "https://cartosante.atlasante.fr/",
    file: "health/cartosante_bassins_vie_offre_soins_2024.csv",
};

pub const COL_CODE: &str = "Code";
pub const COL_NAME: &str = "Libellé";

/// A cell the publisher masked.
#[derive(Debug, Clone, PartialEq)]
pub struct Masked {
    pub line: u64,
    pub bv: String,
    pub column: String,
    /// The cell as published (`N/A - secret statistique`).
    pub raw: String,
}

#[derive(Debug, Clone)]
pub struct Staged {
    pub path: PathBuf,
    /// `bv`, `bv_name`, `line`, then one float64 column per published value column, named by its
    /// published header; masked cells are null.
    pub frame: DataFrame,
    pub value_columns: Vec<String>,
    pub masked: Vec<Masked>,
}

impl Staged {
    /// Why the value of a bassin de vie in a column is null, when the publisher masked it.
    pub fn masked_reason(&self, bv: &str, column: &str) -> Option<String> {
        self.masked.iter().find(|m| m.bv == bv && m.column == column).map(|m| self.reason(m))
    }

    /// [`Staged::masked_reason`] of each of `bvs` in `column`, the masked cells indexed once
    /// (a scan of them per bassin de vie and column was most of the CartoSanté staging).
    pub fn masked_reasons<'a>(&self, bvs: impl Iterator<Item = &'a str>, column: &str) -> Vec<Option<String>> {
        let mut first: polars::prelude::PlHashMap<&str, &Masked> = polars::prelude::PlHashMap::default();
        for m in self.masked.iter().filter(|m| m.column == column) {
            first.entry(m.bv.as_str()).or_insert(m);
        }
        bvs.map(|b| first.get(b).map(|m| self.reason(m))).collect()
    }

    fn reason(&self, m: &Masked) -> String {
        format!(
            "no value: published as \"{}\" for bassin de vie {} ({}:{})",
            m.raw,
            m.bv,
            self.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            m.line
        )
    }
}

/// The export of the data folder; `None` when it is absent (optional source).
pub fn load(data: &DataDir) -> Result<Option<Staged>> {
    if !data.exists(META.file) {
        return Ok(None);
    }
    load_file(&data.file(META.file)?, Professions::embedded()).map(Some)
}

/// Read an export. The columns named by the professions table are required: a renamed one is an
/// error naming the header, never a silently empty density.
pub fn load_file(path: &Path, professions: &Professions) -> Result<Staged> {
    let mut required = vec![COL_CODE, COL_NAME];
    required.extend(professions.cartosante().filter_map(|p| p.cartosante_column.as_deref()));
    let t = read_delimited(path, COL_CODE, &required)?;
    let (c_code, c_name) = (t.column(COL_CODE)?, t.column(COL_NAME)?);
    let value_cols: Vec<usize> = (0..t.headers.len()).filter(|&i| i != c_code && i != c_name).collect();
    let (mut bv, mut name, mut line) = (Vec::new(), Vec::new(), Vec::new());
    let mut values: Vec<Vec<Option<f64>>> = vec![Vec::with_capacity(t.rows.len()); value_cols.len()];
    let mut masked = Vec::new();
    for row in &t.rows {
        let raw = t.text(row, c_code);
        // Saint-Barthélemy and Saint-Martin are exported as pseudo-bassins `977ZZ`, `978ZZ`.
        let pseudo = raw.len() == 5 && raw.bytes().all(|b| b.is_ascii_alphanumeric());
        let code = normalize_commune_code(raw)
            .or_else(|| pseudo.then(|| raw.to_string()))
            .ok_or_else(|| Error::data(t.location(row, c_code), format!("\"{raw}\" is not a bassin de vie code")))?;
        for (k, &c) in value_cols.iter().enumerate() {
            match t.number(row, c)? {
                Num::Value(v) => values[k].push(Some(v)),
                Num::Missing => {
                    values[k].push(None);
                    masked.push(Masked {
                        line: row.line,
                        bv: code.clone(),
                        column: t.headers[c].clone(),
                        raw: t.text(row, c).to_string(),
                    });
                }
            }
        }
        bv.push(code);
        name.push(t.text(row, c_name).to_string());
        line.push(row.line as u32);
    }
    let mut cols =
        vec![Column::new("bv".into(), bv), Column::new("bv_name".into(), name), Column::new("line".into(), line)];
    for (k, &c) in value_cols.iter().enumerate() {
        cols.push(Column::new(t.headers[c].as_str().into(), std::mem::take(&mut values[k])));
    }
    Ok(Staged {
        path: path.to_path_buf(),
        frame: DataFrame::new_infer_height(cols)?,
        value_columns: value_cols.iter().map(|&c| t.headers[c].clone()).collect(),
        masked,
    })
}
