//! `swish`: `f(x) = x sigma(beta x)` (Ramachandran, Zoph & Le 2017); `beta = 1` is
//! SiLU, and as `beta` grows swish tends to ReLU.
//!
//! `f'(x) = sigma(beta x) + beta x sigma'(beta x)`,
//! `f''(x) = 2 beta sigma'(beta x) + beta^2 x sigma''(beta x)`. PyTorch has no swish
//! with a beta; `x * torch.sigmoid(beta * x)`.
//!
//! Numerics: in the left tail `sigma(z) ~ e^z`, so the rounding error of `z = beta x`
//! becomes a relative error of `|z|/2` ulps in all three (53 ulps of f32 at
//! `x = -60.1`, `beta = 1.5`). `z` is therefore carried as `hi + lo` (the product's
//! rounding error by a fused multiply-add, and the part of `beta` that f32 cannot hold),
//! and the terms come from `logistic_combination`, which also keeps subnormal results
//! (`x < -87 / beta` in f32) to one rounding.

use super::lanes::{self, Lanes};
use super::{
    Pointwise, apply, logistic_combination, logistic_swish_curvature, pointwise, split_constant,
    two_prod,
};
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

    fn lanes(self) -> Option<impl Lanes> {
        Some(SwishF64 { beta: self.beta })
    }

    fn lanes_f64(self) -> Option<impl Lanes> {
        Some(SwishF64 { beta: self.beta })
    }

    #[inline(always)]
    fn f<T: Element>(self, x: T) -> T {
        let (z, z_lo, _) = scaled(self.beta, x);
        logistic_combination(z, z_lo, x, T::zero(), T::zero())
    }

    #[inline(always)]
    fn df<T: Element>(self, x: T, _y: T) -> T {
        // sigma(z) + z sigma'(z)
        let (z, z_lo, _) = scaled(self.beta, x);
        logistic_combination(z, z_lo, T::one(), z, T::zero())
    }

    #[inline(always)]
    fn d2f<T: Element>(self, x: T, _y: T) -> T {
        // beta (2 sigma'(z) + z sigma''(z))
        let (z, z_lo, b) = scaled(self.beta, x);
        b * logistic_swish_curvature(z, z_lo)
    }

    fn composite(self, x: &Var) -> Result<Var> {
        x.mul(&x.mul_scalar(self.beta)?.sigmoid()?)
    }
}

/// The vectorised path of swish (f32 and f64 tensors) and silu's f64 path (`beta = 1`;
/// silu's f32 path is its own): the scalar kernel's formulas in vectorised lanes, with `z = beta x` carried as `hi + lo` as there, and the
/// exponential as `h = e^(-|z|/2)` to a few f64 ulps, applied twice (`e^-|z| = h h`),
/// the second time last, as the scalar kernel does in its tails. So a result in the
/// left tail is rounded once, even where it or `e^-|z|` is subnormal (silu at
/// `x = -720` is `-1.8e-310`); beyond `|z| = 1416`, where `h` itself would be
/// subnormal, the results are their limits.
///
/// Near the slope's root (`z = -1.2785`) the two terms `sigma(z)` and `z sigma'(z)`
/// cancel, here as in the scalar kernel: both are accurate to a few ulps of the terms,
/// not of their sum.
#[derive(Clone, Copy)]
pub(crate) struct SwishF64 {
    pub(crate) beta: f64,
}

impl Lanes for SwishF64 {
    const STAGED: bool = true;

    /// `h = e^(-|z|/2)` (0 where it is subnormal).
    #[inline(always)]
    fn first_stage(self, x: f64) -> f64 {
        lanes::exp_neg_abs_precise(0.5 * (self.beta * x))
    }

    #[inline(always)]
    fn value_and_slope_after(self, x: f64, h: f64) -> (f64, f64) {
        let z = self.beta * x;
        let z_lo = self.beta.mul_add(x, -z);
        let negative = z < 0.0;
        // |z| = m + m_lo; below 1, or not finite (x infinite), where it is left out.
        let m_lo = if negative { -z_lo } else { z_lo };
        let m_lo = if m_lo.abs() < 1.0 { m_lo } else { 0.0 };
        // e^(-(m + m_lo)/2) to first order (m_lo is below an ulp of m).
        let hc = h - h * (0.5 * m_lo);
        let e = hc * hc;
        let r = 1.0 / (1.0 + e);
        let hr = hc * r;
        // z < 0: sigma = e r and sigma' = e r^2, so value = x e r and slope =
        // e r (1 + z r), with the last factor hc applied last; z >= 0: sigma = r.
        let (value, slope) = if negative {
            ((x * hr) * hc, (hr * z.mul_add(r, 1.0)) * hc)
        } else {
            (x * r, z.mul_add(hr * hr, r))
        };
        // Where h underflows (and x = -inf, +inf): the limits, 0 on the left, x and 1
        // on the right.
        let underflow = h == 0.0;
        let value = if underflow {
            if negative { 0.0 } else { x }
        } else {
            value
        };
        let slope = if underflow {
            if negative { 0.0 } else { 1.0 }
        } else {
            slope
        };
        (value, slope)
    }

    fn keeps_slope(self, _len: usize) -> bool {
        true
    }
}

/// `z = beta x` as `hi + lo`, and `beta` in `T`.
#[inline(always)]
fn scaled<T: Element>(beta: f64, x: T) -> (T, T, T) {
    let (b, b_lo) = split_constant::<T>(beta, 0.0);
    let (z, z_lo) = two_prod(b, x);
    if b_lo == T::zero() {
        (z, z_lo, b)
    } else {
        (z, z_lo + b_lo * x, b)
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
