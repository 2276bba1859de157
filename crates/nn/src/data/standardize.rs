//! [`Standardizer`]: per-feature standardisation `(x - mean) / std`, fitted on the
//! training set and applied unchanged to the test set (so no test statistic leaks into
//! training).

use gradflow_autograd::Tensor;

use super::Dataset;
use super::dataset::tensor_from_f64;
use crate::{Error, Result};

/// Per-feature mean and standard deviation of a training set, and the map
/// `x -> (x - mean) / std` they define.
///
/// The standard deviation is the population one (divisor `n`, as scikit-learn's
/// `StandardScaler`). A feature that is constant on the training set (std below
/// `10 eps max(1, |mean|)`, so rounding noise counts as constant) is only centred:
/// its scale is 1, not a division by almost zero. Statistics are accumulated in f64
/// whatever the dtype.
///
/// ```
/// use gradflow_nn::data::{standardize, synthetic};
/// let (train, test) = synthetic::blobs(200, 3, 2, 1.5, 0)?.split(0.2, 1)?;
/// let (train, test, stats) = standardize(&train, &test)?;
/// assert_eq!(stats.mean().len(), 2);
/// let x = train.features().to_f64_vec();
/// let mean0 = x.iter().step_by(2).sum::<f64>() / train.len() as f64;
/// assert!(mean0.abs() < 1e-5);
/// # let _ = test;
/// # Ok::<(), gradflow_nn::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Standardizer {
    mean: Vec<f64>,
    std: Vec<f64>,
    scale: Vec<f64>,
}

impl Standardizer {
    /// Measures the mean and standard deviation of each feature of `data`.
    ///
    /// # Errors
    /// [`Error::Config`] for an empty data set or non-finite features.
    pub fn fit(data: &Dataset) -> Result<Standardizer> {
        let (n, d) = (data.len(), data.num_features());
        if n == 0 {
            return Err(Error::config(
                "Standardizer::fit",
                format!("{} has no rows to measure", data.name()),
            ));
        }
        if let Some((i, v)) = data.features().first_non_finite() {
            return Err(Error::config(
                "Standardizer::fit",
                format!(
                    "feature {} of row {} of {} is {v}",
                    i % d.max(1),
                    i / d.max(1),
                    data.name()
                ),
            ));
        }
        let x = data.features().to_f64_vec();
        let mut mean = vec![0.0; d];
        for row in x.chunks_exact(d.max(1)) {
            for (m, v) in mean.iter_mut().zip(row) {
                *m += v;
            }
        }
        mean.iter_mut().for_each(|m| *m /= n as f64);
        // Two passes (mean, then squared deviations): no cancellation for large means.
        let mut var = vec![0.0; d];
        for row in x.chunks_exact(d.max(1)) {
            for ((s, v), m) in var.iter_mut().zip(row).zip(&mean) {
                *s += (v - m) * (v - m);
            }
        }
        let std: Vec<f64> = var.iter().map(|s| (s / n as f64).sqrt()).collect();
        let scale = std
            .iter()
            .zip(&mean)
            .map(|(&s, m)| {
                if s <= 10.0 * f64::EPSILON * m.abs().max(1.0) {
                    1.0
                } else {
                    s
                }
            })
            .collect();
        Ok(Standardizer { mean, std, scale })
    }

    /// The mean of each feature.
    pub fn mean(&self) -> &[f64] {
        &self.mean
    }

    /// The measured standard deviation of each feature (0 for a constant one).
    pub fn std(&self) -> &[f64] {
        &self.std
    }

    /// The divisor applied to each feature: its std, or 1 for a constant feature.
    pub fn scale(&self) -> &[f64] {
        &self.scale
    }

    /// Standardises a features tensor `[m, d]`, keeping its dtype.
    ///
    /// # Errors
    /// [`Error::Config`] if the tensor is not `[m, d]` with the fitted `d`.
    pub fn transform(&self, x: &Tensor) -> Result<Tensor> {
        let d = self.mean.len();
        let &[m, cols] = x.dims() else {
            return Err(Error::config(
                "Standardizer::transform",
                format!("features must be [m, {d}], got {}", x.shape()),
            ));
        };
        if cols != d {
            return Err(Error::config(
                "Standardizer::transform",
                format!("fitted on {d} features, got {cols}"),
            ));
        }
        let mut v = x.to_f64_vec();
        for row in v.chunks_exact_mut(d.max(1)) {
            for ((value, mean), scale) in row.iter_mut().zip(&self.mean).zip(&self.scale) {
                *value = (*value - mean) / scale;
            }
        }
        tensor_from_f64(v, m, d, x.dtype())
    }

