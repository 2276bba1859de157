//! The fuzz targets on stable Rust, for CI (which has no cargo-fuzz): each target
//! replays every committed input (`fuzz/corpus/<target>/`, minimised by `cargo fuzz
//! cmin`; `fuzz/regressions/<target>/`, every crash the fuzzers found, kept after the
//! fix; and the hand-written `fuzz/seeds/<target>/`) and the seeds built below, then
//! runs a bounded, seeded mutation loop over them (bit flips, byte insertions and
//! deletions, truncations, splices of two inputs, interesting integers such as
//! 0xFFFFFFFF written into headers), through the very functions `cargo fuzz` runs
//! (`fuzz/src/targets.rs`, included here).
//!
//! Each input must neither panic nor make any single allocation above
//! [`ALLOCATION_LIMIT`] (a counting global allocator records the largest request per
//! thread). A failing input is printed and written to `target/fuzz-replay-failures/`;
//! `cargo +nightly fuzz run <target> <file>` reproduces it under libFuzzer.
//!
//! `GRADFLOW_FUZZ_ITERATIONS=N` changes the number of mutated inputs per target
//! (default [`DEFAULT_ITERATIONS`]); `GRADFLOW_WRITE_FUZZ_SEEDS=1` rewrites
//! `fuzz/seeds/` from [`seeds`]. See docs/fuzzing.md.
#![expect(
    unsafe_code,
    reason = "a global allocator that records request sizes: it forwards to System"
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{Read, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

#[path = "../fuzz/src/targets.rs"]
mod targets;

use gradflow_autograd::{Activation, DType};
use gradflow_nn::checkpoint;
use gradflow_nn::init::Init;

/// The largest single allocation any input may make (64 MiB): far above what the small
/// inputs here need, far below what a header claiming billions of elements would ask.
const ALLOCATION_LIMIT: usize = 64 << 20;

/// Mutated inputs per target when `GRADFLOW_FUZZ_ITERATIONS` is not set.
const DEFAULT_ITERATIONS: usize = 20_000;

thread_local! {
    /// The largest allocation request on this thread since the last reset. A `const`
    /// thread-local of a type without `Drop` needs no allocation or destructor of its
    /// own, so the allocator may use it.
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

/// The largest request on any thread, a backstop for allocations on threads that a
/// target might start.
static LARGEST_ANYWHERE: AtomicUsize = AtomicUsize::new(0);

struct Recording;

impl Recording {
    fn record(size: usize) {
        let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
        LARGEST_ANYWHERE.fetch_max(size, Ordering::Relaxed);
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; the
// recording only compares and stores sizes.
unsafe impl GlobalAlloc for Recording {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        Recording::record(layout.size());
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        Recording::record(layout.size());
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        Recording::record(new_size);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Recording = Recording;

/// splitmix64: a small seeded generator, so every run mutates the same way.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}

/// Values that break size arithmetic: zero, one, the edges of signed and unsigned
/// widths, and a few sizes near limits the loaders know (safetensors' 100 MB header).
const INTERESTING: [u64; 16] = [
    0,
    1,
    0x7F,
    0x80,
    0xFF,
    0x7FFF,
    0xFFFF,
    0x7FFF_FFFF,
    0x8000_0000,
    0xFFFF_FFFF,
    0x1_0000_0000,
    100_000_000,
    0x7FFF_FFFF_FFFF_FFFF,
    0x8000_0000_0000_0000,
    u64::MAX,
    u64::MAX - 7,
];

/// Bytes that mean something to the text formats.
const INTERESTING_BYTES: [u8; 12] = [
    0, b'\n', b'\r', b',', b';', b':', b'-', b'.', b'e', b'9', 0x1f, 0x8b,
];

/// One to four random mutations of `input`; `pool` supplies the other half of splices.
fn mutate(rng: &mut Rng, input: &[u8], pool: &[Vec<u8>]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        match rng.below(9) {
            0 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] ^= 1 << rng.below(8);
            }
            1 => {
                let at = rng.below(out.len() + 1);
                let n = 1 + rng.below(4);
                let bytes: Vec<u8> = (0..n).map(|_| rng.byte()).collect();
                out.splice(at..at, bytes);
            }
            2 if !out.is_empty() => {
                let at = rng.below(out.len());
                let end = (at + 1 + rng.below(8)).min(out.len());
                out.drain(at..end);
            }
            3 => out.truncate(rng.below(out.len() + 1)),
            4 if !pool.is_empty() => {
                let other = &pool[rng.below(pool.len())];
                let cut = rng.below(out.len() + 1);
                let from = rng.below(other.len() + 1);
                out.truncate(cut);
                out.extend_from_slice(&other[from..]);
            }
            5 => {
                // An interesting integer, 1, 2, 4 or 8 bytes, either endianness, half the
                // time in the first 32 bytes where the headers are.
                let value = INTERESTING[rng.below(INTERESTING.len())];
                let width = 1 << rng.below(4);
                let bytes = if rng.below(2) == 0 {
                    value.to_le_bytes()[..width].to_vec()
                } else {
                    value.to_be_bytes()[8 - width..].to_vec()
                };
                let span = if rng.below(2) == 0 {
                    out.len().min(32)
                } else {
                    out.len()
                };
                let at = rng.below(span + 1);
                let end = (at + width).min(out.len());
                out.splice(at..end, bytes);
            }
            6 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] = INTERESTING_BYTES[rng.below(INTERESTING_BYTES.len())];
            }
            7 if !out.is_empty() => {
                // Repeat a chunk (a CSV row, an IDX record) somewhere else.
                let at = rng.below(out.len());
                let end = (at + 1 + rng.below(64)).min(out.len());
                let chunk = out[at..end].to_vec();
                let to = rng.below(out.len() + 1);
                out.splice(to..to, chunk);
            }
            _ => {
                if let Some(b) = out.last_mut() {
                    *b = rng.byte();
                }
            }
        }
    }
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).expect("writing to a Vec");
    enc.finish().expect("writing to a Vec")
}

