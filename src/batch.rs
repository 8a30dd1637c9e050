//! The national batch: every indicator of `diagnose` for every unit of one level (commune, EPCI,
//! bassin de vie, département, région, or every territory file), in one grouping pass over the
//! curated table. The indicators are those of `diagnose`, written once (`indicators::Agg`): the
//! batch takes their row inputs, sums and counts per unit of the level, then their final
//! expressions (`indicators::plan`), so a batch row and a diagnosis of the same units agree to
//! rounding (and a test checks it on the real data).
//!
//! Aggregated levels group communes only (`kind = commune`): the arrondissements municipaux of
//! Paris, Lyon and Marseille are parts of a commune row and would count twice. The commune level
//! keeps both kinds, one row per unit, with `kind` to tell them apart; territories keep the units
//! their file resolves to (which never overlap, see `territory::resolve`).

use std::path::Path;

use polars::prelude::*;
use polars_arrow::array::{Array, View};

use crate::aci::Grid;
use crate::error::{Error, Result};
use crate::indicators::{self, INDICATORS};
use crate::schema;
use crate::sinks::parquet::check_schema;
use crate::sources::decoupage::{Cog, UnitKind};
use crate::territory::{self, Territory, TerritorySpec};
use crate::transforms::cog::CogIndex;

pub use crate::level::Level;

/// A curated unit left out of a batch table, and why (nothing is dropped silently).
#[derive(Debug, Clone, PartialEq)]
pub struct Excluded {
    pub code: String,
    pub name: String,
    pub reason: String,
}

pub struct BatchTable {
    pub level: Level,
    /// One row per unit, columns as declared by `schema::batch(level)`.
    pub frame: DataFrame,
    pub excluded: Vec<Excluded>,
}

/// Note columns of the curated table that explain missing figures, in indicator order.
pub fn note_columns() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = Vec::new();
    for i in INDICATORS.iter() {
        if let Some(n) = i.note_column {
            if !v.contains(&n) {
                v.push(n);
            }
        }
    }
    v
}

/// Every group of `rows` (unit rows with the plan's inputs) in one pass, groups in order of
/// first appearance and units in row order:
/// - `attrs`: the value of the group's first unit;
/// - the plan's sums (nulls add nothing) and counts of non-null values, as polars' `sum` and `count` give;
/// - the département and région of its most populous unit (ties: first in row order, which is
///   code order), so that a unit crossing a boundary gets one well-defined département and
///   région, and the distinct départements and régions (when `lists`);
/// - the distinct population-totale vintages, and per note column why figures are missing
///   (`"reason (n units); other (1 unit)"`, reasons in order of first appearance).
///
/// A plain loop: polars' `group_by` with a hundred aggregates, per-group sorts and list columns
/// cost about ten times more for the same result (docs/performance.md).
fn group_rows(
    rows: &DataFrame,
    key: &str,
    groups: Groups,
    attrs: &[&str],
    lists: bool,
    notes: &[&str],
    plan: &indicators::Plan,
) -> Result<DataFrame> {
    let Groups { keys: group_keys, members } = groups;
    let groups = members.len();
    let mut gid = vec![usize::MAX; rows.height()];
    let mut shared = false;
    for (g, m) in members.iter().enumerate() {
        for &i in m {
            shared |= gid[i] != usize::MAX;
            gid[i] = g;
        }
    }
    let mut columns = vec![Column::new(key.into(), group_keys)];
    // The note summaries on a thread of their own, the rest here: they read different columns,
    // and the summaries take about as long as the sums, attributes and labels together.
    let (rest, summaries) = std::thread::scope(|s| {
        let summaries = std::thread::Builder::new()
            .name("batch-notes".into())
            .spawn_scoped(s, || note_summaries(rows, &members, notes))
            .expect("spawn a thread");
        let rest = (|| -> Result<Vec<Column>> {
            let mut rest = sum_columns(rows, &members, &gid, shared, plan)?;
            for a in attrs {
                let v = firsts(rows, groups, a, &|g| members[g].first().copied())?;
                rest.push(Column::new((*a).into(), v));
            }
            rest.extend(group_labels(rows, &members, lists)?);
            Ok(rest)
        })();
        (rest, summaries.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
    });
    columns.extend(rest?);
    columns.extend(summaries?);
    Ok(DataFrame::new(groups, columns)?)
}

/// Cells read for one unit per group (`rows_of`): looked up, not the whole column made a vector.
fn firsts<'a>(
    rows: &'a DataFrame,
    groups: usize,
    c: &str,
    rows_of: &dyn Fn(usize) -> Option<usize>,
) -> Result<Vec<Option<&'a str>>> {
    let ca = rows.column(c)?.str()?;
    Ok((0..groups).map(|g| ca.get(rows_of(g)?)).collect())
}

