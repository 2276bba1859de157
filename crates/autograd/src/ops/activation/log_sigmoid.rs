//! `log_sigmoid`: `f(x) = ln sigma(x) = -softplus(-x)`.
//!
//! `f'(x) = sigma(-x) = 1 - sigma(x)`, `f''(x) = -sigma'(x)`. Bounded above by 0.
//! PyTorch: `F.logsigmoid`.
//!
//! Numerics: `min(x, 0) - ln(1 + e^-|x|)`, exact for every input (`ln(sigma(x))`
//! returns `-inf` once `sigma(x)` underflows).

use super::{Pointwise, apply, indicator, logistic, logistic_slope, magnitude, pointwise};
use crate::{Element, Result, Tensor, Var};

/// The `log_sigmoid` kernel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LogSigmoid;

impl Pointwise for LogSigmoid {
    fn name(&self) -> &'static str {
        "log_sigmoid"
    }

    #[inline(always)]
    fn f<T: Element>(self, x: T) -> T {
        x.min(T::zero()) - (-x.abs()).exp().ln_1p()
    }

    #[inline(always)]
    fn df<T: Element>(self, x: T, _y: T) -> T {
        logistic(-x)
    }

    #[inline(always)]
    fn d2f<T: Element>(self, x: T, _y: T) -> T {
        -logistic_slope(x)
    }

    fn composite(self, x: &Var) -> Result<Var> {
        // Both terms take the x >= 0 branch at 0, so the composite is smooth there.
        let negative = x.mul(&indicator(x, |t| t < 0.0)?)?;
        let tail = magnitude(x)?.neg()?.exp()?.add_scalar(1.0)?.log()?;
        negative.sub(&tail)
    }
}

impl Tensor {
    /// `ln sigma(x)`; one recorded node. Plain maths, nothing recorded.
    pub fn log_sigmoid(&self) -> Tensor {
        pointwise(self, LogSigmoid)
    }
}

impl Var {
    /// `ln sigma(x)`; one recorded node.
    ///
    /// # Errors
    /// the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn log_sigmoid(&self) -> Result<Var> {
        apply(self, LogSigmoid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::activation::checks::*;
    use crate::testing::*;

    #[test]
    fn log_sigmoid_passes_the_standard_checks() {
        standard_checks(LogSigmoid, &[]);
    }

    #[test]
    fn log_sigmoid_is_finite_far_left() {
        let y = t64(&[-1000.0], &[1]).log_sigmoid().to_f64_vec();
        assert_eq!(y, vec![-1000.0]);
    }
}
