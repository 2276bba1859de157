//! What a study runs: the grid of configurations, the training settings, and shards.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use gradflow_autograd::{Activation, DType};
use gradflow_nn::init::Init;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The data a run trains on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum DatasetSpec {
    /// Two interleaved spirals, two classes (the default: hard for shallow nets,
    /// learnable by deep ones).
    Spirals,
    /// The 1,797 handwritten 8x8 digits shipped with gradflow (UCI, CC BY 4.0).
    Digits,
    /// XOR of two noisy binary inputs.
    Xor,
    /// Two interleaved half moons.
    Moons,
    /// Two concentric circles.
    Circles,
    /// Gaussian blobs, several classes.
    Blobs,
    /// Regression: targets from a fixed random teacher network.
    Teacher,
    /// A CSV file: features then an integer label per row.
    Csv(PathBuf),
    /// MNIST-format IDX files: images and labels.
    Idx(PathBuf, PathBuf),
}

impl DatasetSpec {
    /// The valid forms, for messages and `--help`.
    pub const VALID: &'static str =
        "spirals, digits, xor, moons, circles, blobs, teacher, csv:PATH, idx:IMAGES,LABELS";

    /// A short name for run ids (`spirals`, `csv-train`).
    pub fn slug(&self) -> String {
        let stem = |p: &PathBuf| {
            p.file_stem()
                .and_then(|s| s.to_str())
                .map(|s| s.trim_end_matches(".csv").to_string())
                .unwrap_or_else(|| "file".into())
        };
        match self {
            DatasetSpec::Csv(p) => format!("csv-{}", sanitize(&stem(p))),
            DatasetSpec::Idx(p, _) => format!("idx-{}", sanitize(&stem(p))),
            other => other.to_string(),
        }
    }
}

impl fmt::Display for DatasetSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatasetSpec::Spirals => f.write_str("spirals"),
            DatasetSpec::Digits => f.write_str("digits"),
            DatasetSpec::Xor => f.write_str("xor"),
            DatasetSpec::Moons => f.write_str("moons"),
            DatasetSpec::Circles => f.write_str("circles"),
            DatasetSpec::Blobs => f.write_str("blobs"),
            DatasetSpec::Teacher => f.write_str("teacher"),
            DatasetSpec::Csv(p) => write!(f, "csv:{}", p.display()),
            DatasetSpec::Idx(a, b) => write!(f, "idx:{},{}", a.display(), b.display()),
        }
    }
}

impl FromStr for DatasetSpec {
    type Err = Error;

    fn from_str(s: &str) -> Result<DatasetSpec> {
        let bad = || {
            Error::config(
                "--dataset",
                format!("unknown data set {s:?}; valid: {}", DatasetSpec::VALID),
            )
        };
        if let Some(path) = s.strip_prefix("csv:") {
            if path.is_empty() {
                return Err(Error::config("--dataset", "csv: needs a path, as csv:PATH"));
            }
            return Ok(DatasetSpec::Csv(PathBuf::from(path)));
        }
        if let Some(paths) = s.strip_prefix("idx:") {
            let Some((a, b)) = paths.split_once(',') else {
                return Err(Error::config(
                    "--dataset",
                    format!("idx: needs two paths, as idx:IMAGES,LABELS (got {s:?})"),
                ));
            };
            if a.is_empty() || b.is_empty() {
                return Err(Error::config(
                    "--dataset",
                    format!("idx: needs two paths, as idx:IMAGES,LABELS (got {s:?})"),
                ));
            }
            return Ok(DatasetSpec::Idx(PathBuf::from(a), PathBuf::from(b)));
        }
        Ok(match s {
            "spirals" | "two_spirals" => DatasetSpec::Spirals,
            "digits" => DatasetSpec::Digits,
            "xor" => DatasetSpec::Xor,
            "moons" => DatasetSpec::Moons,
            "circles" => DatasetSpec::Circles,
            "blobs" => DatasetSpec::Blobs,
            "teacher" => DatasetSpec::Teacher,
            _ => return Err(bad()),
        })
    }
}

/// An optimiser and its learning rate.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum OptimSpec {
    /// Stochastic gradient descent with (heavy-ball) momentum.
    Sgd {
        /// Learning rate.
        lr: f64,
        /// Momentum (0 for plain SGD).
        momentum: f64,
    },
    /// Adam with PyTorch's default betas and eps.
    Adam {
        /// Learning rate.
        lr: f64,
    },
}

impl OptimSpec {
    /// The valid forms.
    pub const VALID: &'static str =
        "sgd:LR, sgd:LR,MOMENTUM, adam:LR (e.g. sgd:0.05,0.9 or adam:0.001)";

    /// The learning rate.
    pub fn lr(&self) -> f64 {
        match *self {
            OptimSpec::Sgd { lr, .. } | OptimSpec::Adam { lr } => lr,
        }
    }

