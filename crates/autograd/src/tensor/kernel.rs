//! Generic elementwise kernels: unary maps, broadcasting binary zips and broadcasts.
//!
//! A kernel is a small `Copy` struct with a method generic over [`Element`], so each
//! formula is written once and monomorphised for `f32` and `f64`; the loops over
//! contiguous slices are those of [`simd`], compiled for the widest vectors the CPU
//! has (the crate itself targets the x86-64 baseline, SSE2).

use std::mem::MaybeUninit;

use smallvec::SmallVec;

use super::{Storage, Tensor, simd, transpose16};
use crate::{Element, Error, Result, Shape};

/// A scalar function `T -> T`, written once for both float types.
pub trait UnaryFn: Copy {
    /// Whether `eval` calls a library function (`exp`, `ln`, `powf`, `erf`, an
    /// activation's scalar formula). Such a kernel runs in the SIMD module's loop
    /// compiled for the baseline target ([`simd`]'s dispatch decides): in the AVX-512
    /// loops every call spills the vector registers, and selu's gradient took 12.9 ns
    /// per element there against 8.8. The default is false: straight-line
    /// arithmetic, run in the widest vectors.
    const CALLS: bool = false;

    /// The function at `x`.
    fn eval<T: Element>(self, x: T) -> T;
}

/// A scalar function `(T, T) -> T`, written once for both float types.
pub trait BinaryFn: Copy + Send + Sync {
    /// As [`UnaryFn::CALLS`].
    const CALLS: bool = false;

    /// The function at `(a, b)`.
    fn eval<T: Element>(self, a: T, b: T) -> T;
}

/// A scalar function `(T, T, T) -> T` over three same-shape inputs.
pub trait TernaryFn: Copy + Send + Sync {
    /// As [`UnaryFn::CALLS`].
    const CALLS: bool = false;

    /// The function at `(a, b, c)`.
    fn eval<T: Element>(self, a: T, b: T, c: T) -> T;
}

/// `f(x)` for every element.
pub fn map<K: UnaryFn + Send + Sync>(t: &Tensor, k: K) -> Tensor {
    let shape = t.shape().clone();
    match t.storage_ref() {
        Storage::F32(v) => Tensor::from_kernel(simd::map_on_caller(v, Lanewise(k)), shape),
        Storage::F64(v) => Tensor::from_kernel(simd::map_on_caller(v, Lanewise(k)), shape),
    }
}

/// A [`UnaryFn`] run by the loops of [`simd`]: compiled for the CPU's widest vectors,
/// on the calling thread (most of these kernels are a few instructions per element,
/// and splitting them over threads made `abs` and `clamp` slower). The same scalar
/// function per element, so the same bits as a plain loop (Rust never contracts
/// `a * b + c` into a fused multiply-add on its own).
#[derive(Clone, Copy)]
struct Lanewise<K>(K);

impl<K: UnaryFn + Send + Sync, T: Element> simd::Unary<T> for Lanewise<K> {
    const CALLS: bool = K::CALLS;
    #[inline(always)]
    fn eval(self, x: T) -> T {
        self.0.eval(x)
    }
}

/// `f(x)` for every element, written over `t`'s own storage when no other tensor
/// shares it (no allocation), else into a new tensor as [`map`] does. Same values
/// either way.
pub fn map_owned<K: UnaryFn + Send + Sync>(mut t: Tensor, k: K) -> Tensor {
    if !t.is_unique() {
        return map(&t, k);
    }
    match &mut t.storage {
        Storage::F32(v) => map_assign(v.make_mut(), k),
        Storage::F64(v) => map_assign(v.make_mut(), k),
    }
    t
}

fn map_assign<T: Element, K: UnaryFn + Send + Sync>(v: &mut [T], k: K) {
    simd::map_assign(Lanewise(k), v);
}

/// `a := f(a, b, c)` elementwise over three tensors of one shape and dtype, writing
/// over `a`'s storage when no other tensor shares it; otherwise as [`zip3`].
///
/// # Errors
/// As [`zip3`].
pub fn zip3_owned<K: TernaryFn>(
    op: &'static str,
    mut a: Tensor,
    b: &Tensor,
    c: &Tensor,
    k: K,
) -> Result<Tensor> {
    let same = a.shape() == b.shape()
        && a.shape() == c.shape()
        && a.dtype() == b.dtype()
        && a.dtype() == c.dtype();
    if !same || !a.is_unique() {
        return zip3(op, &a, b, c, k);
    }
    match (&mut a.storage, b.storage_ref(), c.storage_ref()) {
        (Storage::F32(x), Storage::F32(y), Storage::F32(z)) => zip3_assign(x.make_mut(), y, z, k),
        (Storage::F64(x), Storage::F64(y), Storage::F64(z)) => zip3_assign(x.make_mut(), y, z, k),
        _ => return zip3(op, &a, b, c, k),
    }
    Ok(a)
}

