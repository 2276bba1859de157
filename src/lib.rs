#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

pub use gradflow_autograd as autograd;
pub use gradflow_nn as nn;
pub use gradflow_plot as plot;
pub use gradflow_study as study;

/// The names most programs need, safe to glob-import.
///
/// It holds no `Result` or `Error`, so `use gradflow::prelude::*;` leaves
/// `fn main() -> Result<(), Box<dyn std::error::Error>>` meaning what it says; the
/// crates' own are `gradflow::autograd::{Result, Error}` and `gradflow::nn::{Result,
/// Error}`.
///
/// ```
/// use gradflow::prelude::*;
///
/// fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let model = Mlp::builder(2, &[8, 8], 2)
///         .activation(Activation::Relu)
///         .init(Init::he())
///         .build()?;
///     let tape = Tape::new();
///     let mut ctx = ForwardCtx::new(&tape);
///     let x = tape.constant(Tensor::randn([4, 2], DType::F32, 0));
///     let y = model.forward(&mut ctx, &x)?;
///     assert_eq!(y.dims(), &[4, 2]);
///     Ok(())
/// }
/// ```
pub mod prelude {
    pub use crate::autograd::{
        Activation, DType, GradcheckOptions, Gradients, Shape, Tape, Tensor, Var, gradcheck,
    };
    pub use crate::nn::init::Init;
    pub use crate::nn::loss::{bce, bce_with_logits, cross_entropy, mse};
    pub use crate::nn::optim::{Adam, Optimizer, Sgd};
    pub use crate::nn::probe::{Probe, ProbeConfig};
    pub use crate::nn::{Act, ForwardCtx, Linear, Mlp, Module, Sequential};
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
    #[doc = include_str!("../docs/fuzzing.md")]
    pub mod fuzzing {}
}
