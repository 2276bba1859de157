//! Back-propagated gradients vanish with depth in sigmoid and tanh networks, and in ReLU
//! networks too unless the initialisation matches the activation (He init).
//!
//! Run it with `cargo run --release --example vanishing_gradients [-- --out DIR]`; the
//! charts go to `target/gradflow-examples/` unless `--out` says otherwise, and
//! `GRADFLOW_EXAMPLE_QUICK=1` makes a small, fast run for CI.
//!
//! What is measured: for fully connected networks of `depth` linear layers of equal
//! width, the norm of `delta_l = dL/dh_l` (the gradient w.r.t. layer `l`'s
//! pre-activation, which carries the error signal backwards) and of `dL/dW_l`, at
//! initialisation, for a cross-entropy loss on random inputs and arbitrary labels. The gradient
//! probe of gradflow-nn records both, in f64, so a gradient of 1e-60 is a number and not
//! an underflowed zero. Each measurement is compared with the mean-field prediction,
//! the product over layers of `sqrt(chi)`, `chi = sigma_w^2 E[phi'(h)^2]`.

use std::error::Error;
use std::path::{Path, PathBuf};

use gradflow::nn::init::Init;
use gradflow::nn::loss::{Reduction, cross_entropy};
use gradflow::nn::probe::{Probe, ProbeConfig, RecordKind};
use gradflow::nn::theory::MeanField;
use gradflow::nn::{ForwardCtx, Mlp, Module};
use gradflow::plot::{Axis, LineChart, Panels, Scale, Series};
use gradflow::prelude::{Activation, DType, Tape, Tensor};

const ACTIVATIONS: [Activation; 3] = [Activation::Sigmoid, Activation::Tanh, Activation::Relu];
const CLASSES: usize = 10;

fn main() -> Result<(), Box<dyn Error>> {
    let quick = std::env::var("GRADFLOW_EXAMPLE_QUICK").is_ok_and(|v| v == "1");
    let out = match std::env::args().skip(1).collect::<Vec<_>>().as_slice() {
        [] => Path::new(env!("CARGO_MANIFEST_DIR")).join("target/gradflow-examples"),
        [flag, dir] if flag == "--out" => PathBuf::from(dir),
        _ => return Err("usage: vanishing_gradients [--out DIR]".into()),
    };
    run(quick, &out)?;
    Ok(())
}

/// The per-layer gradient norms of one network, averaged over seeds in log space.
struct Measured {
    /// `log10 ||delta_l||`, `l = 1..=depth`.
    delta: Vec<f64>,
    /// `log10 ||dL/dW_l||`.
    weight_grad: Vec<f64>,
    /// Mean-field prediction of `log10 (||delta_l|| / ||delta_depth||)`.
    theory: Vec<f64>,
}

impl Measured {
    /// `log10 (||delta_1|| / ||delta_L||)`: decades between the first layer and the last.
    fn first_over_last(&self) -> f64 {
        self.delta.first().unwrap_or(&f64::NAN) - self.delta.last().unwrap_or(&f64::NAN)
    }

    fn theory_first_over_last(&self) -> f64 {
        *self.theory.first().unwrap_or(&f64::NAN)
    }
}

/// `results[init][activation][depth index]`.
type Results = Vec<Vec<Vec<Measured>>>;

