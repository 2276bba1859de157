//! `mul`: elementwise product with broadcasting.
//!
//! `z = a * b`; `dz/da = b`, `dz/db = a`, reduced over broadcast dimensions.
//! PyTorch: `torch.mul`.

use crate::tensor::kernel::{self, BinaryFn};
use crate::{BackwardCtx, Element, InputGrads, Op, Result, Tensor, Var};

use super::unbroadcast;

/// The `mul` op.
#[derive(Clone, Copy, Debug)]
pub struct Mul;

#[derive(Clone, Copy)]
struct MulFn;
impl BinaryFn for MulFn {
    #[inline(always)]
    fn eval<T: Element>(self, a: T, b: T) -> T {
        a * b
    }
}

impl Op for Mul {
    fn name(&self) -> &'static str {
        "mul"
    }

    fn forward(&mut self, inputs: &[&Tensor]) -> Result<Tensor> {
        inputs[0].mul(inputs[1])
    }

    fn backward(&self, ctx: &BackwardCtx<'_>, grad: &Var) -> Result<InputGrads> {
        let (a, b) = (ctx.input(0), ctx.input(1));
        let da = match ctx.needs_grad(0) {
            true => Some(unbroadcast(&grad.mul(b)?, a.shape())?),
            false => None,
        };
        let db = match ctx.needs_grad(1) {
            true => Some(unbroadcast(&grad.mul(a)?, b.shape())?),
            false => None,
        };
        Ok([da, db].into_iter().collect())
    }
}

impl Tensor {
    /// `self * rhs` elementwise, broadcasting.
    ///
    /// # Errors
    /// [`Error::Broadcast`](crate::Error::Broadcast) or
    /// [`Error::DTypeMismatch`](crate::Error::DTypeMismatch).
    pub fn mul(&self, rhs: &Tensor) -> Result<Tensor> {
        kernel::zip("mul", self, rhs, MulFn)
    }
}

impl Var {
    /// `self * rhs` elementwise, broadcasting; recorded.
    ///
    /// # Shapes
    /// Any two shapes that broadcast; the output has the broadcast shape.
    ///
    /// # Errors
    /// As [`Tensor::mul`], plus the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn mul(&self, rhs: &Var) -> Result<Var> {
        Var::apply(Mul, &[self, rhs])
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::*;

    #[test]
    fn mul_gradchecks_with_broadcasting() {
        for (a, b) in broadcast_pairs() {
            check_op(|v| v[0].mul(&v[1]), &[a, b]);
        }
    }

    #[test]
    fn mul_of_a_var_by_itself_has_gradient_two_x() {
        let tape = crate::Tape::new();
        let x = tape.var(t64(&[1.5, -2.0], &[2]));
        let g = x.mul(&x).unwrap().sum_all().unwrap().backward().unwrap();
        assert_eq!(g.get(&x).unwrap().to_vec::<f64>().unwrap(), vec![3.0, -4.0]);
    }
}
