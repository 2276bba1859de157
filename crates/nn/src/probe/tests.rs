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

/// The derivative the dead and saturated counts read (an estimate, the undecided
/// elements evaluated exactly) puts every element on the same side of 0 and of the
/// saturation limit as the exact derivative, including inputs a few ulps from where
/// `f'(x)` equals the limit, where it underflows to 0, and NaN.
#[test]
fn the_counts_derivative_decides_as_the_exact_one_does() {
    let config = ProbeConfig::default();
    for act in [
        Activation::Tanh,
        Activation::Sigmoid,
        Activation::Relu,
        Activation::LeakyRelu { slope: 0.01 },
        Activation::Silu,
        Activation::GeluTanh,
        Activation::Softplus { beta: 1.0 },
        Activation::Elu { alpha: 1.0 },
        Activation::Gelu,
    ] {
        let limit = config.saturation_threshold * worker::act_max_slope(act);
        let mut xs = Tensor::randn([64, 32], DType::F64, 5)
            .mul_scalar(4.0)
            .to_vec::<f64>()
            .unwrap();
        // Where |f'(x)| crosses the limit or 0, found by bisection on the exact
        // derivative, with the floats around each crossing.
        let exact_at = |x: f64| {
            let t = Tensor::from_vec(vec![x], [1]).unwrap();
            act.derivative(&t).unwrap().to_vec::<f64>().unwrap()[0]
        };
        for (level, lo, hi) in [
            (limit, -60.0, -1e-3),
            (limit, 1e-3, 60.0),
            (0.0, -800.0, -1e-3),
            (0.0, 1e-3, 800.0),
        ] {
            let side = |x: f64| exact_at(x).abs() > level;
            let (mut a, mut b) = (lo, hi);
            if side(a) == side(b) {
                continue;
            }
            for _ in 0..200 {
                let m = 0.5 * (a + b);
                if side(m) == side(a) { a = m } else { b = m }
            }
            let mut x = a;
            for _ in 0..40 {
                x = x.next_down();
            }
            for _ in 0..80 {
                xs.push(x);
                x = x.next_up();
            }
        }
        xs.extend([f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.0, -0.0, 1e300]);
        let n = xs.len();
        let x = Tensor::from_vec(xs, [n]).unwrap();
        let y = act.apply_tensor(&x).unwrap();
        let counted = worker::derivative_for_counts(act, &x, &y, limit).unwrap();
        let exact = act.derivative(&x).unwrap();
        for ((c, d), xi) in counted
            .to_vec::<f64>()
            .unwrap()
            .into_iter()
            .zip(exact.to_vec::<f64>().unwrap())
            .zip(x.to_vec::<f64>().unwrap())
        {
            assert_eq!(c == 0.0, d == 0.0, "{act} at {xi:e}: {c:e} vs {d:e}");
            assert_eq!(
                c.abs() < limit,
                d.abs() < limit,
                "{act} at {xi:e}: {c:e} vs {d:e}"
            );
        }
    }
}

mod reference;

/// The records' exact text: `{:?}` prints every float in its shortest round-trip form
/// (so equal text is equal bits, NaN and -0 included).
fn exact(report: &ProbeReport) -> String {
    format!("{report:?}")
}

/// Trains `model` for `steps` Adam steps on random data with three probes attached to
/// the same forward passes: the one computing on the training thread as before the
/// worker existed, a worker probe, and one processing on the calling thread; returns
/// their reports. The records are cleared after step 1.
fn three_probes(
    model: &mut dyn Module,
    inputs: &[usize],
    dtype: DType,
    config: &ProbeConfig,
    steps: usize,
    seed: u64,
) -> [ProbeReport; 3] {
    let reference = reference::SyncProbe::new(config.clone());
    let worker = Probe::new(config.clone());
    let inline = Probe::inline(config.clone());
    let mut opt = crate::optim::Adam::new(1e-2).unwrap();
    for step in 0..steps {
        let tape = Tape::new();
        let mut ctx = ForwardCtx::new(&tape);
        let a = reference.begin(&mut ctx, step);
        let b = worker.begin(&mut ctx, step);
        let c = inline.begin(&mut ctx, step);
        assert!(a == b && b == c);
        let x = Tensor::randn(inputs, dtype, seed * 100 + step as u64);
        let y = model.forward(&mut ctx, &tape.constant(x)).unwrap();
        let loss = y.powf(2.0).unwrap().mean_all().unwrap();
        let grads = ctx.param_grads(&loss.backward().unwrap());
        if a {
            reference.after_backward(&grads);
            worker.after_backward(&grads);
            inline.after_backward(&grads);
        }
        crate::optim::Optimizer::step(&mut opt, model, &grads).unwrap();
        if a {
            reference.after_update(model);
            worker.after_update(model);
            inline.after_update(model);
        }
        if step == 1 {
            reference.clear();
            worker.clear();
            inline.clear();
        }
    }
    assert!(worker.has_worker() && !inline.has_worker());
    [reference.report(), worker.report(), inline.report()]
}

