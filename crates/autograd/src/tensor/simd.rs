//! Loops over f32 slices compiled for the CPU they run on, split over the threads
//! when the slice is large.
//!
//! The default target is the x86-64 baseline (SSE2): a loop compiled for it uses
//! 128-bit vectors at best. Each loop here is compiled three times, for AVX-512, for
//! AVX2 with FMA, and for the baseline, and the best the CPU supports is chosen at run
//! time (`is_x86_feature_detected!`, cached by std). The kernels are `Copy` structs with
//! `#[inline(always)]` methods, so they are inlined into each copy of the loop and
//! vectorised with that copy's instruction set.
//!
//! Large slices (from [`PARALLEL_MIN`] elements) are cut into fixed chunks of
//! [`CHUNK`] elements, dealt out to the threads of the crew (`tensor::crew`) in runs of
//! consecutive chunks; every output element is computed by
//! the same code whichever thread runs it, so results do not depend on the thread
//! count or on scheduling.
//!
//! The `unsafe` of this module is confined to the three functions that need it: calls
//! of `#[target_feature]` functions after the feature check, and `Vec::set_len` after
//! every element has been written.

use std::mem::MaybeUninit;

use crate::Element;

/// Slices at least this long are split over rayon's threads (below it, waking a second
/// thread costs more than it saves).
pub(crate) const PARALLEL_MIN: usize = 1 << 16;

/// Elements per parallel task: 64 KiB of f32, so a task's inputs and output stay in L2.
pub(crate) const CHUNK: usize = 1 << 14;

/// Outputs at least this long are written with streaming (non-temporal) stores where
/// the CPU has AVX-512: 8 MiB of f32, more than a core's share of a typical L3, so the
/// output would be evicted before anything reads it again anyway. A normal store first
/// reads the line it writes (write-allocate), so a loop that reads one tensor and
/// writes another moves three lines per line of output; a streaming store skips that
/// read, a third of the memory traffic of `y = f(x)`, and these loops are
/// memory-bound once the activation is cheap.
pub(crate) const STREAM_MIN: usize = 1 << 21;

/// Elements per block of a staged loop: a kernel that splits its work in two (its
/// `STAGED` is true) has its first stage run over a block of this many elements before
/// the second stage runs over the same block, the first stage's results (512 bytes of
/// f64) waiting in L1.
///
/// Why split: the vectorised activations (`ops::activation::lanes`) are bound by the
/// length of their chains of dependent instructions, not by how many instructions the
/// core can issue: the out-of-order window holds too few iterations to hide a chain of
/// 80 cycles (an exponential, then a division). Two loops with half the chain each keep
/// twice as many iterations in flight. The logistic's value and slope over 4,096 f32
/// values took 0.51 ns per element as one loop and 0.39 split after the exponential
/// (Zen 5, one thread, in L1/L2).
pub(crate) const BLOCK: usize = 64;

/// `T -> T`, one element (f32 unless said otherwise).
pub(crate) trait Unary<T = f32>: Copy + Send + Sync {
    /// Whether loops call [`start`](Unary::start) and [`finish`](Unary::finish) block
    /// by block (see [`BLOCK`]) instead of [`eval`](Unary::eval).
    const STAGED: bool = false;
    /// Whether `eval` calls a library function (`exp`, `ln`, an activation's scalar
    /// formula): the dispatch then takes the baseline loop. In the AVX-512 loops every
    /// call spills the vector registers: selu's gradient took 12.9 ns per element
    /// there against 8.8.
    const CALLS: bool = false;
    fn eval(self, x: T) -> T;
    /// The first stage of `eval` (called only when `STAGED`).
    #[inline(always)]
    fn start(self, x: T) -> f64 {
        let _ = x;
        0.0
    }
    /// The rest of `eval`, given `start(x)`: the bits of `eval(x)`.
    #[inline(always)]
    fn finish(self, x: T, started: f64) -> T {
        let _ = started;
        self.eval(x)
    }
    /// Redoes, more precisely, the first stages of a block's elements that need it:
    /// called after `start` over a block, before `finish` (for an activation whose
    /// cheap first stage is not precise enough everywhere, `Lanes::REFINE_NEAR`). The
    /// default does nothing.
    #[inline(always)]
    fn refine(self, x: &[T], started: &mut [f64]) {
        let _ = (x, started);
    }
}

/// `(A, B) -> A`, one element; both f32 unless said otherwise (the second operand an
/// f64 slope kept by an activation's forward pass; both f64 for f64 tensors). Staged
/// as [`Unary`].
pub(crate) trait Binary<B = f32, A = f32>: Copy + Send + Sync {
    const STAGED: bool = false;
    /// As [`Unary::CALLS`].
    const CALLS: bool = false;
    fn eval(self, a: A, b: B) -> A;
    #[inline(always)]
    fn start(self, a: A, b: B) -> f64 {
        let _ = (a, b);
        0.0
    }
    #[inline(always)]
    fn finish(self, a: A, b: B, started: f64) -> A {
        let _ = started;
        self.eval(a, b)
    }
    #[inline(always)]
    fn refine(self, a: &[A], b: &[B], started: &mut [f64]) {
        let _ = (a, b, started);
    }
}

/// `(T, T, T) -> T`, one element (the fused gradients of the scalar activations,
/// `g f'(x, y)`, and `where`). Not staged.
pub(crate) trait Ternary<T>: Copy + Send + Sync {
    /// As [`Unary::CALLS`].
    const CALLS: bool = false;
    fn eval(self, a: T, b: T, c: T) -> T;
}

