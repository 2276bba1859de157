//! Bar charts: one value per labelled category, with optional error bars.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::axis::{Axis, Scale, TickAxis, Ticks, axis_range, ticks};
use crate::error::{Error, Result};
use crate::frame::{
    DEFAULT_SIZE, Drawn, SERIES_STROKE, Stroke, area_size, draw_notes, draw_title, note_lines,
    render, sub, title_lines, upx,
};
use crate::line::{Frame, draw_mesh};
use crate::style::{clean_label, font, grey, rgb, size, text_width, truncate, with_alpha};

const CHART: &str = "bar chart";

/// One bar of a [`BarChart`].
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    label: String,
    value: f64,
    error: Option<(f64, f64)>,
}

impl Bar {
    /// A bar named `label` of length `value`.
    pub fn new(label: impl Into<String>, value: f64) -> Self {
        Bar {
            label: label.into(),
            value,
            error: None,
        }
    }

    /// A symmetric error bar, `value ± error` (a standard deviation, say).
    pub fn error(mut self, error: f64) -> Self {
        self.error = Some((self.value - error.abs(), self.value + error.abs()));
        self
    }

    /// An error bar from `low` to `high` (a min..max or a confidence interval).
    pub fn interval(mut self, low: f64, high: f64) -> Self {
        self.error = Some((low.min(high), low.max(high)));
        self
    }
}

/// Labelled horizontal bars (categories top to bottom in the given order, values along
/// x), with optional error bars and each value written at the end of its bar.
///
/// Horizontal, so that long category names (`leaky_relu:0.1`) stay readable however many
/// there are. Without an explicit [`size`](BarChart::size), the chart grows taller with
/// the number of bars.
///
/// ```
/// use gradflow_plot::{Axis, Bar, BarChart};
/// let svg = BarChart::new(
///     "Forward and backward cost per activation",
///     Axis::new("activation", ""),
///     Axis::new("time", "ns per element"),
/// )
/// .bar(Bar::new("relu", 0.9).error(0.05))
/// .bar(Bar::new("gelu", 4.2).error(0.3))
/// .to_svg()?;
/// assert!(svg.contains("gelu"));
/// # Ok::<(), gradflow_plot::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct BarChart {
    title: String,
    category: Axis,
    value: Axis,
    bars: Vec<Bar>,
    colour_each: bool,
    notes: Vec<String>,
    size: Option<(u32, u32)>,
}

impl BarChart {
    /// An empty chart with a category axis (its unit is usually empty) and a value axis.
    pub fn new(title: impl Into<String>, category: Axis, value: Axis) -> Self {
        BarChart {
            title: title.into(),
            category,
            value,
            bars: Vec::new(),
            colour_each: false,
            notes: Vec::new(),
            size: None,
        }
    }

    /// Adds a bar.
    pub fn bar(mut self, bar: Bar) -> Self {
        self.bars.push(bar);
        self
    }

    /// Adds a bar to a chart held in a variable.
    pub fn push(&mut self, bar: Bar) {
        self.bars.push(bar);
    }

    /// Colours bar `i` with palette colour `i`, matching series `i` of the other charts
    /// (default: every bar in the first palette colour).
    pub fn colour_each_bar(mut self, yes: bool) -> Self {
        self.colour_each = yes;
        self
    }

    /// Adds a footnote.
    pub fn note(mut self, text: impl Into<String>) -> Self {
        self.notes.push(text.into());
        self
    }

    /// Sets the size in px (default 800 wide, 500 tall or more for many bars).
    pub fn size(mut self, width: u32, height: u32) -> Self {
        self.size = Some((width, height));
        self
    }

