use super::*;
use crate::module::{named_buffers, named_parameters, set_named_buffer, set_training};
use gradflow_autograd::Tape;

fn run(layer: &dyn Module, x: &Tensor) -> Result<Tensor> {
    let tape = Tape::new();
    let mut ctx = ForwardCtx::new(&tape);
    Ok(layer
        .forward(&mut ctx, &tape.constant(x.clone()))?
        .into_value())
}

/// Gives the affine parameters values far from 1 and 0, so their gradients matter.
fn randomise_affine(layer: &mut dyn Module, seed: u64) {
    for (i, (_, p)) in layer.params_mut().into_iter().enumerate() {
        let dims = p.value().dims().to_vec();
        let t = Tensor::randn(dims, DType::F64, seed + i as u64).add_scalar(0.5);
        p.set(t);
    }
}

fn assert_close(got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tol, "element {i}: {g} vs {w}");
    }
}

#[test]
fn layer_norm_matches_a_per_row_loop_with_affine_parameters() {
    let mut layer = LayerNorm::new(4, DType::F64).unwrap();
    randomise_affine(&mut layer, 3);
    let x = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0, 2.0, 2.0, 2.0, 6.0], [2, 4]).unwrap();
    let w = layer.weight().unwrap().value().to_f64_vec();
    let b = layer.bias().unwrap().value().to_f64_vec();
    let mut want = Vec::new();
    for row in x.to_f64_vec().chunks(4) {
        let mean = row.iter().sum::<f64>() / 4.0;
        let var = row.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 4.0;
        for (j, v) in row.iter().enumerate() {
            want.push((v - mean) / (var + 1e-5).sqrt() * w[j] + b[j]);
        }
    }
    assert_close(&run(&layer, &x).unwrap().to_f64_vec(), &want, 1e-14);
    // Hand-computed, unit weight: [1, 2, 3, 4] has mean 2.5 and variance 1.25.
    let plain = LayerNorm::new(4, DType::F64).unwrap();
    let y = run(&plain, &x).unwrap().to_f64_vec();
    assert!((y[0] + 1.5 / (1.25f64 + 1e-5).sqrt()).abs() < 1e-14);
}

#[test]
fn layer_norm_gradchecks_first_and_second_order() {
    let mut layer = LayerNorm::new(5, DType::F64).unwrap();
    randomise_affine(&mut layer, 1);
    let x = Tensor::randn([3, 2, 5], DType::F64, 2);
    let r = crate::gradcheck_module(&layer, &x, &Default::default()).unwrap();
    assert!(r.passed, "{r}");
    let plain = LayerNorm::with_options(5, 1e-3, false, DType::F64).unwrap();
    assert!(named_parameters(&plain).is_empty());
    let r = crate::gradcheck_module(&plain, &x, &Default::default()).unwrap();
    assert!(r.passed, "{r}");
}

#[test]
fn norm_layers_refuse_bad_configurations_with_exact_messages() {
    let e = |r: Result<LayerNorm>| r.unwrap_err().to_string();
    assert_eq!(
        e(LayerNorm::new(0, DType::F32)),
        "LayerNorm: features must be at least 1 (got 0)"
    );
    assert_eq!(
        e(LayerNorm::with_options(3, -1.0, true, DType::F32)),
        "LayerNorm: eps must be finite and >= 0 (got -1)"
    );
    let e = |r: Result<BatchNorm1d>| r.unwrap_err().to_string();
    assert_eq!(
        e(BatchNorm1d::new(0, DType::F32)),
        "BatchNorm1d: features must be at least 1 (got 0)"
    );
    assert_eq!(
        e(BatchNorm1d::with_options(
            3,
            f64::NAN,
            None,
            true,
            DType::F32
        )),
        "BatchNorm1d: eps must be finite and >= 0 (got NaN)"
    );
    assert_eq!(
        e(BatchNorm1d::with_options(
            3,
            1e-5,
            Some(1.5),
            true,
            DType::F32
        )),
        "BatchNorm1d: momentum must be in [0, 1] (got 1.5)"
    );
}

