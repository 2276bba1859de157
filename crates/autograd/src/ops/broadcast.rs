//! `broadcast_to` and `sum_to`: the two adjoint ops of broadcasting.
//!
//! `broadcast_to(shape)` repeats a tensor along dimensions of size 1 (and new leading
//! dimensions); its gradient is `sum_to` of the upstream gradient back to the input
//! shape, and the gradient of `sum_to` is `broadcast_to`. Every broadcasting op's rule
//! uses `sum_to`. PyTorch: `expand` / `sum_to_size`.

use crate::tensor::kernel;
use crate::tensor::reduce::{self, Reduce};
use crate::{BackwardCtx, Error, InputGrads, Op, Result, Shape, Tensor, Var};

use super::sum::sum_to_axes;

/// The `broadcast_to` op.
#[derive(Clone, Debug)]
pub struct BroadcastTo(pub Shape);

/// The `sum_to` op.
#[derive(Clone, Debug)]
pub struct SumTo(pub Shape);

impl Op for BroadcastTo {
    fn name(&self) -> &'static str {
        "broadcast_to"
    }

    fn describe(&self) -> String {
        format!("broadcast_to({})", self.0)
    }

    fn forward(&mut self, inputs: &[&Tensor]) -> Result<Tensor> {
        inputs[0].broadcast_to(&self.0)
    }

    fn backward(&self, ctx: &BackwardCtx<'_>, grad: &Var) -> Result<InputGrads> {
        Ok([Some(grad.sum_to(ctx.input(0).shape())?)]
            .into_iter()
            .collect())
    }
}

impl Op for SumTo {
    fn name(&self) -> &'static str {
        "sum_to"
    }

    fn describe(&self) -> String {
        format!("sum_to({})", self.0)
    }

    fn forward(&mut self, inputs: &[&Tensor]) -> Result<Tensor> {
        inputs[0].sum_to(&self.0)
    }

    fn backward(&self, ctx: &BackwardCtx<'_>, grad: &Var) -> Result<InputGrads> {
        Ok([Some(grad.broadcast_to(ctx.input(0).shape())?)]
            .into_iter()
            .collect())
    }
}

impl Tensor {
    /// A copy repeated along size-1 and new leading dimensions to `shape`.
    ///
    /// # Errors
    /// [`Error::Shape`] if the tensor does not broadcast to `shape`.
    pub fn broadcast_to(&self, shape: impl Into<Shape>) -> Result<Tensor> {
        kernel::broadcast_to("broadcast_to", self, &shape.into())
    }

    /// Sums over the dimensions along which `shape` would be broadcast to this tensor's
    /// shape, giving a tensor of `shape`.
    ///
    /// # Errors
    /// [`Error::Shape`] if `shape` does not broadcast to this tensor's shape.
    pub fn sum_to(&self, shape: impl Into<Shape>) -> Result<Tensor> {
        let shape = shape.into();
        if !shape.broadcasts_to(self.shape()) {
            return Err(Error::shape(
                "sum_to",
                &[self.shape(), &shape],
                "the target shape does not broadcast to the tensor's shape",
            ));
        }
        if &shape == self.shape() {
            return Ok(self.clone());
        }
        let axes = sum_to_axes(self.shape(), &shape);
        reduce::reduce(self, &axes, true, Reduce::Sum)?.reshape(shape)
    }
}

impl Var {
    /// Repeats along size-1 and new leading dimensions to `shape`; recorded.
    ///
    /// # Errors
    /// As [`Tensor::broadcast_to`].
    #[track_caller]
    pub fn broadcast_to(&self, shape: impl Into<Shape>) -> Result<Var> {
        let shape = shape.into();
        if &shape == self.shape() {
            return Ok(self.clone());
        }
        Var::apply(BroadcastTo(shape), &[self])
    }

    /// Sums down to `shape` (the adjoint of [`Var::broadcast_to`]); recorded.
    ///
    /// # Errors
    /// As [`Tensor::sum_to`].
    #[track_caller]
    pub fn sum_to(&self, shape: impl Into<Shape>) -> Result<Var> {
        let shape = shape.into();
        if &shape == self.shape() {
            return Ok(self.clone());
        }
        Var::apply(SumTo(shape), &[self])
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::*;

    #[test]
    fn broadcast_to_and_sum_to_gradcheck() {
        let x = randn(&[3, 1], 11);
        check_op(|v| v[0].broadcast_to([2, 3, 4])?.powf(2.0), &[x]);
        let y = randn(&[2, 3, 4], 12);
        check_op(|v| v[0].sum_to([3, 1])?.powf(2.0), std::slice::from_ref(&y));
        check_op(|v| v[0].sum_to([4])?.powf(2.0), &[y]);
    }

    #[test]
    fn sum_to_rejects_a_shape_that_does_not_broadcast() {
        let x = randn(&[2, 3], 1);
        assert!(x.sum_to([2]).is_err());
        assert!(x.broadcast_to([3, 3]).is_err());
    }
}
