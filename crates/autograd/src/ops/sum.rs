//! `sum`: sum over all elements or over given axes, with `keepdim`.
//!
//! The gradient of a sum is the upstream gradient broadcast back over the summed axes.
//! PyTorch: `torch.sum(x, dim, keepdim)`.

use smallvec::SmallVec;

use crate::tensor::reduce::{self, Reduce};
use crate::{BackwardCtx, InputGrads, Op, Result, Shape, Tensor, Var};

/// The `sum` op (over resolved axes).
#[derive(Clone, Debug)]
pub struct Sum {
    axes: SmallVec<[usize; 4]>,
    keepdim: bool,
}

impl Op for Sum {
    fn name(&self) -> &'static str {
        "sum"
    }

    fn describe(&self) -> String {
        format!(
            "sum(axes={:?}, keepdim={})",
            self.axes.as_slice(),
            self.keepdim
        )
    }

    fn forward(&mut self, inputs: &[&Tensor]) -> Result<Tensor> {
        reduce::reduce(inputs[0], &self.axes, self.keepdim, Reduce::Sum)
    }

    fn backward(&self, ctx: &BackwardCtx<'_>, grad: &Var) -> Result<InputGrads> {
        let input_shape = ctx.input(0).shape();
        let kept = input_shape.reduced(&self.axes, true);
        let dx = grad.reshape(kept)?.broadcast_to(input_shape)?;
        Ok([Some(dx)].into_iter().collect())
    }
}

impl Tensor {
    /// Sum over `axes` (negative counts from the end); `keepdim` keeps them as size 1.
    ///
    /// # Errors
    /// [`Error::Axis`](crate::Error::Axis) for an axis out of range or given twice.
    pub fn sum(&self, axes: &[isize], keepdim: bool) -> Result<Tensor> {
        let axes = self.shape().axes("sum", axes)?;
        reduce::reduce(self, &axes, keepdim, Reduce::Sum)
    }

    /// Sum of all elements, as a 0-D tensor.
    pub fn sum_all(&self) -> Tensor {
        reduce::sum_all(self)
    }
}

impl Var {
    /// Sum over `axes` (negative counts from the end); `keepdim` keeps them as size 1.
    ///
    /// # Shapes
    /// The input's shape without the axes, or with them as 1 when `keepdim`.
    ///
    /// # Errors
    /// [`Error::Axis`](crate::Error::Axis) for an axis out of range or given twice.
    #[track_caller]
    pub fn sum(&self, axes: &[isize], keepdim: bool) -> Result<Var> {
        let axes = self.shape().axes("sum", axes)?;
        Var::apply(Sum { axes, keepdim }, &[self])
    }

    /// Sum of all elements, as a 0-D Var (a scalar to call `backward` on).
    ///
    /// # Errors
    /// The recording errors of [`Var::apply`].
    #[track_caller]
    pub fn sum_all(&self) -> Result<Var> {
        let axes = (0..self.shape().ndim()).collect();
        Var::apply(
            Sum {
                axes,
                keepdim: false,
            },
            &[self],
        )
    }
}

/// The axes to sum so that a tensor of shape `from` reduces to `to` (which broadcasts
/// to `from`), returned as (axes, keepdim shape before dropping the leading axes).
pub(crate) fn sum_to_axes(from: &Shape, to: &Shape) -> SmallVec<[usize; 4]> {
    let offset = from.ndim() - to.ndim();
    (0..from.ndim())
        .filter(|&i| i < offset || (to[i - offset] == 1 && from[i] != 1))
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::testing::*;

    #[test]
    fn sum_gradchecks_over_every_axis_set() {
        let x = randn(&[2, 3, 4], 10);
        for axes in [&[][..], &[0], &[1], &[2], &[-1], &[0, 2], &[0, 1, 2]] {
            for keepdim in [false, true] {
                check_op(
                    move |v| v[0].sum(axes, keepdim)?.powf(2.0),
                    std::slice::from_ref(&x),
                );
            }
        }
        check_op(|v| v[0].sum_all()?.powf(2.0), std::slice::from_ref(&x));
        check_op(|v| v[0].sum(&[0], false), &[randn(&[0, 3], 1)]);
    }

    #[test]
    fn sum_rejects_bad_axes() {
        let x = randn(&[2, 3], 1);
        assert_eq!(
            x.sum(&[2], false).unwrap_err().to_string(),
            "sum: axis 2 is out of range for a 2-D tensor (valid: -2 to 1)"
        );
        assert!(x.sum(&[0, -2], false).is_err());
    }
}
