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
//! shows a gradient of 1e-60 as 1e-60. They are computed on a worker thread, from
//! clones of the tensors that the training thread captures (see [`Probe`], "Threads"):
//! a recorded step costs the training thread little more than an unrecorded one.
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
mod worker;

use std::sync::atomic::AtomicBool;
use std::sync::mpsc::sync_channel;
use std::sync::{Arc, Mutex, Weak};

use gradflow_autograd::{Tensor, Var};
use serde::{Deserialize, Serialize};

pub use record::{LayerRecord, ProbeReport, RecordKind, TimeRecord, write_atomic};
pub use stats::{Histogram, Summary, unit_fractions};
use worker::{BATCH, Derivative, Head, Msg, Records, Sink, lock};

use crate::{Module, Observer, ParamGrads, ParamId, Result, Role};

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
        step == 0 || (self.every > 0 && step.is_multiple_of(self.every))
    }
}

/// A pre-activation record of the current step, waiting for its layer's parameter
/// gradients and update.
struct Pending {
    record: u64,
    weight: Option<ParamId>,
    bias: Option<ParamId>,
}

/// The training thread's side of a probe: what it has captured but not yet handed to
/// the worker, and the bookkeeping of the current step.
struct Front {
    step: usize,
    /// Ids of the next layer and time records, and of the first ones kept since the
    /// last clear.
    next_layer: u64,
    next_time: u64,
    first_layer: u64,
    first_time: u64,
    pending: Vec<Pending>,
    /// Messages not sent yet (fewer than [`BATCH`] between calls).
    buffer: Vec<Msg>,
    sink: Sink,
}

/// What a probe and its clones share.
struct Shared {
    /// A copy of the settings, read on the training thread without locking.
    config: ProbeConfig,
    front: Mutex<Front>,
    /// Written by the worker (or by the training thread when there is none).
    records: Arc<Mutex<Records>>,
    /// Set when the probe is dropped: the worker then skips what is still queued.
    stop: Arc<AtomicBool>,
}

impl Shared {
    /// Queues a message, and sends the batch once it is full.
    fn push(&self, msg: Msg) {
        let mut front = lock(&self.front);
        front.buffer.push(msg);
        if front.buffer.len() >= BATCH {
            self.send(&mut front);
        }
    }

    /// Sends what is queued (to the worker, or processes it here if there is none).
    fn send(&self, front: &mut Front) {
        let batch = std::mem::replace(&mut front.buffer, Vec::with_capacity(BATCH));
        front.sink.send(batch, &self.records, &self.stop);
    }

    /// Returns once every message captured so far has been processed.
    fn flush(&self) {
        let (tx, rx) = sync_channel(1);
        {
            let mut front = lock(&self.front);
            if matches!(front.sink, Sink::Unstarted) {
                // Nothing was ever sent, so everything is in the buffer: processing it
                // here is quicker than starting a thread to do it.
                let mut records = lock(&self.records);
                for msg in front.buffer.drain(..) {
                    records.apply(msg);
                }
                return;
            }
            front.buffer.push(Msg::Flush(tx));
            self.send(&mut front);
        }
        // An error means the worker is gone, and with it anything to wait for.
        let _ = rx.recv();
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        let mut front = lock(&self.front);
        front.buffer.clear();
        front.sink.stop_worker(&self.stop);
    }
}

/// A gradient-flow probe. Cheap to clone (clones share the records); `Send` and
/// `Sync`.
///
/// # Threads
///
/// On the training thread the probe only captures clones of the tensors a record
/// needs (a layer's output and input, the gradient a hook sees, the weight before
/// and after the optimiser step: each a reference count, since tensors are
/// immutable) and queues them. One worker thread per probe, started at its first
/// recorded step, computes the statistics and fills the records in the order the
/// tensors were captured, so the records are those the training thread would have
/// computed itself; [`Probe::report`] first waits until the worker has processed
/// everything captured before it. The queue is bounded (about 300 tensors, two
/// recorded steps of a 20-layer network): when the worker falls that far behind,
/// the training thread waits for it. Dropping the last clone stops the worker and
/// waits for its thread to end. If no thread can be started, the statistics are
/// computed on the training thread.
#[derive(Clone)]
pub struct Probe {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let front = lock(&self.shared.front);
        write!(
            f,
            "Probe({} layer records, {} time records)",
            front.next_layer - front.first_layer,
            front.next_time - front.first_time
        )
    }
}

