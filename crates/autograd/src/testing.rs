//! Helpers shared by the unit tests of every op.

use crate::{DType, GradcheckOptions, Result, Tensor, Var, gradcheck};

/// An f64 tensor from values and a shape.
pub fn t64(values: &[f64], shape: &[usize]) -> Tensor {
    Tensor::from_vec(values.to_vec(), shape).expect("test tensor")
}

/// Seeded standard-normal f64 tensor.
pub fn randn(shape: &[usize], seed: u64) -> Tensor {
    Tensor::randn(shape, DType::F64, seed)
}

/// Shapes for unary ops: scalar, vector, matrix, 3-D, a size-1 dimension, and empty.
pub fn unary_shapes() -> Vec<Vec<usize>> {
    vec![
        vec![],
        vec![5],
        vec![2, 3],
        vec![2, 1, 3],
        vec![1, 4],
        vec![0, 3],
    ]
}

/// Pairs of inputs whose shapes exercise broadcasting (both directions, size-1
/// dimensions, new leading dimensions, scalars, zero-size dimensions).
pub fn broadcast_pairs() -> Vec<(Tensor, Tensor)> {
    let pairs: &[(&[usize], &[usize])] = &[
        (&[2, 3], &[2, 3]),
        (&[2, 3], &[3]),
        (&[3], &[2, 3]),
        (&[2, 1], &[1, 3]),
        (&[4, 2, 3], &[2, 1]),
        (&[], &[2, 2]),
        (&[2, 2], &[]),
        (&[1], &[3, 1, 2]),
        (&[0, 3], &[3]),
        (&[2, 0], &[1, 1]),
    ];
    pairs
        .iter()
        .enumerate()
        .map(|(i, (a, b))| (randn(a, 2 * i as u64), randn(b, 2 * i as u64 + 1)))
        .collect()
}

/// Runs gradcheck (first and second order) and fails the test with the report if the
/// rules disagree with finite differences.
pub fn check_op<F>(f: F, inputs: &[Tensor])
where
    F: Fn(&[Var]) -> Result<Var>,
{
    let report = gradcheck(f, inputs, &GradcheckOptions::default()).expect("function runs");
    let shapes: Vec<String> = inputs.iter().map(|t| t.shape().to_string()).collect();
    assert!(report.passed, "inputs {}: {report}", shapes.join(", "));
}

/// Asserts `|a - b| <= atol + rtol |b|` elementwise.
pub fn assert_close(a: &[f64], b: &[f64], rtol: f64, atol: f64) {
    assert_eq!(a.len(), b.len(), "lengths differ");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        let ok = (x - y).abs() <= atol + rtol * y.abs() || (x.is_nan() && y.is_nan()) || x == y;
        assert!(ok, "element {i}: {x} vs {y} (diff {:e})", (x - y).abs());
    }
}
