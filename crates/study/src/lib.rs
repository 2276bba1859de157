//! # gradflow-study
//!
//! Experiment grids, the study runner, and the report.
#![deny(missing_docs)]
#![deny(unsafe_code)]

pub mod app;
pub mod cli;
pub mod config;
mod error;
pub mod report;
pub mod results;
pub mod run;
pub mod runner;

pub use error::{Error, Result};
