//! Choropleth maps of communes with plotters (SVG and PNG): the territory's communes in full
//! colour, their neighbours in a lighter tint, the territory outline drawn over, the largest towns
//! labelled, a legend with the class limits (the APL map marks the 2.5 threshold) and a scale bar.
//!
//! Coordinates go through the local equirectangular projection of `geo::projection`, so a
//! kilometre is as long east-west as north-south. Rings are drawn in pixel space with repeated
//! pixels dropped, which keeps a département's SVG small. Polygons are filled without their holes:
//! units are drawn largest first, so a commune lying in another's hole is painted over it.

use std::path::Path;

use geo::{Area, BoundingRect, Coord, InteriorPoint, LineString, MultiPolygon, Rect};
use plotters::prelude::*;
use plotters::style::FontStyle;

use super::chart::{draw_haloed, encode_png, register_fonts};
use super::{atomic_write, write_bytes};
use crate::error::{Error, Result};
use crate::geo::Projection;
use crate::indicators::APL_THRESHOLD;

/// One commune on the map.
#[derive(Debug, Clone)]
pub struct MapUnit<'a> {
    pub code: String,
    pub name: String,
    pub shape: &'a MultiPolygon<f64>,
    /// Drawn in full colour (territory) or lighter (neighbour).
    pub in_territory: bool,
    pub population: Option<i64>,
    pub gp_per_10k: Option<f64>,
    pub apl: Option<f64>,
    /// A signed difference for the what-if maps (`Theme::Residual`, `Theme::Change`).
    pub change: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct MapSpec<'a> {
    pub title: String,
    pub units: Vec<MapUnit<'a>>,
    /// Drawn over the communes.
    pub outline: Option<&'a MultiPolygon<f64>>,
    /// How many of the most populous territory communes get a label.
    pub labels: usize,
    /// Small print under the map: sources and vintages.
    pub footer: String,
    /// Legend line for the lighter tint (e.g. "communes voisines").
    pub others_label: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Theme {
    Apl,
    GpDensity,
    Population,
    /// Model APL minus DREES APL (calibration check of `cpts-diag access`).
    Residual,
    /// Change of APL a scenario makes.
    Change,
}

struct Class {
    label: &'static str,
    color: RGBColor,
    upper: f64,
}

const NO_DATA: RGBColor = RGBColor(205, 205, 205);
const THRESHOLD: RGBColor = RGBColor(200, 40, 40);
const MAP_W: u32 = 780;
const LEGEND_W: u32 = 320;
const TITLE_H: u32 = 46;
const FOOTER_H: u32 = 34;

impl Theme {
    pub const ALL: [Theme; 3] = [Theme::Apl, Theme::GpDensity, Theme::Population];

    /// File stem: `map_apl`, `map_gp_density`, `map_population`.
    pub fn stem(self) -> &'static str {
        match self {
            Theme::Apl => "map_apl",
            Theme::GpDensity => "map_gp_density",
            Theme::Population => "map_population",
            Theme::Residual => "map_residual",
            Theme::Change => "map_change",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Theme::Apl => "APL aux médecins généralistes 2023 (DREES)",
            Theme::GpDensity => "Médecins généralistes libéraux pour 10 000 habitants (BPE 2020)",
            Theme::Population => "Population municipale (millésime 2023)",
            Theme::Residual => "APL du modèle moins APL DREES 2023",
            Theme::Change => "Variation de l'APL du scénario",
        }
    }

    fn unit(self) -> &'static str {
        match self {
            Theme::Apl => "consultations/an/habitant standardisé",
            Theme::GpDensity => "médecins pour 10 000 hab.",
            Theme::Population => "habitants",
            Theme::Residual | Theme::Change => "consultations/an/habitant standardisé",
        }
    }

    fn classes(self) -> Vec<Class> {
        let c = |label, (r, g, b), upper| Class { label, color: RGBColor(r, g, b), upper };
        match self {
            // Diverging around the 2.5 threshold: reds below, blues above.
            Theme::Apl => vec![
                c("moins de 1,5", (178, 24, 43), 1.5),
                c("1,5 à 2,5", (239, 138, 98), APL_THRESHOLD),
                c("2,5 à 3,5", (209, 229, 240), 3.5),
                c("3,5 à 4,5", (103, 169, 207), 4.5),
                c("4,5 et plus", (33, 102, 172), f64::INFINITY),
            ],
            Theme::GpDensity => vec![
                c("aucun", (255, 247, 236), 1e-9),
                c("moins de 3", (253, 212, 158), 3.0),
                c("3 à 6", (252, 141, 89), 6.0),
                c("6 à 9", (215, 48, 31), 9.0),
                c("9 et plus", (127, 0, 0), f64::INFINITY),
            ],
            Theme::Population => vec![
                c("moins de 200", (242, 240, 247), 200.0),
                c("200 à 500", (203, 201, 226), 500.0),
                c("500 à 1 000", (158, 154, 200), 1000.0),
                c("1 000 à 5 000", (117, 107, 177), 5000.0),
                c("5 000 et plus", (84, 39, 143), f64::INFINITY),
            ],
            Theme::Residual => vec![
                c("moins de -1", (178, 24, 43), -1.0),
                c("-1 à -0,3", (239, 138, 98), -0.3),
                c("-0,3 à 0,3", (247, 247, 247), 0.3),
                c("0,3 à 1", (103, 169, 207), 1.0),
                c("1 et plus", (33, 102, 172), f64::INFINITY),
            ],
            // Unchanged units get their own neutral class: a scenario reaches 20 minutes only.
            Theme::Change => vec![
                c("baisse de 0,3 ou plus", (178, 24, 43), -0.3),
                c("baisse de moins de 0,3", (239, 138, 98), -1e-9),
                c("inchangée", (247, 247, 247), 1e-9),
                c("hausse de moins de 0,3", (103, 169, 207), 0.3),
                c("hausse de 0,3 ou plus", (33, 102, 172), f64::INFINITY),
            ],
        }
    }

    fn value(self, u: &MapUnit) -> Option<f64> {
        match self {
            Theme::Apl => u.apl,
            Theme::GpDensity => u.gp_per_10k,
            Theme::Population => u.population.map(|p| p as f64),
            Theme::Residual | Theme::Change => u.change,
        }
    }
}

