//! Commune and arrondissement geometry in COG 2026: the boundaries of `sources::boundaries`
//! (current COG 2026 by default; an older vintage is brought to COG 2026 codes with [`CogIndex`]
//! and dissolved), shared-border adjacency, the local projection used by maps, and the
//! GeoParquet table `build` writes (see [`geoparquet`]).
//!
//! Adjacency comes from shared polygon edges. Both files were simplified as one topology, so two
//! communes that share a border share the exact same segments, across départements too (checked
//! on the national files: every segment belongs to one or two communes). Communes touching at a
//! single point are not neighbours. Segments are compared on a 1e-7° grid (≈ 1 cm), so that a
//! shape that went through a repair (whose float round trip moves vertices by ~1e-10°) still
//! meets its neighbours. Adjacency reads the vertices as published and needs no valid rings;
//! shapes are repaired (even-odd) only where areas, containment or maps need them.
//!
//! Paris, Lyon and Marseille exist twice in the current boundaries: as whole communes (75056,
//! 69123, 13055) and as their arrondissements. Each territory sees one layer, so nothing is
//! counted twice: whole communes everywhere, except that a city whose arrondissements are
//! members (and which is not itself a member) is replaced by its arrondissements. The neighbours
//! of a Marseille CPTS are therefore the other arrondissements of Marseille plus the communes
//! around (Allauch, Plan-de-Cuques…), never 13055; the neighbours of Allauch are 13055 as a whole.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, OnceLock};

use geo::{BoundingRect, Coord, MultiPolygon, Orient, Polygon, Rect};

use crate::error::{Error, Location, Result};
use crate::sources::boundaries::{self, Boundaries, BoundaryKind, GeometryWarning, Layout};
use crate::sources::decoupage::UnitKind;
use crate::sources::DataDir;
use crate::transforms::cog::CogIndex;

pub mod geoparquet;
pub mod projection;
pub mod territory;
pub mod wkb;

use geoparquet::WkbColumn;

pub use projection::Projection;
pub use territory::{analyse, TerritoryGeometry};

/// Mean Earth radius (km), as used by the haversine formulas.
pub const EARTH_RADIUS_KM: f64 = 6371.0088;

/// One COG 2026 unit with a polygon.
#[derive(Debug, Clone)]
pub struct Unit {
    pub code: String,
    pub name: String,
    pub kind: BoundaryKind,
    /// Paris/Lyon/Marseille code of an arrondissement municipal.
    pub parent: Option<String>,
    /// Codes of the features it is made of, when not just its own (the former communes of an
    /// older vintage); empty for a unit that is its own one feature. See [`Geography::source_codes`].
    pub source_codes: Vec<String>,
    /// Polygons as read (one per feature), for adjacency; see [`Unit::parts`]. Empty for a
    /// GeoParquet row whose valid shape is its published rings (all but a few units).
    parts: Vec<MultiPolygon<f64>>,
    /// The valid shape of a GeoParquet row, decoded on first use (a diagnosis draws a few
    /// hundred of the 35 000 units): the column and the row.
    wkb: Option<(Arc<WkbColumn>, usize)>,
    decoded: OnceLock<MultiPolygon<f64>>,
    /// Whether `parts` is one valid shape as is.
    ready: bool,
    pub bbox: Rect<f64>,
    /// What was repaired or dropped while reading (the warnings' text), if anything.
    pub note: Option<String>,
}

impl Unit {
    /// Polygons as read (one per feature).
    fn parts(&self) -> &[MultiPolygon<f64>] {
        match self.stored() {
            Some(valid) if self.parts.is_empty() => std::slice::from_ref(valid),
            _ => &self.parts,
        }
    }

    /// The valid shape stored in GeoParquet, decoded on first use. The table is `build`'s own
    /// output (or the snapshot a test proves equal to a fresh build), so bytes that do not decode
    /// are a damaged file: the message names it, the row and the column.
    /// The valid shape, borrowed when it is stored (the published rings of all but a few units).
    pub(crate) fn valid_shape(&self) -> Option<Cow<'_, MultiPolygon<f64>>> {
        if self.ready {
            return Some(Cow::Borrowed(&self.parts()[0]));
        }
        if let Some(valid) = self.stored() {
            return Some(Cow::Borrowed(valid));
        }
        let fixed: Vec<MultiPolygon<f64>> =
            self.parts().iter().map(|s| if boundaries::is_valid_shape(s) { s.clone() } else { repair(s) }).collect();
        if fixed.len() == 1 {
            return fixed.into_iter().next().map(Cow::Owned);
        }
        Some(Cow::Owned(dissolve(&fixed)))
    }

    fn stored(&self) -> Option<&MultiPolygon<f64>> {
        let (column, row) = self.wkb.as_ref()?;
        Some(self.decoded.get_or_init(|| column.decode(*row, &self.code).unwrap_or_else(|e| panic!("{e}"))))
    }
}

