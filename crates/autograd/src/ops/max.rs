//! `max` and `min`: the largest or smallest element over all elements or given axes,
//! with `keepdim`.
//!
//! `y = max_{axes} x`. The derivative is 1 at the position of the maximum; where several
//! elements tie for it the gradient is split evenly among them, as `torch.amax` does:
//! `dx = g * mask / count` with `mask = (x == y)` (a constant) and `count` the number of
//! tied maxima. Its own derivative is zero almost everywhere, which is what the
//! constant mask gives. NaN propagates: a slice holding a NaN has maximum NaN and a NaN
//! gradient. PyTorch: `torch.amax(x, dim, keepdim)`, `torch.amin`.
//!
//! ```
//! use gradflow_autograd::{Tape, Tensor};
//! let tape = Tape::new();
//! let x = tape.var(Tensor::from_vec(vec![1.0f64, 3.0, 3.0, 5.0, 2.0, 0.0], &[2, 3])?);
//! let m = x.max(&[1], false)?;
//! assert_eq!(m.value().to_vec::<f64>()?, vec![3.0, 5.0]);
//! let grads = m.sum_all()?.backward()?;
//! // The tie in the first row shares the gradient.
//! assert_eq!(grads.get(&x).unwrap().to_vec::<f64>()?, vec![0.0, 0.5, 0.5, 1.0, 0.0, 0.0]);
//! # Ok::<(), gradflow_autograd::Error>(())
//! ```

use smallvec::SmallVec;

use crate::tensor::reduce::{self, Reduce};
use crate::{BackwardCtx, InputGrads, Op, Result, Tensor, Var};

type Axes = SmallVec<[usize; 4]>;

/// The `max` op (over resolved axes).
#[derive(Clone, Debug)]
pub struct Max {
    axes: Axes,
    keepdim: bool,
}

/// The `min` op (over resolved axes).
#[derive(Clone, Debug)]
pub struct Min {
    axes: Axes,
    keepdim: bool,
}

impl Op for Max {
    fn name(&self) -> &'static str {
        "max"
    }

    fn describe(&self) -> String {
        format!(
            "max(axes={:?}, keepdim={})",
            self.axes.as_slice(),
            self.keepdim
        )
    }

    fn forward(&mut self, inputs: &[&Tensor]) -> Result<Tensor> {
        reduce::reduce(inputs[0], &self.axes, self.keepdim, Reduce::Max)
    }

    fn backward(&self, ctx: &BackwardCtx<'_>, grad: &Var) -> Result<InputGrads> {
        extremum_backward(ctx, grad, &self.axes)
    }
}

impl Op for Min {
    fn name(&self) -> &'static str {
        "min"
    }

    fn describe(&self) -> String {
        format!(
            "min(axes={:?}, keepdim={})",
            self.axes.as_slice(),
            self.keepdim
        )
    }

    fn forward(&mut self, inputs: &[&Tensor]) -> Result<Tensor> {
        reduce::reduce(inputs[0], &self.axes, self.keepdim, Reduce::Min)
    }

    fn backward(&self, ctx: &BackwardCtx<'_>, grad: &Var) -> Result<InputGrads> {
        extremum_backward(ctx, grad, &self.axes)
    }
}

/// `dx = g * mask / count`, the mask marking the elements equal to the reduced value.
fn extremum_backward(ctx: &BackwardCtx<'_>, grad: &Var, axes: &[usize]) -> Result<InputGrads> {
    let x = ctx.input(0);
    let kept = x.shape().reduced(axes, true);
    let y = ctx.output().value().reshape(kept.clone())?;
    let mask = x.value().eq_mask(&y)?;
    let count = reduce::reduce(&mask, axes, true, Reduce::Sum)?;
    // The share of each element: 1/count at the tied extrema, 0 elsewhere (0/0 = NaN
    // for a slice whose extremum is NaN, as in PyTorch).
    let share = Var::untracked(mask.div(&count)?);
    let dx = grad.reshape(kept)?.mul(&share)?;
    Ok([Some(dx)].into_iter().collect())
}

fn all_axes(t: &Tensor) -> Axes {
    (0..t.ndim()).collect()
}

