//! Errors, edge cases, gradchecks and second derivatives of the losses. Golden values
//! against PyTorch are in `crates/nn/tests/losses.rs`.

use gradflow_autograd::{DType, GradcheckOptions, Tape, Tensor, Var, gradcheck};

use super::*;

fn t(values: &[f64], dims: &[usize]) -> Tensor {
    Tensor::from_vec(values.to_vec(), dims).unwrap()
}

fn scalar(v: &Var) -> f64 {
    v.value().to_scalar::<f64>().unwrap()
}

/// Runs gradcheck (first and second order) on `f` of the given inputs.
fn check(f: impl Fn(&[Var]) -> crate::Result<Var>, inputs: &[Tensor]) {
    let g = |v: &[Var]| f(v).map_err(|e| gradflow_autograd::Error::invalid("loss", e.to_string()));
    let report = gradcheck(g, inputs, &GradcheckOptions::default()).unwrap();
    assert!(report.passed, "{report}");
}

fn uniform(dims: &[usize], lo: f64, hi: f64, seed: u64) -> Tensor {
    Tensor::rand_uniform(dims, lo, hi, DType::F64, seed).unwrap()
}

#[test]
fn every_loss_gradchecks_to_second_order_with_both_reductions() {
    let x = Tensor::randn([3, 4], DType::F64, 1);
    let y = Tensor::randn([3, 4], DType::F64, 2);
    let p = uniform(&[3, 4], 0.1, 0.9, 3);
    let q = uniform(&[3, 4], 0.0, 1.0, 4);
    let targets = [3, 0, 2];
    for r in [Reduction::Mean, Reduction::Sum] {
        check(|v| mse(&v[0], &v[1], r), &[x.clone(), y.clone()]);
        check(|v| bce(&v[0], &v[1], r), &[p.clone(), q.clone()]);
        check(
            |v| bce_with_logits(&v[0], &v[1], r),
            &[x.clone(), q.clone()],
        );
        check(
            |v| cross_entropy(&v[0], &targets, r),
            std::slice::from_ref(&x),
        );
        check(
            |v| cross_entropy_smoothed(&v[0], &targets, 0.2, r),
            std::slice::from_ref(&x),
        );
        check(
            |v| nll(&v[0].log_softmax(-1)?, &targets, r),
            std::slice::from_ref(&x),
        );
    }
}

#[test]
fn mse_rejects_a_target_of_another_shape() {
    let tape = Tape::new();
    let x = tape.var(Tensor::zeros([2, 3], DType::F64));
    let y = tape.constant(Tensor::zeros([3, 2], DType::F64));
    let e = mse(&x, &y, Reduction::Mean).unwrap_err().to_string();
    assert_eq!(
        e,
        "mse: the target must have the input's shape (input [2, 3], target [3, 2])"
    );
}

#[test]
fn cross_entropy_names_the_out_of_range_class_index_and_the_class_count() {
    let tape = Tape::new();
    let z = tape.var(Tensor::zeros([3, 4], DType::F64));
    let e = cross_entropy(&z, &[0, 4, 9], Reduction::Mean)
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "cross_entropy: class index 4 (target 1) is out of range for 4 classes"
    );
    let e = nll(&z, &[0, 1, 7], Reduction::Sum).unwrap_err().to_string();
    assert_eq!(
        e,
        "nll: class index 7 (target 2) is out of range for 4 classes"
    );
}

#[test]
fn cross_entropy_rejects_a_wrong_number_of_targets_and_non_matrix_logits() {
    let tape = Tape::new();
    let z = tape.var(Tensor::zeros([3, 4], DType::F64));
    let e = cross_entropy(&z, &[0, 1], Reduction::Mean)
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "cross_entropy: one class index per row of the input is needed (input [3, 4], target [2])"
    );
    let v = tape.var(Tensor::zeros([4], DType::F64));
    let e = nll(&v, &[0], Reduction::Mean).unwrap_err().to_string();
    assert_eq!(
        e,
        "nll: the input must be [batch, classes] with one class index per row (input [4], target [1])"
    );
}

#[test]
fn cross_entropy_rejects_label_smoothing_outside_zero_one() {
    let tape = Tape::new();
    let z = tape.var(Tensor::zeros([1, 2], DType::F64));
    for eps in [-0.1, 1.5, f64::NAN] {
        let e = cross_entropy_smoothed(&z, &[0], eps, Reduction::Mean)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            format!("cross_entropy: label_smoothing must be in [0, 1], got {eps}")
        );
    }
}

