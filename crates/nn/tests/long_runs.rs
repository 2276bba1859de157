//! Long runs: ten thousand training steps keep memory flat (every step's tape and saved
//! values are released), and several tapes training on different threads at once give
//! exactly the results of training one at a time.
#![expect(
    clippy::unwrap_used,
    reason = "in tests a failed unwrap is a failed test"
)]
#![expect(
    unsafe_code,
    reason = "a counting global allocator: it forwards to System"
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use gradflow_autograd::{Activation, DType, Tape};
use gradflow_nn::data::synthetic;
use gradflow_nn::loss::{Reduction, cross_entropy};
use gradflow_nn::module::named_parameters;
use gradflow_nn::optim::{Adam, Optimizer};
use gradflow_nn::probe::{Probe, ProbeConfig};
use gradflow_nn::{ForwardCtx, Mlp, Module};

/// Bytes currently allocated by this test binary (all threads).
static LIVE: AtomicIsize = AtomicIsize::new(0);

struct Counting;

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; the
// counter is only arithmetic on the sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn model(seed: u64) -> Mlp {
    Mlp::builder(2, &[16, 16], 2)
        .activation(Activation::Tanh)
        .dtype(DType::F64)
        .seed(seed)
        .build()
        .unwrap()
}

/// Trains `steps` full-batch Adam steps; returns the final parameters.
fn train(
    seed: u64,
    steps: usize,
    probe: Option<&Probe>,
    mut at_step: impl FnMut(usize),
) -> Vec<Vec<f64>> {
    let data = synthetic::moons(64, 0.1, seed)
        .unwrap()
        .to_dtype(DType::F64);
    let labels = data.labels().unwrap().to_vec();
    let mut m = model(seed);
    let mut opt = Adam::new(1e-2).unwrap();
    for step in 0..steps {
        let tape = Tape::new();
        let mut ctx = ForwardCtx::new(&tape);
        let recorded = probe.is_some_and(|p| p.begin(&mut ctx, step));
        let out = m
            .forward(&mut ctx, &tape.constant(data.features().clone()))
            .unwrap();
        let loss = cross_entropy(&out, &labels, Reduction::Mean).unwrap();
        let grads = ctx.param_grads(&loss.backward().unwrap());
        if let (true, Some(p)) = (recorded, probe) {
            p.after_backward(&grads);
        }
        opt.step(&mut m, &grads).unwrap();
        at_step(step);
    }
    named_parameters(&m)
        .iter()
        .map(|(_, p)| p.value().to_f64_vec())
        .collect()
}

#[test]
fn ten_thousand_steps_keep_memory_flat() {
    let mut samples = Vec::new();
    train(1, 10_000, None, |step| {
        if step == 999 || step == 9_999 {
            samples.push(LIVE.load(Ordering::Relaxed));
        }
    });
    let (at_1000, at_10000) = (samples[0], samples[1]);
    // Other tests of this binary may allocate concurrently: allow a little slack, far
    // below what one retained tape per step would cost (9,000 steps x several KiB).
    assert!(
        at_10000 - at_1000 < 256 * 1024,
        "live bytes grew from {at_1000} to {at_10000} between steps 1,000 and 10,000"
    );
}

#[test]
fn a_probed_long_run_keeps_only_its_records() {
    // Probing every 1,000th step: the records grow by ten sets, the tapes do not pile up.
    let probe = Probe::new(ProbeConfig {
        every: 1_000,
        ..ProbeConfig::default()
    });
    let mut samples = Vec::new();
    train(2, 5_000, Some(&probe), |step| {
        if step == 1_001 || step == 4_999 {
            samples.push(LIVE.load(Ordering::Relaxed));
        }
    });
    assert!(samples[1] - samples[0] < 1024 * 1024, "{samples:?}");
    assert_eq!(
        probe.report().layers.iter().map(|r| r.step).max(),
        Some(4_000)
    );
}

#[test]
fn tapes_training_on_threads_match_training_one_at_a_time() {
    let serial: Vec<Vec<Vec<f64>>> = (0..3).map(|s| train(10 + s, 300, None, |_| {})).collect();
    let handles: Vec<_> = (0..3)
        .map(|s| std::thread::spawn(move || train(10 + s, 300, None, |_| {})))
        .collect();
    let parallel: Vec<Vec<Vec<f64>>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(serial, parallel);
}
