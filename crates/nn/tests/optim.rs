//! Optimiser trajectories against PyTorch in float64 (`golden/optim.json`, written by
//! `golden/gen_optim.py`): a 3-4-2 tanh MLP, five steps of each configuration of SGD,
//! Adam, AdamW and RMSProp, with gradient clipping and learning-rate schedules; the
//! loss and every parameter tensor after every step must agree to 1e-12 relative
//! (norm-wise; in practice the errors are below 1e-15).
#![expect(
    clippy::unwrap_used,
    reason = "in tests a failed unwrap is a failed test"
)]

mod golden_json;

use golden_json::{floats, tensor};
use gradflow_autograd::{Activation, DType, Tape};
use gradflow_nn::loss::{Reduction, mse};
use gradflow_nn::module::{named_parameters, visit_parameters_mut};
use gradflow_nn::optim::{
    Adam, AdamW, CosineLr, LrSchedule, Optimizer, RmsProp, Sgd, StepLr, clip_grad_norm,
};
use gradflow_nn::{ForwardCtx, Mlp, Module};
use serde_json::Value;

const GOLDEN: &str = include_str!("golden/optim.json");
const RTOL: f64 = 1e-12;

fn golden() -> Value {
    serde_json::from_str(GOLDEN).unwrap()
}

/// Each element within `RTOL` of the reference, relative to the largest magnitude in
/// the reference tensor (a norm-wise relative error). An entry that passes near zero
/// during training carries the rounding of the updates that took it there, so a purely
/// elementwise relative test would measure how close to zero it happened to land
/// (one such entry in `adam_cosine_lr` is off by 4e-12 of itself, 6e-16 of its
/// tensor); every other entry agrees elementwise to about 4e-14.
fn assert_close(what: &str, a: &[f64], b: &[f64]) {
    assert_eq!(a.len(), b.len(), "{what}: lengths differ");
    let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= RTOL * scale,
            "{what}, element {i}: {x:e} vs torch {y:e} (error {:e} of the largest entry)",
            (x - y).abs() / scale
        );
    }
}

/// The MLP with the weights PyTorch started from, set by name.
fn model(g: &Value) -> Mlp {
    let mut m = Mlp::builder(3, &[4], 2)
        .activation(Activation::Tanh)
        .dtype(DType::F64)
        .build()
        .unwrap();
    let params = &g["model"]["params"];
    let mut set = 0;
    visit_parameters_mut(&mut m, &mut |name, p| {
        p.set(tensor(&params[name]));
        set += 1;
    });
    assert_eq!(set, params.as_object().unwrap().len());
    m
}

fn optimizer(cfg: &Value) -> Box<dyn Optimizer> {
    let lr = cfg["lr"].as_f64().unwrap();
    let get = |k: &str, default: f64| cfg.get(k).and_then(Value::as_f64).unwrap_or(default);
    let flag = |k: &str| cfg.get(k).and_then(Value::as_bool).unwrap_or(false);
    match cfg["kind"].as_str().unwrap() {
        "sgd" => Box::new(
            Sgd::builder(lr)
                .momentum(get("momentum", 0.0))
                .dampening(get("dampening", 0.0))
                .nesterov(flag("nesterov"))
                .weight_decay(get("weight_decay", 0.0))
                .build()
                .unwrap(),
        ),
        kind @ ("adam" | "adamw") => {
            let b = if kind == "adam" {
                Adam::builder(lr)
            } else {
                AdamW::builder(lr)
            };
            let b = match cfg.get("betas") {
                Some(betas) => {
                    let betas = floats(betas);
                    b.betas(betas[0], betas[1])
                }
                None => b,
            };
            let b = match cfg.get("weight_decay") {
                Some(wd) => b.weight_decay(wd.as_f64().unwrap()),
                None => b,
            };
            Box::new(b.eps(get("eps", 1e-8)).build().unwrap())
        }
        "rmsprop" => Box::new(
            RmsProp::builder(lr)
                .alpha(get("alpha", 0.99))
                .eps(get("eps", 1e-8))
                .weight_decay(get("weight_decay", 0.0))
                .momentum(get("momentum", 0.0))
                .centered(flag("centered"))
                .build()
                .unwrap(),
        ),
        other => panic!("unknown optimiser {other}"),
    }
}

