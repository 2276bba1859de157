//! [`Var`]: a value together with its node on a tape.

use std::panic::Location;

use smallvec::SmallVec;

use crate::{DType, Error, Gradients, Op, Result, Shape, Tape, Tensor};

/// A tensor value and, when it is being recorded, its node on a [`Tape`].
///
/// Ops on Vars compute their value at once (eager, like PyTorch) and append a node to
/// the tape when any input needs a gradient. A Var that is on no tape (made by
/// [`Var::untracked`], [`Var::detach`], or computed inside [`Tape::no_grad`]) is a
/// constant to every op; combining it with tracked Vars records it as a constant leaf.
///
/// Every Var op returns `Result`: recording can fail (Vars of two tapes, a NaN in
/// anomaly mode), and one rule for all ops is simpler than two.
#[derive(Clone)]
pub struct Var {
    value: Tensor,
    node: Option<NodeRef>,
}

#[derive(Clone)]
struct NodeRef {
    tape: Tape,
    id: usize,
    requires_grad: bool,
}

impl std::fmt::Debug for Var {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.node {
            Some(n) => write!(
                f,
                "Var(tape #{}, node {}, {}{} {})",
                n.tape.id(),
                n.id,
                if n.requires_grad { "" } else { "constant, " },
                self.value.shape(),
                self.value.dtype()
            ),
            None => write!(
                f,
                "Var(untracked, {} {})",
                self.value.shape(),
                self.value.dtype()
            ),
        }
    }
}

impl std::fmt::Display for Var {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.value, f)
    }
}

impl Var {
    pub(crate) fn tracked(value: Tensor, tape: Tape, id: usize, requires_grad: bool) -> Var {
        Var {
            value,
            node: Some(NodeRef {
                tape,
                id,
                requires_grad,
            }),
        }
    }

    /// A Var on no tape: a constant to every op.
    pub fn untracked(value: Tensor) -> Var {
        Var { value, node: None }
    }

    /// The value.
    pub fn value(&self) -> &Tensor {
        &self.value
    }

    /// The value, consuming the Var.
    pub fn into_value(self) -> Tensor {
        self.value
    }

    /// The shape of the value.
    pub fn shape(&self) -> &Shape {
        self.value.shape()
    }

    /// The dimension sizes of the value.
    pub fn dims(&self) -> &[usize] {
        self.value.dims()
    }

    /// The dtype of the value.
    pub fn dtype(&self) -> DType {
        self.value.dtype()
    }

    /// The tape this Var is recorded on, if any.
    pub fn tape(&self) -> Option<&Tape> {
        self.node.as_ref().map(|n| &n.tape)
    }

    /// The node id on its tape, if recorded.
    pub fn node_id(&self) -> Option<usize> {
        self.node.as_ref().map(|n| n.id)
    }

    /// Whether a gradient flows to this Var (a [`Tape::var`] leaf, or an op result that
    /// depends on one).
    pub fn requires_grad(&self) -> bool {
        self.node.as_ref().is_some_and(|n| n.requires_grad)
    }

    /// The same value, cut off from the tape: gradients do not flow through it.
    pub fn detach(&self) -> Var {
        Var::untracked(self.value.clone())
    }

    /// Registers a hook called with this Var's gradient during every backward pass that
    /// reaches it, once the gradient is complete (all uses summed). Returning `Some(t)`
    /// replaces the gradient that flows on (it must keep the shape and dtype); `None`
    /// leaves it unchanged. With `create_graph`, a replaced gradient is a constant of the
    /// graph of the gradient.
    ///
    /// # Errors
    /// [`Error::NotDifferentiable`] if the Var needs no gradient (no gradient reaches it).
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// use gradflow_autograd::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_vec(vec![1.0f32, -2.0], &[2])?);
    /// let h = x.tanh()?;
    /// let seen = Rc::new(Cell::new(0.0f64));
    /// let s = seen.clone();
    /// h.register_hook(move |g| { s.set(g.to_f64_vec().iter().sum()); None })?;
    /// h.mul_scalar(3.0)?.sum_all()?.backward()?;
    /// assert_eq!(seen.get(), 6.0);
    /// # Ok::<(), gradflow_autograd::Error>(())
    /// ```
    pub fn register_hook(
        &self,
        hook: impl FnMut(&Tensor) -> Option<Tensor> + 'static,
    ) -> Result<()> {
        match &self.node {
            Some(n) if n.requires_grad => {
                n.tape.add_hook(n.id, Box::new(hook));
                Ok(())
            }
            _ => Err(Error::NotDifferentiable {
                op: "register_hook",
                reason: "the Var needs no gradient, so a hook on it would never run".into(),
            }),
        }
    }

