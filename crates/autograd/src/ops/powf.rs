//! `powf`: `z = x^p` for a constant exponent `p`; `dz/dx = p x^(p-1)`.
//! PyTorch: `torch.pow(x, p)` with a Python number `p`.
//!
//! At `x = 0` the derivative is `p * 0^(p-1)`: 0 for `p > 1`, `p` for `p = 1`, and
//! infinite for `p < 1`, as in PyTorch. Negative `x` with a non-integer `p` gives NaN.

use crate::tensor::kernel::{self, UnaryFn};
use crate::{BackwardCtx, Element, InputGrads, Op, Result, Tensor, Var};

/// The `powf` op.
#[derive(Clone, Copy, Debug)]
pub struct Powf(pub f64);

#[derive(Clone, Copy)]
struct PowC(f64);
impl UnaryFn for PowC {
    #[inline(always)]
    fn eval<T: Element>(self, x: T) -> T {
        let p = self.0;
        // Integer powers by repeated multiplication round better than exp(p ln x).
        if p == 2.0 {
            x * x
        } else if p == 1.0 {
            x
        } else if p == 0.0 {
            T::one()
        } else if p == -1.0 {
            T::one() / x
        } else if p == 0.5 {
            x.sqrt()
        } else if p.fract() == 0.0 && p.abs() <= 64.0 {
            x.powi(p as i32)
        } else {
            x.powf(T::of(p))
        }
    }
}

impl Op for Powf {
    fn name(&self) -> &'static str {
        "powf"
    }

    fn describe(&self) -> String {
        format!("powf({})", self.0)
    }

    fn forward(&mut self, inputs: &[&Tensor]) -> Result<Tensor> {
        Ok(inputs[0].powf(self.0))
    }

    fn backward(&self, ctx: &BackwardCtx<'_>, grad: &Var) -> Result<InputGrads> {
        let p = self.0;
        let x = ctx.input(0);
        let dx = if p == 0.0 {
            grad.mul_scalar(0.0)?
        } else if p == 1.0 {
            grad.clone()
        } else {
            grad.mul(&x.powf(p - 1.0)?.mul_scalar(p)?)?
        };
        Ok([Some(dx)].into_iter().collect())
    }
}

impl Tensor {
    /// `self^p` elementwise.
    pub fn powf(&self, p: f64) -> Tensor {
        kernel::map(self, PowC(p))
    }
}

impl Var {
    /// `self^p` elementwise; recorded.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) if `p` is not finite;
    /// the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn powf(&self, p: f64) -> Result<Var> {
        if !p.is_finite() {
            return Err(crate::Error::invalid(
                "powf",
                format!("the exponent must be finite (got {p})"),
            ));
        }
        Var::apply(Powf(p), &[self])
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::*;

    #[test]
    fn powf_gradchecks_for_several_exponents() {
        for p in [2.0, 3.0, 0.5, -1.0, 1.7, -2.5, 1.0, 0.0] {
            let x = randn(&[2, 3], 4).abs().add_scalar(0.3);
            check_op(move |v| v[0].powf(p), &[x]);
        }
    }

    #[test]
    fn powf_rejects_a_non_finite_exponent() {
        let tape = crate::Tape::new();
        let x = tape.var(t64(&[1.0], &[1]));
        let e = x.powf(f64::NAN).unwrap_err().to_string();
        assert_eq!(e, "powf: the exponent must be finite (got NaN)");
    }
}
