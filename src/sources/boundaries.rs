//! Commune boundaries, IGN Admin Express COG 2018 simplified by gregoiredavid/france-geojson
//! (WGS84 lon/lat, ~1 m precision), all départements concatenated.
//!
//! Quirks: 2018 geography (493 former codes since merged, 11 current communes split off since
//! have no polygon); Paris, Lyon, Marseille as whole communes; commune 14174 is a Polygon whose
//! ring loops around another commune, so nothing here may assume valid rings.

use geo::{MultiPolygon, Polygon};
use serde::Deserialize;

use super::{DataDir, SourceMeta};
use crate::error::{Error, Location, Result};

pub const META: SourceMeta = SourceMeta {
    id: "ign_communes_2018",
    title: "Contours des communes (Admin Express COG 2018, simplifiés)",
    publisher: "IGN, simplified by gregoiredavid/france-geojson",
    vintage: "Admin Express édition 2018",
    geography: "COG 2018 (Paris, Lyon, Marseille entiers)",
    licence: "Licence Ouverte / Open Licence (IGN)",
    url: "https://github.com/gregoiredavid/france-geojson",
    file: "geo/communes-france-2018.geojson.gz",
};

#[derive(Debug, Clone)]
pub struct Boundary {
    pub code: String,
    pub name: String,
    pub shape: MultiPolygon<f64>,
}

#[derive(Deserialize)]
struct Collection {
    features: Vec<Feature>,
}

#[derive(Deserialize)]
struct Feature {
    properties: Props,
    geometry: Geometry,
}

#[derive(Deserialize)]
struct Props {
    code: String,
    nom: String,
}

type Ring = Vec<[f64; 2]>;

#[derive(Deserialize)]
#[serde(tag = "type", content = "coordinates")]
enum Geometry {
    Polygon(Vec<Ring>),
    MultiPolygon(Vec<Vec<Ring>>),
}

fn polygon(rings: Vec<Ring>) -> Polygon<f64> {
    let mut it = rings.into_iter().map(|r| r.into_iter().map(|[x, y]| geo::coord! {x: x, y: y}).collect());
    let exterior = it.next().unwrap_or_else(|| geo::LineString::new(vec![]));
    Polygon::new(exterior, it.collect())
}

pub fn load(data: &DataDir) -> Result<Vec<Boundary>> {
    load_file(&data.file(META.file)?)
}

/// Decoded straight into typed structs: going through a generic JSON value would triple the
/// time on the 35 000-feature national file.
pub fn load_file(path: &std::path::Path) -> Result<Vec<Boundary>> {
    let text = super::table::read_text(path)?;
    let fc: Collection = serde_json::from_str(&text).map_err(|e| {
        Error::data(Location::at(path, e.line() as u64), format!("invalid GeoJSON at column {}: {e}", e.column()))
    })?;
    let mut out = Vec::with_capacity(fc.features.len());
    for f in fc.features {
        let code = super::table::normalize_commune_code(&f.properties.code).ok_or_else(|| {
            Error::data(
                Location::file(path).col("properties.code"),
                format!("\"{}\" is not an INSEE commune code", f.properties.code),
            )
        })?;
        let shape = match f.geometry {
            Geometry::Polygon(r) => MultiPolygon(vec![polygon(r)]),
            Geometry::MultiPolygon(ps) => MultiPolygon(ps.into_iter().map(polygon).collect()),
        };
        out.push(Boundary { code, name: f.properties.nom, shape });
    }
    Ok(out)
}
