//! The bitmap backend of every PNG (maps and charts): plotters' `BitMapBackend` with text
//! rasterised once per process. plotters outlines and rasterises every glyph each time a text is
//! drawn (ab_glyph, pixel by pixel); a diagnosis draws the same legends, footers and town labels
//! on five maps, and each label nine times for its halo. The coverage plotters computes for a text
//! depends only on the text and its style, so it is kept and painted again: the same calls to
//! `draw_pixel` with the same colours, hence the same pixels.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use plotters::prelude::{BitMapBackend, DrawingArea, IntoDrawingArea};
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind, FontTransform,
};

/// A text's layout box and the pixels plotters paints for it, as `BackendTextStyle::draw` gives
/// them with the text at the origin.
struct Coverage {
    min: (i32, i32),
    size: (i32, i32),
    pixels: Vec<(i32, i32, BackendColor)>,
}

/// Text and every part of the style the coverage depends on (the anchor only moves it).
#[derive(PartialEq, Eq, Hash)]
struct Key {
    text: String,
    family: String,
    style: String,
    size: u64,
    transform: u8,
    color: (u64, u8, u8, u8),
}

/// Texts kept at most; a process drawing many different maps starts again past it.
const KEPT: usize = 4096;

fn cache() -> &'static Mutex<HashMap<Key, Arc<Coverage>>> {
    static CACHE: std::sync::OnceLock<Mutex<HashMap<Key, Arc<Coverage>>>> = std::sync::OnceLock::new();
    CACHE.get_or_init(Default::default)
}

fn transform_id(t: &FontTransform) -> u8 {
    match t {
        FontTransform::None => 0,
        FontTransform::Rotate90 => 1,
        FontTransform::Rotate180 => 2,
        FontTransform::Rotate270 => 3,
    }
}

/// plotters' `BitMapBackend` (RGB), every call forwarded but `draw_text`.
pub struct CachedTextBitmap<'a> {
    inner: BitMapBackend<'a>,
}

/// A drawing area over an RGB buffer of `size` pixels.
pub fn drawing_area(buf: &mut [u8], size: (u32, u32)) -> DrawingArea<CachedTextBitmap<'_>, plotters::coord::Shift> {
    CachedTextBitmap { inner: BitMapBackend::with_buffer(buf, size) }.into_drawing_area()
}

type Drawn<E> = Result<(), DrawingErrorKind<E>>;

impl CachedTextBitmap<'_> {
    fn coverage<S: BackendTextStyle>(
        &self,
        text: &str,
        style: &S,
    ) -> Result<Arc<Coverage>, DrawingErrorKind<<Self as DrawingBackend>::ErrorType>> {
        let c = style.color();
        let key = Key {
            text: text.to_string(),
            family: style.family().as_str().to_string(),
            style: style.style().as_str().to_string(),
            size: style.size().to_bits(),
            transform: transform_id(&style.transform()),
            color: (c.alpha.to_bits(), c.rgb.0, c.rgb.1, c.rgb.2),
        };
        if let Some(hit) = cache().lock().expect("text cache").get(&key) {
            return Ok(Arc::clone(hit));
        }
        let ((min_x, min_y), (max_x, max_y)) =
            style.layout_box(text).map_err(|e| DrawingErrorKind::FontError(Box::new(e)))?;
        let mut pixels = Vec::new();
        style
            .draw(text, (0, 0), |x, y, color| {
                pixels.push((x, y, color));
                Ok::<(), ()>(())
            })
            .map_err(|e| DrawingErrorKind::FontError(Box::new(e)))?
            .expect("collecting pixels does not fail");
        let cov = Arc::new(Coverage { min: (min_x, min_y), size: (max_x - min_x, max_y - min_y), pixels });
        let mut kept = cache().lock().expect("text cache");
        if kept.len() >= KEPT {
            kept.clear();
        }
        kept.insert(key, Arc::clone(&cov));
        Ok(cov)
    }
}

