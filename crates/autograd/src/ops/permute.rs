//! `permute` and `transpose`: reorder the axes of a tensor.
//!
//! `y = permute(x, p)` has `y.dims[i] = x.dims[p[i]]` and
//! `y[i_0, ..., i_{n-1}] = x[j]` with `j[p[d]] = i_d`. The result is a contiguous
//! row-major copy (tensors are always contiguous here). It is a linear map whose adjoint
//! is the inverse permutation, so `dx = permute(dy, p^-1)`. `transpose(a, b)` is the
//! permutation that swaps two axes. PyTorch: `torch.permute`, `torch.transpose`
//! (which return views; here a copy).
//!
//! ```
//! use gradflow_autograd::{Tape, Tensor};
//! let tape = Tape::new();
//! let x = tape.var(Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])?);
//! let y = x.transpose(0, -1)?;
//! assert_eq!(y.dims(), &[3, 2]);
//! assert_eq!(y.value().to_vec::<f64>()?, vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
//! # Ok::<(), gradflow_autograd::Error>(())
//! ```

use smallvec::SmallVec;

use crate::tensor::kernel;
use crate::{BackwardCtx, Error, InputGrads, Op, Result, Shape, Tensor, Var};

/// Resolved axes, one per dimension.
type Axes = SmallVec<[usize; 4]>;

/// The `permute` op: output axis `i` is input axis `axes[i]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Permute {
    axes: Axes,
}

impl Op for Permute {
    fn name(&self) -> &'static str {
        "permute"
    }

    fn describe(&self) -> String {
        format!("permute({:?})", self.axes.as_slice())
    }

    fn forward(&mut self, inputs: &[&Tensor]) -> Result<Tensor> {
        Ok(permute_resolved(inputs[0], &self.axes))
    }

    fn backward(&self, _ctx: &BackwardCtx<'_>, grad: &Var) -> Result<InputGrads> {
        let dx = Var::apply(
            Permute {
                axes: inverse(&self.axes),
            },
            &[grad],
        )?;
        Ok([Some(dx)].into_iter().collect())
    }
}

/// `inv` with `inv[p[i]] = i`.
fn inverse(p: &[usize]) -> Axes {
    let mut inv: Axes = SmallVec::from_elem(0, p.len());
    for (i, &a) in p.iter().enumerate() {
        inv[a] = i;
    }
    inv
}

/// Resolves `axes` (negative counts from the end) into a permutation of `0..ndim`.
fn resolve(op: &'static str, shape: &Shape, axes: &[isize]) -> Result<Axes> {
    if axes.len() != shape.ndim() {
        return Err(Error::shape(
            op,
            &[shape],
            format!(
                "needs one axis per dimension: {} axes given ({axes:?}) for a {}-D tensor",
                axes.len(),
                shape.ndim()
            ),
        ));
    }
    let mut out = Axes::new();
    for &a in axes {
        let r = shape.axis(op, a)?;
        if out.contains(&r) {
            return Err(Error::invalid(
                op,
                format!("axis {a} appears twice in {axes:?} (each axis must appear once)"),
            ));
        }
        out.push(r);
    }
    Ok(out)
}

/// The permutation swapping axes `a` and `b`.
fn swap(op: &'static str, shape: &Shape, a: isize, b: isize) -> Result<Axes> {
    let (a, b) = (shape.axis(op, a)?, shape.axis(op, b)?);
    let mut p: Axes = (0..shape.ndim()).collect();
    p.swap(a, b);
    Ok(p)
}

fn is_identity(p: &[usize]) -> bool {
    p.iter().enumerate().all(|(i, &a)| i == a)
}

fn permute_resolved(t: &Tensor, p: &[usize]) -> Tensor {
    if is_identity(p) {
        return t.clone();
    }
    let own = t.shape().strides();
    let dims: Vec<usize> = p.iter().map(|&a| t.dims()[a]).collect();
    let strides: Vec<usize> = p.iter().map(|&a| own[a]).collect();
    kernel::strided_copy(t, &Shape::from(dims), &strides)
}

