//! `gather_map` and `scatter_add_map`: the two adjoint ops every indexing op is built on.
//!
//! An [`IndexMap`] says, for every element of an output, which element of an input it
//! reads (by flat row-major index), or that it is zero ([`IndexMap::ZERO`], used for
//! padding). Then
//!
//! - `gather`: `out[i] = x[map[i]]` (0 where `map[i]` is the sentinel);
//! - `scatter_add`: `out` has the input's shape, `out[map[i]] += g[i]`.
//!
//! Both are linear, and each is the other's transpose: `<gather(x), y> = <x,
//! scatter_add(y)>`. So the gradient of `gather` is `scatter_add` of the upstream
//! gradient and the gradient of `scatter_add` is `gather`, and every op built on them
//! (narrow, slice, index_select, pooling, im2col) is differentiable to any order with no
//! rule of its own. PyTorch: `x.flatten()[idx].reshape(shape)` and
//! `torch.zeros(n).index_add_(0, idx, g)`.
//!
//! ```
//! use gradflow_autograd::{ops::gather::IndexMap, Tape, Tensor};
//!
//! // Reverse a vector and pad it with a zero at the front.
//! let map = IndexMap::from_fn([3], [4], |i| i.checked_sub(1).map(|j| 2 - j))?;
//! let tape = Tape::new();
//! let x = tape.var(Tensor::from_vec(vec![1.0f64, 2.0, 3.0], &[3])?);
//! let y = x.gather_map(&map)?;
//! assert_eq!(y.value().to_vec::<f64>()?, vec![0.0, 3.0, 2.0, 1.0]);
//! let g = y.mul(&y)?.sum_all()?.backward()?;        // d/dx sum y^2 = 2x
//! assert_eq!(g.get(&x).expect("x is a leaf").to_vec::<f64>()?, vec![2.0, 4.0, 6.0]);
//! # Ok::<(), gradflow_autograd::Error>(())
//! ```

use std::sync::Arc;

use crate::tensor::Storage;
use crate::{BackwardCtx, Element, Error, InputGrads, Op, Result, Shape, Tensor, Var};

/// For every element of an output shape, the flat index of the input element it reads,
/// or [`IndexMap::ZERO`] for an element that is zero (padding).
///
/// Indices are checked once, when the map is built, so gathering and scattering with it
/// cannot go out of bounds. The indices are shared (`Arc`): cloning a map, as every
/// recorded op does, copies no indices.
///
/// # Errors
/// Construction fails with [`Error::Index`] for an index outside the input,
/// [`Error::DataLength`] if the number of indices is not the output's element count, and
/// [`Error::Shape`] if the input has more than `u32::MAX - 1` elements (indices are
/// stored as `u32`; the map refuses rather than truncate).
#[derive(Clone, PartialEq, Eq)]
pub struct IndexMap {
    in_shape: Shape,
    out_shape: Shape,
    // A Vec behind the Arc, not an `Arc<[u32]>`: a Vec moves in without copying its
    // indices (megabytes for im2col).
    index: Arc<Vec<u32>>,
    label: &'static str,
}

impl std::fmt::Debug for IndexMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "IndexMap({}: {} -> {})",
            self.label, self.in_shape, self.out_shape
        )
    }
}

/// Where [`IndexMap::build`]'s caller writes a map's sources, in output order.
pub(crate) struct MapWriter {
    index: Vec<u32>,
    /// The input's element count: every index must be below it.
    len: usize,
    /// The first index that was not, for the error.
    first_bad: Option<usize>,
}

impl MapWriter {
    /// The next output element reads input element `j`, or is zero (`None`).
    #[inline(always)]
    pub(crate) fn push(&mut self, source: Option<usize>) {
        let index = match source {
            // Fits: j < len <= MAX_INPUT_ELEMENTS < u32::MAX.
            Some(j) if j < self.len => j as u32,
            Some(j) => {
                self.first_bad.get_or_insert(j);
                IndexMap::ZERO
            }
            None => IndexMap::ZERO,
        };
        self.index.push(index);
    }

