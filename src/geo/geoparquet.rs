//! The geometry table in GeoParquet 1.1: one row per COG 2026 unit with a polygon (communes and
//! arrondissements municipaux), columns `code`, `name`, `kind`, `note`, `bbox` (the shape's box,
//! GeoParquet 1.1's bbox covering), `geometry` (WKB MultiPolygon, lon/lat WGS84), sorted by code,
//! and `geometry_published`: for the few units whose valid shape is not the published rings
//! (repaired, or dissolved from an older vintage), those rings, which adjacency reads (a repair
//! splits the segments a neighbour shares); null elsewhere. The `geo` file metadata declares
//! version 1.1.0, primary column `geometry`, encoding WKB, geometry type MultiPolygon, the table's
//! bbox and the `bbox` covering. It has no `crs` member: GeoParquet 1.1 says an absent crs *is*
//! OGC:CRS84 (lon/lat WGS84), which is what the shapes are, and it spares a hand-written PROJJSON
//! that readers would have to parse.
//!
//! Shapes are stored valid (repaired, and dissolved for older vintages), so reading back needs
//! no GeoJSON parsing, no validation and no union. The same bytes come out of the same input.
//!
//! Row groups of [`ROW_GROUP`] units, in code order (a département's communes are neighbours in
//! the file): a diagnosis draws a few hundred of the 35 000 units, so the reader takes the boxes
//! from the covering and decompresses the WKB of a row group only when one of its units is drawn
//! ([`WkbColumn`]). Decompressing the whole column was 18 % of a diagnosis's instructions.

use std::borrow::{Borrow, Cow};
use std::sync::OnceLock;

use geo::{Coord, MultiPolygon, Rect};
use polars::prelude::*;
use serde_json::json;

use super::{wkb, Geography};
use crate::error::{Error, Location, Result};
use crate::transforms::cog::CogIndex;

/// File metadata key of GeoParquet.
pub const GEO_KEY: &str = "geo";
pub const VERSION: &str = "1.1.0";
/// The bbox covering column (GeoParquet 1.1): a struct of `xmin`, `ymin`, `xmax`, `ymax`.
pub const BBOX_COLUMN: &str = "bbox";
const BBOX_FIELDS: [&str; 4] = ["xmin", "ymin", "xmax", "ymax"];
/// Units per row group (polars splits evenly: 34 groups of ~1 030 nationally); a diagnosis of one territory decodes the few
/// groups of its département and the neighbouring ones (docs/performance.md).
pub const ROW_GROUP: usize = 1024;

/// The table of a [`Geography`]'s units, encoded one row group at a time ([`Table::groups`]):
/// the WKB of ~1 000 units is held at once, not the whole country's (34 MB at `build`'s peak).
/// Over owned units ([`Table::of_owned`]), each group's units are freed once encoded.
pub struct Table<U> {
    /// The units with a polygon, in code order, with the box of their valid shape.
    rows: Vec<Row<U>>,
    /// The `geo` metadata (JSON): it names the box of the whole table.
    pub meta: String,
}

/// The table of `g`'s units with a polygon, and its `geo` metadata.
pub fn table(g: &Geography) -> Table<&super::Unit> {
    let mut units: Vec<&super::Unit> = g.units.iter().collect();
    units.sort_by(|a, b| a.code.cmp(&b.code));
    Table::new(units)
}

/// A unit of the table, the box of its valid shape, and that shape when it had to be made
/// (repaired, or dissolved from an older vintage's communes): made once, for the box, and kept
/// until its row group is encoded (the 2018 boundaries dissolve ~1 000 units; dissolving them
/// again for the WKB was ~30-45 ms of `build`'s CPU).
struct Row<U> {
    unit: U,
    bbox: Option<Rect<f64>>,
    made: Option<MultiPolygon<f64>>,
}

impl Table<super::Unit> {
    /// [`table`] of a geography given up: its units are freed group by group as they are encoded.
    pub fn of_owned(g: Geography) -> Self {
        let mut units = g.units;
        units.sort_by(|a, b| a.code.cmp(&b.code));
        Table::new(units)
    }
}