#[test]
fn norm_layers_name_a_wrong_input_shape() {
    let ln = LayerNorm::new(4, DType::F64).unwrap();
    assert_eq!(
        run(&ln, &Tensor::zeros([2, 3], DType::F64))
            .unwrap_err()
            .to_string(),
        "LayerNorm: expects inputs whose last dimension is 4, got [2, 3]"
    );
    let bn = BatchNorm1d::new(4, DType::F64).unwrap();
    for dims in [&[2usize, 3][..], &[2, 3, 4], &[4], &[2, 4, 1, 1]] {
        assert_eq!(
            run(&bn, &Tensor::zeros(dims, DType::F64))
                .unwrap_err()
                .to_string(),
            format!(
                "BatchNorm1d: expects an input [N, 4] or [N, 4, L], got {:?}",
                dims
            )
        );
    }
    assert_eq!(
        run(&bn, &Tensor::zeros([1, 4], DType::F64))
            .unwrap_err()
            .to_string(),
        "BatchNorm1d: training needs more than one value per channel, got input [1, 4]"
    );
}

#[test]
fn batch_norm_gradchecks_in_training_mode_for_2d_and_3d_inputs() {
    let mut layer = BatchNorm1d::new(4, DType::F64).unwrap();
    randomise_affine(&mut layer, 5);
    let x = Tensor::randn([6, 4], DType::F64, 6);
    let r = crate::gradcheck_module(&layer, &x, &Default::default()).unwrap();
    assert!(r.passed, "{r}");
    let x = Tensor::randn([3, 4, 2], DType::F64, 7);
    let r = crate::gradcheck_module(&layer, &x, &Default::default()).unwrap();
    assert!(r.passed, "{r}");
}

#[test]
fn batch_norm_in_training_normalises_each_channel_of_the_batch() {
    let layer = BatchNorm1d::with_options(3, 0.0, Some(0.1), true, DType::F64).unwrap();
    let x = Tensor::randn([8, 3, 2], DType::F64, 8)
        .mul_scalar(3.0)
        .add_scalar(1.0);
    let y = run(&layer, &x).unwrap().to_f64_vec();
    for c in 0..3 {
        let vals: Vec<f64> = (0..8)
            .flat_map(|n| (0..2).map(move |l| (n * 3 + c) * 2 + l))
            .map(|i| y[i])
            .collect();
        let mean = vals.iter().sum::<f64>() / 16.0;
        let var = vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 16.0;
        assert!(
            mean.abs() < 1e-13 && (var - 1.0).abs() < 1e-12,
            "{mean} {var}"
        );
    }
}

/// Per-channel mean and biased variance of an `[N, C]` batch.
fn channel_stats(x: &Tensor) -> (Vec<f64>, Vec<f64>) {
    let (n, c) = (x.dims()[0], x.dims()[1]);
    let v = x.to_f64_vec();
    let mean: Vec<f64> = (0..c)
        .map(|j| (0..n).map(|i| v[i * c + j]).sum::<f64>() / n as f64)
        .collect();
    let var: Vec<f64> = (0..c)
        .map(|j| {
            (0..n)
                .map(|i| (v[i * c + j] - mean[j]).powi(2))
                .sum::<f64>()
                / n as f64
        })
        .collect();
    (mean, var)
}

#[test]
fn batch_norm_running_stats_after_two_batches_follow_pytorchs_formula() {
    let layer = BatchNorm1d::new(3, DType::F64).unwrap();
    let a = Tensor::randn([5, 3], DType::F64, 10).add_scalar(2.0);
    let b = Tensor::randn([4, 3], DType::F64, 11).mul_scalar(0.5);
    run(&layer, &a).unwrap();
    run(&layer, &b).unwrap();
    let (ma, va) = channel_stats(&a);
    let (mb, vb) = channel_stats(&b);
    let (m, mut want_mean, mut want_var) = (0.1, vec![0.0; 3], vec![1.0; 3]);
    for ((mean, var), n) in [((ma, va), 5.0), ((mb, vb), 4.0)] {
        for j in 0..3 {
            want_mean[j] = (1.0 - m) * want_mean[j] + m * mean[j];
            want_var[j] = (1.0 - m) * want_var[j] + m * var[j] * n / (n - 1.0);
        }
    }
    assert_close(&layer.running_mean().to_f64_vec(), &want_mean, 1e-14);
    assert_close(&layer.running_var().to_f64_vec(), &want_var, 1e-14);
    assert_eq!(layer.num_batches_tracked(), 2);
}

#[test]
fn batch_norm_with_no_momentum_keeps_the_cumulative_average() {
    let layer = BatchNorm1d::with_options(2, 1e-5, None, true, DType::F64).unwrap();
    let a = Tensor::randn([4, 2], DType::F64, 12);
    let b = Tensor::randn([4, 2], DType::F64, 13).add_scalar(1.0);
    run(&layer, &a).unwrap();
    run(&layer, &b).unwrap();
    let ((ma, va), (mb, vb)) = (channel_stats(&a), channel_stats(&b));
    let want_mean: Vec<f64> = (0..2).map(|j| (ma[j] + mb[j]) / 2.0).collect();
    let want_var: Vec<f64> = (0..2).map(|j| (va[j] + vb[j]) / 2.0 * 4.0 / 3.0).collect();
    assert_close(&layer.running_mean().to_f64_vec(), &want_mean, 1e-14);
    assert_close(&layer.running_var().to_f64_vec(), &want_var, 1e-14);
}

