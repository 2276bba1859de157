//! `log_softmax` along an axis: `y_i = x_i - ln sum_j e^(x_j)`; with the negative
//! log-likelihood it is cross-entropy from logits.
//!
//! Gradient `dx = g - e^y * sum(g)` along the axis (`e^y` is the softmax). Gradients
//! sum to zero along the axis when `g` is a one-hot row. PyTorch: `torch.log_softmax`.
//!
//! Numerics: `x - max - ln(1 + sum_others e^(x - max))` with `ln_1p`: finite for any
//! finite input, where `ln(softmax(x))` would give `-inf` once a probability underflows,
//! and accurate for the largest entry even when it is nearly 0. The gradient at the
//! largest entry `k` is computed as `g_k sum_{j != k} p_j - p_k sum_{j != k} g_j`, which
//! equals `g_k - p_k sum(g)` but does not cancel when `p_k` is near 1.

use std::mem::MaybeUninit;

use smallvec::smallvec;

use super::rows::{RowKernel, contiguous_row_length, map_rows};
use super::{row_length, top_index_of_row, top_mask};
use crate::ops::exp::ShiftedExp;
use crate::tensor::kernel::{self, UnaryFn};
use crate::tensor::reduce::{Reduce, max_contiguous, reduce, sum_contiguous};
use crate::tensor::{Storage, simd};
use crate::{BackwardCtx, Element, InputGrads, Op, Result, Tensor, Var};

/// The `log_softmax` op along a resolved axis.
#[derive(Clone, Copy, Debug)]
pub struct LogSoftmax {
    axis: usize,
}

impl Op for LogSoftmax {
    fn name(&self) -> &'static str {
        "log_softmax"
    }

    fn describe(&self) -> String {
        format!("log_softmax(axis={})", self.axis)
    }

    fn forward(&mut self, inputs: &[&Tensor]) -> Result<Tensor> {
        log_softmax_along(inputs[0], self.axis)
    }

    fn backward(&self, ctx: &BackwardCtx<'_>, grad: &Var) -> Result<InputGrads> {
        // dx = g - p sum(g) along the axis, p = e^y. At the largest p (index k) this
        // cancels when p_k is near 1, so there it is computed, equivalently since
        // sum(p) = 1, as g_k (1 - p_k) - p_k sum_{j != k} g_j with 1 - p_k taken as
        // sum_{j != k} p_j (differentiable, so second derivatives keep the accuracy:
        // without it, 36 ulps of f32 lost in a Hessian-vector product).
        let y = ctx.output();
        if !ctx.create_graph()
            && let Some(dx) = fused_grad(y.value(), grad.value(), self.axis)
        {
            return Ok(smallvec![Some(ctx.fused(dx))]);
        }
        let axis = [self.axis as isize];
        let p = y.exp()?;
        let top = Var::untracked(top_mask(y.value(), self.axis)?);
        let rest = Var::untracked(top.value().neg().add_scalar(1.0));
        let total = grad.sum(&axis, true)?;
        let others = grad.mul(&rest)?.sum(&axis, true)?;
        let one_minus_top = p.mul(&rest)?.sum(&axis, true)?;
        let plain = grad.sub(&p.mul(&total)?)?;
        let at_top = grad.mul(&one_minus_top)?.sub(&p.mul(&others)?)?;
        let dx = plain.mul(&rest)?.add(&at_top.mul(&top)?)?;
        Ok(smallvec![Some(dx)])
    }
}

/// The rule's gradient in one pass per row, when the axis is a row (nothing after it
/// but dimensions of 1) and the dtypes match: the composition's operations in its
/// order (its exponential included: the vectorised one for f32, libm's for f64), so the
/// same bits, without its fifteen tensors. `None` otherwise.
fn fused_grad(y: &Tensor, g: &Tensor, axis: usize) -> Option<Tensor> {
    let n = row_length(y, g, axis)?;
    let p = y.exp();
    let shape = y.shape().clone();
    Some(match (y.storage_ref(), g.storage_ref(), p.storage_ref()) {
        (Storage::F32(y), Storage::F32(g), Storage::F32(p)) => {
            Tensor::from_kernel(grad_rows(y, g, p, n), shape)
        }
        (Storage::F64(y), Storage::F64(g), Storage::F64(p)) => {
            Tensor::from_kernel(grad_rows(y, g, p, n), shape)
        }
        _ => return None,
    })
}

/// `dx = g - p sum(g)` per row of `n`, with `p = e^y` given, and at the row's top
/// entry `g_top (1 - p_top) - p_top sum_{others} g` (see [`LogSoftmax`]'s rule).
fn grad_rows<T: Element>(y: &[T], g: &[T], p: &[T], n: usize) -> Vec<T> {
    simd::fill_rows(y.len(), n, |start, dx| {
        let (mut b, mut c) = (vec![T::zero(); n], vec![T::zero(); n]);
        let band = start..start + dx.len();
        let rows = y[band.clone()]
            .chunks_exact(n)
            .zip(g[band.clone()].chunks_exact(n))
            .zip(p[band].chunks_exact(n));
        for (((y, g), p), dx) in rows.zip(dx.chunks_exact_mut(n)) {
            let top = top_index_of_row(y);
            // top_j is 1 or 0, rest_j = -top_j + 1, as the composition's tensors hold them.
            let top_of = |j: usize| if j == top { T::one() } else { T::zero() };
            let rest_of = |j: usize| -top_of(j) + T::one();
            for (j, (b, c)) in b.iter_mut().zip(&mut c).enumerate() {
                *b = g[j] * rest_of(j);
                *c = p[j] * rest_of(j);
            }
            let total = sum_contiguous(g);
            let others = sum_contiguous(&b);
            let one_minus_top = sum_contiguous(&c);
            for (j, d) in dx.iter_mut().enumerate() {
                let plain = g[j] - p[j] * total;
                let at_top = g[j] * one_minus_top - p[j] * others;
                d.write(plain * rest_of(j) + at_top * top_of(j));
            }
        }
    })
}

