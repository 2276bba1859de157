//! Gradient-flow probes: attach one to any model's forward pass and get, per layer and
//! per step, what is needed to see gradients vanish, explode, die or saturate.
//!
//! A [`Probe`] is an [`Observer`] of the forward pass (it sees every
//! sub-module's input and output through [`ForwardCtx::call`](crate::ForwardCtx::call))
//! plus gradient hooks on the tape: the model is not changed, and a step without a
//! probe attached runs no probe code at all.
//!
//! Per linear or convolutional layer (`h_l = W x + b`, a *pre-activation* record):
//! mean, std and histogram of `h_l`; norm, mean `|.|` and max `|.|` of
//! `delta_l = dL/dh_l` and a histogram of `log10 |delta_l|`; the same statistics of
//! `dL/dW` and `dL/db`; `||W||`, and `||W_new - W||/||W||` after the optimiser step.
//! Per activation layer (`x_l = phi(h_l)`, an *activation* record): mean, std,
//! histogram and exact-zero fraction of `x_l`, the gradient statistics of `dL/dx_l`,
//! the fraction of **dead** units (`phi'(h) = 0` for every sample of the batch) and of
//! **saturated** units (`|phi'(h)| < 5%` of the activation's maximum derivative for
//! more than half the samples; both thresholds are in [`ProbeConfig`]). A unit is a
//! feature of a `[N, F]` batch or a channel of `[N, C, H, W]`. Recurrent modules report
//! `||dL/dh_t||` for every time step.
//!
//! Statistics are accumulated in f64 (and norms with scaling), so a network run in f64
//! shows a gradient of 1e-60 as 1e-60.
//!
//! ```
//! use gradflow_autograd::{Activation, DType, Tape, Tensor};
//! use gradflow_nn::{probe::{Probe, ProbeConfig}, ForwardCtx, Mlp, Module};
//! let model = Mlp::builder(8, &[16, 16], 1).activation(Activation::Sigmoid).dtype(DType::F64).build()?;
//! let probe = Probe::new(ProbeConfig::default());
//! let tape = Tape::new();
//! let mut ctx = ForwardCtx::new(&tape);
//! probe.begin(&mut ctx, 0);
//! let x = tape.constant(Tensor::randn([32, 8], DType::F64, 1));
//! let loss = model.forward(&mut ctx, &x)?.powf(2.0)?.mean_all()?;
//! probe.after_backward(&ctx.param_grads(&loss.backward()?));
//! let report = probe.report();
//! let deltas: Vec<f64> = report.layers.iter()
//!     .filter(|r| r.kind == gradflow_nn::probe::RecordKind::PreActivation)
//!     .map(|r| r.grad.expect("reached").norm)
//!     .collect();
//! assert_eq!(deltas.len(), 3);
//! assert!(deltas[0] < deltas[1]); // sigmoid: the gradient shrinks towards the input
//! # Ok::<(), gradflow_nn::Error>(())
//! ```

mod record;
mod stats;

use std::cell::RefCell;
use std::rc::Rc;

use gradflow_autograd::{Activation, Tensor, Var};
use serde::{Deserialize, Serialize};

pub use record::{LayerRecord, ProbeReport, RecordKind, TimeRecord, write_atomic};
use stats::{Bins, LogBins, unit_fractions2};
pub use stats::{Histogram, Summary, unit_fractions};

use crate::module::{Module, named_parameters};
use crate::{Observer, ParamGrads, ParamId, Result, Role};

/// What a probe records and with which bins and thresholds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProbeConfig {
    /// Histogram edges for pre-activations and activations (the same for every layer,
    /// so histograms compare).
    pub value_edges: Vec<f64>,
    /// Histogram edges on `log10 |gradient|` (zeros fall below the first edge).
    pub grad_log10_edges: Vec<f64>,
    /// A unit is saturated where `|phi'(h)|` is below this fraction of the
    /// activation's maximum derivative...
    pub saturation_threshold: f64,
    /// ...for more than this fraction of the samples.
    pub saturation_majority: f64,
    /// Record every this many steps (step 0 always).
    pub every: usize,
}

impl Default for ProbeConfig {
    /// Values: 40 bins on [-4, 4]; gradients: one bin per decade from 1e-60 to 1e2;
    /// saturation below 5% of the maximum slope for a majority of samples; every step.
    fn default() -> Self {
        ProbeConfig {
            value_edges: (0..=40).map(|i| -4.0 + 0.2 * i as f64).collect(),
            grad_log10_edges: (-60..=2).map(f64::from).collect(),
            saturation_threshold: 0.05,
            saturation_majority: 0.5,
            every: 1,
        }
    }
}

