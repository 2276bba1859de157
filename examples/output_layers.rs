//! Three output layers and the loss that goes with each (a linear output with mean
//! squared error for regression, sigmoid outputs with binary cross-entropy for
//! multi-label tagging, a softmax with cross-entropy for one class out of several), each
//! giving the output the gradient "prediction minus target" and training a small network.
//!
//! Run it with `cargo run --release --example output_layers`; `GRADFLOW_EXAMPLE_QUICK=1`
//! makes a shorter run for CI.
//!
//! Each network ends in a linear layer whose outputs `z` are the logits; the sigmoid or
//! softmax is applied inside the loss (`bce_with_logits`, `cross_entropy`), which is
//! exact for any `z` (see docs/output-layers.md).

use std::error::Error;

use gradflow::nn::data::{self, Dataset, synthetic};
use gradflow::nn::init::Init;
use gradflow::nn::loss::{Reduction, bce, bce_with_logits, cross_entropy, mse};
use gradflow::nn::optim::{Adam, Optimizer};
use gradflow::nn::{ForwardCtx, Mlp, Module, metrics};
use gradflow::prelude::{Activation, DType, Tape, Tensor, Var};

type Res<T> = Result<T, Box<dyn Error>>;

fn main() -> Res<()> {
    let quick = std::env::var("GRADFLOW_EXAMPLE_QUICK").is_ok_and(|v| v == "1");
    run(quick)?;
    Ok(())
}

/// What one task measured.
#[derive(Debug)]
struct Task {
    /// Largest `|engine dL/dz - formula|` over the training set at initialisation,
    /// relative to the largest `|dL/dz|`.
    grad_error: f64,
    /// The test metric after training, and the same metric for a constant predictor.
    test: f64,
    baseline: f64,
}

/// What the example measured.
struct Summary {
    regression: Task,
    multi_label: Task,
    multi_class: Task,
    /// `dL/dz` for one confidently wrong sigmoid output (`z = -8`, `y = 1`): with
    /// binary cross-entropy, and with squared error on `sigmoid(z)`.
    wrong_bce: f64,
    wrong_mse: f64,
}

/// Loss of a batch given the logits.
type LossFn = dyn Fn(&Var, &Dataset) -> Res<Var>;

