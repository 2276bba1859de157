//! A few steps at too large a learning rate kill ReLU units for good (silent on every
//! input, they get exactly zero gradient and their weights never move again), while
//! silent leaky-ReLU units keep a small gradient and can come back.
//!
//! Run it with `cargo run --release --example dying_relu [-- --out DIR]`; the chart goes
//! to `target/gradflow-examples/` unless `--out` says otherwise, and
//! `GRADFLOW_EXAMPLE_QUICK=1` makes a small, fast run for CI.
//!
//! A unit is *silent* when its pre-activation `h` is `<= 0` for every training example.
//! For ReLU that unit is dead: `relu'(h) = 0` on all the data, so no gradient reaches its
//! incoming weights and SGD leaves them exactly as they are (only a change in the layers
//! below could wake it). A silent leaky-ReLU unit still passes `slope` times the
//! gradient, so its weights keep moving.

use std::cell::RefCell;
use std::error::Error;
use std::path::{Path, PathBuf};

use gradflow::nn::data::{Dataset, synthetic};
use gradflow::nn::init::Init;
use gradflow::nn::loss::{Reduction, mse};
use gradflow::nn::module::named_parameters;
use gradflow::nn::optim::{Optimizer, Sgd};
use gradflow::nn::probe::unit_fractions;
use gradflow::nn::{ForwardCtx, Mlp, Module, Observer, Role};
use gradflow::plot::{Axis, LineChart, Panels, Series};
use gradflow::prelude::{Activation, DType, Tape, Tensor, Var};

fn main() -> Result<(), Box<dyn Error>> {
    let quick = std::env::var("GRADFLOW_EXAMPLE_QUICK").is_ok_and(|v| v == "1");
    let out = match std::env::args().skip(1).collect::<Vec<_>>().as_slice() {
        [] => Path::new(env!("CARGO_MANIFEST_DIR")).join("target/gradflow-examples"),
        [flag, dir] if flag == "--out" => PathBuf::from(dir),
        _ => return Err("usage: dying_relu [--out DIR]".into()),
    };
    run(quick, &out)?;
    Ok(())
}

/// An observer of the forward pass: for each activation layer, which of its units have
/// an input (the pre-activation) `<= 0` on every example of the batch.
struct SilentUnits<'a> {
    layers: &'a RefCell<Vec<Vec<bool>>>,
}

impl Observer for SilentUnits<'_> {
    fn after_forward(
        &mut self,
        _path: &str,
        module: &dyn Module,
        input: &Var,
        _output: &Var,
    ) -> gradflow::nn::Result<()> {
        if let Role::Activation(_) = module.role() {
            let negative = unit_fractions(input.value(), |h| h <= 0.0);
            self.layers
                .borrow_mut()
                .push(negative.iter().map(|&f| f == 1.0).collect());
        }
        Ok(())
    }
}

/// Which units of each hidden layer are silent on the whole data set.
fn silent_units(model: &Mlp, data: &Dataset) -> Result<Vec<Vec<bool>>, Box<dyn Error>> {
    let layers = RefCell::new(Vec::new());
    let tape = Tape::new();
    let mut ctx = ForwardCtx::new(&tape);
    ctx.observe(SilentUnits { layers: &layers });
    tape.no_grad(|| model.forward(&mut ctx, &tape.constant(data.features().clone())))?;
    drop(ctx);
    Ok(layers.into_inner())
}

fn fraction(units: &[bool]) -> f64 {
    units.iter().filter(|&&s| s).count() as f64 / units.len().max(1) as f64
}

fn all_fraction(layers: &[Vec<bool>]) -> f64 {
    fraction(&layers.concat())
}

