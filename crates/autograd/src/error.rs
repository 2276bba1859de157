//! The engine's error type.

use crate::{DType, Shape};

/// `Result` with the engine's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the engine. Each variant names the op and the
/// offending shapes or values, so a message alone says what to fix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Two shapes that an elementwise op needs to broadcast against each other do not.
    #[error(
        "{op}: shapes {lhs} and {rhs} do not broadcast (trailing dimensions must be equal or 1)"
    )]
    Broadcast {
        /// The op that was called.
        op: &'static str,
        /// Shape of the left operand.
        lhs: Shape,
        /// Shape of the right operand.
        rhs: Shape,
    },
    /// Shapes that are wrong for the op in some other way (matmul inner dimensions,
    /// concat along mismatched axes, a reshape to a different number of elements, ...).
    #[error("{op}: {reason} (shapes: {})", join_shapes(.shapes))]
    Shape {
        /// The op that was called.
        op: &'static str,
        /// The shapes involved, in argument order.
        shapes: Vec<Shape>,
        /// What is wrong with them.
        reason: String,
    },
    /// An axis outside `-ndim..ndim`.
    #[error("{op}: axis {axis} is out of range for a {ndim}-D tensor (valid: {} to {})", -(*.ndim as isize), (*.ndim as isize) - 1)]
    Axis {
        /// The op that was called.
        op: &'static str,
        /// The axis that was asked for.
        axis: isize,
        /// Number of dimensions of the tensor.
        ndim: usize,
    },
    /// An index outside `0..len`.
    #[error("{op}: index {index} is out of range for length {len}")]
    Index {
        /// The op that was called.
        op: &'static str,
        /// The index that was asked for.
        index: usize,
        /// The length of the indexed dimension.
        len: usize,
    },
    /// A buffer whose length does not match the requested shape.
    #[error("{op}: {len} values cannot fill shape {shape} (it needs {})", .shape.numel())]
    DataLength {
        /// The op that was called.
        op: &'static str,
        /// The shape asked for.
        shape: Shape,
        /// The number of values given.
        len: usize,
    },
    /// Two operands with different dtypes.
    #[error("{op}: operands have different dtypes ({lhs} and {rhs}); convert one with to_dtype")]
    DTypeMismatch {
        /// The op that was called.
        op: &'static str,
        /// Dtype of the left operand.
        lhs: DType,
        /// Dtype of the right operand.
        rhs: DType,
    },
    /// Data read out as a type the tensor's dtype cannot be converted to without loss.
    #[error(
        "{op}: the tensor is {actual}, it cannot be read as {requested} without loss; call to_dtype first"
    )]
    DType {
        /// The op that was called.
        op: &'static str,
        /// The tensor's dtype.
        actual: DType,
        /// The dtype asked for.
        requested: DType,
    },
    /// An argument outside the values the op accepts (a negative slope, a zero stride,
    /// a non-finite parameter, ...).
    #[error("{op}: {reason}")]
    InvalidArgument {
        /// The op that was called.
        op: &'static str,
        /// What was wrong, with the value.
        reason: String,
    },
    /// `backward` called on a value that is not a scalar.
    #[error(
        "backward: the output must be a scalar (one element) but has shape {shape}; reduce it first (sum_all, mean_all) or use Tape::grad with a chosen upstream gradient"
    )]
    NonScalarBackward {
        /// Shape of the output.
        shape: Shape,
    },
    /// Vars of two different tapes combined in one op.
    #[error("{op}: inputs belong to different tapes (tape #{lhs} and tape #{rhs})")]
    TapeMismatch {
        /// The op that was called.
        op: &'static str,
        /// Id of the first tape.
        lhs: u64,
        /// Id of the other tape.
        rhs: u64,
    },
    /// A gradient requested w.r.t. a Var that is not a differentiable node of the tape.
    #[error("{op}: {reason}")]
    NotDifferentiable {
        /// The call that failed.
        op: &'static str,
        /// Why the Var has no gradient.
        reason: String,
    },
    /// A backward pass through nodes whose saved values an earlier backward released.
    #[error(
        "backward: node {node} ({op}) was already differentiated and its saved values released; to go through the graph twice, take the first pass with Var::backward_retain or Tape::grad_retain"
    )]
    GraphReleased {
        /// The node id.
        node: usize,
        /// The op of that node.
        op: &'static str,
    },
    /// A gradient rule that returned a gradient of the wrong shape, dtype or count
    /// (this is how a buggy custom op shows up).
    #[error("gradient rule of {op}: {reason}")]
    BadGradient {
        /// The op whose rule misbehaved.
        op: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// A name that does not parse (an activation name, say); lists what would.
    #[error("{what}: cannot parse {input:?}: {reason}; valid: {valid}")]
    Parse {
        /// What was being parsed.
        what: &'static str,
        /// The text given.
        input: String,
        /// What was wrong with it.
        reason: String,
        /// The valid choices.
        valid: String,
    },
    /// In anomaly mode: the first NaN or infinity produced by a node, forward or backward.
    #[error("{0}")]
    NonFinite(Box<Anomaly>),
}

/// Where anomaly mode found the first NaN or infinity (see [`Error::NonFinite`]).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("anomaly: {phase} of node {node} ({op}{}) produced {value} at element {index}; node created at {location}; input shapes: {}", .scope.as_ref().map(|s| format!(" in {s}")).unwrap_or_default(), join_shapes(.input_shapes))]
pub struct Anomaly {
    /// `"forward"` or `"backward"`.
    pub phase: &'static str,
    /// The node id (for a forward anomaly, the id the node would have had).
    pub node: usize,
    /// The op of the node.
    pub op: &'static str,
    /// The non-finite value, as text (`NaN`, `inf`, `-inf`).
    pub value: String,
    /// Flat index of the first non-finite element.
    pub index: usize,
    /// Where in the source the node was created (`file:line:column`).
    pub location: String,
    /// The scope (module path, `layers.3`) the node was recorded in, if any.
    pub scope: Option<String>,
    /// Shapes of the node's inputs.
    pub input_shapes: Vec<Shape>,
}

fn join_shapes(shapes: &[Shape]) -> String {
    let parts: Vec<String> = shapes.iter().map(ToString::to_string).collect();
    parts.join(", ")
}

impl Error {
    /// Shorthand for [`Error::InvalidArgument`].
    pub fn invalid(op: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidArgument {
            op,
            reason: reason.into(),
        }
    }

    /// Shorthand for [`Error::Shape`].
    pub fn shape(op: &'static str, shapes: &[&Shape], reason: impl Into<String>) -> Self {
        Error::Shape {
            op,
            shapes: shapes.iter().map(|s| (*s).clone()).collect(),
            reason: reason.into(),
        }
    }
}