#[test]
fn the_worker_records_exactly_what_the_training_thread_computed() {
    let cases = [
        (Activation::Tanh, vec![16, 16, 16], 1, 32),
        (Activation::Relu, vec![64; 6], 1, 128),
        (Activation::Sigmoid, vec![8, 24, 8], 2, 17),
        (Activation::LeakyRelu { slope: 0.1 }, vec![5], 1, 3),
        (Activation::Gelu, vec![32, 32], 3, 40),
        (Activation::Softmax { axis: 1 }, vec![6, 6], 1, 9),
    ];
    for (seed, (act, widths, every, batch)) in cases.into_iter().enumerate() {
        let seed = seed as u64;
        let mut model = crate::Mlp::builder(3, &widths, 2)
            .activation(act)
            .dtype(DType::F64)
            .seed(seed)
            .build()
            .unwrap();
        let config = ProbeConfig {
            every,
            ..ProbeConfig::default()
        };
        let [reference, worker, inline] =
            three_probes(&mut model, &[batch, 3], DType::F64, &config, 6, seed);
        assert!(!reference.layers.is_empty());
        assert!(reference.layers.iter().any(|r| r.update_ratio.is_some()));
        assert_eq!(exact(&worker), exact(&reference), "{act}");
        assert_eq!(exact(&inline), exact(&reference), "{act}");
    }
    // Convolutions, pooling and an f32 network.
    let mut conv = Sequential::new()
        .with(
            crate::Conv2d::builder(1, 3, [3, 3])
                .padding([1, 1])
                .dtype(DType::F32)
                .seed(4)
                .build()
                .unwrap(),
        )
        .with(Act(Activation::Relu))
        .with(crate::Flatten)
        .with(
            Linear::new(
                3 * 5 * 5,
                2,
                crate::init::Init::he(),
                None,
                true,
                DType::F32,
                5,
            )
            .unwrap(),
        );
    let [reference, worker, inline] = three_probes(
        &mut conv,
        &[4, 1, 5, 5],
        DType::F32,
        &ProbeConfig::default(),
        3,
        7,
    );
    assert_eq!(exact(&worker), exact(&reference));
    assert_eq!(exact(&inline), exact(&reference));
}

#[test]
fn the_worker_records_the_gradient_through_time_as_before() {
    let model =
        Sequential::new().with(crate::layers::rnn::Rnn::new(2, 3, true, DType::F64, 1).unwrap());
    let reference = reference::SyncProbe::new(ProbeConfig::default());
    let worker = Probe::new(ProbeConfig::default());
    let tape = Tape::new();
    let mut ctx = ForwardCtx::new(&tape);
    reference.begin(&mut ctx, 0);
    worker.begin(&mut ctx, 0);
    let x = tape.constant(Tensor::randn([5, 4, 2], DType::F64, 2));
    let hs = model.forward(&mut ctx, &x).unwrap();
    hs.narrow(0, 4, 1)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    // No parameter gradients, but what was captured goes to the worker.
    reference.after_backward(&ParamGrads::default());
    worker.after_backward(&ParamGrads::default());
    assert!(worker.has_worker());
    let (a, b) = (reference.report(), worker.report());
    assert_eq!(b.time.len(), 5);
    assert_eq!(exact(&b), exact(&a));
}