    /// Renders the chart as an SVG document.
    ///
    /// # Errors
    ///
    /// [`Error::Empty`] without bars, [`Error::NoPlottableData`] when no bar has a finite
    /// value, [`Error::InvalidSize`]. A bar whose value is NaN or infinite is left out
    /// (its label stays) and named in a footnote; so is such an error bar.
    pub fn to_svg(&self) -> Result<String> {
        if self.bars.is_empty() {
            return Err(Error::Empty {
                chart: CHART,
                what: format!("'{}' has no bars", self.title),
            });
        }
        let finite: Vec<&Bar> = self.bars.iter().filter(|b| b.value.is_finite()).collect();
        if finite.is_empty() {
            return Err(Error::NoPlottableData {
                chart: CHART,
                dropped: self.bars.len(),
                reason: Scale::Linear.drop_reason(),
            });
        }
        let bad_error =
            |b: &Bar| matches!(b.error, Some((lo, hi)) if !(lo.is_finite() && hi.is_finite()));
        let mut notes = self.notes.clone();
        let missing: Vec<String> = self
            .bars
            .iter()
            .filter(|b| !b.value.is_finite())
            .map(|b| clean_label(&b.label))
            .collect();
        if !missing.is_empty() {
            notes.push(format!(
                "No value (NaN or infinite): {}.",
                missing.join(", ")
            ));
        }
        let bad_errors: Vec<String> = finite
            .iter()
            .filter(|b| bad_error(b))
            .map(|b| clean_label(&b.label))
            .collect();
        if !bad_errors.is_empty() {
            notes.push(format!(
                "Error bar not drawn (NaN or infinite): {}.",
                bad_errors.join(", ")
            ));
        }
        let ends = finite.iter().flat_map(|b| {
            let mut v = vec![b.value];
            if let Some((lo, hi)) = b.error.filter(|_| !bad_error(b)) {
                v.extend([lo, hi]);
            }
            v
        });
        let (lo, hi) = ends.fold((0.0f64, 0.0f64), |(a, b), v| (a.min(v), b.max(v)));
        let value_text = |b: &Bar| significant(b.value, 3);
        let text_room = finite
            .iter()
            .map(|b| text_width(&value_text(b), size::TICK))
            .fold(0.0, f64::max)
            + 10.0;

        let size = self.size.unwrap_or_else(|| {
            let h = 150u32.saturating_add(26u32.saturating_mul(self.bars.len() as u32));
            (DEFAULT_SIZE.0, h.clamp(DEFAULT_SIZE.1, crate::MAX_SIZE))
        });
        let x_label = self.value.text();
        let y_label = self.category.text();

        render(size, &self.title, |root| {
            let (w, h) = area_size(root);
            let (title, title_h) = title_lines(&self.title, size::TITLE, w);
            let (note_text, notes_h) = note_lines(&notes, w);
            draw_title(root, &title, size::TITLE)?;
            let plot_h = h - title_h - notes_h;
            let max_name = w * 0.35;
            let names: Vec<String> = self
                .bars
                .iter()
                .map(|b| truncate(&clean_label(&b.label), size::TICK, max_name))
                .collect();
            let yt = Ticks::categories(names);
            let probe = Frame::new(yt.max_label_width(), text_width("0.00", size::TICK));
            let axis_px = (w - probe.left - probe.y_area - probe.right).max(40.0);
            // Room after the longest bar for its value.
            let room = (text_room / axis_px).min(0.5);
            let (x_lo, x_hi) = if lo < 0.0 {
                let (a, b) = axis_range(Scale::Linear, lo, hi, 0.05);
                (a, b + (b - a) * room / (1.0 - room))
            } else {
                let top = if hi > 0.0 { hi } else { 1.0 };
                (0.0, top / (1.0 - room))
            };
            let xt = ticks(Scale::Linear, x_lo, x_hi, axis_px, true, false);
            let frame = Frame::new(yt.max_label_width(), xt.max_label_width());
            let plot_area = sub(root, 0.0, title_h, w, plot_h);
            let mut chart = ChartBuilder::on(&plot_area)
                .margin_top(upx(frame.top))
                .margin_left(upx(frame.left))
                .margin_right(upx(frame.right))
                .x_label_area_size(upx(frame.x_area))
                .y_label_area_size(upx(frame.y_area))
                .build_cartesian_2d(TickAxis::from(&xt), TickAxis::from(&yt))?;
            draw_mesh(&mut chart, &xt, &yt, &x_label, &y_label, true, false)?;
            let n = self.bars.len() as f64;
            let mut drawn = Drawn::default();
            let text_style = font(size::TICK).pos(Pos::new(HPos::Left, VPos::Center));
            for (i, b) in self.bars.iter().enumerate() {
                if !b.value.is_finite() {
                    continue;
                }
                let y = n - i as f64 - 0.5;
                let colour = rgb(if self.colour_each { i } else { 0 });
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(0.0, y - 0.32), (b.value, y + 0.32)],
                    with_alpha(colour, 0.85).filled(),
                )))?;
                let mut end = b.value;
                if let Some((elo, ehi)) = b.error.filter(|_| !bad_error(b)) {
                    let cap = 0.14;
                    chart.draw_series(std::iter::once(PathElement::new(
                        vec![
                            (elo, y - cap),
                            (elo, y + cap),
                            (elo, y),
                            (ehi, y),
                            (ehi, y - cap),
                            (ehi, y + cap),
                        ],
                        grey(30).stroke_width(SERIES_STROKE),
                    )))?;
                    drawn.strokes.push(Stroke::ErrorBar {
                        label: b.label.clone(),
                    });
                    end = end.max(ehi);
                }
                let at = if b.value < 0.0 { end.max(0.0) } else { end };
                chart.draw_series(std::iter::once(
                    EmptyElement::at((at, y))
                        + Text::new(value_text(b), (6, 0), text_style.clone()),
                ))?;
            }
            draw_notes(root, &note_text, h - notes_h)?;
            Ok(drawn)
        })
    }
}

/// `v` with `digits` significant digits, without trailing zeros (`4.2`, `0.0123`, `1.5e6`).
fn significant(v: f64, digits: usize) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let magnitude = v.abs().log10().floor() as i32;
    if !(-4..6).contains(&magnitude) {
        let s = format!("{:.*e}", digits.saturating_sub(1), v);
        return match s.split_once('e') {
            Some((m, e)) if m.contains('.') => {
                format!("{}e{e}", m.trim_end_matches('0').trim_end_matches('.'))
            }
            _ => s,
        };
    }
    let decimals = (digits as i32 - 1 - magnitude).max(0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::significant;

    #[test]
    fn significant_digits_read_naturally() {
        assert_eq!(significant(4.2, 3), "4.2");
        assert_eq!(significant(0.012345, 3), "0.0123");
        assert_eq!(significant(123456.0, 3), "123456");
        assert_eq!(significant(1.5e7, 3), "1.5e7");
        assert_eq!(significant(-0.5, 3), "-0.5");
        assert_eq!(significant(0.0, 3), "0");
    }
}