    /// The next `count` output elements read `first`, `first + step`, ... (`None`:
    /// are zero). Checked once, at the last index.
    #[inline]
    pub(crate) fn push_run(&mut self, first: Option<usize>, step: usize, count: usize) {
        let Some(last_offset) = count.checked_sub(1) else {
            return;
        };
        let last = first.and_then(|f| step.checked_mul(last_offset)?.checked_add(f));
        match (first, last) {
            (Some(f), Some(last)) if last < self.len => self
                .index
                // Fits: every index is at most `last < len < u32::MAX`.
                .extend((0..count).map(|k| (f + k * step) as u32)),
            (Some(f), _) => {
                self.first_bad.get_or_insert(last.unwrap_or(f));
                self.push_zeros(count);
            }
            (None, _) => self.push_zeros(count),
        }
    }

    /// The next `count` output elements are zero.
    #[inline]
    pub(crate) fn push_zeros(&mut self, count: usize) {
        self.index
            .extend(std::iter::repeat_n(IndexMap::ZERO, count));
    }
}

impl IndexMap {
    /// The sentinel index: the output element is zero (it reads no input).
    pub const ZERO: u32 = u32::MAX;

    /// The largest input an index map can address. It is below [`IndexMap::ZERO`], so
    /// the sentinel is never a valid index and the kernels treat it as out of range.
    pub const MAX_INPUT_ELEMENTS: usize = u32::MAX as usize - 1;

    /// A map from raw indices: `index[i]` is the flat index into an input of `in_shape`
    /// read by output element `i` of `out_shape`, or [`IndexMap::ZERO`].
    ///
    /// # Errors
    /// [`Error::Index`] naming the first index `>=` the input's element count;
    /// [`Error::DataLength`] if `index.len()` is not `out_shape`'s element count;
    /// [`Error::Shape`] if the input has more than [`IndexMap::MAX_INPUT_ELEMENTS`].
    pub fn new(
        in_shape: impl Into<Shape>,
        out_shape: impl Into<Shape>,
        index: Vec<u32>,
    ) -> Result<IndexMap> {
        let (in_shape, out_shape) = (in_shape.into(), out_shape.into());
        let n = check_input_size("index_map", &in_shape)?;
        if index.len() != out_shape.numel() {
            return Err(Error::DataLength {
                op: "index_map",
                shape: out_shape,
                len: index.len(),
            });
        }
        if let Some(&bad) = index.iter().find(|&&j| j != Self::ZERO && j as usize >= n) {
            return Err(Error::Index {
                op: "index_map",
                index: bad as usize,
                len: n,
            });
        }
        Ok(IndexMap {
            in_shape,
            out_shape,
            index: Arc::new(index),
            label: "custom",
        })
    }

    /// A map from a function of the output's flat index: `Some(j)` reads input element
    /// `j`, `None` gives zero.
    ///
    /// # Errors
    /// As [`IndexMap::new`].
    pub fn from_fn(
        in_shape: impl Into<Shape>,
        out_shape: impl Into<Shape>,
        f: impl FnMut(usize) -> Option<usize>,
    ) -> Result<IndexMap> {
        let out_shape = out_shape.into();
        let n = out_shape.numel();
        IndexMap::build("index_map", "custom", in_shape.into(), out_shape, |w| {
            (0..n).map(f).for_each(|s| w.push(s));
        })
    }

    /// Builds a map from the sources that `write` pushes, in output order, checking
    /// each; errors name `op`. The engine's indexing ops write theirs with plain nested
    /// loops: `im2col`'s map, millions of indices, took several times longer to build
    /// from a chain of `flat_map` iterators.
    pub(crate) fn build(
        op: &'static str,
        label: &'static str,
        in_shape: Shape,
        out_shape: Shape,
        write: impl FnOnce(&mut MapWriter),
    ) -> Result<IndexMap> {
        let n = check_input_size(op, &in_shape)?;
        let mut w = MapWriter {
            index: Vec::with_capacity(out_shape.numel()),
            len: n,
            first_bad: None,
        };
        write(&mut w);
        if let Some(index) = w.first_bad {
            return Err(Error::Index { op, index, len: n });
        }
        if w.index.len() != out_shape.numel() {
            return Err(Error::DataLength {
                op,
                shape: out_shape,
                len: w.index.len(),
            });
        }
        Ok(IndexMap {
            in_shape,
            out_shape,
            index: Arc::new(w.index),
            label,
        })
    }

