//! [`Param`]: a trainable tensor owned by a module.

use std::sync::atomic::{AtomicU64, Ordering};

use gradflow_autograd::Tensor;

static NEXT_PARAM_ID: AtomicU64 = AtomicU64::new(1);

/// A process-unique identity of a parameter; optimiser state and gradients are keyed
/// by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParamId(u64);

/// A trainable tensor. Modules own their parameters; a forward pass binds each to a
/// leaf Var of the step's tape ([`ForwardCtx::param`](crate::ForwardCtx::param)), and
/// optimisers update the tensor in place between steps.
#[derive(Debug)]
pub struct Param {
    id: ParamId,
    value: Tensor,
}

impl Param {
    /// A parameter holding `value`, with a fresh id.
    pub fn new(value: Tensor) -> Param {
        Param {
            id: ParamId(NEXT_PARAM_ID.fetch_add(1, Ordering::Relaxed)),
            value,
        }
    }

    /// Its identity.
    pub fn id(&self) -> ParamId {
        self.id
    }

    /// The current value (a cheap clone shares the storage).
    pub fn value(&self) -> &Tensor {
        &self.value
    }

    /// The value, mutably (copied first if a Var of a live tape still shares it).
    pub fn value_mut(&mut self) -> &mut Tensor {
        &mut self.value
    }

    /// Replaces the value.
    pub fn set(&mut self, value: Tensor) {
        self.value = value;
    }
}

impl Clone for Param {
    /// A copy with a fresh id: a cloned model is a new model, with its own optimiser
    /// state.
    fn clone(&self) -> Param {
        Param::new(self.value.clone())
    }
}
