//! Shapes, strides, axes and broadcasting.

use std::fmt;

use smallvec::SmallVec;

use crate::{Error, Result};

/// Dimension sizes, stored inline up to four dimensions (no allocation for the common case).
pub type Dims = SmallVec<[usize; 4]>;

/// The shape of a tensor: its dimension sizes, outermost first (row-major).
#[derive(Default)]
pub struct Shape(Dims);

impl PartialEq for Shape {
    /// Element by element, inline: the derived comparison calls `memcmp`, which for the
    /// one to four dimensions of almost every shape costs more than the comparison (and
    /// every recorded op and gradient compares shapes).
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len() && self.0.iter().zip(other.0.iter()).all(|(a, b)| a == b)
    }
}

impl Eq for Shape {}

impl std::hash::Hash for Shape {
    /// The dimension sizes as a slice (what the derived hash did, consistent with `eq`).
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.as_slice().hash(state);
    }
}

impl Clone for Shape {
    /// A copy of the dimension sizes. Every tensor op clones a shape or two: up to four
    /// dimensions are copied as one fixed-size array, in registers (the derived
    /// `SmallVec` clone goes element by element through an iterator, and a copy of
    /// `len` elements is a call to `memcpy`).
    #[inline]
    fn clone(&self) -> Self {
        let d = &self.0;
        let buf = match d.len() {
            0 => [0; 4],
            1 => [d[0], 0, 0, 0],
            2 => [d[0], d[1], 0, 0],
            3 => [d[0], d[1], d[2], 0],
            4 => [d[0], d[1], d[2], d[3]],
            _ => return Shape(Dims::from_slice(d)),
        };
        Shape(Dims::from_buf_and_len(buf, d.len()))
    }
}

impl Shape {
    /// A shape from dimension sizes.
    pub fn new(dims: &[usize]) -> Self {
        Shape(Dims::from_slice(dims))
    }

    /// The shape of a scalar (no dimensions, one element).
    pub fn scalar() -> Self {
        Shape(Dims::new())
    }

    /// The dimension sizes.
    pub fn dims(&self) -> &[usize] {
        &self.0
    }

    /// Number of dimensions.
    pub fn ndim(&self) -> usize {
        self.0.len()
    }

    /// Number of elements (1 for a scalar, 0 if any dimension is 0).
    pub fn numel(&self) -> usize {
        self.0.iter().product()
    }

    /// Row-major strides, in elements.
    pub fn strides(&self) -> Dims {
        let mut strides = Dims::from_elem(1, self.0.len());
        for i in (0..self.0.len().saturating_sub(1)).rev() {
            strides[i] = strides[i + 1] * self.0[i + 1];
        }
        strides
    }

    /// Turns a possibly negative axis (`-1` is the last) into an index, or an
    /// [`Error::Axis`] naming `op`.
    pub fn axis(&self, op: &'static str, axis: isize) -> Result<usize> {
        let ndim = self.ndim() as isize;
        let resolved = if axis < 0 { axis + ndim } else { axis };
        if resolved < 0 || resolved >= ndim {
            return Err(Error::Axis {
                op,
                axis,
                ndim: self.ndim(),
            });
        }
        Ok(resolved as usize)
    }

    /// Resolves a list of axes; the result is sorted and free of duplicates
    /// (a repeated axis is an error).
    pub fn axes(&self, op: &'static str, axes: &[isize]) -> Result<SmallVec<[usize; 4]>> {
        let mut out: SmallVec<[usize; 4]> = SmallVec::new();
        for &a in axes {
            let r = self.axis(op, a)?;
            if out.contains(&r) {
                return Err(Error::invalid(
                    op,
                    format!("axis {a} is given twice in {axes:?}"),
                ));
            }
            out.push(r);
        }
        out.sort_unstable();
        Ok(out)
    }

    /// The shape two shapes broadcast to (NumPy rules), or an [`Error::Broadcast`].
    pub fn broadcast(op: &'static str, lhs: &Shape, rhs: &Shape) -> Result<Shape> {
        if lhs == rhs {
            return Ok(lhs.clone());
        }
        let n = lhs.ndim().max(rhs.ndim());
        let mut dims = Dims::with_capacity(n);
        for i in 0..n {
            let a = dim_from_right(lhs, n - 1 - i);
            let b = dim_from_right(rhs, n - 1 - i);
            let d = match (a, b) {
                (a, b) if a == b => a,
                (1, b) => b,
                (a, 1) => a,
                _ => {
                    return Err(Error::Broadcast {
                        op,
                        lhs: lhs.clone(),
                        rhs: rhs.clone(),
                    });
                }
            };
            dims.push(d);
        }
        Ok(Shape(dims))
    }

