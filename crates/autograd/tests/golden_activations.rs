//! Every activation against golden values from PyTorch (or mpmath where PyTorch is not
//! exact): value, first and second derivative, computed through the engine's public API
//! (`Activation::from_str`, `Tape::grad` with `create_graph`, then `grad` again), in f64
//! and f32. Softmax and log-softmax: value, a VJP and a Hessian-vector product along each
//! axis of a `[2, 3, 4]` tensor.
//!
//! The numbers are in `tests/golden/activations.json`, written by
//! `tests/golden/gen_activations.py` (see its header for the references used); this test
//! needs no Python.
//!
//! - f64: within `1e-12` relative or `1e-15` absolute of the reference.
//! - f32: the reference is the exact function at `x32 = f32(x)` (rounded to f64); the
//!   error is measured in units of the f32 ulp of the reference (below f32's smallest
//!   normal, in units of the smallest subnormal, `2^-149`), and held to the per-function
//!   budgets in [`BUDGETS`]. Softmax and log-softmax errors are normwise: in ulps of the
//!   largest reference magnitude in the tensor (their gradients sum to zero along the
//!   axis, so single components cancel, in PyTorch's float32 as in ours).
//!
//! `cargo test -p gradflow-autograd --test golden_activations -- --nocapture` prints the
//! table of worst ulps that `docs/activation-accuracy.md` reproduces.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::str::FromStr;

use gradflow_autograd::{Activation, DType, Tape, Tensor, Var};
use serde::{Deserialize, Deserializer};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Worst f32 error allowed, in ulps of the reference: value, f', f'' per activation (by
/// its spec string); softmax rows: value, VJP, HVP. Each is the measured worst case plus
/// at least a quarter ulp, rounded up to a half ulp (0 where the engine is exact); see
/// `docs/activation-accuracy.md`. The results go through the platform's `exp`, `tanh`
/// and `expm1` (libm's `erfc`), so another C library may need a re-measurement.
const BUDGETS: &[(&str, [f64; 3])] = &[
    ("identity", [0.0, 0.0, 0.0]),
    ("sigmoid", [2.0, 3.0, 2.5]),
    ("tanh", [1.0, 3.5, 4.0]),
    ("relu", [0.0, 0.0, 0.0]),
    ("leaky_relu:0.01", [1.5, 0.5, 0.0]),
    ("leaky_relu:0.2", [1.0, 0.5, 0.0]),
    ("prelu:0.25", [0.0, 0.0, 0.0]),
    ("elu:1.0", [1.0, 1.0, 1.0]),
    ("elu:0.5", [1.0, 1.0, 1.0]),
    ("selu", [1.5, 1.5, 1.5]),
    ("celu:1.0", [1.0, 1.0, 1.0]),
    ("celu:2.0", [1.0, 1.0, 1.0]),
    ("gelu", [2.0, 2.5, 3.0]),
    ("gelu_tanh", [1.5, 3.5, 3.5]),
    ("silu", [3.0, 3.5, 4.5]),
    ("swish:1.0", [3.0, 3.5, 4.5]),
    ("swish:1.5", [2.0, 4.0, 4.5]),
    ("mish", [2.5, 3.0, 5.5]),
    ("softplus:1.0", [1.0, 2.0, 3.0]),
    ("softplus:2.0", [1.0, 2.5, 3.5]),
    ("softsign", [1.0, 1.5, 2.5]),
    ("hardtanh", [0.0, 0.0, 0.0]),
    ("hardsigmoid", [1.0, 1.0, 0.0]),
    ("hardswish", [1.5, 1.0, 1.0]),
    ("log_sigmoid", [1.0, 2.0, 3.0]),
    ("relu6", [0.0, 0.0, 0.0]),
    ("softmax", [1.5, 2.0, 3.0]),
    ("log_softmax", [1.0, 1.5, 2.5]),
];

/// f64: the error allowed is `max(F64_RTOL * |reference|, F64_ATOL)`.
const F64_RTOL: f64 = 1e-12;
const F64_ATOL: f64 = 1e-15;

const POINTWISE_ORDERS: [&str; 3] = ["value", "f'", "f''"];
const VECTOR_ORDERS: [&str; 3] = ["value", "vjp", "hvp"];

#[derive(Deserialize)]
struct Golden {
    pointwise: Vec<PointwiseCase>,
    vector: Vec<VectorCase>,
}

#[derive(Deserialize)]
struct PointwiseCase {
    activation: String,
    f64: PointwiseSamples,
    f32: PointwiseSamples,
}

