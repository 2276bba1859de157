//! Checkpoints on files: PyTorch interoperability both ways (golden files made by
//! `tests/golden/gen_checkpoint.py`), and every way a file can fail to fit a model,
//! each of which must leave the model unchanged.
#![expect(
    clippy::unwrap_used,
    reason = "in tests a failed unwrap is a failed test"
)]

use std::path::{Path, PathBuf};

use gradflow_autograd::{Activation, DType, Tape, Tensor};
use gradflow_nn::checkpoint::{self, LoadOptions};
use gradflow_nn::module::named_parameters;
use gradflow_nn::{Error, ForwardCtx, Mlp, Module};

fn golden(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

/// The architecture of the golden files: 3 -> 4 (tanh) -> 2, as
/// `nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))`.
fn mlp(dtype: DType, seed: u64) -> Mlp {
    Mlp::builder(3, &[4], 2)
        .activation(Activation::Tanh)
        .dtype(dtype)
        .seed(seed)
        .build()
        .unwrap()
}

fn values(m: &dyn Module) -> Vec<(String, Vec<f64>)> {
    named_parameters(m)
        .into_iter()
        .map(|(n, p)| (n, p.value().to_f64_vec()))
        .collect()
}

fn forward(model: &dyn Module, x: &Tensor) -> Vec<f64> {
    let tape = Tape::new();
    let mut ctx = ForwardCtx::new(&tape);
    let y = model.forward(&mut ctx, &tape.constant(x.clone())).unwrap();
    y.value().to_vec::<f64>().unwrap()
}

/// (input [n, 3], output flattened) from a golden JSON file.
fn read_golden_json(name: &str) -> (Tensor, Vec<f64>) {
    let text = std::fs::read_to_string(golden(name)).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let rows = |key: &str| -> Vec<Vec<f64>> { serde_json::from_value(json[key].clone()).unwrap() };
    let input = rows("input");
    let n = input.len();
    let x = Tensor::from_vec(input.concat(), [n, 3]).unwrap();
    (x, rows("output").concat())
}

fn checkpoint_reason(result: Result<(), Error>) -> (PathBuf, String) {
    match result {
        Err(Error::Checkpoint { path, reason }) => (path, reason),
        other => panic!("expected Error::Checkpoint, got {other:?}"),
    }
}

#[test]
fn a_pytorch_checkpoint_reproduces_the_torch_output_to_1e_12() {
    let mut model = mlp(DType::F64, 99);
    checkpoint::load(&mut model, golden("checkpoint_torch.safetensors")).unwrap();
    let (x, expected) = read_golden_json("checkpoint_torch.json");
    let y = forward(&model, &x);
    assert_eq!(y.len(), expected.len());
    for (a, b) in y.iter().zip(&expected) {
        assert!((a - b).abs() <= 1e-12, "{a} vs torch {b}");
    }
}

/// The reverse direction: `gen_checkpoint.py --verify` loads
/// `checkpoint_gradflow.safetensors` into torch (strict names, float64) and compares its
/// output with `checkpoint_gradflow.json`. This test checks our side: saving the same
/// seeded model still gives exactly those bytes, and our output matches the JSON.
/// `GRADFLOW_BLESS_GOLDEN=1` rewrites both files (then rerun the script).
#[test]
fn a_gradflow_checkpoint_matches_the_file_pytorch_verified() {
    let model = mlp(DType::F64, 7);
    let (x, _) = read_golden_json("checkpoint_torch.json");
    let dir = tempfile::tempdir().unwrap();
    let ours = dir.path().join("ours.safetensors");
    checkpoint::save(&model, &ours).unwrap();
    let bytes = std::fs::read(&ours).unwrap();
    let y = forward(&model, &x);
    if std::env::var_os("GRADFLOW_BLESS_GOLDEN").is_some() {
        std::fs::write(golden("checkpoint_gradflow.safetensors"), &bytes).unwrap();
        let json = serde_json::json!({
            "about": "crates/nn/tests/checkpoint.rs: gradflow output of checkpoint_gradflow.safetensors on input",
            "input": x.to_vec::<f64>().unwrap().chunks(3).collect::<Vec<_>>(),
            "output": y.chunks(2).collect::<Vec<_>>(),
        });
        std::fs::write(
            golden("checkpoint_gradflow.json"),
            serde_json::to_string_pretty(&json).unwrap() + "\n",
        )
        .unwrap();
    }
    assert_eq!(
        bytes,
        std::fs::read(golden("checkpoint_gradflow.safetensors")).unwrap(),
        "the saved bytes changed: rerun with GRADFLOW_BLESS_GOLDEN=1 and verify with \
         gen_checkpoint.py --verify"
    );
    let (x_json, expected) = read_golden_json("checkpoint_gradflow.json");
    assert_eq!(x_json.to_f64_vec(), x.to_f64_vec());
    for (a, b) in y.iter().zip(&expected) {
        assert!((a - b).abs() <= 1e-12, "{a} vs {b}");
    }
}

#[test]
fn save_then_load_restores_f32_parameters_exactly_and_leaves_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    let a = mlp(DType::F32, 1);
    checkpoint::save(&a, &path).unwrap();
    // Saving again replaces the file.
    checkpoint::save(&a, &path).unwrap();
    let mut b = mlp(DType::F32, 2);
    assert_ne!(values(&a), values(&b));
    checkpoint::load(&mut b, &path).unwrap();
    assert_eq!(values(&a), values(&b));
    let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(files.len(), 1, "only the checkpoint is left");
}

#[cfg(unix)]
#[test]
fn a_saved_checkpoint_is_readable_like_any_new_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    checkpoint::save(&mlp(DType::F32, 1), &path).unwrap();
    let plain = dir.path().join("plain");
    std::fs::write(&plain, b"x").unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), mode(&plain));
}

