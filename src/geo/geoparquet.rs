//! The geometry table in GeoParquet 1.1: one row per COG 2026 unit with a polygon (communes and
//! arrondissements municipaux), columns `code`, `name`, `kind`, `note`, `geometry` (WKB
//! MultiPolygon, lon/lat WGS84), sorted by code, and `geometry_published`: for the few units
//! whose valid shape is not the published rings (repaired, or dissolved from an older vintage),
//! those rings, which adjacency reads (a repair splits the segments a neighbour shares); null
//! elsewhere. The `geo` file metadata declares version 1.1.0,
//! primary column `geometry`, encoding WKB, geometry type MultiPolygon and the table's bbox. It
//! has no `crs` member: GeoParquet 1.1 says an absent crs *is* OGC:CRS84 (lon/lat WGS84), which
//! is what the shapes are, and it spares a hand-written PROJJSON that readers would have to parse.
//!
//! Shapes are stored valid (repaired, and dissolved for older vintages), so reading back needs
//! no GeoJSON parsing, no validation and no union. The same bytes come out of the same input.

use polars::prelude::*;
use serde_json::json;

use super::{wkb, Geography};
use crate::error::{Error, Location, Result};
use crate::transforms::cog::CogIndex;

/// File metadata key of GeoParquet.
pub const GEO_KEY: &str = "geo";
pub const VERSION: &str = "1.1.0";

/// The table and its `geo` metadata (JSON), ready for a Parquet writer.
pub fn frame(g: &Geography) -> Result<(DataFrame, String)> {
    let n = g.units.len();
    // The WKB goes straight into the columns through one buffer: a `Vec<u8>` per shape, then
    // copied into the column, held the national geometry twice (~110 MB) at `build`'s peak.
    let mut geom = BinaryChunkedBuilder::new("geometry".into(), n);
    let mut published = BinaryChunkedBuilder::new("geometry_published".into(), n);
    let mut buf = Vec::new();
    let (mut code, mut name, mut kind, mut note) =
        (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
    let mut bbox: Option<geo::Rect<f64>> = None;
    let mut units: Vec<&super::Unit> = g.units.iter().collect();
    units.sort_by(|a, b| a.code.cmp(&b.code));
    for u in units {
        let Some(shape) = g.shape(&u.code).filter(|s| !s.0.is_empty()) else {
            continue;
        };
        if let Some(r) = geo::BoundingRect::bounding_rect(&shape) {
            bbox = Some(bbox.map_or(r, |b| super::union_rect(b, r)));
        }
        code.push(u.code.clone());
        name.push(u.name.clone());
        kind.push(u.kind.as_str());
        note.push(u.note.clone());
        wkb::encode_into(&shape, &mut buf);
        geom.append_value(&buf);
        match super::published_if_repaired(u) {
            Some(p) => {
                wkb::encode_into(&p, &mut buf);
                published.append_value(&buf);
            }
            None => published.append_null(),
        }
    }
    let df = df!(
        "code" => code,
        "name" => name,
        "kind" => kind,
        "note" => note,
    )?
    .hstack(&[geom.finish().into_column(), published.finish().into_column()])?;
    let mut column = json!({ "encoding": "WKB", "geometry_types": ["MultiPolygon"] });
    if let Some(b) = bbox {
        column["bbox"] = json!([b.min().x, b.min().y, b.max().x, b.max().y]);
    }
    let meta = json!({ "version": VERSION, "primary_column": "geometry", "columns": { "geometry": column } });
    Ok((df, meta.to_string()))
}

/// Read a GeoParquet table written by [`frame`] (or any GeoParquet 1.x with `code`, `name` and
/// a WKB Polygon/MultiPolygon primary column). `label` names the bytes in errors.
pub fn read_bytes(bytes: &[u8], index: &CogIndex, label: &str) -> Result<Geography> {
    Ok(Geography::from_shapes(read_rows(bytes, label)?, index, label.to_string()))
}

/// The rows of a GeoParquet table, decoded; [`Geography::from_shapes`] places them in the COG.
/// Needs no COG, so it can run while the COG is read.
pub(crate) fn read_rows(bytes: &[u8], label: &str) -> Result<Vec<super::StoredUnit>> {
    let here = || Location::file(std::path::Path::new(label));
    let mut reader = ParquetReader::new(std::io::Cursor::new(bytes));
    let md = reader.get_metadata().map_err(|e| Error::data(here(), format!("not a Parquet file: {e}")))?;
    let geo_meta = md
        .key_value_metadata()
        .as_ref()
        .and_then(|kv| kv.iter().find(|k| k.key == GEO_KEY).and_then(|k| k.value.clone()))
        .ok_or_else(|| Error::data(here(), "no `geo` metadata: not a GeoParquet file"))?;
    let meta: serde_json::Value =
        serde_json::from_str(&geo_meta).map_err(|e| Error::data(here(), format!("`geo` metadata is not JSON: {e}")))?;
    let primary = meta["primary_column"].as_str().unwrap_or("geometry").to_string();
    let encoding = meta["columns"][&primary]["encoding"].as_str().unwrap_or("");
    if !meta["version"].as_str().is_some_and(|v| v.starts_with("1.")) || !encoding.eq_ignore_ascii_case("wkb") {
        return Err(Error::data(
            here(),
            format!("GeoParquet version {} with encoding {encoding:?}: expected 1.x and WKB", meta["version"]),
        ));
    }
    let df = reader.finish().map_err(|e| Error::data(here(), format!("unreadable Parquet: {e}")))?;
    let col_err = |c: &str, e: PolarsError| Error::data(here().col(c), e.to_string());
    let codes = df.column("code").and_then(|c| c.str().cloned()).map_err(|e| col_err("code", e))?;
    let names = df.column("name").and_then(|c| c.str().cloned()).map_err(|e| col_err("name", e))?;
    let notes = df.column("note").ok().and_then(|c| c.str().ok().cloned());
    let geoms = std::sync::Arc::new(
        df.column(&primary)
            .and_then(|c| c.binary().map(|b| b.rechunk().into_owned()))
            .map_err(|e| col_err(&primary, e))?,
    );
    let published = df.column("geometry_published").ok().and_then(|c| c.binary().ok().cloned());
    let mut rows = Vec::with_capacity(df.height());
    for i in 0..df.height() {
        let row_err =
            |c: &str, m: String| Error::data(Location::at(std::path::Path::new(label), i as u64 + 1).col(c), m);
        let code = codes.get(i).ok_or_else(|| row_err("code", "null code".into()))?.to_string();
        // Checked and boxed now, decoded when drawn (see `Unit::parts`).
        let shape = match geoms.get(i) {
            Some(b) => super::StoredShape {
                column: geoms.clone(),
                row: i,
                bbox: wkb::bbox(b).map_err(|m| row_err(&primary, format!("{code}: invalid WKB: {m}")))?,
            },
            None => continue,
        };
        let note = notes.as_ref().and_then(|n| n.get(i)).map(str::to_string);
        let published = match published.as_ref().and_then(|p| p.get(i)) {
            Some(b) => {
                Some(wkb::decode(b).map_err(|m| row_err("geometry_published", format!("{code}: invalid WKB: {m}")))?)
            }
            None => None,
        };
        let name = names.get(i).unwrap_or_default().to_string();
        rows.push(super::StoredUnit { code, name, note, shape, published });
    }
    Ok(rows)
}
