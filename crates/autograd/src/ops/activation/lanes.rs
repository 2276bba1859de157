//! [`Lanes`]: the vectorised f32 path of an activation.
//!
//! The scalar kernels of [`Pointwise`](super::Pointwise) call the C library's `expf`,
//! `tanhf`, `log1pf` element by element, and a loop through a library call does not
//! vectorise. A `Lanes` kernel evaluates the same `f` and `f'` for f32 tensors in f64
//! arithmetic, with no library call and no branch (both sides of every choice are
//! computed and one is selected), so the loops over a tensor compile to SIMD code
//! (`tensor::simd` runs them with AVX2 or AVX-512 where the CPU has it, and on both
//! cores for large tensors).
//!
//! Why f64: the f32 result must be within half an f32 ulp of the exact value plus a
//! small fraction of an ulp, and that needs the value before its final rounding to be
//! far more accurate than f32 arithmetic can make it. In f64 every formula here is
//! accurate to about `1e-10` relative, so the rounded f32 result is within half an ulp
//! plus about `0.002` ulp: better than the scalar f32 kernels, and well inside the ulp
//! budgets that `tests/golden_activations.rs` holds every activation to. The helpers
//! are tuned to that target and no further: the polynomials have just enough degree
//! for `1e-10` (6 for `e^x`).
//!
//! What limits their speed is the length of each element's chain of dependent
//! instructions, more than their number: on the Zen 5 cores these were measured on, the
//! logistic's value and slope (an exponential, then a division: about 80 cycles from
//! input to output) ran at 16 cycles per 8 lanes for 30 instructions, because the
//! out-of-order window holds too few iterations to overlap more. Hence polynomials by
//! Estrin's scheme (3 steps deep for `e^x` instead of Horner's 6), and kernels in two
//! stages ([`Lanes::STAGED`]) that the loops run as two passes over each block of 64
//! elements, the exponential first. Reciprocals are plain f64 divisions: an f32
//! division followed by a Newton step in f64, tried before, was slower (the logistic's
//! value and slope over 2,048 elements took 0.71 ns per element that way, 0.48 ns with
//! the division; `docs/performance.md`), and so was a polynomial reciprocal with a
//! cubic correction, the longer chain again. The pieces: [`exp_parts`], [`exp`],
//! [`expm1`], [`exp_neg_abs`], [`exp_precise`], [`exp_precise_parts`],
//! [`exp_precise_flushed`], [`exp_neg_abs_precise`], [`log1p_unit`], [`logistic_parts`] and
//! [`logistic_given`].
//!
//! f64 tensors have lanes of their own for some activations
//! ([`Pointwise::lanes_f64`](super::Pointwise::lanes_f64): sigmoid, tanh, elu, selu,
//! celu, silu and swish), the same formulas built on [`exp_precise`], whose results are used
//! unrounded and so are held to a few f64 ulps instead.