/// `f32 -> (f32, f64)`, one element: two results of one evaluation. Staged as
/// [`Unary`].
pub(crate) trait Pair: Copy + Send + Sync {
    const STAGED: bool = false;
    /// As [`Unary::CALLS`].
    const CALLS: bool = false;
    fn eval(self, x: f32) -> (f32, f64);
    #[inline(always)]
    fn start(self, x: f32) -> f64 {
        let _ = x;
        0.0
    }
    #[inline(always)]
    fn finish(self, x: f32, started: f64) -> (f32, f64) {
        let _ = started;
        self.eval(x)
    }
    #[inline(always)]
    fn refine(self, x: &[f32], started: &mut [f64]) {
        let _ = (x, started);
    }
}

/// `k(x)` for every element of an f64 slice, in a new vector, on the calling thread
/// (the probes' derivative estimate works on one layer at a time on a thread of its
/// own; the f64 activations run on tensors of a study's batch).
pub(crate) fn map_f64<K: Unary<f64>>(x: &[f64], k: K) -> Vec<f64> {
    map_on_caller(x, k)
}

/// `k(x)` for every element of a slice of either float type, in a new vector, on the
/// calling thread: for cheap kernels, where waking a second thread costs more than it
/// saves (and, on the VM these were measured on, a spinning helper slows the
/// memory-bound work of the caller's core).
pub(crate) fn map_on_caller<T: Element, K: Unary<T>>(x: &[T], k: K) -> Vec<T> {
    fill_here(x.len(), |dst| map_here(k, x, dst))
}

/// `k(a, b)` for every pair of elements of two f64 slices of one length, in a new
/// vector, on the calling thread (as [`map_f64`]).
pub(crate) fn zip_f64<K: Binary<f64, f64>>(a: &[f64], b: &[f64], k: K) -> Vec<f64> {
    debug_assert_eq!(a.len(), b.len());
    let n = a.len().min(b.len());
    fill_here(n, |dst| zip_here(k, &a[..n], &b[..n], dst))
}

/// `a := k(a, b)` elementwise over two f64 slices of one length, on the calling thread.
pub(crate) fn zip_assign_f64<K: Binary<f64, f64>>(a: &mut [f64], b: &[f64], k: K) {
    zip_assign_on_caller(a, b, k)
}

/// `a := k(a, b)` elementwise over two slices of one length, on the calling thread (a
/// row of a softmax: short, in L1). `a` may hold pairs (a column's best value and its
/// row, for the softmax's top mask).
pub(crate) fn zip_assign_on_caller<A: Copy, B: Copy, K: Binary<B, A>>(a: &mut [A], b: &[B], k: K) {
    debug_assert_eq!(a.len(), b.len());
    zip_assign_chunk(k, a, b)
}

/// `k(x)` for every element of `x`, in a new vector.
pub(crate) fn map<K: Unary>(x: &[f32], k: K) -> Vec<f32> {
    let stream = x.len() >= STREAM_MIN;
    fill(x.len(), |start, dst| {
        map_chunk(k, &x[start..start + dst.len()], dst, stream)
    })
}

/// `k(a, b)` for every pair of elements of two slices of one length, in a new vector.
pub(crate) fn zip<B: Copy + Sync, K: Binary<B>>(a: &[f32], b: &[B], k: K) -> Vec<f32> {
    debug_assert_eq!(a.len(), b.len());
    let n = a.len().min(b.len());
    let stream = n >= STREAM_MIN;
    fill(n, |start, dst| {
        let end = start + dst.len();
        zip_chunk(k, &a[start..end], &b[start..end], dst, stream)
    })
}

/// `a := k(a, b)` elementwise over two slices of one length, in place.
pub(crate) fn zip_assign<B: Copy + Sync, K: Binary<B>>(a: &mut [f32], b: &[B], k: K) {
    debug_assert_eq!(a.len(), b.len());
    let n = a.len().min(b.len());
    let (a, b) = (&mut a[..n], &b[..n]);
    if n >= PARALLEL_MIN {
        super::crew::for_each(a.chunks_mut(CHUNK).zip(b.chunks(CHUNK)), |(a, b)| {
            zip_assign_chunk(k, a, b)
        });
    } else {
        zip_assign_chunk(k, a, b);
    }
}

/// Both results of `k(x)` for every element of `x`, in two new vectors.
pub(crate) fn map_pair<K: Pair>(x: &[f32], k: K) -> (Vec<f32>, Vec<f64>) {
    let n = x.len();
    let stream = n >= STREAM_MIN;
    let mut first: Vec<f32> = super::pool::take(n);
    let mut second: Vec<f64> = super::pool::take(n);
    {
        let a = &mut first.spare_capacity_mut()[..n];
        let b = &mut second.spare_capacity_mut()[..n];
        if n >= PARALLEL_MIN {
            super::crew::for_each(
                a.chunks_mut(CHUNK)
                    .zip(b.chunks_mut(CHUNK))
                    .zip(x.chunks(CHUNK)),
                |((a, b), x)| map_pair_chunk(k, x, a, b, stream),
            );
        } else {
            map_pair_chunk(k, x, a, b, stream);
        }
    }
    assume_written(&mut first, n);
    assume_written(&mut second, n);
    (first, second)
}

