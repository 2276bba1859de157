//! `hardtanh`: `f(x) = clamp(x, -1, 1)` (Collobert 2004).
//!
//! `f'(x) = 1` for `-1 < x < 1`, else 0 (0 at the corners, as PyTorch's
//! `hardtanh_backward`); `f'' = 0`. PyTorch: `F.hardtanh`.

use super::{Pointwise, apply, blend, indicator, pointwise};
use crate::{Element, Result, Tensor, Var};

/// The `hardtanh` kernel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Hardtanh;

impl Pointwise for Hardtanh {
    const CALLS: bool = false;

    fn name(&self) -> &'static str {
        "hardtanh"
    }

    #[inline(always)]
    fn f<T: Element>(self, x: T) -> T {
        if x > T::one() {
            T::one()
        } else if x < -T::one() {
            -T::one()
        } else {
            x
        }
    }

    #[inline(always)]
    fn df<T: Element>(self, x: T, _y: T) -> T {
        if x > -T::one() && x < T::one() {
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
        // Inside (-1, 1) the identity, outside the constant sign(x).
        let inside = indicator(x, |t| t > -1.0 && t < 1.0)?;
        blend(&inside, x, &Var::untracked(x.value().sign()))
    }
}

impl Tensor {
    /// `clamp(x, -1, 1)`; one recorded node. Plain maths, nothing recorded.
    pub fn hardtanh(&self) -> Tensor {
        pointwise(self, Hardtanh)
    }
}

impl Var {
    /// `clamp(x, -1, 1)`; one recorded node.
    ///
    /// # Errors
    /// the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn hardtanh(&self) -> Result<Var> {
        apply(self, Hardtanh)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::activation::checks::*;
    use crate::testing::*;

    #[test]
    fn hardtanh_passes_the_standard_checks() {
        standard_checks(Hardtanh, &[-1.0, 1.0]);
    }

    #[test]
    fn hardtanh_derivative_is_zero_at_the_corners() {
        let (y, d1, _) = engine_derivatives(Hardtanh, &t64(&[-1.0, 1.0, 0.5, 3.0], &[4]));
        assert_eq!(y.to_f64_vec(), vec![-1.0, 1.0, 0.5, 1.0]);
        assert_eq!(d1.to_f64_vec(), vec![0.0, 0.0, 1.0, 0.0]);
    }
}
