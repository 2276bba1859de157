//! `gelu_tanh`: the tanh approximation of GELU (Hendrycks & Gimpel 2016),
//! `f(x) = x/2 (1 + tanh(u))`, `u = sqrt(2/pi) (x + 0.044715 x^3)`.
//!
//! Since `(1 + tanh u) / 2 = sigma(2u)`, `f(x) = x sigma(2u)`, which is how it is
//! computed (no cancellation in the left tail). With `s = sigma(2u)` and
//! `s' = s (1 - s)`: `f'(x) = s + 2 x u' s'`,
//! `f''(x) = 4 u' s' + 2 x u'' s' + 4 x u'^2 s' (1 - 2 s)`, where
//! `u' = sqrt(2/pi) (1 + 3 * 0.044715 x^2)` and `u'' = sqrt(2/pi) 6 * 0.044715 x`.
//! PyTorch: `F.gelu(x, approximate="tanh")`.

use super::{Pointwise, apply, logistic, logistic_curvature, logistic_slope, pointwise};
use crate::{Element, Result, Tensor, Var};

/// The `gelu_tanh` kernel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GeluTanh;

/// `sqrt(2 / pi)`.
const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;
/// The cubic coefficient of the approximation.
const GELU_TANH_CUBIC: f64 = 0.044_715;

/// `2u = 2 sqrt(2/pi) (x + 0.044715 x^3)`.
#[inline(always)]
fn two_u<T: Element>(x: T) -> T {
    T::of(2.0 * SQRT_2_OVER_PI) * (x + T::of(GELU_TANH_CUBIC) * x * x * x)
}

/// `u'`.
#[inline(always)]
fn du<T: Element>(x: T) -> T {
    T::of(SQRT_2_OVER_PI) * (T::one() + T::of(3.0 * GELU_TANH_CUBIC) * x * x)
}

/// `u''`.
#[inline(always)]
fn d2u<T: Element>(x: T) -> T {
    T::of(SQRT_2_OVER_PI * 6.0 * GELU_TANH_CUBIC) * x
}

impl Pointwise for GeluTanh {
    fn name(&self) -> &'static str {
        "gelu_tanh"
    }

    #[inline(always)]
    fn f<T: Element>(self, x: T) -> T {
        x * logistic(two_u(x))
    }

    #[inline(always)]
    fn df<T: Element>(self, x: T, _y: T) -> T {
        let z = two_u(x);
        x * T::of(2.0) * du(x) * logistic_slope(z) + logistic(z)
    }

    #[inline(always)]
    fn d2f<T: Element>(self, x: T, _y: T) -> T {
        let z = two_u(x);
        let s1 = logistic_slope(z);
        let d = du(x);
        let two = T::of(2.0);
        let four = T::of(4.0);
        four * d * s1 + two * x * d2u(x) * s1 + four * x * d * d * logistic_curvature(z)
    }

    fn composite(self, x: &Var) -> Result<Var> {
        let cubic = x.powf(3.0)?.mul_scalar(GELU_TANH_CUBIC)?;
        let u = x.add(&cubic)?.mul_scalar(SQRT_2_OVER_PI)?;
        x.mul(&u.tanh()?.add_scalar(1.0)?)?.mul_scalar(0.5)
    }
}

impl Tensor {
    /// The tanh approximation of GELU; one recorded node. Plain maths, nothing recorded.
    pub fn gelu_tanh(&self) -> Tensor {
        pointwise(self, GeluTanh)
    }
}

impl Var {
    /// The tanh approximation of GELU; one recorded node.
    ///
    /// # Errors
    /// the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn gelu_tanh(&self) -> Result<Var> {
        apply(self, GeluTanh)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::activation::checks::*;

    #[test]
    fn gelu_tanh_passes_the_standard_checks() {
        standard_checks(GeluTanh, &[]);
    }

    #[test]
    fn gelu_tanh_is_close_to_exact_gelu() {
        let x = crate::Tensor::linspace(-4.0, 4.0, 33, crate::DType::F64).unwrap();
        let a = x.gelu_tanh().to_f64_vec();
        let b = x.gelu().to_f64_vec();
        for (p, q) in a.iter().zip(&b) {
            // The approximation is good to about 5e-4 (Hendrycks & Gimpel, fig. 1).
            assert!((p - q).abs() < 1e-3, "{p} vs {q}");
        }
    }
}
