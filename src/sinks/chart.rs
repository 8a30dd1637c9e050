//! Charts with plotters. Text uses an embedded DejaVu Sans (ab_glyph), so rendering needs no
//! system fonts and gives the same picture on every machine.

use std::path::Path;
use std::sync::Once;

use plotters::prelude::*;
use plotters::style::FontStyle;

use super::atomic_write;
use crate::error::{Error, Result};

static FONTS: Once = Once::new();

pub fn register_fonts() {
    FONTS.call_once(|| {
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular());
        let _ = plotters::style::register_font("sans-serif", FontStyle::Bold, dejavu::sans::bold());
    });
}

/// A label with a white halo: white text at each of `offsets` from `pos`, then black text at
/// `pos`. On a bitmap ([`super::raster`]) the white text is rasterised once, not once per offset.
pub fn draw_haloed<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    text: &str,
    font: &FontDesc,
    pos: (i32, i32),
    offsets: &[(i32, i32)],
) -> std::result::Result<(), String>
where
    DB::ErrorType: 'static,
{
    let e = |x: DrawingAreaErrorKind<DB::ErrorType>| x.to_string();
    for (dx, dy) in offsets {
        root.draw_text(text, &font.color(&WHITE), (pos.0 + dx, pos.1 + dy)).map_err(e)?;
    }
    root.draw_text(text, &font.color(&BLACK), pos).map_err(e)
}

/// One bar: a label under it and its value (absent values are drawn as "n.d.").
#[derive(Debug, Clone)]
pub struct Bar {
    pub label: String,
    pub value: Option<f64>,
    pub highlight: bool,
}

#[derive(Debug, Clone)]
pub struct Panel {
    pub title: String,
    pub bars: Vec<Bar>,
    pub decimals: usize,
    /// A horizontal reference line with its label (e.g. the APL 2.5 threshold).
    pub reference: Option<(f64, String)>,
}

const W: u32 = 1100;
const H: u32 = 520;
const HIGHLIGHT: RGBColor = RGBColor(0, 99, 152);
const NEUTRAL: RGBColor = RGBColor(160, 174, 192);
const THRESHOLD: RGBColor = RGBColor(200, 40, 40);

fn err<E: std::fmt::Display>(path: &Path) -> impl Fn(E) -> Error + '_ {
    move |e| Error::Config(format!("{}: cannot draw chart: {e}", path.display()))
}

/// Bar colours: highlighted and plain.
#[derive(Debug, Clone, Copy)]
pub struct Palette {
    pub highlight: RGBColor,
    pub neutral: RGBColor,
}

pub const DEFAULT_PALETTE: Palette = Palette { highlight: HIGHLIGHT, neutral: NEUTRAL };
/// For distributions where the highlighted bars are those under a threshold.
pub const ALERT_PALETTE: Palette = Palette { highlight: THRESHOLD, neutral: HIGHLIGHT };

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    panels: &[Panel],
    palette: Palette,
) -> std::result::Result<(), String>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let root = root.titled(title, ("sans-serif", 22).into_font().style(FontStyle::Bold)).map_err(|e| e.to_string())?;
    let areas = root.split_evenly((1, panels.len().max(1)));
    for (area, panel) in areas.into_iter().zip(panels) {
        let n = panel.bars.len().max(1);
        let max = panel
            .bars
            .iter()
            .filter_map(|b| b.value)
            .chain(panel.reference.as_ref().map(|r| r.0))
            .fold(0.0f64, f64::max)
            .max(1e-9)
            * 1.2;
        let labels: Vec<String> = panel.bars.iter().map(|b| b.label.clone()).collect();
        let mut chart = ChartBuilder::on(&area)
            .caption(&panel.title, ("sans-serif", 17))
            .margin(14)
            .x_label_area_size(60)
            .y_label_area_size(52)
            .build_cartesian_2d(0f64..n as f64, 0f64..max)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n * 2 + 1)
            .x_label_formatter(&|x| {
                let i = x.floor() as usize;
                if (x - i as f64 - 0.5).abs() < 1e-6 {
                    labels.get(i).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .x_label_style(("sans-serif", 13))
            .y_label_style(("sans-serif", 12))
            .draw()
            .map_err(|e| e.to_string())?;
        for (i, b) in panel.bars.iter().enumerate() {
            let x0 = i as f64 + 0.18;
            let x1 = i as f64 + 0.82;
            let color = if b.highlight { palette.highlight } else { palette.neutral };
            let text = match b.value {
                Some(v) => format!("{:.*}", panel.decimals, v).replace('.', ","),
                None => "n.d.".to_string(),
            };
            let v = b.value.unwrap_or(0.0);
            chart
                .draw_series(std::iter::once(Rectangle::new([(x0, 0.0), (x1, v)], color.filled())))
                .map_err(|e| e.to_string())?;
            chart
                .draw_series(std::iter::once(Text::new(
                    text,
                    (i as f64 + 0.32, v + max * 0.03),
                    ("sans-serif", 14).into_font(),
                )))
                .map_err(|e| e.to_string())?;
        }
        if let Some((y, label)) = &panel.reference {
            chart
                .draw_series(LineSeries::new(vec![(0.0, *y), (n as f64, *y)], THRESHOLD.stroke_width(2)))
                .map_err(|e| e.to_string())?
                .label(label.clone())
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], THRESHOLD.stroke_width(2)));
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .label_font(("sans-serif", 12))
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()
                .map_err(|e| e.to_string())?;
        }
    }
    root.present().map_err(|e| e.to_string())?;
    Ok(())
}