#[test]
fn bce_rejects_values_that_are_not_probabilities() {
    let tape = Tape::new();
    let p = tape.var(t(&[0.5, 1.5], &[2]));
    let y = tape.constant(t(&[1.0, 0.0], &[2]));
    let e = bce(&p, &y, Reduction::Mean).unwrap_err().to_string();
    assert_eq!(
        e,
        "bce: input element 1 is 1.5, not a probability in [0, 1]"
    );
    let p = tape.var(t(&[0.5, 0.5], &[2]));
    let y = tape.constant(t(&[f64::NAN, 0.0], &[2]));
    let e = bce(&p, &y, Reduction::Mean).unwrap_err().to_string();
    assert_eq!(
        e,
        "bce: target element 0 is NaN, not a probability in [0, 1]"
    );
    let e = bce_with_logits(&p, &tape.constant(t(&[0.0, -1.0], &[2])), Reduction::Sum)
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "bce_with_logits: target element 1 is -1, not a probability in [0, 1]"
    );
}

#[test]
fn bce_clamps_each_log_at_minus_100_with_finite_gradients() {
    let tape = Tape::new();
    // p = 0 and p = 1 with the wrong target cost 100 each; with the right one, 0.
    let p = tape.var(t(&[0.0, 1.0, 0.0, 1.0], &[4]));
    let y = tape.constant(t(&[1.0, 0.0, 0.0, 1.0], &[4]));
    let loss = bce(&p, &y, Reduction::Sum).unwrap();
    assert_eq!(scalar(&loss), 200.0);
    let g = loss.backward().unwrap().get(&p).unwrap().to_f64_vec();
    assert!(g.iter().all(|v| v.is_finite()), "{g:?}");
    // Where a log is clamped the loss is flat in it; the other term still counts.
    assert_eq!(g, vec![0.0, 0.0, 1.0, -1.0]);
}

#[test]
fn bce_through_a_sigmoid_gives_p_minus_y_where_pytorch_caps_it() {
    // p = sigmoid(-46) = 1.05e-20: PyTorch's backward divides by max(p(1-p), 1e-12) and
    // returns dL/dz = -1.05e-8; the exact derivative is p - 1.
    let tape = Tape::new();
    let z = tape.var(t(&[-46.0], &[1]));
    let y = tape.constant(t(&[1.0], &[1]));
    let loss = bce(&z.sigmoid().unwrap(), &y, Reduction::Mean).unwrap();
    let dz = loss.backward().unwrap().get(&z).unwrap().to_f64_vec();
    let p = 1.0 / (1.0 + 46f64.exp());
    assert!((dz[0] - (p - 1.0)).abs() < 1e-15, "{dz:?}");
}

#[test]
fn bce_keeps_the_digits_of_a_small_loss() {
    // y = 0, p = 1e-10: the loss is -ln(1 - p) = p + p^2/2 + ..., which ln(1 - p)
    // computed literally gets wrong in the seventh digit.
    let tape = Tape::new();
    let p = tape.var(t(&[1e-10], &[1]));
    let y = tape.constant(t(&[0.0], &[1]));
    let loss = scalar(&bce(&p, &y, Reduction::Mean).unwrap());
    assert!((loss - (1e-10 + 5e-21)).abs() <= 1e-25, "{loss:e}");
}

#[test]
fn bce_with_logits_is_exact_where_sigmoid_rounds_to_zero_or_one() {
    let tape = Tape::new();
    let z = tape.var(t(&[50.0, -50.0, 50.0, -50.0, -30.0], &[5]));
    let y = tape.constant(t(&[1.0, 0.0, 0.0, 1.0, 0.0], &[5]));
    let per = |i: usize| {
        let zi = z.value().index_select(0, &[i]).unwrap();
        let yi = y.value().index_select(0, &[i]).unwrap();
        scalar(&bce_with_logits(&Var::untracked(zi), &Var::untracked(yi), Reduction::Sum).unwrap())
    };
    let tail = (-50f64).exp().ln_1p();
    assert_eq!(per(0), tail);
    assert_eq!(per(1), tail);
    assert_eq!(per(2), 50.0 + tail);
    assert_eq!(per(3), 50.0 + tail);
    assert_eq!(per(4), (-30f64).exp().ln_1p());
    let loss = bce_with_logits(&z, &y, Reduction::Sum).unwrap();
    let dz = loss.backward().unwrap().get(&z).unwrap().to_f64_vec();
    let s = 1.0 / (1.0 + 50f64.exp()); // sigmoid(-50)
    let expected = [-s, s, 1.0 - s, s - 1.0];
    for (a, b) in dz.iter().zip(expected) {
        assert!(
            (a - b).abs() <= 1e-15 * b.abs().max(1e-300),
            "{a:e} vs {b:e}"
        );
    }
}

#[test]
fn bce_with_logits_gradient_at_zero_is_one_half_minus_the_target() {
    let tape = Tape::new();
    let z = tape.var(t(&[0.0, 0.0, 0.0], &[3]));
    let y = tape.constant(t(&[0.0, 0.25, 1.0], &[3]));
    let loss = bce_with_logits(&z, &y, Reduction::Sum).unwrap();
    let dz = loss.backward().unwrap().get(&z).unwrap().to_f64_vec();
    assert_eq!(dz, vec![0.5, 0.25, -0.5]);
}