fn lighten(c: RGBColor, k: f64) -> RGBColor {
    let f = |v: u8| (v as f64 + (255.0 - v as f64) * k).round() as u8;
    RGBColor(f(c.0), f(c.1), f(c.2))
}

fn colour(theme: Theme, classes: &[Class], u: &MapUnit) -> RGBColor {
    let base = match theme.value(u) {
        Some(v) => classes.iter().find(|c| v < c.upper).map_or(classes[classes.len() - 1].color, |c| c.color),
        None => NO_DATA,
    };
    if u.in_territory {
        base
    } else {
        lighten(base, 0.55)
    }
}

/// Pixel geometry of a map: projection, scale and offsets.
struct Frame {
    proj: Projection,
    scale: f64,
    x0: f64,
    y0: f64,
    min: (f64, f64),
    max_y: f64,
    width: u32,
    height: u32,
    map_h: u32,
}

impl Frame {
    fn new(spec: &MapSpec) -> Option<Frame> {
        let rects: Vec<Rect<f64>> = spec.units.iter().filter_map(|u| u.shape.bounding_rect()).collect();
        let first = *rects.first()?;
        let r = rects.iter().fold(first, |a, b| {
            Rect::new(
                Coord { x: a.min().x.min(b.min().x), y: a.min().y.min(b.min().y) },
                Coord { x: a.max().x.max(b.max().x), y: a.max().y.max(b.max().y) },
            )
        });
        let proj = Projection::for_rect(&r);
        // The box's corners bound the projection too: x shrinks with cos(lat0) uniformly.
        let (ax, ay) = proj.project(r.min());
        let (bx, by) = proj.project(r.max());
        let (w_km, h_km) = ((bx - ax).max(1e-6), (by - ay).max(1e-6));
        let pad = 12.0;
        let map_h = ((MAP_W as f64 - 2.0 * pad) * h_km / w_km + 2.0 * pad).clamp(420.0, 1000.0) as u32;
        let scale = ((MAP_W as f64 - 2.0 * pad) / w_km).min((map_h as f64 - 2.0 * pad) / h_km);
        let x0 = (MAP_W as f64 - w_km * scale) / 2.0;
        let y0 = TITLE_H as f64 + (map_h as f64 - h_km * scale) / 2.0;
        Some(Frame {
            proj,
            scale,
            x0,
            y0,
            min: (ax, ay),
            max_y: by,
            width: MAP_W + LEGEND_W,
            height: TITLE_H + map_h + FOOTER_H,
            map_h,
        })
    }

