//! `gelu`: the Gaussian error linear unit (Hendrycks & Gimpel 2016), exact form,
//! `f(x) = x Phi(x)` with `Phi` the standard normal CDF.
//!
//! `f'(x) = Phi(x) + x phi(x)`, `f''(x) = phi(x) (2 - x^2)`, where
//! `phi(x) = e^(-x^2/2) / sqrt(2 pi)`. Not monotonic: a dip to -0.17 near `x = -0.75`;
//! the slope peaks at 1.129 at `x = sqrt 2`. PyTorch: `F.gelu(x)` (approximate="none").
//!
//! Numerics, each term to a few ulps for every `x`:
//! - `Phi(x) = erfc(-x / sqrt 2) / 2`, accurate in the left tail where
//!   `1 + erf(x / sqrt 2)` cancels to 0. The argument's rounding error matters there:
//!   `erfc(u)` ~ `e^-u^2`, so a relative error `d` in `u` is a relative error `2 u^2 d`
//!   in the result (97 ulps of f32 at `x = -12`). `x / sqrt 2` is carried as `hi + lo`
//!   (fused multiply-add, and `1/sqrt 2` to twice the working precision), and
//!   `Phi(x) = erfc(-hi) / 2 + sqrt 2 lo phi(x)` to first order.
//! - `phi(x)` likewise: `x^2 = s + s_lo` exactly, `e^(-x^2/2) = e^(-s/2) (1 - s_lo/2)`.
//! - `f'' = phi(x) (2 - x^2)` as `phi(x) (sqrt 2 - x)(sqrt 2 + x)` with `sqrt 2` to twice
//!   the working precision: `2 - x^2` cancels near the root `x = sqrt 2`.
//! - Where `x^2 / 2 > 64` the density may be subnormal: it is applied as
//!   `e^(-x^2/4)` twice, the second time last, so a subnormal result is rounded once
//!   instead of having its rounding error multiplied by `x` or `x^2`. In the left tail
//!   `Phi(x)` itself is then `phi(x) M(-x)`, with the Mills ratio
//!   `M(t) = (1 - 1/t^2 + 3/t^4 - 15/t^6 + ...) / t` summed to the working precision.
//! - At infinity the limits: `f = inf` and `-0`, `f' = 1` and `0`, `f'' = 0`.
//!
//! f32 tensors take a vectorised kernel (the `Lanes` impl below: `erf`'s series near 0,
//! a Chebyshev fit of `erfc` beyond, in f64 lanes), within one ulp of the above.

use super::lanes::{self, Lanes};
use super::{Pointwise, apply, pointwise, split_constant, two_prod};
use crate::{Element, Result, Tensor, Var};

/// The `gelu` kernel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Gelu;

/// `1 / sqrt 2`: the nearest f64 and the remainder (mpmath, 60 digits).
const FRAC_1_SQRT_2: (f64, f64) = (std::f64::consts::FRAC_1_SQRT_2, -4.833_646_656_726_457e-17);
/// `sqrt 2`: the nearest f64 and the remainder (mpmath, 60 digits).
const SQRT_2: (f64, f64) = (std::f64::consts::SQRT_2, -9.667_293_313_452_913e-17);
/// `1 / sqrt(2 pi)`.
const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;
/// Above this `x^2`, `e^(-x^2/2) < 1.7e-28` is applied in two halves (see the module docs).
const DENSITY_TAIL: f64 = 128.0;

/// `phi(x)` as a product `p q`: `q = 1`, or in the tails `q = e^(-x^2/4)`, which the
/// caller multiplies in last.
#[inline(always)]
fn density<T: Element>(x: T) -> (T, T) {
    let (s, s_lo) = two_prod(x, x);
    let correction = T::one() - s_lo * T::of(0.5);
    if s > T::of(DENSITY_TAIL) {
        let h = (-s * T::of(0.25)).exp();
        (T::of(INV_SQRT_2PI) * h * correction, h)
    } else {
        let g = (-s * T::of(0.5)).exp();
        (T::of(INV_SQRT_2PI) * g * correction, T::one())
    }
}

/// Where `Phi(x)` is taken as `phi(x) M(-x)`: the left tail, with the density split.
#[inline(always)]
fn in_left_tail<T: Element>(x: T) -> bool {
    x < T::zero() && x * x > T::of(DENSITY_TAIL)
}

