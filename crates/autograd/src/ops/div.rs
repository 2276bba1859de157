//! `div`: elementwise quotient with broadcasting.
//!
//! `z = a / b`; `dz/da = 1 / b`, `dz/db = -a / b^2 = -z / b` (the rule reuses the saved
//! output). A true division, not `a * (1/b)`, which would round twice.
//! PyTorch: `torch.div`.

use crate::tensor::kernel::{self, BinaryFn};
use crate::{BackwardCtx, Element, InputGrads, Op, Result, Tensor, Var};

use super::unbroadcast;

/// The `div` op.
#[derive(Clone, Copy, Debug)]
pub struct Div;

#[derive(Clone, Copy)]
struct DivFn;
impl BinaryFn for DivFn {
    #[inline(always)]
    fn eval<T: Element>(self, a: T, b: T) -> T {
        a / b
    }
}

impl Op for Div {
    fn name(&self) -> &'static str {
        "div"
    }

    fn forward(&mut self, inputs: &[&Tensor]) -> Result<Tensor> {
        inputs[0].div(inputs[1])
    }

    fn backward(&self, ctx: &BackwardCtx<'_>, grad: &Var) -> Result<InputGrads> {
        let (a, b, z) = (ctx.input(0), ctx.input(1), ctx.output());
        let g_over_b = grad.div(b)?;
        let da = match ctx.needs_grad(0) {
            true => Some(unbroadcast(&g_over_b, a.shape())?),
            false => None,
        };
        let db = match ctx.needs_grad(1) {
            true => Some(unbroadcast(&g_over_b.mul(z)?.neg()?, b.shape())?),
            false => None,
        };
        Ok([da, db].into_iter().collect())
    }
}

impl Tensor {
    /// `self / rhs` elementwise, broadcasting (IEEE division: `x / 0` is ±inf or NaN).
    ///
    /// # Errors
    /// [`Error::Broadcast`](crate::Error::Broadcast) or
    /// [`Error::DTypeMismatch`](crate::Error::DTypeMismatch).
    pub fn div(&self, rhs: &Tensor) -> Result<Tensor> {
        kernel::zip("div", self, rhs, DivFn)
    }
}

impl Var {
    /// `self / rhs` elementwise, broadcasting; recorded.
    ///
    /// # Shapes
    /// Any two shapes that broadcast; the output has the broadcast shape.
    ///
    /// # Errors
    /// As [`Tensor::div`], plus the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn div(&self, rhs: &Var) -> Result<Var> {
        Var::apply(Div, &[self, rhs])
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::*;

    #[test]
    fn div_gradchecks_with_broadcasting() {
        for (a, b) in broadcast_pairs() {
            // Keep the divisor away from zero.
            let b = b.abs().add_scalar(0.5);
            check_op(|v| v[0].div(&v[1]), &[a, b]);
        }
    }
}
