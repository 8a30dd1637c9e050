//! Columns of the curated table from the sources `cpts-diag fetch` brings in and that a data
//! folder may lack: RPPS GP counts (preferred over BPE when present), INSEE age structure,
//! Assurance Maladie share of ALD patients without a médecin traitant. Each one, when absent,
//! leaves null columns and a note saying why, never zeros.

use polars::prelude::*;

use super::cog::{record_missing, remap, CogIndex, NormalizationReport};
use super::common::{aggregate_with_plm, in_france, report_for};
use crate::error::Result;
use crate::sources::decoupage::UnitKind;
use crate::sources::{age, ald, rpps, DataDir};

/// Value of `gp_source` when the BPE is used.
pub const GP_SOURCE_BPE: &str = "BPE 2020";
/// Value of `gp_source` when the data folder has neither the RPPS nor the BPE.
pub const GP_SOURCE_NONE: &str = "none";

/// Columns added to the units frame, with their reports.
pub struct Fresh {
    /// `code`-keyed frames to left-join: `gp_count_rpps`; the age columns.
    pub joins: Vec<DataFrame>,
    /// `departement`-keyed frame of `ald_no_mt_share_dep`, `ald_year`, `ald_dep_note`.
    pub ald: DataFrame,
    pub gp_source: String,
    pub rpps_used: bool,
    pub age_census: Option<String>,
    pub ald_present: bool,
    pub reports: Vec<NormalizationReport>,
}

fn rel(data: &DataDir, p: &std::path::Path) -> String {
    p.strip_prefix(&data.root).unwrap_or(p).display().to_string()
}

fn rpps_frame(data: &DataDir, index: &CogIndex) -> Result<Option<(DataFrame, NormalizationReport, String)>> {
    let Some(path) = rpps::find(data) else {
        return Ok(None);
    };
    let (counts, stats) = rpps::count_file(&path)?;
    let mut rep = report_for(
        &rpps::META,
        &format!(
            "RPPS: GPs with a libéral activity, distinct per commune (arrondissements rolled up into Paris, Lyon, Marseille); {}",
            stats.one_line()
        ),
    );
    rep.file = rel(data, &path);
    let staged = counts.frame()?.lazy().select([col("code"), col("line"), col("gp_liberal")]).collect()?;
    let staged = remap(staged, index, &mut rep)?;
    let aggs = || vec![col("gp_liberal").sum().alias("gp_liberal")];
    let agg = aggregate_with_plm(staged.lazy(), &aggs, index)?
        .select([col("code_2026").alias("code"), col("gp_liberal").alias("gp_count_rpps")])
        .collect()?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    Ok(Some((agg, rep, format!("RPPS ({name})"))))
}

fn age_frame(
    data: &DataDir,
    index: &CogIndex,
    units: &DataFrame,
) -> Result<Option<(DataFrame, NormalizationReport, String)>> {
    let Some(staged) = age::load(data)? else {
        return Ok(None);
    };
    let census = format!("RP {}", staged.census_year);
    let mut rep = report_for(&age::META, &format!("INSEE age structure, {census}"));
    rep.file = rel(data, &staged.path);
    let df = remap(staged.frame, index, &mut rep)?;
    let names: Vec<&str> = std::iter::once("pop").chain(age::BANDS.iter().map(|(n, _)| *n)).collect();
    let aggs = || names.iter().map(|n| col(*n).sum().alias(*n)).collect::<Vec<_>>();
    let agg = aggregate_with_plm(df.lazy(), &aggs, index)?.collect()?;
    let expected = units
        .clone()
        .lazy()
        .filter(in_france().and(col("kind").eq(lit(UnitKind::Commune.as_str()))))
        .select([col("code")])
        .collect()?;
    record_missing(&mut rep, expected.column("code")?.str()?.iter().flatten(), &agg)?;
    let mut sel = vec![col("code_2026").alias("code"), col("pop").alias("census_pop")];
    sel.extend(age::BANDS.iter().map(|(n, _)| col(*n)));
    Ok(Some((agg.lazy().select(sel).collect()?, rep, census)))
}

