//! # gradflow-study
//!
//! Experiment grids, the study runner, and the report.
#![deny(missing_docs)]
#![deny(unsafe_code)]

pub mod cli;
pub mod config;
mod error;

pub use error::{Error, Result};