    fn px(&self, c: Coord<f64>) -> (i32, i32) {
        let (x, y) = self.proj.project(c);
        (
            (self.x0 + (x - self.min.0) * self.scale).round() as i32,
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

fn fmt_km(v: f64) -> String {
    format!("{v} km")
}

/// A ring in pixels.
type Ring = Vec<(i32, i32)>;

/// A labelled unit: its index in `MapSpec::units`, its town point and its label's top left corner.
type Label = (usize, (i32, i32), (i32, i32));

/// What the themes of one map share: rings in pixels in drawing order, the outline's rings and
/// the labels' places. A diagnosis draws each map as an SVG and a PNG in three themes; this was
/// computed for each of them (the towns' interior points ~5 % of drawing a map).
struct Layout {
    frame: Frame,
    /// Index of a unit in `MapSpec::units` and its exterior rings of 3 points or more, largest
    /// unit first: a commune lying in another's hole is painted over it.
    fills: Vec<(usize, Vec<Ring>)>,
    /// Rings of 2 points or more.
    outline: Vec<Ring>,
    labels: Vec<Label>,
}

fn label_font() -> FontDesc<'static> {
    ("sans-serif", 14).into_font().style(FontStyle::Bold)
}

impl Layout {
    fn new(spec: &MapSpec, frame: Frame) -> std::result::Result<Layout, String> {
        let f = &frame;
        let area: Vec<f64> = spec.units.iter().map(|u| u.shape.unsigned_area()).collect();
        let mut order: Vec<usize> = (0..spec.units.len()).collect();
        order.sort_by(|&a, &b| area[b].total_cmp(&area[a]));
        let fills = order
            .into_iter()
            .map(|i| (i, spec.units[i].shape.iter().map(|p| f.ring(p.exterior())).filter(|r| r.len() >= 3).collect()))
            .collect();
        let outline = spec
            .outline
            .into_iter()
            .flatten()
            .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
            .map(|r| f.ring(r))
            .filter(|r| r.len() >= 2)
            .collect();

        // Labels on the largest towns of the territory.
        let mut towns: Vec<usize> = (0..spec.units.len())
            .filter(|&i| spec.units[i].in_territory && spec.units[i].population.is_some())
            .collect();
        let u = &spec.units;
        towns.sort_by(|&a, &b| u[b].population.cmp(&u[a].population).then_with(|| u[a].code.cmp(&u[b].code)));
        let font = label_font();
        // A label that would overlap one already placed is left out (towns come largest first).
        let mut placed: Vec<(i32, i32, i32, i32)> = Vec::new();
        let mut labels = Vec::new();
        for i in towns {
            if placed.len() >= spec.labels {
                break;
            }
            let Some(pt) = u[i]
                .shape
                .iter()
                .max_by(|a, b| a.unsigned_area().total_cmp(&b.unsigned_area()))
                .and_then(|p| p.interior_point())
            else {
                continue;
            };
            let (x, y) = f.px(pt.0);
            let (tx, ty) = (x + 5, y - 16);
            // As `DrawingArea::estimate_text_size` measures it, on any backend.
            let ((x0, y0), (x1, y1)) = font.layout_box(&u[i].name).map_err(|e| e.to_string())?;
            let (w, h) = ((x1 - x0) as u32, (y1 - y0) as u32);
            let rect = (tx - 2, ty - 2, tx + w as i32 + 2, ty + h as i32 + 2);
            if placed.iter().any(|r| rect.0 < r.2 && r.0 < rect.2 && rect.1 < r.3 && r.1 < rect.3) {
                continue;
            }
            placed.push(rect);
            labels.push((i, (x, y), (tx, ty)));
        }
        Ok(Layout { frame, fills, outline, labels })
    }
}

/// A map ready to draw in any theme, as SVG or PNG.
pub struct MapDrawing<'s, 'a> {
    spec: &'s MapSpec<'a>,
    /// `None`: no unit has a polygon.
    layout: Option<Layout>,
}

impl<'s, 'a> MapDrawing<'s, 'a> {
    pub fn new(spec: &'s MapSpec<'a>) -> std::result::Result<Self, String> {
        // Label placement measures text, which needs the fonts.
        register_fonts();
        let layout = Frame::new(spec).map(|f| Layout::new(spec, f)).transpose()?;
        Ok(MapDrawing { spec, layout })
    }

    fn layout(&self) -> std::result::Result<&Layout, String> {
        self.layout.as_ref().ok_or_else(|| no_units(self.spec))
    }

    /// The map as an SVG document.
    pub fn render_svg(&self, theme: Theme) -> std::result::Result<String, String> {
        let l = self.layout()?;
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (l.frame.width, l.frame.height)).into_drawing_area();
            draw(&root, self.spec, theme, l)?;
        }
        Ok(svg)
    }

