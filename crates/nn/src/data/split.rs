//! [`Dataset::split`]: a seeded random train/test split.

use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use rand::seq::SliceRandom;

use super::Dataset;
use crate::{Error, Result};

impl Dataset {
    /// Splits the rows at random into `(train, test)`, with `round(n * test_fraction)`
    /// rows in the test part. The same seed gives the same split; each part keeps the
    /// rows in their original order, and both keep the name.
    ///
    /// Not stratified: with few rows a rare class may fall entirely on one side.
    ///
    /// ```
    /// use gradflow_nn::data::synthetic;
    /// let data = synthetic::moons(100, 0.1, 0)?;
    /// let (train, test) = data.split(0.25, 7)?;
    /// assert_eq!((train.len(), test.len()), (75, 25));
    /// # Ok::<(), gradflow_nn::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Config`] unless `0 < test_fraction < 1` and both parts get at least one
    /// row.
    pub fn split(&self, test_fraction: f64, seed: u64) -> Result<(Dataset, Dataset)> {
        if !(test_fraction > 0.0 && test_fraction < 1.0) {
            return Err(Error::config(
                "Dataset::split",
                format!("test_fraction must be in (0, 1), got {test_fraction}"),
            ));
        }
        let n = self.len();
        let n_test = (n as f64 * test_fraction).round() as usize;
        if n_test == 0 || n_test >= n {
            return Err(Error::config(
                "Dataset::split",
                format!(
                    "a test fraction of {test_fraction} of {n} rows leaves {n_test} test and \
                     {} train rows; both need at least one",
                    n.saturating_sub(n_test)
                ),
            ));
        }
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut Xoshiro256PlusPlus::seed_from_u64(seed));
        let (test, train) = order.split_at_mut(n_test);
        test.sort_unstable();
        train.sort_unstable();
        Ok((self.subset(train)?, self.subset(test)?))
    }
}

#[cfg(test)]
mod tests {
    use crate::data::synthetic;

    #[test]
    fn split_partitions_the_rows_and_is_reproducible() {
        let data = synthetic::blobs(101, 3, 2, 1.0, 4).unwrap();
        let (train, test) = data.split(0.3, 9).unwrap();
        assert_eq!((train.len(), test.len()), (71, 30));
        // Every row lands in exactly one part: compare the multisets of first features.
        let mut all: Vec<f32> = train.features().to_vec::<f32>().unwrap();
        all.extend(test.features().to_vec::<f32>().unwrap());
        let mut original = data.features().to_vec::<f32>().unwrap();
        all.sort_by(f32::total_cmp);
        original.sort_by(f32::total_cmp);
        assert_eq!(all, original);
        let (train2, test2) = data.split(0.3, 9).unwrap();
        assert_eq!(train.labels(), train2.labels());
        assert_eq!(
            test.features().to_vec::<f32>().unwrap(),
            test2.features().to_vec::<f32>().unwrap()
        );
        let (_, test3) = data.split(0.3, 10).unwrap();
        assert_ne!(
            test.features().to_vec::<f32>().unwrap(),
            test3.features().to_vec::<f32>().unwrap()
        );
    }

    #[test]
    fn split_rejects_fractions_that_leave_a_part_empty() {
        let data = synthetic::moons(10, 0.0, 0).unwrap();
        for f in [0.0, 1.0, -0.5, f64::NAN, 0.01, 0.99] {
            assert!(data.split(f, 0).is_err(), "fraction {f}");
        }
    }
}
