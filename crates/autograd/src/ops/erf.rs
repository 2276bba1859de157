//! `erf`: the error function, `z = erf(x) = 2/sqrt(pi) * integral_0^x e^(-t^2) dt`;
//! `dz/dx = 2/sqrt(pi) * e^(-x^2)`. PyTorch: `torch.erf`.
//!
//! The value comes from `libm` (FreeBSD msun's `erf`/`erff`, within 1 ulp); the exact
//! GELU is built on it.

use crate::tensor::kernel::{self, UnaryFn};
use crate::{BackwardCtx, Element, InputGrads, Op, Result, Tensor, Var};

/// The `erf` op.
#[derive(Clone, Copy, Debug)]
pub struct Erf;

#[derive(Clone, Copy)]
struct ErfFn;
impl UnaryFn for ErfFn {
    const CALLS: bool = true;

    #[inline(always)]
    fn eval<T: Element>(self, x: T) -> T {
        x.erf()
    }
}

impl Op for Erf {
    fn name(&self) -> &'static str {
        "erf"
    }

    fn forward(&mut self, inputs: &[&Tensor]) -> Result<Tensor> {
        Ok(inputs[0].erf())
    }

    fn backward(&self, ctx: &BackwardCtx<'_>, grad: &Var) -> Result<InputGrads> {
        let x = ctx.input(0);
        let two_over_sqrt_pi = std::f64::consts::FRAC_2_SQRT_PI;
        let dz = x.mul(x)?.neg()?.exp()?.mul_scalar(two_over_sqrt_pi)?;
        Ok([Some(grad.mul(&dz)?)].into_iter().collect())
    }
}

impl Tensor {
    /// `erf(self)` elementwise.
    pub fn erf(&self) -> Tensor {
        kernel::map(self, ErfFn)
    }
}

impl Var {
    /// `erf(self)` elementwise; recorded.
    ///
    /// # Errors
    /// The recording errors of [`Var::apply`].
    #[track_caller]
    pub fn erf(&self) -> Result<Var> {
        Var::apply(Erf, &[self])
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::*;

    #[test]
    fn erf_gradchecks() {
        for s in unary_shapes() {
            check_op(|v| v[0].erf(), &[randn(&s, 9)]);
        }
    }
}
