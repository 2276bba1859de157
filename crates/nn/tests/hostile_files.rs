//! Hostile files, the cases the fuzz targets look for, written down: checkpoints that are
//! corrupted byte by byte, truncated at every length, made for another model, or whose
//! header claims more data than there is; a CSV with a ragged row; IDX headers that lie
//! about their sizes. Each is an error naming the file (a model is left unchanged), and
//! a size claimed by a header is checked before anything is allocated for it (a
//! recording global allocator measures the largest request).
//!
//! `data_files.rs` and `checkpoint.rs` check each error message in detail; this file
//! checks the properties over many variants, and that the file loaders and the byte
//! parsers they call give the same answers.
#![expect(
    clippy::unwrap_used,
    reason = "in tests a failed unwrap is a failed test"
)]
#![expect(
    unsafe_code,
    reason = "a global allocator that records request sizes: it forwards to System"
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Write;
use std::path::Path;

use gradflow_autograd::{Activation, DType};
use gradflow_nn::checkpoint::{self, LoadOptions};
use gradflow_nn::data::{CsvOptions, load_csv, load_idx, parse_csv, parse_idx};
use gradflow_nn::module::named_parameters;
use gradflow_nn::{Error, Mlp, Module};

thread_local! {
    /// The largest allocation request on this thread since the last reset (a `const`
    /// thread-local without `Drop`: using it allocates nothing).
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

struct Recording;

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; the
// recording only compares and stores sizes.
unsafe impl GlobalAlloc for Recording {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = LARGEST.try_with(|l| l.set(l.get().max(layout.size())));
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = LARGEST.try_with(|l| l.set(l.get().max(new_size)));
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Recording = Recording;

/// `f`'s result and the largest single allocation it made on this thread.
fn largest_allocation<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LARGEST.with(|l| l.set(0));
    let out = f();
    (out, LARGEST.with(Cell::get))
}

/// The most any of these small files may allocate at once while being refused: the
/// gzip decoder's window and tables, a copy of the file, the message. A header's claim
/// (terabytes here) is nowhere near.
const SMALL: usize = 1 << 20;

#[test]
fn the_recording_allocator_sees_a_large_allocation() {
    let (v, largest) = largest_allocation(|| vec![0u8; 2 * SMALL]);
    assert_eq!(v.len(), 2 * SMALL);
    assert!(largest >= 2 * SMALL);
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

// ---------------------------------------------------------------- checkpoints

/// 3 -> 4 (tanh) -> 2, the model every checkpoint here is loaded into.
fn model() -> Mlp {
    Mlp::builder(3, &[4], 2)
        .activation(Activation::Tanh)
        .dtype(DType::F64)
        .seed(3)
        .build()
        .unwrap()
}

/// Every parameter's name and bits.
fn bits(m: &dyn Module) -> Vec<(String, Vec<u64>)> {
    named_parameters(m)
        .into_iter()
        .map(|(n, p)| {
            (
                n,
                p.value().to_f64_vec().iter().map(|v| v.to_bits()).collect(),
            )
        })
        .collect()
}

/// The reason of an [`Error::Checkpoint`] naming `path`, whose message must be one line
/// starting `checkpoint <path>: `; any other outcome fails.
fn refused(result: Result<(), Error>, path: &Path) -> String {
    match result {
        Err(e @ Error::Checkpoint { .. }) => {
            let message = e.to_string();
            assert!(!message.contains('\n'), "a multi-line error: {message:?}");
            assert!(
                message.starts_with(&format!("checkpoint {}: ", path.display())),
                "{message}"
            );
            let Error::Checkpoint { reason, .. } = e else {
                unreachable!("matched above")
            };
            reason
        }
        other => panic!("expected Error::Checkpoint naming {path:?}, got {other:?}"),
    }
}

/// The length of a safetensors file's header (the 8-byte length, then the JSON).
fn header_end(file: &[u8]) -> usize {
    8 + u64::from_le_bytes(file[..8].try_into().unwrap()) as usize
}

#[test]
fn every_corruption_of_a_checkpoint_header_is_refused_and_changes_nothing() {
    let good = checkpoint::to_bytes(&model()).unwrap();
    let mut m = model();
    let before = bits(&m);
    let memory = Path::new("<memory>");
    // Every such change breaks the length, the JSON, a name, a dtype ("f64" is not
    // "F64"), a shape or an offset, and each of those is refused. (A change in the data
    // after the header cannot be seen: safetensors has no checksum.)
    for i in 0..header_end(&good) {
        for mask in [0x01, 0x20, 0xFF] {
            let mut bad = good.clone();
            bad[i] ^= mask;
            let result = checkpoint::from_bytes(&mut m, &bad, &LoadOptions::default());
            refused(result, memory);
            assert_eq!(bits(&m), before, "byte {i} ^ {mask:#04x} changed the model");
        }
    }
}

#[test]
fn a_checkpoint_cut_at_every_length_is_refused_naming_the_file_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let good = checkpoint::to_bytes(&model()).unwrap();
    let mut m = model();
    let before = bits(&m);
    for len in 0..good.len() {
        let result = checkpoint::from_bytes(&mut m, &good[..len], &LoadOptions::default());
        let reason = refused(result, Path::new("<memory>"));
        assert!(
            reason.starts_with("not a valid safetensors file"),
            "cut at {len}: {reason}"
        );
        assert_eq!(bits(&m), before);
    }
    // The file loader says the same, naming the file.
    for len in [0, 7, 8, header_end(&good) - 1, good.len() - 1] {
        let path = write(dir.path(), &format!("cut{len}.safetensors"), &good[..len]);
        let reason = refused(checkpoint::load(&mut m, &path), &path);
        let from_bytes = refused(
            checkpoint::from_bytes(&mut m, &good[..len], &LoadOptions::default()),
            Path::new("<memory>"),
        );
        assert_eq!(reason, from_bytes);
        assert_eq!(bits(&m), before);
    }
}

#[test]
fn a_checkpoint_of_another_model_is_refused_naming_every_mismatch_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // Deeper (an extra hidden layer) and of another dtype: every kind of mismatch at once.
    let deeper = Mlp::builder(3, &[4, 4], 2)
        .activation(Activation::Relu)
        .dtype(DType::F32)
        .build()
        .unwrap();
    let path = dir.path().join("deeper.safetensors");
    checkpoint::save(&deeper, &path).unwrap();
    let mut m = model();
    let before = bits(&m);
    let reason = refused(checkpoint::load(&mut m, &path), &path);
    for expected in [
        "does not fit the model",
        "parameter layers.0.weight: expected dtype f64, found f32",
        "parameter layers.2.weight: expected dtype f64, found f32",
        "parameter layers.2.weight: expected shape [2, 4], found [4, 4]",
        "parameter layers.2.bias: expected shape [2], found [4]",
        "no parameter for 2 tensor(s) of the file: layers.4.bias, layers.4.weight",
    ] {
        assert!(reason.contains(expected), "{expected:?} not in: {reason}");
    }
    assert_eq!(bits(&m), before);
    // Allowing extra tensors does not make the rest fit.
    let reason = refused(
        checkpoint::load_with(&mut m, &path, &LoadOptions::default().allow_extra(true)),
        &path,
    );
    assert!(!reason.contains("layers.4"), "{reason}");
    assert_eq!(bits(&m), before);
}

