//! Fuzz target `activation_name`: Text into the `Activation`, `Init` and `DType` parsers, with a Display/FromStr round trip.
//! The body, and how it reads its bytes, is `gradflow_fuzz::activation_name` (src/targets.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gradflow_fuzz::activation_name(data));
