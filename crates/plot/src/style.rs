//! Colours, fonts, text measurement and SVG text escaping shared by every chart.

use std::borrow::Cow;

use plotters::style::{Color, IntoFont, RGBAColor, RGBColor, TextStyle};

/// The series palette: Okabe & Ito's colour-blind-safe set ("Color Universal Design",
/// 2008), ordered so that the first colours are the most distinct on white and yellow,
/// the faintest on white, comes last. Series `i` gets `PALETTE[i % 8]` in every chart,
/// so passing series in the same order gives the same colours everywhere.
pub const PALETTE: [[u8; 3]; 8] = [
    [0x00, 0x72, 0xB2], // blue
    [0xD5, 0x5E, 0x00], // vermillion
    [0x00, 0x9E, 0x73], // bluish green
    [0xCC, 0x79, 0xA7], // reddish purple
    [0xE6, 0x9F, 0x00], // orange
    [0x56, 0xB4, 0xE9], // sky blue
    [0x00, 0x00, 0x00], // black
    [0xF0, 0xE4, 0x42], // yellow
];

/// The colour of series `index` (wrapping after [`PALETTE`]'s eight colours), as RGB.
pub fn series_colour(index: usize) -> [u8; 3] {
    PALETTE
        .get(index % PALETTE.len())
        .copied()
        .unwrap_or([0, 0, 0])
}

/// The colour of series `index` as a CSS hex string (`#0072B2`), for HTML reports that
/// want to match the charts.
pub fn series_colour_hex(index: usize) -> String {
    let [r, g, b] = series_colour(index);
    format!("#{r:02X}{g:02X}{b:02X}")
}

pub(crate) fn rgb(index: usize) -> RGBColor {
    let [r, g, b] = series_colour(index);
    RGBColor(r, g, b)
}

/// Escapes text for SVG/XML character data or attribute values (`&`, `<`, `>`, `"`, `'`)
/// and replaces the characters that XML 1.0 forbids (most control characters) with
/// U+FFFD, so that any string yields well-formed SVG.
///
/// plotters escapes the text it draws itself; this is for the SVG this crate writes
/// around it (the document `<title>`, series attributes) and for callers who embed chart
/// titles in their own SVG or HTML.
///
/// ```
/// assert_eq!(gradflow_plot::escape_svg_text("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
/// ```
pub fn escape_svg_text(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| needs_escape(c) || !xml_char(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if xml_char(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    matches!(c, '&' | '<' | '>' | '"' | '\'')
}

/// Whether XML 1.0 allows `c` in a document.
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
}

/// One line of label text as plotters will draw it: line breaks and tabs become spaces,
/// characters XML forbids become U+FFFD (plotters escapes markup but not those).
pub(crate) fn clean_label(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => ' ',
            c if xml_char(c) => c,
            _ => '\u{FFFD}',
        })
        .collect()
}

/// Font sizes in SVG pixels. The smallest is 12 px.
pub(crate) mod size {
    pub const TITLE: f64 = 18.0;
    pub const PANEL_TITLE: f64 = 15.0;
    pub const AXIS_LABEL: f64 = 15.0;
    pub const TICK: f64 = 13.0;
    pub const LEGEND: f64 = 13.0;
    pub const NOTE: f64 = 12.0;
}

/// plotters' SVG backend writes `font-size` as the requested size divided by 1.24 (its
/// em-box convention), so asking for `px * 1.24` gives `px` in the SVG.
const PLOTTERS_FONT_SCALE: f64 = 1.24;

/// A sans-serif text style of `px` SVG pixels in `colour`.
pub(crate) fn font(px: f64) -> TextStyle<'static> {
    ("sans-serif", px * PLOTTERS_FONT_SCALE)
        .into_font()
        .color(&RGBColor(0x22, 0x22, 0x22))
}

/// [`font`] in bold.
pub(crate) fn bold_font(px: f64) -> TextStyle<'static> {
    ("sans-serif", px * PLOTTERS_FONT_SCALE)
        .into_font()
        .style(plotters::style::FontStyle::Bold)
        .color(&RGBColor(0x22, 0x22, 0x22))
}

pub(crate) fn grey(level: u8) -> RGBColor {
    RGBColor(level, level, level)
}

pub(crate) fn with_alpha(c: RGBColor, alpha: f64) -> RGBAColor {
    c.mix(alpha)
}

/// Estimated width in pixels of `text` at `px`. Conservative: per-character widths close
/// to DejaVu Sans, the widest common default sans-serif, so that labels laid out with it
/// do not overlap whichever sans-serif font the viewer picks.
pub(crate) fn text_width(text: &str, px: f64) -> f64 {
    let em: f64 = text
        .chars()
        .map(|c| match c {
            'i' | 'l' | 'j' | '.' | ',' | ':' | ';' | '\'' | '|' | '!' | ' ' => 0.33,
            'f' | 't' | 'r' | '(' | ')' | '[' | ']' | '-' => 0.42,
            'm' | 'w' => 0.95,
            'M' | 'W' => 1.0,
            '0'..='9' => 0.64,
            c if c.is_ascii_uppercase() => 0.74,
            c if c.is_ascii() => 0.62,
            _ => 0.75,
        })
        .sum();
    em * px
}

