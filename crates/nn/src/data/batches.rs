//! [`Batches`]: shuffled mini-batches, a new seeded order every epoch.

use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use rand::seq::SliceRandom;

use super::Dataset;
use crate::{Error, Result};

/// Mini-batches of a [`Dataset`], reshuffled each epoch; see [`Dataset::batches`].
///
/// The order of epoch `e` depends only on the seed and `e`, so any epoch can be
/// replayed without running the ones before it.
#[derive(Clone, Debug)]
pub struct Batches<'a> {
    data: &'a Dataset,
    batch_size: usize,
    seed: u64,
    drop_last: bool,
}

/// One mini-batch: the rows it holds (indices into the full set) and their data.
#[derive(Clone, Debug)]
pub struct Batch {
    indices: Vec<usize>,
    data: Dataset,
}

impl Batch {
    /// The rows of the full data set in this batch, in batch order.
    pub fn indices(&self) -> &[usize] {
        &self.indices
    }

    /// The batch as a data set (features `[b, d]` and their targets).
    pub fn data(&self) -> &Dataset {
        &self.data
    }

    /// The batch as a data set, by value.
    pub fn into_data(self) -> Dataset {
        self.data
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.indices.len()
    }

    /// Whether the batch has no rows (never the case for a batch yielded by
    /// [`Batches::epoch`]).
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }
}

impl Dataset {
    /// Shuffled mini-batches of `batch_size` rows. Each epoch visits every row exactly
    /// once in a fresh random order; the last, smaller batch is **kept** (as PyTorch's
    /// `DataLoader` does by default) unless [`Batches::drop_last`] is set.
    ///
    /// ```
    /// use gradflow_nn::data::synthetic;
    /// let data = synthetic::xor(10, 0.1, 0)?;
    /// let batches = data.batches(4, 42)?;
    /// let sizes: Vec<usize> = batches.epoch(0).map(|b| b.map(|b| b.len())).collect::<Result<_, _>>()?;
    /// assert_eq!(sizes, [4, 4, 2]);
    /// assert_eq!(batches.drop_last(true).epoch(1).count(), 2);
    /// # Ok::<(), gradflow_nn::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Config`] for a batch size of 0 or an empty data set.
    pub fn batches(&self, batch_size: usize, seed: u64) -> Result<Batches<'_>> {
        if batch_size == 0 {
            return Err(Error::config(
                "Dataset::batches",
                "batch_size must be at least 1",
            ));
        }
        if self.is_empty() {
            return Err(Error::config(
                "Dataset::batches",
                format!("{} has no rows", self.name()),
            ));
        }
        Ok(Batches {
            data: self,
            batch_size,
            seed,
            drop_last: false,
        })
    }
}

impl<'a> Batches<'a> {
    /// Whether to drop the last batch of an epoch when it is smaller than the batch
    /// size (then a set smaller than one batch gives no batch at all).
    pub fn drop_last(mut self, drop_last: bool) -> Self {
        self.drop_last = drop_last;
        self
    }

    /// The batch size.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Number of batches per epoch.
    pub fn len(&self) -> usize {
        let n = self.data.len();
        if self.drop_last {
            n / self.batch_size
        } else {
            n.div_ceil(self.batch_size)
        }
    }

    /// Whether an epoch yields no batch (only with `drop_last` on a set smaller than
    /// one batch).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The row order of epoch `epoch`: a permutation of `0..n`.
    pub fn order(&self, epoch: u64) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.data.len()).collect();
        // The golden-ratio multiplier spreads consecutive epochs over the seed space;
        // the generator's own seeding (SplitMix64) then decorrelates them.
        let epoch_seed = self.seed ^ epoch.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        order.shuffle(&mut Xoshiro256PlusPlus::seed_from_u64(epoch_seed));
        order
    }

    /// The batches of epoch `epoch`, in order.
    pub fn epoch(&self, epoch: u64) -> EpochBatches<'a> {
        let mut order = self.order(epoch);
        if self.drop_last {
            order.truncate(self.len() * self.batch_size);
        }
        EpochBatches {
            data: self.data,
            order,
            next: 0,
            batch_size: self.batch_size,
        }
    }
}