    /// The data set with standardised features (targets unchanged).
    ///
    /// # Errors
    /// As [`Standardizer::transform`].
    pub fn apply(&self, data: &Dataset) -> Result<Dataset> {
        Ok(data.with_features(self.transform(data.features())?))
    }
}

/// Fits a [`Standardizer`] on `train` and applies it to both sets: returns the
/// standardised train and test sets and the statistics (to standardise later inputs
/// the same way).
///
/// # Errors
/// As [`Standardizer::fit`], and [`Error::Config`] if the sets have different
/// feature counts.
pub fn standardize(train: &Dataset, test: &Dataset) -> Result<(Dataset, Dataset, Standardizer)> {
    let stats = Standardizer::fit(train)?;
    Ok((stats.apply(train)?, stats.apply(test)?, stats))
}

#[cfg(test)]
mod tests {
    use gradflow_autograd::DType;

    use super::*;

    fn column(x: &[f64], d: usize, j: usize) -> Vec<f64> {
        x.iter().skip(j).step_by(d).copied().collect()
    }

    #[test]
    fn standardised_train_features_have_zero_mean_and_unit_std() {
        let x = Tensor::randn([500, 3], DType::F64, 3)
            .mul_scalar(4.0)
            .add_scalar(100.0);
        let data = Dataset::classification("r", x, vec![0; 500], 1).unwrap();
        let s = Standardizer::fit(&data).unwrap();
        let out = s.apply(&data).unwrap().features().to_f64_vec();
        for j in 0..3 {
            let c = column(&out, 3, j);
            let mean = c.iter().sum::<f64>() / 500.0;
            let var = c.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 500.0;
            assert!(mean.abs() < 1e-12, "mean {mean}");
            assert!((var - 1.0).abs() < 1e-12, "var {var}");
        }
        assert!((s.mean()[0] - 100.0).abs() < 1.0);
    }

    #[test]
    fn the_test_set_is_transformed_with_the_train_statistics() {
        let train = Tensor::from_vec(vec![0.0f64, 2.0, 4.0, 6.0], [4, 1]).unwrap();
        let test = Tensor::from_vec(vec![3.0f64, 10.0], [2, 1]).unwrap();
        let train = Dataset::classification("a", train, vec![0; 4], 1).unwrap();
        let test = Dataset::classification("a", test, vec![0; 2], 1).unwrap();
        let (_, t, s) = standardize(&train, &test).unwrap();
        let sd = 5.0f64.sqrt(); // population std of 0, 2, 4, 6
        assert_eq!(s.mean(), [3.0]);
        assert!((s.std()[0] - sd).abs() < 1e-15);
        let v = t.features().to_f64_vec();
        assert!(v[0].abs() < 1e-15 && (v[1] - 7.0 / sd).abs() < 1e-15);
    }

    #[test]
    fn a_constant_feature_is_centred_not_divided_by_zero() {
        let x = Tensor::from_vec(vec![0.1f32, 1.0, 0.1, 2.0, 0.1, 3.0], [3, 2]).unwrap();
        let data = Dataset::classification("c", x, vec![0; 3], 1).unwrap();
        let s = Standardizer::fit(&data).unwrap();
        assert_eq!(s.scale()[0], 1.0);
        let out = s.apply(&data).unwrap();
        assert!(out.features().all_finite());
        assert_eq!(out.dtype(), DType::F32);
    }

    #[test]
    fn transform_rejects_another_feature_count() {
        let x = Tensor::zeros([2, 2], DType::F32);
        let data = Dataset::classification("c", x, vec![0; 2], 1).unwrap();
        let s = Standardizer::fit(&data).unwrap();
        assert!(s.transform(&Tensor::zeros([2, 3], DType::F32)).is_err());
        assert!(s.transform(&Tensor::zeros([2], DType::F32)).is_err());
    }
}
