//! `log_softmax` along an axis: `y_i = x_i - ln sum_j e^(x_j)`; with the negative
//! log-likelihood it is cross-entropy from logits.
//!
//! Gradient `dx = g - e^y * sum(g)` along the axis (`e^y` is the softmax). Gradients
//! sum to zero along the axis when `g` is a one-hot row. PyTorch: `torch.log_softmax`.
//!
//! Numerics: `x - max - ln sum e^(x - max)`: finite for any finite input, where
//! `ln(softmax(x))` would give `-inf` once a probability underflows.

use smallvec::smallvec;

use crate::tensor::reduce::{Reduce, reduce};
use crate::{BackwardCtx, InputGrads, Op, Result, Tensor, Var};

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
        let y = ctx.output();
        let total = grad.sum(&[self.axis as isize], true)?;
        let dx = grad.sub(&y.exp()?.mul(&total)?)?;
        Ok(smallvec![Some(dx)])
    }
}

pub(crate) fn log_softmax_along(x: &Tensor, axis: usize) -> Result<Tensor> {
    let shifted = x.sub(&reduce(x, &[axis], true, Reduce::Max)?)?;
    let lse = reduce(&shifted.exp(), &[axis], true, Reduce::Sum)?.log();
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
