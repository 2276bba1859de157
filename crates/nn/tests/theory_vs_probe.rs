//! Mean-field predictions against what the probe measures in real networks at
//! initialisation (issue: gradient-flow probes and mean-field predictions).
#![expect(
    clippy::unwrap_used,
    reason = "in tests a failed unwrap is a failed test"
)]

use gradflow_autograd::{Activation, DType, Tape, Tensor};
use gradflow_nn::init::Init;
use gradflow_nn::probe::{Probe, ProbeConfig, RecordKind};
use gradflow_nn::theory::MeanField;
use gradflow_nn::{ForwardCtx, Mlp, Module};

const WIDTH: usize = 256;
const DEPTH: usize = 30;
const BATCH: usize = 32;
const SEEDS: u64 = 4;

/// ln ||delta_l|| for the hidden layers l = 1..=DEPTH of one freshly initialised MLP.
fn log_delta_norms(act: Activation, init: Init, seed: u64) -> Vec<f64> {
    let model = Mlp::builder(WIDTH, &[WIDTH; DEPTH], 10)
        .activation(act)
        .init(init)
        .dtype(DType::F64)
        .seed(seed)
        .build()
        .unwrap();
    let probe = Probe::new(ProbeConfig::default());
    let tape = Tape::new();
    let mut ctx = ForwardCtx::new(&tape);
    probe.begin(&mut ctx, 0);
    // Inputs with second moment q0 = 1; a random linear read-out as the loss.
    let x = tape.constant(Tensor::randn([BATCH, WIDTH], DType::F64, 1000 + seed));
    let y = model.forward(&mut ctx, &x).unwrap();
    let r = tape.constant(Tensor::randn([BATCH, 10], DType::F64, 2000 + seed));
    y.mul(&r).unwrap().sum_all().unwrap().backward().unwrap();
    probe
        .report()
        .layers
        .iter()
        .filter(|rec| rec.kind == RecordKind::PreActivation && rec.layer <= DEPTH)
        .map(|rec| rec.grad.unwrap().norm.ln())
        .collect()
}

/// Mean per-layer ln(||delta_l|| / ||delta_{l+1}||) over the hidden layers.
fn mean_log_ratio(lns: &[f64]) -> f64 {
    (lns[0] - lns[lns.len() - 1]) / (lns.len() - 1) as f64
}

#[test]
fn measured_gradient_decay_matches_mean_field_theory() {
    let cases = [
        (Activation::Relu, Init::he()),
        (Activation::Tanh, Init::xavier()),
        (Activation::Sigmoid, Init::Standard),
    ];
    // Tolerance from the finite-width spread: for He-initialised ReLU the log of the
    // squared-norm ratio over L layers is roughly normal with variance 5L/N (DESIGN.md,
    // science notes), so the per-layer mean of ln-norm ratios has variance about
    // 5 / (4 N L) per seed. Four standard errors of the mean over the seeds:
    let se = (5.0 / (4.0 * WIDTH as f64 * DEPTH as f64) / SEEDS as f64).sqrt();
    let tolerance = 4.0 * se;
    let mut measured_means = Vec::new();
    let mut predicted_all = Vec::new();
    for (act, init) in cases {
        let theory = MeanField::for_init(act, &init, WIDTH).unwrap();
        let predicted = -theory.log_gradient_slope(1.0, DEPTH).unwrap();
        let per_seed: Vec<f64> = (0..SEEDS)
            .map(|s| mean_log_ratio(&log_delta_norms(act, init, s)))
            .collect();
        let mean = per_seed.iter().sum::<f64>() / SEEDS as f64;
        let sd =
            (per_seed.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (SEEDS - 1) as f64).sqrt();
        println!(
            "{act} {init}: predicted {predicted:.4}, measured {mean:.4} (sd over seeds {sd:.4}), tolerance {tolerance:.4}"
        );
        assert!(
            (mean - predicted).abs() < tolerance,
            "{act} with {init}: measured mean ln-ratio per layer {mean}, predicted {predicted}, tolerance {tolerance}"
        );
        measured_means.push(mean);
        predicted_all.push(predicted);
    }
    // The ordering of gradient decay (most negative: vanishes fastest) is right.
    let order = |v: &[f64]| {
        let mut idx: Vec<usize> = (0..v.len()).collect();
        idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
        idx
    };
    assert_eq!(order(&measured_means), order(&predicted_all));
    // Sigmoid at the standard init vanishes, ReLU at He keeps the norm.
    assert!(measured_means[2] < -1.0 && measured_means[0].abs() < tolerance);
}
