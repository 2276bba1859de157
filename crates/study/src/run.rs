//! One run: load the data, build the network, train it with a probe attached, and
//! collect what the report needs.

use std::time::Instant;

use gradflow_autograd::{Activation, DType, Tape, Tensor, Var};
use gradflow_nn::data::{self, Dataset, Targets, synthetic};
use gradflow_nn::loss::{self, Reduction};
use gradflow_nn::metrics::accuracy;
use gradflow_nn::optim::{Adam, Optimizer, Sgd};
use gradflow_nn::probe::{LayerRecord, Probe, ProbeConfig, ProbeReport, RecordKind};
use gradflow_nn::theory::MeanField;
use gradflow_nn::{ForwardCtx, Mlp, Module};

use crate::config::{DatasetSpec, OptimSpec, RunSpec, Training};
use crate::results::{
    CurvePoint, LayerHistograms, RunResult, RunStatus, Snapshot, TheoryPrediction,
};
use crate::{Error, Result};

/// The seed of every synthetic data set and of the train/test split: fixed, so every
/// run of a study sees the same data whatever its own seed.
pub const DATA_SEED: u64 = 2010;

/// What the output layer and loss are.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Task {
    /// Softmax cross-entropy on `classes` logits.
    Classification {
        /// Number of classes.
        classes: usize,
    },
    /// Mean squared error on `outputs` linear outputs.
    Regression {
        /// Number of outputs.
        outputs: usize,
    },
    /// Sigmoid cross-entropy (from logits), one unit per label.
    MultiLabel {
        /// Number of labels.
        labels: usize,
    },
}

impl Task {
    /// Number of output units.
    pub fn outputs(&self) -> usize {
        match *self {
            Task::Classification { classes } => classes,
            Task::Regression { outputs } => outputs,
            Task::MultiLabel { labels } => labels,
        }
    }
}

/// A data set split and standardised, ready for every run that uses it.
#[derive(Clone, Debug)]
pub struct PreparedData {
    /// Training rows (standardised).
    pub train: Dataset,
    /// Held-out rows (standardised with the training statistics).
    pub test: Dataset,
    /// The task the targets define.
    pub task: Task,
    /// `E[x^2]` of the standardised training features (`q_0` of the theory).
    pub q0: f64,
}

/// Loads, splits and standardises a data set.
///
/// # Errors
/// The loaders' errors (naming the file and line or offset), and configuration errors.
pub fn prepare(spec: &DatasetSpec, training: &Training) -> Result<PreparedData> {
    let n = training.samples;
    let raw = match spec {
        DatasetSpec::Spirals => synthetic::two_spirals(n, 0.02, DATA_SEED)?,
        DatasetSpec::Digits => data::digits()?,
        DatasetSpec::Xor => synthetic::xor(n, 0.1, DATA_SEED)?,
        DatasetSpec::Moons => synthetic::moons(n, 0.1, DATA_SEED)?,
        DatasetSpec::Circles => synthetic::circles(n, 0.5, 0.05, DATA_SEED)?,
        DatasetSpec::Blobs => synthetic::blobs(n, 4, 2, 1.0, DATA_SEED)?,
        DatasetSpec::Teacher => synthetic::teacher(n, 4, &[16], 1, 0.05, DATA_SEED)?,
        DatasetSpec::Csv(path) => data::load_csv(path, &data::CsvOptions::default())?,
        DatasetSpec::Idx(images, labels) => data::load_idx(images, labels)?,
    };
    let raw = raw.to_dtype(training.dtype);
    let (train, test) = raw.split(training.test_fraction, DATA_SEED)?;
    let (train, test, _) = data::standardize(&train, &test)?;
    let task = match train.targets() {
        Targets::Classes { num_classes, .. } => Task::Classification {
            classes: *num_classes,
        },
        Targets::Regression(t) => Task::Regression {
            outputs: t.dims().get(1).copied().unwrap_or(1),
        },
        Targets::MultiLabel(t) => Task::MultiLabel {
            labels: t.dims().get(1).copied().unwrap_or(1),
        },
        _ => {
            return Err(Error::config(
                "--dataset",
                format!("{spec}: targets of a kind the study does not train on"),
            ));
        }
    };
    let q0 = {
        let x = train.features().to_f64_vec();
        x.iter().map(|v| v * v).sum::<f64>() / x.len().max(1) as f64
    };
    Ok(PreparedData {
        train,
        test,
        task,
        q0,
    })
}

