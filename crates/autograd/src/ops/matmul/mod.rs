//! `matmul`: batched matrix product, computed by the `gemm` crate.
//!
//! `C = op(A) op(B)`, where `op` is the identity or, with the `transpose_lhs` /
//! `transpose_rhs` flags, the swap of the last two dimensions (read through strides,
//! never copied). With `op(A): [..., m, k]` and `op(B): [..., k, n]`, `C: [..., m, n]`;
//! the batch dimensions `...` broadcast like NumPy's, so a `[k, n]` weight multiplies a
//! `[b, m, k]` batch.
//!
//! Derivative, with `G = dL/dC`: `d op(A) = G op(B)^T` and `d op(B) = op(A)^T G`, each
//! summed over the batch dimensions its operand was broadcast along. The rule is itself
//! made of `matmul_transposed` calls (see [`MatMul`]), so it can be differentiated
//! again. PyTorch: `torch.matmul` for operands of at least two dimensions;
//! `a.mT @ b`, `a @ b.mT` for the transposed forms.
//!
//! ```
//! use gradflow_autograd::{Tape, Tensor};
//! let tape = Tape::new();
//! let x = tape.var(Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0], &[2, 2])?);
//! let w = tape.var(Tensor::from_vec(vec![1.0f64, 0.0, 1.0, 1.0, 0.5, -1.0], &[3, 2])?);
//! let y = x.matmul_transposed(&w, false, true)?; // x W^T, as in a linear layer
//! assert_eq!(y.dims(), &[2, 3]);
//! assert_eq!(y.value().to_vec::<f64>()?, vec![1.0, 3.0, -1.5, 3.0, 7.0, -2.5]);
//! let grads = y.sum_all()?.backward()?;
//! // d sum(x W^T) / dW = 1^T x: each row of W gets the column sums of x.
//! assert_eq!(grads.get(&w).unwrap().to_vec::<f64>()?, vec![4.0, 6.0, 4.0, 6.0, 4.0, 6.0]);
//! # Ok::<(), gradflow_autograd::Error>(())
//! ```

use gemm::Parallelism;
use std::mem::MaybeUninit;
use std::sync::{Mutex, PoisonError};

use smallvec::SmallVec;

use crate::tensor::{Storage, crew, kernel};
use crate::{BackwardCtx, Element, Error, InputGrads, Op, Result, Shape, Tensor, Var};

use super::unbroadcast;

/// Products with at least this many multiply-adds (`m * n * k`) run on rayon's thread
/// pool; smaller ones run on the calling thread, where spawning would cost more than it
/// saves. With the AVX-512 kernels a product of 2^20 takes about 5 µs on one core: the
/// study's 128 x 64 x 64 products (2^19) split in two ran slower than whole.
const PARALLEL_THRESHOLD: usize = 1 << 20;

/// The `matmul` op: `op(A) op(B)`, where `op` transposes the last two dimensions of
/// an operand whose flag is set.
///
/// Gradient rule, `G` the upstream gradient (each line one `matmul_transposed` call,
/// so no transposed copy is ever made):
///
/// | flags (lhs, rhs) | forward     | `dA`        | `dB`        |
/// |------------------|-------------|-------------|-------------|
/// | (false, false)   | `A B`       | `G B^T`     | `A^T G`     |
/// | (false, true)    | `A B^T`     | `G B`       | `G^T A`     |
/// | (true, false)    | `A^T B`     | `B G^T`     | `A G`       |
/// | (true, true)     | `A^T B^T`   | `B^T G^T`   | `G^T A^T`   |
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MatMul {
    /// Read the left operand transposed (its last two dimensions swapped).
    pub transpose_lhs: bool,
    /// Read the right operand transposed (its last two dimensions swapped).
    pub transpose_rhs: bool,
}

