//! Tests of `matmul`: gradchecks of the four transpose cases, values against a naive
//! product, the gemm call against a safe triple loop, edge cases and errors.

use super::*;
use crate::testing::*;
use crate::{DType, Tape};

/// `op(a) @ op(b)` by the definition, on f64 values, batch dims broadcast.
fn naive(a: &Tensor, b: &Tensor, ta: bool, tb: bool) -> Vec<f64> {
    let p = plan(a.shape(), b.shape(), ta, tb).unwrap();
    let (av, bv) = (a.to_f64_vec(), b.to_f64_vec());
    let (m, n) = (
        *p.out.dims().iter().rev().nth(1).unwrap(),
        *p.out.dims().last().unwrap(),
    );
    let k = if ta {
        a.dims()[a.ndim() - 2]
    } else {
        a.dims()[a.ndim() - 1]
    };
    let (a_mat, b_mat) = (m * k, k * n);
    let batch_out = Shape::new(&p.out.dims()[..p.out.ndim() - 2]);
    let a_batch = Shape::new(&a.dims()[..a.ndim() - 2]);
    let b_batch = Shape::new(&b.dims()[..b.ndim() - 2]);
    let at = |x: usize, i: usize, q: usize| {
        if ta {
            av[x + q * m + i]
        } else {
            av[x + i * k + q]
        }
    };
    let bt = |x: usize, q: usize, j: usize| {
        if tb {
            bv[x + j * k + q]
        } else {
            bv[x + q * n + j]
        }
    };
    let mut out = Vec::new();
    let bstr = batch_out.strides();
    for flat in 0..batch_out.numel() {
        let idx: Vec<usize> = (0..batch_out.ndim())
            .map(|d| flat / bstr[d] % batch_out[d])
            .collect();
        let base = |s: &Shape, mat: usize| {
            let off = idx.len() - s.ndim();
            let st = s.strides();
            (0..s.ndim())
                .map(|d| if s[d] == 1 { 0 } else { idx[off + d] * st[d] })
                .sum::<usize>()
                * mat
        };
        let (xa, xb) = (base(&a_batch, a_mat), base(&b_batch, b_mat));
        for i in 0..m {
            for j in 0..n {
                out.push((0..k).map(|q| at(xa, i, q) * bt(xb, q, j)).sum());
            }
        }
    }
    out
}

/// The stored shapes of operands whose (logical) product is `[.., m, k] @ [.., k, n]`.
fn stored(
    batch_a: &[usize],
    batch_b: &[usize],
    m: usize,
    k: usize,
    n: usize,
    ta: bool,
    tb: bool,
) -> (Vec<usize>, Vec<usize>) {
    let mut a = batch_a.to_vec();
    a.extend(if ta { [k, m] } else { [m, k] });
    let mut b = batch_b.to_vec();
    b.extend(if tb { [n, k] } else { [k, n] });
    (a, b)
}

const FLAGS: [(bool, bool); 4] = [(false, false), (false, true), (true, false), (true, true)];

/// (lhs batch, rhs batch, m, k, n).
type Case = (Vec<usize>, Vec<usize>, usize, usize, usize);

/// Plain, non-square, batched, broadcast both ways, size-1 dimensions, and zero-size
/// m, n, k and batch.
fn cases() -> Vec<Case> {
    vec![
        (vec![], vec![], 3, 4, 2),
        (vec![], vec![], 1, 3, 1),
        (vec![2], vec![2], 2, 3, 4),
        (vec![3], vec![], 2, 4, 3),
        (vec![], vec![2], 3, 2, 2),
        (vec![2, 1], vec![3], 2, 3, 2),
        (vec![1], vec![2, 1], 1, 2, 3),
        (vec![], vec![], 0, 3, 2),
        (vec![], vec![], 2, 3, 0),
        (vec![], vec![], 2, 0, 3),
        (vec![0], vec![], 2, 2, 2),
    ]
}

#[test]
fn matmul_gradchecks_in_all_four_transpose_cases() {
    for (ta, tb) in FLAGS {
        for (i, (ba, bb, m, k, n)) in cases().into_iter().enumerate() {
            let (sa, sb) = stored(&ba, &bb, m, k, n, ta, tb);
            let (a, b) = (randn(&sa, 2 * i as u64), randn(&sb, 2 * i as u64 + 1));
            check_op(move |v| v[0].matmul_transposed(&v[1], ta, tb), &[a, b]);
        }
    }
}

