//! [`Dataset`]: features `[n, d]` and their targets (class indices, regression values or
//! multi-label 0/1 indicators), with a name.

use std::fmt;

use gradflow_autograd::{DType, Tensor};

use crate::{Error, Result};

/// What a data set asks a model to predict, one entry per row of the features.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Targets {
    /// One class index per row, each `< num_classes` (for cross-entropy).
    Classes {
        /// The class index of each row.
        labels: Vec<usize>,
        /// The number of classes (at least one more than the largest label).
        num_classes: usize,
    },
    /// Real-valued targets `[n, k]` (for mean squared error), same dtype as the features.
    Regression(Tensor),
    /// Independent binary labels `[n, k]`, each 0 or 1 (for binary cross-entropy per
    /// column), same dtype as the features.
    MultiLabel(Tensor),
}

impl Targets {
    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            Targets::Classes { labels, .. } => labels.len(),
            Targets::Regression(t) | Targets::MultiLabel(t) => {
                t.dims().first().copied().unwrap_or(0)
            }
        }
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The rows `indices`, in order.
    fn select(&self, indices: &[usize]) -> Result<Targets> {
        Ok(match self {
            Targets::Classes {
                labels,
                num_classes,
            } => Targets::Classes {
                labels: indices
                    .iter()
                    .map(|&i| {
                        labels.get(i).copied().ok_or_else(|| {
                            Error::config(
                                "Dataset::subset",
                                format!("row {i} is out of range for {} rows", labels.len()),
                            )
                        })
                    })
                    .collect::<Result<_>>()?,
                num_classes: *num_classes,
            },
            Targets::Regression(t) => Targets::Regression(t.index_select(0, indices)?),
            Targets::MultiLabel(t) => Targets::MultiLabel(t.index_select(0, indices)?),
        })
    }
}

/// A supervised data set: features `[n, d]`, one target per row, and a name for
/// reports (`"moons"`, `"digits"`).
///
/// Every generator and loader of [`data`](crate::data) returns one; [`Dataset::split`],
/// [`Dataset::batches`] and [`Standardizer`](crate::data::Standardizer) work on it.
/// The features and tensor targets share one dtype, f32 unless chosen otherwise
/// ([`Dataset::to_dtype`]).
///
/// ```
/// use gradflow_autograd::{DType, Tensor};
/// use gradflow_nn::data::Dataset;
/// let x = Tensor::from_vec(vec![0.0f32, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0], &[4, 2])?;
/// let xor = Dataset::classification("xor", x, vec![0, 1, 1, 0], 2)?;
/// assert_eq!((xor.len(), xor.num_features(), xor.num_classes()), (4, 2, Some(2)));
/// assert_eq!(xor.to_dtype(DType::F64).features().dtype(), DType::F64);
/// # Ok::<(), gradflow_nn::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Dataset {
    name: String,
    features: Tensor,
    targets: Targets,
}

impl Dataset {
    /// A classification set: `features [n, d]` and one class index per row, each
    /// `< num_classes`.
    ///
    /// # Errors
    /// [`Error::Config`] if the features are not 2-D, the counts differ, `num_classes`
    /// is 0 or a label is out of range.
    pub fn classification(
        name: impl Into<String>,
        features: Tensor,
        labels: Vec<usize>,
        num_classes: usize,
    ) -> Result<Dataset> {
        let n = rows_of(&features)?;
        if labels.len() != n {
            return Err(Error::config(
                "Dataset",
                format!("{n} feature rows but {} labels", labels.len()),
            ));
        }
        if num_classes == 0 {
            return Err(Error::config("Dataset", "num_classes must be at least 1"));
        }
        if let Some((row, label)) = labels.iter().enumerate().find(|(_, l)| **l >= num_classes) {
            return Err(Error::config(
                "Dataset",
                format!("label {label} of row {row} is out of range for {num_classes} classes"),
            ));
        }
        Ok(Dataset {
            name: name.into(),
            features,
            targets: Targets::Classes {
                labels,
                num_classes,
            },
        })
    }

    /// A regression set: `features [n, d]` and `targets [n, k]` of the same dtype.
    ///
    /// # Errors
    /// [`Error::Config`] if either is not 2-D, the row counts or the dtypes differ.
    pub fn regression(
        name: impl Into<String>,
        features: Tensor,
        targets: Tensor,
    ) -> Result<Dataset> {
        check_target_tensor(&features, &targets)?;
        Ok(Dataset {
            name: name.into(),
            features,
            targets: Targets::Regression(targets),
        })
    }

