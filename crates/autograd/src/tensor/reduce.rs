//! Reduction kernels (sum, max, min) over any set of axes.
//!
//! A set of axes is reduced as runs of adjacent axes, each run viewed as
//! `[outer, n, inner]`. Sums are blocked (pairwise within blocks of rows, lanes within a
//! row), so the rounding error grows like `log n` rather than `n`.

use super::{Storage, Tensor};
use crate::{Element, Error, Result, Shape};

/// Which reduction to apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reduce {
    /// Sum of the elements.
    Sum,
    /// Largest element (NaN propagates).
    Max,
    /// Smallest element (NaN propagates).
    Min,
}

impl Reduce {
    fn name(self) -> &'static str {
        match self {
            Reduce::Sum => "sum",
            Reduce::Max => "max",
            Reduce::Min => "min",
        }
    }
}

/// Reduces `t` over `axes` (resolved, sorted, distinct).
///
/// # Errors
/// [`Error::Shape`] for a max or min over an empty axis (there is no identity).
pub fn reduce(t: &Tensor, axes: &[usize], keepdim: bool, kind: Reduce) -> Result<Tensor> {
    if kind != Reduce::Sum && axes.iter().any(|&a| t.dims()[a] == 0) {
        return Err(Error::shape(
            kind.name(),
            &[t.shape()],
            "cannot reduce over an empty axis (there is no identity for max or min)",
        ));
    }
    let mut current = t.clone();
    let mut dims: Vec<usize> = t.dims().to_vec();
    // Runs of adjacent axes, last run first, so earlier axis indices stay valid.
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for &a in axes {
        match runs.last_mut() {
            Some((_, end)) if *end == a => *end = a + 1,
            _ => runs.push((a, a + 1)),
        }
    }
    for &(start, end) in runs.iter().rev() {
        let outer: usize = dims[..start].iter().product();
        let n: usize = dims[start..end].iter().product();
        let inner: usize = dims[end..].iter().product();
        for d in &mut dims[start..end] {
            *d = 1;
        }
        let shape = Shape::new(&dims);
        current = match current.storage_ref() {
            Storage::F32(v) => Tensor::from_kernel(reduce_run(v, outer, n, inner, kind), shape),
            Storage::F64(v) => Tensor::from_kernel(reduce_run(v, outer, n, inner, kind), shape),
        };
    }
    let out_shape = t.shape().reduced(axes, keepdim);
    current.reshape(out_shape)
}

/// Sum of every element, as a 0-D tensor.
pub fn sum_all(t: &Tensor) -> Tensor {
    match t.storage_ref() {
        Storage::F32(v) => Tensor::scalar(sum_contiguous(v)),
        Storage::F64(v) => Tensor::scalar(sum_contiguous(v)),
    }
}

fn reduce_run<T: Element>(v: &[T], outer: usize, n: usize, inner: usize, kind: Reduce) -> Vec<T> {
    if outer == 0 || inner == 0 {
        // Nothing to produce; and `chunks_exact(inner)` below would panic on inner = 0.
        return Vec::new();
    }
    let mut out = Vec::with_capacity(outer * inner);
    for o in 0..outer {
        let block = &v[o * n * inner..(o + 1) * n * inner];
        if inner == 1 {
            out.push(match kind {
                Reduce::Sum => sum_contiguous(block),
                Reduce::Max => extreme_contiguous(block, max_nan),
                Reduce::Min => extreme_contiguous(block, min_nan),
            });
        } else {
            match kind {
                Reduce::Sum => out.extend(sum_rows(block, n, inner)),
                Reduce::Max => out.extend(fold_rows(block, n, inner, T::neg_infinity(), max_nan)),
                Reduce::Min => out.extend(fold_rows(block, n, inner, T::infinity(), min_nan)),
            }
        }
    }
    out
}

#[inline]
fn max_nan<T: Element>(acc: T, x: T) -> T {
    if acc.is_nan() || x.is_nan() {
        T::nan()
    } else if x > acc {
        x
    } else {
        acc
    }
}

#[inline]
fn min_nan<T: Element>(acc: T, x: T) -> T {
    if acc.is_nan() || x.is_nan() {
        T::nan()
    } else if x < acc {
        x
    } else {
        acc
    }
}

/// The largest element of a non-empty contiguous slice (NaN if there is one), the
/// value a max reduction along a contiguous axis gives.
pub(crate) fn max_contiguous<T: Element>(v: &[T]) -> T {
    extreme_contiguous(v, max_nan)
}

