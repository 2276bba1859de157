//! The `gradflow` command against hostile flags, files and directories, with a report
//! already in `--out`: bad flags (`--shard 3/2`, `--depth 0`, a negative learning
//! rate), a CSV with a ragged row, an IDX file whose header lies about its size, a full
//! disk (a write that fails with ENOSPC, through `/dev/full`) while saving a run, the
//! results or a chart, and a read-only directory. Each is a one-line error on stderr
//! that names the flag and value (with the valid range) or the file (with the line or
//! byte offset), a non-zero exit, no panic, and the existing report left as it was.
//!
//! `tests/study_command.rs` checks the same flags into a fresh directory (nothing is
//! created); this file checks that an existing one is not touched.
#![expect(
    clippy::unwrap_used,
    reason = "in tests a failed unwrap is a failed test"
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// Two runs (tanh and ReLU), 3 hidden layers of 8 units, 40 steps: a report in well
/// under a second of training.
const STUDY: &[&str] = &[
    "--activation",
    "tanh,relu",
    "--init",
    "standard",
    "--depth",
    "3",
    "--width",
    "8",
    "--steps",
    "40",
    "--probe-every",
    "10",
    "--batch",
    "32",
    "--samples",
    "128",
    "--threads",
    "1",
];

fn gradflow() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gradflow"))
}

/// Runs `gradflow` with the study's flags (but those that `extra` sets), `extra` and
/// `--out`.
fn study(out: &Path, extra: &[&str]) -> Output {
    let mut args: Vec<&str> = Vec::new();
    for pair in STUDY.chunks(2) {
        if !extra.contains(&pair[0]) {
            args.extend(pair);
        }
    }
    gradflow()
        .args(args)
        .args(extra)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

/// Every entry under `dir` by relative path: a file's bytes, a symlink's target, or
/// nothing for a directory.
type Snapshot = BTreeMap<PathBuf, Entry>;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    Dir,
    File(Vec<u8>),
    Link(PathBuf),
}

fn snapshot(dir: &Path) -> Snapshot {
    fn walk(root: &Path, dir: &Path, out: &mut Snapshot) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.file_type().is_symlink() {
                out.insert(rel, Entry::Link(std::fs::read_link(&path).unwrap()));
            } else if meta.is_dir() {
                out.insert(rel, Entry::Dir);
                walk(root, &path, out);
            } else {
                out.insert(rel, Entry::File(std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = Snapshot::new();
    walk(dir, dir, &mut out);
    out
}

/// A finished study's report, made once and copied into each test's directory.
fn existing_report() -> &'static Snapshot {
    static REPORT: OnceLock<Snapshot> = OnceLock::new();
    REPORT.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("report");
        let output = study(&out, &[]);
        assert!(
            output.status.success(),
            "the study failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let snap = snapshot(&out);
        for needed in [
            "results.json",
            "results.csv",
            "index.html",
            "runs",
            "charts",
        ] {
            assert!(
                snap.contains_key(Path::new(needed)),
                "no {needed} in the report"
            );
        }
        snap
    })
}

/// Writes a snapshot out as a directory at `dir`.
fn restore(snap: &Snapshot, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for (rel, entry) in snap {
        let path = dir.join(rel);
        match entry {
            Entry::Dir => std::fs::create_dir_all(&path).unwrap(),
            Entry::File(bytes) => std::fs::write(&path, bytes).unwrap(),
            Entry::Link(target) => symlink(target, &path),
        }
    }
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) {
    std::os::unix::fs::symlink(target, link).unwrap();
}

#[cfg(not(unix))]
fn symlink(_: &Path, _: &Path) {
    panic!("symbolic links are only made on Unix here");
}

/// A copy of the existing report in a fresh directory: (guard, the report's path).
fn report_copy() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    restore(existing_report(), &out);
    (dir, out)
}

/// Checks that `out` holds exactly the existing report, naming what differs.
fn assert_unchanged(out: &Path, what: &str) {
    let now = snapshot(out);
    let before = existing_report();
    let describe = |e: Option<&Entry>| match e {
        None => "absent".to_string(),
        Some(Entry::Dir) => "a directory".to_string(),
        Some(Entry::File(b)) => format!("{} bytes", b.len()),
        Some(Entry::Link(t)) => format!("a link to {}", t.display()),
    };
    let mut differ: Vec<String> = now
        .keys()
        .chain(before.keys())
        .filter(|rel| now.get(*rel) != before.get(*rel))
        .map(|rel| {
            format!(
                "{} (was {}, now {})",
                rel.display(),
                describe(before.get(rel)),
                describe(now.get(rel))
            )
        })
        .collect();
    differ.dedup();
    assert!(differ.is_empty(), "{what}: the report changed: {differ:?}");
}

