//! Former commune codes → COG 2026 codes, through the `anciensCodes` of each commune actuelle.
//! Every source passes here, and each leaves a [`NormalizationReport`] so that a code that could
//! not be placed is listed, never silently lost.

use std::collections::BTreeMap;

use polars::prelude::*;
use serde::Serialize;

use crate::error::Result;
use crate::sources::decoupage::{Cog, CompactString, UnitKey, UnitKind};

/// Hashed with polars' hasher: `resolve` runs for every row of every source, and SipHash was the
/// larger part of it.
#[derive(Debug, Clone)]
pub struct CogIndex {
    units: PlHashMap<CompactString, (UnitKind, Option<CompactString>)>,
    ancien: PlHashMap<CompactString, CompactString>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// A COG 2026 commune or arrondissement municipal.
    Current,
    /// A former code, merged into this COG 2026 commune.
    Remapped(String),
    Unknown,
}

impl CogIndex {
    pub fn new(cog: &Cog) -> Self {
        let mut index = CogIndex::with_capacity(cog.units.len());
        for u in &cog.units {
            index.insert(&u.code, u.kind, u.parent.as_deref(), u.anciens_codes.iter().map(|a| a.as_str()));
        }
        index.finish()
    }

    /// The index of the units' keys ([`Cog::load_keyed`]): the same as [`CogIndex::new`] of the
    /// COG they end up in.
    pub fn from_keys(keys: &mut dyn Iterator<Item = UnitKey<'_, '_>>) -> Self {
        let mut index = CogIndex::with_capacity(keys.size_hint().1.unwrap_or(0));
        for k in keys {
            index.insert(k.code(), k.kind(), k.parent(), k.anciens_codes());
        }
        index.finish()
    }

    fn with_capacity(n: usize) -> Self {
        CogIndex { units: PlHashMap::with_capacity(n), ancien: PlHashMap::new() }
    }

    fn insert<'a>(&mut self, code: &str, kind: UnitKind, parent: Option<&str>, anciens: impl Iterator<Item = &'a str>) {
        let code = CompactString::from(code);
        for a in anciens {
            // A former code can be reused as the code of the commune nouvelle itself; the
            // current unit wins (`finish`).
            self.ancien.insert(CompactString::from(a), code.clone());
        }
        self.units.insert(code, (kind, parent.map(CompactString::from)));
    }

    fn finish(mut self) -> Self {
        let units = &self.units;
        self.ancien.retain(|a, _| !units.contains_key(a));
        self
    }

    pub fn resolve(&self, code: &str) -> Resolution {
        if self.units.contains_key(code) {
            Resolution::Current
        } else if let Some(to) = self.ancien.get(code) {
            Resolution::Remapped(to.to_string())
        } else {
            Resolution::Unknown
        }
    }

    pub fn current_code(&self, code: &str) -> Option<String> {
        match self.resolve(code) {
            Resolution::Current => Some(code.to_string()),
            Resolution::Remapped(to) => Some(to),
            Resolution::Unknown => None,
        }
    }

    pub fn kind(&self, code: &str) -> Option<UnitKind> {
        self.units.get(code).map(|(k, _)| *k)
    }

    /// [`CogIndex::kind`] and [`CogIndex::parent`] in one lookup (placing the 35 000 boundaries).
    pub fn kind_and_parent(&self, code: &str) -> Option<(UnitKind, Option<&str>)> {
        self.units.get(code).map(|(k, p)| (*k, p.as_deref()))
    }

    /// Paris/Lyon/Marseille code of an arrondissement municipal.
    pub fn parent(&self, code: &str) -> Option<&str> {
        self.units.get(code).and_then(|(_, p)| p.as_deref())
    }

    /// (arrondissement, parent) pairs in code order.
    pub fn arrondissement_pairs(&self) -> Vec<(&str, &str)> {
        let mut pairs: Vec<(&str, &str)> =
            self.units.iter().filter_map(|(c, (_, p))| p.as_deref().map(|p| (c.as_str(), p))).collect();
        pairs.sort();
        pairs
    }
}

/// What normalization did to one source. Written to `normalization_report.json`.
#[derive(Debug, Clone, Serialize, Default)]
pub struct NormalizationReport {
    pub source: String,
    pub file: String,
    pub geography: String,
    pub rows_read: usize,
    /// Rows whose code is already a COG 2026 code.
    pub rows_current: usize,
    /// Distinct former codes mapped to a COG 2026 code, `old → new`.
    pub codes_remapped: BTreeMap<String, String>,
    /// Codes that are neither current nor former: excluded from the curated table, listed here.
    pub codes_unknown: Vec<UnknownCode>,
    /// COG 2026 units the source should cover but has no row for (after remapping).
    pub communes_without_data: Vec<String>,
    /// Why some units are not expected in this source (scope of the source).
    pub coverage_note: String,
    /// The source's figures set against a reference (the boundaries' areas against INSEE's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comparison: Option<serde_json::Value>,
    /// The source's data contract and what it found (`None` for sources without one yet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contract: Option<crate::sources::contract::ContractReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct UnknownCode {
    pub code: String,
    pub line: u32,
}

impl NormalizationReport {
    pub fn one_line(&self) -> String {
        format!(
            "{}: {} rows, {} former codes remapped, {} unknown, {} communes without data",
            self.source,
            self.rows_read,
            self.codes_remapped.len(),
            self.codes_unknown.len(),
            self.communes_without_data.len()
        )
    }
}

/// Add a `code_2026` column to a staged frame with `code` and `line` columns; rows with an unknown
/// code get a null `code_2026` and are listed in the report.
pub fn remap(df: DataFrame, index: &CogIndex, report: &mut NormalizationReport) -> Result<DataFrame> {
    let codes = df.column("code")?.str()?.clone();
    let lines = df.column("line")?.u32()?.clone();
    report.rows_read = df.height();
    // Borrowed from the frame and the index: no string per row.
    let mut out: Vec<Option<&str>> = Vec::with_capacity(df.height());
    for (code, line) in codes.iter().zip(lines.iter()) {
        let code = code.unwrap_or_default();
        if index.units.contains_key(code) {
            report.rows_current += 1;
            out.push(Some(code));
        } else if let Some(to) = index.ancien.get(code) {
            if !report.codes_remapped.contains_key(code) {
                report.codes_remapped.insert(code.to_string(), to.to_string());
            }
            out.push(Some(to.as_str()));
        } else {
            report.codes_unknown.push(UnknownCode { code: code.to_string(), line: line.unwrap_or(0) });
            out.push(None);
        }
    }
    let mut df = df;
    df.with_column(Column::new("code_2026".into(), out))?;
    Ok(df)
}

/// Fill `communes_without_data`: the expected units that have no row in `covered`.
pub fn record_missing<'a>(
    report: &mut NormalizationReport,
    expected: impl Iterator<Item = &'a str>,
    covered: &DataFrame,
) -> Result<()> {
    let codes = covered.column("code_2026")?.str()?;
    let mut have: PlHashSet<&str> = PlHashSet::with_capacity(codes.len());
    have.extend(codes.iter().flatten());
    report.communes_without_data = expected.filter(|c| !have.contains(c)).map(str::to_string).collect();
    report.communes_without_data.sort();
    Ok(())
}
