//! Columns of the curated table from the sources `cpts-diag fetch` brings in and that a data
//! folder may lack: RPPS counts of every profession of `data/reference/professions.toml` (its
//! libéral GPs preferred over BPE when present), INSEE age structure, Assurance Maladie share of
//! ALD patients without a médecin traitant, CartoSanté densities of the unit's bassin de vie. Each
//! one, when absent, leaves null columns and a note saying why, never zeros.

use polars::prelude::*;

use super::cog::{record_missing, remap, CogIndex, NormalizationReport};
use super::common::{aggregate_with_plm, attach as common_attach, in_france, report_for, text_among, RowsByKey};
use crate::error::Result;
use crate::professions::Professions;
use crate::sources::decoupage::UnitKind;
use crate::sources::{age, ald, cartosante, rpps, DataDir};

/// The note of every RPPS column when the data folder has no extraction.
pub const RPPS_ABSENT: &str = "no RPPS extraction in the data folder (health/rpps/PS_LibreAcces_Personne_activite_*.txt): run `cpts-diag fetch rpps`";
/// The note of every CartoSanté column when the data folder has no export.
pub const CARTOSANTE_ABSENT: &str = "the CartoSanté export by bassin de vie is not in the data folder (optional, mirror only: health/cartosante_bassins_vie_offre_soins_2024.csv)";

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
    /// The RPPS extraction read, if any: (`RPPS (<file>)`, its layout had the mode of exercise).
    pub rpps: Option<(String, bool)>,
    /// `bv2022`-keyed CartoSanté densities and the reasons of their nulls, if the export is there.
    pub cartosante: Option<DataFrame>,
    pub age_census: Option<String>,
    pub ald_present: bool,
    pub reports: Vec<NormalizationReport>,
}

fn rel(data: &DataDir, p: &std::path::Path) -> String {
    p.strip_prefix(&data.root).unwrap_or(p).display().to_string()
}

/// Names of the RPPS count columns of the curated table, in declared order.
fn rpps_columns() -> Vec<String> {
    Professions::embedded()
        .rpps()
        .flat_map(|p| ["total", "liberal", "salaried"].map(|m| format!("rpps_{}_{m}", p.key)))
        .collect()
}

/// Per unit: the RPPS counts of every profession and the libéral GPs (`gp_count_rpps`, null
/// when the layout has no mode); the report; `RPPS (<file>)`; whether the mode was known.
fn rpps_frame(data: &DataDir, index: &CogIndex) -> Result<Option<(DataFrame, NormalizationReport, String, bool)>> {
    let Some(path) = rpps::find(data) else {
        return Ok(None);
    };
    let parents = index.arrondissement_pairs().into_iter().map(|(a, p)| (a.to_string(), p.to_string())).collect();
    let setup = rpps::Setup { professions: Professions::embedded(), parents };
    let (counts, stats) = rpps::count_file_with(&path, &setup)?;
    let mut rep = report_for(
        &rpps::META,
        &format!(
            "RPPS: practitioners of each profession of data/reference/professions.toml, distinct per commune (arrondissements kept, their city counting each practitioner once); GP indicators use the GPs with a libéral activity; {}",
            stats.one_line()
        ),
    );
    rep.file = rel(data, &path);
    let names = rpps_columns();
    let mut sel = vec![col("code"), col("line")];
    sel.extend(names.iter().map(|n| col(n.as_str())));
    let staged = remap(counts.frame()?.lazy().select(sel).collect()?, index, &mut rep)?;
    let aggs = || names.iter().map(|n| super::common::sum_or_null(n).alias(n.as_str())).collect::<Vec<_>>();
    let mut out = vec![col("code_2026").alias("code")];
    out.extend(names.iter().map(|n| col(n.as_str())));
    let gp = if counts.has_mode && Professions::embedded().get("gp").is_some_and(|p| p.in_rpps()) {
        col("rpps_gp_liberal")
    } else {
        lit(NULL).cast(DataType::Int64)
    };
    out.push(gp.alias("gp_count_rpps"));
    let agg = aggregate_with_plm(staged.lazy(), &[], &aggs, index)?.select(out).collect()?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    Ok(Some((agg, rep, format!("RPPS ({name})"), counts.has_mode)))
}

