//! Summary statistics of tensors, accumulated in f64 so that a vanished gradient
//! (1e-60 in an f64 network) is measured as 1e-60, not rounded to 0.

use gradflow_autograd::{Element, Tensor};
use serde::{Deserialize, Serialize};

use crate::vectorised::{Loop, vectorised};

/// Evaluates `$body` with `$v` bound to the tensor's data as a slice of its own dtype
/// (`&[f64]` or `&[f32]`), so each statistic is written once, generic over `Element`,
/// and dispatched here.
macro_rules! with_data {
    ($t:expr, |$v:ident| $body:expr) => {{
        let t: &Tensor = $t;
        if let Ok($v) = t.as_slice::<f64>() {
            $body
        } else if let Ok($v) = t.as_slice::<f32>() {
            $body
        } else {
            let owned = t.to_f64_vec();
            let $v = owned.as_slice();
            $body
        }
    }};
}

/// Counts of values in fixed bins, plus what fell outside them (nothing is dropped).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    /// Count per bin (`edges.len() - 1` bins of the probe's configured edges).
    pub counts: Vec<u64>,
    /// Values below the first edge.
    pub below: u64,
    /// Values at or above the last edge.
    pub above: u64,
    /// NaN values.
    pub nan: u64,
}

impl Histogram {
    /// Bins `values` on `edges` (sorted, at least two).
    pub fn of(values: impl Iterator<Item = f64>, edges: &[f64]) -> Histogram {
        let bins = Bins::new(edges);
        let mut h = bins.empty();
        for v in values {
            bins.count(&mut h, v);
        }
        h
    }

    /// Total number of values counted, inside and outside the bins.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum::<u64>() + self.below + self.above + self.nan
    }
}

/// Where a value falls on a set of histogram edges; the binning rule of
/// [`Histogram::of`], set up once for many values.
#[derive(Clone, Debug)]
pub(crate) struct Bins {
    /// The edges; empty when there are none (then every value is counted as NaN,
    /// below or above, never in a bin, as with no bins at all).
    edges: Vec<f64>,
    bins: usize,
    lo: f64,
    hi: f64,
    /// Equally spaced edges (to 1e-9 of the width): the bin is computed, not searched.
    uniform: bool,
    /// `1 / (hi - lo)` when `hi - lo` is a power of two, where multiplying by it is
    /// exactly dividing by `hi - lo` (both are the correctly rounded same real number),
    /// and a multiplication is several times cheaper than a division.
    inverse_width: Option<f64>,
}

impl Bins {
    pub(crate) fn new(edges: &[f64]) -> Bins {
        let bins = edges.len().saturating_sub(1);
        let (lo, hi) = match (edges.first(), edges.last()) {
            (Some(&lo), Some(&hi)) => (lo, hi),
            _ => (f64::NAN, f64::NAN),
        };
        let uniform = bins > 0 && {
            let w = (hi - lo) / bins as f64;
            edges
                .iter()
                .enumerate()
                .all(|(i, &e)| (e - (lo + i as f64 * w)).abs() <= 1e-9 * w.abs().max(1e-300))
        };
        let width = hi - lo;
        let power_of_two = width.is_normal()
            && width > 0.0
            && width.to_bits() & ((1u64 << 52) - 1) == 0
            && (1.0 / width).is_normal();
        Bins {
            edges: edges.to_vec(),
            bins,
            lo,
            hi,
            uniform,
            inverse_width: power_of_two.then(|| 1.0 / width),
        }
    }

    /// A histogram with no counts yet.
    pub(crate) fn empty(&self) -> Histogram {
        Histogram {
            counts: vec![0; self.bins],
            below: 0,
            above: 0,
            nan: 0,
        }
    }

    /// Counts `v` in `h` (made by [`Bins::empty`]).
    #[inline]
    pub(crate) fn count(&self, h: &mut Histogram, v: f64) {
        if self.edges.is_empty() {
            return;
        }
        if v.is_nan() {
            h.nan += 1;
        } else if v < self.lo {
            h.below += 1;
        } else if v >= self.hi {
            h.above += 1;
        } else {
            let bins = self.bins;
            let i = if self.uniform {
                let fraction = match self.inverse_width {
                    Some(inv) => (v - self.lo) * inv,
                    None => (v - self.lo) / (self.hi - self.lo),
                };
                ((fraction * bins as f64) as usize).min(bins - 1)
            } else {
                self.edges
                    .partition_point(|&e| e <= v)
                    .saturating_sub(1)
                    .min(bins - 1)
            };
            if let Some(c) = h.counts.get_mut(i) {
                *c += 1;
            }
        }
    }

    /// The histogram of every element of `t`.
    pub(crate) fn of_tensor(&self, t: &Tensor) -> Histogram {
        with_data!(t, |v| vectorised(BinsLoop(self, v)))
    }

    #[inline(always)]
    fn of_slice<T: Element>(&self, v: &[T]) -> Histogram {
        let mut h = self.empty();
        if !self.uniform {
            v.iter().for_each(|x| self.count(&mut h, x.f64()));
            return h;
        }
        let bins = self.bins;
        if u32::try_from(bins + 2).is_err() {
            v.iter().for_each(|x| self.count(&mut h, x.f64()));
            return h;
        }
        // Uniform bins: slots are computed for a block of values without branches
        // (a loop that vectorises), then counted. Slot 0 is below the first edge,
        // 1..=bins the bins, bins + 1 at or above the last edge, bins + 2 NaN.
        let mut slots = Slots::new(bins + 3);
        let mut block = [0.0f64; 256];
        for chunk in v.chunks(block.len()) {
            // Two copies of the loop, so that neither computes what it does not use.
            match self.inverse_width {
                Some(inv) => self.slots(chunk, &mut block, |x| (x - self.lo) * inv),
                None => {
                    let width = self.hi - self.lo;
                    self.slots(chunk, &mut block, |x| (x - self.lo) / width)
                }
            }
            slots.add_block(&block[..chunk.len()]);
        }
        slots.finish(&mut h, true);
        h
    }

    /// The slot of each value of `chunk` (equal bins, at most `2^32` of them), given
    /// `fraction(x) = (x - lo) / (hi - lo)`: 0 below the first edge, `1..=bins` the
    /// bins, `bins + 1` at or above the last edge, `bins + 2` NaN. Written as a
    /// sequence of selects on floats (slots are small integers, exact in f64), a form
    /// the vectoriser turns into blends; integer conversions and `else if` chains it
    /// left scalar.
    #[inline(always)]
    fn slots<T: Element>(&self, chunk: &[T], block: &mut [f64], fraction: impl Fn(f64) -> f64) {
        let binsf = self.bins as f64;
        let (above, nan) = (binsf + 1.0, binsf + 2.0);
        for (slot, x) in block.iter_mut().zip(chunk) {
            let x = x.f64();
            // min(floor(f), bins - 1) + 1 for f >= 0, where `fraction` rounding up to
            // 1 below the last edge lands in the last bin, as the reference has it.
            let mut s = ((fraction(x) * binsf).floor() + 1.0).max(1.0).min(binsf);
            s = if x >= self.hi { above } else { s };
            s = if x < self.lo { 0.0 } else { s };
            s = if x.is_nan() { nan } else { s };
            *slot = s;
        }
    }
}

/// Counts by slot (below the first edge, each bin, at or above the last), in
/// [`SPLIT`] interleaved copies: consecutive values that land in the same slot (the
/// zeros of a ReLU layer) then increment different memory words, instead of each
/// waiting for the previous increment to be stored.
struct Slots {
    /// Slot `s`, copy `c` at `s * SPLIT + c`.
    counts: Vec<u64>,
    /// Whether [`Slots::add_block`] counts by comparing bytes ([`Slots::add_block_bytes`]):
    /// on CPUs with AVX-512BW, for at most 256 slots.
    bytes: bool,
}

