//! `max_pool2d` and `avg_pool2d` over `[N, C, H, W]`, with PyTorch's semantics.
//!
//! Windows of `kernel = [kh, kw]` every `stride = [sh, sw]` over the input padded by
//! `padding = [ph, pw]` on each side; `Ho = floor((H + 2 ph - kh) / sh) + 1`, likewise `Wo`.
//!
//! - max: `y = max` over the window, the padding counting as `-inf`. `dy/dx` is 1 at the
//!   window's first maximum in row-major order (a NaN counts as the maximum, the last NaN
//!   winning, as in PyTorch's CPU kernel `MaxPoolKernel.cpp`) and 0 elsewhere. Built as a
//!   gather of the argmax positions, found from the input's values when the op runs; the
//!   gradient is the upstream gradient scattered onto those positions (a gather and a
//!   scatter-add, differentiable again; the second derivative is 0 almost everywhere).
//!   PyTorch: `torch.nn.functional.max_pool2d(x, kernel, stride, padding)`.
//! - avg: `y = sum(window) / (kh * kw)`, the padding counting as zeros
//!   (`count_include_pad = True`, PyTorch's default); `dy/dx = 1 / (kh kw)` for every
//!   window containing `x`. Built as a window gather to `[N, C, Ho, Wo, kh*kw]` and a mean
//!   over the last axis. PyTorch: `torch.nn.functional.avg_pool2d(x, kernel, stride,
//!   padding)`.
//!
//! As in PyTorch, the padding may be at most half the kernel, so every window holds at
//! least one real element, and `H` and `W` must not be 0 (`N` and `C` may).
//!
//! ```
//! use gradflow_autograd::Tensor;
//! let x = Tensor::from_vec((1..=16).map(f64::from).collect(), &[1, 1, 4, 4])?;
//! let m = x.max_pool2d([2, 2], [2, 2], [0, 0])?;
//! assert_eq!(m.to_vec::<f64>()?, vec![6.0, 8.0, 14.0, 16.0]);
//! let a = x.avg_pool2d([2, 2], [2, 2], [0, 0])?;
//! assert_eq!(a.to_vec::<f64>()?, vec![3.5, 5.5, 11.5, 13.5]);
//! # Ok::<(), gradflow_autograd::Error>(())
//! ```

use super::gather::IndexMap;
use super::im2col::Window2d;
use crate::tensor::Storage;
use crate::tensor::crew;
use crate::tensor::simd::CHUNK;
use crate::{Element, Result, Shape, Tensor, Var};

/// The flat input index of the maximum of output element `out = [n, c, oy, ox]`'s
/// window (flat), chosen as PyTorch's CPU kernel does: scanning the window's real
/// elements in row-major order, an element replaces the current maximum if it is
/// greater or NaN.
fn argmax<T: Element>(win: &Window2d, v: &[T], out: usize) -> u32 {
    const NONE: usize = usize::MAX;
    let [kh, kw] = win.kernel;
    let [oh, ow] = win.out;
    let (nc, oy, ox) = (out / (oh * ow), out / ow % oh, out % ow);
    // No branch on which element wins: that is data, and a branch on it mispredicts
    // about every other time on noisy inputs (5 ns per element). The winner is kept
    // by a mask instead.
    let mut best = NONE;
    for i in 0..kh {
        let Some(start) = win.row(nc, oy, i) else {
            continue;
        };
        for j in 0..kw {
            let Some(k) = win.column(ox, j).map(|x| start + x) else {
                continue;
            };
            let Some(&value) = v.get(k) else { continue };
            let take = match v.get(best) {
                None => true,
                Some(&m) => (value > m) | value.is_nan(),
            };
            let mask = usize::from(take).wrapping_neg();
            best = (k & mask) | (best & !mask);
        }
    }
    // Every window holds a real element (padding <= kernel / 2, H, W >= 1), so `best`
    // is set (the sentinel would read as zero); it is an index into `v`, which an index
    // map accepts (at most `u32::MAX - 1` elements), so it fits.
    u32::try_from(best).unwrap_or(IndexMap::ZERO)
}

/// Every output element's [`argmax`], on the crew's threads for large outputs.
fn argmax_indices<T: Element>(win: &Window2d, v: &[T], len: usize) -> Vec<u32> {
    let mut index = vec![IndexMap::ZERO; len];
    crew::for_each(index.chunks_mut(CHUNK).enumerate(), |(part, chunk)| {
        for (o, dst) in chunk.iter_mut().enumerate() {
            *dst = argmax(win, v, part * CHUNK + o);
        }
    });
    index
}

