//! `powf`: `z = x^p` for a constant exponent `p`; `dz/dx = p x^(p-1)`.
//! PyTorch: `torch.pow(x, p)` with a Python number `p`.
//!
//! At `x = 0` the derivative is `p * 0^(p-1)`: 0 for `p > 1`, `p` for `p = 1`, and
//! infinite for `p < 1`, as in PyTorch. Negative `x` with a non-integer `p` gives NaN.

use smallvec::smallvec;

use crate::tensor::kernel::{self, BinaryFn, UnaryFn};
use crate::{BackwardCtx, Element, InputGrads, Op, Result, Tensor, Var};

/// The `powf` op.
#[derive(Clone, Copy, Debug)]
pub struct Powf(pub f64);

/// What to do with the kernel of `x^p` once [`with_power`] has chosen it.
trait WithPower {
    type Out;
    fn run<K: UnaryFn + Send + Sync>(self, power: K) -> Self::Out;
}

/// Runs `w` with the kernel of `x^p`, chosen once per tensor: the loops over elements
/// then see straight-line code, which they vectorise. (Chosen per element, with
/// `powi`'s library call for the other integers, `powf(3)` took twice PyTorch's time.)
/// Integer powers multiply, which rounds better than `exp(p ln x)`.
fn with_power<W: WithPower>(p: f64, w: W) -> W::Out {
    if p == 2.0 {
        w.run(Square)
    } else if p == 1.0 {
        w.run(Identity)
    } else if p == 0.0 {
        w.run(One)
    } else if p == -1.0 {
        w.run(Reciprocal)
    } else if p == 0.5 {
        w.run(Sqrt)
    } else if p == 3.0 {
        w.run(Cube)
    } else if p.fract() == 0.0 && p.abs() <= IntegerPower::LARGEST {
        w.run(IntegerPower::new(p as i32))
    } else {
        w.run(RealPower(p))
    }
}

#[derive(Clone, Copy)]
struct Square;
impl UnaryFn for Square {
    #[inline(always)]
    fn eval<T: Element>(self, x: T) -> T {
        x * x
    }
}

#[derive(Clone, Copy)]
struct Identity;
impl UnaryFn for Identity {
    #[inline(always)]
    fn eval<T: Element>(self, x: T) -> T {
        x
    }
}

#[derive(Clone, Copy)]
struct One;
impl UnaryFn for One {
    #[inline(always)]
    fn eval<T: Element>(self, _x: T) -> T {
        T::one()
    }
}

#[derive(Clone, Copy)]
struct Reciprocal;
impl UnaryFn for Reciprocal {
    #[inline(always)]
    fn eval<T: Element>(self, x: T) -> T {
        T::one() / x
    }
}

#[derive(Clone, Copy)]
struct Sqrt;
impl UnaryFn for Sqrt {
    #[inline(always)]
    fn eval<T: Element>(self, x: T) -> T {
        x.sqrt()
    }
}

/// `x^3` as `x (x x)`: the bits of [`IntegerPower`] (and of `powi(3)`) in two
/// multiplications instead of fourteen.
#[derive(Clone, Copy)]
struct Cube;
impl UnaryFn for Cube {
    #[inline(always)]
    fn eval<T: Element>(self, x: T) -> T {
        x * (x * x)
    }
}

/// `x^n` for an integer `|n| <= 64` by binary powering, the algorithm of `powi`
/// (compiler-builtins' `__powisf2` and `__powidf2`, so the same bits), but branch-free:
/// every one of the seven bits of `|n|` multiplies the result by `x^(2^bit)` or by 1
/// (exact), so the loop over elements vectorises.
#[derive(Clone, Copy)]
struct IntegerPower {
    /// `|n|`.
    magnitude: u32,
    negative: bool,
}

impl IntegerPower {
    /// The largest `|n|` taken by multiplication; larger ones use `powf`.
    const LARGEST: f64 = 64.0;
    const BITS: u32 = 7;

