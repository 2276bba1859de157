//! `where`: elementwise selection by a mask, `z = cond ? on_true : on_false`.
//!
//! The condition is a plain tensor (nonzero, NaN included, counts as true, as a bool
//! conversion does in PyTorch); the three operands broadcast against each other. The
//! gradient goes to the branch that was selected: `d on_true = where(cond, g, 0)` and
//! `d on_false = where(cond, 0, g)`, each summed back to its branch's shape. Selecting
//! (rather than multiplying by the mask) keeps an infinite or NaN gradient of the
//! branch not taken out of the result. PyTorch: `torch.where(cond, a, b)`.
//!
//! ```
//! use gradflow_autograd::{Tape, Tensor, Var};
//! let tape = Tape::new();
//! let x = tape.var(Tensor::from_vec(vec![-2.0f64, 3.0], &[2])?);
//! let positive = x.gt(&Var::untracked(Tensor::scalar(0.0f64)))?;
//! let y = Var::where_(&positive, &x, &x.mul_scalar(0.1)?)?; // a leaky ReLU
//! assert_eq!(y.value().to_vec::<f64>()?, vec![-0.2, 3.0]);
//! let grads = y.sum_all()?.backward()?;
//! assert_eq!(grads.get(&x).unwrap().to_vec::<f64>()?, vec![0.1, 1.0]);
//! # Ok::<(), gradflow_autograd::Error>(())
//! ```

use crate::tensor::kernel::{self, TernaryFn, UnaryFn};
use crate::{BackwardCtx, DType, Element, Error, InputGrads, Op, Result, Shape, Tensor, Var};

use super::unbroadcast;

/// The `where` op; its inputs are the two branches, the condition is a constant.
#[derive(Clone, Debug)]
pub struct Where {
    cond: Tensor,
}

#[derive(Clone, Copy)]
struct NonZeroFn;
impl UnaryFn for NonZeroFn {
    #[inline(always)]
    fn eval<T: Element>(self, x: T) -> T {
        if x == T::zero() { T::zero() } else { T::one() }
    }
}

#[derive(Clone, Copy)]
struct SelectFn;
impl TernaryFn for SelectFn {
    #[inline(always)]
    fn eval<T: Element>(self, c: T, a: T, b: T) -> T {
        if c == T::zero() { b } else { a }
    }
}

impl Op for Where {
    fn name(&self) -> &'static str {
        "where"
    }

    fn forward(&mut self, inputs: &[&Tensor]) -> Result<Tensor> {
        Tensor::where_(&self.cond, inputs[0], inputs[1])
    }

    fn backward(&self, ctx: &BackwardCtx<'_>, grad: &Var) -> Result<InputGrads> {
        let zero = Var::untracked(Tensor::zeros(Shape::scalar(), grad.dtype()));
        let d_true = match ctx.needs_grad(0) {
            true => Some(unbroadcast(
                &Var::where_(&self.cond, grad, &zero)?,
                ctx.input(0).shape(),
            )?),
            false => None,
        };
        let d_false = match ctx.needs_grad(1) {
            true => Some(unbroadcast(
                &Var::where_(&self.cond, &zero, grad)?,
                ctx.input(1).shape(),
            )?),
            false => None,
        };
        Ok([d_true, d_false].into_iter().collect())
    }
}

/// The 0/1 mask of `cond` in `dtype` (tested for nonzero in `cond`'s own dtype first, so
/// an f64 condition too small for f32 still counts as true).
fn mask_in(cond: &Tensor, dtype: DType) -> Tensor {
    kernel::map(cond, NonZeroFn).to_dtype(dtype)
}

/// The shape `cond`, `on_true` and `on_false` broadcast to.
fn where_shape(cond: &Shape, on_true: &Shape, on_false: &Shape) -> Result<Shape> {
    let branches = Shape::broadcast("where", on_true, on_false)?;
    Shape::broadcast("where", cond, &branches).map_err(|_| {
        Error::shape(
            "where",
            &[cond, on_true, on_false],
            "the condition does not broadcast with the branches",
        )
    })
}

impl Tensor {
    /// `cond ? on_true : on_false` elementwise (nonzero `cond` is true), broadcasting all
    /// three. The condition may have either dtype; the branches must share one.
    ///
    /// # Shapes
    /// Any three shapes that broadcast together; the output has the broadcast shape.
    ///
    /// # Errors
    /// [`Error::Broadcast`] if the branches do not broadcast, [`Error::Shape`] if the
    /// condition does not broadcast with them; [`Error::DTypeMismatch`] if the branches'
    /// dtypes differ.
    pub fn where_(cond: &Tensor, on_true: &Tensor, on_false: &Tensor) -> Result<Tensor> {
        kernel::same_dtype("where", on_true, on_false)?;
        let out = where_shape(cond.shape(), on_true.shape(), on_false.shape())?;
        let mask = kernel::broadcast_to("where", &mask_in(cond, on_true.dtype()), &out)?;
        let a = kernel::broadcast_to("where", on_true, &out)?;
        let b = kernel::broadcast_to("where", on_false, &out)?;
        kernel::zip3("where", &mask, &a, &b, SelectFn)
    }
}

