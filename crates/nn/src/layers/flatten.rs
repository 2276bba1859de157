//! [`Flatten`]: `[N, d1, d2, ...] -> [N, d1 * d2 * ...]`.

use gradflow_autograd::Var;

use crate::{ForwardCtx, Module, Result};

/// Flattens every dimension after the first (the batch), as `nn.Flatten()`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Flatten;

impl Module for Flatten {
    fn kind(&self) -> &'static str {
        "Flatten"
    }

    fn forward(&self, _ctx: &mut ForwardCtx<'_>, x: &Var) -> Result<Var> {
        if x.shape().ndim() <= 1 {
            return Ok(x.clone());
        }
        Ok(x.flatten(1)?)
    }
}
