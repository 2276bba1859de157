//! `narrow` and `slice`: a contiguous or strided range of positions along one axis.
//!
//! `narrow(axis, start, len)` keeps positions `start .. start + len`;
//! `slice(axis, start, end, step)` keeps `start, start + step, ...` below `end`, as
//! Python's `x[start:end:step]`. Both are gathers through an [`IndexMap`] that picks
//! those positions, so they have no gradient rule of their own: the gradient is the
//! upstream gradient scattered back into zeros of the input's shape (`scatter_add`),
//! whose own gradient is the gather again, to any order. PyTorch: `torch.narrow`,
//! `x[..., start:end:step]`.
//!
//! ```
//! use gradflow_autograd::Tensor;
//! let x = Tensor::from_vec((0..10).map(f64::from).collect(), &[2, 5])?;
//! assert_eq!(x.narrow(1, 1, 2)?.to_vec::<f64>()?, vec![1.0, 2.0, 6.0, 7.0]);
//! assert_eq!(x.slice(-1, 0, 5, 2)?.to_vec::<f64>()?, vec![0.0, 2.0, 4.0, 5.0, 7.0, 9.0]);
//! # Ok::<(), gradflow_autograd::Error>(())
//! ```

use super::gather::IndexMap;
use crate::{Error, Result, Shape, Tensor, Var};

/// The map of `narrow`, or `None` when it keeps the whole axis (the identity).
fn narrow_map(shape: &Shape, axis: isize, start: usize, len: usize) -> Result<Option<IndexMap>> {
    let a = shape.axis("narrow", axis)?;
    let size = shape[a];
    if start.checked_add(len).is_none_or(|end| end > size) {
        return Err(Error::shape(
            "narrow",
            &[shape],
            format!("start {start} + length {len} exceeds size {size} of axis {axis}"),
        ));
    }
    if start == 0 && len == size {
        return Ok(None);
    }
    let positions: Vec<usize> = (start..start + len).collect();
    IndexMap::along_axis("narrow", "narrow", shape, a, &positions).map(Some)
}

/// The map of `slice`, or `None` when it keeps the whole axis.
fn slice_map(
    shape: &Shape,
    axis: isize,
    start: usize,
    end: usize,
    step: usize,
) -> Result<Option<IndexMap>> {
    let a = shape.axis("slice", axis)?;
    if step == 0 {
        return Err(Error::invalid("slice", "step must be >= 1 (got 0)"));
    }
    let size = shape[a];
    // Python's clamping: bounds past the end stop at the end; an empty range is empty.
    let (start, end) = (start.min(size), end.min(size));
    if start == 0 && end == size && step == 1 {
        return Ok(None);
    }
    let positions: Vec<usize> = (start..end).step_by(step).collect();
    IndexMap::along_axis("slice", "slice", shape, a, &positions).map(Some)
}

impl Tensor {
    /// Positions `start .. start + len` along `axis` (negative counts from the end).
    ///
    /// # Shapes
    /// The input's shape with `len` at `axis`.
    ///
    /// # Errors
    /// [`Error::Axis`] for an axis out of range; [`Error::Shape`] if `start + len`
    /// exceeds the axis' size.
    pub fn narrow(&self, axis: isize, start: usize, len: usize) -> Result<Tensor> {
        match narrow_map(self.shape(), axis, start, len)? {
            Some(map) => self.gather_map(&map),
            None => Ok(self.clone()),
        }
    }

    /// Positions `start, start + step, ...` below `end` along `axis`, as Python's
    /// `x[start:end:step]`: bounds past the axis' size are clamped to it, and a range
    /// with `end <= start` is empty.
    ///
    /// # Shapes
    /// The input's shape with `ceil((min(end, n) - min(start, n)) / step)` (or 0) at
    /// `axis`, where `n` is the axis' size.
    ///
    /// # Errors
    /// [`Error::Axis`] for an axis out of range; [`Error::InvalidArgument`] for a step
    /// of 0.
    pub fn slice(&self, axis: isize, start: usize, end: usize, step: usize) -> Result<Tensor> {
        match slice_map(self.shape(), axis, start, end, step)? {
            Some(map) => self.gather_map(&map),
            None => Ok(self.clone()),
        }
    }
}

