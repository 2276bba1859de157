//! The layers together, through the public API: a small convolutional network and a
//! recurrent one, as a user would assemble them.
#![expect(
    clippy::unwrap_used,
    reason = "in tests a failed unwrap is a failed test"
)]

use gradflow_autograd::{Activation, DType, Tape, Tensor};
use gradflow_nn::module::{modules, named_buffers, named_parameters, set_training};
use gradflow_nn::{
    Act, AvgPool2d, BatchNorm1d, Conv2d, Dropout, Flatten, ForwardCtx, Linear, Lstm, MaxPool2d,
    Module, Residual, Role, Sequential, gradcheck_module, init::Init,
};

fn small_cnn() -> Sequential {
    Sequential::new()
        .with(
            Conv2d::builder(1, 2, [3, 3])
                .padding([1, 1])
                .dtype(DType::F64)
                .seed(1)
                .build()
                .unwrap(),
        )
        .with(Act(Activation::Tanh))
        .with(MaxPool2d::new([2, 2]).unwrap())
        .with(AvgPool2d::with_options([2, 2], [1, 1], [1, 1]).unwrap())
        .with(Flatten)
        .with(Linear::new(18, 3, Init::Standard, None, true, DType::F64, 2).unwrap())
}

#[test]
fn a_small_cnn_has_pytorch_names_and_gradchecks_end_to_end() {
    let net = small_cnn();
    let names: Vec<String> = named_parameters(&net).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["0.weight", "0.bias", "5.weight", "5.bias"]);
    let roles: Vec<Role> = modules(&net).iter().map(|(_, m)| m.role()).collect();
    assert_eq!(
        roles[1],
        Role::Conv2d {
            inputs: 1,
            outputs: 2
        }
    );
    let x = Tensor::randn([2, 1, 4, 4], DType::F64, 3);
    let r = gradcheck_module(&net, &x, &Default::default()).unwrap();
    assert!(r.passed, "{r}");
}

#[test]
fn set_training_switches_every_norm_and_dropout_in_a_tree() {
    let mut net = Sequential::new()
        .with(Linear::new(3, 4, Init::xavier(), None, true, DType::F64, 1).unwrap())
        .with(Residual::new(
            Sequential::new()
                .with(BatchNorm1d::new(4, DType::F64).unwrap())
                .with(Dropout::new(0.5).unwrap()),
        ));
    assert_eq!(named_buffers(&net)[0].0, "1.inner.0.running_mean");
    let x = Tensor::randn([1, 3], DType::F64, 4);
    let run = |net: &Sequential, seed| {
        let tape = Tape::new();
        let mut ctx = ForwardCtx::with_seed(&tape, seed);
        net.forward(&mut ctx, &tape.constant(x.clone()))
            .map(|y| y.value().to_f64_vec())
    };
    // Training: one example is too few for batch statistics; the error names the layer.
    assert_eq!(
        run(&net, 0).unwrap_err().to_string(),
        "1.inner.0: BatchNorm1d: training needs more than one value per channel, got input [1, 4]"
    );
    set_training(&mut net, false);
    assert_eq!(run(&net, 0).unwrap(), run(&net, 1).unwrap());
}

#[test]
fn an_lstm_reports_the_gradient_reaching_each_time_step() {
    let lstm = Lstm::new(2, 3, true, DType::F64, 5).unwrap();
    let tape = Tape::new();
    let mut ctx = ForwardCtx::new(&tape);
    let x = tape.constant(Tensor::randn([5, 4, 2], DType::F64, 6));
    let hs = lstm.forward_states(&mut ctx, &x).unwrap();
    let loss = hs[4].sum_all().unwrap();
    let refs: Vec<_> = hs.iter().collect();
    let g = tape.grad(&loss, &refs, false).unwrap();
    let norms: Vec<f64> = g
        .iter()
        .map(|g| {
            g.value()
                .to_f64_vec()
                .iter()
                .map(|v| v * v)
                .sum::<f64>()
                .sqrt()
        })
        .collect();
    assert_eq!(norms.len(), 5);
    assert!(norms.iter().all(|n| n.is_finite() && *n > 0.0), "{norms:?}");
    // dL/dh_T = 1 for each of the N H = 12 elements.
    assert!((norms[4] - 12f64.sqrt()).abs() < 1e-12);
    // The whole-sequence output is the stack of the same states.
    let y = lstm.forward(&mut ctx, &x).unwrap();
    assert_eq!(y.dims(), &[5, 4, 3]);
    assert_eq!(
        y.value().to_f64_vec()[4 * 12..],
        hs[4].value().to_f64_vec()[..]
    );
}

#[test]
fn the_nameless_walks_visit_what_the_named_ones_do_in_their_order() {
    use gradflow_nn::module::{for_each_parameter, for_each_parameter_mut};
    let mut net = Sequential::new().with(small_cnn()).with(Residual::new(
        Linear::new(3, 3, Init::Standard, None, true, DType::F64, 4).unwrap(),
    ));
    let named: Vec<_> = named_parameters(&net).iter().map(|(_, p)| p.id()).collect();
    let mut walked = Vec::new();
    for_each_parameter(&net, &mut |p| walked.push(p.id()));
    assert_eq!(walked, named);
    let mut walked_mut = Vec::new();
    for_each_parameter_mut(&mut net, &mut |p| walked_mut.push(p.id()));
    assert_eq!(walked_mut, named);
    // Sequential overrides for_each_child: same children as `children`, same order.
    let mut children = Vec::new();
    net.for_each_child(&mut |c| children.push(c.describe()));
    let listed: Vec<String> = net.children().iter().map(|(_, c)| c.describe()).collect();
    assert_eq!(children, listed);
}

#[test]
fn nodes_recorded_inside_a_container_carry_the_dotted_path() {
    let net = Sequential::new().with(small_cnn());
    let tape = Tape::new();
    let mut ctx = ForwardCtx::new(&tape);
    let x = tape.constant(Tensor::randn([1, 1, 4, 4], DType::F64, 5));
    assert_eq!(ctx.path(), "");
    net.forward(&mut ctx, &x).unwrap();
    assert_eq!(ctx.path(), "", "the path is restored after the pass");
    let scopes: Vec<String> = tape
        .graph()
        .node_weights()
        .filter_map(|n| n.scope.clone())
        .collect();
    assert!(scopes.iter().any(|s| s == "0.5"), "{scopes:?}");
    assert!(scopes.iter().any(|s| s == "0.0"), "{scopes:?}");
}
