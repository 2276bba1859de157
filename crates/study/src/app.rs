//! What each `gradflow` subcommand does, and the terminal output.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::Path;

use gradflow_nn::probe::RecordKind;
use gradflow_nn::theory::{MeanField, critical_sigma_w2};

use crate::cli::{self, Command, ProbeCommand, TheoryCommand};
use crate::results::{RunResult, RunStatus, StudyResults};
use crate::{Error, Result, report, run, runner};

/// Runs the command line `args` (including the program name); returns the exit code.
/// Errors are printed as one line on stderr.
pub fn main_with_args(args: impl IntoIterator<Item = std::ffi::OsString>) -> i32 {
    match cli::parse(args).and_then(execute) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("gradflow: {}", one_line(&e.to_string()));
            2
        }
    }
}

fn one_line(s: &str) -> String {
    s.split('\n')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Carries out a parsed command.
///
/// # Errors
/// As the command's own errors.
pub fn execute(command: Command) -> Result<()> {
    match command {
        Command::Print(text) => {
            print!("{text}");
            Ok(())
        }
        Command::Study(s) => {
            let progress = std::io::stderr().is_terminal();
            let runs = s.config.grid.runs().len();
            let mine = (0..runs).filter(|i| s.shard.contains(*i)).count();
            println!(
                "gradflow: {mine} run{} ({} steps each{}), writing to {}",
                if mine == 1 { "" } else { "s" },
                s.config.training.steps,
                if s.shard.count > 1 {
                    format!(", shard {} of {runs} runs", s.shard)
                } else {
                    String::new()
                },
                s.out.display()
            );
            let outcome = runner::run_study(&s, progress)?;
            print!("{}", summary_table(&outcome.results.runs));
            if outcome.computed < outcome.results.runs.len() {
                println!(
                    "({} run(s) loaded from an earlier, interrupted study)",
                    outcome.results.runs.len() - outcome.computed
                );
            }
            if s.shard.count > 1 {
                println!(
                    "shard {} saved in {}; when every shard is done: gradflow merge <shard dirs> --out <dir>",
                    s.shard,
                    s.out.display()
                );
                return Ok(());
            }
            let index = report::write_report(&s.out, &outcome.results)?;
            println!("report: {}", index.display());
            Ok(())
        }
        Command::Merge { inputs, out } => {
            let results = runner::merge(&inputs)?;
            let grid_runs = results.config.grid.runs().len();
            if results.runs.len() < grid_runs {
                // Not an error: a partial merge is a useful preview of a running sweep.
                eprintln!(
                    "gradflow: warning: {} of the grid's {grid_runs} runs are in none of these directories (a shard not merged or not finished?); the report shows the {} that are",
                    grid_runs - results.runs.len(),
                    results.runs.len()
                );
            }
            runner::prepare_output(&out)?;
            runner::write_results(&out, &results)?;
            print!("{}", summary_table(&results.runs));
            let index = report::write_report(&out, &results)?;
            println!(
                "merged {} runs from {} directories; report: {}",
                results.runs.len(),
                inputs.len(),
                index.display()
            );
            Ok(())
        }
        Command::Gallery { activations, out } => {
            let paths = report::write_gallery(&out, &activations)?;
            println!(
                "wrote {} charts to {}",
                paths.len(),
                out.join("charts").display()
            );
            Ok(())
        }
        Command::Theory(t) => {
            print!("{}", theory_table(&t)?);
            Ok(())
        }
        Command::Probe(p) => probe(&p),
    }
}

/// The summary table printed after a study.
pub fn summary_table(runs: &[RunResult]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<16} {:<12} {:>5} {:>10} {:>9} {:>9} {:>13} {:>7} {:>7}  status",
        "activation",
        "init",
        "depth",
        "train loss",
        "train acc",
        "test acc",
        "|d1|/|dL| @0",
        "dead %",
        "time s"
    );
    let pct = |v: Option<f64>| {
        v.map(|a| format!("{:.1}%", 100.0 * a))
            .unwrap_or_else(|| "-".into())
    };
    for r in runs {
        let status = match &r.status {
            RunStatus::Completed => "ok".to_string(),
            RunStatus::Diverged { step, .. } => format!("diverged at step {step}"),
        };
        let _ = writeln!(
            out,
            "{:<16} {:<12} {:>5} {:>10} {:>9} {:>9} {:>13.2e} {:>7.1} {:>7.1}  {}",
            r.spec.activation.to_string(),
            r.spec.init.to_string(),
            r.spec.depth,
            r.train_loss
                .map(|l| format!("{l:.4}"))
                .unwrap_or_else(|| "-".into()),
            pct(r.train_accuracy),
            pct(r.test_accuracy),
            r.first_last_ratio,
            100.0 * r.dead_final,
            r.wall_time_s,
            status
        );
    }
    out
}