    fn new(n: i32) -> IntegerPower {
        IntegerPower {
            magnitude: n.unsigned_abs(),
            negative: n < 0,
        }
    }
}

impl UnaryFn for IntegerPower {
    #[inline(always)]
    fn eval<T: Element>(self, x: T) -> T {
        let mut power = x;
        let mut product = T::one();
        for bit in 0..Self::BITS {
            let factor = if (self.magnitude >> bit) & 1 == 1 {
                power
            } else {
                T::one()
            };
            product *= factor;
            power = power * power;
        }
        if self.negative {
            T::one() / product
        } else {
            product
        }
    }
}

/// `x^p` for any other `p`, by the platform's `pow`.
#[derive(Clone, Copy)]
struct RealPower(f64);
impl UnaryFn for RealPower {
    const CALLS: bool = true;

    #[inline(always)]
    fn eval<T: Element>(self, x: T) -> T {
        x.powf(T::of(self.0))
    }
}

/// `g (x^(p-1) p)`: the gradient's three steps, rounded as the composition rounds them.
#[derive(Clone, Copy)]
struct PowerGradient<K> {
    power_less_one: K,
    p: f64,
}

impl<K: UnaryFn + Send + Sync> BinaryFn for PowerGradient<K> {
    const CALLS: bool = K::CALLS;

    #[inline(always)]
    fn eval<T: Element>(self, g: T, x: T) -> T {
        g * (self.power_less_one.eval(x) * T::of(self.p))
    }
}

struct Forward<'a>(&'a Tensor);
impl WithPower for Forward<'_> {
    type Out = Tensor;
    fn run<K: UnaryFn + Send + Sync>(self, power: K) -> Tensor {
        kernel::map(self.0, power)
    }
}

struct Gradient<'a> {
    g: &'a Tensor,
    x: &'a Tensor,
    p: f64,
}
impl WithPower for Gradient<'_> {
    type Out = Result<Tensor>;
    fn run<K: UnaryFn + Send + Sync>(self, power_less_one: K) -> Result<Tensor> {
        let k = PowerGradient {
            power_less_one,
            p: self.p,
        };
        kernel::zip("powf", self.g, self.x, k)
    }
}

impl Op for Powf {
    fn name(&self) -> &'static str {
        "powf"
    }

    fn describe(&self) -> String {
        format!("powf({})", self.0)
    }

    fn forward(&mut self, inputs: &[&Tensor]) -> Result<Tensor> {
        Ok(inputs[0].powf(self.0))
    }

    fn backward(&self, ctx: &BackwardCtx<'_>, grad: &Var) -> Result<InputGrads> {
        let p = self.0;
        let x = ctx.input(0);
        if !ctx.create_graph() && p != 0.0 && p != 1.0 {
            // One pass instead of three, with the composition's bits.
            let dx = with_power(
                p - 1.0,
                Gradient {
                    g: grad.value(),
                    x: x.value(),
                    p,
                },
            )?;
            return Ok(smallvec![Some(ctx.fused(dx))]);
        }
        let dx = if p == 0.0 {
            grad.mul_scalar(0.0)?
        } else if p == 1.0 {
            grad.clone()
        } else {
            grad.mul(&x.powf(p - 1.0)?.mul_scalar(p)?)?
        };
        Ok([Some(dx)].into_iter().collect())
    }
}

impl Tensor {
    /// `self^p` elementwise.
    pub fn powf(&self, p: f64) -> Tensor {
        with_power(p, Forward(self))
    }
}

impl Var {
    /// `self^p` elementwise; recorded.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) if `p` is not finite;
    /// the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn powf(&self, p: f64) -> Result<Var> {
        if !p.is_finite() {
            return Err(crate::Error::invalid(
                "powf",
                format!("the exponent must be finite (got {p})"),
            ));
        }
        Var::apply(Powf(p), &[self])
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::*;
    use crate::{DType, Element, Tape, Tensor};

