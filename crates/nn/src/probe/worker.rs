//! Where a probe's statistics are computed: the training thread only captures clones of
//! the tensors a record needs (tensors are immutable and share their storage, so a
//! clone is a reference count) and sends them, in the order it captured them, to one
//! worker thread per probe, which computes every statistic and keeps the records.
//!
//! Messages travel in batches of [`BATCH`] through a bounded channel of [`CAPACITY`]
//! batches: when the worker falls that far behind, the training thread waits in
//! `send` until it catches up, so the captured tensors held in flight stay bounded.
//! Reading the records first waits until the worker has processed everything sent
//! ([`Msg::Flush`]). If no thread can be started, or the worker is gone, the same
//! processing runs on the calling thread ([`Sink::Inline`]); the records are the same
//! either way, since each record's statistics depend only on the tensors captured
//! for it and messages are processed in the order they were captured.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use gradflow_autograd::{Activation, DERIVATIVE_ESTIMATE_ABS, DERIVATIVE_ESTIMATE_REL, Tensor};

use super::ProbeConfig;
use super::record::{LayerRecord, RecordKind, TimeRecord};
use super::stats::{Bins, LogBins, Summary, unit_fractions2};

/// Messages per batch sent to the worker: a send can wake the worker (a system call),
/// so the training thread sends a few times per step, not once per tensor.
pub(super) const BATCH: usize = 32;

/// Batches the channel holds before the training thread waits: with [`BATCH`], at
/// most 256 messages (about two recorded steps of the study's default network) are
/// queued, plus the batch being filled and the one being processed.
pub(super) const CAPACITY: usize = 8;

/// The name of the worker thread (visible to `top -H`, `perf` and debuggers).
pub(super) const THREAD_NAME: &str = "gradflow-probe";

/// What the training thread captured. Record ids count up from 0 over the probe's
/// life (one sequence for layer records, one for time records); a record's index in
/// the report is its id minus the id of the first record kept since the last clear.
pub(super) enum Msg {
    /// A recorded step begins: the weights kept from the previous step are dropped.
    Begin,
    /// The output `h_l` of a linear or convolutional layer, and its weight as the
    /// forward pass used it.
    PreActivation {
        head: Head,
        output: Tensor,
        weight: Option<Tensor>,
    },
    /// The output `x_l` of an activation layer, and what its derivative needs.
    Activation {
        head: Head,
        output: Tensor,
        derivative: Derivative,
    },
    /// The gradient w.r.t. a record's tensor (from a hook during backward).
    Grad { id: u64, grad: Tensor },
    /// The gradients w.r.t. a pre-activation record's weight and bias.
    ParamGrads {
        id: u64,
        weight: Option<Tensor>,
        bias: Option<Tensor>,
    },
    /// A pre-activation record's weight after the optimiser step.
    Update { id: u64, now: Tensor },
    /// A recurrent module's hidden state at time step `t` was seen.
    Time { step: usize, path: String, t: usize },
    /// The gradient w.r.t. that hidden state.
    TimeGrad { id: u64, grad: Tensor },
    /// Drop every record; the next ones have these ids.
    Clear { layer: u64, time: u64 },
    /// Answer once everything before has been processed.
    Flush(SyncSender<()>),
}

/// What every layer record starts with.
pub(super) struct Head {
    pub(super) id: u64,
    pub(super) step: usize,
    pub(super) path: String,
    pub(super) layer: usize,
    pub(super) module: String,
}

/// How an activation record's dead and saturated fractions are found.
pub(super) enum Derivative {
    /// Not at all (softmax and log-softmax: the derivative is a Jacobian).
    None,
    /// From the layer's input and output, on the worker.
    Compute { act: Activation, input: Tensor },
    /// Already computed (by the training thread, which had to check that it can be).
    Ready { act: Activation, derivative: Tensor },
}

/// Every record, and what is needed to finish them.
pub(super) struct Records {
    config: ProbeConfig,
    /// The binning of `config.value_edges` and `config.grad_log10_edges`, set up once.
    value_bins: Bins,
    log_bins: LogBins,
    pub(super) layers: Vec<LayerRecord>,
    pub(super) time: Vec<TimeRecord>,
    /// Ids of `layers[0]` and `time[0]`.
    layer_base: u64,
    time_base: u64,
    /// The weights of the current step's pre-activation records, as the forward pass
    /// used them, by record id: the update ratio's `W_before`.
    before: Vec<(u64, Tensor)>,
}

impl Records {
    pub(super) fn new(config: ProbeConfig) -> Records {
        Records {
            value_bins: Bins::new(&config.value_edges),
            log_bins: LogBins::new(&config.grad_log10_edges),
            config,
            layers: Vec::new(),
            time: Vec::new(),
            layer_base: 0,
            time_base: 0,
            before: Vec::new(),
        }
    }

    pub(super) fn config(&self) -> &ProbeConfig {
        &self.config
    }

    fn layer(&mut self, id: u64) -> Option<&mut LayerRecord> {
        let index = usize::try_from(id.checked_sub(self.layer_base)?).ok()?;
        self.layers.get_mut(index)
    }

