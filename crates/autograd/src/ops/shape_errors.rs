//! Every binary broadcasting op, and matmul, fed every incompatible pair from a list of
//! shapes: each must return an error (never panic) whose message names the op and both
//! shapes.

use crate::testing::randn;
use crate::{Result, Shape, Tape, Tensor, Var};

/// Scalars, vectors, matrices and a 3-D shape, with size-1 and zero-size dimensions.
const SHAPES: &[&[usize]] = &[
    &[],
    &[1],
    &[3],
    &[4],
    &[0],
    &[2, 1],
    &[2, 3],
    &[3, 2],
    &[4, 3],
    &[0, 3],
    &[2, 3, 4],
];

type TensorOp = fn(&Tensor, &Tensor) -> Result<Tensor>;
type VarOp = fn(&Var, &Var) -> Result<Var>;
type VarMask = fn(&Var, &Var) -> Result<Tensor>;

fn tensor_ops() -> Vec<(&'static str, TensorOp)> {
    vec![
        ("add", Tensor::add as TensorOp),
        ("sub", Tensor::sub as TensorOp),
        ("mul", Tensor::mul as TensorOp),
        ("div", Tensor::div as TensorOp),
        ("maximum", Tensor::maximum as TensorOp),
        ("minimum", Tensor::minimum as TensorOp),
        ("gt", Tensor::gt as TensorOp),
        ("ge", Tensor::ge as TensorOp),
        ("lt", Tensor::lt as TensorOp),
        ("le", Tensor::le as TensorOp),
        ("eq_mask", Tensor::eq_mask as TensorOp),
        ("where", |a: &Tensor, b: &Tensor| {
            Tensor::where_(&Tensor::scalar(1.0f64), a, b)
        }),
    ]
}

fn var_ops() -> Vec<(&'static str, VarOp)> {
    vec![
        ("add", Var::add as VarOp),
        ("sub", Var::sub as VarOp),
        ("mul", Var::mul as VarOp),
        ("div", Var::div as VarOp),
        ("maximum", Var::maximum as VarOp),
        ("minimum", Var::minimum as VarOp),
        ("where", |a: &Var, b: &Var| {
            Var::where_(&Tensor::scalar(0.0f64), a, b)
        }),
    ]
}

fn var_masks() -> Vec<(&'static str, VarMask)> {
    vec![
        ("gt", Var::gt as VarMask),
        ("ge", Var::ge as VarMask),
        ("lt", Var::lt as VarMask),
        ("le", Var::le as VarMask),
        ("eq_mask", Var::eq_mask as VarMask),
    ]
}

/// Every ordered pair of shapes from [`SHAPES`] that does not broadcast.
fn incompatible_pairs() -> Vec<(Tensor, Tensor)> {
    let mut pairs = Vec::new();
    for (i, a) in SHAPES.iter().enumerate() {
        for (j, b) in SHAPES.iter().enumerate() {
            if Shape::broadcast("t", &Shape::new(a), &Shape::new(b)).is_err() {
                pairs.push((randn(a, i as u64), randn(b, 100 + j as u64)));
            }
        }
    }
    pairs
}

fn assert_names_op_and_shapes<T: std::fmt::Debug>(op: &str, r: Result<T>, a: &Shape, b: &Shape) {
    let msg = r
        .expect_err("shapes that do not broadcast must be an error")
        .to_string();
    assert!(msg.starts_with(&format!("{op}: ")), "{op} {a} {b}: {msg}");
    assert!(
        msg.contains(&format!("shapes {a} and {b}")),
        "{op} {a} {b}: {msg}"
    );
}

#[test]
fn the_shape_list_has_many_incompatible_pairs() {
    // Guards the tests below against a shape list that stops exercising anything.
    assert!(
        incompatible_pairs().len() >= 40,
        "{}",
        incompatible_pairs().len()
    );
}

