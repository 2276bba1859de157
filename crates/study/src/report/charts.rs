//! Every chart of the report, built from the results (and the engine, for the
//! gallery). Each function returns `(file name, SVG)`.

use std::collections::BTreeMap;

use gradflow_autograd::{Activation, DType, Tensor};
use gradflow_plot::{
    Axis, HeatMap, Histogram, HistogramChart, LineChart, Normalisation, Panels, Scale, Series,
};

use crate::Result;
use crate::results::{RunResult, StudyResults};

/// A chart ready to write: file name (under `charts/`), SVG, and a caption.
#[derive(Clone, Debug)]
pub struct Chart {
    /// File name, e.g. `init-gradients.svg`.
    pub file: String,
    /// The SVG document.
    pub svg: String,
    /// One sentence saying what it shows.
    pub caption: String,
    /// Whether it is a grid of panels, shown at the full width of the page (single
    /// charts are shown at about their drawn size).
    pub wide: bool,
}

fn chart(file: impl Into<String>, svg: String, caption: impl Into<String>) -> Chart {
    // Panels are the only charts drawn wider than 1000 px.
    let wide = svg_width(&svg).is_some_and(|w| w > 1000.0);
    Chart {
        file: file.into(),
        svg,
        caption: caption.into(),
        wide,
    }
}

/// The `width` attribute of an SVG document's root element.
fn svg_width(svg: &str) -> Option<f64> {
    let head = svg.get(..svg.find('>')?)?;
    let at = head.find(" width=\"")? + 8;
    head.get(at..)?
        .split('"')
        .next()?
        .trim_end_matches("px")
        .parse()
        .ok()
}

const CONVENTION: &str = "Conventions: h_l = W_l x_(l-1) + b_l, x_l = phi(h_l), sigma_w^2 = fan_in Var(W) (standard init 1/3, Xavier 1, He 2 x gain^2/2); delta_l = dL/dh_l.";

/// A group of runs that differ only in activation and seed: one panel of a chart.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct PanelKey {
    init: String,
    depth: usize,
    width: usize,
    dataset: String,
    optimiser: String,
}

impl PanelKey {
    fn of(r: &RunResult) -> PanelKey {
        PanelKey {
            init: r.spec.init.to_string(),
            depth: r.spec.depth,
            width: r.spec.width,
            dataset: r.spec.dataset.to_string(),
            optimiser: r.spec.optimiser.to_string(),
        }
    }

    /// The panel title: what differs between panels.
    fn title(&self, all: &[PanelKey]) -> String {
        let mut parts = vec![format!("init {}", self.init)];
        if all.iter().any(|k| k.depth != self.depth) {
            parts.push(format!("depth {}", self.depth));
        }
        if all.iter().any(|k| k.width != self.width) {
            parts.push(format!("width {}", self.width));
        }
        if all.iter().any(|k| k.dataset != self.dataset) {
            parts.push(self.dataset.clone());
        }
        if all.iter().any(|k| k.optimiser != self.optimiser) {
            parts.push(self.optimiser.clone());
        }
        parts.join(", ")
    }
}

/// The runs of one panel, by activation.
type PanelRuns<'a> = Vec<(Activation, Vec<&'a RunResult>)>;

/// Runs grouped into panels, and within each panel by activation (seeds together), in
/// the order the grid lists them.
fn grouped(results: &StudyResults) -> Vec<(PanelKey, PanelRuns<'_>)> {
    let mut panels: BTreeMap<PanelKey, PanelRuns<'_>> = BTreeMap::new();
    for r in &results.runs {
        let entry = panels.entry(PanelKey::of(r)).or_default();
        match entry.iter_mut().find(|(a, _)| *a == r.spec.activation) {
            Some((_, runs)) => runs.push(r),
            None => entry.push((r.spec.activation, vec![r])),
        }
    }
    // Keep the grid's order of inits rather than alphabetical.
    let order: Vec<String> = results
        .config
        .grid
        .inits
        .iter()
        .map(|i| i.to_string())
        .collect();
    let mut out: Vec<_> = panels.into_iter().collect();
    out.sort_by_key(|(k, _)| {
        (
            order
                .iter()
                .position(|i| *i == k.init)
                .unwrap_or(usize::MAX),
            k.clone(),
        )
    });
    out
}