/// An activation's value and slope computed in f64 lanes: for f32 tensors
/// ([`Pointwise::lanes`](super::Pointwise::lanes)), or for f64 ones
/// ([`Pointwise::lanes_f64`](super::Pointwise::lanes_f64)).
///
/// Implementations must be branch-free in effect (selects, not early returns) and call
/// no library function, or the loops that use them stop vectorising. For an f32 tensor
/// `x` is an f32 widened to f64 (exact) and the results are rounded to f32 by the
/// caller (about `1e-10` relative is enough); for an f64 tensor they are used as they
/// are (a few f64 ulps are needed).
pub trait Lanes: Copy + Send + Sync + 'static {
    /// `(f(x), f'(x))` given `first = first_stage(x)`: what a kernel implements. An
    /// unstaged kernel ignores `first` and evaluates everything here; a staged one
    /// (see [`STAGED`](Lanes::STAGED)) takes its costly first half from `first`.
    fn value_and_slope_after(self, x: f64, first: f64) -> (f64, f64);

    /// `(f(x), f'(x))` from one evaluation, sharing the work the two have in common
    /// (the exponential, the reciprocal): the two stages in a row, so a loop that runs
    /// them apart gets the same bits. A loop that uses only one of them (an unrecorded
    /// forward pass, a gradient without a kept slope) calls [`Lanes::value`] or
    /// [`Lanes::slope`], which take it from here: the compiler drops the other's work,
    /// and every path gets the same bits.
    #[inline(always)]
    fn value_and_slope(self, x: f64) -> (f64, f64) {
        let first = if Self::REFINE_NEAR.is_some_and(|band| in_band(x, band)) {
            self.refined_first_stage(x)
        } else {
            self.first_stage(x)
        };
        self.value_and_slope_after(x, first)
    }

    /// `f(x)`. An override must give the bits of `value_and_slope(x).0`: a recorded
    /// forward pass takes the value from there, an unrecorded one from here.
    #[inline(always)]
    fn value(self, x: f64) -> f64 {
        self.value_and_slope(x).0
    }

    /// `f'(x)`. An override must give the bits of `value_and_slope(x).1`.
    #[inline(always)]
    fn slope(self, x: f64) -> f64 {
        self.value_and_slope(x).1
    }

    /// Whether a recorded forward pass over `len` elements should compute `f'(x)` with
    /// `f(x)` (by [`value_and_slope`](Lanes::value_and_slope)) and keep it, in f64,
    /// for the gradient, instead of the gradient evaluating `f'(x)` again. Keeping it
    /// trades compute for memory traffic (8 more bytes written and read per element):
    /// true for the costly slopes (sigmoid, tanh, silu, swish, gelu, gelu_tanh, softplus) at any
    /// length; for a cheap one (elu, one exponential) only up to [`CACHED_LEN`],
    /// beyond which the traffic goes to memory and costs more than the exponential it
    /// saves on two cores (selu and celu likewise); never for a comparison (ReLU). The
    /// default is false.
    fn keeps_slope(self, len: usize) -> bool {
        let _ = len;
        false
    }

    /// Whether the kernel splits its evaluation in two stages,
    /// [`first_stage`](Lanes::first_stage) and
    /// [`value_and_slope_after`](Lanes::value_and_slope_after), which the loops over a
    /// tensor then run one after the other over each block of elements. Worth it where
    /// the evaluation is one long chain of dependent steps (an exponential, then a
    /// division): the CPU overlaps twice as many elements' halves as whole evaluations.
    /// The default is false.
    const STAGED: bool = false;

    /// The first stage at `x`: one f64 that carries everything the rest needs from the
    /// costly first half (for the saturating functions, their exponential or its
    /// polynomial). The default, for unstaged kernels, returns 0.
    #[inline(always)]
    fn first_stage(self, x: f64) -> f64 {
        let _ = x;
        0.0
    }

    /// Where a staged kernel's cheap [`first_stage`](Lanes::first_stage) must be
    /// replaced by [`refined_first_stage`](Lanes::refined_first_stage): `Some((root,
    /// half_width))` for the inputs with `|x - root| < half_width`. There the second
    /// stage cancels (silu's slope near its root), and the cheap exponential's `1e-10`
    /// is magnified past an f32 ulp; only there. The loops run the first stage over a
    /// block, then the refined one for the elements in the band, eight at a time
    /// (`refine_block`): every element pays for a comparison and only a few for the
    /// precise exponential. The default is `None`.
    const REFINE_NEAR: Option<(f64, f64)> = None;

    /// The first stage, precise enough for the second stage at every `x` in the band
    /// of [`REFINE_NEAR`](Lanes::REFINE_NEAR).
    #[inline(always)]
    fn refined_first_stage(self, x: f64) -> f64 {
        self.first_stage(x)
    }
}

/// [`Lanes::refined_first_stage`] in place of the first stage for the elements of a
/// block that need it, eight at a time (one f64 register): each group of eight is
/// scanned, and a group with any such element has the refined stage computed for all
/// eight, without branches, and selected where needed. On W3's inputs (normal times 3)
/// about one group of eight in 100 needs it for silu, against one block of 64 in four
/// with a band four times as wide: refined per block, the refinement and its
/// mispredicted branches cost more than the precise exponential they save (silu 1.05
/// and, out of line, 1.40 ns per value against 1.00 with the precise exponential
/// everywhere; 0.89 now, 0.79 with no refinement at all).
#[inline(always)]
pub(crate) fn refine_block<L: Lanes, T: Copy>(
    l: L,
    xs: &[T],
    widen: impl Fn(T) -> f64,
    started: &mut [f64],
) {
    let Some(band) = L::REFINE_NEAR else {
        return;
    };
    let mut groups = xs.chunks_exact(8);
    let mut outs = started.chunks_exact_mut(8);
    for (xs, started) in (&mut groups).zip(&mut outs) {
        // As arrays, so that the scan is one comparison of a register, not a loop.
        if let (Ok(xs), Ok(started)) = (<&[T; 8]>::try_from(xs), <&mut [f64; 8]>::try_from(started))
        {
            let x: [f64; 8] = std::array::from_fn(|i| widen(xs[i]));
            if x.iter().fold(false, |any, &x| any | in_band(x, band)) {
                for (s, &x) in started.iter_mut().zip(&x) {
                    let refined = l.refined_first_stage(x);
                    *s = if in_band(x, band) { refined } else { *s };
                }
            }
        }
    }
    for (s, &x) in outs.into_remainder().iter_mut().zip(groups.remainder()) {
        if in_band(widen(x), band) {
            *s = l.refined_first_stage(widen(x));
        }
    }
}

