//! Negative log-likelihood of class indices, from log-probabilities.

use gradflow_autograd::Var;

use super::{Reduction, class_picker};
use crate::Result;

/// Negative log-likelihood: `l_i = -input[i, t_i]` for log-probabilities `input`
/// (`log_softmax` of logits) and class indices `t`, reduced over the batch
/// (`L = (1/N) sum_i l_i` for [`Reduction::Mean`]).
///
/// Gradient: `dL/d input[i, c] = -[c = t_i] / N` (mean): only the target's entry of each
/// row. After a `log_softmax` this becomes `(softmax - one-hot) / N`, which is what
/// [`cross_entropy`](super::cross_entropy) computes in one call. PyTorch:
/// `torch.nn.functional.nll_loss(input, target, reduction=...)` without `weight` or
/// `ignore_index` (`aten/src/ATen/native/LossNLL.cpp`).
///
/// # Shapes
/// `input: [N, C]`, `targets.len() == N`, each `< C`; the result is a scalar.
///
/// # Errors
/// [`Error::LossShape`](crate::Error::LossShape) if the input is not 2-D or the number of
/// targets is not `N`; [`Error::ClassIndex`](crate::Error::ClassIndex) naming the first
/// index `>= C` and its position.
///
/// ```
/// use gradflow_autograd::{Tape, Tensor};
/// use gradflow_nn::loss::{nll, Reduction};
/// let tape = Tape::new();
/// let logp = tape.var(Tensor::from_vec(vec![-0.5f64, -1.0, -2.0, -0.1], [2, 2])?);
/// let loss = nll(&logp, &[1, 0], Reduction::Mean)?;
/// assert_eq!(loss.value().to_scalar::<f64>()?, 1.5);      // (1.0 + 2.0) / 2
/// let g = loss.backward()?.get(&logp).expect("a leaf").to_vec::<f64>()?;
/// assert_eq!(g, vec![0.0, -0.5, -0.5, 0.0]);
/// # Ok::<(), gradflow_nn::Error>(())
/// ```
pub fn nll(input: &Var, targets: &[usize], reduction: Reduction) -> Result<Var> {
    let pick = class_picker("nll", input, targets)?;
    reduction.apply(&input.gather_map(&pick)?.neg()?)
}
