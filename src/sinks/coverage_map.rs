//! Maps of a région's CPTS (SVG and PNG): every CPTS in its own colour, by ACI band, or by
//! weighted APL 2023; zones blanches grey, units in several CPTS hatched, CPTS limits drawn
//! where the membership of two neighbouring units differs.
//!
//! CPTS limits come from the units' shared edges, not from dissolving the perimeters: the
//! boundary files keep the topology (neighbours share their border vertices), so an edge listed
//! by two units of the same CPTS set is inside a CPTS, and one edge is a limit otherwise.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use geo::{Area, BoundingRect, Coord, InteriorPoint, LineString, MultiPolygon, Rect};
use plotters::prelude::*;
use plotters::style::FontStyle;

use super::chart::{draw_haloed, encode_png, register_fonts};
use super::{atomic_write, write_bytes};
use crate::error::{Error, Result};
use crate::geo::Projection;
use crate::indicators::APL_THRESHOLD;

/// One unit (commune or arrondissement) of the région.
pub struct MapUnit<'a> {
    pub shape: &'a MultiPolygon<f64>,
    /// Indices of the CPTS covering it (empty: zone blanche).
    pub cpts: Vec<usize>,
    pub population: i64,
}

/// One CPTS as drawn.
pub struct MapCpts {
    pub label: String,
    pub population: i64,
    pub band: Option<u8>,
    pub apl: Option<f64>,
    /// CPTS it borders (indices), so that neighbours get contrasting colours.
    pub neighbours: BTreeSet<usize>,
}

pub struct CoverageMap<'a> {
    pub title: String,
    pub units: Vec<MapUnit<'a>>,
    pub cpts: Vec<MapCpts>,
    pub footer: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Theme {
    /// Each CPTS in its own colour.
    Cpts,
    Band,
    Apl,
}

impl Theme {
    pub const ALL: [Theme; 3] = [Theme::Cpts, Theme::Band, Theme::Apl];

    pub fn stem(self) -> &'static str {
        match self {
            Theme::Cpts => "map_cpts",
            Theme::Band => "map_aci_band",
            Theme::Apl => "map_apl",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Theme::Cpts => "CPTS et zones blanches",
            Theme::Band => "Taille ACI des CPTS",
            Theme::Apl => "APL aux médecins généralistes 2023 de chaque CPTS (moyenne pondérée DREES)",
        }
    }
}

const BLANK: RGBColor = RGBColor(200, 200, 200);
const NO_DATA: RGBColor = RGBColor(235, 235, 235);
const LIMIT: RGBColor = RGBColor(40, 40, 40);
const HATCH: RGBColor = RGBColor(30, 30, 30);
const MAP_W: u32 = 900;
const LEGEND_W: u32 = 300;
const TITLE_H: u32 = 46;
const FOOTER_H: u32 = 30;

const BANDS: [(u8, &str, RGBColor); 4] = [
    (1, "Taille 1 (moins de 40 000 hab.)", RGBColor(254, 224, 139)),
    (2, "Taille 2 (40 000 à 79 999)", RGBColor(166, 217, 106)),
    (3, "Taille 3 (80 000 à 175 000)", RGBColor(50, 160, 90)),
    (4, "Taille 4 (plus de 175 000)", RGBColor(0, 90, 50)),
];

const APL_CLASSES: [(&str, f64, RGBColor); 5] = [
    ("moins de 1,5", 1.5, RGBColor(178, 24, 43)),
    ("1,5 à 2,5", APL_THRESHOLD, RGBColor(239, 138, 98)),
    ("2,5 à 3,5", 3.5, RGBColor(209, 229, 240)),
    ("3,5 à 4,5", 4.5, RGBColor(103, 169, 207)),
    ("4,5 et plus", f64::INFINITY, RGBColor(33, 102, 172)),
];