impl Probe {
    /// A probe with the given settings and no records.
    pub fn new(config: ProbeConfig) -> Probe {
        Probe::with_sink(config, Sink::Unstarted)
    }

    /// A probe that computes its statistics on the calling thread.
    #[cfg(test)]
    pub(crate) fn inline(config: ProbeConfig) -> Probe {
        Probe::with_sink(config, Sink::Inline)
    }

    /// Whether a worker thread is computing the statistics.
    #[cfg(test)]
    pub(crate) fn has_worker(&self) -> bool {
        matches!(lock(&self.shared.front).sink, Sink::Worker { .. })
    }

    fn with_sink(config: ProbeConfig, sink: Sink) -> Probe {
        Probe {
            shared: Arc::new(Shared {
                records: Arc::new(Mutex::new(Records::new(config.clone()))),
                config,
                front: Mutex::new(Front {
                    step: 0,
                    next_layer: 0,
                    next_time: 0,
                    first_layer: 0,
                    first_time: 0,
                    pending: Vec::new(),
                    buffer: Vec::with_capacity(BATCH),
                    sink,
                }),
                stop: Arc::new(AtomicBool::new(false)),
            }),
        }
    }

    /// Attaches to a forward pass for training step `step`, if the configuration
    /// records that step; returns whether it attached. Call before the forward.
    pub fn begin(&self, ctx: &mut crate::ForwardCtx<'_>, step: usize) -> bool {
        if !self.shared.config.records(step) {
            return false;
        }
        self.shared.push(Msg::Begin);
        {
            let mut front = lock(&self.shared.front);
            front.step = step;
            front.pending.clear();
        }
        ctx.observe(ProbeObserver {
            shared: Arc::downgrade(&self.shared),
            layer: 0,
        });
        true
    }

    /// After `backward`: the gradients w.r.t. each layer's weight and bias.
    pub fn after_backward(&self, grads: &ParamGrads) {
        let shared = &*self.shared;
        let mut front = lock(&shared.front);
        let Front {
            pending, buffer, ..
        } = &mut *front;
        for p in pending.iter() {
            buffer.push(Msg::ParamGrads {
                id: p.record,
                weight: p.weight.and_then(|id| grads.get_id(id)).cloned(),
                bias: p.bias.and_then(|id| grads.get_id(id)).cloned(),
            });
        }
        // The worker can start on them while the optimiser runs.
        shared.send(&mut front);
    }

    /// After the optimiser step: `||W_new - W_old|| / ||W_old||` for each layer.
    pub fn after_update(&self, model: &dyn Module) {
        let shared = &*self.shared;
        let mut front = lock(&shared.front);
        let Front {
            pending, buffer, ..
        } = &mut *front;
        if pending.iter().all(|p| p.weight.is_none()) {
            return;
        }
        // The new values of the pending weights, found without building parameter
        // names (as `named_parameters` would, one string per parameter).
        let mut now: Vec<(ParamId, Tensor)> = Vec::with_capacity(pending.len());
        collect_weights(model, pending, &mut now);
        for p in pending.iter() {
            let Some(id) = p.weight else {
                continue;
            };
            if let Some((_, w)) = now.iter().find(|(q, _)| *q == id) {
                buffer.push(Msg::Update {
                    id: p.record,
                    now: w.clone(),
                });
            }
        }
        drop(now);
        shared.send(&mut front);
    }

    /// Everything recorded so far (once the worker has processed everything captured
    /// before the call).
    pub fn report(&self) -> ProbeReport {
        self.shared.flush();
        let records = lock(&self.shared.records);
        ProbeReport {
            config: records.config().clone(),
            layers: records.layers.clone(),
            time: records.time.clone(),
        }
    }

    /// Drops the records (keeps the settings).
    pub fn clear(&self) {
        let (layer, time) = {
            let mut front = lock(&self.shared.front);
            front.pending.clear();
            front.first_layer = front.next_layer;
            front.first_time = front.next_time;
            (front.next_layer, front.next_time)
        };
        self.shared.push(Msg::Clear { layer, time });
    }
}