/// The plan's sums and counts per group ([`group_rows`]); `gid` is each row's group when no row
/// is in two groups (`shared` false).
fn sum_columns(
    rows: &DataFrame,
    members: &[Vec<usize>],
    gid: &[usize],
    shared: bool,
    plan: &indicators::Plan,
) -> Result<Vec<Column>> {
    let groups = members.len();
    let sizes: Vec<IdxSize> = members.iter().map(|m| m.len() as IdxSize).collect();
    let mut columns = Vec::new();
    for (input, name, kind) in plan.aggregates() {
        let c = rows.column(&input)?;
        if let Column::Scalar(sc) = c {
            // One value on every row (`unit_rows`): the same sums and counts as over the
            // materialized column, in the same order of additions.
            let one = sc.as_single_value_series();
            match kind {
                indicators::AggKind::Sum => {
                    let x = one.f64()?.get(0).unwrap_or(0.0);
                    let sums: Vec<f64> = if shared {
                        members.iter().map(|m| m.iter().map(|_| x).sum()).collect()
                    } else {
                        let mut sums = vec![0.0_f64; groups];
                        if one.null_count() == 0 {
                            gid.iter().filter(|g| **g != usize::MAX).for_each(|g| sums[*g] += x);
                        }
                        sums
                    };
                    columns.push(Column::new(name.into(), sums));
                }
                indicators::AggKind::Count => {
                    let counts = if one.null_count() == 0 { sizes.clone() } else { vec![0; groups] };
                    columns.push(Column::new(name.into(), counts));
                }
            }
            continue;
        }
        match kind {
            // Units in several groups (territories may overlap) are read through the member
            // lists; otherwise one sequential pass over the column.
            indicators::AggKind::Sum if shared => {
                // A null adds nothing: summing it as 0.0 gives the same sum, over a plain slice.
                let ca = c.f64()?.fill_null_with_values(0.0)?.rechunk().into_owned();
                let v = ca.cont_slice()?;
                let sums: Vec<f64> = members.iter().map(|m| m.iter().map(|&i| v[i]).sum()).collect();
                columns.push(Column::new(name.into(), sums));
            }
            indicators::AggKind::Sum => {
                // One sequential pass over the arrays, nulls skipped (no filled copy of the column).
                let mut sums = vec![0.0_f64; groups];
                let mut at = 0;
                for arr in c.f64()?.downcast_iter() {
                    let g = &gid[at..at + arr.len()];
                    match arr.validity() {
                        None => g.iter().zip(arr.values().iter()).for_each(|(g, x)| {
                            if *g != usize::MAX {
                                sums[*g] += x;
                            }
                        }),
                        Some(valid) => g.iter().zip(arr.values().iter()).zip(valid.iter()).for_each(|((g, x), ok)| {
                            if ok && *g != usize::MAX {
                                sums[*g] += x;
                            }
                        }),
                    }
                    at += arr.len();
                }
                columns.push(Column::new(name.into(), sums));
            }
            indicators::AggKind::Count if shared => {
                let mut present: Vec<bool> = Vec::with_capacity(c.len());
                for arr in c.as_materialized_series().chunks() {
                    match arr.validity() {
                        None => present.extend(std::iter::repeat_n(true, arr.len())),
                        Some(valid) => present.extend(valid.iter()),
                    }
                }
                let counts: Vec<IdxSize> =
                    members.iter().map(|m| m.iter().map(|&i| present[i] as IdxSize).sum()).collect();
                columns.push(Column::new(name.into(), counts));
            }
            indicators::AggKind::Count => {
                // Group sizes less the nulls: one pass over the null bits, none for a column
                // without nulls.
                let mut counts: Vec<IdxSize> = sizes.clone();
                let mut at = 0;
                for arr in c.as_materialized_series().chunks() {
                    if let Some(valid) = arr.validity().filter(|v| v.unset_bits() > 0) {
                        for (g, ok) in gid[at..at + arr.len()].iter().zip(valid.iter()) {
                            if !ok && *g != usize::MAX {
                                counts[*g] -= 1;
                            }
                        }
                    }
                    at += arr.len();
                }
                columns.push(Column::new(name.into(), counts));
            }
        }
    }

    Ok(columns)
}

/// Per note column, why each group's figures are missing ([`group_rows`]).
fn note_summaries(rows: &DataFrame, members: &[Vec<usize>], notes: &[&str]) -> Result<Vec<Column>> {
    let mut columns = Vec::new();
    // Texts are interned once per column: a group then counts small integers, not the long,
    // repeated note texts of every unit (most notes hold one text for every commune).
    for n in notes {
        let c = Interned::of(rows.column(n)?.str()?);
        let out: Vec<Option<String>> = members
            .iter()
            .map(|m| {
                let mut counts: Vec<(u32, usize)> = Vec::new();
                for id in m.iter().map(|&i| c.ids[i]).filter(|&id| id != NULL_ID) {
                    match counts.iter_mut().find(|(x, _)| *x == id) {
                        Some((_, k)) => *k += 1,
                        None => counts.push((id, 1)),
                    }
                }
                let parts: Vec<String> = counts
                    .iter()
                    .map(|(id, k)| format!("{} ({k} unit{})", c.texts[*id as usize], if *k > 1 { "s" } else { "" }))
                    .collect();
                (!parts.is_empty()).then(|| parts.join("; "))
            })
            .collect();
        columns.push(Column::new((*n).into(), out));
    }
    Ok(columns)
}

/// The distinct population-totale vintages of each group ([`group_rows`]), and with `lists` the
/// most populous unit's département and région and the distinct ones.
fn group_labels(rows: &DataFrame, members: &[Vec<usize>], lists: bool) -> Result<Vec<Column>> {
    let mut columns = Vec::new();
    let distinct = |col: &Interned, m: &[usize], sep: &str| -> Option<String> {
        let mut ids: Vec<u32> = m.iter().map(|&i| col.ids[i]).filter(|&id| id != NULL_ID).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut values: Vec<&str> = ids.iter().map(|&id| col.texts[id as usize]).collect();
        values.sort_unstable();
        (!values.is_empty()).then(|| values.join(sep))
    };
    let vintages = Interned::of(rows.column("population_totale_vintage")?.str()?);
    let out: Vec<Option<String>> = members.iter().map(|m| distinct(&vintages, m, " | ")).collect();
    columns.push(Column::new("population_totale_vintage".into(), out));
    if lists {
        let population: Vec<Option<i64>> = rows.column("population")?.i64()?.iter().collect();
        let best: Vec<Option<usize>> = members
            .iter()
            .map(|m| {
                m.iter().copied().reduce(|b, i| match (population[i], population[b]) {
                    (Some(p), Some(q)) if p > q => i,
                    (Some(_), None) => i,
                    _ => b,
                })
            })
            .collect();
        for a in ["departement", "departement_name", "region", "region_name"] {
            let v = firsts(rows, members.len(), a, &|g| best[g])?;
            columns.push(Column::new(a.into(), v));
        }
        for (a, alias) in [("departement", "departements"), ("region", "regions")] {
            let v = Interned::of(rows.column(a)?.str()?);
            let out: Vec<Option<String>> = members.iter().map(|m| distinct(&v, m, ",")).collect();
            columns.push(Column::new(alias.into(), out));
        }
    }
    Ok(columns)
}