#[derive(Deserialize)]
struct PointwiseSamples {
    #[serde(deserialize_with = "numbers")]
    x: Vec<f64>,
    #[serde(deserialize_with = "numbers")]
    value: Vec<f64>,
    #[serde(deserialize_with = "numbers")]
    d1: Vec<f64>,
    #[serde(deserialize_with = "numbers")]
    d2: Vec<f64>,
}

#[derive(Deserialize)]
struct VectorCase {
    activation: String,
    input: String,
    shape: Vec<usize>,
    f64: VectorSamples,
    f32: VectorSamples,
}

#[derive(Deserialize)]
struct VectorSamples {
    #[serde(deserialize_with = "numbers")]
    x: Vec<f64>,
    #[serde(deserialize_with = "numbers")]
    cotangent: Vec<f64>,
    #[serde(deserialize_with = "numbers")]
    direction: Vec<f64>,
    #[serde(deserialize_with = "numbers")]
    value: Vec<f64>,
    #[serde(deserialize_with = "numbers")]
    vjp: Vec<f64>,
    #[serde(deserialize_with = "numbers")]
    hvp: Vec<f64>,
}

/// A JSON number, or one of the strings `"inf"`, `"-inf"`, `"nan"`.
#[derive(Deserialize)]
#[serde(untagged)]
enum Number {
    Finite(f64),
    Named(String),
}

fn numbers<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
    Vec::<Number>::deserialize(d)?
        .into_iter()
        .map(|n| match n {
            Number::Finite(v) => Ok(v),
            Number::Named(s) => match s.as_str() {
                "inf" => Ok(f64::INFINITY),
                "-inf" => Ok(f64::NEG_INFINITY),
                "nan" => Ok(f64::NAN),
                other => Err(serde::de::Error::custom(format!(
                    "expected a number, \"inf\", \"-inf\" or \"nan\", got {other:?}"
                ))),
            },
        })
        .collect()
}

fn golden() -> Result<Golden, serde_json::Error> {
    serde_json::from_str(include_str!("golden/activations.json"))
}

fn budget(name: &str) -> Option<[f64; 3]> {
    BUDGETS.iter().find(|(n, _)| *n == name).map(|(_, b)| *b)
}

/// The f32 ulp of `r`: the spacing of f32 numbers at `|r|` (`2^-149` below the smallest
/// normal).
fn ulp32(r: f64) -> f64 {
    let a = r.abs() as f32;
    if a < f32::MIN_POSITIVE {
        f64::from(f32::from_bits(1))
    } else {
        // The value of the lowest mantissa bit: the exponent of |r| minus 23.
        f64::from(f32::from_bits(a.to_bits() & 0x7f80_0000)) * 2f64.powi(-23)
    }
}

/// Error of `ours` in units of `unit`; non-finite references must be matched exactly.
fn ulps(ours: f64, reference: f64, unit: f64) -> f64 {
    if !reference.is_finite() || !ours.is_finite() {
        let same = (reference.is_nan() && ours.is_nan()) || ours == reference;
        return if same { 0.0 } else { f64::INFINITY };
    }
    (ours - reference).abs() / unit
}

/// Whether an f64 result is within `1e-12` relative or `1e-15` absolute.
fn f64_ok(ours: f64, reference: f64) -> bool {
    if !reference.is_finite() {
        return (reference.is_nan() && ours.is_nan()) || ours == reference;
    }
    (ours - reference).abs() <= (F64_RTOL * reference.abs()).max(F64_ATOL)
}

/// Value, f' and f'' at every element of `x`, through the engine: the forward, a
/// recorded backward of the sum, and the backward of the sum of that.
fn engine_pointwise(act: Activation, x: Tensor) -> gradflow_autograd::Result<[Vec<f64>; 3]> {
    let tape = Tape::new();
    let xv = tape.var(x);
    let y = act.apply(&xv)?;
    let d1 = only(tape.grad(&y.sum_all()?, &[&xv], true)?)?;
    let d2 = only(tape.grad(&d1.sum_all()?, &[&xv], false)?)?;
    Ok([
        y.value().to_f64_vec(),
        d1.value().to_f64_vec(),
        d2.value().to_f64_vec(),
    ])
}

/// Value, the VJP with cotangent `c` (recorded), and the gradient of `sum(v * vjp)`.
fn engine_vector(
    act: Activation,
    x: Tensor,
    c: Tensor,
    v: Tensor,
) -> gradflow_autograd::Result<[Vec<f64>; 3]> {
    let tape = Tape::new();
    let xv = tape.var(x);
    let y = act.apply(&xv)?;
    let g = only(tape.vjp(&y, &Var::untracked(c), &[&xv], true)?)?;
    let h = only(tape.grad(&g.mul(&Var::untracked(v))?.sum_all()?, &[&xv], false)?)?;
    Ok([
        y.value().to_f64_vec(),
        g.value().to_f64_vec(),
        h.value().to_f64_vec(),
    ])
}