fn theory_table(t: &TheoryCommand) -> Result<String> {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Mean-field predictions (Poole et al. 2016, Schoenholz et al. 2017), sigma_b^2 = {}, {}:",
        t.sigma_b2,
        match t.sigma_w2 {
            Some(s) => format!("sigma_w^2 = {s}"),
            None => format!("init {} at width {}", t.init, t.width),
        }
    );
    let _ = writeln!(
        out,
        "{:<16} {:>10} {:>12} {:>10} {:>14} {:>18} {:>14}",
        "activation",
        "sigma_w^2",
        "q*",
        "chi_1",
        "depth scale",
        format!("|d1|/|d{}| pred.", t.depth),
        "critical s_w^2"
    );
    for &act in &t.activations {
        let s2 = t
            .sigma_w2
            .unwrap_or_else(|| t.init.sigma_w2(t.width, t.width, Some(act)));
        let mf = MeanField::new(act, s2, t.sigma_b2)?;
        let q_star = match mf.q_star()? {
            Some(q) => format!("{q:.4e}"),
            None => "diverges".into(),
        };
        let ratio = mf.gradient_ratios(1.0, t.depth)?.iter().product::<f64>();
        let critical = match critical_sigma_w2(act)? {
            Some(c) => format!("{c:.4}"),
            None => "none".into(),
        };
        let _ = writeln!(
            out,
            "{:<16} {:>10.4} {:>12} {:>10.4} {:>14.3} {:>18.3e} {:>14}",
            act.to_string(),
            s2,
            q_star,
            mf.chi1()?,
            mf.depth_scale()?,
            ratio,
            critical
        );
    }
    let _ = writeln!(
        out,
        "chi_1 < 1: gradients vanish towards the input; > 1: they explode; depth scale = -1/ln chi_1 layers."
    );
    Ok(out)
}

fn probe(p: &ProbeCommand) -> Result<()> {
    let training = crate::config::Training {
        dtype: p.dtype,
        ..cli::default_training()
    };
    let mut all = Vec::new();
    for (i, spec) in p.grid.runs().iter().enumerate() {
        let data = run::prepare(&spec.dataset, &training)?;
        let model = run::build_model(spec, &data, p.dtype)?;
        let batch = run::head(&data.train, p.batch)?;
        let report = run::probe_at_init(&model, data.task, &batch)?;
        if p.json {
            all.push(serde_json::json!({ "run": spec.id(), "probe": report }));
            continue;
        }
        if i > 0 {
            println!();
        }
        println!("{} at initialisation ({} samples):", spec.id(), batch.len());
        println!(
            "{:>5} {:<22} {:>10} {:>10} {:>12} {:>12} {:>7} {:>7}",
            "layer", "module", "mean", "std", "|dL/dh|", "|dL/dW|", "dead %", "sat %"
        );
        for r in report
            .layers
            .iter()
            .filter(|r| r.kind == RecordKind::PreActivation)
        {
            let act = report
                .layers
                .iter()
                .find(|a| a.kind == RecordKind::Activation && a.layer == r.layer);
            println!(
                "{:>5} {:<22} {:>10.3e} {:>10.3e} {:>12.3e} {:>12.3e} {:>7.1} {:>7.1}",
                r.layer,
                r.module,
                r.mean,
                r.std,
                r.grad.map_or(f64::NAN, |g| g.norm),
                r.weight_grad.map_or(f64::NAN, |g| g.norm),
                100.0 * act.and_then(|a| a.dead_fraction).unwrap_or(0.0),
                100.0 * act.and_then(|a| a.saturated_fraction).unwrap_or(0.0),
            );
        }
    }
    if p.json {
        let text = serde_json::to_string_pretty(&all)
            .map_err(|e| Error::config("--json", e.to_string()))?;
        println!("{text}");
    }
    Ok(())
}

/// Loads results from a directory written by a study (for tools and tests).
///
/// # Errors
/// As [`runner::read_results`].
pub fn load(dir: &Path) -> Result<StudyResults> {
    runner::read_results(dir)
}
