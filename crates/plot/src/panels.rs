//! Small multiples: several line charts in a grid, one SVG.

use crate::error::{Error, Result};
use crate::frame::{
    Drawn, area_size, dedup, draw_legend, draw_notes, draw_title, legend_width, note_lines, render,
    sub, title_lines,
};
use crate::line::{LineChart, PanelStyle, draw_line_chart};
use crate::style::{clean_label, size};

const CHART: &str = "panels";
const ROW_GAP: f64 = 12.0;

/// Several [`LineChart`]s laid out in a grid in one SVG (small multiples: one panel per
/// initialiser, or f, f′ and f″ per activation), optionally on a shared y range.
///
/// Each panel keeps its own title, axes and scales. The legend is drawn once, at the
/// right, listing each distinct series (label and style) in first-seen order, so give a
/// series the same label and position (or [`Series::colour`](crate::Series::colour)) in
/// every panel. Footnotes of all panels are collected under the grid.
///
/// ```
/// use gradflow_plot::{Axis, LineChart, Panels, Series};
/// let panel = |name: &str, slope: f64| {
///     LineChart::new(name, Axis::new("x", "1"), Axis::new("f(x)", "1"))
///         .series(Series::new("f", [(-1.0, -slope), (0.0, 0.0), (1.0, 1.0)]))
/// };
/// let svg = Panels::new("Activations")
///     .panel(panel("relu", 0.0))
///     .panel(panel("leaky relu", 0.1))
///     .share_y(true)
///     .to_svg()?;
/// assert!(svg.contains("leaky relu"));
/// # Ok::<(), gradflow_plot::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Panels {
    title: String,
    panels: Vec<LineChart>,
    columns: Option<usize>,
    share_y: bool,
    notes: Vec<String>,
    size: Option<(u32, u32)>,
}

impl Panels {
    /// An empty grid titled `title`.
    pub fn new(title: impl Into<String>) -> Self {
        Panels {
            title: title.into(),
            panels: Vec::new(),
            columns: None,
            share_y: false,
            notes: Vec::new(),
            size: None,
        }
    }

    /// Adds a panel (filled row by row). The chart's own size is ignored.
    pub fn panel(mut self, chart: LineChart) -> Self {
        self.panels.push(chart);
        self
    }

    /// Adds a panel to a grid held in a variable.
    pub fn push(&mut self, chart: LineChart) {
        self.panels.push(chart);
    }

    /// Panels per row (default: the smallest number that gives at least as many columns
    /// as rows). Zero means the default.
    pub fn columns(mut self, columns: usize) -> Self {
        self.columns = (columns > 0).then_some(columns);
        self
    }

    /// Draws every panel on the same y range (the union of the panels' ranges), so that
    /// heights compare across panels. All panels must then use the same y scale.
    pub fn share_y(mut self, share: bool) -> Self {
        self.share_y = share;
        self
    }

    /// Adds a footnote under the grid.
    pub fn note(mut self, text: impl Into<String>) -> Self {
        self.notes.push(text.into());
        self
    }

    /// Sets the size in px (default: 400 x 300 per panel plus title, legend and notes,
    /// at least 800 x 500).
    pub fn size(mut self, width: u32, height: u32) -> Self {
        self.size = Some((width, height));
        self
    }

    /// Renders the grid as an SVG document.
    ///
    /// # Errors
    ///
    /// [`Error::Empty`] without panels, any error of a panel's
    /// [`LineChart::to_svg`] (named by its title), [`Error::InvalidData`] when `share_y`
    /// is set and the panels' y scales differ, [`Error::InvalidSize`].
    pub fn to_svg(&self) -> Result<String> {
        let first = self.panels.first().ok_or_else(|| Error::Empty {
            chart: CHART,
            what: format!("'{}' has no panels", self.title),
        })?;
        if self.share_y
            && self
                .panels
                .iter()
                .any(|p| p.y_scale_of() != first.y_scale_of())
        {
            return Err(Error::InvalidData {
                chart: CHART,
                what: "share_y".to_string(),
                reason: "the panels' y scales differ (linear and log10)".to_string(),
            });
        }
        let prepared = self
            .panels
            .iter()
            .map(LineChart::prepare)
            .collect::<Result<Vec<_>>>()?;
        let n = prepared.len();
        let columns = self
            .columns
            .unwrap_or_else(|| (1..=n).find(|c| c * c >= n).unwrap_or(1))
            .min(n)
            .max(1);
        let rows = n.div_ceil(columns);
        let shared_y = if self.share_y {
            let lo = prepared
                .iter()
                .map(|p| p.y_data.0)
                .fold(f64::INFINITY, f64::min);
            let hi = prepared
                .iter()
                .map(|p| p.y_data.1)
                .fold(f64::NEG_INFINITY, f64::max);
            Some(crate::axis::axis_range(first.y_scale_of(), lo, hi, 0.05))
        } else {
            None
        };
        let entries = dedup(prepared.iter().flat_map(|p| p.legend()));
        let mut notes = self.notes.clone();
        for p in &prepared {
            // The panel's own notes, minus those the grid already states.
            for note in &p.notes {
                if !self.notes.contains(note) {
                    notes.push(format!("{}: {note}", clean_label(&p.title)));
                }
            }
        }
        let size = self.size.unwrap_or_else(|| {
            let legend = if entries.len() > 1 { 200 } else { 0 };
            let w = (columns as u32)
                .saturating_mul(400)
                .saturating_add(legend)
                .max(800);
            let h = (rows as u32)
                .saturating_mul(300)
                .saturating_add(60)
                .max(500);
            (w.min(crate::MAX_SIZE), h.min(crate::MAX_SIZE))
        });
        render(size, &self.title, |root| {
            let (w, h) = area_size(root);
            let (title, title_h) = title_lines(&self.title, size::TITLE, w);
            let (note_text, notes_h) = note_lines(&notes, w);
            let legend_w = if entries.len() > 1 {
                legend_width(&entries, w * 0.25)
            } else {
                0.0
            };
            draw_title(root, &title, size::TITLE)?;
            let grid_w = w - legend_w;
            let grid_h = h - title_h - notes_h;
            let cell_w = grid_w / columns as f64;
            let cell_h = grid_h / rows as f64;
            let style = PanelStyle {
                legend: false,
                title_px: size::PANEL_TITLE,
                notes: false,
                y_range: shared_y,
            };
            let mut drawn = Drawn::default();
            for (i, p) in prepared.iter().enumerate() {
                let (r, c) = (i / columns, i % columns);
                // Rows after the first start lower, so that a panel title does not sit
                // on the x axis label of the panel above.
                let gap = if r > 0 { ROW_GAP } else { 0.0 };
                let cell = sub(
                    root,
                    c as f64 * cell_w,
                    title_h + r as f64 * cell_h + gap,
                    cell_w,
                    cell_h - gap,
                );
                drawn.extend(draw_line_chart(&cell, p, &style)?);
            }
            if legend_w > 0.0 {
                let legend = sub(root, grid_w, title_h, legend_w, grid_h);
                draw_legend(&legend, &entries, 30.0)?;
            }
            draw_notes(root, &note_text, h - notes_h)?;
            Ok(drawn)
        })
    }
}
