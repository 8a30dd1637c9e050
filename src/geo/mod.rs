//! Commune geometry in COG 2026: the 2018 boundaries (`sources::boundaries`) brought to COG 2026
//! codes with [`CogIndex`] and dissolved, shared-border adjacency, and the local projection used
//! by maps.
//!
//! Adjacency comes from shared polygon edges. The 2018 file was simplified as one topology
//! (mapshaper), so two communes that share a border share the exact same segments, across
//! départements too (checked on the national file: every segment belongs to one or two
//! communes, and inland départements have no unshared segment). Communes touching at a single
//! point are not neighbours. This needs no valid rings, so commune 14174, whose ring pinches
//! around commune 14512, is handled like any other; its shape is repaired (even-odd union) only
//! where areas or containment are computed.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use geo::{Area, BoundingRect, Coord, MultiPolygon, Orient, Polygon, Rect};

use crate::error::Result;
use crate::sources::boundaries::{self, Boundary};
use crate::sources::DataDir;
use crate::transforms::cog::CogIndex;

pub mod projection;
pub mod territory;

pub use projection::Projection;
pub use territory::{analyse, TerritoryGeometry};

/// Mean Earth radius (km), as used by the haversine formulas.
pub const EARTH_RADIUS_KM: f64 = 6371.0088;

/// One 2018 boundary feature.
#[derive(Debug, Clone)]
pub struct Part {
    pub code_2018: String,
    pub name_2018: String,
    pub shape: MultiPolygon<f64>,
    pub bbox: Rect<f64>,
    /// COG 2026 unit this 2018 commune is now part of; `None` if the code is unknown to COG 2026.
    pub unit: Option<String>,
}

/// The national commune boundaries, indexed by COG 2026 code. Load once per run.
#[derive(Debug, Clone)]
pub struct Geography {
    parts: Vec<Part>,
    by_unit: HashMap<String, Vec<usize>>,
    /// 2018 codes that are neither current nor former COG 2026 codes (expected: none).
    pub unknown_codes: Vec<String>,
}

/// A shared border between two COG 2026 units.
#[derive(Debug, Clone, PartialEq)]
pub struct Border {
    pub a: String,
    pub b: String,
    /// Length along the 2018 simplified boundaries (haversine), km.
    pub km: f64,
}

fn bbox_of(shape: &MultiPolygon<f64>) -> Rect<f64> {
    shape
        .bounding_rect()
        .unwrap_or_else(|| Rect::new(Coord { x: f64::NAN, y: f64::NAN }, Coord { x: f64::NAN, y: f64::NAN }))
}

fn rects_touch(a: &Rect<f64>, b: &Rect<f64>) -> bool {
    a.min().x <= b.max().x && b.min().x <= a.max().x && a.min().y <= b.max().y && b.min().y <= a.max().y
}

/// Haversine distance between two lon/lat points, km.
pub fn haversine_km(a: Coord<f64>, b: Coord<f64>) -> f64 {
    let (la1, la2) = (a.y.to_radians(), b.y.to_radians());
    let dlat = la2 - la1;
    let dlon = (b.x - a.x).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

type SegKey = [u64; 4];

fn seg_key(a: Coord<f64>, b: Coord<f64>) -> SegKey {
    let (p, q) = ((a.x.to_bits(), a.y.to_bits()), (b.x.to_bits(), b.y.to_bits()));
    let (p, q) = if p <= q { (p, q) } else { (q, p) };
    [p.0, p.1, q.0, q.1]
}

fn segments(shape: &MultiPolygon<f64>) -> impl Iterator<Item = (Coord<f64>, Coord<f64>)> + '_ {
    shape
        .iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .flat_map(|r| r.lines().map(|l| (l.start, l.end)))
}

/// True when a ring of `shape` passes twice through the same vertex: such a ring may enclose
/// another commune as a pinched loop (14174) and must be repaired before area or containment.
fn has_pinched_ring(shape: &MultiPolygon<f64>) -> bool {
    shape.iter().flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors())).any(|r| {
        let n = r.0.len().saturating_sub(1);
        let mut seen: Vec<(u64, u64)> = r.0[..n].iter().map(|c| (c.x.to_bits(), c.y.to_bits())).collect();
        seen.sort_unstable();
        seen.windows(2).any(|w| w[0] == w[1])
    })
}

