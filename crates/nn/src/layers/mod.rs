//! Layers: one file each.

pub mod activation;
pub mod flatten;
pub mod linear;
pub mod mlp;
pub mod sequential;