fn zip3_assign<T: Element, K: TernaryFn>(x: &mut [T], y: &[T], z: &[T], k: K) {
    simd::zip3_assign(Lanewise(k), x, y, z);
}

/// Checks that two tensors have the same dtype, naming `op` otherwise.
pub fn same_dtype(op: &'static str, a: &Tensor, b: &Tensor) -> Result<()> {
    if a.dtype() != b.dtype() {
        return Err(Error::DTypeMismatch {
            op,
            lhs: a.dtype(),
            rhs: b.dtype(),
        });
    }
    Ok(())
}

/// `f(a, b)` elementwise, broadcasting `a` and `b` against each other.
///
/// # Errors
/// [`Error::DTypeMismatch`] or [`Error::Broadcast`], naming `op`.
pub fn zip<K: BinaryFn>(op: &'static str, a: &Tensor, b: &Tensor, k: K) -> Result<Tensor> {
    same_dtype(op, a, b)?;
    let out = Shape::broadcast(op, a.shape(), b.shape())?;
    Ok(match (a.storage_ref(), b.storage_ref()) {
        (Storage::F32(x), Storage::F32(y)) => zip_tensor(x, a.shape(), y, b.shape(), out, k),
        (Storage::F64(x), Storage::F64(y)) => zip_tensor(x, a.shape(), y, b.shape(), out, k),
        _ => unreachable!("dtypes were checked equal above"),
    })
}

/// [`zip`] over slices: a tensor of [`SIMD_MIN`] elements or more through
/// [`zip_slices`]; below, the same-shape and scalar cases written straight into the
/// output's storage (inline: no allocation), general broadcasting through
/// [`zip_slices`].
fn zip_tensor<T: Element, K: BinaryFn>(
    a: &[T],
    a_shape: &Shape,
    b: &[T],
    b_shape: &Shape,
    out: Shape,
    k: K,
) -> Tensor {
    let n = out.numel();
    if n >= SIMD_MIN {
        return Tensor::from_kernel(zip_slices(a, a_shape, b, b_shape, &out, k), out);
    }
    if a_shape == b_shape {
        return Tensor::from_iter_kernel(out, a.iter().zip(b).map(|(&x, &y)| k.eval(x, y)));
    }
    if b.len() == 1 && n == a.len() {
        let y = b[0];
        return Tensor::from_iter_kernel(out, a.iter().map(|&x| k.eval(x, y)));
    }
    if a.len() == 1 && n == b.len() {
        let x = a[0];
        return Tensor::from_iter_kernel(out, b.iter().map(|&y| k.eval(x, y)));
    }
    Tensor::from_kernel(zip_slices(a, a_shape, b, b_shape, &out, k), out)
}

/// `f(a, b, c)` elementwise over three tensors of one shape (no broadcasting): the
/// fused backward kernels use it, e.g. `g * f'(x, y)`.
///
/// # Errors
/// [`Error::DTypeMismatch`] or [`Error::Shape`], naming `op`.
pub fn zip3<K: TernaryFn>(
    op: &'static str,
    a: &Tensor,
    b: &Tensor,
    c: &Tensor,
    k: K,
) -> Result<Tensor> {
    same_dtype(op, a, b)?;
    same_dtype(op, a, c)?;
    if a.shape() != b.shape() || a.shape() != c.shape() {
        return Err(Error::shape(
            op,
            &[a.shape(), b.shape(), c.shape()],
            "expects three tensors of the same shape",
        ));
    }
    let shape = a.shape().clone();
    Ok(match (a.storage_ref(), b.storage_ref(), c.storage_ref()) {
        (Storage::F32(x), Storage::F32(y), Storage::F32(z)) => zip3_tensor(shape, x, y, z, k),
        (Storage::F64(x), Storage::F64(y), Storage::F64(z)) => zip3_tensor(shape, x, y, z, k),
        _ => unreachable!("dtypes were checked equal above"),
    })
}