    /// The map as PNG bytes.
    pub fn render_png(&self, theme: Theme) -> std::result::Result<Vec<u8>, String> {
        let l = self.layout()?;
        let (w, h) = (l.frame.width, l.frame.height);
        let mut rgb = vec![0u8; (w * h * 3) as usize];
        {
            let root = super::raster::drawing_area(&mut rgb, (w, h));
            draw(&root, self.spec, theme, l)?;
        }
        Ok(encode_png(&rgb, w, h))
    }

    pub fn write_svg(&self, path: &Path, theme: Theme) -> Result<String> {
        let svg = self.render_svg(theme).map_err(err(path))?;
        write_bytes(path, svg.as_bytes())?;
        Ok(svg)
    }

    pub fn write_png(&self, path: &Path, theme: Theme) -> Result<()> {
        let png = self.render_png(theme).map_err(err(path))?;
        atomic_write(path, |f| std::io::Write::write_all(f, &png).map_err(|e| Error::io(path, e)))
    }
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    spec: &MapSpec,
    theme: Theme,
    layout: &Layout,
) -> std::result::Result<(), String>
where
    DB::ErrorType: 'static,
{
    let e = |x: DrawingAreaErrorKind<DB::ErrorType>| x.to_string();
    let f = &layout.frame;
    root.fill(&WHITE).map_err(e)?;
    let classes = theme.classes();
    let title = format!("{} — {}", spec.title, theme.title());
    root.draw_text(&title, &("sans-serif", 20).into_font().style(FontStyle::Bold).color(&BLACK), (14, 14))
        .map_err(e)?;

    let edge = RGBColor(255, 255, 255).stroke_width(1);
    for (i, rings) in &layout.fills {
        let fill = colour(theme, &classes, &spec.units[*i]);
        for pts in rings {
            root.draw(&Polygon::new(pts.clone(), fill.filled())).map_err(e)?;
            root.draw(&PathElement::new(pts.clone(), edge)).map_err(e)?;
        }
    }
    for pts in &layout.outline {
        root.draw(&PathElement::new(pts.clone(), RGBColor(20, 20, 20).stroke_width(3))).map_err(e)?;
    }

    let font = label_font();
    for &(i, (x, y), at) in &layout.labels {
        root.draw(&Circle::new((x, y), 3, BLACK.filled())).map_err(e)?;
        const HALO: [(i32, i32); 8] = [(-1, 0), (1, 0), (0, -1), (0, 1), (-1, -1), (1, 1), (1, -1), (-1, 1)];
        draw_haloed(root, &spec.units[i].name, &font, at, &HALO)?;
    }

    // Scale bar: a round length near a fifth of the map width.
    let km_per_px = 1.0 / f.scale;
    let target = MAP_W as f64 / 5.0 * km_per_px;
    let nice =
        [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0].into_iter().rev().find(|v| *v <= target).unwrap_or(1.0);
    let len = (nice * f.scale).round() as i32;
    let (sx, sy) = (16, (TITLE_H + f.map_h) as i32 - 14);
    root.draw(&Rectangle::new([(sx, sy - 5), (sx + len, sy)], BLACK.filled())).map_err(e)?;
    root.draw_text(&fmt_km(nice), &("sans-serif", 13).into_font().color(&BLACK), (sx + len + 6, sy - 10)).map_err(e)?;

    // Legend.
    let lx = MAP_W as i32 + 10;
    let mut y = TITLE_H as i32 + 10;
    let small = ("sans-serif", 13).into_font();
    root.draw_text(theme.unit(), &small.clone().style(FontStyle::Bold).color(&BLACK), (lx, y)).map_err(e)?;
    y += 26;
    for (i, c) in classes.iter().enumerate() {
        root.draw(&Rectangle::new([(lx, y), (lx + 34, y + 20)], c.color.filled())).map_err(e)?;
        root.draw(&Rectangle::new([(lx, y), (lx + 34, y + 20)], RGBColor(120, 120, 120).stroke_width(1))).map_err(e)?;
        root.draw_text(c.label, &small.color(&BLACK), (lx + 44, y + 3)).map_err(e)?;
        y += 26;
        if theme == Theme::Apl && c.upper == APL_THRESHOLD && i + 1 < classes.len() {
            let ty = y - 3;
            root.draw(&PathElement::new(vec![(lx - 4, ty), (lx + 40, ty)], THRESHOLD.stroke_width(3))).map_err(e)?;
            root.draw_text(
                "seuil 2,5 (zonage médecins)",
                &small.clone().style(FontStyle::Bold).color(&THRESHOLD),
                (lx + 44, ty - 6),
            )
            .map_err(e)?;
            y += 16;
        }
    }
    root.draw(&Rectangle::new([(lx, y), (lx + 34, y + 20)], NO_DATA.filled())).map_err(e)?;
    root.draw_text("non disponible", &small.color(&BLACK), (lx + 44, y + 3)).map_err(e)?;
    y += 40;
    root.draw(&PathElement::new(vec![(lx, y + 8), (lx + 34, y + 8)], RGBColor(20, 20, 20).stroke_width(3)))
        .map_err(e)?;
    root.draw_text("contour du territoire", &small.color(&BLACK), (lx + 44, y + 1)).map_err(e)?;
    y += 26;
    if spec.units.iter().any(|u| !u.in_territory) {
        let mid = lighten(classes[classes.len() / 2].color, 0.55);
        root.draw(&Rectangle::new([(lx, y), (lx + 34, y + 20)], mid.filled())).map_err(e)?;
        root.draw_text(&spec.others_label, &small.color(&BLACK), (lx + 44, y + 3)).map_err(e)?;
    }

    let foot_y = (TITLE_H + f.map_h) as i32 + 10;
    root.draw_text(&spec.footer, &("sans-serif", 11).into_font().color(&RGBColor(90, 90, 90)), (14, foot_y))
        .map_err(e)?;
    root.present().map_err(e)?;
    Ok(())
}