/// A valid shape of the GeoParquet table: where its WKB is, and its bounding box.
pub(crate) struct StoredShape {
    pub column: Arc<WkbColumn>,
    pub row: usize,
    pub bbox: Option<Rect<f64>>,
}

/// A row of the GeoParquet table.
pub(crate) struct StoredUnit {
    pub code: String,
    pub name: String,
    /// As the table says it (the COG, when given, decides).
    pub kind: Option<BoundaryKind>,
    pub note: Option<String>,
    /// Valid shape.
    pub shape: StoredShape,
    /// The rings as published, when the valid shape differs from them (for adjacency).
    pub published: Option<MultiPolygon<f64>>,
}

/// The published rings of a unit as one shape, when they are not its valid shape.
pub(crate) fn published_if_repaired(u: &Unit) -> Option<MultiPolygon<f64>> {
    (!u.ready).then(|| MultiPolygon(u.parts().iter().flat_map(|p| p.0.iter().cloned()).collect()))
}

/// The units of a GeoParquet table, not yet checked against the COG: built while the COG is
/// still being read (35 000 units, a box and a few strings each), then [`StoredGeography::place`]d.
pub(crate) struct StoredGeography(Geography);

impl StoredGeography {
    pub fn new(rows: Vec<StoredUnit>, origin: String) -> StoredGeography {
        let mut units: Vec<Unit> = rows
            .into_iter()
            .map(|StoredUnit { code, name, kind, note, shape, published }| {
                // A shape stored once when it is its published rings (all but a few units); a
                // repaired unit keeps its published rings for adjacency.
                let ready = published.is_none();
                Unit {
                    // The valid shape's box, as `bbox_of` gives it.
                    bbox: shape.bbox.unwrap_or_else(|| bbox_of(std::iter::empty())),
                    wkb: Some((shape.column, shape.row)),
                    decoded: OnceLock::new(),
                    name,
                    kind: kind.unwrap_or(BoundaryKind::Commune),
                    parent: None,
                    source_codes: Vec::new(),
                    ready,
                    parts: published.into_iter().collect(),
                    note,
                    code,
                }
            })
            .collect();
        if !units.is_sorted_by(|a, b| a.code <= b.code) {
            units.sort_by(|a, b| a.code.cmp(&b.code));
        }
        StoredGeography(Geography {
            units,
            unknown_codes: Vec::new(),
            warnings: Vec::new(),
            dropped: BTreeMap::new(),
            origin,
        })
    }

    /// The units in the COG, with its kind and city of each (the COG wins over the table's
    /// `kind`); the codes it does not know are set aside in `unknown_codes`.
    pub fn place(self, index: &CogIndex) -> Geography {
        let mut g = self.0;
        let mut unknown = Vec::new();
        g.units.retain_mut(|u| match index.kind_and_parent(&u.code) {
            Some((kind, parent)) => {
                u.kind = match kind {
                    UnitKind::Arrondissement => BoundaryKind::Arrondissement,
                    UnitKind::Commune => BoundaryKind::Commune,
                };
                u.parent = parent.map(str::to_string);
                true
            }
            None => {
                unknown.push(u.code.clone());
                false
            }
        });
        g.unknown_codes = unknown;
        g
    }
}

/// The national boundaries, indexed by COG 2026 code. Load once per run.
#[derive(Debug, Clone)]
pub struct Geography {
    /// Sorted by code (looked up by binary search: no map of 35 000 owned keys to build).
    units: Vec<Unit>,
    /// Polars' hasher: 35 000 codes are hashed on each read, and SipHash was most of placing them.
    /// Boundary codes that are neither current nor former COG 2026 codes (expected: none).
    pub unknown_codes: Vec<String>,
    /// Problems found while reading the GeoJSON (none when read from GeoParquet: `Unit::note`
    /// keeps them).
    pub warnings: Vec<GeometryWarning>,
    /// Notes of codes that were read but dropped (no usable polygon), for the missing list.
    dropped: BTreeMap<String, String>,
    /// Where the geometry comes from, one line (vintage and files).
    pub origin: String,
}