/// [`zip3`] over slices of one length: from [`SIMD_MIN`] elements through the SIMD
/// loops, below into the tensor's inline storage.
fn zip3_tensor<T: Element, K: TernaryFn>(shape: Shape, x: &[T], y: &[T], z: &[T], k: K) -> Tensor {
    if shape.numel() >= SIMD_MIN {
        let data = simd::fill_here(x.len(), |dst| simd::zip3_into(Lanewise(k), x, y, z, dst));
        return Tensor::from_kernel(data, shape);
    }
    Tensor::from_iter_kernel(shape, zip3_iter(x, y, z, k))
}

fn zip3_iter<'a, T: Element, K: TernaryFn + 'a>(
    x: &'a [T],
    y: &'a [T],
    z: &'a [T],
    k: K,
) -> impl Iterator<Item = T> + 'a {
    x.iter()
        .zip(y)
        .zip(z)
        .map(move |((&a, &b), &c)| k.eval(a, b, c))
}

/// Copies `t` broadcast to `shape`.
///
/// # Errors
/// [`Error::Shape`] if `t` does not broadcast to `shape`.
pub fn broadcast_to(op: &'static str, t: &Tensor, shape: &Shape) -> Result<Tensor> {
    if !t.shape().broadcasts_to(shape) {
        return Err(Error::shape(
            op,
            &[t.shape(), shape],
            "the first shape does not broadcast to the second",
        ));
    }
    if t.shape() == shape {
        return Ok(t.clone());
    }
    Ok(match t.storage_ref() {
        Storage::F32(x) => Tensor::from_kernel(broadcast_slice(x, t.shape(), shape), shape.clone()),
        Storage::F64(x) => Tensor::from_kernel(broadcast_slice(x, t.shape(), shape), shape.clone()),
    })
}

/// Copies a strided view of `t` into a new contiguous row-major tensor of `shape`:
/// element `idx` of the result is element `sum_i idx[i] * strides[i]` of `t`'s data.
///
/// The caller guarantees that every such offset lies inside `t` (permute passes a
/// permutation of `t`'s own strides).
pub fn strided_copy(t: &Tensor, shape: &Shape, strides: &[usize]) -> Tensor {
    debug_assert_eq!(shape.ndim(), strides.len());
    let strides: Strides = strides.iter().copied().collect();
    match t.storage_ref() {
        Storage::F32(x) => {
            let copy = strided_slice(x, shape, strides, transpose16::transpose16);
            Tensor::from_kernel(copy, shape.clone())
        }
        Storage::F64(x) => {
            let copy = strided_slice(x, shape, strides, |_, _, _, _| false);
            Tensor::from_kernel(copy, shape.clone())
        }
    }
}

type Strides = SmallVec<[usize; 6]>;

/// Strides of `src` seen through the broadcast to `out` (0 where a dimension repeats).
fn broadcast_strides(src: &Shape, out: &Shape) -> Strides {
    let own = src.strides();
    let offset = out.ndim() - src.ndim();
    (0..out.ndim())
        .map(|i| {
            if i < offset || src[i - offset] == 1 {
                0
            } else {
                own[i - offset]
            }
        })
        .collect()
}

/// Drops size-1 dimensions and merges neighbours that every operand walks contiguously,
/// so the innermost loop is as long as possible. Returns (dims, strides per operand).
fn collapse<const N: usize>(dims: &[usize], strides: [Strides; N]) -> (Strides, [Strides; N]) {
    let mut out_dims = Strides::new();
    let mut out_strides: [Strides; N] = std::array::from_fn(|_| Strides::new());
    for (i, &d) in dims.iter().enumerate() {
        if d == 1 {
            continue;
        }
        let mergeable = !out_dims.is_empty()
            && (0..N).all(|k| {
                let prev = out_strides[k][out_strides[k].len() - 1];
                prev == strides[k][i] * d
            });
        if mergeable {
            let last = out_dims.len() - 1;
            out_dims[last] *= d;
            for k in 0..N {
                out_strides[k][last] = strides[k][i];
            }
        } else {
            out_dims.push(d);
            for k in 0..N {
                out_strides[k].push(strides[k][i]);
            }
        }
    }
    (out_dims, out_strides)
}

