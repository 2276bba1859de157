//! Every elementwise activation function with its first and second derivatives, all
//! computed by the engine, and the numbers that decide how each one passes gradients.
//!
//! Run it with `cargo run --release --example activation_gallery [-- --out DIR]`; the
//! chart goes to `target/gradflow-examples/` unless `--out` says otherwise, and
//! `GRADFLOW_EXAMPLE_QUICK=1` makes a small, fast run for CI.
//!
//! The derivatives are not hand formulas: `f'` is `tape.grad` of `sum f(x)` with
//! `create_graph = true`, and `f''` is the gradient of `sum f'(x)`, so the chart shows what
//! back-propagation actually multiplies by.

use std::error::Error;
use std::path::{Path, PathBuf};

use gradflow::plot::{Axis, LineChart, Panels, Series};
use gradflow::prelude::{Activation, DType, Tape, Tensor};

fn main() -> Result<(), Box<dyn Error>> {
    let quick = std::env::var("GRADFLOW_EXAMPLE_QUICK").is_ok_and(|v| v == "1");
    let out = match std::env::args().skip(1).collect::<Vec<_>>().as_slice() {
        [] => Path::new(env!("CARGO_MANIFEST_DIR")).join("target/gradflow-examples"),
        [flag, dir] if flag == "--out" => PathBuf::from(dir),
        _ => return Err("usage: activation_gallery [--out DIR]".into()),
    };
    run(quick, &out)?;
    Ok(())
}

/// An activation sampled on the grid, with what the table reports.
struct Sampled {
    act: Activation,
    x: Vec<f64>,
    f: Vec<f64>,
    d1: Vec<f64>,
    d2: Vec<f64>,
    /// max |f'| on the grid.
    max_slope: f64,
    /// E[f'(z)^2] for z ~ N(0, 1): mean-field's per-layer factor on the squared
    /// gradient norm at sigma_w^2 = 1.
    chi: f64,
    /// E[f(z)] for z ~ N(0, 1).
    mean_out: f64,
    /// Fraction of the grid where f' is exactly 0 (no gradient at all).
    flat: f64,
    /// Fraction of the grid where 0 < |f'| < 5% of max |f'| (saturated, or a small
    /// leaky slope).
    small: f64,
}

/// `f`, `f'` and `f''` at the points of `grid`, from the engine.
type Curves = (Vec<f64>, Vec<f64>, Vec<f64>);

fn derivatives(act: Activation, grid: &Tensor) -> Result<Curves, Box<dyn Error>> {
    let tape = Tape::new();
    let x = tape.var(grid.clone());
    let y = act.apply(&x)?;
    // An elementwise f: the gradient of sum f(x) is f'(x) at every point.
    let d1 = tape.grad(&y.sum_all()?, &[&x], true)?;
    let d1 = d1.first().ok_or("one gradient per input")?;
    let d2 = tape.grad(&d1.sum_all()?, &[&x], false)?;
    let d2 = d2.first().ok_or("one gradient per input")?;
    Ok((
        y.value().to_vec::<f64>()?,
        d1.value().to_vec::<f64>()?,
        d2.value().to_vec::<f64>()?,
    ))
}

