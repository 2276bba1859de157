//! [`clip_grad_norm`]: rescales all gradients together when their norm is too large.

use crate::{Error, ParamGrads, Result};

/// Rescales the gradients in place so that their global L2 norm is at most `max_norm`,
/// and returns the norm before clipping: PyTorch's `torch.nn.utils.clip_grad_norm_`
/// (`torch/nn/utils/clip_grad.py`) with `norm_type = 2`.
///
/// ```text
/// total = sqrt(sum over gradients of |g|^2)
/// c     = min(max_norm / (total + 1e-6), 1)
/// g     = c g          for every gradient
/// ```
///
/// The `1e-6` is PyTorch's: a clipped norm lands just below `max_norm`, and a zero
/// gradient is never divided by zero. The norm is accumulated in f64 whatever the
/// gradients' dtype (per gradient, then over gradients in parameter-id order, so the
/// result does not depend on hash order); the scale is applied in each gradient's
/// dtype. As in PyTorch (with `error_if_nonfinite=False`), a non-finite norm is
/// returned as it is and makes the scale NaN or 0: check the returned norm if a step
/// may overflow.
///
/// # Errors
/// [`Error::Config`] if `max_norm` is negative or NaN (`f64::INFINITY` never clips).
///
/// ```
/// use gradflow_autograd::{DType, Tensor};
/// use gradflow_nn::{optim::clip_grad_norm, Param, ParamGrads};
/// let a = Param::new(Tensor::zeros([2], DType::F64));
/// let b = Param::new(Tensor::zeros([1], DType::F64));
/// let mut grads = ParamGrads::default();
/// grads.set(a.id(), Tensor::from_vec(vec![3.0f64, 0.0], [2])?);
/// grads.set(b.id(), Tensor::from_vec(vec![4.0f64], [1])?);
/// let norm = clip_grad_norm(&mut grads, 1.0)?;
/// assert_eq!(norm, 5.0);
/// assert!((grads.global_norm() - 1.0).abs() < 1e-6);
/// # Ok::<(), gradflow_nn::Error>(())
/// ```
pub fn clip_grad_norm(grads: &mut ParamGrads, max_norm: f64) -> Result<f64> {
    if max_norm.is_nan() || max_norm < 0.0 {
        return Err(Error::config(
            "clip_grad_norm",
            format!("max_norm must be >= 0, got {max_norm}"),
        ));
    }
    let mut ids: Vec<_> = grads.iter().map(|(id, _)| *id).collect();
    ids.sort_unstable();
    // PyTorch takes the norm of the per-gradient norms: the same sum of squares.
    let total = ids
        .iter()
        .filter_map(|id| grads.get_id(*id))
        .map(|g| g.to_f64_vec().iter().map(|x| x * x).sum::<f64>())
        .sum::<f64>()
        .sqrt();
    let coef = max_norm / (total + 1e-6);
    // torch.clamp(coef, max=1.0): NaN stays NaN.
    let coef = if coef > 1.0 { 1.0 } else { coef };
    if coef != 1.0 {
        for id in ids {
            if let Some(g) = grads.get_id(id) {
                let scaled = g.mul_scalar(coef);
                grads.set(id, scaled);
            }
        }
    }
    Ok(total)
}
