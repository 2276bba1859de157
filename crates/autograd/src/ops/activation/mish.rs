//! `mish`: `f(x) = x tanh(softplus(x))` (Misra 2019).
//!
//! With `t = tanh(softplus(x))`, `S = sech^2(softplus(x)) = 1 - t^2` and `s = sigma(x)`:
//! `f'(x) = t + x S s`, `f''(x) = S s (2 - 2 x t s + x (1 - s))`.
//! Smooth, non-monotonic (minimum -0.309 near `x = -1.19`). PyTorch: `F.mish`.
//!
//! Numerics: everything comes from closed forms in one exponential, `n = e^x` for
//! `x <= 0` or `e = e^-x` above, so nothing overflows or cancels:
//! - `x <= 0`: with `p = n (n + 2)` and `D = p + 2`: `t = p / D`,
//!   `S s = 4 n (1 + n) / D^2`, `s = n / (1 + n)`, `1 - s = 1 / (1 + n)`;
//! - `x > 0`: `t = (1 + 2e) / (1 + 2e + 2e^2)`,
//!   `S s = 4 (1 + e) e^2 / ((1 + e)^2 + e^2)^2`, `s = 1 / (1 + e)`, `1 - s = e / (1 + e)`.
//!
//! For `x <= 0`, `f' = t + x S s` cancels near its root (`x = -1.19`; fivefold at
//! `x = -1`, 7 ulps of f32), so it is computed as `n B / D^2` with
//! `B = (n + 2) D + 4 x (1 + n)` evaluated exactly from `n` (fused multiply-add and
//! two-sum): only the rounding of `n` itself remains.
//!
//! Subnormal results are rounded once: `S s` ~ `4 e^2` is applied as
//! `4 (1 + e) e / (...)^2` times `e`, the factor `e` last; and below `x = -64`, where
//! `f`, `f'` and `f''` are `n` times `x`, `1 + x` and `2 + x` to within `n`, `n` is applied
//! as `e^(x/2)` twice (multiplying a rounded subnormal `n` by `x` would magnify its
//! rounding error up to 50 times in f32).

use super::{Pointwise, apply, pointwise, two_prod, two_sum};
use crate::{Element, Result, Tensor, Var};

/// The `mish` kernel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Mish;

/// Below `-TAIL`, `e^x < 1.7e-28` is below half an ulp of 1 in f32 and f64.
const TAIL: f64 = 64.0;

/// `t = tanh(softplus(x))`, `S s` as a product `ss * scale` (apply `scale` last), and
/// `1 - s`, for `x >= -TAIL`.
#[inline(always)]
fn parts<T: Element>(x: T) -> (T, T, T, T, T) {
    let one = T::one();
    let two = T::of(2.0);
    let four = T::of(4.0);
    if x <= T::zero() {
        let n = x.exp();
        let p = n * (n + two);
        let d = p + two;
        let s = n / (one + n);
        (
            p / d,
            four * n * (one + n) / (d * d),
            one,
            s,
            one / (one + n),
        )
    } else {
        let e = (-x).exp();
        let a = one + two * e;
        let w = (one + e) * (one + e) + e * e;
        let r = one / (one + e);
        (
            a / (a + two * e * e),
            four * (one + e) * e / (w * w),
            e,
            r,
            e * r,
        )
    }
}

/// `f'(x)` for `-TAIL <= x <= 0`: `n B / D^2`, `B = (n + 2) D + 4 x (1 + n)`, with `B` and
/// `D = n (n + 2) + 2` carried as `hi + lo` so that their cancellation near the root of
/// `f'` costs nothing.
#[inline(always)]
fn slope_left<T: Element>(x: T) -> T {
    let one = T::one();
    let two = T::of(2.0);
    let n = x.exp();
    let (n2, n2_lo) = two_sum(n, two);
    let (p, p_lo) = two_prod(n, n2);
    let p_lo = p_lo + n * n2_lo;
    let (d, d_lo) = two_sum(p, two);
    let d_lo = d_lo + p_lo;
    let (b1, b1_lo) = two_prod(n2, d);
    let b1_lo = b1_lo + n2 * d_lo + n2_lo * d;
    let (n1, n1_lo) = two_sum(one, n);
    let four_x = T::of(4.0) * x;
    let (b2, b2_lo) = two_prod(four_x, n1);
    let b2_lo = b2_lo + four_x * n1_lo;
    let (b, b_lo) = two_sum(b1, b2);
    let b = b + (b_lo + b1_lo + b2_lo);
    let d = d + d_lo;
    n * b / (d * d)
}

/// `n` times `k` for `n = e^x`, `x < -TAIL`: `e^(x/2)` applied twice, the second last.
#[inline(always)]
fn left_tail<T: Element>(x: T, k: T) -> T {
    let h = (x * T::of(0.5)).exp();
    if h == T::zero() {
        // n underflows (x = -inf included): the limit 0.
        return T::zero();
    }
    (k * h) * h
}

impl Pointwise for Mish {
    fn name(&self) -> &'static str {
        "mish"
    }

    #[inline(always)]
    fn f<T: Element>(self, x: T) -> T {
        if x < -T::of(TAIL) {
            return left_tail(x, x);
        }
        let (t, ..) = parts(x);
        x * t
    }

    #[inline(always)]
    fn df<T: Element>(self, x: T, _y: T) -> T {
        // t + x S s
        if x < -T::of(TAIL) {
            return left_tail(x, T::one() + x);
        }
        if x <= T::zero() {
            return slope_left(x);
        }
        let (t, ss, scale, ..) = parts(x);
        t + (x * ss) * scale
    }

    #[inline(always)]
    fn d2f<T: Element>(self, x: T, _y: T) -> T {
        // S s (2 - 2 x t s + x (1 - s))
        if x < -T::of(TAIL) {
            return left_tail(x, T::of(2.0) + x);
        }
        let (t, ss, scale, s, one_minus_s) = parts(x);
        let two = T::of(2.0);
        (ss * (two - two * x * t * s + x * one_minus_s)) * scale
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
