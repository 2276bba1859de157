//! Studies that cannot run: each stops with a one-line error that names what is wrong,
//! before anything is written.
#![expect(
    clippy::unwrap_used,
    reason = "in tests a failed unwrap is a failed test"
)]

mod common;

use gradflow_study::cli::StudyCommand;
use gradflow_study::config::{DatasetSpec, Shard};
use gradflow_study::runner;

/// The error `cmd` stops with, checked to be one line.
fn error_of(cmd: &StudyCommand) -> String {
    let e = runner::run_study(cmd, false).unwrap_err().to_string();
    assert!(!e.contains('\n'), "{e}");
    e
}

#[test]
fn a_missing_data_file_stops_the_study_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    let mut config = common::tiny();
    config.grid.datasets = vec![DatasetSpec::Csv(dir.path().join("missing.csv"))];
    let e = error_of(&common::command(&config, &out));
    assert!(e.contains("missing.csv"), "{e}");
    assert!(!out.exists(), "{} was created", out.display());
}

#[test]
fn an_output_path_under_a_file_is_a_one_line_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, "not a directory").unwrap();
    let out = file.join("report");
    let e = error_of(&common::command(&common::tiny(), &out));
    assert!(
        e.starts_with(&format!(
            "{}: cannot write the results there: ",
            out.display()
        )),
        "{e}"
    );
}

#[test]
fn a_shard_built_out_of_range_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = common::command(&common::tiny(), dir.path());
    cmd.shard = Shard { index: 0, count: 0 };
    let e = error_of(&cmd);
    assert!(e.starts_with("--shard: 0/0 is out of range"), "{e}");
    assert!(common::files(dir.path()).is_empty());
}
