//! Sparse neighbour lists: every pair of units whose centres lie within a radius, found through a
//! grid of cubes over the unit sphere (so the DROM and the antimeridian need no special case),
//! stored in compressed rows (CSR). Each unit is its own neighbour at distance 0.

use std::collections::HashMap;

/// Mean Earth radius (IUGG), km.
pub const EARTH_RADIUS_KM: f64 = 6371.0088;

/// Great-circle distance in km (haversine).
pub fn great_circle_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

/// Great-circle distance in km from the chord between two points of the unit sphere.
fn chord_km(chord: f64) -> f64 {
    2.0 * EARTH_RADIUS_KM * (chord / 2.0).min(1.0).asin()
}

fn unit_vector(lat: f64, lon: f64) -> [f64; 3] {
    let (p, l) = (lat.to_radians(), lon.to_radians());
    [p.cos() * l.cos(), p.cos() * l.sin(), p.sin()]
}

/// Neighbours of every unit within `radius_km`, with their great-circle distance.
#[derive(Debug, Clone)]
pub struct Network {
    /// Row `i` spans `offsets[i]..offsets[i + 1]` of `neighbour` and `km`.
    pub offsets: Vec<usize>,
    pub neighbour: Vec<u32>,
    pub km: Vec<f64>,
    pub radius_km: f64,
}

impl Network {
    pub fn build(lat: &[f64], lon: &[f64], radius_km: f64) -> Network {
        Network::build_rows(lat, lon, radius_km, None)
    }

    /// The rows of `only` (every row when `None`); the other rows are left empty. A row is the
    /// same whether built alone or with all the others (same candidates, same test, same
    /// order), so a model over a few rows gives the national figures for those rows.
    pub fn build_rows(lat: &[f64], lon: &[f64], radius_km: f64, only: Option<&[usize]>) -> Network {
        let n = lat.len();
        let xyz: Vec<[f64; 3]> = lat.iter().zip(lon).map(|(&a, &o)| unit_vector(a, o)).collect();
        // A cube as wide as the chord of the radius: all neighbours lie in the 27 cubes around.
        let chord = 2.0 * (radius_km / (2.0 * EARTH_RADIUS_KM)).min(std::f64::consts::FRAC_PI_2).sin();
        let cell = chord.max(1e-9);
        // A hair wider than the radius: the exact test is on the distance below.
        let chord2 = (chord * (1.0 + 1e-9)).powi(2);
        let key =
            |p: &[f64; 3]| [(p[0] / cell).floor() as i64, (p[1] / cell).floor() as i64, (p[2] / cell).floor() as i64];
        let mut grid: HashMap<[i64; 3], Vec<u32>> = HashMap::new();
        for (i, p) in xyz.iter().enumerate() {
            grid.entry(key(p)).or_default().push(i as u32);
        }
        let wanted: Option<Vec<bool>> = only.map(|o| {
            let mut w = vec![false; n];
            o.iter().filter(|&&i| i < n).for_each(|&i| w[i] = true);
            w
        });
        // Every pair of row `i` within the radius, in the grid's order.
        let visit = |i: usize, f: &mut dyn FnMut(u32, f64)| {
            let p = &xyz[i];
            let k = key(p);
            for dx in -1..=1 {
                for dy in -1..=1 {
                    for dz in -1..=1 {
                        let Some(cands) = grid.get(&[k[0] + dx, k[1] + dy, k[2] + dz]) else {
                            continue;
                        };
                        for &j in cands {
                            let q = &xyz[j as usize];
                            let c2 = (p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2) + (p[2] - q[2]).powi(2);
                            // The chord gives the great-circle distance exactly (2R·asin(c/2)):
                            // cheaper than the haversine, and only for pairs that pass.
                            if c2 <= chord2 {
                                let d = if j as usize == i { 0.0 } else { chord_km(c2.sqrt()) };
                                if d <= radius_km {
                                    f(j, d);
                                }
                            }
                        }
                    }
                }
            }
        };
        let wanted_row = |i: usize| wanted.as_ref().is_none_or(|w| w[i]);
        // Counted first, so that the pair vectors are allocated once at their size: grown by
        // doubling, the national network (~4.6 million pairs at the widest radius) held up to
        // twice its ~55 MB while `access` calibrates (docs/performance.md).
        let mut total = 0;
        for i in (0..n).filter(|&i| wanted_row(i)) {
            visit(i, &mut |_, _| total += 1);
        }
        let mut offsets = Vec::with_capacity(n + 1);
        offsets.push(0);
        let (mut neighbour, mut km) = (Vec::with_capacity(total), Vec::with_capacity(total));
        let mut row: Vec<(u32, f64)> = Vec::new();
        for i in 0..n {
            if !wanted_row(i) {
                offsets.push(neighbour.len());
                continue;
            }
            row.clear();
            visit(i, &mut |j, d| row.push((j, d)));
            // Sorted rows make every sum below run in one fixed order: results do not depend
            // on the hash map's iteration order.
            row.sort_unstable_by_key(|&(j, _)| j);
            for &(j, d) in &row {
                neighbour.push(j);
                km.push(d);
            }
            offsets.push(neighbour.len());
        }
        Network { offsets, neighbour, km, radius_km }
    }

    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of stored (ordered) pairs, self-pairs included.
    pub fn pairs(&self) -> usize {
        self.neighbour.len()
    }

    pub fn row(&self, i: usize) -> std::ops::Range<usize> {
        self.offsets[i]..self.offsets[i + 1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paris_to_london_is_the_textbook_343_km() {
        let d = great_circle_km(48.8566, 2.3522, 51.5074, -0.1278);
        assert!((d - 343.5).abs() < 0.5, "{d}");
    }

    #[test]
    fn grid_search_finds_the_same_pairs_as_brute_force() {
        // A made-up scatter around 48°N, 1°E, ~100 km across, plus a far-away unit.
        let mut lat = Vec::new();
        let mut lon = Vec::new();
        let mut s = 12345u64;
        let mut rnd = || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        for _ in 0..400 {
            lat.push(47.5 + rnd());
            lon.push(0.5 + 1.3 * rnd());
        }
        lat.push(-21.1);
        lon.push(55.5);
        let net = Network::build(&lat, &lon, 17.0);
        for i in 0..lat.len() {
            let want: Vec<u32> = (0..lat.len())
                .filter(|&j| j == i || great_circle_km(lat[i], lon[i], lat[j], lon[j]) <= 17.0)
                .map(|j| j as u32)
                .collect();
            assert_eq!(&net.neighbour[net.row(i)], want.as_slice(), "row {i}");
        }
        assert_eq!(net.row(400).len(), 1, "the far unit is its own only neighbour");
        let some = Network::build_rows(&lat, &lon, 17.0, Some(&[3, 250, 400]));
        for i in 0..lat.len() {
            let want: &[u32] = if [3, 250, 400].contains(&i) { &net.neighbour[net.row(i)] } else { &[] };
            assert_eq!(&some.neighbour[some.row(i)], want, "row {i}");
            assert_eq!(&some.km[some.row(i)], if want.is_empty() { &[][..] } else { &net.km[net.row(i)] });
        }
    }
}