/// Runs the three tasks and the saturation check, printing what each shows.
fn run(quick: bool) -> Res<Summary> {
    let steps = if quick { 60 } else { 400 };
    println!(
        "Output layers: a 2-hidden-layer tanh MLP (32 units, Xavier init) per task, \
         full-batch Adam (lr 0.01), {steps} steps, 25% of each set held out.\n"
    );

    // 1. Regression: linear output, mse. dL/dz = 2 (z - y) / (number of elements).
    println!("1. Regression, linear output + mse: fit a random tanh teacher network (2 outputs)");
    let (train, test) = synthetic::teacher(1200, 8, &[16], 2, 0.1, 0)?
        .to_dtype(DType::F64)
        .split(0.25, 0)?;
    let loss: &LossFn = &|z, d| Ok(mse(z, &Var::untracked(target(d)?), Reduction::Mean)?);
    let formula = |z: &Tensor, d: &Dataset| -> Res<Tensor> {
        Ok(z.sub(&target(d)?)?.mul_scalar(2.0 / z.numel() as f64))
    };
    let model = fit(&train, 2, steps, loss)?;
    let grad_error = output_gradient_error(&train, 2, loss, &formula)?;
    let z = predict(&model, &test)?;
    let test_mse = mse(
        &Var::untracked(z),
        &Var::untracked(target(&test)?),
        Reduction::Mean,
    )?;
    // The constant predictor: the training set's mean of each output.
    let mean = target(&train)?.mean(&[0], true)?.to_f64_vec();
    let y = target(&test)?.to_f64_vec();
    let baseline = y
        .iter()
        .enumerate()
        .map(|(i, y)| (y - mean[i % 2]).powi(2))
        .sum::<f64>();
    let regression = Task {
        grad_error,
        test: test_mse.value().to_scalar()?,
        baseline: baseline / y.len() as f64,
    };
    println!(
        "   dL/dz from the engine = 2 (z - y) / n {}; test mse {:.4} against {:.4} \
         for predicting the training mean (R^2 = {:.3})\n",
        agreement(regression.grad_error),
        regression.test,
        regression.baseline,
        1.0 - regression.test / regression.baseline
    );

    // 2. Multi-label: one sigmoid per label, binary cross-entropy.
    //    dL/dz = (sigmoid(z) - y) / (number of elements).
    println!("2. Multi-label, sigmoid outputs + binary cross-entropy: 5 independent labels");
    let (train, test) = synthetic::multi_label(1200, 10, 5, 0.1, 1)?
        .to_dtype(DType::F64)
        .split(0.25, 0)?;
    let loss: &LossFn = &|z, d| {
        Ok(bce_with_logits(
            z,
            &Var::untracked(target(d)?),
            Reduction::Mean,
        )?)
    };
    let formula = |z: &Tensor, d: &Dataset| -> Res<Tensor> {
        Ok(z.sigmoid()
            .sub(&target(d)?)?
            .mul_scalar(1.0 / z.numel() as f64))
    };
    let model = fit(&train, 5, steps, loss)?;
    let grad_error = output_gradient_error(&train, 5, loss, &formula)?;
    // A label is predicted present where sigmoid(z) > 1/2, i.e. z > 0.
    let z = predict(&model, &test)?.to_f64_vec();
    let y = target(&test)?.to_f64_vec();
    let correct = z
        .iter()
        .zip(&y)
        .filter(|(z, y)| (**z > 0.0) == (**y == 1.0))
        .count();
    // The constant predictor: each label's majority value in the training set.
    let labels = 5;
    let frequency = target(&train)?.mean(&[0], false)?.to_f64_vec();
    let majority = y
        .iter()
        .enumerate()
        .filter(|(i, y)| (frequency[i % labels] > 0.5) == (**y == 1.0))
        .count();
    let multi_label = Task {
        grad_error,
        test: correct as f64 / y.len() as f64,
        baseline: majority as f64 / y.len() as f64,
    };
    let freq: Vec<String> = frequency
        .iter()
        .map(|f| format!("{:.0}%", 100.0 * f))
        .collect();
    println!(
        "   label frequencies {}; dL/dz = (sigmoid(z) - y) / n {}; test: {:.1}% of \
         label decisions right against {:.1}% for each label's majority value\n",
        freq.join(" "),
        agreement(multi_label.grad_error),
        100.0 * multi_label.test,
        100.0 * multi_label.baseline
    );

    // 3. Multi-class: softmax over C outputs, cross-entropy.
    //    dL/dz = (softmax(z) - one_hot(y)) / (number of rows).
    println!("3. Multi-class, softmax output + cross-entropy: 5 overlapping Gaussian blobs in 4-D");
    let (train, test) = synthetic::blobs(1200, 5, 4, 3.5, 2)?
        .to_dtype(DType::F64)
        .split(0.25, 0)?;
    let (train, test, _) = data::standardize(&train, &test)?;
    let loss: &LossFn = &|z, d| {
        Ok(cross_entropy(
            z,
            d.labels().ok_or("classes")?,
            Reduction::Mean,
        )?)
    };
    let formula = |z: &Tensor, d: &Dataset| -> Res<Tensor> {
        let rows = z.dims().first().copied().unwrap_or(1);
        Ok(z.softmax(-1)?
            .sub(&d.one_hot()?)?
            .mul_scalar(1.0 / rows as f64))
    };
    let model = fit(&train, 5, steps, loss)?;
    let grad_error = output_gradient_error(&train, 5, loss, &formula)?;
    let accuracy = metrics::accuracy(&predict(&model, &test)?, test.labels().ok_or("classes")?)?;
    let counts = train.class_counts().ok_or("classes")?;
    let largest = counts
        .iter()
        .enumerate()
        .max_by_key(|(_, c)| **c)
        .map_or(0, |(i, _)| i);
    let test_labels = test.labels().ok_or("classes")?;
    let multi_class = Task {
        grad_error,
        test: accuracy,
        baseline: test_labels.iter().filter(|&&l| l == largest).count() as f64
            / test_labels.len() as f64,
    };
    println!(
        "   dL/dz = (softmax(z) - one_hot(y)) / rows {}; test accuracy {:.1}% against \
         {:.1}% for always answering the most frequent class\n",
        agreement(multi_class.grad_error),
        100.0 * multi_class.test,
        100.0 * multi_class.baseline
    );

    // Why sigmoid goes with cross-entropy and not squared error: a confidently wrong
    // output. With bce, dL/dz = p - y; with mse on p, the sigmoid's slope p (1 - p)
    // multiplies the error and all but removes it.
    // dL/dz of one loss of p = sigmoid(z), on a fresh tape each (a backward pass
    // releases the graph it went through, as in PyTorch).
    let slope = |loss: fn(&Var, &Var, Reduction) -> gradflow::nn::Result<Var>| -> Res<f64> {
        let tape = Tape::new();
        let z = tape.var(Tensor::from_vec(vec![-8.0f64], [1, 1])?);
        let y = tape.constant(Tensor::from_vec(vec![1.0f64], [1, 1])?);
        let l = loss(&z.sigmoid()?, &y, Reduction::Mean)?;
        let g = tape.grad(&l, &[&z], false)?;
        Ok(g.first().ok_or("one input")?.value().to_scalar()?)
    };
    let p = 1.0 / (1.0 + 8f64.exp());
    let s = Summary {
        regression,
        multi_label,
        multi_class,
        wrong_bce: slope(bce)?,
        wrong_mse: slope(mse)?,
    };
    println!(
        "Why sigmoid outputs take cross-entropy: one confidently wrong output (z = -8, \
         p = {:.5}, target 1) gets dL/dz = {:.4} from binary cross-entropy but {:.2e} from \
         squared error on p, {:.0} times less: the sigmoid's slope p (1 - p) multiplies the \
         error, so mse on a saturated sigmoid barely learns from its worst mistakes.",
        p,
        s.wrong_bce,
        s.wrong_mse,
        s.wrong_bce / s.wrong_mse
    );
    let tasks = [
        (
            "regression",
            s.regression.test < s.regression.baseline,
            &s.regression,
        ),
        (
            "multi-label",
            s.multi_label.test > s.multi_label.baseline,
            &s.multi_label,
        ),
        (
            "multi-class",
            s.multi_class.test > s.multi_class.baseline,
            &s.multi_class,
        ),
    ];
    let behind: Vec<&str> = tasks.iter().filter(|t| !t.1).map(|t| t.0).collect();
    let worst = tasks.iter().fold(0.0f64, |m, t| m.max(t.2.grad_error));
    println!(
        "\nIn all three pairings the gradient at the output was prediction minus target \
         ({}); {}.",
        if worst == 0.0 {
            "exactly".to_string()
        } else {
            format!("to {worst:.0e}")
        },
        if behind.is_empty() {
            "every network beat its constant predictor on held-out data".to_string()
        } else {
            format!(
                "not better than a constant predictor here: {}",
                behind.join(", ")
            )
        }
    );
    Ok(s)
}

