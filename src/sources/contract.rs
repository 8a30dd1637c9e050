//! Data contracts: what each published file must satisfy before anything is computed from it.
//!
//! Each staging module declares its contract as data (`src/sources/contracts/<source>.toml`) and
//! makes one call to [`check`] on the raw table it read. This module alone enforces contracts, so
//! a fault of a given kind (a repeated key, a value out of range, a cut file, a masked value) is
//! caught the same way in every source and every column, not by a special case per fault.
//!
//! A violation is a bad-input error naming file, line, column and value. Masked values (the
//! publisher's `NS`, `NC`, `N/A - secret statistique`) are not errors: they become null, and the
//! staged frame's `masked` column says so, so that every indicator depending on them knows.

use std::collections::HashMap;
use std::path::Path;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use super::table::{parse_number, trim, Num, RawRow, RawTable};
use crate::error::{Error, Location, Result};

/// The reason written wherever a value masked by its publisher is left null.
pub const MASKED_REASON: &str = "masked by the publisher";

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Text,
    Number,
    Integer,
    CommuneCode,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnRule {
    pub name: String,
    /// The header starts with `name` (publishers put the year in some headers).
    #[serde(default)]
    pub prefix: bool,
    /// The column may be absent from the file (e.g. `millesime` in a one-sheet-per-year workbook).
    #[serde(default)]
    pub optional: bool,
    pub kind: Kind,
    /// Not null: neither empty nor masked.
    #[serde(default)]
    pub required: bool,
    /// Key values exempt from `required`: documented exceptions.
    #[serde(default)]
    pub except: Vec<String>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Strictly above this value.
    pub above: Option<f64>,
    /// The publisher writes plain decimals (`1234.5`): a decimal comma or a thousands separator
    /// means the file was re-saved by hand in a French locale and its numbers cannot be trusted.
    #[serde(default)]
    pub plain_decimal: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RowFilter {
    pub column: String,
    #[serde(rename = "in")]
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contract {
    pub source: String,
    pub description: String,
    /// Columns whose values together must be unique over the checked rows.
    #[serde(default)]
    pub key: Vec<String>,
    /// Only rows whose `column` value is in `in` are checked (others are skipped by staging too).
    pub rows: Option<RowFilter>,
    /// The publisher always ends the file with a newline: a file without one was cut short.
    #[serde(default)]
    pub final_newline: bool,
    /// Cell values meaning "masked by the publisher" (secret statistique, non significatif…).
    #[serde(default)]
    pub masked: Vec<String>,
    /// Share of the expected COG 2026 units the source must cover after remapping; below it, the
    /// file is not the national file it should be (cut, filtered), an error rather than gaps.
    pub min_coverage: Option<f64>,
    pub columns: Vec<ColumnRule>,
}

macro_rules! contracts {
    ($($name:ident = $file:literal;)*) => {
        $(pub static $name: LazyLock<Contract> = LazyLock::new(|| parse(include_str!(concat!("contracts/", $file)), $file));)*
        /// Every declared contract (tested to parse).
        pub fn all() -> Vec<&'static Contract> {
            vec![$(&*$name),*]
        }
    };
}

contracts! {
    COG_COMMUNES = "cog_communes.toml";
    APL_XLSX = "drees_apl_xlsx.toml";
    APL_CSV = "drees_apl_csv.toml";
    BPE = "bpe_nb_medg.toml";
    COMPARATEUR = "comparateur_rcarlier.toml";
    COMPARATEUR_INSEE = "insee_comparateur.toml";
    TAGC = "insee_tagc_bv2022.toml";
}

fn parse(text: &str, file: &str) -> Contract {
    // The contracts are compiled in and parsed by a test: a bad one is a programming error.
    toml::from_str(text).unwrap_or_else(|e| panic!("contract {file}: {e}"))
}

/// One masked cell, as listed in `normalization_report.json`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MaskedCell {
    pub line: u64,
    pub column: String,
    pub value: String,
}

/// What [`check`] found in a file that passed; per-row masked cells for staging.
#[derive(Debug, Clone, Default)]
pub struct Checked {
    masked: HashMap<u64, Vec<MaskedCell>>,
}

impl Checked {
    /// `column=value` of the masked cells of a row, for the staged frame's `masked` column.
    pub fn masked_at(&self, row: &RawRow) -> Option<String> {
        self.masked_at_line(row.line)
    }