#[test]
fn a_missing_parameter_is_an_error_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nobias.safetensors");
    let no_bias = Mlp::builder(3, &[4], 2)
        .activation(Activation::Tanh)
        .bias(false)
        .dtype(DType::F64)
        .build()
        .unwrap();
    checkpoint::save(&no_bias, &path).unwrap();
    let mut model = mlp(DType::F64, 3);
    let before = values(&model);
    let (p, reason) = checkpoint_reason(checkpoint::load(&mut model, &path));
    assert_eq!(p, path);
    assert!(
        reason.contains("parameter layers.0.bias (f64 [4]) is missing from the file"),
        "{reason}"
    );
    assert!(reason.contains("layers.2.bias"), "{reason}");
    assert_eq!(values(&model), before);
}

#[test]
fn extra_tensors_are_an_error_unless_allowed() {
    let mut no_bias = Mlp::builder(3, &[4], 2)
        .activation(Activation::Tanh)
        .bias(false)
        .dtype(DType::F64)
        .build()
        .unwrap();
    let before = values(&no_bias);
    let path = golden("checkpoint_torch.safetensors");
    let (_, reason) = checkpoint_reason(checkpoint::load(&mut no_bias, &path));
    assert!(
        reason.contains("no parameter for 2 tensor(s) of the file: layers.0.bias, layers.2.bias"),
        "{reason}"
    );
    assert_eq!(values(&no_bias), before);
    checkpoint::load_with(
        &mut no_bias,
        &path,
        &LoadOptions::default().allow_extra(true),
    )
    .unwrap();
    let mut full = mlp(DType::F64, 0);
    checkpoint::load(&mut full, &path).unwrap();
    assert_eq!(values(&no_bias)[0], values(&full)[0]);
}

#[test]
fn a_dtype_mismatch_names_the_parameter_and_both_dtypes_and_changes_nothing() {
    let mut model = mlp(DType::F32, 3);
    let before = values(&model);
    let (_, reason) = checkpoint_reason(checkpoint::load(
        &mut model,
        golden("checkpoint_torch.safetensors"),
    ));
    assert!(
        reason.contains("parameter layers.0.weight: expected dtype f32, found f64"),
        "{reason}"
    );
    assert_eq!(values(&model), before);
}

#[test]
fn a_shape_mismatch_names_the_parameter_and_both_shapes_and_changes_nothing() {
    let mut wide = Mlp::builder(3, &[5], 2)
        .activation(Activation::Tanh)
        .dtype(DType::F64)
        .build()
        .unwrap();
    let before = values(&wide);
    let (_, reason) = checkpoint_reason(checkpoint::load(
        &mut wide,
        golden("checkpoint_torch.safetensors"),
    ));
    assert!(
        reason.contains("parameter layers.0.weight: expected shape [5, 3], found [4, 3]"),
        "{reason}"
    );
    assert!(
        reason.contains("parameter layers.0.bias: expected shape [5], found [4]"),
        "{reason}"
    );
    assert_eq!(values(&wide), before);
}

#[test]
fn an_unsupported_dtype_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("half.safetensors");
    // The golden file with the first layer's bias as F16: built with safetensors itself.
    let zeros = vec![0u8; 8];
    let original = std::fs::read(golden("checkpoint_torch.safetensors")).unwrap();
    let file = safetensors::SafeTensors::deserialize(&original).unwrap();
    let mut tensors: Vec<(String, safetensors::tensor::TensorView<'_>)> = file.tensors();
    for (name, view) in tensors.iter_mut() {
        if name == "layers.0.bias" {
            *view = safetensors::tensor::TensorView::new(safetensors::Dtype::F16, vec![4], &zeros)
                .unwrap();
        }
    }
    std::fs::write(&path, safetensors::serialize(tensors, None).unwrap()).unwrap();
    let mut model = mlp(DType::F64, 3);
    let before = values(&model);
    let (_, reason) = checkpoint_reason(checkpoint::load(&mut model, &path));
    assert!(
        reason.contains("parameter layers.0.bias: expected dtype f64, found F16"),
        "{reason}"
    );
    assert_eq!(values(&model), before);
}

#[test]
fn a_truncated_or_corrupt_file_is_an_error_naming_it_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read(golden("checkpoint_torch.safetensors")).unwrap();
    let mut flipped_header = good.clone();
    flipped_header[8] = b'#'; // the header's opening brace
    let cases: [(&str, Vec<u8>); 5] = [
        ("empty.safetensors", Vec::new()),
        ("cut.safetensors", good[..good.len() - 16].to_vec()),
        ("cut_header.safetensors", good[..40].to_vec()),
        ("bad_json.safetensors", flipped_header),
        (
            "noise.safetensors",
            (0..600u32).map(|i| (i * 97 % 256) as u8).collect(),
        ),
    ];
    let mut model = mlp(DType::F64, 3);
    let before = values(&model);
    for (name, bytes) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let (p, reason) = checkpoint_reason(checkpoint::load(&mut model, &path));
        assert_eq!(p, path);
        assert!(
            reason.starts_with("not a valid safetensors file"),
            "{name}: {reason}"
        );
        assert_eq!(values(&model), before);
    }
}

#[test]
fn missing_files_and_directories_are_io_errors_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let absent = dir.path().join("absent.safetensors");
    let mut model = mlp(DType::F32, 0);
    assert!(matches!(
        checkpoint::load(&mut model, &absent),
        Err(Error::Io { path, .. }) if path == absent
    ));
    let nowhere = dir.path().join("no/such/dir/m.safetensors");
    assert!(matches!(
        checkpoint::save(&model, &nowhere),
        Err(Error::Io { path, .. }) if path == nowhere
    ));
}
