//! `leaky_relu`: `f(x) = x` for `x > 0`, `slope * x` otherwise (Maas, Hannun & Ng 2013).
//!
//! `f'(x) = 1` for `x > 0`, else `slope` (so `leaky_relu'(0) = slope`, as in PyTorch's
//! `leaky_relu_backward`); `f'' = 0`. The small negative slope keeps a gradient flowing
//! through units that plain ReLU would kill. PyTorch: `F.leaky_relu(x, negative_slope)`.

use super::lanes::Lanes;
use super::{Pointwise, apply, blend, pointwise, positive_mask};
use crate::{Element, Error, Result, Tensor, Var};

/// The `leaky_relu` kernel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LeakyRelu {
    /// The parameter (see the module docs).
    pub slope: f64,
}

impl Pointwise for LeakyRelu {
    fn name(&self) -> &'static str {
        "leaky_relu"
    }

    fn lanes(self) -> Option<impl Lanes> {
        Some(self)
    }

    fn describe(&self) -> String {
        format!("leaky_relu(slope={})", self.slope)
    }

    #[inline(always)]
    fn f<T: Element>(self, x: T) -> T {
        if x > T::zero() {
            x
        } else {
            x * T::of(self.slope)
        }
    }

    #[inline(always)]
    fn df<T: Element>(self, x: T, _y: T) -> T {
        if x > T::zero() {
            T::one()
        } else {
            T::of(self.slope)
        }
    }

    #[inline(always)]
    fn d2f<T: Element>(self, _x: T, _y: T) -> T {
        T::zero()
    }

    fn composite(self, x: &Var) -> Result<Var> {
        let m = positive_mask(x);
        blend(&m, x, &x.mul_scalar(self.slope)?)
    }
}

/// The f32 path, in f64 lanes (see [`Lanes`]).
impl Lanes for LeakyRelu {
    #[inline(always)]
    fn value_and_slope_after(self, x: f64, _first: f64) -> (f64, f64) {
        if x > 0.0 {
            (x, 1.0)
        } else {
            (x * self.slope, self.slope)
        }
    }
}

impl Tensor {
    /// `x` for `x > 0`, else `slope * x`; one recorded node. Plain maths, nothing recorded.
    pub fn leaky_relu(&self, slope: f64) -> Result<Tensor> {
        if !slope.is_finite() {
            return Err(Error::invalid(
                "leaky_relu",
                format!("the slope must be finite (got {slope})"),
            ));
        }
        Ok(pointwise(self, LeakyRelu { slope }))
    }
}

impl Var {
    /// `x` for `x > 0`, else `slope * x`; one recorded node.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a bad parameter; the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn leaky_relu(&self, slope: f64) -> Result<Var> {
        if !slope.is_finite() {
            return Err(Error::invalid(
                "leaky_relu",
                format!("the slope must be finite (got {slope})"),
            ));
        }
        apply(self, LeakyRelu { slope })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::activation::checks::*;
    use crate::testing::*;

    #[test]
    fn leaky_relu_passes_the_standard_checks() {
        standard_checks(LeakyRelu { slope: 0.1 }, &[0.0]);
        standard_checks(LeakyRelu { slope: 0.01 }, &[0.0]);
    }

    #[test]
    fn leaky_relu_derivative_at_zero_is_the_slope() {
        let (_, d1, _) =
            engine_derivatives(LeakyRelu { slope: 0.2 }, &t64(&[0.0, -3.0, 3.0], &[3]));
        assert_eq!(d1.to_f64_vec(), vec![0.2, 0.2, 1.0]);
    }

    #[test]
    fn leaky_relu_rejects_a_non_finite_slope() {
        let tape = crate::Tape::new();
        let x = tape.var(t64(&[1.0], &[1]));
        let e = x.leaky_relu(f64::INFINITY).unwrap_err().to_string();
        assert_eq!(e, "leaky_relu: the slope must be finite (got inf)");
    }
}
