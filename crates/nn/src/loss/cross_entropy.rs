//! Cross-entropy of class indices, from logits, with optional label smoothing.

use gradflow_autograd::Var;

use super::{Reduction, class_picker};
use crate::{Error, Result};

/// Cross-entropy from logits: `l_i = -ln softmax(z_i)_{t_i} = ln sum_c e^(z_ic) - z_{i t_i}`,
/// reduced over the batch. The same as [`cross_entropy_smoothed`] with smoothing 0.
///
/// Gradient: `dL/dz_ic = (softmax(z_i)_c - [c = t_i]) / N` (mean): prediction minus
/// one-hot target, with no softmax Jacobian left over (see the output-layer pairings in
/// the [module docs](super)). Computed as [`nll`](super::nll) of `log_softmax`, which is
/// finite for any finite logits. PyTorch: `torch.nn.functional.cross_entropy(z, t,
/// reduction=...)` with class-index targets (`aten/src/ATen/native/LossNLL.cpp`,
/// `cross_entropy_loss_symint`).
///
/// # Shapes
/// `logits: [N, C]`, `targets.len() == N`, each `< C`; the result is a scalar.
///
/// # Errors
/// As [`cross_entropy_smoothed`].
///
/// ```
/// use gradflow_autograd::{Tape, Tensor};
/// use gradflow_nn::loss::{cross_entropy, Reduction};
/// let tape = Tape::new();
/// let z = tape.var(Tensor::from_vec(vec![0.0f64, 0.0, 1000.0, 0.0], [2, 2])?);
/// let loss = cross_entropy(&z, &[1, 0], Reduction::Sum)?;  // ln 2 + ~0, no overflow
/// assert!((loss.value().to_scalar::<f64>()? - 2f64.ln()).abs() < 1e-15);
/// # Ok::<(), gradflow_nn::Error>(())
/// ```
pub fn cross_entropy(logits: &Var, targets: &[usize], reduction: Reduction) -> Result<Var> {
    cross_entropy_smoothed(logits, targets, 0.0, reduction)
}

/// Cross-entropy from logits with label smoothing `eps`: the target distribution is
/// `q = (1 - eps) one_hot(t) + eps / C`, so
///
/// `L = (1 - eps) R_i(-ln p_{i t_i}) + (eps / C) R_i(sum_c -ln p_ic)`
///
/// with `p_i = softmax(z_i)` and `R` the reduction over rows, exactly PyTorch's
/// formula for `label_smoothing` with class indices (`cross_entropy_loss_symint` in
/// `aten/src/ATen/native/LossNLL.cpp`: `(1 - label_smoothing) * nll + smooth_loss *
/// (label_smoothing / n_classes)`). With `eps = 0` it is plain cross-entropy.
///
/// Gradient: `dL/dz_ic = (p_ic - q_ic) / N` (mean). The smoothed target keeps every
/// logit's gradient from vanishing as the prediction becomes confident.
///
/// # Shapes
/// `logits: [N, C]`, `targets.len() == N`, each `< C`; the result is a scalar.
///
/// # Errors
/// [`Error::Config`] if `eps` is not in `[0, 1]` (PyTorch's range);
/// [`Error::LossShape`] if the logits are not 2-D or the number of targets is not `N`;
/// [`Error::ClassIndex`] naming the first index `>= C` and its position.
///
/// ```
/// use gradflow_autograd::{Tape, Tensor};
/// use gradflow_nn::loss::{cross_entropy_smoothed, Reduction};
/// let tape = Tape::new();
/// let z = tape.var(Tensor::from_vec(vec![0.0f64, 0.0, 0.0, 0.0], [1, 4])?);
/// let loss = cross_entropy_smoothed(&z, &[2], 0.1, Reduction::Mean)?;
/// let dz = loss.backward()?.get(&z).expect("a leaf").to_vec::<f64>()?;
/// // p = 1/4 everywhere; q = 0.9 at the target plus 0.1/4 everywhere.
/// assert!((dz[2] - (0.25 - 0.925)).abs() < 1e-15 && (dz[0] - (0.25 - 0.025)).abs() < 1e-15);
/// # Ok::<(), gradflow_nn::Error>(())
/// ```
pub fn cross_entropy_smoothed(
    logits: &Var,
    targets: &[usize],
    label_smoothing: f64,
    reduction: Reduction,
) -> Result<Var> {
    if !(0.0..=1.0).contains(&label_smoothing) {
        return Err(Error::config(
            "cross_entropy",
            format!("label_smoothing must be in [0, 1], got {label_smoothing}"),
        ));
    }
    let pick = class_picker("cross_entropy", logits, targets)?;
    let logp = logits.log_softmax(-1)?;
    let nll = reduction.apply(&logp.gather_map(&pick)?.neg()?)?;
    if label_smoothing == 0.0 {
        return Ok(nll);
    }
    let classes = logits.dims().get(1).copied().unwrap_or(1) as f64;
    let smooth = reduction.apply(&logp.sum(&[-1], false)?.neg()?)?;
    Ok(nll
        .mul_scalar(1.0 - label_smoothing)?
        .add(&smooth.mul_scalar(label_smoothing / classes)?)?)
}
