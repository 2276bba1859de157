use gradflow_autograd::{Activation, DType, Tape, Tensor};

use super::*;
use crate::{Act, ForwardCtx, Linear, Module, Sequential};

/// A 2 -> 4 layer whose units are, for inputs of size < 10: always negative (0 and
/// 3), always positive (1), and of either sign (2).
fn hand_built(act: Activation) -> Sequential {
    let w = Tensor::from_vec(vec![1.0f64, 0.0, 1.0, 0.0, 1.0, 0.0, -1.0, 0.0], [4, 2]).unwrap();
    let b = Tensor::from_vec(vec![-100.0f64, 100.0, 0.0, -100.0], [4]).unwrap();
    Sequential::new()
        .with(Linear::from_tensors(w, Some(b)).unwrap())
        .with(Act(act))
}

fn probe_once(model: &dyn Module, x: &Tensor) -> ProbeReport {
    let probe = Probe::new(ProbeConfig::default());
    let tape = Tape::new();
    let mut ctx = ForwardCtx::new(&tape);
    assert!(probe.begin(&mut ctx, 0));
    let y = model.forward(&mut ctx, &tape.constant(x.clone())).unwrap();
    let loss = y.powf(2.0).unwrap().sum_all().unwrap();
    probe.after_backward(&ctx.param_grads(&loss.backward().unwrap()));
    probe.report()
}

#[test]
fn the_probe_counts_dead_units_of_a_hand_built_layer() {
    let x = Tensor::randn([64, 2], DType::F64, 3);
    let report = probe_once(&hand_built(Activation::Relu), &x);
    let act = report
        .layers
        .iter()
        .find(|r| r.kind == RecordKind::Activation)
        .unwrap();
    assert_eq!(act.dead_fraction, Some(0.5), "units 0 and 3 never fire");
    // The dead units output exact zeros for every sample; unit 2 for about half.
    assert!(
        act.zero_fraction > 0.5 && act.zero_fraction < 0.75,
        "{}",
        act.zero_fraction
    );
    let leaky = probe_once(&hand_built(Activation::LeakyRelu { slope: 0.01 }), &x);
    let act = leaky
        .layers
        .iter()
        .find(|r| r.kind == RecordKind::Activation)
        .unwrap();
    assert_eq!(
        act.dead_fraction,
        Some(0.0),
        "a leaky unit always has slope"
    );
}

#[test]
fn the_probe_counts_saturated_sigmoid_units() {
    let x = Tensor::randn([64, 2], DType::F64, 4);
    let report = probe_once(&hand_built(Activation::Sigmoid), &x);
    let act = report
        .layers
        .iter()
        .find(|r| r.kind == RecordKind::Activation)
        .unwrap();
    // Units 0, 1, 3 sit at |h| ~ 100, where sigma' ~ e^-100: saturated, not dead.
    assert_eq!(act.saturated_fraction, Some(0.75));
    assert_eq!(act.dead_fraction, Some(0.0));
}

#[test]
fn weight_and_output_gradients_and_update_ratios_are_recorded() {
    let mut model = crate::Mlp::builder(3, &[5], 2)
        .activation(Activation::Tanh)
        .dtype(DType::F64)
        .seed(2)
        .build()
        .unwrap();
    let probe = Probe::new(ProbeConfig::default());
    let tape = Tape::new();
    let mut ctx = ForwardCtx::new(&tape);
    probe.begin(&mut ctx, 0);
    let y = model
        .forward(
            &mut ctx,
            &tape.constant(Tensor::randn([4, 3], DType::F64, 1)),
        )
        .unwrap();
    let loss = y.powf(2.0).unwrap().mean_all().unwrap();
    let grads = ctx.param_grads(&loss.backward().unwrap());
    probe.after_backward(&grads);
    // A plain gradient step of size 0.1.
    crate::module::visit_parameters_mut(&mut model, &mut |_, p| {
        if let Some(g) = grads.get(p) {
            let next = p.value().sub(&g.mul_scalar(0.1)).unwrap();
            p.set(next);
        }
    });
    probe.after_update(&model);
    let report = probe.report();
    let pre: Vec<&LayerRecord> = report
        .layers
        .iter()
        .filter(|r| r.kind == RecordKind::PreActivation)
        .collect();
    assert_eq!(pre.len(), 2);
    for r in &pre {
        let wg = r.weight_grad.unwrap();
        let ratio = r.update_ratio.unwrap();
        // ||0.1 g|| / ||W||.
        assert!((ratio - 0.1 * wg.norm / r.weight_norm.unwrap()).abs() < 1e-12 * ratio.max(1.0));
        assert!(r.bias_grad.is_some() && r.grad.is_some());
        // The gradient w.r.t. a bias is the output gradient summed over the batch, so
        // its max is at most the sum of the output gradient's max over 4 samples.
        assert!(r.bias_grad.unwrap().max_abs <= 4.0 * r.grad.unwrap().max_abs + 1e-15);
    }
    assert_eq!(pre[0].layer, 1);
    assert_eq!(pre[1].layer, 2);
    assert_eq!(pre[0].path, "layers.0");
}

