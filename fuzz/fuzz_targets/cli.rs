//! Fuzz target `cli`: NUL-separated arguments into `gradflow_study::cli::parse`.
//! The body, and how it reads its bytes, is `gradflow_fuzz::cli` (src/targets.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gradflow_fuzz::cli(data));
