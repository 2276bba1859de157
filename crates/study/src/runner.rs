//! The study runner: every run of a grid (or of one shard of it) in parallel, each
//! saved as soon as it finishes, with a progress bar.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;

use crate::cli::StudyCommand;
use crate::config::{RunSpec, StudyConfig};
use crate::results::{RunResult, StudyResults, Versions, summary_csv};
use crate::run::{self, PreparedData};
use crate::{Error, Result};

/// Where a run's result is saved.
pub fn run_path(out: &Path, id: &str) -> PathBuf {
    out.join("runs").join(format!("{id}.json"))
}

/// Writes `text` to `path` through a sibling temporary file (`path` + `.tmp`) and a
/// rename, so a reader (or a resumed study after a kill) never sees half a file, and a
/// write that fails (a full disk) leaves the file that was there as it was. The
/// temporary file is removed when the write or the rename fails.
///
/// # Errors
/// [`Error::Io`] naming the file (`path`, not the temporary one).
pub fn write_atomic(path: &Path, contents: impl AsRef<[u8]>) -> Result<()> {
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    std::fs::write(&tmp, contents)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Error::io(path, e)
        })
}

/// Reads a saved run, or `None` if it is absent or unreadable (a run to redo).
pub fn load_run(path: &Path) -> Option<RunResult> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

/// Makes the output directory and checks that it is writable, before any work.
///
/// # Errors
/// [`Error::Io`] naming the directory.
pub fn prepare_output(out: &Path) -> Result<()> {
    // The error names the directory the user gave (`--out`), not the file that failed.
    let cannot = |e: std::io::Error| Error::Io {
        path: out.to_path_buf(),
        reason: format!("cannot write the results there: {e}"),
    };
    let runs = out.join("runs");
    std::fs::create_dir_all(&runs).map_err(cannot)?;
    let probe = runs.join(".write-test");
    std::fs::write(&probe, b"").map_err(cannot)?;
    std::fs::remove_file(&probe).map_err(cannot)
}

/// What a finished study produced.
#[derive(Debug)]
pub struct StudyOutcome {
    /// Results of every run of the shard, in grid order.
    pub results: StudyResults,
    /// Runs computed now (the rest were loaded by `--resume`).
    pub computed: usize,
}

/// Runs a study (one shard of it), saving each run as it finishes and `results.json`
/// and `results.csv` at the end.
///
/// # Errors
/// Configuration, data and I/O errors, each naming what was wrong; a run that
/// diverges is a result, not an error.
pub fn run_study(cmd: &StudyCommand, progress: bool) -> Result<StudyOutcome> {
    cmd.config.validate()?;
    cmd.shard.validate()?;
    let all: Vec<(usize, RunSpec)> = cmd.config.grid.runs().into_iter().enumerate().collect();
    let mine: Vec<(usize, RunSpec)> = all
        .into_iter()
        .filter(|(i, _)| cmd.shard.contains(*i))
        .collect();
    let mut done: HashMap<usize, RunResult> = HashMap::new();
    if cmd.resume {
        for (i, spec) in &mine {
            if let Some(mut r) = load_run(&run_path(&cmd.out, &spec.id())) {
                // A run saved by a study with other training settings (more steps, say)
                // is not this study's; one saved by a study of another grid is, but at
                // its position in this grid.
                if r.spec == *spec && r.training == cmd.config.training {
                    r.index = *i;
                    done.insert(*i, r);
                }
            }
        }
    }
    let todo: Vec<&(usize, RunSpec)> = mine.iter().filter(|(i, _)| !done.contains_key(i)).collect();

    // Each distinct data set is loaded once, before any training and before anything is
    // written, so a bad file stops the study at once with its error and no directory.
    let mut data: Vec<(crate::config::DatasetSpec, PreparedData)> = Vec::new();
    for (_, spec) in &todo {
        if !data.iter().any(|(d, _)| *d == spec.dataset) {
            data.push((
                spec.dataset.clone(),
                run::prepare(&spec.dataset, &cmd.config.training)?,
            ));
        }
    }
    prepare_output(&cmd.out)?;

    let bar = progress_bar(todo.len(), progress);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cmd.threads.unwrap_or(0))
        .build()
        .map_err(|e| Error::config("--threads", e.to_string()))?;
    let failures: Mutex<Vec<Error>> = Mutex::new(Vec::new());
    let computed: Vec<(usize, RunResult)> = pool.install(|| {
        todo.par_iter()
            .filter_map(|(i, spec)| {
                let prepared = data
                    .iter()
                    .find(|(d, _)| *d == spec.dataset)
                    .map(|(_, p)| p)?;
                let id = spec.id();
                let on_step = |step: usize, loss: f64| {
                    bar.set_message(format!("{id}  step {step}  loss {loss:.4}"));
                };
                let outcome = run::run(spec, *i, &cmd.config.training, prepared, &on_step)
                    .and_then(|r| {
                        let text = serde_json::to_string(&r)
                            .map_err(|e| Error::config("results", e.to_string()))?;
                        write_atomic(&run_path(&cmd.out, &r.id), &text)?;
                        Ok(r)
                    });
                bar.inc(1);
                match outcome {
                    Ok(r) => Some((*i, r)),
                    Err(e) => {
                        if let Ok(mut f) = failures.lock() {
                            f.push(Error::config(format!("run {id}"), e.to_string()));
                        }
                        None
                    }
                }
            })
            .collect()
    });
    bar.finish_and_clear();
    if let Some(e) = failures
        .into_inner()
        .ok()
        .and_then(|mut f| (!f.is_empty()).then(|| f.remove(0)))
    {
        return Err(e);
    }
    let n_computed = computed.len();
    done.extend(computed);
    let mut runs: Vec<RunResult> = done.into_values().collect();
    runs.sort_by_key(|r| r.index);
    let results = StudyResults {
        config: cmd.config.clone(),
        versions: Versions::current(),
        runs,
    };
    write_results(&cmd.out, &results)?;
    Ok(StudyOutcome {
        results,
        computed: n_computed,
    })
}