    /// [`Checked::masked_at`] by line.
    pub fn masked_at_line(&self, line: u64) -> Option<String> {
        self.masked
            .get(&line)
            .map(|cells| cells.iter().map(|m| format!("{}={}", m.column, m.value)).collect::<Vec<_>>().join("; "))
    }
}

/// What a contract checked on one source, written to `normalization_report.json`.
#[derive(Debug, Clone, Serialize, Default)]
pub struct ContractReport {
    pub contract: String,
    pub status: String,
    pub checks: Vec<String>,
    pub rows: usize,
    /// Rows holding a value masked by the publisher, left null.
    pub masked_rows: usize,
    /// Those rows: code, line in the file, and which cells (`column=value`).
    pub masked: Vec<MaskedRow>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MaskedRow {
    pub code: String,
    pub line: u32,
    pub cells: String,
}

impl Contract {
    /// The checks this contract makes, in words, for the report.
    pub fn checks(&self) -> Vec<String> {
        let mut v = Vec::new();
        if !self.key.is_empty() {
            v.push(format!("key ({}) unique", self.key.join(", ")));
        }
        for c in &self.columns {
            let kind = match c.kind {
                Kind::Text => "text",
                Kind::Number => "number",
                Kind::Integer => "integer (a count)",
                Kind::CommuneCode => "commune code",
            };
            let mut parts = vec![kind.to_string()];
            if c.required {
                parts.push(if c.except.is_empty() {
                    "required".to_string()
                } else {
                    format!("required except {}", c.except.join(", "))
                });
            }
            if let Some(m) = c.min {
                parts.push(format!(">= {m}"));
            }
            if let Some(m) = c.above {
                parts.push(format!("> {m}"));
            }
            if let Some(m) = c.max {
                parts.push(format!("<= {m}"));
            }
            if c.plain_decimal {
                parts.push("plain decimal".into());
            }
            v.push(format!("\"{}\": {}", c.name, parts.join(", ")));
        }
        if self.final_newline {
            v.push("file complete (ends with a newline after a whole record)".into());
        }
        if let Some(m) = self.min_coverage {
            v.push(format!("covers at least {:.0} % of the expected COG 2026 units", m * 100.0));
        }
        v
    }

    /// The report of a staged frame that passed (its `masked` column counts masked rows).
    pub fn report(&self, staged: &polars::prelude::DataFrame) -> ContractReport {
        let mut masked = Vec::new();
        if let (Ok(m), Ok(code), Ok(line)) = (staged.column("masked"), staged.column("code"), staged.column("line")) {
            if let (Ok(m), Ok(code), Ok(line)) = (m.str(), code.str(), line.u32()) {
                for ((m, c), l) in m.iter().zip(code.iter()).zip(line.iter()) {
                    if let Some(m) = m {
                        masked.push(MaskedRow {
                            code: c.unwrap_or_default().to_string(),
                            line: l.unwrap_or_default(),
                            cells: m.to_string(),
                        });
                    }
                }
            }
        }
        let masked_rows = masked.len();
        ContractReport {
            contract: self.source.clone(),
            status: if masked_rows > 0 {
                format!("passed; {masked_rows} rows with values {MASKED_REASON}, left null")
            } else {
                "passed".into()
            },
            checks: self.checks(),
            rows: staged.height(),
            masked_rows,
            masked,
        }
    }

    fn is_masked(&self, v: &str) -> bool {
        self.masked.iter().any(|m| m == v)
    }

    /// Whether a row is in the contract's scope (the `rows` filter).
    pub fn applies(&self, t: &RawTable, row: &RawRow) -> Result<bool> {
        match &self.rows {
            None => Ok(true),
            Some(f) => {
                let i = t.column(&f.column)?;
                Ok(f.values.iter().any(|v| v == t.text(row, i)))
            }
        }
    }

    /// Fail when the source covers fewer expected units than `min_coverage`: `path` is the file.
    pub fn check_coverage(&self, path: &Path, expected: usize, without_data: usize) -> Result<()> {
        let Some(min) = self.min_coverage else { return Ok(()) };
        if expected == 0 {
            return Ok(());
        }
        let covered = expected.saturating_sub(without_data);
        let share = covered as f64 / expected as f64;
        if share < min {
            return Err(Error::data(
                Location::file(path),
                format!(
                    "covers only {covered} of the {expected} communes it should ({:.1} %, contract: at least {:.0} %): \
                     the file is cut short or is not the national file",
                    share * 100.0,
                    min * 100.0
                ),
            ));
        }
        Ok(())
    }
}

fn fmt_bound(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        v.to_string()
    }
}

