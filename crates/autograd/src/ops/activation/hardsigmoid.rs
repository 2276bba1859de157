//! `hardsigmoid`: `f(x) = relu6(x + 3) / 6`, a piecewise-linear sigmoid (0 below -3,
//! 1 above 3).
//!
//! `f'(x) = 1/6` for `-3 < x < 3`, else 0 (PyTorch's `hardsigmoid_backward`);
//! `f'' = 0`. PyTorch: `F.hardsigmoid`.

use super::{Pointwise, apply, blend, indicator, pointwise};
use crate::{Element, Result, Tensor, Var};

/// The `hardsigmoid` kernel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Hardsigmoid;

impl Pointwise for Hardsigmoid {
    const CALLS: bool = false;

    fn name(&self) -> &'static str {
        "hardsigmoid"
    }

    #[inline(always)]
    fn f<T: Element>(self, x: T) -> T {
        if x <= T::of(-3.0) {
            T::zero()
        } else if x >= T::of(3.0) {
            T::one()
        } else {
            // (x + 3) / 6 rather than x/6 + 1/2: exact sum near -3, one rounding.
            (x + T::of(3.0)) / T::of(6.0)
        }
    }

    #[inline(always)]
    fn df<T: Element>(self, x: T, _y: T) -> T {
        if x > T::of(-3.0) && x < T::of(3.0) {
            T::one() / T::of(6.0)
        } else {
            T::zero()
        }
    }

    #[inline(always)]
    fn d2f<T: Element>(self, _x: T, _y: T) -> T {
        T::zero()
    }

    fn composite(self, x: &Var) -> Result<Var> {
        // (x + 3) / 6 clipped to [0, 1]: the ramp inside, constants outside.
        let inside = indicator(x, |t| t > -3.0 && t < 3.0)?;
        let outside = indicator(x, |t| t >= 3.0)?;
        let ramp = x.add_scalar(3.0)?.mul_scalar(1.0 / 6.0)?;
        blend(&inside, &ramp, &outside)
    }
}

impl Tensor {
    /// `relu6(x + 3) / 6`; one recorded node. Plain maths, nothing recorded.
    pub fn hardsigmoid(&self) -> Tensor {
        pointwise(self, Hardsigmoid)
    }
}

impl Var {
    /// `relu6(x + 3) / 6`; one recorded node.
    ///
    /// # Errors
    /// the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn hardsigmoid(&self) -> Result<Var> {
        apply(self, Hardsigmoid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::activation::checks::*;
    use crate::testing::*;

    #[test]
    fn hardsigmoid_passes_the_standard_checks() {
        standard_checks(Hardsigmoid, &[-3.0, 3.0]);
    }

    #[test]
    fn hardsigmoid_is_zero_and_one_outside_the_ramp() {
        let (y, d1, _) = engine_derivatives(Hardsigmoid, &t64(&[-3.0, 3.0, 0.0, -5.0], &[4]));
        assert_eq!(y.to_f64_vec(), vec![0.0, 1.0, 0.5, 0.0]);
        assert_eq!(d1.to_f64_vec(), vec![0.0, 0.0, 1.0 / 6.0, 0.0]);
    }
}
