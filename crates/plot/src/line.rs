//! Line charts: measured curves, dashed theory lines, bands over seeds, log axes.

use plotters::prelude::*;

use crate::axis::{Axis, Scale, TickAxis, Ticks, axis_range, ticks};
use crate::error::{Error, Result};
use crate::frame::{
    Area, DEFAULT_SIZE, Drawn, LegendEntry, SERIES_STROKE, Stroke, area_size, draw_legend,
    draw_notes, draw_title, legend_width, note_lines, per_series, render, sub, title_lines, upx,
};
use crate::style::{font, grey, line_height, rgb, size, text_width, with_alpha};

const CHART: &str = "line chart";

/// One curve of a [`LineChart`]: `(x, y)` points joined in the given order, drawn solid or
/// dashed, optionally over a shaded band.
///
/// ```
/// use gradflow_plot::Series;
/// let measured = Series::new("relu", [(1.0, 0.9), (2.0, 0.8)])
///     .band([(1.0, 0.85, 0.95), (2.0, 0.7, 0.9)]);
/// let theory = Series::new("relu (theory)", [(1.0, 0.9), (2.0, 0.81)]).dashed().colour(0);
/// assert_eq!(theory.label(), "relu (theory)");
/// # let _ = measured;
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    label: String,
    points: Vec<(f64, f64)>,
    dashed: bool,
    band: Vec<(f64, f64, f64)>,
    colour: Option<usize>,
}

impl Series {
    /// A solid series named `label` (shown in the legend) through `points`.
    pub fn new(label: impl Into<String>, points: impl IntoIterator<Item = (f64, f64)>) -> Self {
        Series {
            label: label.into(),
            points: points.into_iter().collect(),
            dashed: false,
            band: Vec::new(),
            colour: None,
        }
    }

    /// Draws the series dashed (for a theory line beside a measurement).
    pub fn dashed(mut self) -> Self {
        self.dashed = true;
        self
    }

    /// Shades a band behind the series: `(x, low, high)` triples, for example the minimum
    /// and maximum, or mean ± one standard deviation, over seeds. Sorted by x when drawn.
    pub fn band(mut self, band: impl IntoIterator<Item = (f64, f64, f64)>) -> Self {
        self.band = band.into_iter().collect();
        self
    }

    /// Uses palette colour `index` (see [`PALETTE`](crate::PALETTE)) instead of the
    /// series' position in its chart: give a theory line the colour of its measurement.
    pub fn colour(mut self, index: usize) -> Self {
        self.colour = Some(index);
        self
    }

    /// The legend label.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The points as given.
    pub fn points(&self) -> &[(f64, f64)] {
        &self.points
    }
}

/// A line chart of one or more [`Series`], with linear or log10 axes.
///
/// On a log10 axis, points that are zero, negative, NaN or infinite cannot be drawn:
/// they are left out and a footnote in the chart says how many, per series. A series'
/// line joins its remaining points.
///
/// ```
/// use gradflow_plot::{Axis, LineChart, Scale, Series};
/// let norms: Vec<(f64, f64)> = (1..=50).map(|l| (l as f64, 10f64.powf(-1.2 * l as f64))).collect();
/// let svg = LineChart::new(
///     "Back-propagated gradient per layer at initialisation",
///     Axis::new("layer l", "index"),
///     Axis::new("‖δ_l‖", "L2 norm"),
/// )
/// .y_scale(Scale::Log10)
/// .series(Series::new("sigmoid", norms))
/// .to_svg()?;
/// assert!(svg.contains("1e-30"));
/// # Ok::<(), gradflow_plot::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct LineChart {
    title: String,
    x: Axis,
    y: Axis,
    x_scale: Scale,
    y_scale: Scale,
    series: Vec<Series>,
    notes: Vec<String>,
    size: (u32, u32),
}

impl LineChart {
    /// An empty chart titled `title` with axes `x` and `y` (linear until told otherwise).
    pub fn new(title: impl Into<String>, x: Axis, y: Axis) -> Self {
        LineChart {
            title: title.into(),
            x,
            y,
            x_scale: Scale::Linear,
            y_scale: Scale::Linear,
            series: Vec::new(),
            notes: Vec::new(),
            size: DEFAULT_SIZE,
        }
    }

    /// Sets the x scale.
    pub fn x_scale(mut self, scale: Scale) -> Self {
        self.x_scale = scale;
        self
    }

    /// Sets the y scale.
    pub fn y_scale(mut self, scale: Scale) -> Self {
        self.y_scale = scale;
        self
    }

