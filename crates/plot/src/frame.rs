//! The frame every chart shares: the SVG document, its title and footnotes, the legend,
//! and the pass over plotters' output that marks series and draws dashes.
//!
//! plotters' SVG backend writes one element per line. Axis lines and tick marks are
//! `<polyline>`s of stroke width 1, grid lines are `<line>`s, filled shapes are `<rect>`
//! and `<polygon>`, text is `<text>`. Series lines (and error bars) are the only
//! polylines drawn with stroke width [`SERIES_STROKE`]; they come out in drawing order,
//! so [`render`] can match them with the list of series each chart returns, add
//! `class`/`data-series` attributes and, for dashed series, `stroke-dasharray` (which the
//! backend does not support: its dashed series are many separate polylines). Band
//! polygons are matched the same way.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::error::{Error, Result};
use crate::style::{
    bold_font, clean_label, escape_svg_text, font, grey, line_height, rgb, size, text_width,
    truncate, with_alpha, wrap,
};

/// Default chart size in px.
pub const DEFAULT_SIZE: (u32, u32) = (800, 500);
/// Smallest chart size in px: below it labels cannot fit.
pub const MIN_SIZE: (u32, u32) = (320, 240);
/// Largest chart width or height in px.
pub const MAX_SIZE: u32 = 16_384;

/// Stroke width of series lines, and of nothing else that is a polyline.
pub(crate) const SERIES_STROKE: u32 = 2;
/// Dash pattern of dashed series (px on, px off).
const DASH: &str = "8 5";

pub(crate) type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// What a polyline of width [`SERIES_STROKE`] is.
#[derive(Debug, Clone)]
pub(crate) enum Stroke {
    /// A data series.
    Series { label: String, dashed: bool },
    /// An error bar of the bar with this label.
    ErrorBar { label: String },
}

/// The tagged shapes a chart drew, in drawing order.
#[derive(Debug, Default)]
pub(crate) struct Drawn {
    pub strokes: Vec<Stroke>,
    /// Labels of the series whose band polygons were drawn, in order.
    pub bands: Vec<String>,
}

impl Drawn {
    pub fn extend(&mut self, other: Drawn) {
        self.strokes.extend(other.strokes);
        self.bands.extend(other.bands);
    }
}

pub(crate) fn check_size((width, height): (u32, u32)) -> Result<()> {
    if width < MIN_SIZE.0 || height < MIN_SIZE.1 || width > MAX_SIZE || height > MAX_SIZE {
        return Err(Error::InvalidSize {
            width,
            height,
            min_width: MIN_SIZE.0,
            min_height: MIN_SIZE.1,
            max: MAX_SIZE,
        });
    }
    Ok(())
}