/// Runs the depth sweep, prints the tables and the conclusion, writes the charts.
/// Returns the depths and the measurements.
fn run(quick: bool, out: &Path) -> Result<(Vec<usize>, Results), Box<dyn Error>> {
    let depths: &[usize] = if quick { &[4, 8] } else { &[5, 10, 20, 50] };
    let (width, batch, seeds) = if quick { (32, 32, 1) } else { (128, 256, 3) };
    let inits = [("default", Init::Standard), ("he", Init::he())];

    println!("Vanishing gradients: ||delta_l|| = ||dL/dh_l|| at initialisation");
    println!(
        "width {width}, batch {batch} of N(0, 1) inputs, arbitrary labels over {CLASSES} classes, \
         cross-entropy, zero biases, mean over {seeds} seed(s)"
    );
    println!("inits: default = PyTorch's nn.Linear U[-1/sqrt(n), 1/sqrt(n)], sigma_w^2 = 1/3;");
    println!(
        "       he = Kaiming normal with the activation's gain, sigma_w^2 = gain^2 \
         (sigmoid 1, tanh 25/9, relu 2)\n"
    );

    let mut results: Results = Vec::new();
    for (_, init) in &inits {
        let mut per_act = Vec::new();
        for act in ACTIVATIONS {
            let mut per_depth = Vec::new();
            for &depth in depths {
                per_depth.push(measure(act, *init, depth, width, batch, seeds)?);
            }
            per_act.push(per_depth);
        }
        results.push(per_act);
    }

    println!("log10(||delta_1|| / ||delta_L||), measured (mean-field prediction in brackets):");
    print!("{:>6}", "depth");
    for (name, _) in &inits {
        for act in ACTIVATIONS {
            print!(" {:>16}", format!("{act} {name}"));
        }
    }
    println!();
    for (d, depth) in depths.iter().enumerate() {
        print!("{depth:>6}");
        for per_act in &results {
            for per_depth in per_act {
                let m = &per_depth[d];
                print!(
                    " {:>16}",
                    format!(
                        "{:+.1} ({:+.1})",
                        tenths(m.first_over_last()),
                        tenths(m.theory_first_over_last())
                    )
                );
            }
        }
        println!();
    }

    let deepest = depths.len() - 1;
    let depth = depths[deepest];
    let step = (depth / 10).max(1);
    println!("\nPer layer at depth {depth}, log10 ||delta_l|| / log10 ||dL/dW_l||:");
    print!("{:>6}", "layer");
    for (name, _) in &inits {
        for act in ACTIVATIONS {
            print!(" {:>16}", format!("{act} {name}"));
        }
    }
    println!();
    for l in (0..depth).filter(|l| l % step == 0 || l + 1 == depth) {
        print!("{:>6}", l + 1);
        for per_act in &results {
            for per_depth in per_act {
                let m = &per_depth[deepest];
                print!(
                    " {:>16}",
                    format!("{:.1} / {:.1}", m.delta[l], m.weight_grad[l])
                );
            }
        }
        println!();
    }

    // The conclusion, from the numbers above.
    println!();
    for ((name, _), per_act) in inits.iter().zip(&results) {
        let parts: Vec<String> = ACTIVATIONS
            .iter()
            .zip(per_act)
            .map(|(act, per_depth)| {
                format!("{act} {}", factor(per_depth[deepest].first_over_last()))
            })
            .collect();
        println!(
            "With the {name} init, from layer {depth} back to layer 1 the gradient changes by \
             a factor of {}.",
            parts.join(", ")
        );
    }
    let kept: Vec<String> = inits
        .iter()
        .zip(&results)
        .flat_map(|((name, _), per_act)| {
            ACTIVATIONS
                .iter()
                .zip(per_act)
                .filter(|(_, per_depth)| per_depth[deepest].first_over_last().abs() < 1.0)
                .map(move |(act, _)| format!("{act} with the {name} init"))
        })
        .collect();
    println!(
        "Within one decade at depth {depth}: {}.",
        if kept.is_empty() {
            "none of them".to_string()
        } else {
            kept.join(", ")
        }
    );
    let worst_theory_gap = results
        .iter()
        .flatten()
        .map(|per_depth| {
            let m = &per_depth[deepest];
            (m.first_over_last() - m.theory_first_over_last()).abs()
        })
        .fold(0.0, f64::max);
    println!(
        "Mean-field theory predicts every one of these to within {worst_theory_gap:.1} \
         decade(s) at depth {depth}."
    );
    // Glorot & Bengio's point: the weight gradient can look healthy while delta vanishes.
    // The case where the two differ most:
    let (span_delta, span_w, which) = results
        .iter()
        .zip(&inits)
        .flat_map(|(per_act, (name, _))| {
            ACTIVATIONS
                .iter()
                .zip(per_act)
                .map(move |(act, per_depth)| {
                    let m = &per_depth[deepest];
                    (
                        span(&m.delta),
                        span(&m.weight_grad),
                        format!("{act} with the {name} init"),
                    )
                })
        })
        .fold((0.0, 0.0, String::new()), |best, x| {
            if x.0 - x.1 > best.0 - best.1 { x } else { best }
        });
    println!(
        "For {which}, ||delta_l|| spans {span_delta:.1} decades across the layers but \
         ||dL/dW_l|| spans {span_w:.1}{}",
        if span_w < 0.5 * span_delta {
            ": a chart of weight gradients alone would hide the vanishing (Glorot & Bengio \
             2010, section 4.2.1)."
        } else {
            "; here the weight gradient shows the decay as clearly as delta does."
        }
    );

    // Charts: ||delta_l|| / ||delta_L|| per layer at the deepest depth, one panel per init.
    let mut delta_panels = Panels::new(format!(
        "Back-propagated gradient at initialisation, depth {depth}, width {width}"
    ))
    .share_y(true)
    .note("σ_w² = fan_in · Var(W); default = PyTorch's nn.Linear init (σ_w² = 1/3), he = Kaiming normal with the activation's gain")
    .note("dashed: mean-field prediction, the product of √χ over layers");
    let mut weight_panels = Panels::new(format!(
        "Weight gradient at initialisation, depth {depth}, width {width}"
    ))
    .share_y(true)
    .note("σ_w² = fan_in · Var(W); default = PyTorch's nn.Linear init (σ_w² = 1/3), he = Kaiming normal with the activation's gain");
    for ((name, _), per_act) in inits.iter().zip(&results) {
        let mut delta_chart = LineChart::new(
            format!("{name} init"),
            Axis::new("layer l", "index"),
            Axis::new("‖δ_l‖ / ‖δ_L‖", "ratio"),
        )
        .y_scale(Scale::Log10);
        let mut weight_chart = LineChart::new(
            format!("{name} init"),
            Axis::new("layer l", "index"),
            Axis::new("‖∂L/∂W_l‖", "L2 norm"),
        )
        .y_scale(Scale::Log10);
        for (i, (act, per_depth)) in ACTIVATIONS.iter().zip(per_act).enumerate() {
            let m = &per_depth[deepest];
            let last = m.delta.last().copied().unwrap_or(0.0);
            let layer = |l: usize| (l + 1) as f64;
            delta_chart.push(
                Series::new(
                    act.to_string(),
                    m.delta
                        .iter()
                        .enumerate()
                        .map(|(l, d)| (layer(l), 10f64.powf(d - last))),
                )
                .colour(i),
            );
            delta_chart.push(
                Series::new(
                    format!("{act} (theory)"),
                    m.theory
                        .iter()
                        .enumerate()
                        .map(|(l, t)| (layer(l), 10f64.powf(*t))),
                )
                .dashed()
                .colour(i),
            );
            weight_chart.push(
                Series::new(
                    act.to_string(),
                    m.weight_grad
                        .iter()
                        .enumerate()
                        .map(|(l, w)| (layer(l), 10f64.powf(*w))),
                )
                .colour(i),
            );
        }
        delta_panels.push(delta_chart);
        weight_panels.push(weight_chart);
    }
    std::fs::create_dir_all(out)?;
    println!();
    for (file, svg) in [
        ("vanishing_gradients_delta.svg", delta_panels.to_svg()?),
        (
            "vanishing_gradients_weight_grad.svg",
            weight_panels.to_svg()?,
        ),
    ] {
        let path = out.join(file);
        std::fs::write(&path, svg)?;
        println!("wrote {}", path.display());
    }
    Ok((depths.to_vec(), results))
}