fn hsl(h: f64, s: f64, l: f64) -> RGBColor {
    let c = (1.0 - (2.0 * l - 1.0).abs()) * s;
    let hp = h / 60.0;
    let x = c * (1.0 - (hp % 2.0 - 1.0).abs());
    let (r, g, b) = match hp as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = l - c / 2.0;
    let f = |v: f64| ((v + m) * 255.0).round().clamp(0.0, 255.0) as u8;
    RGBColor(f(r), f(g), f(b))
}

fn distance(a: RGBColor, b: RGBColor) -> f64 {
    let d = |x: u8, y: u8| (x as f64 - y as f64).powi(2);
    (d(a.0, b.0) * 0.3 + d(a.1, b.1) * 0.59 + d(a.2, b.2) * 0.11).sqrt()
}

/// One colour per CPTS, all different (golden-angle hues over three lightness levels), handed
/// out so that each CPTS's colour is as far as possible from its neighbours' colours.
pub fn distinct_colours(cpts: &[MapCpts]) -> Vec<RGBColor> {
    let n = cpts.len();
    let mut pool: Vec<RGBColor> = (0..n)
        .map(|i| {
            let h = (i as f64 * 137.507_764) % 360.0;
            let l = [0.72, 0.58, 0.82][i % 3];
            hsl(h, 0.62, l)
        })
        .collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(cpts[i].neighbours.len()));
    let mut out: Vec<Option<RGBColor>> = vec![None; n];
    for i in order {
        let taken: Vec<RGBColor> = cpts[i].neighbours.iter().filter_map(|&j| out.get(j).copied().flatten()).collect();
        let best = (0..pool.len())
            .max_by(|&a, &b| {
                let score = |k: usize| taken.iter().map(|t| distance(pool[k], *t)).fold(f64::INFINITY, f64::min);
                score(a).total_cmp(&score(b)).then(b.cmp(&a))
            })
            .unwrap_or(0);
        out[i] = Some(pool.swap_remove(best));
    }
    out.into_iter().map(|c| c.unwrap_or(BLANK)).collect()
}

fn fill(theme: Theme, m: &CoverageMap, colours: &[RGBColor], u: &MapUnit) -> RGBColor {
    let Some(&i) = u.cpts.first() else {
        return BLANK;
    };
    let c = &m.cpts[i];
    match theme {
        Theme::Cpts => colours[i],
        Theme::Band => c.band.and_then(|b| BANDS.iter().find(|x| x.0 == b)).map_or(NO_DATA, |x| x.2),
        Theme::Apl => c.apl.map_or(NO_DATA, |v| APL_CLASSES.iter().find(|x| v < x.1).map_or(APL_CLASSES[4].2, |x| x.2)),
    }
}

struct Frame {
    proj: Projection,
    scale: f64,
    x0: f64,
    y0: f64,
    min_x: f64,
    max_y: f64,
    width: u32,
    height: u32,
    map_h: u32,
}

impl Frame {
    fn new(m: &CoverageMap) -> Option<Frame> {
        let r = m.units.iter().filter_map(|u| u.shape.bounding_rect()).reduce(|a, b| {
            Rect::new(
                Coord { x: a.min().x.min(b.min().x), y: a.min().y.min(b.min().y) },
                Coord { x: a.max().x.max(b.max().x), y: a.max().y.max(b.max().y) },
            )
        })?;
        let proj = Projection::for_rect(&r);
        let (ax, ay) = proj.project(r.min());
        let (bx, by) = proj.project(r.max());
        let (w_km, h_km) = ((bx - ax).max(1e-6), (by - ay).max(1e-6));
        let pad = 12.0;
        let map_h = ((MAP_W as f64 - 2.0 * pad) * h_km / w_km + 2.0 * pad).clamp(480.0, 1100.0) as u32;
        let scale = ((MAP_W as f64 - 2.0 * pad) / w_km).min((map_h as f64 - 2.0 * pad) / h_km);
        Some(Frame {
            proj,
            scale,
            x0: (MAP_W as f64 - w_km * scale) / 2.0,
            y0: TITLE_H as f64 + (map_h as f64 - h_km * scale) / 2.0,
            min_x: ax,
            max_y: by,
            width: MAP_W + LEGEND_W,
            height: TITLE_H + map_h + FOOTER_H,
            map_h,
        })
    }