/// Enforce `contract` on a raw table. `skip` drops rows staging does not read as data (a units
/// row under a header). Errors name file, line, column and value.
pub fn check(t: &RawTable, contract: &Contract, skip: impl Fn(usize, &RawRow) -> bool) -> Result<Checked> {
    let mut rc = RowCheck::new(contract, &t.path, &t.headers, t.header_line)?;
    for (n, row) in t.rows.iter().enumerate() {
        if skip(n, row) {
            continue;
        }
        rc.row(row.line, |i| row.cell(i).unwrap_or(""))?;
    }
    let last = t.rows.last().map(|r| (r.line, r.last().unwrap_or("")));
    rc.finish(t.delimiter.is_some(), t.ends_with_newline, last)
}

/// [`check`] one row at a time, for readers that stage typed values without a [`RawTable`] of
/// text cells: the same rules, messages and order within a row.
pub struct RowCheck<'c> {
    contract: &'c Contract,
    path: std::path::PathBuf,
    headers: Vec<String>,
    header_line: u64,
    cols: Vec<(&'c ColumnRule, usize)>,
    /// Key columns, and whether each is a commune code (compared normalized).
    key_cols: Vec<(usize, bool)>,
    /// The `rows` filter's column (`Err`: absent, an error at the first row, as [`check`] had).
    filter: Option<std::result::Result<usize, ()>>,
    /// Key values joined by [`KEY_SEP`] → first line: packed in an integer when short (with
    /// their length, so that no two keys share one), else one string per row.
    seen_short: polars::prelude::PlHashMap<u128, u64>,
    seen: polars::prelude::PlHashMap<String, u64>,
    checked: Checked,
    /// Per column, the line and value of the last number the rules parsed: staging reads it
    /// instead of parsing the cell a second time.
    parsed: Vec<(u64, f64)>,
}

const KEY_SEP: char = '\u{1f}';

impl<'c> RowCheck<'c> {
    pub fn new(contract: &'c Contract, path: &Path, headers: &[String], header_line: u64) -> Result<Self> {
        let column = |name: &str| super::table::column_in(path, header_line, headers, name);
        let mut cols = Vec::with_capacity(contract.columns.len());
        for rule in &contract.columns {
            let idx = if rule.prefix {
                super::table::column_starting_with_in(path, header_line, headers, &rule.name)
            } else {
                column(&rule.name)
            };
            match idx {
                Ok(i) => cols.push((rule, i)),
                Err(_) if rule.optional => {}
                Err(e) => return Err(e),
            }
        }
        let key_cols = contract
            .key
            .iter()
            .filter_map(|k| cols.iter().find(|(r, _)| &r.name == k).map(|(r, i)| (*i, r.kind == Kind::CommuneCode)))
            .collect();
        let filter = contract.rows.as_ref().map(|f| column(&f.column).map_err(|_| ()));
        Ok(RowCheck {
            contract,
            path: path.to_path_buf(),
            headers: headers.to_vec(),
            header_line,
            cols,
            key_cols,
            filter,
            seen_short: polars::prelude::PlHashMap::with_capacity_and_hasher(80_000, Default::default()),
            seen: polars::prelude::PlHashMap::default(),
            checked: Checked::default(),
            parsed: vec![(0, 0.0); headers.len()],
        })
    }

