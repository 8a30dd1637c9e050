//! Assurance Maladie (data.ameli.fr, Observatoire de l'accès aux soins): share of patients in
//! affection de longue durée (ALD) **without a médecin traitant**, by département and year
//! (dataset `patients-longueduree-annuelle`). There is no commune-level figure: a territory gets
//! an estimate built from its départements (see `indicators`), never presented as a measurement.
//!
//! Quirks: Explore-API CSV export (`;` with `?delimiter=%3B`, else `,`); columns `annee, region,
//! libelle_region, departement, libelle_departement, taux_patients_ald_sans_mt_integer` (numeric;
//! the infra-annual dataset has `taux_patients_ald_sans_mt` as a French-formatted string instead);
//! `region = 99` is France, `departement = 999` a regional aggregate, `inconnu` rows exist;
//! masked values are `NC` (or `NS`). The value is read as a percentage of the ALD patients.

use std::collections::BTreeMap;

use super::table::{read_delimited, Num};
use super::{DataDir, SourceMeta};
use crate::error::{Error, Result};

pub const META: SourceMeta = SourceMeta {
    id: "ameli_ald_sans_mt",
    title: "Part des patients en ALD sans médecin traitant, par département",
    publisher: "Assurance Maladie (data.ameli.fr), Observatoire de l'accès aux soins",
    vintage: "dernière année publiée dans le fichier (see the build report)",
    geography: "départements",
    licence: "Licence Ouverte / Open Licence",
    url: "https://data.ameli.fr/api/explore/v2.1/catalog/datasets/patients-longueduree-annuelle/exports/csv",
    file: "health/ameli_patients_longueduree_annuelle.csv",
};

#[derive(Debug, Clone, PartialEq)]
pub struct DepartementShare {
    pub year: String,
    pub name: String,
    /// Percentage of ALD patients without a médecin traitant; `None` when masked.
    pub share: Option<f64>,
    /// File line of the figure.
    pub line: u64,
}

/// The most recent year's figure per département code.
#[derive(Debug, Clone, Default)]
pub struct Shares {
    pub by_departement: BTreeMap<String, DepartementShare>,
    pub latest_year: String,
}

pub fn load(data: &DataDir) -> Result<Option<Shares>> {
    if !data.exists(META.file) {
        return Ok(None);
    }
    load_file(&data.file(META.file)?).map(Some)
}

pub fn load_file(path: &std::path::Path) -> Result<Shares> {
    let t = read_delimited(path, "departement", &["annee", "region", "departement", "libelle_departement"])?;
    let c_value = t.column("taux_patients_ald_sans_mt_integer").or_else(|_| t.column("taux_patients_ald_sans_mt"))?;
    let (c_year, c_reg, c_dep, c_name) =
        (t.column("annee")?, t.column("region")?, t.column("departement")?, t.column("libelle_departement")?);
    let mut out = Shares::default();
    for row in &t.rows {
        let (year, reg, dep) = (t.text(row, c_year), t.text(row, c_reg), t.text(row, c_dep));
        // France (99), regional aggregates (999) and unknown residence are not départements.
        if reg == "99"
            || dep == "999"
            || dep.is_empty()
            || dep.eq_ignore_ascii_case("inconnu")
            || reg.eq_ignore_ascii_case("inconnu")
        {
            continue;
        }
        if year.len() != 4 || !year.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::data(t.location(row, c_year), format!("\"{year}\" is not a year")));
        }
        let share = match t.number(row, c_value)? {
            Num::Value(v) if (0.0..=100.0).contains(&v) => Some(v),
            Num::Value(v) => return Err(Error::data(t.location(row, c_value), format!("{v} is not a percentage"))),
            Num::Missing => None,
        };
        // Département codes as INSEE writes them: 01…95, 2A, 2B, 971…
        let dep = if dep.len() == 1 { format!("0{dep}") } else { dep.to_string() };
        let keep = out.by_departement.get(&dep).is_none_or(|d| d.year.as_str() < year);
        if keep {
            out.by_departement.insert(
                dep,
                DepartementShare {
                    year: year.to_string(),
                    name: t.text(row, c_name).to_string(),
                    share,
                    line: row.line,
                },
            );
        }
        if out.latest_year.as_str() < year {
            out.latest_year = year.to_string();
        }
    }
    Ok(out)
}