impl<U: Borrow<super::Unit>> Table<U> {
    fn new(units: Vec<U>) -> Self {
        let mut bbox: Option<Rect<f64>> = None;
        let rows: Vec<Row<U>> = units
            .into_iter()
            .filter_map(|u| {
                let (r, made) = {
                    let unit = u.borrow();
                    let shape = unit.valid_shape().filter(|s| !s.0.is_empty())?;
                    if unit.ready && !unit.parts.is_empty() {
                        // One valid feature as read: `Geography::new` boxed that very shape.
                        ((!unit.bbox.min().x.is_nan()).then_some(unit.bbox), None)
                    } else {
                        let r = geo::BoundingRect::bounding_rect(shape.as_ref());
                        (
                            r,
                            match shape {
                                Cow::Owned(made) => Some(made),
                                Cow::Borrowed(_) => None,
                            },
                        )
                    }
                };
                if let Some(r) = r {
                    bbox = Some(bbox.map_or(r, |b| super::union_rect(b, r)));
                }
                Some(Row { unit: u, bbox: r, made })
            })
            .collect();
        let mut column = json!({
            "encoding": "WKB",
            "geometry_types": ["MultiPolygon"],
            "covering": { "bbox": BBOX_FIELDS.iter().map(|f| (f.to_string(), json!([BBOX_COLUMN, f]))).collect::<serde_json::Map<_, _>>() },
        });
        if let Some(b) = bbox {
            column["bbox"] = json!([b.min().x, b.min().y, b.max().x, b.max().y]);
        }
        let meta = json!({ "version": VERSION, "primary_column": "geometry", "columns": { "geometry": column } });
        Table { rows, meta: meta.to_string() }
    }

    /// The row groups, in order, each one frame: the sizes polars gives a frame of all the rows
    /// written in groups of [`ROW_GROUP`] (n − 1 groups of ⌊rows / n⌋ and the rest, n = ⌊rows /
    /// ROW_GROUP⌋), so that the file has the same bytes as one written whole. A table without
    /// rows is one empty frame (the schema, no row group).
    pub fn groups(self) -> impl Iterator<Item = Result<DataFrame>> {
        let sizes = group_sizes(self.rows.len());
        let mut rows = self.rows.into_iter();
        sizes.into_iter().map(move |n| group_frame(&rows.by_ref().take(n).collect::<Vec<_>>()))
    }
}

/// Row group sizes of polars' writer for `rows` rows in one chunk (`chunk_df_for_writing`).
fn group_sizes(rows: usize) -> Vec<usize> {
    let n = rows / ROW_GROUP;
    if n <= 1 {
        return vec![rows];
    }
    let size = rows / n;
    let mut sizes = vec![size; n - 1];
    sizes.push(rows - size * (n - 1));
    sizes
}

