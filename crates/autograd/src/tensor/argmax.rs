//! `argmax` and `argmin` along one axis: positions, not values, so they live on
//! [`Tensor`] only (an index has no gradient). Ties go to the first position and a NaN
//! counts as the largest (and the smallest) value, as in `torch.argmax`/`torch.argmin`,
//! so a row holding a NaN points at it rather than hiding it.

use crate::{Error, Result, Tensor};

impl Tensor {
    /// The position of the largest element along `axis` (negative counts from the end),
    /// for every other index, in row-major order of the remaining axes: the predicted
    /// class of each row of a `[batch, classes]` tensor of logits.
    ///
    /// ```
    /// use gradflow_autograd::Tensor;
    /// let logits = Tensor::from_vec(vec![0.1f32, 2.0, -1.0, 3.0, 3.0, 0.0], [2, 3])?;
    /// assert_eq!(logits.argmax(-1)?, vec![1, 0]); // the tie in row 2 goes to the first
    /// assert_eq!(logits.argmax(0)?, vec![1, 1, 1]);
    /// # Ok::<(), gradflow_autograd::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Axis`] for an axis out of range; [`Error::InvalidArgument`] naming the
    /// shape if the axis is empty (there is no position to return).
    pub fn argmax(&self, axis: isize) -> Result<Vec<usize>> {
        self.arg_extremum("argmax", axis, |candidate, best| candidate > best)
    }

    /// The position of the smallest element along `axis`; as [`Tensor::argmax`].
    ///
    /// # Errors
    /// As [`Tensor::argmax`].
    pub fn argmin(&self, axis: isize) -> Result<Vec<usize>> {
        self.arg_extremum("argmin", axis, |candidate, best| candidate < best)
    }

    fn arg_extremum(
        &self,
        op: &'static str,
        axis: isize,
        better: impl Fn(f64, f64) -> bool,
    ) -> Result<Vec<usize>> {
        let axis = self.shape().axis(op, axis)?;
        let dims = self.dims();
        let n = dims[axis];
        if n == 0 {
            return Err(Error::invalid(
                op,
                format!("axis {axis} of shape {:?} is empty", dims),
            ));
        }
        let outer: usize = dims[..axis].iter().product();
        let inner: usize = dims[axis + 1..].iter().product();
        let values = self.to_f64_vec();
        let mut positions = Vec::with_capacity(outer * inner);
        for o in 0..outer {
            for i in 0..inner {
                let at = |k: usize| values[(o * n + k) * inner + i];
                let mut best = 0;
                for k in 1..n {
                    if at(best).is_nan() {
                        break;
                    }
                    let v = at(k);
                    if v.is_nan() || better(v, at(best)) {
                        best = k;
                    }
                }
                positions.push(best);
            }
        }
        Ok(positions)
    }
}

#[cfg(test)]
mod tests {
    use crate::{DType, Tensor};

    #[test]
    fn argmax_and_argmin_along_each_axis_of_a_3d_tensor() {
        // x[a][b][c] = values chosen so every axis has a distinct answer.
        let x = Tensor::from_vec(
            vec![
                1.0f64, 9.0, 2.0, 4.0, //
                8.0, 0.0, 7.0, 3.0, //
                5.0, 6.0, -1.0, 10.0,
            ],
            [3, 2, 2],
        )
        .unwrap();
        assert_eq!(x.argmax(0).unwrap(), vec![1, 0, 1, 2]);
        assert_eq!(x.argmax(1).unwrap(), vec![1, 0, 0, 1, 0, 1]);
        assert_eq!(x.argmax(2).unwrap(), vec![1, 1, 0, 0, 1, 1]);
        assert_eq!(x.argmin(-1).unwrap(), vec![0, 0, 1, 1, 0, 0]);
        assert_eq!(x.to_dtype(DType::F32).argmax(0).unwrap(), vec![1, 0, 1, 2]);
    }

    #[test]
    fn nan_wins_and_ties_go_to_the_first() {
        let x = Tensor::from_vec(vec![1.0f64, f64::NAN, 5.0, 2.0, 2.0, 0.0], [2, 3]).unwrap();
        assert_eq!(x.argmax(1).unwrap(), vec![1, 0]);
        assert_eq!(x.argmin(1).unwrap(), vec![1, 2]);
    }

    #[test]
    fn bad_and_empty_axes_are_errors_naming_the_op() {
        let x = Tensor::zeros([2, 0], DType::F32);
        let empty = x.argmax(1).unwrap_err().to_string();
        assert!(
            empty.starts_with("argmax") && empty.contains("[2, 0]"),
            "{empty}"
        );
        assert!(x.argmin(2).unwrap_err().to_string().contains("argmin"));
        assert_eq!(x.argmax(0).unwrap(), Vec::<usize>::new());
    }
}
