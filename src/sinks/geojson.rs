//! `territory.geojson` for QGIS: the territory outline first, then each commune drawn (territory,
//! neighbours, enclaves) with its indicators as properties. WGS84 lon/lat (RFC 7946), rounded to
//! 6 decimals (≈ 0.1 m, finer than the boundaries' 5).

use std::path::Path;

use geo::{MapCoords, MultiPolygon};
use geojson::{Feature, FeatureCollection, Geometry, JsonObject};
use serde_json::json;

use super::report::UnitFacts;
use super::write_bytes;
use crate::advice::Surroundings;
use crate::diagnose::Diagnosis;
use crate::error::Result;
use crate::sources;

fn rounded(m: &MultiPolygon<f64>) -> MultiPolygon<f64> {
    m.map_coords(|c| geo::Coord { x: (c.x * 1e6).round() / 1e6, y: (c.y * 1e6).round() / 1e6 })
}

fn feature(shape: &MultiPolygon<f64>, props: JsonObject) -> Feature {
    Feature {
        bbox: None,
        geometry: Some(Geometry::new((&rounded(shape)).into())),
        id: None,
        properties: Some(props),
        foreign_members: None,
    }
}

fn unit_props(u: &UnitFacts, role: &str) -> JsonObject {
    let mut p = JsonObject::new();
    p.insert("code".into(), json!(u.code));
    p.insert("name".into(), json!(u.name));
    p.insert("role".into(), json!(role));
    p.insert("departement".into(), json!(u.departement));
    p.insert("population".into(), json!(u.population.map(|v| v.round() as i64)));
    p.insert("gp_count_bpe2020".into(), json!(u.gp_count.map(|v| v.round() as i64)));
    p.insert("inhabitants_per_gp".into(), json!(u.inhabitants_per_gp));
    p.insert("gp_per_10k".into(), json!(u.gp_per_10k));
    p.insert("apl_mg_2023".into(), json!(u.apl));
    p.insert("area_km2".into(), json!(u.area_km2));
    p.insert("gp_count_note".into(), json!(u.gp_note));
    p.insert("apl_note".into(), json!(u.apl_note));
    p
}

/// The FeatureCollection as a JSON string.
pub fn collection(d: &Diagnosis, s: &Surroundings, members: &[UnitFacts], others: &[UnitFacts]) -> String {
    let t = d.territory();
    let mut features = Vec::new();
    let mut p = JsonObject::new();
    p.insert("role".into(), json!("outline"));
    p.insert("name".into(), json!(d.territory.name));
    for id in [
        "communes_count",
        "population",
        "gp_count",
        "inhabitants_per_gp",
        "gp_per_100k",
        "apl_mg",
        "population_apl_below_2_5",
        "population_totale",
    ] {
        p.insert(id.into(), json!(t.value(id)));
    }
    p.insert("population_totale_vintage".into(), json!(d.population_totale_vintage));
    p.insert("area_km2_boundaries".into(), json!((s.geometry.area_km2 * 100.0).round() / 100.0));
    p.insert("aci_band".into(), json!(d.aci.as_ref().map(|a| a.taille)));
    p.insert("aci_max_annual_funding_eur".into(), json!(d.aci.as_ref().map(|a| a.max_annual_funding_2019_eur)));
    p.insert("aci_population_basis".into(), json!(d.aci_basis.as_str()));
    p.insert("aci_band_municipale".into(), json!(d.aci_municipale.as_ref().map(|a| a.taille)));
    p.insert("aci_band_totale".into(), json!(d.aci_totale.as_ref().map(|a| a.taille)));
    p.insert("pieces".into(), json!(s.geometry.pieces.len()));
    p.insert("enclaves".into(), json!(s.geometry.enclave_codes()));
    p.insert("communes_without_boundary".into(), json!(s.geometry.missing));
    features.push(feature(&s.geometry.outline, p));
    let enclaves = s.geometry.enclave_codes();
    for (list, member) in [(members, true), (others, false)] {
        for u in list {
            let Some(shape) = s.geometry.shapes.get(&u.code) else {
                continue;
            };
            let role = if member {
                "territory"
            } else if enclaves.contains(&u.code.as_str()) {
                "enclave"
            } else {
                "neighbour"
            };
            let mut props = unit_props(u, role);
            if let Some(n) = s.geometry.neighbours.iter().find(|n| n.code == u.code) {
                props.insert("border_km".into(), json!((n.border_km * 1000.0).round() / 1000.0));
            }
            features.push(feature(shape, props));
        }
    }
    let mut fc = FeatureCollection::new(features);
    let mut fm = JsonObject::new();
    fm.insert("name".into(), json!(d.territory.name));
    fm.insert(
        "sources".into(),
        json!(sources::all()
            .iter()
            .map(|s| json!({"id": s.id, "vintage": s.vintage, "licence": s.licence, "url": s.url}))
            .collect::<Vec<_>>()),
    );
    fc.foreign_members = Some(fm);
    fc.to_string()
}

pub fn write(path: &Path, d: &Diagnosis, s: &Surroundings, members: &[UnitFacts], others: &[UnitFacts]) -> Result<()> {
    write_bytes(path, collection(d, s, members, others).as_bytes())
}