/// Draws a chart of `size` with `draw` and returns the finished SVG document.
pub(crate) fn render(
    size: (u32, u32),
    title: &str,
    draw: impl FnOnce(&Area<'_>) -> Result<Drawn>,
) -> Result<String> {
    check_size(size)?;
    let mut buf = String::new();
    let drawn = {
        let root = SVGBackend::with_string(&mut buf, size).into_drawing_area();
        root.fill(&WHITE)?;
        let drawn = draw(&root)?;
        root.present()?;
        drawn
    };
    annotate(&buf, title, &drawn)
}

/// Adds the document title, and marks series polylines and band polygons (see the
/// module docs).
fn annotate(svg: &str, title: &str, drawn: &Drawn) -> Result<String> {
    let mut out = String::with_capacity(svg.len() + 256);
    let mut strokes = drawn.strokes.iter();
    let mut bands = drawn.bands.iter();
    let series_width = format!(" stroke-width=\"{SERIES_STROKE}\" ");
    let mut titled = false;
    for line in svg.lines() {
        if let Some(rest) = line.strip_prefix("<polyline ") {
            if rest.contains(&series_width) {
                let stroke = strokes.next().ok_or_else(|| {
                    Error::Svg(format!(
                        "more series polylines than the {} series drawn",
                        drawn.strokes.len()
                    ))
                })?;
                out.push_str("<polyline ");
                match stroke {
                    Stroke::Series { label, dashed } => {
                        out.push_str("class=\"gf-series\" data-series=\"");
                        out.push_str(&escape_svg_text(label));
                        out.push_str("\" ");
                        if *dashed {
                            out.push_str("stroke-dasharray=\"");
                            out.push_str(DASH);
                            out.push_str("\" ");
                        }
                    }
                    Stroke::ErrorBar { label } => {
                        out.push_str("class=\"gf-errorbar\" data-series=\"");
                        out.push_str(&escape_svg_text(label));
                        out.push_str("\" ");
                    }
                }
                out.push_str(rest);
                out.push('\n');
                continue;
            }
        } else if let Some(rest) = line.strip_prefix("<polygon ") {
            let label = bands.next().ok_or_else(|| {
                Error::Svg(format!(
                    "more polygons than the {} bands drawn",
                    drawn.bands.len()
                ))
            })?;
            out.push_str("<polygon class=\"gf-band\" data-series=\"");
            out.push_str(&escape_svg_text(label));
            out.push_str("\" ");
            out.push_str(rest);
            out.push('\n');
            continue;
        }
        out.push_str(line);
        out.push('\n');
        if !titled && line.starts_with("<svg ") {
            out.push_str("<title>");
            out.push_str(&escape_svg_text(&clean_label(title)));
            out.push_str("</title>\n");
            titled = true;
        }
    }
    if strokes.next().is_some() || bands.next().is_some() {
        return Err(Error::Svg(
            "fewer series polylines or band polygons than were drawn".to_string(),
        ));
    }
    Ok(out)
}

/// A sub-area at `(x, y)` of `w` x `h` px inside `area` (clamped to it).
pub(crate) fn sub<'a>(area: &Area<'a>, x: f64, y: f64, w: f64, h: f64) -> Area<'a> {
    area.clone()
        .shrink((px(x), px(y)), (upx(w.max(1.0)), upx(h.max(1.0))))
}

/// Rounds a layout coordinate to a pixel, saturating.
pub(crate) fn px(v: f64) -> i32 {
    if v.is_nan() { 0 } else { v.round() as i32 }
}

/// Rounds a layout size to whole pixels, at least 0.
pub(crate) fn upx(v: f64) -> u32 {
    if v.is_nan() {
        0
    } else {
        v.round().max(0.0) as u32
    }
}

pub(crate) fn area_size(area: &Area<'_>) -> (f64, f64) {
    let (w, h) = area.dim_in_pixel();
    (f64::from(w), f64::from(h))
}

/// Lines of a title wrapped to `width`, and the height they take.
pub(crate) fn title_lines(title: &str, px_size: f64, width: f64) -> (Vec<String>, f64) {
    let lines = wrap(&clean_label(title), px_size, (width - 16.0).max(40.0));
    let h = lines.len() as f64 * line_height(px_size) + 10.0;
    (lines, h)
}

/// Draws title lines centred at the top of `area`.
pub(crate) fn draw_title(area: &Area<'_>, lines: &[String], px_size: f64) -> Result<()> {
    let (w, _) = area_size(area);
    let style = bold_font(px_size).pos(Pos::new(HPos::Center, VPos::Top));
    for (i, line) in lines.iter().enumerate() {
        let y = 6.0 + i as f64 * line_height(px_size);
        area.draw_text(line, &style, (px(w / 2.0), px(y)))?;
    }
    Ok(())
}

/// Footnote lines wrapped to `width`, and the height they take (0 when there are none).
pub(crate) fn note_lines(notes: &[String], width: f64) -> (Vec<String>, f64) {
    let lines: Vec<String> = notes
        .iter()
        .flat_map(|n| wrap(&clean_label(n), size::NOTE, (width - 16.0).max(40.0)))
        .collect();
    let h = if lines.is_empty() {
        0.0
    } else {
        lines.len() as f64 * line_height(size::NOTE) + 8.0
    };
    (lines, h)
}

