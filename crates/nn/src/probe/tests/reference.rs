//! The probe as it was before the worker thread (commit 3b9ef35): every statistic
//! computed on the training thread, in the observer, the hooks and the two `after_*`
//! calls. Kept as the reference the worker's records must match exactly.

use std::cell::RefCell;
use std::rc::Rc;

use gradflow_autograd::{Activation, Tensor, Var};

use crate::module::{Module, named_parameters};
use crate::probe::stats::{Bins, LogBins, Summary, unit_fractions2};
use crate::probe::{LayerRecord, ProbeConfig, ProbeReport, RecordKind, TimeRecord};
use crate::{Observer, ParamGrads, ParamId, Result, Role};

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
pub(crate) struct SyncProbe {
    state: Rc<RefCell<State>>,
}

impl std::fmt::Debug for SyncProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.state.borrow();
        write!(
            f,
            "SyncProbe({} layer records, {} time records)",
            s.layers.len(),
            s.time.len()
        )
    }
}

impl SyncProbe {
    /// A probe with the given settings and no records.
    pub(crate) fn new(config: ProbeConfig) -> SyncProbe {
        SyncProbe {
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
    pub(crate) fn begin(&self, ctx: &mut crate::ForwardCtx<'_>, step: usize) -> bool {
        {
            let mut s = self.state.borrow_mut();
            if !s.config.records(step) {
                return false;
            }
            s.step = step;
            s.pending.clear();
        }
        ctx.observe(SyncObserver {
            state: self.state.clone(),
            layer: 0,
        });
        true
    }

    /// After `backward`: the gradients w.r.t. each layer's weight and bias.
    pub(crate) fn after_backward(&self, grads: &ParamGrads) {
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
    pub(crate) fn after_update(&self, model: &dyn Module) {
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
    pub(crate) fn report(&self) -> ProbeReport {
        let s = self.state.borrow();
        ProbeReport {
            config: s.config.clone(),
            layers: s.layers.clone(),
            time: s.time.clone(),
        }
    }

    /// Drops the records (keeps the settings).
    pub(crate) fn clear(&self) {
        let mut s = self.state.borrow_mut();
        s.layers.clear();
        s.time.clear();
        s.pending.clear();
    }
}

struct SyncObserver {
    state: Rc<RefCell<State>>,
    layer: usize,
}

impl SyncObserver {
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

impl Observer for SyncObserver {
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
