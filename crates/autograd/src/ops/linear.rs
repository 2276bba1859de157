//! `linear`: the affine map of a fully connected layer, `y = x W^T + b`, as one op.
//!
//! `x: [..., k]` (at least two dimensions), `W: [n, k]`, `b: [n]` (optional), `y: [...,
//! n]`. With `G` the upstream gradient and `x`, `G` flattened to `[rows, k]` and
//! `[rows, n]`: `dx = G W`, `dW = G^T x`, `db = sum of the rows of G`. PyTorch:
//! `torch.nn.functional.linear`.
//!
//! The same as `x.matmul_transposed(W, false, true)` followed by `add(b)`, in one node:
//! the bias is added to the product's fresh output in place (no second output, no
//! broadcast), and the backward pass has one rule instead of two. The rule is written
//! with recorded Var ops, so it differentiates again (second order, `create_graph`).

use crate::{BackwardCtx, DType, Error, InputGrads, Op, Result, Tensor, Var};

/// The `linear` op; its inputs are `x`, `W` and, if it has one, `b`.
#[derive(Clone, Copy, Debug)]
pub struct Linear;

/// `y := y + b` for each row of `y` (length `b.len()`).
fn add_rows<T: Copy + std::ops::Add<Output = T>>(y: &mut [T], b: &[T]) {
    if b.is_empty() {
        return;
    }
    for row in y.chunks_exact_mut(b.len()) {
        for (v, &c) in row.iter_mut().zip(b) {
            *v = *v + c;
        }
    }
}

/// Checks the shapes and dtypes of `linear`'s operands: `n`, the output width.
fn check(x: &Tensor, w: &Tensor, b: Option<&Tensor>) -> Result<usize> {
    // The operands' shapes, gathered only for an error (this runs every forward pass).
    let wrong = |why: &str| {
        let shapes: Vec<&crate::Shape> = [Some(x), Some(w), b]
            .into_iter()
            .flatten()
            .map(Tensor::shape)
            .collect();
        Err(Error::shape("linear", &shapes, why))
    };
    let wd = w.dims();
    if wd.len() != 2 {
        return wrong("the weight must be [out_features, in_features]");
    }
    if x.dims().len() < 2 {
        return wrong(
            "the input must have at least 2 dimensions ([batch, in_features]); reshape a \
             vector of length k to [1, k] first",
        );
    }
    if x.dims().last() != Some(&wd[1]) {
        return wrong("the input's last dimension must be the weight's in_features (its second)");
    }
    crate::tensor::kernel::same_dtype("linear", x, w)?;
    if let Some(b) = b {
        if b.dims() != [wd[0]] {
            return wrong("the bias must be [out_features] (the weight's first dimension)");
        }
        crate::tensor::kernel::same_dtype("linear", x, b)?;
    }
    Ok(wd[0])
}

impl Op for Linear {
    fn name(&self) -> &'static str {
        "linear"
    }

    fn forward(&mut self, inputs: &[&Tensor]) -> Result<Tensor> {
        inputs[0].linear(inputs[1], inputs.get(2).copied())
    }

    fn backward(&self, ctx: &BackwardCtx<'_>, grad: &Var) -> Result<InputGrads> {
        let (x, w) = (ctx.input(0), ctx.input(1));
        let (n, k) = (w.dims()[0], w.dims()[1]);
        let rows = grad.value().numel() / n.max(1);
        let flat = |v: &Var, cols: usize| {
            if v.dims().len() == 2 {
                Ok(v.clone())
            } else {
                v.reshape([rows, cols])
            }
        };
        let mut out = InputGrads::new();
        out.push(if ctx.needs_grad(0) {
            Some(grad.matmul(w)?)
        } else {
            None
        });
        out.push(if ctx.needs_grad(1) {
            Some(flat(grad, n)?.matmul_transposed(&flat(x, k)?, true, false)?)
        } else {
            None
        });
        if ctx.inputs().len() > 2 {
            out.push(if ctx.needs_grad(2) {
                Some(flat(grad, n)?.sum_to([n])?)
            } else {
                None
            });
        }
        Ok(out)
    }
}