    /// Adds a series; its colour is its position among the chart's series.
    pub fn series(mut self, series: Series) -> Self {
        self.series.push(series);
        self
    }

    /// Adds a series to a chart held in a variable.
    pub fn push(&mut self, series: Series) {
        self.series.push(series);
    }

    /// Adds a footnote (conventions the chart depends on, such as
    /// `σ_w² = fan_in · Var(W)`), drawn under the chart.
    pub fn note(mut self, text: impl Into<String>) -> Self {
        self.notes.push(text.into());
        self
    }

    /// Sets the size in px (default 800 x 500).
    pub fn size(mut self, width: u32, height: u32) -> Self {
        self.size = (width, height);
        self
    }

    /// The chart's title.
    pub fn title(&self) -> &str {
        &self.title
    }

    /// Renders the chart as an SVG document.
    ///
    /// # Errors
    ///
    /// [`Error::Empty`] without series or with a series without points,
    /// [`Error::NoPlottableData`] when no point can be drawn at all,
    /// [`Error::InvalidSize`], [`Error::Drawing`].
    pub fn to_svg(&self) -> Result<String> {
        let prepared = self.prepare()?;
        render(self.size, &self.title, |root| {
            draw_line_chart(root, &prepared, &PanelStyle::standalone())
        })
    }

    pub(crate) fn y_scale_of(&self) -> Scale {
        self.y_scale
    }

    /// Maps, filters and checks the data.
    pub(crate) fn prepare(&self) -> Result<PreparedLine> {
        if self.series.is_empty() {
            return Err(Error::Empty {
                chart: CHART,
                what: format!("'{}' has no series", self.title),
            });
        }
        let mut series = Vec::with_capacity(self.series.len());
        let mut dropped = Vec::new();
        let mut dropped_band = Vec::new();
        let (mut total, mut total_dropped) = (0usize, 0usize);
        for (i, s) in self.series.iter().enumerate() {
            if s.points.is_empty() {
                return Err(Error::Empty {
                    chart: CHART,
                    what: format!("series '{}' has no points", s.label),
                });
            }
            let points: Vec<(f64, f64)> = s
                .points
                .iter()
                .filter_map(|&(x, y)| Some((self.x_scale.map(x)?, self.y_scale.map(y)?)))
                .collect();
            let mut band: Vec<(f64, f64, f64)> = s
                .band
                .iter()
                .filter_map(|&(x, a, b)| {
                    let (a, b) = (self.y_scale.map(a)?, self.y_scale.map(b)?);
                    Some((self.x_scale.map(x)?, a.min(b), a.max(b)))
                })
                .collect();
            band.sort_by(|p, q| p.0.total_cmp(&q.0));
            total += s.points.len();
            total_dropped += s.points.len() - points.len();
            dropped.push((s.label.clone(), s.points.len() - points.len()));
            dropped_band.push((s.label.clone(), s.band.len() - band.len()));
            series.push(PreparedSeries {
                label: s.label.clone(),
                colour: s.colour.unwrap_or(i),
                dashed: s.dashed,
                has_band: !s.band.is_empty(),
                points,
                band,
            });
        }
        let reason = self.drop_reason();
        if total_dropped == total {
            return Err(Error::NoPlottableData {
                chart: CHART,
                dropped: total_dropped,
                reason,
            });
        }
        let mut notes = self.notes.clone();
        if total_dropped > 0 {
            notes.push(format!(
                "Not drawn: {total_dropped} of {total} points, {reason} ({}).",
                per_series(&dropped)
            ));
        }
        let band_dropped: usize = dropped_band.iter().map(|(_, n)| n).sum();
        if band_dropped > 0 {
            notes.push(format!(
                "Not shaded: {band_dropped} band points, {reason} ({}).",
                per_series(&dropped_band)
            ));
        }
        let xs = series.iter().flat_map(|s| {
            s.points
                .iter()
                .map(|p| p.0)
                .chain(s.band.iter().map(|b| b.0))
        });
        let x_data = extent(xs).unwrap_or((0.0, 1.0));
        let ys = series.iter().flat_map(|s| {
            s.points
                .iter()
                .map(|p| p.1)
                .chain(s.band.iter().flat_map(|b| [b.1, b.2]))
        });
        let y_data = extent(ys).unwrap_or((0.0, 1.0));
        let x_integer = self.x_scale == Scale::Linear
            && series
                .iter()
                .flat_map(|s| s.points.iter())
                .all(|p| p.0.fract() == 0.0);
        Ok(PreparedLine {
            title: self.title.clone(),
            x_label: self.x.text(),
            y_label: self.y.text(),
            x_scale: self.x_scale,
            y_scale: self.y_scale,
            series,
            notes,
            x_data,
            y_data,
            x_integer,
        })
    }

