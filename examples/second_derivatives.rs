//! Second and higher derivatives from the engine: derivatives of tanh to fourth order,
//! Newton's method with an exact Hessian, and Hessian-vector products of a network's
//! loss that give its sharpness and the largest stable learning rate.
//!
//! Run it with `cargo run --release --example second_derivatives`;
//! `GRADFLOW_EXAMPLE_QUICK=1` makes a shorter run for CI.
//!
//! The engine writes every gradient rule with recorded ops, so with
//! `tape.grad(&y, &[&x], true)` (create_graph) the gradient is itself a node of the
//! tape and can be differentiated again, as often as needed.

use std::error::Error;

use gradflow::nn::data::synthetic;
use gradflow::nn::loss::{Reduction, mse};
use gradflow::nn::module::named_parameters;
use gradflow::nn::{ForwardCtx, Mlp, Module};
use gradflow::prelude::{Activation, DType, Tape, Tensor, Var};

fn main() -> Result<(), Box<dyn Error>> {
    let quick = std::env::var("GRADFLOW_EXAMPLE_QUICK").is_ok_and(|v| v == "1");
    run(quick)?;
    Ok(())
}

/// What the three demonstrations measured.
struct Summary {
    /// Largest relative error of the engine's tanh derivatives (orders 1 to 4).
    tanh_error: f64,
    newton_steps: usize,
    gd_steps: usize,
    gd_cap: usize,
    /// Relative error of a Hessian-vector product against finite differences.
    hvp_error: f64,
    /// Largest Hessian eigenvalue (sharpness).
    lambda: f64,
    /// Whether the loss went down at 0.8 x 2/lambda, and up at 1.5 x 2/lambda.
    stable: bool,
    unstable: bool,
}

/// Runs the three demonstrations and prints what each measured.
fn run(quick: bool) -> Result<Summary, Box<dyn Error>> {
    let tanh_error = tanh_derivatives()?;
    let (newton_steps, gd_steps, gd_cap) = newton(quick)?;
    let (hvp_error, lambda, stable, unstable) = sharpness(quick)?;
    let s = Summary {
        tanh_error,
        newton_steps,
        gd_steps,
        gd_cap,
        hvp_error,
        lambda,
        stable,
        unstable,
    };
    print_conclusion(&s);
    Ok(s)
}

fn print_conclusion(s: &Summary) {
    println!("\nConclusion:");
    println!(
        "- repeated differentiation of tanh matches the closed forms to {:.0e} relative up \
         to the fourth derivative;",
        s.tanh_error
    );
    println!(
        "- with the exact Hessian, Newton's method reaches the Rosenbrock minimum in {} \
         steps; gradient descent {};",
        s.newton_steps,
        if s.gd_steps < s.gd_cap {
            format!("needs {}", s.gd_steps)
        } else {
            format!("has not reached it after {}", s.gd_cap)
        }
    );
    println!(
        "- Hessian-vector products agree with finite differences of gradients to {:.0e}; \
         the loss's sharpness is {:.3}, so gradient descent is stable only for \
         lr < 2/{:.3} = {:.3}: {}.",
        s.hvp_error,
        s.lambda,
        s.lambda,
        2.0 / s.lambda,
        match (s.stable, s.unstable) {
            (true, true) => "at 0.8 times that bound the loss went down, at 1.5 times it went up",
            (true, false) =>
                "at 0.8 times that bound the loss went down, and at 1.5 times \
                              it did not go up in this run (the sharpness changed as it trained)",
            (false, _) => "yet in this run the loss did not go down at 0.8 times that bound",
        }
    );
}

/// d^k tanh / dx^k for k = 1..4 at a few points, by differentiating the gradient again.
fn tanh_derivatives() -> Result<f64, Box<dyn Error>> {
    println!("1. Derivatives of tanh by repeated differentiation (create_graph = true)\n");
    let points = [-2.0, -0.5, 0.3, 1.5];
    let tape = Tape::new();
    let x = tape.var(Tensor::from_vec(points.to_vec(), [points.len()])?);
    let mut current = x.tanh()?;
    let mut engine = Vec::new();
    for _ in 0..4 {
        // Elementwise function: the gradient of the sum is the vector of derivatives.
        let grads = tape.grad(&current.sum_all()?, &[&x], true)?;
        current = grads.into_iter().next().ok_or("one gradient per input")?;
        engine.push(current.value().to_vec::<f64>()?);
    }
    println!(
        "{:>6} {:>4} {:>14} {:>14}",
        "x", "k", "engine", "closed form"
    );
    let mut worst: f64 = 0.0;
    for (i, &x) in points.iter().enumerate() {
        let t: f64 = f64::tanh(x);
        let s = 1.0 - t * t;
        let exact = [
            s,
            -2.0 * t * s,
            -2.0 * s * (1.0 - 3.0 * t * t),
            8.0 * t * s * (2.0 - 3.0 * t * t),
        ];
        for (k, e) in exact.iter().enumerate() {
            let got = engine
                .get(k)
                .and_then(|v| v.get(i))
                .copied()
                .unwrap_or(f64::NAN);
            worst = worst.max(((got - e) / e).abs());
            println!("{x:>6} {:>4} {got:>14.10} {e:>14.10}", k + 1);
        }
    }
    Ok(worst)
}

