//! `gelu`: the Gaussian error linear unit (Hendrycks & Gimpel 2016), exact form,
//! `f(x) = x Phi(x)` with `Phi` the standard normal CDF.
//!
//! `f'(x) = Phi(x) + x phi(x)`, `f''(x) = phi(x) (2 - x^2)`, where
//! `phi(x) = e^(-x^2/2) / sqrt(2 pi)`. Not monotonic: a dip to -0.17 near `x = -0.75`;
//! the slope peaks at 1.129 at `x = sqrt 2`. PyTorch: `F.gelu(x)` (approximate="none").
//!
//! Numerics, each term to a few ulps for every `x`:
//! - `Phi(x) = erfc(-x / sqrt 2) / 2`, accurate in the left tail where
//!   `1 + erf(x / sqrt 2)` cancels to 0. The argument's rounding error matters there:
//!   `erfc(u)` ~ `e^-u^2`, so a relative error `d` in `u` is a relative error `2 u^2 d`
//!   in the result (97 ulps of f32 at `x = -12`). `x / sqrt 2` is carried as `hi + lo`
//!   (fused multiply-add, and `1/sqrt 2` to twice the working precision), and
//!   `Phi(x) = erfc(-hi) / 2 + sqrt 2 lo phi(x)` to first order.
//! - `phi(x)` likewise: `x^2 = s + s_lo` exactly, `e^(-x^2/2) = e^(-s/2) (1 - s_lo/2)`.
//! - `f'' = phi(x) (2 - x^2)` as `phi(x) (sqrt 2 - x)(sqrt 2 + x)` with `sqrt 2` to twice
//!   the working precision: `2 - x^2` cancels near the root `x = sqrt 2`.
//! - Where `x^2 / 2 > 64` the density may be subnormal: it is applied as
//!   `e^(-x^2/4)` twice, the second time last, so a subnormal result is rounded once
//!   instead of having its rounding error multiplied by `x` or `x^2`. In the left tail
//!   `Phi(x)` itself is then `phi(x) M(-x)`, with the Mills ratio
//!   `M(t) = (1 - 1/t^2 + 3/t^4 - 15/t^6 + ...) / t` summed to the working precision.

use super::{Pointwise, apply, pointwise, split_constant, two_prod};
use crate::{Element, Result, Tensor, Var};

/// The `gelu` kernel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Gelu;

/// `1 / sqrt 2`: the nearest f64 and the remainder (mpmath, 60 digits).
const FRAC_1_SQRT_2: (f64, f64) = (std::f64::consts::FRAC_1_SQRT_2, -4.833_646_656_726_457e-17);
/// `sqrt 2`: the nearest f64 and the remainder (mpmath, 60 digits).
const SQRT_2: (f64, f64) = (std::f64::consts::SQRT_2, -9.667_293_313_452_913e-17);
/// `1 / sqrt(2 pi)`.
const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;
/// Above this `x^2`, `e^(-x^2/2) < 1.7e-28` is applied in two halves (see the module docs).
const DENSITY_TAIL: f64 = 128.0;

/// `phi(x)` as a product `p q`: `q = 1`, or in the tails `q = e^(-x^2/4)`, which the
/// caller multiplies in last.
#[inline(always)]
fn density<T: Element>(x: T) -> (T, T) {
    let (s, s_lo) = two_prod(x, x);
    let correction = T::one() - s_lo * T::of(0.5);
    if s > T::of(DENSITY_TAIL) {
        let h = (-s * T::of(0.25)).exp();
        (T::of(INV_SQRT_2PI) * h * correction, h)
    } else {
        let g = (-s * T::of(0.5)).exp();
        (T::of(INV_SQRT_2PI) * g * correction, T::one())
    }
}

/// Where `Phi(x)` is taken as `phi(x) M(-x)`: the left tail, with the density split.
#[inline(always)]
fn in_left_tail<T: Element>(x: T) -> bool {
    x < T::zero() && x * x > T::of(DENSITY_TAIL)
}

/// The Mills ratio `M(t) = (1 - Phi(t)) / phi(t)` for `t >= 11`, by its asymptotic
/// series `(1 - 1/t^2 + 3/t^4 - ...) / t` (the terms shrink by `(2k + 1) / t^2 < 1/3`
/// until well past the working precision).
#[inline(always)]
fn mills_ratio<T: Element>(t: T) -> T {
    let inv_t2 = T::one() / (t * t);
    let mut term = T::one();
    let mut sum = T::one();
    for k in 1..40 {
        term = -term * T::of(f64::from(2 * k - 1)) * inv_t2;
        sum += term;
        if term.abs() < T::epsilon() * T::of(0.25) {
            break;
        }
    }
    sum / t
}

/// `Phi(x)` with the argument correction, given the density `p q` (not in the left tail).
#[inline(always)]
fn cdf<T: Element>(x: T, p: T, q: T) -> T {
    let (c, c_lo) = split_constant::<T>(FRAC_1_SQRT_2.0, FRAC_1_SQRT_2.1);
    let (w, w_lo) = two_prod(x, c);
    let w_lo = w_lo + x * c_lo;
    // erfc(-(w + w_lo)) = erfc(-w) + w_lo (2 / sqrt pi) e^(-w^2), and
    // (1 / sqrt pi) e^(-x^2/2) = sqrt 2 phi(x). Skipped where the density is 0 (w_lo may
    // be infinite there, for infinite x).
    let half_erfc = T::of(0.5) * (-w).erfc();
    if p * q == T::zero() {
        half_erfc
    } else {
        half_erfc + T::of(std::f64::consts::SQRT_2) * w_lo * p * q
    }
}

impl Pointwise for Gelu {
    fn name(&self) -> &'static str {
        "gelu"
    }

    #[inline(always)]
    fn f<T: Element>(self, x: T) -> T {
        let (p, q) = density(x);
        if in_left_tail(x) {
            // x Phi(x) = x M(-x) phi(x)
            (x * mills_ratio(-x) * p) * q
        } else {
            x * cdf(x, p, q)
        }
    }

    #[inline(always)]
    fn df<T: Element>(self, x: T, _y: T) -> T {
        let (p, q) = density(x);
        if in_left_tail(x) {
            // Phi(x) + x phi(x) = (M(-x) + x) phi(x)
            ((mills_ratio(-x) + x) * p) * q
        } else {
            cdf(x, p, q) + (x * p) * q
        }
    }

    #[inline(always)]
    fn d2f<T: Element>(self, x: T, _y: T) -> T {
        let (p, q) = density(x);
        let (r, r_lo) = split_constant::<T>(SQRT_2.0, SQRT_2.1);
        // 2 - x^2 = (sqrt 2 - x)(sqrt 2 + x); r - x is exact near the root (Sterbenz).
        (p * (((r - x) + r_lo) * ((r + x) + r_lo))) * q
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
