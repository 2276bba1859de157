//! The classic argument about activation functions, claim by claim, beside what this
//! study measured.

use std::time::Instant;

use gradflow_autograd::{Activation, DType, Tape, Tensor, Var};
use gradflow_nn::init::Init;
use gradflow_nn::loss::{self, Reduction};
use gradflow_nn::optim::{Optimizer, Sgd};
use gradflow_nn::probe::{Probe, ProbeConfig, RecordKind};
use gradflow_nn::{ForwardCtx, Mlp, Module};
use gradflow_plot::{Axis, Bar, BarChart, LineChart, Series};
use serde::{Deserialize, Serialize};

use super::charts::Chart;
use crate::Result;
use crate::results::{RunResult, StudyResults};

/// Whether the measurement agrees with the claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    /// The numbers support the claim.
    Agrees,
    /// The numbers contradict it.
    Disagrees,
    /// The study did not include what the claim needs.
    NotMeasured,
}

/// One claim and its measurement.
#[derive(Clone, Debug)]
pub struct Claim {
    /// Short title.
    pub title: String,
    /// The claim as the classic argument states it.
    pub claim: String,
    /// What was measured, with the numbers.
    pub measurement: String,
    /// The verdict.
    pub verdict: Verdict,
    /// A chart that shows it, if any.
    pub chart: Option<Chart>,
}

fn find<'a>(results: &'a StudyResults, act: Activation, init: &Init) -> Vec<&'a RunResult> {
    results
        .runs
        .iter()
        .filter(|r| r.spec.activation == act && r.spec.init == *init)
        .collect()
}

fn geo_mean(v: &[f64]) -> f64 {
    let pos: Vec<f64> = v
        .iter()
        .copied()
        .filter(|x| *x > 0.0 && x.is_finite())
        .collect();
    if pos.is_empty() {
        return f64::NAN;
    }
    (pos.iter().map(|x| x.ln()).sum::<f64>() / pos.len() as f64).exp()
}

/// Claim 1: sigmoid and tanh gradients vanish with depth, ReLU's do not (at the
/// matching initialisations: the standard init for the saturating functions, He for
/// ReLU).
pub fn vanishing(results: &StudyResults) -> Claim {
    let ratio = |act, init: Init| {
        let runs = find(results, act, &init);
        (!runs.is_empty())
            .then(|| geo_mean(&runs.iter().map(|r| r.first_last_ratio).collect::<Vec<_>>()))
    };
    let sig = ratio(Activation::Sigmoid, Init::Standard);
    let tanh = ratio(Activation::Tanh, Init::Standard);
    let relu = ratio(Activation::Relu, Init::he());
    let depth = results.runs.first().map(|r| r.spec.depth).unwrap_or(0);
    let claim = "Sigmoid and tanh networks stop learning as they get deeper because their gradient shrinks by a factor at every layer (sigmoid's slope is at most 1/4); ReLU, with slope 1 where active and He's initialisation, keeps it.".to_string();
    let (Some(s), Some(r)) = (sig, relu) else {
        return Claim {
            title: "Vanishing gradients".into(),
            claim,
            measurement: "Not measured: the study needs sigmoid with the standard init and relu with he (add --activation sigmoid,relu --init standard,he).".into(),
            verdict: Verdict::NotMeasured,
            chart: None,
        };
    };
    let fmt = |v: Option<f64>| {
        v.map(|v| format!("{v:.2e}"))
            .unwrap_or_else(|| "not run".into())
    };
    let agrees = s < 1e-2 && tanh.is_none_or(|t| t < 1e-1) && (0.1..=10.0).contains(&r);
    Claim {
        title: "Vanishing gradients".into(),
        claim,
        measurement: format!(
            "At initialisation, ||delta_1|| / ||delta_{depth}|| (first hidden layer over last): sigmoid with the standard init {}, tanh with the standard init {}, relu with He {}. Sigmoid's gradient is {} orders of magnitude smaller at the first layer than at the last; ReLU's stays within a factor of {:.1}.",
            fmt(sig),
            fmt(tanh),
            fmt(relu),
            (-s.log10()).round(),
            if r >= 1.0 { r } else { 1.0 / r }
        ),
        verdict: if agrees {
            Verdict::Agrees
        } else {
            Verdict::Disagrees
        },
        chart: None,
    }
}

