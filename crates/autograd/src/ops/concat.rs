//! `concat` and `stack`: tensors joined along an existing axis, or along a new one.
//!
//! `concat([x_0, ..., x_{k-1}], axis)` places the pieces one after another along `axis`;
//! every other dimension must agree. The gradient w.r.t. `x_i` is the upstream gradient
//! narrowed back to `x_i`'s range along `axis` (a gather, itself differentiable to any
//! order). `stack` inserts a size-1 axis in every piece (`unsqueeze`) and concatenates
//! along it, so it has no rule of its own. PyTorch: `torch.cat`, `torch.stack`.
//!
//! ```
//! use gradflow_autograd::Tensor;
//! let a = Tensor::from_vec(vec![1.0f64, 2.0], &[1, 2])?;
//! let b = Tensor::from_vec(vec![3.0f64, 4.0, 5.0, 6.0], &[2, 2])?;
//! let c = Tensor::concat(&[&a, &b], 0)?;
//! assert_eq!(c.dims(), &[3, 2]);
//! assert_eq!(c.to_vec::<f64>()?, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
//! let s = Tensor::stack(&[&a, &a], 0)?;
//! assert_eq!(s.dims(), &[2, 1, 2]);
//! # Ok::<(), gradflow_autograd::Error>(())
//! ```

use crate::tensor::Storage;
use crate::{BackwardCtx, DType, Element, Error, InputGrads, Op, Result, Shape, Tensor, Var};

/// The `concat` op: its axis (resolved) and the size of each piece along it.
#[derive(Clone, Debug)]
pub struct Concat {
    axis: usize,
    sizes: Vec<usize>,
}

impl Op for Concat {
    fn name(&self) -> &'static str {
        "concat"
    }

    fn describe(&self) -> String {
        format!("concat(axis={}, sizes={:?})", self.axis, self.sizes)
    }

    fn forward(&mut self, inputs: &[&Tensor]) -> Result<Tensor> {
        Tensor::concat(inputs, self.axis as isize)
    }

    fn backward(&self, ctx: &BackwardCtx<'_>, grad: &Var) -> Result<InputGrads> {
        if !ctx.create_graph() {
            return self.split(ctx, grad.value());
        }
        let mut out = InputGrads::new();
        let mut offset = 0;
        for (i, &size) in self.sizes.iter().enumerate() {
            out.push(if ctx.needs_grad(i) {
                Some(grad.narrow(self.axis as isize, offset, size)?)
            } else {
                None
            });
            offset += size;
        }
        Ok(out)
    }
}

impl Concat {
    /// The rule without recording: each needed piece of the gradient copied out run by
    /// run (what the narrows give, without building their index maps and gathering).
    fn split(&self, ctx: &BackwardCtx<'_>, g: &Tensor) -> Result<InputGrads> {
        let dims = g.dims();
        let outer: usize = dims[..self.axis].iter().product();
        let inner: usize = dims[self.axis + 1..].iter().product();
        let total = self.sizes.iter().sum::<usize>() * inner;
        let mut out = InputGrads::new();
        let mut offset = 0;
        for (i, &size) in self.sizes.iter().enumerate() {
            let (start, run) = (offset * inner, size * inner);
            offset += size;
            if !ctx.needs_grad(i) {
                out.push(None);
                continue;
            }
            let mut shape = dims.to_vec();
            shape[self.axis] = size;
            let piece = match g.storage_ref() {
                Storage::F32(v) => {
                    Tensor::from_kernel(runs(v, outer, total, start, run), shape.into())
                }
                Storage::F64(v) => {
                    Tensor::from_kernel(runs(v, outer, total, start, run), shape.into())
                }
            };
            out.push(Some(ctx.fused(piece)));
        }
        Ok(out)
    }
}

/// `v[o * total + start ..][.. run]` for every `o < outer`, one after another.
fn runs<T: Element>(v: &[T], outer: usize, total: usize, start: usize, run: usize) -> Vec<T> {
    let mut out = Vec::with_capacity(outer * run);
    for o in 0..outer {
        out.extend_from_slice(
            v.get(o * total + start..o * total + start + run)
                .unwrap_or_default(),
        );
    }
    out
}