impl Op for MatMul {
    fn name(&self) -> &'static str {
        "matmul"
    }

    fn describe(&self) -> String {
        format!(
            "matmul(transpose_lhs={}, transpose_rhs={})",
            self.transpose_lhs, self.transpose_rhs
        )
    }

    fn forward(&mut self, inputs: &[&Tensor]) -> Result<Tensor> {
        inputs[0].matmul_transposed(inputs[1], self.transpose_lhs, self.transpose_rhs)
    }

    fn backward(&self, ctx: &BackwardCtx<'_>, grad: &Var) -> Result<InputGrads> {
        let (a, b) = (ctx.input(0), ctx.input(1));
        let (ta, tb) = (self.transpose_lhs, self.transpose_rhs);
        let da = if ctx.needs_grad(0) {
            let full = match (ta, tb) {
                (false, false) => grad.matmul_transposed(b, false, true)?,
                (false, true) => grad.matmul(b)?,
                (true, false) => b.matmul_transposed(grad, false, true)?,
                (true, true) => b.matmul_transposed(grad, true, true)?,
            };
            Some(unbroadcast(&full, a.shape())?)
        } else {
            None
        };
        let db = if ctx.needs_grad(1) {
            Some(match folded_rhs_grad(a, b, grad, ta, tb)? {
                Some(db) => db,
                None => {
                    let full = match (ta, tb) {
                        (false, false) => a.matmul_transposed(grad, true, false)?,
                        (true, false) => a.matmul(grad)?,
                        (false, true) => grad.matmul_transposed(a, true, false)?,
                        (true, true) => grad.matmul_transposed(a, true, true)?,
                    };
                    unbroadcast(&full, b.shape())?
                }
            })
        } else {
            None
        };
        Ok([da, db].into_iter().collect())
    }
}

/// The gradient of a right operand shared by a whole batch (`[b, m, k] @ [k, n]`, the
/// linear-layer case) as one product over the flattened batch, `A_flat^T G_flat` with
/// `A_flat: [b*m, k]`, instead of `b` products summed afterwards. `None` when the shapes
/// do not allow it: the rhs has a batch of its own, the lhs is broadcast, or the lhs is
/// transposed (its rows would not be contiguous across the batch).
fn folded_rhs_grad(a: &Var, b: &Var, grad: &Var, ta: bool, tb: bool) -> Result<Option<Var>> {
    let gd = grad.dims();
    if ta || gd.len() <= 2 {
        return Ok(None);
    }
    let (a_rows, a_batch) = matrix_split(a.dims());
    let (_, b_batch) = matrix_split(b.dims());
    let (g_rows, g_batch) = matrix_split(gd);
    let out_batch: usize = g_batch.iter().product();
    if b_batch.iter().product::<usize>() != 1 || a_batch.iter().product::<usize>() != out_batch {
        return Ok(None);
    }
    let rows = out_batch * g_rows[0];
    let a_flat = a.reshape([rows, a_rows[1]])?;
    let g_flat = grad.reshape([rows, g_rows[1]])?;
    let db = if tb {
        g_flat.matmul_transposed(&a_flat, true, false)?
    } else {
        a_flat.matmul_transposed(&g_flat, true, false)?
    };
    Ok(Some(db.reshape(b.shape())?))
}

/// `(last two dims, batch dims)` of a shape with at least two dimensions.
fn matrix_split(dims: &[usize]) -> (&[usize], &[usize]) {
    let split = dims.len().saturating_sub(2);
    (&dims[split..], &dims[..split])
}

/// Strides of one matrix operand as gemm reads it, in elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Layout {
    /// Distance between consecutive rows of the (possibly transposed) matrix.
    row: usize,
    /// Distance between consecutive columns.
    col: usize,
}

/// Everything the batched loop needs, checked against the user's shapes.
struct Plan {
    out: Shape,
    /// Number of gemm calls, and the data offsets of each operand per call.
    batch: usize,
    lhs_offsets: Vec<usize>,
    rhs_offsets: Vec<usize>,
    m: usize,
    n: usize,
    k: usize,
    lhs: Layout,
    rhs: Layout,
}

