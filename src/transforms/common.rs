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

/// Weighted mean of `value` by `weight`, ignoring rows where either is null. It reads the two
/// row-level columns of [`weighted_terms`], which must be added to the rows before grouping.
pub fn weighted_mean(value: &str, weight: &str) -> Expr {
    let [num, den] = term_names(value, weight);
    let (num, den) = (col(num).sum(), col(den).sum());
    when(den.clone().gt(lit(0.0))).then(num / den).otherwise(col(value).mean())
}

/// The rows' terms of [`weighted_mean`]: `value × weight` and `weight`, each null where either
/// input is. Computed on the rows before grouping: the same two ternaries evaluated group by
/// group were most of the APL's normalization (docs/performance.md). Same values, summed in the
/// same order: the same bits.
pub fn weighted_terms(value: &str, weight: &str) -> [Expr; 2] {
    let ok = col(value).is_not_null().and(col(weight).is_not_null());
    let [num, den] = term_names(value, weight);
    [
        when(ok.clone()).then(col(value) * col(weight)).otherwise(lit(NULL)).alias(num),
        when(ok).then(col(weight)).otherwise(lit(NULL)).alias(den),
    ]
}

fn term_names(value: &str, weight: &str) -> [String; 2] {
    [format!("__{value}_x_{weight}"), format!("__{weight}_for_{value}")]
}

/// Sum that stays null when every input is null (polars' sum gives 0).
pub fn sum_or_null(c: &str) -> Expr {
    when(col(c).count().gt(lit(0))).then(col(c).sum()).otherwise(lit(NULL))
}

/// Group rows by `code_2026` in their order within each code: sorted first, so that polars
/// groups contiguous slices. Hashing 35 000 codes into groups and evaluating the weighted means
/// on them took 30 ms per APL millésime; sorting and grouping the slices take 7-10. The groups
/// come out in no set order (a test shows it): their rows are attached by code.
pub fn group_by_code(lf: LazyFrame) -> LazyGroupBy {
    lf.sort(["code_2026"], SortMultipleOptions::default().with_maintain_order(true)).group_by([col("code_2026")])
}

/// Aggregate per `code_2026`, then roll arrondissements municipaux up into their commune and
/// append those commune rows. `terms` are row-level columns that `aggs` read (such as
/// [`weighted_terms`]), added to the rows before each grouping; both must re-apply to the output
/// of `aggs`.
pub fn aggregate_with_plm(
    lf: LazyFrame,
    terms: &[Expr],
    aggs: &dyn Fn() -> Vec<Expr>,
    index: &CogIndex,
) -> Result<LazyFrame> {
    let with_terms = |lf: LazyFrame| if terms.is_empty() { lf } else { lf.with_columns(terms) };
    let per_unit = group_by_code(with_terms(lf.filter(col("code_2026").is_not_null()))).agg(aggs()).collect()?;
    // Float sums depend on the order of their terms, and may depend on where a column's chunks
    // end; neither a parallel join's output order nor its chunks are fixed (a sort after the join
    // did not keep the bits from changing between runs). The arrondissements are taken in the
    // index's code order, in one chunk, so that a rebuild gives the same bits (the snapshot test
    // compares bytes). They and their parents are looked up here, not joined: the joins hashed
    // the 35 000 codes of every source twice for some 48 codes.
    let pairs = index.arrondissement_pairs();
    let slot: PlHashMap<&str, usize> = pairs.iter().enumerate().map(|(i, (a, _))| (*a, i)).collect();
    let parents: PlHashSet<&str> = pairs.iter().map(|(_, p)| *p).collect();
    let mut row_of: Vec<Option<IdxSize>> = vec![None; pairs.len()];
    // A source that has both the parent and its arrondissements keeps the parent's own row.
    let mut has_own_row: PlHashSet<&str> = PlHashSet::new();
    let codes = per_unit.column("code_2026")?.str()?;
    for (row, code) in codes.iter().enumerate() {
        let Some(code) = code else { continue };
        if let Some(&i) = slot.get(code) {
            row_of[i] = Some(row as IdxSize);
        } else if let Some(p) = parents.get(code) {
            has_own_row.insert(p);
        }
    }
    let (rows, parent_codes): (Vec<IdxSize>, Vec<&str>) =
        pairs.iter().zip(&row_of).filter_map(|((_, p), row)| Some(((*row)?, *p))).unzip();
    let mut arrondissements = per_unit.take(&IdxCa::from_vec("rows".into(), rows))?;
    arrondissements.with_column(Column::new("code_2026".into(), parent_codes))?;
    arrondissements.rechunk_mut();
    let plm = with_terms(arrondissements.lazy()).group_by_stable([col("code_2026")]).agg(aggs()).collect()?;
    let keep: BooleanChunked =
        plm.column("code_2026")?.str()?.iter().map(|c| !c.is_some_and(|c| has_own_row.contains(c))).collect();
    let plm = plm.filter(&keep)?;
    Ok(concat([per_unit.lazy(), plm.lazy()], UnionArgs::default())?)
}

