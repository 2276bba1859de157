//! `silu`: the sigmoid-weighted linear unit (Elfwing, Uchibe & Doya 2018; Hendrycks &
//! Gimpel 2016), `f(x) = x sigma(x)`; swish with `beta = 1`.
//!
//! `f'(x) = sigma(x) + x sigma'(x)` (peaks at 1.0998 near `x = 2.4`),
//! `f''(x) = 2 sigma'(x) + x sigma''(x)`. Smooth and non-monotonic (minimum -0.278 at
//! `x = -1.278`). PyTorch: `F.silu`.

use super::{Pointwise, apply, logistic, logistic_curvature, logistic_slope, pointwise};
use crate::{Element, Result, Tensor, Var};

/// The `silu` kernel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Silu;

impl Pointwise for Silu {
    fn name(&self) -> &'static str {
        "silu"
    }

    #[inline(always)]
    fn f<T: Element>(self, x: T) -> T {
        x * logistic(x)
    }

    #[inline(always)]
    fn df<T: Element>(self, x: T, _y: T) -> T {
        logistic(x) + x * logistic_slope(x)
    }

    #[inline(always)]
    fn d2f<T: Element>(self, x: T, _y: T) -> T {
        (logistic_slope(x) + logistic_slope(x)) + x * logistic_curvature(x)
    }

    fn composite(self, x: &Var) -> Result<Var> {
        x.mul(&x.sigmoid()?)
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
