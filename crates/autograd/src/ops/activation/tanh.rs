//! `tanh`: the hyperbolic tangent, `f(x) = (e^x - e^-x) / (e^x + e^-x)`.
//!
//! `f'(x) = 1 - f(x)^2` (at most 1, at 0), `f''(x) = -2 f(x) f'(x)`. Zero-centred, but
//! saturating: `f'` decays like `4 e^-2|x|`. PyTorch: `torch.tanh`.
//!
//! Numerics: `f'` is computed as `4 e / (1 + e)^2` with `e = e^-2|x|`, accurate to a few
//! ulps everywhere; `1 - y^2` returns 0 as soon as `y` rounds to ±1 (`|x| > 9` in f32).

use super::lanes::{self, Lanes};
use super::{Pointwise, apply, indicator, magnitude, pointwise};
use crate::{Element, Result, Tensor, Var};

/// The `tanh` kernel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tanh;

/// `tanh'(x) = 4 e / (1 + e)^2` with `e = e^-2|x|`.
#[inline(always)]
fn tanh_slope<T: Element>(x: T) -> T {
    let e = (-(x.abs() + x.abs())).exp();
    let r = T::one() / (T::one() + e);
    (e + e + e + e) * r * r
}

impl Pointwise for Tanh {
    fn name(&self) -> &'static str {
        "tanh"
    }

    fn lanes(self) -> Option<impl Lanes> {
        Some(self)
    }

    fn lanes_f64(self) -> Option<impl Lanes> {
        Some(TanhF64)
    }

    #[inline(always)]
    fn f<T: Element>(self, x: T) -> T {
        x.tanh()
    }

    #[inline(always)]
    fn df<T: Element>(self, x: T, _y: T) -> T {
        tanh_slope(x)
    }

    #[inline(always)]
    fn d2f<T: Element>(self, x: T, y: T) -> T {
        -(y + y) * tanh_slope(x)
    }

    fn composite(self, x: &Var) -> Result<Var> {
        // sign(x) (1 - e) / (1 + e) with e = exp(-2|x|): finite for every x.
        let e = magnitude(x)?.mul_scalar(-2.0)?.exp()?;
        let ratio = e.neg()?.add_scalar(1.0)?.div(&e.add_scalar(1.0)?)?;
        // ratio = tanh|x|; tanh x = ratio * (|x| / x), with |x| / x = +-1.
        ratio.mul(&Var::untracked(
            indicator(x, |t| t >= 0.0)?
                .value()
                .mul_scalar(2.0)
                .add_scalar(-1.0),
        ))
    }
}

/// The f32 path, in f64 lanes (see [`Lanes`]).
impl Lanes for Tanh {
    #[inline(always)]
    fn value_and_slope_after(self, x: f64, _first: f64) -> (f64, f64) {
        // Not staged (see `Lanes::STAGED`): the value needs both parts of the
        // exponential, so a second stage would repeat the reduction, and split after
        // the polynomial tanh took 0.70 ns per element instead of 0.68 on 2^14 values
        // and 0.93 instead of 0.87 on 2^22 (one thread).
        // tanh|x| = (1 - e) / (1 + e) with e = e^-2|x|, and 1 - e = -expm1(-2|x|) from
        // the same exponential's parts: no cancellation as x -> 0, so no separate
        // series is needed there. The slope is 4 e / (1 + e)^2, as the scalar kernel.
        let a = x.abs();
        let (p, s) = lanes::exp_parts(-(a + a));
        tanh_from(x, s.mul_add(p, s), -s.mul_add(p, s - 1.0))
    }

    fn keeps_slope(self, _len: usize) -> bool {
        true
    }
}

/// The f64 path: the same formulas with the exponential's parts to a few f64 ulps;
/// `e = e^-2|x|` is 0 where it is subnormal (see `lanes::exp_neg_abs_precise`), where
/// the value is 1 in f64 and the slope `4 e` below `8.9e-308`.
#[derive(Clone, Copy)]
struct TanhF64;

impl Lanes for TanhF64 {
    #[inline(always)]
    fn value_and_slope_after(self, x: f64, _first: f64) -> (f64, f64) {
        let a = x.abs();
        let (p, s) = lanes::exp_precise_parts(-(a + a));
        let e = lanes::exp_precise_flushed(-(a + a), p, s);
        tanh_from(x, e, -s.mul_add(p, s - 1.0))
    }
}

/// `(tanh x, tanh' x)` from `e = e^-2|x|` and `1 - e`, for both lanes.
#[inline(always)]
fn tanh_from(x: f64, e: f64, one_minus_e: f64) -> (f64, f64) {
    let r = 1.0 / (1.0 + e);
    ((one_minus_e * r).copysign(x), 4.0 * e * r * r)
}

impl Tensor {
    /// The hyperbolic tangent; one recorded node. Plain maths, nothing recorded.
    pub fn tanh(&self) -> Tensor {
        pointwise(self, Tanh)
    }
}

impl Var {
    /// The hyperbolic tangent; one recorded node.
    ///
    /// # Errors
    /// the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn tanh(&self) -> Result<Var> {
        apply(self, Tanh)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::activation::checks::*;
    use crate::testing::*;

    #[test]
    fn tanh_passes_the_standard_checks() {
        standard_checks(Tanh, &[]);
    }

    #[test]
    fn tanh_slope_is_exact_in_the_tails() {
        let (_, d1, _) = engine_derivatives(Tanh, &t64(&[20.0, -20.0, 0.0], &[3]));
        let d = d1.to_f64_vec();
        // 1 / cosh(20)^2 = 4 e^-40 / (1 + e^-40)^2
        let want = 4.0 * (-40.0f64).exp();
        assert!((d[0] - want).abs() / want < 1e-14, "{}", d[0]);
        assert_eq!(d[0], d[1]);
        assert_eq!(d[2], 1.0);
    }
}