/// Line height for text of `px`.
pub(crate) fn line_height(px: f64) -> f64 {
    (px * 1.3).ceil()
}

/// Greedy word wrap of `text` into lines no wider than `max_width` px at `px`. A single
/// word wider than the line is cut with an ellipsis.
pub(crate) fn wrap(text: &str, px: f64, max_width: f64) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() {
            word.to_string()
        } else {
            format!("{line} {word}")
        };
        if text_width(&candidate, px) <= max_width || line.is_empty() {
            line = candidate;
        } else {
            lines.push(std::mem::take(&mut line));
            line = word.to_string();
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
        .into_iter()
        .map(|l| truncate(&l, px, max_width))
        .collect()
}

/// `text` cut to fit `max_width` px at `px`, ending in an ellipsis when cut.
pub(crate) fn truncate(text: &str, px: f64, max_width: f64) -> String {
    if text_width(text, px) <= max_width {
        return text.to_string();
    }
    let mut out = String::new();
    for c in text.chars() {
        out.push(c);
        if text_width(&out, px) + text_width("…", px) > max_width {
            out.pop();
            break;
        }
    }
    out.push('…');
    out
}

/// Viridis (matplotlib's perceptually uniform, colour-blind-safe map), sampled at eleven
/// evenly spaced points and interpolated linearly between them.
const VIRIDIS: [[u8; 3]; 11] = [
    [0x44, 0x01, 0x54],
    [0x48, 0x24, 0x75],
    [0x41, 0x44, 0x87],
    [0x35, 0x5F, 0x8D],
    [0x2A, 0x78, 0x8E],
    [0x21, 0x91, 0x8C],
    [0x22, 0xA8, 0x84],
    [0x44, 0xBF, 0x70],
    [0x7A, 0xD1, 0x51],
    [0xBD, 0xDF, 0x26],
    [0xFD, 0xE7, 0x25],
];

/// The viridis colour at `t` in [0, 1] (clamped; NaN maps to 0).
pub(crate) fn viridis(t: f64) -> RGBColor {
    let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
    let pos = t * (VIRIDIS.len() - 1) as f64;
    let i = (pos.floor() as usize).min(VIRIDIS.len() - 2);
    let f = pos - i as f64;
    let a = VIRIDIS.get(i).copied().unwrap_or([0, 0, 0]);
    let b = VIRIDIS.get(i + 1).copied().unwrap_or(a);
    let mix = |x: u8, y: u8| (f64::from(x) + (f64::from(y) - f64::from(x)) * f).round() as u8;
    RGBColor(mix(a[0], b[0]), mix(a[1], b[1]), mix(a[2], b[2]))
}

/// The colour of cells without a value (NaN, or not positive on a log scale).
pub(crate) const NO_VALUE: RGBColor = RGBColor(0xC8, 0xC8, 0xC8);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_replaces_markup_and_forbidden_characters() {
        assert_eq!(escape_svg_text("plain"), "plain");
        assert_eq!(
            escape_svg_text("<a href='x'>&"),
            "&lt;a href=&apos;x&apos;&gt;&amp;"
        );
        assert_eq!(escape_svg_text("a\u{0}b\u{1b}"), "a\u{FFFD}b\u{FFFD}");
        assert_eq!(escape_svg_text("δ₁ ‖x‖"), "δ₁ ‖x‖");
    }

    #[test]
    fn wrap_keeps_lines_within_width() {
        let lines = wrap(
            "one two three four five six seven eight nine ten",
            12.0,
            80.0,
        );
        assert!(lines.len() > 2);
        assert!(lines.iter().all(|l| text_width(l, 12.0) <= 80.0));
        assert_eq!(wrap("", 12.0, 80.0), Vec::<String>::new());
        let cut = wrap("supercalifragilisticexpialidocious", 12.0, 60.0);
        assert!(
            cut.iter()
                .all(|l| l.ends_with('…') && text_width(l, 12.0) <= 60.0)
        );
    }

    #[test]
    fn viridis_ends_are_the_published_colours() {
        assert_eq!(viridis(0.0), RGBColor(0x44, 0x01, 0x54));
        assert_eq!(viridis(1.0), RGBColor(0xFD, 0xE7, 0x25));
        assert_eq!(viridis(f64::NAN), RGBColor(0x44, 0x01, 0x54));
        assert_eq!(viridis(7.0), RGBColor(0xFD, 0xE7, 0x25));
    }

    #[test]
    fn palette_wraps() {
        assert_eq!(series_colour(0), series_colour(8));
        assert_eq!(series_colour_hex(1), "#D55E00");
    }
}