    /// Inputs across both types' ranges: zeros, subnormals, values near 1, huge ones
    /// whose powers overflow, infinities and NaN, of both signs.
    fn awkward_inputs<T: Element>() -> Vec<T> {
        let mut v: Vec<T> = [
            0.0,
            1.0,
            1.0 + 1e-7,
            0.999_999,
            2.0,
            0.5,
            3.7,
            1e-3,
            1e3,
            1e-30,
            1e30,
            1e-300,
            1e300,
            f64::INFINITY,
            f64::NAN,
        ]
        .iter()
        .flat_map(|&x| [x, -x])
        .map(T::of)
        .collect();
        v.push(T::min_positive_value() / T::of(8.0));
        // A sweep with every mantissa pattern's low bits in play.
        v.extend((0..2000).map(|i| T::of((i as f64 - 1000.0) * 0.0137 + 0.001)));
        v
    }

    /// Every integer exponent's kernel gives (compared widened to f64, which is exact) the bits of `powi`, the per-element call
    /// the kernels replace, in both types.
    fn integer_powers_are_powi_bit_for_bit<T: Element>() {
        let x = awkward_inputs::<T>();
        let t = Tensor::from_vec(x.clone(), [x.len()]).unwrap();
        for n in -64..=64 {
            let got = t.powf(f64::from(n)).to_vec::<T>().unwrap();
            for (xi, gi) in x.iter().zip(&got) {
                let want = xi.powi(n);
                assert!(
                    want.f64().to_bits() == gi.f64().to_bits() || (want.is_nan() && gi.is_nan()),
                    "{xi:?}^{n}: {gi:?}, powi gives {want:?}"
                );
            }
        }
    }

    #[test]
    fn integer_powers_are_powi_bit_for_bit_in_f32_and_f64() {
        integer_powers_are_powi_bit_for_bit::<f32>();
        integer_powers_are_powi_bit_for_bit::<f64>();
    }

    /// The one-pass gradient (nothing recorded) has the bits of the recorded rule's
    /// composition, `g * (x^(p-1) * p)`.
    #[test]
    fn the_fused_gradient_is_the_composition_bit_for_bit() {
        for dtype in [DType::F32, DType::F64] {
            let x = randn(&[7, 33], 5).mul_scalar(2.0).to_dtype(dtype);
            let g = randn(&[7, 33], 6).to_dtype(dtype);
            for p in [2.0, 3.0, 4.0, 7.0, -2.0, -3.0, 0.5, -1.0, 1.7, -2.5, 65.0] {
                let tape = Tape::new();
                let xv = tape.var(x.clone());
                let loss = xv
                    .powf(p)
                    .unwrap()
                    .mul(&tape.constant(g.clone()))
                    .unwrap()
                    .sum_all()
                    .unwrap();
                let fused = tape.grad(&loss, &[&xv], false).unwrap()[0].value().clone();
                let composed = g.mul(&x.powf(p - 1.0).mul_scalar(p)).unwrap();
                assert_eq!(fused.dtype(), dtype);
                let (a, b) = (
                    fused.to_vec::<f64>().unwrap(),
                    composed.to_vec::<f64>().unwrap(),
                );
                for (i, (u, v)) in a.iter().zip(&b).enumerate() {
                    assert!(
                        u.to_bits() == v.to_bits() || (u.is_nan() && v.is_nan()),
                        "{dtype:?} p = {p}, element {i}: {u} against {v}"
                    );
                }
            }
        }
    }

    #[test]
    fn powf_gradchecks_for_several_exponents() {
        for p in [2.0, 3.0, 0.5, -1.0, 1.7, -2.5, 1.0, 0.0] {
            let x = randn(&[2, 3], 4).abs().add_scalar(0.3);
            check_op(move |v| v[0].powf(p), &[x]);
        }
    }

    #[test]
    fn powf_rejects_a_non_finite_exponent() {
        let tape = crate::Tape::new();
        let x = tape.var(t64(&[1.0], &[1]));
        let e = x.powf(f64::NAN).unwrap_err().to_string();
        assert_eq!(e, "powf: the exponent must be finite (got NaN)");
    }
}