/// Whether `x` lies in the band `(root, half_width)` of [`Lanes::REFINE_NEAR`].
#[inline(always)]
fn in_band(x: f64, (root, half_width): (f64, f64)) -> bool {
    (x - root).abs() < half_width
}

/// The `Lanes` of a kernel without a vectorised path (never evaluated: the default
/// [`Pointwise::lanes`](super::Pointwise::lanes) returns `None`).
#[derive(Clone, Copy, Debug)]
pub struct NoLanes;

impl Lanes for NoLanes {
    fn value_and_slope_after(self, x: f64, _first: f64) -> (f64, f64) {
        (x, 1.0)
    }
}

/// The longest tensor for which a kernel with a cheap slope keeps it (see
/// [`Lanes::keeps_slope`]): 2^16 elements, whose f32 values and f64 slopes (768 KiB)
/// stay in a core's 1 MiB L2. Measured on 2^22 elements (W3 of the peer benchmark,
/// two threads), keeping elu's slope took its step from 0.38 to 0.57 ns per element.
pub const CACHED_LEN: usize = 1 << 16;

const LOG2_E: f64 = std::f64::consts::LOG2_E;
/// `1.5 * 2^52`: adding it rounds a float of magnitude below `2^51` to an integer,
/// which the low bits of the sum then hold.
const ROUNDER: f64 = 6_755_399_441_055_744.0;

/// `e^x` as `(p, s)` with `e^x = s (1 + p)`: `s = 2^n` for the integer `n` nearest
/// `x / ln 2`, and `p = e^r - 1` for the reduced `r = x - n ln 2`, `|r| <= ln 2 / 2`,
/// as `r Q(r)`.
///
/// `Q` is the degree-6 Chebyshev fit of `(e^r - 1) / r` on that interval (relative error
/// below `2.7e-10`), so `p` keeps that relative accuracy down to `r -> 0` (what
/// [`expm1`] needs) and `e^x` is accurate to about `1e-10`. That is all an f32 result
/// needs: the f32 ulp is `6e-8` relative or more, so rounding to f32 still lands within
/// half an ulp plus `0.002` ulp, and degree 6 does it where a Taylor polynomial accurate
/// to f64's last bit needs degree 12 (the polynomial is most of an activation's work).
/// The reduction is one fused multiply-add with `ln 2` rounded to f64: its error,
/// `|n| 2.3e-17`, is below `3e-14` for every `n` used here.
///
/// `x` is clamped to `[-708, 709]` first, so `2^n` is a normal f64 (the f32 results
/// this feeds are 0 or infinite long before the clamp matters); a NaN stays NaN.
#[inline(always)]
pub fn exp_parts(x: f64) -> (f64, f64) {
    // A comparison that is false for NaN, so NaN passes through.
    let x = if x > 709.0 { 709.0 } else { x };
    exp_parts_below_709(x)
}

/// [`exp_parts`] for an `x` known not to exceed 709 (such as `-|z|`): the upper clamp
/// is left out, one instruction less on the lanes' longest chain.
#[inline(always)]
fn exp_parts_below_709(x: f64) -> (f64, f64) {
    let (t, r) = exp_reduce(x);
    (exp_poly_of(r), exp_scale_of(t))
}

/// `(t, r)`: `t` holds the integer `n` nearest `x / ln 2` in its low mantissa bits,
/// `r = x - n ln 2`. `x` is clamped below at -708 (a NaN passes through).
#[inline(always)]
fn exp_reduce(x: f64) -> (f64, f64) {
    let x = if x < -708.0 { -708.0 } else { x };
    let t = x.mul_add(LOG2_E, ROUNDER);
    let n = t - ROUNDER;
    (t, n.mul_add(-std::f64::consts::LN_2, x))
}

/// `2^n` from [`exp_reduce`]'s `t`: the low 12 bits of t's mantissa hold n (two's
/// complement); shifted into the exponent field and biased, they are 2^n (n + 1023
/// lies in [1, 2046]).
#[inline(always)]
fn exp_scale_of(t: f64) -> f64 {
    f64::from_bits((t.to_bits() << 52).wrapping_add(1023 << 52))
}

