//! `log1p`: `z = ln(1 + x)`, accurate for `|x|` near 0; `dz/dx = 1 / (1 + x)`.
//! PyTorch: `torch.log1p`.
//!
//! `ln(1 + x)` computed literally loses the digits of a small `x` when `1 + x` is
//! rounded (for `x = 1e-10` the relative error is about `1e-6` in f64); `ln_1p` keeps
//! them. Binary cross-entropy needs it for `ln(1 - p)` as `log1p(-p)`, as PyTorch
//! computes it. `log1p(-1) = -inf` and `log1p(x < -1) = NaN`, as IEEE has it.
//!
//! ```
//! use gradflow_autograd::{Tape, Tensor};
//! let tape = Tape::new();
//! let x = tape.var(Tensor::from_vec(vec![1e-10f64, 1.0], &[2])?);
//! let y = x.log1p()?;
//! assert_eq!(y.value().to_vec::<f64>()?, vec![1e-10f64.ln_1p(), 2f64.ln()]);
//! let g = y.sum_all()?.backward()?;
//! assert_eq!(g.get(&x).expect("x is a leaf").to_vec::<f64>()?, vec![1.0 / (1.0 + 1e-10), 0.5]);
//! # Ok::<(), gradflow_autograd::Error>(())
//! ```

use crate::tensor::kernel::{self, UnaryFn};
use crate::{BackwardCtx, Element, InputGrads, Op, Result, Tensor, Var};

/// The `log1p` op.
#[derive(Clone, Copy, Debug)]
pub struct Log1p;

#[derive(Clone, Copy)]
struct Ln1pFn;
impl UnaryFn for Ln1pFn {
    const CALLS: bool = true;

    #[inline(always)]
    fn eval<T: Element>(self, x: T) -> T {
        x.ln_1p()
    }
}

impl Op for Log1p {
    fn name(&self) -> &'static str {
        "log1p"
    }

    fn forward(&mut self, inputs: &[&Tensor]) -> Result<Tensor> {
        Ok(inputs[0].log1p())
    }

    fn backward(&self, ctx: &BackwardCtx<'_>, grad: &Var) -> Result<InputGrads> {
        // 1 + x is rounded here, but only relative to 1: the derivative stays accurate.
        let dx = grad.div(&ctx.input(0).add_scalar(1.0)?)?;
        Ok([Some(dx)].into_iter().collect())
    }
}

impl Tensor {
    /// `ln(1 + self)` elementwise, accurate near 0.
    pub fn log1p(&self) -> Tensor {
        kernel::map(self, Ln1pFn)
    }
}

impl Var {
    /// `ln(1 + self)` elementwise, accurate near 0; recorded.
    ///
    /// # Errors
    /// The recording errors of [`Var::apply`].
    #[track_caller]
    pub fn log1p(&self) -> Result<Var> {
        Var::apply(Log1p, &[self])
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::*;

    #[test]
    fn log1p_gradchecks_above_minus_one() {
        for s in unary_shapes() {
            check_op(|v| v[0].log1p(), &[randn(&s, 7).abs().add_scalar(-0.8)]);
        }
    }

    #[test]
    fn log1p_keeps_the_digits_of_tiny_inputs() {
        // ln(1 + x) = x - x^2/2 + ...; at 1e-12 the literal ln(1 + x) is off by 1e-4.
        let y = t64(&[1e-12, -1e-12], &[2]).log1p().to_f64_vec();
        assert!((y[0] - (1e-12 - 5e-25)).abs() <= 1e-28);
        assert!((y[1] - (-1e-12 - 5e-25)).abs() <= 1e-28);
        assert_eq!(
            t64(&[-1.0], &[1]).log1p().to_f64_vec(),
            vec![f64::NEG_INFINITY]
        );
    }
}
