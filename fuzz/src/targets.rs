//! The bodies of gradflow's fuzz targets, shared by `cargo fuzz` (each
//! `fuzz/fuzz_targets/<name>.rs` calls one function here) and by the replay test that CI
//! runs on stable (`tests/fuzz_replay.rs` includes this file with `#[path]`), so both
//! check exactly the same properties.
//!
//! Each target takes arbitrary bytes and panics only when a property fails: the library
//! must answer every input with a value or an error, never a panic, and an answer must
//! be consistent (an error names the input's source, a parsed name prints back to
//! itself, a failed load leaves the model as it was). How each target reads its bytes
//! is described on its function; [`TARGETS`] lists them all by name.

use std::path::Path;

use gradflow_autograd::{Activation, DType, Tensor};
use gradflow_nn::checkpoint::{self, LoadOptions};
use gradflow_nn::data::{CsvOptions, Dataset, LabelColumn, parse_csv, parse_idx};
use gradflow_nn::init::Init;
use gradflow_nn::module::named_parameters;
use gradflow_nn::{Error, Mlp, Module};

/// A target's body: takes the fuzzer's bytes, panics only when a property fails.
pub type Body = fn(&[u8]);

/// Every target, by the name `cargo fuzz run` knows it as, with its body.
pub const TARGETS: [(&str, Body); 5] = [
    ("csv", csv),
    ("idx", idx),
    ("checkpoint", checkpoint),
    ("activation_name", activation_name),
    ("cli", cli),
];

/// The name the `csv` target gives its input; every error must name it.
pub const CSV_NAME: &str = "fuzz.csv";
/// The name the `idx` target gives the images part of its input.
pub const IMAGES_NAME: &str = "fuzz-images.idx";
/// The name the `idx` target gives the labels part of its input.
pub const LABELS_NAME: &str = "fuzz-labels.idx";

/// Takes bytes from the front of a slice, running out gracefully.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    fn u64(&mut self) -> u64 {
        (0..8).fold(0, |acc, i| acc | (u64::from(self.byte()) << (8 * i)))
    }

    fn usize(&mut self) -> usize {
        usize::try_from(self.u64()).unwrap_or(usize::MAX)
    }
}

/// The options byte (and the parameters that follow it) at the front of a `csv` input.
///
/// Bit 0: header. Bits 1-2: label column (0 last, 1 first, 2 the index in the next
/// byte, 3 the index in the next 8 bytes, little-endian). Bits 3-4: delimiter (`,`,
/// `;`, tab, space). Bit 5: f64 (else f32). Bits 6-7: class count (0 and 3 inferred,
/// 1 the next byte, 2 the next 8 bytes).
fn csv_options(r: &mut Reader<'_>) -> CsvOptions {
    let flags = r.byte();
    let mut options = CsvOptions::default().header(flags & 1 != 0);
    options = match (flags >> 1) & 3 {
        0 => options.label_column(LabelColumn::Last),
        1 => options.label_column(LabelColumn::First),
        2 => options.label_column(LabelColumn::Index(usize::from(r.byte()))),
        _ => options.label_column(LabelColumn::Index(r.usize())),
    };
    options = options.delimiter(b",;\t "[usize::from((flags >> 3) & 3)]);
    if flags & 0x20 != 0 {
        options = options.dtype(DType::F64);
    }
    match flags >> 6 {
        1 => options.num_classes(usize::from(r.byte())),
        2 => options.num_classes(r.usize()),
        _ => options,
    }
}

/// Builds a `csv` input: the options byte (see the target), then the file's bytes.
pub fn csv_input(flags: u8, file: &[u8]) -> Vec<u8> {
    let mut out = vec![flags];
    out.extend_from_slice(file);
    out
}

/// Checks that `e` is a data error naming one of `names` at a line or offset.
fn assert_data_error(e: &Error, names: &[&str]) {
    match e {
        Error::Data { path, location, .. } => {
            assert!(
                names.iter().any(|n| path == Path::new(n)),
                "the error names {path:?}, not one of {names:?}: {e}"
            );
            assert!(
                location.starts_with("line ") || location.starts_with("offset "),
                "bad location {location:?}: {e}"
            );
        }
        other => panic!("expected Error::Data naming {names:?}, got {other:?}"),
    }
    let text = e.to_string();
    assert!(
        names.iter().any(|n| text.starts_with(&format!("{n}:"))),
        "the message does not start with the source name: {text}"
    );
    assert_one_line(&text);
}

/// Checks that an error message is one printable line: text from the input (a cell, a
/// tensor name, an argument) must be quoted with its control characters escaped, never
/// copied raw (a newline splits the message, a carriage return or an escape sequence
/// rewrites the terminal's line).
fn assert_one_line(text: &str) {
    assert!(
        !text.chars().any(char::is_control),
        "a control character in the error: {text:?}"
    );
}

