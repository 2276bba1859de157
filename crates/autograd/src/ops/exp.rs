//! `exp`: `z = e^x`; `dz/dx = e^x = z` (the rule reuses the saved output).
//! PyTorch: `torch.exp`.
//!
//! f32 tensors take the vectorised exponential of the activations' lanes
//! ([`lanes::exp`]: f64 arithmetic accurate to about `2e-10`, so the f32 result is
//! within half an ulp plus `0.002` ulp), on the crew's threads for large tensors; f64
//! tensors the C library's `exp`, element by element.

use super::activation::lanes;
use crate::tensor::kernel::{self, UnaryFn};
use crate::tensor::{Storage, simd};
use crate::{BackwardCtx, Element, InputGrads, Op, Result, Tensor, Var};

/// The `exp` op.
#[derive(Clone, Copy, Debug)]
pub struct Exp;

#[derive(Clone, Copy)]
struct ExpFn;
impl UnaryFn for ExpFn {
    const CALLS: bool = true;

    #[inline(always)]
    fn eval<T: Element>(self, x: T) -> T {
        x.exp()
    }
}

/// The f32 path: `e^x` in f64 lanes, rounded once.
#[derive(Clone, Copy)]
struct ExpLanes;
impl simd::Unary for ExpLanes {
    #[inline(always)]
    fn eval(self, x: f32) -> f32 {
        lanes::exp(f64::from(x)) as f32
    }
}

/// `e^(x - shift)` for f32, as [`ExpLanes`] gives `e^y` for the f32 `y = x - shift`.
#[derive(Clone, Copy)]
struct ShiftedExpLanes {
    shift: f32,
}
impl simd::Binary for ShiftedExpLanes {
    #[inline(always)]
    fn eval(self, _old: f32, x: f32) -> f32 {
        simd::Unary::eval(ExpLanes, x - self.shift)
    }
}

/// An element type whose rows a softmax exponentiates in place, with the bits of
/// [`Tensor::exp`] of the shifted tensor (so a fused row and the composition of
/// tensor ops agree to the bit).
pub(crate) trait ShiftedExp: Element {
    /// `dst[i] = e^(x[i] - shift)`, each `x[i] - shift` rounded first, on the calling
    /// thread.
    fn exp_shifted(dst: &mut [Self], x: &[Self], shift: Self);
}

impl ShiftedExp for f32 {
    fn exp_shifted(dst: &mut [f32], x: &[f32], shift: f32) {
        simd::zip_assign_on_caller(dst, x, ShiftedExpLanes { shift });
    }
}

impl ShiftedExp for f64 {
    fn exp_shifted(dst: &mut [f64], x: &[f64], shift: f64) {
        for (d, &v) in dst.iter_mut().zip(x) {
            *d = ExpFn.eval(v - shift);
        }
    }
}

impl Op for Exp {
    fn name(&self) -> &'static str {
        "exp"
    }

    fn forward(&mut self, inputs: &[&Tensor]) -> Result<Tensor> {
        Ok(inputs[0].exp())
    }

    fn backward(&self, ctx: &BackwardCtx<'_>, grad: &Var) -> Result<InputGrads> {
        Ok([Some(grad.mul(ctx.output())?)].into_iter().collect())
    }
}

impl Tensor {
    /// `e^self` elementwise.
    pub fn exp(&self) -> Tensor {
        match self.storage_ref() {
            Storage::F32(v) => Tensor::from_kernel(simd::map(v, ExpLanes), self.shape().clone()),
            Storage::F64(_) => kernel::map(self, ExpFn),
        }
    }
}

impl Var {
    /// `e^self` elementwise; recorded.
    ///
    /// # Errors
    /// The recording errors of [`Var::apply`].
    #[track_caller]
    pub fn exp(&self) -> Result<Var> {
        Var::apply(Exp, &[self])
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::*;

    /// The vectorised f32 exponential against f64's, on a sweep through the whole f32
    /// range (subnormal results, overflow, infinities and NaN included), short and long
    /// enough to run on the crew's threads: within half an ulp plus a hundredth.
    #[test]
    fn f32_exp_is_rounded_from_an_accurate_value() {
        let mut xs: Vec<f32> = (0..200_001)
            .map(|i| -110.0 + 200.0 * i as f32 / 200_000.0)
            .collect();
        xs.extend([
            0.0,
            -0.0,
            88.72,
            88.73,
            -103.9,
            -104.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ]);
        xs.extend([f32::NAN, 1e-30, -1e-30, f32::MAX, f32::MIN]);
        for len in [17, xs.len()] {
            let x = crate::Tensor::from_slice(&xs[..len], [len]).unwrap();
            let got = x.exp().to_vec::<f32>().unwrap();
            for (&x, &y) in xs.iter().zip(&got) {
                let want = f64::from(x).exp();
                if want.is_nan() {
                    assert!(y.is_nan(), "exp({x}) = {y}");
                    continue;
                }
                let w = want as f32;
                if w.is_infinite() || w == 0.0 {
                    assert_eq!(y, w, "exp({x})");
                    continue;
                }
                let ulp = if w.abs() < f32::MIN_POSITIVE {
                    2f64.powi(-149)
                } else {
                    f64::from(f32::from_bits(w.to_bits() + 1) - w)
                };
                let err = (f64::from(y) - want).abs() / ulp;
                assert!(err <= 0.51, "exp({x}) = {y}, want {want} ({err} ulps)");
            }
        }
    }

    #[test]
    fn exp_gradchecks() {
        for s in unary_shapes() {
            check_op(|v| v[0].exp(), &[randn(&s, 5)]);
        }
    }
}