/// `frame` with the columns of `other` beside its rows, in its order: a left join on `key` that
/// gathers only `other`'s columns. A chain of lazy left joins gathered every column joined so far
/// at every join (the curated table's 87 columns, ten times). `other` must have at most one row
/// per key: a duplicated key would repeat a unit's row in a join, and is refused here. A null key
/// matches nothing, as in a join.
pub fn attach(frame: DataFrame, other: &DataFrame, key: &str, what: &str) -> Result<DataFrame> {
    let mut row_of: PlHashMap<&str, IdxSize> = PlHashMap::with_capacity(other.height());
    for (i, k) in other.column(key)?.str()?.iter().enumerate() {
        if let Some(k) = k {
            if row_of.insert(k, i as IdxSize).is_some() {
                return Err(repeated(what, key, k));
            }
        }
    }
    let rows: IdxCa = frame.column(key)?.str()?.iter().map(|k| k.and_then(|k| row_of.get(k).copied())).collect();
    beside(frame, other, key, &rows)
}

/// The rows of a frame whose `key` is unique (the units by code), looked up once for the many
/// sources [`RowsByKey::attach`]ed to it: each source then costs one lookup per row of its own
/// (1 ms where [`attach`], or polars' join, took 3.5-5 ms per source).
pub struct RowsByKey {
    key: String,
    rows: PlHashMap<PlSmallStr, IdxSize>,
    height: usize,
}

impl RowsByKey {
    pub fn new(frame: &DataFrame, key: &str) -> Result<Self> {
        let mut rows = PlHashMap::with_capacity(frame.height());
        for (i, k) in frame.column(key)?.str()?.iter().enumerate() {
            if let Some(k) = k {
                if rows.insert(PlSmallStr::from_str(k), i as IdxSize).is_some() {
                    return Err(repeated("the frame sources are attached to", key, k));
                }
            }
        }
        Ok(RowsByKey { key: key.to_string(), rows, height: frame.height() })
    }

    /// [`attach`] to `frame`, the frame this was built from (same rows).
    pub fn attach(&self, frame: DataFrame, other: &DataFrame, what: &str) -> Result<DataFrame> {
        if frame.height() != self.height {
            return Err(PolarsError::ShapeMismatch(
                format!("{what}: attached to a frame of {} rows, indexed with {}", frame.height(), self.height).into(),
            )
            .into());
        }
        const NONE: IdxSize = IdxSize::MAX;
        let mut take = vec![NONE; self.height];
        for (i, k) in other.column(&self.key)?.str()?.iter().enumerate() {
            let Some(&r) = k.and_then(|k| self.rows.get(k)) else { continue };
            if take[r as usize] != NONE {
                return Err(repeated(what, &self.key, k.unwrap_or_default()));
            }
            take[r as usize] = i as IdxSize;
        }
        let rows: IdxCa = take.into_iter().map(|t| (t != NONE).then_some(t)).collect();
        beside(frame, other, &self.key, &rows)
    }
}

/// A key found on two rows of a frame that must have one row per key.
fn repeated(what: &str, key: &str, value: &str) -> crate::error::Error {
    PolarsError::Duplicate(
        format!("{what}: several rows for {key} \"{value}\"; joined, they would repeat a unit's row").into(),
    )
    .into()
}