#[test]
fn batch_norm_in_eval_mode_uses_the_running_stats_and_leaves_them_alone() {
    let mut layer = BatchNorm1d::new(3, DType::F64).unwrap();
    randomise_affine(&mut layer, 14);
    run(
        &layer,
        &Tensor::randn([6, 3], DType::F64, 15).add_scalar(1.0),
    )
    .unwrap();
    set_training(&mut layer, false);
    assert!(!layer.is_training());
    let (rm, rv) = (
        layer.running_mean().to_f64_vec(),
        layer.running_var().to_f64_vec(),
    );
    let (w, b) = (
        layer.weight().unwrap().value().to_f64_vec(),
        layer.bias().unwrap().value().to_f64_vec(),
    );
    // One example is enough in eval mode.
    let x = Tensor::randn([1, 3], DType::F64, 16);
    let want: Vec<f64> = x
        .to_f64_vec()
        .iter()
        .enumerate()
        .map(|(j, v)| (v - rm[j]) / (rv[j] + 1e-5).sqrt() * w[j] + b[j])
        .collect();
    assert_close(&run(&layer, &x).unwrap().to_f64_vec(), &want, 1e-14);
    assert_eq!(layer.running_mean().to_f64_vec(), rm);
    assert_eq!(layer.num_batches_tracked(), 1);
    // Eval mode is an affine map of the input: it gradchecks too.
    let r = crate::gradcheck_module(
        &layer,
        &Tensor::randn([4, 3, 2], DType::F64, 17),
        &Default::default(),
    )
    .unwrap();
    assert!(r.passed, "{r}");
}

#[test]
fn batch_norm_buffers_carry_pytorch_names_and_can_be_set_by_full_name() {
    let mut net = crate::Sequential::new()
        .with(crate::Linear::from_tensors(Tensor::ones([2, 2], DType::F32), None).unwrap())
        .with(BatchNorm1d::new(2, DType::F32).unwrap());
    let names: Vec<String> = named_buffers(&net).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        ["1.running_mean", "1.running_var", "1.num_batches_tracked"]
    );
    let mean = Tensor::from_vec(vec![0.5f64, -0.5], [2]).unwrap();
    set_named_buffer(&mut net, "1.running_mean", mean).unwrap();
    set_named_buffer(&mut net, "1.num_batches_tracked", Tensor::scalar(7.0f64)).unwrap();
    let buffers = named_buffers(&net);
    assert_eq!(buffers[0].1.dtype(), DType::F32);
    assert_eq!(buffers[0].1.to_f64_vec(), [0.5, -0.5]);
    assert_eq!(buffers[2].1.to_f64_vec(), [7.0]);
    let e = set_named_buffer(&mut net, "1.running_var", Tensor::ones([3], DType::F32));
    assert_eq!(
        e.unwrap_err().to_string(),
        "set_named_buffer: 1.running_var: BatchNorm1d: running_var must be [2], got [3]"
    );
    let e = set_named_buffer(&mut net, "0.running_var", Tensor::ones([2], DType::F32));
    assert_eq!(
        e.unwrap_err().to_string(),
        "set_named_buffer: 0.running_var: Linear: no buffer named \"running_var\""
    );
    let e = set_named_buffer(&mut net, "1.num_batches_tracked", Tensor::scalar(-1.0f64));
    assert_eq!(
        e.unwrap_err().to_string(),
        "set_named_buffer: 1.num_batches_tracked: BatchNorm1d: num_batches_tracked must be a whole number >= 0, got -1"
    );
}

#[test]
fn batch_norm_clone_copies_the_running_stats_with_fresh_parameters() {
    let layer = BatchNorm1d::new(2, DType::F64).unwrap();
    run(&layer, &Tensor::randn([3, 2], DType::F64, 18)).unwrap();
    let copy = layer.clone();
    assert_eq!(
        copy.running_var().to_f64_vec(),
        layer.running_var().to_f64_vec()
    );
    assert_eq!(copy.num_batches_tracked(), 1);
    assert_ne!(copy.weight().unwrap().id(), layer.weight().unwrap().id());
}
