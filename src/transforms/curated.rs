//! The curated national table: one row per COG 2026 unit (commune actuelle or arrondissement
//! municipal) with every staged source joined on, after normalization to COG 2026.
//!
//! Aggregation rules when several source codes land on one COG 2026 unit (merged communes) or
//! when arrondissements roll up to Paris/Lyon/Marseille: counts, areas and populations are summed;
//! APL is averaged with the standardised population as weight (DREES rule); a commune centre is
//! the area-weighted mean of the parts' centres.

use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::{Arc, Mutex, OnceLock};

use polars::prelude::*;

use super::cog::{record_missing, remap, CogIndex, NormalizationReport};
use super::common::{
    aggregate_with_plm, group_by_code, in_france, report_for, sum_or_null, text_among, weighted_mean, weighted_terms,
    RowsByKey,
};
use crate::error::Result;
use crate::sources::contract::{self, Contract};
use crate::sources::decoupage::{Cog, UnitKind, DGCL_MILLESIME, MUNICIPALE_MILLESIME};
use crate::sources::{apl, boundaries, bpe, bv2022, comparateur, populations_legales, tagc, DataDir, SourceMeta};

/// The note of a unit whose `area_km2` comes from the boundaries.
pub const AREA_FROM_BOUNDARIES: &str =
    "area from the commune boundaries (area on the WGS84 ellipsoid of simplified polygons): INSEE publishes none for this code";

/// The note of every unit when the comparateur is absent and the boundaries give the areas.
pub const AREA_FROM_BOUNDARIES_NO_INSEE: &str = "area from the commune boundaries (area on the WGS84 ellipsoid of simplified polygons): the INSEE comparateur is not in the data folder (cpts-diag fetch insee_comparateur)";
/// Note of a unit whose BPE count is masked by the publisher (indicators block on its prefix).
pub const GP_MASKED_NOTE: &str = "masked by the publisher (BPE 2020 nb_medg: NS, NC or secret statistique)";
/// Note of a unit whose area is masked by the publisher.
pub const AREA_MASKED_NOTE: &str = "masked by the publisher (comparateur superficie_km2: NS, NC or secret statistique)";

pub struct Curated {
    pub cog: Cog,
    pub index: CogIndex,
    /// One row per unit; schema in [`crate::schema::COMMUNES`].
    pub communes: DataFrame,
    pub reports: Vec<NormalizationReport>,
    /// The boundaries read for areas, kept for the geometry table (`None` when skipped, or when a
    /// [`GeometrySink`] took them).
    pub boundaries: Option<boundaries::Boundaries>,
    /// What was wrong with the boundaries' polygons and what was done (empty when none were read).
    pub geometry_warnings: Vec<boundaries::GeometryWarning>,
}

/// Where the boundaries' thread hands the national boundaries once their areas are staged and the
/// COG index is known: `build` encodes its geometry table on a thread of its own, while the
/// curated table is finished and written (docs/performance.md). The features are handed over,
/// not cloned.
pub type GeometrySink<'a> = Box<dyn FnOnce(boundaries::Boundaries, &CogIndex) + Send + 'a>;

/// List in the report the units selected by `filter` that `agg` has no row for; returns how many
/// units were expected.
fn record_expected(rep: &mut NormalizationReport, units: &DataFrame, filter: Expr, agg: &DataFrame) -> Result<usize> {
    let expected = units.clone().lazy().filter(filter).select([col("code")]).collect()?;
    record_missing(rep, expected.column("code")?.str()?.iter().flatten(), agg)?;
    Ok(expected.height())
}

/// The source's file and contract: coverage is checked and the contract's result reported.
struct Checked<'a> {
    contract: &'a Contract,
    /// Relative to the data folder, as in the report.
    file: String,
    path: std::path::PathBuf,
}

impl<'a> Checked<'a> {
    fn new(contract: &'a Contract, data: &DataDir, file: &str) -> Self {
        Checked { contract, file: file.to_string(), path: data.root.join(file) }
    }

    fn finish(&self, rep: &mut NormalizationReport, staged: &DataFrame, expected: usize) -> Result<()> {
        self.contract.check_coverage(&self.path, expected, rep.communes_without_data.len())?;
        rep.contract = Some(self.contract.report(staged));
        Ok(())
    }
}

/// The staged `masked` column (which cells) as a flag, so that aggregations re-apply to their
/// own output (arrondissements rolled up).
fn masked_flag(lf: LazyFrame) -> LazyFrame {
    lf.with_column(col("masked").is_not_null().alias("masked"))
}

/// Any part of the unit masked by its publisher.
fn any_masked() -> Expr {
    col("masked").any(true)
}

fn apl_frame(
    staged: DataFrame,
    index: &CogIndex,
    units: &LateUnits,
    millesime: i32,
    checked: &Checked,
) -> Result<Option<Normalized>> {
    let mut rep = report_for(
        &apl::META,
        "APL covers metropolitan France and the DROM except Mayotte; Paris, Lyon and Marseille are published by arrondissement and rolled up",
    );
    rep.source = format!("{}_{millesime}", apl::META.id);
    rep.file = checked.file.clone();
    let staged = remap(staged, index, &mut rep)?;
    let aggs = || {
        vec![
            weighted_mean("apl_mg", "pop_std").alias("apl_mg"),
            weighted_mean("apl_mg_u65", "pop_std").alias("apl_mg_u65"),
            col("pop_std").sum().alias("pop_std"),
            col("pop_total").sum().alias("pop_total"),
        ]
    };
    let terms = [weighted_terms("apl_mg", "pop_std"), weighted_terms("apl_mg_u65", "pop_std")].concat();
    let agg = aggregate_with_plm(staged.clone().lazy(), &terms, &aggs, index)?.collect()?;
    let Some(units) = units.get() else { return Ok(None) };
    let expected = record_expected(&mut rep, units, in_france().and(col("departement").neq(lit("976"))), &agg)?;
    checked.finish(&mut rep, &staged, expected)?;
    let y = millesime;
    let agg = agg
        .lazy()
        .select([
            col("code_2026").alias("code"),
            col("apl_mg").alias(format!("apl_mg_{y}")),
            col("apl_mg_u65").alias(format!("apl_mg_u65_{y}")),
            col("pop_std").alias(format!("apl_pop_std_{y}")),
            col("pop_total").alias(format!("apl_pop_total_{y}")),
        ])
        .collect()?;
    Ok(Some((agg, rep)))
}

