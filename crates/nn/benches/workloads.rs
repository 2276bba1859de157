//! The peer benchmark's five workloads (`/work/shared/bench/SPEC.md`, summarised in
//! docs/performance.md) run on gradflow, plus the default study's training step with
//! and without a probe. Prints one JSON object per result on stdout, in the SPEC's
//! schema with `"system": "gradflow"`, so `benches/compare.sh` can put gradflow in the
//! same table as PyTorch, JAX and candle.
//!
//! ```text
//! cargo bench -p gradflow-nn --bench workloads -- all           # or: mlp deep act tiny matmul study
//! cargo bench -p gradflow-nn --bench workloads -- conv ops      # not in `all`: no peer runs them
//! BENCH_THREADS=1 taskset -c 1 target/release/deps/workloads-* tiny
//! ```
//!
//! `BENCH_ACTS=sigmoid,silu` runs only those activations of `act` (all eight by
//! default), for comparing two builds on one activation at a time.
//!
//! Threads: `BENCH_THREADS` (else `RAYON_NUM_THREADS`, else every core) sizes rayon's
//! global pool, which the GEMM kernels and the large elementwise kernels share.
//!
//! Timing protocol (the SPEC's): each job warms up for at least 2 calls and 0.3 s,
//! picks K so that a block of K calls lasts about 0.25 s (0.2 s for `act`, 0.5 s for
//! `matmul`), then times 9 blocks; the median, minimum and maximum are over blocks.
#![expect(
    clippy::unwrap_used,
    reason = "a benchmark whose workload fails has nothing to measure; it stops loudly"
)]

use std::hint::black_box;
use std::time::Instant;

use gradflow_autograd::{Activation, DType, Tape, Tensor, Var};
use gradflow_nn::data::synthetic;
use gradflow_nn::init::Init;
use gradflow_nn::loss::{Reduction, cross_entropy};
use gradflow_nn::module::visit_parameters_mut;
use gradflow_nn::optim::{Adam, Optimizer, Sgd};
use gradflow_nn::probe::{Probe, ProbeConfig};
use gradflow_nn::{ForwardCtx, Mlp, Module};
use serde_json::{Value, json};

/// The allocator of the `gradflow` command (docs/performance.md, "Allocation").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const REPS: usize = 9;