/// The cells of a string column, read array by array: the chunked iterator costs about four times
/// more per cell, and a batch reads some twenty text columns of every unit.
fn strings(ca: &StringChunked) -> Vec<Option<&str>> {
    let mut v = Vec::with_capacity(ca.len());
    for arr in ca.downcast_iter() {
        v.extend(arr.iter());
    }
    v
}

/// `Interned::ids` of a null cell.
const NULL_ID: u32 = u32::MAX;

/// A text column as one small integer per cell, equal integers for equal texts, and the
/// distinct texts in order of first appearance.
struct Interned<'a> {
    ids: Vec<u32>,
    texts: Vec<&'a str>,
}

impl<'a> Interned<'a> {
    fn of(ca: &'a StringChunked) -> Interned<'a> {
        let mut index: PlHashMap<&str, u32> = PlHashMap::new();
        let mut out = Interned { ids: Vec::with_capacity(ca.len()), texts: Vec::new() };
        for arr in ca.downcast_iter() {
            // Runs of one text (a note every commune shares) are runs of one 16-byte view
            // (length, prefix, buffer, offset): equal views are equal texts, compared without
            // reading the text. Equal texts with different views are merged by the index.
            let mut last: Option<(View, u32)> = None;
            let valid = arr.validity().filter(|v| v.unset_bits() > 0);
            for (i, view) in arr.views().iter().enumerate() {
                let id = if valid.is_some_and(|v| !v.get_bit(i)) {
                    NULL_ID
                } else {
                    match last {
                        Some((l, id)) if l == *view => id,
                        _ => {
                            let t = arr.value(i);
                            let id = *index.entry(t).or_insert_with(|| {
                                out.texts.push(t);
                                (out.texts.len() - 1) as u32
                            });
                            last = Some((*view, id));
                            id
                        }
                    }
                };
                out.ids.push(id);
            }
        }
        out
    }
}

/// Groups of unit rows: each group's key and its rows, in row order.
struct Groups {
    keys: Vec<Option<String>>,
    members: Vec<Vec<usize>>,
}

impl Groups {
    /// One group per distinct value of `key` among the rows `keep` takes, in order of first
    /// appearance; a null key is a group of its own unless `skip_null`.
    fn by_column(rows: &DataFrame, key: &str, keep: &dyn Fn(usize) -> bool, skip_null: bool) -> Result<Groups> {
        let mut index: PlHashMap<Option<&str>, usize> = PlHashMap::new();
        let mut g = Groups { keys: Vec::new(), members: Vec::new() };
        for (i, k) in rows.column(key)?.str()?.iter().enumerate() {
            if !keep(i) || (skip_null && k.is_none()) {
                continue;
            }
            let at = *index.entry(k).or_insert_with(|| {
                g.keys.push(k.map(str::to_string));
                g.members.push(Vec::new());
                g.members.len() - 1
            });
            g.members[at].push(i);
        }
        Ok(g)
    }
}

/// The one aggregation of every level: group the communes of `rows` (every unit at the commune
/// level) by the level's key (those with no
/// unit there left out when `skip_null`), keep `attrs`, add every indicator, the note summaries
/// and the ACI columns, and give the declared columns in order. The indicators come from
/// [`indicators::plan`]: its row inputs (in `rows`), its sums and counts per group
/// ([`group_rows`]), then its final expressions on the aggregated rows.
fn aggregate(
    rows: &DataFrame,
    plan: &indicators::Plan,
    level: Level,
    attrs: &[&str],
    skip_null: bool,
    grid: &Grid,
) -> Result<DataFrame> {
    let lists = !matches!(level, Level::Commune | Level::Departement | Level::Region);
    // Arrondissements municipaux are parts of a commune row: only the commune level keeps them.
    let kind = strings(rows.column("kind")?.str()?);
    let keep = |i: usize| level == Level::Commune || kind[i] == Some(UnitKind::Commune.as_str());
    let groups = Groups::by_column(rows, level.key(), &keep, skip_null)?;
    let grouped = group_rows(rows, level.key(), groups, attrs, lists, &note_columns(), plan)?;
    declared(finish(grouped.lazy(), plan, level, grid, true)?, level)
}

/// Attributes each aggregated level keeps from the first unit of a group.
fn level_attrs(level: Level) -> &'static [&'static str] {
    match level {
        Level::Epci => &["epci_name"],
        Level::BassinDeVie => &["bv2022_name"],
        Level::Departement => &["departement_name", "region", "region_name", "zone"],
        Level::Region => &["region_name", "zone"],
        Level::Commune | Level::Territories => &[],
    }
}

/// The unit rows of `df` with the plan's inputs, and only the columns [`group_rows`] and the
/// level keys read, so that polars computes and gathers no other.
///
/// An input that reads only all-null columns (the RPPS counts and census ages the national data
/// lacks: ~70 of the ~110 inputs) has one value on every row. It is computed on one row and kept
/// as a scalar column, which [`sum_columns`] reads without materializing. polars otherwise
/// evaluates each over all 35 014 rows and plans it with the others (docs/performance.md, batch,
/// "Eighth pass").
fn unit_rows(df: &DataFrame, plan: &indicators::Plan, extra: &[&str]) -> Result<DataFrame> {
    unit_rows_folding(df, plan, extra, true)
}

