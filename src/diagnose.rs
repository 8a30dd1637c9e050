//! The diagnostic of one territory: its unit rows, every indicator for the territory and for the
//! départements, régions and France it is compared with, and its ACI band.

use std::collections::HashMap;

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
    /// Scenarios and GP placement (docs/access.md); `None` when not asked for.
    pub what_if: Option<crate::access::WhatIf>,
}

impl Diagnosis {
    pub fn territory(&self) -> &ScopeResult {
        &self.scopes[0]
    }
}

/// Indicators over a set of unit rows.
pub fn evaluate(units: &DataFrame, scope: Scope) -> Result<ScopeResult> {
    evaluate_lazy(units.clone().lazy(), scope)
}

/// [`evaluate`] over rows still to be filtered: the filter then copies only the columns the
/// indicators and their notes read, not the whole curated table.
fn evaluate_lazy(rows: LazyFrame, scope: Scope) -> Result<ScopeResult> {
    let row = rows.clone().select(indicators::all_exprs()).collect()?;
    let mut wanted: Vec<&str> = vec!["code"];
    for ind in INDICATORS.iter() {
        wanted.extend(ind.note_column);
        wanted.extend(indicators::source_column(ind.id).map(|(c, _)| c));
    }
    let mut seen = std::collections::HashSet::new();
    wanted.retain(|c| seen.insert(*c));
    let schema = rows.clone().collect_schema()?;
    // A note column is required (as before); a source column may be absent.
    let present: Vec<Expr> = wanted
        .iter()
        .filter(|c| schema.contains(c) || INDICATORS.iter().any(|i| i.note_column == Some(**c)))
        .map(|c| col(*c))
        .collect();
    let units = rows.select(present).collect()?;
    // Many indicators share a note or source column: each is read once per scope.
    let mut reasons_of: HashMap<&str, Vec<String>> = HashMap::new();
    let mut sources_of: HashMap<&str, Option<String>> = HashMap::new();
    let mut values = Vec::with_capacity(INDICATORS.len());
    for ind in INDICATORS.iter() {
        let v = row.column(ind.id)?.f64()?.get(0).filter(|v| v.is_finite());
        let note = match ind.note_column {
            Some(c) => {
                if !reasons_of.contains_key(c) {
                    reasons_of.insert(c, indicators::missing_reasons(&units, c)?);
                }
                let reasons = &reasons_of[c];
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
        let source = match (v.is_some(), indicators::source_column(ind.id)) {
            (true, Some((c, what))) => sources_of
                .entry(c)
                .or_insert_with(|| distinct_joined(&units, c))
                .as_ref()
                .map(|s| format!("{what}: {s}")),
            _ => None,
        };
        let note = with_method(ind.id, &scope.kind, source, v.is_some(), note);
        values.push(Value { indicator: ind.id, value: v, note });
    }
    Ok(ScopeResult { scope, values })
}

/// The distinct non-empty strings of a column, sorted and comma-separated; `None` when there
/// are none or the column is not text.
fn distinct_joined(units: &DataFrame, c: &str) -> Option<String> {
    let s = units.column(c).ok()?.str().ok()?;
    // Runs of one value are kept once: France's 35 000 rows hold a handful of sources.
    let mut seen: Vec<&str> = Vec::new();
    for v in s.iter().flatten().filter(|v| !v.is_empty()) {
        if seen.last() != Some(&v) {
            seen.push(v);
        }
    }
    seen.sort_unstable();
    seen.dedup();
    (!seen.is_empty()).then(|| seen.join(", "))
}

/// Prefix the note with the source actually used and, for an estimate, its method.
fn with_method(
    id: &str,
    scope_kind: &str,
    source: Option<String>,
    has_value: bool,
    note: Option<String>,
) -> Option<String> {
    let mut parts = Vec::new();
    if has_value {
        parts.extend(source);
        if let Some(m) = indicators::method_note(id, scope_kind) {
            parts.push(m.to_string());
        }
    }
    parts.extend(note);
    (!parts.is_empty()).then(|| parts.join("; "))
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
    Ok(communes_lazy(curated, filter).collect()?)
}

fn communes_lazy(curated: &DataFrame, filter: Expr) -> LazyFrame {
    curated.clone().lazy().filter(col("kind").eq(lit("commune")).and(filter))
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
        let rows = communes_lazy(curated, col("departement").eq(lit(code.as_str())));
        scopes.push(evaluate_lazy(rows, Scope { kind: "departement".into(), code, name })?);
    }
    for (code, name) in distinct(&units, "region", "region_name")? {
        let rows = communes_lazy(curated, col("region").eq(lit(code.as_str())));
        scopes.push(evaluate_lazy(rows, Scope { kind: "region".into(), code, name })?);
    }
    let rows = communes_lazy(curated, france_filter());
    scopes.push(evaluate_lazy(
        rows,
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
        what_if: None,
    })
}

fn distinct_strings(units: &DataFrame, c: &str) -> Result<Vec<String>> {
    let mut v: Vec<String> = units.column(c)?.str()?.iter().flatten().map(str::to_string).collect();
    v.sort();
    v.dedup();
    Ok(v)
}
