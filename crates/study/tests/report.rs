//! The report of a reduced default study: `index.html`, every chart it shows as valid
//! SVG with its title, axis labels, legend and one drawn line per series the results
//! call for, and `results.json`/`results.csv` as docs/results.md describes them.
#![expect(
    clippy::unwrap_used,
    reason = "in tests a failed unwrap is a failed test"
)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use gradflow_autograd::Activation;
use gradflow_nn::init::Init;
use gradflow_study::config::{DatasetSpec, OptimSpec, StudyConfig};
use gradflow_study::results::{RunResult, RunStatus, StudyResults};
use gradflow_study::{report, runner};

/// The reduced default study: sigmoid, tanh and ReLU with the standard and He inits,
/// two seeds, run once for every test of this file.
fn config() -> StudyConfig {
    let mut c = common::tiny();
    c.grid.activations = vec![Activation::Sigmoid, Activation::Tanh, Activation::Relu];
    c.grid.inits = vec![Init::Standard, Init::he()];
    c.grid.seeds = vec![0, 1];
    c
}

/// The study's directory (under the target directory, replaced on every test run) and
/// its results, computed once.
fn study() -> &'static (PathBuf, StudyResults) {
    static STUDY: OnceLock<(PathBuf, StudyResults)> = OnceLock::new();
    STUDY.get_or_init(|| {
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("study-report");
        if out.exists() {
            std::fs::remove_dir_all(&out).unwrap();
        }
        let outcome = runner::run_study(&common::command(&config(), &out), false).unwrap();
        report::write_report(&out, &outcome.results).unwrap();
        (out, outcome.results)
    })
}

/// What a chart must hold.
#[derive(Debug)]
struct Expected {
    /// Axis label texts (`name (unit)`).
    axes: Vec<String>,
    /// The `data-series` label of each `gf-series` polyline, sorted.
    series: Vec<String>,
    /// Legend entries (each drawn as a text).
    legend: Vec<String>,
    /// Other texts that must be drawn (bar labels).
    texts: Vec<String>,
}

fn expected(axes: &[&str], series: Vec<String>, legend: Vec<String>) -> Expected {
    let mut series = series;
    series.sort();
    Expected {
        axes: axes.iter().map(|s| s.to_string()).collect(),
        series,
        legend,
        texts: Vec::new(),
    }
}

/// Activation names per panel: runs that differ only in activation and seed share a
/// panel, one line per activation.
fn panels(results: &StudyResults) -> Vec<Vec<String>> {
    let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in &results.runs {
        let key = format!(
            "{}|{}|{}|{}|{}",
            r.spec.init, r.spec.depth, r.spec.width, r.spec.dataset, r.spec.optimiser
        );
        map.entry(key)
            .or_default()
            .insert(r.spec.activation.to_string());
    }
    map.into_values().map(|s| s.into_iter().collect()).collect()
}

