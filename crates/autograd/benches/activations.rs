//! Forward and backward of every activation on 2^22 f32 elements, as a training step
//! runs them: a fresh tape, the input as a leaf, one activation node, and
//! `Tape::vjp` with an upstream gradient of ones (passed as data), so the time covers
//! `y = f(x)` and `dx = dy * f'(x)` and the tape's bookkeeping around them.
//!
//! Criterion reports elements per second (`Throughput::Elements`); the median time per
//! iteration divided by 2^22 is the ns/element table in `docs/performance.md`.
//!
//! ```text
//! cargo bench -p gradflow-autograd --bench activations -- --warm-up-time 1 --measurement-time 3
//! ```

use std::hint::black_box;

use criterion::{Criterion, SamplingMode, Throughput, criterion_main};
use gradflow_autograd::{Activation, DType, Result, Tape, Tensor, Var};

/// 2^22 elements, as `[4096, 1024]`: softmax and log-softmax act along the last axis
/// (rows of 1024 classes); for the pointwise activations the shape does not matter.
const ROWS: usize = 4096;
const COLS: usize = 1024;

/// One training step's worth of work for `act`: `y = act(x)` recorded on a new tape,
/// then `dx = dy * act'(x)` by a vector-Jacobian product that records nothing.
fn forward_backward(act: Activation, x: &Tensor, dy: &Var) -> Result<(Tensor, Tensor)> {
    let tape = Tape::new();
    let xv = tape.var(x.clone());
    let y = act.apply(&xv)?;
    let dx = tape.vjp(&y, dy, &[&xv], false)?.swap_remove(0);
    Ok((y.into_value(), dx.into_value()))
}

fn activations(c: &mut Criterion) {
    // Normal with standard deviation 3: both tails of the saturating functions and the
    // corners of the piecewise ones are well populated, so no branch is always taken.
    let x = Tensor::randn([ROWS, COLS], DType::F32, 0).mul_scalar(3.0);
    let dy = Var::untracked(Tensor::ones([ROWS, COLS], DType::F32));
    let mut group = c.benchmark_group("activations");
    group.throughput(Throughput::Elements((ROWS * COLS) as u64));
    // One iteration takes milliseconds: flat sampling with 20 samples fits the
    // measurement time instead of asking for more.
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(20);
    for act in Activation::all() {
        group.bench_function(act.name(), |b| {
            b.iter(|| {
                forward_backward(act, black_box(&x), black_box(&dy))
                    .expect("every activation runs on a finite [4096, 1024] f32 input")
            })
        });
    }
    group.finish();
}

// In a private module, so the function the macro generates is not public API (which
// `missing_docs` would ask to document).
mod group {
    criterion::criterion_group!(benches, super::activations);
}
criterion_main!(group::benches);
