//! Well-known binary (ISO/OGC simple features, 2D) for the polygons GeoParquet stores: written as
//! little-endian MultiPolygon, read as Polygon or MultiPolygon in either byte order. Two dozen
//! lines do it; a crate would bring its own geometry traits for no gain.

use geo::{Coord, LineString, MultiPolygon, Polygon, Rect};

const POLYGON: u32 = 3;
const MULTI_POLYGON: u32 = 6;

/// Encode as a little-endian WKB MultiPolygon.
pub fn encode(shape: &MultiPolygon<f64>) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(shape, &mut out);
    out
}

/// [`encode`] into `out`, cleared first: one buffer serves every shape of a table.
pub fn encode_into(shape: &MultiPolygon<f64>, out: &mut Vec<u8>) {
    let coords: usize =
        shape.iter().map(|p| p.exterior().0.len() + p.interiors().iter().map(|r| r.0.len()).sum::<usize>()).sum();
    out.clear();
    out.reserve(9 + shape.0.len() * 9 + coords * 16);
    let head = |out: &mut Vec<u8>, kind: u32, n: usize| {
        out.push(1);
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&(n as u32).to_le_bytes());
    };
    head(out, MULTI_POLYGON, shape.0.len());
    for p in shape {
        head(out, POLYGON, 1 + p.interiors().len());
        for r in std::iter::once(p.exterior()).chain(p.interiors()) {
            out.extend_from_slice(&(r.0.len() as u32).to_le_bytes());
            for c in &r.0 {
                out.extend_from_slice(&c.x.to_le_bytes());
                out.extend_from_slice(&c.y.to_le_bytes());
            }
        }
    }
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
    le: bool,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let s = self.b.get(self.at..self.at + N).ok_or_else(|| format!("truncated at byte {}", self.at))?;
        self.at += N;
        Ok(s.try_into().expect("slice of N bytes"))
    }
    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take::<4>()?;
        Ok(if self.le { u32::from_le_bytes(b) } else { u32::from_be_bytes(b) })
    }
    fn f64(&mut self) -> Result<f64, String> {
        let b = self.take::<8>()?;
        Ok(if self.le { f64::from_le_bytes(b) } else { f64::from_be_bytes(b) })
    }
    /// Byte order and geometry type of the next geometry.
    fn header(&mut self) -> Result<u32, String> {
        self.le = match self.take::<1>()?[0] {
            0 => false,
            1 => true,
            o => return Err(format!("byte order {o} at byte {}", self.at - 1)),
        };
        self.u32()
    }
    /// A count, bounded by what the bytes left could hold (a corrupt count must not allocate GBs).
    fn count(&mut self, min_item: usize) -> Result<usize, String> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min_item) > self.b.len() - self.at {
            return Err(format!("count {n} at byte {} exceeds the data", self.at - 4));
        }
        Ok(n)
    }
    fn polygon(&mut self) -> Result<Polygon<f64>, String> {
        let rings = self.count(4)?;
        let mut v = Vec::with_capacity(rings);
        for _ in 0..rings {
            let n = self.count(16)?;
            let mut r = Vec::with_capacity(n);
            for _ in 0..n {
                r.push(Coord { x: self.f64()?, y: self.f64()? });
            }
            v.push(LineString(r));
        }
        let mut it = v.into_iter();
        let ext = it.next().unwrap_or_else(|| LineString(vec![]));
        Ok(Polygon::new(ext, it.collect()))
    }
}

impl Reader<'_> {
    /// Walk a polygon as [`Reader::polygon`] reads it, widening `acc` (min x, min y, max x,
    /// max y) with the points of its exterior ring.
    fn polygon_bbox(&mut self, acc: &mut Option<[f64; 4]>) -> Result<(), String> {
        let rings = self.count(4)?;
        for ring in 0..rings {
            let n = self.count(16)?;
            // `count` checked that the n points are there: the ring is one slice, read without a
            // bounds check per number (every unit's box is computed when the table is read); the
            // holes are skipped.
            let points = &self.b[self.at..self.at + 16 * n];
            self.at += 16 * n;
            if ring > 0 {
                continue;
            }
            let le = self.le;
            let num = |b: &[u8]| {
                let b: [u8; 8] = b.try_into().expect("8 bytes");
                if le {
                    f64::from_le_bytes(b)
                } else {
                    f64::from_be_bytes(b)
                }
            };
            for p in points.chunks_exact(16) {
                let (x, y) = (num(&p[..8]), num(&p[8..]));
                *acc = Some(match *acc {
                    None => [x, y, x, y],
                    Some([a, b, c, d]) => [
                        if x < a { x } else { a },
                        if y < b { y } else { b },
                        if x > c { x } else { c },
                        if y > d { y } else { d },
                    ],
                });
            }
        }
        Ok(())
    }
}

