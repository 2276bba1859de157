//! Axes: what a label says, how values map (linear or log10), and where the ticks go.

use crate::style::{line_height, size, text_width};

/// How values map to positions along an axis (or to colours, for a heat map).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scale {
    /// Equal distances for equal differences.
    #[default]
    Linear,
    /// Equal distances for equal ratios; ticks are powers of ten written `1e-30`. Values
    /// that are not positive cannot be shown and are dropped with a footnote.
    Log10,
}

impl Scale {
    /// The position of `v` on this scale, or `None` when the value cannot be drawn
    /// (non-finite, or not positive on a log scale).
    pub(crate) fn map(self, v: f64) -> Option<f64> {
        match self {
            Scale::Linear => v.is_finite().then_some(v),
            Scale::Log10 => (v.is_finite() && v > 0.0).then(|| v.log10()),
        }
    }

    /// Why [`Scale::map`] drops a value, for footnotes.
    pub(crate) fn drop_reason(self) -> &'static str {
        match self {
            Scale::Linear => "NaN or infinite",
            Scale::Log10 => "zero, negative, NaN or infinite",
        }
    }
}

/// An axis label: what is measured and in which unit, drawn as `name (unit)`.
///
/// ```
/// use gradflow_plot::Axis;
/// assert_eq!(Axis::new("layer", "index").text(), "layer (index)");
/// assert_eq!(Axis::new("loss", "").text(), "loss");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Axis {
    /// What the axis shows (`gradient norm ‖δ_l‖`).
    pub name: String,
    /// Its unit (`nats`, `ns per element`, `1` for a pure number); empty for none.
    pub unit: String,
}

impl Axis {
    /// An axis showing `name` measured in `unit`.
    pub fn new(name: impl Into<String>, unit: impl Into<String>) -> Self {
        Axis {
            name: name.into(),
            unit: unit.into(),
        }
    }

    /// The label as drawn: `name (unit)`, or `name` alone when the unit is empty.
    pub fn text(&self) -> String {
        let name = crate::style::clean_label(self.name.trim());
        let unit = crate::style::clean_label(self.unit.trim());
        if unit.is_empty() {
            name
        } else {
            format!("{name} ({unit})")
        }
    }
}

/// The drawn range of an axis and its ticks, in mapped coordinates (log10 of the value on
/// a log axis).
#[derive(Debug, Clone)]
pub(crate) struct Ticks {
    pub lo: f64,
    pub hi: f64,
    /// Labelled ticks (with grid lines).
    pub major: Vec<f64>,
    /// Unlabelled light grid lines.
    pub minor: Vec<f64>,
    format: TickFormat,
}

#[derive(Debug, Clone)]
enum TickFormat {
    /// Category names, the first at the top (the axis runs from 0 to their number).
    Categories(Vec<String>),
    /// Fixed-point with this many decimals.
    Fixed(usize),
    /// Scientific with this many mantissa decimals (trailing zeros removed).
    Sci(usize),
    /// `m e k` for the mapped value log10(m * 10^k).
    Pow10,
}

