//! Element types: the runtime [`DType`] tag and the [`Element`] trait that lets every
//! kernel be written once for `f32` and `f64`.

use std::fmt;

use num_traits::{Float, FloatConst, FromPrimitive, ToPrimitive};

/// The element type of a [`Tensor`](crate::Tensor), chosen at run time.
///
/// `F32` is the default (what networks train in); `F64` is for gradient checks and
/// precise work.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    /// 32-bit IEEE 754 float.
    #[default]
    F32,
    /// 64-bit IEEE 754 float.
    F64,
}

impl DType {
    /// Size of one element in bytes.
    pub fn size_in_bytes(self) -> usize {
        match self {
            DType::F32 => 4,
            DType::F64 => 8,
        }
    }

    /// The short name, as PyTorch prints it without the `torch.` prefix.
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::F64 => "f64",
        }
    }

    /// Machine epsilon of the type (the gap between 1 and the next float).
    pub fn epsilon(self) -> f64 {
        match self {
            DType::F32 => f32::EPSILON as f64,
            DType::F64 => f64::EPSILON,
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for DType {
    type Err = crate::Error;

    fn from_str(s: &str) -> crate::Result<Self> {
        match s {
            "f32" | "float32" => Ok(DType::F32),
            "f64" | "float64" => Ok(DType::F64),
            _ => Err(crate::Error::Parse {
                what: "dtype",
                input: s.to_string(),
                reason: "unknown dtype".into(),
                valid: "f32, f64".into(),
            }),
        }
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// A scalar type a tensor can hold: `f32` or `f64`.
///
/// Kernels are generic over `Element`, so each formula is written once. The trait is
/// sealed: the engine's dtype dispatch knows exactly these two types.
pub trait Element:
    Float
    + FloatConst
    + FromPrimitive
    + ToPrimitive
    + Default
    + fmt::Debug
    + fmt::Display
    + Send
    + Sync
    + 'static
    + std::iter::Sum
    + std::ops::AddAssign
    + std::ops::SubAssign
    + std::ops::MulAssign
    + std::ops::DivAssign
    + sealed::Sealed
{
    /// The runtime tag of this type.
    const DTYPE: DType;

    /// Converts from `f64`, rounding to nearest.
    fn of(x: f64) -> Self;

    /// Converts to `f64` (exact for both types).
    fn f64(self) -> f64;

    /// The error function, accurate to about 1 ulp (`libm`'s port of FreeBSD's msun).
    fn erf(self) -> Self;

    /// The complementary error function `1 - erf(x)`, accurate in the tail.
    fn erfc(self) -> Self;

    #[doc(hidden)]
    fn wrap(data: Vec<Self>) -> crate::tensor::Storage;

    #[doc(hidden)]
    fn wrap_iter(n: usize, it: impl Iterator<Item = Self>) -> crate::tensor::Storage;

    #[doc(hidden)]
    fn wrap_filled(n: usize, x: Self) -> crate::tensor::Storage;

    #[doc(hidden)]
    fn view(storage: &crate::tensor::Storage) -> Option<&[Self]>;

    #[doc(hidden)]
    fn view_mut(storage: &mut crate::tensor::Storage) -> Option<&mut [Self]>;

    #[doc(hidden)]
    fn pool() -> &'static crate::tensor::pool::Pool<Self>;
}

impl Element for f32 {
    const DTYPE: DType = DType::F32;

    #[inline(always)]
    fn of(x: f64) -> Self {
        x as f32
    }

    #[inline(always)]
    fn f64(self) -> f64 {
        self as f64
    }

    #[inline]
    fn erf(self) -> Self {
        libm::erff(self)
    }

    #[inline]
    fn erfc(self) -> Self {
        libm::erfcf(self)
    }

    fn wrap(data: Vec<Self>) -> crate::tensor::Storage {
        crate::tensor::Storage::F32(crate::tensor::Buf::from_vec(data))
    }

    #[inline]
    fn wrap_iter(n: usize, it: impl Iterator<Item = Self>) -> crate::tensor::Storage {
        crate::tensor::Storage::F32(crate::tensor::Buf::from_iter_exact(n, it))
    }

    fn wrap_filled(n: usize, x: Self) -> crate::tensor::Storage {
        crate::tensor::Storage::F32(crate::tensor::Buf::filled(n, x))
    }

    fn pool() -> &'static crate::tensor::pool::Pool<Self> {
        &crate::tensor::pool::F32
    }

    fn view(storage: &crate::tensor::Storage) -> Option<&[Self]> {
        match storage {
            crate::tensor::Storage::F32(v) => Some(v),
            crate::tensor::Storage::F64(_) => None,
        }
    }

    fn view_mut(storage: &mut crate::tensor::Storage) -> Option<&mut [Self]> {
        match storage {
            crate::tensor::Storage::F32(v) => Some(v.make_mut()),
            crate::tensor::Storage::F64(_) => None,
        }
    }
}

impl Element for f64 {
    const DTYPE: DType = DType::F64;

    #[inline(always)]
    fn of(x: f64) -> Self {
        x
    }

    #[inline(always)]
    fn f64(self) -> f64 {
        self
    }

    #[inline]
    fn erf(self) -> Self {
        libm::erf(self)
    }

    #[inline]
    fn erfc(self) -> Self {
        libm::erfc(self)
    }

    fn wrap(data: Vec<Self>) -> crate::tensor::Storage {
        crate::tensor::Storage::F64(crate::tensor::Buf::from_vec(data))
    }

    #[inline]
    fn wrap_iter(n: usize, it: impl Iterator<Item = Self>) -> crate::tensor::Storage {
        crate::tensor::Storage::F64(crate::tensor::Buf::from_iter_exact(n, it))
    }

    fn wrap_filled(n: usize, x: Self) -> crate::tensor::Storage {
        crate::tensor::Storage::F64(crate::tensor::Buf::filled(n, x))
    }

    fn pool() -> &'static crate::tensor::pool::Pool<Self> {
        &crate::tensor::pool::F64
    }

    fn view(storage: &crate::tensor::Storage) -> Option<&[Self]> {
        match storage {
            crate::tensor::Storage::F64(v) => Some(v),
            crate::tensor::Storage::F32(_) => None,
        }
    }

    fn view_mut(storage: &mut crate::tensor::Storage) -> Option<&mut [Self]> {
        match storage {
            crate::tensor::Storage::F64(v) => Some(v.make_mut()),
            crate::tensor::Storage::F32(_) => None,
        }
    }
}

impl serde::Serialize for DType {
    /// Serialised as its string form (`Display`), which `FromStr` reads back.
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for DType {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}
