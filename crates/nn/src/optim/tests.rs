//! Settings checks, state handling, dtypes, clipping and schedules. Trajectories against
//! PyTorch are in `crates/nn/tests/optim.rs`.

use gradflow_autograd::{DType, Tensor};

use super::*;
use crate::module::named_parameters;
use crate::{Linear, Module, ParamGrads};

fn t(values: &[f64], dims: &[usize]) -> Tensor {
    Tensor::from_vec(values.to_vec(), dims).unwrap()
}

/// A 2 -> 1 linear layer `w = [1, -2]`, `b = [0.5]`, in `dtype`.
fn layer(dtype: DType) -> Linear {
    Linear::from_tensors(
        t(&[1.0, -2.0], &[1, 2]).to_dtype(dtype),
        Some(t(&[0.5], &[1]).to_dtype(dtype)),
    )
    .unwrap()
}

/// Gradients `gw` for the weight and `gb` for the bias (`None`: no gradient).
fn grads_for(model: &Linear, gw: &[f64], gb: Option<f64>) -> ParamGrads {
    let dtype = model.weight().value().dtype();
    let mut g = ParamGrads::default();
    g.set(model.weight().id(), t(gw, &[1, 2]).to_dtype(dtype));
    if let (Some(b), Some(v)) = (model.bias(), gb) {
        g.set(b.id(), t(&[v], &[1]).to_dtype(dtype));
    }
    g
}

/// One optimiser step with gradients built by [`grads_for`].
fn step_with(opt: &mut dyn Optimizer, m: &mut Linear, gw: &[f64], gb: Option<f64>) {
    let g = grads_for(m, gw, gb);
    opt.step(m, &g).unwrap();
}

fn values(model: &dyn Module) -> Vec<Vec<f64>> {
    named_parameters(model)
        .iter()
        .map(|(_, p)| p.value().to_f64_vec())
        .collect()
}

fn err(r: Result<impl std::fmt::Debug>) -> String {
    r.unwrap_err().to_string()
}

#[test]
fn sgd_refuses_bad_settings_and_names_the_value() {
    assert_eq!(
        err(Sgd::new(-0.1)),
        "Sgd: the learning rate must be a finite number >= 0, got -0.1"
    );
    assert_eq!(
        err(Sgd::new(f64::NAN)),
        "Sgd: the learning rate must be a finite number >= 0, got NaN"
    );
    assert_eq!(
        err(Sgd::builder(0.1).momentum(1.0).build()),
        "Sgd: momentum must be in [0, 1), got 1"
    );
    assert_eq!(
        err(Sgd::builder(0.1).momentum(-0.5).build()),
        "Sgd: momentum must be in [0, 1), got -0.5"
    );
    assert_eq!(
        err(Sgd::builder(0.1).dampening(1.5).build()),
        "Sgd: dampening must be in [0, 1], got 1.5"
    );
    assert_eq!(
        err(Sgd::builder(0.1).weight_decay(-1e-4).build()),
        "Sgd: weight_decay must be a finite number >= 0, got -0.0001"
    );
    assert_eq!(
        err(Sgd::builder(0.1).nesterov(true).build()),
        "Sgd: Nesterov momentum needs a momentum > 0, got 0"
    );
    assert_eq!(
        err(Sgd::builder(0.1)
            .momentum(0.9)
            .dampening(0.1)
            .nesterov(true)
            .build()),
        "Sgd: Nesterov momentum needs zero dampening, got 0.1"
    );
}