#[test]
fn matmul_gradient_of_a_product_with_itself_gradchecks() {
    // x^T x and x x^T: one Var as both operands, gradients accumulated.
    let x = randn(&[3, 2], 5);
    check_op(
        |v| v[0].matmul_transposed(&v[0], true, false),
        std::slice::from_ref(&x),
    );
    check_op(|v| v[0].matmul_transposed(&v[0], false, true), &[x]);
}

#[test]
fn matmul_matches_a_naive_product_in_all_four_transpose_cases() {
    for (ta, tb) in FLAGS {
        for (i, (ba, bb, m, k, n)) in cases().into_iter().enumerate() {
            let (sa, sb) = stored(&ba, &bb, m, k, n, ta, tb);
            let (a, b) = (randn(&sa, 40 + i as u64), randn(&sb, 80 + i as u64));
            let got = a.matmul_transposed(&b, ta, tb).unwrap();
            let mut want_shape: Vec<usize> =
                Shape::broadcast("t", &Shape::new(&ba), &Shape::new(&bb))
                    .unwrap()
                    .dims()
                    .to_vec();
            want_shape.extend([m, n]);
            assert_eq!(got.dims(), want_shape.as_slice(), "{sa:?} {sb:?} {ta} {tb}");
            assert_close(&got.to_f64_vec(), &naive(&a, &b, ta, tb), 1e-12, 1e-12);
        }
    }
}

