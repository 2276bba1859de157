//! `--resume`: a study picks up the runs an earlier one saved, redoes exactly the ones
//! missing, and never reuses a run that another configuration produced.
#![expect(
    clippy::unwrap_used,
    reason = "in tests a failed unwrap is a failed test"
)]

mod common;

use gradflow_autograd::Activation;
use gradflow_study::cli::StudyCommand;
use gradflow_study::runner::{self, StudyOutcome, run_path};

/// `cmd` again with `--resume`.
fn resume(cmd: &StudyCommand) -> StudyOutcome {
    let cmd = StudyCommand {
        resume: true,
        ..cmd.clone()
    };
    runner::run_study(&cmd, false).unwrap()
}

#[test]
fn resume_after_deleting_runs_recomputes_exactly_those() {
    let dir = tempfile::tempdir().unwrap();
    let config = common::tiny();
    let cmd = common::command(&config, dir.path());
    let first = runner::run_study(&cmd, false).unwrap();
    assert_eq!(first.computed, 4);

    let runs = &first.results.runs;
    let deleted = [&runs[1], &runs[2]];
    let kept = [&runs[0], &runs[3]];
    for r in deleted {
        std::fs::remove_file(run_path(dir.path(), &r.id)).unwrap();
    }
    let kept_bytes: Vec<Vec<u8>> = kept
        .iter()
        .map(|r| std::fs::read(run_path(dir.path(), &r.id)).unwrap())
        .collect();

    let resumed = resume(&cmd);
    assert_eq!(resumed.computed, deleted.len());
    common::assert_same_runs(&first.results, &resumed.results);
    for (r, bytes) in kept.iter().zip(&kept_bytes) {
        // Loaded, not rewritten: the wall time (which differs between two computations
        // of a run) is the saved one.
        assert_eq!(&std::fs::read(run_path(dir.path(), &r.id)).unwrap(), bytes);
    }
    for r in deleted {
        assert!(run_path(dir.path(), &r.id).exists());
    }

    // Everything saved: a second resume computes nothing.
    let again = resume(&cmd);
    assert_eq!(again.computed, 0);
    common::assert_same_runs(&first.results, &again.results);
}

#[test]
fn resume_redoes_runs_saved_with_other_training_settings() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::tiny();
    config.grid.inits.truncate(1);
    runner::run_study(&common::command(&config, dir.path()), false).unwrap();

    // The same grid trained for fewer steps: no saved run is this study's.
    config.training.steps = 16;
    let resumed = resume(&common::command(&config, dir.path()));
    assert_eq!(resumed.computed, 2);
    for r in &resumed.results.runs {
        assert_eq!(r.steps_done, 16, "{}", r.id);
        assert_eq!(r.training, config.training);
    }
}

#[test]
fn resume_after_the_grid_grew_keeps_saved_runs_at_their_new_positions() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::tiny();
    config.grid.inits.truncate(1);
    config.grid.activations = vec![Activation::Relu];
    runner::run_study(&common::command(&config, dir.path()), false).unwrap();

    // sigmoid comes before relu in the grown grid: relu moves from position 0 to 1.
    config.grid.activations = vec![Activation::Sigmoid, Activation::Relu];
    let resumed = resume(&common::command(&config, dir.path()));
    assert_eq!(resumed.computed, 1);
    let indices: Vec<usize> = resumed.results.runs.iter().map(|r| r.index).collect();
    assert_eq!(indices, [0, 1]);

    let fresh_dir = tempfile::tempdir().unwrap();
    let fresh = runner::run_study(&common::command(&config, fresh_dir.path()), false).unwrap();
    common::assert_same_runs(&fresh.results, &resumed.results);
    // Both runs survive a merge (it keys runs by position).
    let merged = runner::merge(&[dir.path().to_path_buf()]).unwrap();
    assert_eq!(merged.runs.len(), 2);
}
