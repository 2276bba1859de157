//! Shards: the grid split with `--shard i/n`, each share run on its own, and the
//! shares merged, gives what the unsharded study gives.
#![expect(
    clippy::unwrap_used,
    reason = "in tests a failed unwrap is a failed test"
)]

mod common;

use std::path::{Path, PathBuf};

use gradflow_study::config::{Shard, StudyConfig};
use gradflow_study::results::StudyResults;
use gradflow_study::runner;

/// Runs share `shard` of `config` into `out`, on one thread when sharded (so runs
/// trained alone are compared with runs trained beside others).
fn run_shard(config: &StudyConfig, out: &Path, shard: Shard) -> StudyResults {
    let mut cmd = common::command(config, out);
    cmd.shard = shard;
    if shard.count > 1 {
        cmd.threads = Some(1);
    }
    runner::run_study(&cmd, false).unwrap().results
}

/// `results.csv` of `dir` without its `wall_time_s` column.
fn csv_without_time(dir: &Path) -> Vec<Vec<String>> {
    let mut rows = common::csv_rows(&std::fs::read_to_string(dir.join("results.csv")).unwrap());
    let time = rows[0].iter().position(|c| c == "wall_time_s").unwrap();
    for row in &mut rows {
        row.remove(time);
    }
    rows
}

#[test]
fn shards_merged_equal_the_unsharded_study() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::tiny();
    config.grid.seeds = vec![0, 1];
    let whole_dir = dir.path().join("whole");
    let whole = run_shard(&config, &whole_dir, Shard::all());
    assert_eq!(whole.runs.len(), 8);

    let shard_dirs: Vec<PathBuf> = (1..=2)
        .map(|i| dir.path().join(format!("shard{i}")))
        .collect();
    for (i, shard_dir) in shard_dirs.iter().enumerate() {
        let part = run_shard(
            &config,
            shard_dir,
            Shard {
                index: i + 1,
                count: 2,
            },
        );
        // Share i of 2 holds grid positions i - 1, i + 1, ...
        assert_eq!(part.runs.len(), 4);
        assert!(part.runs.iter().all(|r| r.index % 2 == i));
    }
    // Merged in either order.
    let merged = runner::merge(&shard_dirs).unwrap();
    common::assert_same_runs(&whole, &merged);
    let reversed: Vec<PathBuf> = shard_dirs.iter().rev().cloned().collect();
    common::assert_same_runs(&whole, &runner::merge(&reversed).unwrap());

    let merged_dir = dir.path().join("merged");
    runner::prepare_output(&merged_dir).unwrap();
    runner::write_results(&merged_dir, &merged).unwrap();
    assert_eq!(csv_without_time(&merged_dir), csv_without_time(&whole_dir));
}

#[test]
fn merge_refuses_shards_of_different_studies() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::tiny();
    config.grid.inits.truncate(1);
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    run_shard(&config, &a, Shard { index: 1, count: 2 });
    config.training.steps = 16;
    run_shard(&config, &b, Shard { index: 2, count: 2 });
    let e = runner::merge(&[a.clone(), b.clone()])
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        format!(
            "merge: {} was run with another configuration than {}",
            b.display(),
            a.display()
        )
    );
}
