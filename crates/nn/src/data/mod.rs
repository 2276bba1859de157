//! Data: the [`Dataset`] type, seeded [`synthetic`] data sets, train/test
//! [`split`](Dataset::split), [`standardize`], shuffled mini-[`batches`](Dataset::batches),
//! and loaders for CSV ([`load_csv`], and the shipped [`digits`]) and IDX ([`load_idx`],
//! the MNIST format) files, each with a twin that parses bytes in memory ([`parse_csv`],
//! [`parse_idx`]) and is what the file loader calls.
//!
//! Loaders never panic on a bad file: every problem is an [`Error::Data`](crate::Error::Data)
//! naming the file and the line (text) or byte offset (binary) where it was found.
//!
//! ```
//! use gradflow_nn::data::{self, standardize};
//! let digits = data::digits()?;                       // shipped with the crate
//! let (train, test) = digits.split(0.3, 0)?;
//! let (train, test, _stats) = standardize(&train, &test)?;
//! for batch in train.batches(64, 0)?.epoch(0) {
//!     let batch = batch?;
//!     assert!(batch.len() <= 64);
//! }
//! assert_eq!(test.len(), 539);
//! # Ok::<(), gradflow_nn::Error>(())
//! ```

mod batches;
mod csv;
mod dataset;
mod idx;
mod source;
mod split;
mod standardize;
pub mod synthetic;

pub use batches::{Batch, Batches, EpochBatches};
pub use csv::{CsvOptions, LabelColumn, MAX_INFERRED_CLASSES, digits, load_csv, parse_csv};
pub use dataset::{Dataset, Targets};
pub use idx::{load_idx, parse_idx};
pub use source::MAX_DECOMPRESSED;
pub use standardize::{Standardizer, standardize};
