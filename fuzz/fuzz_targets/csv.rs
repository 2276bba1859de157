//! Fuzz target `csv`: CSV bytes (after an options byte) into `gradflow_nn::data::parse_csv`.
//! The body, and how it reads its bytes, is `gradflow_fuzz::csv` (src/targets.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gradflow_fuzz::csv(data));