/// The Mills ratio `M(t) = (1 - Phi(t)) / phi(t)` for `t >= 11`, by its asymptotic
/// series `(1 - 1/t^2 + 3/t^4 - ...) / t` (the terms shrink by `(2k + 1) / t^2 < 1/3`
/// until well past the working precision).
#[inline(always)]
fn mills_ratio<T: Element>(t: T) -> T {
    let inv_t2 = T::one() / (t * t);
    let mut term = T::one();
    let mut sum = T::one();
    for k in 1..40 {
        term = -term * T::of(f64::from(2 * k - 1)) * inv_t2;
        sum += term;
        if term.abs() < T::epsilon() * T::of(0.25) {
            break;
        }
    }
    sum / t
}

/// `Phi(x)` with the argument correction, given the density `p q` (not in the left tail).
#[inline(always)]
fn cdf<T: Element>(x: T, p: T, q: T) -> T {
    let (c, c_lo) = split_constant::<T>(FRAC_1_SQRT_2.0, FRAC_1_SQRT_2.1);
    let (w, w_lo) = two_prod(x, c);
    let w_lo = w_lo + x * c_lo;
    // erfc(-(w + w_lo)) = erfc(-w) + w_lo (2 / sqrt pi) e^(-w^2), and
    // (1 / sqrt pi) e^(-x^2/2) = sqrt 2 phi(x). Skipped where the density is 0 (w_lo may
    // be infinite there, for infinite x).
    let half_erfc = T::of(0.5) * (-w).erfc();
    if p * q == T::zero() {
        half_erfc
    } else {
        half_erfc + T::of(std::f64::consts::SQRT_2) * w_lo * p * q
    }
}

impl Pointwise for Gelu {
    fn name(&self) -> &'static str {
        "gelu"
    }

    fn lanes(self) -> Option<impl Lanes> {
        Some(self)
    }

    #[inline(always)]
    fn f<T: Element>(self, x: T) -> T {
        // The limits at infinity (the formulas give inf * 0 there): x and -0.
        if x.is_infinite() {
            return if x > T::zero() { x } else { T::neg_zero() };
        }
        let (p, q) = density(x);
        if in_left_tail(x) {
            // x Phi(x) = x M(-x) phi(x)
            (x * mills_ratio(-x) * p) * q
        } else {
            x * cdf(x, p, q)
        }
    }

    #[inline(always)]
    fn df<T: Element>(self, x: T, _y: T) -> T {
        if x.is_infinite() {
            return if x > T::zero() { T::one() } else { T::zero() };
        }
        let (p, q) = density(x);
        if in_left_tail(x) {
            // Phi(x) + x phi(x) = (M(-x) + x) phi(x)
            ((mills_ratio(-x) + x) * p) * q
        } else {
            cdf(x, p, q) + (x * p) * q
        }
    }

    #[inline(always)]
    fn d2f<T: Element>(self, x: T, _y: T) -> T {
        if x.is_infinite() {
            return T::zero();
        }
        let (p, q) = density(x);
        let (r, r_lo) = split_constant::<T>(SQRT_2.0, SQRT_2.1);
        // 2 - x^2 = (sqrt 2 - x)(sqrt 2 + x); r - x is exact near the root (Sterbenz).
        (p * (((r - x) + r_lo) * ((r + x) + r_lo))) * q
    }

    fn composite(self, x: &Var) -> Result<Var> {
        let cdf = x
            .mul_scalar(std::f64::consts::FRAC_1_SQRT_2)?
            .erf()?
            .add_scalar(1.0)?
            .mul_scalar(0.5)?;
        x.mul(&cdf)
    }
}

/// Where the f32 path takes `Phi` from the series of `erf` (`|x| / sqrt 2` below it)
/// rather than from `erfc`.
const SERIES_EDGE: f64 = 0.8;