fn plan(a: &Shape, b: &Shape, ta: bool, tb: bool) -> Result<Plan> {
    if a.ndim() < 2 || b.ndim() < 2 {
        return Err(Error::shape(
            "matmul",
            &[a, b],
            "both operands must have at least 2 dimensions; reshape a vector of length n \
             to [1, n] (a row) or [n, 1] (a column) first",
        ));
    }
    let (a_mat, a_batch) = matrix_split(a.dims());
    let (b_mat, b_batch) = matrix_split(b.dims());
    let (a_rows, a_cols) = (a_mat[0], a_mat[1]);
    let (b_rows, b_cols) = (b_mat[0], b_mat[1]);
    // op(A) is m x k and op(B) is k x n; a transposed operand is stored the other way.
    let (m, k_lhs, lhs) = if ta {
        (
            a_cols,
            a_rows,
            Layout {
                row: 1,
                col: a_cols,
            },
        )
    } else {
        (
            a_rows,
            a_cols,
            Layout {
                row: a_cols,
                col: 1,
            },
        )
    };
    let (k_rhs, n, rhs) = if tb {
        (
            b_cols,
            b_rows,
            Layout {
                row: 1,
                col: b_cols,
            },
        )
    } else {
        (
            b_rows,
            b_cols,
            Layout {
                row: b_cols,
                col: 1,
            },
        )
    };
    if k_lhs != k_rhs {
        let lhs_what = if ta { "the transposed lhs" } else { "the lhs" };
        let rhs_what = if tb { "the transposed rhs" } else { "the rhs" };
        return Err(Error::shape(
            "matmul",
            &[a, b],
            format!(
                "inner dimensions differ: {lhs_what} is {m} x {k_lhs} but {rhs_what} is \
                 {k_rhs} x {n} (columns of the left must equal rows of the right)"
            ),
        ));
    }
    let (a_batch, b_batch) = (Shape::new(a_batch), Shape::new(b_batch));
    let batch_shape = Shape::broadcast("matmul", &a_batch, &b_batch).map_err(|_| {
        Error::shape(
            "matmul",
            &[a, b],
            format!("batch dimensions {a_batch} and {b_batch} do not broadcast"),
        )
    })?;
    let mut out_dims: Vec<usize> = batch_shape.dims().to_vec();
    out_dims.extend([m, n]);
    let lhs_strides = batch_strides(&a_batch, &batch_shape, a_rows * a_cols);
    let rhs_strides = batch_strides(&b_batch, &batch_shape, b_rows * b_cols);
    let batch = batch_shape.numel();
    let mut plan = Plan {
        out: Shape::from(out_dims),
        batch,
        lhs_offsets: batch_offsets(batch_shape.dims(), &lhs_strides),
        rhs_offsets: batch_offsets(batch_shape.dims(), &rhs_strides),
        m,
        n,
        k: k_lhs,
        lhs,
        rhs,
    };
    // One rhs for the whole batch and an untransposed, unbroadcast lhs: the batch is a
    // taller lhs ([b*m, k], rows contiguous), and one gemm call does it all.
    let rhs_shared = rhs_strides.iter().all(|&s| s == 0);
    let lhs_whole = a_batch.numel() == batch;
    if batch > 1 && rhs_shared && lhs_whole && !ta {
        plan.m *= batch;
        plan.batch = 1;
        plan.lhs_offsets = vec![0];
        plan.rhs_offsets = vec![0];
    }
    Ok(plan)
}

/// Per dimension of the output batch `out`, the distance in elements between
/// consecutive matrices of an operand with batch shape `own` (0 where it is broadcast).
fn batch_strides(own: &Shape, out: &Shape, matrix: usize) -> SmallVec<[usize; 4]> {
    let own_strides = own.strides();
    let offset = out.ndim() - own.ndim();
    (0..out.ndim())
        .map(|i| {
            if i < offset || own[i - offset] == 1 {
                0
            } else {
                own_strides[i - offset] * matrix
            }
        })
        .collect()
}

/// The data offset of every matrix of the batch, in row-major batch order.
fn batch_offsets(dims: &[usize], strides: &[usize]) -> Vec<usize> {
    let total: usize = dims.iter().product();
    let mut offsets = Vec::with_capacity(total);
    let mut index: SmallVec<[usize; 4]> = SmallVec::from_elem(0, dims.len());
    let mut offset = 0usize;
    for _ in 0..total {
        offsets.push(offset);
        for d in (0..dims.len()).rev() {
            index[d] += 1;
            offset += strides[d];
            if index[d] < dims[d] {
                break;
            }
            offset -= strides[d] * dims[d];
            index[d] = 0;
        }
    }
    offsets
}

