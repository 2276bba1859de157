//! `prelu`: the parametric ReLU (He et al. 2015), `f(x) = x` for `x > 0`, `a x`
//! otherwise, with a learned slope `a` (one per channel, or one for all).
//!
//! `df/dx = 1` for `x > 0`, else `a` (so `prelu'(0) = a`, as PyTorch); `df/da = 0` for
//! `x > 0`, else `x`, summed over every element that shares the slope. Second
//! derivatives: `d2f/dx da = 0` or `1`, the rest 0. PyTorch: `F.prelu(x, weight)`.

use smallvec::smallvec;

use super::positive_mask;
use crate::ops::unbroadcast;
use crate::tensor::kernel::{self, BinaryFn};
use crate::{BackwardCtx, Element, Error, InputGrads, Op, Result, Tensor, Var};

/// The `prelu` op: inputs `x` and the slope `a`.
#[derive(Clone, Copy, Debug)]
pub struct Prelu;

#[derive(Clone, Copy)]
struct PreluFn;
impl BinaryFn for PreluFn {
    #[inline(always)]
    fn eval<T: Element>(self, x: T, a: T) -> T {
        if x > T::zero() { x } else { a * x }
    }
}

fn check_slope(x: &Tensor, a: &Tensor) -> Result<()> {
    if !a.shape().broadcasts_to(x.shape()) {
        return Err(Error::shape(
            "prelu",
            &[x.shape(), a.shape()],
            "the slope must broadcast to the input's shape (for [N, C, H, W] inputs use a [C, 1, 1] slope)",
        ));
    }
    Ok(())
}

impl Op for Prelu {
    fn name(&self) -> &'static str {
        "prelu"
    }

    fn forward(&mut self, inputs: &[&Tensor]) -> Result<Tensor> {
        inputs[0].prelu(inputs[1])
    }

    fn backward(&self, ctx: &BackwardCtx<'_>, grad: &Var) -> Result<InputGrads> {
        let (x, a) = (ctx.input(0), ctx.input(1));
        let pos = positive_mask(x);
        let neg = Var::untracked(pos.value().neg().add_scalar(1.0));
        let dx = match ctx.needs_grad(0) {
            // g * (1 where x > 0, a elsewhere)
            true => Some(grad.mul(&a.mul(&neg)?.add(&pos)?)?),
            false => None,
        };
        let da = match ctx.needs_grad(1) {
            true => Some(unbroadcast(&grad.mul(x)?.mul(&neg)?, a.shape())?),
            false => None,
        };
        Ok(smallvec![dx, da])
    }
}

impl Tensor {
    /// `x` where positive, `slope * x` elsewhere; `slope` broadcasts to `x`. Plain maths.
    ///
    /// # Errors
    /// [`Error::Shape`] if the slope does not broadcast to the input's shape;
    /// [`Error::DTypeMismatch`].
    pub fn prelu(&self, slope: &Tensor) -> Result<Tensor> {
        check_slope(self, slope)?;
        kernel::zip("prelu", self, slope, PreluFn)
    }
}

impl Var {
    /// The parametric ReLU with a learned `slope` (a Var, usually a parameter);
    /// one recorded node.
    ///
    /// # Shapes
    /// `slope` broadcasts to the input (`[]` or `[1]` for one slope, `[C, 1, 1]` for one
    /// per channel of an `[N, C, H, W]` input, `[C]` for `[N, C]`).
    ///
    /// # Errors
    /// [`Error::Shape`] if the slope does not broadcast to the input's shape;
    /// the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn prelu(&self, slope: &Var) -> Result<Var> {
        check_slope(self.value(), slope.value())?;
        Var::apply(Prelu, &[self, slope])
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::*;
    use crate::{Tape, Tensor};

    fn off_zero(t: Tensor) -> Tensor {
        t.add(&t.sign().mul_scalar(0.1)).unwrap()
    }

    #[test]
    fn prelu_gradchecks_for_a_shared_and_a_per_channel_slope() {
        let x = off_zero(randn(&[2, 3, 2], 30));
        check_op(|v| v[0].prelu(&v[1]), &[x.clone(), t64(&[0.25], &[1])]);
        check_op(|v| v[0].prelu(&v[1]), &[x, t64(&[0.1, -0.2, 0.3], &[3, 1])]);
    }

    #[test]
    fn prelu_slope_gradient_sums_the_negative_inputs() {
        let tape = Tape::new();
        let x = tape.constant(t64(&[-1.0, 2.0, -3.0, 0.0], &[4]));
        let a = tape.var(t64(&[0.5], &[1]));
        let g = x.prelu(&a).unwrap().sum_all().unwrap().backward().unwrap();
        assert_eq!(g.get(&a).unwrap().to_f64_vec(), vec![-4.0]);
    }

    #[test]
    fn prelu_rejects_a_slope_that_does_not_broadcast() {
        let x = randn(&[2, 3], 1);
        let e = x.prelu(&randn(&[2], 2)).unwrap_err().to_string();
        assert!(e.starts_with("prelu: the slope must broadcast"), "{e}");
    }
}
