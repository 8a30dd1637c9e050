//! The diagnostic of one territory: its unit rows, every indicator for the territory and for the
//! départements, régions and France it is compared with, and its ACI band.

use polars::prelude::*;
use serde::Serialize;

use crate::aci::{Basis, Grid, Placement};
use crate::error::Result;
use crate::indicators::{self, INDICATORS};
use crate::territory::Territory;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Scope {
    /// `territory`, `departement`, `region` or `france`.
    pub kind: String,
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Value {
    pub indicator: &'static str,
    pub value: Option<f64>,
    /// Why a value is absent, or what it leaves out.
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScopeResult {
    pub scope: Scope,
    pub values: Vec<Value>,
}

impl ScopeResult {
    pub fn get(&self, id: &str) -> Option<&Value> {
        self.values.iter().find(|v| v.indicator == id)
    }
    pub fn value(&self, id: &str) -> Option<f64> {
        self.get(id).and_then(|v| v.value)
    }
}

pub struct Diagnosis {
    pub territory: Territory,
    /// Curated rows of the territory's units.
    pub units: DataFrame,
    /// The territory first, then its départements, régions and France.
    pub scopes: Vec<ScopeResult>,
    /// The band on the grid's population basis (`aci_basis`).
    pub aci: Option<Placement>,
    pub aci_basis: Basis,
    /// The band under the population municipale and under the population totale.
    pub aci_municipale: Option<Placement>,
    pub aci_totale: Option<Placement>,
    /// Sources and millésimes of the territory's population totale (` | `-separated).
    pub population_totale_vintage: Option<String>,
    /// Millésimes of the population totale that are not the population municipale's.
    pub population_totale_other_millesimes: Vec<i64>,
}

impl Diagnosis {
    pub fn territory(&self) -> &ScopeResult {
        &self.scopes[0]
    }
}

/// Indicators over a set of unit rows.
pub fn evaluate(units: &DataFrame, scope: Scope) -> Result<ScopeResult> {
    let row = units.clone().lazy().select(indicators::all_exprs()).collect()?;
    let mut values = Vec::with_capacity(INDICATORS.len());
    for ind in INDICATORS {
        let v = row.column(ind.id)?.f64()?.get(0).filter(|v| v.is_finite());
        let note = match ind.note_column {
            Some(c) => {
                let reasons = indicators::missing_reasons(units, c)?;
                if reasons.is_empty() {
                    None
                } else if v.is_none() {
                    Some(format!("unavailable: {}", reasons.join("; ")))
                } else {
                    Some(format!("partial: {}", reasons.join("; ")))
                }
            }
            None => None,
        };
        let note = with_method(ind.id, &scope.kind, units, v.is_some(), note)?;
        values.push(Value { indicator: ind.id, value: v, note });
    }
    Ok(ScopeResult { scope, values })
}

/// Prefix the note with the source actually used and, for an estimate, its method.
fn with_method(
    id: &str,
    scope_kind: &str,
    units: &DataFrame,
    has_value: bool,
    note: Option<String>,
) -> Result<Option<String>> {
    let mut parts = Vec::new();
    if has_value {
        if let Some((c, what)) = indicators::source_column(id) {
            if let Ok(s) = units.column(c).and_then(|c| c.str().cloned()) {
                let mut seen: Vec<&str> = s.iter().flatten().filter(|v| !v.is_empty()).collect();
                seen.sort_unstable();
                seen.dedup();
                if !seen.is_empty() {
                    parts.push(format!("{what}: {}", seen.join(", ")));
                }
            }
        }
        if let Some(m) = indicators::method_note(id, scope_kind) {
            parts.push(m.to_string());
        }
    }
    parts.extend(note);
    Ok((!parts.is_empty()).then(|| parts.join("; ")))
}

fn distinct(units: &DataFrame, code: &str, name: &str) -> Result<Vec<(String, String)>> {
    let d = units
        .clone()
        .lazy()
        .select([col(code), col(name)])
        .unique_stable(None, UniqueKeepStrategy::First)
        .sort([code], SortMultipleOptions::default())
        .collect()?;
    let codes = d.column(code)?.str()?;
    let names = d.column(name)?.str()?;
    Ok(codes
        .iter()
        .zip(names.iter())
        .filter_map(|(c, n)| Some((c?.to_string(), n.unwrap_or("").to_string())))
        .collect())
}

/// Communes (not arrondissements, which would count twice) of metropolitan France and the DROM.
pub fn communes_of(curated: &DataFrame, filter: Expr) -> Result<DataFrame> {
    Ok(curated.clone().lazy().filter(col("kind").eq(lit("commune")).and(filter)).collect()?)
}

pub fn france_filter() -> Expr {
    col("zone").eq(lit("metro")).or(col("zone").eq(lit("drom")))
}

pub fn select_units(curated: &DataFrame, codes: &[String]) -> Result<DataFrame> {
    let wanted = df!("code" => codes)?;
    Ok(curated
        .clone()
        .lazy()
        .join(wanted.lazy(), [col("code")], [col("code")], JoinArgs::new(JoinType::Semi))
        .collect()?)
}

pub fn diagnose(curated: &DataFrame, territory: Territory, grid: &Grid) -> Result<Diagnosis> {
    let units = select_units(curated, &territory.codes)?;
    let mut scopes =
        vec![evaluate(&units, Scope { kind: "territory".into(), code: String::new(), name: territory.name.clone() })?];
    for (code, name) in distinct(&units, "departement", "departement_name")? {
        let rows = communes_of(curated, col("departement").eq(lit(code.as_str())))?;
        scopes.push(evaluate(&rows, Scope { kind: "departement".into(), code, name })?);
    }
    for (code, name) in distinct(&units, "region", "region_name")? {
        let rows = communes_of(curated, col("region").eq(lit(code.as_str())))?;
        scopes.push(evaluate(&rows, Scope { kind: "region".into(), code, name })?);
    }
    let rows = communes_of(curated, france_filter())?;
    scopes.push(evaluate(
        &rows,
        Scope { kind: "france".into(), code: "FR".into(), name: "France (métropole et DROM)".into() },
    )?);
    let place = |b: Basis| scopes[0].value(b.indicator()).map(|p| grid.place(p.round() as i64));
    let (aci, aci_municipale, aci_totale) = (place(grid.population), place(Basis::Municipale), place(Basis::Totale));
    let vintages = distinct_strings(&units, "population_totale_vintage")?;
    let mut other: Vec<i64> = units
        .column("population_totale_millesime")?
        .i64()?
        .iter()
        .flatten()
        .filter(|m| *m != crate::sources::decoupage::MUNICIPALE_MILLESIME)
        .collect();
    other.sort_unstable();
    other.dedup();
    Ok(Diagnosis {
        territory,
        units,
        scopes,
        aci,
        aci_basis: grid.population,
        aci_municipale,
        aci_totale,
        population_totale_vintage: (!vintages.is_empty()).then(|| vintages.join(" | ")),
        population_totale_other_millesimes: other,
    })
}

fn distinct_strings(units: &DataFrame, c: &str) -> Result<Vec<String>> {
    let mut v: Vec<String> = units.column(c)?.str()?.iter().flatten().map(str::to_string).collect();
    v.sort();
    v.dedup();
    Ok(v)
}
