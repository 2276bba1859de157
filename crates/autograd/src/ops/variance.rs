//! `variance`: `var(x) = sum_{axes} (x - mean(x))^2 / (N - correction)`, `N` the number
//! of elements reduced.
//!
//! `correction = 0` is the population (biased) variance, `1` Bessel's unbiased sample
//! variance. Composed from `mean`, `sub`, `mul` and `sum`, so it has no gradient rule of
//! its own; its derivative, `2 (x - mean) / (N - correction)`, comes out of theirs.
//! When `N <= correction` the divisor is 0 and the result is infinite or NaN, as in
//! PyTorch (which warns). PyTorch: `torch.var(x, dim, correction=c, keepdim=k)`.
//!
//! ```
//! use gradflow_autograd::{Tape, Tensor};
//! let tape = Tape::new();
//! let x = tape.var(Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0], &[4])?);
//! assert_eq!(x.variance(&[0], false, 0)?.value().to_scalar::<f64>()?, 1.25);
//! let v = x.variance(&[0], false, 1)?; // torch.var(x, correction=1) = 1.6667
//! let grads = v.backward()?;
//! // d var / dx_i = 2 (x_i - 2.5) / 3
//! let dx = grads.get(&x).unwrap().to_vec::<f64>()?;
//! assert!((dx[0] + 1.0).abs() < 1e-15 && (dx[3] - 1.0).abs() < 1e-15);
//! # Ok::<(), gradflow_autograd::Error>(())
//! ```

use crate::{Result, Tensor, Var};

/// `1 / max(N - correction, 0)`, `N` the number of elements over `axes` (resolved).
fn scale(dims: &[usize], axes: &[usize], correction: usize) -> f64 {
    let n: usize = axes.iter().map(|&a| dims[a]).product();
    1.0 / n.saturating_sub(correction) as f64
}

impl Tensor {
    /// The variance over `axes` (negative counts from the end) with divisor
    /// `N - correction`; `keepdim` keeps the axes as size 1.
    ///
    /// # Shapes
    /// The input's shape without the axes, or with them as 1 when `keepdim`.
    ///
    /// # Errors
    /// [`Error::Axis`](crate::Error::Axis) or
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) for an axis out of range
    /// or given twice.
    pub fn variance(&self, axes: &[isize], keepdim: bool, correction: usize) -> Result<Tensor> {
        let resolved = self.shape().axes("variance", axes)?;
        let centred = self.sub(&self.mean(axes, true)?)?;
        let squares = centred.mul(&centred)?.sum(axes, keepdim)?;
        Ok(squares.mul_scalar(scale(self.dims(), &resolved, correction)))
    }
}

impl Var {
    /// The variance over `axes` with divisor `N - correction`; `keepdim` keeps the axes
    /// as size 1. Recorded as the ops it is made of (mean, sub, mul, sum, scale).
    ///
    /// # Shapes
    /// The input's shape without the axes, or with them as 1 when `keepdim`.
    ///
    /// # Errors
    /// As [`Tensor::variance`], plus the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn variance(&self, axes: &[isize], keepdim: bool, correction: usize) -> Result<Var> {
        let resolved = self.shape().axes("variance", axes)?;
        let centred = self.sub(&self.mean(axes, true)?)?;
        let squares = centred.mul(&centred)?.sum(axes, keepdim)?;
        squares.mul_scalar(scale(self.dims(), &resolved, correction))
    }
}

#[cfg(test)]
mod tests {
    use crate::Tape;
    use crate::testing::*;

    #[test]
    fn variance_matches_a_two_pass_loop_for_several_corrections() {
        let x = randn(&[3, 6], 41);
        let v = x.to_f64_vec();
        for correction in [0usize, 1, 2] {
            let want: Vec<f64> = v
                .chunks(6)
                .map(|r| {
                    let mean = r.iter().sum::<f64>() / 6.0;
                    r.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / (6 - correction) as f64
                })
                .collect();
            let got = x.variance(&[1], false, correction).unwrap();
            assert_close(&got.to_f64_vec(), &want, 1e-14, 1e-14);
        }
    }

    #[test]
    fn variance_matches_torch_golden_values() {
        // torch.var(torch.tensor([[1., 2., 3., 4.], [2., 2., 2., 2.]]), dim=1, correction=1)
        // -> tensor([1.6667, 0.0000]); over dim 0 with correction=0 -> [0.25, 0, 0.25, 1.0]
        let x = t64(&[1.0, 2.0, 3.0, 4.0, 2.0, 2.0, 2.0, 2.0], &[2, 4]);
        assert_close(
            &x.variance(&[1], false, 1).unwrap().to_f64_vec(),
            &[5.0 / 3.0, 0.0],
            1e-15,
            0.0,
        );
        let cols = x.variance(&[0], true, 0).unwrap();
        assert_eq!(cols.dims(), &[1, 4]);
        assert_close(&cols.to_f64_vec(), &[0.25, 0.0, 0.25, 1.0], 1e-15, 0.0);
    }

    #[test]
    fn variance_gradchecks_over_axis_sets_and_corrections() {
        let x = randn(&[2, 3, 4], 42);
        for axes in [&[0][..], &[-1], &[0, 2], &[0, 1, 2]] {
            for keepdim in [false, true] {
                for correction in [0, 1] {
                    check_op(
                        move |v| v[0].variance(axes, keepdim, correction),
                        std::slice::from_ref(&x),
                    );
                }
            }
        }
        check_op(|v| v[0].variance(&[1], false, 1), &[randn(&[0, 3], 1)]);
    }

    #[test]
    fn variance_records_no_op_of_its_own() {
        let tape = Tape::new();
        let x = tape.var(randn(&[4], 1));
        x.variance(&[0], false, 1).unwrap();
        assert!(!tape.to_dot().contains("variance"));
    }

    #[test]
    fn variance_with_too_few_elements_for_the_correction_is_not_finite_like_torch() {
        // torch.var(torch.tensor([3.]), correction=1) -> nan (0 / 0).
        let x = t64(&[3.0], &[1]);
        assert!(
            x.variance(&[0], false, 1)
                .unwrap()
                .to_scalar::<f64>()
                .unwrap()
                .is_nan()
        );
        // torch.var(torch.tensor([1., 3.]), correction=2) -> inf (2 / 0).
        let x = t64(&[1.0, 3.0], &[2]);
        assert_eq!(
            x.variance(&[0], false, 2)
                .unwrap()
                .to_scalar::<f64>()
                .unwrap(),
            f64::INFINITY
        );
    }

    #[test]
    fn variance_errors_name_the_op() {
        let x = randn(&[2, 3], 1);
        assert_eq!(
            x.variance(&[3], false, 0).unwrap_err().to_string(),
            "variance: axis 3 is out of range for a 2-D tensor (valid: -2 to 1)"
        );
        let tape = Tape::new();
        assert!(tape.var(x).variance(&[0, 0], false, 0).is_err());
    }
}
