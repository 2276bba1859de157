//! Gradient checking by central finite differences, in `f64`.
//!
//! First order: every element of every input is nudged by `±eps`, and the change in the
//! scalar objective is compared with the analytic gradient. Second order: the analytic
//! Hessian-vector product (the gradient of `<grad f, v>`, computed with
//! `create_graph = true`) is compared with the central difference of analytic gradients
//! along a random direction `v`.
//!
//! A function with a non-scalar output is checked through the scalar
//! `sum(f(x) * r)` for a fixed random `r`, which exercises every output element.

use rand::{RngExt, SeedableRng, rngs::Xoshiro256PlusPlus};

use crate::{DType, Error, Result, Tape, Tensor, Var};

/// Settings of [`gradcheck`].
#[derive(Clone, Debug)]
pub struct GradcheckOptions {
    /// Step of the first-order central differences.
    pub eps: f64,
    /// Step of the second-order differences (of gradients, along a direction).
    pub eps_second: f64,
    /// Absolute tolerance: an element passes if `|analytic - numeric| <= atol + rtol * |numeric|`.
    pub atol: f64,
    /// Relative tolerance (see `atol`).
    pub rtol: f64,
    /// Whether to check second order (Hessian-vector products) too.
    pub second_order: bool,
    /// Seed of the output weights `r` and the direction `v`.
    pub seed: u64,
}

impl Default for GradcheckOptions {
    /// `eps = 1e-6`, `eps_second = 1e-5`, `atol = 1e-7`, `rtol = 1e-6`, second order on.
    /// In f64, a central difference with `eps = 1e-6` is accurate to about `1e-10`
    /// relative (truncation `eps^2`, rounding `1e-16 / eps`), so these tolerances leave
    /// a wide margin for correct rules and none for wrong ones.
    fn default() -> Self {
        GradcheckOptions {
            eps: 1e-6,
            eps_second: 1e-5,
            atol: 1e-7,
            rtol: 1e-6,
            second_order: true,
            seed: 0x5eed,
        }
    }
}

/// Where the worst disagreement was found.
#[derive(Clone, Debug, PartialEq)]
pub struct Mismatch {
    /// 1 for the gradient, 2 for the Hessian-vector product.
    pub order: u8,
    /// Which input (index into the `inputs` slice).
    pub input: usize,
    /// Flat index of the element within that input.
    pub index: usize,
    /// The value from the gradient rules.
    pub analytic: f64,
    /// The value from finite differences.
    pub numeric: f64,
}

/// The result of [`gradcheck`].
#[derive(Clone, Debug)]
pub struct GradcheckReport {
    /// Largest `|analytic - numeric|` over every element checked (both orders).
    pub max_abs_error: f64,
    /// Largest `|analytic - numeric| / max(|analytic|, |numeric|)` over elements where
    /// either is above `atol`.
    pub max_rel_error: f64,
    /// The element furthest outside (or closest to) the tolerance.
    pub worst: Option<Mismatch>,
    /// Whether every element is within tolerance.
    pub passed: bool,
    /// Number of elements compared.
    pub checked: usize,
}

impl std::fmt::Display for GradcheckReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "gradcheck {}: {} values, max abs error {:.3e}, max rel error {:.3e}",
            if self.passed { "passed" } else { "FAILED" },
            self.checked,
            self.max_abs_error,
            self.max_rel_error
        )?;
        if let Some(w) = &self.worst {
            write!(
                f,
                "; worst: order {} input {} element {} (analytic {:e}, numeric {:e})",
                w.order, w.input, w.index, w.analytic, w.numeric
            )?;
        }
        Ok(())
    }
}

struct Tally {
    atol: f64,
    rtol: f64,
    max_abs: f64,
    max_rel: f64,
    worst_margin: f64,
    worst: Option<Mismatch>,
    checked: usize,
}

impl Tally {
    fn add(&mut self, m: Mismatch) {
        let abs = (m.analytic - m.numeric).abs();
        let abs = if abs.is_nan() { f64::INFINITY } else { abs };
        self.max_abs = self.max_abs.max(abs);
        let scale = m.analytic.abs().max(m.numeric.abs());
        if scale > self.atol {
            self.max_rel = self.max_rel.max(abs / scale);
        }
        // Margin > 1 means outside the tolerance.
        let margin = abs / (self.atol + self.rtol * m.numeric.abs());
        if self.worst.is_none() || margin > self.worst_margin {
            self.worst_margin = margin;
            self.worst = Some(m);
        }
        self.checked += 1;
    }
}