const SPLIT: usize = 4;

/// The widest range of slots (past slot 0) that [`Slots::add_block_bytes`] counts by
/// comparisons: one slot costs about 12 instructions per block of 256 values, against
/// about 4 per value for the scattered increments.
const COMPARED_SLOTS: usize = 48;

impl Slots {
    fn new(slots: usize) -> Slots {
        Slots {
            counts: vec![0; slots * SPLIT],
            bytes: slots <= 256 && has_avx512bw(),
        }
    }

    #[inline(always)]
    fn add(&mut self, k: usize, slot: usize) {
        if let Some(c) = self.counts.get_mut(slot * SPLIT + k % SPLIT) {
            *c += 1;
        }
    }

    /// Counts a block of at most 256 slots held as floats (small non-negative integers,
    /// exact): by byte comparisons where the CPU has AVX-512BW
    /// ([`Slots::add_block_bytes`]), otherwise by one increment per value.
    #[inline(always)]
    #[expect(
        unsafe_code,
        reason = "calls the AVX-512BW counting after the check made in Slots::new"
    )]
    fn add_block(&mut self, block: &[f64]) {
        #[cfg(target_arch = "x86_64")]
        if self.bytes {
            // SAFETY: `bytes` is set only where the CPU has AVX-512F, BW, VL and POPCNT.
            unsafe { self.add_block_bytes(block) };
            return;
        }
        self.add_block_scattered(block);
    }

    /// [`Slots::add_block`] by one increment per value, the slots converted to integers
    /// first in a loop of their own (it vectorises).
    #[inline(always)]
    fn add_block_scattered(&mut self, block: &[f64]) {
        let mut index = [0u32; 256];
        for (i, &s) in index.iter_mut().zip(block) {
            *i = s as u32;
        }
        // SPLIT at a time: consecutive values go to different copies, without a
        // modulo per value; whole groups first, so their inner loop is unrolled.
        let groups = index[..block.len().min(256)].chunks_exact(SPLIT);
        let rest = groups.remainder();
        for group in groups {
            for (copy, &slot) in group.iter().enumerate() {
                if let Some(c) = self.counts.get_mut(slot as usize * SPLIT + copy) {
                    *c += 1;
                }
            }
        }
        for (copy, &slot) in rest.iter().enumerate() {
            if let Some(c) = self.counts.get_mut(slot as usize * SPLIT + copy) {
                *c += 1;
            }
        }
    }

    /// [`Slots::add_block`] without an increment per value: the slots (values 0 to 255)
    /// are packed into 256 bytes, four AVX-512 registers, and each slot present is
    /// counted by comparing all of them with it at once (a mask whose bits are counted).
    /// Slot 0 is counted first, apart: it holds the zeros of a ReLU layer's gradients,
    /// below the first log10 edge, far from the slots of the other values. The other
    /// slots are counted from the smallest to the largest present; where those span more
    /// than [`COMPARED_SLOTS`], the block is counted by increments instead.
    ///
    /// # Safety
    /// The CPU must have AVX-512F, AVX-512BW, AVX-512VL and POPCNT.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,popcnt")]
    #[expect(
        unsafe_code,
        reason = "AVX-512 intrinsics in a function compiled for AVX-512, called after the feature check"
    )]
    unsafe fn add_block_bytes(&mut self, block: &[f64]) {
        use std::arch::x86_64::*;
        let block = &block[..block.len().min(256)];
        // Unused bytes are slot 0, taken off its count below.
        let mut bytes = [0u8; 256];
        let (chunks, rest) = block.as_chunks::<8>();
        for (c, o) in chunks.iter().zip(bytes.as_chunks_mut::<8>().0) {
            // SAFETY: `c` holds the 8 f64 read and `o` has room for the 8 bytes written;
            // slots are exact integers below 256, so the conversions are exact.
            unsafe {
                let packed = _mm256_cvtepi32_epi8(_mm512_cvttpd_epi32(_mm512_loadu_pd(c.as_ptr())));
                _mm_storel_epi64(o.as_mut_ptr().cast(), packed);
            }
        }
        for (b, &s) in bytes[8 * chunks.len()..].iter_mut().zip(rest) {
            *b = s as u8;
        }
        // SAFETY: `bytes` holds the 4 x 64 bytes read.
        let v: [__m512i; 4] = std::array::from_fn(|k| unsafe {
            _mm512_loadu_si512(bytes.as_ptr().add(64 * k).cast())
        });
        let count = |slot: u8| -> u64 {
            let s = _mm512_set1_epi8(slot as i8);
            v.iter()
                .map(|&x| u64::from(_mm512_cmpeq_epi8_mask(x, s).count_ones()))
                .sum()
        };
        // The smallest slot past 0 (slot - 1 wraps 0 to 255) and the largest.
        let ones = _mm512_set1_epi8(1);
        let mut low = _mm512_sub_epi8(v[0], ones);
        let mut high = v[0];
        for &x in &v[1..] {
            low = _mm512_min_epu8(low, _mm512_sub_epi8(x, ones));
            high = _mm512_max_epu8(high, x);
        }
        // The largest byte is the complement of the smallest complement (!b = 255 - b).
        let all = _mm512_set1_epi8(-1);
        let (low, high) = (
            usize::from(min_byte(low)) + 1,
            usize::from(!min_byte(_mm512_xor_si512(high, all))),
        );
        if high >= low && high - low >= COMPARED_SLOTS {
            self.add_block_scattered(block);
            return;
        }
        let padding = (256 - block.len()) as u64;
        if let Some(c) = self.counts.get_mut(0) {
            *c += count(0) - padding;
        }
        for slot in low..=high {
            let n = count(slot as u8);
            if let Some(c) = self.counts.get_mut(slot * SPLIT) {
                *c += n;
            }
        }
    }

    /// The count of each slot, the copies added.
    fn totals(&self) -> Vec<u64> {
        self.counts
            .chunks_exact(SPLIT)
            .map(|c| c.iter().sum())
            .collect()
    }

    /// Adds the counts into `h` (slots: below, each bin, at or above the last edge,
    /// and if `with_nan` NaN).
    fn finish(self, h: &mut Histogram, with_nan: bool) {
        let mut totals = self.totals();
        if with_nan {
            h.nan += totals.pop().unwrap_or(0);
        }
        if let [below, inside @ .., above] = totals.as_slice() {
            h.below += below;
            h.above += above;
            for (c, s) in h.counts.iter_mut().zip(inside) {
                *c += s;
            }
        }
    }
}

/// Whether the CPU has what [`Slots::add_block_bytes`] needs.
fn has_avx512bw() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vl")
            && std::arch::is_x86_feature_detected!("popcnt")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// The smallest of 64 bytes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
fn min_byte(m: std::arch::x86_64::__m512i) -> u8 {
    use std::arch::x86_64::*;
    let a = _mm256_min_epu8(_mm512_castsi512_si256(m), _mm512_extracti64x4_epi64::<1>(m));
    let b = _mm_min_epu8(_mm256_castsi256_si128(a), _mm256_extracti128_si256::<1>(a));
    let b = _mm_min_epu8(b, _mm_srli_si128::<8>(b));
    let b = _mm_min_epu8(b, _mm_srli_si128::<4>(b));
    let b = _mm_min_epu8(b, _mm_srli_si128::<2>(b));
    let b = _mm_min_epu8(b, _mm_srli_si128::<1>(b));
    _mm_cvtsi128_si32(b) as u8
}

