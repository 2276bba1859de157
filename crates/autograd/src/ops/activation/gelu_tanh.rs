//! `gelu_tanh`: the tanh approximation of GELU (Hendrycks & Gimpel 2016),
//! `f(x) = x/2 (1 + tanh(u))`, `u = sqrt(2/pi) (x + 0.044715 x^3)`.
//!
//! Since `(1 + tanh u) / 2 = sigma(2u)`, `f(x) = x sigma(2u)`, which is how it is
//! computed (no cancellation in the left tail). With `s = sigma(2u)` and
//! `s' = s (1 - s)`: `f'(x) = s + 2 x u' s'`,
//! `f''(x) = 4 u' s' + 2 x u'' s' + 4 x u'^2 s' (1 - 2 s)`, where
//! `u' = sqrt(2/pi) (1 + 3 * 0.044715 x^2)` and `u'' = sqrt(2/pi) 6 * 0.044715 x`.
//! PyTorch: `F.gelu(x, approximate="tanh")`.
//!
//! Numerics: in the left tail `f ~ x e^z` with `z = 2u`, so an absolute error in `z`
//! is a relative error in all three results, and `|z|` reaches 87 before f32
//! underflows: `z` rounded in plain arithmetic costs up to 35 ulps of f32 near
//! `x = -7.3`. `z = x (A + B x^2)` (`A = 2 sqrt(2/pi)`, `B = 0.044715 A`) is therefore
//! evaluated as an unevaluated sum `hi + lo` (exact products and sums by fused
//! multiply-add and two-sum, and the constants to twice the working precision), and
//! the terms come from `logistic_combination`, which applies the `lo` correction and
//! keeps subnormal results to one rounding. With `z' = dz/dx` and `z'' = d2z/dx2`:
//! `f = x sigma(z)`, `f' = sigma(z) + x z' sigma'(z)`,
//! `f'' = (2 z' + x z'') sigma'(z) + x z'^2 sigma''(z)`.

use super::lanes::{self, Lanes};
use super::{Pointwise, apply, logistic_combination, pointwise, split_constant, two_prod, two_sum};
use crate::{Element, Result, Tensor, Var};

/// The `gelu_tanh` kernel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GeluTanh;

/// `sqrt(2 / pi)`.
const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;
/// The cubic coefficient of the approximation.
const GELU_TANH_CUBIC: f64 = 0.044_715;
/// `A = 2 sqrt(2/pi)`: the nearest f64 and the remainder (mpmath, 60 digits).
const A: (f64, f64) = (1.595_769_121_605_730_8, -9.969_308_809_110_92e-17);
/// `B = 0.044715 A`: the nearest f64 and the remainder (mpmath, 60 digits).
const B: (f64, f64) = (0.071_354_816_272_600_25, -6.175_149_918_155_315e-19);

/// `z = 2u = x (A + B x^2)` as `hi + lo`, and `z' = A + 3 B x^2`, `z'' = 6 B x`.
#[inline(always)]
fn argument<T: Element>(x: T) -> (T, T, T, T) {
    let (a, a_lo) = split_constant::<T>(A.0, A.1);
    let (b, b_lo) = split_constant::<T>(B.0, B.1);
    let (s, s_lo) = two_prod(x, x);
    let (p, p_lo) = two_prod(b, s);
    let p_lo = p_lo + b * s_lo + b_lo * s;
    let (q, q_lo) = two_sum(a, p);
    let q_lo = q_lo + p_lo + a_lo;
    let (z, z_lo) = two_prod(x, q);
    let z_lo = if q_lo == T::zero() {
        z_lo
    } else {
        z_lo + x * q_lo
    };
    let dz = a + T::of(3.0) * p;
    let d2z = T::of(6.0) * b * x;
    (z, z_lo, dz, d2z)
}

impl Pointwise for GeluTanh {
    fn name(&self) -> &'static str {
        "gelu_tanh"
    }

    fn lanes(self) -> Option<impl Lanes> {
        Some(self)
    }

    #[inline(always)]
    fn f<T: Element>(self, x: T) -> T {
        let (z, z_lo, _, _) = argument(x);
        logistic_combination(z, z_lo, x, T::zero(), T::zero())
    }

    #[inline(always)]
    fn df<T: Element>(self, x: T, _y: T) -> T {
        let (z, z_lo, dz, _) = argument(x);
        logistic_combination(z, z_lo, T::one(), x * dz, T::zero())
    }

    #[inline(always)]
    fn d2f<T: Element>(self, x: T, _y: T) -> T {
        let (z, z_lo, dz, d2z) = argument(x);
        logistic_combination(z, z_lo, T::zero(), dz + dz + x * d2z, x * dz * dz)
    }

    fn composite(self, x: &Var) -> Result<Var> {
        let cubic = x.powf(3.0)?.mul_scalar(GELU_TANH_CUBIC)?;
        let u = x.add(&cubic)?.mul_scalar(SQRT_2_OVER_PI)?;
        x.mul(&u.tanh()?.add_scalar(1.0)?)?.mul_scalar(0.5)
    }
}

/// `z = x (A + B x^2)`, the logistic's argument (`x2` computed as the slope's is).
#[inline(always)]
fn z_of(x: f64) -> f64 {
    x * (A.0 + B.0 * (x * x))
}

/// The root of the slope `sigma(z) + x sigma'(z) z'` (bisection on the precise lanes).
const SLOPE_ROOT: f64 = -0.752_461_422_071_016_4;

/// Half the width of the band around [`SLOPE_ROOT`] whose elements take the precise
/// exponential (as silu's). Measured over every f32 in `[-1.2, -0.3]`: outside it the
/// cheap slope is within 0.0036 f32 ulps of the precise one (0.0085 outside 0.001).
const SLOPE_ROOT_BAND: f64 = 0.005;

/// The f32 path, in f64 lanes (see [`Lanes`]).
impl Lanes for GeluTanh {
    const STAGED: bool = true;

    /// `e^-|z|` for `z = x (A + B x^2)` (about `1e-10` relative), refined to a few f64
    /// ulps near the slope's root, where the sum cancels (see [`Lanes::REFINE_NEAR`]).
    #[inline(always)]
    fn first_stage(self, x: f64) -> f64 {
        lanes::exp_neg_abs(z_of(x))
    }

    const REFINE_NEAR: Option<(f64, f64)> = Some((SLOPE_ROOT, SLOPE_ROOT_BAND));

    #[inline(always)]
    fn refined_first_stage(self, x: f64) -> f64 {
        lanes::exp_precise(-z_of(x).abs())
    }

    #[inline(always)]
    fn value_and_slope_after(self, x: f64, e: f64) -> (f64, f64) {
        // The value x sigma(z), z = x (A + B x^2) (z's f64 rounding error is far below
        // f32's ulp), and the slope sigma(z) + x sigma'(z) z', z' = A + 3 B x^2, with
        // limits 0 and 1 beyond |z| = 700.
        let x2 = x * x;
        let z = z_of(x);
        let dz = A.0 + 3.0 * B.0 * x2;
        let (s, ds, _) = lanes::logistic_given(z, e);
        let value = if z < -700.0 { 0.0 } else { x * s };
        let v = s + x * ds * dz;
        let slope = if z < -700.0 {
            0.0
        } else if z > 700.0 {
            1.0
        } else {
            v
        };
        (value, slope)
    }

    fn keeps_slope(self, _len: usize) -> bool {
        true
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
