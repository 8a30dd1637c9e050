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

/// A text column holding one of a few fixed texts (a note saying why a figure is missing): the
/// text of the first case whose condition holds (`None`: null), else `otherwise`. Built as an
/// index into the distinct texts, then gathered: every row's view points at one copy of its
/// text. A `when/then` chain over text literals copies the text into every row at every branch;
/// the curated table's notes held 55 MB that way at `build`'s peak (heaptrack).
pub fn text_among(cases: Vec<(Expr, Option<String>)>, otherwise: Option<String>) -> Expr {
    let mut texts: Vec<String> = Vec::new();
    let mut index = |t: Option<String>| match t {
        None => lit(NULL).cast(DataType::UInt32),
        Some(t) => {
            let i = texts.iter().position(|x| *x == t).unwrap_or_else(|| {
                texts.push(t);
                texts.len() - 1
            });
            lit(i as u32)
        }
    };
    let mut idx = index(otherwise);
    // Nested from the last case out: the first case that holds wins, as in a `when/then` chain.
    let cases: Vec<(Expr, Expr)> = cases.into_iter().map(|(c, t)| (c, index(t))).collect();
    for (c, i) in cases.into_iter().rev() {
        idx = when(c).then(i).otherwise(idx);
    }
    if texts.is_empty() {
        return lit(NULL).cast(DataType::String);
    }
    lit(Series::new(PlSmallStr::EMPTY, texts)).gather(idx, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_among_gives_the_first_case_that_holds_and_shares_one_copy_of_each_text() {
        let long = "a reason long enough not to fit in a view's twelve inline bytes";
        let other = "the reason of every other row, also longer than twelve bytes";
        let n = 1000;
        let df = df!("x" => (0..n as i64).collect::<Vec<_>>()).unwrap();
        let out = df
            .lazy()
            .select([text_among(
                vec![
                    (col("x").eq(lit(0)), None),
                    (col("x").lt(lit(10)), Some(long.to_string())),
                    // Never reached for x < 10: the case above holds first.
                    (col("x").lt(lit(20)), Some(long.to_string())),
                ],
                Some(other.to_string()),
            )
            .alias("note")])
            .collect()
            .unwrap();
        let note = out.column("note").unwrap().str().unwrap();
        assert_eq!(note.len(), n);
        assert_eq!(note.get(0), None);
        assert_eq!(note.get(1), Some(long));
        assert_eq!(note.get(9), Some(long));
        assert_eq!(note.get(15), Some(long));
        assert_eq!(note.get(20), Some(other));
        assert_eq!(note.get(n - 1), Some(other));
        // The rows point at the texts: a buffer holds each text once, not once per row.
        let held: usize = note.downcast_iter().map(|a| a.total_buffer_len()).sum();
        assert!(held <= long.len() + other.len(), "{held} bytes held for {n} rows");
    }

    #[test]
    fn text_among_without_any_text_is_a_null_text_column() {
        let df = df!("x" => [1i64, 2]).unwrap();
        let out = df.lazy().select([text_among(vec![(col("x").gt(lit(0)), None)], None).alias("note")]).collect();
        let out = out.unwrap();
        let note = out.column("note").unwrap();
        assert_eq!(note.dtype(), &DataType::String);
        assert_eq!(note.null_count(), note.len());
    }
}
