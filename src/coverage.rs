//! Every CPTS of a région at once, from a listing of perimeters (an ARS listing as CSV, a GeoJSON
//! of perimeters, or a folder of territory files): which units each CPTS covers, the région's
//! coverage, the units in several CPTS, the zones blanches and which adjacent CPTS they could
//! join, and one batch row per CPTS.
//!
//! Units are communes, except the cities whose arrondissements the listing uses (Marseille in the
//! ARS PACA listing): those are counted by arrondissement, and a CPTS listing such a city whole
//! covers all its arrondissements. A unit listed by several CPTS counts fully in each CPTS's own
//! figures (as each CPTS states them) and once in the région's coverage.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde::Serialize;

use crate::aci::Grid;
use crate::batch;
use crate::error::{Error, Location, Result};
use crate::geo::Geography;
use crate::sources::decoupage::{Cog, UnitKind};
use crate::sources::listing;
use crate::territory::{self, Territory, TerritorySpec};
use crate::transforms::cog::CogIndex;

/// One CPTS as the listing gives it, before resolution.
#[derive(Debug, Clone)]
pub struct ListedCpts {
    pub name: String,
    /// File and line (CSV) or file (GeoJSON feature, TOML file) it was read from.
    pub origin: Location,
    pub spec: TerritorySpec,
    /// Codes given as arrondissements (CSV `arrondissements` column), for error messages.
    pub arrondissements: Vec<String>,
    /// The perimeter of a GeoJSON feature without codes: its communes are those mostly inside.
    pub perimeter: Option<geo::MultiPolygon<f64>>,
}

#[derive(Debug, Clone)]
pub struct Listing {
    pub path: PathBuf,
    pub entries: Vec<ListedCpts>,
}

impl Listing {
    /// Whether resolving needs the commune boundaries (GeoJSON perimeters, `polygon` specs).
    pub fn needs_geography(&self) -> bool {
        self.entries.iter().any(|e| e.spec.polygon.is_some() || e.perimeter.is_some())
    }
}

/// Read a listing: a CSV or GeoJSON file (see `sources::listing`), or a folder of territory TOML
/// files. Two CPTS with the same name (case aside) are an error naming both places.
pub fn read_listing(path: &Path) -> Result<Listing> {
    let entries = if path.is_dir() {
        batch::load_territory_specs(path)?
            .into_iter()
            .map(|(id, spec)| ListedCpts {
                name: spec.name.clone(),
                origin: Location::file(&path.join(format!("{id}.toml"))),
                spec,
                arrondissements: Vec::new(),
                perimeter: None,
            })
            .collect()
    } else {
        listing::read(path)?
            .into_iter()
            .map(|r| {
                let mut codes = r.communes;
                codes.extend(r.arrondissements.iter().cloned());
                ListedCpts {
                    name: r.name.clone(),
                    origin: r.origin,
                    spec: TerritorySpec { name: r.name, communes: codes, ..Default::default() },
                    arrondissements: r.arrondissements,
                    perimeter: r.perimeter,
                }
            })
            .collect()
    };
    check_names(Listing { path: path.to_path_buf(), entries })
}

fn check_names(listing: Listing) -> Result<Listing> {
    let mut seen: HashMap<String, &Location> = HashMap::new();
    for e in &listing.entries {
        let key = e.name.trim().to_lowercase();
        if let Some(first) = seen.get(&key) {
            return Err(Error::data(
                e.origin.clone().col("nom"),
                format!("duplicated CPTS name \"{}\" (first listed at {first})", e.name),
            ));
        }
        seen.insert(key, &e.origin);
    }
    Ok(listing)
}

/// A CPTS resolved to COG 2026 units.
#[derive(Debug, Clone)]
pub struct Cpts {
    /// Row key of the tables: a slug of the name.
    pub id: String,
    pub origin: Location,
    pub territory: Territory,
}