/// Draws footnote lines at `y` from the left of `area`.
pub(crate) fn draw_notes(area: &Area<'_>, lines: &[String], y: f64) -> Result<()> {
    let colour = grey(60);
    let style = font(size::NOTE)
        .color(&colour)
        .pos(Pos::new(HPos::Left, VPos::Top));
    for (i, line) in lines.iter().enumerate() {
        let ly = y + 2.0 + i as f64 * line_height(size::NOTE);
        area.draw_text(line, &style, (8, px(ly)))?;
    }
    Ok(())
}

/// One legend line: a swatch in the series' style and its label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LegendEntry {
    pub label: String,
    pub colour: usize,
    pub dashed: bool,
    pub band: bool,
}

const SWATCH: f64 = 28.0;
const LEGEND_ROW: f64 = 20.0;

/// Width of a legend column for `entries`, at most `max`.
pub(crate) fn legend_width(entries: &[LegendEntry], max: f64) -> f64 {
    let text = entries
        .iter()
        .map(|e| text_width(&clean_label(&e.label), size::LEGEND))
        .fold(0.0, f64::max);
    (text + SWATCH + 8.0 + 20.0).clamp(90.0, max.max(90.0))
}

/// Draws a legend column: entries from the top of `area`, labels cut to its width, and a
/// "… and N more" line when they do not all fit.
pub(crate) fn draw_legend(area: &Area<'_>, entries: &[LegendEntry], top: f64) -> Result<()> {
    let (w, h) = area_size(area);
    let fit = (((h - top - 4.0) / LEGEND_ROW).floor().max(1.0)) as usize;
    let (shown, more) = if entries.len() > fit {
        (fit.saturating_sub(1), entries.len() - fit.saturating_sub(1))
    } else {
        (entries.len(), 0)
    };
    let x = 8.0;
    let text_x = x + SWATCH + 8.0;
    let max_text = (w - text_x - 4.0).max(20.0);
    let style = font(size::LEGEND).pos(Pos::new(HPos::Left, VPos::Center));
    for (i, e) in entries.iter().take(shown).enumerate() {
        let cy = top + LEGEND_ROW * (i as f64 + 0.5);
        let colour = rgb(e.colour);
        if e.band {
            area.draw(&Rectangle::new(
                [(px(x), px(cy - 7.0)), (px(x + SWATCH), px(cy + 7.0))],
                with_alpha(colour, 0.2).filled(),
            ))?;
        }
        if e.dashed {
            for d in 0..3 {
                let x0 = x + f64::from(d) * 11.0;
                area.draw(&Rectangle::new(
                    [(px(x0), px(cy - 1.0)), (px(x0 + 6.0), px(cy + 1.0))],
                    colour.filled(),
                ))?;
            }
        } else {
            area.draw(&Rectangle::new(
                [(px(x), px(cy - 1.0)), (px(x + SWATCH), px(cy + 1.0))],
                colour.filled(),
            ))?;
        }
        let label = truncate(&clean_label(&e.label), size::LEGEND, max_text);
        area.draw_text(&label, &style, (px(text_x), px(cy)))?;
    }
    if more > 0 {
        let cy = top + LEGEND_ROW * (shown as f64 + 0.5);
        let text = format!("… and {more} more");
        let colour = grey(60);
        area.draw_text(&text, &style.color(&colour), (px(text_x), px(cy)))?;
    }
    Ok(())
}

/// Unique legend entries in first-seen order.
pub(crate) fn dedup(entries: impl IntoIterator<Item = LegendEntry>) -> Vec<LegendEntry> {
    let mut out: Vec<LegendEntry> = Vec::new();
    for e in entries {
        if !out.contains(&e) {
            out.push(e);
        }
    }
    out
}

/// `what: a 3, b 1` for per-series drop counts, naming at most four series.
pub(crate) fn per_series(counts: &[(String, usize)]) -> String {
    let named: Vec<String> = counts
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(label, n)| format!("{} {n}", clean_label(label)))
        .collect();
    let shown: Vec<&String> = named.iter().take(4).collect();
    let mut s = shown
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    if named.len() > 4 {
        s.push_str(&format!(", and {} more series", named.len() - 4));
    }
    s
}