#[expect(
    unsafe_code,
    reason = "the output is written by gemm without being zeroed first; set_len once every element is written"
)]
fn run_plan<T: Element>(p: &Plan, a: &[T], b: &[T]) -> Result<Vec<T>> {
    let numel = p.out.numel();
    let (m, n, k) = (p.m, p.n, p.k);
    if m == 0 || n == 0 || k == 0 {
        // An empty sum is zero: k = 0 gives a zero matrix, as in PyTorch.
        return Ok(crate::tensor::pool::zeros(numel));
    }
    // Every element is written below (gemm with `read_dst = false` writes its whole
    // destination), so the output is not zeroed first: one batch member per m x n
    // chunk, and the plan must have exactly one pair of offsets per chunk.
    if p.lhs_offsets.len() != p.batch
        || p.rhs_offsets.len() != p.batch
        || p.batch.checked_mul(m * n) != Some(numel)
    {
        return Err(Error::invalid(
            "matmul",
            "internal: the plan's batch does not cover the output",
        ));
    }
    let mut out: Vec<T> = crate::tensor::pool::take(numel);
    let per_product = m.saturating_mul(n).saturating_mul(k);
    let parallel = per_product >= PARALLEL_THRESHOLD;
    let threads = rayon::current_num_threads();
    let chunks = out.spare_capacity_mut()[..numel].chunks_exact_mut(m * n);
    let products = chunks.zip(&p.lhs_offsets).zip(&p.rhs_offsets);
    if threads >= 2
        && p.batch >= threads
        && per_product.saturating_mul(p.batch) >= PARALLEL_THRESHOLD
    {
        // A batch of at least one product per thread: whole products, single-threaded,
        // dealt out to the crew in runs (one job), instead of a job per product split
        // in row bands. A convolution's 64 products of 32 x 256 x 144 for its filter
        // gradient took 1.0 ms the other way.
        let failure: Mutex<Option<Error>> = Mutex::new(None);
        crew::for_each(products, |((dst, &oa), &ob)| {
            let lhs = a.get(oa..).unwrap_or_default();
            let rhs = b.get(ob..).unwrap_or_default();
            let result = gemm_into_uninit(m, n, k, dst, lhs, p.lhs, rhs, p.rhs, Parallelism::None);
            if let Err(e) = result {
                *failure.lock().unwrap_or_else(PoisonError::into_inner) = Some(e);
            }
        });
        if let Some(e) = failure.into_inner().unwrap_or_else(PoisonError::into_inner) {
            return Err(e);
        }
        // SAFETY: as below: the chunks of m x n partition `spare[..numel]`, and each was
        // given to `crew::for_each` exactly once and written whole by
        // `gemm_into_uninit`, which returned Ok (an error returned early above).
        unsafe { out.set_len(numel) };
        return Ok(out);
    }
    for ((dst, &oa), &ob) in products {
        let lhs = a.get(oa..).unwrap_or_default();
        let rhs = b.get(ob..).unwrap_or_default();
        if !parallel || threads < 2 || m < 2 * threads {
            let parallelism = if parallel {
                Parallelism::Rayon(0)
            } else {
                Parallelism::None
            };
            gemm_into_uninit(m, n, k, dst, lhs, p.lhs, rhs, p.rhs, parallelism)?;
            continue;
        }
        // One band of output rows per thread, each an independent single-threaded
        // product (`lhs` rows r0.. times the whole `rhs`): gemm's own threading splits
        // products with few rows (a batch of 64) poorly. The bands run on the crew
        // (`tensor::crew`), whose threads are awake when the next product comes.
        let band = m.div_ceil(threads);
        let failure: Mutex<Option<Error>> = Mutex::new(None);
        crew::for_each(dst.chunks_mut(band * n).enumerate(), |(t, rows)| {
            let lhs = lhs.get(t * band * p.lhs.row..).unwrap_or_default();
            let result = gemm_into_uninit(
                rows.len() / n,
                n,
                k,
                rows,
                lhs,
                p.lhs,
                rhs,
                p.rhs,
                Parallelism::None,
            );
            if let Err(e) = result {
                *failure.lock().unwrap_or_else(PoisonError::into_inner) = Some(e);
            }
        });
        if let Some(e) = failure.into_inner().unwrap_or_else(PoisonError::into_inner) {
            return Err(e);
        }
    }
    // SAFETY: the capacity is at least `numel` (`take`), and every element of
    // `spare[..numel]` has been written: the chunks of m x n partition it (checked
    // above: `batch` chunks, one offset pair each), and each chunk was written whole by
    // `gemm_into_uninit` (directly, or in bands that partition it, each given to
    // `crew::for_each` exactly once), which returned Ok
    // (an error returned early, leaving the length 0).
    unsafe { out.set_len(numel) };
    Ok(out)
}

