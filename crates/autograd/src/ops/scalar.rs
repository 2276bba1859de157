//! Ops with a scalar constant: `add_scalar` (`z = x + c`, `dz/dx = 1`) and
//! `mul_scalar` (`z = c x`, `dz/dx = c`). PyTorch: `x + c`, `x * c` with a Python number.
//!
//! The constant lives in the op, not on the tape, so `x * 0.5` costs one node.

use smallvec::smallvec;

use crate::tensor::kernel::{self, UnaryFn};
use crate::{BackwardCtx, Element, InputGrads, Op, Result, Tensor, Var};

/// The `add_scalar` op.
#[derive(Clone, Copy, Debug)]
pub struct AddScalar(pub f64);

/// The `mul_scalar` op.
#[derive(Clone, Copy, Debug)]
pub struct MulScalar(pub f64);

#[derive(Clone, Copy)]
struct AddC(f64);
impl UnaryFn for AddC {
    #[inline(always)]
    fn eval<T: Element>(self, x: T) -> T {
        x + T::of(self.0)
    }
}

#[derive(Clone, Copy)]
struct MulC(f64);
impl UnaryFn for MulC {
    #[inline(always)]
    fn eval<T: Element>(self, x: T) -> T {
        x * T::of(self.0)
    }
}

impl Op for AddScalar {
    fn name(&self) -> &'static str {
        "add_scalar"
    }

    fn describe(&self) -> String {
        format!("add_scalar({})", self.0)
    }

    fn forward(&mut self, inputs: &[&Tensor]) -> Result<Tensor> {
        Ok(inputs[0].add_scalar(self.0))
    }

    fn backward(&self, _ctx: &BackwardCtx<'_>, grad: &Var) -> Result<InputGrads> {
        Ok(smallvec![Some(grad.clone())])
    }

    fn backward_owned(&self, _ctx: &BackwardCtx<'_>, grad: Var) -> Result<InputGrads> {
        // The gradient passes through unchanged: hand on this one, not a second handle.
        Ok(smallvec![Some(grad)])
    }
}

impl Op for MulScalar {
    fn name(&self) -> &'static str {
        "mul_scalar"
    }

    fn describe(&self) -> String {
        format!("mul_scalar({})", self.0)
    }

    fn forward(&mut self, inputs: &[&Tensor]) -> Result<Tensor> {
        Ok(inputs[0].mul_scalar(self.0))
    }

    fn backward(&self, _ctx: &BackwardCtx<'_>, grad: &Var) -> Result<InputGrads> {
        Ok(smallvec![Some(grad.mul_scalar(self.0)?)])
    }

    fn backward_owned(&self, ctx: &BackwardCtx<'_>, grad: Var) -> Result<InputGrads> {
        if ctx.create_graph() {
            return self.backward(ctx, &grad);
        }
        let dx = kernel::map_owned(grad.into_value(), MulC(self.0));
        Ok(smallvec![Some(ctx.fused(dx))])
    }
}

impl Tensor {
    /// `self + c` (the constant rounded to the tensor's dtype).
    pub fn add_scalar(&self, c: f64) -> Tensor {
        kernel::map(self, AddC(c))
    }

    /// `c * self` (the constant rounded to the tensor's dtype).
    pub fn mul_scalar(&self, c: f64) -> Tensor {
        kernel::map(self, MulC(c))
    }
}

impl Var {
    /// `self + c`; recorded as one node.
    ///
    /// # Errors
    /// The recording errors of [`Var::apply`].
    #[track_caller]
    pub fn add_scalar(&self, c: f64) -> Result<Var> {
        Var::apply(AddScalar(c), &[self])
    }

    /// `c * self`; recorded as one node.
    ///
    /// # Errors
    /// The recording errors of [`Var::apply`].
    #[track_caller]
    pub fn mul_scalar(&self, c: f64) -> Result<Var> {
        Var::apply(MulScalar(c), &[self])
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::*;

    #[test]
    fn scalar_ops_gradcheck() {
        for s in unary_shapes() {
            check_op(|v| v[0].add_scalar(0.7)?.mul(&v[0]), &[randn(&s, 2)]);
            check_op(|v| v[0].mul_scalar(-1.3)?.mul(&v[0]), &[randn(&s, 3)]);
        }
    }
}