/// Checks the gradient rules of everything `f` does, at `inputs` (converted to `f64`).
///
/// `f` receives one Var per input and returns a Var of any shape. Returns a report; it
/// is an `Err` only when `f` itself fails.
///
/// ```
/// use gradflow_autograd::{gradcheck, GradcheckOptions, Tensor, DType};
/// let x = Tensor::randn(&[3, 4], DType::F64, 0);
/// let report = gradcheck(|v| v[0].tanh()?.mul(&v[0]), &[x], &GradcheckOptions::default())?;
/// assert!(report.passed, "{report}");
/// # Ok::<(), gradflow_autograd::Error>(())
/// ```
///
/// # Errors
/// Whatever `f` returns.
pub fn gradcheck<F>(f: F, inputs: &[Tensor], opts: &GradcheckOptions) -> Result<GradcheckReport>
where
    F: Fn(&[Var]) -> Result<Var>,
{
    if !(opts.eps > 0.0 && opts.eps_second > 0.0) {
        return Err(Error::invalid(
            "gradcheck",
            format!(
                "steps must be > 0 (got {} and {})",
                opts.eps, opts.eps_second
            ),
        ));
    }
    let inputs: Vec<Tensor> = inputs.iter().map(|t| t.to_dtype(DType::F64)).collect();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(opts.seed);

    // Output weights r, fixed for the whole check.
    let probe = f(&inputs
        .iter()
        .cloned()
        .map(Var::untracked)
        .collect::<Vec<_>>())?;
    let weights = random_like(probe.value(), &mut rng)?;
    let objective = |vars: &[Var]| -> Result<Var> {
        let out = f(vars)?;
        out.mul(&Var::untracked(weights.clone()))?.sum_all()
    };
    let value_at = |xs: &[Tensor]| -> Result<f64> {
        let vars: Vec<Var> = xs.iter().cloned().map(Var::untracked).collect();
        objective(&vars)?.value().to_scalar::<f64>()
    };
    let grads_at = |xs: &[Tensor], create_graph: bool| -> Result<(Tape, Vec<Var>, Vec<Var>)> {
        let tape = Tape::new();
        let vars: Vec<Var> = xs.iter().cloned().map(|t| tape.var(t)).collect();
        let refs: Vec<&Var> = vars.iter().collect();
        let l = objective(&vars)?;
        let g = tape.grad(&l, &refs, create_graph)?;
        Ok((tape, vars, g))
    };

    let mut tally = Tally {
        atol: opts.atol,
        rtol: opts.rtol,
        max_abs: 0.0,
        max_rel: 0.0,
        worst_margin: 0.0,
        worst: None,
        checked: 0,
    };

    let (_, _, analytic) = grads_at(&inputs, false)?;
    for (k, x) in inputs.iter().enumerate() {
        let a = analytic[k].value().to_vec::<f64>()?;
        for (i, &ai) in a.iter().enumerate() {
            let plus = nudge(&inputs, k, i, opts.eps)?;
            let minus = nudge(&inputs, k, i, -opts.eps)?;
            let numeric = (value_at(&plus)? - value_at(&minus)?) / (2.0 * opts.eps);
            tally.add(Mismatch {
                order: 1,
                input: k,
                index: i,
                analytic: ai,
                numeric,
            });
        }
        debug_assert_eq!(a.len(), x.numel());
    }

    if opts.second_order {
        let direction: Vec<Tensor> = inputs
            .iter()
            .map(|x| random_like(x, &mut rng))
            .collect::<Result<_>>()?;
        // Analytic: grad of <grad L, v>.
        let (tape, vars, g) = grads_at(&inputs, true)?;
        let mut dot: Option<Var> = None;
        for (gk, vk) in g.iter().zip(&direction) {
            let term = gk.mul(&Var::untracked(vk.clone()))?.sum_all()?;
            dot = Some(match dot {
                None => term,
                Some(d) => d.add(&term)?,
            });
        }
        let refs: Vec<&Var> = vars.iter().collect();
        let hv = match dot {
            Some(d) => tape.grad(&d, &refs, false)?,
            None => Vec::new(),
        };
        // Numeric: (grad L(x + e v) - grad L(x - e v)) / 2e.
        let shifted = |sign: f64| -> Result<Vec<Tensor>> {
            inputs
                .iter()
                .zip(&direction)
                .map(|(x, v)| x.add(&v.mul_scalar(sign * opts.eps_second)))
                .collect()
        };
        let (_, _, gp) = grads_at(&shifted(1.0)?, false)?;
        let (_, _, gm) = grads_at(&shifted(-1.0)?, false)?;
        for k in 0..inputs.len() {
            let a = hv[k].value().to_vec::<f64>()?;
            let p = gp[k].value().to_vec::<f64>()?;
            let m = gm[k].value().to_vec::<f64>()?;
            for i in 0..a.len() {
                let numeric = (p[i] - m[i]) / (2.0 * opts.eps_second);
                tally.add(Mismatch {
                    order: 2,
                    input: k,
                    index: i,
                    analytic: a[i],
                    numeric,
                });
            }
        }
    }

    let passed = tally.worst_margin <= 1.0;
    Ok(GradcheckReport {
        max_abs_error: tally.max_abs,
        max_rel_error: tally.max_rel,
        worst: tally.worst,
        passed,
        checked: tally.checked,
    })
}