/// Each hidden unit's incoming weights and bias, layer by layer: the rows of the
/// hidden `Linear` layers' `weight [out, in]` and their `bias` entries.
fn incoming(model: &Mlp) -> Result<Vec<Vec<Vec<f64>>>, Box<dyn Error>> {
    let params = named_parameters(model);
    let weights: Vec<_> = params
        .iter()
        .filter(|(n, _)| n.ends_with(".weight"))
        .collect();
    let biases: Vec<_> = params
        .iter()
        .filter(|(n, _)| n.ends_with(".bias"))
        .collect();
    let hidden = weights.len().saturating_sub(1); // the last Linear is the output layer
    let mut layers = Vec::new();
    for (w, b) in weights.iter().zip(&biases).take(hidden) {
        let (w, b) = (w.1.value().to_f64_vec(), b.1.value().to_f64_vec());
        let fan_in = w.len() / b.len().max(1);
        layers.push(
            w.chunks(fan_in)
                .zip(&b)
                .map(|(row, bias)| row.iter().chain([bias]).copied().collect())
                .collect(),
        );
    }
    Ok(layers)
}

/// One training run.
struct Outcome {
    act: Activation,
    schedule: &'static str,
    /// (step, fraction of all hidden units that are silent).
    curve: Vec<(f64, f64)>,
    /// Silent units right after the large-rate steps (or at the same step without them).
    silent_after_spike: Vec<Vec<bool>>,
    silent_end: Vec<Vec<bool>>,
    /// Of the units silent after the spike: how many never had an incoming weight change
    /// from then to the end, and how many are no longer silent at the end.
    frozen: usize,
    revived: usize,
    test_mse: f64,
}

impl Outcome {
    fn silenced(&self) -> usize {
        self.silent_after_spike
            .concat()
            .iter()
            .filter(|&&s| s)
            .count()
    }
}