/// `e^r - 1` as `r Q(r)` for the reduced `r` of [`exp_reduce`].
#[inline(always)]
fn exp_poly_of(r: f64) -> f64 {
    // Q's coefficients from r^0 up to r^6: `mpmath.chebyfit` of (e^r - 1) / r on
    // [-0.3466, 0.3466] at 50 digits, rounded to f64 (the tests below measure the
    // error of the rounded polynomial).
    const Q: [f64; 7] = [
        1.0,
        5.000_000_047_146_057e-1,
        1.666_666_671_902_893_6e-1,
        4.166_635_277_111_221e-2,
        8.333_298_469_800_59e-3,
        1.394_111_889_583_7e-3,
        1.989_928_557_589_628_2e-4,
    ];
    // Estrin's scheme: pairs, then pairs of pairs, by fused multiply-adds. Three steps
    // deep instead of Horner's six, which matters because the lanes are bound by the
    // length of their dependency chains (a chain of 6 multiply-adds is 24 cycles on
    // Zen 5, and too few iterations fit in flight to hide it). Every step rounds
    // correctly, so every instruction set gives the same result.
    let r2 = r * r;
    let r4 = r2 * r2;
    let q01 = Q[1].mul_add(r, Q[0]);
    let q23 = Q[3].mul_add(r, Q[2]);
    let q45 = Q[5].mul_add(r, Q[4]);
    let q03 = q23.mul_add(r2, q01);
    let q46 = Q[6].mul_add(r2, q45);
    q46.mul_add(r4, q03) * r
}

/// `e^x` (relative error below `2e-10` where the result is a normal f64; see
/// [`exp_parts`]).
#[inline(always)]
pub fn exp(x: f64) -> f64 {
    let (p, s) = exp_parts(x);
    s.mul_add(p, s)
}

/// `e^x - 1` (relative error below `4e-10`) without cancellation near 0: where `n = 0` the result is `p` itself
/// (`s - 1` is exactly 0), elsewhere `|e^x - 1| > 0.29` and the subtraction is benign.
#[inline(always)]
pub fn expm1(x: f64) -> f64 {
    let (p, s) = exp_parts(x);
    s.mul_add(p, s - 1.0)
}

/// `ln(1 + e)` for `e` in `[0, 1]`, as `2 atanh(s)` with `s = e / (2 + e)`, or, above
/// `sqrt 2 - 1`, as `ln 2 + 2 atanh(s)` with `s = (e - 1) / (e + 3)` (the same identity
/// for `(1 + e) / 2`). Either way `|s| <= 0.1716`, and `atanh(s) / s` is a polynomial in
/// `s^2` (its degree-4 Chebyshev fit on `s^2 <= 0.0295`, relative error below `5e-12`).
/// No `1 + e` is ever rounded, so tiny `e` keeps its full precision.
#[inline(always)]
pub fn log1p_unit(e: f64) -> f64 {
    let upper = e > std::f64::consts::SQRT_2 - 1.0;
    let num = if upper { e - 1.0 } else { e };
    let den = if upper { e + 3.0 } else { e + 2.0 };
    let s = num / den;
    let s2 = s * s;
    // From s2^0 up to s2^4: `mpmath.chebyfit` of atanh(s) / s as a function of s^2
    // on [0, 0.02944], rounded to f64.
    const A: [f64; 5] = [
        1.000_000_000_004_181_8,
        0.333_333_326_234_554_03,
        0.200_001_923_950_573_95,
        0.142_675_217_815_661_8,
        0.118_082_521_598_594_36,
    ];
    // Estrin's scheme, as in `exp_parts`: two steps deep after s^2 instead of four.
    let s4 = s2 * s2;
    let a01 = A[1].mul_add(s2, A[0]);
    let a24 = A[4].mul_add(s4, A[3].mul_add(s2, A[2]));
    let atanh2 = (s + s) * a24.mul_add(s4, a01);
    atanh2 + if upper { std::f64::consts::LN_2 } else { 0.0 }
}

/// `e^-|z|` (as [`exp`], with no upper clamp to pass through).
#[inline(always)]
pub fn exp_neg_abs(z: f64) -> f64 {
    let (p, s) = exp_parts_below_709(-z.abs());
    s.mul_add(p, s)
}

/// The logistic function's pieces at `z`: `(sigma(z), sigma'(z), e)` with
/// `e = e^-|z|`, from `r = 1 / (1 + e)`: `sigma = r` (`z >= 0`) or `e r`, and
/// `sigma' = e r^2`. No cancellation anywhere.
#[inline(always)]
pub fn logistic_parts(z: f64) -> (f64, f64, f64) {
    logistic_given(z, exp_neg_abs(z))
}

/// [`logistic_parts`] at `z` given its `e = e^-|z|` (from [`exp_neg_abs`] or
/// [`exp_precise`]), for a second stage (see [`Lanes::first_stage`]).
#[inline(always)]
pub fn logistic_given(z: f64, e: f64) -> (f64, f64, f64) {
    let r = 1.0 / (1.0 + e);
    let er = e * r;
    let value = if z >= 0.0 { r } else { er };
    (value, er * r, e)
}

/// `ln 2` split so that `n * LN2_HI` is exact for `|n| < 2^11` (fdlibm's constants).
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);