/// The activation's fixed colour: its position in the grid's list.
fn colour(results: &StudyResults, act: Activation) -> usize {
    results
        .config
        .grid
        .activations
        .iter()
        .position(|a| *a == act)
        .unwrap_or(0)
}

/// `panels` with one line chart per panel group of [`grouped`] (at most three a row,
/// one y range for all): `blank` makes a group's chart from its title, and `lines`
/// gives the series of one activation's runs in that group, given the activation's
/// colour.
fn chart_per_group(
    results: &StudyResults,
    panels: Panels,
    blank: impl Fn(String) -> LineChart,
    mut lines: impl FnMut(Activation, usize, &[&RunResult]) -> Vec<Series>,
) -> Panels {
    let groups = grouped(results);
    let keys: Vec<PanelKey> = groups.iter().map(|(k, _)| k.clone()).collect();
    let mut panels = panels.columns(groups.len().clamp(1, 3)).share_y(true);
    for (key, acts) in &groups {
        let mut c = blank(key.title(&keys));
        for (act, runs) in acts {
            for series in lines(*act, colour(results, *act), runs) {
                c.push(series);
            }
        }
        panels.push(c);
    }
    panels
}

/// Geometric mean over seeds per position, with min and max (for a band).
fn geometric(values: &[Vec<f64>]) -> Vec<(f64, f64, f64)> {
    let n = values.iter().map(Vec::len).min().unwrap_or(0);
    (0..n)
        .map(|i| {
            let col: Vec<f64> = values
                .iter()
                .map(|v| v[i])
                .filter(|x| *x > 0.0 && x.is_finite())
                .collect();
            if col.is_empty() {
                return (f64::NAN, f64::NAN, f64::NAN);
            }
            let mean = (col.iter().map(|x| x.ln()).sum::<f64>() / col.len() as f64).exp();
            let lo = col.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = col.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            (mean, lo, hi)
        })
        .collect()
}

/// Arithmetic mean over seeds per position.
fn arithmetic(values: &[Vec<f64>]) -> Vec<f64> {
    let n = values.iter().map(Vec::len).min().unwrap_or(0);
    (0..n)
        .map(|i| values.iter().map(|v| v[i]).sum::<f64>() / values.len().max(1) as f64)
        .collect()
}

fn layer_series(label: String, colour_index: usize, per_seed: &[Vec<f64>], bands: bool) -> Series {
    let g = geometric(per_seed);
    let points: Vec<(f64, f64)> = g
        .iter()
        .enumerate()
        .map(|(i, (m, _, _))| ((i + 1) as f64, *m))
        .collect();
    let mut s = Series::new(label, points).colour(colour_index);
    if bands && per_seed.len() > 1 {
        s = s.band(
            g.iter()
                .enumerate()
                .map(|(i, (_, lo, hi))| ((i + 1) as f64, *lo, *hi)),
        );
    }
    s
}

/// Each activation with its first and second derivative, computed by the engine.
///
/// # Errors
/// Engine and chart errors.
pub fn gallery(act: Activation) -> Result<Chart> {
    let x = Tensor::linspace(-6.0, 6.0, 481, DType::F64)?;
    let xs = x.to_f64_vec();
    let act_for_values = match act {
        Activation::Softmax { .. } | Activation::LogSoftmax { .. } => None,
        a => Some(a),
    };
    let Some(a) = act_for_values else {
        return Err(crate::Error::config(
            "gallery",
            format!("{act} is a vector function; it has no elementwise chart"),
        ));
    };
    let y = a.apply_tensor(&x)?.to_f64_vec();
    let (d1, d2) = a.second_derivative(&x)?;
    let zip = |v: Vec<f64>| xs.iter().copied().zip(v).collect::<Vec<_>>();
    let info = a.info();
    let svg = LineChart::new(
        format!("{a}: f, f' and f'' (computed by the engine)"),
        Axis::new("x", "pre-activation"),
        Axis::new("value", "output units"),
    )
    .series(Series::new("f(x)", zip(y)).colour(0))
    .series(Series::new("f'(x)", zip(d1.to_f64_vec())).colour(1))
    .series(
        Series::new("f''(x)", zip(d2.to_f64_vec()))
            .colour(2)
            .dashed(),
    )
    .note(format!(
        "{} | max |f'| = {} | f'(0) = {} | source: {}",
        info.formula,
        fmt_num(info.max_derivative),
        info.derivative_at_zero
            .map(fmt_num)
            .unwrap_or_else(|| "-".into()),
        info.source
    ))
    .size(640, 420)
    .to_svg()?;
    Ok(chart(
        format!("gallery-{}.svg", act.name()),
        svg,
        format!(
            "{a}: the function and its first two derivatives, from the engine's own gradient rules."
        ),
    ))
}