    fn px(&self, c: Coord<f64>) -> (i32, i32) {
        let (x, y) = self.proj.project(c);
        (
            (self.x0 + (x - self.min_x) * self.scale).round() as i32,
            (self.y0 + (self.max_y - y) * self.scale).round() as i32,
        )
    }

    fn ring(&self, r: &LineString<f64>) -> Vec<(i32, i32)> {
        let mut out: Vec<(i32, i32)> = Vec::with_capacity(r.0.len());
        for c in &r.0 {
            let p = self.px(*c);
            if out.last() != Some(&p) {
                out.push(p);
            }
        }
        out
    }
}

/// Diagonal hatching (45°, every `step` pixels) of the rings of one polygon, even-odd filled.
fn hatch_segments(rings: &[Vec<(i32, i32)>], step: i32) -> Vec<[(i32, i32); 2]> {
    let all = rings.iter().flatten();
    let (lo, hi) = all.fold((i32::MAX, i32::MIN), |(lo, hi), p| (lo.min(p.0 + p.1), hi.max(p.0 + p.1)));
    let mut out = Vec::new();
    if lo > hi {
        return out;
    }
    let mut k = lo - lo.rem_euclid(step) + step;
    while k < hi {
        let mut xs: Vec<f64> = Vec::new();
        for r in rings {
            for w in r.windows(2) {
                let (p, q) = (w[0], w[1]);
                let (sp, sq) = ((p.0 + p.1) as f64, (q.0 + q.1) as f64);
                let kf = k as f64;
                if (sp <= kf && kf < sq) || (sq <= kf && kf < sp) {
                    let t = (kf - sp) / (sq - sp);
                    xs.push(p.0 as f64 + t * (q.0 - p.0) as f64);
                }
            }
        }
        xs.sort_by(f64::total_cmp);
        for pair in xs.chunks_exact(2) {
            let (a, b) = (pair[0].round() as i32, pair[1].round() as i32);
            out.push([(a, k - a), (b, k - b)]);
        }
        k += step;
    }
    out
}

type SegKey = ((i64, i64), (i64, i64));

