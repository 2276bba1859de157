//! Real data: an MLP learns the 1,797 handwritten digits shipped with gradflow (8x8
//! pixels, 10 classes) and is scored on images it never saw.
//!
//! Run it with `cargo run --release --example digits`; `GRADFLOW_EXAMPLE_QUICK=1` makes
//! a shorter run for CI.
//!
//! The data is the UCI "Optical Recognition of Handwritten Digits" test set (Alpaydin &
//! Kaynak 1998, CC BY 4.0), embedded in gradflow-nn: `gradflow::nn::data::digits()`.

use std::error::Error;

use gradflow::nn::data::{self, Dataset};
use gradflow::nn::init::Init;
use gradflow::nn::loss::{Reduction, cross_entropy};
use gradflow::nn::optim::{Adam, Optimizer};
use gradflow::nn::{ForwardCtx, Mlp, Module, metrics};
use gradflow::prelude::{Activation, Tape, Tensor};

fn main() -> Result<(), Box<dyn Error>> {
    let quick = std::env::var("GRADFLOW_EXAMPLE_QUICK").is_ok_and(|v| v == "1");
    run(quick)?;
    Ok(())
}

/// What the run measured.
#[derive(Debug)]
struct Summary {
    /// Test accuracy before training and after each epoch.
    test_accuracy: Vec<f64>,
    /// Mean training loss of the first and of the last epoch.
    first_loss: f64,
    last_loss: f64,
}

/// Trains the network, printing the loss and test accuracy per epoch and the mistakes.
fn run(quick: bool) -> Result<Summary, Box<dyn Error>> {
    let epochs = if quick { 3 } else { 20 };
    let batch = 32;
    // 80% to train, 20% held out; pixels standardised with the training set's statistics.
    let (raw_train, raw_test) = data::digits()?.split(0.2, 0)?;
    let (train, test, _) = data::standardize(&raw_train, &raw_test)?;
    let test_labels = test.labels().ok_or("the digits have class labels")?;

    let mut model = Mlp::builder(64, &[128, 64], 10)
        .activation(Activation::Relu)
        .init(Init::he())
        .seed(0)
        .build()?;
    let mut opt = Adam::new(1e-3)?;
    println!(
        "Digits: {} training and {} test images of 8x8 pixels; MLP 64-128-64-10 (relu, He \
         init), cross-entropy, Adam lr 1e-3, batch {batch}, {epochs} epochs\n",
        train.len(),
        test.len()
    );

    let mut test_accuracy = vec![metrics::accuracy(&logits(&model, &test)?, test_labels)?];
    println!("{:>5} {:>11} {:>9}", "epoch", "train loss", "test acc");
    println!("{:>5} {:>11} {:>8.1}%", 0, "", 100.0 * test_accuracy[0]);
    let batches = train.batches(batch, 0)?;
    let (mut first_loss, mut last_loss) = (f64::NAN, f64::NAN);
    for epoch in 0..epochs {
        let (mut sum, mut count) = (0.0, 0);
        for b in batches.epoch(epoch as u64) {
            let b = b?;
            let tape = Tape::new();
            let mut ctx = ForwardCtx::new(&tape);
            let z = model.forward(&mut ctx, &tape.constant(b.data().features().clone()))?;
            let loss = cross_entropy(&z, b.data().labels().ok_or("labelled")?, Reduction::Mean)?;
            sum += loss.value().to_scalar::<f64>()?;
            count += 1;
            opt.step(&mut model, &ctx.param_grads(&loss.backward()?))?;
        }
        last_loss = sum / count as f64;
        if epoch == 0 {
            first_loss = last_loss;
        }
        let acc = metrics::accuracy(&logits(&model, &test)?, test_labels)?;
        test_accuracy.push(acc);
        println!("{:>5} {last_loss:>11.4} {:>8.1}%", epoch + 1, 100.0 * acc);
    }

    // Where the errors are: the most common confusions, and one misread image.
    let predicted = logits(&model, &test)?.argmax(-1)?;
    let mut confusions = vec![0usize; 100];
    for (&truth, &guess) in test_labels.iter().zip(&predicted) {
        if truth != guess {
            confusions[10 * truth + guess] += 1;
        }
    }
    let mut pairs: Vec<(usize, usize)> = confusions
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(i, &n)| (n, i))
        .collect();
    pairs.sort_by(|a, b| b.cmp(a));
    let errors: usize = confusions.iter().sum();
    let common: Vec<String> = pairs
        .iter()
        .take(3)
        .map(|(n, i)| format!("{} read as {} ({n}x)", i / 10, i % 10))
        .collect();
    let s = Summary {
        test_accuracy,
        first_loss,
        last_loss,
    };
    println!(
        "\nAfter {epochs} epochs the network labels {:.1}% of the {} unseen images correctly \
         ({:.1}% untrained; chance is 10%); mean training loss {:.3} in the first epoch, \
         {:.3} in the last.",
        100.0 * s.test_accuracy.last().copied().unwrap_or(f64::NAN),
        test.len(),
        100.0 * s.test_accuracy.first().copied().unwrap_or(f64::NAN),
        s.first_loss,
        s.last_loss
    );
    if errors > 0 {
        println!("Its {errors} mistakes; most common: {}.", common.join(", "));
    }
    if let Some(i) = test_labels.iter().zip(&predicted).position(|(t, p)| t != p) {
        println!(
            "\nTest image {i}, a {} the network reads as a {}:",
            test_labels[i], predicted[i]
        );
        print_image(&raw_test, i)?;
    }
    Ok(s)
}

/// The logits for a whole data set, without recording.
fn logits(model: &Mlp, data: &Dataset) -> Result<Tensor, Box<dyn Error>> {
    let tape = Tape::new();
    let x = tape.constant(data.features().clone());
    Ok(tape
        .no_grad(|| model.forward(&mut ForwardCtx::new(&tape), &x))?
        .into_value())
}

/// Draws row `i` of the unscaled digits (intensities 0..16) as 8 lines of text.
fn print_image(raw: &Dataset, i: usize) -> Result<(), Box<dyn Error>> {
    let pixels = raw.features().narrow(0, i, 1)?.to_f64_vec();
    for row in pixels.chunks(8) {
        let line: String = row
            .iter()
            .map(|&v| match v as u32 {
                0..=3 => "  ",
                4..=8 => "..",
                9..=12 => "++",
                _ => "##",
            })
            .collect();
        println!("    {line}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_quickly() -> Result<(), Box<dyn Error>> {
        let s = run(true)?;
        let (before, after) = (
            s.test_accuracy[0],
            s.test_accuracy[s.test_accuracy.len() - 1],
        );
        // Untrained the network is near chance; three epochs bring it far above.
        assert!(before < 0.3, "untrained accuracy {before}");
        assert!(after > 0.9, "accuracy after training {after}");
        assert!(s.last_loss < 0.5 * s.first_loss, "{s:?}");
        Ok(())
    }
}
