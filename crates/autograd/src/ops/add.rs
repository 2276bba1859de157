//! `add`: elementwise sum with broadcasting.
//!
//! `z = a + b`; `dz/da = 1`, `dz/db = 1`, each gradient summed over the dimensions its
//! input was broadcast along. PyTorch: `torch.add`.

use crate::tensor::kernel::{self, BinaryFn};
use crate::{BackwardCtx, Element, InputGrads, Op, Result, Tensor, Var};

use super::unbroadcast;

/// The `add` op.
#[derive(Clone, Copy, Debug)]
pub struct Add;

#[derive(Clone, Copy)]
struct AddFn;
impl BinaryFn for AddFn {
    #[inline(always)]
    fn eval<T: Element>(self, a: T, b: T) -> T {
        a + b
    }
}

impl Op for Add {
    fn name(&self) -> &'static str {
        "add"
    }

    fn forward(&mut self, inputs: &[&Tensor]) -> Result<Tensor> {
        inputs[0].add(inputs[1])
    }

    fn backward(&self, ctx: &BackwardCtx<'_>, grad: &Var) -> Result<InputGrads> {
        let mut out = InputGrads::new();
        for i in 0..2 {
            out.push(if ctx.needs_grad(i) {
                Some(unbroadcast(grad, ctx.input(i).shape())?)
            } else {
                None
            });
        }
        Ok(out)
    }
}

impl Tensor {
    /// `self + rhs`, broadcasting.
    ///
    /// # Errors
    /// [`Error::Broadcast`](crate::Error::Broadcast) or
    /// [`Error::DTypeMismatch`](crate::Error::DTypeMismatch).
    pub fn add(&self, rhs: &Tensor) -> Result<Tensor> {
        kernel::zip("add", self, rhs, AddFn)
    }
}

impl Var {
    /// `self + rhs`, broadcasting; recorded.
    ///
    /// # Shapes
    /// Any two shapes that broadcast (NumPy rules); the output has the broadcast shape.
    ///
    /// # Errors
    /// As [`Tensor::add`], plus the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn add(&self, rhs: &Var) -> Result<Var> {
        Var::apply(Add, &[self, rhs])
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::*;

    #[test]
    fn add_gradchecks_with_broadcasting() {
        for (a, b) in broadcast_pairs() {
            check_op(|v| v[0].add(&v[1]), &[a, b]);
        }
    }

    #[test]
    fn add_used_twice_accumulates() {
        let tape = crate::Tape::new();
        let x = tape.var(t64(&[1.0, 2.0], &[2]));
        let y = x.add(&x).unwrap().add(&x).unwrap().sum_all().unwrap();
        let g = y.backward().unwrap();
        assert_eq!(g.get(&x).unwrap().to_vec::<f64>().unwrap(), vec![3.0, 3.0]);
    }
}
