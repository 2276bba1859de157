//! # gradflow-nn
//!
//! Modules, layers, initialisers, losses, optimisers, data sets and checkpoints, built
//! on the gradflow autograd engine.
//!
//! ```
//! use gradflow_autograd::{Activation, DType, Tape, Tensor};
//! use gradflow_nn::loss::{mse, Reduction};
//! use gradflow_nn::optim::{Optimizer, Sgd};
//! use gradflow_nn::{init::Init, ForwardCtx, Mlp, Module};
//!
//! // Fit y = x0 - x1 with a small tanh network and plain gradient descent.
//! let mut model = Mlp::builder(2, &[16], 1)
//!     .activation(Activation::Tanh)
//!     .init(Init::xavier())
//!     .dtype(DType::F64)
//!     .build()?;
//! let mut opt = Sgd::new(0.1)?;
//! let x = Tensor::randn([64, 2], DType::F64, 1);
//! let y = x.matmul(&Tensor::from_vec(vec![1.0f64, -1.0], [2, 1])?)?;
//! let mut losses = Vec::new();
//! for _ in 0..200 {
//!     let tape = Tape::new();
//!     let mut ctx = ForwardCtx::new(&tape);
//!     let pred = model.forward(&mut ctx, &tape.constant(x.clone()))?;
//!     let loss = mse(&pred, &tape.constant(y.clone()), Reduction::Mean)?;
//!     losses.push(loss.value().to_scalar::<f64>()?);
//!     let grads = ctx.param_grads(&loss.backward()?);
//!     opt.step(&mut model, &grads)?;
//! }
//! assert!(losses[199] < 0.02 * losses[0]);
//! # Ok::<(), gradflow_nn::Error>(())
//! ```
#![deny(missing_docs)]
#![deny(unsafe_code)]

pub mod checkpoint;
pub mod data;
mod error;
mod gradcheck;
pub mod init;
pub mod layers;
pub mod loss;
pub mod metrics;
pub mod module;
pub mod optim;
mod param;
pub mod probe;
pub mod theory;
mod vectorised;

pub use error::{Error, Result, escape_controls};
pub use gradcheck::gradcheck_module;
pub use layers::activation::{Act, PRelu};
pub use layers::conv::{Conv2d, Conv2dBuilder};
pub use layers::dropout::Dropout;
pub use layers::flatten::Flatten;
pub use layers::linear::Linear;
pub use layers::mlp::{Mlp, MlpBuilder};
pub use layers::norm::{BatchNorm1d, LayerNorm, Norm};
pub use layers::pool::{AvgPool2d, MaxPool2d};
pub use layers::residual::Residual;
pub use layers::rnn::{Lstm, LstmCell, LstmState, Rnn, RnnCell};
pub use layers::sequential::Sequential;
pub use module::{ForwardCtx, Module, Observer, ParamGrads, Role};
pub use param::{Param, ParamId};