fn threads() -> usize {
    ["BENCH_THREADS", "RAYON_NUM_THREADS"]
        .iter()
        .find_map(|k| std::env::var(k).ok()?.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// CPU time of every thread of this process so far, in seconds (Linux
/// `/proc/self/task/*/schedstat`; 0 elsewhere). On a loaded machine the wall time of a
/// block includes waiting for a core; its CPU time does not.
fn cpu_s() -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    let ns: u64 = tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    ns as f64 * 1e-9
}

/// CPU seconds per call of each block of the last [`bench`] (emitted as
/// `extra.cpu_s_per_call_median`).
static LAST_CPU: std::sync::Mutex<Vec<f64>> = std::sync::Mutex::new(Vec::new());

/// Per-call seconds of each of `REPS` blocks, after the warm-up.
///
/// With `BENCH_CALLS=n` in the environment, instead: exactly `n` calls after two
/// warm-up calls, timed as one block (for `perf stat`, whose CPU time and cycle counts
/// stay meaningful when other processes load the machine).
fn bench(mut f: impl FnMut(), target_block_s: f64) -> Vec<f64> {
    if let Some(n) = std::env::var("BENCH_CALLS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        f();
        f();
        let (t, c) = (Instant::now(), cpu_s());
        for _ in 0..n {
            f();
        }
        *LAST_CPU.lock().unwrap() = vec![(cpu_s() - c) / n.max(1) as f64];
        return vec![t.elapsed().as_secs_f64() / n.max(1) as f64];
    }
    let t0 = Instant::now();
    let mut n = 0usize;
    while n < 2 || t0.elapsed().as_secs_f64() < 0.3 {
        f();
        n += 1;
    }
    let per = t0.elapsed().as_secs_f64() / n as f64;
    let k = ((target_block_s / per).ceil() as usize).max(1);
    let mut cpu = Vec::with_capacity(REPS);
    let wall = (0..REPS)
        .map(|_| {
            let (t, c) = (Instant::now(), cpu_s());
            for _ in 0..k {
                f();
            }
            cpu.push((cpu_s() - c) / k as f64);
            t.elapsed().as_secs_f64() / k as f64
        })
        .collect();
    *LAST_CPU.lock().unwrap() = cpu;
    wall
}

/// Prints one result line; `vals` are already in the metric's unit.
fn emit(workload: &str, variant: &str, metric: &str, vals: Vec<f64>, mut extra: Value) {
    let cpu = std::mem::take(&mut *LAST_CPU.lock().unwrap());
    if !cpu.is_empty() {
        extra["cpu_s_per_call_median"] = json!(median(&cpu));
    }
    let mut s = vals.clone();
    s.sort_by(f64::total_cmp);
    let (med, min, max) = (s[s.len() / 2], s[0], s[s.len() - 1]);
    println!(
        "{}",
        json!({
            "system": "gradflow", "workload": workload, "variant": variant,
            "threads": threads(), "metric": metric, "median": med, "min": min, "max": max,
            "spread_pct": 100.0 * (max - min) / med, "reps": vals, "extra": extra,
        })
    );
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

/// An MLP with every weight and bias drawn from U(±1/sqrt(fan_in)), PyTorch's
/// `nn.Linear` default (the SPEC's init).
fn mlp(sizes: &[usize], act: Activation, dtype: DType, init: Init) -> Mlp {
    let (input, rest) = sizes.split_first().unwrap();
    let (output, hidden) = rest.split_last().unwrap();
    let mut model = Mlp::builder(*input, hidden, *output)
        .activation(act)
        .init(init)
        .dtype(dtype)
        .seed(0)
        .build()
        .unwrap();
    // Biases come in layer order; layer k's fan-in is sizes[k].
    let mut layer = 0;
    visit_parameters_mut(&mut model, &mut |name, p| {
        if name.ends_with("bias") {
            let bound = 1.0 / (sizes[layer] as f64).sqrt();
            let seed = 100 + layer as u64;
            let b = Tensor::rand_uniform(p.value().dims(), -bound, bound, dtype, seed).unwrap();
            p.set(b);
            layer += 1;
        }
    });
    model
}

/// One training step: forward, loss, backward, optimiser step. The tape and the
/// forward context are dropped before the update, so the parameters' storage is no
/// longer shared and the optimiser writes into it in place.
fn train_step(
    model: &mut Mlp,
    opt: &mut dyn Optimizer,
    x: &Tensor,
    labels: &[usize],
    probe: Option<(&Probe, usize)>,
) -> f64 {
    let (loss, grads, attached) = {
        let tape = Tape::new();
        let mut ctx = ForwardCtx::new(&tape);
        let attached = probe.is_some_and(|(p, step)| p.begin(&mut ctx, step));
        let logits = model.forward(&mut ctx, &tape.constant(x.clone())).unwrap();
        let loss = cross_entropy(&logits, labels, Reduction::Mean).unwrap();
        let grads = ctx.param_grads(&loss.backward().unwrap());
        (loss.value().to_f64_vec()[0], grads, attached)
    };
    if let (true, Some((p, _))) = (attached, probe) {
        p.after_backward(&grads);
    }
    opt.step(model, &grads).unwrap();
    if let (true, Some((p, _))) = (attached, probe) {
        p.after_update(model);
    }
    loss
}

/// W1 and W2: one SGD step of an MLP on a fixed batch.
fn mlp_workload(name: &str, sizes: &[usize], batch: usize, act: Activation) {
    let mut model = mlp(sizes, act, DType::F32, Init::Standard);
    let x = Tensor::randn([batch, sizes[0]], DType::F32, 1);
    let classes = *sizes.last().unwrap();
    let labels: Vec<usize> = (0..batch).map(|i| (i * 7 + 3) % classes).collect();
    let mut opt = Sgd::new(0.01).unwrap();
    let mut losses = vec![];
    let secs = bench(
        || losses.push(train_step(&mut model, &mut opt, &x, &labels, None)),
        0.25,
    );
    emit(
        name,
        "train_step",
        "us_per_step",
        secs.iter().map(|s| s * 1e6).collect(),
        json!({"sizes": sizes, "batch": batch, "first_loss": losses[0],
               "last_loss": losses[losses.len() - 1], "rss_peak_kib": rss_peak_kib()}),
    );
}

/// W3: `y = f(x)` and `dx = dy f'(x)` over 2^22 f32 elements.
fn act_workload() {
    let n = 1usize << 22;
    let x = Tensor::randn([n], DType::F32, 0).mul_scalar(3.0);
    let dy = Var::untracked(Tensor::ones([n], DType::F32));
    let acts: [(&str, Activation); 8] = [
        ("sigmoid", Activation::Sigmoid),
        ("tanh", Activation::Tanh),
        ("relu", Activation::Relu),
        ("leaky_relu", Activation::LeakyRelu { slope: 0.01 }),
        ("silu", Activation::Silu),
        ("gelu_tanh", Activation::GeluTanh),
        ("softplus", Activation::Softplus { beta: 1.0 }),
        ("elu", Activation::Elu { alpha: 1.0 }),
    ];
    let only = std::env::var("BENCH_ACTS").ok();
    let wanted = |name: &str| {
        only.as_ref()
            .is_none_or(|o| o.split(',').any(|a| a == name))
    };
    for (name, act) in acts {
        if !wanted(name) {
            continue;
        }
        let mut check = 0.0;
        let secs = bench(
            || {
                let tape = Tape::new();
                let xv = tape.var(x.clone());
                let y = act.apply(&xv).unwrap();
                let dx = tape.vjp(&y, &dy, &[&xv], false).unwrap();
                check = dx[0].value().get_f64(0).unwrap();
                black_box(&dx);
            },
            0.2,
        );
        let ns: Vec<f64> = secs.iter().map(|s| s * 1e9 / n as f64).collect();
        let gbps = 20.0 / median(&ns);
        emit(
            "act",
            name,
            "ns_per_elem",
            ns,
            json!({"n": n, "gbps_5_streams_median": gbps, "dx0": check}),
        );
    }
}

/// W4: 10,000 recorded ops on a one-element tensor, then backward.
fn tiny_workload() {
    const NOPS: usize = 10_000;
    let x0 = Tensor::from_vec(vec![0.5f32], [1]).unwrap();
    let mut dx = 0.0;
    let secs = bench(
        || {
            let tape = Tape::new();
            let leaf = tape.var(x0.clone());
            let mut x = leaf.clone();
            for i in 0..NOPS {
                x = if i % 10 == 9 {
                    x.tanh().unwrap()
                } else if i % 2 == 0 {
                    x.mul_scalar(1.0001).unwrap()
                } else {
                    x.add_scalar(0.0001).unwrap()
                };
            }
            let g = x.backward().unwrap();
            dx = g.get(&leaf).unwrap().get_f64(0).unwrap();
        },
        0.25,
    );
    emit(
        "tiny",
        "chain10k_fwd_bwd",
        "ns_per_op",
        secs.iter().map(|s| s * 1e9 / NOPS as f64).collect(),
        json!({"nops": NOPS, "dx": dx}),
    );
}

/// W5: `C = A B` for 1024 x 1024 operands, and `dA`, `dB` for an upstream of ones.
fn matmul_workload() {
    let n = 1024;
    let a = Tensor::randn([n, n], DType::F32, 1);
    let b = Tensor::randn([n, n], DType::F32, 2);
    let g = Var::untracked(Tensor::ones([n, n], DType::F32));
    let secs = bench(
        || {
            let tape = Tape::new();
            let (av, bv) = (tape.var(a.clone()), tape.var(b.clone()));
            let c = av.matmul(&bv).unwrap();
            black_box(tape.vjp(&c, &g, &[&av, &bv], false).unwrap());
        },
        0.5,
    );
    let flops = 6.0 * (n as f64).powi(3);
    emit(
        "matmul",
        "1024_fwd_bwd",
        "gflops",
        secs.iter().map(|s| flops / s / 1e9).collect(),
        json!({"n": n, "ms_per_fwd_bwd_median": median(&secs) * 1e3}),
    );
}

/// Not in the peer benchmark (run it by name; `benches/conv_torch.py` times the same
/// work in PyTorch): a convolutional block's forward and backward, `max_pool2d(relu(
/// conv2d(x, w, b)))` summed, for `x` of `[64, 16, 16, 16]`, 32 filters of 3 x 3,
/// padding 1, a 2 x 2 pool; the gradients w.r.t. `x`, `w` and `b`.
fn conv_workload() {
    let x = Tensor::randn([64, 16, 16, 16], DType::F32, 1);
    let w = Tensor::randn([32, 16, 3, 3], DType::F32, 2).mul_scalar(0.1);
    let b = Tensor::randn([32], DType::F32, 3);
    let secs = bench(
        || {
            let tape = Tape::new();
            let (xv, wv, bv) = (
                tape.var(x.clone()),
                tape.var(w.clone()),
                tape.var(b.clone()),
            );
            let y = xv.conv2d(&wv, Some(&bv), [1, 1], [1, 1]).unwrap();
            let loss = y
                .relu()
                .unwrap()
                .max_pool2d([2, 2], [2, 2], [0, 0])
                .unwrap()
                .sum_all()
                .unwrap();
            black_box(tape.grad(&loss, &[&xv, &wv, &bv], false).unwrap());
        },
        0.25,
    );
    emit(
        "conv",
        "conv3x3_relu_maxpool_fwd_bwd",
        "ms_per_call",
        secs.iter().map(|s| s * 1e3).collect(),
        json!({"x": [64, 16, 16, 16], "w": [32, 16, 3, 3], "padding": 1, "pool": 2}),
    );
}

/// Not in the peer benchmark (run it by name; `benches/ops_torch.py` times the same
/// work in PyTorch): forward and backward of common ops on `[256, 1024]` f32 (the
/// permute on `[32, 64, 16, 16]`), each a tape, the op, `sum(y * ones)` and the
/// gradient w.r.t. the input.
fn ops_workload() {
    let x = Tensor::randn([256, 1024], DType::F32, 1);
    let img = Tensor::randn([32, 64, 16, 16], DType::F32, 3);
    let column = Var::untracked(Tensor::randn([256, 1], DType::F32, 2));
    type OpFn = Box<dyn Fn(&Var) -> Var>;
    let ops: Vec<(&str, &Tensor, OpFn)> = vec![
        ("sum_rows", &x, Box::new(|v| v.sum(&[1], false).unwrap())),
        ("sum_cols", &x, Box::new(|v| v.sum(&[0], false).unwrap())),
        (
            "variance_cols",
            &x,
            Box::new(|v| v.variance(&[0], true, 0).unwrap()),
        ),
        ("max_rows", &x, Box::new(|v| v.max(&[1], false).unwrap())),
        (
            "logsumexp_rows",
            &x,
            Box::new(|v| v.logsumexp(&[-1], false).unwrap()),
        ),
        ("softmax_rows", &x, Box::new(|v| v.softmax(-1).unwrap())),
        (
            "log_softmax_rows",
            &x,
            Box::new(|v| v.log_softmax(-1).unwrap()),
        ),
        ("softmax_cols", &x, Box::new(|v| v.softmax(0).unwrap())),
        ("transpose", &x, Box::new(|v| v.transpose(0, 1).unwrap())),
        (
            "permute_nchw_nhwc",
            &img,
            Box::new(|v| v.permute(&[0, 2, 3, 1]).unwrap()),
        ),
        ("add_column", &x, Box::new(move |v| v.add(&column).unwrap())),
        (
            "concat_cols",
            &x,
            Box::new(|v| Var::concat(&[v, v], 1).unwrap()),
        ),
        (
            "div",
            &x,
            Box::new(|v| v.div(&v.abs().unwrap().add_scalar(1.0).unwrap()).unwrap()),
        ),
        (
            "clamp",
            &x,
            Box::new(|v| v.clamp(Some(-0.5), Some(0.5)).unwrap()),
        ),
        ("powf_3", &x, Box::new(|v| v.powf(3.0).unwrap())),
        ("exp", &x, Box::new(|v| v.exp().unwrap())),
        ("tanh", &x, Box::new(|v| v.tanh().unwrap())),
        ("gelu", &x, Box::new(|v| v.gelu().unwrap())),
    ];
    let only = std::env::var("BENCH_OPS").ok();
    for (name, input, op) in &ops {
        if only
            .as_deref()
            .is_some_and(|o| !o.split(',').any(|a| a == *name))
        {
            continue;
        }
        let secs = bench(
            || {
                let tape = Tape::new();
                let xv = tape.var((*input).clone());
                let y = op(&xv);
                let ones = Var::untracked(Tensor::ones(y.dims().to_vec(), DType::F32));
                let loss = y.mul(&ones).unwrap().sum_all().unwrap();
                black_box(tape.grad(&loss, &[&xv], false).unwrap());
            },
            0.2,
        );
        emit(
            "ops",
            name,
            "ms_per_call",
            secs.iter().map(|s| s * 1e3).collect(),
            json!({"shape": input.dims()}),
        );
    }
}

/// The default study's training step (two spirals, 20 hidden layers of 64 units, batch
/// 128, f64, Adam at 1e-3), without a probe and with a probe recording every step.
fn study_workload() {
    let data = synthetic::two_spirals(128, 0.05, 0)
        .unwrap()
        .to_dtype(DType::F64);
    let x = data.features().clone();
    let labels = data.labels().unwrap().to_vec();
    let mut sizes = vec![2];
    sizes.extend([64; 20]);
    sizes.push(2);
    for (act, init, tag) in [
        (Activation::Tanh, Init::xavier(), "tanh"),
        (Activation::Relu, Init::he(), "relu"),
    ] {
        let mut medians = vec![];
        for probed in [false, true] {
            let mut model = mlp(&sizes, act, DType::F64, init);
            let mut opt = Adam::new(1e-3).unwrap();
            let probe = Probe::new(ProbeConfig::default());
            let mut step = 0;
            let secs = bench(
                || {
                    step += 1;
                    let p = probed.then_some((&probe, step));
                    black_box(train_step(&mut model, &mut opt, &x, &labels, p));
                    probe.clear();
                },
                0.25,
            );
            let us: Vec<f64> = secs.iter().map(|s| s * 1e6).collect();
            medians.push(median(&us));
            let variant = format!(
                "train_step_{}_{tag}",
                if probed { "probed" } else { "unprobed" }
            );
            let mut extra =
                json!({"sizes": sizes, "batch": 128, "dtype": "f64", "optimiser": "adam:1e-3"});
            if probed {
                extra["probed_over_unprobed"] = json!(medians[1] / medians[0]);
            }
            emit("study", &variant, "us_per_step", us, extra);
        }
    }
}

/// Peak resident set size of this process so far, in KiB (Linux; 0 elsewhere).
fn rss_peak_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads())
        .build_global()
        .unwrap();
    // `cargo bench` passes `--bench`; flags are not workloads.
    let mut args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if args.is_empty() || args.iter().any(|a| a == "all") {
        args = ["mlp", "deep", "act", "tiny", "matmul", "study"]
            .map(String::from)
            .to_vec();
    }
    for a in args {
        match a.as_str() {
            "mlp" => mlp_workload("mlp", &[784, 256, 256, 256, 10], 64, Activation::Relu),
            "deep" => {
                let mut sizes = vec![32];
                sizes.extend([64; 20]);
                sizes.push(10);
                mlp_workload("deep", &sizes, 32, Activation::Tanh)
            }
            "act" => act_workload(),
            "tiny" => tiny_workload(),
            "matmul" => matmul_workload(),
            "study" => study_workload(),
            "conv" => conv_workload(),
            "ops" => ops_workload(),
            other => eprintln!(
                "unknown workload {other}; expected mlp deep act tiny matmul study conv ops all"
            ),
        }
    }
}