/// `erf(z) / z` as a polynomial in `z^2`: the Taylor series,
/// `(2 / sqrt pi) (-1)^n / (n! (2n + 1))` for `n = 0 .. 15` (`gelu_fit.py`: mpmath, rounded),
/// whose first omitted term is below `3e-17` for `|z| < 0.8`.
const ERF_SERIES: [f64; 16] = [
    std::f64::consts::FRAC_2_SQRT_PI,
    -0.376_126_389_031_837_54,
    0.112_837_916_709_551_26,
    -0.026_866_170_645_131_252,
    0.005_223_977_625_442_188,
    -0.000_854_832_702_345_085_3,
    0.000_120_553_329_817_896_64,
    -1.492_565_035_840_625e-5,
    1.646_211_436_588_924_8e-6,
    -1.636_584_469_123_492_4e-7,
    1.480_719_281_587_921_8e-8,
    -1.229_055_530_171_792_8e-9,
    9.422_759_064_650_411e-11,
    -6.711_366_855_164_110_5e-12,
    4.463_224_263_286_477_5e-13,
    -2.783_516_207_210_921_5e-14,
];

/// `h(s) = ln(erfc(z) / t) + z^2` for `z >= 0.8`, with `t = 2 / (2 + z)` and
/// `s = 2 t / t_0 - 1` in `(-1, 1]` (`t_0 = 2 / 2.8`), as a polynomial in `s`: the
/// degree-14 Chebyshev interpolant (mpmath, 60 digits; `gelu_fit.py` beside this
/// file), whose f64-rounded coefficients are within `4.6e-12` of `h`. So
/// `erfc(z) = t e^(h(s)) e^(-z^2)` to about `5e-12` relative, for every `z >= 0.8` (the
/// form of Numerical Recipes' `erfccheb`, Press et al. 2007, section 6.2.2).
const ERFC_LOG: [f64; 15] = [
    -0.859_100_614_089_421_1,
    0.453_779_860_485_029_83,
    0.041_280_209_673_728_34,
    -0.010_834_340_273_618_072,
    -0.004_852_514_757_175_683,
    0.000_472_220_716_351_056_8,
    0.000_643_083_077_548_774_4,
    -2.039_412_651_174_112_4e-5,
    -9.738_738_396_125_359e-5,
    1.787_383_037_799_706e-6,
    1.596_483_762_640_718e-5,
    -6.293_426_867_436_315e-7,
    -2.500_479_843_089_254_3e-6,
    1.218_493_208_255_963_3e-7,
    2.623_276_802_648_564_5e-7,
];

/// A polynomial `sum c_i w^i` by Estrin's scheme (pairs, then pairs of pairs), so the
/// lanes' chain of dependent steps is `log2` of the degree deep, not the degree.
#[inline(always)]
fn estrin<const N: usize>(c: &[f64; N], w: f64) -> f64 {
    let mut level = [0.0f64; N];
    let mut len = N;
    level.copy_from_slice(c);
    let mut power = w;
    while len > 1 {
        let half = len.div_ceil(2);
        for i in 0..half {
            let lo = level[2 * i];
            level[i] = if 2 * i + 1 < len {
                level[2 * i + 1].mul_add(power, lo)
            } else {
                lo
            };
        }
        len = half;
        power *= power;
    }
    level[0]
}

/// The f32 path, in f64 lanes (see [`Lanes`]). `Phi(x)` comes from the series of
/// `erf(x / sqrt 2)` near 0, where the slope `Phi(x) + x phi(x)` has its root (near
/// `x = -0.7518`, where the two terms cancel and each must be right to a few f64 ulps),
/// and from `erfc(|x| / sqrt 2) = t e^(h) e^(-x^2/2)` beyond: the density's
/// `e^(-x^2/2)` from the exact `x^2`, so the argument's rounding error of the scalar
/// kernel's tail never arises.
impl Lanes for Gelu {
    #[inline(always)]
    fn value_and_slope_after(self, x: f64, _first: f64) -> (f64, f64) {
        // x is an f32, so x^2 / 2 is exact.
        let half_square = 0.5 * (x * x);
        let (p, s) = lanes::exp_precise_parts(-half_square);
        let gauss = lanes::exp_precise_flushed(-half_square, p, s);
        let z = x * FRAC_1_SQRT_2.0;
        let a = z.abs();
        let series = 0.5f64.mul_add(z * estrin(&ERF_SERIES, z * z), 0.5);
        let t = 2.0 / (2.0 + a);
        let h = estrin(&ERFC_LOG, t.mul_add(2.8, -1.0));
        let half_erfc = 0.5 * t * lanes::exp(h) * gauss;
        let tail = if z < 0.0 { half_erfc } else { 1.0 - half_erfc };
        let cdf = if a < SERIES_EDGE { series } else { tail };
        // Where the density is 0 (|x| > 38), x phi(x) is 0, and so for infinite x.
        let x_density = if gauss == 0.0 {
            0.0
        } else {
            x * (gauss * INV_SQRT_2PI)
        };
        let value = if x == f64::NEG_INFINITY {
            -0.0
        } else {
            x * cdf
        };
        (value, cdf + x_density)
    }

