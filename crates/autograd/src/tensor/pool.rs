//! Reuse of large tensor buffers.
//!
//! A buffer of at least [`POOL_MIN`] elements whose tensor is dropped while nothing else
//! shares it is kept here (a few per dtype), and the next kernel that needs a buffer of
//! exactly that length takes it instead of asking the allocator. Large allocations are
//! otherwise fresh pages from the kernel (glibc maps them, and returns them on free
//! whenever the heap's top grows past its trim threshold): a 16 MiB output costs 4,096
//! page faults each time, more than an activation's whole pass over the data. The
//! training loops this engine runs allocate the same few sizes step after step, which is
//! what the pool serves; PyTorch's CUDA caching allocator does the same for device
//! memory.
//!
//! Kept buffers are only ever handed out empty (`len == 0`) with their capacity; every
//! kernel that takes one writes all its elements, so no stale value is ever read.

use std::sync::Mutex;

use crate::Element;

/// Buffers of at least this many elements are pooled (1 MiB of f32): below it, the
/// allocator's own free lists are fast and page faults are few.
pub(crate) const POOL_MIN: usize = 1 << 18;

/// Buffers kept per dtype; the oldest is freed when another is given back.
const KEEP: usize = 6;

/// The kept buffers of one dtype.
pub(crate) type Pool<T> = Mutex<Vec<Vec<T>>>;

pub(crate) static F32: Pool<f32> = Mutex::new(Vec::new());
pub(crate) static F64: Pool<f64> = Mutex::new(Vec::new());

/// An empty vector with capacity for `n` elements: a kept buffer of exactly that
/// capacity when there is one, else a new allocation.
pub(crate) fn take<T: Element>(n: usize) -> Vec<T> {
    if n >= POOL_MIN
        && let Ok(mut kept) = T::pool().lock()
        && let Some(i) = kept.iter().position(|v| v.capacity() == n)
    {
        let mut v = kept.swap_remove(i);
        v.clear();
        return v;
    }
    Vec::with_capacity(n)
}

/// A vector of `n` zeros, reusing a kept buffer when there is one.
pub(crate) fn zeros<T: Element>(n: usize) -> Vec<T> {
    if n < POOL_MIN {
        return vec![T::zero(); n];
    }
    let mut v = take(n);
    v.resize(n, T::zero());
    v
}

/// Keeps a large buffer for reuse (small ones are simply freed).
pub(crate) fn give<T: Element>(mut v: Vec<T>) {
    if v.capacity() < POOL_MIN {
        return;
    }
    if let Ok(mut kept) = T::pool().lock() {
        if kept.len() >= KEEP {
            kept.remove(0);
        }
        v.clear();
        kept.push(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DType, Tensor};

    #[test]
    fn a_dropped_large_buffer_is_reused_and_fully_rewritten() {
        let n = POOL_MIN + 3;
        let a = Tensor::full([n], 7.0, DType::F32);
        let ptr = a.as_slice::<f32>().map(|s| s.as_ptr()).ok();
        drop(a);
        // The kernel's output takes the kept buffer and writes every element.
        let x = Tensor::full([n], -2.0, DType::F32);
        let y = x.relu();
        assert_eq!(y.as_slice::<f32>().map(|s| s.as_ptr()).ok(), ptr);
        assert!(
            y.as_slice::<f32>()
                .unwrap_or_default()
                .iter()
                .all(|&v| v == 0.0)
        );
    }

    #[test]
    fn a_shared_buffer_is_not_kept() {
        let n = POOL_MIN + 5;
        let a = Tensor::full([n], 1.0, DType::F64);
        let b = a.clone();
        let ptr = a.as_slice::<f64>().map(|s| s.as_ptr()).ok();
        drop(a);
        let c = Tensor::full([n], 2.0, DType::F64).exp();
        assert_ne!(c.as_slice::<f64>().map(|s| s.as_ptr()).ok(), ptr);
        assert_eq!(b.as_slice::<f64>().unwrap_or_default()[0], 1.0);
    }
}