    /// Check one row; `cell(i)` is the text of column `i` as read (trimmed here), `""` past the
    /// end. Rows outside the contract's `rows` filter pass unchecked.
    pub fn row<'r>(&mut self, line: u64, cell: impl Fn(usize) -> &'r str) -> Result<()> {
        let text = |i: usize| trim(cell(i));
        if let (Some(f), Some(filter)) = (&self.contract.rows, self.filter) {
            let i = match filter {
                Ok(i) => i,
                Err(()) => {
                    return Err(super::table::column_in(&self.path, self.header_line, &self.headers, &f.column)
                        .expect_err("absent"))
                }
            };
            if !f.values.iter().any(|v| v == text(i)) {
                return Ok(());
            }
        }
        let contract = self.contract;
        let headers = &self.headers;
        let path = &self.path;
        let key_cols = &self.key_cols;
        // The row's key, to name the unit in messages ("2023, 28088").
        let key_text = || key_cols.iter().map(|(i, _)| text(*i)).collect::<Vec<_>>().join(", ");
        let excepted = |rule: &ColumnRule| key_cols.iter().any(|(i, _)| rule.except.iter().any(|e| e == text(*i)));
        for (rule, i) in &self.cols {
            let raw = text(*i);
            let at = || Location::at(path, line).col(&headers[*i]);
            if contract.is_masked(raw) {
                if rule.required {
                    return Err(Error::data(
                        at(),
                        format!("\"{raw}\" ({MASKED_REASON}) in a column that must have a value"),
                    ));
                }
                self.checked.masked.entry(line).or_default().push(MaskedCell {
                    line,
                    column: headers[*i].clone(),
                    value: raw.to_string(),
                });
                continue;
            }
            // Parsed once: the number is read for the "not available" test and for the range.
            let number = if rule.kind == Kind::Text { None } else { Some(parse_number(raw)) };
            // Empty or a "not available" marker (`N/A - résultat non disponible`): no value.
            if raw.is_empty() || number == Some(Ok(Num::Missing)) {
                if rule.required && !excepted(rule) {
                    return Err(Error::data(at(), format!("value is missing for {} (\"{raw}\")", key_text())));
                }
                continue;
            }
            match rule.kind {
                Kind::Text => {}
                Kind::CommuneCode => {
                    if !is_commune_code(raw) {
                        return Err(Error::data(at(), format!("\"{raw}\" is not an INSEE commune code")));
                    }
                }
                Kind::Number | Kind::Integer => {
                    let v = match number.expect("parsed above for every non-text rule") {
                        Ok(Num::Value(v)) => v,
                        Ok(Num::Missing) => continue, // handled above
                        Err(m) => return Err(Error::data(at(), m)),
                    };
                    self.parsed[*i] = (line, v);
                    // Only a rule that wants plain decimals looks at the characters; a plain
                    // decimal (digits, point, sign, exponent) is told by bytes, without decoding chars.
                    if rule.plain_decimal
                        && !raw.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
                        && raw.contains(|c: char| c == ',' || c.is_whitespace())
                    {
                        return Err(Error::data(
                            at(),
                            format!(
                                "\"{raw}\" is written with a decimal comma or a thousands separator; \
                                 the publisher writes plain decimals (1234.5): the file was re-saved in another format"
                            ),
                        ));
                    }
                    if rule.kind == Kind::Integer && v.fract() != 0.0 {
                        return Err(Error::data(at(), format!("{raw} is not a count (a whole number is expected)")));
                    }
                    let out = rule.min.is_some_and(|m| v < m)
                        || rule.max.is_some_and(|m| v > m)
                        || rule.above.is_some_and(|m| v <= m);
                    if out {
                        let lo = match (rule.min, rule.above) {
                            (_, Some(a)) => format!("> {}", fmt_bound(a)),
                            (Some(m), None) => format!(">= {}", fmt_bound(m)),
                            _ => String::new(),
                        };
                        let hi = rule.max.map(|m| format!("<= {}", fmt_bound(m))).unwrap_or_default();
                        let range = [lo, hi].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" and ");
                        return Err(Error::data(
                            at(),
                            format!("{raw} for {} is out of range (contract: {range})", key_text()),
                        ));
                    }
                }
            }
        }
        if !key_cols.is_empty() {
            // Codes compare as codes: `1001` is `01001`.
            let part = |i: usize, code: bool| {
                let s = text(i);
                (code && s.len() == 4 && is_commune_code(s), s)
            };
            let len: usize = key_cols
                .iter()
                .map(|&(i, c)| {
                    let (zero, s) = part(i, c);
                    s.len() + 1 + usize::from(zero)
                })
                .sum();
            // Most keys (a code, a year and a code, a code and a postcode) fit in 15 bytes: packed
            // with their length in an integer, a row's key costs no allocation.
            // One lookup: the first line is kept, a repeat reads it.
            let mut first = None;
            if len <= 16 {
                let mut b = [0u8; 16];
                let mut n = 0;
                for (k, &(i, c)) in key_cols.iter().enumerate() {
                    if k > 0 {
                        b[n] = 0x1f;
                        n += 1;
                    }
                    let (zero, s) = part(i, c);
                    if zero {
                        b[n] = b'0';
                        n += 1;
                    }
                    b[n..n + s.len()].copy_from_slice(s.as_bytes());
                    n += s.len();
                }
                b[15] = n as u8;
                self.seen_short.entry(u128::from_le_bytes(b)).and_modify(|l| first = Some(*l)).or_insert(line);
            } else {
                let mut key = String::with_capacity(len);
                for (k, &(i, c)) in key_cols.iter().enumerate() {
                    if k > 0 {
                        key.push(KEY_SEP);
                    }
                    let (zero, s) = part(i, c);
                    if zero {
                        key.push('0');
                    }
                    key.push_str(s);
                }
                self.seen.entry(key).and_modify(|l| first = Some(*l)).or_insert(line);
            }
            if let Some(first) = first {
                let key: Vec<String> = key_cols
                    .iter()
                    .map(|&(i, c)| {
                        let (zero, s) = part(i, c);
                        if zero {
                            format!("0{s}")
                        } else {
                            s.to_string()
                        }
                    })
                    .collect();
                return Err(Error::data(
                    Location::at(path, line).col(&headers[key_cols[0].0]),
                    format!(
                        "({}) = ({}) repeats line {first}: a duplicated row would be counted twice (contract: key unique)",
                        key_cols.iter().map(|(i, _)| headers[*i].as_str()).collect::<Vec<_>>().join(", "),
                        key.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    /// [`parse_number`] of column `i` of the row at `line`, which [`RowCheck::row`] has checked:
    /// the value its rules parsed, else parsed here.
    pub fn number(&self, line: u64, i: usize, cell: &str) -> std::result::Result<Num, String> {
        match self.parsed.get(i) {
            Some(&(l, v)) if l == line => Ok(Num::Value(v)),
            _ => parse_number(cell),
        }
    }

    /// The masked cells of `line` so far, as [`Checked::masked_at`] gives them.
    pub fn masked_at_line(&self, line: u64) -> Option<String> {
        self.checked.masked_at_line(line)
    }

    /// Every record of `d` checked by [`RowCheck::row`], then handed to `f` (with this checker, for
    /// the numbers it parsed and the masked cells), then the whole-file rules ([`RowCheck::finish`]):
    /// the typed readers' loop.
    pub fn records(
        mut self,
        d: &super::table::Delimited,
        mut f: impl FnMut(&mut Self, u64, &super::table::Record<'_>) -> Result<()>,
    ) -> Result<Checked> {
        let (mut last_line, mut last_value) = (None, String::new());
        d.for_each_record(|line, r| {
            self.row(line, |i| r.get(i).unwrap_or(""))?;
            last_line = Some(line);
            last_value.clear();
            last_value.push_str(r.get(r.len().saturating_sub(1)).unwrap_or(""));
            f(&mut self, line, r)
        })?;
        self.finish(true, d.ends_with_newline, last_line.map(|l| (l, last_value.as_str())))
    }

    /// The whole-file rules, after the last row: `last` is that row's line and last cell.
    pub fn finish(self, delimited: bool, ends_with_newline: bool, last: Option<(u64, &str)>) -> Result<Checked> {
        if self.contract.final_newline && delimited && !ends_with_newline {
            let line = last.map_or(self.header_line, |r| r.0);
            let value = last.map_or("", |r| r.1);
            return Err(Error::data(
                Location::at(&self.path, line),
                format!(
                    "the file ends inside this line (last value \"{value}\", no final newline, which the publisher always writes): \
                     the file is cut short; download it again"
                ),
            ));
        }
        Ok(self.checked)
    }
}

/// What [`super::table::normalize_commune_code`] accepts, without building the normalized string.
fn is_commune_code(raw: &str) -> bool {
    let b = trim(raw).as_bytes();
    (b.len() == 5
        && b[0].is_ascii_digit()
        && (b[1].is_ascii_digit() || (b[0] == b'2' && (b[1] == b'A' || b[1] == b'B')))
        && b[2..].iter().all(|c| c.is_ascii_digit()))
        || (b.len() == 4 && b.iter().all(|c| c.is_ascii_digit()))
}

/// A JSON array of flat objects as a raw table: one row per object, one column per key seen,
/// absent keys empty. Lines are the file's own when it holds one object per line (as the
/// publishers do), else the object's 1-based index. Scalars are read as written, borrowed from
/// the text (a generic `serde_json::Value` tree of the COG's 8 MB took 100 MB and most of its
/// parse time); an array or object cell, which no contract reads, is its compact JSON.
pub fn json_table(path: &Path, text: &str) -> Result<RawTable> {
    let objects: Vec<FlatObject> = serde_json::from_str(text).map_err(|e| {
        Error::data(Location::at(path, e.line() as u64), format!("invalid JSON at column {}: {e}", e.column()))
    })?;
    let mut headers: Vec<String> = Vec::new();
    for o in &objects {
        for (k, _) in &o.0 {
            if !headers.iter().any(|h| h == k.as_ref()) {
                headers.push(k.to_string());
            }
        }
    }
    let starts: Vec<u64> =
        text.lines().enumerate().filter(|(_, l)| l.trim_start().starts_with('{')).map(|(i, _)| i as u64 + 1).collect();
    let lines: Vec<u64> = if starts.len() == objects.len() { starts } else { (1..=objects.len() as u64).collect() };
    let rows = objects
        .into_iter()
        .zip(lines)
        .map(|(o, line)| {
            let mut cells = vec![String::new(); headers.len()];
            for (k, v) in o.0 {
                let i = headers.iter().position(|h| h == k.as_ref()).expect("every key is a header");
                // A key repeated in one object: the last wins, as in serde_json's maps.
                cells[i] = v.map(String::from).unwrap_or_default();
            }
            RawRow::new(line, cells.iter())
        })
        .collect();
    Ok(RawTable { path: path.to_path_buf(), headers, header_line: 1, delimiter: None, ends_with_newline: true, rows })
}

/// One flat JSON object: its keys in order and each value's text (`None` for null).
struct FlatObject<'a>(Vec<(std::borrow::Cow<'a, str>, Option<std::borrow::Cow<'a, str>>)>);

impl<'de> Deserialize<'de> for FlatObject<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = FlatObject<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> std::result::Result<Self::Value, A::Error> {
                let mut v = Vec::with_capacity(16);
                while let Some(k) = map.next_key::<Text>()? {
                    v.push((k.0, map.next_value::<Scalar>()?.0));
                }
                Ok(FlatObject(v))
            }
        }
        d.deserialize_map(V)
    }
}

/// A key, borrowed from the text when it has no escapes.
struct Text<'a>(std::borrow::Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Ok(Text(Scalar::deserialize(d)?.0.unwrap_or_default()))
    }
}

