//! Gradient checks of whole modules: every parameter and the input at once.

use gradflow_autograd::{DType, GradcheckOptions, GradcheckReport, Tape, Tensor, Var, gradcheck};

use crate::module::{Module, named_parameters};
use crate::{ForwardCtx, Result};

/// Checks a module's gradients w.r.t. its input and every parameter, first and second
/// order, by finite differences in f64 (see [`gradcheck()`]). The module's parameters
/// are taken as they are (converted to f64); the module must have been built in f64
/// or be dtype-agnostic.
///
/// The output `tanh(module(x))` is checked rather than `module(x)`, so that piecewise
/// linear modules still have a non-zero second derivative to check.
///
/// # Errors
/// The module's forward errors.
pub fn gradcheck_module(
    module: &dyn Module,
    x: &Tensor,
    opts: &GradcheckOptions,
) -> Result<GradcheckReport> {
    let params: Vec<_> = named_parameters(module)
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    let mut inputs = vec![x.to_dtype(DType::F64)];
    inputs.extend(params.iter().map(|p| p.value().to_dtype(DType::F64)));
    let scratch = Tape::new();
    let report = gradcheck(
        |vars: &[Var]| {
            let tape = vars[0].tape().unwrap_or(&scratch);
            let mut ctx = ForwardCtx::new(tape);
            for (p, v) in params.iter().zip(&vars[1..]) {
                ctx.bind(p, v.clone());
            }
            module
                .forward(&mut ctx, &vars[0])
                .map_err(|e| match e {
                    crate::Error::Autograd(e) => e,
                    other => {
                        gradflow_autograd::Error::invalid("gradcheck_module", other.to_string())
                    }
                })?
                .tanh()
        },
        &inputs,
        opts,
    )?;
    Ok(report)
}
