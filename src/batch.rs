//! The national batch: every indicator of `diagnose` for every unit of one level (commune, EPCI,
//! bassin de vie, département, région, or every territory file), in one `group_by` pass over the
//! curated table. The indicator expressions are those of `indicators::all_exprs()`, the very ones
//! `diagnose::evaluate` runs in a `select`, so a batch row and a diagnosis of the same units agree
//! by construction (and a test checks it on the real data).
//!
//! Aggregated levels group communes only (`kind = commune`): the arrondissements municipaux of
//! Paris, Lyon and Marseille are parts of a commune row and would count twice. The commune level
//! keeps both kinds, one row per unit, with `kind` to tell them apart; territories keep the units
//! their file resolves to (which never overlap, see `territory::resolve`).

use std::path::Path;

use polars::prelude::*;

use crate::aci::Grid;
use crate::error::{Error, Result};
use crate::indicators::{self, INDICATORS};
use crate::schema;
use crate::sinks::parquet::check_schema;
use crate::sources::decoupage::Cog;
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

/// The value of `c` in the group's most populous unit (ties: smallest code), so that a unit
/// crossing a boundary gets one well-defined département and région.
fn of_most_populous(c: &str) -> Expr {
    col(c)
        .sort_by(
            [col("population"), col("code")],
            SortMultipleOptions::default().with_order_descending_multi([true, false]).with_nulls_last(true),
        )
        .first()
        .alias(c)
}

fn distinct_list(c: &str, alias: &str) -> Expr {
    col(c).drop_nulls().unique().sort(SortOptions::default()).alias(alias)
}

/// `[a, b]` list cells → `"a,b"`.
fn join_lists(df: &mut DataFrame, name: &str) -> Result<()> {
    join_lists_with(df, name, ",")
}

fn join_lists_with(df: &mut DataFrame, name: &str, sep: &str) -> Result<()> {
    let lists = df.column(name)?.list()?.clone();
    let out: Vec<Option<String>> = (0..lists.len())
        .map(|i| -> PolarsResult<Option<String>> {
            let Some(s) = lists.get_as_series(i) else {
                return Ok(None);
            };
            let v: Vec<&str> = s.str()?.iter().flatten().collect();
            Ok((!v.is_empty()).then(|| v.join(sep)))
        })
        .collect::<PolarsResult<_>>()?;
    df.with_column(Column::new(name.into(), out))?;
    Ok(())
}

/// A list of per-unit reasons → `"reason (n units); other (m units)"`, null when none.
fn summarize_notes(df: &mut DataFrame, name: &str) -> Result<()> {
    let lists = df.column(name)?.list()?.clone();
    let out: Vec<Option<String>> = (0..lists.len())
        .map(|i| -> PolarsResult<Option<String>> {
            let Some(s) = lists.get_as_series(i) else {
                return Ok(None);
            };
            let mut counts: Vec<(&str, usize)> = Vec::new();
            let ca = s.str()?.clone();
            for r in ca.iter().flatten() {
                match counts.iter_mut().find(|(x, _)| *x == r) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((r, 1)),
                }
            }
            if counts.is_empty() {
                return Ok(None);
            }
            let parts: Vec<String> =
                counts.iter().map(|(r, n)| format!("{r} ({n} unit{})", if *n > 1 { "s" } else { "" })).collect();
            Ok(Some(parts.join("; ")))
        })
        .collect::<PolarsResult<_>>()?;
    df.with_column(Column::new(name.into(), out))?;
    Ok(())
}

/// The one aggregation of every level: group `lf` by `key`, keep `attrs`, add every indicator,
/// the note summaries and the ACI columns, and give the declared columns in order.
fn aggregate(lf: LazyFrame, level: Level, key: Expr, attrs: Vec<Expr>, grid: &Grid) -> Result<DataFrame> {
    let lists = !matches!(level, Level::Commune | Level::Departement | Level::Region);
    let mut aggs = attrs;
    if lists {
        aggs.push(of_most_populous("departement"));
        aggs.push(of_most_populous("departement_name"));
        aggs.push(of_most_populous("region"));
        aggs.push(of_most_populous("region_name"));
        aggs.push(distinct_list("departement", "departements"));
        aggs.push(distinct_list("region", "regions"));
    }
    aggs.extend(indicators::all_exprs());
    aggs.push(distinct_list("population_totale_vintage", "population_totale_vintage"));
    let notes = note_columns();
    aggs.extend(notes.iter().map(|n| col(*n).drop_nulls().alias(*n)));

    // Same rule as `evaluate`: a non-finite figure is no figure.
    let finite: Vec<Expr> = INDICATORS
        .iter()
        .map(|i| when(col(i.id).is_finite()).then(col(i.id)).otherwise(lit(NULL).cast(DataType::Float64)).alias(i.id))
        .collect();
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
    let mut df = lf
        .group_by([key])
        .agg(aggs)
        .with_columns(finite)
        .with_columns(aci)
        .sort([level.key()], SortMultipleOptions::default())
        .collect()?;
    if lists {
        join_lists(&mut df, "departements")?;
        join_lists(&mut df, "regions")?;
    }
    join_lists_with(&mut df, "population_totale_vintage", " | ")?;
    for n in notes {
        summarize_notes(&mut df, n)?;
    }
    let declared = schema::batch(level);
    let df = df.select(declared.iter().map(|c| c.name))?;
    check_schema(Path::new(level.id()), &df, declared)?;
    Ok(df)
}

