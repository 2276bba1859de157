//! `mish`: `f(x) = x tanh(softplus(x))` (Misra 2019).
//!
//! With `t = tanh(softplus(x))`, `S = sech^2(softplus(x)) = 1 - t^2` and `s = sigma(x)`:
//! `f'(x) = t + x S s`, `f''(x) = S s (2 - 2 x t s + x (1 - s))`.
//! Smooth, non-monotonic (minimum -0.309 near `x = -1.19`). PyTorch: `F.mish`.
//!
//! Numerics: `t` and `S` come from closed forms in `n = e^x` (for `x <= 0`) or
//! `e = e^-x` (above): `t = n (n + 2) / (n (n + 2) + 2)`, and so on, so neither
//! overflows nor cancels.

use super::{Pointwise, apply, logistic, pointwise};
use crate::{Element, Result, Tensor, Var};

/// The `mish` kernel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Mish;

/// `tanh(softplus(x)) = ((1+e^x)^2 - 1) / ((1+e^x)^2 + 1)`, rewritten in `e^-|x|`.
#[inline(always)]
fn tanh_softplus<T: Element>(x: T) -> T {
    let two = T::of(2.0);
    if x <= T::zero() {
        let n = x.exp();
        let p = n * (n + two);
        p / (p + two)
    } else {
        let e = (-x).exp();
        let a = T::one() + two * e;
        a / (a + two * e * e)
    }
}

/// `sech^2(softplus(x)) = 4 (1+e^x)^2 / ((1+e^x)^2 + 1)^2`, rewritten in `e^-|x|`.
#[inline(always)]
fn sech2_softplus<T: Element>(x: T) -> T {
    let four = T::of(4.0);
    if x <= T::zero() {
        let w = (T::one() + x.exp()).powi(2);
        four * w / (w + T::one()).powi(2)
    } else {
        let e = (-x).exp();
        let w = (T::one() + e).powi(2);
        four * w * e * e / (w + e * e).powi(2)
    }
}

impl Pointwise for Mish {
    fn name(&self) -> &'static str {
        "mish"
    }

    #[inline(always)]
    fn f<T: Element>(self, x: T) -> T {
        x * tanh_softplus(x)
    }

    #[inline(always)]
    fn df<T: Element>(self, x: T, _y: T) -> T {
        tanh_softplus(x) + x * sech2_softplus(x) * logistic(x)
    }

    #[inline(always)]
    fn d2f<T: Element>(self, x: T, _y: T) -> T {
        let t = tanh_softplus(x);
        let s = logistic(x);
        let two = T::of(2.0);
        sech2_softplus(x) * s * (two - two * x * t * s + x * (T::one() - s))
    }

    fn composite(self, x: &Var) -> Result<Var> {
        x.mul(&x.softplus(1.0)?.tanh()?)
    }
}

impl Tensor {
    /// `x tanh(softplus(x))`; one recorded node. Plain maths, nothing recorded.
    pub fn mish(&self) -> Tensor {
        pointwise(self, Mish)
    }
}

impl Var {
    /// `x tanh(softplus(x))`; one recorded node.
    ///
    /// # Errors
    /// the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn mish(&self) -> Result<Var> {
        apply(self, Mish)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::activation::checks::*;
    use crate::testing::*;

    #[test]
    fn mish_passes_the_standard_checks() {
        standard_checks(Mish, &[]);
    }

    #[test]
    fn mish_slope_at_zero_is_tanh_of_ln_two() {
        let (_, d1, _) = engine_derivatives(Mish, &t64(&[0.0], &[1]));
        assert!((d1.to_f64_vec()[0] - 0.6).abs() < 1e-15);
    }
}
