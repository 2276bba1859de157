#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

pub use gradflow_autograd as autograd;
pub use gradflow_nn as nn;
pub use gradflow_plot as plot;
pub use gradflow_study as study;

/// The names most programs need.
pub mod prelude {
    pub use crate::autograd::{
        Activation, DType, Error, Gradients, Result, Shape, Tape, Tensor, Var,
    };
}

/// The guides in `docs/`, compiled here so their examples are tested.
pub mod guide {
    #[doc = include_str!("../docs/architecture.md")]
    pub mod architecture {}
    #[doc = include_str!("../docs/adding-an-op.md")]
    pub mod adding_an_op {}
    #[doc = include_str!("../docs/activations.md")]
    pub mod activations {}
    #[doc = include_str!("../docs/performance.md")]
    pub mod performance {}
    #[doc = include_str!("../docs/theory.md")]
    pub mod theory {}
    #[doc = include_str!("../docs/results.md")]
    pub mod results {}
    #[doc = include_str!("../docs/cluster.md")]
    pub mod cluster {}
}