fn random_like(t: &Tensor, rng: &mut Xoshiro256PlusPlus) -> Result<Tensor> {
    // Uniform in [0.5, 1.5] with random signs: no weight near zero hides an element.
    let values: Vec<f64> = (0..t.numel())
        .map(|_| {
            let m: f64 = rng.random_range(0.5..1.5);
            if rng.random::<bool>() { m } else { -m }
        })
        .collect();
    Tensor::from_vec(values, t.shape().clone())
}

fn nudge(inputs: &[Tensor], k: usize, i: usize, delta: f64) -> Result<Vec<Tensor>> {
    let mut out = inputs.to_vec();
    let slot = out[k].as_mut_slice::<f64>()?;
    slot[i] += delta;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BackwardCtx, InputGrads, Op};

    /// `x^2` with a rule that is right to first order but computes `2x` from a detached
    /// copy of `x`, so its own derivative is lost: the second-order check must catch it.
    struct SquareDetachedRule;
    impl Op for SquareDetachedRule {
        fn name(&self) -> &'static str {
            "square_detached"
        }
        fn forward(&mut self, inputs: &[&Tensor]) -> Result<Tensor> {
            inputs[0].mul(inputs[0])
        }
        fn backward(&self, ctx: &BackwardCtx<'_>, grad: &Var) -> Result<InputGrads> {
            let two_x = ctx.input(0).detach().mul_scalar(2.0)?;
            Ok([Some(grad.mul(&two_x)?)].into_iter().collect())
        }
    }

    /// `x^2` with a plainly wrong rule (`3x`).
    struct SquareWrongRule;
    impl Op for SquareWrongRule {
        fn name(&self) -> &'static str {
            "square_wrong"
        }
        fn forward(&mut self, inputs: &[&Tensor]) -> Result<Tensor> {
            inputs[0].mul(inputs[0])
        }
        fn backward(&self, ctx: &BackwardCtx<'_>, grad: &Var) -> Result<InputGrads> {
            Ok([Some(grad.mul(&ctx.input(0).mul_scalar(3.0)?)?)]
                .into_iter()
                .collect())
        }
    }

    #[test]
    fn gradcheck_catches_a_wrong_first_derivative() {
        let x = Tensor::randn([4], DType::F64, 1);
        let r = gradcheck(
            |v| Var::apply(SquareWrongRule, &[&v[0]]),
            &[x],
            &GradcheckOptions::default(),
        )
        .unwrap();
        assert!(!r.passed);
        assert_eq!(r.worst.as_ref().unwrap().order, 1);
        assert!(r.max_rel_error > 0.3, "{r}");
    }

    #[test]
    fn gradcheck_catches_a_rule_that_breaks_second_order() {
        let x = Tensor::randn([4], DType::F64, 2);
        let opts = GradcheckOptions::default();
        let first_only = GradcheckOptions {
            second_order: false,
            ..opts.clone()
        };
        let f = |v: &[Var]| Var::apply(SquareDetachedRule, &[&v[0]]);
        assert!(
            gradcheck(f, std::slice::from_ref(&x), &first_only)
                .unwrap()
                .passed
        );
        let r = gradcheck(f, &[x], &opts).unwrap();
        assert!(!r.passed);
        assert_eq!(r.worst.as_ref().unwrap().order, 2);
    }

    #[test]
    fn gradcheck_passes_a_composite_and_reports_the_count() {
        let x = Tensor::randn([2, 3], DType::F64, 3);
        let y = Tensor::randn([3], DType::F64, 4);
        let r = gradcheck(
            |v| v[0].mul(&v[1])?.exp(),
            &[x, y],
            &GradcheckOptions::default(),
        )
        .unwrap();
        assert!(r.passed, "{r}");
        // 9 first-order values and 9 second-order values.
        assert_eq!(r.checked, 18);
    }
}