/// Walks the outer dimensions of a collapsed iteration space, calling `body` with each
/// operand's offset at the start of every innermost run.
fn for_each_run<const N: usize>(
    outer: &[usize],
    strides: &[Strides; N],
    mut body: impl FnMut([usize; N]),
) {
    let runs: usize = outer.iter().product();
    let mut index: SmallVec<[usize; 6]> = SmallVec::from_elem(0, outer.len());
    let mut offsets = [0usize; N];
    for _ in 0..runs {
        body(offsets);
        for d in (0..outer.len()).rev() {
            index[d] += 1;
            for k in 0..N {
                offsets[k] += strides[k][d];
            }
            if index[d] < outer[d] {
                break;
            }
            for k in 0..N {
                offsets[k] -= strides[k][d] * outer[d];
            }
            index[d] = 0;
        }
    }
}

fn zip_slices<T: Element, K: BinaryFn>(
    a: &[T],
    a_shape: &Shape,
    b: &[T],
    b_shape: &Shape,
    out: &Shape,
    k: K,
) -> Vec<T> {
    let n = out.numel();
    if n == 0 {
        return Vec::new();
    }
    let (dims, [sa, sb]) = collapse(
        out.dims(),
        [
            broadcast_strides(a_shape, out),
            broadcast_strides(b_shape, out),
        ],
    );
    let Some((&inner, outer)) = dims.split_last() else {
        return vec![k.eval(a[0], b[0])];
    };
    let (ia, ib) = (sa[sa.len() - 1], sb[sb.len() - 1]);
    let outer_strides = [
        sa[..outer.len()].iter().copied().collect(),
        sb[..outer.len()].iter().copied().collect(),
    ];
    // Runs of `inner` contiguous outputs, in order; long ones through the SIMD loops.
    simd::fill_here(n, |dst| {
        let mut runs = dst.chunks_exact_mut(inner);
        for_each_run(outer, &outer_strides, |[oa, ob]| {
            let Some(dst) = runs.next() else {
                return;
            };
            let (x, y) = (
                &a[oa..oa + inner * ia.min(1)],
                &b[ob..ob + inner * ib.min(1)],
            );
            match (ia, ib) {
                (0, 0) => dst.fill(MaybeUninit::new(k.eval(a[oa], b[ob]))),
                _ if inner < SIMD_RUN_MIN => {
                    for (i, d) in dst.iter_mut().enumerate() {
                        d.write(k.eval(a[oa + i * ia], b[ob + i * ib]));
                    }
                }
                (0, _) => simd::map_into(LeftFixed(k, a[oa]), y, dst),
                (_, 0) => simd::map_into(RightFixed(k, b[ob]), x, dst),
                _ => simd::zip_into(Lanewise(k), x, y, dst),
            }
        });
    })
}

/// From this many elements [`zip`] runs through the SIMD loops (the baseline one
/// for a kernel that [calls a library function](BinaryFn::CALLS)); below, its iterator
/// writes the result into the tensor's inline storage, with no allocation (a
/// recorded op on one element costs 140 ns in all).
const SIMD_MIN: usize = 64;

/// The shortest run of a broadcast that [`zip_slices`] hands to the SIMD loops (each
/// call picks its loop at run time).
const SIMD_RUN_MIN: usize = 16;

/// `k(x, y)` with `x` fixed: a broadcast's run against one element of `a`.
#[derive(Clone, Copy)]
struct LeftFixed<K, T>(K, T);

impl<K: BinaryFn, T: Element> simd::Unary<T> for LeftFixed<K, T> {
    const CALLS: bool = K::CALLS;
    #[inline(always)]
    fn eval(self, y: T) -> T {
        self.0.eval(self.1, y)
    }
}

/// `k(x, y)` with `y` fixed.
#[derive(Clone, Copy)]
struct RightFixed<K, T>(K, T);

impl<K: BinaryFn, T: Element> simd::Unary<T> for RightFixed<K, T> {
    const CALLS: bool = K::CALLS;
    #[inline(always)]
    fn eval(self, x: T) -> T {
        self.0.eval(x, self.1)
    }
}

impl<K: TernaryFn, T: Element> simd::Ternary<T> for Lanewise<K> {
    const CALLS: bool = K::CALLS;
    #[inline(always)]
    fn eval(self, x: T, y: T, z: T) -> T {
        self.0.eval(x, y, z)
    }
}

impl<K: BinaryFn, T: Element> simd::Binary<T, T> for Lanewise<K> {
    const CALLS: bool = K::CALLS;
    #[inline(always)]
    fn eval(self, x: T, y: T) -> T {
        self.0.eval(x, y)
    }
}

