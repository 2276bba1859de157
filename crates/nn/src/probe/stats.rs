//! Summary statistics of tensors, accumulated in f64 so that a vanished gradient
//! (1e-60 in an f64 network) is measured as 1e-60, not rounded to 0.

use gradflow_autograd::Tensor;
use serde::{Deserialize, Serialize};

/// Counts of values in fixed bins, plus what fell outside them (nothing is dropped).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    /// Count per bin (`edges.len() - 1` bins of the probe's configured edges).
    pub counts: Vec<u64>,
    /// Values below the first edge.
    pub below: u64,
    /// Values at or above the last edge.
    pub above: u64,
    /// NaN values.
    pub nan: u64,
}

impl Histogram {
    /// Bins `values` on `edges` (sorted, at least two).
    pub fn of(values: impl Iterator<Item = f64>, edges: &[f64]) -> Histogram {
        let bins = edges.len().saturating_sub(1);
        let mut h = Histogram {
            counts: vec![0; bins],
            below: 0,
            above: 0,
            nan: 0,
        };
        let (Some(&lo), Some(&hi)) = (edges.first(), edges.last()) else {
            return h;
        };
        let uniform = bins > 0 && {
            let w = (hi - lo) / bins as f64;
            edges
                .iter()
                .enumerate()
                .all(|(i, &e)| (e - (lo + i as f64 * w)).abs() <= 1e-9 * w.abs().max(1e-300))
        };
        for v in values {
            if v.is_nan() {
                h.nan += 1;
            } else if v < lo {
                h.below += 1;
            } else if v >= hi {
                h.above += 1;
            } else {
                let i = if uniform {
                    (((v - lo) / (hi - lo) * bins as f64) as usize).min(bins - 1)
                } else {
                    edges
                        .partition_point(|&e| e <= v)
                        .saturating_sub(1)
                        .min(bins - 1)
                };
                h.counts[i] += 1;
            }
        }
        h
    }

    /// Total number of values counted, inside and outside the bins.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum::<u64>() + self.below + self.above + self.nan
    }
}

/// Mean, standard deviation, norms and extremes of a tensor, in f64.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Arithmetic mean.
    pub mean: f64,
    /// Population standard deviation.
    pub std: f64,
    /// L2 norm.
    pub norm: f64,
    /// Mean of absolute values.
    pub mean_abs: f64,
    /// Largest absolute value.
    pub max_abs: f64,
    /// Fraction of elements exactly 0.
    pub zero_fraction: f64,
}

impl Summary {
    /// The summary of every element of `t`.
    pub fn of(t: &Tensor) -> Summary {
        let v = t.to_f64_vec();
        let n = v.len();
        if n == 0 {
            return Summary::default();
        }
        let nf = n as f64;
        let mean = v.iter().sum::<f64>() / nf;
        let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / nf;
        // Scaled sum of squares: the norm of 1e-200-sized values does not underflow.
        let max_abs = v.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        let norm = if max_abs > 0.0 && max_abs.is_finite() {
            max_abs * v.iter().map(|x| (x / max_abs).powi(2)).sum::<f64>().sqrt()
        } else {
            max_abs
        };
        Summary {
            mean,
            std: var.sqrt(),
            norm,
            mean_abs: v.iter().map(|x| x.abs()).sum::<f64>() / nf,
            max_abs,
            zero_fraction: v.iter().filter(|&&x| x == 0.0).count() as f64 / nf,
        }
    }
}

/// For each unit (feature of a `[N, F]` batch, channel of `[N, C, ...]`), the fraction
/// of samples (and positions) where `pred` holds for the derivative value.
pub fn unit_fractions(derivative: &Tensor, pred: impl Fn(f64) -> bool) -> Vec<f64> {
    let dims = derivative.dims();
    let v = derivative.to_f64_vec();
    let (n, units, inner) = match dims.len() {
        0 => (1, 1, 1),
        1 => (1, dims[0], 1),
        _ => (dims[0], dims[1], dims[2..].iter().product::<usize>()),
    };
    let per_unit = (n * inner).max(1) as f64;
    (0..units)
        .map(|u| {
            let mut hits = 0usize;
            for s in 0..n {
                let base = (s * units + u) * inner;
                hits += v[base..base + inner].iter().filter(|&&d| pred(d)).count();
            }
            hits as f64 / per_unit
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use gradflow_autograd::DType;

    #[test]
    fn histograms_count_every_value_including_the_outliers() {
        let edges = [-1.0, 0.0, 1.0, 2.0];
        let h = Histogram::of(
            [-5.0, -0.5, 0.0, 0.5, 1.5, 2.0, f64::NAN, 7.0].into_iter(),
            &edges,
        );
        assert_eq!(h.counts, vec![1, 2, 1]);
        assert_eq!((h.below, h.above, h.nan), (1, 2, 1));
        assert_eq!(h.total(), 8);
        // Log-spaced edges take the general path.
        let edges = [1e-3, 1e-2, 1e-1, 1.0];
        let h = Histogram::of([5e-3, 5e-2, 0.5, 0.01].into_iter(), &edges);
        assert_eq!(h.counts, vec![1, 2, 1]);
    }

    #[test]
    fn norms_of_tiny_values_do_not_underflow() {
        let t = Tensor::from_vec(vec![3e-200f64, 4e-200], [2]).unwrap();
        let s = Summary::of(&t);
        assert!((s.norm - 5e-200).abs() < 1e-214, "{}", s.norm);
        let t = Tensor::from_vec(vec![0.0f32, 1.0, -3.0, 0.0], [4]).unwrap();
        let s = Summary::of(&t);
        assert_eq!(s.zero_fraction, 0.5);
        assert_eq!(s.max_abs, 3.0);
        assert_eq!(s.mean, -0.5);
    }

    #[test]
    fn unit_fractions_are_per_feature_or_per_channel() {
        // [N=2, F=3]: unit 0 zero in both samples, unit 1 in one, unit 2 in none.
        let d = Tensor::from_vec(vec![0.0f64, 0.0, 1.0, 0.0, 1.0, 1.0], [2, 3]).unwrap();
        assert_eq!(unit_fractions(&d, |x| x == 0.0), vec![1.0, 0.5, 0.0]);
        // [N=1, C=2, H*W=2]
        let d = Tensor::from_vec(vec![0.0f64, 0.0, 0.0, 1.0], [1, 2, 2]).unwrap();
        assert_eq!(unit_fractions(&d, |x| x == 0.0), vec![1.0, 0.5]);
        assert_eq!(
            unit_fractions(&Tensor::zeros([0, 2], DType::F32), |x| x == 0.0),
            vec![0.0, 0.0]
        );
    }
}
