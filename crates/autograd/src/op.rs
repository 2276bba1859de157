//! The [`Op`] trait: what every node of a tape is, built-in or written by a user.
//!
//! An op has a forward (tensors in, one tensor out) and a gradient rule written with
//! [`Var`] operations. When the backward pass records a graph of the gradient
//! (`create_graph = true`) the rule's Var operations are recorded too, so the gradient
//! can be differentiated again; otherwise the same rule runs on untracked Vars and
//! records nothing. See `docs/adding-an-op.md` for a walk-through.

use smallvec::SmallVec;

use crate::{Result, Tensor, Var};

/// One gradient per input of an op, `None` where the input needs none.
pub type InputGrads = SmallVec<[Option<Var>; 2]>;

/// A differentiable operation: a forward computation and its gradient rule.
///
/// Built-in ops implement it exactly as a researcher's own op would; [`Var::apply`] runs
/// the forward and records the node.
///
/// ```
/// use gradflow_autograd::{BackwardCtx, InputGrads, Op, Result, Tape, Tensor, Var};
///
/// /// `cube(x) = x^3`, with `d/dx = 3 x^2`.
/// struct Cube;
///
/// impl Op for Cube {
///     fn name(&self) -> &'static str {
///         "cube"
///     }
///     fn forward(&mut self, inputs: &[&Tensor]) -> Result<Tensor> {
///         Ok(inputs[0].powf(3.0))
///     }
///     fn backward(&self, ctx: &BackwardCtx<'_>, grad: &Var) -> Result<InputGrads> {
///         // Written with Var ops, so the second derivative (6x) works too.
///         let x = ctx.input(0);
///         let dx = grad.mul(&x.mul(x)?.mul_scalar(3.0)?)?;
///         Ok([Some(dx)].into_iter().collect())
///     }
/// }
///
/// let tape = Tape::new();
/// let x = tape.var(Tensor::from_vec(vec![2.0f64], &[1])?);
/// let y = Var::apply(Cube, &[&x])?.sum_all()?;
/// let grads = y.backward()?;
/// assert_eq!(grads.get(&x).unwrap().to_vec::<f64>()?, vec![12.0]);
/// # Ok::<(), gradflow_autograd::Error>(())
/// ```
pub trait Op: 'static {
    /// A short lower-case name, used in errors and graph exports.
    fn name(&self) -> &'static str;

    /// A longer description with the op's parameters, for graph exports
    /// (`"leaky_relu(slope=0.1)"`). Defaults to [`Op::name`].
    fn describe(&self) -> String {
        self.name().to_string()
    }

    /// Computes the output from the input values.
    ///
    /// # Errors
    /// Whatever the op rejects (shapes, dtypes, values), naming itself.
    fn forward(&mut self, inputs: &[&Tensor]) -> Result<Tensor>;

    /// The forward pass of a node that the tape records (an input requires a gradient):
    /// an op may keep here what its gradient rule will need and would otherwise compute
    /// again (PyTorch's `save_for_backward`). Must return exactly what
    /// [`Op::forward`] would. The default calls [`Op::forward`].
    ///
    /// # Errors
    /// As [`Op::forward`].
    fn forward_recorded(&mut self, inputs: &[&Tensor]) -> Result<Tensor> {
        self.forward(inputs)
    }

    /// The gradient rule: given the gradient w.r.t. the output, the gradient w.r.t. each
    /// input (`None` for inputs that need none; see [`BackwardCtx::needs_grad`]).
    /// Each returned gradient must have its input's shape and dtype.
    ///
    /// # Errors
    /// Whatever the Var operations of the rule return.
    fn backward(&self, ctx: &BackwardCtx<'_>, grad: &Var) -> Result<InputGrads>;

    /// The same rule, given the upstream gradient by value. The backward pass calls this
    /// one: a rule that overrides it may write its result into the gradient's storage
    /// when nothing else holds it (no allocation; see [`Tensor::is_unique`]) instead of
    /// allocating a new tensor. It must return exactly what [`Op::backward`] would. The
    /// default calls [`Op::backward`].
    ///
    /// # Errors
    /// As [`Op::backward`].
    fn backward_owned(&self, ctx: &BackwardCtx<'_>, grad: Var) -> Result<InputGrads> {
        self.backward(ctx, &grad)
    }
}

/// What a gradient rule sees: the op's inputs and output as Vars, and which inputs
/// need a gradient.
pub struct BackwardCtx<'a> {
    pub(crate) inputs: &'a [Var],
    pub(crate) output: &'a Var,
    pub(crate) needs_grad: &'a [bool],
    pub(crate) create_graph: bool,
}

impl<'a> BackwardCtx<'a> {
    /// Input `i` (its value as in the forward pass).
    ///
    /// # Panics
    /// If `i` is not an input index of this op: a bug in the rule, never user input.
    pub fn input(&self, i: usize) -> &'a Var {
        &self.inputs[i]
    }

    /// All inputs, in order.
    pub fn inputs(&self) -> &'a [Var] {
        self.inputs
    }

    /// The op's output.
    pub fn output(&self) -> &'a Var {
        self.output
    }

    /// Whether input `i` needs a gradient (rules may skip work for those that do not).
    pub fn needs_grad(&self, i: usize) -> bool {
        self.needs_grad.get(i).copied().unwrap_or(false)
    }

    /// Whether the gradient is being recorded for higher-order derivatives. When it is
    /// not, rules may use fused tensor kernels instead of Var compositions.
    pub fn create_graph(&self) -> bool {
        self.create_graph
    }

    /// One gradient for one input out of `n`, the others `None`.
    pub fn only(n: usize, i: usize, grad: Var) -> InputGrads {
        let mut out: InputGrads = (0..n).map(|_| None).collect();
        out[i] = Some(grad);
        out
    }

    /// Wraps a tensor computed by a fused kernel as the gradient Var. Only valid when
    /// [`BackwardCtx::create_graph`] is false (the result is not recorded).
    pub fn fused(&self, t: Tensor) -> Var {
        Var::untracked(t)
    }
}
