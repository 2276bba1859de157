//! Histograms on shared bin edges, drawn as outlined steps (Glorot & Bengio 2010, fig. 3-7).

use plotters::prelude::*;

use crate::axis::{Axis, Scale, TickAxis, axis_range};
use crate::error::{Error, Result};
use crate::frame::{
    DEFAULT_SIZE, Drawn, LegendEntry, SERIES_STROKE, Stroke, area_size, draw_legend, draw_notes,
    draw_title, legend_width, note_lines, render, sub, title_lines, upx,
};
use crate::line::{draw_mesh, layout_ticks};
use crate::style::{clean_label, rgb, size};

const CHART: &str = "histogram";

/// How bin heights are scaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Normalisation {
    /// Raw counts.
    Count,
    /// Count over all values of the histogram (including those outside the edges), so
    /// that histograms of layers with different numbers of units compare.
    #[default]
    Fraction,
    /// Fraction per unit of the x axis (per decade on a log10 axis): the area under each
    /// histogram is the fraction of its values inside the edges.
    Density,
}

/// One histogram of a [`HistogramChart`]: counts per bin of the chart's edges.
///
/// Counts are `f64` so that averages over seeds fit; probe records' `u64` counts convert
/// with `as f64`.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    label: String,
    counts: Vec<f64>,
    outside: f64,
    colour: Option<usize>,
}

impl Histogram {
    /// A histogram named `label` with `counts[i]` values between edges `i` and `i + 1`.
    pub fn new(label: impl Into<String>, counts: impl IntoIterator<Item = f64>) -> Self {
        Histogram {
            label: label.into(),
            counts: counts.into_iter().collect(),
            outside: 0.0,
            colour: None,
        }
    }

    /// Values that fell outside the edges (below, above, NaN, exact zeros on a log
    /// axis): they count in the total for [`Normalisation::Fraction`] and
    /// [`Normalisation::Density`], and a footnote gives their share.
    pub fn outside(mut self, count: f64) -> Self {
        self.outside = count;
        self
    }

    /// Uses palette colour `index` instead of the histogram's position in its chart.
    pub fn colour(mut self, index: usize) -> Self {
        self.colour = Some(index);
        self
    }
}

/// Several histograms on shared bin edges, each an outlined step line (one per layer,
/// say), normalised to counts, fractions or densities.
///
/// The x axis shows values (linear), or magnitudes on a log10 axis: for probe records'
/// `grad_log10_edges` (log10 |gradient|), pass `10^e` for each edge `e` and
/// [`Scale::Log10`].
///
/// ```
/// use gradflow_plot::{Axis, Histogram, HistogramChart, Normalisation, Scale};
/// let exponents: Vec<f64> = (-12..=0).map(f64::from).collect();
/// let edges: Vec<f64> = exponents.iter().map(|e| 10f64.powf(*e)).collect();
/// let svg = HistogramChart::new("Back-propagated gradients", Axis::new("|∂L/∂h|", "1"), edges)
///     .x_scale(Scale::Log10)
///     .normalise(Normalisation::Density)
///     .histogram(Histogram::new("layer 1", [0., 0., 1., 4., 9., 20., 30., 20., 9., 4., 2., 1.]))
///     .histogram(Histogram::new("layer 5", [0., 0., 0., 0., 1., 2., 8., 20., 40., 20., 8., 1.]))
///     .to_svg()?;
/// assert!(svg.contains("density (per decade)"));
/// # Ok::<(), gradflow_plot::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramChart {
    title: String,
    x: Axis,
    y: Option<Axis>,
    edges: Vec<f64>,
    x_scale: Scale,
    normalisation: Normalisation,
    histograms: Vec<Histogram>,
    notes: Vec<String>,
    size: (u32, u32),
}

impl HistogramChart {
    /// An empty chart with bin `edges` (sorted, at least two) on axis `x`.
    pub fn new(title: impl Into<String>, x: Axis, edges: Vec<f64>) -> Self {
        HistogramChart {
            title: title.into(),
            x,
            y: None,
            edges,
            x_scale: Scale::Linear,
            normalisation: Normalisation::default(),
            histograms: Vec::new(),
            notes: Vec::new(),
            size: DEFAULT_SIZE,
        }
    }