    /// The same optimiser with another learning rate.
    pub fn with_lr(self, lr: f64) -> OptimSpec {
        match self {
            OptimSpec::Sgd { momentum, .. } => OptimSpec::Sgd { lr, momentum },
            OptimSpec::Adam { .. } => OptimSpec::Adam { lr },
        }
    }
}

impl fmt::Display for OptimSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            OptimSpec::Sgd { lr, momentum: 0.0 } => write!(f, "sgd:{}", short(lr)),
            OptimSpec::Sgd { lr, momentum } => {
                write!(f, "sgd:{},{}", short(lr), short(momentum))
            }
            OptimSpec::Adam { lr } => write!(f, "adam:{}", short(lr)),
        }
    }
}

/// A number as `Display` writes it (`0.05`, `1`) unless that takes more than ten
/// characters and the exponent form is shorter (`1e12`, `2.5e-9`): `Display` writes
/// every digit of 1e300, and a run id holding the learning rate must fit in a file
/// name. Both forms are exact and parse back.
fn short(v: f64) -> String {
    let plain = v.to_string();
    let exponent = format!("{v:e}");
    if plain.len() > 10 && exponent.len() < plain.len() {
        exponent
    } else {
        plain
    }
}

impl FromStr for OptimSpec {
    type Err = Error;

    fn from_str(s: &str) -> Result<OptimSpec> {
        let bad = |reason: String| {
            Error::config(
                "--optimiser",
                format!("{reason}; valid: {}", OptimSpec::VALID),
            )
        };
        let (name, params) = s.split_once(':').unwrap_or((s, ""));
        let numbers: Vec<f64> = if params.is_empty() {
            Vec::new()
        } else {
            params
                .split(',')
                .map(|p| {
                    p.trim()
                        .parse::<f64>()
                        .map_err(|_| bad(format!("{p:?} in {s:?} is not a number")))
                })
                .collect::<Result<_>>()?
        };
        let lr = |default: f64| -> Result<f64> {
            let lr = numbers.first().copied().unwrap_or(default);
            if !(lr.is_finite() && lr > 0.0) {
                return Err(Error::config(
                    "--optimiser",
                    format!("the learning rate must be a positive number, got {lr} in {s:?}"),
                ));
            }
            Ok(lr)
        };
        match name {
            "sgd" => {
                let momentum = numbers.get(1).copied().unwrap_or(0.0);
                if !(0.0..1.0).contains(&momentum) || numbers.len() > 2 {
                    return Err(bad(format!(
                        "sgd takes a learning rate and a momentum in [0, 1), got {s:?}"
                    )));
                }
                Ok(OptimSpec::Sgd {
                    lr: lr(0.05)?,
                    momentum,
                })
            }
            "adam" => {
                if numbers.len() > 1 {
                    return Err(bad(format!("adam takes one learning rate, got {s:?}")));
                }
                Ok(OptimSpec::Adam { lr: lr(1e-3)? })
            }
            _ => Err(bad(format!("unknown optimiser {name:?}"))),
        }
    }
}

/// One training run: a point of the grid.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSpec {
    /// Hidden activation.
    pub activation: Activation,
    /// Weight initialiser.
    pub init: Init,
    /// Number of hidden layers.
    pub depth: usize,
    /// Units per hidden layer.
    pub width: usize,
    /// Training data.
    pub dataset: DatasetSpec,
    /// Optimiser and learning rate.
    pub optimiser: OptimSpec,
    /// Seed of the weights and of the mini-batch order.
    pub seed: u64,
}

impl RunSpec {
    /// A stable, file-name-safe identifier (`relu-he-d20-w64-spirals-sgd0.05m0.9-s0`).
    pub fn id(&self) -> String {
        sanitize(&format!(
            "{}-{}-d{}-w{}-{}-{}-s{}",
            self.activation,
            self.init,
            self.depth,
            self.width,
            self.dataset.slug(),
            self.optimiser
                .to_string()
                .replace(':', "")
                .replace(',', "m"),
            self.seed
        ))
    }
}

/// Replaces everything but letters, digits, `.`, `_` and `-` with `_`.
fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The axes of a study: every combination is one run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Grid {
    /// Hidden activations.
    pub activations: Vec<Activation>,
    /// Initialisers.
    pub inits: Vec<Init>,
    /// Depths (hidden layers).
    pub depths: Vec<usize>,
    /// Widths (units per hidden layer).
    pub widths: Vec<usize>,
    /// Data sets.
    pub datasets: Vec<DatasetSpec>,
    /// Optimisers.
    pub optimisers: Vec<OptimSpec>,
    /// Seeds.
    pub seeds: Vec<u64>,
}