/// The curves on `grid` (for the chart and the table's `x = 0` column) and the
/// statistics on `[lo, hi]`.
fn sample(act: Activation, grid: &Tensor, lo: f64, hi: f64) -> Result<Sampled, Box<dyn Error>> {
    let (f, d1, d2) = derivatives(act, grid)?;
    // Statistics on the midpoints of n cells (the midpoint rule): no point sits on
    // relu's kink at 0, where the slope jumps, so E[relu'(z)^2] comes out as 1/2.
    let n = 4000;
    let dx = (hi - lo) / n as f64;
    let mid = Tensor::linspace(lo + dx / 2.0, hi - dx / 2.0, n, DType::F64)?;
    let xs = mid.to_vec::<f64>()?;
    let (fm, d1m, _) = derivatives(act, &mid)?;
    // The largest slope over both grids: the chart's has the points where it peaks
    // (0 for tanh and softsign, 3 for hardswish).
    let max_slope = d1.iter().chain(&d1m).map(|d| d.abs()).fold(0.0, f64::max);
    // Gaussian expectations: the grid covers +-6 sigma.
    let density = |x: f64| (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
    let expect = |g: &[f64], power: i32| -> f64 {
        xs.iter()
            .zip(g)
            .map(|(&x, v)| v.powi(power) * density(x) * dx)
            .sum()
    };
    let count =
        |pred: &dyn Fn(f64) -> bool| d1m.iter().filter(|d| pred(**d)).count() as f64 / n as f64;
    Ok(Sampled {
        act,
        x: grid.to_vec::<f64>()?,
        chi: expect(&d1m, 2),
        mean_out: expect(&fm, 1),
        flat: count(&|d| d == 0.0),
        small: count(&|d| d != 0.0 && d.abs() < 0.05 * max_slope),
        max_slope,
        f,
        d1,
        d2,
    })
}

/// Samples every activation, prints the table and the conclusion, writes the chart.
fn run(quick: bool, out: &Path) -> Result<Vec<Sampled>, Box<dyn Error>> {
    let points = if quick { 241 } else { 2401 };
    let (lo, hi) = (-6.0, 6.0);
    let grid = Tensor::linspace(lo, hi, points, DType::F64)?;
    let all: Vec<Sampled> = Activation::all()
        .filter(Activation::is_pointwise)
        .map(|a| sample(a, &grid, lo, hi))
        .collect::<Result<_, _>>()?;

    println!(
        "Activation gallery: f, f' and f'' from the engine on [{lo}, {hi}] ({points} points \
         for the chart, the midpoints of 4000 cells for the statistics)\n"
    );
    println!(
        "{:<17} {:>8} {:>8} {:>9} {:>11} {:>9} {:>7} {:>10}",
        "activation", "f(0)", "f'(0)", "max |f'|", "E[f'(z)^2]", "E[f(z)]", "f' = 0", "small f'"
    );
    let at_zero = points / 2; // linspace with an odd count has x = 0 in the middle
    for s in &all {
        println!(
            "{:<17} {:>8.4} {:>8.4} {:>9.4} {:>11.4} {:>9.4} {:>6.0}% {:>9.0}%",
            s.act.to_string(),
            s.f.get(at_zero).copied().unwrap_or(f64::NAN),
            s.d1.get(at_zero).copied().unwrap_or(f64::NAN),
            s.max_slope,
            s.chi,
            s.mean_out,
            100.0 * s.flat,
            100.0 * s.small
        );
    }
    println!(
        "(z ~ N(0, 1); f' = 0: share of [{lo}, {hi}] where the slope is exactly zero; \
         small f': where 0 < |f'| < 5% of max |f'|)"
    );

    // The conclusion, from the numbers above.
    let names = |pred: &dyn Fn(&Sampled) -> bool| -> Vec<String> {
        all.iter()
            .filter(|s| pred(s))
            .map(|s| s.act.to_string())
            .collect()
    };
    let shrinking = names(&|s| s.max_slope < 0.999);
    let sigmoid = all
        .iter()
        .find(|s| s.act == Activation::Sigmoid)
        .ok_or("sigmoid is in the catalogue")?;
    println!(
        "\nSlope below 1 everywhere ({}): {}; sigmoid's largest slope is {:.4}, so through \
         10 sigmoid layers with unit weights at most {:.1e} of the gradient survives.",
        shrinking.len(),
        shrinking.join(", "),
        sigmoid.max_slope,
        sigmoid.max_slope.powi(10)
    );
    let flat = names(&|s| s.flat > 0.05);
    println!(
        "Exactly zero slope on part of the range ({}): a unit whose inputs all fall there \
         gets no gradient at all (dying units).",
        flat.join(", ")
    );
    let small = names(&|s| s.small > 0.25);
    println!(
        "Slope under 5% of its maximum but not zero on more than a quarter of [{lo}, {hi}] \
         (saturating, or leaky with a small slope): {}.",
        small.join(", ")
    );
    let mut by_chi: Vec<&Sampled> = all
        .iter()
        .filter(|s| s.act != Activation::Identity)
        .collect();
    by_chi.sort_by(|a, b| b.chi.total_cmp(&a.chi));
    let ranked: Vec<String> = by_chi
        .iter()
        .map(|s| format!("{} {:.3}", s.act, s.chi))
        .collect();
    println!(
        "Per-layer factor on ||delta||^2 for unit-variance inputs and sigma_w^2 = 1, \
         E[f'(z)^2], largest first: {}. A network keeps its gradient when sigma_w^2 times \
         this is 1, e.g. sigma_w^2 = {:.2} for relu (He init's 2).",
        ranked.join(", "),
        all.iter()
            .find(|s| s.act == Activation::Relu)
            .map_or(f64::NAN, |s| 1.0 / s.chi)
    );

    // Chart: one panel per activation with f, f' and f''.
    let mut panels = Panels::new("Activations and their derivatives, computed by the engine")
        .columns(4)
        .note("f′ and f″ are gradients from the tape (create_graph), not hand formulas");
    for s in &all {
        let xy =
            |v: &[f64]| -> Vec<(f64, f64)> { s.x.iter().copied().zip(v.iter().copied()).collect() };
        panels.push(
            LineChart::new(
                s.act.to_string(),
                Axis::new("x", "1"),
                Axis::new("value", "1"),
            )
            .series(Series::new("f", xy(&s.f)).colour(0))
            .series(Series::new("f′", xy(&s.d1)).colour(1))
            .series(Series::new("f″", xy(&s.d2)).colour(2)),
        );
    }
    std::fs::create_dir_all(out)?;
    let path = out.join("activation_gallery.svg");
    std::fs::write(&path, panels.to_svg()?)?;
    println!("\nwrote {}", path.display());
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_quickly() -> Result<(), Box<dyn Error>> {
        let dir = tempfile::tempdir()?;
        let all = run(true, dir.path())?;
        let get = |a: Activation| all.iter().find(|s| s.act == a).ok_or("in the gallery");
        // The numbers the conclusion rests on, against their closed forms:
        // max sigmoid' = 1/4; E[relu'(z)^2] = 1/2; E[tanh'(z)^2] = 0.4645 (quadrature).
        assert!((get(Activation::Sigmoid)?.max_slope - 0.25).abs() < 1e-6);
        assert!((get(Activation::Relu)?.chi - 0.5).abs() < 1e-6);
        assert!((get(Activation::Tanh)?.chi - 0.4645).abs() < 1e-3);
        // relu is flat on exactly half the range; leaky relu nowhere.
        assert!((get(Activation::Relu)?.flat - 0.5).abs() < 1e-9);
        assert!(get(Activation::LeakyRelu { slope: 0.01 })?.flat == 0.0);
        let svg = std::fs::read_to_string(dir.path().join("activation_gallery.svg"))?;
        assert!(all.iter().all(|s| svg.contains(&s.act.to_string())));
        Ok(())
    }
}