fn slug(s: &str) -> String {
    let folded: String = s
        .to_lowercase()
        .chars()
        .map(|c| match c {
            'à' | 'â' | 'ä' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'î' | 'ï' => 'i',
            'ô' | 'ö' => 'o',
            'ù' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            c if c.is_ascii_alphanumeric() => c,
            _ => '-',
        })
        .collect();
    folded.split('-').filter(|p| !p.is_empty()).collect::<Vec<_>>().join("-")
}

/// Resolve every CPTS of the listing with the rules of `diagnose` (former codes remapped with a
/// warning, unknown codes an error naming the line). A city listed with some of its
/// arrondissements means those arrondissements.
pub fn resolve_listing(listing: &Listing, cog: &Cog, index: &CogIndex, ctx: territory::Context) -> Result<Vec<Cpts>> {
    let mut out: Vec<Cpts> = Vec::new();
    let mut ids: BTreeSet<String> = BTreeSet::new();
    for e in &listing.entries {
        let mut spec = e.spec.clone();
        if let Some(shape) = &e.perimeter {
            let g = ctx.geography.ok_or_else(|| {
                Error::data(
                    e.origin.clone(),
                    format!("CPTS \"{}\": a perimeter polygon needs the commune boundaries", e.name),
                )
            })?;
            let codes = territory::communes_in_polygon(g, shape);
            if codes.is_empty() {
                return Err(Error::data(
                    e.origin.clone(),
                    format!("CPTS \"{}\": no commune lies mostly inside its perimeter", e.name),
                ));
            }
            spec.communes = codes;
        }
        // The listed cities whose arrondissements the same row lists: the arrondissements win.
        let arr_parents: BTreeSet<String> = spec
            .communes
            .iter()
            .filter_map(|c| index.current_code(c.trim()))
            .filter(|c| index.kind(c) == Some(UnitKind::Arrondissement))
            .filter_map(|c| index.parent(&c).map(str::to_string))
            .collect();
        spec.communes.retain(|c| !arr_parents.contains(c.trim()));
        let t = territory::resolve_in(&spec, cog, index, ctx).map_err(|err| match err {
            Error::Territory { message, .. } => {
                let column = if e.arrondissements.iter().any(|a| message.contains(a.as_str())) {
                    "arrondissements"
                } else {
                    "communes"
                };
                let loc = if e.origin.line.is_some() { e.origin.clone().col(column) } else { e.origin.clone() };
                Error::data(loc, format!("CPTS \"{}\": {message}", e.name))
            }
            other => other,
        })?;
        let mut id = slug(&t.name);
        if id.is_empty() {
            id = "cpts".into();
        }
        let base = id.clone();
        let mut n = 2;
        while !ids.insert(id.clone()) {
            id = format!("{base}-{n}");
            n += 1;
        }
        out.push(Cpts { id, origin: e.origin.clone(), territory: t });
    }
    Ok(out)
}

/// Facts on one unit of the région's layer.
#[derive(Debug, Clone, Serialize)]
pub struct UnitFacts {
    pub code: String,
    pub name: String,
    pub departement: String,
    pub population: i64,
    /// DREES APL 2023.
    pub apl_mg: Option<f64>,
    /// BPE 2020 médecins généralistes libéraux (null for an arrondissement: BPE counts the city).
    pub gp_count: Option<i64>,
    /// The population the ACI grid counts (municipale or totale, `aci.toml`).
    pub aci_population: i64,
}