/// Gradient, Hessian and value of a function of two variables at a point.
type GradHess = ([f64; 2], [[f64; 2]; 2], f64);

/// Newton's method on Rosenbrock's function with the Hessian from the engine, against
/// gradient descent. Returns (Newton steps, gradient-descent steps, the cap on them).
fn newton(quick: bool) -> Result<(usize, usize, usize), Box<dyn Error>> {
    println!("\n2. Newton's method on f(x, y) = (1 - x)^2 + 100 (y - x^2)^2 from (-1.2, 1)");
    println!("   (pure Newton steps p -= H^-1 grad f, no line search; stop at |grad f| < 1e-8)\n");
    let rosenbrock = |p: &Var| -> gradflow::autograd::Result<Var> {
        let x = p.narrow(0, 0, 1)?;
        let y = p.narrow(0, 1, 1)?;
        let a = x.neg()?.add_scalar(1.0)?.powf(2.0)?;
        let b = y.sub(&x.powf(2.0)?)?.powf(2.0)?.mul_scalar(100.0)?;
        a.add(&b)?.sum_all()
    };
    // Gradient and Hessian at p: the Hessian's row i is the gradient of g_i.
    let grad_hess = |p: &[f64; 2]| -> Result<GradHess, Box<dyn Error>> {
        let tape = Tape::new();
        let v = tape.var(Tensor::from_vec(p.to_vec(), [2])?);
        let f = rosenbrock(&v)?;
        let g = tape
            .grad(&f, &[&v], true)?
            .into_iter()
            .next()
            .ok_or("a gradient")?;
        let mut h = [[0.0; 2]; 2];
        for (i, row) in h.iter_mut().enumerate() {
            let gi = g.narrow(0, i, 1)?.sum_all()?;
            let hi = tape
                .grad(&gi, &[&v], true)?
                .into_iter()
                .next()
                .ok_or("a gradient")?;
            let hi = hi.value().to_vec::<f64>()?;
            *row = [
                hi.first().copied().unwrap_or(0.0),
                hi.get(1).copied().unwrap_or(0.0),
            ];
        }
        let gv = g.value().to_vec::<f64>()?;
        let gv = [
            gv.first().copied().unwrap_or(0.0),
            gv.get(1).copied().unwrap_or(0.0),
        ];
        Ok((gv, h, f.value().to_scalar::<f64>()?))
    };
    let tolerance = 1e-8;
    println!(
        "{:>5} {:>22} {:>12} {:>12}",
        "step", "(x, y)", "f", "|grad f|"
    );
    let mut p = [-1.2, 1.0];
    let mut newton_steps = 0;
    for step in 0..50 {
        let (g, h, f) = grad_hess(&p)?;
        let norm = g[0].hypot(g[1]);
        println!(
            "{step:>5} {:>22} {f:>12.3e} {norm:>12.3e}",
            format!("({:.6}, {:.6})", p[0], p[1])
        );
        if norm < tolerance {
            newton_steps = step;
            break;
        }
        // Solve H d = g (2 x 2) and step p -= d.
        let det = h[0][0] * h[1][1] - h[0][1] * h[1][0];
        if det.abs() < 1e-300 {
            return Err("singular Hessian".into());
        }
        p[0] -= (h[1][1] * g[0] - h[0][1] * g[1]) / det;
        p[1] -= (h[0][0] * g[1] - h[1][0] * g[0]) / det;
    }

    // Gradient descent from the same point with the largest stable constant step,
    // about 1 / (largest Hessian eigenvalue along the path, ~ 1000): lr 1e-3.
    let cap = if quick { 2_000 } else { 50_000 };
    let mut p = [-1.2, 1.0];
    let mut gd_steps = cap;
    for step in 0..cap {
        let tape = Tape::new();
        let v = tape.var(Tensor::from_vec(p.to_vec(), [2])?);
        let g = tape.grad(&rosenbrock(&v)?, &[&v], false)?;
        let g = g.first().ok_or("a gradient")?.value().to_vec::<f64>()?;
        let (gx, gy) = (
            g.first().copied().unwrap_or(0.0),
            g.get(1).copied().unwrap_or(0.0),
        );
        if gx.hypot(gy) < tolerance {
            gd_steps = step;
            break;
        }
        p = [p[0] - 1e-3 * gx, p[1] - 1e-3 * gy];
    }
    println!(
        "gradient descent (lr 1e-3) from the same start: {} at ({:.6}, {:.6})",
        if gd_steps < cap {
            format!("|grad f| < {tolerance:e} after {gd_steps} steps")
        } else {
            format!("not converged after {cap} steps")
        },
        p[0],
        p[1]
    );
    Ok((newton_steps, gd_steps, cap))
}