fn broadcast_slice<T: Element>(a: &[T], a_shape: &Shape, out: &Shape) -> Vec<T> {
    let n = out.numel();
    let mut result = Vec::with_capacity(n);
    if n == 0 {
        return result;
    }
    let (dims, [sa]) = collapse(out.dims(), [broadcast_strides(a_shape, out)]);
    let Some((&inner, outer)) = dims.split_last() else {
        result.push(a[0]);
        return result;
    };
    let ia = sa[sa.len() - 1];
    let outer_strides = [sa[..outer.len()].iter().copied().collect()];
    for_each_run(outer, &outer_strides, |[oa]| {
        if ia == 0 {
            result.extend(std::iter::repeat_n(a[oa], inner));
        } else {
            result.extend_from_slice(&a[oa..oa + inner]);
        }
    });
    result
}

/// `a` read through `strides` into a new row-major vector of `shape`. `block` copies a
/// 16 x 16 block of a transpose faster where it can (as
/// [`transpose16`](transpose16::transpose16)), returning false where it cannot.
fn strided_slice<T: Element>(
    a: &[T],
    shape: &Shape,
    strides: Strides,
    block: impl Fn(&[T], usize, &mut [T], usize) -> bool + Sync,
) -> Vec<T> {
    let n = shape.numel();
    let mut result = Vec::with_capacity(n);
    if n == 0 {
        return result;
    }
    let (dims, [s]) = collapse(shape.dims(), [strides]);
    if let [.., rows, cols] = dims[..]
        && s[s.len() - 1] != 1
        && rows >= TILE
        && cols >= TILE
    {
        return strided_tiles(a, &dims, &s, n, block);
    }
    let Some((&inner, outer)) = dims.split_last() else {
        result.push(a[0]);
        return result;
    };
    let step = s[s.len() - 1];
    let outer_strides = [s[..outer.len()].iter().copied().collect()];
    for_each_run(outer, &outer_strides, |[o]| {
        if step == 1 {
            result.extend_from_slice(&a[o..o + inner]);
        } else {
            result.extend((0..inner).map(|j| a[o + j * step]));
        }
    });
    result
}

/// Side of the square tiles in which [`strided_tiles`] copies (16 measured best for
/// a `[256, 1024]` f32 transpose and an NCHW <-> NHWC permute; 64 was slower than no
/// tiles, its 64 rows 4 KiB apart sharing cache sets).
const TILE: usize = 16;
const _: () = assert!(
    TILE == transpose16::SIDE,
    "a whole tile is one register block"
);