/// Trains each activation with and without the spike, prints the table and the
/// conclusion, and writes the chart.
fn run(quick: bool, out: &Path) -> Result<Vec<Outcome>, Box<dyn Error>> {
    let (width, steps) = if quick { (32, 40) } else { (64, 1000) };
    let hidden = [width; 3];
    let (batch, lr, spike_lr, spike_steps) = (64, 0.01, 0.1, 5);
    let acts = [
        Activation::Relu,
        Activation::LeakyRelu { slope: 0.01 },
        Activation::LeakyRelu { slope: 0.1 },
    ];
    // A regression task: a random tanh "teacher" network with 10 inputs, 1 output.
    let data = synthetic::teacher(1500, 10, &[32], 1, 0.0, 0)?.to_dtype(DType::F64);
    let (train, test) = data.split(0.3, 0)?;

    println!(
        "Dying ReLU: an MLP with hidden widths {hidden:?} (He init) fits a random teacher \
         network ({} training examples), mse loss, SGD with batch {batch}, {steps} steps.",
        train.len()
    );
    println!(
        "steady: lr {lr} throughout; spike: the first {spike_steps} steps at lr {spike_lr} \
         (ten times too large), then lr {lr}."
    );
    println!("silent unit: pre-activation h <= 0 on every training example (for ReLU: dead).\n");

    let mut outcomes = Vec::new();
    for act in acts {
        for (schedule, first_lr) in [("steady", lr), ("spike", spike_lr)] {
            let s = Schedule {
                first_lr,
                first_steps: spike_steps,
                lr,
                steps,
                batch,
            };
            outcomes.push(train_one(act, schedule, &s, &hidden, &train, &test)?);
        }
    }

    let header = format!("silent after step {spike_steps}, by layer");
    println!(
        "{:<16} {:<8} {:>w$} {:>22} {:>8} {:>8} {:>9}",
        "activation",
        "schedule",
        header,
        "silent at end",
        "frozen",
        "revived",
        "test mse",
        w = header.len()
    );
    for o in &outcomes {
        let by_layer = |layers: &[Vec<bool>]| -> String {
            let v: Vec<String> = layers
                .iter()
                .map(|l| format!("{:.0}%", 100.0 * fraction(l)))
                .collect();
            v.join(" ")
        };
        println!(
            "{:<16} {:<8} {:>w$} {:>22} {:>8} {:>8} {:>9.4}",
            o.act.to_string(),
            o.schedule,
            by_layer(&o.silent_after_spike),
            by_layer(&o.silent_end),
            format!("{}/{}", o.frozen, o.silenced()),
            format!("{}/{}", o.revived, o.silenced()),
            o.test_mse,
            w = header.len()
        );
    }
    println!(
        "(frozen: silent units whose incoming weights and bias did not change by a single \
         bit afterwards; revived: silent units that are active again at the end)"
    );

    // The conclusion, from the numbers above.
    println!();
    let find = |act: Activation, schedule: &str| {
        outcomes
            .iter()
            .find(|o| o.act == act && o.schedule == schedule)
            .ok_or("every pair was run")
    };
    let relu = find(acts[0], "spike")?;
    let relu_steady = find(acts[0], "steady")?;
    println!(
        "{spike_steps} steps at lr {spike_lr} silenced {:.0}% of the ReLU units ({:.0}% with \
         the steady rate); {} of those {} never had a weight change again, and {} came back.",
        100.0 * all_fraction(&relu.silent_after_spike),
        100.0 * all_fraction(&relu_steady.silent_after_spike),
        relu.frozen,
        relu.silenced(),
        relu.revived
    );
    for act in &acts[1..] {
        let leaky = find(*act, "spike")?;
        println!(
            "{act}: the spike silenced {:.0}%; {} of those {} stayed frozen, {} came back; \
             test mse {:.4} against ReLU's {:.4}.",
            100.0 * all_fraction(&leaky.silent_after_spike),
            leaky.frozen,
            leaky.silenced(),
            leaky.revived,
            leaky.test_mse,
            relu.test_mse
        );
    }
    let relu_frozen_all = relu.silenced() > 0 && relu.frozen == relu.silenced();
    let leaky_moved = acts[1..]
        .iter()
        .all(|a| find(*a, "spike").is_ok_and(|o| o.silenced() == 0 || o.frozen < o.silenced()));
    let revived_fraction = |o: &Outcome| o.revived as f64 / o.silenced().max(1) as f64;
    let slopes_help = outcomes
        .iter()
        .filter(|o| o.schedule == "spike")
        .map(revived_fraction)
        .collect::<Vec<_>>()
        .windows(2)
        .all(|w| w[0] <= w[1]);
    println!(
        "{}{}",
        match (relu_frozen_all, leaky_moved) {
            (true, true) =>
                "So a dead ReLU unit is dead for good: no gradient, no update. \
                             Silent leaky units still get a gradient and keep learning",
            (true, false) =>
                "Dead ReLU units never moved again; in this run some silent \
                              leaky units did not move either",
            _ => "In this run the spike did not leave a set of permanently frozen ReLU units",
        },
        if slopes_help {
            "; the larger the slope, the larger the share that came back."
        } else {
            "."
        }
    );

    // Chart: fraction of silent hidden units during training, one panel per schedule.
    let mut panels = Panels::new("Silent hidden units during training")
        .share_y(true)
        .note("silent: pre-activation ≤ 0 on every training example (dead, for ReLU)")
        .note(format!(
            "spike: the first {spike_steps} steps at lr {spike_lr}, then {lr}"
        ));
    for schedule in ["steady", "spike"] {
        let mut chart = LineChart::new(
            schedule,
            Axis::new("step", "1"),
            Axis::new("silent units", "fraction"),
        );
        for (i, act) in acts.iter().enumerate() {
            chart.push(Series::new(act.to_string(), find(*act, schedule)?.curve.clone()).colour(i));
        }
        panels.push(chart);
    }
    std::fs::create_dir_all(out)?;
    let path = out.join("dying_relu.svg");
    std::fs::write(&path, panels.to_svg()?)?;
    println!("\nwrote {}", path.display());
    Ok(outcomes)
}

/// The learning rates and sizes of a run.
struct Schedule {
    first_lr: f64,
    first_steps: usize,
    lr: f64,
    steps: usize,
    batch: usize,
}