/// How closely the engine's output gradient matched the formula, in words.
fn agreement(relative_error: f64) -> String {
    if relative_error == 0.0 {
        "exactly".to_string()
    } else {
        format!("to {relative_error:.0e} of its largest entry")
    }
}

/// The target tensor of a regression or multi-label set.
fn target(d: &Dataset) -> Res<Tensor> {
    Ok(d.target_tensor()
        .ok_or("a set with target tensors")?
        .clone())
}

/// The network every task uses: `inputs -> 32 -> 32 -> outputs`, tanh, linear output.
fn network(inputs: usize, outputs: usize) -> Res<Mlp> {
    Ok(Mlp::builder(inputs, &[32, 32], outputs)
        .activation(Activation::Tanh)
        .init(Init::xavier())
        .dtype(DType::F64)
        .seed(0)
        .build()?)
}

/// Trains a fresh network on the whole training set.
fn fit(train: &Dataset, outputs: usize, steps: usize, loss: &LossFn) -> Res<Mlp> {
    let mut model = network(train.num_features(), outputs)?;
    let mut opt = Adam::new(0.01)?;
    for _ in 0..steps {
        let tape = Tape::new();
        let mut ctx = ForwardCtx::new(&tape);
        let z = model.forward(&mut ctx, &tape.constant(train.features().clone()))?;
        let grads = ctx.param_grads(&loss(&z, train)?.backward()?);
        opt.step(&mut model, &grads)?;
    }
    Ok(model)
}

/// The logits for a whole data set, without recording.
fn predict(model: &Mlp, data: &Dataset) -> Res<Tensor> {
    let tape = Tape::new();
    let x = tape.constant(data.features().clone());
    let z = tape.no_grad(|| model.forward(&mut ForwardCtx::new(&tape), &x))?;
    Ok(z.into_value())
}

/// `dL/dz` at initialisation from the engine against the closed form: the largest
/// absolute difference over every element.
fn output_gradient_error(
    train: &Dataset,
    outputs: usize,
    loss: &LossFn,
    formula: &dyn Fn(&Tensor, &Dataset) -> Res<Tensor>,
) -> Res<f64> {
    let model = network(train.num_features(), outputs)?;
    let tape = Tape::new();
    let z = model.forward(
        &mut ForwardCtx::new(&tape),
        &tape.constant(train.features().clone()),
    )?;
    let engine = tape.grad(&loss(&z, train)?, &[&z], false)?;
    let engine = engine.first().ok_or("one input")?.value().to_f64_vec();
    let expected = formula(z.value(), train)?.to_f64_vec();
    // Relative to the largest entry, so the number does not depend on the batch size.
    let scale = expected.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let worst = engine
        .iter()
        .zip(&expected)
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    Ok(worst / scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_quickly() -> Res<()> {
        let s = run(true)?;
        // Every pairing's output gradient is prediction minus target, to rounding.
        for task in [&s.regression, &s.multi_label, &s.multi_class] {
            assert!(task.grad_error < 1e-12, "{task:?}");
        }
        // Each network beats the constant predictor on held-out data.
        assert!(
            s.regression.test < 0.5 * s.regression.baseline,
            "{:?}",
            s.regression
        );
        assert!(
            s.multi_label.test > s.multi_label.baseline + 0.1,
            "{:?}",
            s.multi_label
        );
        assert!(
            s.multi_class.test > s.multi_class.baseline + 0.3,
            "{:?}",
            s.multi_class
        );
        // bce keeps a gradient of about p - y = -1 where mse on the sigmoid has almost none.
        assert!((s.wrong_bce + 1.0).abs() < 1e-3, "{}", s.wrong_bce);
        assert!(
            s.wrong_mse.abs() < 1e-3 * s.wrong_bce.abs(),
            "{}",
            s.wrong_mse
        );
        Ok(())
    }
}