fn no_units(spec: &MapSpec) -> String {
    format!("{}: no commune with a boundary to draw", spec.title)
}

fn err(path: &Path) -> impl Fn(String) -> Error + '_ {
    move |e| Error::Config(format!("{}: cannot draw map: {e}", path.display()))
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

    fn spec<'a>(shapes: &'a [MultiPolygon<f64>], outline: &'a MultiPolygon<f64>) -> MapSpec<'a> {
        MapSpec {
            title: "Test".into(),
            units: shapes
                .iter()
                .enumerate()
                .map(|(i, s)| MapUnit {
                    code: format!("2800{i}"),
                    name: format!("Ville{i}"),
                    shape: s,
                    in_territory: i < 2,
                    population: Some(1000 * (i as i64 + 1)),
                    gp_per_10k: if i == 0 { None } else { Some(i as f64 * 4.0) },
                    apl: Some(1.0 + i as f64),
                    change: None,
                })
                .collect(),
            outline: Some(outline),
            labels: 1,
            footer: "sources de test".into(),
            others_label: "communes voisines".into(),
        }
    }

    #[test]
    fn svg_has_legend_threshold_labels_and_square_aspect() {
        let shapes = vec![sq(1.0, 48.0), sq(1.1, 48.0), sq(1.2, 48.0)];
        let outline = crate::geo::dissolve([&shapes[0], &shapes[1]]);
        let s = spec(&shapes, &outline);
        let svg = MapDrawing::new(&s).unwrap().render_svg(Theme::Apl).unwrap();
        assert!(svg.contains("seuil 2,5"));
        assert!(svg.contains("Ville1"), "the most populous territory commune is labelled");
        assert!(!svg.contains("Ville2"), "neighbours are not labelled");
        assert!(svg.contains("communes voisines"));
        // Three 0.1° squares side by side at 48°N: the map's km box is 3·cos(48°) wide for 1 high.
        let f = Frame::new(&s).unwrap();
        let (a, b) = (f.px(Coord { x: 1.0, y: 48.0 }), f.px(Coord { x: 1.3, y: 48.1 }));
        let ratio = (b.0 - a.0) as f64 / (a.1 - b.1) as f64;
        assert!((ratio - 3.0 * 48f64.to_radians().cos()).abs() < 0.05, "{ratio}");
        let png = MapDrawing::new(&s).unwrap().render_png(Theme::GpDensity).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    }

    #[test]
    fn colours_follow_classes_and_neighbours_are_lighter() {
        let shapes = vec![sq(1.0, 48.0)];
        let outline = shapes[0].clone();
        let mut s = spec(&shapes, &outline);
        let classes = Theme::Apl.classes();
        s.units[0].apl = Some(2.49);
        assert_eq!(colour(Theme::Apl, &classes, &s.units[0]), classes[1].color);
        s.units[0].apl = Some(2.5);
        assert_eq!(colour(Theme::Apl, &classes, &s.units[0]), classes[2].color);
        s.units[0].in_territory = false;
        assert_ne!(colour(Theme::Apl, &classes, &s.units[0]), classes[2].color);
        s.units[0].apl = None;
        s.units[0].in_territory = true;
        assert_eq!(colour(Theme::Apl, &classes, &s.units[0]), NO_DATA);
    }
}
