//! Heat maps: a matrix (rows = layers, columns = training steps) coloured by value.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::axis::{Axis, Scale, TickAxis, axis_range, ticks};
use crate::error::{Error, Result};
use crate::frame::{
    DEFAULT_SIZE, Drawn, area_size, draw_notes, draw_title, note_lines, px, render, sub,
    title_lines, upx,
};
use crate::line::{draw_mesh, extent, layout_ticks};
use crate::style::{NO_VALUE, font, grey, line_height, size, viridis};

const CHART: &str = "heat map";
const BAR_WIDTH: f64 = 18.0;
const BAR_STEPS: usize = 96;

/// A matrix drawn as coloured cells: rows on the y axis (row 0 at the bottom), columns
/// on the x axis, a viridis colour scale (linear or log10) with a labelled colour bar.
///
/// Cells without a value (NaN or infinite, or not positive on a log10 scale) are drawn
/// grey and counted in a footnote. Every cell is one SVG rectangle: for long runs, pass
/// every k-th step and say so with [`HeatMap::columns`].
///
/// ```
/// use gradflow_plot::{Axis, HeatMap, Scale};
/// let norms: Vec<Vec<f64>> = (0..10)
///     .map(|layer| (0..20).map(|step| 10f64.powf(-(10 - layer) as f64 + step as f64 * 0.05)).collect())
///     .collect();
/// let svg = HeatMap::new(
///     "Gradient norm per layer during training",
///     Axis::new("training step", "steps"),
///     Axis::new("layer", "index"),
///     Axis::new("‖δ_l‖", "L2 norm"),
///     norms,
/// )
/// .colour_scale(Scale::Log10)
/// .rows(1.0, 1.0)
/// .columns(0.0, 10.0)
/// .to_svg()?;
/// assert!(svg.contains("‖δ_l‖ (L2 norm)"));
/// # Ok::<(), gradflow_plot::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct HeatMap {
    title: String,
    x: Axis,
    y: Axis,
    value: Axis,
    values: Vec<Vec<f64>>,
    scale: Scale,
    columns: (f64, f64),
    rows: (f64, f64),
    notes: Vec<String>,
    size: (u32, u32),
}

impl HeatMap {
    /// A heat map of `values[row][column]`, with axis labels for the columns (`x`), the
    /// rows (`y`) and the colour bar (`value`).
    pub fn new(
        title: impl Into<String>,
        x: Axis,
        y: Axis,
        value: Axis,
        values: Vec<Vec<f64>>,
    ) -> Self {
        HeatMap {
            title: title.into(),
            x,
            y,
            value,
            values,
            scale: Scale::Linear,
            columns: (0.0, 1.0),
            rows: (0.0, 1.0),
            notes: Vec::new(),
            size: DEFAULT_SIZE,
        }
    }

    /// Sets the colour scale (linear by default).
    pub fn colour_scale(mut self, scale: Scale) -> Self {
        self.scale = scale;
        self
    }

    /// Column `j` is drawn at x = `first + j * step` (default 0, 1).
    pub fn columns(mut self, first: f64, step: f64) -> Self {
        self.columns = (first, step);
        self
    }

    /// Row `i` is drawn at y = `first + i * step` (default 0, 1).
    pub fn rows(mut self, first: f64, step: f64) -> Self {
        self.rows = (first, step);
        self
    }

    /// Adds a footnote.
    pub fn note(mut self, text: impl Into<String>) -> Self {
        self.notes.push(text.into());
        self
    }

    /// Sets the size in px (default 800 x 500).
    pub fn size(mut self, width: u32, height: u32) -> Self {
        self.size = (width, height);
        self
    }

