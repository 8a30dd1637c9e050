//! A reader of the boundaries' GeoJSON in its usual shape: one pass over the bytes, each ring
//! parsed into a reused buffer and stored at its exact length.
//!
//! serde's visitors cost a call per coordinate and grow every ring by doubling; on the 27 MB
//! national file they were the longest step of `build`'s longest thread. This reader accepts a
//! subset of what serde accepts and gives the same values: a number with a fraction or an
//! exponent is made exactly as serde_json makes it (its significand as `f64`, then one product or
//! quotient by a power of ten), an integer as serde's `u64` or `i64` converts (the same bits), and
//! keys and strings are compared as written. Whatever it does not expect (an escape in a string,
//! a geometry's `coordinates` before its `type`, a long or far-off number, a repeated key,
//! invalid JSON) makes it return `None`, and the caller reads the file with serde, which gives
//! the values or names the fault's line and column.

use super::{Collection, Feature, Geometry, Props, Ring};

/// The collection, or `None` for serde to read it.
pub(super) fn collection(text: &str) -> Option<Collection> {
    let mut s = Scan { text, b: text.as_bytes(), i: 0, ring: Vec::new() };
    let c = s.collection()?;
    s.ws();
    (s.i == s.b.len()).then_some(c)
}

/// serde_json's powers of ten for these exponents (exact up to 1e22).
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
    1e21, 1e22,
];

/// The decimal digits from `i` appended to `significand` (wrapping: the caller rejects more than
/// 18); the position after them.
#[inline]
fn digits(b: &[u8], mut i: usize, significand: &mut u64) -> usize {
    let mut v = *significand;
    while let Some(&c @ b'0'..=b'9') = b.get(i) {
        v = v.wrapping_mul(10).wrapping_add(u64::from(c - b'0'));
        i += 1;
    }
    *significand = v;
    i
}

/// Nesting of skipped values beyond which serde decides: it skips them without recursion, the
/// scan recurses, so its depth is bounded.
const MAX_DEPTH: u32 = 100;

struct Scan<'a> {
    text: &'a str,
    b: &'a [u8],
    i: usize,
    /// The ring being read; each ring is then copied out at its length.
    ring: Vec<[f64; 2]>,
}