fn fmt_num(v: f64) -> String {
    if v == v.round() && v.abs() < 1e6 {
        format!("{v}")
    } else {
        format!("{v:.4}")
    }
}

/// Per-layer back-propagated gradient norm at initialisation, one line per activation,
/// one panel per initialiser (the headline chart).
///
/// # Errors
/// Chart errors.
pub fn init_gradients(results: &StudyResults, weights: bool) -> Result<Chart> {
    let (what, file) = if weights {
        ("||dL/dW_l|| (weight gradient)", "init-weight-gradients.svg")
    } else {
        ("||delta_l|| = ||dL/dh_l||", "init-gradients.svg")
    };
    let panels = chart_per_group(
        results,
        Panels::new(format!("Gradient at initialisation, per layer: {what}")).note(CONVENTION),
        |title| {
            LineChart::new(
                title,
                Axis::new("layer l", "1 = next to the input"),
                Axis::new(what, "L2 norm, log scale"),
            )
            .y_scale(Scale::Log10)
        },
        |act, colour, runs| {
            let per_seed: Vec<Vec<f64>> = runs
                .iter()
                .filter_map(|r| r.snapshots.first())
                .map(|s| {
                    if weights {
                        s.weight_grad_norm.clone()
                    } else {
                        s.delta_norm.clone()
                    }
                })
                .collect();
            if per_seed.is_empty() {
                return vec![];
            }
            vec![layer_series(act.to_string(), colour, &per_seed, true)]
        },
    );
    Ok(chart(
        file,
        panels.to_svg()?,
        if weights {
            "The gradient w.r.t. each layer's weights at initialisation. It can stay much flatter across layers than delta (Glorot & Bengio 2010, 4.2.1): look at delta for the vanishing."
        } else {
            "How large the back-propagated gradient is at each layer before any training (geometric mean over seeds, band: min to max). A line falling towards layer 1 is a vanishing gradient."
        },
    ))
}

/// Measured per-layer gradient decay beside the mean-field prediction.
///
/// # Errors
/// Chart errors.
pub fn theory_vs_measured(results: &StudyResults) -> Result<Chart> {
    let panels = chart_per_group(
        results,
        Panels::new("Gradient decay at initialisation: measured (solid) and mean-field theory (dashed)")
            .note("||delta_l|| / ||delta_L||, L = last hidden layer. Theory: Poole et al. 2016, Schoenholz et al. 2017; chi(q_l) = sigma_w^2 E[phi'(sqrt(q_l) z)^2] per layer."),
        |title| {
            LineChart::new(
                title,
                Axis::new("layer l", "1 = next to the input"),
                Axis::new("||delta_l|| / ||delta_L||", "ratio, log scale"),
            )
            .y_scale(Scale::Log10)
        },
        |act, colour, runs| {
            let mut lines = vec![];
            let per_seed: Vec<Vec<f64>> = runs
                .iter()
                .filter_map(|r| r.snapshots.first())
                .map(|s| {
                    let last = s.delta_norm.last().copied().unwrap_or(f64::NAN);
                    s.delta_norm.iter().map(|d| d / last).collect()
                })
                .collect();
            if !per_seed.is_empty() {
                lines.push(layer_series(act.to_string(), colour, &per_seed, true));
            }
            if let Some(t) = runs.first().and_then(|r| r.theory.as_ref()) {
                let pts: Vec<(f64, f64)> = t
                    .delta_relative
                    .iter()
                    .enumerate()
                    .map(|(i, v)| ((i + 1) as f64, *v))
                    .collect();
                lines.push(
                    Series::new(format!("{act} (theory)"), pts)
                        .dashed()
                        .colour(colour),
                );
            }
            lines
        },
    );
    Ok(chart(
        "theory-vs-measured.svg",
        panels.to_svg()?,
        "Each layer's gradient relative to the last hidden layer's, measured at initialisation (solid, band over seeds) and predicted by mean-field theory from the activation and the initialiser alone (dashed).",
    ))
}

