//! `index_select`: the positions listed in `indices` along one axis, in that order,
//! repeats allowed.
//!
//! `out[..., k, ...] = x[..., indices[k], ...]`. A gather through an [`IndexMap`], so it
//! has no gradient rule of its own: `dx` is the upstream gradient scatter-added back, so
//! a position selected twice receives the sum of both gradients. PyTorch:
//! `torch.index_select(x, dim, index)`.
//!
//! ```
//! use gradflow_autograd::Tensor;
//! let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2])?;
//! let y = x.index_select(0, &[2, 0, 2])?;
//! assert_eq!(y.to_vec::<f32>()?, vec![5.0, 6.0, 1.0, 2.0, 5.0, 6.0]);
//! # Ok::<(), gradflow_autograd::Error>(())
//! ```

use super::gather::IndexMap;
use crate::{Result, Shape, Tensor, Var};

fn select_map(shape: &Shape, axis: isize, indices: &[usize]) -> Result<IndexMap> {
    let a = shape.axis("index_select", axis)?;
    IndexMap::along_axis("index_select", "index_select", shape, a, indices)
}

impl Tensor {
    /// The positions `indices` along `axis` (negative counts from the end), in order,
    /// repeats allowed.
    ///
    /// # Shapes
    /// The input's shape with `indices.len()` at `axis`.
    ///
    /// # Errors
    /// [`Error::Axis`](crate::Error::Axis) for an axis out of range;
    /// [`Error::Index`](crate::Error::Index) naming the first index `>=` the axis' size.
    pub fn index_select(&self, axis: isize, indices: &[usize]) -> Result<Tensor> {
        self.gather_map(&select_map(self.shape(), axis, indices)?)
    }
}

impl Var {
    /// The positions `indices` along `axis`, in order, repeats allowed; recorded as a
    /// gather (see [`Tensor::index_select`]). Gradients of repeated positions add up.
    ///
    /// # Shapes
    /// The input's shape with `indices.len()` at `axis`.
    ///
    /// # Errors
    /// As [`Tensor::index_select`], plus the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn index_select(&self, axis: isize, indices: &[usize]) -> Result<Var> {
        self.gather_map(&select_map(self.shape(), axis, indices)?)
    }
}

#[cfg(test)]
mod tests {
    use crate::Tape;
    use crate::testing::*;

    #[test]
    fn index_select_picks_positions_in_order_on_each_axis() {
        let x = t64(&(0..24).map(f64::from).collect::<Vec<_>>(), &[2, 3, 4]);
        let a = x.index_select(1, &[2, 0]).unwrap();
        assert_eq!(a.dims(), &[2, 2, 4]);
        assert_eq!(
            a.to_f64_vec(),
            vec![
                8.0, 9.0, 10.0, 11.0, 0.0, 1.0, 2.0, 3.0, 20.0, 21.0, 22.0, 23.0, 12.0, 13.0, 14.0,
                15.0
            ]
        );
        let b = x.index_select(-1, &[3, 3]).unwrap();
        assert_eq!(b.dims(), &[2, 3, 2]);
        assert_eq!(
            b.to_f64_vec(),
            vec![
                3.0, 3.0, 7.0, 7.0, 11.0, 11.0, 15.0, 15.0, 19.0, 19.0, 23.0, 23.0
            ]
        );
        assert_eq!(x.index_select(0, &[]).unwrap().dims(), &[0, 3, 4]);
        // Runs of consecutive positions, broken by a step back and a repeat.
        let picks = [1, 2, 3, 0, 1, 1];
        let c = x.index_select(2, &picks).unwrap();
        let want: Vec<f64> = (0..6)
            .flat_map(|row| picks.iter().map(move |&p| (row * 4 + p) as f64))
            .collect();
        assert_eq!(c.to_f64_vec(), want);
    }

    #[test]
    fn index_select_gradients_accumulate_over_repeated_indices() {
        let tape = Tape::new();
        let x = tape.var(randn(&[4, 2], 1));
        let y = x.index_select(0, &[1, 3, 1, 1]).unwrap().sum_all().unwrap();
        let g = y.backward().unwrap();
        assert_eq!(
            g.get(&x).unwrap().to_f64_vec(),
            vec![0.0, 0.0, 3.0, 3.0, 0.0, 0.0, 1.0, 1.0]
        );
    }

    #[test]
    fn index_select_gradchecks_to_second_order() {
        let x = randn(&[3, 4], 30);
        check_op(
            |v| v[0].index_select(0, &[2, 0, 2])?.powf(2.0),
            std::slice::from_ref(&x),
        );
        check_op(
            |v| v[0].index_select(1, &[3, 1, 1, 0, 3])?.powf(3.0),
            std::slice::from_ref(&x),
        );
        check_op(|v| v[0].index_select(1, &[])?.powf(2.0), &[x]);
        check_op(
            |v| v[0].index_select(1, &[0, 0])?.powf(2.0),
            &[randn(&[2, 1, 3], 31)],
        );
        check_op(
            |v| v[0].index_select(1, &[1, 0])?.powf(2.0),
            &[randn(&[0, 2], 32)],
        );
    }

    #[test]
    fn index_select_rejects_an_index_past_the_axis() {
        let x = randn(&[3, 4], 1);
        assert_eq!(
            x.index_select(0, &[0, 3, 5]).unwrap_err().to_string(),
            "index_select: index 3 is out of range for length 3"
        );
        let tape = Tape::new();
        let v = tape.var(x);
        assert_eq!(
            v.index_select(2, &[0]).unwrap_err().to_string(),
            "index_select: axis 2 is out of range for a 2-D tensor (valid: -2 to 1)"
        );
        assert!(v.index_select(0, &[usize::MAX]).is_err());
    }
}