#[test]
fn every_binary_tensor_op_rejects_every_incompatible_pair_naming_op_and_shapes() {
    for (a, b) in incompatible_pairs() {
        for (op, f) in tensor_ops() {
            assert_names_op_and_shapes(op, f(&a, &b), a.shape(), b.shape());
        }
    }
}

#[test]
fn every_binary_var_op_rejects_every_incompatible_pair_naming_op_and_shapes() {
    let tape = Tape::new();
    for (a, b) in incompatible_pairs() {
        let (va, vb) = (tape.var(a.clone()), tape.var(b.clone()));
        for (op, f) in var_ops() {
            assert_names_op_and_shapes(op, f(&va, &vb), a.shape(), b.shape());
        }
        for (op, f) in var_masks() {
            assert_names_op_and_shapes(op, f(&va, &vb), a.shape(), b.shape());
        }
    }
}

#[test]
fn where_rejects_a_condition_that_does_not_broadcast_with_its_branches() {
    let tape = Tape::new();
    for (cond, branch) in incompatible_pairs() {
        let msg = Tensor::where_(&cond, &branch, &branch)
            .unwrap_err()
            .to_string();
        let shapes = format!(
            "(shapes: {}, {}, {})",
            cond.shape(),
            branch.shape(),
            branch.shape()
        );
        assert!(
            msg.starts_with("where: ") && msg.ends_with(&shapes),
            "{msg}"
        );
        let v = tape.var(branch.clone());
        let msg = Var::where_(&cond, &v, &v).unwrap_err().to_string();
        assert!(
            msg.starts_with("where: ") && msg.ends_with(&shapes),
            "{msg}"
        );
    }
}

/// Stored operand shapes for matmul: vectors, scalars, matrices, batches.
const MATMUL_SHAPES: &[&[usize]] = &[
    &[],
    &[3],
    &[2, 3],
    &[3, 2],
    &[3, 4],
    &[4, 3],
    &[1, 3],
    &[0, 3],
    &[3, 0],
    &[2, 2, 3],
    &[3, 3, 4],
    &[1, 4, 2],
];

/// Why `op(a) @ op(b)` must fail, if it must.
fn matmul_should_fail(a: &[usize], b: &[usize], ta: bool, tb: bool) -> bool {
    if a.len() < 2 || b.len() < 2 {
        return true;
    }
    let (ra, ca) = (a[a.len() - 2], a[a.len() - 1]);
    let (rb, cb) = (b[b.len() - 2], b[b.len() - 1]);
    let k_lhs = if ta { ra } else { ca };
    let k_rhs = if tb { cb } else { rb };
    let batches = Shape::broadcast(
        "t",
        &Shape::new(&a[..a.len() - 2]),
        &Shape::new(&b[..b.len() - 2]),
    );
    k_lhs != k_rhs || batches.is_err()
}

#[test]
fn matmul_rejects_every_mismatched_pair_naming_both_shapes_in_all_transpose_cases() {
    let tape = Tape::new();
    let mut rejected = 0;
    for (i, sa) in MATMUL_SHAPES.iter().enumerate() {
        for (j, sb) in MATMUL_SHAPES.iter().enumerate() {
            let (a, b) = (randn(sa, i as u64), randn(sb, 50 + j as u64));
            let (va, vb) = (tape.var(a.clone()), tape.var(b.clone()));
            for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
                let t = a.matmul_transposed(&b, ta, tb);
                let v = va.matmul_transposed(&vb, ta, tb);
                if matmul_should_fail(sa, sb, ta, tb) {
                    rejected += 1;
                    let shapes = format!("(shapes: {}, {})", a.shape(), b.shape());
                    for msg in [t.unwrap_err().to_string(), v.unwrap_err().to_string()] {
                        assert!(
                            msg.starts_with("matmul: ") && msg.ends_with(&shapes),
                            "{msg}"
                        );
                    }
                } else {
                    assert!(t.is_ok() && v.is_ok(), "{sa:?} {sb:?} {ta} {tb}");
                }
            }
        }
    }
    assert!(rejected > 300, "{rejected}");
}
