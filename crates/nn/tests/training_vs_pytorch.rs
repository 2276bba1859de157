//! Training against PyTorch in float64 (`golden/training.json` and
//! `golden/training_<model>.safetensors`, written by `golden/gen_training.py`): an MLP, a
//! small CNN and an LSTM start from PyTorch's initial weights (loaded with our checkpoint
//! loader), see the same data, and take 20 steps of SGD with momentum 0.9 and,
//! separately, 20 steps of Adam. The loss of every step must agree with PyTorch's to
//! 1e-9 relative (in practice the largest difference is 6e-15, the CNN with SGD, whose
//! loss falls to 0.012; the others stay below 4e-16).
#![expect(
    clippy::unwrap_used,
    reason = "in tests a failed unwrap is a failed test"
)]

mod golden_json;

use std::path::Path;

use golden_json::{floats, tensor};
use gradflow_autograd::{Activation, DType, Tape, Var};
use gradflow_nn::loss::{Reduction, cross_entropy, mse};
use gradflow_nn::module::named_parameters;
use gradflow_nn::optim::{Adam, Optimizer, Sgd};
use gradflow_nn::{
    Act, Conv2d, Flatten, ForwardCtx, Linear, Lstm, MaxPool2d, Mlp, Module, Result, Sequential,
    checkpoint, init::Init,
};
use serde_json::Value;

const GOLDEN: &str = include_str!("golden/training.json");
const RTOL: f64 = 1e-9;

/// PyTorch's `LstmRegressor` of the script: an LSTM over a time-first sequence and a
/// linear read-out of its last hidden state (names `lstm.*`, `head.*`).
struct LstmRegressor {
    lstm: Lstm,
    head: Linear,
}

impl Module for LstmRegressor {
    fn kind(&self) -> &'static str {
        "LstmRegressor"
    }

    fn forward(&self, ctx: &mut ForwardCtx<'_>, x: &Var) -> Result<Var> {
        let states = ctx.call("lstm", &self.lstm, x)?; // [T, N, H]
        let t = states.dims()[0];
        let last = states.narrow(0, t - 1, 1)?.squeeze(0)?;
        ctx.call("head", &self.head, &last)
    }

    fn children(&self) -> Vec<(String, &dyn Module)> {
        vec![
            ("lstm".to_string(), &self.lstm as &dyn Module),
            ("head".to_string(), &self.head as &dyn Module),
        ]
    }

    fn children_mut(&mut self) -> Vec<(String, &mut dyn Module)> {
        vec![
            ("lstm".to_string(), &mut self.lstm as &mut dyn Module),
            ("head".to_string(), &mut self.head as &mut dyn Module),
        ]
    }
}

/// Our model of the same architecture as the script's, with arbitrary weights (the
/// checkpoint replaces them).
fn architecture(name: &str) -> Box<dyn Module> {
    let f64 = DType::F64;
    match name {
        "mlp" => Box::new(
            Mlp::builder(6, &[16, 16], 3)
                .activation(Activation::Tanh)
                .dtype(f64)
                .build()
                .unwrap(),
        ),
        "cnn" => Box::new(
            Sequential::new()
                .with(
                    Conv2d::builder(1, 4, [3, 3])
                        .padding([1, 1])
                        .dtype(f64)
                        .build()
                        .unwrap(),
                )
                .with(Act(Activation::Relu))
                .with(MaxPool2d::new([2, 2]).unwrap())
                .with(Flatten)
                .with(Linear::new(64, 3, Init::Standard, None, true, f64, 0).unwrap()),
        ),
        "lstm" => Box::new(LstmRegressor {
            lstm: Lstm::new(3, 5, true, f64, 0).unwrap(),
            head: Linear::new(5, 2, Init::Standard, None, true, f64, 0).unwrap(),
        }),
        other => panic!("unknown model {other}"),
    }
}