/// The histogram of `log10 |x|` on fixed edges, counted without taking a logarithm of
/// every element: `|x|` is compared with the thresholds `10^edge` instead, found from
/// its binary exponent with a table. Values within a relative 1e-9 of a threshold are
/// binned from `log10 |x|` exactly as [`Histogram::of`] does, so the counts are those
/// of `Histogram::of(x.abs().log10())` for every input (`log10` is accurate to a few
/// units in the last place, far inside that margin).
#[derive(Clone, Debug)]
pub(crate) struct LogBins {
    bins: Bins,
    fast: Option<Thresholds>,
}

#[derive(Clone, Debug)]
struct Thresholds {
    /// `10^e` for each effective edge `e`, strictly increasing, positive and normal,
    /// then a NaN (no value is at or above it).
    t: Vec<f64>,
    /// Entry `i`: `t[i - 1] (1 + r)`, at or below which a value with `i` thresholds
    /// under it is too close to call (entry 0: -1, never).
    close_above: Vec<f64>,
    /// Entry `i`: `t[i] (1 - r)`, at or above which it is too close to call (last
    /// entry NaN, never).
    close_below: Vec<f64>,
    /// For each biased binary exponent, how many thresholds lie at or below the
    /// smallest number with that exponent (all of them for infinity).
    start: Vec<usize>,
    /// Whether some binade holds two or more thresholds (edges closer than a factor
    /// of two): then a value may pass several thresholds past its start.
    crowded: bool,
}

/// Relative distance from a threshold within which a value is binned by its logarithm.
const CLOSE: f64 = 1e-9;

impl LogBins {
    pub(crate) fn new(edges: &[f64]) -> LogBins {
        let bins = Bins::new(edges);
        let effective: Vec<f64> = if bins.uniform {
            (0..=bins.bins)
                .map(|i| bins.lo + (bins.hi - bins.lo) * i as f64 / bins.bins as f64)
                .collect()
        } else {
            edges.to_vec()
        };
        let t: Vec<f64> = effective.iter().map(|&e| 10f64.powf(e)).collect();
        let usable = bins.bins > 0
            && t.iter()
                .all(|&v| v.is_normal() && v > 0.0 && (v * (1.0 + CLOSE)).is_finite())
            && t.windows(2).all(|w| w[0] < w[1]);
        let fast = usable.then(|| {
            let start: Vec<usize> = (0..2048u64)
                .map(|e| match e {
                    0 => 0,
                    2047 => t.len(),
                    _ => t.partition_point(|&v| v <= f64::from_bits(e << 52)),
                })
                .collect();
            // Thresholds in [2^e, 2^(e+1)) beyond the start of binade e.
            let crowded = (0..2047).any(|e| {
                start
                    .get(e + 1)
                    .zip(start.get(e))
                    .is_some_and(|(b, a)| b - a > 1)
            });
            let mut close_above = vec![-1.0];
            close_above.extend(t.iter().map(|v| v * (1.0 + CLOSE)));
            let mut close_below: Vec<f64> = t.iter().map(|v| v * (1.0 - CLOSE)).collect();
            close_below.push(f64::NAN);
            let mut t = t;
            t.push(f64::NAN);
            Thresholds {
                t,
                close_above,
                close_below,
                start,
                crowded,
            }
        });
        LogBins { bins, fast }
    }

    /// The histogram of `log10 |x|` over every element of `t`.
    pub(crate) fn of_tensor(&self, t: &Tensor) -> Histogram {
        with_data!(t, |v| vectorised(LogBinsLoop(self, v)))
    }

    #[inline(always)]
    fn of_slice<T: Element>(&self, v: &[T]) -> Histogram {
        let mut h = self.bins.empty();
        let Some(th) = &self.fast else {
            for x in v {
                self.bins.count(&mut h, x.f64().abs().log10());
            }
            return h;
        };
        // Slot i counts the values with i thresholds at or below them: 0 is below
        // the first edge, n (all of them) above the last.
        let n = th.t.len() - 1;
        if self.bins.uniform
            && let Ok(near_slot) = u32::try_from(n + 1)
        {
            return self.by_polynomial(v, near_slot, h);
        }
        let mut slots = Slots::new(n + 1);
        for (k, x) in v.iter().enumerate() {
            let a = x.f64().abs();
            if a.is_nan() {
                h.nan += 1;
                continue;
            }
            let mut i = th
                .start
                .get((a.to_bits() >> 52) as usize)
                .copied()
                .unwrap_or(0);
            // One comparison, without a branch, where no binade holds two thresholds
            // (decade edges); the padding NaN stops it at n.
            i += usize::from(th.t.get(i).is_some_and(|&t| a >= t));
            if th.crowded {
                while th.t.get(i).is_some_and(|&t| a >= t) {
                    i += 1;
                }
            }
            let near_lower = th.close_above.get(i).is_some_and(|&c| a <= c);
            let near_upper = th.close_below.get(i).is_some_and(|&c| a >= c);
            if near_lower | near_upper {
                self.bins.count(&mut h, a.log10());
            } else {
                slots.add(k, i);
            }
        }
        slots.finish(&mut h, false);
        h
    }

    /// [`LogBins::of_slice`] for equally spaced edges: the bin of `log10 |x|` is
    /// computed from an approximate logarithm (the binary exponent and a polynomial
    /// for the mantissa, [`log2_mantissa`]), with no branch and no table, so the loop
    /// vectorises. Values whose approximate position is within the polynomial's error
    /// of an edge (a fraction of about `2e-5 * scale` of them, `scale` in bins per
    /// decade) are binned from
    /// `log10 |x|` exactly as [`Histogram::of`] does afterwards, and so are NaNs; slot
    /// `near_slot`, after the `above` slot, marks them. Zero and subnormal values are
    /// below every edge (the fast path is only used when the thresholds are normal),
    /// infinity above.
    #[inline(always)]
    fn by_polynomial<T: Element>(&self, v: &[T], near_slot: u32, mut h: Histogram) -> Histogram {
        let bins = &self.bins;
        let scale = bins.bins as f64 / (bins.hi - bins.lo);
        let lo = bins.lo;
        let top = bins.bins as f64 + 1.0;
        // In units of bins: the polynomial's error, and a margin for the rounding of
        // the position (of magnitude below 2^11 / scale bins) and of `log10`.
        let margin = LOG2_MANTISSA_ERROR * std::f64::consts::LOG10_2 * scale + 1e-9;
        let near_f = f64::from(near_slot);
        let mut slots = Slots::new(near_slot as usize + 1);
        // Slots as floats (exact small integers), chosen by one select: NaN and values
        // near an edge are binned afterwards, one by one. Zero and subnormal values
        // need no case of their own: their approximate position is below the first
        // edge (the fast path requires edges above 2^-1022), as infinity's is above
        // the last.
        let mut block = [0.0f64; 256];
        for chunk in v.chunks(block.len()) {
            // An integer count: a float sum would have to be added in order, which
            // stops the loop from vectorising.
            let mut near_count = 0u32;
            for (slot, x) in block.iter_mut().zip(chunk) {
                let a = x.f64().abs();
                let p = log_position(a, lo, scale);
                let below = p.floor();
                let special = (p - below).min(below + 1.0 - p) < margin || a.is_nan();
                let inside = (below + 1.0).max(0.0).min(top);
                near_count += u32::from(special);
                *slot = if special { near_f } else { inside };
            }
            let any_near = near_count > 0;
            slots.add_block(&block[..chunk.len()]);
            if any_near {
                for (x, &slot) in chunk.iter().zip(block.iter()) {
                    if slot == near_f {
                        bins.count(&mut h, x.f64().abs().log10());
                    }
                }
            }
        }
        // The values too close to call were counted one by one above.
        slots.counts.truncate(near_slot as usize * SPLIT);
        slots.finish(&mut h, false);
        h
    }
}

