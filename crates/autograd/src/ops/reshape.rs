//! `reshape` and its conveniences (`flatten`, `unsqueeze`, `squeeze`): the same data
//! with another shape of the same element count; the gradient is reshaped back.
//! PyTorch: `torch.reshape`.

use crate::{BackwardCtx, Error, InputGrads, Op, Result, Shape, Tensor, Var};

/// The `reshape` op.
#[derive(Clone, Debug)]
pub struct Reshape(pub Shape);

impl Op for Reshape {
    fn name(&self) -> &'static str {
        "reshape"
    }

    fn describe(&self) -> String {
        format!("reshape({})", self.0)
    }

    fn forward(&mut self, inputs: &[&Tensor]) -> Result<Tensor> {
        inputs[0].reshape(self.0.clone())
    }

    fn backward(&self, ctx: &BackwardCtx<'_>, grad: &Var) -> Result<InputGrads> {
        Ok([Some(grad.reshape(ctx.input(0).shape())?)]
            .into_iter()
            .collect())
    }
}

/// The shape `dims` with at most one `-1` inferred from `numel`.
fn infer_shape(op: &'static str, from: &Shape, dims: &[isize]) -> Result<Shape> {
    let mut unknown = None;
    let mut known = 1usize;
    for (i, &d) in dims.iter().enumerate() {
        match d {
            -1 if unknown.is_none() => unknown = Some(i),
            d if d >= 0 => known *= d as usize,
            _ => {
                return Err(Error::invalid(
                    op,
                    format!("dimensions must be >= 0 with at most one -1 (got {dims:?})"),
                ));
            }
        }
    }
    let mut out: Vec<usize> = dims.iter().map(|&d| d.max(0) as usize).collect();
    if let Some(i) = unknown {
        if known == 0 || !from.numel().is_multiple_of(known) {
            return Err(Error::shape(
                op,
                &[from],
                format!(
                    "cannot infer the -1 in {dims:?} from {} elements",
                    from.numel()
                ),
            ));
        }
        out[i] = from.numel() / known;
    }
    Ok(Shape::from(out))
}

impl Tensor {
    /// Reshape with `-1` allowed once, inferred from the element count.
    ///
    /// # Errors
    /// [`Error::Shape`] if the counts differ or `-1` cannot be inferred.
    pub fn reshape_infer(&self, dims: &[isize]) -> Result<Tensor> {
        self.reshape(infer_shape("reshape", self.shape(), dims)?)
    }
}

impl Var {
    /// The same values with another shape of the same element count; recorded.
    ///
    /// # Errors
    /// [`Error::Shape`] if the element counts differ.
    #[track_caller]
    pub fn reshape(&self, shape: impl Into<Shape>) -> Result<Var> {
        let shape = shape.into();
        if &shape == self.shape() {
            return Ok(self.clone());
        }
        if shape.numel() != self.value().numel() {
            return Err(Error::shape(
                "reshape",
                &[self.shape(), &shape],
                format!(
                    "cannot reshape {} elements into {} elements",
                    self.value().numel(),
                    shape.numel()
                ),
            ));
        }
        Var::apply(Reshape(shape), &[self])
    }

    /// Reshape with `-1` allowed once, inferred from the element count; recorded.
    ///
    /// # Errors
    /// [`Error::Shape`] if the counts differ or `-1` cannot be inferred.
    #[track_caller]
    pub fn reshape_infer(&self, dims: &[isize]) -> Result<Var> {
        self.reshape(infer_shape("reshape", self.shape(), dims)?)
    }

    /// Flattens all dimensions from `start` on into one (`flatten(1)` turns
    /// `[n, c, h, w]` into `[n, c*h*w]`); recorded.
    ///
    /// # Errors
    /// [`Error::Axis`] if `start` is out of range.
    #[track_caller]
    pub fn flatten(&self, start: isize) -> Result<Var> {
        let dims = self.dims();
        if dims.is_empty() {
            return self.reshape([1]);
        }
        let start = self.shape().axis("flatten", start)?;
        let mut out: Vec<usize> = dims[..start].to_vec();
        out.push(dims[start..].iter().product());
        self.reshape(out)
    }

    /// Inserts a dimension of size 1 at `axis` (`-1` appends); recorded.
    ///
    /// # Errors
    /// [`Error::Axis`] if `axis` is outside `-(ndim+1)..=ndim`.
    #[track_caller]
    pub fn unsqueeze(&self, axis: isize) -> Result<Var> {
        let ndim = self.shape().ndim() as isize;
        let a = if axis < 0 { axis + ndim + 1 } else { axis };
        if a < 0 || a > ndim {
            return Err(Error::Axis {
                op: "unsqueeze",
                axis,
                ndim: self.shape().ndim() + 1,
            });
        }
        let mut dims = self.dims().to_vec();
        dims.insert(a as usize, 1);
        self.reshape(dims)
    }

    /// Removes dimension `axis`, which must have size 1; recorded.
    ///
    /// # Errors
    /// [`Error::Axis`] for an axis out of range; [`Error::Shape`] if its size is not 1.
    #[track_caller]
    pub fn squeeze(&self, axis: isize) -> Result<Var> {
        let a = self.shape().axis("squeeze", axis)?;
        if self.dims()[a] != 1 {
            return Err(Error::shape(
                "squeeze",
                &[self.shape()],
                format!("axis {axis} has size {}, not 1", self.dims()[a]),
            ));
        }
        let mut dims = self.dims().to_vec();
        dims.remove(a);
        self.reshape(dims)
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::*;

    #[test]
    fn reshape_gradchecks() {
        let x = randn(&[2, 3, 4], 13);
        check_op(
            |v| v[0].reshape([6, 4])?.powf(2.0)?.sum(&[1], false),
            std::slice::from_ref(&x),
        );
        check_op(
            |v| v[0].reshape_infer(&[4, -1])?.powf(2.0),
            std::slice::from_ref(&x),
        );
        check_op(
            |v| v[0].flatten(1)?.unsqueeze(0)?.squeeze(0)?.powf(3.0),
            &[x],
        );
    }

    #[test]
    fn reshape_rejects_a_different_element_count() {
        let tape = crate::Tape::new();
        let x = tape.var(randn(&[2, 3], 1));
        assert_eq!(
            x.reshape([4]).unwrap_err().to_string(),
            "reshape: cannot reshape 6 elements into 4 elements (shapes: [2, 3], [4])"
        );
        assert!(x.reshape_infer(&[4, -1]).is_err());
        assert!(x.reshape_infer(&[-1, -1]).is_err());
        assert!(x.squeeze(0).is_err());
    }
}
