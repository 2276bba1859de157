//! `logsumexp`: `y = log(sum_{axes} exp(x))`, computed stably.
//!
//! Forward: `y = m + log(sum exp(x - m))` with `m` the maximum over the axes, so no
//! `exp` overflows; an infinite `m` is replaced by 0 (as PyTorch does), so a slice of
//! all `-inf` gives `-inf` rather than `-inf - -inf = NaN`, and an empty slice gives
//! `-inf` (the log of an empty sum). Derivative: `dy/dx = exp(x - y)` (the softmax),
//! written with Var ops on the saved output so it can be differentiated again.
//! PyTorch: `torch.logsumexp(x, dim, keepdim)`.
//!
//! ```
//! use gradflow_autograd::{Tape, Tensor};
//! let tape = Tape::new();
//! let x = tape.var(Tensor::from_vec(vec![1000.0f32, 1000.0], &[2])?);
//! let y = x.logsumexp(&[0], false)?;
//! assert!((y.value().to_scalar::<f32>()? - (1000.0 + 2f32.ln())).abs() < 1e-3);
//! let grads = y.backward()?;
//! // The softmax, to within the rounding of y near 1000 (one f32 ulp there is 6e-5).
//! for g in grads.get(&x).unwrap().to_vec::<f32>()? {
//!     assert!((g - 0.5).abs() < 1e-4);
//! }
//! # Ok::<(), gradflow_autograd::Error>(())
//! ```

use smallvec::SmallVec;

use crate::tensor::kernel::{self, UnaryFn};
use crate::tensor::reduce::{self, Reduce};
use crate::{BackwardCtx, Element, InputGrads, Op, Result, Shape, Tensor, Var};

type Axes = SmallVec<[usize; 4]>;

/// The `logsumexp` op (over resolved axes).
#[derive(Clone, Debug)]
pub struct LogSumExp {
    axes: Axes,
    keepdim: bool,
}

/// `x` if finite, else 0 (NaN stays NaN, so it propagates).
#[derive(Clone, Copy)]
struct FiniteOrZero;
impl UnaryFn for FiniteOrZero {
    #[inline(always)]
    fn eval<T: Element>(self, x: T) -> T {
        if x.is_infinite() { T::zero() } else { x }
    }
}

/// 1 where `x = -inf`, else 0.
#[derive(Clone, Copy)]
struct IsNegInf;
impl UnaryFn for IsNegInf {
    #[inline(always)]
    fn eval<T: Element>(self, x: T) -> T {
        if x == T::neg_infinity() {
            T::one()
        } else {
            T::zero()
        }
    }
}

impl Op for LogSumExp {
    fn name(&self) -> &'static str {
        "logsumexp"
    }

    fn describe(&self) -> String {
        format!(
            "logsumexp(axes={:?}, keepdim={})",
            self.axes.as_slice(),
            self.keepdim
        )
    }

    fn forward(&mut self, inputs: &[&Tensor]) -> Result<Tensor> {
        logsumexp_resolved(inputs[0], &self.axes, self.keepdim)
    }

    fn backward(&self, ctx: &BackwardCtx<'_>, grad: &Var) -> Result<InputGrads> {
        let x = ctx.input(0);
        let kept = x.shape().reduced(&self.axes, true);
        let mut y = ctx.output().reshape(kept.clone())?;
        // Where y = -inf every x of the slice is -inf (or the slice is empty); using 0 in
        // place of y there gives exp(-inf - 0) = 0 instead of exp(-inf + inf) = NaN.
        let neg_inf = kernel::map(y.value(), IsNegInf);
        if neg_inf.to_f64_vec().contains(&1.0) {
            let zero = Var::untracked(Tensor::zeros(Shape::scalar(), y.dtype()));
            y = Var::where_(&neg_inf, &zero, &y)?;
        }
        let softmax = x.sub(&y)?.exp()?;
        let dx = grad.reshape(kept)?.mul(&softmax)?;
        Ok([Some(dx)].into_iter().collect())
    }
}

fn logsumexp_resolved(x: &Tensor, axes: &[usize], keepdim: bool) -> Result<Tensor> {
    let out_shape = x.shape().reduced(axes, keepdim);
    if axes.iter().any(|&a| x.dims()[a] == 0) {
        return Ok(Tensor::full(out_shape, f64::NEG_INFINITY, x.dtype()));
    }
    let m = kernel::map(&reduce::reduce(x, axes, true, Reduce::Max)?, FiniteOrZero);
    let sum = reduce::reduce(&x.sub(&m)?.exp(), axes, true, Reduce::Sum)?;
    sum.log().add(&m)?.reshape(out_shape)
}

impl Tensor {
    /// `log(sum(exp(self)))` over `axes` (negative counts from the end), computed
    /// without overflow; `keepdim` keeps the axes as size 1.
    ///
    /// # Shapes
    /// The input's shape without the axes, or with them as 1 when `keepdim`.
    ///
    /// # Errors
    /// [`Error::Axis`](crate::Error::Axis) or
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) for an axis out of range
    /// or given twice.
    pub fn logsumexp(&self, axes: &[isize], keepdim: bool) -> Result<Tensor> {
        let axes = self.shape().axes("logsumexp", axes)?;
        logsumexp_resolved(self, &axes, keepdim)
    }
}

