//! The `gradflow` command itself: a study killed with SIGKILL at a random moment and
//! resumed gives the results of an uninterrupted one, with no partial file left; shards
//! run by the command merge into the unsharded results; bad flags and unwritable
//! directories are one-line errors that write nothing.
#![expect(
    clippy::unwrap_used,
    reason = "in tests a failed unwrap is a failed test"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use gradflow::study::results::{RunResult, StudyResults};

/// Six runs (sigmoid, tanh and ReLU with the standard and He inits) of 6 hidden layers,
/// 300 steps each: about a second of runs, then the report, on two cores.
const STUDY: &[&str] = &[
    "--activation",
    "sigmoid,tanh,relu",
    "--init",
    "standard,he",
    "--depth",
    "6",
    "--width",
    "16",
    "--steps",
    "300",
    "--probe-every",
    "10",
    "--batch",
    "32",
    "--samples",
    "400",
    "--threads",
    "2",
];

fn gradflow() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gradflow"))
}

/// Runs `gradflow` with the study's flags, `extra` and `--out out`.
fn study(out: &Path, extra: &[&str]) -> Output {
    gradflow()
        .args(STUDY)
        .args(extra)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "gradflow failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn read_results(dir: &Path) -> StudyResults {
    serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap()
}

fn assert_same_runs(a: &StudyResults, b: &StudyResults) {
    assert_eq!(a.config, b.config);
    assert_eq!(a.runs.len(), b.runs.len());
    for (x, y) in a.runs.iter().zip(&b.runs) {
        assert!(x.same_as(y), "{} differs from {}", x.id, y.id);
    }
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The uninterrupted study (written in the target directory, replaced on every test
/// run): its results, when its `results.json` appeared (every run done, the report
/// next) and how long it took in all.
struct Uninterrupted {
    results: StudyResults,
    runs_done: Duration,
    took: Duration,
}

fn uninterrupted() -> &'static Uninterrupted {
    static RUN: OnceLock<Uninterrupted> = OnceLock::new();
    RUN.get_or_init(|| {
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("study-command-uninterrupted");
        if out.exists() {
            std::fs::remove_dir_all(&out).unwrap();
        }
        let start = Instant::now();
        let mut child = gradflow()
            .args(STUDY)
            .arg("--out")
            .arg(&out)
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let mut runs_done = None;
        let status = loop {
            if runs_done.is_none() && out.join("results.json").exists() {
                runs_done = Some(start.elapsed());
            }
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let took = start.elapsed();
        assert!(status.success());
        assert!(out.join("index.html").is_file());
        Uninterrupted {
            results: read_results(&out),
            runs_done: runs_done.unwrap_or(took),
            took,
        }
    })
}

/// splitmix64: the kill delays are random but the same on every run of the test.
fn splitmix(state: &mut u64) -> f64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// Asserts that no file under `dir` is one a reader could take for a result and find
/// cut short: no `*.tmp` is left, and every JSON file parses.
fn assert_no_partial_results(dir: &Path, after: &str) {
    for f in files(dir) {
        let name = f.to_string_lossy();
        assert!(!name.ends_with(".tmp"), "{after}: {name} left behind");
        if name.ends_with(".json") {
            let text = std::fs::read_to_string(&f).unwrap();
            if f.parent().is_some_and(|p| p.ends_with("runs")) {
                serde_json::from_str::<RunResult>(&text)
                    .unwrap_or_else(|e| panic!("{after}: {name} is not a run: {e}"));
            } else {
                serde_json::from_str::<StudyResults>(&text)
                    .unwrap_or_else(|e| panic!("{after}: {name} is not results: {e}"));
            }
        }
    }
}

#[cfg(unix)]
#[test]
fn a_study_killed_at_random_moments_and_resumed_gives_the_uninterrupted_results() {
    let whole = uninterrupted();
    let dir = tempfile::tempdir().unwrap();
    let mut seed = 0x6772_6164_666c_6f77; // "gradflow"
    // Two kills while the runs train, one while the report is written, each at a random
    // (seeded) moment of its phase.
    let (runs, report) = (whole.runs_done, whole.took.saturating_sub(whole.runs_done));
    let delays = [
        runs.mul_f64(0.1 + 0.8 * splitmix(&mut seed)),
        runs.mul_f64(0.1 + 0.8 * splitmix(&mut seed)),
        runs + report.mul_f64(0.1 + 0.8 * splitmix(&mut seed)),
    ];
    for (attempt, delay) in delays.into_iter().enumerate() {
        let out = dir.path().join(format!("killed{attempt}"));
        let mut child = gradflow()
            .args(STUDY)
            .arg("--out")
            .arg(&out)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        child.kill().unwrap(); // SIGKILL on unix: no chance to clean up
        child.wait().unwrap();
        // Whatever was saved is whole (a *.tmp may be left: the resume replaces it).
        let saved = files(&out.join("runs"))
            .iter()
            .filter(|f| f.extension().is_some_and(|e| e == "json"))
            .inspect(|f| {
                let text = std::fs::read_to_string(f).unwrap();
                serde_json::from_str::<RunResult>(&text)
                    .unwrap_or_else(|e| panic!("{} is cut short: {e}", f.display()));
            })
            .count();
        eprintln!(
            "killed after {delay:?} (runs done at {:?}, all at {:?}): {saved} of {} runs saved",
            whole.runs_done,
            whole.took,
            whole.results.runs.len()
        );

        let resumed = study(&out, &["--resume"]);
        assert_success(&resumed);
        let stdout = String::from_utf8_lossy(&resumed.stdout);
        if saved > 0 && saved < whole.results.runs.len() {
            assert!(
                stdout.contains(&format!("({saved} run(s) loaded from an earlier")),
                "{stdout}"
            );
        }
        assert_same_runs(&read_results(&out), &whole.results);
        assert!(out.join("index.html").is_file());
        assert_no_partial_results(&out, &format!("resume after {delay:?}"));
    }
}

#[test]
fn shards_run_by_the_command_merge_into_the_unsharded_results() {
    let whole = &uninterrupted().results;
    let dir = tempfile::tempdir().unwrap();
    let shards: Vec<PathBuf> = (1..=2)
        .map(|i| dir.path().join(format!("shard{i}")))
        .collect();
    for (i, out) in shards.iter().enumerate() {
        let output = study(out, &["--shard", &format!("{}/2", i + 1)]);
        assert_success(&output);
        // A shard saves its results; the report is the merge's.
        assert!(out.join("results.json").is_file());
        assert!(!out.join("index.html").exists());
    }

    // One shard alone: merged, with a warning that runs are missing.
    let partial = dir.path().join("partial");
    let output = gradflow()
        .arg("merge")
        .arg(&shards[0])
        .arg("--out")
        .arg(&partial)
        .output()
        .unwrap();
    assert_success(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("warning: 3 of the grid's 6 runs are in none of these directories"),
        "{stderr}"
    );

    let merged = dir.path().join("merged");
    let output = gradflow()
        .arg("merge")
        .args(&shards)
        .arg("--out")
        .arg(&merged)
        .output()
        .unwrap();
    assert_success(&output);
    assert!(
        output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_same_runs(&read_results(&merged), whole);
    assert!(merged.join("index.html").is_file());
    assert_no_partial_results(&merged, "merge");
}

/// Runs `gradflow` with `args` and `--out`, expecting a one-line error that contains
/// `expected`, a non-zero exit, and no output directory.
fn assert_refused(args: &[&str], expected: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    let output = gradflow()
        .args(args)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{args:?} succeeded");
    assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    assert!(stderr.starts_with("gradflow: "), "{args:?}: {stderr}");
    assert!(
        !stderr.starts_with("gradflow: gradflow:"),
        "{args:?}: {stderr}"
    );
    assert!(stderr.contains(expected), "{args:?}: {stderr}");
    assert!(!out.exists(), "{args:?} wrote {}", out.display());
}

#[test]
fn bad_flags_are_one_line_errors_and_write_nothing() {
    assert_refused(&["--shard", "3/2"], "--shard: 3/2 is out of range");
    assert_refused(
        &["--depth", "0"],
        "--depth: must be at least 1 hidden layer",
    );
    assert_refused(
        &["--depth", "4,-1"],
        "--depth: \"-1\" is not a whole number",
    );
    assert_refused(
        &["--lr", "-0.1"],
        "--lr: the learning rate must be a positive number",
    );
    assert_refused(
        &["--optimiser", "sgd:-1"],
        "--optimiser: the learning rate must be a positive number",
    );
    assert_refused(
        &["--lr", "nan"],
        "--lr: the learning rate must be a positive number",
    );
    assert_refused(&["--steps", "0"], "--steps: must be at least 1");
    assert_refused(
        &["--activation", "softmax"],
        "is an output activation, not a hidden one",
    );
    assert_refused(
        &["--dataset", "csv:/nonexistent/train.csv"],
        "/nonexistent/train.csv",
    );
    assert_refused(
        &["--dept", "3"],
        "command line: unexpected argument '--dept'",
    );
}

#[test]
fn an_unwritable_output_directory_is_a_one_line_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    // Under a regular file: no one can create a directory there.
    let file = dir.path().join("file");
    std::fs::write(&file, "").unwrap();
    let out = file.join("report");
    let output = study(&out, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "gradflow: {}: cannot write the results there",
            out.display()
        )),
        "{stderr}"
    );

    // A read-only directory (not for root, who may write anywhere).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let read_only = dir.path().join("read-only");
        std::fs::create_dir(&read_only).unwrap();
        std::fs::set_permissions(&read_only, std::fs::Permissions::from_mode(0o555)).unwrap();
        let root = std::fs::write(read_only.join("probe"), "").is_ok();
        if root {
            eprintln!("running as root: the read-only directory is writable, not checked");
        } else {
            let output = study(&read_only, &[]);
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(!output.status.success());
            assert_eq!(stderr.lines().count(), 1, "{stderr}");
            assert!(
                stderr.starts_with(&format!(
                    "gradflow: {}: cannot write the results there",
                    read_only.display()
                )),
                "{stderr}"
            );
            assert!(files(&read_only).is_empty());
        }
        std::fs::set_permissions(&read_only, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}