    fn keeps_slope(self, _len: usize) -> bool {
        true
    }
}

impl Tensor {
    /// `x Phi(x)`, the exact GELU; one recorded node. Plain maths, nothing recorded.
    pub fn gelu(&self) -> Tensor {
        pointwise(self, Gelu)
    }
}

impl Var {
    /// `x Phi(x)`, the exact GELU; one recorded node.
    ///
    /// # Errors
    /// the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn gelu(&self) -> Result<Var> {
        apply(self, Gelu)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::activation::checks::*;
    use crate::testing::*;

    #[test]
    fn gelu_passes_the_standard_checks() {
        standard_checks(Gelu, &[]);
    }

    #[test]
    fn gelu_slope_peaks_at_root_two() {
        let (_, d1, d2) = engine_derivatives(Gelu, &t64(&[std::f64::consts::SQRT_2], &[1]));
        assert!((d1.to_f64_vec()[0] - 1.128_904_145_185_154_8).abs() < 1e-12);
        assert!(d2.to_f64_vec()[0].abs() < 1e-15);
    }

    /// The vectorised f32 kernel against the f64 scalar one, within one ulp, where it
    /// is most delicate: every f32 within 1e-3 of the slope's root (-0.7518, where the
    /// two terms of `f'` cancel), around the switch from the series to `erfc`
    /// (`|x| = 0.8 sqrt 2`), and a sweep through both tails into underflow.
    #[test]
    fn the_f32_kernel_is_within_an_ulp_at_the_root_the_switch_and_the_tails() {
        let mut xs: Vec<f32> = Vec::new();
        let mut v = -0.7528f32;
        while v < -0.7508 {
            xs.push(v);
            v = f32::from_bits(v.to_bits() - 1);
        }
        let edge = (SERIES_EDGE * std::f64::consts::SQRT_2) as f32;
        for k in -2000..2000 {
            let x = edge + k as f32 * 1e-6;
            xs.extend([x, -x]);
        }
        xs.extend((0..4000).map(|i| -20.0 + 40.0 * i as f32 / 4000.0));
        let x32 = crate::Tensor::from_slice(&xs, [xs.len()]).unwrap();
        let x64 = x32.to_dtype(crate::DType::F64);
        let (y32, d32, _) = engine_derivatives(Gelu, &x32);
        let (y64, d64, _) = engine_derivatives(Gelu, &x64);
        let ulps = |got: f64, want: f64| {
            let w = want as f32;
            let ulp = if w.abs() >= f32::MIN_POSITIVE {
                f64::from(f32::from_bits(w.abs().to_bits() + 1) - w.abs())
            } else {
                2f64.powi(-149)
            };
            (got - want).abs() / ulp
        };
        for (name, a, b) in [("value", y32, y64), ("slope", d32, d64)] {
            for ((x, got), want) in xs.iter().zip(a.to_f64_vec()).zip(b.to_f64_vec()) {
                let e = ulps(got, want);
                assert!(e <= 1.0, "{name} at {x}: {got} vs {want} ({e} ulps)");
            }
        }
    }

    /// At infinity, where the formulas meet `inf * 0`, the limits: `f = inf, -0`,
    /// `f' = 1, 0`, `f'' = 0`, in f64 (scalar) and f32 (vectorised).
    #[test]
    fn gelu_takes_its_limits_at_infinity() {
        let x = t64(&[f64::INFINITY, f64::NEG_INFINITY], &[2]);
        for dtype in [crate::DType::F64, crate::DType::F32] {
            let (y, d1, d2) = engine_derivatives(Gelu, &x.to_dtype(dtype));
            let y = y.to_f64_vec();
            assert_eq!(y[0], f64::INFINITY, "{dtype:?}");
            assert!(
                y[1] == 0.0 && y[1].is_sign_negative(),
                "{dtype:?}: {}",
                y[1]
            );
            assert_eq!(d1.to_f64_vec(), vec![1.0, 0.0], "{dtype:?}");
            assert_eq!(d2.to_f64_vec(), vec![0.0, 0.0], "{dtype:?}");
        }
    }
}
