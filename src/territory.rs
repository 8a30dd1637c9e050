//! Territory specifications (TOML file or command line) and their resolution to a set of COG 2026
//! units. Urban CPTS are drawn on arrondissements municipaux, so `75113` is a valid unit.
//!
//! Besides lists, a territory can take every commune of a GeoJSON polygon (communes whose area
//! lies mostly inside), of a radius around a commune's centre, of bassins de vie 2022 or of
//! départements; all of these are united, then `exclude` is removed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::sources::decoupage::{Cog, UnitKind};
use crate::sources::table::{levenshtein, normalize_commune_code};
use crate::transforms::cog::{CogIndex, Resolution};

/// `data/territories/*.toml`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TerritorySpec {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Commune or arrondissement codes (current or former).
    #[serde(default)]
    pub communes: Vec<String>,
    /// EPCI SIREN codes: all their member communes.
    #[serde(default)]
    pub epci: Vec<String>,
    /// GeoJSON file (Polygon/MultiPolygon, WGS84; Feature, FeatureCollection or bare geometry),
    /// relative to the TOML file: the communes whose area lies mostly (> 50 %) inside.
    #[serde(default)]
    pub polygon: Option<PathBuf>,
    /// Communes whose centre lies within `km` of the centre of `commune`.
    #[serde(default)]
    pub radius: Option<Radius>,
    /// Bassins de vie 2022 (code of their pole commune): all their communes.
    #[serde(default)]
    pub bv: Vec<String>,
    /// Département codes: all their communes.
    #[serde(default)]
    pub departements: Vec<String>,
    /// Codes removed after the lists above are expanded.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// What-if scenarios (`[[scenario]]`): GPs added or removed, see docs/access.md.
    #[serde(default, rename = "scenario")]
    pub scenarios: Vec<ScenarioSpec>,
    /// Folder the TOML file was read from (relative paths are read from there).
    #[serde(skip)]
    pub base_dir: Option<PathBuf>,
}

/// One `[[scenario]]` of a territory file: GPs added to or removed from units (any unit, inside
/// the territory or not). Counts are signed here so that a negative one can be refused by name.
#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScenarioSpec {
    pub name: String,
    #[serde(default)]
    pub add_gps: std::collections::BTreeMap<String, i64>,
    #[serde(default)]
    pub remove_gps: std::collections::BTreeMap<String, i64>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Radius {
    /// Commune code or exact name.
    pub commune: String,
    pub km: f64,
}

/// What the geographic definitions need beyond the COG: the curated table (centres, bassins de
/// vie) and the boundaries (polygon). A definition that needs what is absent is an error.
#[derive(Default, Clone, Copy)]
pub struct Context<'a> {
    pub curated: Option<&'a DataFrame>,
    pub geography: Option<&'a crate::geo::Geography>,
}

impl TerritorySpec {
    pub fn load(path: &Path) -> Result<TerritorySpec> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let mut spec: TerritorySpec =
            toml::from_str(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        spec.base_dir = path.parent().map(Path::to_path_buf);
        Ok(spec)
    }

    /// Whether resolving needs the curated table or the boundaries.
    pub fn needs_context(&self) -> bool {
        self.polygon.is_some() || self.radius.is_some() || !self.bv.is_empty()
    }

    /// `--communes 28088,28103`.
    pub fn from_codes(name: Option<&str>, codes: &str) -> TerritorySpec {
        let communes: Vec<String> = codes.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
        TerritorySpec {
            name: name.map(str::to_string).unwrap_or_else(|| format!("communes {}", communes.join(", "))),
            communes,
            ..Default::default()
        }
    }
}

#[derive(Debug, Clone)]
pub struct Territory {
    pub name: String,
    pub description: Option<String>,
    /// COG 2026 unit codes, sorted, without duplicates or overlaps.
    pub codes: Vec<String>,
    pub warnings: Vec<String>,
}

fn fold(s: &str) -> String {
    s.to_lowercase()
        .chars()
        .map(|c| match c {
            'à' | 'â' | 'ä' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'î' | 'ï' => 'i',
            'ô' | 'ö' => 'o',
            'ù' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            '-' | '\'' | '’' => ' ',
            c => c,
        })
        .collect()
}