fn group_frame<U: Borrow<super::Unit>>(rows: &[Row<U>]) -> Result<DataFrame> {
    let n = rows.len();
    // The WKB goes straight into the columns through one buffer: a `Vec<u8>` per shape, then
    // copied into the column, held the geometry twice.
    let mut geom = BinaryChunkedBuilder::new("geometry".into(), n);
    let mut published = BinaryChunkedBuilder::new("geometry_published".into(), n);
    let mut buf = Vec::new();
    let (mut code, mut name, mut kind, mut note) =
        (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
    let mut boxes: [Vec<Option<f64>>; 4] = std::array::from_fn(|_| Vec::with_capacity(n));
    for Row { unit: u, bbox: r, made } in rows {
        let u = u.borrow();
        let shape = match made {
            Some(made) => Cow::Borrowed(made),
            None => u.valid_shape().expect("a unit of the table has a shape"),
        };
        for (v, x) in boxes
            .iter_mut()
            .zip(r.map(|r| [r.min().x, r.min().y, r.max().x, r.max().y]).map_or([None; 4], |a| a.map(Some)))
        {
            v.push(x);
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
    let fields: Vec<Series> = boxes.into_iter().zip(BBOX_FIELDS).map(|(v, f)| Series::new(f.into(), v)).collect();
    let bbox_column = StructChunked::from_series(BBOX_COLUMN.into(), n, fields.iter())?.into_series().into_column();
    Ok(df!(
        "code" => code,
        "name" => name,
        "kind" => kind,
        "note" => note,
    )?
    .hstack(&[bbox_column, geom.finish().into_column(), published.finish().into_column()])?)
}

/// Read a GeoParquet table written from a [`table`] (or any GeoParquet 1.x with `code`, `name` and
/// a WKB Polygon/MultiPolygon primary column). `label` names the bytes in errors.
pub fn read_bytes(bytes: TableBytes, index: &CogIndex, label: &str) -> Result<Geography> {
    Ok(Geography::from_shapes(read_rows(bytes, label)?, index, label.to_string()))
}

/// The bytes of a GeoParquet file, kept while its units may be drawn.
pub enum TableBytes {
    /// The snapshot, embedded in the binary.
    Static(&'static [u8]),
    Owned(Vec<u8>),
    /// `build`'s `geometry.parquet`, mapped rather than read: a diagnosis reads the covering
    /// columns and a few row groups of it, so only those pages are touched (reading copied the
    /// whole 15 MB into fresh memory first).
    Mapped(memmap2::Mmap),
}

impl std::ops::Deref for TableBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            TableBytes::Static(b) => b,
            TableBytes::Owned(b) => b,
            TableBytes::Mapped(m) => m,
        }
    }
}

impl From<&'static [u8]> for TableBytes {
    fn from(b: &'static [u8]) -> Self {
        TableBytes::Static(b)
    }
}

impl From<Vec<u8>> for TableBytes {
    fn from(b: Vec<u8>) -> Self {
        TableBytes::Owned(b)
    }
}

impl TableBytes {
    /// Map a file. The tool replaces its outputs by renaming a new file over them, never
    /// rewrites one in place, so a mapped table stays whole while a run reads it (polars maps
    /// the curated table the same way).
    pub fn map(path: &std::path::Path) -> std::io::Result<TableBytes> {
        let f = std::fs::File::open(path)?;
        // SAFETY: see above; a file truncated by another program under a running command would
        // stop it (SIGBUS), as for polars' own mapping of the curated table.
        Ok(TableBytes::Mapped(unsafe { memmap2::Mmap::map(&f)? }))
    }
}

/// The WKB column of a GeoParquet table, decompressed one row group at a time, when a unit of
/// that group is first drawn. Without a bbox covering (a file of another writer) the whole
/// column is decoded up front, to box every unit.
pub(crate) struct WkbColumn {
    bytes: TableBytes,
    label: String,
    column: String,
    metadata: FileMetadataRef,
    /// First row of each row group, then the number of rows.
    starts: Vec<usize>,
    groups: Vec<OnceLock<BinaryChunked>>,
}

impl std::fmt::Debug for WkbColumn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let decoded = self.groups.iter().filter(|g| g.get().is_some()).count();
        write!(f, "WkbColumn({} `{}`, {decoded} of {} row groups decoded)", self.label, self.column, self.groups.len())
    }
}

impl WkbColumn {
    fn new(bytes: TableBytes, label: &str, column: &str, metadata: FileMetadataRef) -> WkbColumn {
        let mut starts = vec![0];
        for rg in &metadata.row_groups {
            starts.push(starts.last().copied().unwrap_or(0) + rg.num_rows());
        }
        let groups = (1..starts.len()).map(|_| OnceLock::new()).collect();
        WkbColumn { bytes, label: label.to_string(), column: column.to_string(), metadata, starts, groups }
    }

    fn location(&self, row: usize) -> Location {
        Location::at(std::path::Path::new(&self.label), row as u64 + 1).col(&self.column)
    }