/// The position `(log10 a - lo) * scale` of `a >= 0` (in bins from the first edge),
/// approximately: within [`LOG2_MANTISSA_ERROR`] of `log2 a`, times `log10 2 * scale`,
/// for normal `a`; for zero and subnormals as if `a` were `2^-1023` or a little less,
/// for infinity as if it were `2^1024`.
#[inline(always)]
fn log_position(a: f64, lo: f64, scale: f64) -> f64 {
    const MANTISSA: u64 = (1 << 52) - 1;
    let bits = a.to_bits();
    let exponent = bits >> 52;
    let m = f64::from_bits((bits & MANTISSA) | 1.0f64.to_bits());
    // The exponent as a float without an integer conversion (which would not
    // vectorise before AVX-512DQ): 2^52 + e has e in its low bits.
    let e = f64::from_bits(exponent | 0x4330_0000_0000_0000) - (4_503_599_627_370_496.0 + 1023.0);
    let log2 = e + log2_mantissa(m);
    (log2 * std::f64::consts::LOG10_2 - lo) * scale
}

/// Largest error of [`log2_mantissa`] on `[1, 2)`: twice the measured 1.65e-5, rounded up (a test
/// checks it on a dense grid). It sets how close to an edge a value must be to be binned
/// from its exact logarithm: a fraction of about `2e-5 * scale` of them, where `scale`
/// is bins per decade, too few to matter; a more accurate polynomial costs more on
/// every value than it would save on those.
const LOG2_MANTISSA_ERROR: f64 = 3.4e-5;

/// `log2 m` for `m` in `[1, 2)`, by the degree-5 Chebyshev interpolant in
/// `t = 2m - 3` (coefficients in the monomial basis of `t`, from `numpy`'s
/// `chebfit` at the six Chebyshev nodes).
#[inline(always)]
fn log2_mantissa(m: f64) -> f64 {
    const C: [f64; 6] = [
        0.584_950_762_749_590_6,
        0.480_901_716_833_154_2,
        -0.079_939_427_682_904_43,
        0.017_750_685_499_778_98,
        -0.004_998_513_131_874_819,
        0.001_343_904_930_994_327,
    ];
    let t = 2.0 * m - 3.0;
    C.iter().rev().fold(0.0, |acc, &c| acc * t + c)
}

/// Mean, standard deviation, norms and extremes of a tensor, in f64.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Arithmetic mean.
    pub mean: f64,
    /// Population standard deviation.
    pub std: f64,
    /// L2 norm.
    pub norm: f64,
    /// Mean of absolute values.
    pub mean_abs: f64,
    /// Largest absolute value.
    pub max_abs: f64,
    /// Fraction of elements exactly 0.
    pub zero_fraction: f64,
}

impl Summary {
    /// The summary of every element of `t`.
    ///
    /// One pass in the common case: sums accumulated in eight interleaved partial sums
    /// (element `i` goes to partial sum `i mod 8`), added pairwise at the end, so the
    /// pass vectorises and the rounding error is that of a sum of `n / 8` terms; the
    /// variance from deviations from the first element (the shifted-data formula).
    /// Data far from that shift, not finite, or with a largest `|x|` outside
    /// `[2^-400, 2^400]` get two passes instead: deviations from the mean, and a norm
    /// from values scaled by a power of two (exact) near `1 / max |x|`, so that it
    /// neither underflows nor overflows.
    pub fn of(t: &Tensor) -> Summary {
        with_data!(t, |v| summary_of(v))
    }
}

/// Interleaved partial sums per pass: four f64 fill two SSE/NEON registers or one AVX
/// register, so a pass's three accumulators and their temporaries stay in the 16
/// registers of baseline x86-64 (eight lanes spilled to the stack).
const LANES: usize = 4;

/// Adds the partial sums pairwise, in a fixed order.
fn total(p: &[f64; LANES]) -> f64 {
    (p[0] + p[1]) + (p[2] + p[3])
}

/// The slice as whole groups of [`LANES`] elements and the rest.
fn lanes<T>(v: &[T]) -> (impl Iterator<Item = &[T; LANES]>, &[T]) {
    let chunks = v.chunks_exact(LANES);
    let rest = chunks.remainder();
    (chunks.filter_map(|c| c.try_into().ok()), rest)
}

/// `m` or `a`, whichever is larger; `m` if `a` is NaN (as `f64::max` when `m` is not
/// NaN), in the form of one `maxpd`.
#[inline(always)]
fn larger(m: f64, a: f64) -> f64 {
    if a > m { a } else { m }
}

/// Sum, sum of `|x|` and largest `|x|` (NaN ignored).
fn first_pass<T: Element>(v: &[T]) -> (f64, f64, f64) {
    let mut sum = [0.0; LANES];
    let mut abs = [0.0; LANES];
    let mut max = [0.0f64; LANES];
    let (groups, rest) = lanes(v);
    for c in groups {
        for lane in 0..LANES {
            let x = c[lane].f64();
            sum[lane] += x;
            abs[lane] += x.abs();
            max[lane] = larger(max[lane], x.abs());
        }
    }
    for (lane, x) in rest.iter().enumerate() {
        let x = x.f64();
        sum[lane] += x;
        abs[lane] += x.abs();
        max[lane] = larger(max[lane], x.abs());
    }
    (
        total(&sum),
        total(&abs),
        max.iter().fold(0.0f64, |m, &x| m.max(x)),
    )
}

/// Sum of `(x - mean)^2`, sum of `(x * scale)^2` and number of zeros.
fn second_pass<T: Element>(v: &[T], mean: f64, scale: f64) -> (f64, f64, usize) {
    let mut dev = [0.0; LANES];
    let mut sq = [0.0; LANES];
    // Counted in f64 (exact below 2^53) so the comparison stays in vector registers.
    let mut zeros = [0.0; LANES];
    let (groups, rest) = lanes(v);
    for c in groups {
        for lane in 0..LANES {
            let x = c[lane].f64();
            dev[lane] += (x - mean) * (x - mean);
            sq[lane] += (x * scale) * (x * scale);
            zeros[lane] += if x == 0.0 { 1.0 } else { 0.0 };
        }
    }
    for (lane, x) in rest.iter().enumerate() {
        let x = x.f64();
        dev[lane] += (x - mean) * (x - mean);
        sq[lane] += (x * scale) * (x * scale);
        zeros[lane] += if x == 0.0 { 1.0 } else { 0.0 };
    }
    (total(&dev), total(&sq), total(&zeros) as usize)
}

/// A power of two `s` such that `(max_abs * s)^2` is near 1: squares of the scaled
/// values neither overflow nor lose the small ones to underflow, and scaling by a
/// power of two is exact. `None` outside the range where such an `s` is a normal
/// number.
fn norm_scale(max_abs: f64) -> Option<f64> {
    if !(max_abs.is_normal() && max_abs > 0.0) {
        return None;
    }
    let exponent = ((max_abs.to_bits() >> 52) & 0x7ff) as i64 - 1023;
    let s = (-exponent).clamp(-1022, 1023);
    let scale = f64::from_bits(((s + 1023) as u64) << 52);
    (scale * max_abs < 4.0 && scale * max_abs >= 0.5).then_some(scale)
}

/// [`Bins::of_slice`] as a [`Loop`].
struct BinsLoop<'a, T>(&'a Bins, &'a [T]);

impl<T: Element> Loop for BinsLoop<'_, T> {
    type Output = Histogram;
    #[inline(always)]
    fn run(self) -> Histogram {
        self.0.of_slice(self.1)
    }
}

/// [`LogBins::of_slice`] as a [`Loop`].
struct LogBinsLoop<'a, T>(&'a LogBins, &'a [T]);

