//! `docs/activations.md` states each activation's properties and the mean-field gradient
//! factors; those parts of the page are generated here, from `Activation::info()` and
//! `Activation::kinks()` (gradflow-autograd) and from `gradflow_nn::theory::MeanField`,
//! so the page can never drift from the code.
//!
//! A generated part sits between `<!-- generated:KEY -->` and `<!-- end generated -->`.
//! The test regenerates every part and fails if the committed page differs;
//! `GRADFLOW_BLESS=1 cargo test --test activation_docs` rewrites the page instead.

use std::fmt::Write as _;

use gradflow::autograd::Activation;
use gradflow_nn::theory::{MeanField, critical_sigma_w2};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/activations.md");
const BEGIN: &str = "<!-- generated:";
const END: &str = "<!-- end generated -->";

/// `v` to five significant digits, shortest form (`0.25`, `1.0998`, `−0.16997`, `∞`).
fn num(v: f64) -> String {
    significant(v, 5)
}

/// `v` to `digits` significant digits, shortest form, with a true minus sign (so that
/// `−0.17` and `−∞` read alike).
fn significant(v: f64, digits: usize) -> String {
    if v == f64::INFINITY {
        return "∞".into();
    }
    if v == f64::NEG_INFINITY {
        return "−∞".into();
    }
    let rounded: f64 = format!("{v:.*e}", digits - 1).parse().unwrap_or(v);
    format!("{rounded}").replace('-', "−")
}

/// A ratio that may span many orders of magnitude: `0.028`, `2.7`, or `1.0e−17`.
fn ratio(r: f64) -> String {
    if (0.01..1000.0).contains(&r) {
        significant(r, 2)
    } else {
        format!("{r:.1e}").replace('-', "−")
    }
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn range(a: &Activation) -> String {
    let i = a.info();
    format!("{} to {}", num(i.range_min), num(i.range_max))
}

fn bounded(a: &Activation) -> &'static str {
    let i = a.info();
    match (i.bounded_below, i.bounded_above) {
        (true, true) => "both sides",
        (true, false) => "below",
        (false, true) => "above",
        (false, false) => "no",
    }
}

/// Smoothness from `info().smooth` (is `f'` continuous?) and `kinks()` (where `f'` or
/// `f''` jumps).
fn smoothness(a: &Activation) -> String {
    let kinks: Vec<String> = a.kinks().iter().map(|&k| num(k)).collect();
    match (a.info().smooth, kinks.is_empty()) {
        (true, true) => "smooth".into(),
        (true, false) => format!("f' continuous, f'' jumps at {}", kinks.join(", ")),
        (false, _) => format!("kink (f' jumps) at {}", kinks.join(", ")),
    }
}

fn slope_at_zero(a: &Activation) -> String {
    match a.info().derivative_at_zero {
        Some(d) => num(d),
        None => "n/a (a Jacobian)".into(),
    }
}

/// The summary table: one row per activation of `Activation::all()`.
fn properties_table() -> String {
    let mut s = String::from(
        "| activation | formula | range | zero-centred | monotonic | bounded | smoothness | sup \\|f'\\| | f'(0) |\n\
         |---|---|---|---|---|---|---|---:|---:|\n",
    );
    for a in Activation::all() {
        let i = a.info();
        let _ = writeln!(
            s,
            "| [`{a}`](#{}) | `{}` | {} | {} | {} | {} | {} | {} | {} |",
            a.name(),
            i.formula.replace('|', "\\|"),
            range(&a),
            yes(i.zero_centred),
            yes(i.monotonic),
            bounded(&a),
            smoothness(&a),
            num(i.max_derivative),
            slope_at_zero(&a),
        );
    }
    s
}

/// The property list at the top of one activation's section.
fn info_block(a: &Activation) -> String {
    let i = a.info();
    format!(
        "Properties of `{a}` (from `Activation::info()`):\n\n\
         - formula: `{}`\n\
         - range: {}; bounded: {}\n\
         - zero-centred: {}; monotonic: {}\n\
         - smoothness: {}\n\
         - sup |f'|: {}; f'(0): {}\n\
         - source: {}\n",
        i.formula,
        range(a),
        bounded(a),
        yes(i.zero_centred),
        yes(i.monotonic),
        smoothness(a),
        num(i.max_derivative),
        slope_at_zero(a),
        i.source,
    )
}

/// The activations of the mean-field table.
fn mean_field_activations() -> Vec<Activation> {
    [
        "sigmoid",
        "tanh",
        "softsign",
        "relu",
        "leaky_relu:0.01",
        "elu:1",
        "selu",
        "gelu",
        "silu",
    ]
    .iter()
    .map(|s| s.parse().expect("a valid name"))
    .collect()
}