/// Checks a refused command: non-zero exit, stderr one line `gradflow: <expected>`
/// (exactly, when `exact`; else starting so), no panic.
fn assert_one_line_error(output: &Output, expected: &str, exact: bool) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "succeeded; stderr: {stderr}");
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "not one line: {stderr}");
    let line = stderr.trim_end();
    let expected = format!("gradflow: {expected}");
    if exact {
        assert_eq!(line, expected);
    } else {
        assert!(
            line.starts_with(&expected),
            "{line}\n  expected: {expected}..."
        );
    }
}

#[test]
fn bad_flags_are_one_line_errors_naming_flag_value_and_range_and_keep_the_report() {
    let cases: [(&[&str], &str); 7] = [
        (
            &["--shard", "3/2"],
            "--shard: 3/2 is out of range; the form is I/N with 1 <= I <= N, e.g. 3/8",
        ),
        (
            &["--depth", "0"],
            "--depth: must be at least 1 hidden layer, got 0",
        ),
        (
            &["--lr", "-0.1"],
            "--lr: the learning rate must be a positive number, got -0.1",
        ),
        (
            &["--optimiser", "sgd:-0.1"],
            "--optimiser: the learning rate must be a positive number, got -0.1 in \"sgd:-0.1\"",
        ),
        (&["--steps", "0"], "--steps: must be at least 1"),
        // These two aborted the process, asking the allocator for 160 TB and 1.6 PB.
        (
            &["--width", "10000000000000"],
            "--width: must be at most 65536 units, got 10000000000000",
        ),
        (
            &["--samples", "100000000000000"],
            "--samples: must be 10 to 10000000, got 100000000000000",
        ),
    ];
    for (flags, expected) in cases {
        let (_guard, out) = report_copy();
        // With --resume too: a resumed study must not touch the report either.
        for resume in [false, true] {
            let mut extra = flags.to_vec();
            if resume {
                extra.push("--resume");
            }
            let output = study(&out, &extra);
            assert_one_line_error(&output, expected, true);
            assert_unchanged(&out, &format!("{flags:?}"));
        }
    }
}

#[test]
fn a_ragged_csv_is_a_one_line_error_naming_file_and_line_and_keeps_the_report() {
    let (guard, out) = report_copy();
    let csv = guard.path().join("ragged.csv");
    std::fs::write(&csv, "0.5,1.5,0\n2.0,3.0,1\n4.0,1\n1.0,2.0,0\n").unwrap();
    let output = study(&out, &["--dataset", &format!("csv:{}", csv.display())]);
    assert_one_line_error(
        &output,
        &format!(
            "{}:line 3: expected 3 columns (as on line 1), found 2",
            csv.display()
        ),
        true,
    );
    assert_unchanged(&out, "");
}