/// A shared border between two COG 2026 units.
#[derive(Debug, Clone, PartialEq)]
pub struct Border {
    pub a: String,
    pub b: String,
    /// Length along the simplified boundaries (haversine), km.
    pub km: f64,
}

fn bbox_of<'a>(shapes: impl IntoIterator<Item = &'a MultiPolygon<f64>>) -> Rect<f64> {
    shapes
        .into_iter()
        .filter_map(|s| s.bounding_rect())
        .reduce(union_rect)
        .unwrap_or_else(|| Rect::new(Coord { x: f64::NAN, y: f64::NAN }, Coord { x: f64::NAN, y: f64::NAN }))
}

fn union_rect(a: Rect<f64>, b: Rect<f64>) -> Rect<f64> {
    Rect::new(
        Coord { x: a.min().x.min(b.min().x), y: a.min().y.min(b.min().y) },
        Coord { x: a.max().x.max(b.max().x), y: a.max().y.max(b.max().y) },
    )
}

/// Boxes that meet, give or take the segment grid (a repaired shape's box may shrink by ~1e-10°).
fn rects_touch(a: &Rect<f64>, b: &Rect<f64>) -> bool {
    const E: f64 = 1e-7;
    a.min().x <= b.max().x + E && b.min().x <= a.max().x + E && a.min().y <= b.max().y + E && b.min().y <= a.max().y + E
}

/// Haversine distance between two lon/lat points, km.
pub fn haversine_km(a: Coord<f64>, b: Coord<f64>) -> f64 {
    let (la1, la2) = (a.y.to_radians(), b.y.to_radians());
    let dlat = la2 - la1;
    let dlon = (b.x - a.x).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

type SegKey = [i64; 4];

fn seg_key(a: Coord<f64>, b: Coord<f64>) -> SegKey {
    let g = |v: f64| (v * 1e7).round() as i64;
    let (p, q) = ((g(a.x), g(a.y)), (g(b.x), g(b.y)));
    let (p, q) = if p <= q { (p, q) } else { (q, p) };
    [p.0, p.1, q.0, q.1]
}

fn segments(shape: &MultiPolygon<f64>) -> impl Iterator<Item = (Coord<f64>, Coord<f64>)> + '_ {
    shape
        .iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .flat_map(|r| r.lines().map(|l| (l.start, l.end)))
}

/// Dissolve polygons into one valid multipolygon: orient every ring, then union with i_overlay
/// (geo's `unary_union`), which also turns pinched loops into holes. Zero-area rings (a boundary
/// that runs out and back along itself, as a few 2018 communes do) are dropped: they would show as
/// empty holes.
pub fn dissolve<'a>(shapes: impl IntoIterator<Item = &'a MultiPolygon<f64>>) -> MultiPolygon<f64> {
    let polys: Vec<Polygon<f64>> =
        shapes.into_iter().flat_map(|m| m.iter().map(|p| p.orient(geo::orient::Direction::Default))).collect();
    boundaries::drop_flat_rings(geo::unary_union(&polys))
}

/// Repair a shape whose rings may pinch or cross themselves (see [`boundaries::make_valid`]).
pub fn repair(shape: &MultiPolygon<f64>) -> MultiPolygon<f64> {
    boundaries::make_valid(shape)
}

impl Geography {
    /// Read the default boundaries of the data folder (COG 2026 communes and arrondissements).
    pub fn load(data: &DataDir, index: &CogIndex) -> Result<Geography> {
        Ok(Geography::new(boundaries::load(data)?, index))
    }