#[test]
fn records_round_trip_through_json_and_csv() {
    let x = Tensor::randn([16, 2], DType::F64, 5);
    let report = probe_once(&hand_built(Activation::Tanh), &x);
    assert!(!report.layers.is_empty());
    let back = ProbeReport::from_json(&report.to_json().unwrap()).unwrap();
    assert_eq!(back, report);
    let csv = report.layers_csv();
    let rows =
        ProbeReport::layers_from_csv(&csv, std::path::Path::new("probe_layers.csv")).unwrap();
    assert_eq!(rows, report.layers);
    let bad = csv.replacen("pre_activation", "preactivation", 1);
    let e = ProbeReport::layers_from_csv(&bad, std::path::Path::new("p.csv"))
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "p.csv:line 2: kind \"preactivation\" is not pre_activation or activation"
    );
}

#[test]
fn histograms_use_the_same_edges_for_every_layer_and_lose_nothing() {
    let model = crate::Mlp::builder(4, &[8, 8], 2)
        .dtype(DType::F64)
        .build()
        .unwrap();
    let report = probe_once(&model, &Tensor::randn([10, 4], DType::F64, 6));
    for r in &report.layers {
        assert_eq!(
            r.histogram.counts.len(),
            report.config.value_edges.len() - 1
        );
        // Every element is counted somewhere: [10, 8] tensors, but [10, 2] at the output.
        let n = if r.path == "layers.4" { 10 * 2 } else { 10 * 8 };
        assert_eq!(r.histogram.total(), n, "{}", r.path);
        let g = r.grad_histogram.as_ref().unwrap();
        assert_eq!(g.total(), n);
        assert_eq!(g.counts.len(), report.config.grad_log10_edges.len() - 1);
    }
}

#[test]
fn only_the_configured_steps_are_recorded_and_an_unattached_step_adds_nothing() {
    let model = crate::Mlp::builder(2, &[3], 1)
        .dtype(DType::F64)
        .build()
        .unwrap();
    let probe = Probe::new(ProbeConfig {
        every: 5,
        ..ProbeConfig::default()
    });
    for step in 0..12 {
        let tape = Tape::new();
        let mut ctx = ForwardCtx::new(&tape);
        let attached = probe.begin(&mut ctx, step);
        assert_eq!(attached, step % 5 == 0);
        assert_eq!(ctx.is_observed(), attached);
        let y = model
            .forward(&mut ctx, &tape.constant(Tensor::ones([1, 2], DType::F64)))
            .unwrap();
        y.sum_all().unwrap().backward().unwrap();
    }
    let steps: Vec<usize> = probe.report().layers.iter().map(|r| r.step).collect();
    assert!(steps.iter().all(|s| [0, 5, 10].contains(s)));
    assert_eq!(steps.len(), 3 * 3);
}

#[test]
fn recurrent_modules_report_the_gradient_at_every_time_step() {
    let model =
        Sequential::new().with(crate::layers::rnn::Rnn::new(2, 3, true, DType::F64, 1).unwrap());
    let probe = Probe::new(ProbeConfig::default());
    let tape = Tape::new();
    let mut ctx = ForwardCtx::new(&tape);
    probe.begin(&mut ctx, 0);
    let x = tape.constant(Tensor::randn([5, 4, 2], DType::F64, 2));
    let hs = model.forward(&mut ctx, &x).unwrap();
    // The loss reads only the last state, so every earlier gradient flows through time.
    let last = hs.narrow(0, 4, 1).unwrap();
    last.sum_all().unwrap().backward().unwrap();
    let time = probe.report().time;
    assert_eq!(
        time.iter().map(|r| r.t).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5]
    );
    assert!(time.iter().all(|r| r.hidden_grad_norm > 0.0));
    // A tanh RNN with small weights loses gradient going back in time.
    assert!(time[0].hidden_grad_norm < time[4].hidden_grad_norm);
}