/// A value's text as [`json_table`] gives it: strings as written, numbers as serde_json prints
/// them, `None` for null, arrays and objects as compact JSON.
struct Scalar<'a>(Option<std::borrow::Cow<'a, str>>);

impl<'de> Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use std::borrow::Cow;
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Scalar<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> std::result::Result<Self::Value, E> {
                Ok(Scalar(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<Self::Value, E> {
                Ok(Scalar(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_string<E>(self, v: String) -> std::result::Result<Self::Value, E> {
                Ok(Scalar(Some(Cow::Owned(v))))
            }
            fn visit_u64<E>(self, v: u64) -> std::result::Result<Self::Value, E> {
                Ok(Scalar(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_i64<E>(self, v: i64) -> std::result::Result<Self::Value, E> {
                Ok(Scalar(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_f64<E>(self, v: f64) -> std::result::Result<Self::Value, E> {
                Ok(Scalar(Some(Cow::Owned(serde_json::Value::from(v).to_string()))))
            }
            fn visit_bool<E>(self, v: bool) -> std::result::Result<Self::Value, E> {
                Ok(Scalar(Some(Cow::Borrowed(if v { "true" } else { "false" }))))
            }
            fn visit_unit<E>(self) -> std::result::Result<Self::Value, E> {
                Ok(Scalar(None))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> std::result::Result<Self::Value, A::Error> {
                let v = serde_json::Value::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))?;
                Ok(Scalar(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> std::result::Result<Self::Value, A::Error> {
                let v = serde_json::Value::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(Scalar(Some(Cow::Owned(v.to_string()))))
            }
        }
        d.deserialize_any(V)
    }
}

/// Reference check: every member belongs to at most one group (a commune in one EPCI).
pub fn check_single_membership<'a>(
    path: &Path,
    what: &str,
    pairs: impl Iterator<Item = (&'a str, &'a str)>,
) -> Result<()> {
    let mut of: HashMap<&str, &str> = HashMap::new();
    for (member, group) in pairs {
        if let Some(prev) = of.insert(member, group) {
            if prev != group {
                return Err(Error::data(
                    Location::file(path),
                    format!("commune {member} is a member of two {what}: {prev} and {group} (contract: at most one)"),
                ));
            }
        }
    }
    Ok(())
}

/// Reference check: every code used is listed in the reference file (`path`).
pub fn check_listed<'a>(
    path: &Path,
    what: &str,
    listed: &[&str],
    used: impl Iterator<Item = (&'a str, &'a str)>,
) -> Result<()> {
    let listed: polars::prelude::PlHashSet<&str> = listed.iter().copied().collect();
    for (unit, code) in used {
        if !listed.contains(code) {
            return Err(Error::data(
                Location::file(path),
                format!("{what} {code} of commune {unit} is not listed (contract: every {what} present)"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(headers: &[&str], rows: &[&[&str]], delimited: bool, newline: bool) -> RawTable {
        RawTable {
            path: "t.xlsx".into(),
            headers: headers.iter().map(|h| h.to_string()).collect(),
            header_line: 5,
            delimiter: delimited.then_some(b','),
            ends_with_newline: newline,
            rows: rows.iter().enumerate().map(|(i, r)| RawRow::new(6 + i as u64, r.iter())).collect(),
        }
    }

    const H: [&str; 4] = ["codgeo", "libgeo", "an", "nb_medg"];

    fn err(t: &RawTable) -> String {
        check(t, &BPE, |_, _| false).unwrap_err().to_string()
    }

    #[test]
    fn one_rule_catches_its_fault_in_any_row_and_any_format() {
        // A workbook cell typed as text in a French locale.
        let t = table(&H, &[&["28001", "A", "2020", "3"], &["28002", "B", "2020", "1 234,5"]], false, true);
        assert!(err(&t).contains("t.xlsx:7: column \"nb_medg\": \"1 234,5\" is written with a decimal comma"));
        let t = table(&H, &[&["28001", "A", "2020", "-1"]], false, true);
        assert!(err(&t).contains("-1 for 28001 is out of range (contract: >= 0)"), "{}", err(&t));
        // The key compares codes as codes: `1001` is `01001`.
        let t = table(&H, &[&["01001", "A", "2020", "1"], &["1001", "A", "2020", "1"]], true, true);
        assert!(err(&t).contains("(codgeo) = (01001) repeats line 6"), "{}", err(&t));
        // A delimited file without its final newline is cut; a workbook has none to check.
        let rows: &[&[&str]] = &[&["28001", "A", "2020", "10"]];
        assert!(
            err(&table(&H, rows, true, false)).contains("t.xlsx:6: the file ends inside this line (last value \"10\"")
        );
        check(&table(&H, rows, false, false), &BPE, |_, _| false).unwrap();
        // Masked: listed per row, not an error in an optional column.
        let t = table(&H, &[&["28001", "A", "2020", "NS"], &["28002", "B", "2020", "2"]], true, true);
        let c = check(&t, &BPE, |_, _| false).unwrap();
        assert_eq!(c.masked_at(&t.rows[0]).as_deref(), Some("nb_medg=NS"));
        assert_eq!(c.masked_at(&t.rows[1]), None);
    }

    #[test]
    fn coverage_below_the_contract_is_an_error() {
        assert!(BPE.check_coverage(Path::new("b.csv"), 1000, 40).is_ok());
        let e = BPE.check_coverage(Path::new("b.csv"), 1000, 600).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("covers only 400 of the 1000 communes"), "{e}");
    }

    #[test]
    fn every_contract_parses_and_names_its_source() {
        for c in all() {
            assert!(!c.source.is_empty() && !c.columns.is_empty(), "{}", c.source);
            for k in &c.key {
                assert!(c.columns.iter().any(|r| &r.name == k), "{}: key {k} is not a declared column", c.source);
            }
        }
    }
}