/// The batches of one epoch; an iterator made by [`Batches::epoch`].
#[derive(Clone, Debug)]
pub struct EpochBatches<'a> {
    data: &'a Dataset,
    order: Vec<usize>,
    next: usize,
    batch_size: usize,
}

impl Iterator for EpochBatches<'_> {
    type Item = Result<Batch>;

    fn next(&mut self) -> Option<Result<Batch>> {
        let rest = self.order.get(self.next..)?;
        if rest.is_empty() {
            return None;
        }
        let indices = rest.get(..self.batch_size).unwrap_or(rest).to_vec();
        self.next += indices.len();
        Some(
            self.data
                .subset(&indices)
                .map(|data| Batch { indices, data }),
        )
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self
            .order
            .len()
            .saturating_sub(self.next)
            .div_ceil(self.batch_size);
        (left, Some(left))
    }
}

impl ExactSizeIterator for EpochBatches<'_> {}

#[cfg(test)]
mod tests {
    use crate::data::synthetic;

    #[test]
    fn every_sample_appears_exactly_once_per_epoch() {
        let data = synthetic::moons(103, 0.1, 1).unwrap();
        let batches = data.batches(10, 5).unwrap();
        assert_eq!(batches.len(), 11);
        for epoch in 0..3 {
            let mut seen = Vec::new();
            let mut sizes = Vec::new();
            for b in batches.epoch(epoch) {
                let b = b.unwrap();
                assert_eq!(b.data().len(), b.len());
                sizes.push(b.len());
                seen.extend_from_slice(b.indices());
            }
            assert_eq!(sizes.iter().filter(|&&s| s == 10).count(), 10);
            assert_eq!(sizes.last(), Some(&3));
            seen.sort_unstable();
            assert_eq!(seen, (0..103).collect::<Vec<_>>());
        }
    }

    #[test]
    fn a_batch_holds_the_rows_it_names() {
        let data = synthetic::blobs(20, 4, 3, 1.0, 2).unwrap();
        let labels = data.labels().unwrap();
        let x = data.features().to_vec::<f32>().unwrap();
        for b in data.batches(6, 0).unwrap().epoch(0) {
            let b = b.unwrap();
            let bx = b.data().features().to_vec::<f32>().unwrap();
            for (k, &i) in b.indices().iter().enumerate() {
                assert_eq!(b.data().labels().unwrap()[k], labels[i]);
                assert_eq!(bx[k * 3..k * 3 + 3], x[i * 3..i * 3 + 3]);
            }
        }
    }

    #[test]
    fn epochs_differ_but_replay_identically() {
        let data = synthetic::xor(50, 0.1, 0).unwrap();
        let batches = data.batches(8, 11).unwrap();
        assert_ne!(batches.order(0), batches.order(1));
        assert_eq!(batches.order(3), batches.order(3));
        let other_seed = data.batches(8, 12).unwrap();
        assert_ne!(batches.order(0), other_seed.order(0));
    }

    #[test]
    fn drop_last_drops_only_the_partial_batch() {
        let data = synthetic::xor(50, 0.1, 0).unwrap();
        let batches = data.batches(8, 1).unwrap().drop_last(true);
        assert_eq!(batches.len(), 6);
        let sizes: Vec<usize> = batches.epoch(0).map(|b| b.unwrap().len()).collect();
        assert_eq!(sizes, [8; 6]);
        assert_eq!(batches.epoch(0).len(), 6);
        let tiny = synthetic::xor(5, 0.1, 0).unwrap();
        assert!(tiny.batches(8, 0).unwrap().drop_last(true).is_empty());
        assert_eq!(tiny.batches(8, 0).unwrap().epoch(0).count(), 1);
    }

    #[test]
    fn a_zero_batch_size_is_refused() {
        let data = synthetic::xor(4, 0.0, 0).unwrap();
        assert!(data.batches(0, 0).is_err());
    }
}