/// Claim 2: deep sigmoid networks train worse than deep ReLU networks.
pub fn training(results: &StudyResults) -> Claim {
    let acc = |act, init: Init| {
        let runs = find(results, act, &init);
        let v: Vec<f64> = runs.iter().filter_map(|r| r.test_accuracy).collect();
        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
    };
    let claim =
        "Because of it, a deep sigmoid network trains far worse than the same network with ReLU."
            .to_string();
    match (acc(Activation::Sigmoid, Init::Standard), acc(Activation::Relu, Init::he())) {
        (Some(s), Some(r)) => Claim {
            title: "Training deep networks".into(),
            claim,
            measurement: format!(
                "Held-out accuracy after training: sigmoid (standard init) {:.1}%, relu (He) {:.1}%.",
                100.0 * s,
                100.0 * r
            ),
            verdict: if r > s + 0.1 && r > 0.8 { Verdict::Agrees } else { Verdict::Disagrees },
            chart: None,
        },
        _ => Claim {
            title: "Training deep networks".into(),
            claim,
            measurement: "Not measured: needs sigmoid with the standard init and relu with he on a classification data set.".into(),
            verdict: Verdict::NotMeasured,
            chart: None,
        },
    }
}

/// Claim 3: ReLU outputs true zeros (a sparse representation).
pub fn sparsity(results: &StudyResults) -> Claim {
    let zeros = |act: Activation| -> Option<f64> {
        let v: Vec<f64> = results
            .runs
            .iter()
            .filter(|r| r.spec.activation == act)
            .filter_map(|r| r.snapshots.first())
            .map(|s| s.zero_fraction.iter().sum::<f64>() / s.zero_fraction.len().max(1) as f64)
            .collect();
        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
    };
    let claim = "ReLU outputs true zeros: about half the units are exactly 0 for a given input, a sparse representation; sigmoid, tanh and the smooth variants never output exactly 0.".to_string();
    match zeros(Activation::Relu) {
        Some(z) => {
            let others: Vec<String> = results
                .config
                .grid
                .activations
                .iter()
                .filter(|a| **a != Activation::Relu)
                .filter_map(|a| zeros(*a).map(|v| format!("{a} {:.1}%", 100.0 * v)))
                .collect();
            Claim {
                title: "Sparsity".into(),
                claim,
                measurement: format!(
                    "Fraction of exact zeros in the hidden activations at initialisation, averaged over layers: relu {:.1}%; {}.",
                    100.0 * z,
                    others.join(", ")
                ),
                verdict: if z > 0.25 {
                    Verdict::Agrees
                } else {
                    Verdict::Disagrees
                },
                chart: None,
            }
        }
        None => Claim {
            title: "Sparsity".into(),
            claim,
            measurement: "Not measured: the study has no relu run.".into(),
            verdict: Verdict::NotMeasured,
            chart: None,
        },
    }
}

/// Claim 5: sigmoid outputs are not zero-centred, tanh's are.
pub fn centring(results: &StudyResults) -> Claim {
    let mean = |act: Activation| -> Option<f64> {
        let v: Vec<f64> = results
            .runs
            .iter()
            .filter(|r| r.spec.activation == act)
            .filter_map(|r| r.snapshots.first())
            .flat_map(|s| s.activation_mean.clone())
            .collect();
        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
    };
    let claim = "Sigmoid's outputs are not zero-centred (they are all positive, around 1/2), which biases the next layer and makes its weight updates zig-zag; tanh's are.".to_string();
    match (mean(Activation::Sigmoid), mean(Activation::Tanh)) {
        (Some(s), t) => Claim {
            title: "Zero-centred outputs".into(),
            claim,
            measurement: format!(
                "Mean hidden activation at initialisation, over all layers and runs: sigmoid {s:.3}{}.",
                t.map(|t| format!(", tanh {t:.3}")).unwrap_or_default()
            ),
            verdict: if s > 0.25 && t.is_none_or(|t| t.abs() < 0.1) {
                Verdict::Agrees
            } else {
                Verdict::Disagrees
            },
            chart: None,
        },
        _ => Claim {
            title: "Zero-centred outputs".into(),
            claim,
            measurement: "Not measured: the study has no sigmoid run.".into(),
            verdict: Verdict::NotMeasured,
            chart: None,
        },
    }
}