/// What joining a zone blanche does to an adjacent CPTS (ACI grid, on the population it counts).
#[derive(Debug, Clone, Serialize)]
pub struct JoinOption {
    pub cpts: String,
    /// `municipale` or `totale`: the population of `population_before` and `population_after`.
    pub population_basis: String,
    pub population_before: i64,
    pub population_after: i64,
    pub band_before: u8,
    pub band_after: u8,
    pub max_funding_before_eur: i64,
    pub max_funding_after_eur: i64,
    /// Inhabitants the CPTS still lacks for its next band after joining (`None`: last band).
    pub inhabitants_to_next_band_after: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NotCovered {
    pub code: String,
    pub name: String,
    pub population: i64,
    pub apl_mg: Option<f64>,
    pub gp_count: Option<i64>,
    /// CPTS sharing a border with the unit.
    pub adjacent_cpts: Vec<String>,
    /// Each adjacent CPTS with what joining does to its band and funding; band gains first.
    pub options: Vec<JoinOption>,
}

#[derive(Debug, Clone, Serialize)]
pub struct InSeveral {
    pub code: String,
    pub name: String,
    pub population: i64,
    pub cpts: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Outside {
    pub code: String,
    pub name: String,
    pub region: String,
    pub cpts: String,
    /// Where the CPTS is listed (`file:line`).
    pub listed_at: String,
}

/// The région's coverage by the listed CPTS.
pub struct Coverage {
    pub listing: PathBuf,
    pub region: String,
    pub region_name: String,
    pub cpts: Vec<Cpts>,
    /// The région's units, sorted: communes, and the arrondissements of the cities split.
    pub layer: Vec<String>,
    /// Cities counted by arrondissement.
    pub split_cities: Vec<String>,
    pub units: BTreeMap<String, UnitFacts>,
    /// Unit of the layer → indices in `cpts` of the CPTS covering it.
    pub membership: BTreeMap<String, Vec<usize>>,
    pub region_population: i64,
    pub population_covered: i64,
    pub not_covered: Vec<NotCovered>,
    pub in_several: Vec<InSeveral>,
    pub outside: Vec<Outside>,
    /// For each CPTS (index in `cpts`), the CPTS it borders, by index.
    pub neighbours: Vec<BTreeSet<usize>>,
    /// Warnings of the resolution, `file:line: CPTS "…": …`.
    pub warnings: Vec<String>,
    /// One row per CPTS; schema `schema::COVERAGE_CPTS`.
    pub table: DataFrame,
    /// Whether adjacency was computed (the boundaries were read).
    pub has_geography: bool,
}

impl Coverage {
    pub fn population_not_covered(&self) -> i64 {
        self.not_covered.iter().map(|u| u.population).sum()
    }

