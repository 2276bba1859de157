//! `abs`: `z = |x|`; `dz/dx = sign(x)`, with the subgradient `0` at `x = 0` as in
//! PyTorch (`torch.abs` backward is `grad * x.sgn()`).

use crate::tensor::kernel::{self, UnaryFn};
use crate::{BackwardCtx, Element, InputGrads, Op, Result, Tensor, Var};

/// The `abs` op.
#[derive(Clone, Copy, Debug)]
pub struct Abs;

#[derive(Clone, Copy)]
struct AbsFn;
impl UnaryFn for AbsFn {
    #[inline(always)]
    fn eval<T: Element>(self, x: T) -> T {
        x.abs()
    }
}

#[derive(Clone, Copy)]
struct SignFn;
impl UnaryFn for SignFn {
    #[inline(always)]
    fn eval<T: Element>(self, x: T) -> T {
        if x > T::zero() {
            T::one()
        } else if x < T::zero() {
            -T::one()
        } else {
            // 0 at 0, and NaN stays NaN.
            x
        }
    }
}

impl Op for Abs {
    fn name(&self) -> &'static str {
        "abs"
    }

    fn forward(&mut self, inputs: &[&Tensor]) -> Result<Tensor> {
        Ok(inputs[0].abs())
    }

    fn backward(&self, ctx: &BackwardCtx<'_>, grad: &Var) -> Result<InputGrads> {
        let sign = Var::untracked(ctx.input(0).value().sign());
        Ok([Some(grad.mul(&sign)?)].into_iter().collect())
    }
}

impl Tensor {
    /// `|self|` elementwise.
    pub fn abs(&self) -> Tensor {
        kernel::map(self, AbsFn)
    }

    /// `-1`, `0` or `1` by the sign of each element (NaN stays NaN). Not differentiable:
    /// on a Var, use it as a constant.
    pub fn sign(&self) -> Tensor {
        kernel::map(self, SignFn)
    }
}

impl Var {
    /// `|self|` elementwise; recorded.
    ///
    /// # Errors
    /// The recording errors of [`Var::apply`].
    #[track_caller]
    pub fn abs(&self) -> Result<Var> {
        Var::apply(Abs, &[self])
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::*;

    #[test]
    fn abs_gradchecks_away_from_zero() {
        for s in unary_shapes() {
            let x = randn(&s, 8);
            // Push values away from the kink at 0.
            let x = x.add(&x.sign().mul_scalar(0.2)).unwrap();
            check_op(|v| v[0].abs()?.mul(&v[0]), &[x]);
        }
    }

    #[test]
    fn abs_has_zero_subgradient_at_zero() {
        let tape = crate::Tape::new();
        let x = tape.var(t64(&[0.0, -1.0, 2.0], &[3]));
        let g = x.abs().unwrap().sum_all().unwrap().backward().unwrap();
        assert_eq!(
            g.get(&x).unwrap().to_vec::<f64>().unwrap(),
            vec![0.0, -1.0, 1.0]
        );
    }
}