impl<'a> Scan<'a> {
    #[inline]
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    /// The next byte after white space, not consumed.
    #[inline]
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.i).copied()
    }

    #[inline]
    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        self.ws();
        self.b[self.i..].starts_with(word).then(|| self.i += word.len())
    }

    /// A string without escapes or control characters, borrowed from the text.
    fn str(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.i;
        let len = memchr::memchr2(b'"', b'\\', &self.b[start..])?;
        let end = start + len;
        if self.b[end] != b'"' || self.b[start..end].iter().any(|&c| c < 0x20) {
            return None;
        }
        self.i = end + 1;
        // Both ends are ASCII quotes, so they are character boundaries.
        Some(&self.text[start..end])
    }

    fn opt_string(&mut self) -> Option<Option<String>> {
        if self.peek()? == b'n' {
            self.literal(b"null")?;
            return Some(None);
        }
        Some(Some(self.str()?.to_owned()))
    }

    /// The items between `open` and `close`, separated by commas, each read by `item`.
    fn sequence(&mut self, open: u8, close: u8, mut item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.eat(open)?;
        if self.peek()? == close {
            self.i += 1;
            return Some(());
        }
        loop {
            item(self)?;
            match self.peek()? {
                b',' => self.i += 1,
                c if c == close => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// An object's members, each key handed to `member`, which reads its value.
    fn members(&mut self, mut member: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        self.sequence(b'{', b'}', |s| {
            let key = s.str()?;
            s.eat(b':')?;
            member(s, key)
        })
    }

    /// An array's elements, each read by `element`.
    fn elements(&mut self, element: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.sequence(b'[', b']', element)
    }

    /// Any value, checked and passed over.
    fn skip(&mut self, depth: u32) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.peek()? {
            b'"' => self.str().map(drop),
            b'{' => self.members(|s, _| s.skip(depth + 1)),
            b'[' => self.elements(|s| s.skip(depth + 1)),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => self.number().map(drop),
        }
    }

    /// A JSON number as serde_json makes an `f64` of it: the decimal significand as `f64`, then
    /// multiplied or divided once by a power of ten. Longer significands (serde switches to
    /// another path past `u64`) and exponents beyond ±22 are left to serde.
    #[inline]
    fn number(&mut self) -> Option<f64> {
        self.ws();
        let b = self.b;
        let mut i = self.i;
        let negative = b.get(i) == Some(&b'-');
        i += usize::from(negative);
        let mut significand: u64 = 0;
        // Digits in the significand: a lone leading `0` adds nothing to it.
        let mut count = match *b.get(i)? {
            b'0' => {
                i += 1;
                if b.get(i).is_some_and(u8::is_ascii_digit) {
                    return None;
                }
                0
            }
            b'1'..=b'9' => {
                let start = i;
                i = digits(b, i, &mut significand);
                i - start
            }
            _ => return None,
        };
        let mut exponent: i32 = 0;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            i = digits(b, i, &mut significand);
            if i == start {
                return None;
            }
            count += i - start;
            exponent = -((i - start) as i32);
        }
        // 18 digits cannot overflow a u64 (the zeros after `0.` count, to be safe).
        if count > 18 {
            return None;
        }
        if let Some(b'e' | b'E') = b.get(i) {
            i += 1;
            let negative_exponent = match b.get(i) {
                Some(b'-') => {
                    i += 1;
                    true
                }
                Some(b'+') => {
                    i += 1;
                    false
                }
                _ => false,
            };
            let start = i;
            let mut e: i32 = 0;
            while let Some(&c @ b'0'..=b'9') = b.get(i) {
                if i - start == 4 {
                    return None;
                }
                e = e * 10 + i32::from(c - b'0');
                i += 1;
            }
            if i == start {
                return None;
            }
            exponent += if negative_exponent { -e } else { e };
        }
        let pow = *POW10.get(exponent.unsigned_abs() as usize)?;
        let f = significand as f64;
        let f = if exponent >= 0 { f * pow } else { f / pow };
        self.i = i;
        Some(if negative { -f } else { f })
    }

    fn collection(&mut self) -> Option<Collection> {
        let mut features = None;
        self.members(|s, key| {
            if key != "features" {
                return s.skip(0);
            }
            if features.is_some() {
                return None;
            }
            let mut v = Vec::new();
            s.elements(|s| {
                v.push(s.feature()?);
                Some(())
            })?;
            features = Some(v);
            Some(())
        })?;
        Some(Collection { features: features? })
    }

    fn feature(&mut self) -> Option<Feature> {
        let mut properties = None;
        let mut geometry = None;
        self.members(|s, key| match key {
            "properties" if properties.is_none() => {
                properties = Some(s.properties()?);
                Some(())
            }
            "geometry" if geometry.is_none() => {
                geometry = Some(s.geometry()?);
                Some(())
            }
            "properties" | "geometry" => None,
            _ => s.skip(0),
        })?;
        // A missing `geometry` is `None`, as serde makes a missing `Option`.
        Some(Feature { properties: properties?, geometry: geometry.flatten() })
    }

    fn properties(&mut self) -> Option<Props> {
        let (mut code, mut nom, mut departement, mut commune) = (None, None, None, None);
        self.members(|s, key| {
            let slot = match key {
                "code" => &mut code,
                "nom" => &mut nom,
                "departement" => &mut departement,
                "commune" => &mut commune,
                _ => return s.skip(0),
            };
            if slot.is_some() {
                return None;
            }
            *slot = Some(s.opt_string()?);
            Some(())
        })?;
        Some(Props {
            // `code` and `nom` are required strings: a null is serde's error to report.
            code: code??,
            nom: nom??,
            departement: departement.flatten(),
            commune: commune.flatten(),
        })
    }

    fn geometry(&mut self) -> Option<Option<Geometry>> {
        if self.peek()? == b'n' {
            self.literal(b"null")?;
            return Some(None);
        }
        self.eat(b'{')?;
        if self.str()? != "type" {
            return None;
        }
        self.eat(b':')?;
        let kind = self.str()?;
        self.eat(b',')?;
        if self.str()? != "coordinates" {
            return None;
        }
        self.eat(b':')?;
        let geometry = match kind {
            "Polygon" => Geometry::Polygon(self.polygon()?),
            "MultiPolygon" => {
                let mut polygons = Vec::new();
                self.elements(|s| {
                    polygons.push(s.polygon()?);
                    Some(())
                })?;
                Geometry::MultiPolygon(polygons)
            }
            _ => return None,
        };
        self.eat(b'}')?;
        Some(Some(geometry))
    }

    fn polygon(&mut self) -> Option<Vec<Ring>> {
        let mut rings = Vec::new();
        self.elements(|s| {
            rings.push(s.ring()?);
            Some(())
        })?;
        Some(rings)
    }

    fn ring(&mut self) -> Option<Ring> {
        self.ring.clear();
        self.eat(b'[')?;
        if self.peek()? == b']' {
            self.i += 1;
            return Some(Vec::new());
        }
        loop {
            self.eat(b'[')?;
            let x = self.number()?;
            self.eat(b',')?;
            let y = self.number()?;
            self.eat(b']')?;
            self.ring.push([x, y]);
            match self.peek()? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    // A clone is allocated at the ring's length.
                    return Some(self.ring.clone());
                }
                _ => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// serde's reading, in the form compared: `Debug` tells every distinct `f64` apart (-0.0 too).
    fn by_serde(text: &str) -> Option<String> {
        serde_json::from_str::<Collection>(text).ok().map(|c| format!("{c:?}"))
    }

    fn by_scan(text: &str) -> Option<String> {
        collection(text).map(|c| format!("{c:?}"))
    }

    fn feature(properties: &str, geometry: &str) -> String {
        format!(
            r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","properties":{properties},"geometry":{geometry}}}]}}"#
        )
    }

    #[test]
    fn the_usual_shapes_read_as_serde_reads_them() {
        let cases = [
            // Etalab's current layout.
            feature(
                r#"{"code":"13201","nom":"Marseille 1er Arrondissement","departement":"13","region":"93","commune":"13055","plm":false,"epci":null}"#,
                r#"{"type":"MultiPolygon","coordinates":[[[[5.3856,43.29432],[5.38148,43.29608],[5.38236,43.29344],[5.3856,43.29432]]],[[[1,2],[3,4],[5,6],[1,2]],[[1.5,2.5],[1.6,2.6],[1.7,2.4],[1.5,2.5]]]]}"#,
            ),
            // The 2018 layout: Polygon, no département.
            feature(r#"{"code":"28085","nom":"Chartres"}"#, r#"{"type":"Polygon","coordinates":[[[1.4,48.4],[1.5,48.4],[1.5,48.5],[1.4,48.4]]]}"#),
            feature(r#"{"code":"28085","nom":"Chartres","departement":null}"#, "null"),
            feature(r#"{"nom":"Dreux","code":"28134"}"#, r#"{"type":"MultiPolygon","coordinates":[]}"#),
            feature(r#"{"code":"28134","nom":"Dreux"}"#, r#"{"type":"Polygon","coordinates":[[],[]]}"#),
            // Geometry before properties, a missing geometry, members of every kind skipped.
            r#"{"type":"FeatureCollection","name":"x","crs":{"a":[1,{"b":[true,false,null]}],"c":-1.5e-3},"features":[{"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]},"id":7,"properties":{"code":"01001","nom":"L'Abergement"}},{"properties":{"code":"01002","nom":"Ambérieux","extra":{}},"type":"Feature"}]}"#.to_string(),
            // White space wherever JSON allows it.
            "\n{ \"features\" : [ { \"properties\" : { \"code\" : \"01001\" , \"nom\" : \"A\" } ,\r\n \"geometry\" : { \"type\" : \"Polygon\" , \"coordinates\" : [ [ [ 1.25 , -2 ] , [ 3 , 4 ] ] ] } } ] , \"type\" : \"FeatureCollection\" }\t\n"
                .to_string(),
            r#"{"features":[]}"#.to_string(),
            // Numbers of every form serde makes through one product or quotient.
            feature(
                r#"{"code":"01001","nom":"A"}"#,
                r#"{"type":"Polygon","coordinates":[[[0,-0],[-0.0,0.0],[1e3,1E-3],[1.5e+2,-2.5E-2],[123456789012345678,0.000000000000000001],[0.1,0.2],[-4.99999,43.000001],[9007199254740993,1.7976931348623157],[5e22,3e-22],[1E+22,-7e-0022],[12e0020,1.5E+021],[1e0005,-0e-5],[999999999999999999e4,4.9406564584124654e-2],[0.30000000000000004,2.2250738585072014e-6]]]}"#,
            ),
        ];
        for text in &cases {
            let serde = by_serde(text);
            assert!(serde.is_some(), "serde reads {text}");
            assert_eq!(by_scan(text), serde, "{text}");
        }
    }

    #[test]
    fn numbers_are_the_bits_serde_makes() {
        // A fixed pseudo-random walk over significands, fraction lengths and exponents.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut coords = Vec::new();
        for _ in 0..20_000 {
            let r = next();
            let digits = 1 + (r % 18) as usize;
            let mantissa = (next() % 10u64.pow(digits as u32)).to_string();
            let point = (r >> 8) as usize % (mantissa.len() + 1);
            let mut n = String::new();
            if r & (1 << 40) != 0 {
                n.push('-');
            }
            let (int, frac) = mantissa.split_at(point);
            n.push_str(if int.is_empty() { "0" } else { int.trim_start_matches('0') });
            if n.ends_with('-') || n.is_empty() {
                n.push('0');
            }
            if !frac.is_empty() {
                n.push('.');
                n.push_str(frac);
            }
            if r & (1 << 41) != 0 {
                n.push_str(&format!("e{}", (r >> 48) as i64 % 9 - 4));
            }
            coords.push(format!("[{n},{n}]"));
        }
        let text = feature(
            r#"{"code":"01001","nom":"A"}"#,
            &format!(r#"{{"type":"Polygon","coordinates":[[{}]]}}"#, coords.join(",")),
        );
        let serde = by_serde(&text);
        assert!(serde.is_some());
        assert_eq!(by_scan(&text), serde);
    }

    #[test]
    fn what_it_does_not_expect_is_left_to_serde() {
        // serde reads these; the scan declines, and serde's reading is used.
        let declined = [
            feature(r#"{"code":"42218","nom":"Saint-\u00c9tienne"}"#, "null"),
            feature(r#"{"code":"01001","nom":"A"}"#, r#"{"coordinates":[],"type":"Polygon"}"#),
            feature(r#"{"code":"01001","nom":"A"}"#, r#"{"type":"Polygon","coordinates":[],"bbox":[0,0,1,1]}"#),
            feature(r#"{"code":"01001","nom":"A"}"#, r#"{"type":"Polygon","coordinates":[[[1234567890123456789,0]]]}"#),
            feature(r#"{"code":"01001","nom":"A"}"#, r#"{"type":"Polygon","coordinates":[[[1e30,0]]]}"#),
            feature(r#"{"code":"01001","nom":"A","note":"a \"quoted\" word"}"#, "null"),
        ];
        for text in &declined {
            assert!(by_serde(text).is_some(), "serde reads {text}");
            assert_eq!(by_scan(text), None, "{text}");
        }
        // Neither reads these: serde then names the fault.
        let invalid = [
            r#"{"features":[],}"#.to_string(),
            r#"{"features":[]} x"#.to_string(),
            r#"{"features":[]"#.to_string(),
            r#"{"features":[],"features":[]}"#.to_string(),
            feature(r#"{"code":"01001","nom":"A","code":"01002"}"#, "null"),
            feature(r#"{"code":"01001"}"#, "null"),
            feature(r#"{"code":null,"nom":"A"}"#, "null"),
            feature(r#"{"code":"01001","nom":"A"}"#, r#"{"type":"Polygon","coordinates":[[[01,2]]]}"#),
            feature(r#"{"code":"01001","nom":"A"}"#, r#"{"type":"Polygon","coordinates":[[[1.,2]]]}"#),
            feature(r#"{"code":"01001","nom":"A"}"#, r#"{"type":"Polygon","coordinates":[[[1,2,3]]]}"#),
            feature(r#"{"code":"01001","nom":"A"}"#, r#"{"type":"Point","coordinates":[1,2]}"#),
            feature("{\"code\":\"01001\",\"nom\":\"A\u{1}\"}", "null"),
            feature(r#"{"code":"01001","nom":"A","x":tru}"#, "null"),
        ];
        for text in &invalid {
            assert_eq!(by_serde(text), None, "serde rejects {text}");
            assert_eq!(by_scan(text), None, "{text}");
        }
    }
}