/// An IDX file of unsigned bytes: magic `00 00 08 ndims`, big-endian sizes, data.
fn idx_file(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        out.extend(d.to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The hand-written seeds of each target, by file name; `fuzz/seeds/` holds the same
/// (rewritten by `GRADFLOW_WRITE_FUZZ_SEEDS=1`).
fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let named = |items: Vec<(&str, Vec<u8>)>| {
        items
            .into_iter()
            .map(|(n, b)| (n.to_string(), b))
            .collect::<Vec<_>>()
    };
    match target {
        "csv" => {
            // The first eight rows of the shipped digits file: 64 pixels, then the label.
            let digits = std::fs::read(root().join("crates/nn/data/digits.csv.gz"))
                .expect("the shipped digits file");
            let mut text = Vec::new();
            flate2::read::MultiGzDecoder::new(&digits[..])
                .read_to_end(&mut text)
                .expect("the shipped digits file decompresses");
            let rows: Vec<&[u8]> = text.split(|&b| b == b'\n').take(8).collect();
            let digits8 = [rows.join(&b'\n'), b"\n".to_vec()].concat();
            // Options byte: bit 0 header, bits 1-2 label column, 3-4 delimiter, 5 f64,
            // 6-7 class count (fuzz/src/targets.rs).
            named(vec![
                ("digits8.csv", targets::csv_input(0, &digits8)),
                ("digits8.csv.gz", targets::csv_input(0, &gzip(&digits8))),
                (
                    "digits8_ten_classes_f64.csv",
                    [vec![0x60, 10], digits8.clone()].concat(),
                ),
                (
                    "header_label_first_semicolon_f64.csv",
                    targets::csv_input(
                        1 | (1 << 1) | (1 << 3) | 0x20,
                        b"label;a;b\n1;0.5;2\n0;1.5;-3\n",
                    ),
                ),
                (
                    "label_column_1.csv",
                    [vec![2 << 1, 1], b"1,7,2\n3,8,4\n".to_vec()].concat(),
                ),
                (
                    "crlf_blank_lines.csv",
                    targets::csv_input(0, b"\r\n1, 2 ,3.0\r\n\n4,5,0\n\n"),
                ),
                (
                    "tab_separated.csv",
                    targets::csv_input(2 << 3, b"0.25\t-1e3\t2\n7\t8\t0\n"),
                ),
                ("ragged.csv", targets::csv_input(0, b"1,2,0\n3,1\n")),
                ("empty.csv", targets::csv_input(0, b"")),
            ])
        }
        "idx" => {
            let images = idx_file(
                &[3, 2, 2],
                &[0, 255, 51, 102, 10, 20, 30, 40, 255, 255, 0, 0],
            );
            let labels = idx_file(&[3], &[4, 0, 9]);
            named(vec![
                ("tiny.idx", targets::idx_input(&images, &labels)),
                (
                    "tiny_gzip.idx",
                    targets::idx_input(&gzip(&images), &gzip(&labels)),
                ),
                (
                    "tiny_images_gzip.idx",
                    targets::idx_input(&gzip(&images), &labels),
                ),
                (
                    "header_claims_4g_images.idx",
                    targets::idx_input(&idx_file(&[u32::MAX, 28, 28], &[0; 784]), &labels),
                ),
                (
                    "label_count_mismatch.idx",
                    targets::idx_input(&images, &idx_file(&[2], &[1, 2])),
                ),
            ])
        }
        "checkpoint" => {
            let save =
                |m: &dyn gradflow_nn::Module| checkpoint::to_bytes(m).expect("a valid model saves");
            let deeper = gradflow_nn::Mlp::builder(3, &[4, 4], 2)
                .activation(Activation::Relu)
                .dtype(DType::F64)
                .build()
                .expect("a valid model");
            let no_bias = gradflow_nn::Mlp::builder(3, &[4], 2)
                .bias(false)
                .dtype(DType::F64)
                .build()
                .expect("a valid model");
            let torch =
                std::fs::read(root().join("crates/nn/tests/golden/checkpoint_torch.safetensors"))
                    .expect("the golden checkpoint");
            named(vec![
                (
                    "model_f64.safetensors",
                    save(&targets::checkpoint_model(DType::F64)),
                ),
                (
                    "model_f32.safetensors",
                    save(&targets::checkpoint_model(DType::F32)),
                ),
                ("pytorch.safetensors", torch),
                ("deeper_model.safetensors", save(&deeper)),
                ("no_bias.safetensors", save(&no_bias)),
            ])
        }
        "activation_name" => {
            let mut names: Vec<String> = Activation::all().map(|a| a.to_string()).collect();
            names.extend(Init::catalogue().iter().map(|i| i.to_string()));
            names.extend(
                [
                    "linear",
                    "Logistic",
                    "LeakyReLU:0.2",
                    "leaky-relu: 1e-3",
                    "softmax:0",
                    "log_softmax:-2",
                    "celu:2",
                    "softplus:0.5",
                    "prelu",
                    "he:auto",
                    "xavier:2",
                    "orthogonal:1.5",
                    "normal:0,0.02",
                    "uniform:-1,1",
                    "constant:0.5",
                    "kaiming_uniform",
                    "f32",
                    "f64",
                ]
                .map(String::from),
            );
            names.sort();
            names.dedup();
            names
                .into_iter()
                .map(|n| (n.replace([':', ',', ' '], "_"), n.into_bytes()))
                .collect()
        }
        "cli" => {
            let lines: [(&str, &[&str]); 14] = [
                ("default", &[]),
                (
                    "grid",
                    &[
                        "--activation",
                        "relu,sigmoid",
                        "--depth",
                        "10,30",
                        "--seed",
                        "0,1,2",
                    ],
                ),
                (
                    "digits_adam",
                    &[
                        "--dataset",
                        "digits",
                        "--optimiser",
                        "adam:0.001",
                        "--steps",
                        "2000",
                    ],
                ),
                ("shard", &["--shard", "3/8", "--out", "sweep/shard3"]),
                (
                    "merge",
                    &["merge", "sweep/shard1", "sweep/shard2", "--out", "sweep"],
                ),
                ("gallery", &["gallery", "--activation", "tanh,elu:0.5"]),
                (
                    "probe",
                    &["probe", "--activation", "tanh", "--depth", "30", "--json"],
                ),
                (
                    "theory",
                    &["theory", "--activation", "tanh", "--init", "xavier"],
                ),
                (
                    "theory_sigmas",
                    &["theory", "--sigma-w2", "2", "--sigma-b2", "0.05"],
                ),
                ("help", &["--help"]),
                ("version", &["--version"]),
                (
                    "specs",
                    &[
                        "--dataset",
                        "idx:a.idx,b.idx,csv:c.csv",
                        "--optimiser",
                        "sgd:0.1,0.9,adam:0.001",
                        "--lr",
                        "0.01",
                    ],
                ),
                (
                    "study_flags",
                    &[
                        "study",
                        "--threads",
                        "2",
                        "--resume",
                        "--dtype",
                        "f32",
                        "--batch",
                        "64",
                        "--samples",
                        "500",
                        "--probe-every",
                        "5",
                        "--init",
                        "he,lecun",
                        "--width",
                        "32",
                    ],
                ),
                ("typo", &["--activaton", "relu"]),
            ];
            lines
                .iter()
                .map(|(n, args)| (n.to_string(), targets::cli_input(args)))
                .collect()
        }
        other => panic!("no seeds for target {other}"),
    }
}

/// Every file in `dir` (none if it does not exist), sorted by name.
fn files_in(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<(String, Vec<u8>)> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_file())
        .map(|e| {
            let path = e.path();
            let bytes = std::fs::read(&path).expect("a readable corpus file");
            (path.display().to_string(), bytes)
        })
        .collect();
    files.sort();
    files
}