pub fn render_svg(title: &str, panels: &[Panel]) -> std::result::Result<String, String> {
    render_svg_with(title, panels, DEFAULT_PALETTE)
}

pub fn render_svg_with(title: &str, panels: &[Panel], palette: Palette) -> std::result::Result<String, String> {
    register_fonts();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (W, H)).into_drawing_area();
        draw(root, title, panels, palette)?;
    }
    Ok(svg)
}

pub fn write_svg(path: &Path, title: &str, panels: &[Panel]) -> Result<()> {
    let svg = render_svg(title, panels).map_err(err(path))?;
    super::write_bytes(path, svg.as_bytes())
}

pub fn write_png(path: &Path, title: &str, panels: &[Panel]) -> Result<()> {
    write_png_with(path, title, panels, DEFAULT_PALETTE)
}

pub fn write_png_with(path: &Path, title: &str, panels: &[Panel], palette: Palette) -> Result<()> {
    register_fonts();
    let mut rgb = vec![0u8; (W * H * 3) as usize];
    {
        let root = super::raster::drawing_area(&mut rgb, (W, H));
        draw(root, title, panels, palette).map_err(err(path))?;
    }
    let png = encode_png(&rgb, W, H);
    atomic_write(path, |f| std::io::Write::write_all(f, &png).map_err(|e| Error::io(path, e)))
}

/// Classes of the APL distribution chart: (label, upper bound, below the 2.5 threshold).
pub const APL_CLASSES: &[(&str, f64, bool)] = &[
    ("< 1,5", 1.5, true),
    ("1,5–2,5", 2.5, true),
    ("2,5–3,5", 3.5, false),
    ("3,5–4,5", 4.5, false),
    ("≥ 4,5", f64::INFINITY, false),
];

/// Population of a territory by the APL 2023 of its commune (`(apl, population)` per unit);
/// units without APL form an "n.d." bar only when there are some. Highlighted: below 2.5.
pub fn apl_distribution_panel(units: &[(Option<f64>, i64)]) -> Panel {
    let mut sums = vec![0i64; APL_CLASSES.len()];
    let mut none = 0i64;
    for &(apl, pop) in units {
        match apl {
            Some(a) => {
                let i = APL_CLASSES.iter().position(|c| a < c.1).unwrap_or(APL_CLASSES.len() - 1);
                sums[i] += pop;
            }
            None => none += pop,
        }
    }
    let mut bars: Vec<Bar> = APL_CLASSES
        .iter()
        .zip(&sums)
        .map(|(c, &s)| Bar { label: c.0.to_string(), value: Some(s as f64), highlight: c.2 })
        .collect();
    if none > 0 {
        bars.push(Bar { label: "APL n.d.".into(), value: Some(none as f64), highlight: false });
    }
    Panel {
        title: "Habitants selon l'APL 2023 de leur commune (en rouge : sous 2,5)".into(),
        bars,
        decimals: 0,
        reference: None,
    }
}

/// `(age band label, share of the population in %)`, youngest first.
pub type AgeShares = [(String, Option<f64>)];

/// Population by age band (`(band label, share in %)`), the territory beside a reference
/// (département or France). No age source is staged yet (SOURCES.md §5, §7b covers only communes
/// of 2 000 inhabitants or more), so `diagnose` does not call this; it is ready for when one is.
pub fn age_band_panels(territory: &AgeShares, reference: Option<(&str, &AgeShares)>) -> Vec<Panel> {
    let panel = |title: String, rows: &[(String, Option<f64>)], highlight: bool| Panel {
        title,
        bars: rows.iter().map(|(l, v)| Bar { label: l.clone(), value: *v, highlight }).collect(),
        decimals: 1,
        reference: None,
    };
    let mut v = vec![panel("Territoire : part de la population par âge (%)".into(), territory, true)];
    if let Some((name, rows)) = reference {
        v.push(panel(format!("{name} : part de la population par âge (%)"), rows, false));
    }
    v
}

