//! `clamp`: `z = min(max(x, lo), hi)`, either bound optional.
//!
//! Derivative: 1 where `lo <= x <= hi` (bounds included, PyTorch's rule, so a value
//! sitting exactly on a bound still gets its gradient), 0 outside. NaN stays NaN and
//! gets a zero gradient. The bounds are rounded to the tensor's dtype. PyTorch:
//! `torch.clamp(x, min, max)`.
//!
//! ```
//! use gradflow_autograd::{Tape, Tensor};
//! let tape = Tape::new();
//! let x = tape.var(Tensor::from_vec(vec![-2.0f64, 0.0, 0.5, 3.0], &[4])?);
//! let y = x.clamp(Some(0.0), Some(1.0))?;
//! assert_eq!(y.value().to_vec::<f64>()?, vec![0.0, 0.0, 0.5, 1.0]);
//! let grads = y.sum_all()?.backward()?;
//! assert_eq!(grads.get(&x).unwrap().to_vec::<f64>()?, vec![0.0, 1.0, 1.0, 0.0]);
//! # Ok::<(), gradflow_autograd::Error>(())
//! ```

use crate::tensor::kernel::{self, UnaryFn};
use crate::{BackwardCtx, Element, Error, InputGrads, Op, Result, Shape, Tensor, Var};

/// The `clamp` op, with its bounds checked (`lo <= hi`, neither NaN; a missing bound is
/// infinite).
#[derive(Clone, Copy, Debug)]
pub struct Clamp {
    lo: f64,
    hi: f64,
}

#[derive(Clone, Copy)]
struct ClampFn(f64, f64);
impl UnaryFn for ClampFn {
    #[inline(always)]
    fn eval<T: Element>(self, x: T) -> T {
        let (lo, hi) = (T::of(self.0), T::of(self.1));
        if x < lo {
            lo
        } else if x > hi {
            hi
        } else {
            x
        }
    }
}

/// 1 where `lo <= x <= hi`, else 0 (so 0 for NaN).
#[derive(Clone, Copy)]
struct InsideFn(f64, f64);
impl UnaryFn for InsideFn {
    #[inline(always)]
    fn eval<T: Element>(self, x: T) -> T {
        if x >= T::of(self.0) && x <= T::of(self.1) {
            T::one()
        } else {
            T::zero()
        }
    }
}

impl Clamp {
    /// Checks the bounds: at least one given, neither NaN, `min <= max`.
    fn new(min: Option<f64>, max: Option<f64>) -> Result<Clamp> {
        if min.is_none() && max.is_none() {
            return Err(Error::invalid(
                "clamp",
                "at least one of min and max must be given (as in torch.clamp)",
            ));
        }
        for (name, bound) in [("min", min), ("max", max)] {
            if bound.is_some_and(f64::is_nan) {
                return Err(Error::invalid("clamp", format!("the {name} bound is NaN")));
            }
        }
        let lo = min.unwrap_or(f64::NEG_INFINITY);
        let hi = max.unwrap_or(f64::INFINITY);
        if lo > hi {
            return Err(Error::invalid(
                "clamp",
                format!("min {lo} is greater than max {hi}"),
            ));
        }
        Ok(Clamp { lo, hi })
    }
}

impl Op for Clamp {
    fn name(&self) -> &'static str {
        "clamp"
    }

    fn describe(&self) -> String {
        format!("clamp(min={}, max={})", self.lo, self.hi)
    }

    fn forward(&mut self, inputs: &[&Tensor]) -> Result<Tensor> {
        Ok(kernel::map(inputs[0], ClampFn(self.lo, self.hi)))
    }

    fn backward(&self, ctx: &BackwardCtx<'_>, grad: &Var) -> Result<InputGrads> {
        let inside = kernel::map(ctx.input(0).value(), InsideFn(self.lo, self.hi));
        let zero = Var::untracked(Tensor::zeros(Shape::scalar(), grad.dtype()));
        Ok([Some(Var::where_(&inside, grad, &zero)?)]
            .into_iter()
            .collect())
    }
}

impl Tensor {
    /// Each element limited to `[min, max]`; a `None` bound is no limit on that side.
    ///
    /// # Shapes
    /// The output has the input's shape.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if both bounds are `None`, a bound is NaN, or
    /// `min > max`.
    pub fn clamp(&self, min: Option<f64>, max: Option<f64>) -> Result<Tensor> {
        let c = Clamp::new(min, max)?;
        Ok(kernel::map(self, ClampFn(c.lo, c.hi)))
    }
}