/// Writes `results.json` and `results.csv`.
///
/// # Errors
/// [`Error::Io`] naming the file.
pub fn write_results(out: &Path, results: &StudyResults) -> Result<()> {
    let json = serde_json::to_string_pretty(results)
        .map_err(|e| Error::config("results", e.to_string()))?;
    write_atomic(&out.join("results.json"), &json)?;
    write_atomic(&out.join("results.csv"), summary_csv(&results.runs))
}

/// Reads a `results.json`.
///
/// # Errors
/// [`Error::Io`] naming the file, for a missing or malformed one.
pub fn read_results(dir: &Path) -> Result<StudyResults> {
    let path = dir.join("results.json");
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::Io {
        path,
        reason: format!("not a gradflow results file: {e}"),
    })
}

/// Joins the results of several shards (or partial studies) of one grid.
///
/// # Errors
/// [`Error::Config`] if the shards were run with different configurations, or if a
/// run appears twice with different results; I/O errors naming the file.
pub fn merge(inputs: &[PathBuf]) -> Result<StudyResults> {
    let mut config: Option<StudyConfig> = None;
    let mut runs: HashMap<usize, RunResult> = HashMap::new();
    for dir in inputs {
        let r = read_results(dir)?;
        match &config {
            None => config = Some(r.config.clone()),
            Some(c) if *c != r.config => {
                return Err(Error::config(
                    "merge",
                    format!(
                        "{} was run with another configuration than {}",
                        dir.display(),
                        inputs[0].display()
                    ),
                ));
            }
            Some(_) => {}
        }
        for run in r.runs {
            if let Some(prev) = runs.get(&run.index)
                && !prev.same_as(&run)
            {
                return Err(Error::config(
                    "merge",
                    format!("run {} appears twice with different results", run.id),
                ));
            }
            runs.insert(run.index, run);
        }
    }
    let Some(config) = config else {
        return Err(Error::config(
            "merge",
            "needs at least one results directory",
        ));
    };
    let mut runs: Vec<RunResult> = runs.into_values().collect();
    runs.sort_by_key(|r| r.index);
    Ok(StudyResults {
        config,
        versions: Versions::current(),
        runs,
    })
}

fn progress_bar(len: usize, visible: bool) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(
        Some(len as u64),
        if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} run {pos}/{len} [{elapsed}] {wide_msg}")
    {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}