fn bpe_frame(staged: DataFrame, index: &CogIndex, units: &LateUnits, checked: &Checked) -> Result<Option<Normalized>> {
    let mut rep = report_for(
        &bpe::META,
        "BPE 2020 covers metropolitan France and the DROM as whole communes; arrondissements municipaux have no figure",
    );
    rep.file = checked.file.clone();
    let staged = remap(staged, index, &mut rep)?;
    // A commune with a masked part has no count: a sum over the other parts would be too low.
    let agg = masked_flag(staged.clone().lazy()).filter(col("code_2026").is_not_null());
    let agg = group_by_code(agg)
        .agg([
            when(any_masked())
                .then(lit(NULL).cast(DataType::Int64))
                .otherwise(sum_or_null("gp_count"))
                .alias("gp_count"),
            any_masked().alias("gp_masked"),
        ])
        .collect()?;
    let Some(units) = units.get() else { return Ok(None) };
    let expected =
        record_expected(&mut rep, units, in_france().and(col("kind").eq(lit(UnitKind::Commune.as_str()))), &agg)?;
    checked.finish(&mut rep, &staged, expected)?;
    let agg = agg
        .lazy()
        .select([col("code_2026").alias("code"), col("gp_count").alias("gp_count_bpe2020"), col("gp_masked")])
        .collect()?;
    Ok(Some((agg, rep)))
}

/// Why a figure is null when its source is absent from the data folder.
pub fn unavailable(what: &str, fetch_id: &str) -> String {
    format!("unavailable: {what} not in the data folder (cpts-diag fetch {fetch_id})")
}

/// Areas and centres from the staged comparateur (INSEE's, else the rcarlier compile); when
/// neither is present the table has null columns with a note naming the fetch.
fn area_frame(
    data: &DataDir,
    st: comparateur::Staged,
    index: &CogIndex,
    units: &LateUnits,
) -> Result<Option<Normalized>> {
    let mut rep = report_for(
        st.meta,
        "the comparateur covers metropolitan France and the DROM; Paris, Lyon and Marseille only by arrondissement (rolled up)",
    );
    rep.file = st.path.strip_prefix(&data.root).unwrap_or(&st.path).display().to_string();
    let checked = Checked::new(
        if st.meta.id == comparateur::META.id { &contract::COMPARATEUR_INSEE } else { &contract::COMPARATEUR },
        data,
        &rep.file,
    );
    let staged = remap(st.frame, index, &mut rep)?;
    let aggs = || {
        vec![
            when(any_masked())
                .then(lit(NULL).cast(DataType::Float64))
                .otherwise(col("area_km2").sum())
                .alias("area_km2"),
            any_masked().alias("masked"),
            weighted_mean("lat", "area_km2").alias("lat"),
            weighted_mean("lon", "area_km2").alias("lon"),
        ]
    };
    let terms = [weighted_terms("lat", "area_km2"), weighted_terms("lon", "area_km2")].concat();
    let agg = aggregate_with_plm(masked_flag(staged.clone().lazy()), &terms, &aggs, index)?.collect()?;
    let Some(units) = units.get() else { return Ok(None) };
    let expected = record_expected(&mut rep, units, in_france(), &agg)?;
    checked.finish(&mut rep, &staged, expected)?;
    let agg = agg
        .lazy()
        .select([
            col("code_2026").alias("code"),
            col("area_km2"),
            col("lat"),
            col("lon"),
            col("masked").alias("area_masked"),
        ])
        .collect()?;
    Ok(Some((agg, rep)))
}

/// Area and centre of one boundary feature (of its valid shape).
pub struct FeatureFigures {
    pub area_km2: f64,
    pub centre: Option<geo::Coord<f64>>,
}

/// [`FeatureFigures`] of every feature, in order: geometry work that needs no COG, so it runs
/// on the thread that reads the boundaries.
fn feature_figures(b: &boundaries::Boundaries) -> Vec<FeatureFigures> {
    // Two halves on two threads, as the rings are checked (`boundaries::read_features`): this
    // thread is the longest chain of `build`.
    if b.features.len() < 4096 {
        return figures_of(&b.features);
    }
    let (first, second) = b.features.split_at(b.features.len() / 2);
    std::thread::scope(|s| {
        let second = std::thread::Builder::new()
            .name("figures".into())
            .spawn_scoped(s, || figures_of(second))
            .expect("spawn a thread");
        let mut figures = figures_of(first);
        figures.extend(second.join().expect("figures thread panicked"));
        figures
    })
}

fn figures_of(features: &[boundaries::Boundary]) -> Vec<FeatureFigures> {
    features
        .iter()
        .map(|f| {
            let fixed;
            let shape = if f.valid {
                &f.shape
            } else {
                fixed = boundaries::make_valid(&f.shape);
                &fixed
            };
            FeatureFigures { area_km2: boundaries::area_km2(shape), centre: boundaries::centre(shape) }
        })
        .collect()
}

/// The boundaries once staged: each feature's code, area and centre, and what the report needs.
struct StagedBoundaries {
    /// `code`, `line`, `area_b`, `lat_b`, `lon_b` of every feature, in the file's order.
    frame: DataFrame,
    meta: &'static SourceMeta,
    layout: boundaries::Layout,
    arrondissements: bool,
    warnings: Vec<boundaries::GeometryWarning>,
}

/// What the boundaries' thread ends with: the features, or what the [`GeometrySink`] made of them.
#[derive(Default)]
struct BoundaryTail {
    kept: Option<boundaries::Boundaries>,
}

