//! [`Tensor`]: an n-dimensional, row-major array of `f32` or `f64` with shared storage.
//!
//! Plain tensor maths records nothing; the same methods on [`Var`](crate::Var) record
//! the op on a tape. The per-op methods (`add`, `tanh`, `matmul`, ...) live beside their
//! gradient rules in [`ops`](crate::ops); this module holds the type, its constructors
//! and the generic kernels they share.

mod argmax;
mod buf;
mod create;
pub(crate) mod crew;
mod display;
pub(crate) mod kernel;
pub(crate) mod pool;
pub(crate) mod reduce;
pub(crate) mod simd;
mod transpose16;

#[doc(hidden)]
pub use buf::Buf;

use crate::{DType, Element, Error, Result, Shape};

/// Element storage: inline up to 16 bytes, else shared (cloning a tensor clones the
/// `Arc`, not the data).
#[doc(hidden)]
#[derive(Clone)]
pub enum Storage {
    /// `f32` data.
    F32(Buf<f32, 4>),
    /// `f64` data.
    F64(Buf<f64, 2>),
}

/// An n-dimensional array with a runtime [`DType`].
///
/// Always contiguous and row-major. Clones are cheap: they share the storage, which is
/// copied only when one of them is written to (copy on write). A tensor of at most 16
/// bytes of data (four `f32` or two `f64`) holds its elements inline instead, and a
/// clone copies them.
///
/// ```
/// use gradflow_autograd::{Tensor, DType};
/// let t = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])?;
/// assert_eq!(t.dims(), &[2, 3]);
/// assert_eq!(t.dtype(), DType::F32);
/// assert_eq!(t.sum_all().to_scalar::<f32>()?, 21.0);
/// # Ok::<(), gradflow_autograd::Error>(())
/// ```
#[derive(Clone)]
pub struct Tensor {
    storage: Storage,
    shape: Shape,
}

/// Applies a generic expression to the tensor's data slice, whichever its dtype.
/// `$v` is bound to `&[f32]` or `&[f64]`; the body must compile for both.
macro_rules! with_slice {
    ($tensor:expr, |$v:ident| $body:expr) => {
        match $tensor.storage_ref() {
            $crate::tensor::Storage::F32(data) => {
                let $v: &[f32] = data;
                $body
            }
            $crate::tensor::Storage::F64(data) => {
                let $v: &[f64] = data;
                $body
            }
        }
    };
}
pub(crate) use with_slice;

impl Tensor {
    /// Builds a tensor from a storage and a shape whose element count matches
    /// (checked by every caller; the kernels produce exactly `shape.numel()` values).
    pub(crate) fn from_storage(storage: Storage, shape: Shape) -> Tensor {
        debug_assert_eq!(storage_len(&storage), shape.numel());
        Tensor { storage, shape }
    }

    /// Wraps a vector produced by a kernel whose length is `shape.numel()` by construction.
    pub(crate) fn from_kernel<T: Element>(data: Vec<T>, shape: Shape) -> Tensor {
        Tensor::from_storage(T::wrap(data), shape)
    }

    /// A tensor of `shape` whose `shape.numel()` elements `it` yields, written straight
    /// into the storage (inline for a small tensor: no allocation).
    #[inline]
    pub(crate) fn from_iter_kernel<T: Element>(
        shape: Shape,
        it: impl Iterator<Item = T>,
    ) -> Tensor {
        Tensor {
            storage: T::wrap_iter(shape.numel(), it),
            shape,
        }
    }

    pub(crate) fn storage_ref(&self) -> &Storage {
        &self.storage
    }

    /// A tensor from a vector of values and a shape.
    ///
    /// # Errors
    /// [`Error::DataLength`] if `data.len()` is not the shape's element count.
    pub fn from_vec<T: Element>(data: Vec<T>, shape: impl Into<Shape>) -> Result<Tensor> {
        let shape = shape.into();
        if data.len() != shape.numel() {
            return Err(Error::DataLength {
                op: "from_vec",
                shape,
                len: data.len(),
            });
        }
        Ok(Tensor::from_kernel(data, shape))
    }

    /// A tensor copied from a slice of values and a shape.
    ///
    /// # Errors
    /// [`Error::DataLength`] if `data.len()` is not the shape's element count.
    pub fn from_slice<T: Element>(data: &[T], shape: impl Into<Shape>) -> Result<Tensor> {
        Tensor::from_vec(data.to_vec(), shape)
    }

    /// A 0-dimensional tensor holding one value.
    pub fn scalar<T: Element>(value: T) -> Tensor {
        Tensor::from_iter_kernel(Shape::scalar(), std::iter::once(value))
    }

    /// The shape.
    pub fn shape(&self) -> &Shape {
        &self.shape
    }

    /// The dimension sizes.
    pub fn dims(&self) -> &[usize] {
        self.shape.dims()
    }