/// `e^x` to a few f64 ulps (relative error about `3e-16` where the result is a normal
/// f64), for the few formulas that cancel, where [`exp`]'s `1e-10` is not enough: the
/// slopes of silu and gelu_tanh pass through zero (`sigma + x sigma'` at `x = -1.2785`
/// for silu), and at the f32 input nearest such a root the result is `1e-7` of the
/// terms that cancel, so their relative error is magnified ten million times. Twice the
/// work of [`exp`]: Cody-Waite reduction with a two-part `ln 2` and the Taylor
/// polynomial of degree 12 (truncation error below `2e-16 |r|`). Clamped to
/// `[SMALLEST_NORMAL_EXP, 709]`, where `2^n` is a normal f64.
#[inline(always)]
pub fn exp_precise(x: f64) -> f64 {
    let (p, s) = exp_precise_parts(x);
    s + s * p
}

/// [`exp_precise`] as `(p, s)` with `e^x = s (1 + p)`, as [`exp_parts`] gives them, so
/// that `e^x - 1 = s p + (s - 1)` is precise too (the f64 tanh).
#[inline(always)]
pub fn exp_precise_parts(x: f64) -> (f64, f64) {
    // Clamped at the smallest x whose 2^n is normal (n = -1022), the edge of the f64
    // kernels' range (`exp_neg_abs_precise`).
    let x = if x < SMALLEST_NORMAL_EXP {
        SMALLEST_NORMAL_EXP
    } else {
        x
    };
    let x = if x > 709.0 { 709.0 } else { x };
    let t = x * LOG2_E + ROUNDER;
    let n = t - ROUNDER;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let s = f64::from_bits((t.to_bits() << 52).wrapping_add(1023 << 52));
    const C: [f64; 12] = [
        1.0,
        1.0 / 2.0,
        1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 120.0,
        1.0 / 720.0,
        1.0 / 5040.0,
        1.0 / 40320.0,
        1.0 / 362_880.0,
        1.0 / 3_628_800.0,
        1.0 / 39_916_800.0,
        1.0 / 479_001_600.0,
    ];
    // Estrin's scheme (see `exp_poly_of`): four steps deep instead of Horner's eleven.
    let r2 = r * r;
    let r4 = r2 * r2;
    let r8 = r4 * r4;
    let pair = |i: usize| C[i + 1].mul_add(r, C[i]);
    let q03 = pair(2).mul_add(r2, pair(0));
    let q47 = pair(6).mul_add(r2, pair(4));
    let q811 = pair(10).mul_add(r2, pair(8));
    let q = q811.mul_add(r8, q47.mul_add(r4, q03));
    (q * r, s)
}

/// `ln` of f64's smallest normal number (`2^-1022`), rounded up: `e^x` is subnormal
/// below it.
pub const SMALLEST_NORMAL_EXP: f64 = -708.396_418_532_264;

/// `e^x` from [`exp_precise_parts`]' `(p, s)` at `x`, as the f64 kernels use it: 0
/// where it is subnormal (`x < SMALLEST_NORMAL_EXP`: below `2.3e-308`), which
/// [`exp_precise`]'s clamp would otherwise turn into `2^-1022`.
#[inline(always)]
pub fn exp_precise_flushed(x: f64, p: f64, s: f64) -> f64 {
    // False for NaN, which passes through.
    if x < SMALLEST_NORMAL_EXP {
        0.0
    } else {
        s + s * p
    }
}

