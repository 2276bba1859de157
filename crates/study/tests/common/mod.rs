//! Helpers shared by the study's integration tests: a grid small enough to run in a
//! second or two on two cores, and the command that runs it.
#![allow(
    dead_code,
    reason = "each test binary uses its own subset of these helpers"
)]

use std::path::Path;

use gradflow_autograd::Activation;
use gradflow_nn::init::Init;
use gradflow_study::cli::{self, StudyCommand};
use gradflow_study::config::{Shard, StudyConfig};
use gradflow_study::results::StudyResults;

/// Sigmoid and ReLU, each with the standard and He initialisations, 4 hidden layers of
/// 12 units, 24 steps of Adam on 240 two-spirals samples, probed every 8 steps: four
/// runs with every part of the report (claims, panels, heat maps, histograms).
pub fn tiny() -> StudyConfig {
    let mut grid = cli::default_grid();
    grid.activations = vec![Activation::Sigmoid, Activation::Relu];
    grid.inits = vec![Init::Standard, Init::he()];
    grid.depths = vec![4];
    grid.widths = vec![12];
    grid.seeds = vec![0];
    let mut training = cli::default_training();
    training.steps = 24;
    training.probe_every = 8;
    training.batch_size = 32;
    training.samples = 240;
    StudyConfig { grid, training }
}

/// The whole grid of `config` into `out`, without `--resume`, on every core.
pub fn command(config: &StudyConfig, out: &Path) -> StudyCommand {
    StudyCommand {
        config: config.clone(),
        out: out.to_path_buf(),
        shard: Shard::all(),
        resume: false,
        threads: None,
    }
}

/// Asserts that two studies produced the same runs, wall times aside.
pub fn assert_same_runs(a: &StudyResults, b: &StudyResults) {
    assert_eq!(a.config, b.config);
    assert_eq!(a.runs.len(), b.runs.len());
    for (x, y) in a.runs.iter().zip(&b.runs) {
        assert!(x.same_as(y), "{} differs from {}", x.id, y.id);
    }
}

/// Every file under `dir`, recursively, relative to it, sorted.
pub fn files(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else if let Ok(rel) = p.strip_prefix(root) {
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// The rows of a CSV text (header first), splitting on commas outside double quotes
/// and undoubling quotes inside them.
pub fn csv_rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(|line| {
            let mut cells = vec![String::new()];
            let mut quoted = false;
            let mut chars = line.chars().peekable();
            while let Some(c) = chars.next() {
                match c {
                    '"' if quoted && chars.peek() == Some(&'"') => {
                        chars.next();
                        if let Some(s) = cells.last_mut() {
                            s.push('"');
                        }
                    }
                    '"' => quoted = !quoted,
                    ',' if !quoted => cells.push(String::new()),
                    c => {
                        if let Some(s) = cells.last_mut() {
                            s.push(c);
                        }
                    }
                }
            }
            cells
        })
        .collect()
}
