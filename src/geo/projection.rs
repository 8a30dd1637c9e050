//! Local equirectangular projection: lon/lat to kilometres east and north of a centre, with
//! longitudes shrunk by cos(latitude of the centre). Over a département (≈ 100 km) the scale error
//! stays under 1 %, which is all a map of communes needs, and it keeps maps at the right aspect
//! ratio without pulling a projection library.

use geo::{Coord, Rect};

use super::EARTH_RADIUS_KM;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Projection {
    pub lon0: f64,
    pub lat0: f64,
    cos_lat0: f64,
}

impl Projection {
    pub fn centred_on(lon0: f64, lat0: f64) -> Projection {
        Projection { lon0, lat0, cos_lat0: lat0.to_radians().cos() }
    }

    /// Centred on the middle of a lon/lat box.
    pub fn for_rect(r: &Rect<f64>) -> Projection {
        let c = r.center();
        Projection::centred_on(c.x, c.y)
    }

    /// (east, north) in km.
    pub fn project(&self, c: Coord<f64>) -> (f64, f64) {
        let k = EARTH_RADIUS_KM * std::f64::consts::PI / 180.0;
        ((c.x - self.lon0) * k * self.cos_lat0, (c.y - self.lat0) * k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_degree_east_is_shorter_than_a_degree_north_at_48() {
        let p = Projection::centred_on(1.0, 48.0);
        let (x, _) = p.project(Coord { x: 2.0, y: 48.0 });
        let (_, y) = p.project(Coord { x: 1.0, y: 49.0 });
        assert!((y - 111.19).abs() < 0.01, "{y}");
        assert!((x / y - 48f64.to_radians().cos()).abs() < 1e-9);
        assert_eq!(p.project(Coord { x: 1.0, y: 48.0 }), (0.0, 0.0));
    }
}