    /// The row group holding `row` and the group's first row.
    fn group_of(&self, row: usize) -> (usize, usize) {
        let g = self.starts.partition_point(|&s| s <= row).saturating_sub(1);
        (g, self.starts[g])
    }

    fn decode_group(&self, g: usize) -> Result<BinaryChunked> {
        let (start, end) = (self.starts[g], self.starts[g + 1]);
        let mut reader = ParquetReader::new(std::io::Cursor::new(&*self.bytes))
            .with_columns(Some(vec![self.column.clone()]))
            .with_slice(Some((start, end - start)))
            .read_parallel(ParallelStrategy::None);
        reader.set_metadata(self.metadata.clone());
        let df = reader.finish().map_err(|e| Error::data(self.location(start), format!("unreadable Parquet: {e}")))?;
        let col = df
            .column(&self.column)
            .and_then(|c| c.binary().cloned())
            .map_err(|e| Error::data(self.location(start), e.to_string()))?;
        Ok(col.rechunk().into_owned())
    }

    fn group(&self, g: usize) -> Result<&BinaryChunked> {
        if let Some(c) = self.groups[g].get() {
            return Ok(c);
        }
        let c = self.decode_group(g)?;
        Ok(self.groups[g].get_or_init(|| c))
    }

    /// The WKB bytes of `row` (`None`: a null geometry).
    pub fn bytes(&self, row: usize) -> Result<Option<&[u8]>> {
        let (g, start) = self.group_of(row);
        Ok(self.group(g)?.get(row - start))
    }

    /// The shape of `row`, decoded. `code` names it in the error.
    pub fn decode(&self, row: usize, code: &str) -> Result<MultiPolygon<f64>> {
        let b = self.bytes(row)?.ok_or_else(|| Error::data(self.location(row), format!("{code}: null geometry")))?;
        wkb::decode(b).map_err(|m| {
            Error::data(self.location(row), format!("{code}: invalid WKB: {m} (rebuild it with `cpts-diag build`)"))
        })
    }
}

/// The boxes of the bbox covering, one per row (`None` when the file has no such column).
fn covering_boxes(df: &DataFrame, meta: &serde_json::Value, primary: &str) -> Option<Vec<Option<Rect<f64>>>> {
    let cover = &meta["columns"][primary]["covering"]["bbox"];
    let column = cover["xmin"][0].as_str()?;
    let s = df.column(column).ok()?.struct_().ok()?;
    let mut fields = Vec::with_capacity(4);
    for f in BBOX_FIELDS {
        let c = s.field_by_name(cover[f][1].as_str().unwrap_or(f)).ok()?.cast(&DataType::Float64).ok()?;
        fields.push(c.f64().ok()?.clone());
    }
    let [x0, y0, x1, y1] = [&fields[0], &fields[1], &fields[2], &fields[3]].map(|c| c.iter());
    Some(
        x0.zip(y0)
            .zip(x1.zip(y1))
            .map(|((a, b), (c, d))| match (a, b, c, d) {
                (Some(a), Some(b), Some(c), Some(d)) => Some(Rect::new(Coord { x: a, y: b }, Coord { x: c, y: d })),
                _ => None,
            })
            .collect(),
    )
}

