//! `softsign`: `f(x) = x / (1 + |x|)`, a tanh-like curve with polynomial tails
//! (studied by Glorot & Bengio 2010 beside tanh).
//!
//! `f'(x) = 1 / (1 + |x|)^2`, `f''(x) = -2 sign(x) / (1 + |x|)^3`, with `f''(0) = 0`
//! (the subgradient PyTorch's autograd gives through `abs`). PyTorch: `F.softsign`.

use super::{Pointwise, apply, pointwise, sign};
use crate::{Element, Result, Tensor, Var};

/// The `softsign` kernel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Softsign;

impl Pointwise for Softsign {
    const CALLS: bool = false;

    fn name(&self) -> &'static str {
        "softsign"
    }

    #[inline(always)]
    fn f<T: Element>(self, x: T) -> T {
        x / (T::one() + x.abs())
    }

    #[inline(always)]
    fn df<T: Element>(self, x: T, _y: T) -> T {
        (T::one() / (T::one() + x.abs())).powi(2)
    }

    #[inline(always)]
    fn d2f<T: Element>(self, x: T, _y: T) -> T {
        -T::of(2.0) * sign(x) * (T::one() / (T::one() + x.abs())).powi(3)
    }

    fn composite(self, x: &Var) -> Result<Var> {
        x.div(&x.abs()?.add_scalar(1.0)?)
    }
}

impl Tensor {
    /// `x / (1 + |x|)`; one recorded node. Plain maths, nothing recorded.
    pub fn softsign(&self) -> Tensor {
        pointwise(self, Softsign)
    }
}

impl Var {
    /// `x / (1 + |x|)`; one recorded node.
    ///
    /// # Errors
    /// the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn softsign(&self) -> Result<Var> {
        apply(self, Softsign)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::activation::checks::*;

    #[test]
    fn softsign_passes_the_standard_checks() {
        standard_checks(Softsign, &[0.0]);
    }
}