#[test]
fn bce_with_logits_second_derivative_is_the_sigmoid_slope() {
    let tape = Tape::new();
    let zs = [-3.0, -0.5, 0.0, 2.0, 40.0];
    let z = tape.var(t(&zs, &[5]));
    let y = tape.constant(t(&[1.0, 0.0, 0.3, 1.0, 0.0], &[5]));
    let loss = bce_with_logits(&z, &y, Reduction::Sum).unwrap();
    let g = tape.grad(&loss, &[&z], true).unwrap();
    let h = g[0].sum_all().unwrap().backward().unwrap();
    let d2 = h.get(&z).unwrap().to_f64_vec();
    for (a, zi) in d2.iter().zip(zs) {
        // sigmoid'(z) = e^-|z| / (1 + e^-|z|)^2, without the rounding of 1 - sigmoid.
        let e = (-f64::abs(zi)).exp();
        let b = e / ((1.0 + e) * (1.0 + e));
        assert!(
            (a - b).abs() <= 1e-14 * b.max(1e-300),
            "{a:e} vs {b:e} at {zi}"
        );
    }
}

#[test]
fn cross_entropy_is_finite_for_huge_logits_and_equals_nll_of_log_softmax() {
    let tape = Tape::new();
    let z = tape.var(t(&[1000.0, 0.0, -1000.0, 3.0, 1.0, 2.0], &[2, 3]));
    let ce = cross_entropy(&z, &[1, 2], Reduction::Mean).unwrap();
    let via_nll = nll(&z.log_softmax(-1).unwrap(), &[1, 2], Reduction::Mean).unwrap();
    assert_eq!(scalar(&ce), scalar(&via_nll));
    let row1 = (3f64.exp() + 1f64.exp() + 2f64.exp()).ln() - 2.0;
    assert!((scalar(&ce) - (1000.0 + row1) / 2.0).abs() < 1e-12);
}

#[test]
fn label_smoothing_zero_is_plain_cross_entropy_and_one_is_uniform_target() {
    let tape = Tape::new();
    let z = tape.var(Tensor::randn([4, 5], DType::F64, 9));
    let targets = [0, 4, 2, 2];
    let plain = scalar(&cross_entropy(&z, &targets, Reduction::Sum).unwrap());
    let zero = scalar(&cross_entropy_smoothed(&z, &targets, 0.0, Reduction::Sum).unwrap());
    assert_eq!(plain, zero);
    // eps = 1: the target is uniform, L = sum_i mean_c(-log p_ic), whatever the labels.
    let a = scalar(&cross_entropy_smoothed(&z, &targets, 1.0, Reduction::Sum).unwrap());
    let b = scalar(&cross_entropy_smoothed(&z, &[1, 1, 1, 1], 1.0, Reduction::Sum).unwrap());
    assert!((a - b).abs() < 1e-14);
    let uniform = -z
        .value()
        .log_softmax(-1)
        .unwrap()
        .sum_all()
        .to_scalar::<f64>()
        .unwrap()
        / 5.0;
    assert!((a - uniform).abs() < 1e-13);
}

#[test]
fn mean_over_an_empty_batch_is_nan_as_in_pytorch() {
    let tape = Tape::new();
    let z = tape.var(Tensor::zeros([0, 3], DType::F64));
    assert!(scalar(&cross_entropy(&z, &[], Reduction::Mean).unwrap()).is_nan());
    assert_eq!(
        scalar(&cross_entropy(&z, &[], Reduction::Sum).unwrap()),
        0.0
    );
    let e = tape.var(Tensor::zeros([0], DType::F64));
    assert!(scalar(&mse(&e, &e, Reduction::Mean).unwrap()).is_nan());
}

#[test]
fn losses_keep_the_dtype_of_an_f32_input() {
    let tape = Tape::new();
    let z = tape.var(Tensor::from_vec(vec![0.5f32, -1.0, 2.0, 0.0], [2, 2]).unwrap());
    let y = tape.constant(Tensor::from_vec(vec![1.0f32, 0.0, 0.0, 1.0], [2, 2]).unwrap());
    for loss in [
        mse(&z, &y, Reduction::Mean).unwrap(),
        bce(&z.sigmoid().unwrap(), &y, Reduction::Mean).unwrap(),
        bce_with_logits(&z, &y, Reduction::Mean).unwrap(),
        cross_entropy_smoothed(&z, &[1, 0], 0.1, Reduction::Mean).unwrap(),
    ] {
        assert_eq!(loss.dtype(), DType::F32);
        let g = loss.backward().unwrap();
        assert_eq!(g.get(&z).unwrap().dtype(), DType::F32);
    }
}