/// Builds the network for each seed, runs one forward and backward pass with a probe
/// attached, and averages `log10` of the gradient norms over the seeds.
fn measure(
    act: Activation,
    init: Init,
    depth: usize,
    width: usize,
    batch: usize,
    seeds: u64,
) -> Result<Measured, Box<dyn Error>> {
    let mut delta = vec![0.0; depth];
    let mut weight_grad = vec![0.0; depth];
    for seed in 0..seeds {
        let model = Mlp::builder(width, &vec![width; depth - 1], CLASSES)
            .activation(act)
            .init(init)
            .dtype(DType::F64)
            .seed(seed)
            .build()?;
        let x = Tensor::randn([batch, width], DType::F64, 1000 + seed);
        let labels: Vec<usize> = (0..batch)
            .map(|i| (i * 7 + seed as usize) % CLASSES)
            .collect();

        let probe = Probe::new(ProbeConfig::default());
        let tape = Tape::new();
        let mut ctx = ForwardCtx::new(&tape);
        probe.begin(&mut ctx, 0);
        let logits = model.forward(&mut ctx, &tape.constant(x))?;
        let loss = cross_entropy(&logits, &labels, Reduction::Mean)?;
        probe.after_backward(&ctx.param_grads(&loss.backward()?));

        // One pre-activation record per linear layer, in order (layer 1 first).
        let report = probe.report();
        let linear = report
            .layers
            .iter()
            .filter(|r| r.kind == RecordKind::PreActivation);
        for (l, r) in linear.enumerate().take(depth) {
            let d = r
                .grad
                .as_ref()
                .ok_or("the backward pass reaches every layer")?;
            let w = r.weight_grad.as_ref().ok_or("every layer has a weight")?;
            delta[l] += d.norm.log10() / seeds as f64;
            weight_grad[l] += w.norm.log10() / seeds as f64;
        }
    }
    // Mean field: the ratio ||delta_l|| / ||delta_{l+1}|| for l = 1..depth-1, for inputs
    // of second moment 1; accumulated from the output backwards.
    let mf = MeanField::new(act, init.sigma_w2(width, width, Some(act)), 0.0)?;
    let ratios = mf.gradient_ratios(1.0, depth)?;
    let mut theory = vec![0.0; depth];
    for l in (0..depth - 1).rev() {
        theory[l] = theory[l + 1] + ratios.get(l).copied().unwrap_or(f64::NAN).log10();
    }
    Ok(Measured {
        delta,
        weight_grad,
        theory,
    })
}

