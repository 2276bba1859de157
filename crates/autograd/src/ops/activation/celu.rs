//! `celu`: the continuously differentiable ELU (Barron 2017),
//! `f(x) = x` for `x > 0`, `alpha (e^(x / alpha) - 1)` otherwise.
//!
//! `f'(x) = 1` for `x > 0`, else `e^(x / alpha)` (continuous at 0 for every alpha,
//! unlike ELU); `f''(x) = 0` for `x >= 0`, else `e^(x / alpha) / alpha`. At 0, as
//! PyTorch (which computes celu through elu): `f'` takes the left branch, and
//! `f''(0) = 0` (`elu_double_backward` masks with `x < 0`). PyTorch: `F.celu(x, alpha)`.

use super::{Pointwise, apply, blend, pointwise, positive_mask};
use crate::{Element, Error, Result, Tensor, Var};

/// The `celu` kernel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Celu {
    /// The parameter (see the module docs).
    pub alpha: f64,
}

impl Pointwise for Celu {
    fn name(&self) -> &'static str {
        "celu"
    }

    fn describe(&self) -> String {
        format!("celu(alpha={})", self.alpha)
    }

    #[inline(always)]
    fn f<T: Element>(self, x: T) -> T {
        if x > T::zero() {
            x
        } else {
            T::of(self.alpha) * (x / T::of(self.alpha)).exp_m1()
        }
    }

    #[inline(always)]
    fn df<T: Element>(self, x: T, _y: T) -> T {
        if x > T::zero() {
            T::one()
        } else {
            (x / T::of(self.alpha)).exp()
        }
    }

    #[inline(always)]
    fn d2f<T: Element>(self, x: T, _y: T) -> T {
        // PyTorch's elu_double_backward: mask x < 0, so 0 at the kink.
        if x >= T::zero() {
            T::zero()
        } else {
            (x / T::of(self.alpha)).exp() / T::of(self.alpha)
        }
    }

    fn composite(self, x: &Var) -> Result<Var> {
        let m = positive_mask(x);
        let neg_part = x.mul(&Var::untracked(m.value().neg().add_scalar(1.0)))?;
        let curve = neg_part
            .mul_scalar(1.0 / self.alpha)?
            .exp()?
            .add_scalar(-1.0)?
            .mul_scalar(self.alpha)?;
        blend(&m, x, &curve)
    }
}

impl Tensor {
    /// `x` for `x > 0`, else `alpha (e^(x/alpha) - 1)`; one recorded node. Plain maths, nothing recorded.
    pub fn celu(&self, alpha: f64) -> Result<Tensor> {
        if !alpha.is_finite() || alpha == 0.0 {
            return Err(Error::invalid(
                "celu",
                format!("alpha must be finite and non-zero (got {alpha})"),
            ));
        }
        Ok(pointwise(self, Celu { alpha }))
    }
}

impl Var {
    /// `x` for `x > 0`, else `alpha (e^(x/alpha) - 1)`; one recorded node.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a bad parameter; the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn celu(&self, alpha: f64) -> Result<Var> {
        if !alpha.is_finite() || alpha == 0.0 {
            return Err(Error::invalid(
                "celu",
                format!("alpha must be finite and non-zero (got {alpha})"),
            ));
        }
        apply(self, Celu { alpha })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::activation::checks::*;
    use crate::testing::*;

    #[test]
    fn celu_passes_the_standard_checks() {
        standard_checks(Celu { alpha: 1.0 }, &[0.0]);
        standard_checks(Celu { alpha: 2.0 }, &[0.0]);
    }

    #[test]
    fn celu_rejects_a_zero_alpha() {
        let tape = crate::Tape::new();
        let x = tape.var(t64(&[1.0], &[1]));
        assert_eq!(
            x.celu(0.0).unwrap_err().to_string(),
            "celu: alpha must be finite and non-zero (got 0)"
        );
    }
}
