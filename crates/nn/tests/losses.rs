//! Every loss and its gradient w.r.t. the input against PyTorch in float64
//! (`golden/losses.json`, written by `golden/gen_losses.py`).
#![expect(
    clippy::unwrap_used,
    reason = "in tests a failed unwrap is a failed test"
)]

mod golden_json;

use golden_json::{floats, tensor};
use gradflow_autograd::{Tape, Var};
use gradflow_nn::loss::{self, Reduction};
use serde_json::Value;

const GOLDEN: &str = include_str!("golden/losses.json");

/// `|a - b| <= rtol |b| + atol` elementwise, naming the case and element.
fn assert_close(what: &str, a: &[f64], b: &[f64], rtol: f64, atol: f64) {
    assert_eq!(a.len(), b.len(), "{what}: lengths differ");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= rtol * y.abs() + atol,
            "{what}, element {i}: {x:e} vs torch {y:e} (relative {:e})",
            (x - y).abs() / y.abs()
        );
    }
}

fn run(case: &Value, input: &Var, tape: &Tape) -> Var {
    let reduction = match case["reduction"].as_str().unwrap() {
        "mean" => Reduction::Mean,
        "sum" => Reduction::Sum,
        other => panic!("unknown reduction {other}"),
    };
    let target = || tape.constant(tensor(&case["target"]));
    let targets = || -> Vec<usize> {
        case["targets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_u64().unwrap() as usize)
            .collect()
    };
    match case["loss"].as_str().unwrap() {
        "mse" => loss::mse(input, &target(), reduction),
        "bce" => loss::bce(input, &target(), reduction),
        "bce_with_logits" => loss::bce_with_logits(input, &target(), reduction),
        "cross_entropy" => loss::cross_entropy_smoothed(
            input,
            &targets(),
            case["label_smoothing"].as_f64().unwrap(),
            reduction,
        ),
        "nll" => loss::nll(input, &targets(), reduction),
        other => panic!("unknown loss {other}"),
    }
    .unwrap()
}

#[test]
fn every_loss_and_its_input_gradient_match_pytorch_in_f64() {
    let golden: Value = serde_json::from_str(GOLDEN).unwrap();
    let cases = golden["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 17);
    for (k, case) in cases.iter().enumerate() {
        let what = format!(
            "case {k} ({} {} {})",
            case["loss"],
            case["reduction"],
            case.get("label_smoothing").unwrap_or(&Value::Null)
        );
        let tape = Tape::new();
        let x = tape.var(tensor(&case["input"]));
        let loss = run(case, &x, &tape);
        let value = loss.value().to_scalar::<f64>().unwrap();
        assert_close(
            &what,
            &[value],
            &[case["value"].as_f64().unwrap()],
            1e-13,
            0.0,
        );
        if let Some(g) = case.get("grad") {
            let grads = loss.backward().unwrap();
            let ours = grads.get(&x).unwrap().to_f64_vec();
            // Gradients are compared with a small absolute floor: an element that is
            // a difference of nearly equal terms (y/p against (1 - y)/(1 - p)) is only
            // as accurate as those terms.
            assert_close(&format!("{what} gradient"), &ours, &floats(g), 1e-12, 1e-15);
        }
    }
}
