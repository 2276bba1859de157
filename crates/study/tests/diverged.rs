//! A run whose loss becomes infinite or NaN is reported as diverged, with the step and
//! the culprit anomaly detection finds, and the rest of the study goes on.
#![expect(
    clippy::unwrap_used,
    reason = "in tests a failed unwrap is a failed test"
)]

mod common;

use gradflow_autograd::Activation;
use gradflow_nn::init::Init;
use gradflow_study::config::{OptimSpec, StudyConfig};
use gradflow_study::results::{RunResult, RunStatus, StudyResults};
use gradflow_study::{report, runner};

/// ReLU and tanh with He's init, each trained with Adam and with SGD at a learning rate
/// of 1e100, which a ReLU network does not survive.
fn config() -> StudyConfig {
    let mut c = common::tiny();
    c.grid.activations = vec![Activation::Relu, Activation::Tanh];
    c.grid.inits = vec![Init::he()];
    c.grid.optimisers = vec![
        OptimSpec::Adam { lr: 1e-3 },
        OptimSpec::Sgd {
            lr: 1e100,
            momentum: 0.0,
        },
    ];
    c
}

fn is_sgd(r: &RunResult) -> bool {
    matches!(r.spec.optimiser, OptimSpec::Sgd { .. })
}

/// Reads `results.json` of `dir`.
fn read(dir: &std::path::Path) -> StudyResults {
    runner::read_results(dir).unwrap()
}

#[test]
fn a_diverging_run_is_marked_with_its_step_and_culprit_and_the_study_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let cmd = common::command(&config(), dir.path());
    let outcome = runner::run_study(&cmd, false).unwrap();
    let runs = &outcome.results.runs;
    assert_eq!(runs.len(), 4);
    let steps = cmd.config.training.steps;

    let relu_sgd = runs
        .iter()
        .find(|r| is_sgd(r) && r.spec.activation == Activation::Relu)
        .unwrap();
    let RunStatus::Diverged { step, culprit } = &relu_sgd.status else {
        panic!("{} did not diverge: {:?}", relu_sgd.id, relu_sgd.status);
    };
    assert!(*step < steps);
    assert_eq!(relu_sgd.steps_done, step + 1);
    assert!(!relu_sgd.curve.last().unwrap().loss.is_finite());
    assert_eq!(relu_sgd.train_loss, None);
    assert_eq!(relu_sgd.test_accuracy, None);
    // Anomaly mode names the op, the layer and where the node was made.
    let culprit = culprit.as_ref().unwrap();
    assert!(culprit.contains("layers."), "{culprit}");
    assert!(culprit.contains("anomaly"), "{culprit}");

    // The other runs finish as usual.
    for r in runs.iter().filter(|r| !is_sgd(r)) {
        assert_eq!(r.status, RunStatus::Completed, "{}", r.id);
        assert_eq!(r.steps_done, steps);
        assert!(r.test_accuracy.is_some());
    }
    for r in runs.iter().filter(|r| is_sgd(r) && r.diverged()) {
        assert!(r.steps_done <= steps);
    }

    // Saved, read back (non-finite losses included), and reported.
    common::assert_same_runs(&read(dir.path()), &outcome.results);
    let csv = std::fs::read_to_string(dir.path().join("results.csv")).unwrap();
    assert!(csv.contains(&format!("{},", relu_sgd.id)));
    assert!(csv.contains(&format!(",diverged,{step},")), "{csv}");
    report::write_report(dir.path(), &outcome.results).unwrap();
    let html = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
    assert!(html.contains(&format!("diverged at step {step}")));
    for chart in common::files(&dir.path().join("charts")) {
        let svg = std::fs::read_to_string(dir.path().join("charts").join(&chart)).unwrap();
        roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{chart}: {e}"));
    }

    // A resumed study loads the diverged run rather than running it again.
    let mut again = cmd.clone();
    again.resume = true;
    let resumed = runner::run_study(&again, false).unwrap();
    assert_eq!(resumed.computed, 0);
    common::assert_same_runs(&resumed.results, &outcome.results);
}
