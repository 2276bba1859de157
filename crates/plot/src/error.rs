//! The plot crate's error type.

use plotters::drawing::DrawingAreaErrorKind;

/// `Result` with the plot crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The error plotters' SVG backend reports (its backend error is an I/O error, which an
/// in-memory string never produces; font and layout errors are the other variants).
pub type DrawingError = DrawingAreaErrorKind<std::io::Error>;

/// What can go wrong turning data into a chart.
///
/// Bad data never panics: it is either dropped with a footnote in the chart (a point that
/// a log axis cannot show, a NaN) or reported here (no data at all, mismatched lengths).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The chart has nothing to draw: no series, no rows, no bars, an empty series.
    #[error("{chart}: nothing to plot: {what}")]
    Empty {
        /// The kind of chart (`line chart`, `heat map`, ...).
        chart: &'static str,
        /// What is empty.
        what: String,
    },
    /// Every value was dropped (non-finite, or not positive on a log10 axis).
    #[error("{chart}: none of the {dropped} values can be drawn ({reason})")]
    NoPlottableData {
        /// The kind of chart.
        chart: &'static str,
        /// How many values were dropped.
        dropped: usize,
        /// Why they were dropped.
        reason: &'static str,
    },
    /// Two pieces of data that must have the same length do not.
    #[error("{chart}: {what} has {actual} entries, expected {expected}")]
    LengthMismatch {
        /// The kind of chart.
        chart: &'static str,
        /// What has the wrong length.
        what: String,
        /// The length it must have.
        expected: usize,
        /// The length it has.
        actual: usize,
    },
    /// Data that cannot be drawn at all (unsorted bin edges, negative counts, ...).
    #[error("{chart}: invalid {what}: {reason}")]
    InvalidData {
        /// The kind of chart.
        chart: &'static str,
        /// Which input.
        what: String,
        /// What is wrong with it, with the value.
        reason: String,
    },
    /// A requested size outside [`MIN_SIZE`](crate::MIN_SIZE)..=[`MAX_SIZE`](crate::MAX_SIZE).
    #[error("chart size {width}x{height} px is outside {min_width}x{min_height} to {max}x{max} px")]
    InvalidSize {
        /// Requested width.
        width: u32,
        /// Requested height.
        height: u32,
        /// Smallest width.
        min_width: u32,
        /// Smallest height.
        min_height: u32,
        /// Largest width and height.
        max: u32,
    },
    /// Rasterising a chart to PNG failed (feature `png`); the reason names what.
    #[error("png: {0}")]
    Png(String),
    /// plotters failed to draw.
    #[error("drawing the chart failed")]
    Drawing(#[from] DrawingError),
    /// The SVG that plotters emitted does not have the shape this crate expects (a bug in
    /// this crate, or a plotters version whose SVG output changed).
    #[error("internal: unexpected svg output: {0}")]
    Svg(String),
}
