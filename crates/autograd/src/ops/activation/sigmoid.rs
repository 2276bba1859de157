//! `sigmoid`: the logistic function `f(x) = 1 / (1 + e^-x)`.
//!
//! `f'(x) = f(x) (1 - f(x))`, at most 1/4 (at 0): the reason deep sigmoid networks
//! lose their gradient, a factor of at most 1/4 per layer. `f''(x) = f'(x) (1 - 2 f(x))`.
//! PyTorch: `torch.sigmoid`.
//!
//! Numerics: computed from `e = e^-|x|`, so nothing overflows; the derivative is
//! `e / (1 + e)^2`, accurate to a few ulps even where `f(x)` rounds to 1 (the textbook
//! `y (1 - y)` returns 0 there: at `x = 20` in f32 the true value is `2.06e-9`).

use super::lanes::{self, Lanes};
use super::{
    Pointwise, apply, blend, indicator, logistic, logistic_curvature, logistic_slope, magnitude,
    pointwise,
};
use crate::{Element, Result, Tensor, Var};

/// The `sigmoid` kernel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sigmoid;

impl Pointwise for Sigmoid {
    fn name(&self) -> &'static str {
        "sigmoid"
    }

    fn lanes(self) -> Option<impl Lanes> {
        Some(self)
    }

    fn lanes_f64(self) -> Option<impl Lanes> {
        Some(SigmoidF64)
    }

    #[inline(always)]
    fn f<T: Element>(self, x: T) -> T {
        logistic(x)
    }

    #[inline(always)]
    fn df<T: Element>(self, x: T, _y: T) -> T {
        logistic_slope(x)
    }

    #[inline(always)]
    fn d2f<T: Element>(self, x: T, _y: T) -> T {
        logistic_curvature(x)
    }

    fn composite(self, x: &Var) -> Result<Var> {
        // With e = exp(-|x|): 1 / (1 + e) for x >= 0, e / (1 + e) below; both branches finite.
        let e = magnitude(x)?.neg()?.exp()?;
        let one_plus = e.add_scalar(1.0)?;
        let upper = one_plus.powf(-1.0)?;
        let lower = e.div(&one_plus)?;
        blend(&indicator(x, |t| t >= 0.0)?, &upper, &lower)
    }
}

/// The f32 path, in f64 lanes (see [`Lanes`]).
impl Lanes for Sigmoid {
    const STAGED: bool = true;

    /// `e^-|x|`.
    #[inline(always)]
    fn first_stage(self, x: f64) -> f64 {
        lanes::exp_neg_abs(x)
    }

    #[inline(always)]
    fn value_and_slope_after(self, x: f64, e: f64) -> (f64, f64) {
        let (value, slope, _) = lanes::logistic_given(x, e);
        (value, slope)
    }

    fn keeps_slope(self, _len: usize) -> bool {
        true
    }
}

/// The f64 path: the f32 path's second stage after an exponential to a few f64 ulps.
#[derive(Clone, Copy)]
struct SigmoidF64;

impl Lanes for SigmoidF64 {
    const STAGED: bool = true;

    #[inline(always)]
    fn first_stage(self, x: f64) -> f64 {
        lanes::exp_neg_abs_precise(x)
    }

    #[inline(always)]
    fn value_and_slope_after(self, x: f64, e: f64) -> (f64, f64) {
        Sigmoid.value_and_slope_after(x, e)
    }
}

impl Tensor {
    /// The logistic sigmoid `1 / (1 + e^-x)`; one recorded node. Plain maths, nothing recorded.
    pub fn sigmoid(&self) -> Tensor {
        pointwise(self, Sigmoid)
    }
}

impl Var {
    /// The logistic sigmoid `1 / (1 + e^-x)`; one recorded node.
    ///
    /// # Errors
    /// the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn sigmoid(&self) -> Result<Var> {
        apply(self, Sigmoid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::activation::checks::*;
    use crate::testing::*;

    #[test]
    fn sigmoid_passes_the_standard_checks() {
        standard_checks(Sigmoid, &[]);
    }

    #[test]
    fn sigmoid_slope_is_exact_where_the_value_rounds_to_one() {
        let (y, d1, _) = engine_derivatives(
            Sigmoid,
            &t64(&[20.0, 0.0, -20.0], &[3]).to_dtype(crate::DType::F32),
        );
        assert_eq!(y.to_vec::<f32>().unwrap()[0], 1.0);
        let d = d1.to_vec::<f32>().unwrap();
        // sigma'(20) = e^-20 / (1 + e^-20)^2 = 2.0611536e-9
        assert!(
            (d[0] as f64 - 2.061_153_618_190_204_4e-9).abs() < 1e-16,
            "{}",
            d[0]
        );
        assert_eq!(d[1], 0.25);
        assert_eq!(d[0], d[2]);
    }
}
