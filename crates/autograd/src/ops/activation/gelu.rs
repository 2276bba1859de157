//! `gelu`: the Gaussian error linear unit (Hendrycks & Gimpel 2016), exact form,
//! `f(x) = x Phi(x)` with `Phi` the standard normal CDF.
//!
//! `f'(x) = Phi(x) + x phi(x)`, `f''(x) = phi(x) (2 - x^2)`, where
//! `phi(x) = e^(-x^2/2) / sqrt(2 pi)`. Not monotonic: a dip to -0.17 near `x = -0.75`;
//! the slope peaks at 1.129 at `x = sqrt 2`. PyTorch: `F.gelu(x)` (approximate="none").
//!
//! Numerics: `Phi(x) = erfc(-x / sqrt 2) / 2`, accurate in the left tail where
//! `1 + erf(x / sqrt 2)` cancels to 0.

use super::{Pointwise, apply, pointwise};
use crate::{Element, Result, Tensor, Var};

/// The `gelu` kernel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Gelu;

/// The standard normal CDF `Phi(x) = erfc(-x / sqrt 2) / 2`.
#[inline(always)]
pub(crate) fn std_normal_cdf<T: Element>(x: T) -> T {
    T::of(0.5) * (-x * T::of(std::f64::consts::FRAC_1_SQRT_2)).erfc()
}

/// The standard normal density `phi(x) = e^(-x^2/2) / sqrt(2 pi)`.
#[inline(always)]
pub(crate) fn std_normal_pdf<T: Element>(x: T) -> T {
    // 1 / sqrt(2 pi)
    const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;
    T::of(INV_SQRT_2PI) * (-(x * x) * T::of(0.5)).exp()
}

impl Pointwise for Gelu {
    fn name(&self) -> &'static str {
        "gelu"
    }

    #[inline(always)]
    fn f<T: Element>(self, x: T) -> T {
        x * std_normal_cdf(x)
    }

    #[inline(always)]
    fn df<T: Element>(self, x: T, _y: T) -> T {
        std_normal_cdf(x) + x * std_normal_pdf(x)
    }

    #[inline(always)]
    fn d2f<T: Element>(self, x: T, _y: T) -> T {
        std_normal_pdf(x) * (T::of(2.0) - x * x)
    }

    fn composite(self, x: &Var) -> Result<Var> {
        let cdf = x
            .mul_scalar(std::f64::consts::FRAC_1_SQRT_2)?
            .erf()?
            .add_scalar(1.0)?
            .mul_scalar(0.5)?;
        x.mul(&cdf)
    }
}

impl Tensor {
    /// `x Phi(x)`, the exact GELU; one recorded node. Plain maths, nothing recorded.
    pub fn gelu(&self) -> Tensor {
        pointwise(self, Gelu)
    }
}

impl Var {
    /// `x Phi(x)`, the exact GELU; one recorded node.
    ///
    /// # Errors
    /// the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn gelu(&self) -> Result<Var> {
        apply(self, Gelu)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::activation::checks::*;
    use crate::testing::*;

    #[test]
    fn gelu_passes_the_standard_checks() {
        standard_checks(Gelu, &[]);
    }

    #[test]
    fn gelu_slope_peaks_at_root_two() {
        let (_, d1, d2) = engine_derivatives(Gelu, &t64(&[std::f64::consts::SQRT_2], &[1]));
        assert!((d1.to_f64_vec()[0] - 1.128_904_145_185_154_8).abs() < 1e-12);
        assert!(d2.to_f64_vec()[0].abs() < 1e-15);
    }
}