/// Checks the shape and labels of a loaded classification set.
fn assert_consistent(d: &Dataset, name: &str) {
    assert_eq!(d.name(), name);
    let n = d.len();
    assert!(n > 0, "a loaded data set has rows");
    assert_eq!(d.features().dims(), [n, d.num_features()]);
    let (Some(labels), Some(k)) = (d.labels(), d.num_classes()) else {
        panic!("a loaded data set has class labels");
    };
    assert_eq!(labels.len(), n);
    assert!(labels.iter().all(|&l| l < k), "a label is out of range");
    assert!(
        d.features().to_f64_vec().iter().all(|v| v.is_finite()),
        "a feature is not finite"
    );
}

/// `csv`: an options byte (see [`csv_input`]; a label column or class count may follow
/// it), then the bytes of a CSV file, plain or gzip, into
/// [`parse_csv`](gradflow_nn::data::parse_csv).
///
/// Properties: a data set is consistent (rows, labels below the class count, finite
/// features); an error is a one-line [`Error::Data`] naming [`CSV_NAME`] at a line.
pub fn csv(data: &[u8]) {
    let mut r = Reader(data);
    let options = csv_options(&mut r);
    match parse_csv(r.0, CSV_NAME, &options) {
        Ok(d) => assert_consistent(&d, "fuzz"),
        Err(e) => assert_data_error(&e, &[CSV_NAME]),
    }
}

/// Builds an `idx` input: the images file's length (2 bytes, little-endian), its bytes,
/// then the labels file's bytes.
///
/// # Panics
/// If the images file is longer than 65,535 bytes.
pub fn idx_input(images: &[u8], labels: &[u8]) -> Vec<u8> {
    let len = u16::try_from(images.len()).expect("internal: an idx seed's images fit in 64 KiB");
    let mut out = len.to_le_bytes().to_vec();
    out.extend_from_slice(images);
    out.extend_from_slice(labels);
    out
}

/// `idx`: two IDX files (see [`idx_input`]; a length past the end takes everything as
/// the images) into [`parse_idx`](gradflow_nn::data::parse_idx).
///
/// Properties: a data set is consistent, with pixels in [0, 1]; an error is an
/// one-line [`Error::Data`] naming [`IMAGES_NAME`] or [`LABELS_NAME`] at an offset.
pub fn idx(data: &[u8]) {
    let mut r = Reader(data);
    let len = usize::from(u16::from_le_bytes([r.byte(), r.byte()]));
    let (images, labels) = r.0.split_at(len.min(r.0.len()));
    match parse_idx(images, IMAGES_NAME, labels, LABELS_NAME) {
        Ok(d) => {
            assert_consistent(&d, "fuzz-images");
            assert!(
                d.features()
                    .to_f64_vec()
                    .iter()
                    .all(|v| (0.0..=1.0).contains(v)),
                "a pixel is outside [0, 1]"
            );
        }
        Err(e) => assert_data_error(&e, &[IMAGES_NAME, LABELS_NAME]),
    }
}

/// The model the `checkpoint` target loads into: 3 -> 4 (tanh) -> 2, the architecture
/// of the golden checkpoints in `crates/nn/tests/golden`.
///
/// # Panics
/// Never: the builder's settings are fixed and valid.
pub fn checkpoint_model(dtype: DType) -> Mlp {
    Mlp::builder(3, &[4], 2)
        .activation(Activation::Tanh)
        .dtype(dtype)
        .seed(7)
        .build()
        .expect("internal: a fixed, valid model")
}

/// Every parameter's name and bits (bits, so that a NaN equals itself).
fn parameter_bits(model: &dyn Module) -> Vec<(String, Vec<u64>)> {
    named_parameters(model)
        .into_iter()
        .map(|(name, p)| {
            let bits = p.value().to_f64_vec().iter().map(|v| v.to_bits()).collect();
            (name, bits)
        })
        .collect()
}