    /// The map that picks `positions` (each `< in_shape[axis]`, repeats allowed) along
    /// `axis` (resolved) and keeps every other dimension: the output has `in_shape` with
    /// `positions.len()` at `axis`. Errors name `op`.
    pub(crate) fn along_axis(
        op: &'static str,
        label: &'static str,
        in_shape: &Shape,
        axis: usize,
        positions: &[usize],
    ) -> Result<IndexMap> {
        let dims = in_shape.dims();
        let len = dims.get(axis).copied().ok_or(Error::Axis {
            op,
            axis: axis as isize,
            ndim: dims.len(),
        })?;
        if let Some(&bad) = positions.iter().find(|&&p| p >= len) {
            return Err(Error::Index {
                op,
                index: bad,
                len,
            });
        }
        let outer: usize = dims[..axis].iter().product();
        let inner: usize = dims[axis + 1..].iter().product();
        let mut out_dims = dims.to_vec();
        out_dims[axis] = positions.len();
        // Consecutive positions (all of them for narrow and unit-step slices) read one
        // contiguous run of the input.
        let mut runs: Vec<(usize, usize)> = Vec::new();
        for &p in positions {
            match runs.last_mut() {
                Some((first, count)) if *first + *count == p => *count += 1,
                _ => runs.push((p, 1)),
            }
        }
        IndexMap::build(op, label, in_shape.clone(), Shape::from(out_dims), |w| {
            for o in 0..outer {
                for &(first, count) in &runs {
                    w.push_run(Some((o * len + first) * inner), 1, count * inner);
                }
            }
        })
    }

    /// The same map with another label (shown in graph exports: `gather(label: ...)`).
    pub fn with_label(mut self, label: &'static str) -> IndexMap {
        self.label = label;
        self
    }

    /// The label: the op that built the map, or `"custom"`.
    pub fn label(&self) -> &'static str {
        self.label
    }

    /// The shape of the tensor the map reads.
    pub fn in_shape(&self) -> &Shape {
        &self.in_shape
    }

    /// The shape of the tensor the map produces.
    pub fn out_shape(&self) -> &Shape {
        &self.out_shape
    }

    /// The flat input index read by each output element ([`IndexMap::ZERO`] for zero).
    pub fn indices(&self) -> &[u32] {
        &self.index
    }
}

/// The input's element count, if an index map can address it.
fn check_input_size(op: &'static str, in_shape: &Shape) -> Result<usize> {
    let n = in_shape.numel();
    if n > IndexMap::MAX_INPUT_ELEMENTS {
        return Err(Error::shape(
            op,
            &[in_shape],
            format!(
                "the input has {n} elements; an index map addresses at most {} (u32 indices)",
                IndexMap::MAX_INPUT_ELEMENTS
            ),
        ));
    }
    Ok(n)
}

/// The `gather` op: `out[i] = x[map[i]]`, 0 for the sentinel.
#[derive(Clone, Debug)]
pub struct Gather(pub IndexMap);

/// The `scatter_add` op: `out = 0` of the map's input shape, then `out[map[i]] += g[i]`.
#[derive(Clone, Debug)]
pub struct ScatterAdd(pub IndexMap);

impl Op for Gather {
    fn name(&self) -> &'static str {
        "gather"
    }

    fn describe(&self) -> String {
        let m = &self.0;
        format!("gather({}: {} -> {})", m.label, m.in_shape, m.out_shape)
    }

    fn forward(&mut self, inputs: &[&Tensor]) -> Result<Tensor> {
        inputs[0].gather_map(&self.0)
    }

    fn backward(&self, _ctx: &BackwardCtx<'_>, grad: &Var) -> Result<InputGrads> {
        Ok([Some(grad.scatter_add_map(&self.0)?)].into_iter().collect())
    }
}

