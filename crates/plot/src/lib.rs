#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![deny(unsafe_code)]

mod axis;
mod bar;
mod error;
mod frame;
mod heatmap;
mod histogram;
mod line;
mod panels;
#[cfg(feature = "png")]
mod png;
mod style;

pub use axis::{Axis, Scale};
pub use bar::{Bar, BarChart};
pub use error::{DrawingError, Error, Result};
pub use frame::{DEFAULT_SIZE, MAX_SIZE, MIN_SIZE};
pub use heatmap::HeatMap;
pub use histogram::{Histogram, HistogramChart, Normalisation};
pub use line::{LineChart, Series};
pub use panels::Panels;
#[cfg(feature = "png")]
pub use png::{MAX_PNG_SCALE, svg_to_png};
pub use style::{PALETTE, escape_svg_text, series_colour, series_colour_hex};