#[test]
fn a_step_without_backward_or_update_leaves_those_fields_empty() {
    let model = crate::Mlp::builder(2, &[4], 1)
        .dtype(DType::F64)
        .build()
        .unwrap();
    let probe = Probe::new(ProbeConfig::default());
    let tape = Tape::new();
    let mut ctx = ForwardCtx::new(&tape);
    probe.begin(&mut ctx, 0);
    model
        .forward(&mut ctx, &tape.constant(Tensor::ones([3, 2], DType::F64)))
        .unwrap();
    // An update with no backward, and nothing else.
    probe.after_update(&model);
    let report = probe.report();
    assert_eq!(report.layers.len(), 3);
    assert!(report.layers.iter().all(|r| r.grad.is_none()
        && r.weight_grad.is_none()
        && r.update_ratio == Some(0.0)
        || r.kind == RecordKind::Activation));
    // The next step starts cleanly; a report taken twice is the same.
    let tape = Tape::new();
    let mut ctx = ForwardCtx::new(&tape);
    probe.begin(&mut ctx, 1);
    let y = model
        .forward(&mut ctx, &tape.constant(Tensor::ones([3, 2], DType::F64)))
        .unwrap();
    y.sum_all().unwrap().backward().unwrap();
    assert_eq!(probe.report().layers.len(), 6);
    assert_eq!(exact(&probe.report()), exact(&probe.report()));
}

#[test]
fn dropping_the_probe_before_backward_or_clearing_records_is_harmless() {
    let model = crate::Mlp::builder(2, &[4, 4], 1)
        .dtype(DType::F64)
        .build()
        .unwrap();
    let run = |probe: &Probe, step: usize| {
        let tape = Tape::new();
        let mut ctx = ForwardCtx::new(&tape);
        probe.begin(&mut ctx, step);
        let y = model
            .forward(&mut ctx, &tape.constant(Tensor::ones([3, 2], DType::F64)))
            .unwrap();
        (tape.clone(), y)
    };
    // A report with nothing handed over starts no thread.
    let probe = Probe::new(ProbeConfig::default());
    let (_tape, _y) = run(&probe, 0);
    assert_eq!(probe.report().layers.len(), 5);
    assert!(!probe.has_worker());
    // The probe goes away while its hooks still sit on a tape: they do nothing.
    let probe = Probe::new(ProbeConfig::default());
    let (_tape, y) = run(&probe, 0);
    probe.after_backward(&ParamGrads::default());
    assert!(probe.has_worker());
    drop(probe);
    y.sum_all().unwrap().backward().unwrap();
    // Hooks of a cleared step do not write into the records that follow the clear.
    let probe = Probe::new(ProbeConfig::default());
    let (_old_tape, old) = run(&probe, 0);
    probe.clear();
    let (_tape, _new) = run(&probe, 1);
    old.sum_all().unwrap().backward().unwrap();
    let report = probe.report();
    assert_eq!(report.layers.len(), 5);
    assert!(
        report
            .layers
            .iter()
            .all(|r| r.step == 1 && r.grad.is_none())
    );
    assert_eq!(
        format!("{probe:?}"),
        "Probe(5 layer records, 0 time records)"
    );
}

#[test]
fn probes_can_move_between_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Probe>();
    let probe = Probe::new(ProbeConfig::default());
    let x = Tensor::randn([8, 2], DType::F64, 1);
    let model = crate::Mlp::builder(2, &[4], 1)
        .dtype(DType::F64)
        .build()
        .unwrap();
    let report = std::thread::scope(|s| s.spawn(|| probe_with(&probe, &model, &x)).join().unwrap());
    assert_eq!(report.layers.len(), 3);
    assert!(report.layers.iter().all(|r| r.grad.is_some()));
}

fn probe_with(probe: &Probe, model: &dyn Module, x: &Tensor) -> ProbeReport {
    let tape = Tape::new();
    let mut ctx = ForwardCtx::new(&tape);
    probe.begin(&mut ctx, 0);
    let y = model.forward(&mut ctx, &tape.constant(x.clone())).unwrap();
    let loss = y.powf(2.0).unwrap().sum_all().unwrap();
    probe.after_backward(&ctx.param_grads(&loss.backward().unwrap()));
    probe.report()
}
