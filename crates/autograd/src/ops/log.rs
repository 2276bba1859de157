//! `log`: natural logarithm, `z = ln x`; `dz/dx = 1 / x`. PyTorch: `torch.log`.
//!
//! `log(0) = -inf` and `log(x < 0) = NaN`, as IEEE and PyTorch have it.

use crate::tensor::kernel::{self, UnaryFn};
use crate::{BackwardCtx, Element, InputGrads, Op, Result, Tensor, Var};

/// The `log` op.
#[derive(Clone, Copy, Debug)]
pub struct Log;

#[derive(Clone, Copy)]
struct LnFn;
impl UnaryFn for LnFn {
    const CALLS: bool = true;

    #[inline(always)]
    fn eval<T: Element>(self, x: T) -> T {
        x.ln()
    }
}

impl Op for Log {
    fn name(&self) -> &'static str {
        "log"
    }

    fn forward(&mut self, inputs: &[&Tensor]) -> Result<Tensor> {
        Ok(inputs[0].log())
    }

    fn backward(&self, ctx: &BackwardCtx<'_>, grad: &Var) -> Result<InputGrads> {
        Ok([Some(grad.div(ctx.input(0))?)].into_iter().collect())
    }
}

impl Tensor {
    /// `ln(self)` elementwise.
    pub fn log(&self) -> Tensor {
        kernel::map(self, LnFn)
    }
}

impl Var {
    /// `ln(self)` elementwise; recorded.
    ///
    /// # Errors
    /// The recording errors of [`Var::apply`].
    #[track_caller]
    pub fn log(&self) -> Result<Var> {
        Var::apply(Log, &[self])
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::*;

    #[test]
    fn log_gradchecks_on_positive_inputs() {
        for s in unary_shapes() {
            check_op(|v| v[0].log(), &[randn(&s, 6).abs().add_scalar(0.2)]);
        }
    }
}