    /// Runs an op on Vars: computes the forward and, when any input needs a gradient and
    /// recording is on, appends a node to the inputs' tape.
    ///
    /// # Errors
    /// The op's forward errors; [`Error::TapeMismatch`] if inputs come from two tapes;
    /// [`Error::NonFinite`] in anomaly mode.
    #[track_caller]
    pub fn apply<O: Op>(mut op: O, inputs: &[&Var]) -> Result<Var> {
        let location = Location::caller();
        let tape = common_tape(op.name(), inputs)?;
        let tensors: SmallVec<[&Tensor; 4]> = inputs.iter().map(|v| &v.value).collect();
        let records =
            tape.is_some_and(|t| !t.is_no_grad()) && inputs.iter().any(|v| v.requires_grad());
        let value = if records {
            op.forward_recorded(&tensors)?
        } else {
            op.forward(&tensors)?
        };
        let Some(tape) = tape else {
            return Ok(Var::untracked(value));
        };
        if tape.anomaly_detection() {
            check_finite_forward(&op, inputs, &value, location)?;
        }
        if !records {
            return Ok(Var::untracked(value));
        }
        let ids: SmallVec<[usize; 2]> = inputs
            .iter()
            .map(|v| match &v.node {
                Some(n) => n.id,
                None => tape.push_constant(v.value.clone(), location),
            })
            .collect();
        let id = tape.push_op(crate::op_box::OpBox::new(op), ids, value.clone(), location);
        Ok(Var::tracked(value, tape.clone(), id, true))
    }

    /// Gradients of this scalar w.r.t. every [`Tape::var`] leaf it depends on. The values
    /// the tape saved for the pass are released afterwards; use
    /// [`Var::backward_retain`] to go through the graph again.
    ///
    /// # Errors
    /// [`Error::NonScalarBackward`] if the Var has more than one element; errors of the
    /// gradient rules.
    pub fn backward(&self) -> Result<Gradients> {
        crate::backward::backward_all(self, false)
    }

    /// As [`Var::backward`], keeping the saved values so the graph can be differentiated
    /// again.
    ///
    /// # Errors
    /// As [`Var::backward`].
    pub fn backward_retain(&self) -> Result<Gradients> {
        crate::backward::backward_all(self, true)
    }

    pub(crate) fn tape_and_id(&self) -> Option<(&Tape, usize)> {
        self.node.as_ref().map(|n| (&n.tape, n.id))
    }
}

/// The tape the inputs are on, if any; an error if they are on two.
fn common_tape<'a>(op: &'static str, inputs: &[&'a Var]) -> Result<Option<&'a Tape>> {
    let mut found: Option<&Tape> = None;
    for v in inputs {
        if let Some(n) = &v.node {
            match found {
                None => found = Some(&n.tape),
                Some(t) if t.id() != n.tape.id() => {
                    return Err(Error::TapeMismatch {
                        op,
                        lhs: t.id(),
                        rhs: n.tape.id(),
                    });
                }
                Some(_) => {}
            }
        }
    }
    Ok(found)
}

fn check_finite_forward(
    op: &dyn Op,
    inputs: &[&Var],
    value: &Tensor,
    location: &'static Location<'static>,
) -> Result<()> {
    // Only an op that turns finite inputs into a non-finite output is the culprit;
    // later ops merely pass the NaN on.
    if !inputs.iter().all(|v| v.value.all_finite()) {
        return Ok(());
    }
    match value.first_non_finite() {
        None => Ok(()),
        Some((index, x)) => Err(Error::NonFinite(Box::new(crate::error::Anomaly {
            phase: "forward",
            node: inputs
                .iter()
                .find_map(|v| v.tape())
                .map(Tape::len)
                .unwrap_or(usize::MAX),
            op: op.name(),
            value: format!("{x}"),
            index,
            location: location.to_string(),
            scope: inputs
                .iter()
                .find_map(|v| v.tape())
                .and_then(Tape::scope)
                .map(|s| s.to_string()),
            input_shapes: inputs.iter().map(|v| v.shape().clone()).collect(),
        }))),
    }
}