/// Units whose code or name is closest to what was typed, for error messages.
fn suggestions(cog: &Cog, typed: &str) -> String {
    let t = fold(typed);
    let mut scored: Vec<(usize, &str, &str)> = cog
        .units
        .iter()
        .map(|u| {
            let d = if typed.chars().next().is_some_and(|c| c.is_ascii_digit()) {
                levenshtein(typed, &u.code)
            } else {
                levenshtein(&t, &fold(&u.name))
            };
            (d, u.code.as_str(), u.name.as_str())
        })
        .collect();
    scored.sort();
    let close: Vec<String> =
        scored.iter().filter(|(d, _, _)| *d <= 2).take(5).map(|(_, c, n)| format!("{c} {n}")).collect();
    if close.is_empty() {
        String::new()
    } else {
        format!("; close matches: {}", close.join(", "))
    }
}

fn name_of<'a>(cog: &'a Cog, code: &str) -> &'a str {
    cog.units.iter().find(|u| u.code == code).map_or("?", |u| u.name.as_str())
}

/// Resolve one typed entry (a code, a former code or an exact commune name) to a COG 2026 unit.
fn resolve_entry(
    cog: &Cog,
    index: &CogIndex,
    spec_name: &str,
    raw: &str,
    warnings: &mut Vec<String>,
) -> Result<String> {
    let err = |m: String| Error::Territory { name: spec_name.to_string(), message: m };
    // Corsica codes typed in lower case (`2a004`) are the same code: read them, and say so.
    let upper = raw.trim().to_ascii_uppercase();
    let code = normalize_commune_code(raw).or_else(|| {
        let c = normalize_commune_code(&upper)?;
        warnings.push(format!("\"{}\" read as commune code {c}", raw.trim()));
        Some(c)
    });
    if let Some(code) = code {
        return match index.resolve(&code) {
            Resolution::Current => Ok(code),
            Resolution::Remapped(to) => {
                warnings.push(format!(
                    "{code} is a former commune code, merged into {to} {} (COG 2026)",
                    name_of(cog, &to)
                ));
                Ok(to)
            }
            Resolution::Unknown => Err(err(format!("unknown commune code {code}{}", suggestions(cog, &code)))),
        };
    }
    let t = fold(raw.trim());
    let hits: Vec<&str> = cog.units.iter().filter(|u| fold(&u.name) == t).map(|u| u.code.as_str()).collect();
    match hits.as_slice() {
        [one] => {
            warnings.push(format!("\"{raw}\" read as commune {one} {}", name_of(cog, one)));
            Ok(one.to_string())
        }
        [] => Err(err(format!("\"{raw}\" is neither a commune code nor a commune name{}", suggestions(cog, raw)))),
        many => Err(err(format!("\"{raw}\" names several communes: {}; give the code", many.join(", ")))),
    }
}

pub fn resolve(spec: &TerritorySpec, cog: &Cog, index: &CogIndex) -> Result<Territory> {
    resolve_in(spec, cog, index, Context::default())
}

/// Codes of the curated table's communes (not arrondissements) matching `filter`, sorted.
fn curated_codes(curated: &DataFrame, filter: Expr) -> Result<Vec<String>> {
    let d =
        curated.clone().lazy().filter(col("kind").eq(lit("commune")).and(filter)).select([col("code")]).collect()?;
    let mut v: Vec<String> = d.column("code")?.str()?.iter().flatten().map(str::to_string).collect();
    v.sort();
    Ok(v)
}