/// `set_len(n)` on a vector whose first `n` elements the caller has written.
#[expect(
    unsafe_code,
    reason = "set_len after every element is written (map_pair's two outputs, fill_here's one)"
)]
fn assume_written<T>(v: &mut Vec<T>, n: usize) {
    debug_assert!(v.capacity() >= n);
    // SAFETY: called by `map_pair` and `fill_here` only, after the loops have written
    // every element of `spare[..n]` (the chunks partition it, or it is passed whole,
    // and each loop writes every element of the slice it is given once).
    unsafe { v.set_len(n) };
}

/// `dst[i] = k(x[i])` on the calling thread, through the widest loops the CPU has.
pub(crate) fn map_into<T: Copy, K: Unary<T>>(k: K, x: &[T], dst: &mut [MaybeUninit<T>]) {
    map_here(k, x, dst)
}

/// `dst[i] = k(a[i], b[i])` on the calling thread, through the widest loops the CPU has.
pub(crate) fn zip_into<T: Copy, K: Binary<T, T>>(
    k: K,
    a: &[T],
    b: &[T],
    dst: &mut [MaybeUninit<T>],
) {
    zip_here(k, a, b, dst)
}

/// A vector of `n` elements, all written by `write` on the calling thread (a buffer
/// from the pool when one fits).
pub(crate) fn fill_here<T: Element>(n: usize, write: impl FnOnce(&mut [MaybeUninit<T>])) -> Vec<T> {
    let mut out: Vec<T> = super::pool::take(n);
    write(&mut out.spare_capacity_mut()[..n]);
    assume_written(&mut out, n);
    out
}

/// A vector of `n` elements, each written by `write(start, chunk)`, which must write
/// every element of the chunk it is given (`chunk` starts at element `start`); on the
/// crew's threads from [`PARALLEL_MIN`] elements.
pub(crate) fn fill<T: Element>(
    n: usize,
    write: impl Fn(usize, &mut [MaybeUninit<T>]) + Sync,
) -> Vec<T> {
    fill_in_chunks(n, CHUNK, write)
}

/// [`fill`] for data made of rows of `len` elements that are computed whole (a
/// softmax's): every chunk holds whole rows, as near [`CHUNK`] elements as rows allow.
pub(crate) fn fill_rows<T: Element>(
    n: usize,
    len: usize,
    write: impl Fn(usize, &mut [MaybeUninit<T>]) + Sync,
) -> Vec<T> {
    fill_in_chunks(n, (CHUNK / len.max(1)).max(1) * len.max(1), write)
}

/// [`fill`] with chunks of `chunk` elements.
#[expect(
    unsafe_code,
    reason = "the output is written once without being zeroed first; set_len after every element is written"
)]
fn fill_in_chunks<T: Element>(
    n: usize,
    chunk: usize,
    write: impl Fn(usize, &mut [MaybeUninit<T>]) + Sync,
) -> Vec<T> {
    let mut out: Vec<T> = super::pool::take(n);
    let dst = &mut out.spare_capacity_mut()[..n];
    if n >= PARALLEL_MIN {
        super::crew::for_each(dst.chunks_mut(chunk).enumerate(), |(i, part)| {
            write(i * chunk, part)
        });
    } else {
        write(0, dst);
    }
    // SAFETY: the capacity is at least `n`, and `write` has initialised every element
    // of `dst = spare[..n]`: the chunks partition it (or `dst` is passed whole), and
    // every caller's `write` (`map_chunk`, `zip_chunk`, the index-map gather, the
    // softmax rows) writes each element of the chunk it is given exactly once (their
    // loops run over the whole chunk; the input slices are at least as long).
    unsafe { out.set_len(n) };
    out
}

/// Calls the copy of loop `$body` for the widest instruction set the CPU has, or the
/// baseline copy for a kernel that calls a library function. The calling function's
/// kernel type parameter must be named `K` (its `CALLS` decides).
macro_rules! dispatch {
    ($body:ident ($($arg:expr),*)) => {{
        #[cfg(target_arch = "x86_64")]
        if !K::CALLS {
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU supports AVX-512F (checked just above), which also
                // implies AVX2 and FMA on every CPU that has it; the function is compiled
                // for exactly those features.
                return unsafe { avx512::$body($($arg),*) };
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                // SAFETY: the CPU supports AVX2 and FMA (checked just above).
                return unsafe { avx2::$body($($arg),*) };
            }
        }
        generic::$body($($arg),*)
    }};
}

#[expect(
    unsafe_code,
    reason = "calls the #[target_feature] copy of the loop after checking the CPU has the feature"
)]
fn map_here<T: Copy, K: Unary<T>>(k: K, x: &[T], dst: &mut [MaybeUninit<T>]) {
    dispatch!(map(k, x, dst))
}

#[expect(
    unsafe_code,
    reason = "calls the #[target_feature] copy of the loop after checking the CPU has the feature"
)]
fn zip_here<A: Copy, B: Copy, K: Binary<B, A>>(k: K, a: &[A], b: &[B], dst: &mut [MaybeUninit<A>]) {
    dispatch!(zip(k, a, b, dst))
}

#[expect(
    unsafe_code,
    reason = "calls the #[target_feature] copy of the loop after checking the CPU has the feature"
)]
fn map_chunk<K: Unary>(k: K, x: &[f32], dst: &mut [MaybeUninit<f32>], stream: bool) {
    #[cfg(target_arch = "x86_64")]
    if stream && !K::CALLS && std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU supports AVX-512F (checked just above).
        return unsafe { avx512::map_stream(k, x, dst) };
    }
    let _ = stream;
    map_here(k, x, dst)
}