pub(crate) fn log_softmax_along(x: &Tensor, axis: usize) -> Result<Tensor> {
    match contiguous_row_length(x, axis) {
        Some(n) => Ok(map_rows(x, n, &LogSoftmaxRow)),
        None => log_softmax_composed(x, axis),
    }
}

/// [`log_softmax_composed`]'s operations on one contiguous row: the same bits.
struct LogSoftmaxRow;

impl RowKernel for LogSoftmaxRow {
    fn row<T: ShiftedExp>(&self, x: &[T], scratch: &mut Vec<T>, out: &mut [MaybeUninit<T>]) {
        let n = x.len();
        scratch.resize(2 * n, T::zero());
        let (shifted, others) = scratch.split_at_mut(n);
        let max = max_contiguous(x);
        for (s, &v) in shifted.iter_mut().zip(x) {
            *s = v - max;
        }
        // e^shifted times 1, except at the top, times 0 (the composition's mask: a
        // NaN or infinite top stays NaN).
        T::exp_shifted(others, x, max);
        let top = top_index_of_row(shifted);
        others[top] *= T::zero();
        let lse = sum_contiguous(others).ln_1p();
        for (o, &s) in out.iter_mut().zip(shifted.iter()) {
            o.write(s - lse);
        }
    }
}

/// Log-softmax along any axis, composed of tensor operations.
pub(super) fn log_softmax_composed(x: &Tensor, axis: usize) -> Result<Tensor> {
    #[derive(Clone, Copy)]
    struct Ln1p;
    impl UnaryFn for Ln1p {
        const CALLS: bool = true;

        #[inline(always)]
        fn eval<T: Element>(self, x: T) -> T {
            x.ln_1p()
        }
    }
    let shifted = x.sub(&reduce(x, &[axis], true, Reduce::Max)?)?;
    // ln sum e^shifted = ln(1 + sum of the others): the largest term is exactly 1, and
    // ln_1p keeps the others' share where it is tiny (the log-probability of a nearly
    // certain class, -1e-20 say, rather than 0).
    let others = shifted
        .exp()
        .mul(&top_mask(&shifted, axis)?.neg().add_scalar(1.0))?;
    let lse = kernel::map(&reduce(&others, &[axis], true, Reduce::Sum)?, Ln1p);
    shifted.sub(&lse)
}

impl Tensor {
    /// Log-softmax along `axis` (negative counts from the end). Plain maths.
    ///
    /// # Errors
    /// [`Error::Axis`](crate::Error::Axis) for an axis out of range;
    /// [`Error::Shape`](crate::Error::Shape) if the axis is empty.
    pub fn log_softmax(&self, axis: isize) -> Result<Tensor> {
        log_softmax_along(self, self.shape().axis("log_softmax", axis)?)
    }
}

impl Var {
    /// Log-softmax along `axis` (negative counts from the end); one recorded node.
    ///
    /// # Shapes
    /// Any shape with at least one dimension; the output has the input's shape.
    ///
    /// # Errors
    /// [`Error::Axis`](crate::Error::Axis) for an axis out of range;
    /// [`Error::Shape`](crate::Error::Shape) if the axis is empty.
    #[track_caller]
    pub fn log_softmax(&self, axis: isize) -> Result<Var> {
        let axis = self.shape().axis("log_softmax", axis)?;
        Var::apply(LogSoftmax { axis }, &[self])
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::*;
    use crate::{DType, Tensor};

    #[test]
    fn log_softmax_gradchecks_along_every_axis_of_a_3d_tensor() {
        let x = randn(&[2, 3, 4], 23).mul_scalar(2.0);
        for axis in [0, 1, 2, -1] {
            check_op(move |v| v[0].log_softmax(axis), std::slice::from_ref(&x));
        }
    }

    #[test]
    fn log_softmax_exponentiates_to_softmax() {
        let x = randn(&[3, 5], 24).mul_scalar(4.0);
        let a = x.log_softmax(1).unwrap().exp().to_f64_vec();
        let b = x.softmax(1).unwrap().to_f64_vec();
        assert_close(&a, &b, 1e-14, 1e-16);
    }

    #[test]
    fn log_softmax_stays_finite_where_softmax_underflows() {
        for dtype in [DType::F32, DType::F64] {
            let x = Tensor::from_vec(vec![1e4, -1e4, 0.0], [3])
                .unwrap()
                .to_dtype(dtype);
            let y = x.log_softmax(0).unwrap().to_f64_vec();
            assert_eq!(y, vec![0.0, -2e4, -1e4]);
        }
    }
}