#[test]
fn matmul_matches_torch_on_a_small_example() {
    // torch.tensor([[1., 2., 3.], [4., 5., 6.]]) @ torch.tensor([[1., 0.], [-1., 2.], [0.5, 1.]])
    // -> [[0.5, 7.0], [2.0, 16.0]]
    let a = t64(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let b = t64(&[1.0, 0.0, -1.0, 2.0, 0.5, 1.0], &[3, 2]);
    assert_eq!(
        a.matmul(&b).unwrap().to_vec::<f64>().unwrap(),
        vec![0.5, 7.0, 2.0, 16.0]
    );
    let tape = Tape::new();
    let (va, vb) = (tape.var(a), tape.var(b));
    let g = va
        .matmul(&vb)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    // torch: a.grad = ones(2,2) @ b.T = row sums of b; b.grad = a.T @ ones = column sums of a.
    assert_eq!(
        g.get(&va).unwrap().to_vec::<f64>().unwrap(),
        vec![1.0, 1.0, 1.5, 1.0, 1.0, 1.5]
    );
    assert_eq!(
        g.get(&vb).unwrap().to_vec::<f64>().unwrap(),
        vec![5.0, 5.0, 7.0, 7.0, 9.0, 9.0]
    );
}

#[test]
fn matmul_with_zero_inner_dimension_gives_zeros_and_empty_dims_give_empty() {
    let z = randn(&[3, 0], 1).matmul(&randn(&[0, 2], 2)).unwrap();
    assert_eq!(z.dims(), &[3, 2]);
    assert_eq!(z.to_f64_vec(), vec![0.0; 6]);
    let e = randn(&[0, 4], 1).matmul(&randn(&[4, 5], 2)).unwrap();
    assert_eq!(e.dims(), &[0, 5]);
    let e = randn(&[2, 3, 4], 1).matmul(&randn(&[4, 0], 2)).unwrap();
    assert_eq!(e.dims(), &[2, 3, 0]);
}

#[test]
fn matmul_runs_in_f32_and_matches_f64() {
    let (a, b) = (randn(&[5, 7], 3), randn(&[2, 7, 4], 4));
    let want = a.matmul(&b).unwrap().to_f64_vec();
    let (a32, b32) = (a.to_dtype(DType::F32), b.to_dtype(DType::F32));
    let got = a32.matmul(&b32).unwrap();
    assert_eq!(got.dtype(), DType::F32);
    assert_close(&got.to_f64_vec(), &want, 1e-5, 1e-5);
}

#[test]
fn large_matmul_takes_the_parallel_path_and_stays_exact() {
    // 110^3 multiply-adds is above the threshold, so gemm runs on the rayon pool.
    const { assert!(110 * 110 * 110 >= PARALLEL_THRESHOLD) };
    let (a, b) = (randn(&[110, 110], 5), randn(&[110, 110], 6));
    for (ta, tb) in FLAGS {
        let got = a.matmul_transposed(&b, ta, tb).unwrap().to_f64_vec();
        assert_close(&got, &naive(&a, &b, ta, tb), 1e-12, 1e-12);
    }
}

#[test]
fn a_batch_split_over_threads_gives_each_product_as_computed_alone() {
    // A shared lhs times a batch of rhs (a convolution's shape), and a batch of both:
    // more products than threads and, in all, work above the threshold, so the
    // products are dealt out whole to the crew. Each must be exactly the product
    // computed on its own, and close to the naive one, in every transpose case.
    let (batch, m, k, n) = (9usize, 8usize, 40usize, 400usize);
    const { assert!(9 * 8 * 40 * 400 >= PARALLEL_THRESHOLD) };
    for (ta, tb) in FLAGS {
        let lhs = if ta { [k, m] } else { [m, k] };
        let rhs = if tb { [n, k] } else { [k, n] };
        for shared_lhs in [true, false] {
            let a = if shared_lhs {
                randn(&lhs, 9)
            } else {
                randn(&[batch, lhs[0], lhs[1]], 9)
            };
            let b = randn(&[batch, rhs[0], rhs[1]], 10);
            let got = a.matmul_transposed(&b, ta, tb).unwrap();
            assert_close(&got.to_f64_vec(), &naive(&a, &b, ta, tb), 1e-12, 1e-12);
            for i in 0..batch {
                let ai = if shared_lhs {
                    a.clone()
                } else {
                    a.narrow(0, i, 1).unwrap().reshape(lhs).unwrap()
                };
                let bi = b.narrow(0, i, 1).unwrap().reshape(rhs).unwrap();
                let alone = ai.matmul_transposed(&bi, ta, tb).unwrap();
                let part = got.narrow(0, i, 1).unwrap().reshape([m, n]).unwrap();
                assert_eq!(part.to_f64_vec(), alone.to_f64_vec(), "product {i}");
            }
        }
    }
}

#[test]
fn a_parallel_product_with_an_odd_number_of_rows_splits_into_uneven_bands() {
    // m = 123 rows over the pool's threads: bands of unequal height, every transpose case.
    let (m, k, n) = (123usize, 97usize, 89usize);
    const { assert!(123 * 97 * 89 >= PARALLEL_THRESHOLD) };
    for (ta, tb) in FLAGS {
        let (da, db) = (
            if ta { [k, m] } else { [m, k] },
            if tb { [n, k] } else { [k, n] },
        );
        let (a, b) = (randn(&da, 7), randn(&db, 8));
        let got = a.matmul_transposed(&b, ta, tb).unwrap().to_f64_vec();
        assert_close(&got, &naive(&a, &b, ta, tb), 1e-12, 1e-12);
    }
}

#[test]
fn gemm_into_matches_a_safe_triple_loop_on_many_shapes_and_strides() {
    // Operands are read out of larger buffers with padded row or column strides, row-
    // or column-major, at sizes on both sides of the micro-kernel tiles.
    let sizes = [1usize, 2, 3, 5, 8, 13, 17, 33];
    let mut seed = 0;
    for &m in &sizes {
        for &n in &sizes {
            for &k in &[1usize, 4, 9, 31] {
                for (pad_a, pad_b) in [(0usize, 0usize), (3, 1)] {
                    for (col_major_a, col_major_b) in FLAGS {
                        seed += 1;
                        let lay = |rows: usize, cols: usize, col_major: bool, pad: usize| {
                            if col_major {
                                Layout {
                                    row: 1,
                                    col: rows + pad,
                                }
                            } else {
                                Layout {
                                    row: cols + pad,
                                    col: 1,
                                }
                            }
                        };
                        let la = lay(m, k, col_major_a, pad_a);
                        let lb = lay(k, n, col_major_b, pad_b);
                        let len =
                            |r: usize, c: usize, l: Layout| (r - 1) * l.row + (c - 1) * l.col + 1;
                        let a = randn(&[len(m, k, la) + pad_a], seed)
                            .to_vec::<f64>()
                            .unwrap();
                        let b = randn(&[len(k, n, lb) + pad_b], seed + 1000)
                            .to_vec::<f64>()
                            .unwrap();
                        let mut want = vec![0.0; m * n];
                        for i in 0..m {
                            for j in 0..n {
                                for p in 0..k {
                                    want[i * n + j] +=
                                        a[i * la.row + p * la.col] * b[p * lb.row + j * lb.col];
                                }
                            }
                        }
                        let mut got = vec![f64::NAN; m * n];
                        gemm_into(m, n, k, &mut got, &a, la, &b, lb, Parallelism::None).unwrap();
                        assert_close(&got, &want, 1e-12, 1e-12);
                        let a32: Vec<f32> = a.iter().map(|&x| x as f32).collect();
                        let b32: Vec<f32> = b.iter().map(|&x| x as f32).collect();
                        let mut got32 = vec![f32::NAN; m * n];
                        gemm_into(
                            m,
                            n,
                            k,
                            &mut got32,
                            &a32,
                            la,
                            &b32,
                            lb,
                            Parallelism::Rayon(0),
                        )
                        .unwrap();
                        let got32: Vec<f64> = got32.iter().map(|&x| x as f64).collect();
                        assert_close(&got32, &want, 1e-4, 1e-4);
                    }
                }
            }
        }
    }
}

#[test]
fn gemm_into_rejects_layouts_that_reach_past_the_data() {
    let a = vec![1.0f64; 6];
    let b = vec![1.0f64; 6];
    let mut dst = vec![0.0f64; 4];
    let row_major = |cols| Layout { row: cols, col: 1 };
    assert!(
        gemm_into(
            2,
            2,
            3,
            &mut dst,
            &a,
            row_major(3),
            &b,
            row_major(2),
            Parallelism::None
        )
        .is_ok()
    );
    assert_eq!(dst, vec![3.0; 4]);
    let err = gemm_into(
        2,
        2,
        3,
        &mut dst,
        &a,
        row_major(4),
        &b,
        row_major(2),
        Parallelism::None,
    );
    assert!(err.unwrap_err().to_string().starts_with("matmul: internal"));
    let mut short = vec![0.0f64; 3];
    assert!(
        gemm_into(
            2,
            2,
            3,
            &mut short,
            &a,
            row_major(3),
            &b,
            row_major(2),
            Parallelism::None
        )
        .is_err()
    );
}

#[test]
fn matmul_rejects_vectors_and_suggests_a_reshape() {
    let err = randn(&[3], 1)
        .matmul(&randn(&[3, 2], 2))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "matmul: both operands must have at least 2 dimensions; reshape a vector of length n \
         to [1, n] (a row) or [n, 1] (a column) first (shapes: [3], [3, 2])"
    );
    assert!(randn(&[2, 3], 1).matmul(&randn(&[3], 2)).is_err());
    assert!(randn(&[], 1).matmul(&randn(&[], 2)).is_err());
}

