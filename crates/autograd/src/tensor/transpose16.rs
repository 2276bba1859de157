//! A 16 x 16 block of f32 transposed in AVX-512 registers, for the tiled copies of
//! transposes and permutes (`kernel::strided_tiles`): 16 loads, 64 shuffles and 16
//! stores, where copying element by element takes 256 loads and 256 scattered stores.
//!
//! The shuffles, in four rounds (each within 128-bit lanes, then across them):
//! interleave the elements of pairs of rows (`unpacklo/hi_ps`), then their pairs
//! (`shuffle_ps`), which leaves each lane holding four rows of one column; then a 4 x 4
//! transpose of the lanes themselves (`shuffle_f32x4`, twice).

/// Side of the block.
pub(crate) const SIDE: usize = 16;

/// Writes `dst[r * dst_stride + c] = src[c * src_stride + r]` for `r, c < 16` and
/// returns true; or writes nothing and returns false, where the CPU has no AVX-512 or
/// a slice is too short for its 16 strided runs of 16.
#[cfg_attr(
    target_arch = "x86_64",
    expect(
        unsafe_code,
        reason = "calls the #[target_feature] function after checking the CPU and the slices' lengths"
    )
)]
pub(crate) fn transpose16(
    src: &[f32],
    src_stride: usize,
    dst: &mut [f32],
    dst_stride: usize,
) -> bool {
    let fits = |len: usize, stride: usize| {
        stride
            .checked_mul(SIDE - 1)
            .and_then(|last| last.checked_add(SIDE))
            .is_some_and(|need| need <= len)
    };
    if !(fits(src.len(), src_stride) && fits(dst.len(), dst_stride)) {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has AVX-512F (checked just above), and both slices hold the
        // 16 runs of 16 that the function reads and writes (checked by `fits`).
        unsafe { avx512(src, src_stride, dst, dst_stride) };
        return true;
    }
    false
}

/// [`transpose16`]'s block. The caller guarantees AVX-512F and
/// `len >= 15 * stride + 16` for both slices.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[expect(
    unsafe_code,
    reason = "unaligned 512-bit loads and stores through pointers into the checked slices"
)]
unsafe fn avx512(src: &[f32], src_stride: usize, dst: &mut [f32], dst_stride: usize) {
    use std::arch::x86_64::{
        __m512, _mm512_loadu_ps, _mm512_shuffle_f32x4, _mm512_shuffle_ps, _mm512_storeu_ps,
        _mm512_unpackhi_ps, _mm512_unpacklo_ps,
    };
    // SAFETY: row i is src[i * src_stride..][..16], inside src (the caller's bound).
    let rows: [__m512; SIDE] =
        std::array::from_fn(|i| unsafe { _mm512_loadu_ps(src.as_ptr().add(i * src_stride)) });
    // Lane l of pair[2p] holds rows 2p, 2p+1 at columns 4l, 4l+1; of pair[2p+1], at
    // columns 4l+2, 4l+3.
    let pair: [__m512; SIDE] = std::array::from_fn(|i| {
        let (a, b) = (rows[i & !1], rows[i | 1]);
        if i % 2 == 0 {
            _mm512_unpacklo_ps(a, b)
        } else {
            _mm512_unpackhi_ps(a, b)
        }
    });
    // Lane l of quad[4g + k] holds rows 4g..4g+3 of column 4l + k.
    let quad: [__m512; SIDE] = std::array::from_fn(|i| {
        let (g, k) = (i / 4, i % 4);
        let (a, b) = (pair[4 * g + k / 2], pair[4 * g + 2 + k / 2]);
        if k % 2 == 0 {
            _mm512_shuffle_ps::<0x44>(a, b)
        } else {
            _mm512_shuffle_ps::<0xEE>(a, b)
        }
    });
    for k in 0..4 {
        let [a0, a1, a2, a3] = [quad[k], quad[4 + k], quad[8 + k], quad[12 + k]];
        // The 4 x 4 transpose of 128-bit lanes: column 4l + k gets lane l of each.
        let (even01, odd01) = (
            _mm512_shuffle_f32x4::<0x88>(a0, a1),
            _mm512_shuffle_f32x4::<0xDD>(a0, a1),
        );
        let (even23, odd23) = (
            _mm512_shuffle_f32x4::<0x88>(a2, a3),
            _mm512_shuffle_f32x4::<0xDD>(a2, a3),
        );
        let columns = [
            _mm512_shuffle_f32x4::<0x88>(even01, even23),
            _mm512_shuffle_f32x4::<0x88>(odd01, odd23),
            _mm512_shuffle_f32x4::<0xDD>(even01, even23),
            _mm512_shuffle_f32x4::<0xDD>(odd01, odd23),
        ];
        for (l, column) in columns.into_iter().enumerate() {
            // SAFETY: output row 4l + k is dst[(4l + k) * dst_stride..][..16], inside
            // dst (the caller's bound).
            unsafe { _mm512_storeu_ps(dst.as_mut_ptr().add((4 * l + k) * dst_stride), column) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every element lands where the index arithmetic says, with strides longer than
    /// a row and the slices' ends exactly at the last run; a slice one short is refused.
    #[test]
    fn transposes_a_block_between_strided_runs() {
        let (ss, ds) = (19, 23);
        let src: Vec<f32> = (0..15 * ss + 16).map(|i| i as f32).collect();
        let mut dst = vec![-1.0f32; 15 * ds + 16];
        if !transpose16(&src, ss, &mut dst, ds) {
            return; // no AVX-512 here: the callers copy element by element
        }
        for r in 0..SIDE {
            for c in 0..SIDE {
                assert_eq!(dst[r * ds + c], src[c * ss + r], "r {r}, c {c}");
            }
            assert!(
                dst[r * ds + SIDE..(r * ds + ds).min(dst.len())]
                    .iter()
                    .all(|&x| x == -1.0)
            );
        }
        assert!(!transpose16(&src[1..], ss, &mut dst, ds));
        assert!(!transpose16(&src, ss, &mut dst[1..], ds));
    }
}