impl Op for ScatterAdd {
    fn name(&self) -> &'static str {
        "scatter_add"
    }

    fn describe(&self) -> String {
        let m = &self.0;
        format!(
            "scatter_add({}: {} -> {})",
            m.label, m.out_shape, m.in_shape
        )
    }

    fn forward(&mut self, inputs: &[&Tensor]) -> Result<Tensor> {
        inputs[0].scatter_add_map(&self.0)
    }

    fn backward(&self, _ctx: &BackwardCtx<'_>, grad: &Var) -> Result<InputGrads> {
        Ok([Some(grad.gather_map(&self.0)?)].into_iter().collect())
    }
}

// The sentinel is u32::MAX and inputs have at most u32::MAX - 1 elements, so the
// sentinel is always out of range: `get` returns None for it and the kernels need no
// separate test (and cannot panic whatever the map holds).
fn gather_slice<T: Element>(x: &[T], index: &[u32]) -> Vec<T> {
    crate::tensor::simd::fill(index.len(), |start, chunk| {
        for (dst, &j) in chunk.iter_mut().zip(&index[start..]) {
            dst.write(x.get(j as usize).copied().unwrap_or_else(T::zero));
        }
    })
}

fn scatter_slice<T: Element>(g: &[T], index: &[u32], n: usize) -> Vec<T> {
    let mut out = crate::tensor::pool::zeros(n);
    for (&j, &x) in index.iter().zip(g) {
        if let Some(slot) = out.get_mut(j as usize) {
            *slot += x;
        }
    }
    out
}

impl Tensor {
    /// `out[i] = self.flat[map[i]]` (0 where the map has [`IndexMap::ZERO`]), with the
    /// map's output shape.
    ///
    /// # Shapes
    /// The tensor must have `map.in_shape()`; the result has `map.out_shape()`.
    ///
    /// # Errors
    /// [`Error::Shape`] if the tensor's shape is not the map's input shape.
    pub fn gather_map(&self, map: &IndexMap) -> Result<Tensor> {
        if self.shape() != map.in_shape() {
            return Err(Error::shape(
                "gather",
                &[self.shape(), map.in_shape()],
                "the tensor's shape (first) is not the index map's input shape (second)",
            ));
        }
        let shape = map.out_shape().clone();
        Ok(match self.storage_ref() {
            Storage::F32(v) => Tensor::from_kernel(gather_slice(v, map.indices()), shape),
            Storage::F64(v) => Tensor::from_kernel(gather_slice(v, map.indices()), shape),
        })
    }

    /// The adjoint of [`Tensor::gather_map`]: a tensor of `map.in_shape()`, zero but for
    /// `out[map[i]] += self.flat[i]` (elements mapped to [`IndexMap::ZERO`] are dropped;
    /// repeated indices accumulate).
    ///
    /// # Shapes
    /// The tensor must have `map.out_shape()`; the result has `map.in_shape()`.
    ///
    /// # Errors
    /// [`Error::Shape`] if the tensor's shape is not the map's output shape.
    pub fn scatter_add_map(&self, map: &IndexMap) -> Result<Tensor> {
        if self.shape() != map.out_shape() {
            return Err(Error::shape(
                "scatter_add",
                &[self.shape(), map.out_shape()],
                "the tensor's shape (first) is not the index map's output shape (second)",
            ));
        }
        let shape = map.in_shape().clone();
        let n = shape.numel();
        Ok(match self.storage_ref() {
            Storage::F32(v) => Tensor::from_kernel(scatter_slice(v, map.indices(), n), shape),
            Storage::F64(v) => Tensor::from_kernel(scatter_slice(v, map.indices(), n), shape),
        })
    }
}

