//! `celu`: the continuously differentiable ELU (Barron 2017),
//! `f(x) = x` for `x > 0`, `alpha (e^(x / alpha) - 1)` otherwise.
//!
//! `f'(x) = 1` for `x > 0`, else `e^(x / alpha)` (continuous at 0 for every alpha,
//! unlike ELU); `f''(x) = 0` for `x >= 0`, else `e^(x / alpha) / alpha`. At 0, as
//! PyTorch (which computes celu through elu): `f'` takes the left branch, and
//! `f''(0) = 0` (`elu_double_backward` masks with `x < 0`). PyTorch: `F.celu(x, alpha)`.

use super::lanes::{self, Lanes};
use super::{Pointwise, apply, blend, pointwise, positive_mask};
use crate::{Element, Error, Result, Tensor, Var};

/// The `celu` kernel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Celu {
    /// The parameter (see the module docs).
    pub alpha: f64,
}

impl Pointwise for Celu {
    fn name(&self) -> &'static str {
        "celu"
    }

    fn describe(&self) -> String {
        format!("celu(alpha={})", self.alpha)
    }

    fn lanes(self) -> Option<impl Lanes> {
        Some(self)
    }

    /// For `alpha > 0` only: below 0 `z = x / alpha` is then at most 0, where the
    /// precise exponential holds; for `alpha < 0` it grows past 709, where it clamps
    /// instead of overflowing (an f32 result overflows all the same).
    fn lanes_f64(self) -> Option<impl Lanes> {
        (self.alpha > 0.0).then_some(CeluF64 { alpha: self.alpha })
    }

    #[inline(always)]
    fn f<T: Element>(self, x: T) -> T {
        if x > T::zero() {
            x
        } else {
            T::of(self.alpha) * (x / T::of(self.alpha)).exp_m1()
        }
    }

    #[inline(always)]
    fn df<T: Element>(self, x: T, _y: T) -> T {
        if x > T::zero() {
            T::one()
        } else {
            (x / T::of(self.alpha)).exp()
        }
    }

    #[inline(always)]
    fn d2f<T: Element>(self, x: T, _y: T) -> T {
        // PyTorch's elu_double_backward: mask x < 0, so 0 at the kink.
        if x >= T::zero() {
            T::zero()
        } else {
            (x / T::of(self.alpha)).exp() / T::of(self.alpha)
        }
    }

    fn composite(self, x: &Var) -> Result<Var> {
        let m = positive_mask(x);
        let neg_part = x.mul(&Var::untracked(m.value().neg().add_scalar(1.0)))?;
        let curve = neg_part
            .mul_scalar(1.0 / self.alpha)?
            .exp()?
            .add_scalar(-1.0)?
            .mul_scalar(self.alpha)?;
        blend(&m, x, &curve)
    }
}

/// The f32 path, in f64 lanes (see [`Lanes`]): `alpha (e^z - 1)` and `e^z` at
/// `z = x / alpha` (one f64 rounding in `z`), from one exponential's parts.
impl Lanes for Celu {
    #[inline(always)]
    fn value_and_slope_after(self, x: f64, _first: f64) -> (f64, f64) {
        let (p, s) = lanes::exp_parts(x / self.alpha);
        celu_from(self.alpha, x, s.mul_add(p, s - 1.0), s.mul_add(p, s))
    }

    fn keeps_slope(self, len: usize) -> bool {
        len <= lanes::CACHED_LEN
    }
}

/// The f64 path: the same with the exponential to a few f64 ulps (0 where `e^z` is
/// subnormal, as elu's).
#[derive(Clone, Copy)]
struct CeluF64 {
    alpha: f64,
}

impl Lanes for CeluF64 {
    #[inline(always)]
    fn value_and_slope_after(self, x: f64, _first: f64) -> (f64, f64) {
        let z = x / self.alpha;
        let (p, s) = lanes::exp_precise_parts(z);
        celu_from(
            self.alpha,
            x,
            s.mul_add(p, s - 1.0),
            lanes::exp_precise_flushed(z, p, s),
        )
    }
}

/// `(celu x, celu' x)` from `e^z - 1` and `e^z`, for both lanes.
#[inline(always)]
fn celu_from(alpha: f64, x: f64, em1: f64, e: f64) -> (f64, f64) {
    if x > 0.0 { (x, 1.0) } else { (alpha * em1, e) }
}

impl Tensor {
    /// `x` for `x > 0`, else `alpha (e^(x/alpha) - 1)`; one recorded node. Plain maths, nothing recorded.
    pub fn celu(&self, alpha: f64) -> Result<Tensor> {
        if !alpha.is_finite() || alpha == 0.0 {
            return Err(Error::invalid(
                "celu",
                format!("alpha must be finite and non-zero (got {alpha})"),
            ));
        }
        Ok(pointwise(self, Celu { alpha }))
    }
}

impl Var {
    /// `x` for `x > 0`, else `alpha (e^(x/alpha) - 1)`; one recorded node.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a bad parameter; the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn celu(&self, alpha: f64) -> Result<Var> {
        if !alpha.is_finite() || alpha == 0.0 {
            return Err(Error::invalid(
                "celu",
                format!("alpha must be finite and non-zero (got {alpha})"),
            ));
        }
        apply(self, Celu { alpha })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::activation::checks::*;
    use crate::testing::*;

    #[test]
    fn celu_passes_the_standard_checks() {
        standard_checks(Celu { alpha: 1.0 }, &[0.0]);
        standard_checks(Celu { alpha: 2.0 }, &[0.0]);
    }

    #[test]
    fn celu_rejects_a_zero_alpha() {
        let tape = crate::Tape::new();
        let x = tape.var(t64(&[1.0], &[1]));
        assert_eq!(
            x.celu(0.0).unwrap_err().to_string(),
            "celu: alpha must be finite and non-zero (got 0)"
        );
    }
}