/// [`strided_slice`] where the innermost output dimension reads the input with a
/// stride (a transpose): the last two dimensions copied in tiles of `TILE x TILE`, so
/// that the lines a tile touches stay in L1. Within a tile the side walked with a
/// stride is the one with the smaller stride: 16 lines 4 KiB apart share one cache
/// set, which made the transpose back from `[1024, 256]` five times slower than the
/// one there. A transpose of `[256, 1024]` f32 went from 0.47 to 0.13 ms. Large
/// tensors are copied by the crew's threads, in bands of `TILE` rows.
fn strided_tiles<T: Element>(
    a: &[T],
    dims: &[usize],
    s: &[usize],
    n: usize,
    block: impl Fn(&[T], usize, &mut [T], usize) -> bool + Sync,
) -> Vec<T> {
    let k = dims.len();
    let (rows, cols) = (dims[k - 2], dims[k - 1]);
    let (row_step, col_step) = (s[k - 2], s[k - 1]);
    let mut out = vec![T::zero(); n];
    let mut plane_starts = Vec::with_capacity(n / (rows * cols));
    let outer_strides = [s[..k - 2].iter().copied().collect()];
    for_each_run(&dims[..k - 2], &outer_strides, |[o]| plane_starts.push(o));
    // Each band of TILE rows of a plane is a contiguous part of the output, copied by
    // one thread.
    let bands = out
        .chunks_mut(rows * cols)
        .zip(plane_starts)
        .flat_map(|(plane, o)| {
            let bands = plane.chunks_mut(TILE * cols).enumerate();
            bands.map(move |(b, band)| (o, b * TILE, band))
        });
    let copy_band = |(o, r0, band): (usize, usize, &mut [T])| {
        let r1 = r0 + band.len() / cols;
        for c0 in (0..cols).step_by(TILE) {
            let c1 = (c0 + TILE).min(cols);
            // A whole tile whose columns are contiguous runs of the input: in registers.
            if row_step == 1
                && r1 - r0 == TILE
                && c1 - c0 == TILE
                && block(
                    &a[o + c0 * col_step + r0..],
                    col_step,
                    &mut band[c0..],
                    cols,
                )
            {
                continue;
            }
            if col_step > cols {
                // Column by column: the writes are `cols` apart, the closer.
                for c in c0..c1 {
                    let src = o + c * col_step;
                    for r in r0..r1 {
                        band[(r - r0) * cols + c] = a[src + r * row_step];
                    }
                }
            } else {
                // Row by row: the reads are `col_step` apart, the closer.
                for r in r0..r1 {
                    let src = o + r * row_step;
                    let dst = &mut band[(r - r0) * cols + c0..(r - r0) * cols + c1];
                    for (c, d) in (c0..c1).zip(dst) {
                        *d = a[src + c * col_step];
                    }
                }
            }
        }
    };
    if n >= simd::PARALLEL_MIN {
        super::crew::for_each(bands, copy_band);
    } else {
        bands.for_each(copy_band);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DType;

    #[derive(Clone, Copy)]
    struct Sub;
    impl BinaryFn for Sub {
        fn eval<T: Element>(self, a: T, b: T) -> T {
            a - b
        }
    }

    /// Reference broadcast by explicit multi-index arithmetic.
    fn naive(a: &Tensor, b: &Tensor) -> Vec<f64> {
        let out = Shape::broadcast("t", a.shape(), b.shape()).unwrap();
        let (av, bv) = (a.to_f64_vec(), b.to_f64_vec());
        let index_of = |shape: &Shape, idx: &[usize]| {
            let off = idx.len() - shape.ndim();
            let strides = shape.strides();
            (0..shape.ndim())
                .map(|i| {
                    if shape[i] == 1 {
                        0
                    } else {
                        idx[off + i] * strides[i]
                    }
                })
                .sum::<usize>()
        };
        let mut res = vec![];
        let ostrides = out.strides();
        for flat in 0..out.numel() {
            let idx: Vec<usize> = (0..out.ndim())
                .map(|i| (flat / ostrides[i]) % out[i])
                .collect();
            res.push(av[index_of(a.shape(), &idx)] - bv[index_of(b.shape(), &idx)]);
        }
        res
    }

    #[test]
    fn zip_matches_naive_broadcasting_on_many_shape_pairs() {
        let shapes: &[&[usize]] = &[
            &[],
            &[1],
            &[3],
            &[2, 3],
            &[2, 1],
            &[1, 3],
            &[4, 2, 3],
            &[4, 1, 3],
            &[4, 2, 1],
            &[1, 2, 3],
            &[2, 1, 1, 3],
            &[0, 3],
            &[1, 1],
        ];
        for (i, sa) in shapes.iter().enumerate() {
            for (j, sb) in shapes.iter().enumerate() {
                let a = Tensor::randn(*sa, DType::F64, i as u64);
                let b = Tensor::randn(*sb, DType::F64, 100 + j as u64);
                match Shape::broadcast("t", a.shape(), b.shape()) {
                    Ok(_) => {
                        let got = zip("t", &a, &b, Sub).unwrap().to_f64_vec();
                        assert_eq!(got, naive(&a, &b), "{sa:?} - {sb:?}");
                    }
                    Err(_) => assert!(zip("t", &a, &b, Sub).is_err()),
                }
            }
        }
    }

    /// Tensors long enough for the SIMD loops, with broadcast runs above and below
    /// [`SIMD_RUN_MIN`]: the naive reference's bits, in f32 and f64.
    #[test]
    fn long_zips_match_naive_broadcasting_in_both_dtypes() {
        let shapes: &[&[usize]] = &[
            &[],
            &[70],
            &[5, 40],
            &[5, 1],
            &[1, 40],
            &[3, 5, 20],
            &[3, 1, 20],
            &[1, 5, 1],
            &[3, 5, 1],
            &[80, 3],
            &[80, 1],
            &[1, 3],
        ];
        for dtype in [DType::F32, DType::F64] {
            for (i, sa) in shapes.iter().enumerate() {
                for (j, sb) in shapes.iter().enumerate() {
                    let a = Tensor::randn(*sa, dtype, i as u64);
                    let b = Tensor::randn(*sb, dtype, 100 + j as u64);
                    let Ok(out) = Shape::broadcast("t", a.shape(), b.shape()) else {
                        continue;
                    };
                    let got = zip("t", &a, &b, Sub).unwrap();
                    assert_eq!(got.shape(), &out);
                    // In f32 the naive f64 difference, rounded once, is the f32 one.
                    let want = Tensor::from_vec(naive(&a, &b), out.clone())
                        .unwrap()
                        .to_dtype(dtype);
                    assert_eq!(
                        got.to_f64_vec(),
                        want.to_f64_vec(),
                        "{dtype:?} {sa:?} - {sb:?}"
                    );
                }
            }
        }
    }

    /// `a * b - c`, and the same formula through `exp` (which calls the library).
    #[derive(Clone, Copy)]
    struct MulSub<const CALLS: bool>;
    impl<const C: bool> TernaryFn for MulSub<C> {
        const CALLS: bool = C;
        fn eval<T: Element>(self, a: T, b: T, c: T) -> T {
            if C { (a * b - c).exp() } else { a * b - c }
        }
    }
    impl<const C: bool> UnaryFn for MulSub<C> {
        const CALLS: bool = C;
        fn eval<T: Element>(self, a: T) -> T {
            <Self as TernaryFn>::eval(self, a, a, T::one())
        }
    }

    /// The three-input and in-place kernels, through the SIMD loops or the plain ones
    /// (a kernel that calls a library function), on lengths around [`SIMD_MIN`]: the
    /// bits of a plain loop, in f32 and f64.
    fn kernels_of_every_route_are_a_plain_loop<const C: bool>() {
        for dtype in [DType::F32, DType::F64] {
            for n in [1, 63, 64, 65, 1000] {
                let [a, b, c] = [0, 1, 2].map(|s| Tensor::randn([n], dtype, s));
                let (x, y, z) = (a.to_f64_vec(), b.to_f64_vec(), c.to_f64_vec());
                let want3: Vec<f64> = (0..n)
                    .map(|i| match dtype {
                        DType::F32 => f64::from(TernaryFn::eval(
                            MulSub::<C>,
                            x[i] as f32,
                            y[i] as f32,
                            z[i] as f32,
                        )),
                        DType::F64 => TernaryFn::eval(MulSub::<C>, x[i], y[i], z[i]),
                    })
                    .collect();
                let want1: Vec<f64> = (0..n)
                    .map(|i| match dtype {
                        DType::F32 => f64::from(UnaryFn::eval(MulSub::<C>, x[i] as f32)),
                        DType::F64 => UnaryFn::eval(MulSub::<C>, x[i]),
                    })
                    .collect();
                let got3 = zip3("t", &a, &b, &c, MulSub::<C>).unwrap().to_f64_vec();
                assert_eq!(got3, want3, "zip3 {dtype:?} n = {n}");
                let owned =
                    zip3_owned("t", Tensor::randn([n], dtype, 0), &b, &c, MulSub::<C>).unwrap();
                assert_eq!(owned.to_f64_vec(), want3, "zip3_owned {dtype:?} n = {n}");
                assert_eq!(
                    map(&a, MulSub::<C>).to_f64_vec(),
                    want1,
                    "map {dtype:?} n = {n}"
                );
                let owned = map_owned(Tensor::randn([n], dtype, 0), MulSub::<C>);
                assert_eq!(owned.to_f64_vec(), want1, "map_owned {dtype:?} n = {n}");
            }
        }
    }

    #[test]
    fn kernels_with_and_without_library_calls_are_a_plain_loop() {
        kernels_of_every_route_are_a_plain_loop::<false>();
        kernels_of_every_route_are_a_plain_loop::<true>();
    }

    #[test]
    fn broadcast_to_repeats_along_unit_dims() {
        let a = Tensor::from_vec(vec![1.0f32, 2.0], [2, 1]).unwrap();
        let b = broadcast_to("t", &a, &Shape::new(&[3, 2, 2])).unwrap();
        assert_eq!(
            b.to_vec::<f32>().unwrap(),
            vec![1.0, 1.0, 2.0, 2.0, 1.0, 1.0, 2.0, 2.0, 1.0, 1.0, 2.0, 2.0]
        );
        assert!(broadcast_to("t", &a, &Shape::new(&[3, 3])).is_err());
    }
}