impl ProbeConfig {
    /// Value histograms with `bins` equal bins on `[low, high]`.
    pub fn with_value_bins(mut self, bins: usize, low: f64, high: f64) -> Self {
        let bins = bins.max(1);
        self.value_edges = (0..=bins)
            .map(|i| low + (high - low) * i as f64 / bins as f64)
            .collect();
        self
    }

    /// Whether `step` is one to record.
    pub fn records(&self, step: usize) -> bool {
        step == 0 || (self.every > 0 && step % self.every == 0)
    }
}

/// Where a layer's gradient and update statistics go once they are known.
struct Pending {
    record: usize,
    weight: Option<(ParamId, Tensor)>,
    bias: Option<ParamId>,
}

struct State {
    config: ProbeConfig,
    /// The binning of `config.value_edges` and `config.grad_log10_edges`, set up once.
    value_bins: Bins,
    log_bins: LogBins,
    layers: Vec<LayerRecord>,
    time: Vec<TimeRecord>,
    step: usize,
    pending: Vec<Pending>,
}

/// A gradient-flow probe. Cheap to clone (clones share the records).
#[derive(Clone)]
pub struct Probe {
    state: Rc<RefCell<State>>,
}

impl std::fmt::Debug for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.state.borrow();
        write!(
            f,
            "Probe({} layer records, {} time records)",
            s.layers.len(),
            s.time.len()
        )
    }
}

impl Probe {
    /// A probe with the given settings and no records.
    pub fn new(config: ProbeConfig) -> Probe {
        Probe {
            state: Rc::new(RefCell::new(State {
                value_bins: Bins::new(&config.value_edges),
                log_bins: LogBins::new(&config.grad_log10_edges),
                config,
                layers: Vec::new(),
                time: Vec::new(),
                step: 0,
                pending: Vec::new(),
            })),
        }
    }

    /// Attaches to a forward pass for training step `step`, if the configuration
    /// records that step; returns whether it attached. Call before the forward.
    pub fn begin(&self, ctx: &mut crate::ForwardCtx<'_>, step: usize) -> bool {
        {
            let mut s = self.state.borrow_mut();
            if !s.config.records(step) {
                return false;
            }
            s.step = step;
            s.pending.clear();
        }
        ctx.observe(ProbeObserver {
            state: self.state.clone(),
            layer: 0,
        });
        true
    }

    /// After `backward`: the gradients w.r.t. each layer's weight and bias.
    pub fn after_backward(&self, grads: &ParamGrads) {
        let mut s = self.state.borrow_mut();
        let State {
            layers, pending, ..
        } = &mut *s;
        for p in pending.iter() {
            if let Some(r) = layers.get_mut(p.record) {
                r.weight_grad = p
                    .weight
                    .as_ref()
                    .and_then(|(id, _)| grads.get_id(*id))
                    .map(Summary::of);
                r.bias_grad = p.bias.and_then(|id| grads.get_id(id)).map(Summary::of);
            }
        }
    }

    /// After the optimiser step: `||W_new - W_old|| / ||W_old||` for each layer.
    pub fn after_update(&self, model: &dyn Module) {
        let params = named_parameters(model);
        let mut s = self.state.borrow_mut();
        let State {
            layers, pending, ..
        } = &mut *s;
        for p in pending.iter() {
            let Some((id, before)) = &p.weight else {
                continue;
            };
            let Some((_, now)) = params.iter().find(|(_, q)| q.id() == *id) else {
                continue;
            };
            let (Ok(diff), Some(r)) = (now.value().sub(before), layers.get_mut(p.record)) else {
                continue;
            };
            // ||W_old|| is the weight norm recorded at the forward pass (same tensor).
            let old = r.weight_norm.unwrap_or_else(|| Summary::of(before).norm);
            r.update_ratio = Some(if old > 0.0 {
                Summary::of(&diff).norm / old
            } else {
                f64::INFINITY
            });
        }
    }

    /// Everything recorded so far.
    pub fn report(&self) -> ProbeReport {
        let s = self.state.borrow();
        ProbeReport {
            config: s.config.clone(),
            layers: s.layers.clone(),
            time: s.time.clone(),
        }
    }

    /// Drops the records (keeps the settings).
    pub fn clear(&self) {
        let mut s = self.state.borrow_mut();
        s.layers.clear();
        s.time.clear();
        s.pending.clear();
    }
}