/// The argmax map of max pooling for the values `x`.
fn max_pool_map(
    x: &Tensor,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
) -> Result<IndexMap> {
    const OP: &str = "max_pool2d";
    let win = Window2d::new(OP, x.shape(), kernel, stride, padding, true)?;
    let out_shape = Shape::new(&[win.n, win.c, win.out[0], win.out[1]]);
    let len = out_shape.numel();
    let index = match x.storage_ref() {
        Storage::F32(v) => argmax_indices(&win, v, len),
        Storage::F64(v) => argmax_indices(&win, v, len),
    };
    Ok(IndexMap::new(x.shape().clone(), out_shape, index)?.with_label(OP))
}

/// The window map of average pooling: `[N, C, H, W]` to `[N, C, Ho, Wo, kh*kw]`, zero in
/// the padding.
fn window_map(
    shape: &Shape,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
) -> Result<IndexMap> {
    const OP: &str = "avg_pool2d";
    let win = Window2d::new(OP, shape, kernel, stride, padding, true)?;
    let [kh, kw] = kernel;
    let [oh, ow] = win.out;
    let out_shape = Shape::new(&[win.n, win.c, oh, ow, kh * kw]);
    IndexMap::build(OP, OP, shape.clone(), out_shape, |w| {
        for nc in 0..win.n * win.c {
            for oy in 0..oh {
                for ox in 0..ow {
                    for i in 0..kh {
                        for j in 0..kw {
                            w.push(win.source(nc, oy, ox, i, j));
                        }
                    }
                }
            }
        }
    })
}