/// Area and centre of every feature's valid shape, as a frame keyed by the feature's own code;
/// the features are given back.
fn stage_boundaries(b: boundaries::Boundaries) -> Result<(StagedBoundaries, boundaries::Boundaries)> {
    let figures = feature_figures(&b);
    let code: Vec<&str> = b.features.iter().map(|f| f.code.as_str()).collect();
    let area: Vec<f64> = figures.iter().map(|f| f.area_km2).collect();
    let lat: Vec<Option<f64>> = figures.iter().map(|f| f.centre.map(|c| c.y)).collect();
    let lon: Vec<Option<f64>> = figures.iter().map(|f| f.centre.map(|c| c.x)).collect();
    let frame = df!(
        "code" => code,
        // Feature index stands in for a line number: the file is one JSON document.
        "line" => (1..=b.features.len() as u32).collect::<Vec<_>>(),
        "area_b" => area,
        "lat_b" => lat,
        "lon_b" => lon,
    )?;
    let staged = StagedBoundaries {
        frame,
        meta: b.metas()[0],
        layout: b.layout,
        arrondissements: b.features.iter().any(|f| f.kind == boundaries::BoundaryKind::Arrondissement),
        warnings: b.warnings.clone(),
    };
    Ok((staged, b))
}

/// Area and centre of each COG 2026 unit from the boundaries: area of each feature's valid
/// shape, summed over the features a unit is made of (the former communes of an older vintage);
/// centre weighted by those areas.
fn boundary_frame(
    b: &StagedBoundaries,
    index: &CogIndex,
    units: &DataFrame,
) -> Result<(DataFrame, NormalizationReport)> {
    let mut rep = report_for(
        b.meta,
        match b.layout {
            boundaries::Layout::Current => "current boundaries cover the communes of metropolitan France and the DROM, and the 45 arrondissements municipaux when their file is present; a few communes with recent boundary changes have none",
            boundaries::Layout::Legacy => "older boundaries cover metropolitan France and the DROM as whole communes; communes split off since have none",
        },
    );
    let staged = remap(b.frame.clone(), index, &mut rep)?;
    let terms = [weighted_terms("lat_b", "area_b"), weighted_terms("lon_b", "area_b")].concat();
    let agg = group_by_code(staged.lazy().filter(col("code_2026").is_not_null()).with_columns(terms))
        .agg([
            col("area_b").sum().alias("area_km2_boundaries"),
            weighted_mean("lat_b", "area_b").alias("lat_boundaries"),
            weighted_mean("lon_b", "area_b").alias("lon_boundaries"),
        ])
        .collect()?;
    let expected =
        if b.arrondissements { in_france() } else { in_france().and(col("kind").eq(lit(UnitKind::Commune.as_str()))) };
    record_expected(&mut rep, units, expected, &agg)?;
    let agg = agg.lazy().rename(["code_2026"], ["code"], true).collect()?;
    Ok((agg, rep))
}

/// Each unit's bassin de vie: arrondissements municipaux belong to their city's.
fn bassin_vie_of_units(units: &DataFrame, bv: DataFrame) -> Result<DataFrame> {
    Ok(units
        .clone()
        .lazy()
        .select([col("code"), col("parent_code")])
        .join(bv.clone().lazy(), [col("code")], [col("code")], JoinArgs::new(JoinType::Left))
        .join(
            bv.lazy().select([
                col("code").alias("parent_code"),
                col("bv2022").alias("pbv"),
                col("bv2022_name").alias("pbv_name"),
            ]),
            [col("parent_code")],
            [col("parent_code")],
            JoinArgs::new(JoinType::Left),
        )
        .select([
            col("code"),
            coalesce(&[col("bv2022"), col("pbv")]).alias("bv2022"),
            coalesce(&[col("bv2022_name"), col("pbv_name")]).alias("bv2022_name"),
        ])
        .collect()?)
}

/// Bassins de vie: INSEE's BV2022 file, else the TAGC compile, else `None`.
fn bassin_vie_frame(
    data: &DataDir,
    index: &CogIndex,
    units: &DataFrame,
) -> Result<Option<(DataFrame, NormalizationReport)>> {
    // INSEE's BV2022 workbook has no contract yet; the TAGC compile has one.
    let mut checked = None;
    let (staged, mut rep) = if let Some(st) = bv2022::load(data)? {
        let mut rep = report_for(
            &bv2022::META,
            "INSEE BV2022 covers metropolitan France and the DROM as whole communes; arrondissements municipaux inherit their city's bassin de vie",
        );
        rep.file = st.path.strip_prefix(&data.root).unwrap_or(&st.path).display().to_string();
        if let Some(cog) = st.cog {
            rep.geography = format!("{cog} (Paris, Lyon, Marseille entiers)");
        }
        (st.frame, rep)
    } else if data.exists(tagc::META.file) {
        let rep = report_for(
            &tagc::META,
            "the TAGC covers metropolitan France and the DROM as whole communes; arrondissements municipaux inherit their city's bassin de vie",
        );
        checked = Some(Checked::new(&contract::TAGC, data, tagc::META.file));
        (tagc::load(data)?, rep)
    } else {
        return Ok(None);
    };
    let staged = remap(staged, index, &mut rep)?;
    // Communes merged since the file's COG take the bassin de vie of the part that kept its code
    // (the chef-lieu), else of the first part listed.
    let agg = staged
        .clone()
        .lazy()
        .filter(col("code_2026").is_not_null())
        .sort_by_exprs([col("code").neq(col("code_2026")), col("line")], SortMultipleOptions::default())
        .group_by_stable([col("code_2026")])
        .agg([col("bv2022").first(), col("bv2022_name").first()])
        .collect()?;
    let expected =
        record_expected(&mut rep, units, in_france().and(col("kind").eq(lit(UnitKind::Commune.as_str()))), &agg)?;
    if let Some(checked) = checked {
        checked.finish(&mut rep, &staged, expected)?;
    }
    let agg = agg.lazy().rename(["code_2026"], ["code"], true).collect()?;
    Ok(Some((agg, rep)))
}