impl Var {
    /// Each element limited to `[min, max]`; recorded. The gradient passes where
    /// `min <= x <= max` (bounds included) and is zero outside.
    ///
    /// # Shapes
    /// The output has the input's shape.
    ///
    /// # Errors
    /// As [`Tensor::clamp`], plus the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn clamp(&self, min: Option<f64>, max: Option<f64>) -> Result<Var> {
        Var::apply(Clamp::new(min, max)?, &[self])
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::*;
    use crate::{DType, Tape, Tensor};

    /// Values at least 0.05 away from the bounds, so finite differences do not cross them.
    fn away_from(x: &Tensor, bounds: &[f64]) -> Tensor {
        let v: Vec<f64> = x
            .to_f64_vec()
            .into_iter()
            .map(|a| {
                if bounds.iter().any(|b| (a - b).abs() < 0.05) {
                    a + 0.1
                } else {
                    a
                }
            })
            .collect();
        Tensor::from_vec(v, x.shape().clone()).unwrap()
    }

    #[test]
    fn clamp_gradchecks_with_both_one_or_the_other_bound() {
        for s in unary_shapes() {
            let x = away_from(&randn(&s, 51), &[-0.5, 0.7]);
            check_op(
                |v| v[0].clamp(Some(-0.5), Some(0.7))?.mul(&v[0]),
                std::slice::from_ref(&x),
            );
            check_op(
                |v| v[0].clamp(Some(-0.5), None)?.mul(&v[0]),
                std::slice::from_ref(&x),
            );
            check_op(|v| v[0].clamp(None, Some(0.7))?.mul(&v[0]), &[x]);
        }
    }

    #[test]
    fn clamp_limits_values_and_keeps_nan() {
        let x = t64(&[-3.0, -0.5, 0.2, 9.0, f64::NAN], &[5]);
        let y = x
            .clamp(Some(-1.0), Some(1.0))
            .unwrap()
            .to_vec::<f64>()
            .unwrap();
        assert_eq!(&y[..4], &[-1.0, -0.5, 0.2, 1.0]);
        assert!(y[4].is_nan());
        let y = x.clamp(None, Some(0.0)).unwrap().to_vec::<f64>().unwrap();
        assert_eq!(&y[..4], &[-3.0, -0.5, 0.0, 0.0]);
        let x32 = x.to_dtype(DType::F32).clamp(Some(0.1), None).unwrap();
        assert_eq!(x32.to_vec::<f32>().unwrap()[..4], [0.1f32, 0.1, 0.2, 9.0]);
    }

    #[test]
    fn clamp_gradient_passes_on_the_bounds_and_stops_outside() {
        let tape = Tape::new();
        let x = tape.var(t64(&[-2.0, -1.0, 0.0, 1.0, 2.0, f64::NAN], &[6]));
        let g = x.clamp(Some(-1.0), Some(1.0)).unwrap().sum_all().unwrap();
        let g = tape.grad(&g, &[&x], false).unwrap();
        assert_eq!(
            g[0].value().to_vec::<f64>().unwrap(),
            vec![0.0, 1.0, 1.0, 1.0, 0.0, 0.0]
        );
        // min == max is allowed: every value becomes the bound, only exact hits pass.
        let y = x.clamp(Some(1.0), Some(1.0)).unwrap();
        assert_eq!(&y.value().to_vec::<f64>().unwrap()[..5], &[1.0; 5]);
        let g = tape.grad(&y.sum_all().unwrap(), &[&x], false).unwrap();
        assert_eq!(
            g[0].value().to_vec::<f64>().unwrap(),
            vec![0.0, 0.0, 0.0, 1.0, 0.0, 0.0]
        );
    }

    #[test]
    fn clamp_rejects_crossed_nan_or_missing_bounds() {
        let x = randn(&[3], 1);
        assert_eq!(
            x.clamp(Some(1.0), Some(0.5)).unwrap_err().to_string(),
            "clamp: min 1 is greater than max 0.5"
        );
        assert_eq!(
            x.clamp(Some(f64::NAN), None).unwrap_err().to_string(),
            "clamp: the min bound is NaN"
        );
        assert_eq!(
            x.clamp(None, Some(f64::NAN)).unwrap_err().to_string(),
            "clamp: the max bound is NaN"
        );
        assert_eq!(
            x.clamp(None, None).unwrap_err().to_string(),
            "clamp: at least one of min and max must be given (as in torch.clamp)"
        );
        let tape = Tape::new();
        assert!(tape.var(x).clamp(Some(2.0), Some(-2.0)).is_err());
        // Infinite bounds are fine.
        assert!(
            randn(&[3], 2)
                .clamp(Some(f64::NEG_INFINITY), Some(f64::INFINITY))
                .is_ok()
        );
    }
}