#[test]
fn matmul_rejects_inner_dim_mismatch_naming_both_shapes() {
    let err = randn(&[2, 3], 1)
        .matmul(&randn(&[4, 5], 2))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "matmul: inner dimensions differ: the lhs is 2 x 3 but the rhs is 4 x 5 (columns of \
         the left must equal rows of the right) (shapes: [2, 3], [4, 5])"
    );
    let err = randn(&[2, 3], 1)
        .matmul_transposed(&randn(&[3, 5], 2), true, false)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("the transposed lhs is 3 x 2 but the rhs is 3 x 5"),
        "{err}"
    );
}

#[test]
fn matmul_rejects_batches_that_do_not_broadcast_and_mixed_dtypes() {
    let err = randn(&[2, 3, 4], 1)
        .matmul(&randn(&[3, 4, 5], 2))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "matmul: batch dimensions [2] and [3] do not broadcast (shapes: [2, 3, 4], [3, 4, 5])"
    );
    let err = randn(&[2, 2], 1)
        .matmul(&randn(&[2, 2], 2).to_dtype(DType::F32))
        .unwrap_err();
    assert!(
        matches!(err, Error::DTypeMismatch { op: "matmul", .. }),
        "{err}"
    );
}

#[test]
fn matmul_records_one_node_with_its_flags() {
    let tape = Tape::new();
    let x = tape.var(randn(&[2, 3], 1));
    let w = tape.var(randn(&[4, 3], 2));
    let y = x.matmul_transposed(&w, false, true).unwrap();
    assert_eq!(y.dims(), &[2, 4]);
    assert_eq!(tape.len(), 3);
    assert!(
        tape.to_dot()
            .contains("matmul(transpose_lhs=false, transpose_rhs=true)")
    );
}
