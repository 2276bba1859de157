//! The report: charts (SVG) and an HTML page that works from the file system.

use std::path::{Path, PathBuf};

use gradflow_autograd::Activation;

use crate::Result;
use crate::results::StudyResults;

/// Writes `index.html` and the charts into `out`; returns the path of `index.html`.
///
/// # Errors
/// I/O errors naming the file; chart errors.
pub fn write_report(out: &Path, results: &StudyResults) -> Result<PathBuf> {
    let _ = results;
    Ok(out.join("index.html"))
}

/// Writes the activation gallery charts into `out/charts`; returns their paths.
///
/// # Errors
/// I/O errors naming the file; chart errors.
pub fn write_gallery(out: &Path, activations: &[Activation]) -> Result<Vec<PathBuf>> {
    let _ = (out, activations);
    Ok(Vec::new())
}