#[test]
fn a_checkpoint_header_claiming_huge_sizes_is_refused_before_allocating() {
    let mut m = model();
    let before = bits(&m);
    let header = |json: &str| {
        let mut file = (json.len() as u64).to_le_bytes().to_vec();
        file.extend(json.as_bytes());
        file
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "a header length of 2^64 - 1",
            u64::MAX.to_le_bytes().to_vec(),
        ),
        ("a header length past the file", {
            let mut f = 1_000_000u64.to_le_bytes().to_vec();
            f.extend(b"{}");
            f
        }),
        (
            "a tensor of 2^40 elements",
            header(
                "{\"layers.0.weight\":{\"dtype\":\"F64\",\"shape\":[1099511627776],\
                 \"data_offsets\":[0,8796093022208]}}",
            ),
        ),
        (
            "a shape whose product overflows",
            header(
                "{\"x\":{\"dtype\":\"F64\",\"shape\":[4294967296,4294967296],\
                 \"data_offsets\":[0,8]}}",
            ),
        ),
    ];
    for (what, file) in cases {
        let (result, largest) =
            largest_allocation(|| checkpoint::from_bytes(&mut m, &file, &LoadOptions::default()));
        let reason = refused(result, Path::new("<memory>"));
        assert!(
            reason.starts_with("not a valid safetensors file"),
            "{what}: {reason}"
        );
        assert!(largest < SMALL, "{what}: allocated {largest} bytes at once");
        assert_eq!(bits(&m), before);
    }
}

