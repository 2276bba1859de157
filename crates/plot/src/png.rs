//! PNG copies of the SVG charts (cargo feature `png`, off by default).
//!
//! The charts are drawn once, as SVG; a PNG is that SVG rasterised by resvg, so the two
//! never differ in content. Text is drawn with the system's fonts (the SVG asks for the
//! generic `sans-serif` family): with no fonts installed the PNG would lose every label,
//! so that is an error instead.

use std::sync::{Arc, OnceLock};

use resvg::{tiny_skia, usvg};

use crate::{Error, Result};

/// The largest scale [`svg_to_png`] accepts (a 1600 px chart becomes 12,800 px).
pub const MAX_PNG_SCALE: f32 = 8.0;

/// Families tried, in order, for the SVG's generic `sans-serif` (fontdb's own default,
/// Arial, is missing on most Linux systems, and then no text would be drawn).
const SANS_SERIF: [&str; 7] = [
    "DejaVu Sans",
    "Liberation Sans",
    "Arial",
    "Helvetica",
    "Noto Sans",
    "Cantarell",
    "FreeSans",
];

fn system_fonts() -> Arc<usvg::fontdb::Database> {
    static FONTS: OnceLock<Arc<usvg::fontdb::Database>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let mut db = usvg::fontdb::Database::new();
            db.load_system_fonts();
            let installed = |family: &str| {
                db.faces()
                    .any(|face| face.families.iter().any(|(name, _)| name == family))
            };
            let sans = SANS_SERIF
                .iter()
                .map(|f| (*f).to_string())
                .find(|f| installed(f))
                .or_else(|| {
                    db.faces()
                        .find_map(|face| face.families.first().map(|(name, _)| name.clone()))
                });
            if let Some(family) = sans {
                db.set_sans_serif_family(family);
            }
            Arc::new(db)
        })
        .clone()
}

/// Rasterises an SVG document (one of this crate's charts, or any SVG) to PNG bytes,
/// `scale` device pixels per SVG pixel (2 for a sharp image on a high-density screen),
/// on a white background.
///
/// ```
/// use gradflow_plot::{Axis, LineChart, Series, svg_to_png};
/// let svg = LineChart::new("y = x^2", Axis::new("x", "m"), Axis::new("y", "m^2"))
///     .series(Series::new("x^2", (0..10).map(|i| (f64::from(i), f64::from(i * i)))))
///     .to_svg()?;
/// let png = svg_to_png(&svg, 1.0)?;
/// assert_eq!(&png[1..4], b"PNG");
/// # Ok::<(), gradflow_plot::Error>(())
/// ```
///
/// # Errors
/// [`Error::Png`] naming what failed: a scale outside `(0, 8]`, an SVG resvg cannot
/// parse, no system fonts to draw the text with, an image too large to allocate.
pub fn svg_to_png(svg: &str, scale: f32) -> Result<Vec<u8>> {
    render(svg, scale)?
        .encode_png()
        .map_err(|e| Error::Png(format!("PNG encoding failed: {e}")))
}

fn render(svg: &str, scale: f32) -> Result<tiny_skia::Pixmap> {
    let fail = |reason: String| Error::Png(reason);
    if !(scale > 0.0 && scale <= MAX_PNG_SCALE) {
        return Err(fail(format!(
            "scale {scale} is outside (0, {MAX_PNG_SCALE}]"
        )));
    }
    let fontdb = system_fonts();
    if fontdb.is_empty() {
        return Err(fail(
            "no system fonts were found, so the chart's text cannot be drawn (install a font \
             package such as Debian's fonts-dejavu-core, or use the SVG)"
                .into(),
        ));
    }
    let options = usvg::Options {
        fontdb,
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_str(svg, &options)
        .map_err(|e| fail(format!("the SVG could not be read: {e}")))?;
    let size = tree
        .size()
        .to_int_size()
        .scale_by(scale)
        .ok_or_else(|| fail(format!("a {scale}x image of the chart has no pixels")))?;
    let mut pixmap = tiny_skia::Pixmap::new(size.width(), size.height()).ok_or_else(|| {
        fail(format!(
            "cannot allocate a {}x{} px image",
            size.width(),
            size.height()
        ))
    })?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    Ok(pixmap)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Axis, LineChart, Series};

    fn chart() -> String {
        LineChart::new("a line", Axis::new("x", "m"), Axis::new("y", "m"))
            .series(Series::new("line", vec![(0.0, 0.0), (1.0, 1.0)]))
            .to_svg()
            .unwrap()
    }

    /// Width and height from the PNG's IHDR chunk.
    fn png_size(png: &[u8]) -> (u32, u32) {
        let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        (be(&png[16..20]), be(&png[20..24]))
    }

    #[test]
    fn a_chart_becomes_a_png_of_its_size_times_the_scale() {
        let svg = chart();
        let one = svg_to_png(&svg, 1.0).unwrap();
        let two = svg_to_png(&svg, 2.0).unwrap();
        assert_eq!(&one[..8], b"\x89PNG\r\n\x1a\n");
        let (w, h) = png_size(&one);
        assert_eq!(png_size(&two), (2 * w, 2 * h));
        assert_eq!((w, h), (crate::DEFAULT_SIZE.0, crate::DEFAULT_SIZE.1));
    }

    /// Pixels darker than light grey in rows `rows` (the chart's text is #222222).
    fn dark_pixels(pixmap: &tiny_skia::Pixmap, rows: std::ops::Range<u32>) -> usize {
        rows.flat_map(|y| (0..pixmap.width()).map(move |x| (x, y)))
            .filter(|&(x, y)| pixmap.pixel(x, y).is_some_and(|p| p.red() < 100))
            .count()
    }

    #[test]
    fn text_is_drawn() {
        // The title is the only thing in the top 30 px of a chart; a font that failed
        // to resolve leaves that band white.
        let pixmap = render(&chart(), 1.0).unwrap();
        assert!(dark_pixels(&pixmap, 0..30) > 50);
        // The same chart with its text turned into undrawn <desc> elements.
        let textless = chart()
            .replace("<text", "<desc")
            .replace("</text>", "</desc>");
        assert_eq!(dark_pixels(&render(&textless, 1.0).unwrap(), 0..30), 0);
    }

    #[test]
    fn bad_scales_and_bad_svg_are_errors_saying_what() {
        let svg = chart();
        for scale in [0.0, -1.0, f32::NAN, 9.0] {
            let e = svg_to_png(&svg, scale).unwrap_err().to_string();
            assert!(e.contains("scale"), "{e}");
        }
        let e = svg_to_png("<svg", 1.0).unwrap_err().to_string();
        assert!(e.contains("could not be read"), "{e}");
    }
}
