//! `relu6`: `f(x) = min(max(x, 0), 6)` (Krizhevsky 2010), ReLU capped at 6.
//!
//! `f'(x) = 1` for `0 < x < 6`, else 0 (0 at both corners: PyTorch computes relu6 as
//! `hardtanh(x, 0, 6)`); `f'' = 0`. PyTorch: `F.relu6`.

use super::{Pointwise, apply, blend, indicator, pointwise};
use crate::{Element, Result, Tensor, Var};

/// The `relu6` kernel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Relu6;

impl Pointwise for Relu6 {
    const CALLS: bool = false;

    fn name(&self) -> &'static str {
        "relu6"
    }

    #[inline(always)]
    fn f<T: Element>(self, x: T) -> T {
        if x <= T::zero() {
            if x.is_nan() { x } else { T::zero() }
        } else if x >= T::of(6.0) {
            T::of(6.0)
        } else {
            x
        }
    }

    #[inline(always)]
    fn df<T: Element>(self, x: T, _y: T) -> T {
        if x > T::zero() && x < T::of(6.0) {
            T::one()
        } else {
            T::zero()
        }
    }

    #[inline(always)]
    fn d2f<T: Element>(self, _x: T, _y: T) -> T {
        T::zero()
    }

    fn composite(self, x: &Var) -> Result<Var> {
        let inside = indicator(x, |t| t > 0.0 && t < 6.0)?;
        let capped = Var::untracked(indicator(x, |t| t >= 6.0)?.value().mul_scalar(6.0));
        blend(&inside, x, &capped)
    }
}

impl Tensor {
    /// `min(max(x, 0), 6)`; one recorded node. Plain maths, nothing recorded.
    pub fn relu6(&self) -> Tensor {
        pointwise(self, Relu6)
    }
}

impl Var {
    /// `min(max(x, 0), 6)`; one recorded node.
    ///
    /// # Errors
    /// the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn relu6(&self) -> Result<Var> {
        apply(self, Relu6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::activation::checks::*;
    use crate::testing::*;

    #[test]
    fn relu6_passes_the_standard_checks() {
        standard_checks(Relu6, &[0.0, 6.0]);
    }

    #[test]
    fn relu6_derivative_is_zero_at_both_corners() {
        let (y, d1, _) = engine_derivatives(Relu6, &t64(&[0.0, 6.0, 3.0, 7.0], &[4]));
        assert_eq!(y.to_f64_vec(), vec![0.0, 6.0, 3.0, 6.0]);
        assert_eq!(d1.to_f64_vec(), vec![0.0, 0.0, 1.0, 0.0]);
    }
}