/// The bounding box of a WKB Polygon or MultiPolygon, as geo's `bounding_rect` gives it for the
/// decoded shape (exterior rings), without building the shape; the bytes are checked as
/// [`decode`] checks them, so a later `decode` of them cannot fail.
pub fn bbox(b: &[u8]) -> Result<Option<Rect<f64>>, String> {
    let mut r = Reader { b, at: 0, le: true };
    let mut acc = None;
    match r.header()? {
        POLYGON => r.polygon_bbox(&mut acc)?,
        MULTI_POLYGON => {
            let n = r.count(9)?;
            for _ in 0..n {
                match r.header()? {
                    POLYGON => r.polygon_bbox(&mut acc)?,
                    t => return Err(format!("geometry type {t} inside a MultiPolygon")),
                }
            }
        }
        t => return Err(format!("geometry type {t}, expected 3 (Polygon) or 6 (MultiPolygon)")),
    }
    if r.at != b.len() {
        return Err(format!("{} bytes after the geometry", b.len() - r.at));
    }
    Ok(acc.map(|[a, b, c, d]| Rect::new(Coord { x: a, y: b }, Coord { x: c, y: d })))
}

/// Decode a WKB Polygon or MultiPolygon; the error says what is wrong and where.
pub fn decode(b: &[u8]) -> Result<MultiPolygon<f64>, String> {
    let mut r = Reader { b, at: 0, le: true };
    let out = match r.header()? {
        POLYGON => MultiPolygon(vec![r.polygon()?]),
        MULTI_POLYGON => {
            let n = r.count(9)?;
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                match r.header()? {
                    POLYGON => v.push(r.polygon()?),
                    t => return Err(format!("geometry type {t} inside a MultiPolygon")),
                }
            }
            MultiPolygon(v)
        }
        t => return Err(format!("geometry type {t}, expected 3 (Polygon) or 6 (MultiPolygon)")),
    };
    if r.at != b.len() {
        return Err(format!("{} bytes after the geometry", b.len() - r.at));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    #[test]
    fn unit_square_has_the_standard_bytes() {
        let sq = MultiPolygon(vec![polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 0.0), (x: 1.0, y: 1.0), (x: 0.0, y: 0.0)]]);
        let b = encode(&sq);
        // 01 06000000 01000000 | 01 03000000 01000000 04000000 then 4 × 16 bytes.
        assert_eq!(&b[..18], &[1, 6, 0, 0, 0, 1, 0, 0, 0, 1, 3, 0, 0, 0, 1, 0, 0, 0]);
        assert_eq!(&b[18..22], &[4, 0, 0, 0]);
        assert_eq!(&b[38..46], &1.0f64.to_le_bytes(), "x of the second point");
        assert_eq!(b.len(), 22 + 4 * 16);
        assert_eq!(decode(&b).unwrap(), sq);
    }

    #[test]
    fn round_trip_with_holes_and_big_endian_polygon() {
        let p = polygon!(
            exterior: [(x: 0.0, y: 0.0), (x: 4.0, y: 0.0), (x: 4.0, y: 4.0), (x: 0.0, y: 0.0)],
            interiors: [[(x: 1.0, y: 1.0), (x: 2.0, y: 1.0), (x: 2.0, y: 1.5), (x: 1.0, y: 1.0)]],
        );
        let m = MultiPolygon(vec![
            p.clone(),
            polygon![(x: 5.0, y: 5.0), (x: 6.0, y: 5.0), (x: 6.0, y: 6.0), (x: 5.0, y: 5.0)],
        ]);
        assert_eq!(decode(&encode(&m)).unwrap(), m);
        assert_eq!(bbox(&encode(&m)).unwrap(), geo::BoundingRect::bounding_rect(&m));
        // A big-endian Polygon, as another writer may produce.
        let mut be = vec![0u8];
        be.extend_from_slice(&3u32.to_be_bytes());
        be.extend_from_slice(&1u32.to_be_bytes());
        be.extend_from_slice(&4u32.to_be_bytes());
        for (x, y) in [(0.0f64, 0.0f64), (4.0, 0.0), (4.0, 4.0), (0.0, 0.0)] {
            be.extend_from_slice(&x.to_be_bytes());
            be.extend_from_slice(&y.to_be_bytes());
        }
        assert_eq!(decode(&be).unwrap(), MultiPolygon(vec![Polygon::new(p.exterior().clone(), vec![])]));
        assert_eq!(bbox(&be).unwrap(), geo::BoundingRect::bounding_rect(p.exterior()));
    }

    #[test]
    fn corrupt_bytes_are_errors_not_panics() {
        let b = encode(&MultiPolygon(vec![
            polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 0.0), (x: 1.0, y: 1.0), (x: 0.0, y: 0.0)],
        ]));
        let cut = decode(&b[..b.len() - 3]).unwrap_err();
        assert!(cut.contains("exceeds") || cut.contains("truncated"), "{cut}");
        assert!(decode(&b[..3]).unwrap_err().contains("truncated"));
        let mut huge = b.clone();
        huge[5..9].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode(&huge).unwrap_err().contains("exceeds"));
        assert!(decode(&[1, 1, 0, 0, 0]).unwrap_err().contains("type 1"));
        assert!(decode(&[7]).unwrap_err().contains("byte order"));
        assert_eq!(bbox(&b[..b.len() - 3]).unwrap_err(), cut);
        assert_eq!(bbox(&huge).unwrap_err(), decode(&huge).unwrap_err());
        let mut extra = b;
        extra.push(0);
        assert!(decode(&extra).unwrap_err().contains("after"));
    }
}