impl<T: Element> Loop for LogBinsLoop<'_, T> {
    type Output = Histogram;
    #[inline(always)]
    fn run(self) -> Histogram {
        self.0.of_slice(self.1)
    }
}

/// [`fused_pass`] as a [`Loop`].
struct FusedLoop<'a, T>(&'a [T], f64);

impl<T: Element> Loop for FusedLoop<'_, T> {
    type Output = Fused;
    #[inline(always)]
    fn run(self) -> Fused {
        fused_pass(self.0, self.1)
    }
}

/// Interleaved partial sums of the fused pass: eight f64 fill one AVX-512 register.
const WIDE: usize = 8;

/// What one pass over the data gathers. Sums are over `x - k` for a shift `k` taken
/// from the data (the first element), so that the variance can be found in the same
/// pass without the cancellation of `E[x^2] - E[x]^2` (Chan, Golub and LeVeque 1983,
/// "Algorithms for computing the sample variance": the shifted-data formula).
#[derive(Clone, Copy, Debug)]
struct Fused {
    shifted: f64,
    shifted_sq: f64,
    sq: f64,
    abs: f64,
    max_abs: f64,
    zeros: f64,
}

#[inline(always)]
fn fused_pass<T: Element>(v: &[T], k: f64) -> Fused {
    let mut shifted = [0.0; WIDE];
    let mut shifted_sq = [0.0; WIDE];
    let mut sq = [0.0; WIDE];
    let mut abs = [0.0; WIDE];
    let mut max = [0.0f64; WIDE];
    let mut zeros = [0.0; WIDE];
    let (chunks, rest) = v.as_chunks::<WIDE>();
    // One loop over the lanes per statistic, so that each becomes one vector operation
    // (written as one loop over all of them, the vectoriser pairs up statistics
    // instead of lanes).
    for c in chunks {
        let x: [f64; WIDE] = c.map(|x| x.f64());
        let d: [f64; WIDE] = std::array::from_fn(|i| x[i] - k);
        let a: [f64; WIDE] = std::array::from_fn(|i| x[i].abs());
        for i in 0..WIDE {
            shifted[i] += d[i];
        }
        for i in 0..WIDE {
            shifted_sq[i] += d[i] * d[i];
        }
        for i in 0..WIDE {
            sq[i] += x[i] * x[i];
        }
        for i in 0..WIDE {
            abs[i] += a[i];
        }
        for i in 0..WIDE {
            max[i] = larger(max[i], a[i]);
        }
        for i in 0..WIDE {
            zeros[i] += if x[i] == 0.0 { 1.0 } else { 0.0 };
        }
    }
    finish_fused([shifted, shifted_sq, sq, abs, max, zeros], rest, k)
}

/// The end of a fused pass, given its eight lanes of each statistic (in the order of
/// [`Fused`]'s fields) after the whole groups: the elements after the last whole group
/// are added lane by lane, then each statistic's lanes are added pairwise.
#[inline(always)]
fn finish_fused<T: Element>(mut p: [[f64; WIDE]; 6], rest: &[T], k: f64) -> Fused {
    for (lane, x) in rest.iter().enumerate() {
        let x = x.f64();
        let d = x - k;
        p[0][lane] += d;
        p[1][lane] += d * d;
        p[2][lane] += x * x;
        p[3][lane] += x.abs();
        p[4][lane] = larger(p[4][lane], x.abs());
        p[5][lane] += if x == 0.0 { 1.0 } else { 0.0 };
    }
    let total = |p: &[f64; WIDE]| ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]));
    Fused {
        shifted: total(&p[0]),
        shifted_sq: total(&p[1]),
        sq: total(&p[2]),
        abs: total(&p[3]),
        max_abs: p[4].iter().fold(0.0f64, |m, &x| m.max(x)),
        zeros: total(&p[5]),
    }
}

/// Eight elements widened to f64 in one AVX-512 register: what [`fused_avx512`] needs
/// of an element type.
#[expect(unsafe_code, reason = "the load is only valid on CPUs with AVX-512F")]
trait WideLoad: Sized {
    /// Loads `c` as eight f64.
    ///
    /// # Safety
    /// The CPU must have AVX-512F.
    #[cfg(target_arch = "x86_64")]
    unsafe fn load8(c: &[Self; WIDE]) -> std::arch::x86_64::__m512d;
}

#[expect(
    unsafe_code,
    reason = "AVX-512 loads of a whole array, on CPUs with AVX-512 (the callers check)"
)]
impl WideLoad for f64 {
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn load8(c: &[f64; WIDE]) -> std::arch::x86_64::__m512d {
        // SAFETY: `c` holds the 8 f64 read; the caller guarantees AVX-512F.
        unsafe { std::arch::x86_64::_mm512_loadu_pd(c.as_ptr()) }
    }
}

#[expect(
    unsafe_code,
    reason = "AVX-512 loads of a whole array, on CPUs with AVX-512 (the callers check)"
)]
impl WideLoad for f32 {
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn load8(c: &[f32; WIDE]) -> std::arch::x86_64::__m512d {
        use std::arch::x86_64::{_mm256_loadu_ps, _mm512_cvtps_pd};
        // SAFETY: `c` holds the 8 f32 read; the caller guarantees AVX-512F (and so
        // AVX for the 256-bit load).
        unsafe { _mm512_cvtps_pd(_mm256_loadu_ps(c.as_ptr())) }
    }
}

/// [`fused_pass`] written with AVX-512 intrinsics, where the CPU has them (`None`
/// elsewhere). The compiler vectorises `fused_pass` poorly (scalar subtractions and
/// shuffles between the lanes: 6 µs for 8,192 f64, most of a probe's statistics time);
/// here each statistic is one register of the same eight partial sums, each updated by
/// the same operations in the same order, so the result is `fused_pass`'s bit for bit
/// (a test compares them), three times faster.
#[expect(
    unsafe_code,
    reason = "calls the #[target_feature] loop after checking the CPU has AVX-512F"
)]
fn fused_avx512<T: Element + WideLoad>(v: &[T], k: f64) -> Option<Fused> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has AVX-512F (checked just above).
        return Some(unsafe { fused_avx512_loop(v, k) });
    }
    let _ = (v, k);
    None
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
#[expect(
    unsafe_code,
    reason = "AVX-512 intrinsics in a function compiled for AVX-512, called only after the feature check"
)]
unsafe fn fused_avx512_loop<T: Element + WideLoad>(v: &[T], k: f64) -> Fused {
    use std::arch::x86_64::*;
    let (chunks, rest) = v.as_chunks::<WIDE>();
    let shift = _mm512_set1_pd(k);
    let zero = _mm512_setzero_pd();
    let one = _mm512_set1_pd(1.0);
    let (mut shifted, mut shifted_sq, mut sq) = (zero, zero, zero);
    let (mut abs, mut max, mut zeros) = (zero, zero, zero);
    for c in chunks {
        // SAFETY: AVX-512F is enabled for this function.
        let x = unsafe { T::load8(c) };
        let d = _mm512_sub_pd(x, shift);
        let a = _mm512_abs_pd(x);
        shifted = _mm512_add_pd(shifted, d);
        shifted_sq = _mm512_add_pd(shifted_sq, _mm512_mul_pd(d, d));
        sq = _mm512_add_pd(sq, _mm512_mul_pd(x, x));
        abs = _mm512_add_pd(abs, a);
        // `larger`: a where a > max (false for NaN), else max, which is what `vmaxpd`
        // gives with max second (its second operand where either is NaN or both are
        // zero); a comparison and a blend would make this the loop's longest chain.
        max = _mm512_max_pd(a, max);
        zeros = _mm512_mask_add_pd(zeros, _mm512_cmp_pd_mask::<_CMP_EQ_OQ>(x, zero), zeros, one);
    }
    let lanes = |r: __m512d| {
        let mut out = [0.0; WIDE];
        // SAFETY: `out` has room for the 8 f64 stored.
        unsafe { _mm512_storeu_pd(out.as_mut_ptr(), r) };
        out
    };
    finish_fused(
        [
            lanes(shifted),
            lanes(shifted_sq),
            lanes(sq),
            lanes(abs),
            lanes(max),
            lanes(zeros),
        ],
        rest,
        k,
    )
}