impl Tensor {
    /// The largest element over `axes` (negative counts from the end); `keepdim` keeps
    /// them as size 1. NaN propagates.
    ///
    /// # Shapes
    /// The input's shape without the axes, or with them as 1 when `keepdim`.
    ///
    /// # Errors
    /// [`Error::Axis`](crate::Error::Axis) or
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) for an axis out of range
    /// or given twice; [`Error::Shape`](crate::Error::Shape) if a reduced axis has size 0
    /// (a maximum of nothing does not exist).
    pub fn max(&self, axes: &[isize], keepdim: bool) -> Result<Tensor> {
        let axes = self.shape().axes("max", axes)?;
        reduce::reduce(self, &axes, keepdim, Reduce::Max)
    }

    /// The smallest element over `axes`; as [`Tensor::max`].
    ///
    /// # Shapes
    /// The input's shape without the axes, or with them as 1 when `keepdim`.
    ///
    /// # Errors
    /// As [`Tensor::max`].
    pub fn min(&self, axes: &[isize], keepdim: bool) -> Result<Tensor> {
        let axes = self.shape().axes("min", axes)?;
        reduce::reduce(self, &axes, keepdim, Reduce::Min)
    }

    /// The largest element, as a 0-D tensor.
    ///
    /// # Errors
    /// [`Error::Shape`](crate::Error::Shape) if the tensor has no elements.
    pub fn max_all(&self) -> Result<Tensor> {
        reduce::reduce(self, &all_axes(self), false, Reduce::Max)
    }

    /// The smallest element, as a 0-D tensor.
    ///
    /// # Errors
    /// [`Error::Shape`](crate::Error::Shape) if the tensor has no elements.
    pub fn min_all(&self) -> Result<Tensor> {
        reduce::reduce(self, &all_axes(self), false, Reduce::Min)
    }
}

