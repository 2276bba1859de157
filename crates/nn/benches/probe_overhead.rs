//! What a gradient-flow probe costs: one full training step (forward, backward,
//! optimiser step) of the default study network, without a probe, with a probe that
//! skips the step, and with a probe recording it.
//!
//! The network is the study's default: 2 inputs, 20 hidden layers of 64 units, 2
//! outputs, f64, a batch of 128 two-spiral points, cross-entropy, Adam with learning
//! rate 1e-3 (the study's `adam:0.001`). Results and method: docs/performance.md,
//! "Probe overhead".
//!
//! ```text
//! cargo bench -p gradflow-nn --bench probe_overhead -- --warm-up-time 1 --measurement-time 5
//! ```
//!
//! After criterion's measurements, the benchmark prints the CPU time per step of the
//! whole process and of the probe's worker thread (from `/proc`, Linux only; set
//! `PROBE_OVERHEAD_CPU=0` to skip it).
#![expect(
    clippy::unwrap_used,
    reason = "a benchmark with a failed step has nothing to measure"
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use gradflow_autograd::{Activation, DType, Tape, Tensor};
use gradflow_nn::data::synthetic;
use gradflow_nn::init::Init;
use gradflow_nn::loss::{Reduction, cross_entropy};
use gradflow_nn::optim::{Adam, Optimizer};
use gradflow_nn::probe::{Probe, ProbeConfig};
use gradflow_nn::{ForwardCtx, Mlp, Module};

/// The allocator of the `gradflow` command (docs/performance.md, "Allocation").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const DEPTH: usize = 20;
const WIDTH: usize = 64;
const BATCH: usize = 128;

/// One training step; the probe (if any) is offered the step and records it if its
/// configuration says so.
fn step(
    model: &mut Mlp,
    opt: &mut Adam,
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

/// The network, data and optimiser of one benchmark.
struct Setup {
    model: Mlp,
    opt: Adam,
    x: Tensor,
    labels: Vec<usize>,
}

impl Setup {
    fn new(act: Activation, init: Init) -> Setup {
        let data = synthetic::two_spirals(BATCH, 0.05, 0)
            .unwrap()
            .to_dtype(DType::F64);
        Setup {
            model: Mlp::builder(2, &[WIDTH; DEPTH], 2)
                .activation(act)
                .init(init)
                .dtype(DType::F64)
                .seed(0)
                .build()
                .unwrap(),
            // The study's optimiser and learning rate.
            opt: Adam::new(1e-3).unwrap(),
            x: data.features().clone(),
            labels: data.labels().unwrap().to_vec(),
        }
    }

    fn step(&mut self, probe: Option<&Probe>, n: usize) -> f64 {
        step(
            &mut self.model,
            &mut self.opt,
            &self.x,
            &self.labels,
            probe,
            n,
        )
    }
}

/// A recorded step, timed from a state where the probe's worker has nothing queued
/// (as in a run that records one step in many, such as the study's every 25th); the
/// records are then dropped and the worker waited for, untimed.
fn isolated_step(setup: &mut Setup, probe: &Probe, n: usize) -> Duration {
    let start = Instant::now();
    black_box(setup.step(Some(probe), n));
    let elapsed = start.elapsed();
    probe.clear();
    black_box(probe.report());
    elapsed
}

fn bench_activation(c: &mut Criterion, act: Activation, init: Init) {
    let mut group = c.benchmark_group(format!("train_step/{act}"));

    let mut setup = Setup::new(act, init);
    group.bench_function("unprobed", |b| b.iter(|| black_box(setup.step(None, 1))));

    // A probe that records every 1000th step, offered a step it skips: what a probed
    // training run pays on the steps in between.
    let mut setup = Setup::new(act, init);
    let skipping = Probe::new(ProbeConfig {
        every: 1000,
        ..ProbeConfig::default()
    });
    group.bench_function("probe_skips_step", |b| {
        b.iter(|| black_box(setup.step(Some(&skipping), 1)))
    });

    // A probe recording every step, one after the other: if its worker is slower than
    // the training thread, the training thread waits for it once the queue is full.
    // The records are dropped after each step so memory stays flat (timed).
    let mut setup = Setup::new(act, init);
    let probe = Probe::new(ProbeConfig::default());
    let mut n = 0;
    group.bench_function("probed_every_step", |b| {
        b.iter(|| {
            n += 1;
            let loss = setup.step(Some(&probe), n);
            probe.clear();
            black_box(loss)
        })
    });

    // One recorded step with the worker idle at its start.
    let mut setup = Setup::new(act, init);
    let probe = Probe::new(ProbeConfig::default());
    let mut n = 0;
    group.bench_function("probed_one_step", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    n += 1;
                    isolated_step(&mut setup, &probe, n)
                })
                .sum()
        })
    });
    group.finish();
}