impl Var {
    /// Gathers through an index map (see [`Tensor::gather_map`]); recorded. The gradient
    /// is [`Var::scatter_add_map`] of the upstream gradient.
    ///
    /// # Shapes
    /// The Var must have `map.in_shape()`; the result has `map.out_shape()`.
    ///
    /// # Errors
    /// As [`Tensor::gather_map`], plus the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn gather_map(&self, map: &IndexMap) -> Result<Var> {
        Var::apply(Gather(map.clone()), &[self])
    }

    /// Scatters and adds through an index map (see [`Tensor::scatter_add_map`]);
    /// recorded. The gradient is [`Var::gather_map`] of the upstream gradient.
    ///
    /// # Shapes
    /// The Var must have `map.out_shape()`; the result has `map.in_shape()`.
    ///
    /// # Errors
    /// As [`Tensor::scatter_add_map`], plus the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn scatter_add_map(&self, map: &IndexMap) -> Result<Var> {
        Var::apply(ScatterAdd(map.clone()), &[self])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;
    use crate::{DType, Tape};

    /// A map over [2, 3] -> [2, 2, 2] with a repeated index and two zeros.
    fn sample_map() -> IndexMap {
        let z = IndexMap::ZERO;
        IndexMap::new([2, 3], [2, 2, 2], vec![5, 0, 0, z, 3, 1, z, 4]).unwrap()
    }

    #[test]
    fn gather_reads_the_mapped_elements_and_zero_for_the_sentinel() {
        let x = t64(&[10.0, 11.0, 12.0, 13.0, 14.0, 15.0], &[2, 3]);
        let y = x.gather_map(&sample_map()).unwrap();
        assert_eq!(y.dims(), &[2, 2, 2]);
        assert_eq!(
            y.to_vec::<f64>().unwrap(),
            vec![15.0, 10.0, 10.0, 0.0, 13.0, 11.0, 0.0, 14.0]
        );
    }

    #[test]
    fn scatter_add_accumulates_repeated_indices_and_drops_the_sentinel() {
        let g = t64(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], &[2, 2, 2]);
        let s = g.scatter_add_map(&sample_map()).unwrap();
        assert_eq!(s.dims(), &[2, 3]);
        assert_eq!(
            s.to_vec::<f64>().unwrap(),
            vec![5.0, 6.0, 0.0, 5.0, 8.0, 1.0]
        );
    }

    #[test]
    fn gather_and_scatter_add_are_adjoint() {
        let map = sample_map();
        let x = randn(&[2, 3], 1);
        let y = randn(&[2, 2, 2], 2);
        let lhs = x.gather_map(&map).unwrap().mul(&y).unwrap().sum_all();
        let rhs = x.mul(&y.scatter_add_map(&map).unwrap()).unwrap().sum_all();
        assert_close(&lhs.to_f64_vec(), &rhs.to_f64_vec(), 1e-14, 1e-14);
    }

    #[test]
    fn gather_and_scatter_add_gradcheck_to_second_order() {
        let map = sample_map();
        // Squared so the second derivative is not identically zero.
        check_op(|v| v[0].gather_map(&map)?.powf(2.0), &[randn(&[2, 3], 3)]);
        check_op(
            |v| v[0].scatter_add_map(&map)?.powf(2.0),
            &[randn(&[2, 2, 2], 4)],
        );
        check_op(
            |v| v[0].gather_map(&map)?.scatter_add_map(&map)?.powf(3.0),
            &[randn(&[2, 3], 5)],
        );
    }

    #[test]
    fn gather_gradchecks_with_size_one_and_zero_size_dims() {
        let ones = IndexMap::from_fn([1, 3, 1], [3, 1], |i| Some(2 - i)).unwrap();
        check_op(
            |v| v[0].gather_map(&ones)?.powf(2.0),
            &[randn(&[1, 3, 1], 6)],
        );
        // Output of zero size from a non-empty input, and all-padding from an empty one.
        let none = IndexMap::from_fn([2, 3], [0, 3], |_| Some(0)).unwrap();
        check_op(|v| v[0].gather_map(&none)?.powf(2.0), &[randn(&[2, 3], 7)]);
        let pad = IndexMap::from_fn([0, 2], [2], |_| None).unwrap();
        check_op(|v| v[0].gather_map(&pad)?.powf(2.0), &[randn(&[0, 2], 8)]);
        assert_eq!(
            randn(&[0, 2], 8).gather_map(&pad).unwrap().to_f64_vec(),
            vec![0.0, 0.0]
        );
    }

    #[test]
    fn gather_works_in_f32_and_keeps_the_dtype() {
        let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], [2, 3]).unwrap();
        let y = x.gather_map(&sample_map()).unwrap();
        assert_eq!(y.dtype(), DType::F32);
        assert_eq!(
            y.to_vec::<f32>().unwrap(),
            vec![6.0, 1.0, 1.0, 0.0, 4.0, 2.0, 0.0, 5.0]
        );
        let s = y.scatter_add_map(&sample_map()).unwrap();
        assert_eq!(s.dtype(), DType::F32);
    }

    #[test]
    fn gather_gradient_sums_over_repeated_reads() {
        let tape = Tape::new();
        let x = tape.var(t64(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]));
        let y = x.gather_map(&sample_map()).unwrap().sum_all().unwrap();
        let g = y.backward().unwrap();
        // Index 0 is read twice, 2 never, 1, 3, 4 and 5 once.
        assert_eq!(
            g.get(&x).unwrap().to_vec::<f64>().unwrap(),
            vec![2.0, 1.0, 0.0, 1.0, 1.0, 1.0]
        );
    }

    #[test]
    fn index_map_rejects_an_index_outside_the_input() {
        let err = IndexMap::new([2, 3], [2], vec![1, 6]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "index_map: index 6 is out of range for length 6"
        );
        let err = IndexMap::from_fn([4], [2], |i| Some(10 + i)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "index_map: index 10 is out of range for length 4"
        );
    }

    #[test]
    fn index_map_rejects_an_index_count_that_is_not_the_output_size() {
        let err = IndexMap::new([3], [2, 2], vec![0, 1, 2]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "index_map: 3 values cannot fill shape [2, 2] (it needs 4)"
        );
    }

    #[test]
    fn index_map_refuses_inputs_too_large_for_u32_indices() {
        // Only the shape is looked at: no tensor of this size is allocated.
        let err = IndexMap::new([65536, 65536], [0], vec![]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "index_map: the input has 4294967296 elements; an index map addresses at most \
             4294967294 (u32 indices) (shapes: [65536, 65536])"
        );
        assert!(IndexMap::new([u32::MAX as usize - 1], [0], vec![]).is_ok());
        assert!(IndexMap::new([u32::MAX as usize], [0], vec![]).is_err());
    }

    #[test]
    fn gather_and_scatter_reject_a_tensor_of_the_wrong_shape() {
        let x = randn(&[3, 2], 1);
        assert_eq!(
            x.gather_map(&sample_map()).unwrap_err().to_string(),
            "gather: the tensor's shape (first) is not the index map's input shape (second) \
             (shapes: [3, 2], [2, 3])"
        );
        let tape = Tape::new();
        let v = tape.var(x);
        assert_eq!(
            v.scatter_add_map(&sample_map()).unwrap_err().to_string(),
            "scatter_add: the tensor's shape (first) is not the index map's output shape \
             (second) (shapes: [3, 2], [2, 2, 2])"
        );
    }

    #[test]
    fn gather_describes_its_map_in_the_graph() {
        let tape = Tape::new();
        let x = tape.var(randn(&[2, 3], 1));
        let _ = x.gather_map(&sample_map().with_label("demo")).unwrap();
        assert!(
            tape.to_dot().contains("gather(demo: [2, 3] -> [2, 2, 2])"),
            "{}",
            tape.to_dot()
        );
        assert_eq!(
            format!("{:?}", sample_map()),
            "IndexMap(custom: [2, 3] -> [2, 2, 2])"
        );
    }
}