/// `e^-|z|` to a few f64 ulps, for the f64 kernels; 0 where it is subnormal (see
/// [`exp_precise_flushed`]).
#[inline(always)]
pub fn exp_neg_abs_precise(z: f64) -> f64 {
    let x = -z.abs();
    let (p, s) = exp_precise_parts(x);
    exp_precise_flushed(x, p, s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Activation, DType, Tape, Tensor, Var};

    /// Distance from `got` to `want` in units of the f32 ulp at `want` (subnormal
    /// spacing below the normal range); 0 when equal (infinities included) or both NaN.
    fn ulps(got: f32, want: f64) -> f64 {
        if got as f64 == want || (got.is_nan() && want.is_nan()) {
            return 0.0;
        }
        let w = want as f32;
        let ulp = if w.is_finite() && w.abs() >= f32::MIN_POSITIVE {
            (f32::from_bits(w.abs().to_bits() + 1) - w.abs()) as f64
        } else {
            2f64.powi(-149)
        };
        ((got as f64 - want) / ulp).abs()
    }

    /// Every activation with a vectorised f32 path, on random and extreme inputs: the
    /// value and the fused gradient `g f'(x)` agree with the f64 scalar kernels (the
    /// golden-tested reference) to within one f32 ulp, NaN and infinities included.
    #[test]
    fn f32_lanes_match_the_f64_scalar_kernels() {
        let mut xs: Vec<f32> = Tensor::randn([4096], DType::F32, 7)
            .mul_scalar(6.0)
            .to_vec()
            .unwrap_or_default();
        for v in [
            0.0f32,
            1e-30,
            1e-8,
            0.0624,
            0.0625,
            0.07,
            0.5,
            1.0,
            0.7518,
            1.1314,
            1.2785,
            2.3994,
            14.5,
            38.6,
            20.0,
            50.0,
            90.0,
            104.0,
            700.0,
            1e4,
            3e38,
            f32::INFINITY,
            f32::NAN,
            -0.0,
        ] {
            xs.extend([v, -v]);
        }
        // Every 16th f32 within 0.03 of silu's and gelu_tanh's slope roots, about
        // 31,000 and 18,000: their refinement bands (0.005 each side) and the bands'
        // edges, in order, so that whole blocks fall inside and outside them; and the
        // five f32 nearest each root.
        for root in [-1.278_464_5f32, -0.752_461_4] {
            let mut x = root - 0.03;
            while x < root + 0.03 {
                xs.push(x);
                x = f32::from_bits(x.to_bits() - 16);
            }
            let nearest = root.to_bits();
            xs.extend((nearest - 2..=nearest + 2).map(f32::from_bits));
        }
        let n = xs.len();
        let gs: Vec<f32> = Tensor::randn([n], DType::F32, 8)
            .to_vec()
            .unwrap_or_default();
        let acts = [
            Activation::Sigmoid,
            Activation::Tanh,
            Activation::Relu,
            Activation::LeakyRelu { slope: 0.01 },
            Activation::Silu,
            Activation::Swish { beta: 1.5 },
            Activation::Swish { beta: -0.7 },
            Activation::Gelu,
            Activation::GeluTanh,
            Activation::Softplus { beta: 1.0 },
            Activation::Softplus { beta: 2.0 },
            Activation::Elu { alpha: 1.0 },
            Activation::Elu { alpha: 0.5 },
            Activation::Selu,
            Activation::Celu { alpha: 1.0 },
            Activation::Celu { alpha: 0.3 },
        ];
        let run = |act: Activation, dtype: DType| {
            let tape = Tape::new();
            let x = tape.var(Tensor::from_slice(&xs, [n]).unwrap().to_dtype(dtype));
            let g = Var::untracked(Tensor::from_slice(&gs, [n]).unwrap().to_dtype(dtype));
            let y = act.apply(&x).unwrap();
            let dx = tape.vjp(&y, &g, &[&x], false).unwrap();
            (y.value().to_f64_vec(), dx[0].value().to_f64_vec())
        };
        for act in acts {
            let (y32, dx32) = run(act, DType::F32);
            let (y64, dx64) = run(act, DType::F64);
            for i in 0..n {
                let ey = ulps(y32[i] as f32, y64[i]);
                let ed = ulps(dx32[i] as f32, dx64[i]);
                assert!(
                    ey <= 1.0,
                    "{act} value at {}: {} vs {} ({ey} ulps)",
                    xs[i],
                    y32[i],
                    y64[i]
                );
                assert!(
                    ed <= 1.0,
                    "{act} gradient at {}: {} vs {} ({ed} ulps)",
                    xs[i],
                    dx32[i],
                    dx64[i]
                );
            }
        }
    }

    /// The f64 kernels with a vectorised path (sigmoid, tanh, elu, silu, swish) agree
    /// with their scalar kernels, which call the C library, to a few f64 ulps: value,
    /// gradient `g f'(x)` (by `Tape::vjp`) and the first-derivative node (by a gradient
    /// with `create_graph`). Where the exact result is below `3.3e-308` the vectorised
    /// sigmoid, tanh and elu give 0 (documented) and the scalar ones a subnormal: there
    /// the difference is held to that bound instead. Where swish's slope cancels, to a
    /// few ulps of its terms.
    #[test]
    fn f64_lanes_match_the_scalar_kernels() {
        use super::super::Pointwise;
        use super::super::{
            celu::Celu, elu::Elu, selu::Selu, sigmoid::Sigmoid, silu::Silu, swish::Swish,
            tanh::Tanh,
        };
        let mut xs: Vec<f64> = Tensor::randn([3000], DType::F64, 21)
            .mul_scalar(6.0)
            .to_f64_vec();
        let mut x = -800.0;
        while x < 800.0 {
            xs.push(x);
            x += 0.731;
        }
        for v in [
            0.0,
            1e-300,
            1e-20,
            1e-9,
            0.3466,
            0.5,
            1.0,
            19.0,
            20.0,
            36.7,
            37.0,
            354.0,
            354.5,
            372.0,
            707.9,
            708.0,
            708.1,
            708.39,
            708.4,
            708.5,
            709.0,
            709.8,
            745.0,
            746.0,
            1e4,
            1e300,
            f64::INFINITY,
            f64::NAN,
        ] {
            xs.extend([v, -v]);
        }
        let n = xs.len();
        let gs: Vec<f64> = Tensor::randn([n], DType::F64, 22).to_f64_vec();
        // 2^-1020: the f64 kernels flush results below 2^-1022 (sigmoid) or 2^-1020
        // (tanh's slope 4 e^-2|x|) to 0, and a gradient g f'(x) carries |g| with it.
        let close = |got: f64, want: f64, g: f64| {
            if got == want || (got.is_nan() && want.is_nan()) {
                return true;
            }
            let err = (got - want).abs();
            err <= 8.0 * f64::EPSILON * want.abs() || err <= 2f64.powi(-1020) * g.abs().max(1.0)
        };
        /// `slope_terms(x)`: the magnitude of the terms whose sum is the slope where
        /// they cancel (0 where they do not); the slope and the gradient may then be off
        /// by 8 ulps of it.
        fn check<K: Pointwise>(
            k: K,
            act: Activation,
            xs: &[f64],
            gs: &[f64],
            close: &dyn Fn(f64, f64, f64) -> bool,
            slope_terms: &dyn Fn(f64) -> f64,
        ) {
            let n = xs.len();
            let tape = Tape::new();
            let x = tape.var(Tensor::from_slice(xs, [n]).unwrap());
            let g = Var::untracked(Tensor::from_slice(gs, [n]).unwrap());
            let y = act.apply(&x).unwrap();
            let slope = tape.grad(&y.sum_all().unwrap(), &[&x], true).unwrap();
            let dx = tape.vjp(&y, &g, &[&x], false).unwrap();
            let (y, dx, slope) = (
                y.value().to_f64_vec(),
                dx[0].value().to_f64_vec(),
                slope[0].value().to_f64_vec(),
            );
            for i in 0..n {
                let want_y = k.f(xs[i]);
                let want_slope = k.df(xs[i], want_y);
                let want_dx = gs[i] * want_slope;
                assert!(
                    close(y[i], want_y, 1.0),
                    "{act} value at {}: {} vs {}",
                    xs[i],
                    y[i],
                    want_y
                );
                let cancelled = 8.0 * f64::EPSILON * slope_terms(xs[i]);
                let within_terms = |got: f64, want: f64, g: f64| {
                    close(got, want, g) || (got - want).abs() <= cancelled * g.abs()
                };
                assert!(
                    within_terms(dx[i], want_dx, gs[i]),
                    "{act} gradient at {}: {} vs {}",
                    xs[i],
                    dx[i],
                    want_dx
                );
                assert!(
                    within_terms(slope[i], want_slope, 1.0),
                    "{act} slope at {}: {} vs {}",
                    xs[i],
                    slope[i],
                    want_slope
                );
            }
        }
        check(Sigmoid, Activation::Sigmoid, &xs, &gs, &close, &|_| 0.0);
        check(Tanh, Activation::Tanh, &xs, &gs, &close, &|_| 0.0);
        for alpha in [1.0, 0.5] {
            check(
                Elu { alpha },
                Activation::Elu { alpha },
                &xs,
                &gs,
                &close,
                &|_| 0.0,
            );
        }
        check(Selu, Activation::Selu, &xs, &gs, &close, &|_| 0.0);
        for alpha in [1.0, 0.3] {
            check(
                Celu { alpha },
                Activation::Celu { alpha },
                &xs,
                &gs,
                &close,
                &|_| 0.0,
            );
        }
        // Swish's slope sigma(z) + z sigma'(z) cancels near its root (z = -1.2785), in
        // the scalar kernel as here: there both are held to 8 ulps of the terms.
        let mut near_root = xs.clone();
        let root = -1.278_464_542_761_074;
        near_root.extend((-200..=200).map(|i| root + i as f64 * 1e-9));
        near_root.extend((-50..=50).map(|i| root * (1.0 + i as f64 * f64::EPSILON)));
        let gs_near: Vec<f64> = Tensor::randn([near_root.len()], DType::F64, 23).to_f64_vec();
        // |sigma(z)| + |z sigma'(z)| at z = beta x.
        let terms_at = |beta: f64| {
            move |x: f64| {
                let (z, s) = (beta * x, Sigmoid.f(beta * x));
                s.abs() + (z * Sigmoid.df(z, s)).abs()
            }
        };
        for beta in [1.0, 1.5, 0.7, -2.0] {
            let xs_beta: Vec<f64> = near_root.iter().map(|x| x / beta).collect();
            check(
                Swish { beta },
                Activation::Swish { beta },
                &xs_beta,
                &gs_near,
                &close,
                &terms_at(beta),
            );
        }
        check(
            Silu,
            Activation::Silu,
            &near_root,
            &gs_near,
            &close,
            &terms_at(1.0),
        );
    }

    /// The gradient from a slope kept by the forward pass equals, bit for bit, the one
    /// a second pass over the retained graph computes by evaluating the slope again;
    /// the recorded value equals the unrecorded one. Lengths below and above the
    /// parallel threshold.
    #[test]
    fn a_kept_slope_gives_the_gradient_evaluated_again() {
        let acts = [
            Activation::Sigmoid,
            Activation::Tanh,
            Activation::Relu,
            Activation::Silu,
            Activation::Swish { beta: 1.5 },
            Activation::Gelu,
            Activation::GeluTanh,
            Activation::Softplus { beta: 1.5 },
            Activation::Elu { alpha: 1.0 },
        ];
        for n in [1usize, 37, crate::tensor::simd::PARALLEL_MIN + 101] {
            let x = Tensor::randn([n], DType::F32, 11).mul_scalar(5.0);
            let c = Tensor::randn([n], DType::F32, 12);
            for act in acts {
                let tape = Tape::new();
                let xv = tape.var(x.clone());
                let y = act.apply(&xv).unwrap();
                let unrecorded = act.apply(&Var::untracked(x.clone())).unwrap();
                assert_eq!(
                    y.value().to_vec::<f32>().unwrap(),
                    unrecorded.value().to_vec::<f32>().unwrap(),
                    "{act}: recorded and unrecorded values, n = {n}"
                );
                let loss = y
                    .mul(&Var::untracked(c.clone()))
                    .unwrap()
                    .sum_all()
                    .unwrap();
                let first = tape.grad_retain(&loss, &[&xv]).unwrap();
                let second = tape.grad_retain(&loss, &[&xv]).unwrap();
                let bits = |v: &Var| -> Vec<u32> {
                    v.value()
                        .to_vec::<f32>()
                        .unwrap()
                        .iter()
                        .map(|g| g.to_bits())
                        .collect()
                };
                assert_eq!(
                    bits(&first[0]),
                    bits(&second[0]),
                    "{act}: gradients, n = {n}"
                );
            }
        }
    }

    fn rel(a: f64, b: f64) -> f64 {
        if a == b { 0.0 } else { ((a - b) / b).abs() }
    }

    /// The largest relative error of `f` against `f64::exp` on `[-700, 700)` in steps
    /// of `step`.
    fn worst_exp_error(f: impl Fn(f64) -> f64, step: f64) -> f64 {
        let mut worst: f64 = 0.0;
        let mut x = -700.0;
        while x < 700.0 {
            worst = worst.max(rel(f(x), x.exp()));
            x += step;
        }
        worst
    }

    /// The helpers are held to the accuracy their docs state (`1e-10` relative is under
    /// 0.002 of an f32 ulp); `f32_lanes_match_the_f64_scalar_kernels` checks the f32
    /// results themselves.
    #[test]
    fn exp_is_accurate_to_2e_10_over_the_f32_range() {
        let worst = worst_exp_error(exp, 0.00137);
        assert!(worst < 2e-10, "worst relative error {worst:e}");
        assert!(exp(f64::NAN).is_nan());
        assert_eq!(exp(0.0), 1.0);
    }

    #[test]
    fn exp_precise_is_accurate_to_a_few_f64_ulps_over_the_f32_range() {
        let worst = worst_exp_error(exp_precise, 0.0137);
        assert!(worst < 1e-15, "worst relative error {worst:e}");
        assert!(exp_precise(f64::NAN).is_nan());
        assert_eq!(exp_precise(0.0), 1.0);
    }

    #[test]
    fn expm1_keeps_relative_accuracy_near_zero() {
        let mut worst: f64 = 0.0;
        for &x in &[
            1e-300, -1e-20, 1e-10, -3e-5, 0.01, -0.2, 0.3466, -0.35, -1.0, 5.0, -40.0,
        ] {
            worst = worst.max(rel(expm1(x), x.exp_m1()));
        }
        let mut x = -1.0;
        while x < 1.0 {
            worst = worst.max(rel(expm1(x), x.exp_m1()));
            x += 0.000_173;
        }
        assert!(worst < 5e-10, "worst relative error {worst:e}");
        assert_eq!(expm1(-800.0), -1.0);
    }

    #[test]
    fn log1p_unit_is_accurate_from_tiny_to_one() {
        let mut worst: f64 = 0.0;
        let mut e = 1e-300;
        while e <= 1.0 {
            worst = worst.max(rel(log1p_unit(e), e.ln_1p()));
            e *= 1.001;
        }
        for e in [0.0, 0.4142, 0.41422, 0.5, 0.999, 1.0] {
            worst = worst.max(rel(log1p_unit(e), e.ln_1p()));
        }
        assert!(worst < 1e-11, "worst relative error {worst:e}");
    }
}