impl Ticks {
    /// The tick label of mapped coordinate `v`.
    pub fn label(&self, v: f64) -> String {
        match &self.format {
            TickFormat::Categories(names) => {
                let index = (self.hi - v - 0.5).round();
                if index >= 0.0 {
                    names.get(index as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            }
            &TickFormat::Fixed(d) => {
                let s = format!("{v:.d$}");
                // No "-0" or "-0.0".
                if s.trim_start_matches('-')
                    .chars()
                    .all(|c| c == '0' || c == '.')
                {
                    s.trim_start_matches('-').to_string()
                } else {
                    s
                }
            }
            &TickFormat::Sci(d) => sci(v, d),
            TickFormat::Pow10 => {
                let k = v.floor();
                let m = 10f64.powf(v - k).round();
                // log10(10) rounding: a mantissa of 10 belongs to the next decade.
                let (m, k) = if m >= 10.0 { (1.0, k + 1.0) } else { (m, k) };
                if m <= 1.0 {
                    format!("1e{k:.0}")
                } else {
                    format!("{m:.0}e{k:.0}")
                }
            }
        }
    }

    /// A category axis: `names[0]` at the top, each category one unit tall.
    pub fn categories(names: Vec<String>) -> Ticks {
        let n = names.len() as f64;
        Ticks {
            lo: 0.0,
            hi: n,
            major: (0..names.len()).map(|i| n - i as f64 - 0.5).collect(),
            minor: Vec::new(),
            format: TickFormat::Categories(names),
        }
    }

    /// The widest tick label in px at the tick font size.
    pub fn max_label_width(&self) -> f64 {
        self.major
            .iter()
            .map(|&v| text_width(&self.label(v), size::TICK))
            .fold(0.0, f64::max)
    }
}

fn sci(v: f64, decimals: usize) -> String {
    if v == 0.0 {
        return "0".to_string();
    }
    let s = format!("{v:.decimals$e}");
    match s.split_once('e') {
        Some((mantissa, exp)) if mantissa.contains('.') => {
            let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
            format!("{mantissa}e{exp}")
        }
        _ => s,
    }
}

/// The padded, drawn range for mapped data spanning `lo..=hi`.
///
/// Linear: widened by `pad` of the span on each side (a zero span is widened to a unit
/// around the value). Log10: snapped outward to whole decades.
pub(crate) fn axis_range(scale: Scale, lo: f64, hi: f64, pad: f64) -> (f64, f64) {
    let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
    match scale {
        Scale::Linear => {
            let span = hi - lo;
            if span <= f64::EPSILON * lo.abs().max(hi.abs()).max(1e-300) {
                let half = if lo.abs() > 0.0 { lo.abs() * 0.1 } else { 1.0 };
                (lo - half, hi + half)
            } else {
                (lo - pad * span, hi + pad * span)
            }
        }
        Scale::Log10 => {
            if hi - lo < 1e-9 {
                ((lo - 0.5).floor(), (hi + 0.5).ceil())
            } else {
                (lo.floor(), hi.ceil())
            }
        }
    }
}

/// Ticks for the drawn range `lo..hi` of an axis `axis_px` long. Horizontal axes space
/// ticks so that their labels do not touch; vertical ones keep about two lines apart.
/// `integer` keeps linear ticks on whole numbers (layer indices, steps).
pub(crate) fn ticks(
    scale: Scale,
    lo: f64,
    hi: f64,
    axis_px: f64,
    horizontal: bool,
    integer: bool,
) -> Ticks {
    let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
    let axis_px = axis_px.max(20.0);
    let fits = |t: &Ticks, step: f64| -> bool {
        let gap_px = if hi > lo {
            step / (hi - lo) * axis_px
        } else {
            axis_px
        };
        let needed = if horizontal {
            t.max_label_width() + 14.0
        } else {
            line_height(size::TICK) * 2.2
        };
        gap_px >= needed
    };
    match scale {
        Scale::Linear => linear_ticks(lo, hi, integer, fits),
        Scale::Log10 => log_ticks(lo, hi, fits),
    }
}

fn linear_ticks(lo: f64, hi: f64, integer: bool, fits: impl Fn(&Ticks, f64) -> bool) -> Ticks {
    let span = (hi - lo).max(f64::MIN_POSITIVE);
    let fallback = Ticks {
        lo,
        hi,
        major: vec![lo, hi],
        minor: Vec::new(),
        format: TickFormat::Sci(3),
    };
    if !span.is_finite() {
        return fallback;
    }
    let mut exp = (span / 20.0).log10().floor() as i32;
    let mut last = None;
    // 1, 2, 5 x 10^k from a twentieth of the span upward: the first that fits.
    for _ in 0..40 {
        for m in [1.0, 2.0, 5.0] {
            let step = m * 10f64.powi(exp);
            if step * 40.0 < span || (integer && step < 1.0) || step <= 0.0 || !step.is_finite() {
                continue;
            }
            let t = linear_at(lo, hi, step);
            if fits(&t, step) && t.major.len() >= 2 {
                return t;
            }
            // Fewer than two ticks: keep the last one that had at least one label.
            if !t.major.is_empty() {
                last = Some(t);
            }
        }
        exp = exp.saturating_add(1);
    }
    last.unwrap_or(fallback)
}

fn linear_at(lo: f64, hi: f64, step: f64) -> Ticks {
    let first = (lo / step - 1e-9).ceil() as i64;
    let last = (hi / step + 1e-9).floor() as i64;
    let major: Vec<f64> = (first..=last)
        .take(1000)
        .map(|i| {
            let v = i as f64 * step;
            if v.abs() < step * 1e-9 { 0.0 } else { v }
        })
        .collect();
    let max_abs = lo.abs().max(hi.abs());
    let decimals = (-(step.log10() + 1e-9).floor()).max(0.0) as usize;
    let format = if max_abs >= 1e5 || (max_abs < 1e-3 && max_abs > 0.0) {
        let digits = ((max_abs / step).log10().ceil().max(0.0)) as usize;
        TickFormat::Sci(digits.min(6))
    } else {
        TickFormat::Fixed(decimals.min(12))
    };
    Ticks {
        lo,
        hi,
        major,
        minor: Vec::new(),
        format,
    }
}

fn log_ticks(lo: f64, hi: f64, fits: impl Fn(&Ticks, f64) -> bool) -> Ticks {
    let decades = hi - lo;
    let first = lo.ceil() as i64;
    let last = hi.floor() as i64;
    // Within two decades, label 1, 2 and 5 of each decade, with light lines at 1..9.
    if decades <= 2.0 + 1e-9 {
        let mut major = Vec::new();
        let mut minor = Vec::new();
        for k in (lo.floor() as i64)..=(hi.ceil() as i64) {
            for m in 1..10 {
                let v = k as f64 + f64::from(m).log10();
                if v < lo - 1e-9 || v > hi + 1e-9 {
                    continue;
                }
                if matches!(m, 1 | 2 | 5) {
                    major.push(v);
                } else {
                    minor.push(v);
                }
            }
        }
        return Ticks {
            lo,
            hi,
            major,
            minor,
            format: TickFormat::Pow10,
        };
    }
    let mut chosen = None;
    for k in [1i64, 2, 3, 5, 10, 20, 25, 50, 100, 200, 250, 500] {
        let major: Vec<f64> = (first..=last)
            .filter(|e| e.rem_euclid(k) == 0)
            .take(1000)
            .map(|e| e as f64)
            .collect();
        let minor: Vec<f64> = if k > 1 && decades <= 120.0 {
            (first..=last)
                .filter(|e| e.rem_euclid(k) != 0)
                .map(|e| e as f64)
                .collect()
        } else {
            Vec::new()
        };
        let t = Ticks {
            lo,
            hi,
            major,
            minor,
            format: TickFormat::Pow10,
        };
        if fits(&t, k as f64) {
            return snap_to_step(t, k);
        }
        chosen = Some(t);
    }
    chosen.unwrap_or(Ticks {
        lo,
        hi,
        major: vec![lo, hi],
        minor: Vec::new(),
        format: TickFormat::Pow10,
    })
}

/// Widens a log axis to the next labelled decade at either end when that costs at most
/// 8% of the span, so that the ends are labelled (1e-60 rather than an unlabelled 1e-59).
fn snap_to_step(mut t: Ticks, k: i64) -> Ticks {
    let k = k as f64;
    let span = t.hi - t.lo;
    let lo = (t.lo / k).floor() * k;
    let hi = (t.hi / k).ceil() * k;
    let mut widened = false;
    if lo < t.lo && t.lo - lo <= 0.08 * span {
        t.lo = lo;
        widened = true;
    }
    if hi > t.hi && hi - t.hi <= 0.08 * span {
        t.hi = hi;
        widened = true;
    }
    if widened {
        let (first, last) = (t.lo.ceil() as i64, t.hi.floor() as i64);
        let k = k as i64;
        t.major = (first..=last)
            .filter(|e| e.rem_euclid(k) == 0)
            .map(|e| e as f64)
            .collect();
        if !t.minor.is_empty() {
            t.minor = (first..=last)
                .filter(|e| e.rem_euclid(k) != 0)
                .map(|e| e as f64)
                .collect();
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(t: &Ticks) -> Vec<String> {
        t.major.iter().map(|&v| t.label(v)).collect()
    }

    #[test]
    fn log_ticks_over_sixty_decades_are_powers_of_ten() {
        let (lo, hi) = axis_range(Scale::Log10, -58.3, 1.7, 0.0);
        assert_eq!((lo, hi), (-59.0, 2.0));
        let t = ticks(Scale::Log10, lo, hi, 380.0, false, false);
        let l = labels(&t);
        assert!(l.contains(&"1e-30".to_string()), "{l:?}");
        // Widened to the labelled -60 (one decade), not to +10 (eight).
        assert_eq!((t.lo, t.hi), (-60.0, 2.0));
        assert_eq!(l.first().map(String::as_str), Some("1e-60"));
        assert!(l.len() >= 4 && l.len() <= 10, "{l:?}");
        assert!(l.iter().all(|s| s.starts_with("1e")));
    }

    #[test]
    fn narrow_log_range_labels_one_two_five() {
        let (lo, hi) = axis_range(Scale::Log10, -0.7, -0.3, 0.0);
        let t = ticks(Scale::Log10, lo, hi, 380.0, false, false);
        assert_eq!(labels(&t), ["1e-1", "2e-1", "5e-1", "1e0"]);
    }

    #[test]
    fn linear_ticks_are_round_and_spaced() {
        let t = ticks(Scale::Linear, -0.05, 1.05, 600.0, true, false);
        let l = labels(&t);
        assert_eq!(l.first().map(String::as_str), Some("0.0"));
        assert!(l.contains(&"1.0".to_string()), "{l:?}");
        let t = ticks(Scale::Linear, 0.0, 3.0, 600.0, true, true);
        assert_eq!(labels(&t), ["0", "1", "2", "3"]);
        let t = ticks(Scale::Linear, 0.0, 2.0e6, 600.0, true, false);
        assert!(labels(&t).contains(&"1e6".to_string()), "{:?}", labels(&t));
        let t = ticks(Scale::Linear, -1.0, 1.0, 300.0, false, false);
        assert!(labels(&t).contains(&"0".to_string()) || labels(&t).contains(&"0.0".to_string()));
    }

    #[test]
    fn degenerate_ranges_do_not_loop_or_panic() {
        for (lo, hi) in [
            (0.0, 0.0),
            (5.0, 5.0),
            (1e300, 1e300),
            (-1e-300, 1e-300),
            (-1e308, 1e308),
        ] {
            let (a, b) = axis_range(Scale::Linear, lo, hi, 0.05);
            let t = ticks(Scale::Linear, a, b, 300.0, true, false);
            assert!(!t.major.is_empty());
        }
        let t = ticks(Scale::Log10, -300.0, 300.0, 300.0, false, false);
        assert!(!t.major.is_empty());
    }
}

/// A plotters coordinate for an axis with precomputed [`Ticks`]: linear in mapped
/// coordinates, major ticks as labelled (bold) grid lines, minor ticks as light ones.
/// (plotters' own `with_key_points` on `f64` ranges cannot take a label formatter.)
#[derive(Debug, Clone)]
pub(crate) struct TickAxis {
    lo: f64,
    hi: f64,
    major: Vec<f64>,
    minor: Vec<f64>,
}

/// How far (px) outside its axis a value may be mapped.
const MAP_SLACK: f64 = 10_000.0;

impl From<&Ticks> for TickAxis {
    fn from(t: &Ticks) -> Self {
        TickAxis {
            lo: t.lo,
            hi: t.hi,
            major: t.major.clone(),
            minor: t.minor.clone(),
        }
    }
}

impl plotters::coord::ranged1d::Ranged for TickAxis {
    type FormatOption = plotters::coord::ranged1d::DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let span = self.hi - self.lo;
        if span == 0.0 || !span.is_finite() {
            return limit.0 + (limit.1 - limit.0) / 2;
        }
        let t = (value - self.lo) / span;
        let pixels = f64::from(limit.1) - f64::from(limit.0);
        // Off-chart values stay within a screen or so of the axis: plotters does
        // unchecked i32 arithmetic on these coordinates (a NaN maps to the start).
        let (a, b) = (
            f64::from(limit.0.min(limit.1)),
            f64::from(limit.0.max(limit.1)),
        );
        let v = f64::from(limit.0) + pixels * t;
        let v = if v.is_nan() { f64::from(limit.0) } else { v };
        v.clamp(a - MAP_SLACK, b + MAP_SLACK).round() as i32
    }

    fn key_points<Hint: plotters::coord::ranged1d::KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.minor.clone()
        } else {
            self.major.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.lo..self.hi
    }
}
