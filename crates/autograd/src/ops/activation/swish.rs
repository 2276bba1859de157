//! `swish`: `f(x) = x sigma(beta x)` (Ramachandran, Zoph & Le 2017); `beta = 1` is
//! SiLU, and as `beta` grows swish tends to ReLU.
//!
//! `f'(x) = sigma(beta x) + beta x sigma'(beta x)`,
//! `f''(x) = 2 beta sigma'(beta x) + beta^2 x sigma''(beta x)`. PyTorch has no swish
//! with a beta; `x * torch.sigmoid(beta * x)`.

use super::{Pointwise, apply, logistic, logistic_curvature, logistic_slope, pointwise};
use crate::{Element, Error, Result, Tensor, Var};

/// The `swish` kernel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Swish {
    /// The parameter (see the module docs).
    pub beta: f64,
}

impl Pointwise for Swish {
    fn name(&self) -> &'static str {
        "swish"
    }

    fn describe(&self) -> String {
        format!("swish(beta={})", self.beta)
    }

    #[inline(always)]
    fn f<T: Element>(self, x: T) -> T {
        x * logistic(T::of(self.beta) * x)
    }

    #[inline(always)]
    fn df<T: Element>(self, x: T, _y: T) -> T {
        let b = T::of(self.beta);
        logistic(b * x) + b * x * logistic_slope(b * x)
    }

    #[inline(always)]
    fn d2f<T: Element>(self, x: T, _y: T) -> T {
        let b = T::of(self.beta);
        (b + b) * logistic_slope(b * x) + b * b * x * logistic_curvature(b * x)
    }

    fn composite(self, x: &Var) -> Result<Var> {
        x.mul(&x.mul_scalar(self.beta)?.sigmoid()?)
    }
}

impl Tensor {
    /// `x sigma(beta x)`; one recorded node. Plain maths, nothing recorded.
    pub fn swish(&self, beta: f64) -> Result<Tensor> {
        if !beta.is_finite() {
            return Err(Error::invalid(
                "swish",
                format!("beta must be finite (got {beta})"),
            ));
        }
        Ok(pointwise(self, Swish { beta }))
    }
}

impl Var {
    /// `x sigma(beta x)`; one recorded node.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a bad parameter; the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn swish(&self, beta: f64) -> Result<Var> {
        if !beta.is_finite() {
            return Err(Error::invalid(
                "swish",
                format!("beta must be finite (got {beta})"),
            ));
        }
        apply(self, Swish { beta })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::activation::checks::*;

    #[test]
    fn swish_passes_the_standard_checks() {
        standard_checks(Swish { beta: 1.5 }, &[]);
        standard_checks(Swish { beta: 0.5 }, &[]);
    }

    #[test]
    fn swish_with_beta_one_is_silu() {
        let x = crate::Tensor::linspace(-5.0, 5.0, 21, crate::DType::F64).unwrap();
        assert_eq!(x.swish(1.0).unwrap().to_f64_vec(), x.silu().to_f64_vec());
    }
}
