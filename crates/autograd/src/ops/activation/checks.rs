//! The checks every pointwise activation passes (test-only).

use super::{Pointwise, apply};
use crate::testing::{assert_close, check_op};
use crate::{DType, Tape, Tensor, Var};

/// Value, first and second derivative at `x`, computed by the engine: the forward,
/// a recorded backward, and the backward of that.
pub(crate) fn engine_derivatives<K: Pointwise>(k: K, x: &Tensor) -> (Tensor, Tensor, Tensor) {
    let tape = Tape::new();
    let xv = tape.var(x.clone());
    let y = apply(&xv, k).expect("forward");
    let d1 = tape
        .grad(&y.sum_all().expect("sum"), &[&xv], true)
        .expect("first derivative")
        .remove(0);
    let d2 = tape
        .grad(&d1.sum_all().expect("sum"), &[&xv], false)
        .expect("second derivative")
        .remove(0);
    (y.into_value(), d1.into_value(), d2.into_value())
}

/// The third derivative through the engine (grad of grad of grad).
fn engine_third<K: Pointwise>(k: K, x: &Tensor) -> Tensor {
    let tape = Tape::new();
    let xv = tape.var(x.clone());
    let y = apply(&xv, k).unwrap();
    let d1 = tape
        .grad(&y.sum_all().unwrap(), &[&xv], true)
        .unwrap()
        .remove(0);
    let d2 = tape
        .grad(&d1.sum_all().unwrap(), &[&xv], true)
        .unwrap()
        .remove(0);
    tape.grad(&d2.sum_all().unwrap(), &[&xv], false)
        .unwrap()
        .remove(0)
        .into_value()
}

/// Derivatives of the composite form by plain autodiff of primitives.
fn composite_derivatives<K: Pointwise>(k: K, x: &Tensor) -> (Tensor, Tensor, Tensor) {
    let tape = Tape::new();
    let xv = tape.var(x.clone());
    let y = k.composite(&xv).unwrap();
    let ones = Var::untracked(x.ones_like());
    let d1 = tape.vjp(&y, &ones, &[&xv], true).unwrap().remove(0);
    let d2 = tape.vjp(&d1, &ones, &[&xv], false).unwrap().remove(0);
    (y.into_value(), d1.into_value(), d2.into_value())
}

/// Moves points within `gap` of a kink off it, so finite differences see a smooth
/// function.
fn away_from(values: Vec<f64>, kinks: &[f64], gap: f64) -> Vec<f64> {
    values
        .into_iter()
        .map(|mut v| {
            for &k in kinks {
                if (v - k).abs() < gap {
                    v = if v >= k { k + gap } else { k - gap };
                }
            }
            v
        })
        .collect()
}

/// Everything a pointwise activation must pass. `kinks` lists the points where it is
/// not twice differentiable.
pub(crate) fn standard_checks<K: Pointwise>(k: K, kinks: &[f64]) {
    // 1. gradcheck, first and second order, on random inputs over [-6, 6] and on an
    //    empty tensor.
    let raw: Vec<f64> = Tensor::randn([3, 4], DType::F64, 42)
        .mul_scalar(2.5)
        .to_f64_vec();
    let x = Tensor::from_vec(away_from(raw, kinks, 0.05), [3, 4]).unwrap();
    check_op(|v| apply(&v[0], k), std::slice::from_ref(&x));
    check_op(|v| apply(&v[0], k), &[Tensor::zeros([0, 2], DType::F64)]);

    // 2. The composite formula agrees with the kernels: value, first and second
    //    derivative, away from kinks and at moderate inputs where it is accurate.
    let grid = Tensor::from_vec(
        away_from(
            Tensor::linspace(-6.0, 6.0, 49, DType::F64)
                .unwrap()
                .to_f64_vec(),
            kinks,
            0.01,
        ),
        [49],
    )
    .unwrap();
    let (y, d1, d2) = engine_derivatives(k, &grid);
    let (cy, cd1, cd2) = composite_derivatives(k, &grid);
    assert_close(&y.to_f64_vec(), &cy.to_f64_vec(), 1e-12, 1e-14);
    assert_close(&d1.to_f64_vec(), &cd1.to_f64_vec(), 1e-10, 1e-13);
    assert_close(&d2.to_f64_vec(), &cd2.to_f64_vec(), 1e-9, 1e-12);

    // 3. The third derivative (through the composite) matches a central difference of
    //    the second-derivative kernel.
    let pts = Tensor::from_vec(away_from(vec![-2.3, -0.7, 0.4, 1.9], kinks, 0.05), [4]).unwrap();
    let d3 = engine_third(k, &pts).to_f64_vec();
    let h = 1e-5;
    let (_, _, d2p) = engine_derivatives(k, &pts.add_scalar(h));
    let (_, _, d2m) = engine_derivatives(k, &pts.add_scalar(-h));
    let numeric: Vec<f64> = d2p
        .to_f64_vec()
        .iter()
        .zip(d2m.to_f64_vec())
        .map(|(p, m)| (p - m) / (2.0 * h))
        .collect();
    assert_close(&d3, &numeric, 1e-6, 1e-8);

    // 4. Nothing overflows: value and both derivatives finite at large inputs, in f32
    //    and f64.
    let extreme = [
        -1e4, -1000.0, -50.0, -20.0, -1.0, -1e-3, 0.0, 1e-3, 1.0, 20.0, 50.0, 1000.0, 1e4,
    ];
    for dtype in [DType::F32, DType::F64] {
        let x = Tensor::from_vec(extreme.to_vec(), [extreme.len()])
            .unwrap()
            .to_dtype(dtype);
        let (y, d1, d2) = engine_derivatives(k, &x);
        for (what, t) in [
            ("value", y),
            ("first derivative", d1),
            ("second derivative", d2),
        ] {
            assert!(
                t.all_finite(),
                "{} {what} is not finite in {dtype}: {:?}",
                k.name(),
                t.to_f64_vec()
            );
        }
    }
}
