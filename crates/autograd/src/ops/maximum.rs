//! `maximum` and `minimum`: the elementwise larger (smaller) of two tensors, with
//! broadcasting.
//!
//! `z = max(a, b)`; `dz/da = 1` where `a > b`, `0` where `a < b`, and `1/2` at ties,
//! where the gradient is split half and half between the two inputs; likewise for `b`,
//! and mirrored for `minimum`. Each gradient is summed over the dimensions its input was
//! broadcast along. NaN propagates to the value, and a NaN pair sends the full gradient
//! to both inputs (neither is smaller), exactly as PyTorch's rule
//! `where(a == b, g / 2, g).masked_fill(a < b, 0)` does. PyTorch: `torch.maximum`,
//! `torch.minimum`.
//!
//! ```
//! use gradflow_autograd::{Tape, Tensor};
//! let tape = Tape::new();
//! let a = tape.var(Tensor::from_vec(vec![1.0f64, 5.0, 2.0], &[3])?);
//! let b = tape.var(Tensor::from_vec(vec![3.0f64, 4.0, 2.0], &[3])?);
//! let z = a.maximum(&b)?;
//! assert_eq!(z.value().to_vec::<f64>()?, vec![3.0, 5.0, 2.0]);
//! let grads = z.sum_all()?.backward()?;
//! assert_eq!(grads.get(&a).unwrap().to_vec::<f64>()?, vec![0.0, 1.0, 0.5]);
//! assert_eq!(grads.get(&b).unwrap().to_vec::<f64>()?, vec![1.0, 0.0, 0.5]);
//! # Ok::<(), gradflow_autograd::Error>(())
//! ```

use crate::tensor::kernel::{self, BinaryFn};
use crate::{BackwardCtx, Element, InputGrads, Op, Result, Shape, Tensor, Var};

use super::unbroadcast;

/// The `maximum` op.
#[derive(Clone, Copy, Debug)]
pub struct Maximum;

/// The `minimum` op.
#[derive(Clone, Copy, Debug)]
pub struct Minimum;

#[derive(Clone, Copy)]
struct MaxFn;
impl BinaryFn for MaxFn {
    #[inline(always)]
    fn eval<T: Element>(self, a: T, b: T) -> T {
        if a.is_nan() || b.is_nan() {
            T::nan()
        } else if a > b {
            a
        } else {
            b
        }
    }
}

#[derive(Clone, Copy)]
struct MinFn;
impl BinaryFn for MinFn {
    #[inline(always)]
    fn eval<T: Element>(self, a: T, b: T) -> T {
        if a.is_nan() || b.is_nan() {
            T::nan()
        } else if a < b {
            a
        } else {
            b
        }
    }
}

/// 1/2 where `a == b`, 1 elsewhere: the share of the gradient each input gets unless it
/// lost the comparison.
#[derive(Clone, Copy)]
struct TieShareFn;
impl BinaryFn for TieShareFn {
    #[inline(always)]
    fn eval<T: Element>(self, a: T, b: T) -> T {
        if a == b { T::of(0.5) } else { T::one() }
    }
}

impl Op for Maximum {
    fn name(&self) -> &'static str {
        "maximum"
    }

    fn forward(&mut self, inputs: &[&Tensor]) -> Result<Tensor> {
        inputs[0].maximum(inputs[1])
    }

    fn backward(&self, ctx: &BackwardCtx<'_>, grad: &Var) -> Result<InputGrads> {
        let (a, b) = (ctx.input(0).value(), ctx.input(1).value());
        // a loses where a < b, b loses where a > b.
        split_backward("maximum", ctx, grad, &a.lt(b)?, &a.gt(b)?)
    }
}

impl Op for Minimum {
    fn name(&self) -> &'static str {
        "minimum"
    }

    fn forward(&mut self, inputs: &[&Tensor]) -> Result<Tensor> {
        inputs[0].minimum(inputs[1])
    }

    fn backward(&self, ctx: &BackwardCtx<'_>, grad: &Var) -> Result<InputGrads> {
        let (a, b) = (ctx.input(0).value(), ctx.input(1).value());
        split_backward("minimum", ctx, grad, &a.gt(b)?, &a.lt(b)?)
    }
}

/// Gives each input `g` (halved at ties) where it did not lose, and 0 where it did,
/// summed back to its shape.
fn split_backward(
    op: &'static str,
    ctx: &BackwardCtx<'_>,
    grad: &Var,
    a_lost: &Tensor,
    b_lost: &Tensor,
) -> Result<InputGrads> {
    let (a, b) = (ctx.input(0), ctx.input(1));
    let share = kernel::zip(op, a.value(), b.value(), TieShareFn)?;
    let shared = grad.mul(&Var::untracked(share))?;
    let zero = Var::untracked(Tensor::zeros(Shape::scalar(), grad.dtype()));
    let da = match ctx.needs_grad(0) {
        true => Some(unbroadcast(
            &Var::where_(a_lost, &zero, &shared)?,
            a.shape(),
        )?),
        false => None,
    };
    let db = match ctx.needs_grad(1) {
        true => Some(unbroadcast(
            &Var::where_(b_lost, &zero, &shared)?,
            b.shape(),
        )?),
        false => None,
    };
    Ok([da, db].into_iter().collect())
}