impl Tensor {
    /// 2-D max pooling of an `[N, C, H, W]` batch, padding with `-inf` (see the
    /// [module docs](self)).
    ///
    /// # Shapes
    /// `[N, C, H, W]` to `[N, C, Ho, Wo]`, `Ho = floor((H + 2 ph - kh) / sh) + 1`,
    /// `Wo = floor((W + 2 pw - kw) / sw) + 1`.
    ///
    /// # Errors
    /// [`Error::Shape`](crate::Error::Shape) if the input is not 4-D, has `H` or `W` of 0, or is smaller than
    /// the kernel even padded; [`Error::InvalidArgument`](crate::Error::InvalidArgument) for a zero kernel size or
    /// stride, a padding above half the kernel, or an output of more than `usize::MAX`
    /// elements.
    pub fn max_pool2d(
        &self,
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> Result<Tensor> {
        self.gather_map(&max_pool_map(self, kernel, stride, padding)?)
    }

    /// 2-D average pooling of an `[N, C, H, W]` batch, the zero padding counted in every
    /// window's `kh * kw` (see the [module docs](self)).
    ///
    /// # Shapes
    /// As [`Tensor::max_pool2d`].
    ///
    /// # Errors
    /// As [`Tensor::max_pool2d`].
    pub fn avg_pool2d(
        &self,
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> Result<Tensor> {
        let map = window_map(self.shape(), kernel, stride, padding)?;
        self.gather_map(&map)?.mean(&[-1], false)
    }
}

impl Var {
    /// 2-D max pooling of an `[N, C, H, W]` batch; recorded as a gather of each window's
    /// first maximum (see [`Tensor::max_pool2d`]). The gradient goes to that maximum.
    ///
    /// # Shapes
    /// As [`Tensor::max_pool2d`].
    ///
    /// # Errors
    /// As [`Tensor::max_pool2d`], plus the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn max_pool2d(
        &self,
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> Result<Var> {
        self.gather_map(&max_pool_map(self.value(), kernel, stride, padding)?)
    }

    /// 2-D average pooling of an `[N, C, H, W]` batch, `count_include_pad = true`;
    /// recorded as a window gather and a mean (see [`Tensor::avg_pool2d`]).
    ///
    /// # Shapes
    /// As [`Tensor::max_pool2d`].
    ///
    /// # Errors
    /// As [`Tensor::max_pool2d`], plus the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn avg_pool2d(
        &self,
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> Result<Var> {
        let map = window_map(self.shape(), kernel, stride, padding)?;
        self.gather_map(&map)?.mean(&[-1], false)
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::*;
    use crate::{DType, Tape, Tensor};

    /// Pooling by direct nested loops over signed positions: max with -inf padding and
    /// first-maximum ties (NaN wins), or the mean with zero padding over kh*kw.
    fn reference(x: &Tensor, k: [usize; 2], s: [usize; 2], p: [usize; 2], max: bool) -> Vec<f64> {
        let d = x.dims();
        let (nc, h, w) = (d[0] * d[1], d[2], d[3]);
        let oh = (h + 2 * p[0] - k[0]) / s[0] + 1;
        let ow = (w + 2 * p[1] - k[1]) / s[1] + 1;
        let v = x.to_f64_vec();
        let mut out = Vec::new();
        for b in 0..nc {
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut best = f64::NEG_INFINITY;
                    let mut sum = 0.0;
                    for i in 0..k[0] {
                        for j in 0..k[1] {
                            let y = (oy * s[0] + i) as isize - p[0] as isize;
                            let xx = (ox * s[1] + j) as isize - p[1] as isize;
                            if y >= 0 && xx >= 0 && (y as usize) < h && (xx as usize) < w {
                                let val = v[(b * h + y as usize) * w + xx as usize];
                                if val > best || val.is_nan() {
                                    best = val;
                                }
                                sum += val;
                            }
                        }
                    }
                    out.push(if max {
                        best
                    } else {
                        sum / (k[0] * k[1]) as f64
                    });
                }
            }
        }
        out
    }

    /// Input shape, kernel, stride, padding.
    type Case = (&'static [usize], [usize; 2], [usize; 2], [usize; 2]);

    const CASES: &[Case] = &[
        (&[1, 1, 4, 4], [2, 2], [2, 2], [0, 0]),
        (&[2, 3, 5, 5], [3, 3], [2, 2], [1, 1]),
        (&[1, 2, 5, 4], [3, 2], [1, 2], [1, 1]),
        (&[2, 1, 4, 6], [2, 3], [3, 1], [1, 0]),
        (&[1, 1, 1, 1], [1, 1], [1, 1], [0, 0]),
        (&[1, 1, 1, 3], [2, 2], [1, 1], [1, 1]),
        (&[0, 2, 3, 3], [2, 2], [1, 1], [0, 0]),
        (&[2, 0, 3, 3], [2, 2], [1, 1], [1, 1]),
    ];

    #[test]
    fn max_and_avg_pool_match_a_nested_loop_reference() {
        // The last case is large enough that the argmax and the window gather are split
        // over threads (too large for the gradient checks, which take CASES).
        let large: Case = (&[2, 3, 140, 130], [3, 3], [2, 2], [1, 1]);
        for (c, &(shape, k, s, p)) in CASES.iter().chain([&large]).enumerate() {
            let x = randn(shape, 90 + c as u64);
            let m = x.max_pool2d(k, s, p).unwrap();
            let a = x.avg_pool2d(k, s, p).unwrap();
            let want_dims = [
                shape[0],
                shape[1],
                (shape[2] + 2 * p[0] - k[0]) / s[0] + 1,
                (shape[3] + 2 * p[1] - k[1]) / s[1] + 1,
            ];
            assert_eq!(m.dims(), &want_dims, "case {c}");
            assert_eq!(a.dims(), &want_dims, "case {c}");
            assert_eq!(m.to_f64_vec(), reference(&x, k, s, p, true), "case {c}");
            assert_close(
                &a.to_f64_vec(),
                &reference(&x, k, s, p, false),
                1e-15,
                1e-15,
            );
        }
    }

    #[test]
    fn pools_match_hand_computed_values_with_padding() {
        // x = [[1, -2], [-3, 4]], kernel 2, stride 1, padding 1: nine windows.
        // Max pads with -inf, so border windows keep their negative values; avg divides
        // by 4 including the zero padding (PyTorch: avg_pool2d(..., count_include_pad=True)).
        let x = t64(&[1.0, -2.0, -3.0, 4.0], &[1, 1, 2, 2]);
        let m = x.max_pool2d([2, 2], [1, 1], [1, 1]).unwrap();
        assert_eq!(
            m.to_f64_vec(),
            vec![1.0, 1.0, -2.0, 1.0, 4.0, 4.0, -3.0, 4.0, 4.0]
        );
        let a = x.avg_pool2d([2, 2], [1, 1], [1, 1]).unwrap();
        assert_eq!(
            a.to_f64_vec(),
            vec![0.25, -0.25, -0.5, -0.5, 0.0, 0.5, -0.75, 0.25, 1.0]
        );
        let neg = t64(&[-5.0, -6.0, -7.0, -8.0], &[1, 1, 2, 2]);
        let m = neg.max_pool2d([2, 2], [2, 2], [1, 1]).unwrap();
        assert_eq!(m.to_f64_vec(), vec![-5.0, -6.0, -7.0, -8.0]);
    }

    #[test]
    fn max_pool_gradient_goes_to_the_first_maximum_of_a_tie() {
        let tape = Tape::new();
        // Window of all of x: maxima 3 at flat positions 1 and 2.
        let x = tape.var(t64(&[1.0, 3.0, 3.0, 0.0], &[1, 1, 2, 2]));
        let y = x.max_pool2d([2, 2], [1, 1], [0, 0]).unwrap();
        assert_eq!(y.value().to_f64_vec(), vec![3.0]);
        let g = y.sum_all().unwrap().backward().unwrap();
        assert_eq!(g.get(&x).unwrap().to_f64_vec(), vec![0.0, 1.0, 0.0, 0.0]);
        // Overlapping windows that share a maximum add up there.
        let z = tape.var(t64(&[0.0, 9.0, 0.0, 0.0, 0.0, 0.0], &[1, 1, 2, 3]));
        let y = z
            .max_pool2d([2, 2], [1, 1], [0, 0])
            .unwrap()
            .sum_all()
            .unwrap();
        let g = y.backward().unwrap();
        assert_eq!(
            g.get(&z).unwrap().to_f64_vec(),
            vec![0.0, 2.0, 0.0, 0.0, 0.0, 0.0]
        );
    }

    #[test]
    fn max_pool_propagates_nan_like_pytorch() {
        let x = t64(
            &[1.0, f64::NAN, 5.0, 2.0, 0.0, 7.0, 3.0, 1.0],
            &[1, 2, 2, 2],
        );
        let m = x.max_pool2d([2, 2], [1, 1], [0, 0]).unwrap().to_f64_vec();
        assert!(m[0].is_nan());
        assert_eq!(m[1], 7.0);
        let inf = t64(&[f64::NEG_INFINITY; 4], &[1, 1, 2, 2]);
        let m = inf.max_pool2d([2, 2], [1, 1], [1, 1]).unwrap().to_f64_vec();
        assert!(m.iter().all(|&v| v == f64::NEG_INFINITY));
    }

    #[test]
    fn pools_gradcheck_to_second_order() {
        for (c, &(shape, k, s, p)) in CASES.iter().enumerate() {
            let x = randn(shape, 100 + c as u64);
            check_op(
                move |v| v[0].max_pool2d(k, s, p)?.powf(2.0),
                std::slice::from_ref(&x),
            );
            check_op(move |v| v[0].avg_pool2d(k, s, p)?.powf(2.0), &[x]);
        }
    }

    #[test]
    fn pools_keep_the_dtype() {
        let x = Tensor::randn([1, 2, 4, 4], DType::F32, 1);
        assert_eq!(
            x.max_pool2d([2, 2], [2, 2], [0, 0]).unwrap().dtype(),
            DType::F32
        );
        assert_eq!(
            x.avg_pool2d([3, 3], [1, 1], [1, 1]).unwrap().dtype(),
            DType::F32
        );
    }

    #[test]
    fn pools_reject_bad_shapes_kernels_strides_and_padding() {
        let x = randn(&[1, 2, 4, 4], 1);
        assert_eq!(
            randn(&[4, 4], 1)
                .max_pool2d([2, 2], [2, 2], [0, 0])
                .unwrap_err()
                .to_string(),
            "max_pool2d: expects a 4-D [N, C, H, W] input, got 2-D (shapes: [4, 4])"
        );
        assert_eq!(
            x.avg_pool2d([2, 0], [1, 1], [0, 0])
                .unwrap_err()
                .to_string(),
            "avg_pool2d: kernel size must be >= 1 (got [2, 0])"
        );
        assert_eq!(
            x.max_pool2d([2, 2], [0, 1], [0, 0])
                .unwrap_err()
                .to_string(),
            "max_pool2d: stride must be >= 1 (got [0, 1])"
        );
        assert_eq!(
            x.max_pool2d([3, 3], [1, 1], [1, 2])
                .unwrap_err()
                .to_string(),
            "max_pool2d: padding [1, 2] must be at most half the kernel size [3, 3] \
             (PyTorch's rule: pad <= kernel / 2)"
        );
        assert_eq!(
            x.avg_pool2d([5, 2], [1, 1], [0, 0])
                .unwrap_err()
                .to_string(),
            "avg_pool2d: kernel [5, 2] is larger than the padded input [4, 4] (padding \
             [0, 0] on each side), so the output would be empty (shapes: [1, 2, 4, 4])"
        );
        assert_eq!(
            randn(&[1, 1, 0, 4], 1)
                .max_pool2d([2, 2], [1, 1], [1, 1])
                .unwrap_err()
                .to_string(),
            "max_pool2d: the height and width of the input must be at least 1 \
             (shapes: [1, 1, 0, 4])"
        );
        let tape = Tape::new();
        let v = tape.var(x);
        assert!(v.max_pool2d([1, 1], [1, 1], [1, 0]).is_err());
        assert_eq!(
            v.avg_pool2d([2, 2], [1, 1], [usize::MAX, 0])
                .unwrap_err()
                .to_string(),
            format!(
                "avg_pool2d: padding [{}, 0] must be at most half the kernel size [2, 2] \
                 (PyTorch's rule: pad <= kernel / 2)",
                usize::MAX
            )
        );
    }
}
