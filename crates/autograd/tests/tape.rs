//! The tape's behaviour through the public API: accumulation, detach, no-grad scopes,
//! hooks, pruning, release of saved values, several tapes and threads, errors, export.
#![expect(
    clippy::unwrap_used,
    reason = "in tests a failed unwrap is a failed test"
)]

use std::cell::Cell;
use std::rc::Rc;

use gradflow_autograd::{
    BackwardCtx, DType, Error, InputGrads, NodeKind, Op, Result, Tape, Tensor, Var,
};

fn t64(values: &[f64], shape: &[usize]) -> Tensor {
    Tensor::from_vec(values.to_vec(), shape).unwrap()
}

#[test]
fn a_var_used_in_several_places_gets_the_sum_of_its_gradients() {
    let tape = Tape::new();
    let x = tape.var(t64(&[2.0], &[1]));
    // y = x * x + 3 x + exp(x): dy/dx = 2x + 3 + e^x
    let y = x
        .mul(&x)
        .unwrap()
        .add(&x.mul_scalar(3.0).unwrap())
        .unwrap()
        .add(&x.exp().unwrap())
        .unwrap()
        .sum_all()
        .unwrap();
    let g = y.backward().unwrap();
    let want = 2.0 * 2.0 + 3.0 + 2.0f64.exp();
    assert_eq!(g.get(&x).unwrap().to_vec::<f64>().unwrap(), vec![want]);
}

#[test]
fn detach_stops_the_gradient() {
    let tape = Tape::new();
    let x = tape.var(t64(&[3.0], &[1]));
    let y = x.mul(&x.detach()).unwrap().sum_all().unwrap();
    let g = y.backward().unwrap();
    // Only the non-detached factor contributes: d/dx (x * c) = c = 3.
    assert_eq!(g.get(&x).unwrap().to_vec::<f64>().unwrap(), vec![3.0]);
}

#[test]
fn no_grad_records_nothing_and_its_results_are_constants() {
    let tape = Tape::new();
    let x = tape.var(t64(&[1.0, 2.0], &[2]));
    let before = tape.len();
    let y = tape.no_grad(|| x.exp().unwrap().mul(&x).unwrap());
    assert_eq!(tape.len(), before);
    assert!(!y.requires_grad());
    assert!(!tape.is_no_grad());
    // Used later, it is a constant: the gradient flows only through the tracked factor.
    let z = y.mul(&x).unwrap().sum_all().unwrap();
    let g = z.backward().unwrap();
    let want: Vec<f64> = [1.0f64, 2.0].iter().map(|v| v.exp() * v).collect();
    assert_eq!(g.get(&x).unwrap().to_vec::<f64>().unwrap(), want);
}

#[test]
fn hooks_observe_the_complete_gradient_and_can_replace_it() {
    let tape = Tape::new();
    let x = tape.var(t64(&[1.0, -1.0], &[2]));
    let h = x.mul_scalar(2.0).unwrap();
    let seen = Rc::new(Cell::new(0.0));
    let s = seen.clone();
    h.register_hook(move |g| {
        s.set(g.to_f64_vec().iter().sum());
        None
    })
    .unwrap();
    // h is used twice: the hook sees the sum of both uses, 3 + 4 per element.
    let y = h
        .mul_scalar(3.0)
        .unwrap()
        .add(&h.mul_scalar(4.0).unwrap())
        .unwrap()
        .sum_all()
        .unwrap();
    let g = y.backward_retain().unwrap();
    assert_eq!(seen.get(), 14.0);
    assert_eq!(
        g.get(&x).unwrap().to_vec::<f64>().unwrap(),
        vec![14.0, 14.0]
    );

    // A hook that zeroes the gradient stops it.
    h.register_hook(|g| Some(g.zeros_like())).unwrap();
    let g = y.backward_retain().unwrap();
    assert_eq!(g.get(&x).unwrap().to_vec::<f64>().unwrap(), vec![0.0, 0.0]);
}