/// The maximum (`pick = max_nan`) or minimum (`min_nan`) of a contiguous slice, as
/// the fold `v.iter().fold(start, pick)` gives it, bit for bit: by [`fold_in_lanes`]
/// (the fold is one chain of dependent comparisons). Equal values are equal bits except
/// `0` and `-0`, whose order matters to the fold (the first one met is kept), so a zero
/// result is taken from the fold. A NaN anywhere gives NaN, as in the fold.
fn extreme_contiguous<T: Element>(v: &[T], pick: impl Fn(T, T) -> T + Copy) -> T {
    let start = if pick(T::zero(), T::one()) == T::one() {
        T::neg_infinity()
    } else {
        T::infinity()
    };
    let result = fold_in_lanes(v, start, pick);
    if result == T::zero() {
        v.iter().copied().fold(start, pick)
    } else {
        result
    }
}

/// `pick` folded over a contiguous slice in eight independent lanes from `start`
/// (vectorised), then the lanes in order, then the remainder: for an associative and
/// commutative `pick` (a maximum or minimum) the fold's value.
pub(crate) fn fold_in_lanes<T: Element>(v: &[T], start: T, pick: impl Fn(T, T) -> T) -> T {
    let mut lanes = [start; 8];
    let chunks = v.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for (l, &x) in lanes.iter_mut().zip(c) {
            *l = pick(*l, x);
        }
    }
    let of_lanes = lanes.into_iter().fold(start, &pick);
    rest.iter().fold(of_lanes, |a, &x| pick(a, x))
}

/// Sums a contiguous slice: eight independent lanes within blocks of 1024 (vectorised),
/// and the block sums added pairwise.
pub fn sum_contiguous<T: Element>(v: &[T]) -> T {
    const BLOCK: usize = 1024;
    if v.len() <= BLOCK {
        let mut lanes = [T::zero(); 8];
        let chunks = v.chunks_exact(8);
        let rest = chunks.remainder();
        for c in chunks {
            for (l, &x) in lanes.iter_mut().zip(c) {
                *l += x;
            }
        }
        let mut s = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3]))
            + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
        for &x in rest {
            s += x;
        }
        return s;
    }
    let half = (v.len() / 2).next_multiple_of(BLOCK).min(v.len());
    sum_contiguous(&v[..half]) + sum_contiguous(&v[half..])
}

/// Column sums of an `n x inner` row-major block, pairwise over blocks of rows.
fn sum_rows<T: Element>(block: &[T], n: usize, inner: usize) -> Vec<T> {
    const ROWS: usize = 64;
    if n <= ROWS {
        let mut acc = vec![T::zero(); inner];
        for row in block.chunks_exact(inner).take(n) {
            for (a, &x) in acc.iter_mut().zip(row) {
                *a += x;
            }
        }
        return acc;
    }
    let half = (n / 2).next_multiple_of(ROWS).min(n);
    let mut left = sum_rows(&block[..half * inner], half, inner);
    let right = sum_rows(&block[half * inner..], n - half, inner);
    for (a, b) in left.iter_mut().zip(right) {
        *a += b;
    }
    left
}