/// [`unit_rows`], with the constant inputs computed on one row only when `fold`.
fn unit_rows_folding(df: &DataFrame, plan: &indicators::Plan, extra: &[&str], fold: bool) -> Result<DataFrame> {
    let mut keep: Vec<String> = ["code", "kind", "epci", "bv2022", "departement", "region"].map(String::from).to_vec();
    keep.push("population_totale_vintage".into());
    keep.extend(["population", "departement_name", "region_name"].map(String::from));
    for level in [Level::Epci, Level::BassinDeVie, Level::Departement, Level::Region] {
        keep.extend(level_attrs(level).iter().map(|c| c.to_string()));
    }
    keep.extend(extra.iter().chain(&note_columns()).map(|c| c.to_string()));
    let mut seen = std::collections::HashSet::new();
    keep.retain(|c| seen.insert(c.clone()));
    let null: Vec<&Column> = if fold && df.height() > 0 {
        df.columns().iter().filter(|c| c.null_count() == c.len()).collect()
    } else {
        Vec::new()
    };
    // The plan's inputs are row expressions (casts, comparisons, `when/then`): over columns null
    // on every row, each gives one value on every row.
    let (constant, computed): (Vec<Expr>, Vec<Expr>) = plan.inputs().into_iter().partition(|e| {
        !null.is_empty() && e.clone().meta().root_names().iter().all(|n| null.iter().any(|c| c.name() == n))
    });
    let mut exprs: Vec<Expr> = keep.iter().map(|c| col(c.as_str())).collect();
    exprs.extend(computed);
    // The constants on a thread of their own: planning ~70 expressions for one row (~0.8 ms)
    // beside the rows' own planning, which keeps one core.
    let (rows, constants) = std::thread::scope(|s| {
        let constants = (!constant.is_empty()).then(|| {
            s.spawn(|| -> Result<DataFrame> {
                let one_row = DataFrame::new(
                    1,
                    null.iter().map(|c| Column::full_null(c.name().clone(), 1, c.dtype())).collect(),
                )?;
                Ok(one_row.lazy().select(constant).collect()?)
            })
        });
        let rows = df.clone().lazy().select(exprs).collect();
        (rows, constants.map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))))
    });
    let mut rows = rows?;
    if let Some(constants) = constants {
        let height = rows.height();
        let scalars = constants?
            .columns()
            .iter()
            .map(|c| {
                Ok(Column::new_scalar(
                    c.name().clone(),
                    Scalar::new(c.dtype().clone(), c.get(0)?.into_static()),
                    height,
                ))
            })
            .collect::<Result<Vec<Column>>>()?;
        // One call: `with_column` rebuilds the frame's schema for each name it looks up.
        rows.hstack_mut(&scalars)?;
    }
    Ok(rows)
}

/// The indicators over the aggregates of `lf`, made finite, with the ACI columns, sorted by key
/// when `sort`.
fn finish(lf: LazyFrame, plan: &indicators::Plan, level: Level, grid: &Grid, sort: bool) -> Result<DataFrame> {
    let mut aci: Vec<Expr> =
        grid.exprs(col(grid.population.indicator())).into_iter().map(|e| e.cast(DataType::Int64)).collect();
    aci.push(lit(grid.population.as_str()).alias("aci_population_basis"));
    aci.push(grid.band_expr(col("population")).cast(DataType::Int64).alias("aci_band_municipale"));
    aci.push(grid.band_expr(col("population_totale")).cast(DataType::Int64).alias("aci_band_totale"));
    aci.push(
        grid.band_expr(col("population_totale") - col("population_comptee_a_part"))
            .cast(DataType::Int64)
            .alias("aci_band_municipale_same_millesime"),
    );
    let mut lf = lf.with_columns(plan.finals.clone());
    if sort {
        lf = lf.sort([level.key()], SortMultipleOptions::default());
    }
    let mut df = lf.collect()?;
    finite(&mut df)?;
    Ok(df.lazy().with_columns(aci).collect()?)
}

/// Every indicator as Float64, a non-finite figure made null: the rule of `evaluate` (a
/// non-finite figure is no figure). A scan in Rust: the same rule as one `when/then` per
/// indicator costs polars a predicate and a select over every column, and non-finite figures are
/// rare.
fn finite(df: &mut DataFrame) -> Result<()> {
    // Positions looked up before any replacement: a replacement drops the frame's cached schema,
    // which the next lookup by name would rebuild (~150 names hashed, for each of ~60 indicators).
    let at: Vec<usize> = INDICATORS
        .iter()
        .map(|i| df.get_column_index(i.id).ok_or_else(|| PolarsError::ColumnNotFound(i.id.into())))
        .collect::<PolarsResult<_>>()?;
    for k in at {
        let c = &df.columns()[k];
        let cast = c.dtype() != &DataType::Float64;
        let c = c.cast(&DataType::Float64)?;
        let ca = c.f64()?;
        let bad = ca.downcast_iter().any(|a| a.iter().any(|v| v.is_some_and(|v| !v.is_finite())));
        if bad {
            let c = ca.apply(|v| v.filter(|v| v.is_finite())).into_column();
            df.replace_column(k, c)?;
        } else if cast {
            df.replace_column(k, c)?;
        }
    }
    Ok(())
}

fn declared(df: DataFrame, level: Level) -> Result<DataFrame> {
    let declared = schema::batch(level);
    let df = df.select(declared.iter().map(|c| c.name))?;
    check_schema(Path::new(level.id()), &df, declared)?;
    Ok(df)
}