    /// A multi-label set: `features [n, d]` and `targets [n, k]` of the same dtype,
    /// every target 0 or 1.
    ///
    /// # Errors
    /// As [`Dataset::regression`], and [`Error::Config`] for a target other than 0 or 1.
    pub fn multi_label(
        name: impl Into<String>,
        features: Tensor,
        targets: Tensor,
    ) -> Result<Dataset> {
        check_target_tensor(&features, &targets)?;
        if let Some((i, v)) = targets
            .to_f64_vec()
            .into_iter()
            .enumerate()
            .find(|(_, v)| *v != 0.0 && *v != 1.0)
        {
            return Err(Error::config(
                "Dataset",
                format!("multi-label targets must be 0 or 1, element {i} is {v}"),
            ));
        }
        Ok(Dataset {
            name: name.into(),
            features,
            targets: Targets::MultiLabel(targets),
        })
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The same data under another name.
    pub fn with_name(mut self, name: impl Into<String>) -> Dataset {
        self.name = name.into();
        self
    }

    /// The features `[n, d]`.
    pub fn features(&self) -> &Tensor {
        &self.features
    }

    /// The targets.
    pub fn targets(&self) -> &Targets {
        &self.targets
    }

    /// Number of rows (samples).
    pub fn len(&self) -> usize {
        self.features.dims().first().copied().unwrap_or(0)
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of features per row (`d`).
    pub fn num_features(&self) -> usize {
        self.features.dims().get(1).copied().unwrap_or(0)
    }

    /// The dtype of the features (and of tensor targets).
    pub fn dtype(&self) -> DType {
        self.features.dtype()
    }

    /// The class labels, for a classification set.
    pub fn labels(&self) -> Option<&[usize]> {
        match &self.targets {
            Targets::Classes { labels, .. } => Some(labels),
            _ => None,
        }
    }

    /// The number of classes, for a classification set.
    pub fn num_classes(&self) -> Option<usize> {
        match &self.targets {
            Targets::Classes { num_classes, .. } => Some(*num_classes),
            _ => None,
        }
    }

    /// The target tensor `[n, k]`, for a regression or multi-label set.
    pub fn target_tensor(&self) -> Option<&Tensor> {
        match &self.targets {
            Targets::Regression(t) | Targets::MultiLabel(t) => Some(t),
            Targets::Classes { .. } => None,
        }
    }

    /// How many rows each class has, for a classification set.
    pub fn class_counts(&self) -> Option<Vec<usize>> {
        let Targets::Classes {
            labels,
            num_classes,
        } = &self.targets
        else {
            return None;
        };
        let mut counts = vec![0; *num_classes];
        for &l in labels {
            if let Some(c) = counts.get_mut(l) {
                *c += 1;
            }
        }
        Some(counts)
    }

    /// The class labels as one-hot rows `[n, num_classes]` in the features' dtype.
    ///
    /// # Errors
    /// [`Error::Config`] if the set is not a classification set, or rows x classes
    /// overflows.
    pub fn one_hot(&self) -> Result<Tensor> {
        let Targets::Classes {
            labels,
            num_classes,
        } = &self.targets
        else {
            return Err(Error::config(
                "Dataset::one_hot",
                format!("{} has no class labels", self.name),
            ));
        };
        let k = *num_classes;
        let size = labels.len().checked_mul(k).ok_or_else(|| {
            Error::config(
                "Dataset::one_hot",
                format!("{} rows x {k} classes overflows", labels.len()),
            )
        })?;
        let mut values = vec![0.0; size];
        for (row, &l) in labels.iter().enumerate() {
            if let Some(v) = values.get_mut(row * k + l) {
                *v = 1.0;
            }
        }
        tensor_from_f64(values, labels.len(), k, self.dtype())
    }

    /// The same set with features and tensor targets converted to `dtype` (a cheap
    /// clone if they already are). Converting f32 to f64 is exact: the values stay the
    /// f32 ones.
    pub fn to_dtype(&self, dtype: DType) -> Dataset {
        Dataset {
            name: self.name.clone(),
            features: self.features.to_dtype(dtype),
            targets: match &self.targets {
                Targets::Regression(t) => Targets::Regression(t.to_dtype(dtype)),
                Targets::MultiLabel(t) => Targets::MultiLabel(t.to_dtype(dtype)),
                classes => classes.clone(),
            },
        }
    }

    /// The same classification set with `num_classes` classes (to declare classes that
    /// a subset or a file happens not to contain).
    ///
    /// # Errors
    /// [`Error::Config`] if the set has no class labels or a label is `>= num_classes`.
    pub fn with_num_classes(self, num_classes: usize) -> Result<Dataset> {
        match self.targets {
            Targets::Classes { labels, .. } => {
                Dataset::classification(self.name, self.features, labels, num_classes)
            }
            _ => Err(Error::config(
                "Dataset::with_num_classes",
                format!("{} has no class labels", self.name),
            )),
        }
    }

    /// The rows `indices`, in that order (repeats allowed), under the same name.
    ///
    /// # Errors
    /// [`Error::Autograd`] or [`Error::Config`] naming an index `>= len()`.
    pub fn subset(&self, indices: &[usize]) -> Result<Dataset> {
        Ok(Dataset {
            name: self.name.clone(),
            features: self.features.index_select(0, indices)?,
            targets: self.targets.select(indices)?,
        })
    }

    /// Replaces the features by a tensor of the same shape and dtype (what
    /// standardisation does).
    pub(crate) fn with_features(&self, features: Tensor) -> Dataset {
        Dataset {
            name: self.name.clone(),
            features,
            targets: self.targets.clone(),
        }
    }
}

impl fmt::Display for Dataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} rows x {} features, ",
            self.name,
            self.len(),
            self.num_features()
        )?;
        match &self.targets {
            Targets::Classes { num_classes, .. } => write!(f, "{num_classes} classes")?,
            Targets::Regression(t) => {
                write!(f, "{} regression targets", t.dims().get(1).unwrap_or(&0))?
            }
            Targets::MultiLabel(t) => write!(f, "{} binary labels", t.dims().get(1).unwrap_or(&0))?,
        }
        write!(f, ", {}", self.dtype())
    }
}