/// The model with PyTorch's initial weights, loaded from the safetensors file.
fn model(name: &str, spec: &Value) -> Box<dyn Module> {
    let mut m = architecture(name);
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(spec["weights"].as_str().unwrap());
    checkpoint::load(m.as_mut(), &file).unwrap();
    // The names and shapes the script recorded are exactly ours.
    let ours: Vec<(String, Vec<usize>)> = named_parameters(m.as_ref())
        .into_iter()
        .map(|(n, p)| (n, p.value().dims().to_vec()))
        .collect();
    let torch = spec["params"].as_object().unwrap();
    assert_eq!(ours.len(), torch.len(), "{name}: parameter count");
    for (n, shape) in &ours {
        let t: Vec<usize> = torch[n]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(&t, shape, "{name}: {n}");
    }
    m
}

/// The loss of the model on the model's data, recorded on `tape`.
fn loss(tape: &Tape, ctx: &mut ForwardCtx<'_>, m: &dyn Module, data: &Value) -> Var {
    let x = tape.constant(tensor(&data["x"]));
    let out = m.forward(ctx, &x).unwrap();
    match data.get("labels") {
        Some(labels) => {
            let labels: Vec<usize> = labels
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l.as_u64().unwrap() as usize)
                .collect();
            cross_entropy(&out, &labels, Reduction::Mean).unwrap()
        }
        None => mse(&out, &tape.constant(tensor(&data["y"])), Reduction::Mean).unwrap(),
    }
}

/// Trains `name` with `kind` for the recorded number of steps and returns the largest
/// relative difference of a step's loss from PyTorch's, after checking each.
fn run(g: &Value, name: &str, kind: &str) -> f64 {
    let spec = &g["models"][name];
    let golden = &spec["runs"][kind];
    let lr = golden["lr"].as_f64().unwrap();
    let mut opt: Box<dyn Optimizer> = match kind {
        "sgd" => Box::new(
            Sgd::builder(lr)
                .momentum(g["sgd_momentum"].as_f64().unwrap())
                .build()
                .unwrap(),
        ),
        "adam" => Box::new(Adam::builder(lr).build().unwrap()),
        other => panic!("unknown optimiser {other}"),
    };
    let mut m = model(name, spec);
    let torch = floats(&golden["losses"]);
    assert_eq!(torch.len(), g["steps"].as_u64().unwrap() as usize);
    let mut worst = 0.0f64;
    for (step, &expected) in torch.iter().enumerate() {
        let tape = Tape::new();
        let mut ctx = ForwardCtx::new(&tape);
        let l = loss(&tape, &mut ctx, m.as_ref(), &spec["data"]);
        let ours = l.value().to_scalar::<f64>().unwrap();
        let rel = (ours - expected).abs() / expected.abs();
        assert!(
            rel <= RTOL,
            "{name} with {kind}, step {}: loss {ours:e} vs torch {expected:e} \
             (relative difference {rel:e})",
            step + 1
        );
        worst = worst.max(rel);
        let grads = ctx.param_grads(&l.backward().unwrap());
        opt.step(m.as_mut(), &grads).unwrap();
    }
    eprintln!("{name} with {kind}: largest relative loss difference {worst:e}");
    worst
}

fn golden() -> Value {
    serde_json::from_str(GOLDEN).unwrap()
}

#[test]
fn an_mlp_trains_as_in_pytorch_with_sgd_momentum_and_adam() {
    let g = golden();
    run(&g, "mlp", "sgd");
    run(&g, "mlp", "adam");
}

#[test]
fn a_small_cnn_trains_as_in_pytorch_with_sgd_momentum_and_adam() {
    let g = golden();
    run(&g, "cnn", "sgd");
    run(&g, "cnn", "adam");
}

#[test]
fn an_lstm_trains_as_in_pytorch_with_sgd_momentum_and_adam() {
    let g = golden();
    run(&g, "lstm", "sgd");
    run(&g, "lstm", "adam");
}