/// `dst := lhs rhs` for an `m x k` lhs and a `k x n` rhs read through `Layout`s, into a
/// row-major `m x n` `dst`, by `gemm::gemm`.
///
/// Every element gemm can touch is checked to lie inside its slice first, so a wrong
/// layout is an error, never an out-of-bounds access.
#[cfg(test)]
#[expect(
    unsafe_code,
    reason = "views the initialised destination as MaybeUninit for gemm_into_uninit, which only writes initialised values"
)]
#[expect(
    clippy::too_many_arguments,
    reason = "a gemm call has this many parameters"
)]
fn gemm_into<T: Element>(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [T],
    lhs: &[T],
    lhs_layout: Layout,
    rhs: &[T],
    rhs_layout: Layout,
    parallelism: Parallelism,
) -> Result<()> {
    // SAFETY: `MaybeUninit<T>` has `T`'s layout, and `gemm_into_uninit` only writes
    // initialised values through it, so `dst` stays initialised.
    let dst = unsafe { &mut *(std::ptr::from_mut(dst) as *mut [MaybeUninit<T>]) };
    gemm_into_uninit(m, n, k, dst, lhs, lhs_layout, rhs, rhs_layout, parallelism)
}

/// [`gemm_into`] into memory that need not be initialised: every element of `dst` is
/// written (the old contents are never read).
#[expect(
    unsafe_code,
    reason = "gemm::gemm takes raw pointers and element strides; the extents are checked against the slices just before the call"
)]
#[expect(
    clippy::too_many_arguments,
    reason = "a gemm call has this many parameters"
)]
fn gemm_into_uninit<T: Element>(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [MaybeUninit<T>],
    lhs: &[T],
    lhs_layout: Layout,
    rhs: &[T],
    rhs_layout: Layout,
    parallelism: Parallelism,
) -> Result<()> {
    let internal = |what: &str| Error::invalid("matmul", format!("internal: {what}"));
    if dst.len() != m.saturating_mul(n) {
        return Err(internal("the destination does not hold m x n elements"));
    }
    if m == 0 || n == 0 {
        return Ok(());
    }
    if k == 0 {
        dst.fill(MaybeUninit::new(T::zero()));
        return Ok(());
    }
    // The furthest element of an r x c matrix is at (r-1) * row + (c-1) * col.
    let extent = |rows: usize, cols: usize, l: Layout| {
        (rows - 1)
            .checked_mul(l.row)
            .and_then(|x| (cols - 1).checked_mul(l.col).and_then(|y| x.checked_add(y)))
    };
    let lhs_fits = extent(m, k, lhs_layout).is_some_and(|e| e < lhs.len());
    let rhs_fits = extent(k, n, rhs_layout).is_some_and(|e| e < rhs.len());
    if !lhs_fits || !rhs_fits {
        return Err(internal("an operand's layout reaches past its data"));
    }
    let stride = |s: usize| isize::try_from(s).map_err(|_| internal("a stride exceeds isize::MAX"));
    let (lhs_rs, lhs_cs) = (stride(lhs_layout.row)?, stride(lhs_layout.col)?);
    let (rhs_rs, rhs_cs) = (stride(rhs_layout.row)?, stride(rhs_layout.col)?);
    let dst_rs = stride(n)?;
    // SAFETY: `T` is f32 or f64 (`Element` is sealed), both supported by gemm (it panics
    // only for other types). `dst` is an exclusive borrow of exactly m * n elements,
    // written row-major (column stride 1, row stride n), so it cannot alias `lhs` or
    // `rhs`. Every lhs element gemm reads is at `i * lhs_rs + p * lhs_cs` for i < m,
    // p < k, at most the extent checked above to be inside `lhs`; likewise for `rhs`
    // with p < k, j < n. All strides are non-negative and fit in isize. With
    // `read_dst = false` the old contents of `dst` are never read (alpha is ignored;
    // they may be uninitialised) and every one of its m * n elements is written:
    // beta = 1 gives dst = lhs * rhs.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr().cast::<T>(),
            1,
            dst_rs,
            false,
            lhs.as_ptr(),
            lhs_cs,
            lhs_rs,
            rhs.as_ptr(),
            rhs_cs,
            rhs_rs,
            T::zero(),
            T::one(),
            false,
            false,
            false,
            parallelism,
        );
    }
    Ok(())
}