/// The commune level, where every group is one unit: the aggregates are the unit's own row
/// ([`indicators::Plan::single_unit_aggs`]) and a note is that unit's reason, so no `group_by`
/// is needed. Gives the same table as [`aggregate`] grouped by code (tested).
fn per_unit(curated: &DataFrame, grid: &Grid) -> Result<DataFrame> {
    let plan = indicators::plan();
    let curated = &one_unit_notes(curated)?;
    let notes: Vec<&str> = note_columns().into_iter().chain(["population_totale_vintage"]).collect();
    // Only the declared columns the curated table has, and the aggregates: 35 014 rows of every
    // intermediate column would double the peak memory.
    let mut keep: Vec<Expr> = schema::batch(Level::Commune)
        .iter()
        .filter(|c| curated.schema().contains(c.name) && !notes.contains(&c.name) && indicators::get(c.name).is_none())
        .map(|c| col(c.name))
        .collect();
    keep.extend(notes.into_iter().map(col));
    keep.extend(plan.single_unit_aggs());
    // In slices: the intermediate columns of every indicator for all 35 014 units at once would
    // add about 150 MiB to the peak memory. Two threads take the slices in turn: a slice is too
    // small for polars to keep both cores busy, and most of its time is planning ~400
    // expressions, on the calling thread.
    const SLICE: usize = 4096;
    let starts: Vec<usize> = (0..curated.height()).step_by(SLICE).collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let slice = |start: usize| -> Result<DataFrame> {
        let lf = curated.slice(start as i64, SLICE).lazy().select(keep.clone());
        // The curated table is in code order (checked below): a slice needs no sort.
        let part = declared(finish(lf, &plan, Level::Commune, grid, false)?, Level::Commune);
        // The slice's intermediate columns are freed: returned, they do not pile up in the peak.
        crate::memory::release_freed();
        part
    };
    let work = || -> Result<Vec<(usize, DataFrame)>> {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(&start) = starts.get(i) else { return Ok(done) };
            done.push((i, slice(start)?));
        }
    };
    let mut parts: Vec<(usize, DataFrame)> = std::thread::scope(|s| -> Result<_> {
        let other = s.spawn(work);
        let mut mine = work()?;
        mine.extend(other.join().unwrap_or_else(|p| std::panic::resume_unwind(p))?);
        Ok(mine)
    })?;
    parts.sort_by_key(|(i, _)| *i);
    let mut parts = parts.into_iter().map(|(_, df)| df);
    let mut out = match parts.next() {
        Some(mut o) => {
            for part in parts {
                o.vstack_mut(&part)?;
            }
            o
        }
        None => {
            declared(finish(curated.clone().lazy().select(keep), &plan, Level::Commune, grid, false)?, Level::Commune)?
        }
    };
    out.rechunk_mut();
    let codes = strings(out.column("code")?.str()?);
    if codes.windows(2).any(|w| w[0] > w[1]) {
        out.sort_in_place(["code"], SortMultipleOptions::default())?;
    }
    Ok(out)
}

/// Every note of `df` as a note of one unit, `"reason (1 unit)"`; a null note stays null. The
/// suffix goes onto each distinct reason once and the rows are gathered from those, so that they
/// share one copy of each text: a concatenation per row held 69 MB at the peak of the six-level
/// batch (heaptrack), for a few dozen distinct reasons.
fn one_unit_notes(df: &DataFrame) -> Result<DataFrame> {
    let mut df = df.clone();
    for n in note_columns() {
        let notes = {
            let ca = df.column(n)?.str()?;
            let mut distinct: PlHashMap<&str, IdxSize> = PlHashMap::new();
            let mut texts: Vec<String> = Vec::new();
            let idx: IdxCa = ca
                .iter()
                .map(|v| {
                    v.map(|s| {
                        *distinct.entry(s).or_insert_with(|| {
                            texts.push(format!("{s} (1 unit)"));
                            (texts.len() - 1) as IdxSize
                        })
                    })
                })
                .collect();
            StringChunked::from_iter_values(n.into(), texts.iter().map(String::as_str)).take(&idx)?
        };
        df.with_column(notes.into_column())?;
    }
    Ok(df)
}

/// Communes with no unit at `key` (islands outside any EPCI, COM, communes re-created after the
/// zonage): listed, not counted anywhere at that level.
fn without_key(curated: &DataFrame, key: &str, reason: &dyn Fn(&str) -> String) -> Result<Vec<Excluded>> {
    // A scan of the key's null bits: a few dozen communes of 35 000, looked up one by one (a
    // polars filter over the whole table cost 1.8 ms of a 35 ms EPCI batch).
    let keys = curated.column(key)?.as_materialized_series().rechunk();
    let Some(valid) = keys.chunks()[0].validity().filter(|v| v.unset_bits() > 0) else {
        return Ok(Vec::new());
    };
    let text =
        |c: &str, i: usize| -> Result<String> { Ok(curated.column(c)?.str()?.get(i).unwrap_or_default().to_string()) };
    let kind = curated.column("kind")?.str()?;
    let mut out = Vec::new();
    for i in (0..keys.len()).filter(|&i| !valid.get_bit(i)) {
        if kind.get(i) == Some(UnitKind::Commune.as_str()) {
            out.push(Excluded { code: text("code", i)?, name: text("name", i)?, reason: reason(&text("zone", i)?) });
        }
    }
    Ok(out)
}

/// The batch over one curated table. The unit rows with the plan's ~110 inputs, most of an
/// aggregated level's work, are computed once and shared by every aggregated level and the
/// territories of a run.
pub struct Batch<'a> {
    curated: &'a DataFrame,
    plan: indicators::Plan,
    rows: Option<DataFrame>,
}