fn only(grads: Vec<Var>) -> gradflow_autograd::Result<Var> {
    grads
        .into_iter()
        .next()
        .ok_or_else(|| gradflow_autograd::Error::invalid("golden test", "no gradient returned"))
}

fn tensor(values: &[f64], shape: &[usize], dtype: DType) -> gradflow_autograd::Result<Tensor> {
    let t = Tensor::from_vec(values.to_vec(), shape.to_vec())?;
    Ok(t.to_dtype(dtype))
}

/// The worst error seen for one activation and order, and where.
#[derive(Clone, Copy, Default)]
struct Worst {
    error: f64,
    x: f64,
}

impl Worst {
    fn update(&mut self, error: f64, x: f64) {
        if error > self.error || error.is_nan() {
            *self = Worst { error, x };
        }
    }
}

#[derive(Default)]
struct Report {
    /// Per activation (spec string), per order: worst f32 error in ulps, and worst f64
    /// error as a fraction of the tolerance.
    rows: BTreeMap<String, ([Worst; 3], [Worst; 3])>,
    order: Vec<String>,
    failures: Vec<String>,
}

impl Report {
    fn row(&mut self, name: &str) -> &mut ([Worst; 3], [Worst; 3]) {
        if !self.rows.contains_key(name) {
            self.order.push(name.to_string());
        }
        self.rows.entry(name.to_string()).or_default()
    }

    /// A markdown table: the worst f32 ulps (and where), then the worst f64 error as a
    /// fraction of its tolerance.
    fn table(&self, orders: [&str; 3], at: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "| activation | f32 {0} | f32 {1} | f32 {2} | f64 {0} | f64 {1} | f64 {2} |",
            orders[0], orders[1], orders[2]
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|");
        for name in &self.order {
            if let Some((w32, w64)) = self.rows.get(name) {
                let ulps = |w: &Worst| {
                    if w.error == 0.0 {
                        "0".to_string()
                    } else {
                        // The f32 inputs print as f32 (`-7.3`, not `-7.300000190734863`).
                        format!("{:.2} ({at}{})", w.error, w.x as f32)
                    }
                };
                let share = |w: &Worst| format!("{:.1e}", w.error);
                let _ = writeln!(
                    out,
                    "| {name} | {} | {} | {} | {} | {} | {} |",
                    ulps(&w32[0]),
                    ulps(&w32[1]),
                    ulps(&w32[2]),
                    share(&w64[0]),
                    share(&w64[1]),
                    share(&w64[2]),
                );
            }
        }
        out
    }
}

/// The f64 error of `ours` as a fraction of the tolerance (at most 1 to pass).
fn f64_share(ours: f64, reference: f64) -> f64 {
    if !reference.is_finite() || !ours.is_finite() {
        return if f64_ok(ours, reference) {
            0.0
        } else {
            f64::INFINITY
        };
    }
    (ours - reference).abs() / (F64_RTOL * reference.abs()).max(F64_ATOL)
}

#[test]
fn every_activation_matches_the_golden_values_in_f64_and_f32() -> TestResult {
    let golden = golden()?;
    let mut report = Report::default();
    let mut seen = Vec::new();
    for case in &golden.pointwise {
        let act = Activation::from_str(&case.activation)?;
        seen.push(act.name());
        let Some(budget) = budget(&case.activation) else {
            report
                .failures
                .push(format!("{}: no ulp budget", case.activation));
            continue;
        };

        // f64: within 1e-12 relative or 1e-15 absolute.
        let s = &case.f64;
        let ours = engine_pointwise(act, tensor(&s.x, &[s.x.len()], DType::F64)?)?;
        let refs = [&s.value, &s.d1, &s.d2];
        for k in 0..3 {
            for ((&x, &o), &r) in s.x.iter().zip(&ours[k]).zip(refs[k]) {
                report.row(&case.activation).1[k].update(f64_share(o, r), x);
                if !f64_ok(o, r) {
                    report.failures.push(format!(
                        "{} f64 {} at x = {x:e}: ours {o:e}, reference {r:e} (|diff| {:e})",
                        case.activation,
                        POINTWISE_ORDERS[k],
                        (o - r).abs()
                    ));
                }
            }
        }

        // f32: ulps of the exact value at x32, against the budget.
        let s = &case.f32;
        let ours = engine_pointwise(act, tensor(&s.x, &[s.x.len()], DType::F32)?)?;
        let refs = [&s.value, &s.d1, &s.d2];
        for k in 0..3 {
            for ((&x, &o), &r) in s.x.iter().zip(&ours[k]).zip(refs[k]) {
                let e = ulps(o, r, ulp32(r));
                report.row(&case.activation).0[k].update(e, x);
                if e.is_nan() || e > budget[k] {
                    report.failures.push(format!(
                        "{} f32 {} at x = {x:e}: ours {o:e}, reference {r:e}, {e:.2} ulps \
                         (budget {})",
                        case.activation, POINTWISE_ORDERS[k], budget[k]
                    ));
                }
            }
        }
    }

    // Every pointwise activation has golden values.
    for act in Activation::all().filter(Activation::is_pointwise) {
        if !seen.contains(&act.name()) {
            report
                .failures
                .push(format!("{}: no golden values", act.name()));
        }
    }

    println!(
        "worst error per activation: f32 in ulps of the reference (and the x where it \
         occurs), f64 as a fraction of the tolerance max(1e-12 |ref|, 1e-15):\n\n{}",
        report.table(POINTWISE_ORDERS, "x=")
    );
    assert!(
        report.failures.is_empty(),
        "{} golden mismatches:\n{}",
        report.failures.len(),
        report.failures.join("\n")
    );
    Ok(())
}