/// Beyond this difference with INSEE's area, a polygon is listed: it is probably not the
/// commune's whole territory (a commune nouvelle drawn as one of its former communes).
const OUTLIER_PCT: f64 = 50.0;

/// Boundary areas against INSEE's where both exist: over France, over département 28 (the
/// reference département of the project) and for Chartres (INSEE 16.85 km²).
fn area_comparison(communes: &DataFrame) -> Result<serde_json::Value> {
    let code = communes.column("code")?.str()?;
    let dep = communes.column("departement")?.str()?;
    let insee = communes.column("area_km2")?.f64()?;
    let note = communes.column("area_note")?.str()?;
    let bnd = communes.column("area_km2_boundaries")?.f64()?;
    let mut rel = Vec::new();
    let mut outliers: Vec<(f64, &str, f64, f64)> = Vec::new();
    let (mut d28_i, mut d28_b, mut chartres) = (0.0, 0.0, None);
    for i in 0..communes.height() {
        // A unit whose area_km2 is the boundaries' own carries a note: not a comparison.
        let (Some(a), Some(b), None) = (insee.get(i), bnd.get(i), note.get(i)) else {
            continue;
        };
        if a <= 0.0 {
            continue;
        }
        let pct = (b - a) / a * 100.0;
        rel.push(pct.abs());
        if pct.abs() > OUTLIER_PCT {
            outliers.push((pct, code.get(i).unwrap_or_default(), a, b));
        }
        if dep.get(i) == Some("28") {
            d28_i += a;
            d28_b += b;
        }
        if code.get(i) == Some("28085") {
            chartres = Some((a, b));
        }
    }
    rel.sort_by(f64::total_cmp);
    outliers.sort_by(|x, y| y.0.abs().total_cmp(&x.0.abs()).then_with(|| x.1.cmp(y.1)));
    let shown: Vec<serde_json::Value> = outliers
        .iter()
        .map(|(pct, c, a, b)| serde_json::json!({ "code": c, "insee_km2": a, "boundaries_km2": (b * 100.0).round() / 100.0, "difference_pct": (pct * 10.0).round() / 10.0 }))
        .collect();
    let q = |p: f64| rel.get(((rel.len() as f64 - 1.0) * p).round() as usize).map(|v| (v * 100.0).round() / 100.0);
    let pair = |a: f64, b: f64| {
        serde_json::json!({
            "insee_km2": (a * 100.0).round() / 100.0,
            "boundaries_km2": (b * 100.0).round() / 100.0,
            "difference_km2": ((b - a) * 100.0).round() / 100.0,
            "difference_pct": ((b - a) / a * 10000.0).round() / 100.0,
        })
    };
    Ok(serde_json::json!({
        "what": "area_km2_boundaries (area on the WGS84 ellipsoid of the simplified polygons, by an equal-area projection) against INSEE's area_km2",
        "france": { "units_compared": rel.len(), "median_abs_difference_pct": q(0.5), "p95_abs_difference_pct": q(0.95) },
        "departement_28": if d28_i > 0.0 { pair(d28_i, d28_b) } else { serde_json::Value::Null },
        "chartres_28085": chartres.map_or(serde_json::Value::Null, |(a, b)| pair(a, b)),
        "units_over_50_pct": outliers.len(),
        "largest_differences": shown,
    }))
}

/// How the population totale of a unit is labelled, by source.
pub fn totale_vintage_insee() -> String {
    format!("INSEE populations légales millésime {}", populations_legales::MILLESIME)
}
pub fn totale_vintage_dgcl() -> String {
    format!(
        "DGCL (membres des EPCI 2026), populations légales millésime {DGCL_MILLESIME}, not the millésime {MUNICIPALE_MILLESIME} of the population municipale"
    )
}