/// Dissolve polygons into one valid multipolygon: orient every ring, then union with i_overlay
/// (geo's `unary_union`), which also turns pinched loops into holes. Zero-area rings (a boundary
/// that runs out and back along itself, as a few 2018 communes do) are dropped: they would show as
/// empty holes.
pub fn dissolve<'a>(shapes: impl IntoIterator<Item = &'a MultiPolygon<f64>>) -> MultiPolygon<f64> {
    let polys: Vec<Polygon<f64>> =
        shapes.into_iter().flat_map(|m| m.iter().map(|p| p.orient(geo::orient::Direction::Default))).collect();
    let flat = |r: &geo::LineString<f64>| Polygon::new(r.clone(), vec![]).unsigned_area() < DEGENERATE_DEG2;
    let out = geo::unary_union(&polys);
    MultiPolygon(
        out.into_iter()
            .filter(|p| !flat(p.exterior()))
            .map(|p| {
                let (ext, holes) = p.into_inner();
                Polygon::new(ext, holes.into_iter().filter(|h| !flat(h)).collect())
            })
            .collect(),
    )
}

/// Repair a shape whose rings may pinch or cross themselves, with the even-odd rule: a loop of a
/// ring around another commune becomes a hole whichever way the loop turns.
pub fn repair(shape: &MultiPolygon<f64>) -> MultiPolygon<f64> {
    use geo::bool_ops::{BooleanOps, FillRule, OpType};
    let fixed = shape.boolean_op_with_fill_rule(&MultiPolygon::<f64>::new(vec![]), OpType::Union, FillRule::EvenOdd);
    dissolve([&fixed])
}

/// Rings smaller than this (square degrees, ≈ 8 m²) are slivers of the union, not places.
const DEGENERATE_DEG2: f64 = 1e-9;

impl Geography {
    /// Read the 2018 boundaries and index them by COG 2026 code.
    pub fn load(data: &DataDir, index: &CogIndex) -> Result<Geography> {
        Ok(Geography::new(boundaries::load(data)?, index))
    }

    pub fn new(boundaries: Vec<Boundary>, index: &CogIndex) -> Geography {
        let mut parts = Vec::with_capacity(boundaries.len());
        let mut by_unit: HashMap<String, Vec<usize>> = HashMap::new();
        let mut unknown_codes = Vec::new();
        for b in boundaries {
            let unit = index.current_code(&b.code);
            match &unit {
                Some(u) => by_unit.entry(u.clone()).or_default().push(parts.len()),
                None => unknown_codes.push(b.code.clone()),
            }
            parts.push(Part { bbox: bbox_of(&b.shape), code_2018: b.code, name_2018: b.name, shape: b.shape, unit });
        }
        Geography { parts, by_unit, unknown_codes }
    }

    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// Whether a COG 2026 unit has at least one 2018 polygon.
    pub fn has(&self, code: &str) -> bool {
        self.by_unit.contains_key(code)
    }

    /// Every COG 2026 code with a polygon, sorted.
    pub fn codes(&self) -> Vec<String> {
        let mut v: Vec<String> = self.by_unit.keys().cloned().collect();
        v.sort();
        v
    }

    /// The 2018 codes whose polygons make up a COG 2026 unit.
    pub fn codes_2018(&self, code: &str) -> Vec<&str> {
        self.by_unit
            .get(code)
            .map(|ix| ix.iter().map(|&i| self.parts[i].code_2018.as_str()).collect())
            .unwrap_or_default()
    }

    pub fn bbox(&self, code: &str) -> Option<Rect<f64>> {
        let ix = self.by_unit.get(code)?;
        let mut it = ix.iter().map(|&i| self.parts[i].bbox);
        let first = it.next()?;
        Some(it.fold(first, |a, b| {
            Rect::new(
                Coord { x: a.min().x.min(b.min().x), y: a.min().y.min(b.min().y) },
                Coord { x: a.max().x.max(b.max().x), y: a.max().y.max(b.max().y) },
            )
        }))
    }