    /// Number of dimensions.
    pub fn ndim(&self) -> usize {
        self.shape.ndim()
    }

    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.shape.numel()
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        match self.storage {
            Storage::F32(_) => DType::F32,
            Storage::F64(_) => DType::F64,
        }
    }

    /// Whether two tensors share the same storage (clones of one another). A tensor
    /// whose elements are inline (at most 16 bytes of them) shares them with no other
    /// tensor, its clones included: they hold copies.
    pub fn shares_storage_with(&self, other: &Tensor) -> bool {
        match (&self.storage, &other.storage) {
            (Storage::F32(a), Storage::F32(b)) => a.same_memory(b),
            (Storage::F64(a), Storage::F64(b)) => a.same_memory(b),
            _ => false,
        }
    }

    /// Whether no other tensor shares this one's storage, so that writing to it
    /// ([`Tensor::as_mut_slice`]) copies nothing. Gradient rules use it to compute in
    /// place ([`Op::backward_owned`](crate::Op::backward_owned)).
    pub fn is_unique(&mut self) -> bool {
        match &mut self.storage {
            Storage::F32(a) => a.is_unique(),
            Storage::F64(a) => a.is_unique(),
        }
    }

    /// The data as a slice, if the tensor's dtype is `T`.
    ///
    /// # Errors
    /// [`Error::DType`] if the dtype is not `T`.
    pub fn as_slice<T: Element>(&self) -> Result<&[T]> {
        T::view(&self.storage).ok_or(Error::DType {
            op: "as_slice",
            actual: self.dtype(),
            requested: T::DTYPE,
        })
    }

    /// The data as a mutable slice, if the tensor's dtype is `T`. Copies the storage
    /// first if another tensor shares it (copy on write), so no other tensor changes.
    ///
    /// # Errors
    /// [`Error::DType`] if the dtype is not `T`.
    pub fn as_mut_slice<T: Element>(&mut self) -> Result<&mut [T]> {
        let actual = self.dtype();
        T::view_mut(&mut self.storage).ok_or(Error::DType {
            op: "as_mut_slice",
            actual,
            requested: T::DTYPE,
        })
    }

    /// The values as a vector of `T`. Reading `f32` data as `f64` is exact and allowed;
    /// reading `f64` data as `f32` would round and is an error.
    ///
    /// # Errors
    /// [`Error::DType`] when asking for `f32` from an `f64` tensor.
    pub fn to_vec<T: Element>(&self) -> Result<Vec<T>> {
        if let Some(v) = T::view(&self.storage) {
            return Ok(v.to_vec());
        }
        match (&self.storage, T::DTYPE) {
            (Storage::F32(v), DType::F64) => Ok(v.iter().map(|&x| T::of(x as f64)).collect()),
            _ => Err(Error::DType {
                op: "to_vec",
                actual: self.dtype(),
                requested: T::DTYPE,
            }),
        }
    }

    /// The values as `f64`, whatever the dtype (always exact).
    pub fn to_f64_vec(&self) -> Vec<f64> {
        with_slice!(self, |v| v.iter().map(|&x| x.f64()).collect())
    }

    /// The single value of a one-element tensor (any shape with one element).
    ///
    /// # Errors
    /// [`Error::Shape`] if the tensor does not hold exactly one element;
    /// [`Error::DType`] as for [`Tensor::to_vec`].
    pub fn to_scalar<T: Element>(&self) -> Result<T> {
        if self.numel() != 1 {
            return Err(Error::shape(
                "to_scalar",
                &[&self.shape],
                format!("needs exactly one element, the tensor has {}", self.numel()),
            ));
        }
        Ok(self.to_vec::<T>()?[0])
    }

    /// Element `i` of the flattened tensor, as `f64`.
    ///
    /// # Errors
    /// [`Error::Index`] if `i >= numel`.
    pub fn get_f64(&self, i: usize) -> Result<f64> {
        let len = self.numel();
        with_slice!(self, |v| v.get(i).map(|x| x.f64())).ok_or(Error::Index {
            op: "get_f64",
            index: i,
            len,
        })
    }

    /// A copy converted to `dtype` (a cheap clone if it already is).
    pub fn to_dtype(&self, dtype: DType) -> Tensor {
        if self.dtype() == dtype {
            return self.clone();
        }
        match (&self.storage, dtype) {
            (Storage::F32(v), DType::F64) => {
                Tensor::from_kernel(v.iter().map(|&x| x as f64).collect(), self.shape.clone())
            }
            (Storage::F64(v), DType::F32) => {
                Tensor::from_kernel(v.iter().map(|&x| x as f32).collect(), self.shape.clone())
            }
            _ => self.clone(),
        }
    }

    /// The same data with another shape of the same element count. Shares storage.
    ///
    /// # Errors
    /// [`Error::Shape`] if the element counts differ.
    pub fn reshape(&self, shape: impl Into<Shape>) -> Result<Tensor> {
        let shape = shape.into();
        if shape.numel() != self.numel() {
            return Err(Error::shape(
                "reshape",
                &[&self.shape, &shape],
                format!(
                    "cannot reshape {} elements into {} elements",
                    self.numel(),
                    shape.numel()
                ),
            ));
        }
        Ok(Tensor {
            storage: self.storage.clone(),
            shape,
        })
    }

    /// Whether every element is finite (no NaN, no infinity).
    pub fn all_finite(&self) -> bool {
        with_slice!(self, |v| v.iter().all(|x| x.is_finite()))
    }

    /// Flat index and value of the first NaN or infinity, if any.
    pub fn first_non_finite(&self) -> Option<(usize, f64)> {
        with_slice!(self, |v| v
            .iter()
            .position(|x| !x.is_finite())
            .map(|i| (i, v[i].f64())))
    }
}

impl Drop for Tensor {
    /// Gives a large buffer that nothing else shares to the pool of reusable buffers
    /// (see `tensor::pool`); everything else is freed as usual.
    fn drop(&mut self) {
        match &mut self.storage {
            Storage::F32(a) => {
                if let Some(v) = a.take_poolable(pool::POOL_MIN) {
                    pool::give(v);
                }
            }
            Storage::F64(a) => {
                if let Some(v) = a.take_poolable(pool::POOL_MIN) {
                    pool::give(v);
                }
            }
        }
    }
}

fn storage_len(storage: &Storage) -> usize {
    match storage {
        Storage::F32(v) => v.len(),
        Storage::F64(v) => v.len(),
    }
}
