//! Binary cross-entropy on logits: a sigmoid and binary cross-entropy in one stable
//! formula.

use gradflow_autograd::{Shape, Tensor, Var};

use super::{Reduction, probabilities, same_shape};
use crate::Result;

/// Binary cross-entropy of `sigmoid(z)` against targets `y` in `[0, 1]`, computed from
/// the logits `z`:
///
/// `l_i = max(z_i, 0) - z_i y_i + ln(1 + e^-abs(z_i))`, reduced (`L = (1/n) sum_i l_i`
/// for [`Reduction::Mean`]).
///
/// This equals `-(y ln sigmoid(z) + (1 - y) ln(1 - sigmoid(z)))` without ever forming
/// `sigmoid(z)`, so it is exact where `sigmoid` would round to 1 (`z > 17` in f32,
/// `> 37` in f64) or underflow to 0, and needs no clamp. Grouped by the sign of `z`,
/// every term is non-negative for `y` in `[0, 1]`, so nothing cancels: for `z >= 0` it
/// is computed as `z (1 - y) + softplus(-z)`, for `z < 0` as `softplus(z) - z y` (the
/// same analytic function, so the gradient is continuous at 0).
///
/// Gradient: `dL/dz_i = (sigmoid(z_i) - y_i) / n` (mean), and the second derivative
/// `sigmoid'(z) / n` comes from the engine's `softplus` rule, so the loss is
/// differentiable twice (Hessian-vector products, gradient penalties). PyTorch:
/// `torch.nn.functional.binary_cross_entropy_with_logits(z, y, reduction=...)` without
/// `weight` or `pos_weight` (`aten/src/ATen/native/Loss.cpp`, which computes
/// `(1 - y) z - log_sigmoid(z)`: the same value, but that form cancels for `z << 0`
/// with `y = 0`; at `z = -30` PyTorch's f64 result is about 1% low and this one is exact).
///
/// # Shapes
/// `input` and `target` of one shape (any); the result is a scalar.
///
/// # Errors
/// [`Error::LossShape`](crate::Error::LossShape) if the shapes differ;
/// [`Error::LossValue`](crate::Error::LossValue) naming the first target element
/// outside `[0, 1]` (or NaN).
///
/// ```
/// use gradflow_autograd::{Tape, Tensor};
/// use gradflow_nn::loss::{bce_with_logits, Reduction};
/// let tape = Tape::new();
/// let z = tape.var(Tensor::from_vec(vec![0.0f64, 40.0], [2])?);
/// let y = tape.constant(Tensor::from_vec(vec![1.0f64, 1.0], [2])?);
/// let loss = bce_with_logits(&z, &y, Reduction::Sum)?;
/// // ln 2 at z = 0; ln(1 + e^-40) = 4.25e-18 at z = 40 (sigmoid(40) is 1 in f64).
/// let expected = 2f64.ln() + (-40f64).exp().ln_1p();
/// assert!((loss.value().to_scalar::<f64>()? - expected).abs() < 1e-15);
/// let dz = loss.backward()?.get(&z).expect("a leaf").to_vec::<f64>()?;
/// assert_eq!(dz[0], -0.5);                                 // sigmoid(0) - 1
/// assert!((dz[1] + (-40f64).exp()).abs() < 1e-30);         // sigmoid(40) - 1, exact
/// # Ok::<(), gradflow_nn::Error>(())
/// ```
pub fn bce_with_logits(input: &Var, target: &Var, reduction: Reduction) -> Result<Var> {
    same_shape("bce_with_logits", input, target)?;
    probabilities("bce_with_logits", "target", target)?;
    let z = input;
    // z >= 0: max(z, 0) - z y = z (1 - y), ln(1 + e^-|z|) = softplus(-z). One product,
    // so its gradient 1 - y is one term: for y = 1 it is exactly 0 and the tiny
    // -sigmoid(-z) is not lost in 1 + tiny - 1.
    let nonneg = z
        .mul(&target.neg()?.add_scalar(1.0)?)?
        .add(&z.neg()?.softplus(1.0)?)?;
    // z < 0: max(z, 0) = 0, ln(1 + e^-|z|) = softplus(z).
    let neg = z.softplus(1.0)?.sub(&z.mul(target)?)?;
    let mask = z.value().ge(&Tensor::zeros(Shape::scalar(), z.dtype()))?;
    reduction.apply(&Var::where_(&mask, &nonneg, &neg)?)
}
