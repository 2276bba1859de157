//! `softmax` along an axis: `y_i = e^(x_i) / sum_j e^(x_j)` (Bridle 1990), the output
//! activation for multi-class classification.
//!
//! Jacobian `dy_i/dx_j = y_i (delta_ij - y_j)`, so the gradient is
//! `dx = y * (g - sum(g * y))` along the axis; its diagonal is at most 1/4. Gradients
//! sum to zero along the axis (adding a constant to every input changes nothing).
//! PyTorch: `torch.softmax(x, dim)`.
//!
//! Numerics: the row maximum is subtracted before exponentiating, so inputs of any
//! magnitude give no overflow. The gradient shifts `g` by its value at the largest `y`
//! first (which changes nothing, as `sum(y) = 1`), so that `g - sum(g * y)` does not
//! cancel where `y` is nearly one-hot.

use std::mem::MaybeUninit;

use smallvec::smallvec;

use super::rows::{RowKernel, contiguous_row_length, map_rows};
use super::{row_length, top_index_of_row, top_mask};
use crate::ops::exp::ShiftedExp;
use crate::tensor::reduce::{Reduce, max_contiguous, reduce, sum_contiguous};
use crate::tensor::{Storage, simd};
use crate::{BackwardCtx, Element, InputGrads, Op, Result, Tensor, Var};

/// The `softmax` op along a resolved axis.
#[derive(Clone, Copy, Debug)]
pub struct Softmax {
    axis: usize,
}

impl Op for Softmax {
    fn name(&self) -> &'static str {
        "softmax"
    }

    fn describe(&self) -> String {
        format!("softmax(axis={})", self.axis)
    }

    fn forward(&mut self, inputs: &[&Tensor]) -> Result<Tensor> {
        softmax_along(inputs[0], self.axis)
    }

    fn backward(&self, ctx: &BackwardCtx<'_>, grad: &Var) -> Result<InputGrads> {
        let y = ctx.output();
        if !ctx.create_graph()
            && let Some(dx) = fused_grad(y.value(), grad.value(), self.axis)
        {
            return Ok(smallvec![Some(ctx.fused(dx))]);
        }
        let axis = [self.axis as isize];
        // dx = y * (g - sum(g * y)) along the axis; Var ops, so it differentiates again.
        // g is first shifted by its value where y is largest: since sum(y) = 1, dx is
        // unchanged, but where y is nearly one-hot, g_top - sum(g * y) no longer cancels
        // (without the shift, 127 ulps of f32 lost in the largest component).
        let top = Var::untracked(top_mask(y.value(), self.axis)?);
        let shifted = grad.sub(&grad.mul(&top)?.sum(&axis, true)?)?;
        let dot = shifted.mul(y)?.sum(&axis, true)?;
        let dx = y.mul(&shifted.sub(&dot)?)?;
        Ok(smallvec![Some(dx)])
    }
}

/// The rule's gradient in one pass per row, when the axis is a row (nothing after it
/// but dimensions of 1) and the dtypes match: the composition's operations in its
/// order, so the same bits, without its ten tensors. `None` otherwise.
fn fused_grad(y: &Tensor, g: &Tensor, axis: usize) -> Option<Tensor> {
    let n = row_length(y, g, axis)?;
    let shape = y.shape().clone();
    Some(match (y.storage_ref(), g.storage_ref()) {
        (Storage::F32(y), Storage::F32(g)) => Tensor::from_kernel(grad_rows(y, g, n), shape),
        (Storage::F64(y), Storage::F64(g)) => Tensor::from_kernel(grad_rows(y, g, n), shape),
        _ => return None,
    })
}

/// `dx = y (s - sum(s y))` with `s = g - g_top` per row of `n` (bands of rows on the
/// crew's threads for a large tensor).
fn grad_rows<T: Element>(y: &[T], g: &[T], n: usize) -> Vec<T> {
    simd::fill_rows(y.len(), n, |start, dx| {
        let mut scratch = vec![T::zero(); n];
        let band = start..start + dx.len();
        let rows = y[band.clone()].chunks_exact(n).zip(g[band].chunks_exact(n));
        for ((y, g), dx) in rows.zip(dx.chunks_exact_mut(n)) {
            let top = top_index_of_row(y);
            // sum(g * top): zeros and g_top, summed as the composition's reduction does.
            for (j, (s, &gj)) in scratch.iter_mut().zip(g).enumerate() {
                *s = gj * if j == top { T::one() } else { T::zero() };
            }
            let g_top = sum_contiguous(&scratch);
            for ((s, &gj), &yj) in scratch.iter_mut().zip(g).zip(y) {
                *s = (gj - g_top) * yj;
            }
            let dot = sum_contiguous(&scratch);
            for ((d, &gj), &yj) in dx.iter_mut().zip(g).zip(y) {
                d.write(yj * ((gj - g_top) - dot));
            }
        }
    })
}