fn seg_key(a: Coord<f64>, b: Coord<f64>) -> SegKey {
    let q = |c: Coord<f64>| ((c.x * 1e6).round() as i64, (c.y * 1e6).round() as i64);
    let (a, b) = (q(a), q(b));
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

/// Edges where the CPTS membership changes (or the région ends), in lon/lat.
fn limits(m: &CoverageMap) -> Vec<(Coord<f64>, Coord<f64>)> {
    // Segment → (first unit, second unit if shared, ends).
    type Seen = (usize, Option<usize>, Coord<f64>, Coord<f64>);
    let mut seen: HashMap<SegKey, Seen> = HashMap::new();
    for (i, u) in m.units.iter().enumerate() {
        for p in u.shape {
            for r in std::iter::once(p.exterior()).chain(p.interiors()) {
                for w in r.0.windows(2) {
                    let k = seg_key(w[0], w[1]);
                    seen.entry(k).and_modify(|e| e.1 = Some(i)).or_insert((i, None, w[0], w[1]));
                }
            }
        }
    }
    let set = |i: usize| {
        let mut v = m.units[i].cpts.clone();
        v.sort_unstable();
        v
    };
    let mut out: Vec<(SegKey, Coord<f64>, Coord<f64>)> = seen
        .into_iter()
        .filter(|(_, (a, b, _, _))| b.is_none_or(|b| set(*a) != set(b)))
        .map(|(k, (_, _, p, q))| (k, p, q))
        .collect();
    out.sort_by_key(|(k, _, _)| *k);
    out.into_iter().map(|(_, p, q)| (p, q)).collect()
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    m: &CoverageMap,
    theme: Theme,
    f: &Frame,
) -> std::result::Result<(), String>
where
    DB::ErrorType: 'static,
{
    let e = |x: DrawingAreaErrorKind<DB::ErrorType>| x.to_string();
    root.fill(&WHITE).map_err(e)?;
    let title = format!("{} — {}", m.title, theme.title());
    root.draw_text(&title, &("sans-serif", 18).into_font().style(FontStyle::Bold).color(&BLACK), (14, 14))
        .map_err(e)?;
    let colours = distinct_colours(&m.cpts);

    let mut order: Vec<&MapUnit> = m.units.iter().collect();
    order.sort_by(|a, b| b.shape.unsigned_area().total_cmp(&a.shape.unsigned_area()));
    for u in &order {
        let c = fill(theme, m, &colours, u);
        for p in u.shape {
            let pts = f.ring(p.exterior());
            if pts.len() < 3 {
                continue;
            }
            root.draw(&Polygon::new(pts.clone(), c.filled())).map_err(e)?;
            // The unit's own edge in a lighter tint: communes stay readable, CPTS limits stand out.
            root.draw(&PathElement::new(pts, RGBColor(255, 255, 255).mix(0.35).stroke_width(1))).map_err(e)?;
        }
    }
    for u in m.units.iter().filter(|u| u.cpts.len() > 1) {
        for p in u.shape {
            let rings: Vec<Vec<(i32, i32)>> =
                std::iter::once(p.exterior()).chain(p.interiors()).map(|r| f.ring(r)).collect();
            for s in hatch_segments(&rings, 5) {
                root.draw(&PathElement::new(s.to_vec(), HATCH.stroke_width(1))).map_err(e)?;
            }
        }
    }
    for (a, b) in limits(m) {
        let (pa, pb) = (f.px(a), f.px(b));
        if pa != pb {
            root.draw(&PathElement::new(vec![pa, pb], LIMIT.stroke_width(1))).map_err(e)?;
        }
    }

    // Labels: one per CPTS, at an interior point of its most central unit; largest CPTS first,
    // a label that would overlap one already placed is left out.
    let font = ("sans-serif", 10).into_font().style(FontStyle::Bold);
    let mut by_pop: Vec<usize> = (0..m.cpts.len()).collect();
    by_pop.sort_by_key(|&i| (std::cmp::Reverse(m.cpts[i].population), i));
    let mut placed: Vec<(i32, i32, i32, i32)> = Vec::new();
    for i in by_pop {
        let mine: Vec<&MapUnit> = m.units.iter().filter(|u| u.cpts.contains(&i)).collect();
        let pts: Vec<(i32, i32)> = mine
            .iter()
            .filter_map(|u| {
                u.shape
                    .iter()
                    .max_by(|a, b| a.unsigned_area().total_cmp(&b.unsigned_area()))
                    .and_then(|p| p.interior_point())
                    .map(|p| f.px(p.0))
            })
            .collect();
        if pts.is_empty() {
            continue;
        }
        let (mx, my) = (
            pts.iter().map(|p| p.0 as f64).sum::<f64>() / pts.len() as f64,
            pts.iter().map(|p| p.1 as f64).sum::<f64>() / pts.len() as f64,
        );
        let &(x, y) = pts
            .iter()
            .min_by(|a, b| {
                let d = |p: &(i32, i32)| (p.0 as f64 - mx).powi(2) + (p.1 as f64 - my).powi(2);
                d(a).total_cmp(&d(b))
            })
            .unwrap_or(&pts[0]);
        let text = &m.cpts[i].label;
        let (w, h) = root.estimate_text_size(text, &font.color(&BLACK)).map_err(e)?;
        let (tx, ty) = (x - w as i32 / 2, y - h as i32 / 2);
        let rect = (tx - 1, ty - 1, tx + w as i32 + 1, ty + h as i32 + 1);
        if placed.iter().any(|r| rect.0 < r.2 && r.0 < rect.2 && rect.1 < r.3 && r.1 < rect.3) {
            continue;
        }
        placed.push(rect);
        draw_haloed(root, text, &font, (tx, ty), &[(-1, 0), (1, 0), (0, -1), (0, 1)])?;
    }

    // Legend.
    let lx = MAP_W as i32 + 10;
    let mut y = TITLE_H as i32 + 10;
    let small = ("sans-serif", 13).into_font();
    let swatch = |y: &mut i32, c: RGBColor, label: &str| -> std::result::Result<(), String> {
        root.draw(&Rectangle::new([(lx, *y), (lx + 30, *y + 18)], c.filled())).map_err(e)?;
        root.draw(&Rectangle::new([(lx, *y), (lx + 30, *y + 18)], RGBColor(120, 120, 120).stroke_width(1)))
            .map_err(e)?;
        root.draw_text(label, &small.color(&BLACK), (lx + 40, *y + 2)).map_err(e)?;
        *y += 24;
        Ok(())
    };
    match theme {
        Theme::Cpts => {
            root.draw_text(
                &format!("{} CPTS, une couleur chacune", m.cpts.len()),
                &small.clone().style(FontStyle::Bold).color(&BLACK),
                (lx, y),
            )
            .map_err(e)?;
            y += 24;
        }
        Theme::Band => {
            for (_, label, c) in BANDS {
                swatch(&mut y, c, label)?;
            }
        }
        Theme::Apl => {
            root.draw_text(
                "consultations/an/hab. standardisé",
                &small.clone().style(FontStyle::Bold).color(&BLACK),
                (lx, y),
            )
            .map_err(e)?;
            y += 24;
            for (label, upper, c) in APL_CLASSES {
                swatch(&mut y, c, label)?;
                if upper == APL_THRESHOLD {
                    root.draw(&PathElement::new(
                        vec![(lx - 4, y - 3), (lx + 36, y - 3)],
                        RGBColor(200, 40, 40).stroke_width(3),
                    ))
                    .map_err(e)?;
                }
            }
            swatch(&mut y, NO_DATA, "non disponible")?;
        }
    }
    y += 8;
    swatch(&mut y, BLANK, "zone blanche (aucune CPTS)")?;
    root.draw(&Rectangle::new([(lx, y), (lx + 30, y + 18)], WHITE.filled())).map_err(e)?;
    for s in hatch_segments(&[vec![(lx, y), (lx + 30, y), (lx + 30, y + 18), (lx, y + 18), (lx, y)]], 5) {
        root.draw(&PathElement::new(s.to_vec(), HATCH.stroke_width(1))).map_err(e)?;
    }
    root.draw_text("dans plusieurs CPTS", &small.color(&BLACK), (lx + 40, y + 2)).map_err(e)?;
    y += 24;
    root.draw(&PathElement::new(vec![(lx, y + 9), (lx + 30, y + 9)], LIMIT.stroke_width(2))).map_err(e)?;
    root.draw_text("limite de CPTS", &small.color(&BLACK), (lx + 40, y + 2)).map_err(e)?;

    let foot_y = (TITLE_H + f.map_h) as i32 + 8;
    root.draw_text(&m.footer, &("sans-serif", 11).into_font().color(&RGBColor(90, 90, 90)), (14, foot_y)).map_err(e)?;
    root.present().map_err(e)?;
    Ok(())
}

fn no_units(m: &CoverageMap) -> String {
    format!("{}: no unit with a boundary to draw", m.title)
}

pub fn render_svg(m: &CoverageMap, theme: Theme) -> std::result::Result<String, String> {
    register_fonts();
    let f = Frame::new(m).ok_or_else(|| no_units(m))?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (f.width, f.height)).into_drawing_area();
        draw(&root, m, theme, &f)?;
    }
    Ok(svg)
}

