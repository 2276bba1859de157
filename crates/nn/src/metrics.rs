//! Evaluation metrics: [`accuracy`] of class scores against labels.
//!
//! ```
//! use gradflow_autograd::{Activation, DType, Tape, Tensor};
//! use gradflow_nn::data::synthetic;
//! use gradflow_nn::{metrics::accuracy, ForwardCtx, Mlp, Module};
//! let data = synthetic::blobs(60, 3, 2, 0.5, 0)?;
//! let model = Mlp::builder(2, &[8], 3).activation(Activation::Tanh).build()?;
//! let tape = Tape::new();
//! let logits = model.forward(&mut ForwardCtx::new(&tape), &tape.constant(data.features().clone()))?;
//! let acc = accuracy(logits.value(), data.labels().unwrap_or_default())?;
//! assert!((0.0..=1.0).contains(&acc));
//! # Ok::<(), gradflow_nn::Error>(())
//! ```

use gradflow_autograd::Tensor;

use crate::{Error, Result};

/// The fraction of rows of `scores` whose largest entry is at the row's label: the
/// classification accuracy of logits, probabilities or any scores whose maximum is the
/// prediction.
///
/// Ties go to the first maximum (as `torch.argmax`). A row that holds a NaN counts as
/// wrong, so a diverged model gets no credit. Accumulated in f64 whatever the dtype.
///
/// # Shapes
/// `scores: [N, C]` with `N >= 1` and `C >= 1`, `labels.len() == N`, each `< C`.
///
/// # Errors
/// [`Error::LossShape`] if `scores` is not 2-D or the number of labels is not `N`;
/// [`Error::ClassIndex`] naming the first label `>= C` and its position;
/// [`Error::Config`] for an empty batch (`N = 0`), whose accuracy is undefined.
///
/// ```
/// use gradflow_autograd::Tensor;
/// use gradflow_nn::metrics::accuracy;
/// let scores = Tensor::from_vec(vec![2.0f32, 0.5, 0.1, 0.9, 3.0, 3.0], [3, 2])?;
/// // Predictions 0, 1 and (a tie) 0.
/// assert_eq!(accuracy(&scores, &[0, 1, 1])?, 2.0 / 3.0);
/// assert!(accuracy(&scores, &[0, 2, 1]).is_err());
/// # Ok::<(), gradflow_nn::Error>(())
/// ```
pub fn accuracy(scores: &Tensor, labels: &[usize]) -> Result<f64> {
    const WHAT: &str = "accuracy";
    let target = gradflow_autograd::Shape::new(&[labels.len()]);
    let &[n, c] = scores.dims() else {
        return Err(Error::LossShape {
            loss: WHAT,
            input: scores.shape().clone(),
            target,
            reason: "the scores must be [batch, classes] with one label per row",
        });
    };
    if labels.len() != n {
        return Err(Error::LossShape {
            loss: WHAT,
            input: scores.shape().clone(),
            target,
            reason: "one label per row of the scores is needed",
        });
    }
    if let Some((position, &index)) = labels.iter().enumerate().find(|(_, l)| **l >= c) {
        return Err(Error::ClassIndex {
            loss: WHAT,
            position,
            index,
            classes: c,
        });
    }
    if n == 0 {
        return Err(Error::config(
            WHAT,
            format!("no rows to measure (scores {})", scores.shape()),
        ));
    }
    // Here n >= 1 and every label is < c, so c >= 1: chunks_exact(c) cannot panic.
    let values = scores.to_f64_vec();
    let correct = values
        .chunks_exact(c)
        .zip(labels)
        .filter(|(row, label)| predicted(row) == Some(**label))
        .count();
    Ok(correct as f64 / n as f64)
}

/// The index of the first maximum of `row`, or `None` if it holds a NaN (or is empty).
fn predicted(row: &[f64]) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (i, &v) in row.iter().enumerate() {
        if v.is_nan() {
            return None;
        }
        if best.is_none_or(|(_, b)| v > b) {
            best = Some((i, v));
        }
    }
    best.map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scores(v: Vec<f64>, n: usize, c: usize) -> Tensor {
        Tensor::from_vec(v, [n, c]).unwrap()
    }

    #[test]
    fn accuracy_counts_rows_whose_first_maximum_is_the_label() {
        let s = scores(vec![0.1, 0.7, 0.2, 5.0, -1.0, 5.0, -3.0, -2.0, -1.0], 3, 3);
        assert_eq!(accuracy(&s, &[1, 0, 2]).unwrap(), 1.0);
        assert_eq!(accuracy(&s, &[1, 2, 2]).unwrap(), 2.0 / 3.0);
        assert_eq!(accuracy(&s, &[0, 1, 0]).unwrap(), 0.0);
    }

    #[test]
    fn a_row_with_a_nan_is_wrong_even_at_its_label() {
        let s = scores(vec![f64::NAN, 1.0, 2.0, 1.0, f64::INFINITY, 0.0], 3, 2);
        assert_eq!(accuracy(&s, &[0, 0, 0]).unwrap(), 2.0 / 3.0);
        assert_eq!(accuracy(&s, &[1, 0, 0]).unwrap(), 2.0 / 3.0);
    }

    #[test]
    fn bad_shapes_labels_and_empty_batches_are_errors() {
        let s = scores(vec![0.0; 6], 3, 2);
        assert_eq!(
            accuracy(&s, &[0, 1]).unwrap_err().to_string(),
            "accuracy: one label per row of the scores is needed (input [3, 2], target [2])"
        );
        assert_eq!(
            accuracy(&s, &[0, 1, 2]).unwrap_err().to_string(),
            "accuracy: class index 2 (target 2) is out of range for 2 classes"
        );
        let flat = Tensor::from_vec(vec![0.0f64; 3], [3]).unwrap();
        assert!(matches!(
            accuracy(&flat, &[0, 0, 0]),
            Err(Error::LossShape { .. })
        ));
        let empty = Tensor::zeros([0, 2], gradflow_autograd::DType::F32);
        assert_eq!(
            accuracy(&empty, &[]).unwrap_err().to_string(),
            "accuracy: no rows to measure (scores [0, 2])"
        );
    }
}