/// Population totale and comptée à part per unit. INSEE's populations légales file wins when the
/// data folder has it (same millésime as the population municipale); units it lacks (Mayotte)
/// and every unit without it take the DGCL member figures of `epci.json`, of the millésime before,
/// labelled as such; the comptée à part is then the DGCL totale less the DGCL municipale, both of
/// one millésime (never the 2023 municipale: that would mix vintages).
fn totale_frame(
    data: &DataDir,
    cog: &Cog,
    index: &CogIndex,
    units: &DataFrame,
) -> Result<(DataFrame, Option<NormalizationReport>)> {
    let dgcl: Vec<_> = cog.units.iter().filter_map(|u| u.dgcl.map(|d| (u.code.as_str(), d))).collect();
    let dgcl = df!(
        "code" => dgcl.iter().map(|(c, _)| *c).collect::<Vec<_>>(),
        "dgcl_totale" => dgcl.iter().map(|(_, d)| d.totale).collect::<Vec<_>>(),
        "dgcl_a_part" => dgcl.iter().map(|(_, d)| d.totale - d.municipale).collect::<Vec<_>>(),
    )?;
    let (insee, report) = match populations_legales::load(data)? {
        Some((staged, path)) => {
            let mut rep = report_for(
                &populations_legales::META,
                "INSEE's file of communes covers metropolitan France and the DROM except Mayotte; Paris, Lyon and Marseille are published by arrondissement and rolled up",
            );
            rep.file = path.display().to_string();
            let staged = remap(staged, index, &mut rep)?;
            let aggs = || vec![col("pcap").sum().alias("pcap"), col("ptot").sum().alias("ptot")];
            let agg = aggregate_with_plm(staged.lazy(), &[], &aggs, index)?.collect()?;
            record_expected(&mut rep, units, in_france().and(col("departement").neq(lit("976"))), &agg)?;
            let agg = agg
                .lazy()
                .select([
                    col("code_2026").alias("code"),
                    col("ptot").alias("insee_totale"),
                    col("pcap").alias("insee_a_part"),
                ])
                .collect()?;
            (Some(agg), Some(rep))
        }
        None => (None, None),
    };
    let has_insee_file = insee.is_some();
    let insee = match insee {
        Some(f) => f,
        None => {
            let none: Vec<String> = Vec::new();
            let nums: Vec<i64> = Vec::new();
            df!("code" => none, "insee_totale" => nums.clone(), "insee_a_part" => nums)?
        }
    };
    let from_insee = col("insee_totale").is_not_null();
    let from_dgcl = col("dgcl_totale").is_not_null();
    let lacking = if has_insee_file {
        "INSEE's populations légales file has no row for it and"
    } else {
        "INSEE's populations légales file is not in the data folder and"
    };
    let frame = units
        .clone()
        .lazy()
        .select([col("code"), col("kind"), col("zone"), col("epci")])
        .join(insee.lazy(), [col("code")], [col("code")], JoinArgs::new(JoinType::Left))
        .join(dgcl.lazy(), [col("code")], [col("code")], JoinArgs::new(JoinType::Left))
        .select([
            col("code"),
            when(from_insee.clone()).then(col("insee_totale")).otherwise(col("dgcl_totale")).alias("population_totale"),
            when(from_insee.clone())
                .then(col("insee_a_part"))
                .otherwise(col("dgcl_a_part"))
                .alias("population_comptee_a_part"),
            text_among(
                vec![(from_insee.clone(), Some(totale_vintage_insee())), (from_dgcl.clone(), Some(totale_vintage_dgcl()))],
                None,
            )
            .alias("population_totale_vintage"),
            when(from_insee.clone())
                .then(lit(populations_legales::MILLESIME))
                .when(from_dgcl.clone())
                .then(lit(DGCL_MILLESIME))
                .otherwise(lit(NULL).cast(DataType::Int64))
                .alias("population_totale_millesime"),
            text_among(
                vec![
                    (from_insee.or(from_dgcl), None),
                    (
                        col("kind").eq(lit(UnitKind::Arrondissement.as_str())),
                        Some(format!("{lacking} the DGCL lists Paris, Lyon and Marseille whole: no population totale per arrondissement municipal")),
                    ),
                    (
                        col("zone").eq(lit("com")),
                        Some(format!("{lacking} the DGCL EPCI file does not cover the collectivités d'outre-mer: no population totale")),
                    ),
                    (
                        col("epci").is_null(),
                        Some(format!("{lacking} the DGCL EPCI file has no figure for a commune outside any EPCI: no population totale")),
                    ),
                ],
                Some(format!("{lacking} the DGCL EPCI file has no figure for this code: no population totale")),
            )
            .alias("population_totale_note"),
        ])
        .collect()?;
    Ok((frame, report))
}

/// What a build reads. The default reads every published original; the lean build of
/// `batch --from-raw` reads the CSV re-encodings of the two xlsx (same staged frames, tested) and
/// skips what no indicator uses, leaving those columns null.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// APL and BPE from their derived CSVs (`apl::DERIVED_FILE`, `bpe::DERIVED_FILE`).
    pub derived_csv: bool,
    /// The boundaries (`has_boundary`, `area_km2_boundaries`, fallback area and centre); null
    /// when skipped.
    pub boundaries: bool,
    /// The TAGC bassins de vie (`bv2022`, `bv2022_name`); null when skipped.
    pub bassins_de_vie: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { derived_csv: false, boundaries: true, bassins_de_vie: true }
    }
}

/// Build the curated national table from the published files. `progress` hears of each step.
pub fn build(data: &DataDir, progress: &mut dyn FnMut(&str)) -> Result<Curated> {
    build_with(data, &Options::default(), progress)
}

/// APL 2023, APL 2022 and BPE (when present), staged in their own geography.
type TabularStaged = (DataFrame, DataFrame, Option<DataFrame>);

/// The two workbooks (APL, BPE), or their derived CSVs: they need no COG to be staged.
fn read_tabular(data: &DataDir, opts: &Options) -> Result<TabularStaged> {
    let (mut v, b) = if opts.derived_csv {
        // The BPE CSV beside the APL one: each alone is shorter than the COG on the main thread.
        std::thread::scope(|s| -> Result<_> {
            let b = std::thread::Builder::new()
                .name("stage-bpe".into())
                .spawn_scoped(s, || data.exists(bpe::DERIVED_FILE).then(|| bpe::load_derived(data)).transpose())
                .expect("spawn a thread");
            let v = apl::load_derived(data, &[2023, 2022]);
            let b = b.join().expect("BPE thread panicked");
            Ok((v?, b?))
        })?
    } else {
        let v = apl::load_millesimes(data, &[2023, 2022])?;
        (v, if data.exists(bpe::META.file) { Some(bpe::load(data)?) } else { None })
    };
    let (s22, s23) = (v.pop().expect("two millésimes"), v.pop().expect("two millésimes"));
    Ok((s23, s22, b))
}

/// What the staging threads need of the COG to normalize their sources: its index, to place
/// and aggregate their rows, as soon as `communes.json` is read; then its units, to list the
/// units without data, once the COG is loaded and checked.
struct Reference {
    index: Receiver<Arc<CogIndex>>,
    units: LateUnits,
}

/// The COG's units, waited for by the first thread that needs them.
struct LateUnits {
    rx: Mutex<Receiver<DataFrame>>,
    got: OnceLock<Option<DataFrame>>,
}

impl LateUnits {
    /// `None` if the COG failed and they never came.
    fn get(&self) -> Option<&DataFrame> {
        self.got.get_or_init(|| self.rx.lock().expect("units receiver poisoned").recv().ok()).as_ref()
    }
}

/// Where the COG's index and then its units go, for one staging thread.
struct ReferenceTx {
    index: SyncSender<Arc<CogIndex>>,
    units: SyncSender<DataFrame>,
}

fn reference_channel() -> (ReferenceTx, Reference) {
    let (index_tx, index) = std::sync::mpsc::sync_channel(1);
    let (units_tx, units) = std::sync::mpsc::sync_channel(1);
    (
        ReferenceTx { index: index_tx, units: units_tx },
        Reference { index, units: LateUnits { rx: Mutex::new(units), got: OnceLock::new() } },
    )
}