/// The loss of a small tanh network on a regression task, as a function of the
/// parameters given as Vars (so the Hessian w.r.t. them can be taken).
fn loss_with(
    model: &Mlp,
    tape: &Tape,
    params: &[Var],
    x: &Tensor,
    y: &Tensor,
) -> Result<Var, Box<dyn Error>> {
    let mut ctx = ForwardCtx::new(tape);
    for ((_, p), v) in named_parameters(model).iter().zip(params) {
        ctx.bind(p, v.clone());
    }
    let pred = model.forward(&mut ctx, &tape.constant(x.clone()))?;
    Ok(mse(&pred, &tape.constant(y.clone()), Reduction::Mean)?)
}

/// Gradient, Hessian-vector product (when asked for) and loss.
type Evaluated = (Vec<Tensor>, Option<Vec<Tensor>>, f64);

/// Gradient (and, with `v`, the Hessian-vector product) of the loss at `theta`.
fn grad_and_hvp(
    model: &Mlp,
    theta: &[Tensor],
    v: Option<&[Tensor]>,
    x: &Tensor,
    y: &Tensor,
) -> Result<Evaluated, Box<dyn Error>> {
    let tape = Tape::new();
    let params: Vec<Var> = theta.iter().map(|t| tape.var(t.clone())).collect();
    let loss = loss_with(model, &tape, &params, x, y)?;
    let refs: Vec<&Var> = params.iter().collect();
    let g = tape.grad(&loss, &refs, v.is_some())?;
    let hv = match v {
        Some(v) => {
            // Hv = gradient of <g, v>: the gradient differentiated once more.
            let mut dot = tape.constant(Tensor::zeros([], DType::F64));
            for (gi, vi) in g.iter().zip(v) {
                dot = dot.add(&gi.mul(&tape.constant(vi.clone()))?.sum_all()?)?;
            }
            let hv = tape.grad(&dot, &refs, false)?;
            Some(hv.into_iter().map(Var::into_value).collect())
        }
        None => None,
    };
    let g = g.into_iter().map(Var::into_value).collect();
    Ok((g, hv, loss.value().to_scalar::<f64>()?))
}

fn dot(a: &[Tensor], b: &[Tensor]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(a, b)| {
            let (a, b) = (a.to_f64_vec(), b.to_f64_vec());
            a.iter().zip(&b).map(|(x, y)| x * y).sum::<f64>()
        })
        .sum()
}

fn axpy(alpha: f64, x: &[Tensor], y: &[Tensor]) -> Result<Vec<Tensor>, Box<dyn Error>> {
    Ok(x.iter()
        .zip(y)
        .map(|(x, y)| y.add(&x.mul_scalar(alpha)))
        .collect::<Result<_, _>>()?)
}