/// The range of `max |x|` (`2^-400` to `2^400`) in which the fused pass squares values
/// unscaled; outside it the squares could underflow or overflow, and the scaled
/// two-pass summary is used instead. Inside, a square that underflows is below
/// `2^-1022`, which beside `max_abs^2 >= 2^-800` is far below rounding.
const UNSCALED_MIN: f64 = f64::from_bits((1023 - 400) << 52);
const UNSCALED_MAX: f64 = f64::from_bits((1023 + 400) << 52);

fn summary_of<T: Element + WideLoad>(v: &[T]) -> Summary {
    let n = v.len();
    let Some(first) = v.first() else {
        return Summary::default();
    };
    let nf = n as f64;
    let k = first.f64();
    let f = fused_avx512(v, k).unwrap_or_else(|| vectorised(FusedLoop(v, k)));
    let in_range = f.max_abs == 0.0 || (UNSCALED_MIN..=UNSCALED_MAX).contains(&f.max_abs);
    let finite = f.shifted.is_finite() && f.shifted_sq.is_finite() && f.sq.is_finite();
    // The shifted formula loses about `(mean - k)^2 / var` ulps of the variance; where
    // the shift is far from the mean (more than 8 standard deviations), one more pass
    // measures the deviations from the mean itself.
    let offset = f.shifted / nf;
    let spread = f.shifted_sq / nf;
    let well_shifted = offset * offset <= 64.0 * (spread - offset * offset);
    if !(in_range && finite && well_shifted) {
        return two_pass_summary(v);
    }
    Summary {
        mean: k + offset,
        std: (spread - offset * offset).max(0.0).sqrt(),
        norm: f.sq.sqrt(),
        mean_abs: f.abs / nf,
        max_abs: f.max_abs,
        zero_fraction: f.zeros / nf,
    }
}

/// The summary by two passes (sums, then deviations from the mean and squares scaled
/// to the largest value): exact to rounding for any finite data, and what the fused
/// pass falls back to.
fn two_pass_summary<T: Element>(v: &[T]) -> Summary {
    let n = v.len();
    if n == 0 {
        return Summary::default();
    }
    let nf = n as f64;
    let (sum, abs, max_abs) = first_pass(v);
    let mean = sum / nf;
    let scale = norm_scale(max_abs);
    let (dev, sq, zeros) = second_pass(v, mean, scale.unwrap_or(1.0));
    // Scaled sum of squares: the norm of 1e-200-sized values does not underflow.
    let norm = match scale {
        Some(s) => sq.sqrt() / s,
        None if max_abs > 0.0 && max_abs.is_finite() => {
            // Subnormal largest value: divide, as the scale would not be normal.
            let mut p = [0.0; LANES];
            for (i, x) in v.iter().enumerate() {
                p[i % LANES] += (x.f64() / max_abs).powi(2);
            }
            max_abs * total(&p).sqrt()
        }
        None => max_abs,
    };
    Summary {
        mean,
        std: (dev / nf).sqrt(),
        norm,
        mean_abs: abs / nf,
        max_abs,
        zero_fraction: zeros as f64 / nf,
    }
}

/// For each unit (feature of a `[N, F]` batch, channel of `[N, C, ...]`), the fraction
/// of samples (and positions) where `pred` holds for the derivative value.
pub fn unit_fractions(derivative: &Tensor, pred: impl Fn(f64) -> bool) -> Vec<f64> {
    let (a, _) = unit_fractions2(derivative, pred, |_| false);
    a
}

/// [`unit_fractions`] for two predicates in one pass over the tensor, in memory order.
pub(crate) fn unit_fractions2(
    derivative: &Tensor,
    pred_a: impl Fn(f64) -> bool,
    pred_b: impl Fn(f64) -> bool,
) -> (Vec<f64>, Vec<f64>) {
    let dims = derivative.dims();
    let (n, units, inner) = match dims.len() {
        0 => (1, 1, 1),
        1 => (1, dims[0], 1),
        _ => (dims[0], dims[1], dims[2..].iter().product::<usize>()),
    };
    let mut hits_a = vec![0usize; units];
    let mut hits_b = vec![0usize; units];
    with_data!(derivative, |v| tally(
        v,
        units,
        inner,
        &pred_a,
        &pred_b,
        &mut hits_a,
        &mut hits_b
    ));
    let per_unit = (n * inner).max(1) as f64;
    let fractions = |hits: Vec<usize>| hits.into_iter().map(|h| h as f64 / per_unit).collect();
    (fractions(hits_a), fractions(hits_b))
}