impl Var {
    /// `log(sum(exp(self)))` over `axes`, stable; recorded. The gradient is the softmax
    /// over the axes, `exp(x - y)`, and is zero (not NaN) for a slice of all `-inf`.
    ///
    /// # Shapes
    /// The input's shape without the axes, or with them as 1 when `keepdim`.
    ///
    /// # Errors
    /// As [`Tensor::logsumexp`], plus the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn logsumexp(&self, axes: &[isize], keepdim: bool) -> Result<Var> {
        let axes = self.shape().axes("logsumexp", axes)?;
        Var::apply(LogSumExp { axes, keepdim }, &[self])
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::*;
    use crate::{DType, Tape, Tensor};

    /// `log(sum(exp(x)))` over the last axis of a 2-D tensor, the naive way.
    fn naive_rows(x: &Tensor) -> Vec<f64> {
        let v = x.to_f64_vec();
        let n = x.dims()[1];
        v.chunks(n)
            .map(|r| r.iter().map(|a| a.exp()).sum::<f64>().ln())
            .collect()
    }

    #[test]
    fn logsumexp_matches_the_naive_formula_at_moderate_inputs() {
        let x = randn(&[3, 5], 31);
        assert_close(
            &x.logsumexp(&[1], false).unwrap().to_f64_vec(),
            &naive_rows(&x),
            1e-14,
            1e-14,
        );
        assert_eq!(x.logsumexp(&[-1], true).unwrap().dims(), &[3, 1]);
        assert_eq!(x.logsumexp(&[0, 1], false).unwrap().dims(), &[] as &[usize]);
    }

    #[test]
    fn logsumexp_gradchecks_first_and_second_order() {
        let x = randn(&[2, 3, 4], 32);
        for axes in [&[][..], &[0], &[-1], &[0, 2], &[0, 1, 2]] {
            for keepdim in [false, true] {
                check_op(
                    move |v| v[0].logsumexp(axes, keepdim),
                    std::slice::from_ref(&x),
                );
            }
        }
        check_op(|v| v[0].logsumexp(&[1], false), &[randn(&[0, 3], 1)]);
        check_op(|v| v[0].logsumexp(&[0], true), &[randn(&[1, 3], 2)]);
    }

    #[test]
    fn logsumexp_is_stable_at_large_inputs_in_f32() {
        // torch.logsumexp(torch.tensor([1000., 1001., -1000.]), 0) = 1001.3132616875182
        let x = Tensor::from_vec(vec![1000.0f32, 1001.0, -1000.0], [3]).unwrap();
        let y = x
            .logsumexp(&[0], false)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!((y as f64 - 1_001.313_261_687_518_2).abs() < 1e-3, "{y}");
        let x = Tensor::from_vec(vec![-1000.0f64, -1000.0], [2]).unwrap();
        let y = x
            .logsumexp(&[0], false)
            .unwrap()
            .to_scalar::<f64>()
            .unwrap();
        assert_close(&[y], &[-1000.0 + 2f64.ln()], 1e-15, 0.0);
    }

    #[test]
    fn logsumexp_of_all_minus_infinity_is_minus_infinity_with_zero_gradient() {
        let tape = Tape::new();
        let inf = f64::INFINITY;
        let x = tape.var(t64(&[-inf, -inf, 0.0, -inf], &[2, 2]));
        let y = x.logsumexp(&[1], false).unwrap();
        assert_eq!(y.value().to_vec::<f64>().unwrap(), vec![-inf, 0.0]);
        let g = y.sum_all().unwrap().backward().unwrap();
        assert_eq!(
            g.get(&x).unwrap().to_vec::<f64>().unwrap(),
            vec![0.0, 0.0, 1.0, 0.0]
        );
        // Second order through the same rows stays finite too.
        let x = tape.var(t64(&[-inf, -inf, 0.5, 1.5], &[2, 2]));
        let y = x.logsumexp(&[1], false).unwrap().sum_all().unwrap();
        let dx = tape.grad(&y, &[&x], true).unwrap();
        let d2 = tape
            .grad(&dx[0].mul(&dx[0]).unwrap().sum_all().unwrap(), &[&x], false)
            .unwrap();
        assert!(d2[0].value().all_finite(), "{}", d2[0].value());
    }

    #[test]
    fn logsumexp_handles_plus_infinity_nan_and_empty_slices() {
        let x = t64(&[f64::INFINITY, 1.0, f64::NAN, 1.0], &[2, 2]);
        let y = x.logsumexp(&[1], false).unwrap().to_vec::<f64>().unwrap();
        assert_eq!(y[0], f64::INFINITY);
        assert!(y[1].is_nan());
        let e = Tensor::zeros([2, 0], DType::F32)
            .logsumexp(&[1], false)
            .unwrap();
        assert_eq!(e.to_vec::<f32>().unwrap(), vec![f32::NEG_INFINITY; 2]);
    }

    #[test]
    fn logsumexp_rejects_bad_axes() {
        let x = randn(&[2, 3], 1);
        assert_eq!(
            x.logsumexp(&[-3], false).unwrap_err().to_string(),
            "logsumexp: axis -3 is out of range for a 2-D tensor (valid: -2 to 1)"
        );
    }
}