/// `bv2022`-keyed: `cartosante_<key>_per_10k` and `cs_<key>_why` (reason of a null) for every
/// profession with a CartoSanté column.
fn cartosante_frame(data: &DataDir) -> Result<Option<(DataFrame, NormalizationReport)>> {
    let Some(staged) = cartosante::load(data)? else {
        return Ok(None);
    };
    let bvs: Vec<String> =
        staged.frame.column("bv")?.str()?.iter().map(|b| b.unwrap_or_default().to_string()).collect();
    let mut cols = vec![Column::new("bv2022".into(), bvs.clone())];
    let mut masked_prof = 0usize;
    for p in Professions::embedded().cartosante() {
        let column = p.cartosante_column.as_deref().unwrap_or_default();
        cols.push(staged.frame.column(column)?.clone().with_name(format!("cartosante_{}_per_10k", p.key).into()));
        let why = staged.masked_reasons(bvs.iter().map(String::as_str), column);
        masked_prof += why.iter().flatten().count();
        cols.push(Column::new(format!("cs_{}_why", p.key).into(), why));
    }
    let mut rep = report_for(
        &cartosante::META,
        &format!(
            "published per bassin de vie 2022 only: every commune (and arrondissement) carries its bassin de vie's density; {} bassins de vie, {} cells without a value ({} in the profession densities used)",
            staged.frame.height(),
            staged.masked.len(),
            masked_prof
        ),
    );
    rep.file = rel(data, &staged.path);
    rep.rows_read = staged.frame.height();
    Ok(Some((DataFrame::new_infer_height(cols)?, rep)))
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
    let agg = aggregate_with_plm(df.lazy(), &[], &aggs, index)?.collect()?;
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
    progress("RPPS extraction (every profession), if present");
    let (gp_source, rpps_used, rpps) = match rpps_frame(data, index)? {
        Some((df, rep, src, has_mode)) => {
            joins.push(df);
            reports.push(rep);
            // Without the mode there is no libéral GP count: the GP indicators stay on the BPE.
            let fallback = if bpe_present { GP_SOURCE_BPE } else { GP_SOURCE_NONE };
            let gp_source = if has_mode { src.clone() } else { fallback.to_string() };
            (gp_source, has_mode, Some((src, has_mode)))
        }
        None => {
            let mut cols = vec![Column::new("code".into(), Vec::<String>::new())];
            cols.extend(rpps_columns().into_iter().map(|n| Column::new(n.into(), Vec::<Option<i64>>::new())));
            cols.push(Column::new("gp_count_rpps".into(), Vec::<Option<i64>>::new()));
            joins.push(DataFrame::new_infer_height(cols)?);
            ((if bpe_present { GP_SOURCE_BPE } else { GP_SOURCE_NONE }).to_string(), false, None)
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
    progress("CartoSanté densities by bassin de vie, if present");
    let cartosante = match cartosante_frame(data)? {
        Some((df, rep)) => {
            reports.push(rep);
            Some(df)
        }
        None => None,
    };
    Ok(Fresh { joins, ald, gp_source, rpps_used, rpps, cartosante, age_census, ald_present, reports })
}

/// The fresh sources' columns beside the units' rows (`wide` has `code`, `departement` and
/// `bv2022`).
pub fn attach(wide: DataFrame, by_code: &RowsByKey, f: &Fresh) -> Result<DataFrame> {
    let mut wide = wide;
    for j in &f.joins {
        wide = by_code.attach(wide, j, "RPPS or census columns")?;
    }
    wide = common_attach(wide, &f.ald, "departement", "Assurance Maladie ALD")?;
    if let Some(cs) = &f.cartosante {
        wide = common_attach(wide, cs, "bv2022", "CartoSanté densities")?;
    }
    Ok(wide)
}

/// Derive the notes of the fresh columns [`attach`]ed. Expects `gp_count_note` already computed
/// for the BPE (replaced when the RPPS is used).
pub fn apply(lf: LazyFrame, f: &Fresh) -> LazyFrame {
    let null_str = || lit(NULL).cast(DataType::String);
    let is_com = col("zone").eq(lit("com"));
    // The RPPS is exhaustive: a commune of France without a GP row has no GP.
    let (gp_rpps, gp_note) = if f.rpps_used {
        (
            when(in_france())
                .then(col("gp_count_rpps").fill_null(lit(0i64)))
                .otherwise(lit(NULL).cast(DataType::Int64)),
            text_among(
                vec![(in_france(), None)],
                Some("RPPS counts of the collectivités d'outre-mer are not used".into()),
            )
            .alias("gp_count_note"),
        )
    } else {
        (col("gp_count_rpps"), col("gp_count_note"))
    };
    let age_note = text_among(
        match &f.age_census {
            None => vec![(col("census_pop").is_not_null(), None)],
            Some(c) => vec![
                (col("census_pop").is_not_null(), None),
                (
                    col("kind").eq(lit("arrondissement")),
                    Some(format!("INSEE {c} age structure has no figure for this arrondissement")),
                ),
                (is_com.clone(), Some("INSEE census age structure does not cover the collectivités d'outre-mer".into())),
            ],
        },
        Some(match &f.age_census {
            None => "INSEE base communale évolution et structure de la population is not in the data folder (cpts-diag fetch insee_age)".into(),
            Some(c) => format!("no row for this code in the INSEE {c} age structure (commune created since)"),
        }),
    );
    let ald_missing = if f.ald_present {
        when(col("ald_dep_note").is_not_null())
            .then(col("ald_dep_note"))
            .otherwise(lit("no figure for this département in the Assurance Maladie file"))
    } else {
        lit("Assurance Maladie share of ALD patients without médecin traitant is not in the data folder (cpts-diag fetch ameli_ald_sans_mt)")
    };
    apply_professions(lf, f)
        .with_columns([
            gp_rpps.alias("gp_count_rpps"),
            lit(f.gp_source.clone()).alias("gp_source"),
            gp_note,
            lit(f.age_census.clone().unwrap_or_default()).alias("age_census"),
            age_note.alias("age_note"),
            when(col("ald_no_mt_share_dep").is_not_null()).then(null_str()).otherwise(ald_missing).alias("ald_note"),
        ])
        .drop(cols(["ald_dep_note"]))
}

/// The RPPS and CartoSanté columns of every profession and their notes.
fn apply_professions(lf: LazyFrame, f: &Fresh) -> LazyFrame {
    let null_str = || lit(NULL).cast(DataType::String);
    let null_i64 = || lit(NULL).cast(DataType::Int64);
    let mut exprs = Vec::new();
    let outre_mer = "RPPS counts of the collectivités d'outre-mer are not used";
    match &f.rpps {
        Some((source, has_mode)) => {
            // The RPPS is exhaustive: a unit of France without a row has none of the profession.
            for n in rpps_columns() {
                let known = !n.ends_with("_liberal") && !n.ends_with("_salaried") || *has_mode;
                let e = if known {
                    when(in_france()).then(col(n.as_str()).fill_null(lit(0i64))).otherwise(null_i64())
                } else {
                    null_i64()
                };
                exprs.push(e.alias(n.as_str()));
            }
            exprs.push(lit(source.clone()).alias("rpps_source"));
            let note = text_among(vec![(in_france(), None)], Some(outre_mer.into()));
            exprs.push(note.clone().alias("rpps_note"));
            let mode = if *has_mode {
                note
            } else {
                text_among(
                    vec![(
                        in_france(),
                        Some(format!("this RPPS extraction ({source}) has no `Code mode exercice`: libéral and salarié cannot be told apart, only totals are counted")),
                    )],
                    Some(outre_mer.into()),
                )
            };
            exprs.push(mode.alias("rpps_mode_note"));
        }
        None => {
            exprs.push(lit("").alias("rpps_source"));
            exprs.push(lit(RPPS_ABSENT).alias("rpps_note"));
            exprs.push(lit(RPPS_ABSENT).alias("rpps_mode_note"));
        }
    }
    let mut lf = lf;
    let mut drop = Vec::new();
    for p in Professions::embedded().cartosante() {
        let value = format!("cartosante_{}_per_10k", p.key);
        let note = format!("cartosante_{}_note", p.key);
        if f.cartosante.is_some() {
            let why = format!("cs_{}_why", p.key);
            exprs.push(
                when(col(value.as_str()).is_not_null())
                    .then(null_str())
                    .when(col(why.as_str()).is_not_null())
                    .then(col(why.as_str()))
                    .when(col("bv2022").is_null())
                    .then(lit("no bassin de vie 2022 for this unit: CartoSanté publishes densities by bassin de vie only"))
                    .otherwise(lit("the unit's bassin de vie 2022 has no row in the CartoSanté export (bassin de vie recoded by the publisher)"))
                    .alias(note.as_str()),
            );
            drop.push(why);
        } else {
            exprs.push(lit(NULL).cast(DataType::Float64).alias(value.as_str()));
            exprs.push(lit(CARTOSANTE_ABSENT).alias(note.as_str()));
        }
    }
    lf = lf.with_columns(exprs);
    if !drop.is_empty() {
        lf = lf.drop(cols(drop));
    }
    lf
}
