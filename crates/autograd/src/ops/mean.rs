//! `mean`: the sum divided by the number of elements reduced. Composed from `sum` and a
//! scalar division, so it has no gradient rule of its own. PyTorch: `torch.mean`.

use crate::{Result, Tensor, Var};

fn count(dims: &[usize], axes: &[usize]) -> usize {
    axes.iter().map(|&a| dims[a]).product()
}

impl Tensor {
    /// Mean over `axes`; `keepdim` keeps them as size 1. The mean over an empty axis is
    /// NaN, as in PyTorch.
    ///
    /// # Errors
    /// [`Error::Axis`](crate::Error::Axis) for an axis out of range or given twice.
    pub fn mean(&self, axes: &[isize], keepdim: bool) -> Result<Tensor> {
        let resolved = self.shape().axes("mean", axes)?;
        let n = count(self.dims(), &resolved);
        Ok(self.sum(axes, keepdim)?.mul_scalar(1.0 / n as f64))
    }

    /// Mean of all elements, as a 0-D tensor.
    pub fn mean_all(&self) -> Tensor {
        self.sum_all().mul_scalar(1.0 / self.numel() as f64)
    }
}

impl Var {
    /// Mean over `axes`; `keepdim` keeps them as size 1; recorded as `sum` then a scale.
    ///
    /// # Errors
    /// [`Error::Axis`](crate::Error::Axis) for an axis out of range or given twice.
    #[track_caller]
    pub fn mean(&self, axes: &[isize], keepdim: bool) -> Result<Var> {
        let resolved = self.shape().axes("mean", axes)?;
        let n = count(self.dims(), &resolved);
        self.sum(axes, keepdim)?.mul_scalar(1.0 / n as f64)
    }

    /// Mean of all elements, as a 0-D Var.
    ///
    /// # Errors
    /// The recording errors of [`Var::apply`].
    #[track_caller]
    pub fn mean_all(&self) -> Result<Var> {
        let n = self.value().numel();
        self.sum_all()?.mul_scalar(1.0 / n as f64)
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::*;

    #[test]
    fn mean_gradchecks() {
        let x = randn(&[3, 4], 14);
        check_op(
            |v| v[0].mean(&[0], false)?.powf(2.0),
            std::slice::from_ref(&x),
        );
        check_op(
            |v| v[0].mean(&[-1], true)?.powf(2.0),
            std::slice::from_ref(&x),
        );
        check_op(|v| v[0].mean_all()?.powf(2.0), &[x]);
    }

    #[test]
    fn mean_matches_sum_over_count() {
        let x = t64(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
        assert_eq!(
            x.mean(&[1], false).unwrap().to_vec::<f64>().unwrap(),
            vec![2.0, 5.0]
        );
        assert_eq!(x.mean_all().to_scalar::<f64>().unwrap(), 3.5);
    }
}