fn smooth(points: &[(f64, f64)], window: usize) -> Vec<(f64, f64)> {
    (0..points.len())
        .map(|i| {
            let lo = i.saturating_sub(window - 1);
            let slice = &points[lo..=i];
            (
                points[i].0,
                slice.iter().map(|p| p.1).sum::<f64>() / slice.len() as f64,
            )
        })
        .collect()
}

/// Training curves: loss (log scale) or accuracy per activation, one panel per group.
///
/// # Errors
/// Chart errors.
pub fn training_curves(results: &StudyResults, accuracy: bool) -> Result<Chart> {
    let (title, file, y) = if accuracy {
        (
            "Training accuracy (mini-batch, moving average over 20 steps)",
            "accuracy.svg",
            Axis::new("accuracy", "fraction correct"),
        )
    } else {
        (
            "Training loss (mini-batch, moving average over 20 steps)",
            "loss.svg",
            Axis::new("loss", "cross-entropy, log scale"),
        )
    };
    let blank = |title| {
        let c = LineChart::new(title, Axis::new("step", "optimiser steps"), y.clone());
        if accuracy { c } else { c.y_scale(Scale::Log10) }
    };
    let panels = chart_per_group(results, Panels::new(title), blank, |act, colour, runs| {
        let per_seed: Vec<Vec<(f64, f64)>> = runs
            .iter()
            .map(|r| {
                r.curve
                    .iter()
                    .filter_map(|p| {
                        if accuracy {
                            p.accuracy.map(|a| (p.step as f64, a))
                        } else {
                            Some((p.step as f64, p.loss))
                        }
                    })
                    .collect()
            })
            .collect();
        let n = per_seed.iter().map(Vec::len).min().unwrap_or(0);
        if n == 0 {
            return vec![];
        }
        let mean: Vec<(f64, f64)> = (0..n)
            .map(|i| {
                (
                    per_seed[0][i].0,
                    per_seed.iter().map(|s| s[i].1).sum::<f64>() / per_seed.len() as f64,
                )
            })
            .collect();
        vec![Series::new(act.to_string(), smooth(&mean, 20)).colour(colour)]
    });
    Ok(chart(
        file,
        panels.to_svg()?,
        if accuracy {
            "Accuracy on each training mini-batch, averaged over seeds."
        } else {
            "Loss on each training mini-batch, averaged over seeds; a flat line at ln 2 (two classes) is a network that learns nothing."
        },
    ))
}

/// A layer x step heat map of the back-propagated gradient norm for one run.
///
/// # Errors
/// Chart errors.
pub fn heat_map(run: &RunResult) -> Result<Chart> {
    let depth = run.spec.depth;
    let steps: Vec<usize> = run.snapshots.iter().map(|s| s.step).collect();
    let values: Vec<Vec<f64>> = (0..depth)
        .map(|l| {
            run.snapshots
                .iter()
                .map(|s| s.delta_norm.get(l).copied().unwrap_or(f64::NAN))
                .collect()
        })
        .collect();
    let step_size = if steps.len() > 1 {
        (steps[1] - steps[0]) as f64
    } else {
        1.0
    };
    let svg = HeatMap::new(
        format!(
            "||delta_l|| during training: {} with {}",
            run.spec.activation, run.spec.init
        ),
        Axis::new("step", "optimiser steps"),
        Axis::new("layer l", "1 = next to the input"),
        Axis::new("||delta_l||", "L2 norm"),
        values,
    )
    .colour_scale(Scale::Log10)
    .columns(steps.first().copied().unwrap_or(0) as f64, step_size)
    .rows(1.0, 1.0)
    .size(520, 360)
    .to_svg()?;
    Ok(chart(
        format!("heatmap-{}.svg", run.id),
        svg,
        format!(
            "{} with {}: the gradient at every layer (rows) and recorded step (columns).",
            run.spec.activation, run.spec.init
        ),
    ))
}