    /// Computes what `msg` asks for and files it.
    pub(super) fn apply(&mut self, msg: Msg) {
        match msg {
            Msg::Begin => self.before.clear(),
            Msg::PreActivation {
                head,
                output,
                weight,
            } => {
                let id = head.id;
                let mut record = self.base_record(head, RecordKind::PreActivation, &output);
                record.weight_norm = weight.as_ref().map(|w| Summary::of(w).norm);
                self.layers.push(record);
                if let Some(w) = weight {
                    self.before.push((id, w));
                }
            }
            Msg::Activation {
                head,
                output,
                derivative,
            } => {
                let mut record = self.base_record(head, RecordKind::Activation, &output);
                let saturation_limit =
                    |act: Activation| self.config.saturation_threshold * act_max_slope(act);
                let derivative = match derivative {
                    Derivative::None => None,
                    // Checked by the training thread: this succeeds.
                    Derivative::Compute { act, input } => {
                        derivative_for_counts(act, &input, &output, saturation_limit(act))
                            .map(|d| (act, d))
                    }
                    Derivative::Ready { act, derivative } => Some((act, derivative)),
                };
                if let Some((act, d)) = derivative {
                    let limit = saturation_limit(act);
                    let majority = self.config.saturation_majority;
                    let (dead, sat) = unit_fractions2(&d, |v| v == 0.0, |v| v.abs() < limit);
                    let units = dead.len().max(1) as f64;
                    record.dead_fraction =
                        Some(dead.iter().filter(|&&f| f == 1.0).count() as f64 / units);
                    record.saturated_fraction =
                        Some(sat.iter().filter(|&&f| f > majority).count() as f64 / units);
                }
                self.layers.push(record);
            }
            Msg::Grad { id, grad } => {
                let summary = Summary::of(&grad);
                let histogram = self.log_bins.of_tensor(&grad);
                if let Some(r) = self.layer(id) {
                    r.grad = Some(summary);
                    r.grad_histogram = Some(histogram);
                }
            }
            Msg::ParamGrads { id, weight, bias } => {
                if let Some(r) = self.layer(id) {
                    r.weight_grad = weight.as_ref().map(Summary::of);
                    r.bias_grad = bias.as_ref().map(Summary::of);
                }
            }
            Msg::Update { id, now } => {
                let Some(before) = self.before.iter().find(|(b, _)| *b == id) else {
                    return;
                };
                let before = before.1.clone();
                let Ok(diff) = now.sub(&before) else {
                    return;
                };
                let Some(r) = self.layer(id) else {
                    return;
                };
                // ||W_old|| is the weight norm recorded at the forward pass (same tensor).
                let old = r.weight_norm.unwrap_or_else(|| Summary::of(&before).norm);
                r.update_ratio = Some(if old > 0.0 {
                    Summary::of(&diff).norm / old
                } else {
                    f64::INFINITY
                });
            }
            Msg::Time { step, path, t } => self.time.push(TimeRecord {
                step,
                path,
                t,
                hidden_grad_norm: 0.0,
            }),
            Msg::TimeGrad { id, grad } => {
                let index = id
                    .checked_sub(self.time_base)
                    .and_then(|i| usize::try_from(i).ok());
                if let Some(r) = index.and_then(|i| self.time.get_mut(i)) {
                    r.hidden_grad_norm = Summary::of(&grad).norm;
                }
            }
            Msg::Clear { layer, time } => {
                self.layers.clear();
                self.time.clear();
                self.before.clear();
                self.layer_base = layer;
                self.time_base = time;
            }
            Msg::Flush(reply) => {
                // The caller may have stopped waiting; nothing to do then.
                let _ = reply.send(());
            }
        }
    }