/// Forward and backward time per element of each activation on this machine.
///
/// # Errors
/// Engine and chart errors.
pub fn cost(activations: &[Activation]) -> Result<Claim> {
    const N: usize = 1 << 20;
    const REPEATS: usize = 7;
    let x = Tensor::randn([N], DType::F32, 1).mul_scalar(3.0);
    let dy = Var::untracked(Tensor::ones([N], DType::F32));
    let mut list: Vec<Activation> = vec![Activation::Sigmoid, Activation::Tanh, Activation::Relu];
    for a in activations {
        if !list.contains(a) && a.is_pointwise() {
            list.push(*a);
        }
    }
    let mut timings = Vec::new();
    for act in &list {
        let once = || -> Result<f64> {
            let tape = Tape::new();
            let xv = tape.var(x.clone());
            let start = Instant::now();
            let y = act.apply(&xv)?;
            let g = tape.vjp(&y, &dy, &[&xv], false)?;
            std::hint::black_box(&g);
            Ok(start.elapsed().as_secs_f64() * 1e9 / N as f64)
        };
        // One untimed call first: the first of all pays for fresh pages and for
        // waking the threads (sigmoid's first call took ten times its median).
        once()?;
        let samples: Result<Vec<f64>> = (0..REPEATS).map(|_| once()).collect();
        let mut samples = samples?;
        samples.sort_by(f64::total_cmp);
        timings.push((*act, samples[REPEATS / 2], samples[0], samples[REPEATS - 1]));
    }
    let get = |a: Activation| {
        timings
            .iter()
            .find(|t| t.0 == a)
            .map(|t| t.1)
            .unwrap_or(f64::NAN)
    };
    let (s, t, r) = (
        get(Activation::Sigmoid),
        get(Activation::Tanh),
        get(Activation::Relu),
    );
    let mut bars = BarChart::new(
        "Forward + backward time per element on this machine (f32, 2^20 elements)",
        Axis::new("activation", ""),
        Axis::new("time", "ns per element, median of 7"),
    )
    .note("Measured when the report was written, through the engine's public API (one node forward, one fused backward), after one untimed call; bars: min to max.");
    for (a, med, lo, hi) in &timings {
        bars.push(Bar::new(a.to_string(), *med).interval(*lo, *hi));
    }
    Ok(Claim {
        title: "The cost of the exponential".into(),
        claim: "Sigmoid and tanh need an exponential per element, forward and backward; ReLU is a comparison, so it is cheaper.".into(),
        measurement: format!("Median forward + backward time per element: sigmoid {s:.2} ns, tanh {t:.2} ns, relu {r:.2} ns."),
        verdict: if s > r && t > r { Verdict::Agrees } else { Verdict::Disagrees },
        chart: Some(Chart {
            file: "activation-cost.svg".into(),
            svg: bars.to_svg()?,
            caption: "What one forward and backward pass costs per element for each activation, timed on the machine that wrote this report.".into(),
            wide: false,
        }),
    })
}

/// The dying-ReLU experiment: full-batch SGD at a learning rate that is too large for
/// ReLU (the same setting as `crates/nn/tests/dying_relu.rs`, where it was chosen: at
/// lr 2 the dead fraction rises on every seed tried, at 0.1 it does not).
const DYING_LR: f64 = 2.0;
const DYING_STEPS: usize = 200;
const DYING_SEED: u64 = 4;
const DYING_WIDTH: usize = 48;
const DYING_DEPTH: usize = 4;

