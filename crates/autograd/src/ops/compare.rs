//! Elementwise comparisons with broadcasting: `gt`, `ge`, `lt`, `le`, `eq_mask`.
//!
//! Each returns a mask of `1.0` where the comparison holds and `0.0` where it does not,
//! in the operands' dtype, so it can be multiplied in or passed as the condition of
//! [`Var::where_`]. A comparison with NaN is false, as in IEEE and PyTorch. Masks are
//! piecewise constant, so comparisons have no gradient: on Vars they return a plain
//! [`Tensor`] and record nothing. PyTorch: `torch.gt`, `ge`, `lt`, `le`, `eq` (which
//! return `bool` tensors).
//!
//! ```
//! use gradflow_autograd::Tensor;
//! let x = Tensor::from_vec(vec![-1.0f32, 0.0, 2.0], &[3])?;
//! let zero = Tensor::scalar(0.0f32);
//! assert_eq!(x.gt(&zero)?.to_vec::<f32>()?, vec![0.0, 0.0, 1.0]);
//! assert_eq!(x.le(&zero)?.to_vec::<f32>()?, vec![1.0, 1.0, 0.0]);
//! # Ok::<(), gradflow_autograd::Error>(())
//! ```

use crate::tensor::kernel::{self, BinaryFn};
use crate::{Element, Result, Tensor, Var};

macro_rules! comparison {
    ($kernel:ident, $op:tt) => {
        #[derive(Clone, Copy)]
        struct $kernel;
        impl BinaryFn for $kernel {
            #[inline(always)]
            fn eval<T: Element>(self, a: T, b: T) -> T {
                if a $op b { T::one() } else { T::zero() }
            }
        }
    };
}

comparison!(GtFn, >);
comparison!(GeFn, >=);
comparison!(LtFn, <);
comparison!(LeFn, <=);
comparison!(EqFn, ==);

impl Tensor {
    /// Mask of `self > rhs` (1.0 or 0.0), broadcasting.
    ///
    /// # Shapes
    /// Any two shapes that broadcast; the mask has the broadcast shape.
    ///
    /// # Errors
    /// [`Error::Broadcast`](crate::Error::Broadcast) or
    /// [`Error::DTypeMismatch`](crate::Error::DTypeMismatch).
    pub fn gt(&self, rhs: &Tensor) -> Result<Tensor> {
        kernel::zip("gt", self, rhs, GtFn)
    }

    /// Mask of `self >= rhs` (1.0 or 0.0), broadcasting.
    ///
    /// # Shapes
    /// Any two shapes that broadcast; the mask has the broadcast shape.
    ///
    /// # Errors
    /// As [`Tensor::gt`].
    pub fn ge(&self, rhs: &Tensor) -> Result<Tensor> {
        kernel::zip("ge", self, rhs, GeFn)
    }

    /// Mask of `self < rhs` (1.0 or 0.0), broadcasting.
    ///
    /// # Shapes
    /// Any two shapes that broadcast; the mask has the broadcast shape.
    ///
    /// # Errors
    /// As [`Tensor::gt`].
    pub fn lt(&self, rhs: &Tensor) -> Result<Tensor> {
        kernel::zip("lt", self, rhs, LtFn)
    }

    /// Mask of `self <= rhs` (1.0 or 0.0), broadcasting.
    ///
    /// # Shapes
    /// Any two shapes that broadcast; the mask has the broadcast shape.
    ///
    /// # Errors
    /// As [`Tensor::gt`].
    pub fn le(&self, rhs: &Tensor) -> Result<Tensor> {
        kernel::zip("le", self, rhs, LeFn)
    }

    /// Mask of `self == rhs` (1.0 or 0.0), broadcasting. Named `eq_mask` so as not to be
    /// confused with a whole-tensor equality test.
    ///
    /// # Shapes
    /// Any two shapes that broadcast; the mask has the broadcast shape.
    ///
    /// # Errors
    /// As [`Tensor::gt`].
    pub fn eq_mask(&self, rhs: &Tensor) -> Result<Tensor> {
        kernel::zip("eq_mask", self, rhs, EqFn)
    }
}

impl Var {
    /// Mask of `self > rhs` on the values; not recorded (see the [module docs](crate::ops::compare)).
    ///
    /// # Shapes
    /// Any two shapes that broadcast; the mask has the broadcast shape.
    ///
    /// # Errors
    /// As [`Tensor::gt`].
    pub fn gt(&self, rhs: &Var) -> Result<Tensor> {
        self.value().gt(rhs.value())
    }