/// Every chart the report must contain, by file name, with what it must show,
/// computed from the results and the configuration.
fn expected_charts(results: &StudyResults) -> BTreeMap<String, Expected> {
    let grid = &results.config.grid;
    let names: Vec<String> = grid.activations.iter().map(|a| a.to_string()).collect();
    let per_panel: Vec<String> = panels(results).into_iter().flatten().collect();
    let with_theory: Vec<String> = per_panel
        .iter()
        .flat_map(|a| [a.clone(), format!("{a} (theory)")])
        .collect();
    let layer = "layer l (1 = next to the input)";
    let step = "step (optimiser steps)";
    let mut out = BTreeMap::new();
    let per_activation = [
        (
            "init-gradients.svg",
            layer,
            "||delta_l|| = ||dL/dh_l|| (L2 norm, log scale)",
        ),
        (
            "init-weight-gradients.svg",
            layer,
            "||dL/dW_l|| (weight gradient) (L2 norm, log scale)",
        ),
        ("loss.svg", step, "loss (cross-entropy, log scale)"),
        ("accuracy.svg", step, "accuracy (fraction correct)"),
        ("dead.svg", step, "dead units (fraction of hidden units)"),
        (
            "saturated.svg",
            step,
            "saturated units (fraction of hidden units)",
        ),
        ("activation-mean.svg", layer, "mean of x_l (output units)"),
        (
            "activation-zeros.svg",
            layer,
            "exact zeros (fraction of activations)",
        ),
    ];
    for (file, x, y) in per_activation {
        out.insert(
            file.to_string(),
            expected(&[x, y], per_panel.clone(), names.clone()),
        );
    }
    let mut theory_legend = names.clone();
    theory_legend.extend(names.iter().map(|a| format!("{a} (theory)")));
    out.insert(
        "theory-vs-measured.svg".into(),
        expected(
            &[layer, "||delta_l|| / ||delta_L|| (ratio, log scale)"],
            with_theory,
            theory_legend,
        ),
    );
    for act in &grid.activations {
        let f = ["f(x)", "f'(x)", "f''(x)"].map(String::from).to_vec();
        out.insert(
            format!("gallery-{}.svg", act.name()),
            expected(
                &["x (pre-activation)", "value (output units)"],
                f.clone(),
                f,
            ),
        );
    }
    let first_seed = grid.seeds[0];
    for r in results.runs.iter().filter(|r| r.spec.seed == first_seed) {
        out.insert(
            format!("heatmap-{}.svg", r.id),
            expected(&[step, layer], Vec::new(), Vec::new()),
        );
        // Five layers spread over the depth, without repeats.
        let mut layers: Vec<usize> = (0..5).map(|k| k * (r.spec.depth - 1) / 4).collect();
        layers.dedup();
        let labels: Vec<String> = layers.iter().map(|l| format!("layer {}", l + 1)).collect();
        out.insert(
            format!("hist-act-init-{}.svg", r.id),
            expected(
                &["activation x_l (value)", "fraction of values (per bin)"],
                labels.clone(),
                labels.clone(),
            ),
        );
        out.insert(
            format!("hist-grad-init-{}.svg", r.id),
            expected(
                &["log10 |delta_l| (decades)", "fraction of values (per bin)"],
                labels.clone(),
                labels,
            ),
        );
    }
    let mut cost = expected(
        &["activation", "time (ns per element, median of 7)"],
        Vec::new(),
        Vec::new(),
    );
    cost.texts = names.clone();
    out.insert("activation-cost.svg".into(), cost);
    let dying = ["relu", "leaky_relu:0.01"].map(String::from).to_vec();
    out.insert(
        "dying-relu.svg".into(),
        expected(
            &[step, "dead units (fraction of hidden units)"],
            dying.clone(),
            dying,
        ),
    );
    out
}

/// The `charts/...` files that `index.html` shows.
fn referenced_charts(html: &str) -> BTreeSet<String> {
    html.split("src=\"charts/")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(String::from)
        .collect()
}

#[test]
fn the_report_shows_every_expected_chart_and_every_chart_it_shows_exists() {
    let (out, results) = study();
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    let shown = referenced_charts(&html);
    let expected: BTreeSet<String> = expected_charts(results).into_keys().collect();
    assert_eq!(shown, expected);
    for file in &shown {
        assert!(out.join("charts").join(file).is_file(), "{file} is missing");
    }
    // No chart is written that the page does not show.
    let written: BTreeSet<String> = common::files(&out.join("charts")).into_iter().collect();
    assert_eq!(written, shown);
    for link in ["results.json", "results.csv"] {
        assert!(html.contains(&format!("href=\"{link}\"")), "{link}");
        assert!(out.join(link).is_file(), "{link}");
    }
    assert!(html.contains(&format!("{} training runs", results.runs.len())));
}