impl DrawingBackend for CachedTextBitmap<'_> {
    type ErrorType = <BitMapBackend<'static> as DrawingBackend>::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }

    fn ensure_prepared(&mut self) -> Drawn<Self::ErrorType> {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> Drawn<Self::ErrorType> {
        self.inner.present()
    }

    fn draw_pixel(&mut self, point: BackendCoord, color: BackendColor) -> Drawn<Self::ErrorType> {
        self.inner.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Drawn<Self::ErrorType> {
        self.inner.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Drawn<Self::ErrorType> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Drawn<Self::ErrorType> {
        self.inner.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Drawn<Self::ErrorType> {
        self.inner.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Drawn<Self::ErrorType> {
        self.inner.fill_polygon(vert, style)
    }

    /// plotters' default `draw_text`, with the coverage from the cache.
    fn draw_text<S: BackendTextStyle>(&mut self, text: &str, style: &S, pos: BackendCoord) -> Drawn<Self::ErrorType> {
        if style.color().alpha == 0.0 {
            return Ok(());
        }
        let cov = self.coverage(text, style)?;
        let (width, height) = cov.size;
        let anchor = style.anchor();
        let dx = match anchor.h_pos {
            HPos::Left => 0,
            HPos::Right => -width,
            HPos::Center => -width / 2,
        };
        let dy = match anchor.v_pos {
            VPos::Top => 0,
            VPos::Center => -height / 2,
            VPos::Bottom => -height,
        };
        let trans = style.transform();
        let (w, h) = self.get_size();
        for &(x, y, color) in &cov.pixels {
            let (x, y) = trans.transform(x + dx - cov.min.0, y + dy - cov.min.1);
            let (x, y) = (pos.0 + x, pos.1 + y);
            if x >= 0 && x < w as i32 && y >= 0 && y < h as i32 {
                self.inner.draw_pixel((x, y), color)?;
            }
        }
        Ok(())
    }

    fn estimate_text_size<S: BackendTextStyle>(
        &self,
        text: &str,
        style: &S,
    ) -> Result<(u32, u32), DrawingErrorKind<Self::ErrorType>> {
        self.inner.estimate_text_size(text, style)
    }

    fn blit_bitmap(&mut self, pos: BackendCoord, size: (u32, u32), src: &[u8]) -> Drawn<Self::ErrorType> {
        self.inner.blit_bitmap(pos, size, src)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plotters::prelude::*;
    use plotters::style::text_anchor::Pos;

    /// Texts in both fonts, every anchor and rotation, colours with alpha, partly outside the
    /// bitmap and drawn again (from the cache): the same bytes as plotters' own backend.
    #[test]
    fn cached_text_paints_the_pixels_of_plotters_bitmap_backend() {
        crate::sinks::chart::register_fonts();
        let (w, h) = (160u32, 90u32);
        fn scene<DB: DrawingBackend>(root: &DrawingArea<DB, plotters::coord::Shift>)
        where
            DB::ErrorType: 'static,
        {
            root.fill(&RGBColor(120, 180, 90)).unwrap();
            let anchors = [
                Pos::new(HPos::Left, VPos::Top),
                Pos::new(HPos::Center, VPos::Center),
                Pos::new(HPos::Right, VPos::Bottom),
            ];
            let transforms = [FontTransform::None, FontTransform::Rotate90, FontTransform::Rotate270];
            for round in 0..2 {
                for (i, (a, t)) in anchors.iter().zip(transforms.iter()).enumerate() {
                    let font = ("sans-serif", 12 + i as u32 * 3)
                        .into_font()
                        .style(if i == 1 { FontStyle::Bold } else { FontStyle::Normal })
                        .transform(t.clone());
                    let colour = RGBAColor(200, 30 * i as u8, 40, 0.4 + 0.3 * i as f64);
                    let style = font.color(&colour).pos(*a);
                    let at = (20 + 50 * i as i32 + round, 40 - 30 * round);
                    root.draw_text("Châteaudun 28", &style, at).unwrap();
                    root.draw_text(&format!("{round}-{i}"), &style, (150, 85)).unwrap();
                }
                root.draw(&Polygon::new(vec![(5, 5), (60, 20), (30, 70)], BLUE.mix(0.5).filled())).unwrap();
                root.draw(&PathElement::new(vec![(0, 89), (159, 0)], Color::stroke_width(&BLACK, 2))).unwrap();
            }
        }
        let mut plain = vec![0u8; (w * h * 3) as usize];
        scene(&BitMapBackend::with_buffer(&mut plain, (w, h)).into_drawing_area());
        let mut cached = vec![0u8; (w * h * 3) as usize];
        scene(&drawing_area(&mut cached, (w, h)));
        assert!(plain.chunks(3).filter(|p| *p != [120, 180, 90]).count() > 500, "the scene draws little");
        let differ = plain.iter().zip(&cached).filter(|(a, b)| a != b).count();
        assert_eq!(differ, 0, "{differ} bytes differ");
    }
}