/// Checks the pieces of a concat and returns the resolved axis and the output shape.
fn plan(
    op: &'static str,
    shapes: &[&Shape],
    dtypes: &[DType],
    axis: isize,
) -> Result<(usize, Shape)> {
    let (Some(first), Some(&dtype)) = (shapes.first(), dtypes.first()) else {
        return Err(Error::invalid(
            op,
            "needs at least one tensor (got an empty list)",
        ));
    };
    if let Some(&other) = dtypes.iter().find(|&&d| d != dtype) {
        return Err(Error::DTypeMismatch {
            op,
            lhs: dtype,
            rhs: other,
        });
    }
    let a = first.axis(op, axis)?;
    let agrees = |s: &Shape| {
        s.ndim() == first.ndim()
            && s.dims()
                .iter()
                .zip(first.dims())
                .enumerate()
                .all(|(i, (x, y))| i == a || x == y)
    };
    if !shapes.iter().all(|s| agrees(s)) {
        return Err(Error::shape(
            op,
            shapes,
            format!(
                "every tensor must have the same number of dimensions and the same sizes outside axis {axis}"
            ),
        ));
    }
    let mut dims = first.dims().to_vec();
    dims[a] = shapes.iter().map(|s| s[a]).sum();
    Ok((a, Shape::from(dims)))
}

fn concat_slices<T: Element>(pieces: &[&[T]], chunks: &[usize], outer: usize) -> Vec<T> {
    let mut out = Vec::with_capacity(chunks.iter().sum::<usize>() * outer);
    for o in 0..outer {
        for (v, &c) in pieces.iter().zip(chunks) {
            // In range: piece i holds exactly `outer * chunks[i]` elements (checked shapes).
            out.extend_from_slice(&v[o * c..(o + 1) * c]);
        }
    }
    out
}

fn concat_typed<T: Element>(
    tensors: &[&Tensor],
    chunks: &[usize],
    outer: usize,
    shape: Shape,
) -> Result<Tensor> {
    let pieces: Vec<&[T]> = tensors
        .iter()
        .map(|t| t.as_slice::<T>())
        .collect::<Result<_>>()?;
    Ok(Tensor::from_kernel(
        concat_slices(&pieces, chunks, outer),
        shape,
    ))
}

/// Checks the pieces of a stack (non-empty, one shape, one dtype) and resolves the new
/// axis, which may be `-(ndim + 1) ..= ndim`.
fn stack_axis(shapes: &[&Shape], dtypes: &[DType], axis: isize) -> Result<usize> {
    let (Some(first), Some(&dtype)) = (shapes.first(), dtypes.first()) else {
        return Err(Error::invalid(
            "stack",
            "needs at least one tensor (got an empty list)",
        ));
    };
    if let Some(&other) = dtypes.iter().find(|&&d| d != dtype) {
        return Err(Error::DTypeMismatch {
            op: "stack",
            lhs: dtype,
            rhs: other,
        });
    }
    if shapes.iter().any(|s| s != first) {
        return Err(Error::shape(
            "stack",
            shapes,
            "every tensor must have the same shape",
        ));
    }
    let ndim = first.ndim() as isize;
    let a = if axis < 0 { axis + ndim + 1 } else { axis };
    if a < 0 || a > ndim {
        // Reported against the stacked result, which has one dimension more.
        return Err(Error::Axis {
            op: "stack",
            axis,
            ndim: first.ndim() + 1,
        });
    }
    Ok(a as usize)
}

/// `shape` with a size-1 dimension inserted at `axis`.
fn with_unit_axis(shape: &Shape, axis: usize) -> Shape {
    let mut dims = shape.dims().to_vec();
    dims.insert(axis, 1);
    Shape::from(dims)
}

