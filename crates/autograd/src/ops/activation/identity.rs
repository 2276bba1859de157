//! `identity` (also called linear): `f(x) = x`, `f' = 1`, `f'' = 0`.
//!
//! The output activation for regression. A network of identity layers is a linear map,
//! however deep. PyTorch: `nn.Identity`.

use super::{Pointwise, apply, pointwise};
use crate::{Element, Result, Tensor, Var};

/// The `identity` kernel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Identity;

impl Pointwise for Identity {
    const CALLS: bool = false;

    fn name(&self) -> &'static str {
        "identity"
    }

    #[inline(always)]
    fn f<T: Element>(self, x: T) -> T {
        x
    }

    #[inline(always)]
    fn df<T: Element>(self, _x: T, _y: T) -> T {
        T::one()
    }

    #[inline(always)]
    fn d2f<T: Element>(self, _x: T, _y: T) -> T {
        T::zero()
    }

    fn composite(self, x: &Var) -> Result<Var> {
        x.mul_scalar(1.0)
    }
}

impl Tensor {
    /// `x` itself, recorded as one node (so probes and graph exports see the layer). Plain maths, nothing recorded.
    pub fn identity(&self) -> Tensor {
        pointwise(self, Identity)
    }
}

impl Var {
    /// `x` itself, recorded as one node (so probes and graph exports see the layer).
    ///
    /// # Errors
    /// the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn identity(&self) -> Result<Var> {
        apply(self, Identity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::activation::checks::*;

    #[test]
    fn identity_passes_the_standard_checks() {
        standard_checks(Identity, &[]);
    }
}