/// `checkpoint`: the bytes of a safetensors file into
/// [`checkpoint::from_bytes`](gradflow_nn::checkpoint::from_bytes), twice: for the f64
/// [`checkpoint_model`] refusing extra tensors, and for the f32 one allowing them.
///
/// Properties: an error is a one-line [`Error::Checkpoint`] naming `<memory>`, and the
/// model is unchanged after it; after a success the model saves to bytes that load back into a
/// fresh model bit for bit.
pub fn checkpoint(data: &[u8]) {
    for (dtype, allow_extra) in [(DType::F64, false), (DType::F32, true)] {
        let mut model = checkpoint_model(dtype);
        let before = parameter_bits(&model);
        let options = LoadOptions::default().allow_extra(allow_extra);
        match checkpoint::from_bytes(&mut model, data, &options) {
            Ok(()) => {
                let saved = match checkpoint::to_bytes(&model) {
                    Ok(bytes) => bytes,
                    Err(e) => panic!("a loaded model does not save: {e}"),
                };
                let mut fresh = checkpoint_model(dtype);
                if let Err(e) = checkpoint::from_bytes(&mut fresh, &saved, &options) {
                    panic!("a saved model does not load: {e}");
                }
                assert_eq!(parameter_bits(&fresh), parameter_bits(&model));
            }
            Err(e) => {
                assert!(
                    matches!(&e, Error::Checkpoint { path, .. } if path == Path::new("<memory>")),
                    "expected Error::Checkpoint naming <memory>, got {e:?}"
                );
                assert_one_line(&e.to_string());
                assert_eq!(
                    parameter_bits(&model),
                    before,
                    "a failed load changed the model: {e}"
                );
            }
        }
    }
}

/// `activation_name`: the bytes as text (invalid UTF-8 replaced) parsed as an
/// [`Activation`], an [`Init`] and a [`DType`]; whatever parses is used on a small
/// tensor (an activation applied and differentiated, an initialiser drawn for a matrix
/// and a vector).
///
/// Properties: what parses prints (`Display`) as text that parses back to an equal
/// value; using it gives a value or an error, never a panic.
pub fn activation_name(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(a) = text.parse::<Activation>() {
        let printed = a.to_string();
        match printed.parse::<Activation>() {
            Ok(back) => assert_eq!(back, a, "{text:?} printed as {printed:?}"),
            Err(e) => panic!("{text:?} printed as {printed:?}, which does not parse: {e}"),
        }
        let _ = a.info();
        let x = Tensor::from_vec(vec![-30.0f64, -1.0, -0.0, 0.5, 2.0, 700.0], [2, 3]);
        if let Ok(x) = x {
            let _ = a.apply_tensor(&x);
            let _ = a.apply_tensor(&x.to_dtype(DType::F32));
            let _ = a.derivative(&x);
        }
    }
    if let Ok(init) = text.parse::<Init>() {
        let printed = init.to_string();
        match printed.parse::<Init>() {
            Ok(back) => assert_eq!(back, init, "{text:?} printed as {printed:?}"),
            Err(e) => panic!("{text:?} printed as {printed:?}, which does not parse: {e}"),
        }
        let _ = init.tensor(&[4, 3], DType::F32, Some(Activation::Relu), 0);
        let _ = init.tensor(&[3], DType::F64, None, 0);
    }
    if let Ok(dtype) = text.parse::<DType>() {
        assert_eq!(dtype.name().parse::<DType>().ok(), Some(dtype));
    }
}

/// The program name the `cli` target puts before its arguments.
pub const PROGRAM: &str = "gradflow";

/// The arguments of a `cli` input: the bytes split at NUL bytes, after [`PROGRAM`].
pub fn cli_args(data: &[u8]) -> Vec<std::ffi::OsString> {
    let mut args = vec![std::ffi::OsString::from(PROGRAM)];
    if !data.is_empty() {
        args.extend(data.split(|&b| b == 0).map(os_string));
    }
    args
}

/// Builds a `cli` input from arguments (without the program name).
pub fn cli_input(args: &[&str]) -> Vec<u8> {
    args.join("\0").into_bytes()
}

#[cfg(unix)]
fn os_string(bytes: &[u8]) -> std::ffi::OsString {
    // Arguments need not be UTF-8 on Unix: pass the bytes as they are.
    std::os::unix::ffi::OsStringExt::from_vec(bytes.to_vec())
}

#[cfg(not(unix))]
fn os_string(bytes: &[u8]) -> std::ffi::OsString {
    String::from_utf8_lossy(bytes).into_owned().into()
}

/// `cli`: the bytes split at NUL bytes into arguments (see [`cli_args`]) into
/// [`gradflow_study::cli::parse`]. Nothing is run.
///
/// Properties: help and version text is not empty; an error is one line (the command
/// line's promise); a study's grid and training settings pass their own validation.
pub fn cli(data: &[u8]) {
    use gradflow_study::cli::Command;
    match gradflow_study::cli::parse(cli_args(data)) {
        Ok(Command::Print(text)) => assert!(!text.trim().is_empty(), "empty help text"),
        Ok(Command::Study(s)) => {
            assert!(s.config.grid.validate().is_ok(), "{:?}", s.config.grid);
            assert!(
                s.config.training.validate().is_ok(),
                "{:?}",
                s.config.training
            );
        }
        Ok(_) => {}
        Err(e) => {
            let text = e.to_string();
            assert_one_line(&text);
            assert!(!text.is_empty(), "an empty error");
        }
    }
}