/// `frame` with `other`'s columns but `key`, gathered at `rows` (null: no row).
fn beside(frame: DataFrame, other: &DataFrame, key: &str, rows: &IdxCa) -> Result<DataFrame> {
    let others = other.drop(key)?;
    let gathered = if rows.null_count() == rows.len() {
        // An absent source: polars gathers nothing but nulls one row at a time (6 ms for the
        // RPPS's 26 columns).
        others.columns().iter().map(|c| Column::full_null(c.name().clone(), rows.len(), c.dtype())).collect()
    } else {
        others.take(rows)?.into_columns()
    };
    let mut frame = frame;
    frame.hstack_mut(&gathered)?;
    Ok(frame)
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

    /// `frame` left-joined with `other` by polars, in `frame`'s order: what attaching must give.
    fn joined(frame: &DataFrame, other: &DataFrame, key: &str) -> DataFrame {
        frame
            .clone()
            .lazy()
            .join(
                other.clone().lazy(),
                [col(key)],
                [col(key)],
                JoinArgs { maintain_order: MaintainOrderJoin::Left, ..JoinArgs::new(JoinType::Left) },
            )
            .collect()
            .unwrap()
    }

    #[test]
    fn attaching_gives_what_a_left_join_gives_in_the_frames_order() {
        let frame = df!(
            "code" => [Some("28085"), Some("28001"), None, Some("2A004"), Some("75101")],
            "dep" => ["28", "28", "28", "2A", "75"],
        )
        .unwrap();
        // Another order, a code the frame lacks, a null key, and a unit without a row.
        let other = df!(
            "code" => [Some("75101"), Some("99999"), None, Some("28085"), Some("2A004")],
            "apl" => [Some(4.5), Some(9.0), Some(7.0), None, Some(1.25)],
            "note" => [None, Some("x"), Some("y"), Some("masked"), None],
        )
        .unwrap();
        let want = joined(&frame, &other, "code");
        assert!(attach(frame.clone(), &other, "code", "APL").unwrap().equals_missing(&want));
        let by_code = RowsByKey::new(&frame, "code").unwrap();
        assert!(by_code.attach(frame.clone(), &other, "APL").unwrap().equals_missing(&want));
        // Many units to one row (the département's figure): the plain attach.
        let deps = df!("dep" => ["2A", "28"], "share" => [0.5, 0.25]).unwrap();
        assert!(attach(frame.clone(), &deps, "dep", "ALD").unwrap().equals_missing(&joined(&frame, &deps, "dep")));
    }

    #[test]
    fn an_absent_source_attaches_typed_null_columns() {
        let frame = df!("code" => ["28085", "28001"]).unwrap();
        let empty = DataFrame::new_infer_height(vec![
            Column::new("code".into(), Vec::<String>::new()),
            Column::new("count".into(), Vec::<Option<i64>>::new()),
            Column::new("note".into(), Vec::<Option<String>>::new()),
        ])
        .unwrap();
        for out in [
            attach(frame.clone(), &empty, "code", "RPPS").unwrap(),
            RowsByKey::new(&frame, "code").unwrap().attach(frame.clone(), &empty, "RPPS").unwrap(),
        ] {
            assert_eq!(out.shape(), (2, 3));
            assert_eq!(out.column("count").unwrap().dtype(), &DataType::Int64);
            assert_eq!(out.column("note").unwrap().dtype(), &DataType::String);
            assert_eq!(out.column("count").unwrap().null_count(), 2);
        }
    }

    #[test]
    fn a_source_with_two_rows_for_one_unit_is_refused_not_joined_twice() {
        let frame = df!("code" => ["28085", "28001"]).unwrap();
        let twice = df!("code" => ["28001", "28085", "28001"], "gp" => [1i64, 2, 3]).unwrap();
        let e = attach(frame.clone(), &twice, "code", "BPE 2020").unwrap_err().to_string();
        assert!(e.contains("BPE 2020") && e.contains("\"28001\""), "{e}");
        let e = RowsByKey::new(&frame, "code").unwrap().attach(frame, &twice, "BPE 2020").unwrap_err().to_string();
        assert!(e.contains("BPE 2020") && e.contains("\"28001\""), "{e}");
        // The frame itself must have one row per key to be indexed.
        assert!(RowsByKey::new(&twice, "code").is_err());
    }

    #[test]
    fn arrondissements_roll_up_in_code_order_whatever_the_rows_order_and_chunks() {
        use crate::sources::decoupage::{Cog, Unit, UnitKind};
        let unit = |code: &str, kind, parent: Option<&str>| Unit {
            code: code.into(),
            name: code.into(),
            kind,
            parent: parent.map(Into::into),
            departement: "75".into(),
            region: "11".into(),
            zone: "metro".into(),
            population: Some(100),
            anciens_codes: vec![],
            epci: None,
            dgcl: None,
        };
        let arr: Vec<String> = (1..=20).map(|i| format!("751{i:02}")).collect();
        let mut units = vec![unit("75056", UnitKind::Commune, None)];
        units.extend(arr.iter().map(|c| unit(c, UnitKind::Arrondissement, Some("75056"))));
        let index = CogIndex::new(&Cog { units, epcis: vec![], departements: vec![], regions: vec![] });
        // Values whose float sum depends on the order of its terms.
        let value = |i: usize| 1e6 / (i as f64 + 0.3) + 0.1 * i as f64;
        let want = (0..20).map(value).fold(0.0, |a, x| a + x);
        let mut order: Vec<usize> = (0..20).collect();
        for round in 0..6 {
            order.rotate_left(7);
            order.swap(round, 19 - round);
            // Rows in another order each round, in three chunks.
            let part = |ix: &[usize]| {
                df!(
                    "code_2026" => ix.iter().map(|&i| arr[i].as_str()).collect::<Vec<_>>(),
                    "x" => ix.iter().map(|&i| value(i)).collect::<Vec<_>>(),
                )
                .unwrap()
                .lazy()
            };
            let lf =
                concat([part(&order[..5]), part(&order[5..13]), part(&order[13..])], UnionArgs::default()).unwrap();
            let aggs = || vec![col("x").sum()];
            let out = aggregate_with_plm(lf, &[], &aggs, &index).unwrap().collect().unwrap();
            assert_eq!(out.height(), 21);
            let paris = out.lazy().filter(col("code_2026").eq(lit("75056"))).collect().unwrap();
            let got = paris.column("x").unwrap().f64().unwrap().get(0).unwrap();
            assert_eq!(got.to_bits(), want.to_bits(), "round {round}: {got} vs {want}");
        }
    }

    #[test]
    fn weighted_means_roll_up_arrondissements_and_a_city_with_its_own_row_keeps_it() {
        use crate::sources::decoupage::{Cog, Unit, UnitKind};
        let unit = |code: &str, kind, parent: Option<&str>, anciens: &[&str]| Unit {
            code: code.into(),
            name: code.into(),
            kind,
            parent: parent.map(Into::into),
            departement: code[..2].into(),
            region: "11".into(),
            zone: "metro".into(),
            population: Some(100),
            anciens_codes: anciens.iter().map(|&a| a.into()).collect(),
            epci: None,
            dgcl: None,
        };
        let units = vec![
            unit("75056", UnitKind::Commune, None, &[]),
            unit("75101", UnitKind::Arrondissement, Some("75056"), &[]),
            unit("75102", UnitKind::Arrondissement, Some("75056"), &[]),
            unit("69123", UnitKind::Commune, None, &[]),
            unit("69381", UnitKind::Arrondissement, Some("69123"), &[]),
            unit("28001", UnitKind::Commune, None, &["28900"]),
        ];
        let index = CogIndex::new(&Cog { units, epcis: vec![], departements: vec![], regions: vec![] });
        // Two Paris arrondissements; Lyon with its own row and one arrondissement; a commune
        // nouvelle with a former code and a row whose value is null (left out of its mean).
        let rows = df!(
            "code_2026" => ["75102", "75101", "69381", "69123", "28001", "28001", "28001"],
            "v" => [Some(2.0), Some(1.0), Some(5.0), Some(7.0), Some(3.0), Some(6.0), None],
            "w" => [Some(30.0), Some(10.0), Some(1.0), Some(1.0), Some(1.0), Some(2.0), Some(50.0)],
        )
        .unwrap();
        let aggs = || vec![weighted_mean("v", "w").alias("v"), col("w").sum().alias("w")];
        let out = aggregate_with_plm(rows.lazy(), &weighted_terms("v", "w"), &aggs, &index).unwrap().collect().unwrap();
        let codes: Vec<&str> = out.column("code_2026").unwrap().str().unwrap().iter().map(|c| c.unwrap()).collect();
        // One row per unit with data, the rolled-up city after them; Lyon once, its own row.
        let mut units_first = codes[..5].to_vec();
        units_first.sort();
        assert_eq!(units_first, ["28001", "69123", "69381", "75101", "75102"]);
        assert_eq!(codes[5], "75056");
        let at = |c: &str, col: &str| {
            let i = codes.iter().position(|x| *x == c).unwrap();
            out.column(col).unwrap().f64().unwrap().get(i).unwrap()
        };
        assert_eq!(at("28001", "v"), (3.0 + 12.0) / 3.0);
        assert_eq!(at("28001", "w"), 53.0);
        assert_eq!(at("69123", "v"), 7.0);
        assert_eq!(at("75056", "v"), (10.0 + 60.0) / 40.0);
        assert_eq!(at("75056", "w"), 40.0);
        // The row-level terms stay out of the result.
        assert_eq!(out.get_column_names(), ["code_2026", "v", "w"]);
    }

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
