//! Binary cross-entropy on probabilities, with PyTorch's limit of -100 on the logs.

use gradflow_autograd::{Shape, Tensor, Var};

use super::{Reduction, probabilities, same_shape};
use crate::Result;

/// PyTorch's lower limit on `ln p` and `ln(1 - p)`: a probability of exactly 0 costs 100
/// rather than infinity.
const LOG_FLOOR: f64 = -100.0;

/// Binary cross-entropy of probabilities `p` against targets `y` in `[0, 1]`:
///
/// `l_i = -(y_i max(ln p_i, -100) + (1 - y_i) max(ln(1 - p_i), -100))`, reduced
/// (`L = (1/n) sum_i l_i` for [`Reduction::Mean`]).
///
/// `ln(1 - p)` is computed as `log1p(-p)`, as PyTorch does, so small `p` keep their
/// digits. For a sigmoid output prefer [`bce_with_logits`](super::bce_with_logits) on
/// the logit: it is exact where `sigmoid` rounds to 0 or 1.
///
/// Gradient: `dL/dp_i = (p_i - y_i) / (p_i (1 - p_i)) / n` (mean), and through a
/// sigmoid output `p = sigmoid(z)`: `dL/dz = (p - y) / n`. PyTorch:
/// `torch.nn.functional.binary_cross_entropy(p, y, reduction=...)` (forward in
/// `aten/src/ATen/native/Loss.cpp`, `binary_cross_entropy_out_cpu`); values and
/// gradients agree with it to rounding wherever `p (1 - p) >= 1e-12`.
///
/// One difference, on purpose: PyTorch's backward is the hand formula
/// `(p - y) / max(p (1 - p), 1e-12)`, so it caps the gradient near `p = 0` and `p = 1`;
/// here the gradient is the exact derivative of the clamped loss: `-y/p + (1 - y)/(1 - p)`
/// while a log is above -100, and zero from the clamped term below it (where the loss
/// is constant). Through a sigmoid this keeps `dL/dz = p - y` exact down to
/// `p = e^-100`, where PyTorch's cap shrinks it below `p ~ 1e-12`. The clamped branch
/// never sees a 0 or a 1 in its log, so no `0 * inf = NaN` reaches the gradient.
///
/// # Shapes
/// `input` and `target` of one shape (any); the result is a scalar.
///
/// # Errors
/// [`Error::LossShape`](crate::Error::LossShape) if the shapes differ;
/// [`Error::LossValue`](crate::Error::LossValue) naming the first input or target
/// element outside `[0, 1]` (or NaN), as PyTorch refuses them.
///
/// ```
/// use gradflow_autograd::{Tape, Tensor};
/// use gradflow_nn::loss::{bce, Reduction};
/// let tape = Tape::new();
/// let p = tape.var(Tensor::from_vec(vec![0.8f64, 0.0], [2])?);
/// let y = tape.constant(Tensor::from_vec(vec![1.0f64, 1.0], [2])?);
/// let loss = bce(&p, &y, Reduction::Sum)?;
/// assert!((loss.value().to_scalar::<f64>()? - (100.0 - 0.8f64.ln())).abs() < 1e-12);
/// # Ok::<(), gradflow_nn::Error>(())
/// ```
pub fn bce(input: &Var, target: &Var, reduction: Reduction) -> Result<Var> {
    same_shape("bce", input, target)?;
    probabilities("bce", "input", input)?;
    probabilities("bce", "target", target)?;
    let dtype = input.dtype();
    let constant = |v: f64| Var::untracked(Tensor::full(Shape::scalar(), v, dtype));
    let floor = Tensor::full(Shape::scalar(), LOG_FLOOR, dtype);
    let p = input.value();

    // max(ln p, -100): where the log is below the floor, the constant branch is taken
    // and the log is fed a harmless 1 instead of p (its gradient is then never 1/0).
    let keep = p.log().ge(&floor)?;
    let safe = Var::where_(&keep, input, &constant(1.0))?;
    let log_p = Var::where_(&keep, &safe.log()?, &constant(LOG_FLOOR))?;

    // max(ln(1 - p), -100) = max(log1p(-p), -100), fed 0 where clamped.
    let keep = p.neg().log1p().ge(&floor)?;
    let safe = Var::where_(&keep, input, &constant(0.0))?;
    let log_q = Var::where_(&keep, &safe.neg()?.log1p()?, &constant(LOG_FLOOR))?;

    // PyTorch's order: (y - 1) ln(1 - p) - y ln p.
    let losses = target
        .add_scalar(-1.0)?
        .mul(&log_q)?
        .sub(&target.mul(&log_p)?)?;
    reduction.apply(&losses)
}