/// Softmax along a resolved axis of a tensor.
pub(crate) fn softmax_along(x: &Tensor, axis: usize) -> Result<Tensor> {
    match contiguous_row_length(x, axis) {
        Some(n) => Ok(map_rows(x, n, &SoftmaxRow)),
        None => softmax_composed(x, axis),
    }
}

/// Softmax along any axis, composed of tensor operations.
pub(super) fn softmax_composed(x: &Tensor, axis: usize) -> Result<Tensor> {
    let shifted = x.sub(&reduce(x, &[axis], true, Reduce::Max)?)?;
    let e = shifted.exp();
    e.div(&reduce(&e, &[axis], true, Reduce::Sum)?)
}

/// [`softmax_along`]'s operations on one contiguous row: the same bits.
struct SoftmaxRow;

impl RowKernel for SoftmaxRow {
    fn row<T: ShiftedExp>(&self, x: &[T], e: &mut Vec<T>, out: &mut [MaybeUninit<T>]) {
        e.resize(x.len(), T::zero());
        T::exp_shifted(e, x, max_contiguous(x));
        let total = sum_contiguous(e);
        for (o, &e) in out.iter_mut().zip(e.iter()) {
            o.write(e / total);
        }
    }
}

impl Tensor {
    /// Softmax along `axis` (negative counts from the end). Plain maths.
    ///
    /// # Errors
    /// [`Error::Axis`](crate::Error::Axis) for an axis out of range;
    /// [`Error::Shape`](crate::Error::Shape) if the axis is empty.
    pub fn softmax(&self, axis: isize) -> Result<Tensor> {
        softmax_along(self, self.shape().axis("softmax", axis)?)
    }
}

impl Var {
    /// Softmax along `axis` (negative counts from the end); one recorded node.
    ///
    /// # Shapes
    /// Any shape with at least one dimension; the output has the input's shape.
    ///
    /// # Errors
    /// [`Error::Axis`](crate::Error::Axis) for an axis out of range;
    /// [`Error::Shape`](crate::Error::Shape) if the axis is empty.
    #[track_caller]
    pub fn softmax(&self, axis: isize) -> Result<Var> {
        let axis = self.shape().axis("softmax", axis)?;
        Var::apply(Softmax { axis }, &[self])
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::*;
    use crate::{DType, Tape, Tensor};

    #[test]
    fn softmax_gradchecks_along_every_axis_of_a_3d_tensor() {
        let x = randn(&[2, 3, 4], 20).mul_scalar(2.0);
        for axis in [0, 1, 2, -1] {
            check_op(move |v| v[0].softmax(axis), std::slice::from_ref(&x));
        }
    }

    #[test]
    fn softmax_rows_sum_to_one_and_gradients_sum_to_zero() {
        let x = randn(&[2, 3, 4], 21).mul_scalar(3.0);
        for axis in [0isize, 1, 2] {
            let y = x.softmax(axis).unwrap();
            let sums = y.sum(&[axis], false).unwrap().to_f64_vec();
            assert!(sums.iter().all(|s| (s - 1.0).abs() < 1e-14), "{sums:?}");
            let tape = Tape::new();
            let xv = tape.var(x.clone());
            let w = tape.constant(randn(&[2, 3, 4], 22));
            let l = xv
                .softmax(axis)
                .unwrap()
                .mul(&w)
                .unwrap()
                .sum_all()
                .unwrap();
            let g = tape.grad(&l, &[&xv], false).unwrap().remove(0);
            let gs = g.value().sum(&[axis], false).unwrap().to_f64_vec();
            assert!(gs.iter().all(|s| s.abs() < 1e-14), "{gs:?}");
        }
    }

    #[test]
    fn softmax_is_finite_for_huge_inputs() {
        for dtype in [DType::F32, DType::F64] {
            let x = Tensor::from_vec(vec![1e4, -1e4, 0.0, 1e4 - 1.0], [1, 4])
                .unwrap()
                .to_dtype(dtype);
            let y = x.softmax(-1).unwrap().to_f64_vec();
            assert!(y.iter().all(|v| v.is_finite()));
            assert!((y[0] - 1.0 / (1.0 + (-1.0f64).exp())).abs() < 1e-6);
        }
    }

    #[test]
    fn softmax_rejects_a_bad_axis() {
        assert_eq!(
            randn(&[2, 3], 1).softmax(2).unwrap_err().to_string(),
            "softmax: axis 2 is out of range for a 2-D tensor (valid: -2 to 1)"
        );
    }
}
