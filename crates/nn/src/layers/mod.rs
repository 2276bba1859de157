//! Layers: one file each.

pub mod activation;
pub mod conv;
pub mod dropout;
pub mod flatten;
pub mod linear;
pub mod mlp;
pub mod norm;
pub mod pool;
pub mod residual;
pub mod rnn;
pub mod sequential;
