//! Reading the golden JSON files that `golden/gen_*.py` write: a list of floats, and a
//! tensor as `{"shape": [...], "data": [...]}` (f64).
#![expect(
    clippy::unwrap_used,
    reason = "in tests a malformed golden file is a failed test"
)]

use gradflow_autograd::Tensor;
use serde_json::Value;

/// A JSON array of numbers.
pub fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// A JSON object `{"shape": [...], "data": [...]}` as an f64 tensor.
pub fn tensor(v: &Value) -> Tensor {
    let shape: Vec<usize> = v["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    Tensor::from_vec(floats(&v["data"]), shape).unwrap()
}
