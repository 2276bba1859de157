//! [`Buf`]: the elements of one tensor, inline when there are few of them.
//!
//! A tensor of a handful of elements (a loss, a scalar of a 10,000-op chain, a bias of
//! two) keeps them inside the tensor itself: making one costs no allocation, dropping it
//! no free, and a clone copies 16 bytes. Per recorded op the heap case costs two
//! allocations (the `Vec`'s buffer and the `Arc` around it) and two frees, which were
//! most of the tape's per-op overhead on small tensors. Larger tensors keep an
//! `Arc<Vec<T>>`: clones share it and a write copies it first if it is shared (copy on
//! write), and the `Vec` can go back to the buffer pool (`tensor::pool`) when dropped.

use std::sync::Arc;

use crate::Element;

/// Element storage of one dtype: up to `N` elements inline, more in a shared `Vec`.
#[doc(hidden)]
#[derive(Clone)]
pub struct Buf<T, const N: usize>(Repr<T, N>);

#[derive(Clone)]
enum Repr<T, const N: usize> {
    /// The first `len` elements of `data` (the rest are zeros and never read). `len`
    /// is a `u32`, not a `u8`, so that both fields sit at aligned offsets: with a byte
    /// the copies of a clone overlapped and stalled store forwarding (`Tensor::clone`
    /// was 12% of a profile of the 10,000-op chain; a `u32` made the chain about 4%
    /// faster).
    Inline {
        len: u32,
        data: [T; N],
    },
    Heap(Arc<Vec<T>>),
}

impl<T: Element, const N: usize> Buf<T, N> {
    /// Storage for a kernel's output vector: its elements moved inline when they fit
    /// (and the vector freed), else the vector itself.
    pub(crate) fn from_vec(v: Vec<T>) -> Self {
        if v.len() <= N {
            let mut data = [T::zero(); N];
            data[..v.len()].copy_from_slice(&v);
            return Buf(Repr::Inline {
                len: v.len() as u32,
                data,
            });
        }
        Buf(Repr::Heap(Arc::new(v)))
    }

    /// Storage for exactly `n` elements produced by `it`, written straight into the
    /// inline array when `n` fits, so a small result never touches the allocator.
    /// `it` must yield exactly `n` elements, as every kernel does (the length of the
    /// heap vector is what `it` yields; the inline case reads at most `n`).
    #[inline]
    pub(crate) fn from_iter_exact(n: usize, it: impl Iterator<Item = T>) -> Self {
        if n <= N {
            let mut data = [T::zero(); N];
            for (d, x) in data[..n].iter_mut().zip(it) {
                *d = x;
            }
            return Buf(Repr::Inline {
                len: n as u32,
                data,
            });
        }
        let mut v = super::pool::take(n);
        v.extend(it);
        Buf(Repr::Heap(Arc::new(v)))
    }

    /// `n` copies of `x`.
    pub(crate) fn filled(n: usize, x: T) -> Self {
        if n <= N {
            let mut data = [T::zero(); N];
            data[..n].fill(x);
            return Buf(Repr::Inline {
                len: n as u32,
                data,
            });
        }
        Buf(Repr::Heap(Arc::new(vec![x; n])))
    }

    /// The elements, for writing: copies them first if another tensor shares them.
    #[inline]
    pub(crate) fn make_mut(&mut self) -> &mut [T] {
        match &mut self.0 {
            Repr::Inline { len, data } => &mut data[..*len as usize],
            Repr::Heap(a) => Arc::make_mut(a).as_mut_slice(),
        }
    }

    /// Whether no other tensor shares these elements (inline ones never are shared).
    #[inline]
    pub(crate) fn is_unique(&mut self) -> bool {
        match &mut self.0 {
            Repr::Inline { .. } => true,
            Repr::Heap(a) => Arc::get_mut(a).is_some(),
        }
    }

    /// Whether `self` and `other` are the same memory: clones of one heap buffer, or
    /// one inline buffer compared with itself.
    pub(crate) fn same_memory(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Repr::Heap(a), Repr::Heap(b)) => Arc::ptr_eq(a, b),
            (Repr::Inline { data: a, .. }, Repr::Inline { data: b, .. }) => std::ptr::eq(a, b),
            _ => false,
        }
    }

    /// The heap vector, if it is large enough for the buffer pool and nothing else
    /// shares it (left empty in its place).
    pub(crate) fn take_poolable(&mut self, min: usize) -> Option<Vec<T>> {
        match &mut self.0 {
            Repr::Heap(a) if a.capacity() >= min => Arc::get_mut(a).map(std::mem::take),
            _ => None,
        }
    }
}

impl<T, const N: usize> std::ops::Deref for Buf<T, N> {
    type Target = [T];

    #[inline]
    fn deref(&self) -> &[T] {
        match &self.0 {
            Repr::Inline { len, data } => &data[..*len as usize],
            Repr::Heap(a) => a.as_slice(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_buffers_are_inline_and_large_ones_shared() {
        let mut a: Buf<f32, 4> = Buf::from_vec(vec![1.0, 2.0, 3.0]);
        assert!(matches!(a.0, Repr::Inline { len: 3, .. }));
        assert_eq!(&*a, &[1.0, 2.0, 3.0]);
        let mut b = a.clone();
        b.make_mut()[0] = 7.0;
        assert_eq!((a[0], b[0]), (1.0, 7.0));
        assert!(a.is_unique() && !a.same_memory(&b) && a.same_memory(&a));

        let mut c: Buf<f64, 2> = Buf::from_iter_exact(5, (0..5).map(f64::from));
        assert!(matches!(c.0, Repr::Heap(_)));
        let d = c.clone();
        assert!(!c.is_unique() && c.same_memory(&d));
        c.make_mut()[4] = -1.0;
        assert_eq!((c[4], d[4]), (-1.0, 4.0));
        assert!(c.is_unique());
    }

    #[test]
    fn filled_and_empty_buffers() {
        let e: Buf<f32, 4> = Buf::from_iter_exact(0, std::iter::empty());
        assert!(e.is_empty());
        let f: Buf<f64, 2> = Buf::filled(2, 0.5);
        assert_eq!(&*f, &[0.5, 0.5]);
        let g: Buf<f64, 2> = Buf::filled(3, 0.5);
        assert_eq!(&*g, &[0.5, 0.5, 0.5]);
    }
}
