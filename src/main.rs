//! The `gradflow` command.
//!
//! Until the study runner exists this runs a small demonstration of the engine: for
//! every activation, the gradient that reaches the input of a deep chain
//! `x -> f(w x) -> f(w f(w x)) -> ...`, computed by reverse-mode autodiff through one
//! recorded node per layer.

use std::process::ExitCode;

use gradflow::autograd::{Activation, DType, Result, Tape, Tensor};

/// The gradient of a depth-`depth` scalar chain w.r.t. its input, one unit per layer,
/// weight `w` (so every factor is `w * f'(h)`).
fn chain_gradient(act: Activation, depth: usize, w: f64, x0: f64) -> Result<f64> {
    let tape = Tape::new();
    let x = tape.var(Tensor::full([1], x0, DType::F64));
    let mut h = x.clone();
    for _ in 0..depth {
        h = act.apply(&h.mul_scalar(w)?)?;
    }
    let g = tape.grad(&h.sum_all()?, &[&x], false)?;
    g[0].value().to_scalar::<f64>()
}

fn run() -> Result<()> {
    println!("gradflow: the gradient that reaches the input of a deep chain of one unit per layer");
    println!("(weight 1, input 0.5): each layer multiplies it by f'(h), so activations whose");
    println!("slope is below 1 make it vanish exponentially with depth.\n");
    let depths = [1usize, 5, 10, 20, 50];
    print!("{:<16}", "activation");
    for d in depths {
        print!("{:>12}", format!("depth {d}"));
    }
    println!("{:>14}", "max f'");
    for act in Activation::all().filter(Activation::is_pointwise) {
        print!("{:<16}", act.to_string());
        for d in depths {
            print!("{:>12.3e}", chain_gradient(act, d, 1.0, 0.5)?);
        }
        println!("{:>14.4}", act.info().max_derivative);
    }
    println!("\nsigmoid's slope is at most 1/4, so fifty layers shrink the gradient by more than");
    println!("4^50 = 1e30; relu passes it through unchanged wherever the unit is active.");
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gradflow: {e}");
            ExitCode::FAILURE
        }
    }
}
