//! `neg`: `z = -x`, `dz/dx = -1`. PyTorch: `torch.neg`.

use crate::tensor::kernel::{self, UnaryFn};
use crate::{BackwardCtx, Element, InputGrads, Op, Result, Tensor, Var};

/// The `neg` op.
#[derive(Clone, Copy, Debug)]
pub struct Neg;

#[derive(Clone, Copy)]
struct NegFn;
impl UnaryFn for NegFn {
    #[inline(always)]
    fn eval<T: Element>(self, x: T) -> T {
        -x
    }
}

impl Op for Neg {
    fn name(&self) -> &'static str {
        "neg"
    }

    fn forward(&mut self, inputs: &[&Tensor]) -> Result<Tensor> {
        Ok(inputs[0].neg())
    }

    fn backward(&self, _ctx: &BackwardCtx<'_>, grad: &Var) -> Result<InputGrads> {
        Ok([Some(grad.neg()?)].into_iter().collect())
    }
}

impl Tensor {
    /// `-self`.
    pub fn neg(&self) -> Tensor {
        kernel::map(self, NegFn)
    }
}

impl Var {
    /// `-self`; recorded.
    ///
    /// # Errors
    /// The recording errors of [`Var::apply`].
    #[track_caller]
    pub fn neg(&self) -> Result<Var> {
        Var::apply(Neg, &[self])
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::*;

    #[test]
    fn neg_gradchecks() {
        for s in unary_shapes() {
            check_op(|v| v[0].neg()?.mul(&v[0]), &[randn(&s, 1)]);
        }
    }
}