fn schedule(spec: &Value, base_lr: f64) -> Box<dyn LrSchedule> {
    match spec["kind"].as_str().unwrap() {
        "step" => Box::new(
            StepLr::new(
                base_lr,
                spec["step_size"].as_u64().unwrap() as usize,
                spec["gamma"].as_f64().unwrap(),
            )
            .unwrap(),
        ),
        "cosine" => Box::new(
            CosineLr::new(
                base_lr,
                spec["t_max"].as_u64().unwrap() as usize,
                spec["eta_min"].as_f64().unwrap(),
            )
            .unwrap(),
        ),
        other => panic!("unknown schedule {other}"),
    }
}

#[test]
fn every_optimizer_trajectory_matches_pytorch_to_1e_minus_12() {
    let g = golden();
    let x = tensor(&g["batch"]["x"]);
    let y = tensor(&g["batch"]["y"]);
    let runs = g["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 17);
    for run in runs {
        let cfg = &run["config"];
        let name = cfg["name"].as_str().unwrap();
        let mut m = model(&g);
        let mut opt = optimizer(cfg);
        let mut sched = cfg.get("schedule").map(|s| schedule(s, opt.lr()));
        let steps = g["steps"].as_u64().unwrap() as usize;
        for step in 0..steps {
            let what = format!("{name}, step {}", step + 1);
            let tape = Tape::new();
            let mut ctx = ForwardCtx::new(&tape);
            let pred = m.forward(&mut ctx, &tape.constant(x.clone())).unwrap();
            let loss = mse(&pred, &tape.constant(y.clone()), Reduction::Mean).unwrap();
            let mut grads = ctx.param_grads(&loss.backward().unwrap());
            if let Some(max_norm) = cfg.get("clip") {
                let norm = clip_grad_norm(&mut grads, max_norm.as_f64().unwrap()).unwrap();
                let torch = run["grad_norms"][step].as_f64().unwrap();
                assert_close(&format!("{what}, gradient norm"), &[norm], &[torch]);
            }
            opt.step(&mut m, &grads).unwrap();
            if let Some(s) = sched.as_mut() {
                let lr = s.step(opt.as_mut()).unwrap();
                let torch = run["lrs"][step].as_f64().unwrap();
                assert_close(&format!("{what}, learning rate"), &[lr], &[torch]);
            }
            let torch_loss = run["losses"][step].as_f64().unwrap();
            let ours = loss.value().to_scalar::<f64>().unwrap();
            assert_close(&format!("{what}, loss"), &[ours], &[torch_loss]);
            for (pname, p) in named_parameters(&m) {
                let torch = floats(&run["params"][step][&pname]);
                assert_close(&format!("{what}, {pname}"), &p.value().to_f64_vec(), &torch);
            }
        }
    }
}

#[test]
fn step_and_cosine_schedules_match_pytorch_over_twelve_epochs() {
    let g = golden();
    for s in g["schedules"].as_array().unwrap() {
        let base = s["base_lr"].as_f64().unwrap();
        let mut sched = schedule(&s["schedule"], base);
        let mut opt = Sgd::new(base).unwrap();
        let ours: Vec<f64> = (0..12).map(|_| sched.step(&mut opt).unwrap()).collect();
        let torch = floats(&s["lrs"]);
        // Zero is reached exactly by both (cos(pi) = -1); elsewhere relative.
        for (e, (a, b)) in ours.iter().zip(&torch).enumerate() {
            assert!(
                (a - b).abs() <= RTOL * b.abs() + 1e-18,
                "{} epoch {}: {a:e} vs torch {b:e}",
                s["schedule"],
                e + 1
            );
        }
    }
}
