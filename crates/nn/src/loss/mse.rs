//! Mean squared error, for a linear output (regression).

use gradflow_autograd::Var;

use super::{Reduction, same_shape};
use crate::Result;

/// Squared error `l_i = (x_i - y_i)^2`, reduced: `L = (1/n) sum_i l_i` for
/// [`Reduction::Mean`], `sum_i l_i` for [`Reduction::Sum`].
///
/// Gradient: `dL/dx_i = 2 (x_i - y_i) / n` (mean) or `2 (x_i - y_i)` (sum); the target
/// gets the negative of it when it needs a gradient. With a linear output layer this is
/// the whole error signal: `dL/dz = 2 (z - y) / n` (see the output-layer pairings in the
/// [module docs](super)). PyTorch: `torch.nn.functional.mse_loss(x, y, reduction=...)`
/// (`torch/nn/functional.py`, `mse_loss`).
///
/// # Shapes
/// `input` and `target` of one shape (any); the result is a scalar.
///
/// # Errors
/// [`Error::LossShape`](crate::Error::LossShape) if the shapes differ (PyTorch would
/// broadcast with a warning); the engine's dtype error if the dtypes differ.
///
/// ```
/// use gradflow_autograd::{Tape, Tensor};
/// use gradflow_nn::loss::{mse, Reduction};
/// let tape = Tape::new();
/// let x = tape.var(Tensor::from_vec(vec![1.0f64, 2.0], [2])?);
/// let y = tape.constant(Tensor::from_vec(vec![0.0f64, 4.0], [2])?);
/// let loss = mse(&x, &y, Reduction::Mean)?;
/// assert_eq!(loss.value().to_scalar::<f64>()?, 2.5);      // (1 + 4) / 2
/// let dx = loss.backward()?.get(&x).expect("a leaf").to_vec::<f64>()?;
/// assert_eq!(dx, vec![1.0, -2.0]);                        // 2 (x - y) / 2
/// # Ok::<(), gradflow_nn::Error>(())
/// ```
pub fn mse(input: &Var, target: &Var, reduction: Reduction) -> Result<Var> {
    same_shape("mse", input, target)?;
    let diff = input.sub(target)?;
    // diff * diff rather than powf(2): the gradient is then exactly 2 diff.
    reduction.apply(&diff.mul(&diff)?)
}
