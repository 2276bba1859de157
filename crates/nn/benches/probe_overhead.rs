//! What a gradient-flow probe costs: one full training step (forward, backward,
//! optimiser step) of the default study network, without a probe, with a probe that
//! skips the step, and with a probe recording it.
//!
//! The network is the study's default: 2 inputs, 20 hidden layers of 64 units, 2
//! outputs, f64, a batch of 128 two-spiral points, cross-entropy, SGD with momentum
//! (`sgd:0.05,0.9`). Results and method: docs/performance.md, "Probe overhead".
//!
//! ```text
//! cargo bench -p gradflow-nn --bench probe_overhead -- --warm-up-time 1 --measurement-time 5
//! ```
#![expect(
    clippy::unwrap_used,
    reason = "a benchmark with a failed step has nothing to measure"
)]

use criterion::{Criterion, criterion_main};
use gradflow_autograd::{Activation, DType, Tape, Tensor};
use gradflow_nn::data::synthetic;
use gradflow_nn::init::Init;
use gradflow_nn::loss::{Reduction, cross_entropy};
use gradflow_nn::optim::{Optimizer, Sgd};
use gradflow_nn::probe::{Probe, ProbeConfig};
use gradflow_nn::{ForwardCtx, Mlp, Module};
use std::hint::black_box;

const DEPTH: usize = 20;
const WIDTH: usize = 64;
const BATCH: usize = 128;

/// One training step; the probe (if any) is offered the step and records it if its
/// configuration says so.
fn step(
    model: &mut Mlp,
    opt: &mut Sgd,
    x: &Tensor,
    labels: &[usize],
    probe: Option<&Probe>,
    step: usize,
) -> f64 {
    let tape = Tape::new();
    let mut ctx = ForwardCtx::new(&tape);
    let attached = probe.is_some_and(|p| p.begin(&mut ctx, step));
    let logits = model.forward(&mut ctx, &tape.constant(x.clone())).unwrap();
    let loss = cross_entropy(&logits, labels, Reduction::Mean).unwrap();
    let grads = ctx.param_grads(&loss.backward().unwrap());
    if let (true, Some(p)) = (attached, probe) {
        p.after_backward(&grads);
    }
    opt.step(model, &grads).unwrap();
    if let (true, Some(p)) = (attached, probe) {
        p.after_update(model);
    }
    loss.value().to_scalar::<f64>().unwrap()
}

fn bench_activation(c: &mut Criterion, act: Activation, init: Init) {
    let data = synthetic::two_spirals(BATCH, 0.05, 0)
        .unwrap()
        .to_dtype(DType::F64);
    let x = data.features().clone();
    let labels = data.labels().unwrap().to_vec();
    let build = || {
        Mlp::builder(2, &[WIDTH; DEPTH], 2)
            .activation(act)
            .init(init)
            .dtype(DType::F64)
            .seed(0)
            .build()
            .unwrap()
    };
    // A small learning rate keeps the weights (and so the work) the same over the
    // thousands of steps criterion runs.
    let sgd = || Sgd::builder(1e-4).momentum(0.9).build().unwrap();
    let mut group = c.benchmark_group(format!("train_step/{act}"));

    let (mut model, mut opt) = (build(), sgd());
    group.bench_function("unprobed", |b| {
        b.iter(|| black_box(step(&mut model, &mut opt, &x, &labels, None, 1)))
    });

    // A probe that records every 1000th step, offered a step it skips: what a probed
    // training run pays on the steps in between.
    let (mut model, mut opt) = (build(), sgd());
    let skipping = Probe::new(ProbeConfig {
        every: 1000,
        ..ProbeConfig::default()
    });
    group.bench_function("probe_skips_step", |b| {
        b.iter(|| black_box(step(&mut model, &mut opt, &x, &labels, Some(&skipping), 1)))
    });

    // A probe recording every step. Its records are dropped after each step so memory
    // stays flat over the run; dropping them is counted in the time.
    let (mut model, mut opt) = (build(), sgd());
    let probe = Probe::new(ProbeConfig::default());
    let mut n = 0;
    group.bench_function("probed", |b| {
        b.iter(|| {
            n += 1;
            let loss = step(&mut model, &mut opt, &x, &labels, Some(&probe), n);
            probe.clear();
            black_box(loss)
        })
    });
    group.finish();
}

fn probe_overhead(c: &mut Criterion) {
    bench_activation(c, Activation::Tanh, Init::xavier());
    bench_activation(c, Activation::Relu, Init::he());
}

// The group lives in a private module: `criterion_group!` makes a public function that
// `missing_docs` would ask to document.
mod group {
    criterion::criterion_group!(benches, super::probe_overhead);
}
criterion_main!(group::benches);
