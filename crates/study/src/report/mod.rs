//! The report: SVG charts and an `index.html` that works from the file system (no
//! network, no script), with the claims section, the summary table and the
//! configuration needed to reproduce it.

pub mod charts;
pub mod claims;
mod html;

use std::path::{Path, PathBuf};

use gradflow_autograd::Activation;

use crate::results::StudyResults;
use crate::{Error, Result};
use charts::Chart;

/// Most heat maps and histogram sets drawn (one per run of the first seed).
const MAX_PER_RUN_CHARTS: usize = 36;

/// The files each chart is written as: always SVG (what `index.html` shows), and a PNG
/// beside it when asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChartFormats {
    /// Also write `<chart>.png`, rasterised from the SVG at twice its size. Needs the
    /// cargo feature `png` (off by default); without it asking is an error.
    pub png: bool,
}

impl ChartFormats {
    /// Whether this build can write PNG (the cargo feature `png`).
    pub const PNG_AVAILABLE: bool = cfg!(feature = "png");
}

/// Device pixels per SVG pixel of the PNG copies: sharp on high-density screens and in
/// slides.
#[cfg(feature = "png")]
const PNG_SCALE: f32 = 2.0;

fn write_chart(dir: &Path, c: &Chart, formats: ChartFormats) -> Result<()> {
    let svg = dir.join(&c.file);
    crate::runner::write_atomic(&svg, &c.svg)?;
    if formats.png {
        write_png(&svg.with_extension("png"), &c.svg)?;
    }
    Ok(())
}

#[cfg(feature = "png")]
fn write_png(path: &Path, svg: &str) -> Result<()> {
    let bytes = gradflow_plot::svg_to_png(svg, PNG_SCALE)
        .map_err(|e| Error::config("--png", format!("{}: {e}", path.display())))?;
    crate::runner::write_atomic(path, bytes)
}

#[cfg(not(feature = "png"))]
fn write_png(path: &Path, _svg: &str) -> Result<()> {
    Err(Error::config(
        "--png",
        format!(
            "cannot write {}: this gradflow was built without PNG support (rebuild with \
             `--features png`)",
            path.display()
        ),
    ))
}

/// Writes `index.html` and every chart into `out` (charts under `out/charts`); returns
/// the path of `index.html`.
///
/// # Errors
/// I/O errors naming the file (a read-only or full directory); chart errors.
pub fn write_report(out: &Path, results: &StudyResults, formats: ChartFormats) -> Result<PathBuf> {
    let dir = out.join("charts");
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let mut page = html::Page::new(results);

    // Claims.
    let mut claim_list = vec![
        claims::vanishing(results),
        claims::training(results),
        claims::sparsity(results),
        claims::cost(&results.config.grid.activations)?,
        claims::dying(results.config.training.dtype)?,
        claims::centring(results),
    ];
    for c in &claim_list {
        if let Some(chart) = &c.chart {
            write_chart(&dir, chart, formats)?;
        }
    }
    let mean_chart = charts::per_layer_at_init(results, charts::PerLayer::Mean)?;
    let zeros_chart = charts::per_layer_at_init(results, charts::PerLayer::Zeros)?;
    if let Some(c) = claim_list
        .iter_mut()
        .find(|c| c.title == "Zero-centred outputs")
    {
        c.chart = Some(mean_chart.clone());
    }
    if let Some(c) = claim_list.iter_mut().find(|c| c.title == "Sparsity") {
        c.chart = Some(zeros_chart.clone());
    }
    let init = charts::init_gradients(results, false)?;
    if let Some(c) = claim_list
        .iter_mut()
        .find(|c| c.title == "Vanishing gradients")
    {
        c.chart = Some(init.clone());
    }
    let accuracy = charts::training_curves(results, true)?;
    if let Some(c) = claim_list
        .iter_mut()
        .find(|c| c.title == "Training deep networks")
    {
        c.chart = Some(accuracy.clone());
    }
    page.claims(&claim_list);

    // Gallery.
    let mut gallery = Vec::new();
    for act in results
        .config
        .grid
        .activations
        .iter()
        .filter(|a| a.is_pointwise())
    {
        gallery.push(charts::gallery(*act)?);
    }
    page.section("gallery", "The activations and their derivatives", "Each activation of the study with its first and second derivative, computed by the engine's gradient rules (not hand formulas). The maximum slope bounds how much a layer can pass on: 1/4 for sigmoid.", &[]);
    page.grid("gallery-grid", &gallery);

    // Gradient flow at initialisation.
    let weights = charts::init_gradients(results, true)?;
    page.section("init", "Gradient flow at initialisation", "The back-propagated gradient delta_l = dL/dh_l at every hidden layer of each freshly initialised network, on one mini-batch. This is where vanishing and exploding gradients live; the gradient w.r.t. the weights (second chart) can look much flatter.", &[init, weights]);

    // Theory.
    let theory = charts::theory_vs_measured(results)?;
    page.theory(&theory);

    // Training.
    let loss = charts::training_curves(results, false)?;
    let mut heat = Vec::new();
    let first_seed = results.config.grid.seeds.first().copied().unwrap_or(0);
    for r in results
        .runs
        .iter()
        .filter(|r| r.spec.seed == first_seed)
        .take(MAX_PER_RUN_CHARTS)
    {
        if r.snapshots.len() > 1 {
            heat.push(charts::heat_map(r)?);
        }
    }
    page.section("training", "Training dynamics", "Loss and accuracy on the training mini-batches, and for each network the gradient at every layer (rows) over training (columns).", &[loss, accuracy]);
    page.grid("heatmaps", &heat);

    // Histograms.
    let mut hist = Vec::new();
    for r in results
        .runs
        .iter()
        .filter(|r| r.spec.seed == first_seed)
        .take(MAX_PER_RUN_CHARTS)
    {
        hist.extend(charts::histograms(r, false)?);
    }
    page.section("histograms", "Activations and gradients, layer by layer", "Histograms of the activations and of log10 |delta| for five layers spread over the depth, at initialisation (after Glorot & Bengio 2010, figures 3 to 7): saturated sigmoid units pile up at 0 and 1, and the gradient distribution slides left towards the input when it vanishes.", &[]);
    page.grid("histograms-grid", &hist);

    // Dead and saturated units.
    let dead = charts::unit_fractions(results, true)?;
    let saturated = charts::unit_fractions(results, false)?;
    page.section("units", "Dead and saturated units", "A dead unit has derivative 0 for every sample of the batch (a ReLU stuck below 0); a saturated one sits where its slope is below 5% of the maximum for most samples (sigmoid and tanh far from 0).", &[dead, saturated, mean_chart, zeros_chart]);

    page.summary();
    page.reproduce();

    for c in page.charts() {
        write_chart(&dir, c, formats)?;
    }
    let index = out.join("index.html");
    crate::runner::write_atomic(&index, page.render())?;
    Ok(index)
}

/// Writes the activation gallery (`charts/gallery-<name>.svg`, one per pointwise
/// activation) into `out`; returns the paths.
///
/// # Errors
/// I/O errors naming the file; chart errors.
pub fn write_gallery(
    out: &Path,
    activations: &[Activation],
    formats: ChartFormats,
) -> Result<Vec<PathBuf>> {
    let dir = out.join("charts");
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let mut paths = Vec::new();
    for act in activations.iter().filter(|a| a.is_pointwise()) {
        let c = charts::gallery(*act)?;
        write_chart(&dir, &c, formats)?;
        paths.push(dir.join(&c.file));
    }
    Ok(paths)
}
