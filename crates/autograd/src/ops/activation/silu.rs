//! `silu`: the sigmoid-weighted linear unit (Elfwing, Uchibe & Doya 2018; Hendrycks &
//! Gimpel 2016), `f(x) = x sigma(x)`; swish with `beta = 1`.
//!
//! `f'(x) = sigma(x) + x sigma'(x)` (peaks at 1.0998 near `x = 2.4`),
//! `f''(x) = 2 sigma'(x) + x sigma''(x)`. Smooth and non-monotonic (minimum -0.278 at
//! `x = -1.278`). PyTorch: `F.silu`.
//!
//! Numerics: through `logistic_combination` (see swish), which keeps the subnormal
//! results of the left tail (`x < -87` in f32) to one rounding; `x sigma(x)` computed
//! plainly is off by up to `|x| / 2` subnormal ulps there.

use super::lanes::{self, Lanes};
use super::{Pointwise, apply, logistic_combination, logistic_swish_curvature, pointwise};
use crate::{Element, Result, Tensor, Var};

/// The `silu` kernel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Silu;

impl Pointwise for Silu {
    fn name(&self) -> &'static str {
        "silu"
    }

    fn lanes(self) -> Option<impl Lanes> {
        Some(self)
    }

    fn lanes_f64(self) -> Option<impl Lanes> {
        Some(super::swish::SwishF64 { beta: 1.0 })
    }

    #[inline(always)]
    fn f<T: Element>(self, x: T) -> T {
        logistic_combination(x, T::zero(), x, T::zero(), T::zero())
    }

    #[inline(always)]
    fn df<T: Element>(self, x: T, _y: T) -> T {
        // sigma + x sigma'
        logistic_combination(x, T::zero(), T::one(), x, T::zero())
    }

    #[inline(always)]
    fn d2f<T: Element>(self, x: T, _y: T) -> T {
        // 2 sigma' + x sigma''
        logistic_swish_curvature(x, T::zero())
    }

    fn composite(self, x: &Var) -> Result<Var> {
        x.mul(&x.sigmoid()?)
    }
}

/// The root of silu's slope `sigma(x) + x sigma'(x)` (where `1 + x sigma(-x) = 0`),
/// to the digits the refinement band needs.
const SLOPE_ROOT: f64 = -1.278_464_542_761_074;

/// Half the width of the band around [`SLOPE_ROOT`] whose elements take the precise
/// exponential. There the slope is about `(x - root) e r`, and the cheap exponential's
/// relative error (below `2.7e-10`) reaches it magnified by about `0.2 / |x - root|`.
/// Measured over every f32 in `[-1.40, -1.15]`: outside this band the cheap slope is
/// within 0.0075 f32 ulps of the precise one (0.06 outside 0.001, 0.0017 outside
/// 0.02), so the rounded results stay within half an ulp plus that.
const SLOPE_ROOT_BAND: f64 = 0.005;

/// The f32 path, in f64 lanes (see [`Lanes`]).
impl Lanes for Silu {
    const STAGED: bool = true;

    /// `e^-|x|` (about `1e-10` relative), refined to a few f64 ulps near the slope's
    /// root, where `sigma + x sigma'` cancels (see [`Lanes::REFINE_NEAR`]).
    #[inline(always)]
    fn first_stage(self, x: f64) -> f64 {
        lanes::exp_neg_abs(x)
    }

    const REFINE_NEAR: Option<(f64, f64)> = Some((SLOPE_ROOT, SLOPE_ROOT_BAND));

    #[inline(always)]
    fn refined_first_stage(self, x: f64) -> f64 {
        lanes::exp_precise(-x.abs())
    }

    #[inline(always)]
    fn value_and_slope_after(self, x: f64, e: f64) -> (f64, f64) {
        let (s, ds, _) = lanes::logistic_given(x, e);
        // Below -700 the f64 logistic is clamped (at e^-708.4): the exact value is 0 in f32,
        // and beyond |x| = 700 the slope's limits are 0 and 1 (so infinities too).
        let value = if x < -700.0 { 0.0 } else { x * s };
        let v = s + x * ds;
        let slope = if x < -700.0 {
            0.0
        } else if x > 700.0 {
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
    /// `x sigma(x)`; one recorded node. Plain maths, nothing recorded.
    pub fn silu(&self) -> Tensor {
        pointwise(self, Silu)
    }
}

impl Var {
    /// `x sigma(x)`; one recorded node.
    ///
    /// # Errors
    /// the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn silu(&self) -> Result<Var> {
        apply(self, Silu)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::activation::checks::*;

    #[test]
    fn silu_passes_the_standard_checks() {
        standard_checks(Silu, &[]);
    }
}
