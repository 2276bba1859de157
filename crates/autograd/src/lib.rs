//! # gradflow-autograd
//!
//! A tape-based reverse-mode automatic differentiation engine for studying how
//! gradients flow through deep networks. Every operation, every activation function
//! included, is a node of a recorded graph with its own gradient rule; gradient rules
//! are written with the same recorded operations, so gradients can be differentiated
//! again.
//!
//! ```
//! use gradflow_autograd::{Tape, Tensor};
//!
//! let tape = Tape::new();
//! let w = tape.var(Tensor::from_vec(vec![0.5f64, -1.0, 2.0], &[3])?);
//! let x = tape.constant(Tensor::from_vec(vec![1.0f64, 2.0, 3.0], &[3])?);
//! let loss = w.mul(&x)?.tanh()?.sum_all()?;       // sum tanh(w * x)
//! let grads = loss.backward()?;
//! let dw = grads.get(&w).expect("w is a leaf").to_vec::<f64>()?;
//! assert!((dw[0] - 1.0 * (1.0 - 0.5f64.tanh().powi(2))).abs() < 1e-15);
//! # Ok::<(), gradflow_autograd::Error>(())
//! ```
//!
//! The public surface at a glance (the sketch in DESIGN.md, compiled and run):
//!
//! ```
//! # fn main() -> gradflow_autograd::Result<()> {
//! use gradflow_autograd::{Tape, Tensor, Activation};
//!
//! let tape = Tape::new();
//! let x = tape.var(Tensor::from_vec(vec![0.5f64, -1.0, 2.0], &[3])?);  // a leaf that needs grad
//! let w = tape.var(Tensor::from_vec(vec![0.1f64, 0.2, 0.3, 0.4, 0.5, 0.6], &[2, 3])?);
//! let act: Activation = "leaky_relu:0.1".parse()?;                     // every activation by name
//! let y = act.apply(&w.matmul(&x.reshape(&[3, 1])?)?)?.sum_all()?;
//! let grads = y.backward_retain()?;            // gradients of y w.r.t. every leaf
//! let dw: Vec<f64> = grads.get(&w).expect("w is a leaf").to_vec()?;
//! let g = tape.grad(&y, &[&x], true)?;         // create_graph = true: g[0] is a Var
//! let second = g[0].sum_all()?.backward()?;    // second-order gradient
//! let dot: String = tape.to_dot();             // the recorded graph, for Graphviz
//! # assert_eq!(dw, vec![0.5, -1.0, 2.0, 0.5, -1.0, 2.0]);
//! # assert!(dot.contains("leaky_relu"));
//! # let _ = second;
//! # Ok(())
//! # }
//! ```
//!
//! One difference from the sketch: `backward` releases the values saved for the pass,
//! so a graph that is differentiated again afterwards is kept with `backward_retain`.
//!
//! The main types: [`Tensor`] (plain maths, records nothing), [`Tape`] (the record),
//! [`Var`] (a value and its node), [`Gradients`], the [`Op`] trait that built-in and
//! user ops implement, [`gradcheck()`](gradcheck::gradcheck) to verify a gradient rule,
//! and [`Error`].
#![deny(missing_docs)]
#![deny(unsafe_code)]

pub mod activation;
mod backward;
mod dtype;
mod error;
pub mod export;
pub mod gradcheck;
mod gradients;
mod op;
mod op_box;
pub mod ops;
mod shape;
mod tape;
pub mod tensor;
mod var;

#[cfg(test)]
pub(crate) mod testing;

pub use activation::{
    Activation, ActivationInfo, DERIVATIVE_ESTIMATE_ABS, DERIVATIVE_ESTIMATE_REL,
};
pub use dtype::{DType, Element};
pub use error::{Anomaly, Error, Result};
pub use gradcheck::{GradcheckOptions, GradcheckReport, gradcheck};
pub use gradients::Gradients;
pub use op::{BackwardCtx, InputGrads, Op};
pub use shape::{Dims, Shape};
pub use smallvec;
pub use tape::{Hook, NodeKind, Tape};
pub use tensor::Tensor;
pub use var::Var;