#[test]
fn every_chart_is_svg_with_title_axes_legend_and_one_line_per_series() {
    let (out, results) = study();
    for (file, want) in expected_charts(results) {
        let text = std::fs::read_to_string(out.join("charts").join(&file)).unwrap();
        let doc =
            roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{file} is not XML: {e}"));
        let root = doc.root_element();
        assert!(root.has_tag_name("svg"), "{file}");
        let title = root
            .children()
            .find(|n| n.has_tag_name("title"))
            .and_then(|n| n.text())
            .unwrap_or_else(|| panic!("{file} has no <title>"));
        assert!(!title.trim().is_empty(), "{file}");
        let texts: Vec<&str> = root
            .descendants()
            .filter(|n| n.has_tag_name("text"))
            .filter_map(|n| n.text())
            .map(str::trim)
            .collect();
        // A long title is drawn over several lines.
        let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            words(&texts.join(" ")).contains(&words(title)),
            "{file}: title {title:?} not drawn"
        );
        for label in want.axes.iter().chain(&want.legend).chain(&want.texts) {
            assert!(
                texts.contains(&label.as_str()),
                "{file}: no text {label:?} among {texts:?}"
            );
        }
        let mut series: Vec<String> = root
            .descendants()
            .filter(|n| n.has_tag_name("polyline") && n.attribute("class") == Some("gf-series"))
            .map(|n| n.attribute("data-series").unwrap_or_default().to_string())
            .collect();
        series.sort();
        assert_eq!(series, want.series, "{file}: drawn series");
    }
}

#[test]
fn results_json_is_study_results_with_every_field_filled() {
    let (out, results) = study();
    let text = std::fs::read_to_string(out.join("results.json")).unwrap();
    let read: StudyResults = serde_json::from_str(&text).unwrap();
    common::assert_same_runs(&read, results);
    assert_eq!(read.config, config());
    let t = &read.config.training;
    let recorded = (0..t.steps)
        .filter(|s| s % t.probe_every == 0 || s + 1 == t.steps)
        .count();
    let grid_runs = read.config.grid.runs();
    assert_eq!(read.runs.len(), grid_runs.len());
    for (i, (r, spec)) in read.runs.iter().zip(&grid_runs).enumerate() {
        let depth = spec.depth;
        assert_eq!(r.index, i);
        assert_eq!(&r.spec, spec);
        assert_eq!(r.id, spec.id());
        assert_eq!(&r.training, t);
        assert_eq!(r.status, RunStatus::Completed, "{}", r.id);
        assert_eq!(r.steps_done, t.steps);
        assert!(r.wall_time_s > 0.0 && r.wall_time_s.is_finite());
        assert_eq!(r.curve.len(), t.steps);
        for (s, p) in r.curve.iter().enumerate() {
            assert_eq!(p.step, s);
            assert!(p.loss.is_finite() && p.loss > 0.0);
            assert!(p.accuracy.is_some_and(|a| (0.0..=1.0).contains(&a)));
        }
        for v in [r.train_loss, r.test_loss] {
            assert!(v.is_some_and(|v| v.is_finite() && v > 0.0), "{}", r.id);
        }
        for v in [r.train_accuracy, r.test_accuracy] {
            assert!(v.is_some_and(|v| (0.0..=1.0).contains(&v)), "{}", r.id);
        }
        assert!(r.first_last_ratio.is_finite() && r.first_last_ratio > 0.0);
        assert!((0.0..=1.0).contains(&r.dead_final));
        assert!((0.0..=1.0).contains(&r.saturated_final));
        assert_eq!(r.snapshots.len(), recorded);
        for s in &r.snapshots {
            for v in [
                &s.delta_norm,
                &s.weight_grad_norm,
                &s.weight_norm,
                &s.dead,
                &s.saturated,
                &s.zero_fraction,
                &s.activation_mean,
                &s.activation_std,
                &s.pre_activation_std,
                &s.update_ratio,
            ] {
                assert_eq!(v.len(), depth, "{} step {}", r.id, s.step);
                assert!(v.iter().all(|x| x.is_finite()), "{} step {}", r.id, s.step);
            }
        }
        assert_eq!(r.snapshots[0].step, 0);
        assert_eq!(r.snapshots[recorded - 1].step, t.steps - 1);
        let ratio = r.snapshots[0].delta_norm[0] / r.snapshots[0].delta_norm[depth - 1];
        assert_eq!(r.first_last_ratio, ratio);
        for h in [&r.histograms_init, &r.histograms_final] {
            let h = h.as_ref().unwrap();
            assert_eq!(h.activations.len(), depth);
            assert_eq!(h.gradients.len(), depth);
            for (hist, edges) in h
                .activations
                .iter()
                .map(|x| (x, &h.value_edges))
                .chain(h.gradients.iter().map(|x| (x, &h.grad_edges)))
            {
                assert_eq!(hist.counts.len() + 1, edges.len());
                assert!(hist.total() > 0);
            }
        }
        let theory = r.theory.as_ref().unwrap();
        assert_eq!(theory.q.len(), depth);
        assert_eq!(theory.delta_relative.len(), depth);
        assert_eq!(theory.delta_relative[depth - 1], 1.0);
    }
    // ReLU with He's init sits at the edge of chaos: an infinite depth scale, written
    // as "inf" and read back.
    let relu_he = read
        .runs
        .iter()
        .find(|r| r.spec.activation == Activation::Relu && r.spec.init == Init::he())
        .unwrap();
    assert_eq!(relu_he.theory.as_ref().unwrap().depth_scale, f64::INFINITY);
    assert!(text.contains("\"depth_scale\": \"inf\""));
}

