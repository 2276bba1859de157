//! # gradflow-nn
//!
//! Modules, layers, initialisers, losses, optimisers, data sets and checkpoints, built
//! on the gradflow autograd engine.
#![deny(missing_docs)]
#![deny(unsafe_code)]

mod error;
mod param;

pub use error::{Error, Result};
pub use param::{Param, ParamId};
