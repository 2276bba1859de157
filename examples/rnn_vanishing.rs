//! Gradients through time: how much of the loss's gradient at the last step of a
//! sequence reaches the early hidden states of a tanh RNN cell and of an LSTM cell.
//!
//! Run it with `cargo run --release --example rnn_vanishing [-- --out DIR]`; the chart
//! goes to `target/gradflow-examples/` unless `--out` says otherwise, and
//! `GRADFLOW_EXAMPLE_QUICK=1` makes a small, fast run for CI.
//!
//! Each cell is unrolled by hand with its `step` method over a random input sequence,
//! the loss depends on the last hidden state only, and `tape.grad` gives `dL/dh_t` for
//! every time step `t` (every path through later steps included). Weights are PyTorch's
//! default `U[-1/sqrt(H), 1/sqrt(H)]`; the third variant sets the LSTM's forget-gate
//! biases to 1 (Gers et al. 2000; Jozefowicz et al. 2015), so the forget gate starts
//! near `sigmoid(1) = 0.73` instead of `0.5`.

use std::error::Error;
use std::path::{Path, PathBuf};

use gradflow::nn::{ForwardCtx, LstmCell, RnnCell};
use gradflow::plot::{Axis, LineChart, Scale, Series};
use gradflow::prelude::{DType, Tape, Tensor, Var};

fn main() -> Result<(), Box<dyn Error>> {
    let quick = std::env::var("GRADFLOW_EXAMPLE_QUICK").is_ok_and(|v| v == "1");
    let out = match std::env::args().skip(1).collect::<Vec<_>>().as_slice() {
        [] => Path::new(env!("CARGO_MANIFEST_DIR")).join("target/gradflow-examples"),
        [flag, dir] if flag == "--out" => PathBuf::from(dir),
        _ => return Err("usage: rnn_vanishing [--out DIR]".into()),
    };
    run(quick, &out)?;
    Ok(())
}

/// The cells compared.
enum Cell {
    Rnn(RnnCell),
    Lstm(LstmCell),
}

impl Cell {
    /// Unrolls the cell over `x: [T, N, in]` and returns `h_1 .. h_T`.
    fn unroll(&self, ctx: &mut ForwardCtx<'_>, x: &Var) -> Result<Vec<Var>, Box<dyn Error>> {
        let steps = x.dims().first().copied().unwrap_or(0);
        let mut hs = Vec::with_capacity(steps);
        match self {
            Cell::Rnn(cell) => {
                let mut h: Option<Var> = None;
                for t in 0..steps {
                    let xt = x.narrow(0, t, 1)?.squeeze(0)?;
                    let next = cell.step(ctx, &xt, h.as_ref())?;
                    hs.push(next.clone());
                    h = Some(next);
                }
            }
            Cell::Lstm(cell) => {
                let mut state = None;
                for t in 0..steps {
                    let xt = x.narrow(0, t, 1)?.squeeze(0)?;
                    let next = cell.step(ctx, &xt, state.as_ref())?;
                    hs.push(next.h.clone());
                    state = Some(next);
                }
            }
        }
        Ok(hs)
    }
}