impl Var {
    /// The largest element over `axes`, `keepdim` keeping them as size 1; recorded. The
    /// gradient is split evenly among tied maxima.
    ///
    /// # Shapes
    /// The input's shape without the axes, or with them as 1 when `keepdim`.
    ///
    /// # Errors
    /// As [`Tensor::max`], plus the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn max(&self, axes: &[isize], keepdim: bool) -> Result<Var> {
        let axes = self.shape().axes("max", axes)?;
        Var::apply(Max { axes, keepdim }, &[self])
    }

    /// The smallest element over `axes`, `keepdim` keeping them as size 1; recorded. The
    /// gradient is split evenly among tied minima.
    ///
    /// # Shapes
    /// The input's shape without the axes, or with them as 1 when `keepdim`.
    ///
    /// # Errors
    /// As [`Tensor::max`], plus the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn min(&self, axes: &[isize], keepdim: bool) -> Result<Var> {
        let axes = self.shape().axes("min", axes)?;
        Var::apply(Min { axes, keepdim }, &[self])
    }

    /// The largest element, as a 0-D Var; recorded.
    ///
    /// # Errors
    /// As [`Tensor::max_all`], plus the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn max_all(&self) -> Result<Var> {
        let axes = all_axes(self.value());
        Var::apply(
            Max {
                axes,
                keepdim: false,
            },
            &[self],
        )
    }

    /// The smallest element, as a 0-D Var; recorded.
    ///
    /// # Errors
    /// As [`Tensor::min_all`], plus the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn min_all(&self) -> Result<Var> {
        let axes = all_axes(self.value());
        Var::apply(
            Min {
                axes,
                keepdim: false,
            },
            &[self],
        )
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::*;
    use crate::{Tape, Tensor};

    #[test]
    fn max_and_min_gradcheck_over_every_axis_set() {
        // Random normals: ties have probability zero, and gaps dwarf the step.
        let x = randn(&[2, 3, 4], 21);
        for axes in [&[][..], &[0], &[1], &[-1], &[0, 2], &[0, 1, 2]] {
            for keepdim in [false, true] {
                check_op(
                    move |v| v[0].max(axes, keepdim)?.powf(2.0),
                    std::slice::from_ref(&x),
                );
                check_op(
                    move |v| v[0].min(axes, keepdim)?.powf(2.0),
                    std::slice::from_ref(&x),
                );
            }
        }
        check_op(|v| v[0].max_all()?.powf(2.0), std::slice::from_ref(&x));
        check_op(|v| v[0].min_all()?.mul(&v[0]), &[x]);
    }

    #[test]
    fn max_gradchecks_on_size_one_zero_size_and_scalar_inputs() {
        check_op(|v| v[0].max(&[1], true)?.powf(2.0), &[randn(&[3, 1], 1)]);
        check_op(|v| v[0].min(&[1], false)?.powf(2.0), &[randn(&[0, 3], 2)]);
        check_op(|v| v[0].max_all()?.powf(2.0), &[randn(&[], 3)]);
    }

    #[test]
    fn max_values_match_a_naive_loop() {
        let x = randn(&[3, 5], 4);
        let v = x.to_f64_vec();
        let rows: Vec<f64> = (0..3)
            .map(|i| v[i * 5..i * 5 + 5].iter().copied().fold(f64::MIN, f64::max))
            .collect();
        assert_eq!(x.max(&[1], false).unwrap().to_f64_vec(), rows);
        let cols: Vec<f64> = (0..5)
            .map(|j| (0..3).map(|i| v[i * 5 + j]).fold(f64::MAX, f64::min))
            .collect();
        assert_eq!(x.min(&[0], true).unwrap().to_f64_vec(), cols);
        assert_eq!(x.min(&[0], true).unwrap().dims(), &[1, 5]);
        assert_eq!(
            x.max_all().unwrap().to_scalar::<f64>().unwrap(),
            rows.iter().copied().fold(f64::MIN, f64::max)
        );
    }

    #[test]
    fn tied_maxima_and_minima_share_the_gradient_evenly() {
        let tape = Tape::new();
        let x = tape.var(t64(&[2.0, 2.0, 2.0, -1.0, 0.0, -1.0], &[2, 3]));
        let g = x.max_all().unwrap().backward().unwrap();
        let third = 1.0 / 3.0;
        assert_close(
            g.get(&x).unwrap().to_vec::<f64>().unwrap().as_slice(),
            &[third, third, third, 0.0, 0.0, 0.0],
            1e-15,
            0.0,
        );
        let g = x
            .min(&[1], false)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        assert_eq!(
            g.get(&x).unwrap().to_vec::<f64>().unwrap(),
            vec![1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0, 0.5, 0.0, 0.5]
        );
    }

    #[test]
    fn max_propagates_nan_to_value_and_gradient() {
        let tape = Tape::new();
        let x = tape.var(t64(&[1.0, f64::NAN, 3.0, 4.0], &[2, 2]));
        let m = x.max(&[1], false).unwrap();
        let mv = m.value().to_vec::<f64>().unwrap();
        assert!(mv[0].is_nan());
        assert_eq!(mv[1], 4.0);
        let g = m.sum_all().unwrap().backward().unwrap();
        let gv = g.get(&x).unwrap().to_vec::<f64>().unwrap();
        assert!(gv[0].is_nan() && gv[1].is_nan());
        assert_eq!(&gv[2..], &[0.0, 1.0]);
    }

    #[test]
    fn max_over_an_empty_axis_is_an_error_naming_op_and_shape() {
        let x = Tensor::zeros([2, 0], crate::DType::F64);
        assert_eq!(
            x.max(&[1], false).unwrap_err().to_string(),
            "max: cannot reduce over an empty axis (there is no identity for max or min) (shapes: [2, 0])"
        );
        assert!(x.min_all().is_err());
        let tape = Tape::new();
        assert!(tape.var(x.clone()).max_all().is_err());
        // Reducing a non-empty axis of an empty tensor is fine: the result is empty.
        assert_eq!(x.max(&[0], false).unwrap().dims(), &[0]);
        let y = Tensor::zeros([0, 2], crate::DType::F64);
        assert_eq!(y.max(&[1], true).unwrap().dims(), &[0, 1]);
    }

    #[test]
    fn max_rejects_bad_axes() {
        let x = randn(&[2, 3], 1);
        assert_eq!(
            x.max(&[2], false).unwrap_err().to_string(),
            "max: axis 2 is out of range for a 2-D tensor (valid: -2 to 1)"
        );
        assert!(x.min(&[1, -1], false).is_err());
    }
}
