//! Property tests: random programs built from random ops and shapes pass gradcheck in
//! f64 (first and second order); gradients of broadcasting ops have their inputs'
//! shapes; a gradient is linear in the upstream gradient. A failing program is shrunk
//! by proptest to a minimal one and printed.

use gradflow_autograd::{DType, GradcheckOptions, Result, Shape, Tape, Tensor, Var, gradcheck};
use proptest::prelude::*;

/// One step of a program: an op applied to earlier values (indices are taken modulo the
/// number of values so far, so any shrunk program stays valid).
#[derive(Clone, Debug)]
enum Step {
    Unary(Unary, usize),
    Binary(Binary, usize, usize),
    /// Sum over one axis (0 or 1) with keepdim, so the result still broadcasts.
    Sum(usize, usize),
    /// `a @ b^T` (both [r, c] -> [r, r]), when shapes allow.
    MatmulT(usize, usize),
}

#[derive(Clone, Copy, Debug)]
enum Unary {
    Tanh,
    Sigmoid,
    Softplus,
    Gelu,
    Silu,
    Square,
    Scale,
    /// `exp(tanh(x))`: exp of a bounded input, no overflow.
    ExpTanh,
    Erf,
    Elu,
    /// `log(softplus(x) + 0.5)`: log of a positive input.
    LogPos,
}

#[derive(Clone, Copy, Debug)]
enum Binary {
    Add,
    Sub,
    Mul,
    /// `a / (softplus(b) + 0.5)`: a denominator away from zero.
    DivPos,
}

/// A program: input shapes (each broadcastable against [R, C]) and steps.
#[derive(Clone, Debug)]
struct Program {
    shapes: Vec<Vec<usize>>,
    steps: Vec<Step>,
}

impl Program {
    fn run(&self, inputs: &[Var]) -> Result<Var> {
        let mut values: Vec<Var> = inputs.to_vec();
        for step in &self.steps {
            let n = values.len();
            let v = match *step {
                Step::Unary(op, i) => {
                    let x = &values[i % n];
                    match op {
                        Unary::Tanh => x.tanh()?,
                        Unary::Sigmoid => x.sigmoid()?,
                        Unary::Softplus => x.softplus(1.0)?,
                        Unary::Gelu => x.gelu()?,
                        Unary::Silu => x.silu()?,
                        Unary::Square => x.powf(2.0)?,
                        Unary::Scale => x.mul_scalar(0.7)?.add_scalar(0.1)?,
                        Unary::ExpTanh => x.tanh()?.exp()?,
                        Unary::Erf => x.erf()?,
                        Unary::Elu => x.elu(1.0)?,
                        Unary::LogPos => x.softplus(1.0)?.add_scalar(0.5)?.log()?,
                    }
                }
                Step::Binary(op, i, j) => {
                    let (a, b) = (&values[i % n], &values[j % n]);
                    if Shape::broadcast("p", a.shape(), b.shape()).is_err() {
                        continue;
                    }
                    match op {
                        Binary::Add => a.add(b)?,
                        Binary::Sub => a.sub(b)?,
                        Binary::Mul => a.mul(b)?,
                        Binary::DivPos => a.div(&b.softplus(1.0)?.add_scalar(0.5)?)?,
                    }
                }
                Step::Sum(i, axis) => {
                    let x = &values[i % n];
                    if x.shape().ndim() == 0 {
                        continue;
                    }
                    x.sum(&[(axis % x.shape().ndim()) as isize], true)?
                }
                Step::MatmulT(i, j) => {
                    let (a, b) = (&values[i % n], &values[j % n]);
                    if a.shape().ndim() != 2 || b.shape().ndim() != 2 || a.dims()[1] != b.dims()[1]
                    {
                        continue;
                    }
                    a.matmul_transposed(b, false, true)?
                }
            };
            values.push(v);
        }
        // Output: the last value, reduced so the whole program feeds it.
        let mut out = values[values.len() - 1].clone();
        for v in &values[..values.len() - 1] {
            out = out.add(&v.sum_all()?.mul_scalar(0.1)?)?;
        }
        Ok(out)
    }

    fn inputs(&self, seed: u64) -> Vec<Tensor> {
        self.shapes
            .iter()
            .enumerate()
            .map(|(k, s)| Tensor::randn(s.as_slice(), DType::F64, seed + k as u64))
            .collect()
    }
}

fn unary() -> impl Strategy<Value = Unary> {
    prop_oneof![
        Just(Unary::Tanh),
        Just(Unary::Sigmoid),
        Just(Unary::Softplus),
        Just(Unary::Gelu),
        Just(Unary::Silu),
        Just(Unary::Square),
        Just(Unary::Scale),
        Just(Unary::ExpTanh),
        Just(Unary::Erf),
        Just(Unary::Elu),
        Just(Unary::LogPos),
    ]
}