impl Tensor {
    /// The matrix product `self @ rhs`, batched over leading dimensions that broadcast.
    ///
    /// # Shapes
    /// `[..., m, k] @ [..., k, n] -> [..., m, n]`; the batch dimensions `...` broadcast
    /// (NumPy rules). Both operands need at least two dimensions. `k = 0` gives zeros.
    ///
    /// # Errors
    /// [`Error::Shape`] if an operand has fewer than two dimensions, the inner
    /// dimensions differ or the batch dimensions do not broadcast;
    /// [`Error::DTypeMismatch`] if the dtypes differ.
    ///
    /// ```
    /// use gradflow_autograd::Tensor;
    /// let a = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2])?;
    /// let b = Tensor::from_vec(vec![5.0f32, 6.0, 7.0, 8.0], &[2, 2])?;
    /// assert_eq!(a.matmul(&b)?.to_vec::<f32>()?, vec![19.0, 22.0, 43.0, 50.0]);
    /// # Ok::<(), gradflow_autograd::Error>(())
    /// ```
    pub fn matmul(&self, rhs: &Tensor) -> Result<Tensor> {
        self.matmul_transposed(rhs, false, false)
    }

    /// The matrix product `op(self) @ op(rhs)`, where `op` swaps the last two dimensions
    /// of an operand whose flag is set. The transposition is a different reading of the
    /// same data (strides), not a copy: `x.matmul_transposed(&w, false, true)` is the
    /// `x W^T` of a linear layer.
    ///
    /// # Shapes
    /// `op(self): [..., m, k]`, `op(rhs): [..., k, n]`, output `[..., m, n]`, batch
    /// dimensions broadcast. A transposed lhs is stored as `[..., k, m]`, a transposed
    /// rhs as `[..., n, k]`.
    ///
    /// # Errors
    /// As [`Tensor::matmul`].
    pub fn matmul_transposed(
        &self,
        rhs: &Tensor,
        transpose_lhs: bool,
        transpose_rhs: bool,
    ) -> Result<Tensor> {
        kernel::same_dtype("matmul", self, rhs)?;
        let p = plan(self.shape(), rhs.shape(), transpose_lhs, transpose_rhs)?;
        let out = p.out.clone();
        match (self.storage_ref(), rhs.storage_ref()) {
            (Storage::F32(a), Storage::F32(b)) => Ok(Tensor::from_kernel(run_plan(&p, a, b)?, out)),
            (Storage::F64(a), Storage::F64(b)) => Ok(Tensor::from_kernel(run_plan(&p, a, b)?, out)),
            _ => Err(Error::DTypeMismatch {
                op: "matmul",
                lhs: self.dtype(),
                rhs: rhs.dtype(),
            }),
        }
    }
}

impl Var {
    /// The matrix product `self @ rhs`, batched; recorded.
    ///
    /// # Shapes
    /// `[..., m, k] @ [..., k, n] -> [..., m, n]`, batch dimensions broadcast; the
    /// gradient of a broadcast operand is summed over the batch dimensions it was
    /// broadcast along.
    ///
    /// # Errors
    /// As [`Tensor::matmul`], plus the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn matmul(&self, rhs: &Var) -> Result<Var> {
        Var::apply(MatMul::default(), &[self, rhs])
    }

    /// The matrix product `op(self) @ op(rhs)` with either operand read transposed
    /// (last two dimensions swapped, through strides, without a copy); recorded as one
    /// [`MatMul`] node.
    ///
    /// # Shapes
    /// As [`Tensor::matmul_transposed`].
    ///
    /// # Errors
    /// As [`Tensor::matmul`], plus the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn matmul_transposed(
        &self,
        rhs: &Var,
        transpose_lhs: bool,
        transpose_rhs: bool,
    ) -> Result<Var> {
        let op = MatMul {
            transpose_lhs,
            transpose_rhs,
        };
        Var::apply(op, &[self, rhs])
    }
}

#[cfg(test)]
mod tests;