/// Counts, per unit, the elements where each predicate holds (samples of `units`
/// units of `inner` positions each, row-major).
fn tally<T: Element>(
    v: &[T],
    units: usize,
    inner: usize,
    pred_a: &impl Fn(f64) -> bool,
    pred_b: &impl Fn(f64) -> bool,
    hits_a: &mut [usize],
    hits_b: &mut [usize],
) {
    if inner == 1 {
        // [N, F]: one element per unit and sample.
        for sample in v.chunks(units.max(1)) {
            for ((d, a), b) in sample.iter().zip(hits_a.iter_mut()).zip(hits_b.iter_mut()) {
                let d = d.f64();
                *a += usize::from(pred_a(d));
                *b += usize::from(pred_b(d));
            }
        }
        return;
    }
    for sample in v.chunks((units * inner).max(1)) {
        let per_unit = sample
            .chunks(inner.max(1))
            .zip(hits_a.iter_mut())
            .zip(hits_b.iter_mut());
        for ((unit, a), b) in per_unit {
            for d in unit {
                let d = d.f64();
                *a += usize::from(pred_a(d));
                *b += usize::from(pred_b(d));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gradflow_autograd::DType;

    #[test]
    fn histograms_count_every_value_including_the_outliers() {
        let edges = [-1.0, 0.0, 1.0, 2.0];
        let h = Histogram::of(
            [-5.0, -0.5, 0.0, 0.5, 1.5, 2.0, f64::NAN, 7.0].into_iter(),
            &edges,
        );
        assert_eq!(h.counts, vec![1, 2, 1]);
        assert_eq!((h.below, h.above, h.nan), (1, 2, 1));
        assert_eq!(h.total(), 8);
        // Log-spaced edges take the general path.
        let edges = [1e-3, 1e-2, 1e-1, 1.0];
        let h = Histogram::of([5e-3, 5e-2, 0.5, 0.01].into_iter(), &edges);
        assert_eq!(h.counts, vec![1, 2, 1]);
    }

    /// The AVX-512 fused pass gives the portable one's sums bit for bit, for f64 and
    /// f32 data, lengths that are and are not multiples of 8, zeros, NaN, infinities.
    #[test]
    fn the_avx512_fused_pass_is_the_portable_one_bit_for_bit() {
        let same = |a: Fused, b: Fused| {
            [a.shifted, a.shifted_sq, a.sq, a.abs, a.max_abs, a.zeros]
                .iter()
                .zip([b.shifted, b.shifted_sq, b.sq, b.abs, b.max_abs, b.zeros])
                .all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()))
        };
        for n in [0usize, 1, 7, 8, 9, 64, 1000, 8192, 8197] {
            let mut v = Tensor::randn([n.max(1)], DType::F64, n as u64)
                .mul_scalar(3.0)
                .to_f64_vec();
            v.truncate(n);
            for (i, x) in v.iter_mut().enumerate() {
                match i % 97 {
                    5 => *x = 0.0,
                    6 => *x = -0.0,
                    7 if n > 1000 => *x = f64::NAN,
                    8 if n > 8000 => *x = f64::NEG_INFINITY,
                    _ => {}
                }
            }
            let k = v.first().copied().unwrap_or(0.0);
            let Some(fast) = fused_avx512(&v, k) else {
                return; // no AVX-512 here: nothing to compare
            };
            assert!(same(fast, fused_pass(&v, k)), "f64, n = {n}");
            let v32: Vec<f32> = v.iter().map(|&x| x as f32).collect();
            let fast32 = fused_avx512(&v32, k).unwrap_or_else(|| fused_pass(&v32, k));
            assert!(same(fast32, fused_pass(&v32, k)), "f32, n = {n}");
        }
    }

    #[test]
    fn norms_of_tiny_values_do_not_underflow() {
        let t = Tensor::from_vec(vec![3e-200f64, 4e-200], [2]).unwrap();
        let s = Summary::of(&t);
        assert!((s.norm - 5e-200).abs() < 1e-214, "{}", s.norm);
        let t = Tensor::from_vec(vec![0.0f32, 1.0, -3.0, 0.0], [4]).unwrap();
        let s = Summary::of(&t);
        assert_eq!(s.zero_fraction, 0.5);
        assert_eq!(s.max_abs, 3.0);
        assert_eq!(s.mean, -0.5);
    }

    /// The statistics as first written (one conversion to `Vec<f64>` and one pass per
    /// statistic), kept as the reference for the single-pass versions.
    mod reference {
        use super::*;

        pub fn histogram(values: impl Iterator<Item = f64>, edges: &[f64]) -> Histogram {
            let bins = edges.len().saturating_sub(1);
            let mut h = Histogram {
                counts: vec![0; bins],
                below: 0,
                above: 0,
                nan: 0,
            };
            let (Some(&lo), Some(&hi)) = (edges.first(), edges.last()) else {
                return h;
            };
            let uniform = bins > 0 && {
                let w = (hi - lo) / bins as f64;
                edges
                    .iter()
                    .enumerate()
                    .all(|(i, &e)| (e - (lo + i as f64 * w)).abs() <= 1e-9 * w.abs().max(1e-300))
            };
            for v in values {
                if v.is_nan() {
                    h.nan += 1;
                } else if v < lo {
                    h.below += 1;
                } else if v >= hi {
                    h.above += 1;
                } else {
                    let i = if uniform {
                        (((v - lo) / (hi - lo) * bins as f64) as usize).min(bins - 1)
                    } else {
                        edges
                            .partition_point(|&e| e <= v)
                            .saturating_sub(1)
                            .min(bins - 1)
                    };
                    h.counts[i] += 1;
                }
            }
            h
        }

        pub fn summary(t: &Tensor) -> Summary {
            let v = t.to_f64_vec();
            let n = v.len();
            if n == 0 {
                return Summary::default();
            }
            let nf = n as f64;
            let mean = v.iter().sum::<f64>() / nf;
            let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / nf;
            let max_abs = v.iter().fold(0.0f64, |m, x| m.max(x.abs()));
            let norm = if max_abs > 0.0 && max_abs.is_finite() {
                max_abs * v.iter().map(|x| (x / max_abs).powi(2)).sum::<f64>().sqrt()
            } else {
                max_abs
            };
            Summary {
                mean,
                std: var.sqrt(),
                norm,
                mean_abs: v.iter().map(|x| x.abs()).sum::<f64>() / nf,
                max_abs,
                zero_fraction: v.iter().filter(|&&x| x == 0.0).count() as f64 / nf,
            }
        }

        pub fn unit_fractions(derivative: &Tensor, pred: impl Fn(f64) -> bool) -> Vec<f64> {
            let dims = derivative.dims();
            let v = derivative.to_f64_vec();
            let (n, units, inner) = match dims.len() {
                0 => (1, 1, 1),
                1 => (1, dims[0], 1),
                _ => (dims[0], dims[1], dims[2..].iter().product::<usize>()),
            };
            let per_unit = (n * inner).max(1) as f64;
            (0..units)
                .map(|u| {
                    let mut hits = 0usize;
                    for s in 0..n {
                        let base = (s * units + u) * inner;
                        hits += v[base..base + inner].iter().filter(|&&d| pred(d)).count();
                    }
                    hits as f64 / per_unit
                })
                .collect()
        }
    }

    fn close(a: f64, b: f64, rel: f64) -> bool {
        a == b || (a - b).abs() <= rel * a.abs().max(b.abs()) || (a.is_nan() && b.is_nan())
    }

    /// Gaussian values times `scale`, with some exact zeros.
    fn sample(n: usize, scale: f64, seed: u64, dtype: DType) -> Tensor {
        let v: Vec<f64> = Tensor::randn([n], DType::F64, seed)
            .to_f64_vec()
            .into_iter()
            .enumerate()
            .map(|(i, x)| if i % 7 == 3 { 0.0 } else { x * scale })
            .collect();
        Tensor::from_vec(v, [n]).unwrap().to_dtype(dtype)
    }

    #[test]
    fn single_pass_summaries_match_the_reference_to_rounding() {
        for dtype in [DType::F64, DType::F32] {
            for (n, scale) in [(1, 1.0), (7, 2.0), (8, 0.5), (8195, 1.0), (4096, 1e-60)] {
                for seed in 0..3 {
                    let t = sample(n, scale, seed, dtype);
                    let (new, old) = (Summary::of(&t), reference::summary(&t));
                    // Counts and extremes are exact; sums differ only in rounding
                    // (interleaved partial sums against one running sum).
                    assert_eq!(new.max_abs, old.max_abs);
                    assert_eq!(new.zero_fraction, old.zero_fraction);
                    for (what, a, b) in [
                        ("mean", new.mean, old.mean),
                        ("std", new.std, old.std),
                        ("norm", new.norm, old.norm),
                        ("mean_abs", new.mean_abs, old.mean_abs),
                    ] {
                        // Scaled to the data: a mean near 0 is compared on the scale of
                        // the mean absolute value.
                        let tol = 1e-12 * old.mean_abs.max(old.std).max(f64::MIN_POSITIVE);
                        assert!(
                            (a - b).abs() <= tol,
                            "{dtype:?} n {n} scale {scale}: {what} {a} vs {b}"
                        );
                    }
                }
            }
        }
        // Edge cases: empty, all zero, NaN, infinity, huge and subnormal values.
        for v in [
            vec![],
            vec![0.0, -0.0],
            vec![1.0, f64::NAN, 3.0],
            vec![f64::INFINITY, 1.0],
            vec![1e300, -1e300, 3e299],
            vec![5e-324, -1e-320, 0.0],
            vec![f64::MAX, f64::MAX],
        ] {
            let n = v.len();
            let t = Tensor::from_vec(v.clone(), [n]).unwrap();
            let (new, old) = (Summary::of(&t), reference::summary(&t));
            assert!(
                close(new.mean, old.mean, 1e-15),
                "{v:?}: {new:?} vs {old:?}"
            );
            assert!(
                close(new.norm, old.norm, 1e-15),
                "{v:?}: {new:?} vs {old:?}"
            );
            assert!(close(new.std, old.std, 1e-15), "{v:?}: {new:?} vs {old:?}");
            assert_eq!(new.max_abs, old.max_abs);
            assert_eq!(new.zero_fraction.to_bits(), old.zero_fraction.to_bits());
        }
    }

    /// Values on and one ulp either side of every edge, plus random ones.
    fn probing_values(edges: &[f64], scale: f64, seed: u64) -> Vec<f64> {
        let mut v = sample(5000, scale, seed, DType::F64).to_f64_vec();
        for &e in edges {
            for x in [e, -e] {
                let b = x.to_bits();
                v.extend([
                    x,
                    f64::from_bits(b + 1),
                    f64::from_bits(b.saturating_sub(1)),
                ]);
            }
        }
        v.extend([
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.0,
            -0.0,
            5e-324,
            1e308,
        ]);
        v
    }

    /// Counting a block by comparing bytes gives the counts of one increment per value,
    /// for blocks of every length up to 256, with slots spread narrowly (counted by
    /// comparisons) and widely (handed back to the increments), with and without slot 0.
    #[test]
    fn slots_counted_by_bytes_are_those_counted_by_increments() {
        let mut seed = 12345u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for slots in [3usize, 43, 65, 256] {
            for len in [0usize, 1, 7, 8, 9, 100, 255, 256] {
                for (low, span, zeros) in
                    [(0, 3, true), (10, 20, false), (1, 47, true), (0, 255, true)]
                {
                    let block: Vec<f64> = (0..len)
                        .map(|_| {
                            let r = next();
                            let s = if zeros && r % 3 == 0 {
                                0
                            } else {
                                low + (r >> 8) as usize % span.max(1)
                            };
                            s.min(slots - 1) as f64
                        })
                        .collect();
                    let mut by_bytes = Slots::new(slots);
                    by_bytes.add_block(&block);
                    let mut by_increments = Slots::new(slots);
                    by_increments.add_block_scattered(&block);
                    let mut want = vec![0u64; slots];
                    for &s in &block {
                        want[s as usize] += 1;
                    }
                    assert_eq!(by_increments.totals(), want);
                    assert_eq!(by_bytes.totals(), want, "{slots} slots, {len} values");
                }
            }
        }
    }

    #[test]
    fn value_histograms_match_the_reference_exactly() {
        let edge_sets: Vec<Vec<f64>> = vec![
            crate::probe::ProbeConfig::default().value_edges,
            crate::probe::ProbeConfig::default()
                .with_value_bins(30, -3.0, 3.0)
                .value_edges,
            vec![-1.0, -0.1, 0.0, 0.5, 2.0],
            // Not sorted as documented, but binned the same way.
            vec![4.0, 2.0, 0.0],
            vec![0.5],
            vec![],
        ];
        for edges in &edge_sets {
            let bins = Bins::new(edges);
            for (scale, seed) in [(1.0, 1), (3.0, 2)] {
                let v = probing_values(edges, scale, seed);
                let t = Tensor::from_vec(v.clone(), [v.len()]).unwrap();
                assert_eq!(
                    bins.of_tensor(&t),
                    reference::histogram(v.iter().copied(), edges),
                    "{edges:?}"
                );
                assert_eq!(
                    Histogram::of(v.iter().copied(), edges),
                    reference::histogram(v.iter().copied(), edges)
                );
                let t32 = t.to_dtype(DType::F32);
                assert_eq!(
                    bins.of_tensor(&t32),
                    reference::histogram(t32.to_f64_vec().into_iter(), edges)
                );
            }
        }
    }

    #[test]
    fn log_histograms_match_the_reference_exactly() {
        let edge_sets: Vec<Vec<f64>> = vec![
            crate::probe::ProbeConfig::default().grad_log10_edges,
            (0..=40).map(|i| -10.0 + 0.25 * i as f64).collect(),
            vec![-30.0, -7.5, -3.0, -2.9, 0.0, 1.0],
            // Unequal and never two in one binade: one comparison past the binade's
            // start.
            vec![-20.0, -7.5, -3.0, 0.0, 1.0],
            // 10^-400 underflows: the general path.
            vec![-400.0, 0.0, 400.0],
            vec![-3.0],
        ];
        for edges in &edge_sets {
            let log_bins = LogBins::new(edges);
            assert_eq!(
                log_bins.fast.is_some(),
                edges.len() > 1 && edges[0] > -300.0
            );
            // Powers of ten at the edges and their neighbours, and values whose
            // magnitudes spread over 80 decades.
            let mut v: Vec<f64> = Vec::new();
            for &e in edges {
                let p = 10f64.powf(e);
                if p.is_finite() && p > 0.0 {
                    let b = p.to_bits();
                    for bits in b.saturating_sub(3)..=b + 3 {
                        v.push(f64::from_bits(bits));
                        v.push(-f64::from_bits(bits));
                    }
                }
            }
            let spread = Tensor::randn([20_000], DType::F64, 9).to_f64_vec();
            v.extend(
                spread
                    .iter()
                    .enumerate()
                    .map(|(i, z)| z * 10f64.powf(-70.0 + 75.0 * i as f64 / 20_000.0)),
            );
            v.extend([
                f64::NAN,
                f64::INFINITY,
                f64::NEG_INFINITY,
                0.0,
                -0.0,
                5e-324,
            ]);
            let reference =
                |v: &[f64]| reference::histogram(v.iter().map(|x| x.abs().log10()), edges);
            let t = Tensor::from_vec(v.clone(), [v.len()]).unwrap();
            assert_eq!(log_bins.of_tensor(&t), reference(&v), "{edges:?}");
            let t32 = t.to_dtype(DType::F32);
            assert_eq!(
                log_bins.of_tensor(&t32),
                reference(&t32.to_f64_vec()),
                "{edges:?}"
            );
        }
    }

    #[test]
    fn the_mantissa_logarithm_is_within_its_stated_error() {
        let worst = (0..=1 << 20)
            .map(|i| 1.0 + i as f64 / (1 << 20) as f64)
            .filter(|&m| m < 2.0)
            .map(|m| (log2_mantissa(m) - m.log2()).abs())
            .fold(0.0f64, f64::max);
        assert!(worst <= LOG2_MANTISSA_ERROR / 2.0, "{worst}");
        assert!(
            worst > LOG2_MANTISSA_ERROR / 100.0,
            "the stated error is loose: {worst}"
        );
    }

    #[test]
    fn two_predicates_in_one_pass_match_the_reference() {
        for dims in [vec![64, 48], vec![5, 3, 4, 2], vec![7], vec![0, 3]] {
            let n: usize = dims.iter().product();
            let t = Tensor::randn(dims.as_slice(), DType::F64, 4).relu();
            let (a, b) = unit_fractions2(&t, |v| v == 0.0, |v| v.abs() < 0.3);
            assert_eq!(a, reference::unit_fractions(&t, |v| v == 0.0), "{dims:?}");
            assert_eq!(
                b,
                reference::unit_fractions(&t, |v| v.abs() < 0.3),
                "{dims:?}"
            );
            assert_eq!(unit_fractions(&t, |v| v == 0.0), a);
            assert!(n == 0 || a.iter().any(|&f| f > 0.0));
        }
    }

    #[test]
    fn unit_fractions_are_per_feature_or_per_channel() {
        // [N=2, F=3]: unit 0 zero in both samples, unit 1 in one, unit 2 in none.
        let d = Tensor::from_vec(vec![0.0f64, 0.0, 1.0, 0.0, 1.0, 1.0], [2, 3]).unwrap();
        assert_eq!(unit_fractions(&d, |x| x == 0.0), vec![1.0, 0.5, 0.0]);
        // [N=1, C=2, H*W=2]
        let d = Tensor::from_vec(vec![0.0f64, 0.0, 0.0, 1.0], [1, 2, 2]).unwrap();
        assert_eq!(unit_fractions(&d, |x| x == 0.0), vec![1.0, 0.5]);
        assert_eq!(
            unit_fractions(&Tensor::zeros([0, 2], DType::F32), |x| x == 0.0),
            vec![0.0, 0.0]
        );
    }
}