#[expect(
    unsafe_code,
    reason = "calls the #[target_feature] copy of the loop after checking the CPU has the feature"
)]
fn map_pair_chunk<K: Pair>(
    k: K,
    x: &[f32],
    a: &mut [MaybeUninit<f32>],
    b: &mut [MaybeUninit<f64>],
    stream: bool,
) {
    #[cfg(target_arch = "x86_64")]
    if stream && !K::CALLS && std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU supports AVX-512F (checked just above).
        return unsafe { avx512::map_pair_stream(k, x, a, b) };
    }
    let _ = stream;
    dispatch!(map_pair(k, x, a, b))
}

#[expect(
    unsafe_code,
    reason = "calls the #[target_feature] copy of the loop after checking the CPU has the feature"
)]
fn zip_assign_chunk<A: Copy, B: Copy, K: Binary<B, A>>(k: K, a: &mut [A], b: &[B]) {
    dispatch!(zip_assign(k, a, b))
}

/// `a[i] = k(a[i])` on the calling thread, through the widest loops the CPU has.
#[expect(
    unsafe_code,
    reason = "calls the #[target_feature] copy of the loop after checking the CPU has the feature"
)]
pub(crate) fn map_assign<T: Copy, K: Unary<T>>(k: K, a: &mut [T]) {
    dispatch!(map_assign(k, a))
}

/// `dst[i] = k(a[i], b[i], c[i])` on the calling thread, through the widest loops the
/// CPU has.
#[expect(
    unsafe_code,
    reason = "calls the #[target_feature] copy of the loop after checking the CPU has the feature"
)]
pub(crate) fn zip3_into<T: Copy, K: Ternary<T>>(
    k: K,
    a: &[T],
    b: &[T],
    c: &[T],
    dst: &mut [MaybeUninit<T>],
) {
    dispatch!(zip3(k, a, b, c, dst))
}

/// `a[i] = k(a[i], b[i], c[i])` on the calling thread, through the widest loops the
/// CPU has.
#[expect(
    unsafe_code,
    reason = "calls the #[target_feature] copy of the loop after checking the CPU has the feature"
)]
pub(crate) fn zip3_assign<T: Copy, K: Ternary<T>>(k: K, a: &mut [T], b: &[T], c: &[T]) {
    dispatch!(zip3_assign(k, a, b, c))
}

#[expect(
    unsafe_code,
    reason = "calls the #[target_feature] copy of the loop after checking the CPU has the feature"
)]
fn zip_chunk<B: Copy, K: Binary<B>>(
    k: K,
    a: &[f32],
    b: &[B],
    dst: &mut [MaybeUninit<f32>],
    stream: bool,
) {
    #[cfg(target_arch = "x86_64")]
    if stream && !K::CALLS && std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU supports AVX-512F (checked just above).
        return unsafe { avx512::zip_stream(k, a, b, dst) };
    }
    let _ = stream;
    zip_here(k, a, b, dst)
}