#[test]
fn softmax_and_log_softmax_match_the_golden_values_along_every_axis() -> TestResult {
    let golden = golden()?;
    let mut report = Report::default();
    let mut axes_seen = Vec::new();
    for case in &golden.vector {
        let act = Activation::from_str(&case.activation)?;
        let axis = match act {
            Activation::Softmax { axis } | Activation::LogSoftmax { axis } => axis,
            _ => return Err(format!("{} is not softmax", case.activation).into()),
        };
        let axis = usize::try_from(axis)?;
        axes_seen.push((act.name(), axis));
        let Some(budget) = budget(act.name()) else {
            report
                .failures
                .push(format!("{}: no ulp budget", act.name()));
            continue;
        };
        let label = format!("{} ({})", case.activation, case.input);

        let s = &case.f64;
        let ours = engine_vector(
            act,
            tensor(&s.x, &case.shape, DType::F64)?,
            tensor(&s.cotangent, &case.shape, DType::F64)?,
            tensor(&s.direction, &case.shape, DType::F64)?,
        )?;
        let refs = [&s.value, &s.vjp, &s.hvp];
        for k in 0..3 {
            for (i, (&o, &r)) in ours[k].iter().zip(refs[k]).enumerate() {
                report.row(act.name()).1[k].update(f64_share(o, r), i as f64);
                if !f64_ok(o, r) {
                    report.failures.push(format!(
                        "{label} f64 {} at element {i} (x = {:e}): ours {o:e}, reference {r:e}",
                        VECTOR_ORDERS[k], s.x[i]
                    ));
                }
            }
        }

        let s = &case.f32;
        let ours = engine_vector(
            act,
            tensor(&s.x, &case.shape, DType::F32)?,
            tensor(&s.cotangent, &case.shape, DType::F32)?,
            tensor(&s.direction, &case.shape, DType::F32)?,
        )?;
        let refs = [&s.value, &s.vjp, &s.hvp];
        for k in 0..3 {
            // Normwise: in ulps of the largest |reference| in the tensor.
            let m = refs[k].iter().fold(0.0f64, |m, r| m.max(r.abs()));
            for (i, (&o, &r)) in ours[k].iter().zip(refs[k]).enumerate() {
                let e = ulps(o, r, ulp32(m));
                report.row(act.name()).0[k].update(e, i as f64);
                if e.is_nan() || e > budget[k] {
                    report.failures.push(format!(
                        "{label} f32 {} at element {i} (x = {:e}): ours {o:e}, reference {r:e}, \
                         {e:.2} ulps of the largest |reference| {m:e} (budget {})",
                        VECTOR_ORDERS[k], s.x[i], budget[k]
                    ));
                }
            }
        }
    }
    for name in ["softmax", "log_softmax"] {
        for axis in 0..3 {
            if !axes_seen.contains(&(name, axis)) {
                report
                    .failures
                    .push(format!("{name} axis {axis}: no golden values"));
            }
        }
    }
    println!(
        "worst error: f32 in ulps of the largest |reference| in the tensor (and the flat \
         index where it occurs), f64 as a fraction of the tolerance:\n\n{}",
        report.table(VECTOR_ORDERS, "at ")
    );
    assert!(
        report.failures.is_empty(),
        "{} golden mismatches:\n{}",
        report.failures.len(),
        report.failures.join("\n")
    );
    Ok(())
}