/// An IDX file of unsigned bytes: magic `00 00 08 ndims`, big-endian sizes, data.
fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, u8::try_from(dims.len()).unwrap()];
    for d in dims {
        out.extend(d.to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

#[test]
fn an_idx_header_that_lies_about_its_size_is_a_one_line_error_and_keeps_the_report() {
    let (guard, out) = report_copy();
    let images = guard.path().join("images.idx");
    let labels = guard.path().join("labels.idx");
    // The header claims 4,294,967,295 images of 28x28; the file holds one.
    std::fs::write(&images, idx(&[u32::MAX, 28, 28], &[7; 784])).unwrap();
    std::fs::write(&labels, idx(&[1], &[3])).unwrap();
    let spec = format!("idx:{},{}", images.display(), labels.display());
    let output = study(&out, &["--dataset", &spec]);
    assert_one_line_error(
        &output,
        &format!("{}:offset 800: the data is truncated", images.display()),
        false,
    );
    assert_unchanged(&out, "");
}

/// Whether writes to `/dev/full` fail with ENOSPC here (Linux, most Unixes).
fn dev_full() -> bool {
    let ok = std::fs::write("/dev/full", b"x")
        .err()
        .is_some_and(|e| e.raw_os_error() == Some(28));
    if !ok {
        eprintln!("no /dev/full that fails writes with ENOSPC: the full-disk cases are skipped");
    }
    ok
}

fn assert_no_tmp_left(out: &Path) {
    for rel in snapshot(out).keys() {
        assert!(
            !rel.to_string_lossy().ends_with(".tmp"),
            "{} left behind",
            rel.display()
        );
    }
}

/// The message of ENOSPC, as the OS words it.
fn enospc() -> String {
    std::io::Error::from_raw_os_error(28).to_string()
}

#[test]
fn a_full_disk_while_writing_the_results_is_a_one_line_error_and_keeps_the_old_ones() {
    if !dev_full() {
        return;
    }
    // Every run is saved already (--resume loads them); the results are written through
    // `results.json.tmp`, which leads to /dev/full: the write fails with ENOSPC as on a
    // full disk.
    let (_guard, out) = report_copy();
    symlink(Path::new("/dev/full"), &out.join("results.json.tmp"));
    let output = study(&out, &["--resume"]);
    assert_one_line_error(
        &output,
        &format!("{}: {}", out.join("results.json").display(), enospc()),
        true,
    );
    // The old results, report and runs are as they were; the temporary file is gone.
    assert_unchanged(&out, "");
    assert_no_tmp_left(&out);
}

#[test]
fn a_full_disk_while_writing_a_chart_is_a_one_line_error_and_keeps_the_old_chart() {
    if !dev_full() {
        return;
    }
    let (_guard, out) = report_copy();
    let chart = existing_report()
        .keys()
        .find(|rel| rel.starts_with("charts") && rel.extension().is_some_and(|e| e == "svg"))
        .unwrap()
        .clone();
    let tmp = format!("{}.tmp", chart.display());
    symlink(Path::new("/dev/full"), &out.join(&tmp));
    let output = study(&out, &["--resume"]);
    assert_one_line_error(
        &output,
        &format!("{}: {}", out.join(&chart).display(), enospc()),
        true,
    );
    // The chart that could not be written is the old one, and so is the page, written
    // last. The results are rewritten from the same runs before the report (the same
    // bytes). Charts written before the failure are whole new ones: each file is
    // replaced at once by a rename, the report is not (the activation-cost chart, which
    // times the activations, differs from run to run).
    let now = snapshot(&out);
    let before = existing_report();
    for rel in [chart.as_path(), Path::new("index.html")] {
        assert!(now[rel] == before[rel], "{} changed", rel.display());
    }
    for (rel, entry) in before {
        if !rel.starts_with("charts") {
            assert!(now.get(rel) == Some(entry), "{} changed", rel.display());
        }
    }
    assert_eq!(
        now.keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>(),
        "files were added or removed"
    );
    assert_no_tmp_left(&out);
}

#[test]
fn a_full_disk_while_saving_a_run_is_a_one_line_error_and_keeps_the_old_results() {
    if !dev_full() {
        return;
    }
    let (_guard, out) = report_copy();
    let run = existing_report()
        .keys()
        .find(|rel| rel.starts_with("runs") && rel.extension().is_some_and(|e| e == "json"))
        .unwrap()
        .clone();
    let id = run.file_stem().unwrap().to_string_lossy().into_owned();
    symlink(
        Path::new("/dev/full"),
        &out.join(format!("{}.tmp", run.display())),
    );
    // Not resumed: every run trains again, and saving this one fails.
    let output = study(&out, &[]);
    assert_one_line_error(
        &output,
        &format!("run {id}: {}: {}", out.join(&run).display(), enospc()),
        true,
    );
    // The study stops before the results and the report: those are the old ones, and
    // the run that could not be saved keeps its old file.
    let now = snapshot(&out);
    for rel in ["results.json", "results.csv", "index.html"] {
        assert!(
            now[Path::new(rel)] == existing_report()[Path::new(rel)],
            "{rel} changed"
        );
    }
    assert!(
        now[&run] == existing_report()[&run],
        "{} changed",
        run.display()
    );
    for (rel, entry) in existing_report() {
        if rel.starts_with("charts") {
            assert!(now.get(rel) == Some(entry), "{} changed", rel.display());
        }
    }
    assert_eq!(
        now.keys().collect::<Vec<_>>(),
        existing_report().keys().collect::<Vec<_>>(),
        "files were added or removed"
    );
    assert_no_tmp_left(&out);
}

#[test]
fn a_read_only_report_directory_is_a_one_line_error_and_keeps_the_report() {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let (_guard, out) = report_copy();
        let set = |mode: u32| {
            for (rel, entry) in existing_report() {
                if *entry == Entry::Dir {
                    std::fs::set_permissions(out.join(rel), std::fs::Permissions::from_mode(mode))
                        .unwrap();
                }
            }
            std::fs::set_permissions(&out, std::fs::Permissions::from_mode(mode)).unwrap();
        };
        set(0o555);
        let probe = out.join("runs").join("probe");
        if std::fs::write(&probe, "").is_ok() {
            // Root (or CAP_DAC_OVERRIDE) writes through any mode bits: no read-only
            // directory can be made here. The unwritable-directory error is checked by
            // tests/study_command.rs with a path under a regular file (ENOTDIR), and the
            // full-disk cases above check that a failed write keeps the old report.
            let _ = std::fs::remove_file(&probe);
            set(0o755);
            eprintln!(
                "running as root: mode 0555 does not stop root's writes, so the \
                 read-only directory case is not checked here"
            );
            return;
        }
        let output = study(&out, &[]);
        set(0o755);
        assert_one_line_error(
            &output,
            &format!("{}: cannot write the results there: ", out.display()),
            false,
        );
        assert_unchanged(&out, "");
    }
}
