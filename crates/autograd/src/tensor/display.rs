//! `Display` and `Debug` for tensors: shape, dtype and values, elided when large.

use std::fmt;

use super::{Tensor, with_slice};
use crate::Element;

/// Tensors with more elements than this show only the first and last `EDGE_ITEMS`
/// entries of each dimension, as numpy's `threshold` does.
const ELIDE_THRESHOLD: usize = 1000;
const EDGE_ITEMS: usize = 3;

impl fmt::Display for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Tensor{} {}", self.shape(), self.dtype())?;
        let elide = self.numel() > ELIDE_THRESHOLD;
        with_slice!(self, |v| write_values(f, v, self.dims(), elide, 0))
    }
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

fn write_values<T: Element>(
    f: &mut fmt::Formatter<'_>,
    data: &[T],
    dims: &[usize],
    elide: bool,
    depth: usize,
) -> fmt::Result {
    let Some((&n, rest)) = dims.split_first() else {
        return write_number(f, data.first().copied().unwrap_or_else(T::zero));
    };
    let inner: usize = rest.iter().product();
    f.write_str("[")?;
    let mut first = true;
    for i in 0..n {
        if elide && n > 2 * EDGE_ITEMS && i == EDGE_ITEMS {
            separator(f, rest.len(), depth, &mut first)?;
            f.write_str("...")?;
            continue;
        }
        if elide && n > 2 * EDGE_ITEMS && i > EDGE_ITEMS && i < n - EDGE_ITEMS {
            continue;
        }
        separator(f, rest.len(), depth, &mut first)?;
        write_values(f, &data[i * inner..(i + 1) * inner], rest, elide, depth + 1)?;
    }
    f.write_str("]")
}

fn separator(
    f: &mut fmt::Formatter<'_>,
    inner_ndim: usize,
    depth: usize,
    first: &mut bool,
) -> fmt::Result {
    if *first {
        *first = false;
        return Ok(());
    }
    if inner_ndim == 0 {
        f.write_str(", ")
    } else {
        f.write_str(",")?;
        for _ in 0..inner_ndim {
            f.write_str("\n")?;
        }
        write!(f, "{:width$}", "", width = depth + 1)
    }
}

fn write_number<T: Element>(f: &mut fmt::Formatter<'_>, x: T) -> fmt::Result {
    // Shortest representation that round-trips, as Rust's `{}` gives; a precision
    // set on the formatter (`{:.3}`) wins.
    match f.precision() {
        Some(p) => write!(f, "{x:.p$}"),
        None => write!(f, "{x}"),
    }
}

#[cfg(test)]
mod tests {
    use crate::{DType, Tensor};

    #[test]
    fn display_shows_shape_dtype_and_values() {
        let t = Tensor::from_vec(vec![1.0f32, 2.5, -3.0, 4.0, 5.0, 6.0], [2, 3]).unwrap();
        assert_eq!(
            t.to_string(),
            "Tensor[2, 3] f32\n[[1, 2.5, -3],\n [4, 5, 6]]"
        );
        assert_eq!(Tensor::scalar(0.5f64).to_string(), "Tensor[] f64\n0.5");
        assert_eq!(
            Tensor::zeros([0, 2], DType::F32).to_string(),
            "Tensor[0, 2] f32\n[]"
        );
    }

    #[test]
    fn display_elides_large_tensors() {
        let t = Tensor::arange(0.0, 2000.0, 1.0, DType::F64).unwrap();
        assert_eq!(
            t.to_string(),
            "Tensor[2000] f64\n[0, 1, 2, ..., 1997, 1998, 1999]"
        );
    }
}