/// Read a GeoJSON polygon (Feature, FeatureCollection or geometry) as one multipolygon.
pub fn read_polygon(path: &Path) -> Result<geo::MultiPolygon<f64>> {
    use geojson::GeoJson;
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let gj: GeoJson = text.parse().map_err(|e| Error::Config(format!("{}: not GeoJSON: {e}", path.display())))?;
    let geometries: Vec<geojson::Geometry> = match gj {
        GeoJson::Geometry(g) => vec![g],
        GeoJson::Feature(f) => f.geometry.into_iter().collect(),
        GeoJson::FeatureCollection(fc) => fc.features.into_iter().filter_map(|f| f.geometry).collect(),
    };
    let mut polys = Vec::new();
    for g in geometries {
        match geo::Geometry::<f64>::try_from(&g.value) {
            Ok(geo::Geometry::Polygon(p)) => polys.push(p),
            Ok(geo::Geometry::MultiPolygon(m)) => polys.extend(m),
            Ok(other) => {
                return Err(Error::Config(format!(
                    "{}: expected a Polygon or MultiPolygon, found {}",
                    path.display(),
                    match other {
                        geo::Geometry::Point(_) => "a Point",
                        geo::Geometry::LineString(_) => "a LineString",
                        _ => "another geometry",
                    }
                )))
            }
            Err(e) => return Err(Error::Config(format!("{}: {e}", path.display()))),
        }
    }
    if polys.is_empty() {
        return Err(Error::Config(format!("{}: no polygon in the file", path.display())));
    }
    Ok(geo::MultiPolygon(polys))
}

/// Communes whose area lies mostly (> 50 %) inside `area` (lon/lat).
pub fn communes_in_polygon(geography: &crate::geo::Geography, area: &geo::MultiPolygon<f64>) -> Vec<String> {
    use geo::{Area, BooleanOps, BoundingRect};
    let Some(rect) = area.bounding_rect() else {
        return Vec::new();
    };
    let area = crate::geo::dissolve([area]);
    geography
        .codes_in_rect(&rect)
        .into_iter()
        .filter(|c| {
            let Some(shape) = geography.shape(c) else {
                return false;
            };
            let whole = shape.unsigned_area();
            whole > 0.0 && shape.intersection(&area).unsigned_area() > 0.5 * whole
        })
        .collect()
}

fn need<'a, T>(what: Option<&'a T>, name: &str, field: &str, missing: &str) -> Result<&'a T> {
    what.ok_or_else(|| Error::Territory { name: name.to_string(), message: format!("`{field}` needs {missing}") })
}

