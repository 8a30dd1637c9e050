//! The geometry of one territory: dissolved outline and area, connected pieces, enclaves,
//! neighbouring communes or arrondissements (shared border), and the units that have no polygon.

use std::collections::{BTreeMap, BTreeSet};

use geo::{Contains, GeodesicArea, InteriorPoint, MultiPolygon, Polygon};
use serde::Serialize;

use super::{dissolve, Geography};
use crate::sources::decoupage::UnitKind;
use crate::transforms::cog::CogIndex;

/// A unit of the territory left out of the geometry, and why.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Missing {
    pub code: String,
    pub reason: String,
}

/// A commune outside the territory that shares a border with it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Neighbour {
    pub code: String,
    /// Length of the border shared with the territory (simplified boundaries), km.
    pub border_km: f64,
    /// Members it borders.
    pub borders: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TerritoryGeometry {
    /// Members with a polygon, sorted.
    pub mapped: Vec<String>,
    /// Members without a polygon: listed, not ignored.
    pub missing: Vec<Missing>,
    /// Union of the members' shapes (lon/lat WGS84).
    #[serde(skip)]
    pub outline: MultiPolygon<f64>,
    /// Geodesic area of the outline, km² (simplified boundaries).
    pub area_km2: f64,
    /// Groups of members connected by shared borders, largest first; one group = one piece.
    pub pieces: Vec<Vec<String>>,
    /// Communes outside the territory lying in a hole of its outline, one group per hole.
    pub enclaves: Vec<Vec<String>>,
    /// Holes of the outline with no commune in them (slivers of the boundary data), count.
    pub empty_holes: usize,
    /// Sorted by shared border length, longest first.
    pub neighbours: Vec<Neighbour>,
    /// Shared borders between members (for contiguity), km.
    pub internal_borders: Vec<(String, String, f64)>,
    /// Dissolved shapes of the members, neighbours and enclaves.
    #[serde(skip)]
    pub shapes: BTreeMap<String, MultiPolygon<f64>>,
}

impl TerritoryGeometry {
    pub fn is_one_piece(&self) -> bool {
        self.pieces.len() == 1
    }

    pub fn enclave_codes(&self) -> Vec<&str> {
        self.enclaves.iter().flatten().map(String::as_str).collect()
    }
}

fn missing_reason(code: &str, geo: &Geography, index: &CogIndex) -> String {
    if let Some(note) = geo.dropped_note(code) {
        return format!("its polygon was rejected when reading the boundaries ({note})");
    }
    match index.kind(code) {
        Some(UnitKind::Arrondissement) => format!(
            "arrondissement municipal without polygon: these boundaries have only its whole commune ({})",
            index.parent(code).unwrap_or("?")
        ),
        Some(UnitKind::Commune) => {
            "no polygon in the boundaries: commune created or re-created after their vintage (its area is inside the polygon of the commune it was part of) or outside their coverage".to_string()
        }
        None => "unknown to COG 2026".to_string(),
    }
}

fn components(nodes: &[String], edges: &[(String, String, f64)]) -> Vec<Vec<String>> {
    let pos: BTreeMap<&str, usize> = nodes.iter().enumerate().map(|(i, c)| (c.as_str(), i)).collect();
    let mut parent: Vec<usize> = (0..nodes.len()).collect();
    fn find(p: &mut [usize], mut i: usize) -> usize {
        while p[i] != i {
            p[i] = p[p[i]];
            i = p[i];
        }
        i
    }
    for (a, b, _) in edges {
        if let (Some(&i), Some(&j)) = (pos.get(a.as_str()), pos.get(b.as_str())) {
            let (ri, rj) = (find(&mut parent, i), find(&mut parent, j));
            parent[ri] = rj;
        }
    }
    let mut groups: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for (i, c) in nodes.iter().enumerate() {
        let r = find(&mut parent, i);
        groups.entry(r).or_default().push(c.clone());
    }
    let mut out: Vec<Vec<String>> = groups.into_values().collect();
    out.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    out
}