struct ProbeObserver {
    state: Rc<RefCell<State>>,
    layer: usize,
}

impl ProbeObserver {
    /// Adds a record and a hook that fills its gradient statistics; returns its index.
    fn push(&mut self, record: LayerRecord, output: &Var) -> Result<usize> {
        let index = {
            let mut s = self.state.borrow_mut();
            s.layers.push(record);
            s.layers.len() - 1
        };
        if output.requires_grad() {
            let state = self.state.clone();
            output.register_hook(move |g| {
                let mut s = state.borrow_mut();
                let State {
                    layers, log_bins, ..
                } = &mut *s;
                if let Some(r) = layers.get_mut(index) {
                    r.grad = Some(Summary::of(g));
                    r.grad_histogram = Some(log_bins.of_tensor(g));
                }
                None
            })?;
        }
        Ok(index)
    }

    fn base_record(
        &self,
        path: &str,
        module: &dyn Module,
        kind: RecordKind,
        t: &Tensor,
    ) -> LayerRecord {
        let s = self.state.borrow();
        let summary = Summary::of(t);
        LayerRecord {
            step: s.step,
            path: path.to_string(),
            layer: self.layer,
            kind,
            module: module.describe(),
            mean: summary.mean,
            std: summary.std,
            zero_fraction: summary.zero_fraction,
            histogram: s.value_bins.of_tensor(t),
            grad: None,
            grad_histogram: None,
            dead_fraction: None,
            saturated_fraction: None,
            weight_norm: None,
            weight_grad: None,
            bias_grad: None,
            update_ratio: None,
        }
    }
}

impl Observer for ProbeObserver {
    fn after_forward(
        &mut self,
        path: &str,
        module: &dyn Module,
        input: &Var,
        output: &Var,
    ) -> Result<()> {
        match module.role() {
            Role::Linear { .. } | Role::Conv2d { .. } => {
                self.layer += 1;
                let mut record =
                    self.base_record(path, module, RecordKind::PreActivation, output.value());
                let params = module.params();
                let find = |name: &str| params.iter().find(|(n, _)| *n == name).map(|(_, p)| *p);
                let weight = find("weight");
                record.weight_norm = weight.map(|w| Summary::of(w.value()).norm);
                let index = self.push(record, output)?;
                self.state.borrow_mut().pending.push(Pending {
                    record: index,
                    weight: weight.map(|w| (w.id(), w.value().clone())),
                    bias: find("bias").map(|b| b.id()),
                });
            }
            Role::Activation(act) => {
                let mut record =
                    self.base_record(path, module, RecordKind::Activation, output.value());
                if act.is_pointwise() {
                    let (threshold, majority) = {
                        let s = self.state.borrow();
                        (s.config.saturation_threshold, s.config.saturation_majority)
                    };
                    // The module's output is act(input): the derivative comes from it
                    // without evaluating the activation again.
                    let d = act.derivative_given_output(input.value(), output.value())?;
                    let limit = threshold * act_max_slope(act);
                    let (dead, sat) = unit_fractions2(&d, |v| v == 0.0, |v| v.abs() < limit);
                    let units = dead.len().max(1) as f64;
                    record.dead_fraction =
                        Some(dead.iter().filter(|&&f| f == 1.0).count() as f64 / units);
                    record.saturated_fraction =
                        Some(sat.iter().filter(|&&f| f > majority).count() as f64 / units);
                }
                self.push(record, output)?;
            }
            _ => {}
        }
        Ok(())
    }

    fn on_states(&mut self, path: &str, _module: &dyn Module, states: &[Var]) -> Result<()> {
        for (t, h) in states.iter().enumerate() {
            if !h.requires_grad() {
                continue;
            }
            let index = {
                let mut s = self.state.borrow_mut();
                let step = s.step;
                s.time.push(TimeRecord {
                    step,
                    path: path.to_string(),
                    t: t + 1,
                    hidden_grad_norm: 0.0,
                });
                s.time.len() - 1
            };
            let state = self.state.clone();
            h.register_hook(move |g| {
                if let Some(r) = state.borrow_mut().time.get_mut(index) {
                    r.hidden_grad_norm = Summary::of(g).norm;
                }
                None
            })?;
        }
        Ok(())
    }
}

/// The activation's maximum slope, the scale of the saturation threshold.
fn act_max_slope(act: Activation) -> f64 {
    let m = act.info().max_derivative;
    if m.is_finite() && m > 0.0 { m } else { 1.0 }
}

#[cfg(test)]
mod tests;