pub fn resolve_in(spec: &TerritorySpec, cog: &Cog, index: &CogIndex, ctx: Context) -> Result<Territory> {
    let name = spec.name.trim();
    if name.is_empty() {
        return Err(Error::Territory { name: "(unnamed)".into(), message: "the territory needs a name".into() });
    }
    let mut warnings = Vec::new();
    let mut set: BTreeSet<String> = BTreeSet::new();
    let mut add = |code: String, from: &str, warnings: &mut Vec<String>| {
        if !set.insert(code.clone()) {
            warnings.push(format!("{code} listed more than once ({from})"));
        }
    };
    for raw in &spec.communes {
        let code = resolve_entry(cog, index, name, raw, &mut warnings)?;
        add(code, "communes", &mut warnings);
    }
    for siren in &spec.epci {
        let wanted = siren.trim();
        let Some(e) = cog.epcis.iter().find(|e| e.code == wanted) else {
            let t = fold(siren);
            let mut close: Vec<(usize, String)> = cog
                .epcis
                .iter()
                .map(|e| {
                    (levenshtein(&t, &fold(&e.name)).min(levenshtein(siren, &e.code)), format!("{} {}", e.code, e.name))
                })
                .collect();
            close.sort();
            let close: Vec<String> = close.into_iter().filter(|(d, _)| *d <= 3).take(5).map(|(_, s)| s).collect();
            return Err(Error::Territory {
                name: name.to_string(),
                message: format!(
                    "unknown EPCI {siren}{}",
                    if close.is_empty() { String::new() } else { format!("; close matches: {}", close.join(", ")) }
                ),
            });
        };
        for m in &e.members {
            add(m.to_string(), &format!("EPCI {}", e.code), &mut warnings);
        }
    }
    if let Some(p) = &spec.polygon {
        let geography = need(ctx.geography, name, "polygon", "the commune boundaries")?;
        let path = spec.base_dir.as_ref().map_or_else(|| p.clone(), |d| d.join(p));
        let area = read_polygon(&path)?;
        let codes = communes_in_polygon(geography, &area);
        if codes.is_empty() {
            warnings.push(format!("polygon {}: no commune lies mostly inside it", path.display()));
        }
        for c in codes {
            add(c, "polygon", &mut warnings);
        }
    }
    if let Some(r) = &spec.radius {
        let curated = need(ctx.curated, name, "radius", "the curated table (commune centres)")?;
        let centre = resolve_entry(cog, index, name, &r.commune, &mut warnings)?;
        if !(r.km.is_finite() && r.km > 0.0) {
            return Err(Error::Territory {
                name: name.to_string(),
                message: format!("radius: km must be positive, not {}", r.km),
            });
        }
        let d = curated
            .clone()
            .lazy()
            .filter(col("code").eq(lit(centre.as_str())))
            .select([col("lat"), col("lon")])
            .collect()?;
        let (lat, lon) = (d.column("lat")?.f64()?.get(0), d.column("lon")?.f64()?.get(0));
        let (Some(lat0), Some(lon0)) = (lat, lon) else {
            return Err(Error::Territory {
                name: name.to_string(),
                message: format!(
                    "radius: commune {centre} {} has no centre in the curated table",
                    name_of(cog, &centre)
                ),
            });
        };
        let centre_pt = geo::Coord { x: lon0, y: lat0 };
        let d = curated
            .clone()
            .lazy()
            .filter(col("kind").eq(lit("commune")))
            .select([col("code"), col("lat"), col("lon")])
            .collect()?;
        let (codes, lats, lons) = (d.column("code")?.str()?, d.column("lat")?.f64()?, d.column("lon")?.f64()?);
        let mut inside: Vec<String> = codes
            .iter()
            .zip(lats.iter().zip(lons.iter()))
            .filter_map(|(c, (la, lo))| {
                let km = crate::geo::haversine_km(centre_pt, geo::Coord { x: lo?, y: la? });
                (km <= r.km).then(|| c.map(str::to_string)).flatten()
            })
            .collect();
        inside.sort();
        for c in inside {
            add(c, "radius", &mut warnings);
        }
    }
    if !spec.bv.is_empty() {
        let curated = need(ctx.curated, name, "bv", "the curated table (bassins de vie 2022)")?;
        for bv in &spec.bv {
            let codes = curated_codes(curated, col("bv2022").eq(lit(bv.trim())))?;
            if codes.is_empty() && curated.column("bv2022").is_ok_and(|c| c.null_count() == c.len()) {
                return Err(Error::Territory {
                    name: name.to_string(),
                    message: "unavailable: bassins de vie 2022 not in the data folder (cpts-diag fetch insee_bv2022)"
                        .to_string(),
                });
            }
            if codes.is_empty() {
                return Err(Error::Territory {
                    name: name.to_string(),
                    message: format!("bassin de vie 2022 \"{bv}\" has no commune (a BV code is the code of its pole commune, e.g. 28085 for Chartres)"),
                });
            }
            for c in codes {
                add(c, &format!("bv {bv}"), &mut warnings);
            }
        }
    }
    for dep in &spec.departements {
        let dep = dep.trim();
        let codes: Vec<String> = cog
            .units
            .iter()
            .filter(|u| u.kind == UnitKind::Commune && u.departement == dep)
            .map(|u| u.code.to_string())
            .collect();
        if codes.is_empty() {
            return Err(Error::Territory {
                name: name.to_string(), message: format!("unknown département \"{dep}\"")
            });
        }
        for c in codes {
            add(c, &format!("département {dep}"), &mut warnings);
        }
    }
    for raw in &spec.exclude {
        let code = resolve_entry(cog, index, name, raw, &mut warnings)?;
        if !set.remove(&code) {
            warnings.push(format!("exclude: {code} {} is not in the territory", name_of(cog, &code)));
        }
    }
    // An arrondissement inside a listed Paris/Lyon/Marseille would be counted twice.
    let overlapping: Vec<String> = set
        .iter()
        .filter(|c| index.kind(c) == Some(UnitKind::Arrondissement) && index.parent(c).is_some_and(|p| set.contains(p)))
        .cloned()
        .collect();
    for c in overlapping {
        warnings
            .push(format!("{c} dropped: its commune {} is already in the territory", index.parent(&c).unwrap_or("?")));
        set.remove(&c);
    }
    if set.is_empty() {
        return Err(Error::Territory { name: name.to_string(), message: "the territory has no commune".into() });
    }
    Ok(Territory {
        name: name.to_string(),
        description: spec.description.clone(),
        codes: set.into_iter().collect(),
        warnings,
    })
}