/// `chi_1` (the per-layer factor of the squared gradient norm at the fixed point) at
/// PyTorch's default, Xavier's and He's `sigma_w^2`, the norm ratio over 20 layers
/// (`chi_1^10`), and the `sigma_w^2` of the edge of chaos (`critical_sigma_w2`, which
/// searches up to 64).
fn mean_field_table() -> Result<String, gradflow_nn::Error> {
    let mut s = String::from(
        "| activation | σ_w² = 1/3 (PyTorch default) | σ_w² = 1 (Xavier, LeCun) | σ_w² = 2 (He) | σ_w² where χ₁ = 1 |\n\
         |---|---:|---:|---:|---:|\n",
    );
    for a in mean_field_activations() {
        let _ = write!(s, "| `{a}` |");
        for sw2 in [1.0 / 3.0, 1.0, 2.0] {
            let chi = MeanField::new(a, sw2, 0.0)?.chi1()?;
            let _ = write!(s, " {} ({}) |", num(chi), ratio(chi.powi(10)));
        }
        let crit = match critical_sigma_w2(a)? {
            Some(c) => num(c),
            None => "above 64".into(),
        };
        let _ = writeln!(s, " {crit} |");
    }
    Ok(s)
}

fn generate(key: &str) -> Result<String, Box<dyn std::error::Error>> {
    if key == "properties" {
        return Ok(properties_table());
    }
    if key == "mean-field" {
        return Ok(mean_field_table()?);
    }
    if let Some(name) = key.strip_prefix("info:") {
        let a: Activation = name.parse()?;
        if a.to_string() != name && a.name() != name {
            return Err(format!("generated:{key}: write the activation as {a}").into());
        }
        let a = Activation::all()
            .find(|b| b.name() == a.name())
            .ok_or_else(|| format!("generated:{key}: not in Activation::all()"))?;
        return Ok(info_block(&a));
    }
    Err(format!("unknown generated part {key:?}").into())
}

/// The page with every generated part regenerated, and the keys found.
fn regenerate(doc: &str) -> Result<(String, Vec<String>), Box<dyn std::error::Error>> {
    let mut out = String::with_capacity(doc.len());
    let mut keys = Vec::new();
    let mut rest = doc;
    while let Some(start) = rest.find(BEGIN) {
        let after_begin = &rest[start..];
        let line_end = after_begin
            .find('\n')
            .ok_or("a generated-part marker must end its line")?;
        let marker = &after_begin[..line_end];
        let key = marker
            .strip_prefix(BEGIN)
            .and_then(|k| k.strip_suffix(" -->"))
            .ok_or_else(|| format!("malformed marker {marker:?}"))?
            .trim()
            .to_string();
        let body_start = start + line_end + 1;
        let end = rest[body_start..]
            .find(END)
            .ok_or_else(|| format!("generated:{key} has no {END}"))?;
        out.push_str(&rest[..body_start]);
        out.push('\n');
        out.push_str(&generate(&key)?);
        out.push('\n');
        out.push_str(END);
        rest = &rest[body_start + end + END.len()..];
        keys.push(key);
    }
    out.push_str(rest);
    Ok((out, keys))
}

#[test]
fn generated_parts_of_the_activation_guide_match_the_code() -> TestResult {
    let doc = std::fs::read_to_string(DOC)?;
    let (fresh, keys) = regenerate(&doc)?;
    let mut expected: Vec<String> = vec!["properties".into(), "mean-field".into()];
    expected.extend(Activation::all().map(|a| format!("info:{}", a.name())));
    for k in &expected {
        assert!(
            keys.contains(k),
            "docs/activations.md lacks <!-- generated:{k} -->"
        );
    }
    if fresh != doc {
        if std::env::var_os("GRADFLOW_BLESS").is_some() {
            std::fs::write(DOC, &fresh)?;
            return Ok(());
        }
        let first = doc
            .lines()
            .zip(fresh.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        panic!(
            "docs/activations.md differs from what Activation::info() and the mean-field \
             theory give, first at line {}:\n  doc:  {:?}\n  code: {:?}\n\
             rerun with GRADFLOW_BLESS=1 to rewrite the generated parts",
            first + 1,
            doc.lines().nth(first).unwrap_or(""),
            fresh.lines().nth(first).unwrap_or(""),
        );
    }
    Ok(())
}

/// Every activation has a section with a heading and a chart placeholder.
#[test]
fn every_activation_has_a_section_and_a_chart_placeholder() -> TestResult {
    let doc = std::fs::read_to_string(DOC)?;
    for a in Activation::all() {
        let heading = format!("\n### `{}`\n", a.name());
        assert!(doc.contains(&heading), "no section {heading:?}");
        let chart = format!("(charts/gallery-{}.svg)", a.name());
        assert!(doc.contains(&chart), "no chart placeholder {chart}");
    }
    Ok(())
}
