//! The nn crate's error type.

use std::path::PathBuf;

/// `Result` with the nn crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong building, training, loading or saving a model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An error of the autograd engine (shapes, dtypes, ...).
    #[error(transparent)]
    Autograd(#[from] gradflow_autograd::Error),
    /// A configuration value out of range (a zero width, a negative learning rate, ...).
    #[error("{what}: {reason}")]
    Config {
        /// What was being configured.
        what: &'static str,
        /// What was wrong, with the value.
        reason: String,
    },
    /// A file that could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A data file whose content is wrong, at a line (text formats) or a byte offset
    /// (binary formats).
    #[error("{path}:{location}: {reason}")]
    Data {
        /// The file.
        path: PathBuf,
        /// `line N` or `offset N`.
        location: String,
        /// What is wrong there.
        reason: String,
    },
    /// A checkpoint that does not fit the model (names, shapes, dtypes) or is malformed.
    #[error("checkpoint {path}: {reason}")]
    Checkpoint {
        /// The file (or `<memory>`).
        path: PathBuf,
        /// What does not fit.
        reason: String,
    },
}

impl Error {
    /// Shorthand for [`Error::Config`].
    pub fn config(what: &'static str, reason: impl Into<String>) -> Self {
        Error::Config {
            what,
            reason: reason.into(),
        }
    }
}