impl Grid {
    /// Every run, in a fixed order (data set, optimiser, depth, width, init, activation,
    /// seed: the last varies fastest).
    pub fn runs(&self) -> Vec<RunSpec> {
        let mut out = Vec::new();
        for dataset in &self.datasets {
            for optimiser in &self.optimisers {
                for &depth in &self.depths {
                    for &width in &self.widths {
                        for init in &self.inits {
                            for activation in &self.activations {
                                for &seed in &self.seeds {
                                    out.push(RunSpec {
                                        activation: *activation,
                                        init: *init,
                                        depth,
                                        width,
                                        dataset: dataset.clone(),
                                        optimiser: *optimiser,
                                        seed,
                                    });
                                }
                            }
                        }
                    }
                }
            }
        }
        out
    }

    /// Checks every axis: non-empty, depths and widths at least 1.
    ///
    /// # Errors
    /// [`Error::Config`] naming the flag.
    pub fn validate(&self) -> Result<()> {
        let empty = |flag: &str, n: usize| {
            if n == 0 {
                Err(Error::config(flag, "needs at least one value"))
            } else {
                Ok(())
            }
        };
        empty("--activation", self.activations.len())?;
        empty("--init", self.inits.len())?;
        empty("--depth", self.depths.len())?;
        empty("--width", self.widths.len())?;
        empty("--dataset", self.datasets.len())?;
        empty("--optimiser", self.optimisers.len())?;
        empty("--seed", self.seeds.len())?;
        if let Some(d) = self.depths.iter().find(|&&d| d == 0) {
            return Err(Error::config(
                "--depth",
                format!("must be at least 1 hidden layer, got {d}"),
            ));
        }
        if let Some(w) = self.widths.iter().find(|&&w| w == 0) {
            return Err(Error::config(
                "--width",
                format!("must be at least 1 unit, got {w}"),
            ));
        }
        if let Some(a) = self.activations.iter().find(|a| !a.is_pointwise()) {
            return Err(Error::config(
                "--activation",
                format!("{a} is an output activation, not a hidden one"),
            ));
        }
        Ok(())
    }
}

/// How each run trains and what it records.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Training {
    /// Optimiser steps per run.
    pub steps: usize,
    /// Mini-batch size.
    pub batch_size: usize,
    /// Record the probe every this many steps (and at step 0).
    pub probe_every: usize,
    /// Parameter and data dtype. f64 by default, so a vanished gradient is measured
    /// rather than rounded to zero.
    pub dtype: DType,
    /// Fraction of the data held out for the test accuracy.
    pub test_fraction: f64,
    /// Samples drawn for the synthetic data sets.
    pub samples: usize,
    /// Batch used for the at-initialisation measurement.
    pub init_batch: usize,
}

impl Training {
    /// Checks the settings.
    ///
    /// # Errors
    /// [`Error::Config`] naming the flag.
    pub fn validate(&self) -> Result<()> {
        if self.steps == 0 {
            return Err(Error::config("--steps", "must be at least 1"));
        }
        if self.batch_size == 0 {
            return Err(Error::config("--batch", "must be at least 1"));
        }
        if self.probe_every == 0 {
            return Err(Error::config("--probe-every", "must be at least 1"));
        }
        if !(self.test_fraction > 0.0 && self.test_fraction < 1.0) {
            return Err(Error::config(
                "--test-fraction",
                format!("must be in (0, 1), got {}", self.test_fraction),
            ));
        }
        if self.samples < 10 {
            return Err(Error::config(
                "--samples",
                format!("must be at least 10, got {}", self.samples),
            ));
        }
        Ok(())
    }
}

/// A whole study: the grid and the training settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StudyConfig {
    /// The grid of runs.
    pub grid: Grid,
    /// Training settings shared by every run.
    pub training: Training,
}

impl StudyConfig {
    /// Checks everything.
    ///
    /// # Errors
    /// [`Error::Config`] naming the flag.
    pub fn validate(&self) -> Result<()> {
        self.grid.validate()?;
        self.training.validate()
    }
}

/// One share of a grid: runs `index, index + count, ...` (1-based), for cluster arrays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// Which share, 1-based.
    pub index: usize,
    /// How many shares.
    pub count: usize,
}

impl Shard {
    /// The whole grid.
    pub fn all() -> Shard {
        Shard { index: 1, count: 1 }
    }

    /// Whether the run at grid position `i` (0-based) belongs to this shard (never, for
    /// an invalid shard: see [`Shard::validate`]).
    pub fn contains(&self, i: usize) -> bool {
        self.count > 0 && self.index >= 1 && i % self.count == self.index - 1
    }

