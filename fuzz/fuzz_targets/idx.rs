//! Fuzz target `idx`: A length-prefixed pair of IDX files into `gradflow_nn::data::parse_idx`.
//! The body, and how it reads its bytes, is `gradflow_fuzz::idx` (src/targets.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gradflow_fuzz::idx(data));