impl Tensor {
    /// The tensors joined along `axis` (negative counts from the end).
    ///
    /// # Shapes
    /// Every tensor has the same number of dimensions and the same sizes outside `axis`;
    /// the result has the sum of their sizes at `axis`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an empty list; [`Error::DTypeMismatch`] for mixed
    /// dtypes; [`Error::Axis`] for an axis out of range of the first tensor;
    /// [`Error::Shape`] naming every shape when they disagree outside `axis`.
    pub fn concat(tensors: &[&Tensor], axis: isize) -> Result<Tensor> {
        let shapes: Vec<&Shape> = tensors.iter().map(|t| t.shape()).collect();
        let dtypes: Vec<DType> = tensors.iter().map(|t| t.dtype()).collect();
        let (a, shape) = plan("concat", &shapes, &dtypes, axis)?;
        let outer: usize = shape.dims()[..a].iter().product();
        let inner: usize = shape.dims()[a + 1..].iter().product();
        let chunks: Vec<usize> = shapes.iter().map(|s| s[a] * inner).collect();
        match tensors.first().map(|t| t.storage_ref()) {
            Some(Storage::F64(_)) => concat_typed::<f64>(tensors, &chunks, outer, shape),
            _ => concat_typed::<f32>(tensors, &chunks, outer, shape),
        }
    }

    /// The tensors, all of one shape, stacked along a new axis at `axis` (which may be
    /// `-(ndim + 1) ..= ndim`; `-1` appends).
    ///
    /// # Shapes
    /// `k` tensors of shape `S` give `S` with `k` inserted at `axis`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an empty list; [`Error::DTypeMismatch`] for mixed
    /// dtypes; [`Error::Shape`] naming every shape when they differ; [`Error::Axis`] for
    /// an axis out of range.
    pub fn stack(tensors: &[&Tensor], axis: isize) -> Result<Tensor> {
        let shapes: Vec<&Shape> = tensors.iter().map(|t| t.shape()).collect();
        let dtypes: Vec<DType> = tensors.iter().map(|t| t.dtype()).collect();
        let a = stack_axis(&shapes, &dtypes, axis)?;
        let pieces: Vec<Tensor> = tensors
            .iter()
            .map(|t| t.reshape(with_unit_axis(t.shape(), a)))
            .collect::<Result<_>>()?;
        let refs: Vec<&Tensor> = pieces.iter().collect();
        Tensor::concat(&refs, a as isize)
    }
}

