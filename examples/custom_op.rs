//! Write your own differentiable op (here the squareplus activation), check its gradient
//! rule to first and second order with `gradcheck` (and see it catch a rule that is
//! only right to first order), and train a network with it.
//!
//! Run it with `cargo run --release --example custom_op`; `GRADFLOW_EXAMPLE_QUICK=1`
//! makes a shorter run for CI.
//!
//! Squareplus (Barron 2021, "Squareplus: a softplus-like algebraic rectifier") is
//! `f(x) = (x + sqrt(x^2 + b)) / 2`, a smooth ReLU made of one square root, with
//! `f'(x) = (1 + x / sqrt(x^2 + b)) / 2` and `f''(x) = b / (2 (x^2 + b)^(3/2))`.
//! gradflow has no squareplus built in, which makes it a good first op to write.

use std::error::Error;

use gradflow::autograd::{
    BackwardCtx, DType, GradcheckOptions, InputGrads, Op, Tape, Tensor, Var, gradcheck,
};
use gradflow::nn::init::Init;
use gradflow::nn::loss::{Reduction, cross_entropy};
use gradflow::nn::optim::{Adam, Optimizer};
use gradflow::nn::{ForwardCtx, Linear, Module, Sequential, data, metrics};

/// The op: squareplus with hinge softness `b > 0`.
struct Squareplus {
    b: f64,
}

impl Op for Squareplus {
    fn name(&self) -> &'static str {
        "squareplus"
    }

    fn forward(&mut self, inputs: &[&Tensor]) -> gradflow::autograd::Result<Tensor> {
        let [x] = inputs else {
            return Err(gradflow::autograd::Error::invalid(
                "squareplus",
                "takes one input",
            ));
        };
        // (x + s) / 2 with s = sqrt(x^2 + b) cancels for x << 0 (1e4 - 1e4 in f32 is 0);
        // there it is computed as b / (2 (s - x)), the same value without cancellation.
        let b = self.b;
        let y: Vec<f64> = x
            .to_f64_vec()
            .into_iter()
            .map(|x| {
                let s = (x * x + b).sqrt();
                if x >= 0.0 {
                    0.5 * (x + s)
                } else {
                    0.5 * b / (s - x)
                }
            })
            .collect();
        Ok(Tensor::from_vec(y, x.dims())?.to_dtype(x.dtype()))
    }

    fn backward(
        &self,
        ctx: &BackwardCtx<'_>,
        grad: &Var,
    ) -> gradflow::autograd::Result<InputGrads> {
        // f'(x) = (1 + x / s) / 2 = f(x) / s with s = sqrt(x^2 + b): from the saved
        // output, which avoids the cancellation in 1 + x / s for x << 0. Written with Var
        // ops: when the engine records the gradient (create_graph), these ops are on the
        // tape, so the second derivative needs no rule of its own.
        let x = ctx.input(0);
        let s = x.powf(2.0)?.add_scalar(self.b)?.sqrt()?;
        let slope = ctx.output().div(&s)?;
        Ok(BackwardCtx::only(1, 0, grad.mul(&slope)?))
    }
}

/// The same op with a classic mistake: the slope is computed as a plain tensor, outside
/// the tape. The gradient is right, but differentiating it again misses the slope's own
/// dependence on `x`, so second derivatives come out wrong.
struct DetachedSquareplus {
    b: f64,
}

impl Op for DetachedSquareplus {
    fn name(&self) -> &'static str {
        "squareplus_detached"
    }

    fn forward(&mut self, inputs: &[&Tensor]) -> gradflow::autograd::Result<Tensor> {
        Squareplus { b: self.b }.forward(inputs)
    }

    fn backward(
        &self,
        ctx: &BackwardCtx<'_>,
        grad: &Var,
    ) -> gradflow::autograd::Result<InputGrads> {
        let s = ctx.input(0).value().powf(2.0).add_scalar(self.b).sqrt();
        let slope = Var::untracked(ctx.output().value().div(&s)?);
        Ok(BackwardCtx::only(1, 0, grad.mul(&slope)?))
    }
}

/// What users call: one recorded node.
fn squareplus(x: &Var, b: f64) -> gradflow::autograd::Result<Var> {
    Var::apply(Squareplus { b }, &[x])
}

/// The op as a layer, so it goes into a [`Sequential`] like any built-in activation.
#[derive(Debug)]
struct SquareplusLayer {
    b: f64,
}