    fn base_record(&self, head: Head, kind: RecordKind, t: &Tensor) -> LayerRecord {
        let summary = Summary::of(t);
        LayerRecord {
            step: head.step,
            path: head.path,
            layer: head.layer,
            kind,
            module: head.module,
            mean: summary.mean,
            std: summary.std,
            zero_fraction: summary.zero_fraction,
            histogram: self.value_bins.of_tensor(t),
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

/// `f'(x)` as the dead and saturated counts read it: every element is on the same side
/// of 0 and of `limit` (in magnitude) as the exact derivative's. From the activation's
/// vectorised estimate where it has one ([`Activation::derivative_estimate`], a few
/// times cheaper: for tanh it was half the worker's time), with the elements whose
/// estimate is too close to 0 or to `limit` to decide replaced by the exact derivative;
/// otherwise the exact derivative throughout. `None` if the exact derivative fails
/// (the training thread has checked that it cannot).
pub(super) fn derivative_for_counts(
    act: Activation,
    input: &Tensor,
    output: &Tensor,
    limit: f64,
) -> Option<Tensor> {
    let exact = |x: &Tensor, y: &Tensor| act.derivative_given_output(x, y).ok();
    let Some(mut estimate) = act.derivative_estimate(input) else {
        return exact(input, output);
    };
    let (Ok(e), Ok(x), Ok(y)) = (
        estimate.as_mut_slice::<f64>(),
        input.as_slice::<f64>(),
        output.as_slice::<f64>(),
    ) else {
        return exact(input, output);
    };
    // From |e - d| <= REL |d| + ABS: |e - d| <= margin(e), with room for rounding.
    let undecided = |v: f64| {
        let a = v.abs();
        let m = 2.0 * (DERIVATIVE_ESTIMATE_REL * a + DERIVATIVE_ESTIMATE_ABS);
        // Provably nonzero and provably on one side of the limit (false for NaN);
        // `&` and `|`, not `&&` and `||`, so that the scan below has no branch.
        let decided = (a > m) & ((a + m < limit) | (a - m >= limit));
        !decided
    };
    // A scan that vectorises first: almost always nothing is undecided.
    if !e.iter().fold(false, |any, &v| any | undecided(v)) {
        return Some(estimate);
    }
    let undecided: Vec<usize> = e
        .iter()
        .enumerate()
        .filter(|&(_, &v)| undecided(v))
        .map(|(i, _)| i)
        .collect();
    let pick = |v: &[f64]| {
        let picked: Vec<f64> = undecided
            .iter()
            .filter_map(|&i| v.get(i).copied())
            .collect();
        Tensor::from_vec(picked, [undecided.len()]).ok()
    };
    let d = exact(&pick(x)?, &pick(y)?)?;
    for (&i, &v) in undecided.iter().zip(d.as_slice::<f64>().ok()?) {
        if let Some(slot) = e.get_mut(i) {
            *slot = v;
        }
    }
    Some(estimate)
}

/// The activation's maximum slope, the scale of the saturation threshold.
pub(super) fn act_max_slope(act: Activation) -> f64 {
    let m = act.info().max_derivative;
    if m.is_finite() && m > 0.0 { m } else { 1.0 }
}

/// Locks a mutex; a thread that panicked while holding it left data that is still
/// usable here (records, a queue), so poisoning is ignored.
pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Where captured messages go.
pub(super) enum Sink {
    /// No worker yet: one is started by the first batch.
    Unstarted,
    /// To the worker thread.
    Worker {
        tx: SyncSender<Vec<Msg>>,
        handle: JoinHandle<()>,
    },
    /// Processed at once on the calling thread (no thread could be started, the
    /// worker is gone, or the probe was made to work this way).
    Inline,
}

impl Sink {
    /// Hands a batch over: to the worker (started on first use), or, if there is none,
    /// processed on this thread. Waits while the channel is full.
    pub(super) fn send(
        &mut self,
        batch: Vec<Msg>,
        records: &Arc<Mutex<Records>>,
        stop: &Arc<AtomicBool>,
    ) {
        if batch.is_empty() {
            return;
        }
        if matches!(self, Sink::Unstarted) {
            *self = start(records, stop);
        }
        let batch = match self {
            Sink::Worker { tx, .. } => match tx.try_send(batch) {
                Ok(()) => return,
                // Full: wait for the worker to take a batch.
                Err(TrySendError::Full(batch)) => match tx.send(batch) {
                    Ok(()) => return,
                    Err(e) => e.0,
                },
                Err(TrySendError::Disconnected(batch)) => batch,
            },
            Sink::Unstarted | Sink::Inline => batch,
        };
        // The worker is gone (it can only stop by panicking): carry on without it.
        if matches!(self, Sink::Worker { .. }) {
            self.stop_worker(stop);
        }
        *self = Sink::Inline;
        let mut r = lock(records);
        for msg in batch {
            r.apply(msg);
        }
    }

    /// Ends the worker, if there is one, after the batches already sent; returns
    /// once its thread has finished. With `stop` set the worker skips their
    /// statistics (their records are not wanted).
    pub(super) fn stop_worker(&mut self, stop: &AtomicBool) {
        if let Sink::Worker { tx, handle } = std::mem::replace(self, Sink::Inline) {
            stop.store(true, Ordering::Relaxed);
            drop(tx);
            // The worker's own statistics cannot panic; if it did, there is nothing
            // more to do about it here.
            let _ = handle.join();
        }
    }
}

/// Starts a worker thread, or falls back to processing on the calling thread if the
/// system cannot start one.
fn start(records: &Arc<Mutex<Records>>, stop: &Arc<AtomicBool>) -> Sink {
    let (tx, rx) = sync_channel(CAPACITY);
    let (records, stop) = (records.clone(), stop.clone());
    match std::thread::Builder::new()
        .name(THREAD_NAME.into())
        .spawn(move || work(rx, &records, &stop))
    {
        Ok(handle) => Sink::Worker { tx, handle },
        Err(_) => Sink::Inline,
    }
}

/// The worker: processes batches in order until every sender is gone.
fn work(rx: Receiver<Vec<Msg>>, records: &Mutex<Records>, stop: &AtomicBool) {
    while let Ok(batch) = rx.recv() {
        if stop.load(Ordering::Relaxed) {
            continue;
        }
        let mut r = lock(records);
        for msg in batch {
            r.apply(msg);
        }
    }
}