/// A source normalized to COG 2026, with its report.
type Normalized = (DataFrame, NormalizationReport);

/// APL 2023, APL 2022 and BPE (when present) normalized to COG 2026; `None` when the COG failed
/// and the reference never came.
type TabularRead = Result<Option<(Normalized, Normalized, Option<Normalized>)>>;

/// [`read_tabular`], then the normalization of what it read once the COG `reference` comes: on
/// this thread, while the main one reads the other sources (75 ms there, before).
fn normalize_tabular(data: &DataDir, opts: &Options, reference: Reference) -> TabularRead {
    let (staged23, staged22, staged_bpe) = read_tabular(data, opts)?;
    let Ok(index) = reference.index.recv() else { return Ok(None) };
    let units = &reference.units;
    let (apl_checked, bpe_checked) = if opts.derived_csv {
        (
            Checked::new(&contract::APL_CSV, data, apl::DERIVED_FILE),
            Checked::new(&contract::BPE, data, bpe::DERIVED_FILE),
        )
    } else {
        (Checked::new(&contract::APL_XLSX, data, apl::META.file), Checked::new(&contract::BPE, data, bpe::META.file))
    };
    // APL 2022 and the BPE beside APL 2023: three frames of the same size, each mostly polars'
    // single-threaded group-bys.
    std::thread::scope(|s| {
        let rest = std::thread::Builder::new()
            .name("normalize-apl22-bpe".into())
            .spawn_scoped(s, || -> Result<_> {
                let Some(apl22) = apl_frame(staged22, &index, units, 2022, &apl_checked)? else { return Ok(None) };
                let bpe = match staged_bpe.map(|b| bpe_frame(b, &index, units, &bpe_checked)).transpose()? {
                    Some(None) => return Ok(None),
                    bpe => bpe.flatten(),
                };
                Ok(Some((apl22, bpe)))
            })
            .expect("spawn a thread");
        let apl23 = apl_frame(staged23, &index, units, 2023, &apl_checked);
        let rest = rest.join().expect("APL 2022 / BPE thread panicked");
        // Errors in the order of the sources, as when they were normalized in turn.
        let Some(apl23) = apl23? else { return Ok(None) };
        let Some((apl22, bpe)) = rest? else { return Ok(None) };
        Ok(Some((apl23, apl22, bpe)))
    })
}

/// The comparateur (or its fallback) staged, then normalized once the COG `reference` comes;
/// `Ok(None)` when absent, or when the COG failed and the reference never came.
fn normalize_areas(data: &DataDir, reference: Reference) -> Result<Option<Normalized>> {
    let Some(staged) = comparateur::load_any(data)? else { return Ok(None) };
    let Ok(index) = reference.index.recv() else { return Ok(None) };
    area_frame(data, staged, &index, &reference.units)
}

pub fn build_with(data: &DataDir, opts: &Options, progress: &mut dyn FnMut(&str)) -> Result<Curated> {
    build_with_sink(data, opts, None, progress)
}

/// [`build_with`], the boundaries handed to `sink` on their thread as soon as the COG index is
/// known; [`Curated::boundaries`] is then `None`.
pub fn build_with_sink(
    data: &DataDir,
    opts: &Options,
    sink: Option<GeometrySink<'_>>,
    progress: &mut dyn FnMut(&str),
) -> Result<Curated> {
    // Sources are staged concurrently: the APL and BPE workbooks, the comparateur and the
    // boundaries (the largest file, and polygon work) need no COG until they are normalized, so
    // they are read on threads of their own while this one reads the COG and the other tabular
    // sources.
    let with_boundaries = opts.boundaries && boundaries::available(data);
    // The index reaches the boundaries' thread when this one has built it; if the COG fails,
    // the sender is dropped and that thread stops waiting.
    let (index_tx, index_rx) = std::sync::mpsc::sync_channel::<Arc<CogIndex>>(1);
    let sink = sink.filter(|_| with_boundaries);
    let index_tx = sink.is_some().then_some(index_tx);
    // The staged areas go to this thread before the geometry is encoded: the curated table is
    // joined meanwhile.
    let (staged_tx, staged_rx) = std::sync::mpsc::sync_channel::<StagedBoundaries>(1);
    // The COG reaches the APL/BPE and comparateur threads the same way: they normalize their
    // sources while this one reads the others.
    let (tabular_tx, tabular_rx) = reference_channel();
    let (areas_tx, areas_rx) = reference_channel();
    // Named, so that a profile (perf) tells the threads apart; spawning fails as `s.spawn` would.
    let named = |name: &str| std::thread::Builder::new().name(name.to_string());
    std::thread::scope(|s| {
        let tabular = named("stage-apl-bpe")
            .spawn_scoped(s, move || {
                let read = normalize_tabular(data, opts, tabular_rx);
                // The workbooks' cells and rows freed here are returned before this thread ends:
                // mimalloc purges a thread's frees only when it next runs on it (`build` peaked
                // ~6 MiB higher). The derived CSVs of raw → EPCI free less than it costs there.
                if !opts.derived_csv {
                    crate::memory::release_freed();
                }
                read
            })
            .expect("spawn a thread");
        let comparateur = named("stage-comparateur")
            .spawn_scoped(s, move || normalize_areas(data, areas_rx))
            .expect("spawn a thread");
        let bnd = with_boundaries.then(|| {
            named("stage-boundaries")
                .spawn_scoped(s, move || -> Result<BoundaryTail> {
                    let (staged, b) = stage_boundaries(boundaries::load(data)?)?;
                    if staged_tx.send(staged).is_err() {
                        // This thread's reader stopped on an error of its own.
                        return Ok(BoundaryTail::default());
                    }
                    match sink {
                        None => Ok(BoundaryTail { kept: Some(b) }),
                        Some(sink) => match index_rx.recv() {
                            Ok(index) => {
                                sink(b, &index);
                                Ok(BoundaryTail { kept: None })
                            }
                            Err(_) => Ok(BoundaryTail::default()),
                        },
                    }
                })
                .expect("spawn a thread")
        });
        let pending = Pending {
            tabular: Box::new(|| tabular.join().expect("APL/BPE thread panicked")),
            comparateur: Box::new(|| comparateur.join().expect("comparateur thread panicked")),
            boundaries: bnd.map(|t| -> (_, Box<dyn FnOnce() -> Result<BoundaryTail> + '_>) {
                (staged_rx, Box::new(|| t.join().expect("boundaries thread panicked")))
            }),
            index_tx,
            reference_tx: [tabular_tx, areas_tx],
        };
        build_staged(data, opts, progress, pending)
    })
}