/// Analyse a territory given as COG 2026 codes.
pub fn analyse(geo: &Geography, codes: &[String], index: &CogIndex) -> TerritoryGeometry {
    let (mapped, unmapped): (Vec<String>, Vec<String>) = codes.iter().cloned().partition(|c| geo.has(c));
    let missing = unmapped.iter().map(|c| Missing { code: c.clone(), reason: missing_reason(c, geo, index) }).collect();
    let member_set: BTreeSet<&str> = mapped.iter().map(String::as_str).collect();
    let split = geo.split_cities(&mapped);

    let mut shapes: BTreeMap<String, MultiPolygon<f64>> = BTreeMap::new();
    for c in &mapped {
        if let Some(s) = geo.shape(c) {
            shapes.insert(c.clone(), s);
        }
    }
    let outline = dissolve(mapped.iter().filter_map(|c| shapes.get(c)));
    let area_km2 = outline.geodesic_area_unsigned() / 1e6;

    let mut internal = Vec::new();
    let mut by_neighbour: BTreeMap<String, (f64, BTreeSet<String>)> = BTreeMap::new();
    for b in geo.borders(&mapped) {
        match (member_set.contains(b.a.as_str()), member_set.contains(b.b.as_str())) {
            (true, true) => internal.push((b.a, b.b, b.km)),
            (true, false) => {
                let e = by_neighbour.entry(b.b).or_default();
                e.0 += b.km;
                e.1.insert(b.a);
            }
            (false, true) => {
                let e = by_neighbour.entry(b.a).or_default();
                e.0 += b.km;
                e.1.insert(b.b);
            }
            (false, false) => {}
        }
    }
    let pieces = components(&mapped, &internal);
    let mut neighbours: Vec<Neighbour> = by_neighbour
        .into_iter()
        .map(|(code, (km, borders))| Neighbour { code, border_km: km, borders: borders.into_iter().collect() })
        .collect();
    neighbours.sort_by(|a, b| b.border_km.total_cmp(&a.border_km).then_with(|| a.code.cmp(&b.code)));
    for n in &neighbours {
        if let Some(s) = geo.shape(&n.code) {
            shapes.insert(n.code.clone(), s);
        }
    }

    // Enclaves: any non-member whose interior point lies in a hole of the outline. Communes deep
    // inside a large hole need not touch the territory, so look at every unit in the hole's box.
    let mut enclaves = Vec::new();
    let mut empty_holes = 0;
    for poly in &outline {
        for hole in poly.interiors() {
            let hole = Polygon::new(hole.clone(), vec![]);
            let Some(rect) = geo::BoundingRect::bounding_rect(&hole) else {
                continue;
            };
            let mut inside = Vec::new();
            for c in geo.codes_in_rect_split(&rect, &split) {
                if member_set.contains(c.as_str()) {
                    continue;
                }
                let Some(s) = shapes.get(&c).cloned().or_else(|| geo.shape(&c)) else {
                    continue;
                };
                let Some(pt) = s
                    .iter()
                    .max_by(|a, b| geo::Area::unsigned_area(*a).total_cmp(&geo::Area::unsigned_area(*b)))
                    .and_then(|p| p.interior_point())
                else {
                    continue;
                };
                if hole.contains(&pt) {
                    shapes.entry(c.clone()).or_insert(s);
                    inside.push(c);
                }
            }
            if inside.is_empty() {
                empty_holes += 1;
            } else {
                inside.sort();
                enclaves.push(inside);
            }
        }
    }
    enclaves.sort();

    TerritoryGeometry {
        mapped,
        missing,
        outline,
        area_km2,
        pieces,
        enclaves,
        empty_holes,
        neighbours,
        internal_borders: internal,
        shapes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::boundaries::{Boundaries, Boundary, BoundaryKind, Layout};
    use crate::sources::decoupage::{Cog, Unit};
    use geo::polygon;

    /// A 3×3 grid of 1° squares, codes 28001..28009 row by row from the south-west (28005 in
    /// the middle), plus a far square 28010. 28009 is in COG 2026 as a commune nouvelle that
    /// absorbed the 2018 commune 28099, drawn as the east half of the north-east square;
    /// 28011 is a commune without polygon.
    fn bnd(code: &str, shape: MultiPolygon<f64>) -> Boundary {
        Boundary { code: code.into(), name: code.into(), kind: BoundaryKind::Commune, parent: None, shape, valid: true }
    }

    fn rect(x0: f64, x1: f64, y0: f64, y1: f64) -> MultiPolygon<f64> {
        MultiPolygon(vec![polygon![(x: x0, y: y0), (x: x1, y: y0), (x: x1, y: y1), (x: x0, y: y1), (x: x0, y: y0)]])
    }

    fn fixture() -> (Geography, CogIndex) {
        // Shared edges must share vertices, as in the 2018 file: full squares carry the midpoints
        // of their sides, where the halves of 28009 meet their neighbours.
        let sq = |x: f64, y: f64, w: f64| {
            let m = if w == 1.0 { 0.5 } else { w };
            MultiPolygon(vec![polygon![
                (x: x, y: y), (x: x + m, y: y), (x: x + w, y: y), (x: x + w, y: y + 0.5), (x: x + w, y: y + 1.0),
                (x: x + m, y: y + 1.0), (x: x, y: y + 1.0), (x: x, y: y + 0.5), (x: x, y: y)
            ]])
        };
        let mut b = Vec::new();
        for i in 0..9 {
            let (x, y) = ((i % 3) as f64, (i / 3) as f64 + 45.0);
            let code = format!("2800{}", i + 1);
            if i == 8 {
                b.push(bnd(&code, sq(x, y, 0.5)));
                b.push(bnd("28099", sq(x + 0.5, y, 0.5)));
            } else {
                b.push(bnd(&code, sq(x, y, 1.0)));
            }
        }
        b.push(bnd("28010", sq(10.0, 45.0, 1.0)));
        let unit = |code: &str, anciens: Vec<crate::sources::decoupage::CompactString>| Unit {
            code: code.into(),
            name: code.into(),
            kind: UnitKind::Commune,
            parent: None,
            departement: "28".into(),
            region: "24".into(),
            zone: "metro".into(),
            population: Some(100),
            anciens_codes: anciens,
            epci: None,
            dgcl: None,
        };
        let mut units: Vec<Unit> = (1..=11).map(|i| unit(&format!("280{i:02}"), vec![])).collect();
        units[8].anciens_codes = vec!["28099".into()];
        let cog = Cog { units, epcis: vec![], departements: vec![], regions: vec![] };
        let index = CogIndex::new(&cog);
        let b = Boundaries { layout: Layout::Legacy, files: vec![], features: b, warnings: vec![] };
        (Geography::new(b, &index), index)
    }

    /// A PLM city 13055 (two squares wide) present whole and as arrondissements 13201 (west) and
    /// 13202 (east), and a commune 13002 east of it; the current layout.
    fn plm_fixture() -> (Geography, CogIndex) {
        let arr = |code: &str, shape| Boundary {
            code: code.into(),
            name: code.into(),
            kind: BoundaryKind::Arrondissement,
            parent: Some("13055".into()),
            shape,
            valid: true,
        };
        let city = MultiPolygon(vec![polygon![
            (x: 20.0, y: 45.0), (x: 21.0, y: 45.0), (x: 22.0, y: 45.0), (x: 22.0, y: 46.0), (x: 21.0, y: 46.0),
            (x: 20.0, y: 46.0), (x: 20.0, y: 45.0)
        ]]);
        let features = vec![
            bnd("13055", city),
            bnd("13002", rect(22.0, 23.0, 45.0, 46.0)),
            arr("13201", rect(20.0, 21.0, 45.0, 46.0)),
            arr("13202", rect(21.0, 22.0, 45.0, 46.0)),
        ];
        let unit = |code: &str, kind, parent: Option<&str>| Unit {
            code: code.into(),
            name: code.into(),
            kind,
            parent: parent.map(Into::into),
            departement: "13".into(),
            region: "93".into(),
            zone: "metro".into(),
            population: Some(100),
            anciens_codes: vec![],
            epci: None,
            dgcl: None,
        };
        let units = vec![
            unit("13055", UnitKind::Commune, None),
            unit("13002", UnitKind::Commune, None),
            unit("13201", UnitKind::Arrondissement, Some("13055")),
            unit("13202", UnitKind::Arrondissement, Some("13055")),
        ];
        let index = CogIndex::new(&Cog { units, epcis: vec![], departements: vec![], regions: vec![] });
        let b = Boundaries { layout: Layout::Current, files: vec![], features, warnings: vec![] };
        (Geography::new(b, &index), index)
    }

    #[test]
    fn arrondissements_and_their_city_are_never_neighbours_together() {
        let (g, index) = plm_fixture();
        let names = |t: &TerritoryGeometry| t.neighbours.iter().map(|n| n.code.clone()).collect::<Vec<_>>();
        // An arrondissement territory sees the other arrondissements and the communes around.
        let t = analyse(&g, &codes(&["13202"]), &index);
        assert_eq!(names(&t), codes(&["13002", "13201"]));
        assert!(t.missing.is_empty() && t.is_one_piece());
        // A commune territory sees the whole city, not its arrondissements.
        let t = analyse(&g, &codes(&["13002"]), &index);
        assert_eq!(names(&t), codes(&["13055"]));
        assert!((t.neighbours[0].border_km - 111.2).abs() < 0.5, "{}", t.neighbours[0].border_km);
        // Both arrondissements: one piece, and the commune as the only neighbour.
        let t = analyse(&g, &codes(&["13201", "13202"]), &index);
        assert!(t.is_one_piece());
        assert_eq!(names(&t), codes(&["13002"]));
    }

    fn codes(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn ring_around_a_commune_reports_the_enclave() {
        let (g, index) = fixture();
        let t = analyse(&g, &codes(&["28001", "28002", "28003", "28004", "28006", "28007", "28008", "28009"]), &index);
        assert!(t.is_one_piece());
        assert_eq!(t.enclaves, vec![codes(&["28005"])]);
        assert_eq!(t.outline.0.len(), 1);
        assert_eq!(t.outline.0[0].interiors().len(), 1);
        let ring_area = t.area_km2;
        let full = analyse(
            &g,
            &codes(&["28001", "28002", "28003", "28004", "28005", "28006", "28007", "28008", "28009"]),
            &index,
        );
        assert!(full.enclaves.is_empty());
        assert!(full.area_km2 > ring_area * 1.1, "the enclave's area is not counted: {} vs {ring_area}", full.area_km2);
    }

    #[test]
    fn distant_communes_are_two_pieces_and_missing_ones_are_listed() {
        let (g, index) = fixture();
        let t = analyse(&g, &codes(&["28001", "28002", "28010", "28011"]), &index);
        assert_eq!(t.pieces, vec![codes(&["28001", "28002"]), codes(&["28010"])]);
        assert_eq!(t.missing.len(), 1);
        assert_eq!(t.missing[0].code, "28011");
        // A north-south side (111 km) is longer than an east-west one at 46°N (77 km).
        let n: Vec<&str> = t.neighbours.iter().map(|n| n.code.as_str()).collect();
        assert_eq!(n, vec!["28003", "28004", "28005"]);
        assert_eq!(t.neighbours[2].borders, codes(&["28002"]), "28005 touches 28001 only at a corner");
    }

    #[test]
    fn merged_commune_is_dissolved_and_borders_are_measured() {
        let (g, index) = fixture();
        assert_eq!(g.source_codes("28009"), vec!["28009", "28099"]);
        let shape = g.shape("28009").unwrap();
        assert_eq!(shape.0.len(), 1, "the two 2018 halves make one polygon");
        assert!((geo::Area::unsigned_area(&shape) - 1.0).abs() < 1e-9);
        let t = analyse(&g, &codes(&["28005"]), &index);
        let n: Vec<&str> = t.neighbours.iter().map(|n| n.code.as_str()).collect();
        assert_eq!(n.len(), 4, "rook neighbours only: {n:?}");
        for c in ["28002", "28004", "28006", "28008"] {
            assert!(n.contains(&c), "{c} missing from {n:?}");
        }
        // A 1° side at 45.5–46°N is 111 km north-south.
        let west = t.neighbours.iter().find(|n| n.code == "28004").unwrap();
        assert!((west.border_km - 111.2).abs() < 0.5, "{}", west.border_km);
        let ne = analyse(&g, &codes(&["28006"]), &index);
        assert!(
            ne.neighbours.iter().any(|n| n.code == "28009"),
            "the merged commune borders 28006 through its part 28099"
        );
    }

    #[test]
    fn components_split_unconnected_nodes() {
        let nodes: Vec<String> = ["a", "b", "c", "d"].iter().map(|s| s.to_string()).collect();
        let edges = vec![("a".to_string(), "b".to_string(), 1.0), ("c".to_string(), "x".to_string(), 1.0)];
        let g = components(&nodes, &edges);
        assert_eq!(g, vec![vec!["a".to_string(), "b".to_string()], vec!["c".to_string()], vec!["d".to_string()]]);
    }
}