#[test]
fn a_hook_that_changes_the_shape_is_an_error() {
    let tape = Tape::new();
    let x = tape.var(t64(&[1.0, 2.0], &[2]));
    let h = x.exp().unwrap();
    h.register_hook(|_| Some(Tensor::zeros([3], DType::F64)))
        .unwrap();
    let err = h.sum_all().unwrap().backward().unwrap_err();
    assert!(
        matches!(err, Error::BadGradient { op: "hook", .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("replaced a [2] f64 gradient with a [3] f64 one"),
        "{err}"
    );
}

#[test]
fn a_hook_on_a_constant_is_refused() {
    let tape = Tape::new();
    let c = tape.constant(t64(&[1.0], &[1]));
    assert!(c.register_hook(|_| None).is_err());
}

/// An identity op that counts how often its gradient rule runs.
struct Counted(Rc<Cell<usize>>);
impl Op for Counted {
    fn name(&self) -> &'static str {
        "counted"
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Result<Tensor> {
        Ok(inputs[0].clone())
    }
    fn backward(&self, _ctx: &BackwardCtx<'_>, grad: &Var) -> Result<InputGrads> {
        self.0.set(self.0.get() + 1);
        Ok([Some(grad.clone())].into_iter().collect())
    }
}

#[test]
fn rules_no_requested_gradient_needs_are_pruned() {
    let calls = Rc::new(Cell::new(0));
    let tape = Tape::new();
    let x = tape.var(t64(&[1.0], &[1]));
    let w = tape.var(t64(&[2.0], &[1]));
    let branch = Var::apply(Counted(calls.clone()), &[&w]).unwrap();
    let y = x.mul(&x).unwrap().add(&branch).unwrap().sum_all().unwrap();
    let g = tape.grad(&y, &[&x], false).unwrap();
    assert_eq!(g[0].value().to_vec::<f64>().unwrap(), vec![2.0]);
    assert_eq!(
        calls.get(),
        0,
        "the branch through w was differentiated for nothing"
    );
    let y2 = x.add(&branch).unwrap().sum_all().unwrap();
    tape.grad(&y2, &[&w], false).unwrap();
    assert_eq!(calls.get(), 1);
}

#[test]
fn backward_releases_saved_values_unless_retained() {
    let tape = Tape::new();
    let x = tape.var(t64(&[0.5, 1.5], &[2]));
    let y = x.tanh().unwrap().exp().unwrap().sum_all().unwrap();
    let held = tape.live_values();
    y.backward().unwrap();
    assert!(
        tape.live_values() < held,
        "saved values were kept after backward"
    );
    let err = y.backward().unwrap_err();
    assert!(matches!(err, Error::GraphReleased { .. }), "{err}");
    assert!(err.to_string().contains("backward_retain"), "{err}");

    let tape = Tape::new();
    let x = tape.var(t64(&[0.5, 1.5], &[2]));
    let y = x.tanh().unwrap().exp().unwrap().sum_all().unwrap();
    let a = y.backward_retain().unwrap();
    let b = y.backward().unwrap();
    assert_eq!(
        a.get(&x).unwrap().to_f64_vec(),
        b.get(&x).unwrap().to_f64_vec()
    );

    // Tape::grad releases too, and grad_retain keeps the graph for the next pass.
    let tape = Tape::new();
    let x = tape.var(t64(&[0.5, 1.5], &[2]));
    let y = x.tanh().unwrap().exp().unwrap().sum_all().unwrap();
    let a = tape.grad_retain(&y, &[&x]).unwrap();
    let b = tape.grad(&y, &[&x], false).unwrap();
    assert_eq!(a[0].value().to_f64_vec(), b[0].value().to_f64_vec());
    let err = tape.grad(&y, &[&x], false).unwrap_err();
    assert!(matches!(err, Error::GraphReleased { .. }), "{err}");
}

#[test]
fn backward_of_a_non_scalar_names_the_shape() {
    let tape = Tape::new();
    let x = tape.var(t64(&[1.0, 2.0], &[2]));
    let err = x.exp().unwrap().backward().unwrap_err();
    assert!(
        err.to_string()
            .starts_with("backward: the output must be a scalar (one element) but has shape [2]"),
        "{err}"
    );
}

#[test]
fn vars_of_two_tapes_cannot_be_combined() {
    let a = Tape::new();
    let b = Tape::new();
    let x = a.var(t64(&[1.0], &[1]));
    let y = b.var(t64(&[1.0], &[1]));
    let err = x.add(&y).unwrap_err();
    assert_eq!(
        err,
        Error::TapeMismatch {
            op: "add",
            lhs: a.id(),
            rhs: b.id()
        }
    );
    // Gradients asked of the wrong tape are refused too.
    let z = x.exp().unwrap().sum_all().unwrap();
    assert!(b.grad(&z, &[&y], false).is_err());
    assert!(a.grad(&z, &[&y], false).is_err());
}

#[test]
fn grad_with_respect_to_a_constant_is_refused_and_an_unused_input_gets_zeros() {
    let tape = Tape::new();
    let x = tape.var(t64(&[1.0, 2.0], &[2]));
    let c = tape.constant(t64(&[3.0, 4.0], &[2]));
    let unused = tape.var(t64(&[5.0], &[1]));
    let y = x.mul(&c).unwrap().sum_all().unwrap();
    let err = tape.grad(&y, &[&c], false).unwrap_err().to_string();
    assert!(err.contains("input 0 ([2] f64) needs no gradient"), "{err}");
    let g = tape.grad(&y, &[&x, &unused], false).unwrap();
    assert_eq!(g[0].value().to_f64_vec(), vec![3.0, 4.0]);
    assert_eq!(g[1].value().to_f64_vec(), vec![0.0]);
}

#[test]
fn second_and_third_derivatives_of_a_polynomial_are_exact() {
    let tape = Tape::new();
    let x = tape.var(Tensor::scalar(2.0f64));
    // y = x^4 - 3 x^2: y' = 4x^3 - 6x = 20, y'' = 12x^2 - 6 = 42, y''' = 24x = 48
    let y = x
        .powf(4.0)
        .unwrap()
        .sub(&x.powf(2.0).unwrap().mul_scalar(3.0).unwrap())
        .unwrap();
    let d1 = tape.grad(&y, &[&x], true).unwrap().remove(0);
    let d2 = tape.grad(&d1, &[&x], true).unwrap().remove(0);
    let d3 = tape.grad(&d2, &[&x], false).unwrap().remove(0);
    assert_eq!(d1.value().to_scalar::<f64>().unwrap(), 20.0);
    assert_eq!(d2.value().to_scalar::<f64>().unwrap(), 42.0);
    assert_eq!(d3.value().to_scalar::<f64>().unwrap(), 48.0);
}

#[test]
fn hessian_vector_product_of_a_quadratic_form() {
    // f(x) = 1/2 x^T A x with A symmetric: H = A, so Hv = A v.
    let tape = Tape::new();
    let a = tape.constant(t64(&[2.0, 1.0, 1.0, 3.0], &[2, 2]));
    let x = tape.var(t64(&[0.3, -0.7], &[2]));
    let ax = a
        .mul(&x.reshape([1, 2]).unwrap())
        .unwrap()
        .sum(&[1], false)
        .unwrap();
    let f = x
        .mul(&ax)
        .unwrap()
        .sum_all()
        .unwrap()
        .mul_scalar(0.5)
        .unwrap();
    let g = tape.grad(&f, &[&x], true).unwrap().remove(0);
    let v = tape.constant(t64(&[1.0, 2.0], &[2]));
    let gv = g.mul(&v).unwrap().sum_all().unwrap();
    let hv = tape.grad(&gv, &[&x], false).unwrap().remove(0);
    assert_eq!(hv.value().to_f64_vec(), vec![4.0, 7.0]);
}

fn loss_on_own_tape(seed: u64) -> Vec<f64> {
    let tape = Tape::new();
    let w = tape.var(Tensor::randn([16], DType::F64, seed));
    let x = tape.constant(Tensor::randn([16], DType::F64, seed + 100));
    let y = w
        .mul(&x)
        .unwrap()
        .tanh()
        .unwrap()
        .powf(2.0)
        .unwrap()
        .sum_all()
        .unwrap();
    y.backward().unwrap().get(&w).unwrap().to_f64_vec()
}

#[test]
fn tapes_on_different_threads_give_the_same_gradients_as_one_at_a_time() {
    let serial: Vec<Vec<f64>> = (0..4).map(loss_on_own_tape).collect();
    let handles: Vec<_> = (0..4)
        .map(|s| std::thread::spawn(move || loss_on_own_tape(s)))
        .collect();
    let parallel: Vec<Vec<f64>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(serial, parallel);
}

#[test]
fn several_tapes_on_one_thread_are_independent() {
    let a = Tape::new();
    let b = Tape::new();
    let x = a.var(t64(&[1.0], &[1]));
    let y = b.var(t64(&[2.0], &[1]));
    let fx = x.mul(&x).unwrap().sum_all().unwrap();
    let fy = y.mul(&y).unwrap().mul(&y).unwrap().sum_all().unwrap();
    assert_eq!(
        fy.backward().unwrap().get(&y).unwrap().to_f64_vec(),
        vec![12.0]
    );
    assert_eq!(
        fx.backward().unwrap().get(&x).unwrap().to_f64_vec(),
        vec![2.0]
    );
    assert_ne!(a.id(), b.id());
}

#[test]
fn gradients_of_another_tape_are_not_returned() {
    let a = Tape::new();
    let b = Tape::new();
    let x = a.var(t64(&[1.0], &[1]));
    let y = b.var(t64(&[1.0], &[1]));
    let g = x.exp().unwrap().sum_all().unwrap().backward().unwrap();
    assert!(g.get(&x).is_some());
    assert!(g.get(&y).is_none());
}

/// `cube(x) = x^3`, defined the way a researcher would add an op.
struct Cube;
impl Op for Cube {
    fn name(&self) -> &'static str {
        "cube"
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Result<Tensor> {
        Ok(inputs[0].powf(3.0))
    }
    fn backward(&self, ctx: &BackwardCtx<'_>, grad: &Var) -> Result<InputGrads> {
        let x = ctx.input(0);
        Ok([Some(grad.mul(&x.mul(x)?.mul_scalar(3.0)?)?)]
            .into_iter()
            .collect())
    }
}

/// A custom op whose rule returns a gradient of the wrong shape.
struct Broken;
impl Op for Broken {
    fn name(&self) -> &'static str {
        "broken"
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Result<Tensor> {
        Ok(inputs[0].clone())
    }
    fn backward(&self, _ctx: &BackwardCtx<'_>, grad: &Var) -> Result<InputGrads> {
        Ok([Some(grad.sum_all()?)].into_iter().collect())
    }
}

#[test]
fn a_custom_op_passes_gradcheck_and_a_broken_one_is_named() {
    let x = Tensor::randn([2, 3], DType::F64, 9);
    let report =
        gradflow_autograd::gradcheck(|v| Var::apply(Cube, &[&v[0]]), &[x], &Default::default())
            .unwrap();
    assert!(report.passed, "{report}");

    let tape = Tape::new();
    let x = tape.var(t64(&[1.0, 2.0], &[2]));
    let err = Var::apply(Broken, &[&x])
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "gradient rule of broken: gradient for input 0 is [] f64, the input is [2] f64"
    );
}

#[test]
fn the_graph_exports_to_dot_and_a_topological_listing() {
    let tape = Tape::new();
    let x = tape.var(t64(&[1.0, 2.0], &[2]));
    let c = tape.constant(t64(&[3.0, 4.0], &[2]));
    let y = x
        .mul(&c)
        .unwrap()
        .leaky_relu(0.1)
        .unwrap()
        .sum_all()
        .unwrap();
    let dot = tape.to_dot();
    assert!(dot.starts_with("digraph tape {"), "{dot}");
    assert!(dot.contains("#2 mul\\n[2] f64"), "{dot}");
    assert!(dot.contains("leaky_relu(slope=0.1)"), "{dot}");
    assert!(dot.contains("n0 -> n2"), "{dot}");
    assert!(dot.trim_end().ends_with('}'));
    let listing = tape.topological_listing();
    assert_eq!(listing.len(), tape.len());
    assert_eq!(listing[0], "#0 var [2] f64");
    assert_eq!(listing[2], "#2 mul [2] f64 <- #0, #1");
    let g = tape.graph();
    assert!(!petgraph::algo::is_cyclic_directed(&g));
    for e in g.edge_indices() {
        let (from, to) = g.edge_endpoints(e).unwrap();
        assert!(
            from.index() < to.index(),
            "an input listed after its consumer"
        );
    }
    assert_eq!(g.node_count(), 5);
    assert_eq!(
        g.node_weights().filter(|n| n.kind == NodeKind::Op).count(),
        3
    );
    let _ = y;
}