/// The row count of a 2-D features tensor.
fn rows_of(features: &Tensor) -> Result<usize> {
    match features.dims() {
        &[n, _] => Ok(n),
        _ => Err(Error::config(
            "Dataset",
            format!("features must be [n, d], got {}", features.shape()),
        )),
    }
}

fn check_target_tensor(features: &Tensor, targets: &Tensor) -> Result<()> {
    let n = rows_of(features)?;
    let &[m, _] = targets.dims() else {
        return Err(Error::config(
            "Dataset",
            format!("targets must be [n, k], got {}", targets.shape()),
        ));
    };
    if m != n {
        return Err(Error::config(
            "Dataset",
            format!("{n} feature rows but {m} target rows"),
        ));
    }
    if targets.dtype() != features.dtype() {
        return Err(Error::config(
            "Dataset",
            format!(
                "features are {} but targets are {}",
                features.dtype(),
                targets.dtype()
            ),
        ));
    }
    Ok(())
}

/// A `[rows, cols]` tensor of `dtype` from row-major f64 values (rounded once for f32).
pub(crate) fn tensor_from_f64(
    values: Vec<f64>,
    rows: usize,
    cols: usize,
    dtype: DType,
) -> Result<Tensor> {
    Ok(match dtype {
        DType::F32 => Tensor::from_vec(
            values.iter().map(|&v| v as f32).collect::<Vec<f32>>(),
            [rows, cols],
        )?,
        DType::F64 => Tensor::from_vec(values, [rows, cols])?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Dataset {
        let x = Tensor::from_vec(vec![0.0f32, 1.0, 2.0, 3.0, 4.0, 5.0], [3, 2]).unwrap();
        Dataset::classification("small", x, vec![2, 0, 1], 3).unwrap()
    }

    #[test]
    fn classification_rejects_a_label_out_of_range() {
        let x = Tensor::zeros([2, 1], DType::F32);
        let e = Dataset::classification("s", x, vec![0, 3], 3).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Dataset: label 3 of row 1 is out of range for 3 classes"
        );
    }

    #[test]
    fn classification_rejects_mismatched_counts_and_non_matrix_features() {
        let x = Tensor::zeros([2, 1], DType::F32);
        assert!(Dataset::classification("s", x, vec![0], 2).is_err());
        let v = Tensor::zeros([2], DType::F32);
        assert!(Dataset::classification("s", v, vec![0, 1], 2).is_err());
    }

    #[test]
    fn regression_rejects_mismatched_rows_and_dtypes() {
        let x = Tensor::zeros([3, 2], DType::F32);
        assert!(Dataset::regression("r", x.clone(), Tensor::zeros([2, 1], DType::F32)).is_err());
        assert!(Dataset::regression("r", x.clone(), Tensor::zeros([3, 1], DType::F64)).is_err());
        assert!(Dataset::regression("r", x, Tensor::zeros([3, 1], DType::F32)).is_ok());
    }

    #[test]
    fn multi_label_rejects_values_other_than_zero_and_one() {
        let x = Tensor::zeros([2, 2], DType::F32);
        let y = Tensor::from_vec(vec![0.0f32, 1.0, 0.5, 1.0], [2, 2]).unwrap();
        let e = Dataset::multi_label("m", x, y).unwrap_err().to_string();
        assert!(e.contains("element 2 is 0.5"), "{e}");
    }

    #[test]
    fn subset_selects_rows_of_features_and_labels_in_order() {
        let s = small().subset(&[2, 0]).unwrap();
        assert_eq!(s.features().to_vec::<f32>().unwrap(), [4.0, 5.0, 0.0, 1.0]);
        assert_eq!(s.labels().unwrap(), [1, 2]);
        assert!(small().subset(&[3]).is_err());
    }

    #[test]
    fn one_hot_marks_each_label() {
        let t = small().one_hot().unwrap();
        assert_eq!(t.dims(), [3, 3]);
        assert_eq!(
            t.to_vec::<f32>().unwrap(),
            [0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
        );
    }

    #[test]
    fn with_num_classes_widens_but_never_drops_a_used_class() {
        let s = small().with_num_classes(10).unwrap();
        assert_eq!(s.num_classes(), Some(10));
        assert_eq!(s.class_counts().unwrap().iter().sum::<usize>(), 3);
        assert!(small().with_num_classes(2).is_err());
    }

    #[test]
    fn display_names_sizes_classes_and_dtype() {
        assert_eq!(
            small().to_string(),
            "small: 3 rows x 2 features, 3 classes, f32"
        );
    }
}