    /// The CPTS's units in the région's layer (a split city listed whole: its arrondissements).
    pub fn cpts_units(&self, i: usize) -> Vec<&str> {
        self.membership.iter().filter(|(_, v)| v.contains(&i)).map(|(k, _)| k.as_str()).collect()
    }
}

/// A unit's facts with its région, kind and parent city.
type UnitRow = (UnitFacts, String, String, Option<String>);

fn unit_facts(curated: &DataFrame, filter: Expr, aci_population: &str) -> Result<Vec<UnitRow>> {
    let d = curated
        .clone()
        .lazy()
        .filter(filter)
        .select([
            col("code"),
            col("name"),
            col("departement"),
            col("population").cast(DataType::Int64),
            col(aci_population).cast(DataType::Int64).alias("aci_population"),
            col("apl_mg_2023"),
            col("gp_count_bpe2020").cast(DataType::Int64),
            col("region"),
            col("kind"),
            col("parent_code"),
        ])
        .collect()?;
    let s = |c: &str| -> Result<Vec<Option<String>>> {
        Ok(d.column(c)?.str()?.iter().map(|v| v.map(str::to_string)).collect())
    };
    let (code, name, dep, region, kind, parent) =
        (s("code")?, s("name")?, s("departement")?, s("region")?, s("kind")?, s("parent_code")?);
    let pop: Vec<Option<i64>> = d.column("population")?.i64()?.iter().collect();
    let aci_pop: Vec<Option<i64>> = d.column("aci_population")?.i64()?.iter().collect();
    let apl: Vec<Option<f64>> = d.column("apl_mg_2023")?.f64()?.iter().collect();
    let gp: Vec<Option<i64>> = d.column("gp_count_bpe2020")?.i64()?.iter().collect();
    Ok((0..d.height())
        .map(|i| {
            (
                UnitFacts {
                    code: code[i].clone().unwrap_or_default(),
                    name: name[i].clone().unwrap_or_default(),
                    departement: dep[i].clone().unwrap_or_default(),
                    population: pop[i].unwrap_or(0),
                    apl_mg: apl[i].filter(|v| v.is_finite()),
                    gp_count: gp[i],
                    aci_population: aci_pop[i].or(pop[i]).unwrap_or(0),
                },
                region[i].clone().unwrap_or_default(),
                kind[i].clone().unwrap_or_default(),
                parent[i].clone(),
            )
        })
        .collect())
}

/// What a coverage is computed on.
#[derive(Clone, Copy)]
pub struct Inputs<'a> {
    pub cog: &'a Cog,
    pub index: &'a CogIndex,
    pub curated: &'a DataFrame,
    pub geography: Option<&'a Geography>,
    pub grid: &'a Grid,
}

/// The coverage of `region` (default: the région most listed units fall in) by `cpts`.
pub fn compute(listing: &Path, cpts: Vec<Cpts>, region: Option<&str>, inp: Inputs) -> Result<Coverage> {
    let Inputs { cog, index, curated, geography, grid } = inp;
    let region_of = |code: &str| cog.units.iter().find(|u| u.code == code).map(|u| u.region.to_string());
    let region = match region {
        Some(r) => {
            if !cog.regions.iter().any(|a| a.code == r) {
                return Err(Error::Config(format!("--region {r}: not a région code of COG 2026")));
            }
            r.to_string()
        }
        None => {
            let mut counts: BTreeMap<String, usize> = BTreeMap::new();
            for c in cpts.iter().flat_map(|c| &c.territory.codes) {
                if let Some(r) = region_of(c) {
                    *counts.entry(r).or_default() += 1;
                }
            }
            counts
                .into_iter()
                .max_by_key(|(r, n)| (*n, std::cmp::Reverse(r.clone())))
                .map(|(r, _)| r)
                .unwrap_or_default()
        }
    };
    let region_name = cog.region_name(&region).unwrap_or("?").to_string();

    let mut warnings = Vec::new();
    let mut outside = Vec::new();
    for c in &cpts {
        for w in &c.territory.warnings {
            warnings.push(format!("{}: CPTS \"{}\": {w}", c.origin, c.territory.name));
        }
        for code in &c.territory.codes {
            let r = region_of(code).unwrap_or_default();
            if r != region {
                let name = cog.units.iter().find(|u| u.code == *code).map_or("?", |u| u.name.as_str());
                warnings.push(format!(
                    "{}: CPTS \"{}\": {code} {name} is in région {r} {}, not in {region} {region_name}: counted in the CPTS's figures, not in the région's coverage",
                    c.origin,
                    c.territory.name,
                    cog.region_name(&r).unwrap_or("?")
                ));
                outside.push(Outside {
                    code: code.clone(),
                    name: name.to_string(),
                    region: r,
                    cpts: c.territory.name.clone(),
                    listed_at: c.origin.to_string(),
                });
            }
        }
    }

    // Cities counted by arrondissement: those whose arrondissements some CPTS lists.
    let split: BTreeSet<String> = cpts
        .iter()
        .flat_map(|c| &c.territory.codes)
        .filter(|c| index.kind(c) == Some(UnitKind::Arrondissement))
        .filter_map(|c| index.parent(c).map(str::to_string))
        .collect();
    let basis = grid.population.indicator();
    let rows = unit_facts(curated, col("region").eq(lit(region.as_str())), basis)?;
    let mut units: BTreeMap<String, UnitFacts> = BTreeMap::new();
    let mut arrondissements_of: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (f, _, kind, parent) in rows {
        let in_layer = match kind.as_str() {
            "arrondissement" => parent.as_ref().is_some_and(|p| split.contains(p)),
            _ => !split.contains(&f.code),
        };
        if kind == "arrondissement" {
            if let Some(p) = &parent {
                arrondissements_of.entry(p.clone()).or_default().push(f.code.clone());
            }
        }
        if in_layer {
            units.insert(f.code.clone(), f);
        }
    }
    let layer: Vec<String> = units.keys().cloned().collect();
    let mut membership: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, c) in cpts.iter().enumerate() {
        for code in &c.territory.codes {
            let expanded = match arrondissements_of.get(code) {
                Some(arrs) if split.contains(code) => arrs.clone(),
                _ => vec![code.clone()],
            };
            for u in expanded {
                if units.contains_key(&u) {
                    let v = membership.entry(u).or_default();
                    if !v.contains(&i) {
                        v.push(i);
                    }
                }
            }
        }
    }
    let region_population: i64 = units.values().map(|u| u.population).sum();
    let population_covered: i64 = membership.keys().map(|c| units[c].population).sum();
    let names = |v: &[usize]| -> Vec<String> { v.iter().map(|&i| cpts[i].territory.name.clone()).collect() };
    let in_several: Vec<InSeveral> = membership
        .iter()
        .filter(|(_, v)| v.len() > 1)
        .map(|(c, v)| InSeveral {
            code: c.clone(),
            name: units[c].name.clone(),
            population: units[c].population,
            cpts: names(v),
        })
        .collect();

