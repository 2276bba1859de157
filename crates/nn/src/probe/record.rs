//! Probe records: plain data, written as JSON and CSV (schema: docs/probe-records.md).

use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::ProbeConfig;
use super::stats::{Histogram, Summary};
use crate::{Error, Result};

/// Which tensor a layer record describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// The output of a linear or convolutional layer, `h_l = W x + b`.
    PreActivation,
    /// The output of an activation layer, `x_l = phi(h_l)`.
    Activation,
}

impl RecordKind {
    fn as_str(self) -> &'static str {
        match self {
            RecordKind::PreActivation => "pre_activation",
            RecordKind::Activation => "activation",
        }
    }
}

/// Everything measured about one layer at one step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerRecord {
    /// The training step (0 is the first forward pass).
    pub step: usize,
    /// The module path (`layers.3`).
    pub path: String,
    /// 1-based index of the linear/conv layer (activations share the index of the
    /// layer that feeds them).
    pub layer: usize,
    /// Which tensor the forward statistics describe.
    pub kind: RecordKind,
    /// The module's description (`Linear(64 -> 64)`, `tanh`).
    pub module: String,
    /// Mean of the tensor over the batch and units.
    pub mean: f64,
    /// Standard deviation over the batch and units.
    pub std: f64,
    /// Fraction of exact zeros (ReLU's sparsity).
    pub zero_fraction: f64,
    /// Histogram on the configured value edges.
    pub histogram: Histogram,
    /// Statistics of the gradient of the loss w.r.t. this tensor (`delta_l` for a
    /// pre-activation); `None` if no backward pass reached it.
    pub grad: Option<Summary>,
    /// Histogram of `log10 |gradient|` on the configured edges (zeros counted as
    /// `below`).
    pub grad_histogram: Option<Histogram>,
    /// Activation records: fraction of units whose derivative is 0 for every sample of
    /// the batch (dead units).
    pub dead_fraction: Option<f64>,
    /// Activation records: fraction of units whose `|f'(h)|` is below
    /// `saturation_threshold` times the activation's maximum derivative for more than
    /// half the samples (saturated units).
    pub saturated_fraction: Option<f64>,
    /// Pre-activation records: L2 norm of the layer's weight.
    pub weight_norm: Option<f64>,
    /// Pre-activation records: statistics of the gradient w.r.t. the weight.
    pub weight_grad: Option<Summary>,
    /// Pre-activation records: statistics of the gradient w.r.t. the bias.
    pub bias_grad: Option<Summary>,
    /// Pre-activation records: `||W_after - W_before|| / ||W_before||` for the
    /// optimiser step that followed.
    pub update_ratio: Option<f64>,
}

/// The gradient w.r.t. the hidden state of a recurrent module at one time step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimeRecord {
    /// The training step.
    pub step: usize,
    /// The recurrent module's path.
    pub path: String,
    /// The time step (1-based; `h_t` after input `t`).
    pub t: usize,
    /// `||dL/dh_t||`, all paths through later time steps included.
    pub hidden_grad_norm: f64,
}

/// A probe's settings and everything it recorded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProbeReport {
    /// The settings (histogram edges, thresholds).
    pub config: ProbeConfig,
    /// One record per layer tensor per recorded step.
    pub layers: Vec<LayerRecord>,
    /// Recurrent modules: one record per time step per recorded step.
    pub time: Vec<TimeRecord>,
}

const SUMMARY_FIELDS: [&str; 6] = [
    "mean",
    "std",
    "norm",
    "mean_abs",
    "max_abs",
    "zero_fraction",
];

fn summary_cells(s: &Option<Summary>) -> Vec<String> {
    match s {
        Some(s) => [
            s.mean,
            s.std,
            s.norm,
            s.mean_abs,
            s.max_abs,
            s.zero_fraction,
        ]
        .iter()
        .map(|v| format!("{v:?}"))
        .collect(),
        None => vec![String::new(); 6],
    }
}

fn hist_cell(h: &Option<Histogram>) -> String {
    match h {
        None => String::new(),
        Some(h) => {
            let counts: Vec<String> = h.counts.iter().map(u64::to_string).collect();
            format!("{}|{}|{}|{}", counts.join(";"), h.below, h.above, h.nan)
        }
    }
}

fn opt(v: Option<f64>) -> String {
    v.map(|v| format!("{v:?}")).unwrap_or_default()
}