fn ald_frame(data: &DataDir) -> Result<(DataFrame, bool, Option<NormalizationReport>)> {
    let Some(shares) = ald::load(data)? else {
        let empty = df!(
            "departement" => Vec::<String>::new(),
            "ald_no_mt_share_dep" => Vec::<Option<f64>>::new(),
            "ald_year" => Vec::<String>::new(),
            "ald_dep_note" => Vec::<Option<String>>::new(),
        )?;
        return Ok((empty, false, None));
    };
    let masked: Vec<&String> =
        shares.by_departement.iter().filter(|(_, d)| d.share.is_none()).map(|(k, _)| k).collect();
    let rep = report_for(
        &ald::META,
        &format!(
            "département level only; latest year {}; {} départements, {} masked (NC){}",
            shares.latest_year,
            shares.by_departement.len(),
            masked.len(),
            if masked.is_empty() {
                String::new()
            } else {
                format!(": {}", masked.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "))
            }
        ),
    );
    let (mut dep, mut share, mut year, mut note) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (code, d) in &shares.by_departement {
        dep.push(code.clone());
        share.push(d.share);
        year.push(d.year.clone());
        note.push(d.share.is_none().then(|| {
            format!(
                "the Assurance Maladie masks (NC) the figure of département {code} for {} (line {})",
                d.year, d.line
            )
        }));
    }
    let frame = df!("departement" => dep, "ald_no_mt_share_dep" => share, "ald_year" => year, "ald_dep_note" => note)?;
    Ok((frame, true, Some(rep)))
}

/// `bpe_present`: whether the historical BPE is there to fall back on when the RPPS is absent.
pub fn build(
    data: &DataDir,
    index: &CogIndex,
    units: &DataFrame,
    bpe_present: bool,
    progress: &mut dyn FnMut(&str),
) -> Result<Fresh> {
    let mut reports = Vec::new();
    let mut joins = Vec::new();
    progress("RPPS extraction (GPs), if present");
    let (gp_source, rpps_used) = match rpps_frame(data, index)? {
        Some((df, rep, src)) => {
            joins.push(df);
            reports.push(rep);
            (src, true)
        }
        None => {
            joins.push(df!("code" => Vec::<String>::new(), "gp_count_rpps" => Vec::<Option<i64>>::new())?);
            ((if bpe_present { GP_SOURCE_BPE } else { GP_SOURCE_NONE }).to_string(), false)
        }
    };
    progress("INSEE age structure, if present");
    let age_census = match age_frame(data, index, units)? {
        Some((df, rep, census)) => {
            joins.push(df);
            reports.push(rep);
            Some(census)
        }
        None => {
            let mut cols = vec![
                Column::new("code".into(), Vec::<String>::new()),
                Column::new("census_pop".into(), Vec::<Option<f64>>::new()),
            ];
            cols.extend(age::BANDS.iter().map(|(n, _)| Column::new((*n).into(), Vec::<Option<f64>>::new())));
            joins.push(DataFrame::new_infer_height(cols)?);
            None
        }
    };
    progress("Assurance Maladie ALD without médecin traitant, if present");
    let (ald, ald_present, rep) = ald_frame(data)?;
    reports.extend(rep);
    Ok(Fresh { joins, ald, gp_source, rpps_used, age_census, ald_present, reports })
}

/// Join the fresh columns onto the units frame and derive their notes. Expects `gp_count_note`
/// already computed for the BPE (replaced when the RPPS is used).
pub fn apply(lf: LazyFrame, f: &Fresh) -> LazyFrame {
    let mut lf = lf;
    for j in &f.joins {
        lf = lf.join(j.clone().lazy(), [col("code")], [col("code")], JoinArgs::new(JoinType::Left));
    }
    lf = lf.join(f.ald.clone().lazy(), [col("departement")], [col("departement")], JoinArgs::new(JoinType::Left));
    let null_str = || lit(NULL).cast(DataType::String);
    let is_com = col("zone").eq(lit("com"));
    // The RPPS is exhaustive: a commune of France without a GP row has no GP.
    let (gp_rpps, gp_note) = if f.rpps_used {
        (
            when(in_france())
                .then(col("gp_count_rpps").fill_null(lit(0i64)))
                .otherwise(lit(NULL).cast(DataType::Int64)),
            when(in_france())
                .then(null_str())
                .otherwise(lit("RPPS counts of the collectivités d'outre-mer are not used"))
                .alias("gp_count_note"),
        )
    } else {
        (col("gp_count_rpps"), col("gp_count_note"))
    };
    let age_missing = match &f.age_census {
        None => lit("INSEE base communale évolution et structure de la population is not in the data folder (cpts-diag fetch insee_age)"),
        Some(c) => when(col("kind").eq(lit("arrondissement")))
            .then(lit(format!("INSEE {c} age structure has no figure for this arrondissement")))
            .when(is_com.clone())
            .then(lit("INSEE census age structure does not cover the collectivités d'outre-mer"))
            .otherwise(lit(format!("no row for this code in the INSEE {c} age structure (commune created since)"))),
    };
    let ald_missing = if f.ald_present {
        when(col("ald_dep_note").is_not_null())
            .then(col("ald_dep_note"))
            .otherwise(lit("no figure for this département in the Assurance Maladie file"))
    } else {
        lit("Assurance Maladie share of ALD patients without médecin traitant is not in the data folder (cpts-diag fetch ameli_ald_sans_mt)")
    };
    lf.with_columns([
        gp_rpps.alias("gp_count_rpps"),
        lit(f.gp_source.clone()).alias("gp_source"),
        gp_note,
        lit(f.age_census.clone().unwrap_or_default()).alias("age_census"),
        when(col("census_pop").is_not_null()).then(null_str()).otherwise(age_missing).alias("age_note"),
        when(col("ald_no_mt_share_dep").is_not_null()).then(null_str()).otherwise(ald_missing).alias("ald_note"),
    ])
    .drop(cols(["ald_dep_note"]))
}