impl Tensor {
    /// The elementwise larger of `self` and `rhs`, broadcasting; NaN propagates.
    ///
    /// # Shapes
    /// Any two shapes that broadcast; the output has the broadcast shape.
    ///
    /// # Errors
    /// [`Error::Broadcast`](crate::Error::Broadcast) or
    /// [`Error::DTypeMismatch`](crate::Error::DTypeMismatch).
    pub fn maximum(&self, rhs: &Tensor) -> Result<Tensor> {
        kernel::zip("maximum", self, rhs, MaxFn)
    }

    /// The elementwise smaller of `self` and `rhs`, broadcasting; NaN propagates.
    ///
    /// # Shapes
    /// Any two shapes that broadcast; the output has the broadcast shape.
    ///
    /// # Errors
    /// As [`Tensor::maximum`].
    pub fn minimum(&self, rhs: &Tensor) -> Result<Tensor> {
        kernel::zip("minimum", self, rhs, MinFn)
    }
}

impl Var {
    /// The elementwise larger of `self` and `rhs`, broadcasting; recorded. At ties the
    /// gradient is split half and half.
    ///
    /// # Shapes
    /// Any two shapes that broadcast; the output has the broadcast shape.
    ///
    /// # Errors
    /// As [`Tensor::maximum`], plus the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn maximum(&self, rhs: &Var) -> Result<Var> {
        Var::apply(Maximum, &[self, rhs])
    }

    /// The elementwise smaller of `self` and `rhs`, broadcasting; recorded. At ties the
    /// gradient is split half and half.
    ///
    /// # Shapes
    /// Any two shapes that broadcast; the output has the broadcast shape.
    ///
    /// # Errors
    /// As [`Tensor::maximum`], plus the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn minimum(&self, rhs: &Var) -> Result<Var> {
        Var::apply(Minimum, &[self, rhs])
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::*;
    use crate::{DType, Tape};

    #[test]
    fn maximum_and_minimum_gradcheck_with_broadcasting() {
        for (a, b) in broadcast_pairs() {
            // Products keep the second derivative non-trivial.
            check_op(|v| v[0].maximum(&v[1])?.mul(&v[0]), &[a.clone(), b.clone()]);
            check_op(|v| v[0].minimum(&v[1])?.mul(&v[1]), &[a, b]);
        }
    }

    #[test]
    fn maximum_and_minimum_pick_elementwise_and_propagate_nan() {
        let a = t64(&[1.0, 5.0, f64::NAN, -1.0], &[4]);
        let b = t64(&[3.0, 4.0, 0.0, f64::NAN], &[4]);
        let hi = a.maximum(&b).unwrap().to_vec::<f64>().unwrap();
        let lo = a.minimum(&b).unwrap().to_vec::<f64>().unwrap();
        assert_eq!(&hi[..2], &[3.0, 5.0]);
        assert_eq!(&lo[..2], &[1.0, 4.0]);
        assert!(hi[2].is_nan() && hi[3].is_nan() && lo[2].is_nan() && lo[3].is_nan());
        let c = t64(&[0.0], &[])
            .maximum(&t64(&[-1.0, 1.0], &[2, 1]))
            .unwrap();
        assert_eq!(c.dims(), &[2, 1]);
        assert_eq!(c.to_vec::<f64>().unwrap(), vec![0.0, 1.0]);
    }

    #[test]
    fn ties_split_the_gradient_half_and_half_and_sum_back_over_broadcasts() {
        let tape = Tape::new();
        let a = tape.var(t64(&[1.0, 2.0, 3.0, 1.0, 2.0, 3.0], &[2, 3]));
        let b = tape.var(t64(&[2.0], &[1]));
        let g = a
            .minimum(&b)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        assert_eq!(
            g.get(&a).unwrap().to_vec::<f64>().unwrap(),
            vec![1.0, 0.5, 0.0, 1.0, 0.5, 0.0]
        );
        // b wins in 2 places and ties in 2: 2 * 1 + 2 * 0.5.
        assert_eq!(g.get(&b).unwrap().to_vec::<f64>().unwrap(), vec![3.0]);
        // maximum(x, x) = x: the two halves add up to the full gradient.
        let x = tape.var(t64(&[1.0, -2.0], &[2]));
        let g = x
            .maximum(&x)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        assert_eq!(g.get(&x).unwrap().to_vec::<f64>().unwrap(), vec![1.0, 1.0]);
    }

    #[test]
    fn a_nan_pair_sends_the_full_gradient_to_both_inputs_as_torch_does() {
        let tape = Tape::new();
        let a = tape.var(t64(&[f64::NAN], &[1]));
        let b = tape.var(t64(&[1.0], &[1]));
        let g = a
            .maximum(&b)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        assert_eq!(g.get(&a).unwrap().to_vec::<f64>().unwrap(), vec![1.0]);
        assert_eq!(g.get(&b).unwrap().to_vec::<f64>().unwrap(), vec![1.0]);
    }

    #[test]
    fn maximum_rejects_mixed_dtypes() {
        let a = t64(&[1.0], &[1]);
        assert!(a.maximum(&a.to_dtype(DType::F32)).is_err());
        assert!(a.minimum(&a.to_dtype(DType::F32)).is_err());
    }
}