fn probe_overhead(c: &mut Criterion) {
    bench_activation(c, Activation::Tanh, Init::xavier());
    bench_activation(c, Activation::Relu, Init::he());
}

/// CPU time in seconds of the whole process and of the thread named `name` (utime +
/// stime from `/proc`, in clock ticks of 10 ms); `None` where there is no `/proc`.
fn cpu_seconds(name: &str) -> Option<(f64, f64)> {
    let ticks = |stat: &str| -> Option<f64> {
        // Fields after the parenthesised command name: utime and stime are the 12th
        // and 13th (fields 14 and 15 of proc(5)).
        let rest = stat.rsplit_once(')')?.1;
        let f: Vec<&str> = rest.split_whitespace().collect();
        Some((f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?) / 100.0)
    };
    let process = ticks(&std::fs::read_to_string("/proc/self/stat").ok()?)?;
    let mut thread = 0.0;
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim() == name {
            let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
            thread += ticks(&stat).unwrap_or(0.0);
        }
    }
    Some((process, thread))
}

/// Wall time (as `run` measures it), process CPU time and worker CPU time per step,
/// in ms, over `steps` steps and then `finish` (which waits for the worker).
fn per_step(
    steps: usize,
    mut run: impl FnMut(usize) -> Duration,
    finish: impl FnOnce(),
) -> Option<[f64; 3]> {
    let (p0, w0) = cpu_seconds("gradflow-probe")?;
    let wall: Duration = (0..steps).map(&mut run).sum();
    finish();
    let (p1, w1) = cpu_seconds("gradflow-probe")?;
    let ms = |s: f64| s * 1e3 / steps as f64;
    Some([ms(wall.as_secs_f64()), ms(p1 - p0), ms(w1 - w0)])
}

/// Prints the CPU time per step: alternating blocks of unprobed and probed steps, so
/// that a change in the machine's load hits both.
fn cpu_report() {
    let listing = std::env::args().any(|a| a == "--list" || a == "--test");
    if listing || std::env::var("PROBE_OVERHEAD_CPU").is_ok_and(|v| v == "0") {
        return;
    }
    const STEPS: usize = 200;
    const ROUNDS: usize = 3;
    println!("\nCPU time per step (ms; {ROUNDS} rounds of {STEPS} steps each, medians)");
    println!("activation | variant | wall | process CPU | worker CPU");
    for (act, init) in [
        (Activation::Tanh, Init::xavier()),
        (Activation::Relu, Init::he()),
    ] {
        let mut setups: Vec<Setup> = (0..3).map(|_| Setup::new(act, init)).collect();
        let every = Probe::new(ProbeConfig::default());
        let one = Probe::new(ProbeConfig::default());
        let mut rows: [Vec<[f64; 3]>; 3] = Default::default();
        let mut n = 0;
        for _ in 0..ROUNDS {
            let [a, b, c] = &mut setups[..] else {
                return;
            };
            let measured = [
                per_step(
                    STEPS,
                    |_| {
                        let t = Instant::now();
                        black_box(a.step(None, 1));
                        t.elapsed()
                    },
                    || {},
                ),
                per_step(
                    STEPS,
                    |_| {
                        n += 1;
                        let t = Instant::now();
                        black_box(b.step(Some(&every), n));
                        every.clear();
                        t.elapsed()
                    },
                    || drop(black_box(every.report())),
                ),
                // The untimed waits for the worker are in the CPU times: they are the
                // worker's work for those steps.
                per_step(STEPS, |i| isolated_step(c, &one, i + 1), || {}),
            ];
            for (row, m) in rows.iter_mut().zip(measured) {
                let Some(m) = m else {
                    println!("(no /proc: CPU times unavailable)");
                    return;
                };
                row.push(m);
            }
        }
        for (name, row) in ["unprobed", "probed_every_step", "probed_one_step"]
            .iter()
            .zip(rows)
        {
            let median = |k: usize| {
                let mut v: Vec<f64> = row.iter().map(|m| m[k]).collect();
                v.sort_by(f64::total_cmp);
                v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
            };
            println!(
                "{act} | {name} | {:.2} | {:.2} | {:.2}",
                median(0),
                median(1),
                median(2)
            );
        }
    }
}

// The group lives in a private module: `criterion_group!` makes a public function that
// `missing_docs` would ask to document.
mod group {
    criterion::criterion_group!(benches, super::probe_overhead);
}

fn main() {
    group::benches();
    Criterion::default().configure_from_args().final_summary();
    cpu_report();
}