/// Minimal PNG encoder (RGB8, zlib via flate2): avoids pulling the `image` crate for one format.
/// Deflate level 2: the flat colours of maps and charts compress 3 times faster than at the
/// default level 6 (the seven PNGs of a diagnosis, zlib-rs: 49 → 16 ms of CPU) for files 17 %
/// larger (411 → 482 kB); level 1 is no faster and 48 % larger. The pixels are the same. libdeflate
/// (level 1: 463 kB) took twice zlib-rs's instructions here (236 M against 111 M for the seven).
pub fn encode_png(rgb: &[u8], w: u32, h: u32) -> Vec<u8> {
    use flate2::{write::ZlibEncoder, Compression};
    use std::io::Write;
    fn crc32(data: &[u8]) -> u32 {
        let mut c = flate2::Crc::new();
        c.update(data);
        c.sum()
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let start = out.len();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let crc = crc32(&out[start..]);
        out.extend_from_slice(&crc.to_be_bytes());
    }
    // Row by row through one row's buffer (filter byte, then pixels): a filtered copy of the
    // whole bitmap (2 MB for a map) was fresh memory to fault in for each image. zlib's output
    // does not depend on how its input is cut.
    let mut z = ZlibEncoder::new(Vec::with_capacity(rgb.len() / 16), Compression::new(2));
    let mut line = Vec::with_capacity((w * 3 + 1) as usize);
    for row in rgb.chunks((w * 3) as usize) {
        line.clear();
        line.push(0);
        line.extend_from_slice(row);
        z.write_all(&line).expect("in-memory");
    }
    let idat = z.finish().expect("in-memory");
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &idat);
    chunk(&mut out, b"IEND", &[]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_png_holds_its_pixels_in_chunks_a_reader_accepts() {
        use std::io::Read;
        // A map-like image: flat areas, a gradient, a few odd pixels.
        let (w, h) = (37u32, 23u32);
        let rgb: Vec<u8> = (0..w * h)
            .flat_map(|i| {
                let (x, y) = (i % w, i / w);
                if x < 12 {
                    [200, 220, 240]
                } else {
                    [(x * 7) as u8, (y * 11) as u8, (x ^ y) as u8]
                }
            })
            .collect();
        let png = encode_png(&rgb, w, h);
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let mut at = 8;
        let mut chunks = Vec::new();
        while at < png.len() {
            let len = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
            let body = &png[at + 4..at + 8 + len];
            let crc = u32::from_be_bytes(png[at + 8 + len..at + 12 + len].try_into().unwrap());
            let mut c = flate2::Crc::new();
            c.update(body);
            assert_eq!(c.sum(), crc, "CRC of {}", String::from_utf8_lossy(&body[..4]));
            chunks.push((body[..4].to_vec(), body[4..].to_vec()));
            at += 12 + len;
        }
        assert_eq!(at, png.len());
        let kinds: Vec<&[u8]> = chunks.iter().map(|(k, _)| k.as_slice()).collect();
        assert_eq!(kinds, [b"IHDR".as_slice(), b"IDAT", b"IEND"]);
        let ihdr = &chunks[0].1;
        assert_eq!(ihdr[..8], [w.to_be_bytes(), h.to_be_bytes()].concat());
        assert_eq!(ihdr[8..], [8, 2, 0, 0, 0]);
        let mut raw = Vec::new();
        flate2::read::ZlibDecoder::new(chunks[1].1.as_slice()).read_to_end(&mut raw).unwrap();
        let expected: Vec<u8> =
            rgb.chunks((w * 3) as usize).flat_map(|row| std::iter::once(0).chain(row.iter().copied())).collect();
        assert_eq!(raw, expected);
    }

    #[test]
    fn apl_distribution_sums_population_by_class() {
        let p =
            apl_distribution_panel(&[(Some(1.0), 10), (Some(2.49), 20), (Some(2.5), 40), (Some(9.0), 5), (None, 7)]);
        let v: Vec<f64> = p.bars.iter().map(|b| b.value.unwrap()).collect();
        assert_eq!(v, vec![10.0, 20.0, 40.0, 0.0, 5.0, 7.0]);
        let hl: Vec<bool> = p.bars.iter().map(|b| b.highlight).collect();
        assert_eq!(hl, vec![true, true, false, false, false, false]);
        let svg = render_svg_with("t", &[p], ALERT_PALETTE).unwrap();
        assert!(svg.contains("1,5–2,5"));
    }

    #[test]
    fn age_band_panels_take_data() {
        let t = vec![("0–14".to_string(), Some(17.5)), ("75+".to_string(), Some(11.2))];
        let r = vec![("0–14".to_string(), Some(16.0)), ("75+".to_string(), None)];
        let panels = age_band_panels(&t, Some(("France", &r)));
        assert_eq!(panels.len(), 2);
        assert!(panels[0].bars.iter().all(|b| b.highlight));
        let svg = render_svg("Âges", &panels).unwrap();
        assert!(svg.contains("75+") && svg.contains("n.d."));
    }
}