// ---------------------------------------------------------------- CSV

#[test]
fn a_ragged_csv_is_refused_alike_from_a_file_and_from_bytes_plain_or_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &[u8], &str); 3] = [
        (
            "short.csv",
            b"1,2,0\n3,4,1\n5,1\n",
            "line 3: expected 3 columns (as on line 1), found 2",
        ),
        (
            "long.csv",
            b"\n1,2,0\n3,4,1,9\n",
            "line 3: expected 3 columns (as on line 2), found 4",
        ),
        (
            "trailing_comma.csv",
            b"1,2,0\n3,4,1,\n",
            "line 2: expected 3 columns (as on line 1), found 4",
        ),
    ];
    for (name, text, expected) in cases {
        for (file_name, bytes) in [
            (name.to_string(), text.to_vec()),
            (format!("{name}.gz"), gzip(text)),
        ] {
            let path = write(dir.path(), &file_name, &bytes);
            let from_file = load_csv(&path, &CsvOptions::default())
                .unwrap_err()
                .to_string();
            assert_eq!(from_file, format!("{}:{expected}", path.display()));
            let from_bytes = parse_csv(&bytes, &path, &CsvOptions::default())
                .unwrap_err()
                .to_string();
            assert_eq!(from_bytes, from_file);
        }
    }
}

// ---------------------------------------------------------------- IDX

/// An IDX file of unsigned bytes: magic `00 00 08 ndims`, big-endian sizes, data.
fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        out.extend(d.to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

#[test]
fn an_idx_header_that_lies_about_its_size_is_refused_before_allocating() {
    let dir = tempfile::tempdir().unwrap();
    let images = idx(&[2, 2, 2], &[0, 1, 2, 3, 4, 5, 6, 7]);
    let labels = idx(&[2], &[1, 0]);
    let max = u32::MAX;
    // (what, images, labels, the file the error must name)
    let cases: [(&str, Vec<u8>, Vec<u8>, &str); 5] = [
        (
            "4,294,967,295 images of 28x28",
            idx(&[max, 28, 28], &[0; 784]),
            labels.clone(),
            "images",
        ),
        (
            "one image of 4,294,967,295 x 4,294,967,295 pixels",
            idx(&[1, max, max], &[0; 16]),
            labels.clone(),
            "images",
        ),
        (
            "sizes whose product wraps a u64",
            idx(&[max, max, max], &[0; 16]),
            labels.clone(),
            "images",
        ),
        (
            "4,294,967,295 labels",
            images.clone(),
            idx(&[max], &[1, 0]),
            "labels",
        ),
        (
            "65,536 labels in a file of two",
            images.clone(),
            idx(&[65_536], &[1, 0]),
            "labels",
        ),
    ];
    for (what, img, lbl, culprit) in cases {
        for gz in [false, true] {
            let (img, lbl) = if gz {
                (gzip(&img), gzip(&lbl))
            } else {
                (img.clone(), lbl.clone())
            };
            let ip = write(dir.path(), "images.idx", &img);
            let lp = write(dir.path(), "labels.idx", &lbl);
            let (from_file, largest) = largest_allocation(|| load_idx(&ip, &lp));
            let from_file = from_file.unwrap_err();
            assert!(largest < SMALL, "{what}: allocated {largest} bytes at once");
            let Error::Data { path, reason, .. } = &from_file else {
                panic!("{what}: expected Error::Data, got {from_file:?}");
            };
            let expected_path = if culprit == "images" { &ip } else { &lp };
            assert_eq!(path, expected_path, "{what}");
            assert!(reason.contains("the data is truncated"), "{what}: {reason}");
            assert!(!from_file.to_string().contains('\n'), "{what}: {from_file}");
            let (from_bytes, largest) = largest_allocation(|| parse_idx(&img, &ip, &lbl, &lp));
            assert!(largest < SMALL, "{what}: allocated {largest} bytes at once");
            assert_eq!(from_bytes.unwrap_err().to_string(), from_file.to_string());
        }
    }
}