/// Appends the current value of every parameter of `m`'s tree that is the weight of
/// a pending record, once each.
fn collect_weights(m: &dyn Module, pending: &[Pending], out: &mut Vec<(ParamId, Tensor)>) {
    for (_, p) in m.params() {
        let id = p.id();
        if pending.iter().any(|q| q.weight == Some(id)) && !out.iter().any(|(q, _)| *q == id) {
            out.push((id, p.value().clone()));
        }
    }
    for (_, c) in m.children() {
        collect_weights(c, pending, out);
    }
}

/// The probe's observer of one forward pass. It holds the probe weakly, as do the
/// gradient hooks it registers (which live as long as the tape): once the probe is
/// dropped they do nothing, and the worker's thread has ended.
struct ProbeObserver {
    shared: Weak<Shared>,
    layer: usize,
}

impl ProbeObserver {
    /// What every layer record starts with, under a new record id.
    fn head(&self, front: &mut Front, path: &str, module: &dyn Module) -> Head {
        let id = front.next_layer;
        front.next_layer += 1;
        Head {
            id,
            step: front.step,
            path: path.to_string(),
            layer: self.layer,
            module: module.describe(),
        }
    }

    /// Registers a hook that sends the gradient w.r.t. `output` for record `id`.
    fn hook(&self, id: u64, output: &Var) -> Result<()> {
        if output.requires_grad() {
            let shared = self.shared.clone();
            output.register_hook(move |g| {
                if let Some(s) = shared.upgrade() {
                    s.push(Msg::Grad {
                        id,
                        grad: g.clone(),
                    });
                }
                None
            })?;
        }
        Ok(())
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
        let Some(shared) = self.shared.upgrade() else {
            return Ok(());
        };
        match module.role() {
            Role::Linear { .. } | Role::Conv2d { .. } => {
                self.layer += 1;
                let params = module.params();
                let find = |name: &str| params.iter().find(|(n, _)| *n == name).map(|(_, p)| *p);
                let (weight, bias) = (find("weight"), find("bias"));
                let head = {
                    let mut front = lock(&shared.front);
                    let head = self.head(&mut front, path, module);
                    front.pending.push(Pending {
                        record: head.id,
                        weight: weight.map(|w| w.id()),
                        bias: bias.map(|b| b.id()),
                    });
                    head
                };
                let id = head.id;
                shared.push(Msg::PreActivation {
                    head,
                    output: output.value().clone(),
                    weight: weight.map(|w| w.value().clone()),
                });
                self.hook(id, output)?;
            }
            Role::Activation(act) => {
                let derivative = if !act.is_pointwise() {
                    Derivative::None
                } else if act.validate().is_ok()
                    && input.shape() == output.shape()
                    && input.dtype() == output.dtype()
                {
                    // The module's output is act(input): the worker takes the
                    // derivative from the two without evaluating the activation again.
                    Derivative::Compute {
                        act,
                        input: input.value().clone(),
                    }
                } else {
                    // Not a plain act(input): computed here, so that an error fails
                    // the forward pass as it did before there was a worker.
                    Derivative::Ready {
                        act,
                        derivative: act.derivative_given_output(input.value(), output.value())?,
                    }
                };
                let head = self.head(&mut lock(&shared.front), path, module);
                let id = head.id;
                shared.push(Msg::Activation {
                    head,
                    output: output.value().clone(),
                    derivative,
                });
                self.hook(id, output)?;
            }
            _ => {}
        }
        Ok(())
    }

    fn on_states(&mut self, path: &str, _module: &dyn Module, states: &[Var]) -> Result<()> {
        let Some(shared) = self.shared.upgrade() else {
            return Ok(());
        };
        for (t, h) in states.iter().enumerate() {
            if !h.requires_grad() {
                continue;
            }
            let (id, step) = {
                let mut front = lock(&shared.front);
                let id = front.next_time;
                front.next_time += 1;
                (id, front.step)
            };
            shared.push(Msg::Time {
                step,
                path: path.to_string(),
                t: t + 1,
            });
            let weak = self.shared.clone();
            h.register_hook(move |g| {
                if let Some(s) = weak.upgrade() {
                    s.push(Msg::TimeGrad {
                        id,
                        grad: g.clone(),
                    });
                }
                None
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