#[test]
fn adam_and_rmsprop_refuse_bad_settings_and_name_the_value() {
    assert_eq!(
        err(Adam::builder(1e-3).betas(-0.1, 0.999).build()),
        "Adam: beta1 must be in [0, 1), got -0.1"
    );
    assert_eq!(
        err(AdamW::builder(1e-3).betas(0.9, 1.0).build()),
        "AdamW: beta2 must be in [0, 1), got 1"
    );
    assert_eq!(
        err(Adam::builder(1e-3).eps(0.0).build()),
        "Adam: eps must be a finite number > 0, got 0"
    );
    assert_eq!(
        err(AdamW::builder(1e-3).weight_decay(-0.01).build()),
        "AdamW: weight_decay must be a finite number >= 0, got -0.01"
    );
    assert_eq!(
        err(RmsProp::new(-1.0)),
        "RmsProp: the learning rate must be a finite number >= 0, got -1"
    );
    assert_eq!(
        err(RmsProp::builder(0.01).alpha(1.0).build()),
        "RmsProp: alpha must be in [0, 1), got 1"
    );
    assert_eq!(
        err(RmsProp::builder(0.01).momentum(2.0).build()),
        "RmsProp: momentum must be in [0, 1), got 2"
    );
    assert_eq!(
        err(RmsProp::builder(0.01).eps(-1e-8).build()),
        "RmsProp: eps must be a finite number > 0, got -0.00000001"
    );
}

#[test]
fn set_lr_refuses_a_negative_rate_and_keeps_the_old_one() {
    let mut opts: Vec<Box<dyn Optimizer>> = vec![
        Box::new(Sgd::new(0.1).unwrap()),
        Box::new(Adam::new(0.1).unwrap()),
        Box::new(AdamW::new(0.1).unwrap()),
        Box::new(RmsProp::new(0.1).unwrap()),
    ];
    for opt in &mut opts {
        let e = opt.set_lr(-1.0).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "{}: the learning rate must be a finite number >= 0, got -1",
                opt.name()
            )
        );
        assert_eq!(opt.lr(), 0.1);
        opt.set_lr(0.5).unwrap();
        assert_eq!(opt.lr(), 0.5);
    }
}

#[test]
fn sgd_with_momentum_matches_the_update_written_out() {
    // d = g + 0.1 p; b1 = d1; b2 = 0.9 b1 + 0.8 d2; p -= 0.5 b.
    let mut m = layer(DType::F64);
    let mut opt = Sgd::builder(0.5)
        .momentum(0.9)
        .dampening(0.2)
        .weight_decay(0.1)
        .build()
        .unwrap();
    let (mut w, mut b) = ([1.0, -2.0], 0.5);
    let mut buf_w = [0.0; 2];
    let mut buf_b = 0.0;
    for (k, g) in [[0.3, -0.1, 0.2], [-0.4, 0.25, 0.05]].iter().enumerate() {
        step_with(&mut opt, &mut m, &g[..2], Some(g[2]));
        for i in 0..2 {
            let d = g[i] + 0.1 * w[i];
            buf_w[i] = if k == 0 { d } else { buf_w[i] * 0.9 + 0.8 * d };
            w[i] += -0.5 * buf_w[i];
        }
        let d = g[2] + 0.1 * b;
        buf_b = if k == 0 { d } else { buf_b * 0.9 + 0.8 * d };
        b += -0.5 * buf_b;
        assert_eq!(values(&m), vec![w.to_vec(), vec![b]]);
    }
}

#[test]
fn a_parameter_without_a_gradient_is_left_alone_state_and_decay_included() {
    let mut m = layer(DType::F64);
    let mut opt = AdamW::builder(0.1).weight_decay(0.5).build().unwrap();
    // Two steps with a gradient only for the weight: the bias keeps its value (no
    // decoupled decay either) and gets no step count.
    for _ in 0..2 {
        step_with(&mut opt, &mut m, &[1.0, 1.0], None);
    }
    assert_eq!(m.bias().unwrap().value().to_f64_vec(), vec![0.5]);
    // Its first step with a gradient is a first step: Adam's first update is
    // lr * g / (|g| + eps) in size, after the decay.
    step_with(&mut opt, &mut m, &[1.0, 1.0], Some(2.0));
    let b = m.bias().unwrap().value().to_f64_vec()[0];
    let expected = 0.5 * (1.0 - 0.1 * 0.5) - 0.1 * 2.0 / (2.0 + 1e-8);
    assert!((b - expected).abs() < 1e-15, "{b} vs {expected}");
}