/// Histograms of activations and of `log10 |delta|` per layer at one recorded point of a
/// run (Glorot & Bengio 2010's figures).
///
/// # Errors
/// Chart errors.
pub fn histograms(run: &RunResult, final_step: bool) -> Result<Vec<Chart>> {
    let h = if final_step {
        run.histograms_final.as_ref()
    } else {
        run.histograms_init.as_ref()
    };
    let Some(h) = h else { return Ok(Vec::new()) };
    let depth = h.activations.len();
    // Five layers spread over the depth, as in the paper's figures.
    let mut layers: Vec<usize> = (0..5).map(|k| k * depth.saturating_sub(1) / 4).collect();
    layers.dedup();
    let when = if final_step {
        format!("step {}", h.step)
    } else {
        "initialisation".to_string()
    };
    let tag = if final_step { "final" } else { "init" };
    let acts = layer_histograms(
        format!(
            "Activations per layer at {when}: {} with {}",
            run.spec.activation, run.spec.init
        ),
        Axis::new("activation x_l", "value"),
        &h.value_edges,
        &h.activations,
        &layers,
    )?;
    let grads = layer_histograms(
        format!(
            "Back-propagated gradients per layer at {when}: {} with {}",
            run.spec.activation, run.spec.init
        ),
        Axis::new("log10 |delta_l|", "decades"),
        &h.grad_edges,
        &h.gradients,
        &layers,
    )?;
    Ok(vec![
        chart(
            format!("hist-act-{tag}-{}.svg", run.id),
            acts,
            format!(
                "Distribution of each layer's activations ({}, {}).",
                run.spec.activation, when
            ),
        ),
        chart(
            format!("hist-grad-{tag}-{}.svg", run.id),
            grads,
            format!(
                "Distribution of log10 |dL/dh_l| per layer ({}, {}): a shift to the left towards layer 1 is the vanishing gradient.",
                run.spec.activation, when
            ),
        ),
    ])
}

/// One histogram per chosen layer on shared edges, drawn over the populated range only
/// (plus a bin either side): the gradient edges span 62 decades, a network uses a dozen.
/// The bins left out are empty for every drawn layer, so nothing is hidden.
fn layer_histograms(
    title: String,
    x: Axis,
    edges: &[f64],
    hists: &[gradflow_nn::probe::Histogram],
    layers: &[usize],
) -> Result<String> {
    let bins = edges.len().saturating_sub(1);
    if bins == 0 {
        return Err(crate::Error::config(
            "report",
            "histogram without bins in the results",
        ));
    }
    let used = |i: usize| {
        layers.iter().any(|&l| {
            hists
                .get(l)
                .is_some_and(|h| h.counts.get(i).is_some_and(|&c| c > 0))
        })
    };
    let (lo, hi) = match (
        (0..bins).find(|&i| used(i)),
        (0..bins).rev().find(|&i| used(i)),
    ) {
        (Some(first), Some(last)) => (
            first.saturating_sub(1),
            (last + 1).min(bins.saturating_sub(1)),
        ),
        _ => (0, bins.saturating_sub(1)),
    };
    let mut chart = HistogramChart::new(title, x, edges.get(lo..=hi + 1).unwrap_or(edges).to_vec())
        .normalise(Normalisation::Fraction)
        .size(560, 380);
    for (k, &l) in layers.iter().enumerate() {
        if let Some(h) = hists.get(l) {
            chart.push(
                Histogram::new(
                    format!("layer {}", l + 1),
                    h.counts
                        .get(lo..=hi)
                        .unwrap_or(&[])
                        .iter()
                        .map(|&c| c as f64),
                )
                .outside((h.below + h.above + h.nan) as f64)
                .colour(k),
            );
        }
    }
    Ok(chart.to_svg()?)
}