    // Adjacency in the région's layer: CPTS to CPTS, zone blanche to CPTS.
    let mut neighbours: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); cpts.len()];
    let mut adjacent: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    if let Some(g) = geography {
        for b in g.borders(&layer) {
            let (ma, mb) = (membership.get(&b.a), membership.get(&b.b));
            match (ma, mb) {
                (Some(a), Some(bb)) => {
                    for &i in a {
                        for &j in bb {
                            if i != j {
                                neighbours[i].insert(j);
                                neighbours[j].insert(i);
                            }
                        }
                    }
                }
                (Some(a), None) if units.contains_key(&b.b) => adjacent.entry(b.b.clone()).or_default().extend(a),
                (None, Some(bb)) if units.contains_key(&b.a) => adjacent.entry(b.a.clone()).or_default().extend(bb),
                _ => {}
            }
        }
    }

    let table = cpts_table(curated, &cpts, grid, &membership, &neighbours, &units, &outside)?;
    let pops: Vec<i64> = {
        let ids: Vec<&str> = table.column("territory")?.str()?.iter().map(|s| s.unwrap_or_default()).collect();
        let p: Vec<Option<f64>> = table.column(basis)?.f64()?.iter().collect();
        cpts.iter()
            .map(|c| ids.iter().position(|id| *id == c.id).and_then(|k| p[k]).unwrap_or(0.0).round() as i64)
            .collect()
    };
    let not_covered: Vec<NotCovered> = layer
        .iter()
        .filter(|c| !membership.contains_key(*c))
        .map(|c| {
            let u = &units[c];
            let adj: Vec<usize> = adjacent.get(c).map(|s| s.iter().copied().collect()).unwrap_or_default();
            let mut options: Vec<JoinOption> = adj
                .iter()
                .map(|&i| {
                    let before = grid.place(pops[i]);
                    let after = grid.place(pops[i] + u.aci_population);
                    JoinOption {
                        cpts: cpts[i].territory.name.clone(),
                        population_basis: grid.population.as_str().to_string(),
                        population_before: pops[i],
                        population_after: pops[i] + u.aci_population,
                        band_before: before.taille,
                        band_after: after.taille,
                        max_funding_before_eur: before.max_annual_funding_2019_eur,
                        max_funding_after_eur: after.max_annual_funding_2019_eur,
                        inhabitants_to_next_band_after: after.inhabitants_to_next_band,
                    }
                })
                .collect();
            options.sort_by(|a, b| {
                (b.band_after - b.band_before)
                    .cmp(&(a.band_after - a.band_before))
                    .then(
                        a.inhabitants_to_next_band_after
                            .unwrap_or(i64::MAX)
                            .cmp(&b.inhabitants_to_next_band_after.unwrap_or(i64::MAX)),
                    )
                    .then(a.cpts.cmp(&b.cpts))
            });
            NotCovered {
                code: c.clone(),
                name: u.name.clone(),
                population: u.population,
                apl_mg: u.apl_mg,
                gp_count: u.gp_count,
                adjacent_cpts: names(&adj),
                options,
            }
        })
        .collect();

    Ok(Coverage {
        listing: listing.to_path_buf(),
        region,
        region_name,
        cpts,
        layer,
        split_cities: split.into_iter().collect(),
        units,
        membership,
        region_population,
        population_covered,
        not_covered,
        in_several,
        outside,
        neighbours,
        warnings,
        table,
        has_geography: geography.is_some(),
    })
}

