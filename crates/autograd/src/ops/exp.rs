//! `exp`: `z = e^x`; `dz/dx = e^x = z` (the rule reuses the saved output).
//! PyTorch: `torch.exp`.

use crate::tensor::kernel::{self, UnaryFn};
use crate::{BackwardCtx, Element, InputGrads, Op, Result, Tensor, Var};

/// The `exp` op.
#[derive(Clone, Copy, Debug)]
pub struct Exp;

#[derive(Clone, Copy)]
struct ExpFn;
impl UnaryFn for ExpFn {
    #[inline(always)]
    fn eval<T: Element>(self, x: T) -> T {
        x.exp()
    }
}

impl Op for Exp {
    fn name(&self) -> &'static str {
        "exp"
    }

    fn forward(&mut self, inputs: &[&Tensor]) -> Result<Tensor> {
        Ok(inputs[0].exp())
    }

    fn backward(&self, ctx: &BackwardCtx<'_>, grad: &Var) -> Result<InputGrads> {
        Ok([Some(grad.mul(ctx.output())?)].into_iter().collect())
    }
}

impl Tensor {
    /// `e^self` elementwise.
    pub fn exp(&self) -> Tensor {
        kernel::map(self, ExpFn)
    }
}

impl Var {
    /// `e^self` elementwise; recorded.
    ///
    /// # Errors
    /// The recording errors of [`Var::apply`].
    #[track_caller]
    pub fn exp(&self) -> Result<Var> {
        Var::apply(Exp, &[self])
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::*;

    #[test]
    fn exp_gradchecks() {
        for s in unary_shapes() {
            check_op(|v| v[0].exp(), &[randn(&s, 5)]);
        }
    }
}
