//! Every op of the engine, one file each: the formula and derivative in the file's doc
//! comment, the op struct and its gradient rule, the `Tensor` and `Var` methods, and the
//! op's tests. This list is the registry: one line per op.

pub mod abs;
pub mod activation;
pub mod add;
pub mod broadcast;
pub mod clamp;
pub mod compare;
pub mod concat;
pub mod conv2d;
pub mod div;
pub mod erf;
pub mod exp;
pub mod gather;
pub mod im2col;
pub mod index_select;
pub mod linear;
pub mod log;
pub mod log1p;
pub mod logsumexp;
pub mod matmul;
pub mod max;
pub mod maximum;
pub mod mean;
pub mod mul;
pub mod narrow;
pub mod neg;
pub mod permute;
pub mod pool;
pub mod powf;
pub mod reshape;
pub mod scalar;
pub mod sqrt;
pub mod sub;
pub mod sum;
pub mod variance;
pub mod where_;

#[cfg(test)]
mod shape_errors;

use crate::{Result, Shape, Var};

/// Sums a broadcast gradient back to an input's shape (identity when nothing was
/// broadcast).
pub(crate) fn unbroadcast(grad: &Var, shape: &Shape) -> Result<Var> {
    if grad.shape() == shape {
        Ok(grad.clone())
    } else {
        grad.sum_to(shape)
    }
}
