//! CPTS listings as ARS publish them: one row per CPTS with its commune codes. The reference is
//! the ARS Provence-Alpes-Côte d'Azur listing of January 2026 ([`PACA_2026_01`], SOURCES.md §8b):
//! CSV, comma, UTF-8, header `nom,statut,communes,arrondissements`, codes `|`-separated.
//!
//! Quirks of that file, handled downstream by `coverage`: the Marseille CPTS list the city 13055
//! in `communes` *and* their arrondissements in `arrondissements` (the perimeter is the
//! arrondissements); Nice and Toulon are listed whole by several CPTS; 05120 is a former code;
//! one name lacks the "CPTS " prefix. Also read: `;`-separated exports, `name` for `nom`, and a
//! GeoJSON FeatureCollection of perimeters (`nom`/`name`, optional `communes` property, else the
//! polygon).

use std::path::Path;

use crate::error::{Error, Location, Result};

/// The real listing of the data folder (ARS PACA, January 2026), relative to the data folder.
pub const PACA_2026_01: &str = "cpts/ars-paca_cpts_communes_2026-01.csv";

/// One CPTS as the listing gives it, codes not yet resolved.
#[derive(Debug, Clone)]
pub struct ListingRow {
    pub name: String,
    /// File and line (CSV) or file (GeoJSON) it was read from.
    pub origin: Location,
    pub communes: Vec<String>,
    pub arrondissements: Vec<String>,
    /// A GeoJSON feature without codes: its perimeter.
    pub perimeter: Option<geo::MultiPolygon<f64>>,
}

fn split_codes(cell: &str) -> Vec<String> {
    cell.split(['|', ';', ',']).map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()
}

/// Read a CSV or GeoJSON listing, one row per CPTS, in file order.
pub fn read(path: &Path) -> Result<Vec<ListingRow>> {
    let ext = path.extension().map(|e| e.to_string_lossy().to_lowercase()).unwrap_or_default();
    let rows = match ext.as_str() {
        "csv" => read_csv(path)?,
        "geojson" | "json" => read_geojson(path)?,
        _ => {
            return Err(Error::data(
                Location::file(path),
                "not a CPTS listing: expected a .csv file (columns nom, communes, arrondissements), a .geojson of perimeters or a folder of territory .toml files",
            ))
        }
    };
    if rows.is_empty() {
        return Err(Error::data(Location::file(path), "the listing has no CPTS"));
    }
    Ok(rows)
}

fn read_csv(path: &Path) -> Result<Vec<ListingRow>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()].iter().filter(|b| **b == b'\n').count() as u64 + 1;
        Error::data(Location::at(path, line), "not a UTF-8 text CSV (is it a spreadsheet? export it as CSV UTF-8)")
    })?;
    let delimiter = match text.lines().next() {
        Some(h) if h.contains(';') && !h.contains(',') => b';',
        _ => b',',
    };
    let mut rdr = csv::ReaderBuilder::new().delimiter(delimiter).flexible(false).from_reader(text.as_bytes());
    let headers = rdr.headers().map_err(|e| Error::data(Location::at(path, 1), format!("not a CSV: {e}")))?.clone();
    let find = |names: &[&str]| headers.iter().position(|h| names.iter().any(|n| h.trim().eq_ignore_ascii_case(n)));
    let header_line = headers.iter().collect::<Vec<_>>().join(",");
    let Some(name_col) = find(&["nom", "name"]) else {
        return Err(Error::MissingColumn {
            location: Location::at(path, 1),
            column: "nom".into(),
            detail: format!("(header: {header_line}; a listing has nom, communes and optionally arrondissements)"),
        });
    };
    let Some(communes_col) = find(&["communes"]) else {
        return Err(Error::MissingColumn {
            location: Location::at(path, 1),
            column: "communes".into(),
            detail: format!("(header: {header_line})"),
        });
    };
    let arr_col = find(&["arrondissements"]);
    let mut entries = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            Error::data(Location::at(path, line), format!("not a CSV row of the listing: {e}"))
        })?;
        let line = rec.position().map_or(0, |p| p.line());
        let name = rec.get(name_col).unwrap_or_default().trim().to_string();
        if name.is_empty() {
            return Err(Error::data(Location::at(path, line).col("nom"), "empty CPTS name"));
        }
        let communes = split_codes(rec.get(communes_col).unwrap_or_default());
        let arrs = arr_col.map(|c| split_codes(rec.get(c).unwrap_or_default())).unwrap_or_default();
        if communes.is_empty() && arrs.is_empty() {
            return Err(Error::data(
                Location::at(path, line).col("communes"),
                format!("CPTS \"{name}\" has an empty code list"),
            ));
        }
        entries.push(ListingRow {
            name,
            origin: Location::at(path, line),
            communes,
            arrondissements: arrs,
            perimeter: None,
        });
    }
    Ok(entries)
}

fn read_geojson(path: &Path) -> Result<Vec<ListingRow>> {
    use geojson::GeoJson;
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let gj: GeoJson = text.parse().map_err(|e| Error::data(Location::file(path), format!("not GeoJSON: {e}")))?;
    let GeoJson::FeatureCollection(fc) = gj else {
        return Err(Error::data(Location::file(path), "expected a FeatureCollection, one feature per CPTS"));
    };
    let mut entries = Vec::new();
    for (i, f) in fc.features.into_iter().enumerate() {
        let here = |m: String| Error::data(Location::file(path), format!("feature {}: {m}", i + 1));
        let prop = |k: &str| f.property(k).cloned();
        let name = prop("nom")
            .or_else(|| prop("name"))
            .and_then(|v| v.as_str().map(|s| s.trim().to_string()))
            .filter(|s| !s.is_empty())
            .ok_or_else(|| here("no `nom` or `name` property".into()))?;
        let listed: Vec<String> = match prop("communes") {
            Some(serde_json::Value::String(s)) => split_codes(&s),
            Some(serde_json::Value::Array(a)) => {
                a.iter().filter_map(|v| v.as_str().map(str::to_string).or_else(|| Some(v.to_string()))).collect()
            }
            _ => Vec::new(),
        };
        let arrs: Vec<String> = match prop("arrondissements") {
            Some(serde_json::Value::String(s)) => split_codes(&s),
            _ => Vec::new(),
        };
        let perimeter = if listed.is_empty() && arrs.is_empty() {
            let g =
                f.geometry.as_ref().ok_or_else(|| here(format!("CPTS \"{name}\" has neither codes nor geometry")))?;
            let shape = match geo::Geometry::<f64>::try_from(&g.value) {
                Ok(geo::Geometry::Polygon(p)) => geo::MultiPolygon(vec![p]),
                Ok(geo::Geometry::MultiPolygon(m)) => m,
                _ => return Err(here(format!("CPTS \"{name}\": expected a Polygon or MultiPolygon"))),
            };
            Some(shape)
        } else {
            None
        };
        entries.push(ListingRow {
            name,
            origin: Location::file(path),
            communes: listed,
            arrondissements: arrs,
            perimeter,
        });
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_split_on_pipes() {
        assert_eq!(split_codes("13055| 13201 ||"), vec!["13055".to_string(), "13201".to_string()]);
    }
}