    pub fn new(b: Boundaries, index: &CogIndex) -> Geography {
        let origin = format!(
            "{} ({})",
            b.metas().iter().map(|m| m.vintage).collect::<BTreeSet<_>>().into_iter().collect::<Vec<_>>().join(", "),
            b.files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", ")
        );
        let legacy = b.layout == Layout::Legacy;
        let mut notes: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for w in &b.warnings {
            let unit = index.current_code(&w.code).unwrap_or_else(|| w.code.clone());
            notes.entry(unit).or_default().push(format!("{}: {}", w.problem, w.action));
        }
        // Each feature under its unit's current code, in code order and, within a unit, in file
        // order (a stable sort, needed only when the file is not in code order).
        let mut placed: Vec<(String, boundaries::Boundary)> = Vec::with_capacity(b.features.len());
        let mut unknown_codes = Vec::new();
        for f in b.features {
            match index.current_code(&f.code) {
                Some(u) => placed.push((u, f)),
                None => unknown_codes.push(f.code.clone()),
            }
        }
        if !placed.is_sorted_by(|a, b| a.0 <= b.0) {
            placed.sort_by(|a, b| a.0.cmp(&b.0));
        }
        let mut units = Vec::with_capacity(placed.len());
        let mut placed = placed.into_iter().peekable();
        while let Some((code, first)) = placed.next() {
            let mut feats = vec![first];
            while let Some((_, f)) = placed.next_if(|(c, _)| *c == code) {
                feats.push(f);
            }
            // The feature that kept the code first: it names the unit.
            feats.sort_by_key(|f| f.code != code);
            let in_cog = index.kind_and_parent(&code);
            let kind = match in_cog {
                Some((UnitKind::Arrondissement, _)) => BoundaryKind::Arrondissement,
                Some((UnitKind::Commune, _)) => BoundaryKind::Commune,
                None => feats[0].kind,
            };
            let parent = in_cog.and_then(|(_, p)| p).map(str::to_string).or_else(|| feats[0].parent.clone());
            let ready = feats.len() == 1 && feats[0].valid;
            let name = if legacy && feats[0].code != code { code.clone() } else { feats[0].name.clone() };
            let source_codes = if feats.len() == 1 && feats[0].code == code {
                Vec::new()
            } else {
                feats.iter().map(|f| f.code.clone()).collect()
            };
            // Moved, not copied: the boundaries' reader stores each ring at its length, side by
            // side (serde's rings, grown by doubling among freed buffers, were copied to pack them).
            let parts: Vec<MultiPolygon<f64>> = feats.into_iter().map(|f| f.shape).collect();
            units.push(Unit {
                bbox: bbox_of(&parts),
                wkb: None,
                decoded: OnceLock::new(),
                name,
                kind,
                parent,
                source_codes,
                parts,
                ready,
                note: notes.get(&code).map(|v| v.join("; ")),
                code,
            });
        }
        // In code order already (placed in code order).
        let has = |c: &str| units.binary_search_by(|u: &Unit| u.code.as_str().cmp(c)).is_ok();
        let dropped = notes.into_iter().filter(|(c, _)| !has(c)).map(|(c, v)| (c, v.join("; "))).collect();
        Geography { units, unknown_codes, warnings: b.warnings, dropped, origin }
    }

    /// Built from finished shapes (one valid shape per unit, as GeoParquet stores them).
    pub(crate) fn from_shapes(rows: Vec<StoredUnit>, index: &CogIndex, origin: String) -> Geography {
        StoredGeography::new(rows, origin).place(index)
    }

    /// Read the GeoParquet table written by `build` (see [`geoparquet`]).
    pub fn from_geoparquet_bytes(bytes: &[u8], index: &CogIndex) -> Result<Geography> {
        geoparquet::read_bytes(bytes.to_vec().into(), index, "geometry table")
    }

    /// [`Geography::from_geoparquet_bytes`] of bytes that live as long as the program (the
    /// snapshot's): the row groups are decompressed from them as drawn, without a copy.
    pub fn from_static_geoparquet(bytes: &'static [u8], index: &CogIndex) -> Result<Geography> {
        geoparquet::read_bytes(bytes.into(), index, "geometry table")
    }

    pub fn from_geoparquet_file(path: &std::path::Path, index: &CogIndex) -> Result<Geography> {
        Ok(Geography::from_shapes(Geography::rows_of_geoparquet_file(path)?, index, path.display().to_string()))
    }

    /// The decoded rows of a GeoParquet file (placed in the COG by `from_shapes`).
    pub(crate) fn rows_of_geoparquet_file(path: &std::path::Path) -> Result<Vec<StoredUnit>> {
        let bytes = geoparquet::TableBytes::map(path).map_err(|e| Error::io(path, e))?;
        geoparquet::read_rows(bytes, &path.display().to_string()).map_err(|e| match e {
            Error::Data { .. } => e,
            other => Error::data(Location::file(path), other.to_string()),
        })
    }

    pub fn units(&self) -> &[Unit] {
        &self.units
    }

    fn index_of(&self, code: &str) -> Option<usize> {
        self.units.binary_search_by(|u| u.code.as_str().cmp(code)).ok()
    }

    pub fn unit(&self, code: &str) -> Option<&Unit> {
        self.index_of(code).map(|i| &self.units[i])
    }

    /// Whether a COG 2026 unit has a polygon.
    pub fn has(&self, code: &str) -> bool {
        self.index_of(code).is_some()
    }

    /// What reading said about a code without polygon (dropped polygon), if anything.
    pub fn dropped_note(&self, code: &str) -> Option<&str> {
        self.dropped.get(code).map(String::as_str)
    }

    /// Every COG 2026 code with a polygon, sorted.
    pub fn codes(&self) -> Vec<String> {
        self.units.iter().map(|u| u.code.clone()).collect()
    }

    /// The source codes whose polygons make up a COG 2026 unit.
    pub fn source_codes(&self, code: &str) -> Vec<&str> {
        match self.unit(code) {
            Some(u) if u.source_codes.is_empty() => vec![u.code.as_str()],
            Some(u) => u.source_codes.iter().map(String::as_str).collect(),
            None => Vec::new(),
        }
    }

    pub fn bbox(&self, code: &str) -> Option<Rect<f64>> {
        self.unit(code).map(|u| u.bbox)
    }

    /// The unit's valid shape in COG 2026: its parts dissolved (merged communes of an older
    /// vintage) and repaired when invalid; a valid single part is returned as published.
    pub fn shape(&self, code: &str) -> Option<MultiPolygon<f64>> {
        self.unit(code)?.valid_shape().map(Cow::into_owned)
    }

    /// Geodesic area of the unit's valid shape, km².
    pub fn area_km2(&self, code: &str) -> Option<f64> {
        self.shape(code).map(|s| boundaries::area_km2(&s))
    }

    /// Cities replaced by their arrondissements for a territory made of `members` (see the
    /// module documentation).
    pub fn split_cities(&self, members: &[String]) -> BTreeSet<String> {
        let set: BTreeSet<&str> = members.iter().map(String::as_str).collect();
        members
            .iter()
            .filter_map(|c| self.unit(c))
            .filter(|u| u.kind == BoundaryKind::Arrondissement)
            .filter_map(|u| u.parent.clone())
            .filter(|p| !set.contains(p.as_str()))
            .collect()
    }

    fn in_layer(u: &Unit, split: &BTreeSet<String>) -> bool {
        match u.kind {
            BoundaryKind::Commune => !split.contains(&u.code),
            BoundaryKind::Arrondissement => u.parent.as_ref().is_some_and(|p| split.contains(p)),
        }
    }

    /// COG 2026 codes of the units whose bounding box meets `rect`, sorted, in the layer of
    /// whole communes (arrondissements only in place of a city in `split`).
    pub fn codes_in_rect_split(&self, rect: &Rect<f64>, split: &BTreeSet<String>) -> Vec<String> {
        self.units
            .iter()
            .filter(|u| rects_touch(&u.bbox, rect) && Geography::in_layer(u, split))
            .map(|u| u.code.clone())
            .collect()
    }

    /// Communes (whole Paris, Lyon and Marseille) whose bounding box meets `rect`, sorted.
    pub fn codes_in_rect(&self, rect: &Rect<f64>) -> Vec<String> {
        self.codes_in_rect_split(rect, &BTreeSet::new())
    }

    /// Shared borders of the given units, with each other and with every other unit of their
    /// layer. Only the units whose bounding boxes meet a member's are looked at.
    pub fn borders(&self, codes: &[String]) -> Vec<Border> {
        let split = self.split_cities(codes);
        let members: Vec<usize> = codes.iter().filter_map(|c| self.index_of(c)).collect();
        let is_member: BTreeSet<usize> = members.iter().copied().collect();
        let boxes: Vec<Rect<f64>> = members.iter().map(|&i| self.units[i].bbox).collect();
        let mut seg_unit: HashMap<SegKey, usize> = HashMap::new();
        let mut lengths: BTreeMap<(String, String), f64> = BTreeMap::new();
        let mut visit = |i: usize, seg_unit: &mut HashMap<SegKey, usize>| {
            let ui = self.units[i].code.as_str();
            for part in self.units[i].parts() {
                for (a, b) in segments(part) {
                    match seg_unit.get(&seg_key(a, b)) {
                        Some(&j) if j != i => {
                            let uj = self.units[j].code.as_str();
                            let k = if ui < uj {
                                (ui.to_string(), uj.to_string())
                            } else {
                                (uj.to_string(), ui.to_string())
                            };
                            *lengths.entry(k).or_default() += haversine_km(a, b);
                        }
                        Some(_) => {}
                        None => {
                            if is_member.contains(&i) {
                                seg_unit.insert(seg_key(a, b), i);
                            }
                        }
                    }
                }
            }
        };
        // Members first, so that a member-member segment is counted once (by the second one).
        for &i in &members {
            visit(i, &mut seg_unit);
        }
        let Some(all) = boxes.iter().copied().reduce(union_rect) else {
            return Vec::new();
        };
        for (i, u) in self.units.iter().enumerate() {
            if rects_touch(&all, &u.bbox)
                && !is_member.contains(&i)
                && Geography::in_layer(u, &split)
                && boxes.iter().any(|b| rects_touch(b, &u.bbox))
            {
                visit(i, &mut seg_unit);
            }
        }
        lengths.into_iter().map(|((a, b), km)| Border { a, b, km }).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{polygon, Area};

    fn square(x: f64, y: f64, s: f64) -> MultiPolygon<f64> {
        MultiPolygon(vec![
            polygon![(x: x, y: y), (x: x + s, y: y), (x: x + s, y: y + s), (x: x, y: y + s), (x: x, y: y)],
        ])
    }

    #[test]
    fn pinched_ring_is_repaired_into_a_hole() {
        // A 4×4 square whose ring runs around an inner 1×1 square as a loop through (0, 2):
        // the 14174 pattern (there the loop turns against the ring; here with it, the harder case).
        // Even-odd repair must leave the inner square out.
        let ring = vec![
            (0.0, 0.0),
            (4.0, 0.0),
            (4.0, 4.0),
            (0.0, 4.0),
            (0.0, 2.0),
            (1.0, 1.5),
            (2.0, 1.5),
            (2.0, 2.5),
            (1.0, 2.5),
            (0.0, 2.0),
            (0.0, 0.0),
        ];
        let p = MultiPolygon(vec![Polygon::new(ring.into_iter().map(|(x, y)| Coord { x, y }).collect(), vec![])]);
        assert!(!geo::Validation::is_valid(&p), "a pinched ring is invalid");
        let fixed = repair(&p);
        // 16 minus the loop: a unit square and a triangle of 0.5.
        assert!((fixed.unsigned_area() - 14.5).abs() < 1e-9, "area {}", fixed.unsigned_area());
        assert!(!geo::Contains::contains(&fixed, &geo::Point::new(1.5, 2.0)));
        assert!(geo::Contains::contains(&fixed, &geo::Point::new(3.0, 3.0)));
    }

    #[test]
    fn dissolve_drops_zero_area_holes() {
        // A square with a spike running into it and back: i_overlay keeps it as a flat hole.
        let ring: Vec<Coord<f64>> =
            [(0.0, 0.0), (2.0, 0.0), (2.0, 2.0), (1.0, 2.0), (1.0, 1.0), (1.0, 2.0), (0.0, 2.0), (0.0, 0.0)]
                .into_iter()
                .map(|(x, y)| Coord { x, y })
                .collect();
        let d = dissolve([&MultiPolygon(vec![Polygon::new(ring.into(), vec![])])]);
        assert_eq!(d.0.len(), 1);
        assert!(d.0[0].interiors().is_empty());
        assert!((d.unsigned_area() - 4.0).abs() < 1e-9);
    }

    #[test]
    fn dissolve_merges_adjacent_squares() {
        let u = dissolve([&square(0.0, 0.0, 1.0), &square(1.0, 0.0, 1.0)]);
        assert_eq!(u.0.len(), 1);
        assert!((u.unsigned_area() - 2.0).abs() < 1e-9);
        assert!(geo::Validation::is_valid(&square(0.0, 0.0, 1.0)));
    }

    #[test]
    fn segment_keys_absorb_float_noise_but_not_vertices() {
        let a = Coord { x: 1.23456, y: 48.12345 };
        let b = Coord { x: 1.23457, y: 48.12345 };
        let noisy = Coord { x: 1.23456 + 3e-10, y: 48.12345 - 3e-10 };
        assert_eq!(seg_key(a, b), seg_key(b, noisy));
        assert_ne!(seg_key(a, b), seg_key(a, Coord { x: 1.23458, y: 48.12345 }));
    }

    #[test]
    fn haversine_one_degree_of_latitude() {
        let d = haversine_km(Coord { x: 1.0, y: 48.0 }, Coord { x: 1.0, y: 49.0 });
        assert!((d - 111.2).abs() < 0.1, "{d}");
    }
}