impl<'a> Batch<'a> {
    pub fn new(curated: &'a DataFrame) -> Batch<'a> {
        Batch { curated, plan: indicators::plan(), rows: None }
    }

    /// The shared unit rows (computed on first use) and the plan.
    fn rows(&mut self) -> Result<(&DataFrame, &indicators::Plan)> {
        if self.rows.is_none() {
            self.rows = Some(unit_rows(self.curated, &self.plan, &[])?);
        }
        Ok((self.rows.as_ref().expect("just computed"), &self.plan))
    }

    /// Every unit of `level` (not `Territories`, see [`Batch::territories`]).
    pub fn compute(&mut self, level: Level, grid: &Grid) -> Result<BatchTable> {
        let curated = self.curated;
        let (frame, excluded) = match level {
            Level::Commune => (per_unit(curated, grid)?, Vec::new()),
            Level::Epci => {
                let excluded = without_key(curated, "epci", &|z| {
                    if z == "com" {
                        "collectivité d'outre-mer: no EPCI".into()
                    } else {
                        "belongs to no EPCI (DGCL composition 2026)".into()
                    }
                })?;
                let (rows, plan) = self.rows()?;
                (aggregate(rows, plan, level, level_attrs(level), true, grid)?, excluded)
            }
            Level::BassinDeVie => {
                let excluded = without_key(curated, "bv2022", &|z| {
                    if z == "com" {
                        "collectivité d'outre-mer: outside the zonage en bassins de vie".into()
                    } else {
                        "no bassin de vie in the TAGC 2024 (commune re-created since)".into()
                    }
                })?;
                let (rows, plan) = self.rows()?;
                (aggregate(rows, plan, level, level_attrs(level), true, grid)?, excluded)
            }
            Level::Departement | Level::Region => {
                let (rows, plan) = self.rows()?;
                (aggregate(rows, plan, level, level_attrs(level), false, grid)?, Vec::new())
            }
            Level::Territories => {
                return Err(Error::Config(
                    "the territories level needs its territory files: use Batch::territories".into(),
                ))
            }
        };
        Ok(BatchTable { level, frame, excluded })
    }

    /// One row per territory, through the same aggregation as the other levels: each
    /// territory's units are looked up in the unit rows (no join: a unit in several territories
    /// is read once per territory), then aggregated by [`group_rows`]. Time and memory grow
    /// linearly with the number of territories (docs/performance.md).
    pub fn territories(&mut self, list: &[(String, Territory)], grid: &Grid) -> Result<BatchTable> {
        let (rows, plan) = self.rows()?;
        let index: std::collections::HashMap<&str, usize> =
            rows.column("code")?.str()?.iter().enumerate().filter_map(|(i, c)| Some((c?, i))).collect();
        let groups = Groups {
            keys: list.iter().map(|(id, _)| Some(id.clone())).collect(),
            // A code the curated table lacks is left out, as an inner join would.
            members: list
                .iter()
                .map(|(_, t)| t.codes.iter().filter_map(|c| index.get(c.as_str()).copied()).collect())
                .collect(),
        };
        let key = Level::Territories.key();
        let mut grouped = group_rows(rows, key, groups, &[], true, &note_columns(), plan)?;
        grouped.with_column(Column::new(
            "territory_name".into(),
            list.iter().map(|(_, t)| t.name.as_str()).collect::<Vec<_>>(),
        ))?;
        let frame = declared(finish(grouped.lazy(), plan, Level::Territories, grid, true)?, Level::Territories)?;
        Ok(BatchTable { level: Level::Territories, frame, excluded: Vec::new() })
    }
}

/// Every unit of `level` (not `Territories`, see [`territories`]) from the curated table.
pub fn compute(curated: &DataFrame, level: Level, grid: &Grid) -> Result<BatchTable> {
    Batch::new(curated).compute(level, grid)
}

/// The `*.toml` files of `dir`, sorted by name; an error when there is none.
fn territory_files(dir: &Path) -> Result<Vec<std::path::PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut paths: Vec<std::path::PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(Error::Config(format!("{}: no territory file (*.toml)", dir.display())));
    }
    Ok(paths)
}

/// Territory files of `dir` (`*.toml`, sorted by name); the id of a territory is its file name
/// without `.toml`.
pub fn load_territory_specs(dir: &Path) -> Result<Vec<(String, TerritorySpec)>> {
    let paths = territory_files(dir)?;
    paths
        .into_iter()
        .map(|p| {
            let id = p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            Ok((id, TerritorySpec::load(&p)?))
        })
        .collect()
}

/// A territory file `batch` could not use, named by its path; the other files are still written.
#[derive(Debug)]
pub struct BadTerritory {
    pub file: std::path::PathBuf,
    pub error: Error,
}

impl std::fmt::Display for BadTerritory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.file.display(), self.error)
    }
}

/// A territory file read: its id (file stem), path and spec.
pub type SpecFile = (String, std::path::PathBuf, TerritorySpec);

/// Every territory file of `dir` read on its own: the good specs and the files that are not valid
/// territory files.
pub fn read_territory_specs(dir: &Path) -> Result<(Vec<SpecFile>, Vec<BadTerritory>)> {
    let paths = territory_files(dir)?;
    let (mut good, mut bad) = (Vec::new(), Vec::new());
    for p in paths {
        let id = p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        match TerritorySpec::load(&p) {
            Ok(spec) => good.push((id, p, spec)),
            Err(error) => bad.push(BadTerritory { file: p, error }),
        }
    }
    Ok((good, bad))
}

/// Resolve each spec on its own; a territory that does not resolve is reported by its file.
pub fn resolve_territories(
    specs: Vec<SpecFile>,
    cog: &Cog,
    index: &CogIndex,
    curated: &DataFrame,
    geography: Option<&crate::geo::Geography>,
) -> (Vec<(String, Territory)>, Vec<BadTerritory>) {
    let (mut good, mut bad) = (Vec::new(), Vec::new());
    for (id, file, spec) in specs {
        let ctx = territory::Context { curated: Some(curated), geography };
        match territory::resolve_in(&spec, cog, index, ctx) {
            Ok(t) => good.push((id, t)),
            Err(error) => bad.push(BadTerritory { file, error }),
        }
    }
    (good, bad)
}

/// Territory files of `dir`, each resolved to COG 2026 units with the same rules as `diagnose`
/// (bassins de vie and radii read the curated table; polygons need the boundaries).
pub fn load_territories(
    dir: &Path,
    cog: &Cog,
    index: &CogIndex,
    curated: &DataFrame,
    geography: Option<&crate::geo::Geography>,
) -> Result<Vec<(String, Territory)>> {
    let ctx = || territory::Context { curated: Some(curated), geography };
    load_territory_specs(dir)?
        .into_iter()
        .map(|(id, spec)| Ok((id, territory::resolve_in(&spec, cog, index, ctx())?)))
        .collect()
}