/// Mean dead or saturated fraction over the hidden layers during training.
///
/// # Errors
/// Chart errors.
pub fn unit_fractions(results: &StudyResults, dead: bool) -> Result<Chart> {
    let (title, file, y) = if dead {
        (
            "Dead units during training (derivative 0 for the whole batch)",
            "dead.svg",
            Axis::new("dead units", "fraction of hidden units"),
        )
    } else {
        (
            "Saturated units during training (|f'| < 5% of its maximum for most samples)",
            "saturated.svg",
            Axis::new("saturated units", "fraction of hidden units"),
        )
    };
    let blank = |title| LineChart::new(title, Axis::new("step", "optimiser steps"), y.clone());
    let panels = chart_per_group(results, Panels::new(title), blank, |act, colour, runs| {
        let per_seed: Vec<Vec<f64>> = runs
            .iter()
            .map(|r| {
                r.snapshots
                    .iter()
                    .map(|s| {
                        let v = if dead { &s.dead } else { &s.saturated };
                        v.iter().sum::<f64>() / v.len().max(1) as f64
                    })
                    .collect()
            })
            .collect();
        let steps: Vec<f64> = runs
            .first()
            .map(|r| r.snapshots.iter().map(|s| s.step as f64).collect())
            .unwrap_or_default();
        let mean = arithmetic(&per_seed);
        vec![Series::new(act.to_string(), steps.into_iter().zip(mean)).colour(colour)]
    });
    Ok(chart(
        file,
        panels.to_svg()?,
        if dead {
            "Fraction of hidden units whose derivative is exactly 0 for every sample of the batch: units that receive no gradient at all."
        } else {
            "Fraction of hidden units in the flat part of their activation for most of the batch: units whose gradient is nearly 0."
        },
    ))
}

/// A per-layer quantity at initialisation, one line per activation (the first panel
/// group only): mean activation or fraction of exact zeros.
///
/// # Errors
/// Chart errors.
pub fn per_layer_at_init(results: &StudyResults, what: PerLayer) -> Result<Chart> {
    let (title, file, y, caption) = match what {
        PerLayer::Mean => (
            "Mean activation per layer at initialisation",
            "activation-mean.svg",
            Axis::new("mean of x_l", "output units"),
            "Sigmoid's outputs sit around 0.5, not 0: every unit of the next layer gets a positive bias and its weight gradients share one sign per unit (LeCun et al. 1998).",
        ),
        PerLayer::Zeros => (
            "Fraction of exact zeros in each layer's activations at initialisation",
            "activation-zeros.svg",
            Axis::new("exact zeros", "fraction of activations"),
            "ReLU outputs true zeros (a sparse representation, Glorot, Bordes & Bengio 2011); smooth activations almost never do.",
        ),
    };
    let blank = |title| {
        LineChart::new(
            title,
            Axis::new("layer l", "1 = next to the input"),
            y.clone(),
        )
    };
    let panels = chart_per_group(results, Panels::new(title), blank, |act, colour, runs| {
        let per_seed: Vec<Vec<f64>> = runs
            .iter()
            .filter_map(|r| r.snapshots.first())
            .map(|s| match what {
                PerLayer::Mean => s.activation_mean.clone(),
                PerLayer::Zeros => s.zero_fraction.clone(),
            })
            .collect();
        let mean = arithmetic(&per_seed);
        let points = mean
            .into_iter()
            .enumerate()
            .map(|(i, v)| ((i + 1) as f64, v));
        vec![Series::new(act.to_string(), points).colour(colour)]
    });
    Ok(chart(file, panels.to_svg()?, caption))
}

/// Which per-layer quantity [`per_layer_at_init`] draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PerLayer {
    /// The mean activation.
    Mean,
    /// The fraction of exact zeros.
    Zeros,
}