fn binary() -> impl Strategy<Value = Binary> {
    prop_oneof![
        Just(Binary::Add),
        Just(Binary::Sub),
        Just(Binary::Mul),
        Just(Binary::DivPos)
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (unary(), 0..8usize).prop_map(|(op, i)| Step::Unary(op, i)),
        3 => (binary(), 0..8usize, 0..8usize).prop_map(|(op, i, j)| Step::Binary(op, i, j)),
        1 => (0..8usize, 0..2usize).prop_map(|(i, a)| Step::Sum(i, a)),
        1 => (0..8usize, 0..8usize).prop_map(|(i, j)| Step::MatmulT(i, j)),
    ]
}

/// Shapes that broadcast against [r, c]: the full shape, a row, a column, a vector, a
/// scalar.
fn shape(r: usize, c: usize) -> impl Strategy<Value = Vec<usize>> {
    prop_oneof![
        Just(vec![r, c]),
        Just(vec![1, c]),
        Just(vec![r, 1]),
        Just(vec![c]),
        Just(vec![])
    ]
}

fn program() -> impl Strategy<Value = Program> {
    (1..4usize, 1..4usize).prop_flat_map(|(r, c)| {
        (
            prop::collection::vec(shape(r, c), 1..4),
            prop::collection::vec(step(), 1..8),
        )
            .prop_map(|(shapes, steps)| Program { shapes, steps })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Every random program's gradient and Hessian-vector product agree with finite
    /// differences in f64.
    #[test]
    fn random_programs_pass_gradcheck(p in program(), seed in 0u64..1000) {
        let inputs = p.inputs(seed);
        let report = gradcheck(|v| p.run(v), &inputs, &GradcheckOptions::default()).unwrap();
        prop_assert!(report.passed, "{report}\nprogram: {p:#?}");
    }

    /// The gradient w.r.t. each input of a broadcasting op has that input's shape.
    #[test]
    fn gradients_of_broadcast_ops_have_their_inputs_shapes(
        a in (1..4usize, 1..4usize).prop_flat_map(|(r, c)| (shape(r, c), shape(r, c))),
        op in binary(),
    ) {
        let tape = Tape::new();
        let x = tape.var(Tensor::randn(a.0.as_slice(), DType::F64, 1));
        let y = tape.var(Tensor::randn(a.1.as_slice(), DType::F64, 2));
        let out = match op {
            Binary::Add => x.add(&y),
            Binary::Sub => x.sub(&y),
            Binary::Mul => x.mul(&y),
            Binary::DivPos => x.div(&y.exp().unwrap()),
        }
        .unwrap();
        let g = tape.grad(&out.sum_all().unwrap(), &[&x, &y], false).unwrap();
        prop_assert_eq!(g[0].shape(), x.shape());
        prop_assert_eq!(g[1].shape(), y.shape());
    }

    /// vjp(out, a u + b v) = a vjp(out, u) + b vjp(out, v).
    #[test]
    fn the_gradient_is_linear_in_the_upstream_gradient(p in program(), a in -2.0f64..2.0, b in -2.0f64..2.0) {
        let inputs = p.inputs(7);
        let vjp = |cot: &dyn Fn(&Shape) -> Tensor| -> Vec<Vec<f64>> {
            let tape = Tape::new();
            let vars: Vec<Var> = inputs.iter().cloned().map(|t| tape.var(t)).collect();
            let out = p.run(&vars).unwrap();
            let c = Var::untracked(cot(out.shape()));
            let refs: Vec<&Var> = vars.iter().collect();
            tape.vjp(&out, &c, &refs, false).unwrap().iter().map(|g| g.value().to_f64_vec()).collect()
        };
        let u = |s: &Shape| Tensor::randn(s.clone(), DType::F64, 11);
        let v = |s: &Shape| Tensor::randn(s.clone(), DType::F64, 12);
        let mixed = vjp(&|s| u(s).mul_scalar(a).add(&v(s).mul_scalar(b)).unwrap());
        let (gu, gv) = (vjp(&u), vjp(&v));
        for ((m, x), y) in mixed.iter().zip(&gu).zip(&gv) {
            for ((m, x), y) in m.iter().zip(x).zip(y) {
                let want = a * x + b * y;
                prop_assert!((m - want).abs() <= 1e-10 * (1.0 + want.abs()), "{m} vs {want}");
            }
        }
    }
}