    /// Mask of `self >= rhs` on the values; not recorded.
    ///
    /// # Shapes
    /// Any two shapes that broadcast; the mask has the broadcast shape.
    ///
    /// # Errors
    /// As [`Tensor::gt`].
    pub fn ge(&self, rhs: &Var) -> Result<Tensor> {
        self.value().ge(rhs.value())
    }

    /// Mask of `self < rhs` on the values; not recorded.
    ///
    /// # Shapes
    /// Any two shapes that broadcast; the mask has the broadcast shape.
    ///
    /// # Errors
    /// As [`Tensor::gt`].
    pub fn lt(&self, rhs: &Var) -> Result<Tensor> {
        self.value().lt(rhs.value())
    }

    /// Mask of `self <= rhs` on the values; not recorded.
    ///
    /// # Shapes
    /// Any two shapes that broadcast; the mask has the broadcast shape.
    ///
    /// # Errors
    /// As [`Tensor::gt`].
    pub fn le(&self, rhs: &Var) -> Result<Tensor> {
        self.value().le(rhs.value())
    }

    /// Mask of `self == rhs` on the values; not recorded.
    ///
    /// # Shapes
    /// Any two shapes that broadcast; the mask has the broadcast shape.
    ///
    /// # Errors
    /// As [`Tensor::gt`].
    pub fn eq_mask(&self, rhs: &Var) -> Result<Tensor> {
        self.value().eq_mask(rhs.value())
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::*;
    use crate::{DType, Error, Tape};

    #[test]
    fn comparisons_give_masks_of_the_operand_dtype_with_broadcasting() {
        let a = t64(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
        let b = t64(&[2.0, 2.0, 5.0], &[3]);
        assert_eq!(
            a.gt(&b).unwrap().to_vec::<f64>().unwrap(),
            vec![0.0, 0.0, 0.0, 1.0, 1.0, 1.0]
        );
        assert_eq!(
            a.ge(&b).unwrap().to_vec::<f64>().unwrap(),
            vec![0.0, 1.0, 0.0, 1.0, 1.0, 1.0]
        );
        assert_eq!(
            a.lt(&b).unwrap().to_vec::<f64>().unwrap(),
            vec![1.0, 0.0, 1.0, 0.0, 0.0, 0.0]
        );
        assert_eq!(
            a.le(&b).unwrap().to_vec::<f64>().unwrap(),
            vec![1.0, 1.0, 1.0, 0.0, 0.0, 0.0]
        );
        assert_eq!(
            a.eq_mask(&b).unwrap().to_vec::<f64>().unwrap(),
            vec![0.0, 1.0, 0.0, 0.0, 0.0, 0.0]
        );
        let m = b
            .to_dtype(DType::F32)
            .lt(&crate::Tensor::scalar(3.0f32))
            .unwrap();
        assert_eq!(m.dtype(), DType::F32);
        assert_eq!(m.dims(), &[3]);
    }

    #[test]
    fn every_comparison_with_nan_is_false() {
        let a = t64(&[f64::NAN, 1.0], &[2]);
        let b = t64(&[f64::NAN], &[1]);
        for m in [a.gt(&b), a.ge(&b), a.lt(&b), a.le(&b), a.eq_mask(&b)] {
            assert_eq!(m.unwrap().to_vec::<f64>().unwrap(), vec![0.0, 0.0]);
        }
    }

    #[test]
    fn comparisons_on_vars_record_nothing() {
        let tape = Tape::new();
        let x = tape.var(t64(&[1.0, -1.0], &[2]));
        let zero = tape.constant(t64(&[0.0], &[1]));
        let before = tape.len();
        assert_eq!(
            x.gt(&zero).unwrap().to_vec::<f64>().unwrap(),
            vec![1.0, 0.0]
        );
        assert_eq!(
            x.le(&zero).unwrap().to_vec::<f64>().unwrap(),
            vec![0.0, 1.0]
        );
        assert_eq!(tape.len(), before);
    }

    #[test]
    fn comparisons_reject_mixed_dtypes_and_shapes_that_do_not_broadcast() {
        let a = t64(&[1.0, 2.0], &[2]);
        let err = a.ge(&a.to_dtype(DType::F32)).unwrap_err();
        assert!(
            matches!(err, Error::DTypeMismatch { op: "ge", .. }),
            "{err}"
        );
        let err = a.lt(&t64(&[1.0, 2.0, 3.0], &[3])).unwrap_err().to_string();
        assert!(
            err.starts_with("lt: shapes [2] and [3] do not broadcast"),
            "{err}"
        );
    }
}
