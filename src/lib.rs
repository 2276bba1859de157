//! gradflow: study how gradients flow through deep networks.
#![deny(missing_docs)]

pub use gradflow_autograd as autograd;

/// The names most programs need.
pub mod prelude {
    pub use crate::autograd::{DType, Error, Gradients, Result, Shape, Tape, Tensor, Var};
}