/// The batch row of every CPTS (`batch::territories`) with the coverage columns.
fn cpts_table(
    curated: &DataFrame,
    cpts: &[Cpts],
    grid: &Grid,
    membership: &BTreeMap<String, Vec<usize>>,
    neighbours: &[BTreeSet<usize>],
    units: &BTreeMap<String, UnitFacts>,
    outside: &[Outside],
) -> Result<DataFrame> {
    let list: Vec<(String, Territory)> = cpts.iter().map(|c| (c.id.clone(), c.territory.clone())).collect();
    let t = batch::territories(curated, &list, grid)?;
    let ids: Vec<String> =
        t.frame.column("territory")?.str()?.iter().map(|s| s.unwrap_or_default().to_string()).collect();
    let by_id: HashMap<&str, usize> = cpts.iter().enumerate().map(|(i, c)| (c.id.as_str(), i)).collect();
    let mut listed_at = Vec::new();
    let mut shared = Vec::new();
    let mut shared_count = Vec::new();
    let mut neighbour_col = Vec::new();
    let mut outside_col = Vec::new();
    for id in &ids {
        let i = by_id[id.as_str()];
        listed_at.push(cpts[i].origin.to_string());
        let mine: Vec<(&String, &Vec<usize>)> =
            membership.iter().filter(|(_, v)| v.len() > 1 && v.contains(&i)).collect();
        shared_count.push(mine.len() as i64);
        let s: Vec<String> = mine
            .iter()
            .map(|(code, v)| {
                let others: Vec<&str> =
                    v.iter().filter(|&&j| j != i).map(|&j| cpts[j].territory.name.as_str()).collect();
                format!("{code} {} ({})", units[*code].name, others.join(", "))
            })
            .collect();
        shared.push((!s.is_empty()).then(|| s.join("; ")));
        let mut n: Vec<&str> = neighbours[i].iter().map(|&j| cpts[j].territory.name.as_str()).collect();
        n.sort();
        neighbour_col.push((!n.is_empty()).then(|| n.join("; ")));
        let o: Vec<&str> =
            outside.iter().filter(|o| o.cpts == cpts[i].territory.name).map(|o| o.code.as_str()).collect();
        outside_col.push((!o.is_empty()).then(|| o.join(",")));
    }
    let mut df = t.frame;
    df.with_column(Column::new("listed_at".into(), listed_at))?;
    df.with_column(Column::new("shared_units_count".into(), shared_count))?;
    df.with_column(Column::new("shared_units".into(), shared))?;
    df.with_column(Column::new("neighbour_cpts".into(), neighbour_col))?;
    df.with_column(Column::new("units_outside_region".into(), outside_col))?;
    let declared = crate::schema::coverage_cpts();
    let df = df.select(declared.iter().map(|c| c.name))?;
    crate::sinks::parquet::check_schema(Path::new("cpts"), &df, declared)?;
    Ok(df)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_ascii_and_stable() {
        assert_eq!(slug("CPTS Activ Santé (Marseille 4-5)"), "cpts-activ-sante-marseille-4-5");
        assert_eq!(slug("Drôme Provençale Enclave des Papes"), "drome-provencale-enclave-des-papes");
    }
}