impl Var {
    /// The Vars joined along `axis`; recorded as one node whose gradient narrows the
    /// upstream gradient back into pieces (see [`Tensor::concat`]).
    ///
    /// # Shapes
    /// As [`Tensor::concat`].
    ///
    /// # Errors
    /// As [`Tensor::concat`], plus the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn concat(vars: &[&Var], axis: isize) -> Result<Var> {
        let shapes: Vec<&Shape> = vars.iter().map(|v| v.shape()).collect();
        let dtypes: Vec<DType> = vars.iter().map(|v| v.dtype()).collect();
        let (a, _) = plan("concat", &shapes, &dtypes, axis)?;
        let sizes = shapes.iter().map(|s| s[a]).collect();
        Var::apply(Concat { axis: a, sizes }, vars)
    }

    /// The Vars, all of one shape, stacked along a new axis; recorded as `unsqueeze` of
    /// each then [`Var::concat`] (see [`Tensor::stack`]).
    ///
    /// # Shapes
    /// As [`Tensor::stack`].
    ///
    /// # Errors
    /// As [`Tensor::stack`], plus the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn stack(vars: &[&Var], axis: isize) -> Result<Var> {
        let shapes: Vec<&Shape> = vars.iter().map(|v| v.shape()).collect();
        let dtypes: Vec<DType> = vars.iter().map(|v| v.dtype()).collect();
        let a = stack_axis(&shapes, &dtypes, axis)?;
        let pieces: Vec<Var> = vars
            .iter()
            .map(|v| v.unsqueeze(a as isize))
            .collect::<Result<_>>()?;
        let refs: Vec<&Var> = pieces.iter().collect();
        Var::concat(&refs, a as isize)
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::*;
    use crate::{DType, Tape, Tensor, Var};

    #[test]
    fn concat_joins_along_each_axis() {
        let a = t64(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
        let b = t64(&[5.0, 6.0], &[2, 1]);
        let c = Tensor::concat(&[&a, &b], 1).unwrap();
        assert_eq!(c.dims(), &[2, 3]);
        assert_eq!(c.to_f64_vec(), vec![1.0, 2.0, 5.0, 3.0, 4.0, 6.0]);
        let d = Tensor::concat(&[&a, &b.reshape([1, 2]).unwrap(), &a], -2).unwrap();
        assert_eq!(d.dims(), &[5, 2]);
        assert_eq!(
            d.to_f64_vec(),
            vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 1.0, 2.0, 3.0, 4.0]
        );
        let empty = Tensor::zeros([2, 0], DType::F64);
        let e = Tensor::concat(&[&empty, &a, &empty], 1).unwrap();
        assert_eq!(e.to_f64_vec(), a.to_f64_vec());
        let f = Tensor::concat(&[&Tensor::ones([3], DType::F32)], 0).unwrap();
        assert_eq!(f.dtype(), DType::F32);
    }

    #[test]
    fn concat_gradchecks_to_second_order() {
        let a = randn(&[2, 3, 2], 40);
        let b = randn(&[2, 1, 2], 41);
        let c = randn(&[2, 0, 2], 42);
        check_op(
            |v| Var::concat(&[&v[0], &v[1], &v[2]], 1)?.powf(2.0),
            &[a.clone(), b, c],
        );
        check_op(
            |v| Var::concat(&[&v[0], &v[1]], 0)?.powf(3.0),
            &[a.clone(), randn(&[1, 3, 2], 43)],
        );
        check_op(
            |v| Var::concat(&[&v[0], &v[1]], -1)?.powf(2.0),
            &[a, randn(&[2, 3, 1], 44)],
        );
        check_op(
            |v| Var::concat(&[&v[0], &v[1]], 0)?.powf(2.0),
            &[randn(&[0, 3], 45), randn(&[0, 3], 46)],
        );
    }

    #[test]
    fn concat_of_one_var_twice_accumulates_both_gradients() {
        let tape = Tape::new();
        let x = tape.var(t64(&[1.0, 2.0], &[2]));
        let w = Var::untracked(t64(&[1.0, 2.0, 3.0, 4.0], &[4]));
        let y = Var::concat(&[&x, &x], 0)
            .unwrap()
            .mul(&w)
            .unwrap()
            .sum_all()
            .unwrap();
        let g = y.backward().unwrap();
        assert_eq!(g.get(&x).unwrap().to_f64_vec(), vec![4.0, 6.0]);
    }

    /// Unrecorded, the rule copies each piece of the gradient out directly; recorded,
    /// it narrows. Both give the same values, along a middle axis with three pieces
    /// (one a constant, which gets none) and along the last.
    #[test]
    fn concat_copies_the_gradient_pieces_as_the_narrows_do() {
        for axis in [1isize, 2] {
            let grads = |record: bool| {
                let tape = Tape::new();
                let a = tape.var(randn(&[2, 3, 4], 1));
                let c = tape.constant(randn(&[2, 3, 4], 2));
                let b = tape.var(randn(&[2, 3, 4], 3));
                let y = Var::concat(&[&a, &c, &b], axis).unwrap();
                let cot = Var::untracked(randn(y.dims(), 4));
                let g = tape.vjp(&y, &cot, &[&a, &b], record).unwrap();
                g.iter()
                    .map(|v| (v.dims().to_vec(), v.value().to_f64_vec()))
                    .collect::<Vec<_>>()
            };
            assert_eq!(grads(false), grads(true), "axis {axis}");
        }
    }

    #[test]
    fn concat_skips_pieces_that_need_no_gradient() {
        let tape = Tape::new();
        let x = tape.var(randn(&[2], 1));
        let c = tape.constant(randn(&[3], 2));
        let y = Var::concat(&[&c, &x], 0)
            .unwrap()
            .powf(2.0)
            .unwrap()
            .sum_all()
            .unwrap();
        let g = y.backward().unwrap();
        let want: Vec<f64> = x.value().to_f64_vec().iter().map(|v| 2.0 * v).collect();
        assert_close(&g.get(&x).unwrap().to_f64_vec(), &want, 1e-15, 0.0);
        assert!(g.get(&c).is_none());
    }

    #[test]
    fn concat_rejects_an_empty_list_mixed_dtypes_bad_axes_and_shapes() {
        assert_eq!(
            Tensor::concat(&[], 0).unwrap_err().to_string(),
            "concat: needs at least one tensor (got an empty list)"
        );
        let a = randn(&[2, 3], 1);
        let b = randn(&[2, 4], 2);
        let c = randn(&[3, 3], 3);
        assert_eq!(
            Tensor::concat(&[&a, &b, &c], 0).unwrap_err().to_string(),
            "concat: every tensor must have the same number of dimensions and the same sizes \
             outside axis 0 (shapes: [2, 3], [2, 4], [3, 3])"
        );
        assert_eq!(
            Tensor::concat(&[&a, &randn(&[6], 4)], 0)
                .unwrap_err()
                .to_string(),
            "concat: every tensor must have the same number of dimensions and the same sizes \
             outside axis 0 (shapes: [2, 3], [6])"
        );
        let f32s = Tensor::ones([2, 3], DType::F32);
        assert_eq!(
            Tensor::concat(&[&a, &f32s], 0).unwrap_err().to_string(),
            "concat: operands have different dtypes (f64 and f32); convert one with to_dtype"
        );
        assert_eq!(
            Tensor::concat(&[&a, &a], 2).unwrap_err().to_string(),
            "concat: axis 2 is out of range for a 2-D tensor (valid: -2 to 1)"
        );
        assert!(Tensor::concat(&[&randn(&[], 1)], 0).is_err());
        let tape = Tape::new();
        let (va, vb) = (tape.var(a), tape.var(b));
        assert!(Var::concat(&[&va, &vb], 0).is_err());
        assert!(Var::concat(&[], 0).is_err());
        assert_eq!(Var::concat(&[&va, &vb], 1).unwrap().dims(), &[2, 7]);
    }

    #[test]
    fn stack_inserts_a_new_axis() {
        let a = t64(&[1.0, 2.0, 3.0], &[3]);
        let b = t64(&[4.0, 5.0, 6.0], &[3]);
        let s0 = Tensor::stack(&[&a, &b], 0).unwrap();
        assert_eq!(s0.dims(), &[2, 3]);
        assert_eq!(s0.to_f64_vec(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let s1 = Tensor::stack(&[&a, &b], -1).unwrap();
        assert_eq!(s1.dims(), &[3, 2]);
        assert_eq!(s1.to_f64_vec(), vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
        let tape = Tape::new();
        let (va, vb) = (tape.var(a), tape.var(b));
        let v = Var::stack(&[&va, &vb], 1).unwrap();
        assert_eq!(v.value().to_f64_vec(), s1.to_f64_vec());
    }

    #[test]
    fn stack_gradchecks_to_second_order() {
        for axis in [0, 1, 2, -1, -3] {
            check_op(
                move |v| Var::stack(&[&v[0], &v[1], &v[0]], axis)?.powf(2.0),
                &[randn(&[2, 3], 50), randn(&[2, 3], 51)],
            );
        }
        check_op(
            |v| Var::stack(&[&v[0], &v[1]], 1)?.powf(2.0),
            &[randn(&[0, 1], 52), randn(&[0, 1], 53)],
        );
        check_op(|v| Var::stack(&[&v[0]], 0)?.powf(2.0), &[randn(&[], 54)]);
    }

    #[test]
    fn stack_rejects_different_shapes_an_empty_list_and_bad_axes() {
        let a = randn(&[2, 3], 1);
        let b = randn(&[3, 2], 2);
        assert_eq!(
            Tensor::stack(&[&a, &b], 0).unwrap_err().to_string(),
            "stack: every tensor must have the same shape (shapes: [2, 3], [3, 2])"
        );
        assert_eq!(
            Tensor::stack(&[], 0).unwrap_err().to_string(),
            "stack: needs at least one tensor (got an empty list)"
        );
        assert_eq!(
            Tensor::stack(&[&a, &a], 3).unwrap_err().to_string(),
            "stack: axis 3 is out of range for a 3-D tensor (valid: -3 to 2)"
        );
        assert!(Tensor::stack(&[&a, &a], -4).is_err());
        let tape = Tape::new();
        let va = tape.var(a);
        let vf = tape.var(Tensor::ones([2, 3], DType::F32));
        assert_eq!(
            Var::stack(&[&va, &vf], 0).unwrap_err().to_string(),
            "stack: operands have different dtypes (f64 and f32); convert one with to_dtype"
        );
    }
}