    /// Whether `self` can be broadcast to `target` (every dimension equal or 1,
    /// aligned from the right).
    pub fn broadcasts_to(&self, target: &Shape) -> bool {
        if self.ndim() > target.ndim() {
            return false;
        }
        let offset = target.ndim() - self.ndim();
        self.0
            .iter()
            .zip(&target.0[offset..])
            .all(|(&a, &b)| a == b || a == 1)
    }

    /// The shape with `axes` (resolved, sorted) removed, or set to 1 with `keepdim`.
    pub fn reduced(&self, axes: &[usize], keepdim: bool) -> Shape {
        let mut dims = Dims::new();
        for (i, &d) in self.0.iter().enumerate() {
            if axes.contains(&i) {
                if keepdim {
                    dims.push(1);
                }
            } else {
                dims.push(d);
            }
        }
        Shape(dims)
    }
}

/// The size of dimension `i` counted from the right (0 is the last), or 1 past the front.
fn dim_from_right(shape: &Shape, i: usize) -> usize {
    if i < shape.ndim() {
        shape.0[shape.ndim() - 1 - i]
    } else {
        1
    }
}

impl fmt::Debug for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{d}")?;
        }
        f.write_str("]")
    }
}

impl From<&[usize]> for Shape {
    fn from(dims: &[usize]) -> Self {
        Shape::new(dims)
    }
}

impl<const N: usize> From<[usize; N]> for Shape {
    fn from(dims: [usize; N]) -> Self {
        Shape::new(&dims)
    }
}

impl<const N: usize> From<&[usize; N]> for Shape {
    fn from(dims: &[usize; N]) -> Self {
        Shape::new(dims)
    }
}

impl From<Vec<usize>> for Shape {
    fn from(dims: Vec<usize>) -> Self {
        Shape(Dims::from_vec(dims))
    }
}

impl From<Dims> for Shape {
    fn from(dims: Dims) -> Self {
        Shape(dims)
    }
}

impl From<&Shape> for Shape {
    fn from(shape: &Shape) -> Self {
        shape.clone()
    }
}

impl std::ops::Index<usize> for Shape {
    type Output = usize;

    /// Panics if `i >= ndim` (an internal indexing helper; user-facing code
    /// resolves axes with [`Shape::axis`] first).
    fn index(&self, i: usize) -> &usize {
        &self.0[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_follows_numpy_rules() {
        let a = Shape::new(&[4, 1, 3]);
        let b = Shape::new(&[5, 1]);
        assert_eq!(
            Shape::broadcast("t", &a, &b).unwrap(),
            Shape::new(&[4, 5, 3])
        );
        assert_eq!(
            Shape::broadcast("t", &Shape::scalar(), &b).unwrap(),
            Shape::new(&[5, 1])
        );
        assert_eq!(
            Shape::broadcast("t", &Shape::new(&[0, 3]), &Shape::new(&[1, 3])).unwrap(),
            Shape::new(&[0, 3])
        );
    }

    #[test]
    fn broadcast_rejects_unequal_non_one_dims() {
        let err = Shape::broadcast("add", &Shape::new(&[2, 3]), &Shape::new(&[4])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "add: shapes [2, 3] and [4] do not broadcast (trailing dimensions must be equal or 1)"
        );
    }

    #[test]
    fn negative_axes_count_from_the_end() {
        let s = Shape::new(&[2, 3, 4]);
        assert_eq!(s.axis("t", -1).unwrap(), 2);
        assert_eq!(s.axis("t", 0).unwrap(), 0);
        let err = s.axis("sum", 3).unwrap_err();
        assert_eq!(
            err.to_string(),
            "sum: axis 3 is out of range for a 3-D tensor (valid: -3 to 2)"
        );
        assert!(s.axis("t", -4).is_err());
    }

    #[test]
    fn strides_are_row_major() {
        assert_eq!(Shape::new(&[2, 3, 4]).strides().as_slice(), &[12, 4, 1]);
        assert_eq!(Shape::scalar().strides().as_slice(), &[] as &[usize]);
    }
}
