//! The forward passes of softmax and log-softmax one row at a time, where the axis is a
//! contiguous row (the last axis, or one followed only by dimensions of 1).
//!
//! Composed of tensor operations, each forward pass is five or six passes over the
//! whole tensor (the row maxima, the shift, the exponential, the row sums, the
//! normalisation), each allocating its result. Row by row, a row stays in L1 between
//! its steps and nothing but the output is allocated. Each row kernel performs the
//! composition's operations in its order, on the same values, so the two give the same
//! bits (tested below). The fused gradients walk the same rows
//! ([`contiguous_row_length`]).

use std::mem::MaybeUninit;

use crate::Tensor;
use crate::ops::exp::ShiftedExp;
use crate::tensor::{Storage, simd};

/// What a row-wise forward pass does to one row.
pub(crate) trait RowKernel: Sync {
    /// Writes every element of `out` from the row `x` (`out.len() == x.len()`);
    /// `scratch` is the caller's buffer, reused from row to row, of any length.
    fn row<T: ShiftedExp>(&self, x: &[T], scratch: &mut Vec<T>, out: &mut [MaybeUninit<T>]);
}

/// The length of the rows along `axis` when they are contiguous and not empty (nothing
/// after the axis but dimensions of 1), for a tensor with at least one element.
pub(crate) fn contiguous_row_length(x: &Tensor, axis: usize) -> Option<usize> {
    let n = *x.dims().get(axis)?;
    let contiguous = x.dims()[axis + 1..].iter().all(|&d| d == 1);
    (contiguous && n > 0 && x.numel() > 0).then_some(n)
}

/// `kernel` applied to each row of `n` elements of `x`, into a new tensor of its shape;
/// the rows of a large tensor in bands over the crew's threads.
pub(crate) fn map_rows(x: &Tensor, n: usize, kernel: &impl RowKernel) -> Tensor {
    let shape = x.shape().clone();
    match x.storage_ref() {
        Storage::F32(v) => Tensor::from_kernel(rows_of(v, n, kernel), shape),
        Storage::F64(v) => Tensor::from_kernel(rows_of(v, n, kernel), shape),
    }
}

fn rows_of<T: ShiftedExp>(v: &[T], n: usize, kernel: &impl RowKernel) -> Vec<T> {
    simd::fill_rows(v.len(), n, |start, dst| {
        let mut scratch = Vec::new();
        let rows = v[start..start + dst.len()].chunks_exact(n);
        for (x, out) in rows.zip(dst.chunks_exact_mut(n)) {
            kernel.row(x, &mut scratch, out);
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DType;
    use crate::ops::activation::{log_softmax, softmax};

    /// Softmax's and log-softmax's row-wise forward passes give their compositions'
    /// bits: f32 and f64; rows of 1, 5, 7, 1024 (whole blocks of the sums) and 20,000
    /// (longer than a chunk), along the last axis and along one followed by dimensions
    /// of 1; a tensor large enough to be split over threads; rows with NaN, infinities,
    /// a nearly one-hot row, tied maxima, signed zeros and values near f32's limit.
    #[test]
    fn row_passes_give_the_compositions_bits() {
        let specials: [&[f64]; 7] = [
            &[0.0, f64::NAN],
            &[f64::INFINITY, 1.0],
            &[f64::NEG_INFINITY; 8],
            &[-0.0, 0.0, -0.0],
            &[3e38, -3e38, 1e30],
            &[60.0, 0.0, -1.0],
            &[2.0, 2.0, 1.0],
        ];
        let cases: [(&[usize], usize); 8] = [
            (&[5, 1], 0),
            (&[3], 0),
            (&[9, 1], 1),
            (&[9, 7], 1),
            (&[2, 3, 7, 1], 2),
            (&[4, 1024], 1),
            (&[2, 20_000], 1),
            (&[70, 1000], 1),
        ];
        for (dims, axis) in cases {
            let n = dims[axis];
            let mut values = Tensor::randn(dims, DType::F64, 7)
                .mul_scalar(5.0)
                .to_f64_vec();
            for (row, special) in values.chunks_mut(n).zip(specials) {
                for (v, &s) in row.iter_mut().zip(special) {
                    *v = s;
                }
            }
            for dtype in [DType::F32, DType::F64] {
                let x = Tensor::from_vec(values.clone(), dims)
                    .unwrap()
                    .to_dtype(dtype);
                assert_eq!(contiguous_row_length(&x, axis), Some(n));
                let bits = |t: Tensor| -> Vec<u64> {
                    t.to_f64_vec()
                        .iter()
                        .map(|v| if v.is_nan() { u64::MAX } else { v.to_bits() })
                        .collect()
                };
                let pairs = [
                    (
                        softmax::softmax_along(&x, axis).unwrap(),
                        softmax::softmax_composed(&x, axis).unwrap(),
                    ),
                    (
                        log_softmax::log_softmax_along(&x, axis).unwrap(),
                        log_softmax::log_softmax_composed(&x, axis).unwrap(),
                    ),
                ];
                for (log, (rows, composed)) in pairs.into_iter().enumerate() {
                    assert_eq!(rows.shape(), composed.shape());
                    assert!(
                        bits(rows) == bits(composed),
                        "{dtype:?} {dims:?} axis {axis} log={}",
                        log == 1
                    );
                }
            }
        }
    }

    /// Only contiguous, non-empty rows take the row-wise pass.
    #[test]
    fn only_contiguous_rows_are_eligible() {
        let x = Tensor::zeros([2, 3, 4], DType::F32);
        assert_eq!(contiguous_row_length(&x, 2), Some(4));
        assert_eq!(contiguous_row_length(&x, 1), None);
        assert_eq!(
            contiguous_row_length(&Tensor::zeros([2, 0], DType::F32), 1),
            None
        );
        assert_eq!(
            contiguous_row_length(&Tensor::zeros([0, 3], DType::F32), 1),
            None
        );
    }
}