    /// The unit's shape in COG 2026: its 2018 parts dissolved (merged communes) and repaired
    /// when a ring is pinched; a plain single part is returned as published.
    pub fn shape(&self, code: &str) -> Option<MultiPolygon<f64>> {
        let ix = self.by_unit.get(code)?;
        let parts: Vec<std::borrow::Cow<MultiPolygon<f64>>> = ix
            .iter()
            .map(|&i| {
                let s = &self.parts[i].shape;
                if has_pinched_ring(s) {
                    std::borrow::Cow::Owned(repair(s))
                } else {
                    std::borrow::Cow::Borrowed(s)
                }
            })
            .collect();
        if parts.len() == 1 {
            return Some(parts.into_iter().next()?.into_owned());
        }
        Some(dissolve(parts.iter().map(|c| c.as_ref())))
    }

    /// COG 2026 codes of the units with a part whose bounding box meets `rect`, sorted.
    pub fn codes_in_rect(&self, rect: &Rect<f64>) -> Vec<String> {
        let set: BTreeSet<&str> =
            self.parts.iter().filter(|p| rects_touch(&p.bbox, rect)).filter_map(|p| p.unit.as_deref()).collect();
        set.into_iter().map(str::to_string).collect()
    }

    /// Shared borders of the given units, with each other and with every other unit. Only the
    /// parts whose bounding boxes meet a member's are looked at.
    pub fn borders(&self, codes: &[String]) -> Vec<Border> {
        let members: Vec<usize> = codes.iter().filter_map(|c| self.by_unit.get(c)).flatten().copied().collect();
        let boxes: Vec<Rect<f64>> = members.iter().map(|&i| self.parts[i].bbox).collect();
        let mut seg_part: HashMap<SegKey, usize> = HashMap::new();
        let mut lengths: BTreeMap<(String, String), f64> = BTreeMap::new();
        let is_member: BTreeSet<usize> = members.iter().copied().collect();
        let mut visit = |i: usize, seg_part: &mut HashMap<SegKey, usize>| {
            let Some(ui) = self.parts[i].unit.as_deref() else {
                return;
            };
            for (a, b) in segments(&self.parts[i].shape) {
                match seg_part.get(&seg_key(a, b)) {
                    Some(&j) if j != i => {
                        let Some(uj) = self.parts[j].unit.as_deref() else {
                            continue;
                        };
                        if ui != uj {
                            let k = if ui < uj {
                                (ui.to_string(), uj.to_string())
                            } else {
                                (uj.to_string(), ui.to_string())
                            };
                            *lengths.entry(k).or_default() += haversine_km(a, b);
                        }
                    }
                    Some(_) => {}
                    None => {
                        if is_member.contains(&i) {
                            seg_part.insert(seg_key(a, b), i);
                        }
                    }
                }
            }
        };
        // Members first, so that a member-member segment is counted once (by the second one).
        for &i in &members {
            visit(i, &mut seg_part);
        }
        let Some(all) = boxes.iter().copied().reduce(|a, b| {
            Rect::new(
                Coord { x: a.min().x.min(b.min().x), y: a.min().y.min(b.min().y) },
                Coord { x: a.max().x.max(b.max().x), y: a.max().y.max(b.max().y) },
            )
        }) else {
            return Vec::new();
        };
        for (i, p) in self.parts.iter().enumerate() {
            if rects_touch(&all, &p.bbox) && !is_member.contains(&i) && boxes.iter().any(|b| rects_touch(b, &p.bbox)) {
                visit(i, &mut seg_part);
            }
        }
        lengths.into_iter().map(|((a, b), km)| Border { a, b, km }).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

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
        assert!(has_pinched_ring(&p));
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
        assert!(!has_pinched_ring(&square(0.0, 0.0, 1.0)));
    }

    #[test]
    fn haversine_one_degree_of_latitude() {
        let d = haversine_km(Coord { x: 1.0, y: 48.0 }, Coord { x: 1.0, y: 49.0 });
        assert!((d - 111.2).abs() < 0.1, "{d}");
    }
}