/// `x` rounded to tenths, without a negative zero ("-0.0" reads as a decay).
fn tenths(x: f64) -> f64 {
    let r = (x * 10.0).round() / 10.0;
    if r == 0.0 { 0.0 } else { r }
}

/// Largest minus smallest value (decades, for `log10` values).
fn span(v: &[f64]) -> f64 {
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let min = v.iter().copied().fold(f64::INFINITY, f64::min);
    max - min
}

/// `10^decades`, written for a reader: `1e-23` or `0.62`.
fn factor(decades: f64) -> String {
    let x = 10f64.powf(decades);
    if (10.0..1000.0).contains(&x) {
        format!("{x:.0}")
    } else if (0.01..10.0).contains(&x) {
        format!("{x:.2}")
    } else {
        format!("{x:.0e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_quickly() -> Result<(), Box<dyn Error>> {
        let dir = tempfile::tempdir()?;
        let (depths, results) = run(true, dir.path())?;
        let decades = |init: usize, act: usize, depth: usize| -> f64 {
            results[init][act][depth].first_over_last()
        };
        let deepest = depths.len() - 1;
        let (sigmoid, tanh, relu) = (0, 1, 2);
        let (default, he) = (0, 1);
        // With the default init every activation loses gradient on the way back, more at
        // greater depth, sigmoid most of all.
        for act in [sigmoid, tanh, relu] {
            assert!(decades(default, act, deepest) < decades(default, act, 0));
            assert!(decades(default, act, 0) < 0.0);
        }
        assert!(decades(default, sigmoid, deepest) < decades(default, relu, deepest));
        // relu with He init keeps its first/last ratio much closer to 1 than sigmoid.
        assert!(decades(he, relu, deepest).abs() < 1.0);
        assert!(decades(he, sigmoid, deepest) < -3.0);
        // Mean field predicts each measurement (one seed, width 32: within a decade).
        for per_act in &results {
            for per_depth in per_act {
                let m = &per_depth[deepest];
                assert!((m.first_over_last() - m.theory_first_over_last()).abs() < 1.0);
            }
        }
        for file in [
            "vanishing_gradients_delta.svg",
            "vanishing_gradients_weight_grad.svg",
        ] {
            assert!(dir.path().join(file).is_file());
        }
        Ok(())
    }
}