    /// Checks `1 <= index <= count` (the fields are public, so a shard built in code
    /// may be out of range).
    ///
    /// # Errors
    /// [`Error::Config`] naming `--shard`.
    pub fn validate(&self) -> Result<()> {
        if self.count == 0 || self.index == 0 || self.index > self.count {
            return Err(Error::config(
                "--shard",
                format!("{self} is out of range; the form is I/N with 1 <= I <= N, e.g. 3/8"),
            ));
        }
        Ok(())
    }
}

impl FromStr for Shard {
    type Err = Error;

    fn from_str(s: &str) -> Result<Shard> {
        let form = "the form is I/N with 1 <= I <= N, e.g. 3/8";
        let Some((i, n)) = s.split_once('/') else {
            return Err(Error::config(
                "--shard",
                format!("{s:?} is not a shard; {form}"),
            ));
        };
        let (Ok(index), Ok(count)) = (i.trim().parse::<usize>(), n.trim().parse::<usize>()) else {
            return Err(Error::config(
                "--shard",
                format!("{s:?} is not a shard; {form}"),
            ));
        };
        let shard = Shard { index, count };
        shard.validate()?;
        Ok(shard)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> Grid {
        Grid {
            activations: vec![Activation::Relu, Activation::Tanh],
            inits: vec![Init::he()],
            depths: vec![2, 4],
            widths: vec![8],
            datasets: vec![DatasetSpec::Spirals],
            optimisers: vec![OptimSpec::Sgd {
                lr: 0.05,
                momentum: 0.9,
            }],
            seeds: vec![0, 1],
        }
    }

    #[test]
    fn the_grid_has_every_combination_with_unique_ids() {
        let runs = grid().runs();
        assert_eq!(runs.len(), 2 * 2 * 2);
        let mut ids: Vec<String> = runs.iter().map(RunSpec::id).collect();
        assert_eq!(ids[0], "relu-he-d2-w8-spirals-sgd0.05m0.9-s0");
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 8);
    }

    #[test]
    fn extreme_learning_rates_keep_ids_short() {
        let mut g = grid();
        g.optimisers = vec!["sgd:1e300".parse().unwrap(), "adam:1e-300".parse().unwrap()];
        let ids: Vec<String> = g.runs().iter().map(RunSpec::id).collect();
        assert!(ids.contains(&"relu-he-d2-w8-spirals-sgd1e300-s0".to_string()));
        assert!(ids.contains(&"relu-he-d2-w8-spirals-adam1e-300-s0".to_string()));
    }

    #[test]
    fn shards_partition_the_grid() {
        let runs = grid().runs();
        let mut seen = vec![0; runs.len()];
        for i in 1..=3 {
            let shard: Shard = format!("{i}/3").parse().unwrap();
            for (k, _) in runs.iter().enumerate().filter(|(k, _)| shard.contains(*k)) {
                seen[k] += 1;
            }
        }
        assert!(seen.iter().all(|&c| c == 1));
    }

    #[test]
    fn bad_shards_depths_and_rates_are_named() {
        assert_eq!(
            "3/2".parse::<Shard>().unwrap_err().to_string(),
            "--shard: 3/2 is out of range; the form is I/N with 1 <= I <= N, e.g. 3/8"
        );
        assert!("0/2".parse::<Shard>().is_err());
        // Built in code, not parsed: run_study rejects it instead of dividing by zero.
        let zero = Shard { index: 0, count: 0 };
        assert!(!zero.contains(0));
        assert_eq!(
            zero.validate().unwrap_err().to_string(),
            "--shard: 0/0 is out of range; the form is I/N with 1 <= I <= N, e.g. 3/8"
        );
        assert!("x".parse::<Shard>().is_err());
        let mut g = grid();
        g.depths = vec![0];
        assert_eq!(
            g.validate().unwrap_err().to_string(),
            "--depth: must be at least 1 hidden layer, got 0"
        );
        assert_eq!(
            "sgd:-0.1".parse::<OptimSpec>().unwrap_err().to_string(),
            "--optimiser: the learning rate must be a positive number, got -0.1 in \"sgd:-0.1\""
        );
        assert!("sgd:0.1,1.5".parse::<OptimSpec>().is_err());
        assert!("rmsprop:0.1".parse::<OptimSpec>().is_err());
        let e = "mnist".parse::<DatasetSpec>().unwrap_err().to_string();
        assert!(e.contains("valid: spirals, digits"), "{e}");
    }

    #[test]
    fn specs_print_as_they_parse() {
        for s in [
            "sgd:0.05,0.9",
            "sgd:0.1",
            "adam:0.001",
            "sgd:1e300",
            "adam:2.5e-9",
            "sgd:1e12,0.999999999999",
        ] {
            assert_eq!(s.parse::<OptimSpec>().unwrap().to_string(), s);
        }
        for s in ["spirals", "digits", "csv:data/x.csv", "idx:a,b"] {
            assert_eq!(s.parse::<DatasetSpec>().unwrap().to_string(), s);
        }
    }
}