/// One row per territory (see [`Batch::territories`]).
pub fn territories(curated: &DataFrame, list: &[(String, Territory)], grid: &Grid) -> Result<BatchTable> {
    Batch::new(curated).territories(list, grid)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A text column in three chunks, with one text held at several addresses (a run across
    /// chunks, the same text again after others), nulls, and short (inline) and long texts.
    fn chunked_texts(name: &str, parts: &[&[Option<&str>]]) -> Column {
        let mut ca = StringChunked::new(name.into(), parts[0]);
        for p in &parts[1..] {
            ca.append(&StringChunked::new(name.into(), *p)).unwrap();
        }
        assert_eq!(ca.chunks().len(), parts.len());
        ca.into_column()
    }

    #[test]
    fn interned_ids_are_equal_exactly_for_equal_texts() {
        let long = "a long reason, longer than the twelve bytes a view holds inline";
        let other = "another long reason, also longer than twelve bytes";
        // Side by side, same length and same 4-byte prefix: views differing only in the offset.
        let (twin_a, twin_b) = ("a long twin reason, number 1", "a long twin reason, number 2");
        let c = chunked_texts(
            "n",
            &[
                &[Some(long), Some(long), None, Some(twin_a), Some(twin_b)],
                &[Some(long), Some("28"), Some(other)],
                &[Some("28"), Some(long), None, Some(twin_b)],
            ],
        );
        let ca = c.str().unwrap();
        let i = Interned::of(ca);
        let cells: Vec<Option<&str>> = ca.iter().collect();
        assert_eq!(i.ids.len(), cells.len());
        for (a, x) in cells.iter().enumerate() {
            for (b, y) in cells.iter().enumerate() {
                assert_eq!(i.ids[a] == i.ids[b], x == y, "rows {a} and {b}");
            }
            match x {
                None => assert_eq!(i.ids[a], NULL_ID),
                Some(t) => assert_eq!(i.texts[i.ids[a] as usize], *t),
            }
        }
        assert_eq!(i.texts, vec![long, twin_a, twin_b, "28", other]);
    }

    #[test]
    fn text_summaries_count_reasons_in_order_and_list_distinct_codes() {
        let long = "no APL for this commune (DREES file)";
        let masked = "masked: fewer than 11 (secret statistique)";
        let notes = chunked_texts(
            "apl_note",
            &[&[Some(long), None, Some(masked)], &[Some(long), Some(long)], &[None, Some(masked), Some(long)]],
        );
        let rows = DataFrame::new(
            8,
            vec![
                notes,
                Column::new(
                    "population_totale_vintage".into(),
                    [
                        Some("2023"),
                        Some("2023"),
                        None,
                        Some("2022"),
                        Some("2023"),
                        Some("2023"),
                        Some("2023"),
                        Some("2023"),
                    ],
                ),
                Column::new(
                    "population".into(),
                    [Some(10_i64), Some(30), Some(30), None, Some(5), Some(1), Some(2), Some(3)],
                ),
                Column::new("departement".into(), ["93", "92", "92", "28", "28", "13", "13", "13"]),
                Column::new("departement_name".into(), ["SSD", "HdS", "HdS", "EL", "EL", "BdR", "BdR", "BdR"]),
                Column::new("region".into(), ["11", "11", "11", "24", "24", "93", "93", "93"]),
                Column::new("region_name".into(), ["IdF", "IdF", "IdF", "CVL", "CVL", "PACA", "PACA", "PACA"]),
            ],
        )
        .unwrap();
        // Groups out of row order, one of them shared with another group, one empty.
        let members = vec![vec![0, 1, 2, 4], vec![3, 4], vec![5, 6, 7], vec![]];
        let mut cols = note_summaries(&rows, &members, &["apl_note"]).unwrap();
        cols.extend(group_labels(&rows, &members, true).unwrap());
        let got = |name: &str| -> Vec<Option<String>> {
            let c = cols.iter().find(|c| c.name().as_str() == name).unwrap();
            c.str().unwrap().iter().map(|v| v.map(str::to_string)).collect()
        };
        let s = |v: &str| Some(v.to_string());
        assert_eq!(
            got("apl_note"),
            vec![
                s(&format!("{long} (2 units); {masked} (1 unit)")),
                s(&format!("{long} (2 units)")),
                s(&format!("{masked} (1 unit); {long} (1 unit)")),
                None
            ]
        );
        assert_eq!(got("population_totale_vintage"), vec![s("2023"), s("2022 | 2023"), s("2023"), None]);
        // Most populous unit (ties: first in row order): row 1 (30) before row 2 (30).
        assert_eq!(got("departement"), vec![s("92"), s("28"), s("13"), None]);
        assert_eq!(got("region_name"), vec![s("IdF"), s("CVL"), s("PACA"), None]);
        assert_eq!(got("departements"), vec![s("28,92,93"), s("28"), s("13"), None]);
        assert_eq!(got("regions"), vec![s("11,24"), s("24"), s("93"), None]);
    }

    #[test]
    fn one_unit_notes_suffix_each_reason_and_share_one_copy_of_each_text() {
        let reason = "no APL 2023 row for this code (commune created or re-created after COG 2023)";
        let n = 500;
        let columns: Vec<Column> = note_columns()
            .into_iter()
            .enumerate()
            .map(|(k, name)| {
                let v: Vec<Option<&str>> = (0..n)
                    .map(|i| (k == 0 && i % 2 == 0).then_some(if i % 4 == 0 { reason } else { "short" }))
                    .collect();
                Column::new(name.into(), v)
            })
            .collect();
        let df = DataFrame::new(n, columns).unwrap();
        let out = one_unit_notes(&df).unwrap();
        let first = out.column(note_columns()[0]).unwrap().str().unwrap();
        assert_eq!(first.get(0), Some(format!("{reason} (1 unit)").as_str()));
        assert_eq!(first.get(2), Some("short (1 unit)"));
        assert_eq!(first.get(1), None, "a null note stays null");
        let held: usize = first.downcast_iter().map(|a| a.total_buffer_len()).sum();
        assert!(held <= reason.len() + "short".len() + 2 * " (1 unit)".len(), "{held} bytes for {n} rows");
        for name in &note_columns()[1..] {
            assert_eq!(out.column(name).unwrap().null_count(), n, "{name}");
        }
    }

    /// The commune level without `group_by` equals the generic aggregation grouped by code, on
    /// the national snapshot (every kind of unit, note and missing figure of the real data).
    #[test]
    fn per_unit_equals_grouped_by_code() {
        let curated = crate::sinks::parquet::read_bytes(crate::snapshot::COMMUNES).unwrap();
        let grid = Grid::embedded();
        let attrs = [
            "name",
            "kind",
            "parent_code",
            "zone",
            "departement",
            "departement_name",
            "region",
            "region_name",
            "epci",
            "epci_name",
            "bv2022",
            "bv2022_name",
        ];
        let plan = indicators::plan();
        let rows = unit_rows(&curated, &plan, &attrs).unwrap();
        let grouped = aggregate(&rows, &plan, Level::Commune, &attrs, false, &grid).unwrap();
        let direct = per_unit(&curated, &grid).unwrap();
        assert_eq!(direct.height(), curated.height());
        assert_eq!(direct.get_column_names(), grouped.get_column_names());
        for c in grouped.columns() {
            let d = direct.column(c.name()).unwrap();
            assert!(d.equals_missing(c), "column {} differs", c.name());
        }
        // Not vacuous: notes and missing figures are there to compare.
        assert!(direct.column("apl_note").unwrap().null_count() < direct.height());
        assert!(direct.column("apl_mg").unwrap().null_count() > 0);
    }

    /// The inputs over all-null columns, computed on one row as scalars, equal the inputs computed
    /// on every row, and give the same EPCI rows, for sums and counts alike, in the sequential and
    /// the member-list passes.
    #[test]
    fn constant_inputs_fold_to_the_same_rows_and_aggregates() {
        let curated = crate::sinks::parquet::read_bytes(crate::snapshot::COMMUNES).unwrap();
        let grid = Grid::embedded();
        let plan = indicators::plan();
        let attrs = level_attrs(Level::Epci);
        let scalars = unit_rows(&curated, &plan, &[]).unwrap();
        let plain = unit_rows_folding(&curated, &plan, &[], false).unwrap();
        assert_eq!(scalars.height(), plain.height());
        let mut folded = Vec::new();
        for (input, _, kind) in plan.aggregates() {
            let (a, b) = (scalars.column(&input).unwrap(), plain.column(&input).unwrap());
            assert!(!matches!(b, Column::Scalar(_)), "{input}: not materialized without folding");
            assert!(a.as_materialized_series().equals_missing(b.as_materialized_series()), "{input} differs");
            if let Column::Scalar(s) = a {
                folded.push((s.scalar().is_null(), kind));
            }
        }
        // Not vacuous: null and non-null constants (`otherwise(0.0)`), summed and counted.
        for (null, kind) in
            [(true, indicators::AggKind::Sum), (true, indicators::AggKind::Count), (false, indicators::AggKind::Sum)]
        {
            assert!(folded.contains(&(null, kind)), "no folded input null={null} {kind:?}");
        }
        for (lists, shared) in [(true, false), (false, true)] {
            let run = |rows: &DataFrame| {
                let mut groups = Groups::by_column(rows, Level::Epci.key(), &|_| true, true).unwrap();
                if shared {
                    // A second group over every unit of the first two: their units are in two groups.
                    let both = [groups.members[0].clone(), groups.members[1].clone()].concat();
                    groups.keys.push(Some("both".into()));
                    groups.members.push(both);
                    groups.keys.push(Some("none".into()));
                    groups.members.push(Vec::new());
                }
                let g = group_rows(rows, Level::Epci.key(), groups, attrs, lists, &note_columns(), &plan).unwrap();
                finish(g.lazy(), &plan, Level::Epci, &grid, true).unwrap()
            };
            let (a, b) = (run(&scalars), run(&plain));
            assert_eq!(a.get_column_names(), b.get_column_names());
            for c in b.columns() {
                assert!(a.column(c.name()).unwrap().equals_missing(c), "column {} differs", c.name());
            }
        }
    }

    /// Territories sharing units (read through the member lists) give the same rows as each
    /// territory aggregated alone (one sequential pass), and a shared unit counts in both.
    #[test]
    fn overlapping_territories_equal_each_alone() {
        let curated = crate::sinks::parquet::read_bytes(crate::snapshot::COMMUNES).unwrap();
        let grid = Grid::embedded();
        let t = |name: &str, codes: &[&str]| Territory {
            name: name.into(),
            description: None,
            codes: codes.iter().map(|c| c.to_string()).collect(),
            warnings: Vec::new(),
        };
        let a = ("a".to_string(), t("A", &["28085", "28088", "28134"]));
        let b = ("b".to_string(), t("B", &["28088", "28134", "28280", "75113"]));
        let both = territories(&curated, &[a.clone(), b.clone()], &grid).unwrap().frame;
        assert_eq!(both.height(), 2);
        for (row, alone) in [(0, &a), (1, &b)] {
            let one = territories(&curated, std::slice::from_ref(alone), &grid).unwrap().frame;
            for c in one.columns() {
                let x = both.column(c.name()).unwrap().slice(row, 1);
                assert!(x.equals_missing(c), "{}: column {} differs", alone.0, c.name());
            }
        }
        let population = both.column("population").unwrap().f64().unwrap();
        let codes = curated.column("code").unwrap().str().unwrap().clone();
        let pops = curated.column("population").unwrap().i64().unwrap().clone();
        let sum = |wanted: &[&str]| -> f64 {
            codes
                .iter()
                .zip(pops.iter())
                .filter(|(c, _)| c.is_some_and(|c| wanted.contains(&c)))
                .map(|(_, p)| p.unwrap_or(0) as f64)
                .sum()
        };
        assert_eq!(population.get(0), Some(sum(&["28085", "28088", "28134"])));
        assert_eq!(population.get(1), Some(sum(&["28088", "28134", "28280", "75113"])));
    }
}