/// Sources being read on other threads; each closure waits for its thread.
struct Pending<'a> {
    tabular: Box<dyn FnOnce() -> TabularRead + 'a>,
    comparateur: Box<dyn FnOnce() -> Result<Option<Normalized>> + 'a>,
    /// The staged areas, then the thread's end (the features or the encoded geometry).
    #[allow(clippy::type_complexity)]
    boundaries: Option<(std::sync::mpsc::Receiver<StagedBoundaries>, Box<dyn FnOnce() -> Result<BoundaryTail> + 'a>)>,
    /// Where the COG index goes once built, when the boundaries' thread waits for it.
    index_tx: Option<std::sync::mpsc::SyncSender<Arc<CogIndex>>>,
    /// Where the COG index and units go once built, for the APL/BPE and comparateur threads.
    reference_tx: [ReferenceTx; 2],
}

fn build_staged(
    data: &DataDir,
    opts: &Options,
    progress: &mut dyn FnMut(&str),
    pending: Pending<'_>,
) -> Result<Curated> {
    progress("COG 2026 communes, EPCI, départements, régions");
    // The index goes to the staging threads as soon as `communes.json` is read: they place and
    // aggregate their rows while this thread reads the EPCI and checks the COG (the index came
    // 15-25 ms later, after the units frame, with one core idle meanwhile).
    let mut keyed = None;
    let index_tx = pending.index_tx;
    let cog = Cog::load_keyed(data, |keys| {
        let index = Arc::new(CogIndex::from_keys(keys));
        // A receiver is gone only if its thread already failed; its join reports why.
        for tx in &pending.reference_tx {
            let _ = tx.index.send(Arc::clone(&index));
        }
        if let Some(tx) = &index_tx {
            let _ = tx.send(Arc::clone(&index));
        }
        keyed = Some(index);
    })?;
    let index = keyed.expect("the COG's keys are handed over before it loads");
    let units = cog.units_frame()?;
    for tx in pending.reference_tx {
        // As above.
        let _ = tx.units.send(units.clone());
    }
    // The reference itself: its contract passed in `Cog::load`; reported like the others.
    let mut cog_rep = report_for(
        &crate::sources::decoupage::COMMUNES,
        "the COG 2026 reference: every other source is normalized to its units",
    );
    cog_rep.rows_read = units.height();
    cog_rep.rows_current = units.height();
    cog_rep.contract = Some(contract::COG_COMMUNES.report(&units));

    // What needs only the COG, while the other threads normalize the comparateur, APL and BPE.
    // Reports keep the order of the sources (COG, APL, BPE, comparateur, boundaries, bassins de
    // vie, totale, fresh). Errors keep the order in which they were met when the comparateur was
    // normalized here first: this block's errors wait until the comparateur's thread is joined.
    let none = || -> Result<DataFrame> {
        let none: Vec<String> = Vec::new();
        Ok(df!("code" => none.clone(), "bv2022" => none.clone(), "bv2022_name" => none)?)
    };
    let read_here = (|| -> Result<_> {
        let (bv, bv_rep) = if opts.bassins_de_vie {
            progress("INSEE bassins de vie 2022 (BV2022, else the TAGC), if present");
            match bassin_vie_frame(data, &index, &units)? {
                Some((bv, r)) => (bv, Some(r)),
                None => {
                    progress(&unavailable("bassins de vie 2022", "insee_bv2022"));
                    (none()?, None)
                }
            }
        } else {
            (none()?, None)
        };
        progress("populations totales (INSEE populations légales, else DGCL)");
        let totale = totale_frame(data, &cog, &index, &units)?;
        let bpe_present = data.exists(if opts.derived_csv { bpe::DERIVED_FILE } else { bpe::META.file });
        let fresh = super::fresh::build(data, &index, &units, bpe_present, progress)?;
        // The join starts here, while the other threads finish: sorted before anything is
        // attached, so that each source is gathered into code order as it is attached, instead
        // of the whole table at the end.
        let (totale, totale_rep) = totale;
        let wide = units.sort(["code"], SortMultipleOptions::default())?;
        let by_code = RowsByKey::new(&wide, "code")?;
        let wide = by_code.attach(wide, &totale, "populations totales")?;
        let bv_units = bassin_vie_of_units(&units, bv)?;
        Ok((bv_rep, totale_rep, bpe_present, fresh, wide, by_code, bv_units))
    })();

    progress("INSEE comparateur (area, centre), if present (read and normalized on another thread)");
    let (area, area_rep) = match (pending.comparateur)()? {
        Some((area, r)) => (area, Some(r)),
        None => (
            df!(
                "code" => Vec::<String>::new(),
                "area_km2" => Vec::<Option<f64>>::new(),
                "lat" => Vec::<Option<f64>>::new(),
                "lon" => Vec::<Option<f64>>::new(),
                "area_masked" => Vec::<Option<bool>>::new(),
            )?,
            None,
        ),
    };
    let area_present = area_rep.is_some();
    let (bv_rep, totale_rep, bpe_present, fresh, mut wide, by_code, bv_units) = read_here?;

    progress("DREES APL 2023 and 2022, BPE 2020 GPs if present (read and normalized on another thread)");
    let Some(((apl23, r23), (apl22, r22), bpe)) = (pending.tabular)()? else {
        unreachable!("the COG reference was sent to the APL/BPE thread above")
    };
    let mut reports = vec![cog_rep, r23, r22];
    let bpe = match bpe {
        Some((bpe, r)) => {
            reports.push(r);
            bpe
        }
        None => df!(
            "code" => Vec::<String>::new(),
            "gp_count_bpe2020" => Vec::<Option<i64>>::new(),
            "gp_masked" => Vec::<Option<bool>>::new(),
        )?,
    };
    reports.extend(area_rep);
    // The boundaries give areas only where INSEE has none: read when present.
    let (bnd, boundaries, boundaries_end) = if let Some((staged, end)) = pending.boundaries {
        progress("commune boundaries (area, centre; read on another thread)");
        let b = match staged.recv() {
            Ok(b) => b,
            // That thread stops before sending only on an error.
            Err(_) => return Err(end().err().expect("the boundaries' thread ended early without an error")),
        };
        let (bnd, r) = boundary_frame(&b, &index, &units)?;
        reports.push(r);
        (Some(bnd), Some(b), Some(end))
    } else {
        (None, None, None)
    };
    reports.extend(bv_rep);
    reports.extend(totale_rep);
    reports.extend(fresh.reports.iter().cloned());

    progress("joining");
    for (other, what) in [(&apl23, "APL 2023"), (&apl22, "APL 2022"), (&bpe, "BPE 2020"), (&area, "areas and centres")]
    {
        wide = by_code.attach(wide, other, what)?;
    }
    let (has_boundary, no_boundaries) = match &bnd {
        Some(b) => {
            wide = by_code.attach(wide, b, "boundaries")?;
            (col("area_km2_boundaries").is_not_null(), vec![])
        }
        None => (
            lit(NULL).cast(DataType::Boolean),
            vec![
                lit(NULL).cast(DataType::Float64).alias("area_km2_boundaries"),
                lit(NULL).cast(DataType::Float64).alias("lat_boundaries"),
                lit(NULL).cast(DataType::Float64).alias("lon_boundaries"),
            ],
        ),
    };
    let wide = by_code.attach(wide, &bv_units, "bassins de vie")?;
    let wide = super::fresh::attach(wide, &by_code, &fresh)?;
    let is_com = col("zone").eq(lit("com"));
    let mut lf = wide.lazy();
    if !no_boundaries.is_empty() {
        lf = lf.with_columns(no_boundaries);
    }
    let communes = lf
        .with_columns([
            has_boundary.alias("has_boundary"),
            text_among(
                vec![
                    (
                        lit(!bpe_present),
                        Some(unavailable("GP counts (RPPS extraction, or the historical BPE 2020)", "rpps")),
                    ),
                    (col("gp_count_bpe2020").is_not_null(), None),
                    (col("gp_masked").fill_null(false), Some(GP_MASKED_NOTE.into())),
                    (
                        col("kind").eq(lit("arrondissement")),
                        Some(
                            "BPE 2020 counts Paris, Lyon and Marseille as whole communes, not per arrondissement"
                                .into(),
                        ),
                    ),
                    (is_com.clone(), Some("BPE does not cover the collectivités d'outre-mer".into())),
                ],
                Some("no BPE 2020 row for this code (commune created or re-created after COG 2021)".into()),
            )
            .alias("gp_count_note"),
            text_among(
                vec![
                    (col("apl_mg_2023").is_not_null(), None),
                    (is_com.clone(), Some("DREES APL does not cover the collectivités d'outre-mer".into())),
                    (col("departement").eq(lit("976")), Some("DREES APL excludes Mayotte".into())),
                    (col("population").eq(lit(0)), Some("uninhabited commune: DREES publishes no APL".into())),
                ],
                Some("no APL 2023 row for this code (commune created or re-created after COG 2023)".into()),
            )
            .alias("apl_note"),
            text_among(
                vec![
                    (col("area_km2").is_not_null(), None),
                    (col("area_masked").fill_null(false), Some(AREA_MASKED_NOTE.into())),
                    (
                        lit(!area_present).and(col("area_km2_boundaries").is_not_null()),
                        Some(AREA_FROM_BOUNDARIES_NO_INSEE.into()),
                    ),
                    (
                        lit(!area_present),
                        Some(unavailable("commune areas (INSEE comparateur de territoires)", "insee_comparateur")),
                    ),
                    (col("area_km2_boundaries").is_not_null(), Some(AREA_FROM_BOUNDARIES.into())),
                    (
                        is_com,
                        Some("the comparateur de territoires does not cover the collectivités d'outre-mer".into()),
                    ),
                ],
                Some("no comparateur row for this code (commune created or re-created after COG 2024)".into()),
            )
            .alias("area_note"),
        ])
        // INSEE's area and centre stay the reference; the boundaries fill in where INSEE has none
        // (the note above says so), but never where the publisher masked the area.
        .with_columns([
            when(col("area_masked").fill_null(false))
                .then(col("area_km2"))
                .otherwise(coalesce(&[col("area_km2"), col("area_km2_boundaries")]))
                .alias("area_km2"),
            coalesce(&[col("lat"), col("lat_boundaries")]).alias("lat"),
            coalesce(&[col("lon"), col("lon_boundaries")]).alias("lon"),
        ])
        .drop(cols(["gp_masked", "area_masked"]));
    let communes = super::fresh::apply(communes, &fresh)
        .select(crate::schema::COMMUNES.iter().map(|c| col(c.name)).collect::<Vec<_>>())
        .collect()?;
    if let Some(r) = reports.iter_mut().find(|r| boundaries.as_ref().is_some_and(|b| b.meta.id == r.source)) {
        r.comparison = Some(area_comparison(&communes)?);
    }
    let BoundaryTail { kept } = match boundaries_end {
        Some(end) => end()?,
        None => BoundaryTail::default(),
    };
    // The boundaries' thread is joined: the index is this thread's alone again.
    let index = Arc::try_unwrap(index).unwrap_or_else(|shared| (*shared).clone());
    let geometry_warnings = boundaries.map(|b| b.warnings).unwrap_or_default();
    Ok(Curated { cog, index, communes, reports, boundaries: kept, geometry_warnings })
}