/// The loops, written once; each module below compiles them for one instruction set.
macro_rules! loops {
    ($(#[$attr:meta])* ; $($unsafety:tt)?) => {
        use std::mem::MaybeUninit;

        use super::{Binary, Pair, Ternary, Unary};

        $(#[$attr])*
        pub(super) $($unsafety)? fn map<T: Copy, K: Unary<T>>(
            k: K,
            x: &[T],
            dst: &mut [MaybeUninit<T>],
        ) {
            if K::STAGED {
                let mut started = [0.0f64; super::BLOCK];
                for (dst, x) in dst.chunks_mut(super::BLOCK).zip(x.chunks(super::BLOCK)) {
                    for (s, &v) in started.iter_mut().zip(x) {
                        *s = k.start(v);
                    }
                    k.refine(x, &mut started[..x.len()]);
                    for ((o, &v), &s) in dst.iter_mut().zip(x).zip(&started) {
                        o.write(k.finish(v, s));
                    }
                }
                return;
            }
            for (o, &v) in dst.iter_mut().zip(x) {
                o.write(k.eval(v));
            }
        }

        $(#[$attr])*
        pub(super) $($unsafety)? fn zip<A: Copy, B: Copy, K: Binary<B, A>>(
            k: K,
            a: &[A],
            b: &[B],
            dst: &mut [MaybeUninit<A>],
        ) {
            if K::STAGED {
                let mut started = [0.0f64; super::BLOCK];
                for ((dst, a), b) in dst
                    .chunks_mut(super::BLOCK)
                    .zip(a.chunks(super::BLOCK))
                    .zip(b.chunks(super::BLOCK))
                {
                    for ((s, &u), &v) in started.iter_mut().zip(a).zip(b) {
                        *s = k.start(u, v);
                    }
                    k.refine(a, b, &mut started[..a.len().min(b.len())]);
                    for (((o, &u), &v), &s) in dst.iter_mut().zip(a).zip(b).zip(&started) {
                        o.write(k.finish(u, v, s));
                    }
                }
                return;
            }
            for ((o, &u), &v) in dst.iter_mut().zip(a).zip(b) {
                o.write(k.eval(u, v));
            }
        }

        $(#[$attr])*
        pub(super) $($unsafety)? fn zip_assign<A: Copy, B: Copy, K: Binary<B, A>>(
            k: K,
            a: &mut [A],
            b: &[B],
        ) {
            if K::STAGED {
                let mut started = [0.0f64; super::BLOCK];
                for (a, b) in a.chunks_mut(super::BLOCK).zip(b.chunks(super::BLOCK)) {
                    for ((s, &u), &v) in started.iter_mut().zip(a.iter()).zip(b) {
                        *s = k.start(u, v);
                    }
                    k.refine(a, b, &mut started[..a.len().min(b.len())]);
                    for ((u, &v), &s) in a.iter_mut().zip(b).zip(&started) {
                        *u = k.finish(*u, v, s);
                    }
                }
                return;
            }
            for (u, &v) in a.iter_mut().zip(b) {
                *u = k.eval(*u, v);
            }
        }

        $(#[$attr])*
        pub(super) $($unsafety)? fn map_assign<T: Copy, K: Unary<T>>(k: K, a: &mut [T]) {
            for u in a.iter_mut() {
                *u = k.eval(*u);
            }
        }

        $(#[$attr])*
        pub(super) $($unsafety)? fn zip3<T: Copy, K: Ternary<T>>(
            k: K,
            a: &[T],
            b: &[T],
            c: &[T],
            dst: &mut [MaybeUninit<T>],
        ) {
            for (((o, &u), &v), &w) in dst.iter_mut().zip(a).zip(b).zip(c) {
                o.write(k.eval(u, v, w));
            }
        }

        $(#[$attr])*
        pub(super) $($unsafety)? fn zip3_assign<T: Copy, K: Ternary<T>>(
            k: K,
            a: &mut [T],
            b: &[T],
            c: &[T],
        ) {
            for ((u, &v), &w) in a.iter_mut().zip(b).zip(c) {
                *u = k.eval(*u, v, w);
            }
        }

        $(#[$attr])*
        pub(super) $($unsafety)? fn map_pair<K: Pair>(
            k: K,
            x: &[f32],
            a: &mut [MaybeUninit<f32>],
            b: &mut [MaybeUninit<f64>],
        ) {
            if K::STAGED {
                let mut started = [0.0f64; super::BLOCK];
                for ((a, b), x) in a
                    .chunks_mut(super::BLOCK)
                    .zip(b.chunks_mut(super::BLOCK))
                    .zip(x.chunks(super::BLOCK))
                {
                    for (s, &v) in started.iter_mut().zip(x) {
                        *s = k.start(v);
                    }
                    k.refine(x, &mut started[..x.len()]);
                    for (((o, p), &v), &s) in a.iter_mut().zip(b.iter_mut()).zip(x).zip(&started) {
                        let (first, second) = k.finish(v, s);
                        o.write(first);
                        p.write(second);
                    }
                }
                return;
            }
            for ((o, p), &v) in a.iter_mut().zip(b.iter_mut()).zip(x) {
                let (first, second) = k.eval(v);
                o.write(first);
                p.write(second);
            }
        }
    };
}

mod generic {
    loops!(;);
}

#[cfg(target_arch = "x86_64")]
#[expect(
    unsafe_code,
    reason = "#[target_feature] functions are unsafe to call before Rust 1.86"
)]
mod avx2 {
    loops!(#[target_feature(enable = "avx2,fma")]; unsafe);
}

#[cfg(target_arch = "x86_64")]
#[expect(
    unsafe_code,
    reason = "#[target_feature] functions are unsafe to call before Rust 1.86"
)]
mod avx512 {
    loops!(#[target_feature(enable = "avx512f,avx2,fma")]; unsafe);

    use std::arch::x86_64::{
        _mm_sfence, _mm512_loadu_pd, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_stream_pd,
        _mm512_stream_ps,
    };

    /// f32 lanes of a 512-bit register; a streaming store writes one 64-byte line.
    const LANES: usize = 16;

    /// The elements [`map_stream`] computes through [`map`]'s loop into a buffer on
    /// the stack before streaming them out: the loop vectoriser then takes every
    /// kernel. (Sixteen evaluations unrolled into one line were left to the SLP
    /// vectoriser, which in a build of 16 codegen units left elu's scalar: 4.9 ns per
    /// element against 0.67.) 256: with 64, relu's W3 step took 0.30 ns per element at
    /// one thread against 0.27 unrolled; with 256, 0.27-0.29.
    const STREAM_BLOCK: usize = 4 * super::BLOCK;

    /// The elements of `dst` before its first 64-byte boundary (all of it if shorter).
    fn head(dst: &[MaybeUninit<f32>]) -> usize {
        dst.as_ptr().align_offset(64).min(dst.len())
    }

    /// [`map`] with streaming stores (see `STREAM_MIN`): the aligned middle of `dst` is
    /// computed 256 elements at a time by [`map`] into a buffer on the stack, whose
    /// lines are then written with non-temporal stores; the unaligned ends go through
    /// [`map`]. Over single lines of 16, the staged silu's second stage did not
    /// vectorise, nor, in a build of 16 codegen units, elu (below).
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) unsafe fn map_stream<K: Unary>(k: K, x: &[f32], dst: &mut [MaybeUninit<f32>]) {
        let n = dst.len().min(x.len());
        let h = head(&dst[..n]);
        let end = h + (n - h) / LANES * LANES;
        // SAFETY (all blocks): this function's features are enabled; every streamed
        // line lies inside `dst[h..end]`, 64-byte aligned by the choice of `h`, and a
        // line streamed from `block` has just been written there by `map`.
        unsafe { map(k, &x[..h], &mut dst[..h]) };
        let mut block = [MaybeUninit::new(0.0f32); STREAM_BLOCK];
        for (o, v) in dst[h..end]
            .chunks_mut(STREAM_BLOCK)
            .zip(x[h..end].chunks(STREAM_BLOCK))
        {
            let block = &mut block[..v.len()];
            unsafe { map(k, v, block) };
            unsafe { stream_lines(o, block) };
        }
        unsafe { map(k, &x[end..n], &mut dst[end..n]) };
        // Streaming stores are weakly ordered: fence them before the task reports done
        // and another thread reads the output.
        _mm_sfence();
    }

    /// [`map_pair`] with streaming stores. The middle of the outputs starts at the
    /// first element where the f64 output (two lines per 16 elements, two thirds of the
    /// bytes written) is 64-byte aligned; the f32 output is streamed too where that
    /// element is also aligned in it, else written with ordinary stores (large
    /// allocations start 16 bytes past a page boundary, and the two outputs can then
    /// never be aligned together). Unlike [`map_stream`], each line is stored from the
    /// registers it is computed in, with no buffer between: through a buffer, the
    /// logistic's W3 step took 0.84 ns per element instead of 0.72 at one thread. A
    /// staged kernel's first stage still runs a block ahead.
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) unsafe fn map_pair_stream<K: Pair>(
        k: K,
        x: &[f32],
        a: &mut [MaybeUninit<f32>],
        b: &mut [MaybeUninit<f64>],
    ) {
        let n = a.len().min(b.len()).min(x.len());
        let h = b[..n].as_ptr().align_offset(64).min(n);
        let end = h + (n - h) / LANES * LANES;
        let a_aligned = a[h..end].as_ptr().align_offset(64) == 0;
        let mut started = [0.0f64; super::BLOCK];
        // SAFETY (all blocks): this function's features are enabled; every streamed
        // line lies inside `b[h..end]` (64-byte aligned by the choice of `h`) or, when
        // `a_aligned`, inside `a[h..end]`; the ordinary stores write `a[h..end]`.
        unsafe { map_pair(k, &x[..h], &mut a[..h], &mut b[..h]) };
        for ((o, p), v) in a[h..end]
            .chunks_mut(super::BLOCK)
            .zip(b[h..end].chunks_mut(super::BLOCK))
            .zip(x[h..end].chunks(super::BLOCK))
        {
            if K::STAGED {
                for (s, &u) in started.iter_mut().zip(v) {
                    *s = k.start(u);
                }
                k.refine(v, &mut started[..v.len()]);
            }
            for (((o, p), v), st) in o
                .chunks_exact_mut(LANES)
                .zip(p.chunks_exact_mut(LANES))
                .zip(v.chunks_exact(LANES))
                .zip(started.chunks_exact(LANES))
            {
                let mut first = [0.0f32; LANES];
                let mut second = [0.0f64; LANES];
                for (((f, s), &u), &t) in first.iter_mut().zip(second.iter_mut()).zip(v).zip(st) {
                    (*f, *s) = if K::STAGED { k.finish(u, t) } else { k.eval(u) };
                }
                let line = unsafe { _mm512_loadu_ps(first.as_ptr()) };
                if a_aligned {
                    unsafe { _mm512_stream_ps(o.as_mut_ptr().cast(), line) };
                } else {
                    unsafe { _mm512_storeu_ps(o.as_mut_ptr().cast(), line) };
                }
                unsafe {
                    _mm512_stream_pd(p.as_mut_ptr().cast(), _mm512_loadu_pd(second.as_ptr()));
                    _mm512_stream_pd(
                        p[LANES / 2..].as_mut_ptr().cast(),
                        _mm512_loadu_pd(second[LANES / 2..].as_ptr()),
                    );
                }
            }
        }
        unsafe { map_pair(k, &x[end..n], &mut a[end..n], &mut b[end..n]) };
        _mm_sfence();
    }

    /// [`zip`] with streaming stores, as [`map_stream`].
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) unsafe fn zip_stream<B: Copy, K: Binary<B>>(
        k: K,
        a: &[f32],
        b: &[B],
        dst: &mut [MaybeUninit<f32>],
    ) {
        let n = dst.len().min(a.len()).min(b.len());
        let h = head(&dst[..n]);
        let end = h + (n - h) / LANES * LANES;
        // SAFETY: as in map_stream.
        unsafe { zip(k, &a[..h], &b[..h], &mut dst[..h]) };
        if K::STAGED {
            let mut block = [MaybeUninit::new(0.0f32); super::BLOCK];
            for ((o, u), v) in dst[h..end]
                .chunks_mut(super::BLOCK)
                .zip(a[h..end].chunks(super::BLOCK))
                .zip(b[h..end].chunks(super::BLOCK))
            {
                let block = &mut block[..u.len()];
                unsafe { zip(k, u, v, block) };
                unsafe { stream_lines(o, block) };
            }
        } else {
            for ((o, u), v) in dst[h..end]
                .chunks_exact_mut(LANES)
                .zip(a[h..end].chunks_exact(LANES))
                .zip(b[h..end].chunks_exact(LANES))
            {
                let mut line = [0.0f32; LANES];
                for ((l, &p), &q) in line.iter_mut().zip(u).zip(v) {
                    *l = k.eval(p, q);
                }
                unsafe { stream_line(o, &line) };
            }
        }
        unsafe { zip(k, &a[end..n], &b[end..n], &mut dst[end..n]) };
        _mm_sfence();
    }

    /// Writes `line` to the 64-byte line `dst` with one non-temporal store.
    ///
    /// # Safety
    /// `dst` must be 64-byte aligned and 16 elements long, and the CPU must have
    /// AVX-512F.
    #[inline]
    #[target_feature(enable = "avx512f,avx2,fma")]
    unsafe fn stream_line(dst: &mut [MaybeUninit<f32>], line: &[f32; LANES]) {
        debug_assert_eq!(dst.len(), LANES);
        unsafe { _mm512_stream_ps(dst.as_mut_ptr().cast(), _mm512_loadu_ps(line.as_ptr())) };
    }

    /// Writes `src` to `dst` one 64-byte line per non-temporal store.
    ///
    /// # Safety
    /// `dst` must be 64-byte aligned, `src` initialised, both of one length, a multiple
    /// of 16, and the CPU must have AVX-512F.
    #[inline]
    #[target_feature(enable = "avx512f,avx2,fma")]
    unsafe fn stream_lines(dst: &mut [MaybeUninit<f32>], src: &[MaybeUninit<f32>]) {
        debug_assert!(dst.len() == src.len() && dst.len().is_multiple_of(LANES));
        for (line, src) in dst.chunks_exact_mut(LANES).zip(src.chunks_exact(LANES)) {
            unsafe {
                _mm512_stream_ps(
                    line.as_mut_ptr().cast(),
                    _mm512_loadu_ps(src.as_ptr().cast()),
                )
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy)]
    struct Affine;
    impl Unary for Affine {
        #[inline(always)]
        fn eval(self, x: f32) -> f32 {
            ((x as f64) * 1.5 + 0.25).exp().ln() as f32
        }
    }

    #[derive(Clone, Copy)]
    struct ExpAndSquare;
    impl Pair for ExpAndSquare {
        #[inline(always)]
        fn eval(self, x: f32) -> (f32, f64) {
            let x = x as f64;
            ((x * 0.5 - 1.0) as f32, x * x + 1e-9)
        }
    }

    #[derive(Clone, Copy)]
    struct Wide;
    impl Binary<f64> for Wide {
        #[inline(always)]
        fn eval(self, a: f32, b: f64) -> f32 {
            (a as f64 * b) as f32
        }
    }

    #[derive(Clone, Copy)]
    struct Prod;
    impl Binary for Prod {
        #[inline(always)]
        fn eval(self, a: f32, b: f32) -> f32 {
            a * b - 1.0
        }
    }

    /// A kernel in two stages (see [`BLOCK`]) for every loop shape; `eval` is the two
    /// stages in a row, what every loop must reproduce bit for bit.
    #[derive(Clone, Copy)]
    struct Staged;
    impl Unary for Staged {
        const STAGED: bool = true;
        #[inline(always)]
        fn eval(self, x: f32) -> f32 {
            Unary::finish(self, x, Unary::start(self, x))
        }
        #[inline(always)]
        fn start(self, x: f32) -> f64 {
            (x as f64 * 0.7).exp()
        }
        #[inline(always)]
        fn finish(self, x: f32, started: f64) -> f32 {
            (started - x as f64) as f32
        }
    }
    impl Binary for Staged {
        const STAGED: bool = true;
        #[inline(always)]
        fn eval(self, a: f32, b: f32) -> f32 {
            Binary::finish(self, a, b, Binary::start(self, a, b))
        }
        #[inline(always)]
        fn start(self, _a: f32, b: f32) -> f64 {
            (b as f64 * 0.3).exp()
        }
        #[inline(always)]
        fn finish(self, a: f32, _b: f32, started: f64) -> f32 {
            (a as f64 * started) as f32
        }
    }
    impl Pair for Staged {
        const STAGED: bool = true;
        #[inline(always)]
        fn eval(self, x: f32) -> (f32, f64) {
            Pair::finish(self, x, Pair::start(self, x))
        }
        #[inline(always)]
        fn start(self, x: f32) -> f64 {
            (x as f64 * 0.5).exp()
        }
        #[inline(always)]
        fn finish(self, x: f32, started: f64) -> (f32, f64) {
            ((started - 1.0) as f32, started * x as f64)
        }
    }
    impl Unary<f64> for Staged {
        const STAGED: bool = true;
        #[inline(always)]
        fn eval(self, x: f64) -> f64 {
            Unary::<f64>::finish(self, x, Unary::<f64>::start(self, x))
        }
        #[inline(always)]
        fn start(self, x: f64) -> f64 {
            (x * 0.9).exp()
        }
        #[inline(always)]
        fn finish(self, x: f64, started: f64) -> f64 {
            started / (1.0 + x * x)
        }
    }

    impl Binary<f64, f64> for Staged {
        const STAGED: bool = true;
        #[inline(always)]
        fn eval(self, a: f64, b: f64) -> f64 {
            Binary::<f64, f64>::finish(self, a, b, Binary::<f64, f64>::start(self, a, b))
        }
        #[inline(always)]
        fn start(self, _a: f64, b: f64) -> f64 {
            (b * 0.4).exp()
        }
        #[inline(always)]
        fn finish(self, a: f64, _b: f64, started: f64) -> f64 {
            a * started
        }
    }

    /// The staged loops pair each element with its own first stage: every length (not a
    /// multiple of the block, the chunk or the vector width; parallel; streaming) gives
    /// `eval`'s bits.
    #[test]
    fn staged_loops_give_the_two_stages_of_each_element() {
        for n in [
            0usize,
            1,
            BLOCK - 1,
            BLOCK + 17,
            3 * BLOCK + 5,
            PARALLEL_MIN + CHUNK + 13,
            STREAM_MIN + 13,
        ] {
            let x: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin() * 3.0).collect();
            let y: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
            let want_map: Vec<f32> = x.iter().map(|&v| Unary::eval(Staged, v)).collect();
            assert_eq!(map(&x, Staged), want_map, "map, n = {n}");
            let want: Vec<f32> = x
                .iter()
                .zip(&y)
                .map(|(&a, &b)| Binary::eval(Staged, a, b))
                .collect();
            assert_eq!(zip(&x, &y, Staged), want, "zip, n = {n}");
            for (isa, got_map, got_zip) in each_instruction_set(Staged, Staged, &x, &y) {
                assert_eq!(got_map, want_map, "map, {isa}, n = {n}");
                assert_eq!(got_zip, want, "zip, {isa}, n = {n}");
            }
            let mut z = x.clone();
            zip_assign(&mut z, &y, Staged);
            assert_eq!(z, want, "zip_assign, n = {n}");
            let want: (Vec<f32>, Vec<f64>) = x.iter().map(|&v| Pair::eval(Staged, v)).unzip();
            assert_eq!(map_pair(&x, Staged), want, "map_pair, n = {n}");
            let wide: Vec<f64> = x.iter().map(|&v| v as f64).collect();
            let want: Vec<f64> = wide
                .iter()
                .map(|&v| Unary::<f64>::eval(Staged, v))
                .collect();
            assert_eq!(map_f64(&wide, Staged), want, "map_f64, n = {n}");
            let other: Vec<f64> = y.iter().map(|&v| v as f64).collect();
            let want: Vec<f64> = wide
                .iter()
                .zip(&other)
                .map(|(&a, &b)| Binary::<f64, f64>::eval(Staged, a, b))
                .collect();
            assert_eq!(zip_f64(&wide, &other, Staged), want, "zip_f64, n = {n}");
            let mut z = wide.clone();
            zip_assign_f64(&mut z, &other, Staged);
            assert_eq!(z, want, "zip_assign_f64, n = {n}");
        }
    }

    #[test]
    fn every_instruction_set_and_every_split_gives_the_scalar_result() {
        // Lengths below, at and above the parallel threshold and above the streaming
        // one, and not multiples of
        // the chunk or of any vector width.
        for n in [
            0usize,
            1,
            7,
            33,
            1000,
            PARALLEL_MIN - 1,
            PARALLEL_MIN + CHUNK + 13,
            // The streaming-store path, with an unaligned tail.
            STREAM_MIN + 13,
        ] {
            let x: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin() * 3.0).collect();
            let y: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
            let want_map: Vec<f32> = x.iter().map(|&v| Affine.eval(v)).collect();
            let want_zip: Vec<f32> = x.iter().zip(&y).map(|(&a, &b)| Prod.eval(a, b)).collect();
            assert_eq!(map(&x, Affine), want_map, "map, n = {n}");
            assert_eq!(zip(&x, &y, Prod), want_zip, "zip, n = {n}");
            let mut z = x.clone();
            zip_assign(&mut z, &y, Prod);
            assert_eq!(z, want_zip, "zip_assign, n = {n}");
            let (first, second): (Vec<f32>, Vec<f64>) =
                x.iter().map(|&v| ExpAndSquare.eval(v)).unzip();
            assert_eq!(
                map_pair(&x, ExpAndSquare),
                (first, second.clone()),
                "map_pair, n = {n}"
            );
            let want_wide: Vec<f32> = y
                .iter()
                .zip(&second)
                .map(|(&g, &s)| Wide.eval(g, s))
                .collect();
            assert_eq!(zip(&y, &second, Wide), want_wide, "zip with f64, n = {n}");
            let mut w = y.clone();
            zip_assign(&mut w, &second, Wide);
            assert_eq!(w, want_wide, "zip_assign with f64, n = {n}");
            for (isa, got_map, got_zip) in each_instruction_set(Affine, Prod, &x, &y) {
                assert_eq!(got_map, want_map, "map, {isa}, n = {n}");
                assert_eq!(got_zip, want_zip, "zip, {isa}, n = {n}");
            }
        }
    }

    /// Both loops run by every copy this CPU can execute, whatever the dispatch picks.
    #[expect(
        unsafe_code,
        reason = "calls each #[target_feature] copy after checking the CPU has the feature"
    )]
    fn each_instruction_set<U: Unary, B: Binary>(
        u: U,
        b: B,
        x: &[f32],
        y: &[f32],
    ) -> Vec<(&'static str, Vec<f32>, Vec<f32>)> {
        type Out<'a> = &'a mut [MaybeUninit<f32>];
        let run = |f: &dyn Fn(Out<'_>, Out<'_>)| {
            let mut m = vec![MaybeUninit::new(f32::NAN); x.len()];
            let mut z = vec![MaybeUninit::new(f32::NAN); x.len()];
            f(&mut m, &mut z);
            // SAFETY: every element was initialised (with NaN) before the loops ran.
            let read = |v: Vec<MaybeUninit<f32>>| {
                v.into_iter().map(|e| unsafe { e.assume_init() }).collect()
            };
            (read(m), read(z))
        };
        let mut out = vec![];
        let (m, z) = run(&|m, z| {
            generic::map(u, x, m);
            generic::zip(b, x, y, z);
        });
        out.push(("baseline", m, z));
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                // SAFETY: the CPU has AVX2 and FMA (checked just above).
                let (m, z) = run(&|m, z| unsafe {
                    avx2::map(u, x, m);
                    avx2::zip(b, x, y, z);
                });
                out.push(("avx2", m, z));
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU has AVX-512F (checked just above).
                let (m, z) = run(&|m, z| unsafe {
                    avx512::map(u, x, m);
                    avx512::zip(b, x, y, z);
                });
                out.push(("avx512", m, z));
            }
        }
        out
    }
}