impl Tensor {
    /// A copy with the axes reordered: output axis `i` is input axis `axes[i]`
    /// (negative axes count from the end).
    ///
    /// # Shapes
    /// `[d_0, ..., d_{n-1}] -> [d_{axes[0]}, ..., d_{axes[n-1]}]`.
    ///
    /// # Errors
    /// [`Error::Shape`] if `axes` does not have one entry per dimension;
    /// [`Error::Axis`] for an axis out of range; [`Error::InvalidArgument`] for an axis
    /// given twice.
    pub fn permute(&self, axes: &[isize]) -> Result<Tensor> {
        let p = resolve("permute", self.shape(), axes)?;
        Ok(permute_resolved(self, &p))
    }

    /// A copy with axes `a` and `b` swapped (negative axes count from the end).
    ///
    /// # Shapes
    /// The input's shape with dimensions `a` and `b` exchanged.
    ///
    /// # Errors
    /// [`Error::Axis`] for an axis out of range.
    pub fn transpose(&self, a: isize, b: isize) -> Result<Tensor> {
        let p = swap("transpose", self.shape(), a, b)?;
        Ok(permute_resolved(self, &p))
    }
}

impl Var {
    /// The axes reordered: output axis `i` is input axis `axes[i]`; recorded (the
    /// gradient is permuted back by the inverse permutation).
    ///
    /// # Shapes
    /// `[d_0, ..., d_{n-1}] -> [d_{axes[0]}, ..., d_{axes[n-1]}]`.
    ///
    /// # Errors
    /// As [`Tensor::permute`], plus the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn permute(&self, axes: &[isize]) -> Result<Var> {
        let p = resolve("permute", self.shape(), axes)?;
        if is_identity(&p) {
            return Ok(self.clone());
        }
        Var::apply(Permute { axes: p }, &[self])
    }

    /// Axes `a` and `b` swapped; recorded as a [`Permute`].
    ///
    /// To multiply by a transposed matrix, prefer [`Var::matmul_transposed`], which
    /// reads the operand transposed without copying it.
    ///
    /// # Shapes
    /// The input's shape with dimensions `a` and `b` exchanged.
    ///
    /// # Errors
    /// As [`Tensor::transpose`], plus the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn transpose(&self, a: isize, b: isize) -> Result<Var> {
        let p = swap("transpose", self.shape(), a, b)?;
        if is_identity(&p) {
            return Ok(self.clone());
        }
        Var::apply(Permute { axes: p }, &[self])
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::*;

    /// All permutations of `0..n`.
    fn permutations(n: usize) -> Vec<Vec<isize>> {
        if n == 0 {
            return vec![vec![]];
        }
        let mut out = Vec::new();
        for rest in permutations(n - 1) {
            for pos in 0..n {
                let mut p = rest.clone();
                p.insert(pos, (n - 1) as isize);
                out.push(p);
            }
        }
        out
    }

    /// Every permutation of a random tensor of `dims` against index arithmetic: the
    /// shape, and each element read from where the permutation says.
    fn check_every_permutation(dims: &[usize], seed: u64) {
        let n = dims.len();
        // f32 too: its whole tiles are transposed in registers where the CPU can.
        for x in [
            randn(dims, seed),
            randn(dims, seed).to_dtype(crate::DType::F32),
        ] {
            let xv = x.to_f64_vec();
            let xs = x.shape().strides();
            for p in permutations(n) {
                let y = x.permute(&p).unwrap();
                let pd: Vec<usize> = p.iter().map(|&a| a as usize).collect();
                let want_dims: Vec<usize> = pd.iter().map(|&a| dims[a]).collect();
                assert_eq!(y.dims(), want_dims.as_slice());
                let ys = y.shape().strides();
                for (flat, &got) in y.to_f64_vec().iter().enumerate() {
                    let src: usize = (0..n)
                        .map(|d| (flat / ys[d] % want_dims[d]) * xs[pd[d]])
                        .sum();
                    let dtype = x.dtype();
                    assert_eq!(got, xv[src], "{dtype:?}, permutation {p:?}, element {flat}");
                }
            }
        }
    }

    #[test]
    fn permute_matches_index_arithmetic_for_every_permutation_of_four_axes() {
        check_every_permutation(&[2, 3, 1, 4], 3);
    }

    /// Large enough that the copy goes in tiles (both of the last two output dims at
    /// least `TILE` = 16, the innermost strided), with edges that are not whole tiles;
    /// and large enough (71,500 elements) for the crew's threads to copy bands of it.
    #[test]
    fn permute_in_tiles_matches_index_arithmetic() {
        check_every_permutation(&[3, 37, 70], 4);
        check_every_permutation(&[5, 130, 110], 5);
    }

    #[test]
    fn permute_gradchecks_for_every_permutation_of_three_axes() {
        let x = randn(&[2, 3, 4], 1);
        for p in permutations(3) {
            check_op(
                move |v| v[0].permute(&p)?.powf(2.0),
                std::slice::from_ref(&x),
            );
        }
    }

    #[test]
    fn permute_and_transpose_gradcheck_with_negative_axes_and_zero_size_dims() {
        check_op(
            |v| v[0].permute(&[-1, 0, -2])?.powf(3.0),
            &[randn(&[2, 3, 4], 2)],
        );
        check_op(
            |v| v[0].transpose(0, -1)?.powf(2.0),
            &[randn(&[3, 1, 2], 3)],
        );
        check_op(|v| v[0].transpose(1, 2)?.powf(2.0), &[randn(&[2, 0, 3], 4)]);
        check_op(|v| v[0].permute(&[])?.powf(2.0), &[randn(&[], 5)]);
    }

    #[test]
    fn transpose_of_a_matrix_swaps_rows_and_columns() {
        let x = t64(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
        let y = x.transpose(1, 0).unwrap();
        assert_eq!(y.dims(), &[3, 2]);
        assert_eq!(
            y.to_vec::<f64>().unwrap(),
            vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]
        );
        assert_eq!(
            y.transpose(0, 1).unwrap().to_vec::<f64>().unwrap(),
            x.to_vec::<f64>().unwrap()
        );
        // Swapping an axis with itself is the identity and shares storage.
        assert!(x.transpose(1, -1).unwrap().shares_storage_with(&x));
    }

    #[test]
    fn permute_rejects_a_wrong_number_of_axes() {
        let x = randn(&[2, 3, 4], 1);
        assert_eq!(
            x.permute(&[0, 1]).unwrap_err().to_string(),
            "permute: needs one axis per dimension: 2 axes given ([0, 1]) for a 3-D tensor (shapes: [2, 3, 4])"
        );
    }

    #[test]
    fn permute_rejects_a_repeated_axis_even_when_spelled_negative() {
        let x = randn(&[2, 3, 4], 1);
        assert_eq!(
            x.permute(&[0, 2, -1]).unwrap_err().to_string(),
            "permute: axis -1 appears twice in [0, 2, -1] (each axis must appear once)"
        );
    }

    #[test]
    fn permute_and_transpose_reject_out_of_range_axes() {
        let x = randn(&[2, 3], 1);
        assert_eq!(
            x.permute(&[0, 2]).unwrap_err().to_string(),
            "permute: axis 2 is out of range for a 2-D tensor (valid: -2 to 1)"
        );
        assert_eq!(
            x.transpose(0, -3).unwrap_err().to_string(),
            "transpose: axis -3 is out of range for a 2-D tensor (valid: -2 to 1)"
        );
        let tape = crate::Tape::new();
        assert!(tape.var(x).transpose(5, 0).is_err());
    }
}
