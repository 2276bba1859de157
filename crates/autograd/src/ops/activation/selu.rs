//! `selu`: the scaled exponential linear unit (Klambauer et al. 2017),
//! `f(x) = lambda x` for `x > 0`, `lambda alpha (e^x - 1)` otherwise, with
//! `alpha = 1.6732632423543772` and `lambda = 1.0507009873554805` chosen so that
//! activations keep zero mean and unit variance through a network initialised with
//! LeCun normal weights (self-normalisation).
//!
//! `f'(x) = lambda` for `x > 0`, else `lambda alpha e^x`; `f''` is 0 for `x >= 0`, else
//! `lambda alpha e^x`. At 0, as PyTorch (selu is elu with a scale): `f'` takes the left
//! branch, `f''(0) = 0` (`elu_double_backward` masks with `x < 0`). PyTorch: `torch.selu`.

use super::elu::{Elu, EluF64};
use super::lanes::{self, Lanes};
use super::{Pointwise, apply, blend, pointwise, positive_mask};
use crate::{Element, Result, Tensor, Var};

/// The `selu` kernel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Selu;

/// SELU's `alpha` (Klambauer et al. 2017).
pub const SELU_ALPHA: f64 = 1.673_263_242_354_377_284_817_042_991_671_7;
/// SELU's `lambda` (scale) (Klambauer et al. 2017).
pub const SELU_LAMBDA: f64 = 1.050_700_987_355_480_493_419_334_985_294_6;

impl Pointwise for Selu {
    fn name(&self) -> &'static str {
        "selu"
    }

    fn lanes(self) -> Option<impl Lanes> {
        Some(self)
    }

    fn lanes_f64(self) -> Option<impl Lanes> {
        Some(SeluF64)
    }

    #[inline(always)]
    fn f<T: Element>(self, x: T) -> T {
        if x > T::zero() {
            T::of(SELU_LAMBDA) * x
        } else {
            T::of(SELU_LAMBDA * SELU_ALPHA) * x.exp_m1()
        }
    }

    #[inline(always)]
    fn df<T: Element>(self, x: T, _y: T) -> T {
        if x > T::zero() {
            T::of(SELU_LAMBDA)
        } else {
            T::of(SELU_LAMBDA * SELU_ALPHA) * x.exp()
        }
    }

    #[inline(always)]
    fn d2f<T: Element>(self, x: T, _y: T) -> T {
        // PyTorch's elu_double_backward: mask x < 0, so 0 at the kink.
        if x >= T::zero() {
            T::zero()
        } else {
            T::of(SELU_LAMBDA * SELU_ALPHA) * x.exp()
        }
    }

    fn composite(self, x: &Var) -> Result<Var> {
        let m = positive_mask(x);
        let neg_part = x.mul(&Var::untracked(m.value().neg().add_scalar(1.0)))?;
        let curve = neg_part.exp()?.add_scalar(-1.0)?.mul_scalar(SELU_ALPHA)?;
        blend(&m, x, &curve)?.mul_scalar(SELU_LAMBDA)
    }
}

/// The f32 path, in f64 lanes (see [`Lanes`]): `lambda` times elu's lanes, one more
/// f64 rounding before the f32 one.
impl Lanes for Selu {
    #[inline(always)]
    fn value_and_slope_after(self, x: f64, first: f64) -> (f64, f64) {
        let (v, d) = Elu { alpha: SELU_ALPHA }.value_and_slope_after(x, first);
        (SELU_LAMBDA * v, SELU_LAMBDA * d)
    }

    fn keeps_slope(self, len: usize) -> bool {
        len <= lanes::CACHED_LEN
    }
}

/// The f64 path: `lambda` times elu's f64 lanes (a few f64 ulps).
#[derive(Clone, Copy)]
struct SeluF64;

impl Lanes for SeluF64 {
    #[inline(always)]
    fn value_and_slope_after(self, x: f64, first: f64) -> (f64, f64) {
        let (v, d) = EluF64 { alpha: SELU_ALPHA }.value_and_slope_after(x, first);
        (SELU_LAMBDA * v, SELU_LAMBDA * d)
    }
}

impl Tensor {
    /// The self-normalising `lambda * elu(x, alpha)`; one recorded node. Plain maths, nothing recorded.
    pub fn selu(&self) -> Tensor {
        pointwise(self, Selu)
    }
}

impl Var {
    /// The self-normalising `lambda * elu(x, alpha)`; one recorded node.
    ///
    /// # Errors
    /// the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn selu(&self) -> Result<Var> {
        apply(self, Selu)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::activation::checks::*;

    #[test]
    fn selu_passes_the_standard_checks() {
        standard_checks(Selu, &[0.0]);
    }

    #[test]
    fn selu_constants_match_the_paper() {
        // Klambauer et al. 2017, eq. 14, to the digits torch uses.
        assert_eq!(SELU_ALPHA, 1.673_263_242_354_377_2);
        assert_eq!(SELU_LAMBDA, 1.050_700_987_355_480_5);
    }
}