impl Module for SquareplusLayer {
    fn kind(&self) -> &'static str {
        "Squareplus"
    }

    fn forward(&self, _ctx: &mut ForwardCtx<'_>, x: &Var) -> gradflow::nn::Result<Var> {
        Ok(squareplus(x, self.b)?)
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let quick = std::env::var("GRADFLOW_EXAMPLE_QUICK").is_ok_and(|v| v == "1");
    run(quick)?;
    Ok(())
}

/// What the run measured.
struct Summary {
    /// gradcheck of the op, first and second order.
    passed: bool,
    /// gradcheck of the detached rule: first order only, then both orders.
    detached_first: bool,
    detached_both: bool,
    /// Largest relative difference of f' and f'' from their closed forms.
    worst: f64,
    /// Training loss before and after, and the training accuracy.
    first_loss: f64,
    last_loss: f64,
    accuracy: f64,
}

/// Checks the op, shows its values and derivatives, and trains a network with it.
fn run(quick: bool) -> Result<Summary, Box<dyn Error>> {
    let b = 4.0;
    println!("A custom op: squareplus(x) = (x + sqrt(x^2 + {b})) / 2\n");

    // 1. gradcheck: the rule against central finite differences in f64, first order for
    //    every element and second order (a Hessian-vector product) along a random
    //    direction: 20 + 20 values for a [4, 5] input.
    let x = Tensor::randn([4, 5], DType::F64, 0).mul_scalar(3.0);
    let both = GradcheckOptions::default();
    let first_only = GradcheckOptions {
        second_order: false,
        ..GradcheckOptions::default()
    };
    let report = gradcheck(|v| squareplus(&v[0], b), std::slice::from_ref(&x), &both)?;
    println!("squareplus, first and second order:\n  {report}");
    let detached = |v: &[Var]| Var::apply(DetachedSquareplus { b }, &[&v[0]]);
    let detached_first = gradcheck(detached, std::slice::from_ref(&x), &first_only)?;
    let detached_both = gradcheck(detached, &[x], &both)?;
    println!(
        "the same op with its slope computed outside the tape (a detached tensor):\n  \
         first order only: {detached_first}\n  first and second order: {detached_both}"
    );
    if !report.passed {
        return Err("the gradient rule disagrees with finite differences".into());
    }

    // 2. Values and derivatives from the engine beside the closed forms.
    let points = [-1000.0, -2.0, 0.0, 2.0, 1000.0];
    let tape = Tape::new();
    let x = tape.var(Tensor::from_vec(points.to_vec(), [points.len()])?);
    let y = squareplus(&x, b)?;
    let dy = tape.grad(&y.sum_all()?, &[&x], true)?; // recorded: differentiable again
    let d1 = dy.first().ok_or("one gradient per input")?;
    let d2 = tape.grad(&d1.sum_all()?, &[&x], false)?;
    let (y, d1) = (y.value().to_vec::<f64>()?, d1.value().to_vec::<f64>()?);
    let d2 = d2
        .first()
        .ok_or("one gradient per input")?
        .value()
        .to_vec::<f64>()?;
    println!(
        "\n{:>8} {:>12} {:>12} {:>12} {:>12} {:>12}",
        "x", "f(x)", "f'(x)", "exact f'", "f''(x)", "exact f''"
    );
    let (mut worst, mut worst_at) = (0.0f64, String::new());
    for (i, &x) in points.iter().enumerate() {
        // Closed forms, written without cancellation: f' = f / s, f'' = b / (2 s^3).
        let s = (x * x + b).sqrt();
        let f = if x >= 0.0 {
            0.5 * (x + s)
        } else {
            0.5 * b / (s - x)
        };
        let (e1, e2) = (f / s, 0.5 * b / s.powi(3));
        let (g1, g2) = (
            d1.get(i).copied().unwrap_or(f64::NAN),
            d2.get(i).copied().unwrap_or(f64::NAN),
        );
        for (what, got, exact) in [("f'", g1, e1), ("f''", g2, e2)] {
            let rel = ((got - exact) / exact).abs();
            if rel > worst {
                (worst, worst_at) = (rel, format!("{what} at x = {x}"));
            }
        }
        println!(
            "{x:>8} {:>12.5e} {g1:>12.5e} {e1:>12.5e} {g2:>12.5e} {e2:>12.5e}",
            y.get(i).copied().unwrap_or(f64::NAN)
        );
    }
    println!("largest relative difference from the closed forms: {worst:.1e} ({worst_at})");
    let naive = 0.5 * (-1000.0f32 + (1000.0f32 * 1000.0 + 4.0).sqrt());
    let tape = Tape::new();
    let stable = squareplus(&tape.var(Tensor::from_vec(vec![-1000.0f32], [1])?), b)?
        .value()
        .to_vec::<f32>()?;
    let exact = 0.5 * b / ((1e6f64 + b).sqrt() + 1000.0);
    let stable = f64::from(stable.first().copied().unwrap_or(f32::NAN));
    println!(
        "f(-1000) in f32: the textbook formula gives {naive:e} ({:.1e} relative error), \
         the op {stable:.6e} ({:.1e}); exact {exact:.6e}",
        ((f64::from(naive) - exact) / exact).abs(),
        ((stable - exact) / exact).abs()
    );

    // 3. In a network: Linear -> squareplus -> Linear -> squareplus -> Linear on the
    //    two-moons data, trained with Adam.
    let steps = if quick { 30 } else { 300 };
    let moons = data::synthetic::moons(400, 0.1, 0)?.to_dtype(DType::F64);
    let labels = moons.labels().ok_or("moons has class labels")?;
    let linear = |i, o, seed| Linear::new(i, o, Init::he(), None, true, DType::F64, seed);
    let mut model = Sequential::new()
        .with(linear(2, 32, 1)?)
        .with(SquareplusLayer { b })
        .with(linear(32, 32, 2)?)
        .with(SquareplusLayer { b })
        .with(linear(32, 2, 3)?);
    let mut opt = Adam::new(0.01)?;
    let mut loss_at = Vec::new();
    let mut dot = String::new();
    for step in 0..steps {
        let tape = Tape::new();
        let mut ctx = ForwardCtx::new(&tape);
        let logits = model.forward(&mut ctx, &tape.constant(moons.features().clone()))?;
        let loss = cross_entropy(&logits, labels, Reduction::Mean)?;
        loss_at.push(loss.value().to_scalar::<f64>()?);
        if step == 0 {
            dot = tape.to_dot();
        }
        opt.step(&mut model, &ctx.param_grads(&loss.backward()?))?;
    }
    let tape = Tape::new();
    let logits = model.forward(
        &mut ForwardCtx::new(&tape),
        &tape.constant(moons.features().clone()),
    )?;
    let accuracy = metrics::accuracy(logits.value(), labels)?;
    let (first, last) = (
        loss_at.first().copied().unwrap_or(f64::NAN),
        loss_at.last().copied().unwrap_or(f64::NAN),
    );
    println!(
        "\nA 2-32-32-2 network with squareplus layers on two moons ({} points), Adam lr 0.01:",
        moons.len()
    );
    println!(
        "the recorded graph of one step has {} squareplus nodes (Graphviz: tape.to_dot()); \
         loss {first:.4} -> {last:.4} in {steps} steps, training accuracy {:.1}%.",
        dot.matches("squareplus").count(),
        100.0 * accuracy
    );
    let s = Summary {
        passed: report.passed,
        detached_first: detached_first.passed,
        detached_both: detached_both.passed,
        worst,
        first_loss: first,
        last_loss: last,
        accuracy,
    };
    println!(
        "\nThe op's gradient rule {} gradcheck to second order and matches the closed-form \
         derivatives to {:.0e} relative; the detached rule {} first order and {} second \
         order, which is what the second-order check is for. The network {} (training \
         accuracy {:.1}%).",
        if s.passed { "passed" } else { "failed" },
        s.worst,
        if s.detached_first { "passes" } else { "fails" },
        if s.detached_both { "passes" } else { "fails" },
        if s.last_loss < 0.5 * s.first_loss {
            "trained with it like with any built-in activation"
        } else {
            "did not train well in this run"
        },
        100.0 * s.accuracy
    );
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_quickly() -> Result<(), Box<dyn Error>> {
        let s = run(true)?;
        assert!(s.passed);
        assert!(s.worst < 1e-9, "closed forms off by {}", s.worst);
        // gradcheck tells the detached rule apart: right to first order only.
        assert!(s.detached_first && !s.detached_both);
        assert!(
            s.last_loss < 0.5 * s.first_loss,
            "{} -> {}",
            s.first_loss,
            s.last_loss
        );
        assert!(s.accuracy > 0.8, "accuracy {}", s.accuracy);
        Ok(())
    }
}