impl ProbeReport {
    /// The report as pretty-printed JSON.
    ///
    /// # Errors
    /// [`Error::Config`] if a value cannot be represented (serde_json writes
    /// non-finite floats as `null`, which reads back as `None`; finite values are exact).
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(|e| Error::config("probe report", e.to_string()))
    }

    /// Reads a report written by [`ProbeReport::to_json`].
    ///
    /// # Errors
    /// [`Error::Config`] naming the JSON error.
    pub fn from_json(text: &str) -> Result<ProbeReport> {
        serde_json::from_str(text)
            .map_err(|e| Error::config("probe report", format!("invalid JSON: {e}")))
    }

    /// The layer records as CSV, one row per record (columns in docs/probe-records.md).
    /// Histograms are `count;count;...|below|above|nan`; absent values are empty cells.
    pub fn layers_csv(&self) -> String {
        let mut header = vec![
            "step",
            "path",
            "layer",
            "kind",
            "module",
            "mean",
            "std",
            "zero_fraction",
            "histogram",
        ]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
        for prefix in ["grad", "weight_grad", "bias_grad"] {
            if prefix == "weight_grad" {
                header.push("grad_histogram".into());
                header.push("dead_fraction".into());
                header.push("saturated_fraction".into());
                header.push("weight_norm".into());
            }
            header.extend(SUMMARY_FIELDS.iter().map(|f| format!("{prefix}_{f}")));
        }
        header.push("update_ratio".into());
        let mut out = header.join(",");
        out.push('\n');
        for r in &self.layers {
            let mut cells = vec![
                r.step.to_string(),
                quote(&r.path),
                r.layer.to_string(),
                r.kind.as_str().to_string(),
                quote(&r.module),
                format!("{:?}", r.mean),
                format!("{:?}", r.std),
                format!("{:?}", r.zero_fraction),
                hist_cell(&Some(r.histogram.clone())),
            ];
            cells.extend(summary_cells(&r.grad));
            cells.push(hist_cell(&r.grad_histogram));
            cells.push(opt(r.dead_fraction));
            cells.push(opt(r.saturated_fraction));
            cells.push(opt(r.weight_norm));
            cells.extend(summary_cells(&r.weight_grad));
            cells.extend(summary_cells(&r.bias_grad));
            cells.push(opt(r.update_ratio));
            let _ = writeln!(out, "{}", cells.join(","));
        }
        out
    }

    /// The time records as CSV: `step,path,t,hidden_grad_norm`.
    pub fn time_csv(&self) -> String {
        let mut out = String::from("step,path,t,hidden_grad_norm\n");
        for r in &self.time {
            let _ = writeln!(
                out,
                "{},{},{},{:?}",
                r.step,
                quote(&r.path),
                r.t,
                r.hidden_grad_norm
            );
        }
        out
    }

    /// Reads layer records from [`ProbeReport::layers_csv`] output.
    ///
    /// # Errors
    /// [`Error::Data`] naming the line and column that does not parse.
    pub fn layers_from_csv(text: &str, path: &Path) -> Result<Vec<LayerRecord>> {
        let mut lines = text.lines().enumerate();
        let Some((_, header)) = lines.next() else {
            return Ok(Vec::new());
        };
        let columns = split_csv(header).len();
        let mut out = Vec::new();
        for (i, line) in lines {
            if line.is_empty() {
                continue;
            }
            let bad = |reason: String| Error::Data {
                path: path.to_path_buf(),
                location: format!("line {}", i + 1),
                reason,
            };
            let cells = split_csv(line);
            if cells.len() != columns {
                return Err(bad(format!(
                    "{} cells, the header has {columns}",
                    cells.len()
                )));
            }
            let mut c = cells.into_iter();
            let num = |s: String, what: &str| -> Result<f64> {
                s.parse::<f64>()
                    .map_err(|_| bad(format!("{what}: {s:?} is not a number")))
            };
            let opt_num = |s: String, what: &str| -> Result<Option<f64>> {
                if s.is_empty() {
                    Ok(None)
                } else {
                    num(s, what).map(Some)
                }
            };
            let int = |s: String, what: &str| -> Result<usize> {
                s.parse::<usize>()
                    .map_err(|_| bad(format!("{what}: {s:?} is not a whole number")))
            };
            let hist = |s: String| -> Result<Option<Histogram>> {
                if s.is_empty() {
                    return Ok(None);
                }
                let parts: Vec<&str> = s.split('|').collect();
                let parse = |t: &str| {
                    t.parse::<u64>()
                        .map_err(|_| bad(format!("histogram count {t:?}")))
                };
                let [counts, below, above, nan] = parts.as_slice() else {
                    return Err(bad(format!("histogram {s:?} needs counts|below|above|nan")));
                };
                let counts = if counts.is_empty() {
                    Vec::new()
                } else {
                    counts.split(';').map(parse).collect::<Result<Vec<u64>>>()?
                };
                Ok(Some(Histogram {
                    counts,
                    below: parse(below)?,
                    above: parse(above)?,
                    nan: parse(nan)?,
                }))
            };
            let step = int(c.next().unwrap_or_default(), "step")?;
            let path_cell = c.next().unwrap_or_default();
            let layer = int(c.next().unwrap_or_default(), "layer")?;
            let kind = match c.next().unwrap_or_default().as_str() {
                "pre_activation" => RecordKind::PreActivation,
                "activation" => RecordKind::Activation,
                other => {
                    return Err(bad(format!(
                        "kind {other:?} is not pre_activation or activation"
                    )));
                }
            };
            let module = c.next().unwrap_or_default();
            let mean = num(c.next().unwrap_or_default(), "mean")?;
            let std = num(c.next().unwrap_or_default(), "std")?;
            let zero_fraction = num(c.next().unwrap_or_default(), "zero_fraction")?;
            let histogram = hist(c.next().unwrap_or_default())?
                .ok_or_else(|| bad("the histogram is missing".into()))?;
            let summary =
                |c: &mut std::vec::IntoIter<String>, what: &str| -> Result<Option<Summary>> {
                    let v: Vec<Option<f64>> = (0..6)
                        .map(|_| opt_num(c.next().unwrap_or_default(), what))
                        .collect::<Result<_>>()?;
                    Ok(match v.as_slice() {
                        [
                            Some(mean),
                            Some(std),
                            Some(norm),
                            Some(mean_abs),
                            Some(max_abs),
                            Some(zero_fraction),
                        ] => Some(Summary {
                            mean: *mean,
                            std: *std,
                            norm: *norm,
                            mean_abs: *mean_abs,
                            max_abs: *max_abs,
                            zero_fraction: *zero_fraction,
                        }),
                        _ => None,
                    })
                };
            let grad = summary(&mut c, "grad")?;
            let grad_histogram = hist(c.next().unwrap_or_default())?;
            let dead_fraction = opt_num(c.next().unwrap_or_default(), "dead_fraction")?;
            let saturated_fraction = opt_num(c.next().unwrap_or_default(), "saturated_fraction")?;
            let weight_norm = opt_num(c.next().unwrap_or_default(), "weight_norm")?;
            let weight_grad = summary(&mut c, "weight_grad")?;
            let bias_grad = summary(&mut c, "bias_grad")?;
            let update_ratio = opt_num(c.next().unwrap_or_default(), "update_ratio")?;
            out.push(LayerRecord {
                step,
                path: path_cell,
                layer,
                kind,
                module,
                mean,
                std,
                zero_fraction,
                histogram,
                grad,
                grad_histogram,
                dead_fraction,
                saturated_fraction,
                weight_norm,
                weight_grad,
                bias_grad,
                update_ratio,
            });
        }
        Ok(out)
    }

    /// Writes `probe.json`, `probe_layers.csv` and `probe_time.csv` into `dir`, each
    /// written to a temporary file first and then renamed, so a reader never sees half
    /// a file.
    ///
    /// # Errors
    /// [`Error::Io`] naming the file.
    pub fn write(&self, dir: &Path) -> Result<()> {
        write_atomic(&dir.join("probe.json"), &self.to_json()?)?;
        write_atomic(&dir.join("probe_layers.csv"), &self.layers_csv())?;
        write_atomic(&dir.join("probe_time.csv"), &self.time_csv())
    }
}

/// Writes `text` to `path` through a temporary file in the same directory and a rename.
///
/// # Errors
/// [`Error::Io`] naming the file.
pub fn write_atomic(path: &Path, text: &str) -> Result<()> {
    let tmp = path.with_extension(format!(
        "{}.tmp",
        path.extension().and_then(|e| e.to_str()).unwrap_or("")
    ));
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    std::fs::write(&tmp, text).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(e)
    })
}

fn quote(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn split_csv(line: &str) -> Vec<String> {
    let mut cells = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(ch) = chars.next() {
        match (ch, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => cells.push(std::mem::take(&mut cur)),
            _ => cur.push(ch),
        }
    }
    cells.push(cur);
    cells
}