/// Sharpness (largest Hessian eigenvalue) of a network's loss by power iteration on
/// Hessian-vector products, checked against finite differences; then gradient descent
/// just under and over the stability bound `2 / sharpness`.
fn sharpness(quick: bool) -> Result<(f64, f64, bool, bool), Box<dyn Error>> {
    println!("\n3. Hessian-vector products of a network's loss\n");
    let data = synthetic::teacher(256, 4, &[8], 1, 0.0, 0)?.to_dtype(DType::F64);
    let x = data.features().clone();
    let y = data.target_tensor().ok_or("a regression set")?.clone();
    let model = Mlp::builder(4, &[16, 16], 1)
        .activation(Activation::Tanh)
        .init(gradflow::nn::init::Init::xavier())
        .dtype(DType::F64)
        .seed(5)
        .build()?;
    let mut theta: Vec<Tensor> = named_parameters(&model)
        .iter()
        .map(|(_, p)| p.value().clone())
        .collect();
    let count: usize = theta.iter().map(Tensor::numel).sum();
    // Train a while with a small rate first, so the curvature is measured near a
    // minimum (at initialisation it changes fast as soon as training starts).
    let warmup = 500;
    let mut loss = f64::NAN;
    for _ in 0..warmup {
        let (g, _, l) = grad_and_hvp(&model, &theta, None, &x, &y)?;
        loss = l;
        theta = axpy(-0.05, &g, &theta)?;
    }
    println!(
        "a 4-16-16-1 tanh network ({count} parameters), mse on a teacher network's outputs, \
         after {warmup} steps of gradient descent at lr 0.05 (loss {loss:.3e})"
    );

    // Check one product against central differences of gradients.
    let v: Vec<Tensor> = theta
        .iter()
        .enumerate()
        .map(|(i, t)| Tensor::randn(t.dims(), DType::F64, 100 + i as u64))
        .collect();
    let (_, hv, _) = grad_and_hvp(&model, &theta, Some(&v), &x, &y)?;
    let hv = hv.ok_or("asked for Hv")?;
    let eps = 1e-5;
    let (g_plus, _, _) = grad_and_hvp(&model, &axpy(eps, &v, &theta)?, None, &x, &y)?;
    let (g_minus, _, _) = grad_and_hvp(&model, &axpy(-eps, &v, &theta)?, None, &x, &y)?;
    let fd = axpy(-1.0, &g_minus, &g_plus)?;
    let fd: Vec<Tensor> = fd.iter().map(|t| t.mul_scalar(0.5 / eps)).collect();
    let diff = axpy(-1.0, &fd, &hv)?;
    let hvp_error = (dot(&diff, &diff) / dot(&fd, &fd)).sqrt();
    println!(
        "Hv against (g(θ + εv) - g(θ - εv)) / 2ε, ε = {eps:e}: relative error {hvp_error:.1e}"
    );

    // Power iteration: v <- Hv / |Hv|; the Rayleigh quotient v.Hv tends to the largest
    // eigenvalue in magnitude (near a minimum, the largest positive one).
    let iterations = if quick { 60 } else { 200 };
    let mut v = v;
    let norm = dot(&v, &v).sqrt();
    v = v.iter().map(|t| t.mul_scalar(1.0 / norm)).collect();
    let mut lambda = 0.0;
    for i in 0..iterations {
        let (_, hv, _) = grad_and_hvp(&model, &theta, Some(&v), &x, &y)?;
        let hv = hv.ok_or("asked for Hv")?;
        lambda = dot(&v, &hv);
        let norm = dot(&hv, &hv).sqrt();
        v = hv.iter().map(|t| t.mul_scalar(1.0 / norm)).collect();
        if (i + 1) % (iterations / 4).max(1) == 0 {
            println!("power iteration {:>3}: v.Hv = {lambda:.6}", i + 1);
        }
    }

    // Gradient descent at 0.8 and 1.5 times the bound 2 / lambda.
    let steps = 30;
    let mut outcome = Vec::new();
    for factor in [0.8, 1.5] {
        let lr = factor * 2.0 / lambda;
        let mut theta = theta.clone();
        let mut losses = Vec::new();
        for _ in 0..=steps {
            let (g, _, loss) = grad_and_hvp(&model, &theta, None, &x, &y)?;
            losses.push(loss);
            theta = axpy(-lr, &g, &theta)?;
        }
        let (first, last) = (
            losses.first().copied().unwrap_or(f64::NAN),
            losses.last().copied().unwrap_or(f64::NAN),
        );
        println!(
            "gradient descent, lr = {factor} x 2/λ = {lr:.3}: loss {first:.4e} -> {last:.4e} \
             after {steps} steps"
        );
        outcome.push(last < first);
    }
    let stable = outcome.first().copied().unwrap_or(false);
    let unstable = !outcome.get(1).copied().unwrap_or(true);
    Ok((hvp_error, lambda, stable, unstable))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_quickly() -> Result<(), Box<dyn Error>> {
        let s = run(true)?;
        assert!(
            s.tanh_error < 1e-12,
            "tanh derivatives off by {}",
            s.tanh_error
        );
        // Newton with the exact Hessian converges in a handful of steps, quadratically.
        assert!(
            s.newton_steps > 0 && s.newton_steps <= 10,
            "{} steps",
            s.newton_steps
        );
        assert!(
            s.gd_steps > 10 * s.newton_steps,
            "{} of {}",
            s.gd_steps,
            s.gd_cap
        );
        assert!(s.hvp_error < 1e-6, "Hv off by {}", s.hvp_error);
        // The stability bound 2 / sharpness separates descent from divergence.
        assert!(
            s.lambda > 0.0 && s.stable && s.unstable,
            "lambda {}",
            s.lambda
        );
        Ok(())
    }
}