    fn drop_reason(&self) -> &'static str {
        match (self.x_scale, self.y_scale) {
            (Scale::Linear, Scale::Linear) => "NaN or infinite",
            (Scale::Linear, Scale::Log10) => {
                "y zero, negative, NaN or infinite on the log10 y axis"
            }
            (Scale::Log10, Scale::Linear) => {
                "x zero, negative, NaN or infinite on the log10 x axis"
            }
            (Scale::Log10, Scale::Log10) => "zero, negative, NaN or infinite on the log10 axes",
        }
    }
}

/// The smallest and largest of `values`.
pub(crate) fn extent(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values.fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

#[derive(Debug, Clone)]
pub(crate) struct PreparedSeries {
    pub label: String,
    pub colour: usize,
    pub dashed: bool,
    pub has_band: bool,
    /// Mapped points that can be drawn.
    pub points: Vec<(f64, f64)>,
    /// Mapped band triples, sorted by x.
    pub band: Vec<(f64, f64, f64)>,
}

/// A line chart with its data mapped to axis coordinates and footnotes written.
#[derive(Debug, Clone)]
pub(crate) struct PreparedLine {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x_scale: Scale,
    pub y_scale: Scale,
    pub series: Vec<PreparedSeries>,
    pub notes: Vec<String>,
    pub x_data: (f64, f64),
    pub y_data: (f64, f64),
    pub x_integer: bool,
}

impl PreparedLine {
    pub fn legend(&self) -> Vec<LegendEntry> {
        self.series
            .iter()
            .map(|s| LegendEntry {
                label: s.label.clone(),
                colour: s.colour,
                dashed: s.dashed,
                band: s.has_band,
            })
            .collect()
    }

    /// The drawn y range for this chart's data alone.
    pub fn y_range(&self) -> (f64, f64) {
        axis_range(self.y_scale, self.y_data.0, self.y_data.1, 0.05)
    }
}

/// How a line chart is framed: alone, or as a panel of [`Panels`](crate::Panels).
pub(crate) struct PanelStyle {
    pub legend: bool,
    pub title_px: f64,
    pub notes: bool,
    pub y_range: Option<(f64, f64)>,
}

impl PanelStyle {
    fn standalone() -> Self {
        PanelStyle {
            legend: true,
            title_px: size::TITLE,
            notes: true,
            y_range: None,
        }
    }
}

/// The sizes of the label areas around a cartesian plot, from its tick labels.
pub(crate) struct Frame {
    pub x_area: f64,
    pub y_area: f64,
    pub right: f64,
    pub top: f64,
    pub left: f64,
}

pub(crate) const TICK_SIZE: f64 = 5.0;

impl Frame {
    /// Label areas for a plot whose y tick labels are `y_ticks`; the right margin leaves
    /// room for half of the widest x tick label, which is centred on the last tick.
    pub fn new(y_label_width: f64, x_label_width: f64) -> Frame {
        Frame {
            // tick + gap (plotters puts labels 2 tick lengths out) + tick labels + desc.
            x_area: 2.0 * TICK_SIZE + line_height(size::TICK) + 2.0 + line_height(size::AXIS_LABEL),
            y_area: 2.0 * TICK_SIZE + y_label_width + 6.0 + line_height(size::AXIS_LABEL),
            right: (x_label_width / 2.0 + 6.0).max(14.0),
            top: 8.0,
            left: 6.0,
        }
    }
}

/// Builds ticks for both axes of a plot `w` x `h` px, returning them with the frame.
pub(crate) fn layout_ticks(
    w: f64,
    h: f64,
    x: (Scale, f64, f64, bool),
    y: (Scale, f64, f64, bool),
) -> (Ticks, Ticks, Frame) {
    let probe = Frame::new(0.0, 0.0);
    let yt = ticks(y.0, y.1, y.2, h - probe.x_area - probe.top, false, y.3);
    let y_w = yt.max_label_width();
    // The x ticks depend on the plot width, which depends on the x labels' width at the
    // right edge: estimate with a typical label, then settle.
    let guess = Frame::new(y_w, text_width("0.000", size::TICK));
    let xt = ticks(
        x.0,
        x.1,
        x.2,
        w - guess.left - guess.y_area - guess.right,
        true,
        x.3,
    );
    let frame = Frame::new(y_w, xt.max_label_width());
    let xt = ticks(
        x.0,
        x.1,
        x.2,
        w - frame.left - frame.y_area - frame.right,
        true,
        x.3,
    );
    let frame = Frame::new(y_w, xt.max_label_width());
    (xt, yt, frame)
}

/// Draws the mesh (grid, axes, tick labels, axis labels) of a chart.
pub(crate) fn draw_mesh<'a, 'b>(
    chart: &mut ChartContext<'a, SVGBackend<'b>, Cartesian2d<TickAxis, TickAxis>>,
    xt: &Ticks,
    yt: &Ticks,
    x_label: &str,
    y_label: &str,
    x_grid: bool,
    y_grid: bool,
) -> Result<()> {
    let x_fmt = |v: &f64| xt.label(*v);
    let y_fmt = |v: &f64| yt.label(*v);
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(x_label)
        .y_desc(y_label)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .label_style(font(size::TICK))
        .axis_desc_style(font(size::AXIS_LABEL))
        .bold_line_style(grey(222))
        .light_line_style(grey(242))
        .axis_style(grey(80));
    if !x_grid {
        mesh.disable_x_mesh();
    }
    if !y_grid {
        mesh.disable_y_mesh();
    }
    mesh.draw()?;
    Ok(())
}

/// Draws a prepared line chart filling `area`.
pub(crate) fn draw_line_chart(
    area: &Area<'_>,
    p: &PreparedLine,
    style: &PanelStyle,
) -> Result<Drawn> {
    let (w, h) = area_size(area);
    let (title, title_h) = title_lines(&p.title, style.title_px, w);
    let (notes, notes_h) = if style.notes {
        note_lines(&p.notes, w)
    } else {
        (Vec::new(), 0.0)
    };
    let entries = p.legend();
    let legend_w = if style.legend && entries.len() > 1 {
        legend_width(&entries, w * 0.32)
    } else {
        0.0
    };
    draw_title(area, &title, style.title_px)?;
    let plot_w = w - legend_w;
    let plot_h = h - title_h - notes_h;
    let (y_lo, y_hi) = style.y_range.unwrap_or_else(|| p.y_range());
    let (x_lo, x_hi) = axis_range(p.x_scale, p.x_data.0, p.x_data.1, 0.0);
    let (xt, yt, frame) = layout_ticks(
        plot_w,
        plot_h,
        (p.x_scale, x_lo, x_hi, p.x_integer),
        (p.y_scale, y_lo, y_hi, false),
    );
    let plot_area = sub(area, 0.0, title_h, plot_w, plot_h);
    let mut chart = ChartBuilder::on(&plot_area)
        .margin_top(upx(frame.top))
        .margin_left(upx(frame.left))
        .margin_right(upx(frame.right))
        .x_label_area_size(upx(frame.x_area))
        .y_label_area_size(upx(frame.y_area))
        .build_cartesian_2d(TickAxis::from(&xt), TickAxis::from(&yt))?;
    draw_mesh(&mut chart, &xt, &yt, &p.x_label, &p.y_label, true, true)?;

    let mut drawn = Drawn::default();
    for s in &p.series {
        if s.band.len() >= 2 {
            let upper = s.band.iter().map(|&(x, _, hi)| (x, hi));
            let lower = s.band.iter().rev().map(|&(x, lo, _)| (x, lo));
            let outline: Vec<(f64, f64)> = upper.chain(lower).collect();
            chart.draw_series(std::iter::once(Polygon::new(
                outline,
                with_alpha(rgb(s.colour), 0.2).filled(),
            )))?;
            drawn.bands.push(s.label.clone());
        }
    }
    for s in &p.series {
        if s.points.is_empty() {
            continue;
        }
        let colour = rgb(s.colour);
        chart.draw_series(LineSeries::new(
            s.points.iter().copied(),
            colour.stroke_width(SERIES_STROKE),
        ))?;
        drawn.strokes.push(Stroke::Series {
            label: s.label.clone(),
            dashed: s.dashed,
        });
        if s.points.len() == 1 {
            // A one-point line is invisible: mark the point.
            chart.draw_series(
                s.points
                    .iter()
                    .map(|&pt| Circle::new(pt, 4, colour.filled())),
            )?;
        }
    }
    if legend_w > 0.0 {
        let legend_area = sub(area, plot_w, title_h, legend_w, plot_h);
        draw_legend(&legend_area, &entries, frame.top)?;
    }
    if style.notes {
        draw_notes(area, &notes, h - notes_h)?;
    }
    Ok(drawn)
}