#[test]
fn a_gradient_of_the_wrong_shape_or_dtype_is_refused_and_nothing_changes() {
    let mut m = layer(DType::F64);
    let before = values(&m);
    let mut opt = Sgd::new(0.1).unwrap();
    let mut g = grads_for(&m, &[1.0, 1.0], None);
    g.set(m.bias().unwrap().id(), t(&[1.0, 2.0], &[2]));
    // The weight comes first and is fine; the bias is checked before anything moves.
    assert_eq!(
        opt.step(&mut m, &g).unwrap_err().to_string(),
        "Sgd: parameter bias: the gradient is [2] f64 but the parameter is [1] f64"
    );
    assert_eq!(values(&m), before);
    let mut g = grads_for(&m, &[1.0, 1.0], None);
    g.set(
        m.weight().id(),
        t(&[1.0, 1.0], &[1, 2]).to_dtype(DType::F32),
    );
    assert_eq!(
        opt.step(&mut m, &g).unwrap_err().to_string(),
        "Sgd: parameter weight: the gradient is [1, 2] f32 but the parameter is [1, 2] f64"
    );
    assert_eq!(values(&m), before);
}

#[test]
fn a_parameter_replaced_by_another_shape_no_longer_fits_its_state_until_reset() {
    let mut m = layer(DType::F64);
    let mut opt = RmsProp::builder(0.01).momentum(0.9).build().unwrap();
    step_with(&mut opt, &mut m, &[1.0, 1.0], Some(1.0));
    crate::module::visit_parameters_mut(&mut m, &mut |name, p| {
        if name == "bias" {
            p.set(Tensor::zeros([3], DType::F64));
        }
    });
    let mut g = grads_for(&m, &[1.0, 1.0], None);
    g.set(m.bias().unwrap().id(), Tensor::ones([3], DType::F64));
    let e = opt.step(&mut m, &g).unwrap_err().to_string();
    assert_eq!(
        e,
        "RmsProp: parameter bias: the parameter is now [3] f64, which does not fit the \
         state kept for it (call reset() after replacing parameters)"
    );
    opt.reset();
    opt.step(&mut m, &g).unwrap();
}

#[test]
fn f32_parameters_stay_f32_and_follow_the_f64_trajectory() {
    let make = || -> Vec<Box<dyn Optimizer>> {
        vec![
            Box::new(
                Sgd::builder(0.1)
                    .momentum(0.9)
                    .nesterov(true)
                    .build()
                    .unwrap(),
            ),
            Box::new(Adam::builder(0.05).weight_decay(0.01).build().unwrap()),
            Box::new(AdamW::new(0.05).unwrap()),
            Box::new(
                RmsProp::builder(0.01)
                    .centered(true)
                    .momentum(0.5)
                    .build()
                    .unwrap(),
            ),
        ]
    };
    for (mut o32, mut o64) in make().into_iter().zip(make()) {
        let (mut m32, mut m64) = (layer(DType::F32), layer(DType::F64));
        for g in [[0.3, -0.1, 0.2], [-0.4, 0.25, 0.05], [0.1, 0.1, -0.3]] {
            step_with(&mut *o32, &mut m32, &g[..2], Some(g[2]));
            step_with(&mut *o64, &mut m64, &g[..2], Some(g[2]));
        }
        assert_eq!(m32.weight().value().dtype(), DType::F32);
        for (a, b) in values(&m32).concat().iter().zip(values(&m64).concat()) {
            assert!(
                (a - b).abs() < 1e-6 * b.abs().max(1.0),
                "{}: {a} vs {b}",
                o32.name()
            );
        }
    }
}

#[test]
fn an_update_leaves_a_tensor_that_a_tape_still_holds_unchanged() {
    let mut m = layer(DType::F64);
    let held = m.weight().value().clone();
    let mut opt = Sgd::new(1.0).unwrap();
    step_with(&mut opt, &mut m, &[1.0, 1.0], None);
    assert_eq!(held.to_f64_vec(), vec![1.0, -2.0]);
    assert_eq!(m.weight().value().to_f64_vec(), vec![0.0, -3.0]);
}