fn train_one(
    act: Activation,
    schedule: &'static str,
    s: &Schedule,
    hidden: &[usize],
    train: &Dataset,
    test: &Dataset,
) -> Result<Outcome, Box<dyn Error>> {
    let mut model = Mlp::builder(train.num_features(), hidden, 1)
        .activation(act)
        .init(Init::he())
        .dtype(DType::F64)
        .seed(3)
        .build()?;
    let mut opt = Sgd::new(s.first_lr)?;
    let every = (s.steps / 50).max(1);
    let mut curve = vec![(0.0, all_fraction(&silent_units(&model, train)?))];
    let mut after_spike = None;
    let batches = train.batches(s.batch, 0)?;
    let mut step = 0;
    let mut epoch = 0;
    while step < s.steps {
        for b in batches.epoch(epoch).take(s.steps - step) {
            let b = b?;
            let y = b.data().target_tensor().ok_or("a regression set")?.clone();
            let tape = Tape::new();
            let mut ctx = ForwardCtx::new(&tape);
            let pred = model.forward(&mut ctx, &tape.constant(b.data().features().clone()))?;
            let loss = mse(&pred, &tape.constant(y), Reduction::Mean)?;
            opt.step(&mut model, &ctx.param_grads(&loss.backward()?))?;
            step += 1;
            if step == s.first_steps {
                opt.set_lr(s.lr)?;
                after_spike = Some((silent_units(&model, train)?, incoming(&model)?));
            }
            if step % every == 0 {
                curve.push((step as f64, all_fraction(&silent_units(&model, train)?)));
            }
        }
        epoch += 1;
    }
    let (silent_after_spike, weights_after_spike) = after_spike.ok_or("the run is long enough")?;
    let silent_end = silent_units(&model, train)?;
    let weights_end = incoming(&model)?;
    let (mut frozen, mut revived) = (0, 0);
    for (l, layer) in silent_after_spike.iter().enumerate() {
        for (j, &silent) in layer.iter().enumerate() {
            if !silent {
                continue;
            }
            let before = weights_after_spike.get(l).and_then(|w| w.get(j));
            let after = weights_end.get(l).and_then(|w| w.get(j));
            frozen += usize::from(before.is_some() && before == after);
            let still = silent_end
                .get(l)
                .and_then(|u| u.get(j))
                .copied()
                .unwrap_or(true);
            revived += usize::from(!still);
        }
    }
    let tape = Tape::new();
    let pred = tape.no_grad(|| {
        model.forward(
            &mut ForwardCtx::new(&tape),
            &tape.constant(test.features().clone()),
        )
    })?;
    let target: Tensor = test.target_tensor().ok_or("a regression set")?.clone();
    let test_mse = mse(&pred, &Var::untracked(target), Reduction::Mean)?
        .value()
        .to_scalar::<f64>()?;
    Ok(Outcome {
        act,
        schedule,
        curve,
        silent_after_spike,
        silent_end,
        frozen,
        revived,
        test_mse,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_quickly() -> Result<(), Box<dyn Error>> {
        let dir = tempfile::tempdir()?;
        let outcomes = run(true, dir.path())?;
        let find = |act: Activation, schedule: &str| {
            outcomes
                .iter()
                .find(|o| o.act == act && o.schedule == schedule)
                .ok_or("every pair was run")
        };
        let (relu, leaky) = (Activation::Relu, Activation::LeakyRelu { slope: 0.1 });
        // The large steps silence many more ReLU units than the steady rate does ...
        let spike = find(relu, "spike")?;
        assert!(spike.silenced() >= 5, "{} silenced", spike.silenced());
        assert!(find(relu, "steady")?.silenced() < spike.silenced() / 2);
        // ... and every one of them is dead: not one bit of its weights moves again.
        assert_eq!(spike.frozen, spike.silenced());
        assert_eq!(spike.revived, 0);
        // Silent leaky units still get a gradient: none of them is frozen.
        let leaky = find(leaky, "spike")?;
        assert!(leaky.silenced() > 0);
        assert_eq!(leaky.frozen, 0);
        assert!(dir.path().join("dying_relu.svg").is_file());
        Ok(())
    }
}