/// Runs one input; describes the failure, if any.
fn run_one(body: fn(&[u8]), input: &[u8]) -> Option<String> {
    LARGEST.with(|l| l.set(0));
    let outcome = catch_unwind(AssertUnwindSafe(|| body(input)));
    let largest = LARGEST.with(Cell::get);
    match outcome {
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "a panic".to_string());
            Some(format!("panicked: {message}"))
        }
        Ok(()) if largest > ALLOCATION_LIMIT => Some(format!(
            "allocated {largest} bytes at once (limit {ALLOCATION_LIMIT})"
        )),
        Ok(()) => None,
    }
}

/// Saves a failing input where `cargo fuzz run` can be pointed at it.
fn save_failure(target: &str, input: &[u8]) -> PathBuf {
    // FNV-1a, for a stable file name.
    let hash = input.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let dir = root().join("target/fuzz-replay-failures");
    let path = dir.join(format!("{target}-{hash:016x}"));
    let _ = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, input));
    path
}

fn iterations() -> usize {
    std::env::var("GRADFLOW_FUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_ITERATIONS)
}

/// Replays the target's committed corpus, seed files and built seeds, then mutates them.
fn replay(target: &str) {
    let body = targets::TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .map(|(_, body)| *body)
        .expect("a known target");
    let seeds = seeds(target);
    if std::env::var_os("GRADFLOW_WRITE_FUZZ_SEEDS").is_some() {
        let dir = root().join("fuzz/seeds").join(target);
        std::fs::create_dir_all(&dir).expect("creating fuzz/seeds");
        for (name, bytes) in &seeds {
            std::fs::write(dir.join(name), bytes).expect("writing a seed");
        }
    }
    let mut inputs = files_in(&root().join("fuzz/corpus").join(target));
    let committed = inputs.len();
    inputs.extend(files_in(&root().join("fuzz/regressions").join(target)));
    inputs.extend(files_in(&root().join("fuzz/seeds").join(target)));
    inputs.extend(
        seeds
            .into_iter()
            .map(|(n, b)| (format!("built seed {n}"), b)),
    );

    let start = Instant::now();
    let mut failures = Vec::new();
    for (name, input) in &inputs {
        if let Some(why) = run_one(body, input) {
            failures.push(format!("{target}: {name}: {why}"));
        }
    }
    let pool: Vec<Vec<u8>> = inputs.into_iter().map(|(_, b)| b).collect();
    let mut rng = Rng(0x6772_6164_666c_6f77 ^ target.len() as u64);
    let n = iterations();
    for _ in 0..n {
        let base = &pool[rng.below(pool.len())];
        let input = mutate(&mut rng, base, &pool);
        if let Some(why) = run_one(body, &input) {
            let saved = save_failure(target, &input);
            failures.push(format!(
                "{target}: mutated input {:?} (saved as {}): {why}",
                input.escape_ascii().to_string(),
                saved.display()
            ));
        }
        if failures.len() >= 5 {
            break;
        }
    }
    eprintln!(
        "{target}: {} corpus files, {} seeds, {n} mutations in {:.2?}",
        committed,
        pool.len() - committed,
        start.elapsed()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(committed > 0, "fuzz/corpus/{target} is empty or missing");
    let anywhere = LARGEST_ANYWHERE.load(Ordering::Relaxed);
    assert!(
        anywhere <= ALLOCATION_LIMIT,
        "an allocation of {anywhere} bytes on another thread"
    );
}

#[test]
fn csv_replays_its_corpus_and_mutations_without_panic_or_huge_allocation() {
    replay("csv");
}

#[test]
fn idx_replays_its_corpus_and_mutations_without_panic_or_huge_allocation() {
    replay("idx");
}

#[test]
fn checkpoint_replays_its_corpus_and_mutations_without_panic_or_huge_allocation() {
    replay("checkpoint");
}

#[test]
fn activation_name_replays_its_corpus_and_mutations_without_panic_or_huge_allocation() {
    replay("activation_name");
}

#[test]
fn cli_replays_its_corpus_and_mutations_without_panic_or_huge_allocation() {
    replay("cli");
}

#[test]
fn the_replay_covers_every_target() {
    let names: Vec<&str> = targets::TARGETS.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        ["csv", "idx", "checkpoint", "activation_name", "cli"]
    );
    for name in names {
        assert!(
            root()
                .join("fuzz/fuzz_targets")
                .join(format!("{name}.rs"))
                .is_file(),
            "fuzz/fuzz_targets/{name}.rs is missing"
        );
        assert!(!seeds(name).is_empty());
    }
}
