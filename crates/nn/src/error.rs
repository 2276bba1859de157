//! The nn crate's error type.

use std::path::PathBuf;

use gradflow_autograd::Shape;

/// `Result` with the nn crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong building, training, loading or saving a model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An error of the autograd engine (shapes, dtypes, ...).
    #[error(transparent)]
    Autograd(#[from] gradflow_autograd::Error),
    /// An error inside a sub-module of a forward pass, with the module's path.
    #[error("{path}: {source}")]
    InModule {
        /// The module path (`layers.3`).
        path: String,
        /// The error.
        source: Box<Error>,
    },
    /// A configuration value out of range (a zero width, a negative learning rate, ...).
    #[error("{what}: {reason}")]
    Config {
        /// What was being configured.
        what: &'static str,
        /// What was wrong, with the value.
        reason: String,
    },
    /// A loss whose input and target do not fit together (the target of an elementwise
    /// loss must have the input's shape; class indices need `[batch, classes]` logits
    /// and one index per row).
    #[error("{loss}: {reason} (input {input}, target {target})")]
    LossShape {
        /// The loss (`"mse"`, `"cross_entropy"`, ...).
        loss: &'static str,
        /// The input's shape.
        input: Shape,
        /// The target's shape (`[n]` for `n` class indices).
        target: Shape,
        /// What was expected.
        reason: &'static str,
    },
    /// A class index that is not below the number of classes.
    #[error(
        "{loss}: class index {index} (target {position}) is out of range for {classes} classes"
    )]
    ClassIndex {
        /// The loss.
        loss: &'static str,
        /// The position of the index in the targets (the row of the batch).
        position: usize,
        /// The index.
        index: usize,
        /// The number of classes (the logits' last dimension).
        classes: usize,
    },
    /// An input or target value outside the loss's domain (a probability above 1, say).
    #[error("{loss}: {reason}")]
    LossValue {
        /// The loss.
        loss: &'static str,
        /// Which value, and what is wrong with it.
        reason: String,
    },
    /// A gradient that does not fit its parameter (shape or dtype), or a parameter that
    /// no longer fits the optimiser's state for it.
    #[error("{optimizer}: parameter {param}: {reason}")]
    Gradient {
        /// The optimiser (`"Sgd"`, `"Adam"`, ...).
        optimizer: &'static str,
        /// The parameter's full name (`"layers.0.weight"`).
        param: String,
        /// What does not fit.
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
    /// The error without the module paths wrapped around it.
    pub fn innermost(&self) -> &Error {
        match self {
            Error::InModule { source, .. } => source.innermost(),
            e => e,
        }
    }

    /// Shorthand for [`Error::Config`].
    pub fn config(what: &'static str, reason: impl Into<String>) -> Self {
        Error::Config {
            what,
            reason: reason.into(),
        }
    }
}

/// `text` with every control character (newline, carriage return, tab, escape, ...)
/// written as its Rust escape (`\n`, `\r`, `\t`, `\u{1b}`): text from the command line
/// or a file, quoted in a message, then cannot break the message's line or move the
/// terminal's cursor.
///
/// ```
/// assert_eq!(gradflow_nn::escape_controls("a\nb"), "a\\nb");
/// ```
pub fn escape_controls(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_string();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_debug().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}
