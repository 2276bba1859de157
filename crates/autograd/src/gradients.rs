//! [`Gradients`]: what `backward` returns.

use std::collections::HashMap;

use crate::{Tensor, Var};

/// The gradients of one backward pass, keyed by node. Gradients live here, not inside
/// tensors, so there is no `zero_grad` to forget.
#[derive(Clone, Debug, Default)]
pub struct Gradients {
    tape_id: Option<u64>,
    grads: HashMap<usize, Tensor>,
}

impl Gradients {
    pub(crate) fn new(tape_id: u64, grads: HashMap<usize, Tensor>) -> Self {
        Gradients {
            tape_id: Some(tape_id),
            grads,
        }
    }

    pub(crate) fn empty() -> Self {
        Gradients::default()
    }

    /// The gradient w.r.t. `var`, or `None` if the pass did not reach it (it is not a
    /// [`Tape::var`](crate::Tape::var) leaf of this tape, or the output does not depend
    /// on it).
    pub fn get(&self, var: &Var) -> Option<&Tensor> {
        let (tape, id) = var.tape_and_id()?;
        if Some(tape.id()) != self.tape_id {
            return None;
        }
        self.grads.get(&id)
    }

    /// Number of gradients held.
    pub fn len(&self) -> usize {
        self.grads.len()
    }

    /// Whether no gradient was computed.
    pub fn is_empty(&self) -> bool {
        self.grads.is_empty()
    }

    /// Takes the gradient w.r.t. `var` out of the map (no copy).
    pub fn remove(&mut self, var: &Var) -> Option<Tensor> {
        let (tape, id) = var.tape_and_id()?;
        if Some(tape.id()) != self.tape_id {
            return None;
        }
        self.grads.remove(&id)
    }
}
