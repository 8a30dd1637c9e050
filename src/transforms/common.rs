//! Rules shared by the curated table and the fetched sources' columns: what "France" means for
//! coverage, how several source codes fold into one COG 2026 unit, and a source's report skeleton.

use polars::prelude::*;

use super::cog::{CogIndex, NormalizationReport};
use crate::error::Result;
use crate::sources::SourceMeta;

pub fn report_for(meta: &SourceMeta, note: &str) -> NormalizationReport {
    NormalizationReport {
        source: meta.id.to_string(),
        file: meta.file.to_string(),
        geography: meta.geography.to_string(),
        coverage_note: note.to_string(),
        ..Default::default()
    }
}

pub fn in_france() -> Expr {
    col("zone").eq(lit("metro")).or(col("zone").eq(lit("drom")))
}

/// Weighted mean of `value` by `weight`, ignoring rows where either is null.
pub fn weighted_mean(value: &str, weight: &str) -> Expr {
    let ok = col(value).is_not_null().and(col(weight).is_not_null());
    let num = when(ok.clone()).then(col(value) * col(weight)).otherwise(lit(NULL)).sum();
    let den = when(ok).then(col(weight)).otherwise(lit(NULL)).sum();
    when(den.clone().gt(lit(0.0))).then(num / den).otherwise(col(value).mean())
}

/// Sum that stays null when every input is null (polars' sum gives 0).
pub fn sum_or_null(c: &str) -> Expr {
    when(col(c).count().gt(lit(0))).then(col(c).sum()).otherwise(lit(NULL))
}

/// Aggregate per `code_2026`, then roll arrondissements municipaux up into their commune and
/// append those commune rows. `aggs` must be re-applicable to its own output.
pub fn aggregate_with_plm(lf: LazyFrame, aggs: &dyn Fn() -> Vec<Expr>, index: &CogIndex) -> Result<LazyFrame> {
    let per_unit = lf.filter(col("code_2026").is_not_null()).group_by_stable([col("code_2026")]).agg(aggs());
    let plm = per_unit
        .clone()
        .join(
            index.arrondissements_frame()?.lazy(),
            [col("code_2026")],
            [col("code_2026")],
            JoinArgs::new(JoinType::Inner),
        )
        // Float sums depend on the order of their terms, and a parallel join's output order is
        // not fixed: sort so that a rebuild gives the same bits (the snapshot test compares bytes).
        .sort(["code_2026"], SortMultipleOptions::default())
        .drop(cols(["code_2026"]))
        .rename(["parent_code"], ["code_2026"], true)
        .group_by_stable([col("code_2026")])
        .agg(aggs());
    // A source that has both the parent and its arrondissements keeps the parent's own row.
    let plm = plm.join(
        per_unit.clone().select([col("code_2026")]),
        [col("code_2026")],
        [col("code_2026")],
        JoinArgs::new(JoinType::Anti),
    );
    Ok(concat([per_unit, plm], UnionArgs::default())?)
}
