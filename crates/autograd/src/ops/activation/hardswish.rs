//! `hardswish`: `f(x) = x relu6(x + 3) / 6` (Howard et al. 2019, MobileNetV3).
//!
//! `f'(x) = 0` for `x <= -3`, `x/3 + 1/2` for `-3 < x < 3`, 1 for `x >= 3`;
//! `f''(x) = 1/3` for `-3 < x < 3`, else 0. These are PyTorch's conventions at the
//! corners (`hardswish_backward` and its double backward): `f'(-3) = 0` and `f'(3) = 1`,
//! the outer branches, since pytorch/pytorch#148049 (2025); earlier releases gave
//! -0.5 and 1.5. PyTorch: `F.hardswish`.

use super::{Pointwise, apply, blend, indicator, pointwise};
use crate::{Element, Result, Tensor, Var};

/// The `hardswish` kernel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Hardswish;

impl Pointwise for Hardswish {
    const CALLS: bool = false;

    fn name(&self) -> &'static str {
        "hardswish"
    }

    #[inline(always)]
    fn f<T: Element>(self, x: T) -> T {
        if x <= T::of(-3.0) {
            T::zero()
        } else if x >= T::of(3.0) {
            x
        } else {
            x * (x + T::of(3.0)) / T::of(6.0)
        }
    }

    #[inline(always)]
    fn df<T: Element>(self, x: T, _y: T) -> T {
        if x <= T::of(-3.0) {
            T::zero()
        } else if x < T::of(3.0) {
            // (x + 3/2) / 3 rather than x/3 + 1/2: one rounding, none near the root -3/2.
            (x + T::of(1.5)) / T::of(3.0)
        } else {
            T::one()
        }
    }

    #[inline(always)]
    fn d2f<T: Element>(self, x: T, _y: T) -> T {
        if x > T::of(-3.0) && x < T::of(3.0) {
            T::one() / T::of(3.0)
        } else {
            T::zero()
        }
    }

    fn composite(self, x: &Var) -> Result<Var> {
        // x (x + 3) / 6 inside (-3, 3), x above, 0 below.
        let inside = indicator(x, |t| t > -3.0 && t < 3.0)?;
        let above = indicator(x, |t| t >= 3.0)?;
        let ramp = x.mul(&x.add_scalar(3.0)?)?.mul_scalar(1.0 / 6.0)?;
        blend(&inside, &ramp, &x.mul(&above)?)
    }
}

impl Tensor {
    /// `x relu6(x + 3) / 6`; one recorded node. Plain maths, nothing recorded.
    pub fn hardswish(&self) -> Tensor {
        pointwise(self, Hardswish)
    }
}

impl Var {
    /// `x relu6(x + 3) / 6`; one recorded node.
    ///
    /// # Errors
    /// the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn hardswish(&self) -> Result<Var> {
        apply(self, Hardswish)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::activation::checks::*;
    use crate::testing::*;

    #[test]
    fn hardswish_passes_the_standard_checks() {
        standard_checks(Hardswish, &[-3.0, 3.0]);
    }

    #[test]
    fn hardswish_follows_pytorch_at_the_corners() {
        let (y, d1, d2) = engine_derivatives(Hardswish, &t64(&[-3.0, 3.0, 0.0], &[3]));
        assert_eq!(y.to_f64_vec(), vec![0.0, 3.0, 0.0]);
        assert_eq!(d1.to_f64_vec(), vec![0.0, 1.0, 0.5]);
        assert_eq!(d2.to_f64_vec(), vec![0.0, 0.0, 1.0 / 3.0]);
    }
}