fn communes_only(curated: &DataFrame) -> LazyFrame {
    curated.clone().lazy().filter(col("kind").eq(lit("commune")))
}

/// Communes with no unit at `key` (islands outside any EPCI, COM, communes re-created after the
/// zonage): listed, not counted anywhere at that level.
fn without_key(curated: &DataFrame, key: &str, reason: &dyn Fn(&str) -> String) -> Result<Vec<Excluded>> {
    let rows =
        communes_only(curated).filter(col(key).is_null()).select([col("code"), col("name"), col("zone")]).collect()?;
    let (codes, names, zones) = (rows.column("code")?.str()?, rows.column("name")?.str()?, rows.column("zone")?.str()?);
    Ok(codes
        .iter()
        .zip(names.iter())
        .zip(zones.iter())
        .map(|((c, n), z)| Excluded {
            code: c.unwrap_or_default().to_string(),
            name: n.unwrap_or_default().to_string(),
            reason: reason(z.unwrap_or_default()),
        })
        .collect())
}

/// Every unit of `level` (not `Territories`, see [`territories`]) from the curated table.
pub fn compute(curated: &DataFrame, level: Level, grid: &Grid) -> Result<BatchTable> {
    let first = |cs: &[&str]| cs.iter().map(|c| col(*c).first().alias(*c)).collect::<Vec<_>>();
    let (frame, excluded) = match level {
        Level::Commune => {
            let attrs = first(&[
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
            ]);
            (aggregate(curated.clone().lazy(), level, col("code"), attrs, grid)?, Vec::new())
        }
        Level::Epci => {
            let excluded = without_key(curated, "epci", &|z| {
                if z == "com" {
                    "collectivité d'outre-mer: no EPCI".into()
                } else {
                    "belongs to no EPCI (DGCL composition 2026)".into()
                }
            })?;
            let lf = communes_only(curated).filter(col("epci").is_not_null());
            (aggregate(lf, level, col("epci"), first(&["epci_name"]), grid)?, excluded)
        }
        Level::BassinDeVie => {
            let excluded = without_key(curated, "bv2022", &|z| {
                if z == "com" {
                    "collectivité d'outre-mer: outside the zonage en bassins de vie".into()
                } else {
                    "no bassin de vie in the TAGC 2024 (commune re-created since)".into()
                }
            })?;
            let lf = communes_only(curated).filter(col("bv2022").is_not_null());
            (aggregate(lf, level, col("bv2022"), first(&["bv2022_name"]), grid)?, excluded)
        }
        Level::Departement => {
            let attrs = first(&["departement_name", "region", "region_name", "zone"]);
            (aggregate(communes_only(curated), level, col("departement"), attrs, grid)?, Vec::new())
        }
        Level::Region => {
            let attrs = first(&["region_name", "zone"]);
            (aggregate(communes_only(curated), level, col("region"), attrs, grid)?, Vec::new())
        }
        Level::Territories => {
            return Err(Error::Config("the territories level needs its territory files: use batch::territories".into()))
        }
    };
    Ok(BatchTable { level, frame, excluded })
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

/// One row per territory, through the same aggregation as the other levels: the territories'
/// memberships are joined to the curated units, then grouped by territory. A unit may belong to
/// several territories.
pub fn territories(curated: &DataFrame, list: &[(String, Territory)], grid: &Grid) -> Result<BatchTable> {
    let mut ids: Vec<&str> = Vec::new();
    let mut codes: Vec<&str> = Vec::new();
    for (id, t) in list {
        for c in &t.codes {
            ids.push(id);
            codes.push(c);
        }
    }
    let members = df!("territory" => ids, "code" => codes)?;
    let names = df!(
        "territory" => list.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(),
        "territory_name" => list.iter().map(|(_, t)| t.name.as_str()).collect::<Vec<_>>(),
    )?;
    let lf = members
        .lazy()
        .join(names.lazy(), [col("territory")], [col("territory")], JoinArgs::new(JoinType::Left))
        .join(curated.clone().lazy(), [col("code")], [col("code")], JoinArgs::new(JoinType::Inner));
    let frame = aggregate(lf, Level::Territories, col("territory"), vec![col("territory_name").first()], grid)?;
    Ok(BatchTable { level: Level::Territories, frame, excluded: Vec::new() })
}