#[test]
fn results_csv_has_a_row_per_run_matching_results_json() {
    let (out, results) = study();
    let rows = common::csv_rows(&std::fs::read_to_string(out.join("results.csv")).unwrap());
    assert_eq!(rows.len(), results.runs.len() + 1);
    let header = &rows[0];
    for (row, r) in rows[1..].iter().zip(&results.runs) {
        assert_eq!(row.len(), header.len());
        let cell = |name: &str| {
            let i = header.iter().position(|h| h == name).unwrap();
            row[i].as_str()
        };
        assert_eq!(cell("id"), r.id);
        assert_eq!(cell("status"), "completed");
        assert_eq!(cell("optimiser"), r.spec.optimiser.to_string());
        let ratio: f64 = cell("first_last_grad_ratio").parse().unwrap();
        assert_eq!(ratio, r.first_last_ratio);
        let acc: f64 = cell("test_accuracy").parse().unwrap();
        assert_eq!(Some(acc), r.test_accuracy);
    }
}

/// Every key of every object in `v`.
fn keys(v: &serde_json::Value, out: &mut BTreeSet<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                out.insert(k.clone());
                keys(x, out);
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| keys(x, out)),
        _ => {}
    }
}

#[test]
fn every_field_of_the_results_is_documented_in_docs_results_md() {
    let (out, results) = study();
    let docs_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/results.md");
    let docs = std::fs::read_to_string(&docs_path).unwrap();
    let documented = |name: &str| docs.contains(&format!("`{name}`"));

    let text = std::fs::read_to_string(out.join("results.json")).unwrap();
    let mut names = BTreeSet::new();
    keys(&serde_json::from_str(&text).unwrap(), &mut names);
    // What this study does not produce: a diverged run, SGD, every kind of data set.
    let mut other: RunResult = results.runs[0].clone();
    other.status = RunStatus::Diverged {
        step: 3,
        culprit: Some("layers.2: ...".into()),
    };
    other.spec.optimiser = OptimSpec::Sgd {
        lr: 0.1,
        momentum: 0.9,
    };
    keys(&serde_json::to_value(&other).unwrap(), &mut names);
    for d in [
        DatasetSpec::Spirals,
        DatasetSpec::Digits,
        DatasetSpec::Xor,
        DatasetSpec::Moons,
        DatasetSpec::Circles,
        DatasetSpec::Blobs,
        DatasetSpec::Teacher,
        DatasetSpec::Csv("train.csv".into()),
        DatasetSpec::Idx("images".into(), "labels".into()),
    ] {
        match serde_json::to_value(&d).unwrap() {
            serde_json::Value::String(s) => {
                names.insert(s);
            }
            v => keys(&v, &mut names),
        }
    }
    let csv = std::fs::read_to_string(out.join("results.csv")).unwrap();
    names.extend(common::csv_rows(&csv)[0].iter().cloned());

    let missing: Vec<&String> = names.iter().filter(|n| !documented(n)).collect();
    assert!(
        missing.is_empty(),
        "not in {}: {missing:?}",
        docs_path.display()
    );
}