/// Claim 4: ReLU units die at a large learning rate; leaky ReLU's cannot.
///
/// # Errors
/// Engine, data and chart errors.
pub fn dying(dtype: DType) -> Result<Claim> {
    let data = gradflow_nn::data::synthetic::two_spirals(256, 0.05, DYING_SEED)?.to_dtype(dtype);
    let labels = data.labels().unwrap_or(&[]).to_vec();
    let mut series = Vec::new();
    let mut finals = Vec::new();
    for (k, act) in [Activation::Relu, Activation::LeakyRelu { slope: 0.01 }]
        .into_iter()
        .enumerate()
    {
        let mut model = Mlp::builder(2, &[DYING_WIDTH; DYING_DEPTH], 2)
            .activation(act)
            .init(Init::he())
            .dtype(dtype)
            .seed(DYING_SEED)
            .build()?;
        let mut opt = Sgd::new(DYING_LR)?;
        let probe = Probe::new(ProbeConfig {
            every: 10,
            ..ProbeConfig::default()
        });
        let mut diverged = None;
        for step in 0..=DYING_STEPS {
            let tape = Tape::new();
            let mut ctx = ForwardCtx::new(&tape);
            probe.begin(&mut ctx, step);
            let out = model.forward(&mut ctx, &tape.constant(data.features().clone()))?;
            let l = loss::cross_entropy(&out, &labels, Reduction::Mean)?;
            if !l.value().to_scalar::<f64>()?.is_finite() {
                diverged = Some(step);
                break;
            }
            let grads = ctx.param_grads(&l.backward()?);
            opt.step(&mut model, &grads)?;
        }
        let report = probe.report();
        let points: Vec<(f64, f64)> = (0..=DYING_STEPS)
            .step_by(10)
            .filter_map(|step| {
                let dead: Vec<f64> = report
                    .layers
                    .iter()
                    .filter(|r| {
                        r.step == step && r.kind == RecordKind::Activation && r.layer <= DYING_DEPTH
                    })
                    .filter_map(|r| r.dead_fraction)
                    .collect();
                (!dead.is_empty())
                    .then(|| (step as f64, dead.iter().sum::<f64>() / dead.len() as f64))
            })
            .collect();
        finals.push((
            act,
            points.first().map(|p| p.1).unwrap_or(0.0),
            points.last().map(|p| p.1).unwrap_or(0.0),
            diverged,
        ));
        series.push(Series::new(act.to_string(), points).colour(k));
    }
    let mut chart = LineChart::new(
        format!("Dead units at a learning rate that is too large (full-batch SGD, lr {DYING_LR})"),
        Axis::new("step", "optimiser steps"),
        Axis::new("dead units", "fraction of hidden units"),
    )
    .note(format!("{DYING_DEPTH} hidden layers of {DYING_WIDTH} units, He init, 256 two-spiral points; a unit is dead when its derivative is 0 for the whole batch."));
    for s in series {
        chart.push(s);
    }
    let (relu_start, relu_end) = (finals[0].1, finals[0].2);
    let (leaky_end, leaky_diverged) = finals
        .get(1)
        .map(|f| (f.2, f.3))
        .unwrap_or((f64::NAN, None));
    let note = |d: Option<usize>| {
        d.map(|s| format!(" (the loss became non-finite at step {s})"))
            .unwrap_or_default()
    };
    Ok(Claim {
        title: "Dying ReLU".into(),
        claim: "With too large a learning rate, ReLU units can be pushed to where they are never active; then they get no gradient and never recover. Leaky ReLU keeps a small slope, so its units cannot die.".into(),
        measurement: format!(
            "Dead fraction of hidden units: relu {:.1}% at the start, {:.1}% after {DYING_STEPS} steps{}; leaky_relu:0.01 {:.1}% at the end{}.",
            100.0 * relu_start,
            100.0 * relu_end,
            note(finals[0].3),
            100.0 * leaky_end,
            note(leaky_diverged)
        ),
        verdict: if relu_end > relu_start + 0.05 && leaky_end == 0.0 { Verdict::Agrees } else { Verdict::Disagrees },
        chart: Some(Chart {
            file: "dying-relu.svg".into(),
            svg: chart.to_svg()?,
            caption: "The fraction of dead units while training with a learning rate that is too large: ReLU's rises, leaky ReLU's stays at 0.".into(),
            wide: false,
        }),
    })
}
