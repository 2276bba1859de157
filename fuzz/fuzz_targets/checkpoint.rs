//! Fuzz target `checkpoint`: Safetensors bytes into `gradflow_nn::checkpoint::from_bytes` for a fixed small model.
//! The body, and how it reads its bytes, is `gradflow_fuzz::checkpoint` (src/targets.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gradflow_fuzz::checkpoint(data));