/// The network a run trains.
///
/// # Errors
/// Configuration errors of the builder.
pub fn build_model(spec: &RunSpec, data: &PreparedData, dtype: DType) -> Result<Mlp> {
    Ok(Mlp::builder(
        data.train.num_features(),
        &vec![spec.width; spec.depth],
        data.task.outputs(),
    )
    .activation(spec.activation)
    .init(spec.init)
    .dtype(dtype)
    .seed(spec.seed)
    .build()?)
}

fn optimiser(spec: &OptimSpec) -> Result<Box<dyn Optimizer>> {
    Ok(match *spec {
        OptimSpec::Sgd { lr, momentum } => Box::new(Sgd::builder(lr).momentum(momentum).build()?),
        OptimSpec::Adam { lr } => Box::new(Adam::new(lr)?),
    })
}

/// The loss (and accuracy, for classification) of a batch.
fn loss_of(task: Task, output: &Var, batch: &Dataset, tape: &Tape) -> Result<(Var, Option<f64>)> {
    Ok(match (task, batch.targets()) {
        (Task::Classification { .. }, Targets::Classes { labels, .. }) => (
            loss::cross_entropy(output, labels, Reduction::Mean)?,
            Some(accuracy(output.value(), labels)?),
        ),
        (Task::Regression { .. }, Targets::Regression(t)) => (
            loss::mse(output, &tape.constant(t.clone()), Reduction::Mean)?,
            None,
        ),
        (Task::MultiLabel { .. }, Targets::MultiLabel(t)) => (
            loss::bce_with_logits(output, &tape.constant(t.clone()), Reduction::Mean)?,
            None,
        ),
        _ => {
            return Err(Error::config(
                "--dataset",
                "the targets do not match the task",
            ));
        }
    })
}

/// Loss and accuracy of the model on a whole data set, without recording gradients.
fn evaluate(model: &Mlp, task: Task, set: &Dataset) -> Result<(f64, Option<f64>)> {
    let tape = Tape::new();
    tape.no_grad(|| {
        let mut ctx = ForwardCtx::new(&tape);
        let out = model.forward(&mut ctx, &tape.constant(set.features().clone()))?;
        let (l, acc) = loss_of(task, &out, set, &tape)?;
        Ok((l.value().to_scalar::<f64>()?, acc))
    })
}

/// Progress of a run, reported every few steps.
pub type OnStep<'a> = &'a (dyn Fn(usize, f64) + Sync);

/// Options of one training run.
#[derive(Clone, Copy, Debug, Default)]
pub struct RunOptions {
    /// Record with anomaly detection on (the replay of a diverged run).
    pub anomaly: bool,
    /// Stop after this many steps (the replay stops where the original diverged).
    pub stop_after: Option<usize>,
}

/// Trains one run.
///
/// # Errors
/// Errors of the model, data or optimiser (a non-finite loss is not an error: the run
/// is reported as diverged and replayed in anomaly mode to find the culprit).
pub fn run(
    spec: &RunSpec,
    index: usize,
    training: &Training,
    data: &PreparedData,
    on_step: OnStep<'_>,
) -> Result<RunResult> {
    let started = Instant::now();
    let mut result = train(spec, index, training, data, on_step, RunOptions::default())?;
    if let RunStatus::Diverged { step, .. } = result.status {
        let culprit = match train(
            spec,
            index,
            training,
            data,
            &|_, _| {},
            RunOptions {
                anomaly: true,
                stop_after: Some(step + 1),
            },
        ) {
            Err(e) => Some(e.to_string()),
            Ok(_) => None,
        };
        result.status = RunStatus::Diverged { step, culprit };
    }
    result.wall_time_s = started.elapsed().as_secs_f64();
    Ok(result)
}