impl Var {
    /// `cond ? on_true : on_false` elementwise (nonzero `cond` is true), broadcasting all
    /// three; recorded. The condition is a constant (a comparison's mask, say); each
    /// branch gets the upstream gradient where it was selected and zero elsewhere.
    ///
    /// # Shapes
    /// Any three shapes that broadcast together; the output has the broadcast shape.
    ///
    /// # Errors
    /// As [`Tensor::where_`], plus the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn where_(cond: &Tensor, on_true: &Var, on_false: &Var) -> Result<Var> {
        Var::apply(Where { cond: cond.clone() }, &[on_true, on_false])
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::*;
    use crate::{DType, Tape, Tensor, Var};

    #[test]
    fn where_selects_elementwise_with_all_three_broadcast() {
        let cond = t64(&[1.0, 0.0], &[2, 1]);
        let a = t64(&[1.0, 2.0, 3.0], &[3]);
        let b = t64(&[-1.0], &[]);
        let z = Tensor::where_(&cond, &a, &b).unwrap();
        assert_eq!(z.dims(), &[2, 3]);
        assert_eq!(
            z.to_vec::<f64>().unwrap(),
            vec![1.0, 2.0, 3.0, -1.0, -1.0, -1.0]
        );
    }

    #[test]
    fn where_treats_any_nonzero_condition_as_true_in_either_dtype() {
        let cond = Tensor::from_vec(vec![0.0f64, -2.0, f64::NAN, 1e-300], [4]).unwrap();
        let a = Tensor::ones([4], DType::F32);
        let b = Tensor::zeros([4], DType::F32);
        let z = Tensor::where_(&cond, &a, &b).unwrap();
        assert_eq!(z.dtype(), DType::F32);
        assert_eq!(z.to_vec::<f32>().unwrap(), vec![0.0, 1.0, 1.0, 1.0]);
    }

    #[test]
    fn where_gradchecks_with_broadcasting() {
        let triples: &[(&[usize], &[usize], &[usize])] = &[
            (&[2, 3], &[2, 3], &[2, 3]),
            (&[2, 1], &[3], &[]),
            (&[3], &[2, 1], &[2, 3]),
            (&[], &[2, 2], &[2, 1]),
            (&[4, 1, 3], &[2, 1], &[1, 3]),
            (&[0, 3], &[3], &[1]),
        ];
        for (i, (c, a, b)) in triples.iter().enumerate() {
            let cond = randn(c, 100 + i as u64).gt(&t64(&[0.0], &[])).unwrap();
            let (a, b) = (randn(a, 2 * i as u64), randn(b, 2 * i as u64 + 1));
            // Multiplying the branches keeps the second derivative non-trivial.
            check_op(
                move |v| Var::where_(&cond, &v[0].mul(&v[0])?, &v[1].mul(&v[0])?),
                &[a, b],
            );
        }
    }

    #[test]
    fn where_gives_zero_not_nan_to_the_branch_not_taken_of_an_infinite_gradient() {
        let tape = Tape::new();
        let a = tape.var(t64(&[1.0, 2.0], &[2]));
        let b = tape.var(t64(&[3.0, 4.0], &[2]));
        let cond = t64(&[1.0, 0.0], &[2]);
        let z = Var::where_(&cond, &a, &b).unwrap();
        let cot = Var::untracked(t64(&[f64::INFINITY, 5.0], &[2]));
        let g = tape.vjp(&z, &cot, &[&a, &b], false).unwrap();
        assert_eq!(
            g[0].value().to_vec::<f64>().unwrap(),
            vec![f64::INFINITY, 0.0]
        );
        assert_eq!(g[1].value().to_vec::<f64>().unwrap(), vec![0.0, 5.0]);
    }

    #[test]
    fn where_rejects_branches_or_conditions_that_do_not_broadcast() {
        let err = Tensor::where_(&randn(&[2], 1), &randn(&[3], 2), &randn(&[4], 3))
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "where: shapes [3] and [4] do not broadcast (trailing dimensions must be equal or 1)"
        );
        let err = Tensor::where_(&randn(&[2], 1), &randn(&[3], 2), &randn(&[1], 3))
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "where: the condition does not broadcast with the branches (shapes: [2], [3], [1])"
        );
        let err = Tensor::where_(
            &randn(&[2], 1),
            &randn(&[2], 2),
            &randn(&[2], 3).to_dtype(DType::F32),
        );
        assert!(err.is_err());
    }
}
