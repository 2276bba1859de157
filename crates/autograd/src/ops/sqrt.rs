//! `sqrt`: `z = sqrt(x)`; `dz/dx = 1 / (2 sqrt(x)) = 0.5 / z` (reuses the saved output).
//! PyTorch: `torch.sqrt`.

use crate::tensor::kernel::{self, UnaryFn};
use crate::{BackwardCtx, Element, InputGrads, Op, Result, Tensor, Var};

/// The `sqrt` op.
#[derive(Clone, Copy, Debug)]
pub struct Sqrt;

#[derive(Clone, Copy)]
struct SqrtFn;
impl UnaryFn for SqrtFn {
    #[inline(always)]
    fn eval<T: Element>(self, x: T) -> T {
        x.sqrt()
    }
}

impl Op for Sqrt {
    fn name(&self) -> &'static str {
        "sqrt"
    }

    fn forward(&mut self, inputs: &[&Tensor]) -> Result<Tensor> {
        Ok(inputs[0].sqrt())
    }

    fn backward(&self, ctx: &BackwardCtx<'_>, grad: &Var) -> Result<InputGrads> {
        let dx = grad.div(ctx.output())?.mul_scalar(0.5)?;
        Ok([Some(dx)].into_iter().collect())
    }
}

impl Tensor {
    /// `sqrt(self)` elementwise.
    pub fn sqrt(&self) -> Tensor {
        kernel::map(self, SqrtFn)
    }
}

impl Var {
    /// `sqrt(self)` elementwise; recorded.
    ///
    /// # Errors
    /// The recording errors of [`Var::apply`].
    #[track_caller]
    pub fn sqrt(&self) -> Result<Var> {
        Var::apply(Sqrt, &[self])
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::*;

    #[test]
    fn sqrt_gradchecks_on_positive_inputs() {
        for s in unary_shapes() {
            check_op(|v| v[0].sqrt(), &[randn(&s, 7).abs().add_scalar(0.2)]);
        }
    }
}