impl Tensor {
    /// `self W^T + b`: a fully connected layer's affine map (see the module docs).
    ///
    /// # Errors
    /// [`Error::Shape`] naming `linear` if `weight` is not `[n, k]`, `self` is not
    /// `[..., k]` with at least two dimensions, or `bias` is not `[n]`;
    /// [`Error::DTypeMismatch`] if the dtypes differ.
    pub fn linear(&self, weight: &Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
        check(self, weight, bias)?;
        let mut y = self.matmul_transposed(weight, false, true)?;
        if let Some(b) = bias {
            match b.dtype() {
                DType::F32 => add_rows(y.as_mut_slice::<f32>()?, b.as_slice::<f32>()?),
                DType::F64 => add_rows(y.as_mut_slice::<f64>()?, b.as_slice::<f64>()?),
            }
        }
        Ok(y)
    }
}

impl Var {
    /// `self W^T + b`, one recorded node (see the module docs).
    ///
    /// ```
    /// use gradflow_autograd::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_vec(vec![1.0f64, 2.0], [1, 2])?);
    /// let w = tape.var(Tensor::from_vec(vec![1.0f64, 0.0, 0.5, -1.0, 2.0, 3.0], [3, 2])?);
    /// let b = tape.var(Tensor::from_vec(vec![0.0f64, 1.0, -1.0], [3])?);
    /// let y = x.linear(&w, Some(&b))?;
    /// assert_eq!(y.value().to_vec::<f64>()?, vec![1.0, -0.5, 7.0]);
    /// # Ok::<(), gradflow_autograd::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Tensor::linear`], plus the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn linear(&self, weight: &Var, bias: Option<&Var>) -> Result<Var> {
        match bias {
            Some(b) => Var::apply(Linear, &[self, weight, b]),
            None => Var::apply(Linear, &[self, weight]),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::*;
    use crate::{DType, Tensor};

    #[test]
    fn linear_gradchecks_to_second_order_with_and_without_bias() {
        let x = Tensor::randn([3, 4], DType::F64, 1);
        let xb = Tensor::randn([2, 3, 4], DType::F64, 2);
        let w = Tensor::randn([5, 4], DType::F64, 3);
        let b = Tensor::randn([5], DType::F64, 4);
        check_op(
            |v| v[0].linear(&v[1], Some(&v[2])),
            &[x.clone(), w.clone(), b.clone()],
        );
        check_op(
            |v| v[0].linear(&v[1], Some(&v[2])),
            &[xb.clone(), w.clone(), b],
        );
        check_op(|v| v[0].linear(&v[1], None), &[x, w.clone()]);
        check_op(|v| v[0].linear(&v[1], None), &[xb, w]);
    }

    #[test]
    fn linear_is_matmul_then_add_exactly() {
        for dtype in [DType::F32, DType::F64] {
            let x = Tensor::randn([7, 3, 9], dtype, 5);
            let w = Tensor::randn([6, 9], dtype, 6);
            let b = Tensor::randn([6], dtype, 7);
            let fused = x.linear(&w, Some(&b)).unwrap();
            let apart = x
                .matmul_transposed(&w, false, true)
                .unwrap()
                .add(&b)
                .unwrap();
            assert_eq!(fused.shape(), apart.shape());
            assert_eq!(fused.to_f64_vec(), apart.to_f64_vec(), "{dtype:?}");
        }
    }

    #[test]
    fn linear_names_what_is_wrong_with_its_shapes() {
        let x = Tensor::randn([3, 4], DType::F64, 1);
        let w = Tensor::randn([5, 4], DType::F64, 2);
        let cases = [
            (
                x.clone(),
                Tensor::randn([5, 3], DType::F64, 3),
                None,
                "in_features",
            ),
            (
                x.clone(),
                Tensor::randn([5], DType::F64, 3),
                None,
                "the weight must be",
            ),
            (
                Tensor::randn([4], DType::F64, 3),
                w.clone(),
                None,
                "at least 2 dimensions",
            ),
            (
                x.clone(),
                w.clone(),
                Some(Tensor::randn([4], DType::F64, 3)),
                "the bias must be",
            ),
        ];
        for (x, w, b, want) in cases {
            let err = x.linear(&w, b.as_ref()).unwrap_err().to_string();
            assert!(err.contains("linear") && err.contains(want), "{err}");
        }
        let b32 = Tensor::randn([5], DType::F32, 3);
        let w32 = w.to_dtype(DType::F32);
        for err in [x.linear(&w, Some(&b32)), x.linear(&w32, None)] {
            let err = err.unwrap_err().to_string();
            assert!(err.contains("linear"), "{err}");
        }
    }
}