/// The rows of a GeoParquet table: every column but the geometry, which stays compressed until
/// drawn when the file has a bbox covering; [`Geography::from_shapes`] places them in the COG.
/// Needs no COG, so it can run while the COG is read.
pub(crate) fn read_rows(bytes: TableBytes, label: &str) -> Result<Vec<super::StoredUnit>> {
    let here = || Location::file(std::path::Path::new(label));
    let mut reader = ParquetReader::new(std::io::Cursor::new(&*bytes));
    let md = reader.get_metadata().map_err(|e| Error::data(here(), format!("not a Parquet file: {e}")))?.clone();
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
    let schema = reader.schema().map_err(|e| Error::data(here(), format!("unreadable Parquet: {e}")))?;
    let covered = meta["columns"][&primary]["covering"]["bbox"]["xmin"][0].as_str().filter(|c| schema.contains(c));
    // The geometry itself is read here only when no covering gives the boxes.
    let columns: Vec<String> =
        schema.iter_names().map(|n| n.to_string()).filter(|n| covered.is_none() || n != &primary).collect();
    let df = reader
        .with_columns(Some(columns))
        .finish()
        .map_err(|e| Error::data(here(), format!("unreadable Parquet: {e}")))?;
    let col_err = |c: &str, e: PolarsError| Error::data(here().col(c), e.to_string());
    let codes = df.column("code").and_then(|c| c.str().cloned()).map_err(|e| col_err("code", e))?;
    let names = df.column("name").and_then(|c| c.str().cloned()).map_err(|e| col_err("name", e))?;
    let notes = df.column("note").ok().and_then(|c| c.str().ok().cloned());
    let (column, boxes) = match covered {
        Some(_) => {
            let boxes = covering_boxes(&df, &meta, &primary).ok_or_else(|| {
                Error::data(
                    here().col(BBOX_COLUMN),
                    "bbox covering: expected a struct of four numbers (xmin, ymin, xmax, ymax)",
                )
            })?;
            (WkbColumn::new(bytes, label, &primary, md), Some(boxes))
        }
        // Decoded now, as one group, so that every unit can be boxed.
        None => {
            let all = df
                .column(&primary)
                .and_then(|c| c.binary().map(|b| b.rechunk().into_owned()))
                .map_err(|e| col_err(&primary, e))?;
            let mut whole = WkbColumn::new(bytes, label, &primary, md);
            whole.starts = vec![0, all.len()];
            whole.groups = vec![OnceLock::from(all)];
            (whole, None)
        }
    };
    rows_with(&df, &codes, &names, notes.as_ref(), std::sync::Arc::new(column), boxes, label)
}