#[test]
fn clip_grad_norm_returns_the_norm_before_and_scales_to_just_under_max_norm() {
    let m = layer(DType::F64);
    let mut g = grads_for(&m, &[3.0, 0.0], Some(4.0));
    let norm = clip_grad_norm(&mut g, 2.0).unwrap();
    assert_eq!(norm, 5.0);
    let c = 2.0 / (5.0 + 1e-6);
    assert_eq!(g.get(m.weight()).unwrap().to_f64_vec(), vec![3.0 * c, 0.0]);
    assert_eq!(
        g.get(m.bias().unwrap()).unwrap().to_f64_vec(),
        vec![4.0 * c]
    );
    // Below the limit: unchanged. Infinite limit: never clips.
    let mut g = grads_for(&m, &[0.3, 0.0], Some(0.4));
    assert!((clip_grad_norm(&mut g, 1.0).unwrap() - 0.5).abs() < 1e-16);
    assert_eq!(g.get(m.weight()).unwrap().to_f64_vec(), vec![0.3, 0.0]);
    assert_eq!(clip_grad_norm(&mut g, f64::INFINITY).unwrap(), 0.5);
    // Empty gradients: norm 0, nothing to do.
    assert_eq!(
        clip_grad_norm(&mut ParamGrads::default(), 1.0).unwrap(),
        0.0
    );
}

#[test]
fn clip_grad_norm_refuses_a_negative_or_nan_max_norm() {
    let mut g = ParamGrads::default();
    for bad in [-1.0, f64::NAN] {
        assert_eq!(
            err(clip_grad_norm(&mut g, bad)),
            format!("clip_grad_norm: max_norm must be >= 0, got {bad}")
        );
    }
}

#[test]
fn clip_grad_norm_accumulates_f32_norms_in_f64() {
    // 1e30^2 overflows f32; the norm must still come out right.
    let m = layer(DType::F32);
    let mut g = grads_for(&m, &[3e30, 0.0], Some(4e30));
    let norm = clip_grad_norm(&mut g, 1.0).unwrap();
    assert!((norm - 5e30).abs() < 1e24, "{norm:e}");
    let w = g.get(m.weight()).unwrap();
    assert_eq!(w.dtype(), DType::F32);
    assert!((w.to_f64_vec()[0] - 0.6).abs() < 1e-6);
}

#[test]
fn a_nan_gradient_makes_clip_grad_norm_return_nan_as_pytorch_does() {
    let m = layer(DType::F64);
    let mut g = grads_for(&m, &[f64::NAN, 1.0], Some(1.0));
    assert!(clip_grad_norm(&mut g, 1.0).unwrap().is_nan());
    assert!(g.get(m.bias().unwrap()).unwrap().to_f64_vec()[0].is_nan());
}

#[test]
fn schedules_refuse_bad_settings_and_set_the_optimizer_rate_each_epoch() {
    assert_eq!(
        err(StepLr::new(0.1, 0, 0.5)),
        "StepLr: step_size must be at least 1, got 0"
    );
    assert_eq!(
        err(StepLr::new(0.1, 2, -0.5)),
        "StepLr: gamma must be a finite number >= 0, got -0.5"
    );
    assert_eq!(
        err(CosineLr::new(0.1, 0, 0.0)),
        "CosineLr: t_max must be at least 1, got 0"
    );
    assert_eq!(
        err(CosineLr::new(-0.1, 5, 0.0)),
        "CosineLr: the learning rate must be a finite number >= 0, got -0.1"
    );
    let mut opt = Sgd::new(0.4).unwrap();
    let mut s = StepLr::new(opt.lr(), 2, 0.5).unwrap();
    let lrs: Vec<f64> = (0..5).map(|_| s.step(&mut opt).unwrap()).collect();
    assert_eq!(lrs, vec![0.4, 0.2, 0.2, 0.1, 0.1]);
    assert_eq!((s.epoch(), opt.lr()), (5, 0.1));
    let c = CosineLr::new(1.0, 4, 0.2).unwrap();
    assert_eq!(c.lr_at(0), 1.0);
    assert!((c.lr_at(2) - 0.6).abs() < 1e-15);
    assert_eq!(c.lr_at(4), 0.2);
}