    /// Renders the heat map as an SVG document.
    ///
    /// # Errors
    ///
    /// [`Error::Empty`] without rows or columns, [`Error::LengthMismatch`] for ragged
    /// rows, [`Error::InvalidData`] for a row or column step that is not positive and
    /// finite (or a range that overflows), [`Error::NoPlottableData`] when no cell has a value, [`Error::InvalidSize`].
    pub fn to_svg(&self) -> Result<String> {
        let n_cols = self.values.first().map_or(0, Vec::len);
        if self.values.is_empty() || n_cols == 0 {
            return Err(Error::Empty {
                chart: CHART,
                what: format!("'{}' has no rows or no columns", self.title),
            });
        }
        if let Some((i, row)) = self
            .values
            .iter()
            .enumerate()
            .find(|(_, r)| r.len() != n_cols)
        {
            return Err(Error::LengthMismatch {
                chart: CHART,
                what: format!("row {i}"),
                expected: n_cols,
                actual: row.len(),
            });
        }
        for (what, (first, step)) in [("columns", self.columns), ("rows", self.rows)] {
            if !(first.is_finite() && step.is_finite() && step > 0.0) {
                return Err(Error::InvalidData {
                    chart: CHART,
                    what: what.to_string(),
                    reason: format!("first {first} and step {step} must be finite, step > 0"),
                });
            }
        }
        let mapped: Vec<Vec<Option<f64>>> = self
            .values
            .iter()
            .map(|row| row.iter().map(|&v| self.scale.map(v)).collect())
            .collect();
        let total = self.values.len() * n_cols;
        let missing = mapped.iter().flatten().filter(|v| v.is_none()).count();
        let Some((v_lo, v_hi)) = extent(mapped.iter().flatten().filter_map(|v| *v)) else {
            return Err(Error::NoPlottableData {
                chart: CHART,
                dropped: missing,
                reason: self.scale.drop_reason(),
            });
        };
        let (c_lo, c_hi) = axis_range(self.scale, v_lo, v_hi, 0.0);
        let mut notes = self.notes.clone();
        if missing > 0 {
            notes.push(format!(
                "Grey: {missing} of {total} cells without a value ({}).",
                self.scale.drop_reason()
            ));
        }
        let n_rows = self.values.len();
        let (x0, xs) = self.columns;
        let (y0, ys) = self.rows;
        let x_range = (x0 - xs / 2.0, x0 + (n_cols as f64 - 0.5) * xs);
        let y_range = (y0 - ys / 2.0, y0 + (n_rows as f64 - 0.5) * ys);
        for (what, (lo, hi)) in [("columns", x_range), ("rows", y_range)] {
            if !(lo.is_finite() && hi.is_finite()) {
                return Err(Error::InvalidData {
                    chart: CHART,
                    what: what.to_string(),
                    reason: format!("the axis range {lo}..{hi} overflows"),
                });
            }
        }
        let x_int = x0.fract() == 0.0 && xs.fract() == 0.0;
        let y_int = y0.fract() == 0.0 && ys.fract() == 0.0;
        let x_label = self.x.text();
        let y_label = self.y.text();
        let value_label = self.value.text();

        render(self.size, &self.title, |root| {
            let (w, h) = area_size(root);
            let (title, title_h) = title_lines(&self.title, size::TITLE, w);
            let (note_text, notes_h) = note_lines(&notes, w);
            draw_title(root, &title, size::TITLE)?;
            let plot_h = h - title_h - notes_h;
            let mut bar_ticks = ticks(self.scale, c_lo, c_hi, plot_h * 0.7, false, false);
            // Keep the colours spread over the data, even where the ticks would rather
            // end on a labelled decade.
            bar_ticks.lo = c_lo;
            bar_ticks.hi = c_hi;
            bar_ticks
                .major
                .retain(|&v| v >= c_lo - 1e-9 && v <= c_hi + 1e-9);
            let bar_w = 16.0
                + BAR_WIDTH
                + 8.0
                + bar_ticks.max_label_width()
                + 10.0
                + line_height(size::AXIS_LABEL)
                + 6.0;
            let plot_w = w - bar_w;
            let (xt, yt, frame) = layout_ticks(
                plot_w,
                plot_h,
                (Scale::Linear, x_range.0, x_range.1, x_int),
                (Scale::Linear, y_range.0, y_range.1, y_int),
            );
            let plot_area = sub(root, 0.0, title_h, plot_w, plot_h);
            let mut chart = ChartBuilder::on(&plot_area)
                .margin_top(upx(frame.top))
                .margin_left(upx(frame.left))
                .margin_right(upx(frame.right))
                .x_label_area_size(upx(frame.x_area))
                .y_label_area_size(upx(frame.y_area))
                .build_cartesian_2d(TickAxis::from(&xt), TickAxis::from(&yt))?;
            let colour_of = |v: Option<f64>| match v {
                Some(v) if c_hi > c_lo => viridis((v - c_lo) / (c_hi - c_lo)),
                Some(_) => viridis(0.5),
                None => NO_VALUE,
            };
            let cells = mapped.iter().enumerate().flat_map(|(i, row)| {
                let y = y0 + i as f64 * ys;
                row.iter().enumerate().map(move |(j, &v)| {
                    let x = x0 + j as f64 * xs;
                    Rectangle::new(
                        [(x - xs / 2.0, y - ys / 2.0), (x + xs / 2.0, y + ys / 2.0)],
                        colour_of(v).filled(),
                    )
                })
            });
            chart.draw_series(cells)?;
            draw_mesh(&mut chart, &xt, &yt, &x_label, &y_label, false, false)?;

            // The colour bar, beside the plotting area and as tall as it.
            let (_, y_px) = chart.plotting_area().get_pixel_range();
            let (top, bottom) = (f64::from(y_px.start), f64::from(y_px.end));
            let bar_h = (bottom - top).max(1.0);
            let bx = plot_w + 16.0;
            for k in 0..BAR_STEPS {
                let t0 = k as f64 / BAR_STEPS as f64;
                let t1 = (k + 1) as f64 / BAR_STEPS as f64;
                root.draw(&Rectangle::new(
                    [
                        (px(bx), px(bottom - t1 * bar_h)),
                        (px(bx + BAR_WIDTH), px(bottom - t0 * bar_h)),
                    ],
                    viridis((t0 + t1) / 2.0).filled(),
                ))?;
            }
            root.draw(&Rectangle::new(
                [(px(bx), px(top)), (px(bx + BAR_WIDTH), px(bottom))],
                grey(80).stroke_width(1),
            ))?;
            let label_style = font(size::TICK).pos(Pos::new(HPos::Left, VPos::Center));
            let span = (bar_ticks.hi - bar_ticks.lo).max(f64::MIN_POSITIVE);
            for &v in &bar_ticks.major {
                let y = bottom - (v - bar_ticks.lo) / span * bar_h;
                root.draw(&PathElement::new(
                    vec![
                        (px(bx + BAR_WIDTH), px(y)),
                        (px(bx + BAR_WIDTH + 5.0), px(y)),
                    ],
                    grey(80).stroke_width(1),
                ))?;
                root.draw_text(
                    &bar_ticks.label(v),
                    &label_style,
                    (px(bx + BAR_WIDTH + 8.0), px(y)),
                )?;
            }
            let desc_x = bx + BAR_WIDTH + 8.0 + bar_ticks.max_label_width() + 10.0;
            let desc_style = font(size::AXIS_LABEL)
                .transform(FontTransform::Rotate270)
                .pos(Pos::new(HPos::Center, VPos::Top));
            root.draw_text(
                &value_label,
                &desc_style,
                (px(desc_x), px(top + bar_h / 2.0)),
            )?;
            if missing > 0 {
                let y = bottom + 12.0;
                root.draw(&Rectangle::new(
                    [(px(bx), px(y)), (px(bx + BAR_WIDTH), px(y + 12.0))],
                    NO_VALUE.filled(),
                ))?;
                let style = font(size::TICK).pos(Pos::new(HPos::Left, VPos::Center));
                root.draw_text("no value", &style, (px(bx + BAR_WIDTH + 8.0), px(y + 6.0)))?;
            }
            draw_notes(root, &note_text, h - notes_h)?;
            Ok(Drawn::default())
        })
    }
}