fn fold_rows<T: Element>(block: &[T], n: usize, inner: usize, init: T, f: fn(T, T) -> T) -> Vec<T> {
    let mut acc = vec![init; inner];
    for row in block.chunks_exact(inner).take(n) {
        for (a, &x) in acc.iter_mut().zip(row) {
            *a = f(*a, x);
        }
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lane-wise maximum and minimum give the fold's bits: on lengths around the
    /// lane count, with signed zeros (whose order decides the fold's result), equal
    /// maxima, infinities and NaN.
    #[test]
    fn extremes_in_lanes_are_the_fold_bit_for_bit() {
        let specials = [
            0.0f64,
            -0.0,
            1.5,
            -1.5,
            f64::INFINITY,
            f64::NEG_INFINITY,
            3.0,
        ];
        let mut state = 7u64;
        let mut next = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            (state >> 33) as usize
        };
        for len in [1usize, 7, 8, 9, 16, 17, 40, 1000] {
            for trial in 0..200 {
                let mut v: Vec<f64> = (0..len).map(|_| specials[next() % 7]).collect();
                if trial % 10 == 0 {
                    let at = next() % len;
                    v[at] = f64::NAN;
                }
                if trial % 3 == 0 {
                    // Only zeros and negatives: the result is a zero of either sign.
                    for x in &mut v {
                        if *x > 0.0 {
                            *x = -0.0;
                        }
                    }
                }
                for (pick, start) in [
                    (max_nan as fn(f64, f64) -> f64, f64::NEG_INFINITY),
                    (min_nan, f64::INFINITY),
                ] {
                    let want = v.iter().copied().fold(start, pick);
                    let got = extreme_contiguous(&v, pick);
                    assert_eq!(got.to_bits(), want.to_bits(), "{v:?}");
                    let v32: Vec<f32> = v.iter().map(|&x| x as f32).collect();
                    let pick32 = if start < 0.0 {
                        max_nan::<f32>
                    } else {
                        min_nan::<f32>
                    };
                    let want32 = v32.iter().copied().fold(start as f32, pick32);
                    assert_eq!(extreme_contiguous(&v32, pick32).to_bits(), want32.to_bits());
                }
            }
        }
    }
    use crate::DType;

    #[test]
    fn sums_over_any_axes_match_a_naive_loop() {
        let t = Tensor::randn([3, 4, 5, 2], DType::F64, 3);
        let v = t.to_f64_vec();
        let dims = [3usize, 4, 5, 2];
        for axes in [
            vec![0],
            vec![1],
            vec![3],
            vec![0, 2],
            vec![1, 2],
            vec![0, 1, 2, 3],
            vec![1, 3],
        ] {
            let got = reduce(&t, &axes, true, Reduce::Sum).unwrap();
            let out_shape = got.shape().clone();
            let ostr = out_shape.strides();
            let mut want = vec![0.0; out_shape.numel()];
            for (flat, x) in v.iter().enumerate() {
                let mut rem = flat;
                let mut o = 0;
                for d in (0..4).rev() {
                    let i = rem % dims[d];
                    rem /= dims[d];
                    if !axes.contains(&d) {
                        o += i * ostr[d];
                    }
                }
                want[o] += x;
            }
            let got = got.to_f64_vec();
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() < 1e-12, "axes {axes:?}: {g} vs {w}");
            }
        }
    }

    #[test]
    fn keepdim_controls_the_output_shape() {
        let t = Tensor::ones([2, 3, 4], DType::F32);
        assert_eq!(
            reduce(&t, &[1], false, Reduce::Sum).unwrap().dims(),
            &[2, 4]
        );
        assert_eq!(
            reduce(&t, &[1], true, Reduce::Sum).unwrap().dims(),
            &[2, 1, 4]
        );
        assert_eq!(
            reduce(&t, &[0, 1, 2], false, Reduce::Sum).unwrap().dims(),
            &[] as &[usize]
        );
    }

    #[test]
    fn max_and_min_propagate_nan_and_reject_empty_axes() {
        let t = Tensor::from_vec(vec![1.0f64, f64::NAN, 3.0, 4.0], [2, 2]).unwrap();
        let m = reduce(&t, &[1], false, Reduce::Max).unwrap().to_f64_vec();
        assert!(m[0].is_nan());
        assert_eq!(m[1], 4.0);
        let m = reduce(&t, &[0], false, Reduce::Min).unwrap().to_f64_vec();
        assert_eq!(m[0], 1.0);
        assert!(m[1].is_nan());
        let e = Tensor::zeros([0, 3], DType::F32);
        assert!(reduce(&e, &[0], false, Reduce::Max).is_err());
        assert_eq!(
            reduce(&e, &[0], false, Reduce::Sum).unwrap().to_f64_vec(),
            vec![0.0; 3]
        );
    }

    #[test]
    fn reducing_a_non_empty_axis_before_an_empty_one_gives_an_empty_result() {
        // [2, 0] over axis 0 is a run with n = 2 and inner = 0.
        let t = Tensor::zeros([2, 0], DType::F64);
        for kind in [Reduce::Sum, Reduce::Max, Reduce::Min] {
            let r = reduce(&t, &[0], true, kind).unwrap();
            assert_eq!(r.dims(), &[1, 0]);
        }
        let t = Tensor::zeros([3, 2, 0, 4], DType::F32);
        let r = reduce(&t, &[1, 3], false, Reduce::Max).unwrap();
        assert_eq!(r.dims(), &[3, 0]);
        let r = reduce(&t, &[0], false, Reduce::Sum).unwrap();
        assert_eq!(r.dims(), &[2, 0, 4]);
    }

    #[test]
    fn blocked_sum_is_accurate_in_f32() {
        // 1e6 copies of 0.1f32: a naive running sum drifts by ~1%; a blocked one does not.
        let n = 1_000_000;
        let v = vec![0.1f32; n];
        let s = sum_contiguous(&v) as f64;
        let exact = 0.1f32 as f64 * n as f64;
        assert!((s - exact).abs() / exact < 1e-6, "{s} vs {exact}");
        let t = Tensor::from_vec(v, [n, 1]).unwrap();
        let s = reduce(&t, &[0], false, Reduce::Sum).unwrap().to_f64_vec()[0];
        assert!((s - exact).abs() / exact < 1e-6, "{s} vs {exact}");
    }
}
