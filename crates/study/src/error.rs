//! The study crate's error type.

use std::path::PathBuf;

/// `Result` with the study's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong configuring or running a study.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An error of the nn crate (model, data, checkpoint).
    #[error(transparent)]
    Nn(#[from] gradflow_nn::Error),
    /// A chart that could not be drawn.
    #[error(transparent)]
    Plot(#[from] gradflow_plot::Error),
    /// An error of the engine.
    #[error(transparent)]
    Autograd(#[from] gradflow_autograd::Error),
    /// A flag or configuration value out of range; names the flag and the valid values.
    #[error("{flag}: {reason}")]
    Config {
        /// The flag or setting (`--depth`, `--shard`).
        flag: String,
        /// What is wrong and what would be valid.
        reason: String,
    },
    /// A file that could not be read or written.
    #[error("{path}: {reason}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
}

impl Error {
    /// Shorthand for [`Error::Config`].
    pub fn config(flag: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Config {
            flag: flag.into(),
            reason: reason.into(),
        }
    }

    /// Shorthand for [`Error::Io`] from an `std::io::Error`.
    pub fn io(path: impl Into<PathBuf>, e: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            reason: e.to_string(),
        }
    }
}

pub(crate) use gradflow_nn::escape_controls;
