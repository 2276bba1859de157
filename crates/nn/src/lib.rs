//! # gradflow-nn
//!
//! Modules, layers, initialisers, losses, optimisers, data sets and checkpoints, built
//! on the gradflow autograd engine.
//!
//! ```
//! use gradflow_autograd::{Activation, DType, Tape, Tensor};
//! use gradflow_nn::{init::Init, module::visit_parameters_mut, ForwardCtx, Mlp, Module};
//!
//! // Fit y = x0 - x1 with a small tanh network and plain gradient descent.
//! let mut model = Mlp::builder(2, &[16], 1)
//!     .activation(Activation::Tanh)
//!     .init(Init::xavier())
//!     .dtype(DType::F64)
//!     .build()?;
//! let x = Tensor::randn([64, 2], DType::F64, 1);
//! let y = x.matmul(&Tensor::from_vec(vec![1.0f64, -1.0], [2, 1])?)?;
//! let mut losses = Vec::new();
//! for _ in 0..200 {
//!     let tape = Tape::new();
//!     let mut ctx = ForwardCtx::new(&tape);
//!     let pred = model.forward(&mut ctx, &tape.constant(x.clone()))?;
//!     let loss = pred.sub(&tape.constant(y.clone()))?.powf(2.0)?.mean_all()?;
//!     losses.push(loss.value().to_scalar::<f64>()?);
//!     let grads = ctx.param_grads(&loss.backward()?);
//!     visit_parameters_mut(&mut model, &mut |_, p| {
//!         if let Some(g) = grads.get(p) {
//!             let step = g.mul_scalar(-0.1);
//!             let updated = p.value().add(&step).expect("same shape");
//!             p.set(updated);
//!         }
//!     });
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
pub mod module;
mod param;
pub mod probe;
pub mod theory;

pub use error::{Error, Result};
pub use gradcheck::gradcheck_module;
pub use layers::activation::{Act, PRelu};
pub use layers::flatten::Flatten;
pub use layers::linear::Linear;
pub use layers::mlp::{Mlp, MlpBuilder};
pub use layers::sequential::Sequential;
pub use module::{ForwardCtx, Module, Observer, ParamGrads, Role};
pub use param::{Param, ParamId};