pub fn render_png(m: &CoverageMap, theme: Theme) -> std::result::Result<Vec<u8>, String> {
    register_fonts();
    let f = Frame::new(m).ok_or_else(|| no_units(m))?;
    let mut rgb = vec![0u8; (f.width * f.height * 3) as usize];
    {
        let root = super::raster::drawing_area(&mut rgb, (f.width, f.height));
        draw(&root, m, theme, &f)?;
    }
    Ok(encode_png(&rgb, f.width, f.height))
}

/// Write `<stem>.svg` and `<stem>.png` into `dir`; returns the SVG text and the paths.
pub fn write(dir: &Path, m: &CoverageMap, theme: Theme) -> Result<(String, Vec<std::path::PathBuf>)> {
    let svg_path = dir.join(format!("{}.svg", theme.stem()));
    let err = |p: &Path, e: String| Error::Config(format!("{}: cannot draw map: {e}", p.display()));
    let svg = render_svg(m, theme).map_err(|x| err(&svg_path, x))?;
    write_bytes(&svg_path, svg.as_bytes())?;
    let png_path = dir.join(format!("{}.png", theme.stem()));
    let png = render_png(m, theme).map_err(|x| err(&png_path, x))?;
    atomic_write(&png_path, |f| std::io::Write::write_all(f, &png).map_err(|x| Error::io(&png_path, x)))?;
    Ok((svg, vec![svg_path, png_path]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    fn sq(x: f64, y: f64) -> MultiPolygon<f64> {
        MultiPolygon(vec![
            polygon![(x: x, y: y), (x: x + 0.1, y: y), (x: x + 0.1, y: y + 0.1), (x: x, y: y + 0.1), (x: x, y: y)],
        ])
    }

    fn cpts(n: usize) -> Vec<MapCpts> {
        (0..n)
            .map(|i| MapCpts {
                label: format!("C{i}"),
                population: 1000,
                band: Some(1),
                apl: Some(2.0),
                neighbours: (0..n).filter(|&j| j != i).collect(),
            })
            .collect()
    }

    #[test]
    fn colours_are_all_different() {
        let c = distinct_colours(&cpts(70));
        let set: BTreeSet<(u8, u8, u8)> = c.iter().map(|c| (c.0, c.1, c.2)).collect();
        assert_eq!(set.len(), 70);
    }

    #[test]
    fn limits_follow_membership_and_overlaps_are_hatched() {
        // Three squares in a row: A, A, A+B. The limit is the edge between the 2nd and 3rd, plus
        // the outer edges; the edge between the 1st and 2nd is inside CPTS A.
        let shapes = [sq(5.0, 43.0), sq(5.1, 43.0), sq(5.2, 43.0)];
        let m = CoverageMap {
            title: "T".into(),
            units: vec![
                MapUnit { shape: &shapes[0], cpts: vec![0], population: 1 },
                MapUnit { shape: &shapes[1], cpts: vec![0], population: 1 },
                MapUnit { shape: &shapes[2], cpts: vec![1, 0], population: 1 },
            ],
            cpts: cpts(2),
            footer: "f".into(),
        };
        let l = limits(&m);
        let inner = |x: f64| l.iter().any(|(a, b)| (a.x - x).abs() < 1e-9 && (b.x - x).abs() < 1e-9);
        assert!(!inner(5.1), "edge inside a CPTS is not a limit");
        assert!(inner(5.2), "edge where membership changes is a limit");
        // 10 distinct edges (3 top, 3 bottom, 4 vertical), all limits but the one at x = 5.1.
        assert_eq!(l.len(), 9);
        let svg = render_svg(&m, Theme::Cpts).unwrap();
        assert!(svg.contains("dans plusieurs CPTS") && svg.contains("C0"));
        let segs = hatch_segments(&[vec![(0, 0), (20, 0), (20, 20), (0, 20), (0, 0)]], 5);
        assert!(segs.len() >= 6);
        assert!(segs.iter().all(|s| s.iter().all(|p| (0..=20).contains(&p.0) && (0..=20).contains(&p.1))));
    }
}
