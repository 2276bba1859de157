//! `sub`: elementwise difference with broadcasting.
//!
//! `z = a - b`; `dz/da = 1`, `dz/db = -1`, reduced over broadcast dimensions.
//! PyTorch: `torch.sub`.

use crate::tensor::kernel::{self, BinaryFn};
use crate::{BackwardCtx, Element, InputGrads, Op, Result, Tensor, Var};

use super::unbroadcast;

/// The `sub` op.
#[derive(Clone, Copy, Debug)]
pub struct Sub;

#[derive(Clone, Copy)]
struct SubFn;
impl BinaryFn for SubFn {
    #[inline(always)]
    fn eval<T: Element>(self, a: T, b: T) -> T {
        a - b
    }
}

impl Op for Sub {
    fn name(&self) -> &'static str {
        "sub"
    }

    fn forward(&mut self, inputs: &[&Tensor]) -> Result<Tensor> {
        inputs[0].sub(inputs[1])
    }

    fn backward(&self, ctx: &BackwardCtx<'_>, grad: &Var) -> Result<InputGrads> {
        let da = match ctx.needs_grad(0) {
            true => Some(unbroadcast(grad, ctx.input(0).shape())?),
            false => None,
        };
        let db = match ctx.needs_grad(1) {
            true => Some(unbroadcast(&grad.neg()?, ctx.input(1).shape())?),
            false => None,
        };
        Ok([da, db].into_iter().collect())
    }
}

impl Tensor {
    /// `self - rhs`, broadcasting.
    ///
    /// # Errors
    /// [`Error::Broadcast`](crate::Error::Broadcast) or
    /// [`Error::DTypeMismatch`](crate::Error::DTypeMismatch).
    pub fn sub(&self, rhs: &Tensor) -> Result<Tensor> {
        kernel::zip("sub", self, rhs, SubFn)
    }
}

impl Var {
    /// `self - rhs`, broadcasting; recorded.
    ///
    /// # Shapes
    /// Any two shapes that broadcast; the output has the broadcast shape.
    ///
    /// # Errors
    /// As [`Tensor::sub`], plus the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn sub(&self, rhs: &Var) -> Result<Var> {
        Var::apply(Sub, &[self, rhs])
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::*;

    #[test]
    fn sub_gradchecks_with_broadcasting() {
        for (a, b) in broadcast_pairs() {
            check_op(|v| v[0].sub(&v[1]), &[a, b]);
        }
    }
}
