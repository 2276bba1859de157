//! Training end to end through the public API: XOR to 100% accuracy, two spirals to at
//! least 97% held-out accuracy with a ReLU MLP, and the digits to at least 95% held-out
//! accuracy with a two-hidden-layer ReLU MLP and Adam. Each runs in under half a second
//! in the test profile (the accuracies seen over other seeds are listed above the tests).
#![expect(
    clippy::unwrap_used,
    reason = "in tests a failed unwrap is a failed test"
)]

use gradflow_autograd::{Activation, Tape, Tensor};
use gradflow_nn::data::{Dataset, standardize, synthetic};
use gradflow_nn::init::Init;
use gradflow_nn::loss::{Reduction, cross_entropy};
use gradflow_nn::metrics::accuracy;
use gradflow_nn::optim::{Adam, CosineLr, LrSchedule, Optimizer};
use gradflow_nn::{ForwardCtx, Mlp, Module};

/// One optimiser step on a batch; returns the batch's mean cross-entropy.
fn step(model: &mut Mlp, opt: &mut dyn Optimizer, x: &Tensor, labels: &[usize]) -> f64 {
    let tape = Tape::new();
    let mut ctx = ForwardCtx::new(&tape);
    let logits = model.forward(&mut ctx, &tape.constant(x.clone())).unwrap();
    let loss = cross_entropy(&logits, labels, Reduction::Mean).unwrap();
    let grads = ctx.param_grads(&loss.backward().unwrap());
    opt.step(model, &grads).unwrap();
    loss.value().to_scalar::<f32>().unwrap() as f64
}

/// The model's accuracy on a whole data set.
fn accuracy_on(model: &Mlp, data: &Dataset) -> f64 {
    let tape = Tape::new();
    let mut ctx = ForwardCtx::new(&tape);
    let logits = model
        .forward(&mut ctx, &tape.constant(data.features().clone()))
        .unwrap();
    accuracy(logits.value(), data.labels().unwrap()).unwrap()
}

/// Trains `model` on `train` with Adam for `epochs` epochs of shuffled mini-batches, the
/// learning rate annealed from `lr` to 0 by a cosine schedule, epoch by epoch.
fn fit(model: &mut Mlp, train: &Dataset, lr: f64, batch: usize, epochs: u64, seed: u64) {
    let mut opt = Adam::builder(lr).build().unwrap();
    let mut schedule = CosineLr::new(lr, epochs as usize, 0.0).unwrap();
    let batches = train.batches(batch, seed).unwrap();
    for epoch in 0..epochs {
        for b in batches.epoch(epoch) {
            let b = b.unwrap();
            let data = b.data();
            step(model, &mut opt, data.features(), data.labels().unwrap());
        }
        schedule.step(&mut opt).unwrap();
    }
}

/// XOR with noise 0.1 around the corners (+-1, +-1), 200 points: a 2-8-2 tanh MLP,
/// full-batch Adam with learning rate 0.05, 150 steps. Returns (train accuracy,
/// accuracy on a fresh sample of 200, final loss).
fn xor(seed: u64) -> (f64, f64, f64) {
    let train = synthetic::xor(200, 0.1, seed).unwrap();
    let fresh = synthetic::xor(200, 0.1, seed + 1000).unwrap();
    let mut model = Mlp::builder(2, &[8], 2)
        .activation(Activation::Tanh)
        .init(Init::xavier())
        .seed(seed)
        .build()
        .unwrap();
    let mut opt = Adam::builder(0.05).build().unwrap();
    let mut loss = f64::NAN;
    for _ in 0..150 {
        loss = step(
            &mut model,
            &mut opt,
            train.features(),
            train.labels().unwrap(),
        );
    }
    (
        accuracy_on(&model, &train),
        accuracy_on(&model, &fresh),
        loss,
    )
}

/// Two spirals (1.75 turns each, noise 0.02), 2,000 points, 20% held out: a 2-64-64-2
/// ReLU MLP (He init), Adam from learning rate 0.01 (cosine to 0), batches of 50,
/// 75 epochs. Returns (train accuracy, held-out accuracy).
///
/// The last percent is out of reach of any classifier: near the centre the two arms
/// are closer than the noise.
fn spirals(seed: u64) -> (f64, f64) {
    let data = synthetic::two_spirals(2000, 0.02, seed).unwrap();
    let (train, test) = data.split(0.2, seed).unwrap();
    let mut model = Mlp::builder(2, &[64, 64], 2)
        .activation(Activation::Relu)
        .init(Init::he())
        .seed(seed)
        .build()
        .unwrap();
    fit(&mut model, &train, 0.01, 50, 75, seed);
    (accuracy_on(&model, &train), accuracy_on(&model, &test))
}

/// The digits (1,797 images of 8x8), 30% held out, standardised with the training
/// statistics: a 64-128-128-10 ReLU MLP (He init), Adam from learning rate 0.003
/// (cosine to 0), batches of 64, 20 epochs. Returns (train accuracy, held-out
/// accuracy).
fn digits(seed: u64) -> (f64, f64) {
    let data = gradflow_nn::data::digits().unwrap();
    let (train, test) = data.split(0.3, seed).unwrap();
    let (train, test, _) = standardize(&train, &test).unwrap();
    let mut model = Mlp::builder(64, &[128, 128], 10)
        .activation(Activation::Relu)
        .init(Init::he())
        .seed(seed)
        .build()
        .unwrap();
    fit(&mut model, &train, 0.003, 64, 20, seed);
    (accuracy_on(&model, &train), accuracy_on(&model, &test))
}

// Every test uses seed 0 (data, split, weights and batch order all follow it). Seeds 0
// to 7 (xor) and 0 to 19 (spirals, digits) were tried with exactly these settings:
// - xor: 100% on the training set and on a fresh sample for every seed, final loss
//   0.0003 to 0.0032;
// - spirals: held-out 98.00% to 100% (train 98.9% to 99.7%); seed 0: 98.75%;
// - digits: held-out 96.47% to 98.70% (train 100%); seed 0: 97.77%.
// In the test profile each takes about 0.02 s (xor), 0.4 s (spirals), 0.25 s (digits).

#[test]
fn an_mlp_learns_xor_to_full_accuracy() {
    let (train, fresh, loss) = xor(0);
    assert_eq!(train, 1.0, "train accuracy {train}, loss {loss}");
    assert_eq!(fresh, 1.0, "accuracy on a fresh sample {fresh}");
    assert!(loss < 0.05, "loss {loss}");
}

#[test]
fn a_relu_mlp_separates_two_spirals_to_97_percent_held_out() {
    let (train, test) = spirals(0);
    assert!(test >= 0.97, "held-out accuracy {test} (train {train})");
}

#[test]
fn a_relu_mlp_with_adam_reads_digits_to_95_percent_held_out() {
    let (train, test) = digits(0);
    assert!(test >= 0.95, "held-out accuracy {test} (train {train})");
}