impl Var {
    /// Positions `start .. start + len` along `axis`; recorded as a gather (see
    /// [`Tensor::narrow`]). The gradient scatters the upstream gradient back into zeros.
    ///
    /// # Shapes
    /// The input's shape with `len` at `axis`.
    ///
    /// # Errors
    /// As [`Tensor::narrow`], plus the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn narrow(&self, axis: isize, start: usize, len: usize) -> Result<Var> {
        match narrow_map(self.shape(), axis, start, len)? {
            Some(map) => self.gather_map(&map),
            None => Ok(self.clone()),
        }
    }

    /// Positions `start, start + step, ...` below `end` along `axis`, as Python's
    /// `x[start:end:step]`; recorded as a gather (see [`Tensor::slice`]).
    ///
    /// # Shapes
    /// As [`Tensor::slice`].
    ///
    /// # Errors
    /// As [`Tensor::slice`], plus the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn slice(&self, axis: isize, start: usize, end: usize, step: usize) -> Result<Var> {
        match slice_map(self.shape(), axis, start, end, step)? {
            Some(map) => self.gather_map(&map),
            None => Ok(self.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::Tape;
    use crate::testing::*;

    fn iota(shape: &[usize]) -> crate::Tensor {
        let n: usize = shape.iter().product();
        t64(&(0..n).map(|i| i as f64).collect::<Vec<_>>(), shape)
    }

    #[test]
    fn narrow_keeps_the_requested_range_on_every_axis() {
        let x = iota(&[2, 3, 4]);
        let a = x.narrow(0, 1, 1).unwrap();
        assert_eq!(a.dims(), &[1, 3, 4]);
        assert_eq!(a.to_f64_vec(), (12..24).map(f64::from).collect::<Vec<_>>());
        let b = x.narrow(1, 1, 2).unwrap();
        assert_eq!(b.dims(), &[2, 2, 4]);
        assert_eq!(
            b.to_f64_vec(),
            vec![
                4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 16.0, 17.0, 18.0, 19.0, 20.0, 21.0, 22.0,
                23.0
            ]
        );
        let c = x.narrow(-1, 3, 1).unwrap();
        assert_eq!(c.dims(), &[2, 3, 1]);
        assert_eq!(c.to_f64_vec(), vec![3.0, 7.0, 11.0, 15.0, 19.0, 23.0]);
        assert_eq!(x.narrow(2, 4, 0).unwrap().dims(), &[2, 3, 0]);
    }

    #[test]
    fn slice_follows_python_semantics() {
        let x = iota(&[7]);
        assert_eq!(
            x.slice(0, 1, 6, 2).unwrap().to_f64_vec(),
            vec![1.0, 3.0, 5.0]
        );
        assert_eq!(
            x.slice(0, 0, 7, 3).unwrap().to_f64_vec(),
            vec![0.0, 3.0, 6.0]
        );
        // Bounds past the end are clamped, and an inverted range is empty.
        assert_eq!(x.slice(0, 5, 100, 1).unwrap().to_f64_vec(), vec![5.0, 6.0]);
        assert_eq!(x.slice(0, 9, 12, 1).unwrap().dims(), &[0]);
        assert_eq!(x.slice(0, 4, 2, 1).unwrap().dims(), &[0]);
        let y = iota(&[2, 5]);
        assert_eq!(
            y.slice(1, 1, 5, 3).unwrap().to_f64_vec(),
            vec![1.0, 4.0, 6.0, 9.0]
        );
    }

    #[test]
    fn narrow_and_slice_gradcheck_to_second_order() {
        let x = randn(&[2, 3, 4], 20);
        for axis in [0, 1, 2, -1] {
            check_op(
                move |v| v[0].narrow(axis, 1, 1)?.powf(2.0),
                std::slice::from_ref(&x),
            );
            check_op(
                move |v| v[0].slice(axis, 0, 4, 2)?.powf(3.0),
                std::slice::from_ref(&x),
            );
        }
        check_op(
            |v| v[0].narrow(1, 0, 3)?.powf(2.0),
            std::slice::from_ref(&x),
        );
        // Size-1 and zero-size dimensions, and an empty result.
        check_op(
            |v| v[0].narrow(1, 0, 1)?.powf(2.0),
            &[randn(&[3, 1, 2], 21)],
        );
        check_op(|v| v[0].narrow(1, 1, 2)?.powf(2.0), &[randn(&[0, 3], 22)]);
        check_op(|v| v[0].slice(0, 2, 2, 1)?.powf(2.0), &[randn(&[3, 2], 23)]);
        check_op(
            |v| v[0].slice(1, 1, 9, 2)?.powf(2.0),
            &[randn(&[2, 5, 1], 24)],
        );
    }

    #[test]
    fn narrow_gradient_is_zero_outside_the_range() {
        let tape = Tape::new();
        let x = tape.var(iota(&[2, 3]));
        let y = x.narrow(1, 1, 2).unwrap().sum_all().unwrap();
        let g = y.backward().unwrap();
        assert_eq!(
            g.get(&x).unwrap().to_f64_vec(),
            vec![0.0, 1.0, 1.0, 0.0, 1.0, 1.0]
        );
    }

    #[test]
    fn narrow_of_the_whole_axis_records_nothing() {
        let tape = Tape::new();
        let x = tape.var(randn(&[2, 3], 1));
        let before = tape.len();
        let y = x.narrow(1, 0, 3).unwrap();
        let z = x.slice(0, 0, 10, 1).unwrap();
        assert_eq!(tape.len(), before);
        assert_eq!(y.node_id(), x.node_id());
        assert_eq!(z.node_id(), x.node_id());
    }

    #[test]
    fn narrow_rejects_a_range_past_the_end_and_a_bad_axis() {
        let x = randn(&[2, 3], 1);
        assert_eq!(
            x.narrow(1, 2, 2).unwrap_err().to_string(),
            "narrow: start 2 + length 2 exceeds size 3 of axis 1 (shapes: [2, 3])"
        );
        assert_eq!(
            x.narrow(0, usize::MAX, 2).unwrap_err().to_string(),
            format!(
                "narrow: start {} + length 2 exceeds size 2 of axis 0 (shapes: [2, 3])",
                usize::MAX
            )
        );
        assert_eq!(
            x.narrow(2, 0, 1).unwrap_err().to_string(),
            "narrow: axis 2 is out of range for a 2-D tensor (valid: -2 to 1)"
        );
        let tape = Tape::new();
        let v = tape.var(x);
        assert!(v.narrow(-3, 0, 1).is_err());
        assert!(v.narrow(0, 3, 0).is_err());
    }

    #[test]
    fn slice_rejects_a_zero_step_and_a_bad_axis() {
        let x = randn(&[2, 3], 1);
        assert_eq!(
            x.slice(0, 0, 2, 0).unwrap_err().to_string(),
            "slice: step must be >= 1 (got 0)"
        );
        assert_eq!(
            x.slice(-3, 0, 2, 1).unwrap_err().to_string(),
            "slice: axis -3 is out of range for a 2-D tensor (valid: -2 to 1)"
        );
        let s = randn(&[], 1);
        assert!(s.slice(0, 0, 1, 1).is_err());
    }
}