fn rows_with(
    df: &DataFrame,
    codes: &StringChunked,
    names: &StringChunked,
    notes: Option<&StringChunked>,
    column: std::sync::Arc<WkbColumn>,
    boxes: Option<Vec<Option<Rect<f64>>>>,
    label: &str,
) -> Result<Vec<super::StoredUnit>> {
    let published = df.column("geometry_published").ok().and_then(|c| c.binary().ok().cloned());
    let kinds = df.column("kind").ok().and_then(|c| c.str().ok().cloned());
    let mut kinds = kinds.as_ref().map(|k| k.iter());
    let mut notes = notes.map(|n| n.iter());
    let mut published = published.as_ref().map(|p| p.iter());
    let mut rows = Vec::with_capacity(df.height());
    // Iterated, not indexed: the table comes in one chunk per row group.
    for (i, (code, name)) in codes.iter().zip(names.iter()).enumerate() {
        let note = notes.as_mut().and_then(|n| n.next().flatten());
        let published = published.as_mut().and_then(|p| p.next().flatten());
        let kind = kinds.as_mut().and_then(|k| k.next().flatten()).map(|k| match k {
            "arrondissement" => super::BoundaryKind::Arrondissement,
            _ => super::BoundaryKind::Commune,
        });
        let row_err =
            |c: &str, m: String| Error::data(Location::at(std::path::Path::new(label), i as u64 + 1).col(c), m);
        let code = code.ok_or_else(|| row_err("code", "null code".into()))?;
        let bbox = match &boxes {
            // A null box is a null geometry, as in the column it covers.
            Some(b) => match b[i] {
                Some(r) => Some(r),
                None => continue,
            },
            // Checked and boxed now, decoded when drawn (see `Unit::parts`).
            None => match column.bytes(i)? {
                Some(b) => wkb::bbox(b).map_err(|m| row_err(&column.column, format!("{code}: invalid WKB: {m}")))?,
                None => continue,
            },
        };
        let published = match published {
            Some(b) => {
                Some(wkb::decode(b).map_err(|m| row_err("geometry_published", format!("{code}: invalid WKB: {m}")))?)
            }
            None => None,
        };
        rows.push(super::StoredUnit {
            code: code.to_string(),
            name: name.unwrap_or_default().to_string(),
            kind,
            note: note.map(str::to_string),
            shape: super::StoredShape { column: column.clone(), row: i, bbox },
            published,
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    /// A GeoParquet table of `n` unit squares along a line, in row groups of `group` rows.
    fn table(n: usize, group: usize) -> Vec<u8> {
        let shapes: Vec<MultiPolygon<f64>> = (0..n)
            .map(|i| {
                let x = i as f64;
                MultiPolygon(vec![polygon![(x: x, y: 0.0), (x: x + 1.0, y: 0.0), (x: x + 1.0, y: 1.0), (x: x, y: 0.0)]])
            })
            .collect();
        let fields: Vec<Series> = BBOX_FIELDS
            .iter()
            .enumerate()
            .map(|(k, f)| {
                let v: Vec<f64> = (0..n).map(|i| [i as f64, 0.0, i as f64 + 1.0, 1.0][k]).collect();
                Series::new((*f).into(), v)
            })
            .collect();
        let mut df = df!(
            "code" => (0..n).map(|i| format!("{:05}", 28000 + i)).collect::<Vec<_>>(),
            "name" => (0..n).map(|i| format!("U{i}")).collect::<Vec<_>>(),
            "kind" => vec!["commune"; n],
        )
        .unwrap()
        .hstack(&[
            StructChunked::from_series(BBOX_COLUMN.into(), n, fields.iter()).unwrap().into_series().into_column(),
            Column::new("geometry".into(), shapes.iter().map(wkb::encode).collect::<Vec<_>>()),
        ])
        .unwrap();
        let meta = json!({ "version": VERSION, "primary_column": "geometry", "columns": { "geometry": {
            "encoding": "WKB",
            "covering": { "bbox": { "xmin": ["bbox", "xmin"], "ymin": ["bbox", "ymin"], "xmax": ["bbox", "xmax"], "ymax": ["bbox", "ymax"] } },
        } } });
        let mut out = Vec::new();
        ParquetWriter::new(&mut out)
            .with_row_group_size(Some(group))
            .with_key_value_metadata(Some(KeyValueMetadata::from_static(vec![(GEO_KEY.to_string(), meta.to_string())])))
            .finish(&mut df)
            .unwrap();
        out
    }

    #[test]
    fn a_row_group_is_decoded_when_one_of_its_units_is_read() {
        let rows = read_rows(table(10, 2).into(), "t.parquet").unwrap();
        assert_eq!(rows.len(), 10);
        let column = rows[0].shape.column.clone();
        // polars splits the rows evenly, in groups of about the size asked.
        assert!(column.starts.len() >= 4 && *column.starts.last().unwrap() == 10, "{:?}", column.starts);
        assert!(column.starts.windows(2).all(|w| w[1] > w[0]), "{:?}", column.starts);
        // Boxes from the covering, nothing decoded yet.
        assert_eq!(rows[6].shape.bbox, Some(Rect::new(Coord { x: 6.0, y: 0.0 }, Coord { x: 7.0, y: 1.0 })));
        let decoded = |c: &WkbColumn| c.groups.iter().map(|g| g.get().is_some()).collect::<Vec<_>>();
        assert!(decoded(&column).iter().all(|d| !d));
        let shape = column.decode(6, "28006").unwrap();
        assert_eq!(geo::BoundingRect::bounding_rect(&shape), rows[6].shape.bbox);
        let (g, _) = column.group_of(6);
        let want: Vec<bool> = (0..column.groups.len()).map(|i| i == g).collect();
        assert_eq!(decoded(&column), want, "only the group of row 6");
        // Every row of every group comes back as written.
        for (i, r) in rows.iter().enumerate() {
            assert_eq!(geo::BoundingRect::bounding_rect(&column.decode(i, &r.code).unwrap()), r.shape.bbox, "{i}");
        }
        assert_eq!(rows[9].code, "28009");
        assert_eq!(rows[9].kind, Some(super::super::BoundaryKind::Commune));
    }
}