/// Runs the comparison, prints the table and the conclusion, writes the chart. Returns
/// the decades of gradient lost from `h_T` back to `h_1`, per cell.
fn run(quick: bool, out: &Path) -> Result<Vec<f64>, Box<dyn Error>> {
    let (steps, hidden, inputs, batch, seeds) = if quick {
        (20, 16, 4, 8, 1)
    } else {
        (100, 64, 8, 32, 5)
    };
    let names = ["RNN (tanh)", "LSTM", "LSTM, forget bias 1"];
    println!(
        "Gradient through time: loss = sum(h_T^2) / N after T = {steps} steps, hidden size \
         {hidden}, {inputs} N(0, 1) inputs per step, batch N = {batch}, mean over {seeds} seed(s)\n"
    );

    // log10 ||dL/dh_t|| for t = 1..T, averaged over seeds, per cell.
    let mut curves = vec![vec![0.0; steps]; names.len()];
    for seed in 0..seeds {
        let x = Tensor::randn([steps, batch, inputs], DType::F64, 1000 + seed);
        let with_bias =
            LstmCell::new(inputs, hidden, true, DType::F64, seed)?.with_forget_bias(1.0)?;
        let cells = [
            Cell::Rnn(RnnCell::new(inputs, hidden, true, DType::F64, seed)?),
            Cell::Lstm(LstmCell::new(inputs, hidden, true, DType::F64, seed)?),
            Cell::Lstm(with_bias),
        ];
        for (cell, curve) in cells.iter().zip(curves.iter_mut()) {
            let tape = Tape::new();
            let mut ctx = ForwardCtx::new(&tape);
            let hs = cell.unroll(&mut ctx, &tape.constant(x.clone()))?;
            let last = hs.last().ok_or("at least one step")?;
            let loss = last.powf(2.0)?.sum_all()?.mul_scalar(1.0 / batch as f64)?;
            let refs: Vec<&Var> = hs.iter().collect();
            let grads = tape.grad(&loss, &refs, false)?;
            for (c, g) in curve.iter_mut().zip(&grads) {
                let norm = g
                    .value()
                    .to_f64_vec()
                    .iter()
                    .map(|v| v * v)
                    .sum::<f64>()
                    .sqrt();
                *c += norm.log10() / seeds as f64;
            }
        }
    }

    print!("{:>6}", "t");
    for name in names {
        print!(" {name:>20}");
    }
    println!("\n{:>6} {:>20}", "", "log10 ||dL/dh_t||");
    let every = (steps / 10).max(1);
    for t in (0..steps)
        .rev()
        .filter(|t| (steps - 1 - t) % every == 0 || *t == 0)
    {
        print!("{:>6}", t + 1);
        for curve in &curves {
            print!(" {:>20.2}", curve.get(t).copied().unwrap_or(f64::NAN));
        }
        println!();
    }

    // Decades lost from h_T back to h_1, and per step.
    let lost: Vec<f64> = curves
        .iter()
        .map(|c| c.last().unwrap_or(&f64::NAN) - c.first().unwrap_or(&f64::NAN))
        .collect();
    println!();
    for (name, l) in names.iter().zip(&lost) {
        println!(
            "{:<21} ||dL/dh_1|| / ||dL/dh_T|| = 1e{:+.1}, a factor {:.3} per step",
            format!("{name}:"),
            -l,
            10f64.powf(-l / (steps - 1) as f64)
        );
    }
    let (rnn, lstm, lstm_bias) = (
        lost.first().copied().unwrap_or(f64::NAN),
        lost.get(1).copied().unwrap_or(f64::NAN),
        lost.get(2).copied().unwrap_or(f64::NAN),
    );
    println!(
        "\nOver {steps} steps the RNN loses {rnn:.1} decades of gradient and the LSTM {lstm:.1} \
         at its default init{}; with forget-gate bias 1 the LSTM loses {lstm_bias:.1}{}.",
        if lstm < rnn - 1.0 {
            ", so the gated cell path already carries more of it"
        } else if lstm > rnn + 1.0 {
            ", more than the RNN: at the default init the forget gate (about 0.5) halves the \
             cell's memory every step"
        } else {
            ", about the same: at the default init the forget gate (about 0.5) halves the \
             cell's memory every step"
        },
        if lstm_bias < lstm.min(rnn) - 1.0 {
            format!(
                ", {:.0} decades fewer than the default LSTM: the additive cell path, with the \
                 forget gate closer to 1, is what lets LSTMs learn long-range dependencies",
                lstm - lstm_bias
            )
        } else {
            String::new()
        }
    );

    let mut chart = LineChart::new(
        format!("Gradient through time, T = {steps}, hidden size {hidden}"),
        Axis::new("time step t", "index"),
        Axis::new("‖∂L/∂h_t‖", "L2 norm"),
    )
    .y_scale(Scale::Log10)
    .note("L = Σ h_T² / N; PyTorch's default init U[-1/√H, 1/√H]; mean of log10 over seeds");
    for (i, (name, curve)) in names.iter().zip(&curves).enumerate() {
        chart.push(
            Series::new(
                *name,
                curve
                    .iter()
                    .enumerate()
                    .map(|(t, v)| ((t + 1) as f64, 10f64.powf(*v))),
            )
            .colour(i),
        );
    }
    std::fs::create_dir_all(out)?;
    let path = out.join("rnn_vanishing.svg");
    std::fs::write(&path, chart.to_svg()?)?;
    println!("\nwrote {}", path.display());
    Ok(lost)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_quickly() -> Result<(), Box<dyn Error>> {
        let dir = tempfile::tempdir()?;
        let lost = run(true, dir.path())?;
        let (rnn, lstm, lstm_bias) = (lost[0], lost[1], lost[2]);
        // Every cell loses gradient through time at the default init ...
        assert!(rnn > 1.0 && lstm > 1.0, "{lost:?}");
        // ... and the LSTM whose forget gate starts near 1 loses the least.
        assert!(lstm_bias < lstm.min(rnn) - 1.0, "{lost:?}");
        assert!(dir.path().join("rnn_vanishing.svg").is_file());
        Ok(())
    }
}
