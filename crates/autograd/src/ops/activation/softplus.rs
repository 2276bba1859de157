//! `softplus`: `f(x) = ln(1 + e^(beta x)) / beta` (Dugas et al. 2001), a smooth ReLU.
//!
//! `f'(x) = sigma(beta x)`, `f''(x) = beta sigma'(beta x)`. PyTorch: `F.softplus(x, beta)`.
//!
//! Numerics: `max(x, 0) + ln(1 + e^(-beta |x|)) / beta` with `ln_1p`: exact at every
//! input. (PyTorch switches to the identity where `beta x > 20`, an approximation with
//! relative error `e^-20`; here no threshold is needed.)

use super::lanes::{self, Lanes};
use super::{Pointwise, apply, indicator, logistic, logistic_slope, magnitude, pointwise};
use crate::{Element, Error, Result, Tensor, Var};

/// The `softplus` kernel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Softplus {
    /// The parameter (see the module docs).
    pub beta: f64,
}

impl Pointwise for Softplus {
    fn name(&self) -> &'static str {
        "softplus"
    }

    fn lanes(self) -> Option<impl Lanes> {
        Some(self)
    }

    fn describe(&self) -> String {
        format!("softplus(beta={})", self.beta)
    }

    #[inline(always)]
    fn f<T: Element>(self, x: T) -> T {
        let b = T::of(self.beta);
        x.max(T::zero()) + (-(b * x).abs()).exp().ln_1p() / b
    }

    #[inline(always)]
    fn df<T: Element>(self, x: T, _y: T) -> T {
        logistic(T::of(self.beta) * x)
    }

    #[inline(always)]
    fn d2f<T: Element>(self, x: T, _y: T) -> T {
        T::of(self.beta) * logistic_slope(T::of(self.beta) * x)
    }

    fn composite(self, x: &Var) -> Result<Var> {
        // max(x, 0) + ln(1 + e^-(beta |x|)) / beta, with max(x, 0) as x * mask.
        // Both terms take the x >= 0 branch at 0, so the composite is smooth there.
        let positive = x.mul(&indicator(x, |t| t >= 0.0)?)?;
        let tail = magnitude(x)?
            .mul_scalar(-self.beta)?
            .exp()?
            .add_scalar(1.0)?
            .log()?;
        positive.add(&tail.mul_scalar(1.0 / self.beta)?)
    }
}

/// The f32 path, in f64 lanes (see [`Lanes`]).
impl Lanes for Softplus {
    const STAGED: bool = true;

    /// `e^-|beta x|`.
    #[inline(always)]
    fn first_stage(self, x: f64) -> f64 {
        lanes::exp_neg_abs(self.beta * x)
    }

    #[inline(always)]
    fn value_and_slope_after(self, x: f64, e: f64) -> (f64, f64) {
        // The value max(x, 0) + ln(1 + e^-|beta x|) / beta, as the scalar kernel (a NaN
        // propagates through the second term); the slope sigma(beta x). Both use
        // e = e^-|beta x|.
        let (slope, _, e) = lanes::logistic_given(self.beta * x, e);
        let positive = if x > 0.0 { x } else { 0.0 };
        // 1 / beta is loop-invariant and hoisted: a multiplication per element instead of
        // a division (its extra rounding is far below f32's).
        (positive + lanes::log1p_unit(e) * (1.0 / self.beta), slope)
    }

    fn keeps_slope(self, _len: usize) -> bool {
        true
    }
}

impl Tensor {
    /// `ln(1 + e^(beta x)) / beta`; one recorded node. Plain maths, nothing recorded.
    pub fn softplus(&self, beta: f64) -> Result<Tensor> {
        if !(beta.is_finite() && beta > 0.0) {
            return Err(Error::invalid(
                "softplus",
                format!("beta must be finite and > 0 (got {beta})"),
            ));
        }
        Ok(pointwise(self, Softplus { beta }))
    }
}

impl Var {
    /// `ln(1 + e^(beta x)) / beta`; one recorded node.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a bad parameter; the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn softplus(&self, beta: f64) -> Result<Var> {
        if !(beta.is_finite() && beta > 0.0) {
            return Err(Error::invalid(
                "softplus",
                format!("beta must be finite and > 0 (got {beta})"),
            ));
        }
        apply(self, Softplus { beta })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::activation::checks::*;
    use crate::testing::*;

    #[test]
    fn softplus_passes_the_standard_checks() {
        standard_checks(Softplus { beta: 1.0 }, &[]);
        standard_checks(Softplus { beta: 2.0 }, &[]);
    }

    #[test]
    fn softplus_is_exact_where_the_exponential_would_overflow() {
        let x = t64(&[1000.0, -1000.0, 30.0], &[3]);
        let y = x.softplus(1.0).unwrap().to_f64_vec();
        assert_eq!(y[0], 1000.0);
        assert_eq!(y[1], 0.0);
        assert_eq!(y[2], 30.0 + (-30.0f64).exp());
    }

    #[test]
    fn softplus_rejects_a_non_positive_beta() {
        let tape = crate::Tape::new();
        let x = tape.var(t64(&[1.0], &[1]));
        assert_eq!(
            x.softplus(-1.0).unwrap_err().to_string(),
            "softplus: beta must be finite and > 0 (got -1)"
        );
    }
}
