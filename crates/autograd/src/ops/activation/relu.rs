//! `relu`: the rectified linear unit, `f(x) = max(x, 0)`.
//!
//! `f'(x) = 1` for `x > 0`, else 0; at the kink `relu'(0) = 0`, PyTorch's choice
//! (`threshold_backward` passes the gradient only where the output is positive).
//! `f'' = 0`. A unit whose pre-activation is negative for every input gets no gradient
//! at all: a dead unit. PyTorch: `torch.relu`.

use super::lanes::Lanes;
use super::{Pointwise, apply, pointwise, positive_mask};
use crate::{Element, Result, Tensor, Var};

/// The `relu` kernel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Relu;

impl Pointwise for Relu {
    fn name(&self) -> &'static str {
        "relu"
    }

    fn lanes(self) -> Option<impl Lanes> {
        Some(self)
    }

    #[inline(always)]
    fn f<T: Element>(self, x: T) -> T {
        if x > T::zero() || x.is_nan() {
            x
        } else {
            T::zero()
        }
    }

    #[inline(always)]
    fn df<T: Element>(self, x: T, _y: T) -> T {
        if x > T::zero() { T::one() } else { T::zero() }
    }

    #[inline(always)]
    fn d2f<T: Element>(self, _x: T, _y: T) -> T {
        T::zero()
    }

    fn composite(self, x: &Var) -> Result<Var> {
        x.mul(&positive_mask(x))
    }
}

/// The f32 path, in f64 lanes (see [`Lanes`]).
impl Lanes for Relu {
    #[inline(always)]
    fn value_and_slope_after(self, x: f64, _first: f64) -> (f64, f64) {
        // NaN <= 0 is false: NaN passes through, as in the scalar kernel.
        let value = if x <= 0.0 { 0.0 } else { x };
        (value, if x > 0.0 { 1.0 } else { 0.0 })
    }
}

impl Tensor {
    /// `max(x, 0)`; one recorded node. Plain maths, nothing recorded.
    pub fn relu(&self) -> Tensor {
        pointwise(self, Relu)
    }
}

impl Var {
    /// `max(x, 0)`; one recorded node.
    ///
    /// # Errors
    /// the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn relu(&self) -> Result<Var> {
        apply(self, Relu)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::activation::checks::*;
    use crate::testing::*;

    #[test]
    fn relu_passes_the_standard_checks() {
        standard_checks(Relu, &[0.0]);
    }

    #[test]
    fn relu_has_zero_subgradient_at_zero_and_keeps_nan() {
        let (y, d1, _) = engine_derivatives(Relu, &t64(&[0.0, -1.0, 2.0, f64::NAN], &[4]));
        let y = y.to_f64_vec();
        assert_eq!(&y[..3], &[0.0, 0.0, 2.0]);
        assert!(y[3].is_nan());
        assert_eq!(&d1.to_f64_vec()[..3], &[0.0, 0.0, 1.0]);
    }
}