    /// Sets the x scale; on [`Scale::Log10`] every edge must be positive.
    pub fn x_scale(mut self, scale: Scale) -> Self {
        self.x_scale = scale;
        self
    }

    /// Sets how heights are scaled (default [`Normalisation::Fraction`]).
    pub fn normalise(mut self, normalisation: Normalisation) -> Self {
        self.normalisation = normalisation;
        self
    }

    /// Replaces the y axis label, which otherwise follows the normalisation.
    pub fn y_axis(mut self, y: Axis) -> Self {
        self.y = Some(y);
        self
    }

    /// Adds a histogram.
    pub fn histogram(mut self, histogram: Histogram) -> Self {
        self.histograms.push(histogram);
        self
    }

    /// Adds a histogram to a chart held in a variable.
    pub fn push(&mut self, histogram: Histogram) {
        self.histograms.push(histogram);
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

    fn y_label(&self) -> String {
        if let Some(y) = &self.y {
            return y.text();
        }
        let y = match self.normalisation {
            Normalisation::Count => Axis::new("count", "values per bin"),
            Normalisation::Fraction => Axis::new("fraction of values", "per bin"),
            Normalisation::Density => match self.x_scale {
                Scale::Log10 => Axis::new("density", "per decade"),
                Scale::Linear if self.x.unit.trim().is_empty() => {
                    Axis::new("density", "per unit of x")
                }
                Scale::Linear => Axis::new("density", format!("1/{}", self.x.unit.trim())),
            },
        };
        y.text()
    }

    /// Renders the chart as an SVG document.
    ///
    /// # Errors
    ///
    /// [`Error::Empty`] without histograms, [`Error::InvalidData`] for fewer than two
    /// edges, edges that are not finite and increasing (or not positive on a log10
    /// axis), or counts that are negative or not finite; [`Error::LengthMismatch`] when a
    /// histogram does not have one count per bin; [`Error::InvalidSize`].
    pub fn to_svg(&self) -> Result<String> {
        if self.histograms.is_empty() {
            return Err(Error::Empty {
                chart: CHART,
                what: format!("'{}' has no histograms", self.title),
            });
        }
        let invalid = |what: &str, reason: String| Error::InvalidData {
            chart: CHART,
            what: what.to_string(),
            reason,
        };
        if self.edges.len() < 2 {
            return Err(invalid(
                "edges",
                format!("need at least two, got {}", self.edges.len()),
            ));
        }
        let edges: Vec<f64> = self
            .edges
            .iter()
            .map(|&e| self.x_scale.map(e))
            .collect::<Option<Vec<f64>>>()
            .ok_or_else(|| {
                invalid(
                    "edges",
                    format!(
                        "every edge must be finite and, on a log10 axis, positive: {:?}",
                        self.edges
                    ),
                )
            })?;
        if edges.windows(2).any(|w| !matches!(w, [a, b] if a < b)) {
            return Err(invalid("edges", "must be strictly increasing".to_string()));
        }
        let bins = edges.len() - 1;
        let mut steps = Vec::with_capacity(self.histograms.len());
        let mut outside = Vec::new();
        let mut empty = Vec::new();
        for h in &self.histograms {
            if h.counts.len() != bins {
                return Err(Error::LengthMismatch {
                    chart: CHART,
                    what: format!("histogram '{}'", h.label),
                    expected: bins,
                    actual: h.counts.len(),
                });
            }
            if let Some(c) = h
                .counts
                .iter()
                .chain(std::iter::once(&h.outside))
                .find(|c| !(c.is_finite() && **c >= 0.0))
            {
                return Err(invalid(
                    &format!("histogram '{}'", h.label),
                    format!("counts must be finite and non-negative, got {c}"),
                ));
            }
            let inside: f64 = h.counts.iter().sum();
            let total = inside + h.outside;
            if total == 0.0 {
                empty.push(clean_label(&h.label));
            }
            if h.outside > 0.0 && total > 0.0 {
                outside.push(format!(
                    "{} {:.1}%",
                    clean_label(&h.label),
                    100.0 * h.outside / total
                ));
            }
            let heights: Vec<f64> = h
                .counts
                .iter()
                .zip(edges.windows(2))
                .map(|(&c, w)| {
                    let width = match w {
                        [a, b] => b - a,
                        _ => 1.0,
                    };
                    match self.normalisation {
                        _ if total == 0.0 => 0.0,
                        Normalisation::Count => c,
                        Normalisation::Fraction => c / total,
                        Normalisation::Density => c / (total * width),
                    }
                })
                .collect();
            // Outline: up the first edge, across each bin, down the last edge.
            let mut points = Vec::with_capacity(2 * bins + 2);
            for (i, (&height, w)) in heights.iter().zip(edges.windows(2)).enumerate() {
                if let [a, b] = w {
                    if i == 0 {
                        points.push((*a, 0.0));
                    }
                    points.push((*a, height));
                    points.push((*b, height));
                    if i + 1 == bins {
                        points.push((*b, 0.0));
                    }
                }
            }
            steps.push(points);
        }
        let mut notes = self.notes.clone();
        if !outside.is_empty() {
            notes.push(format!(
                "Outside the bins (not drawn): {}.",
                outside.join(", ")
            ));
        }
        if !empty.is_empty() {
            notes.push(format!("No values: {}.", empty.join(", ")));
        }
        let y_max = steps.iter().flatten().map(|p| p.1).fold(0.0, f64::max);
        let y_hi = if y_max > 0.0 { y_max * 1.05 } else { 1.0 };
        let (x_lo, x_hi) = match (edges.first(), edges.last()) {
            (Some(&a), Some(&b)) => (a, b),
            _ => (0.0, 1.0),
        };
        let (x_lo, x_hi) = match self.x_scale {
            // Bins need not start on a decade: keep the edges as the range.
            Scale::Log10 => (x_lo, x_hi),
            Scale::Linear => axis_range(Scale::Linear, x_lo, x_hi, 0.0),
        };
        let entries: Vec<LegendEntry> = self
            .histograms
            .iter()
            .enumerate()
            .map(|(i, h)| LegendEntry {
                label: h.label.clone(),
                colour: h.colour.unwrap_or(i),
                dashed: false,
                band: false,
            })
            .collect();
        let x_label = self.x.text();
        let y_label = self.y_label();
        let x_integer = self.x_scale == Scale::Linear && edges.iter().all(|e| e.fract() == 0.0);

        render(self.size, &self.title, |root| {
            let (w, h) = area_size(root);
            let (title, title_h) = title_lines(&self.title, size::TITLE, w);
            let (note_text, notes_h) = note_lines(&notes, w);
            let legend_w = if entries.len() > 1 {
                legend_width(&entries, w * 0.32)
            } else {
                0.0
            };
            draw_title(root, &title, size::TITLE)?;
            let plot_w = w - legend_w;
            let plot_h = h - title_h - notes_h;
            let (xt, yt, frame) = layout_ticks(
                plot_w,
                plot_h,
                (self.x_scale, x_lo, x_hi, x_integer),
                (
                    Scale::Linear,
                    0.0,
                    y_hi,
                    self.normalisation == Normalisation::Count && y_hi > 5.0,
                ),
            );
            let plot_area = sub(root, 0.0, title_h, plot_w, plot_h);
            let mut chart = ChartBuilder::on(&plot_area)
                .margin_top(upx(frame.top))
                .margin_left(upx(frame.left))
                .margin_right(upx(frame.right))
                .x_label_area_size(upx(frame.x_area))
                .y_label_area_size(upx(frame.y_area))
                .build_cartesian_2d(TickAxis::from(&xt), TickAxis::from(&yt))?;
            draw_mesh(&mut chart, &xt, &yt, &x_label, &y_label, true, true)?;
            let mut drawn = Drawn::default();
            for (points, e) in steps.iter().zip(&entries) {
                chart.draw_series(LineSeries::new(
                    points.iter().copied(),
                    rgb(e.colour).stroke_width(SERIES_STROKE),
                ))?;
                drawn.strokes.push(Stroke::Series {
                    label: e.label.clone(),
                    dashed: false,
                });
            }
            if legend_w > 0.0 {
                let legend = sub(root, plot_w, title_h, legend_w, plot_h);
                draw_legend(&legend, &entries, frame.top)?;
            }
            draw_notes(root, &note_text, h - notes_h)?;
            Ok(drawn)
        })
    }
}
