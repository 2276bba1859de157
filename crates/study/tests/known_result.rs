//! The default study shows the known result (Glorot & Bengio 2010): at depth 20, sigmoid
//! with the standard init loses its gradient towards the input and does not train, while
//! ReLU with He's init keeps it and trains.
//!
//! Both runs use the default study's settings unchanged (20 hidden layers of 64 units,
//! 500 steps of Adam at 1e-3 on 2,000 two-spirals samples, f64), in parallel: under 5 s
//! of CPU in the test profile, so the steps need no reduction. Measured: ratio 1.1e-16
//! and 48% held-out accuracy for sigmoid, 0.29 and 99% for ReLU, far from the bounds.
#![expect(
    clippy::unwrap_used,
    reason = "in tests a failed unwrap is a failed test"
)]

use gradflow_autograd::Activation;
use gradflow_nn::init::Init;
use gradflow_study::cli::{default_grid, default_training};
use gradflow_study::config::RunSpec;
use gradflow_study::results::{RunResult, RunStatus};
use gradflow_study::run;

/// The default study's run of `activation` with `init`, trained with the default
/// settings.
fn default_run(activation: Activation, init: Init) -> RunResult {
    let grid = default_grid();
    let training = default_training();
    let (index, spec): (usize, RunSpec) = grid
        .runs()
        .into_iter()
        .enumerate()
        .find(|(_, s)| s.activation == activation && s.init == init)
        .unwrap();
    assert_eq!(spec.depth, 20);
    let data = run::prepare(&spec.dataset, &training).unwrap();
    run::run(&spec, index, &training, &data, &|_, _| {}).unwrap()
}

#[test]
fn at_depth_20_sigmoid_gradients_vanish_and_it_trains_worse_than_relu_with_he() {
    let (sigmoid, relu) = std::thread::scope(|s| {
        let sigmoid = s.spawn(|| default_run(Activation::Sigmoid, Init::Standard));
        let relu = default_run(Activation::Relu, Init::he());
        (sigmoid.join().unwrap(), relu)
    });
    for r in [&sigmoid, &relu] {
        assert_eq!(r.status, RunStatus::Completed, "{}", r.id);
    }
    // ||delta_1|| / ||delta_20|| at initialisation: orders of magnitude below 1 for
    // sigmoid (its slope is at most 1/4), about 1 for ReLU with He.
    assert!(
        sigmoid.first_last_ratio < 1e-3,
        "sigmoid ratio {:e}",
        sigmoid.first_last_ratio
    );
    assert!(
        (0.1..=10.0).contains(&relu.first_last_ratio),
        "relu ratio {:e}",
        relu.first_last_ratio
    );
    let (s, r) = (sigmoid.test_accuracy.unwrap(), relu.test_accuracy.unwrap());
    assert!(r > 0.9, "relu test accuracy {r}");
    assert!(s < r - 0.2, "sigmoid test accuracy {s}, relu {r}");
}
