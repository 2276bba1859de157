//! `elu`: the exponential linear unit (Clevert, Unterthiner & Hochreiter 2016),
//! `f(x) = x` for `x > 0`, `alpha (e^x - 1)` otherwise.
//!
//! `f'(x) = 1` for `x > 0`, else `alpha e^x`; `f''(x) = 0` for `x >= 0`, else
//! `alpha e^x`. At 0 these are PyTorch's choices: `elu_backward` takes the left branch
//! (`elu'(0) = alpha`, mask `x <= 0`), while `elu_double_backward` multiplies by the
//! mask `x < 0` (`elu''(0) = 0`). Negative outputs push the mean activation towards zero.
//! PyTorch: `F.elu(x, alpha)`.
//!
//! Numerics: `alpha * expm1(x)`, exact near 0 where `e^x - 1` would cancel.

use super::lanes::{self, Lanes};
use super::{Pointwise, apply, blend, pointwise, positive_mask};
use crate::{Element, Error, Result, Tensor, Var};

/// The `elu` kernel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Elu {
    /// The parameter (see the module docs).
    pub alpha: f64,
}

impl Pointwise for Elu {
    fn name(&self) -> &'static str {
        "elu"
    }

    fn lanes(self) -> Option<impl Lanes> {
        Some(self)
    }

    fn lanes_f64(self) -> Option<impl Lanes> {
        Some(EluF64 { alpha: self.alpha })
    }

    fn describe(&self) -> String {
        format!("elu(alpha={})", self.alpha)
    }

    #[inline(always)]
    fn f<T: Element>(self, x: T) -> T {
        if x > T::zero() {
            x
        } else {
            T::of(self.alpha) * x.exp_m1()
        }
    }

    #[inline(always)]
    fn df<T: Element>(self, x: T, _y: T) -> T {
        if x > T::zero() {
            T::one()
        } else {
            T::of(self.alpha) * x.exp()
        }
    }

    #[inline(always)]
    fn d2f<T: Element>(self, x: T, _y: T) -> T {
        // PyTorch's elu_double_backward: mask x < 0, so 0 at the kink.
        if x >= T::zero() {
            T::zero()
        } else {
            T::of(self.alpha) * x.exp()
        }
    }

    fn composite(self, x: &Var) -> Result<Var> {
        let m = positive_mask(x);
        // exp of min(x, 0): the negative branch stays finite where x is large.
        let neg_part = x.mul(&Var::untracked(m.value().neg().add_scalar(1.0)))?;
        let curve = neg_part.exp()?.add_scalar(-1.0)?.mul_scalar(self.alpha)?;
        blend(&m, x, &curve)
    }
}

/// The f32 path, in f64 lanes (see [`Lanes`]).
impl Lanes for Elu {
    #[inline(always)]
    fn value_and_slope_after(self, x: f64, _first: f64) -> (f64, f64) {
        // Not staged (see `Lanes::STAGED`): one exponential and no division is a short
        // chain, and W3's 2^22 values, whose gradient evaluates the slope again, took
        // 0.82 ns per element staged against 0.72 unstaged at one thread.
        // alpha expm1(x) and alpha e^x below 0, from the same parts (what `lanes::expm1`
        // and `lanes::exp` do).
        let (p, s) = lanes::exp_parts(x);
        elu_from(self.alpha, x, s.mul_add(p, s - 1.0), s.mul_add(p, s))
    }

    fn keeps_slope(self, len: usize) -> bool {
        len <= lanes::CACHED_LEN
    }
}

/// The f64 path: the same formulas with the exponential's parts to a few f64 ulps, and
/// the slope 0 where `alpha e^x` would be subnormal in `e^x` (below `2.3e-308 alpha`).
#[derive(Clone, Copy)]
pub(super) struct EluF64 {
    pub(super) alpha: f64,
}

impl Lanes for EluF64 {
    #[inline(always)]
    fn value_and_slope_after(self, x: f64, _first: f64) -> (f64, f64) {
        let (p, s) = lanes::exp_precise_parts(x);
        let e = lanes::exp_precise_flushed(x, p, s);
        elu_from(self.alpha, x, s.mul_add(p, s - 1.0), e)
    }
}

/// `(elu x, elu' x)` from `e^x - 1` and `e^x`, for both lanes.
#[inline(always)]
fn elu_from(alpha: f64, x: f64, em1: f64, e: f64) -> (f64, f64) {
    if x > 0.0 {
        (x, 1.0)
    } else {
        (alpha * em1, alpha * e)
    }
}

impl Tensor {
    /// `x` for `x > 0`, else `alpha (e^x - 1)`; one recorded node. Plain maths, nothing recorded.
    pub fn elu(&self, alpha: f64) -> Result<Tensor> {
        if !alpha.is_finite() {
            return Err(Error::invalid(
                "elu",
                format!("alpha must be finite (got {alpha})"),
            ));
        }
        Ok(pointwise(self, Elu { alpha }))
    }
}

impl Var {
    /// `x` for `x > 0`, else `alpha (e^x - 1)`; one recorded node.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a bad parameter; the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn elu(&self, alpha: f64) -> Result<Var> {
        if !alpha.is_finite() {
            return Err(Error::invalid(
                "elu",
                format!("alpha must be finite (got {alpha})"),
            ));
        }
        apply(self, Elu { alpha })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::activation::checks::*;
    use crate::testing::*;

    #[test]
    fn elu_passes_the_standard_checks() {
        standard_checks(Elu { alpha: 1.0 }, &[0.0]);
        standard_checks(Elu { alpha: 0.5 }, &[0.0]);
    }

    #[test]
    fn elu_derivative_at_zero_is_alpha_and_its_curvature_zero() {
        let (_, d1, d2) = engine_derivatives(Elu { alpha: 0.5 }, &t64(&[0.0], &[1]));
        assert_eq!(d1.to_f64_vec(), vec![0.5]);
        assert_eq!(d2.to_f64_vec(), vec![0.0]);
    }

    #[test]
    fn elu_rejects_a_non_finite_alpha() {
        let tape = crate::Tape::new();
        let x = tape.var(t64(&[1.0], &[1]));
        assert_eq!(
            x.elu(f64::NAN).unwrap_err().to_string(),
            "elu: alpha must be finite (got NaN)"
        );
    }
}