fn train(
    spec: &RunSpec,
    index: usize,
    training: &Training,
    data: &PreparedData,
    on_step: OnStep<'_>,
    options: RunOptions,
) -> Result<RunResult> {
    let mut model = build_model(spec, data, training.dtype)?;
    let mut opt = optimiser(&spec.optimiser)?;
    // The probe decides nothing about which steps: the run attaches it on the steps
    // it records (every `probe_every`, and the last).
    let probe = Probe::new(ProbeConfig {
        every: 1,
        ..ProbeConfig::default()
    });
    let batches = data.train.batches(training.batch_size, spec.seed)?;
    let steps = options
        .stop_after
        .unwrap_or(training.steps)
        .min(training.steps);
    let mut curve = Vec::with_capacity(steps);
    let mut status = RunStatus::Completed;
    let mut epoch = 0u64;
    let mut iter = batches.epoch(epoch);
    let mut recorded_steps = Vec::new();
    for step in 0..steps {
        let batch = match iter.next() {
            Some(b) => b?,
            None => {
                epoch += 1;
                iter = batches.epoch(epoch);
                match iter.next() {
                    Some(b) => b?,
                    None => return Err(Error::config("--batch", "the training set is empty")),
                }
            }
        };
        let batch = batch.into_data();
        let tape = Tape::new();
        tape.set_anomaly_detection(options.anomaly);
        let mut ctx = ForwardCtx::with_seed(
            &tape,
            spec.seed ^ (step as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
        );
        let record = step % training.probe_every == 0 || step + 1 == training.steps;
        if record {
            probe.begin(&mut ctx, step);
            recorded_steps.push(step);
        }
        let out = model.forward(&mut ctx, &tape.constant(batch.features().clone()))?;
        let (loss, acc) = loss_of(data.task, &out, &batch, &tape)?;
        let value = loss.value().to_scalar::<f64>()?;
        curve.push(CurvePoint {
            step,
            loss: value,
            accuracy: acc,
        });
        if !value.is_finite() {
            status = RunStatus::Diverged {
                step,
                culprit: None,
            };
            break;
        }
        let grads = ctx.param_grads(&loss.backward()?);
        if record {
            probe.after_backward(&grads);
        }
        opt.step(&mut model, &grads)?;
        if record {
            probe.after_update(&model);
        }
        if step % 10 == 0 {
            on_step(step, value);
        }
    }
    let steps_done = curve.len();
    let (train_loss, train_accuracy, test_loss, test_accuracy) =
        if matches!(status, RunStatus::Completed) {
            let (tl, ta) = evaluate(&model, data.task, &data.train)?;
            let (vl, va) = evaluate(&model, data.task, &data.test)?;
            (Some(tl), ta, Some(vl), va)
        } else {
            (None, None, None, None)
        };
    let report = probe.report();
    let snapshots: Vec<Snapshot> = recorded_steps
        .iter()
        .filter_map(|&s| snapshot(&report, s, spec.depth))
        .collect();
    let first = snapshots.first();
    let first_last_ratio = first
        .map(|s| match (s.delta_norm.first(), s.delta_norm.last()) {
            (Some(a), Some(b)) if *b > 0.0 => a / b,
            _ => f64::NAN,
        })
        .unwrap_or(f64::NAN);
    let last = snapshots.last();
    let mean = |v: &[f64]| {
        if v.is_empty() {
            0.0
        } else {
            v.iter().sum::<f64>() / v.len() as f64
        }
    };
    Ok(RunResult {
        id: spec.id(),
        index,
        spec: spec.clone(),
        training: training.clone(),
        status,
        steps_done,
        wall_time_s: 0.0,
        curve,
        train_loss,
        train_accuracy,
        test_loss,
        test_accuracy,
        first_last_ratio,
        dead_final: last.map(|s| mean(&s.dead)).unwrap_or(0.0),
        saturated_final: last.map(|s| mean(&s.saturated)).unwrap_or(0.0),
        histograms_init: recorded_steps
            .first()
            .and_then(|&s| histograms(&report, s, spec.depth)),
        histograms_final: recorded_steps
            .last()
            .and_then(|&s| histograms(&report, s, spec.depth)),
        snapshots,
        theory: theory(spec, data).ok(),
    })
}

/// The hidden-layer records of one step, by kind, in layer order.
fn records(report: &ProbeReport, step: usize, depth: usize, kind: RecordKind) -> Vec<&LayerRecord> {
    let mut v: Vec<&LayerRecord> = report
        .layers
        .iter()
        .filter(|r| r.step == step && r.kind == kind && r.layer >= 1 && r.layer <= depth)
        .collect();
    v.sort_by_key(|r| r.layer);
    v
}

fn snapshot(report: &ProbeReport, step: usize, depth: usize) -> Option<Snapshot> {
    let pre = records(report, step, depth, RecordKind::PreActivation);
    let act = records(report, step, depth, RecordKind::Activation);
    if pre.len() != depth || act.len() != depth {
        return None;
    }
    let f = |v: &[&LayerRecord], g: &dyn Fn(&LayerRecord) -> f64| {
        v.iter().map(|r| g(r)).collect::<Vec<f64>>()
    };
    Some(Snapshot {
        step,
        delta_norm: f(&pre, &|r| r.grad.map_or(f64::NAN, |g| g.norm)),
        weight_grad_norm: f(&pre, &|r| r.weight_grad.map_or(f64::NAN, |g| g.norm)),
        weight_norm: f(&pre, &|r| r.weight_norm.unwrap_or(f64::NAN)),
        dead: f(&act, &|r| r.dead_fraction.unwrap_or(0.0)),
        saturated: f(&act, &|r| r.saturated_fraction.unwrap_or(0.0)),
        zero_fraction: f(&act, &|r| r.zero_fraction),
        activation_mean: f(&act, &|r| r.mean),
        activation_std: f(&act, &|r| r.std),
        pre_activation_std: f(&pre, &|r| r.std),
        update_ratio: f(&pre, &|r| r.update_ratio.unwrap_or(f64::NAN)),
    })
}

fn histograms(report: &ProbeReport, step: usize, depth: usize) -> Option<LayerHistograms> {
    let pre = records(report, step, depth, RecordKind::PreActivation);
    let act = records(report, step, depth, RecordKind::Activation);
    if pre.len() != depth || act.len() != depth {
        return None;
    }
    Some(LayerHistograms {
        step,
        value_edges: report.config.value_edges.clone(),
        grad_edges: report.config.grad_log10_edges.clone(),
        activations: act.iter().map(|r| r.histogram.clone()).collect(),
        gradients: pre
            .iter()
            .filter_map(|r| r.grad_histogram.clone())
            .collect(),
    })
}

/// Mean-field predictions for the run's network: the first layer's `sigma_w^2` uses
/// its own fan-in (the number of features), the hidden ones the width.
///
/// # Errors
/// Theory errors (none for valid activations).
pub fn theory(spec: &RunSpec, data: &PreparedData) -> Result<TheoryPrediction> {
    let act: Activation = spec.activation;
    let d_in = data.train.num_features();
    let sigma_w2 = spec.init.sigma_w2(spec.width, spec.width, Some(act));
    let sigma_w2_first = spec.init.sigma_w2(d_in, spec.width, Some(act));
    let mf = MeanField::new(act, sigma_w2, 0.0)?;
    let mut q = Vec::with_capacity(spec.depth);
    let mut ql = sigma_w2_first * data.q0;
    for _ in 0..spec.depth {
        q.push(ql);
        ql = mf.length_map(ql)?;
    }
    // delta_l / delta_{l+1} = sqrt(chi(q_l)) for l < depth; relative to the last layer.
    let mut delta_relative = vec![1.0; spec.depth];
    for l in (0..spec.depth.saturating_sub(1)).rev() {
        delta_relative[l] = delta_relative[l + 1] * mf.chi(q[l])?.sqrt();
    }
    Ok(TheoryPrediction {
        sigma_w2,
        sigma_w2_first,
        chi1: mf.chi1()?,
        depth_scale: mf.depth_scale()?,
        q,
        delta_relative,
    })
}

/// The first `n` rows of a data set (the probe command's batch).
///
/// # Errors
/// Data errors.
pub fn head(set: &Dataset, n: usize) -> Result<Dataset> {
    let idx: Vec<usize> = (0..n.min(set.len())).collect();
    Ok(set.subset(&idx)?)
}

/// Runs one forward and backward pass of `model` on `batch` with a probe attached:
/// the per-layer measurements at initialisation (the `probe` command).
///
/// # Errors
/// Model and data errors.
pub fn probe_at_init(model: &Mlp, task: Task, batch: &Dataset) -> Result<ProbeReport> {
    let probe = Probe::new(ProbeConfig::default());
    let tape = Tape::new();
    let mut ctx = ForwardCtx::new(&tape);
    probe.begin(&mut ctx, 0);
    let out = model.forward(&mut ctx, &tape.constant(batch.features().clone()))?;
    let (loss, _) = loss_of(task, &out, batch, &tape)?;
    probe.after_backward(&ctx.param_grads(&loss.backward()?));
    Ok(probe.report())
}

/// A tensor's second moment, for callers that build their own inputs.
pub fn second_moment(t: &Tensor) -> f64 {
    let v = t.to_f64_vec();
    v.iter().map(|x| x * x).sum::<f64>() / v.len().max(1) as f64
}
