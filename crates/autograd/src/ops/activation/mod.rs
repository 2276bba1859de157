//! Activation functions: each one node on the tape with its own gradient rule.
//!
//! A pointwise activation is a [`Pointwise`] kernel: the function `f` and its first two
//! derivatives `f'` and `f''` as scalar formulas (written for numerical accuracy, not
//! brevity), plus the same function composed from primitive ops. Three generic ops
//! carry any kernel:
//!
//! - [`ActFn`]: `y = f(x)`. Its rule is `g * f'(x)`, fused into one pass when no graph
//!   of the gradient is recorded, and `g * [f'](x)` (a recorded [`ActDeriv`] node)
//!   when it is.
//! - [`ActDeriv`] of order 1: `f'(x)` as a node, whose rule is `g * f''(x)` (fused), or
//!   `g * [f''](x)` when recording.
//! - [`ActDeriv`] of order 2: `f''(x)` as a node. Its rule, the third derivative, is
//!   obtained by differentiating the composite formula three times: exact, but computed
//!   from primitives, so less robust at extreme inputs than the first two.
//!
//! So values, gradients and second derivatives (Hessian-vector products, grad of grad)
//! all come from the hand-checked kernels, and every higher order still works.
//!
//! At kinks the derivative is PyTorch's choice: `relu'(0) = 0`, `leaky_relu'(0) = slope`,
//! `relu6'` and `hardtanh'` are 0 at the corners, `elu'(0) = alpha`, and so on; each
//! file says which.
//!
//! Softmax, log-softmax (vector functions along an axis) and PReLU (a learned slope, a
//! second input) are ops of their own in this module.

pub mod celu;
pub mod elu;
pub mod gelu;
pub mod gelu_tanh;
pub mod hardsigmoid;
pub mod hardswish;
pub mod hardtanh;
pub mod identity;
pub mod lanes;
pub mod leaky_relu;
pub mod log_sigmoid;
pub mod log_softmax;
pub mod mish;
pub mod prelu;
pub mod relu;
pub mod relu6;
pub mod selu;
pub mod sigmoid;
pub mod silu;
pub mod softmax;
pub mod softplus;
pub mod softsign;
pub mod swish;
pub mod tanh;

#[cfg(test)]
pub(crate) mod checks;

mod rows;

use std::cell::Cell;

use crate::tensor::kernel::{self, BinaryFn, TernaryFn, UnaryFn};
use crate::tensor::reduce::fold_in_lanes;
use crate::tensor::{Storage, simd};
use crate::{BackwardCtx, Element, InputGrads, Op, Result, Tape, Tensor, Var};

pub use lanes::Lanes;

/// A pointwise activation: value and first two derivatives as scalar kernels, and the
/// same function composed from primitive ops.
///
/// Implement it to add an activation of your own; [`ActFn`] makes it an op. The
/// kernels receive both `x` and `y = f(x)`, so each can use whichever is more accurate
/// or cheaper.
pub trait Pointwise: Copy + Send + Sync + 'static {
    /// Lower-case name (`"sigmoid"`).
    fn name(&self) -> &'static str;

    /// Name with parameters (`"leaky_relu(slope=0.1)"`), for graph exports.
    fn describe(&self) -> String {
        self.name().to_string()
    }

    /// Whether the scalar formulas ([`f`](Pointwise::f) and its derivatives) call a
    /// library function, as most do (`exp`). Those run in plain loops: in the AVX-512
    /// loops every call spills the vector registers (selu's gradient took 12.9 ns per
    /// element there against 8.8). The default is true; the piecewise-linear and
    /// rational ones set false, and run in the widest vectors. (The activations with
    /// [`lanes`](Pointwise::lanes) take those instead, whatever this says.)
    const CALLS: bool = true;

    /// `f(x)`.
    fn f<T: Element>(self, x: T) -> T;

    /// `f'(x)`, given `x` and `y = f(x)`.
    fn df<T: Element>(self, x: T, y: T) -> T;

    /// `f''(x)`, given `x` and `y = f(x)`.
    fn d2f<T: Element>(self, x: T, y: T) -> T;

    /// The same function composed from primitive Var ops: differentiated for third and
    /// higher derivatives, and used in tests to cross-check the kernels.
    ///
    /// # Errors
    /// The errors of the Var ops it uses.
    fn composite(self, x: &Var) -> Result<Var>;

    /// The vectorised f32 path of `f` and `f'`, if the kernel has one (see [`Lanes`]):
    /// f32 tensors then use it for the value, the derivative node and the fused
    /// gradient, and the scalar `f` and `df` for f64. The default has none.
    fn lanes(self) -> Option<impl Lanes> {
        None::<lanes::NoLanes>
    }

    /// The vectorised f64 path of `f` and `f'`, if the kernel has one: a [`Lanes`]
    /// whose results are accurate to a few f64 ulps (not the `1e-10` an f32 result
    /// needs). f64 tensors then use it for the value, the first-derivative node and the
    /// fused gradient instead of the scalar `f` and `df`, which call the C library
    /// element by element. The default has none.
    fn lanes_f64(self) -> Option<impl Lanes> {
        None::<lanes::NoLanes>
    }
}

/// The element types the lanes run on: f32, widened to f64 and the result rounded
/// back, and f64.
trait LaneFloat: Copy + Send + Sync {
    fn widen(self) -> f64;
    fn narrow(v: f64) -> Self;
}

impl LaneFloat for f32 {
    #[inline(always)]
    fn widen(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn narrow(v: f64) -> f32 {
        v as f32
    }
}

impl LaneFloat for f64 {
    #[inline(always)]
    fn widen(self) -> f64 {
        self
    }
    #[inline(always)]
    fn narrow(v: f64) -> f64 {
        v
    }
}

/// `f(x)` of a [`Lanes`] kernel (rounded to f32 on an f32 tensor).
#[derive(Clone, Copy)]
struct LaneValue<L>(L);
impl<L: Lanes, T: LaneFloat> simd::Unary<T> for LaneValue<L> {
    const STAGED: bool = L::STAGED;
    #[inline(always)]
    fn eval(self, x: T) -> T {
        T::narrow(self.0.value(x.widen()))
    }
    #[inline(always)]
    fn start(self, x: T) -> f64 {
        self.0.first_stage(x.widen())
    }
    #[inline(always)]
    fn finish(self, x: T, first: f64) -> T {
        T::narrow(self.0.value_and_slope_after(x.widen(), first).0)
    }
    #[inline(always)]
    fn refine(self, x: &[T], started: &mut [f64]) {
        lanes::refine_block(self.0, x, T::widen, started);
    }
}

/// `f'(x)` of a [`Lanes`] kernel (rounded to f32 on an f32 tensor).
#[derive(Clone, Copy)]
struct LaneSlope<L>(L);
impl<L: Lanes, T: LaneFloat> simd::Unary<T> for LaneSlope<L> {
    const STAGED: bool = L::STAGED;
    #[inline(always)]
    fn eval(self, x: T) -> T {
        T::narrow(self.0.slope(x.widen()))
    }
    #[inline(always)]
    fn start(self, x: T) -> f64 {
        self.0.first_stage(x.widen())
    }
    #[inline(always)]
    fn finish(self, x: T, first: f64) -> T {
        T::narrow(self.0.value_and_slope_after(x.widen(), first).1)
    }
    #[inline(always)]
    fn refine(self, x: &[T], started: &mut [f64]) {
        lanes::refine_block(self.0, x, T::widen, started);
    }
}

/// `f'(x)` of an f64 tensor by the kernel's vectorised f32 path, evaluated without the
/// rounding to f32 (see [`crate::Activation::derivative_estimate`]); `None` for a
/// kernel without one or a tensor of another dtype.
pub fn pointwise_slope_estimate<K: Pointwise>(x: &Tensor, k: K) -> Option<Tensor> {
    let lanes = k.lanes()?;
    let v = x.as_slice::<f64>().ok()?;
    Some(Tensor::from_kernel(
        simd::map_f64(v, LaneSlope(lanes)),
        x.shape().clone(),
    ))
}

/// `g f'(x)` of a [`Lanes`] kernel, the product taken in f64 (and rounded once to f32
/// on an f32 tensor).
#[derive(Clone, Copy)]
struct LaneGrad<L>(L);
impl<L: Lanes, T: LaneFloat> simd::Binary<T, T> for LaneGrad<L> {
    const STAGED: bool = L::STAGED;
    #[inline(always)]
    fn eval(self, g: T, x: T) -> T {
        T::narrow(g.widen() * self.0.slope(x.widen()))
    }
    #[inline(always)]
    fn start(self, _g: T, x: T) -> f64 {
        self.0.first_stage(x.widen())
    }
    #[inline(always)]
    fn finish(self, g: T, x: T, first: f64) -> T {
        T::narrow(g.widen() * self.0.value_and_slope_after(x.widen(), first).1)
    }
    #[inline(always)]
    fn refine(self, _g: &[T], x: &[T], started: &mut [f64]) {
        lanes::refine_block(self.0, x, T::widen, started);
    }
}

/// `f(x)` and `f'(x)` of a [`Lanes`] kernel from one evaluation, the value rounded to
/// f32 and the slope kept in f64.
#[derive(Clone, Copy)]
struct LaneValueAndSlope<L>(L);
impl<L: Lanes> simd::Pair for LaneValueAndSlope<L> {
    const STAGED: bool = L::STAGED;
    #[inline(always)]
    fn eval(self, x: f32) -> (f32, f64) {
        let (value, slope) = self.0.value_and_slope(x as f64);
        (value as f32, slope)
    }
    #[inline(always)]
    fn start(self, x: f32) -> f64 {
        self.0.first_stage(x as f64)
    }
    #[inline(always)]
    fn finish(self, x: f32, first: f64) -> (f32, f64) {
        let (value, slope) = self.0.value_and_slope_after(x as f64, first);
        (value as f32, slope)
    }
    #[inline(always)]
    fn refine(self, x: &[f32], started: &mut [f64]) {
        lanes::refine_block(self.0, x, f64::from, started);
    }
}

/// `g f'(x)` from a slope kept in f64, the product taken in f64 and rounded once (as
/// [`LaneGrad`] does with the slope it evaluates).
#[derive(Clone, Copy)]
struct TimesKeptSlope;
impl simd::Binary<f64> for TimesKeptSlope {
    #[inline(always)]
    fn eval(self, g: f32, slope: f64) -> f32 {
        (g as f64 * slope) as f32
    }
}

/// `g * f'(x)` in one pass (no recording): the fused gradient of [`ActFn`].
fn fused_grad<K: Pointwise>(k: K, g: &Tensor, x: &Tensor, y: &Tensor) -> Result<Tensor> {
    if let (Some(l), Ok(gs), Ok(xs)) = (k.lanes(), g.as_slice::<f32>(), x.as_slice::<f32>())
        && g.shape() == x.shape()
        && x.shape() == y.shape()
        && y.dtype() == x.dtype()
    {
        return Ok(Tensor::from_kernel(
            simd::zip(gs, xs, LaneGrad(l)),
            x.shape().clone(),
        ));
    }
    if let (Some(l), Ok(gs), Ok(xs)) = (k.lanes_f64(), g.as_slice::<f64>(), x.as_slice::<f64>())
        && g.shape() == x.shape()
        && x.shape() == y.shape()
        && y.dtype() == x.dtype()
    {
        return Ok(Tensor::from_kernel(
            simd::zip_f64(gs, xs, LaneGrad(l)),
            x.shape().clone(),
        ));
    }
    kernel::zip3(k.name(), g, x, y, GradFn(k, 1))
}

/// [`fused_grad`] written over `g`'s storage when nothing else holds it.
fn fused_grad_owned<K: Pointwise>(k: K, mut g: Tensor, x: &Tensor, y: &Tensor) -> Result<Tensor> {
    let same = g.shape() == x.shape()
        && x.shape() == y.shape()
        && g.dtype() == x.dtype()
        && y.dtype() == x.dtype();
    if !same || !g.is_unique() {
        return fused_grad(k, &g, x, y);
    }
    if let (Some(l), Ok(xs)) = (k.lanes(), x.as_slice::<f32>()) {
        simd::zip_assign(g.as_mut_slice::<f32>()?, xs, LaneGrad(l));
        return Ok(g);
    }
    if let (Some(l), Ok(xs)) = (k.lanes_f64(), x.as_slice::<f64>()) {
        simd::zip_assign_f64(g.as_mut_slice::<f64>()?, xs, LaneGrad(l));
        return Ok(g);
    }
    kernel::zip3_owned(k.name(), g, x, y, GradFn(k, 1))
}

/// `y = f(x)` for a [`Pointwise`] kernel.
///
/// Recorded on an f32 tensor whose kernel [keeps its slope](Lanes::keeps_slope), the
/// forward pass computes `f'(x)` with `f(x)` (one exponential for both) and keeps it in
/// f64 until the gradient rule uses it: the rule is then a product, `g f'(x)` taken in
/// f64 and rounded once, exactly what evaluating `f'(x)` again would give. The kept
/// slope is released by the first backward pass without `create_graph`; a later pass
/// (a retained graph) evaluates it again.
pub struct ActFn<K> {
    kernel: K,
    slope: Cell<Option<Tensor>>,
}

impl<K: Pointwise> ActFn<K> {
    /// The op of kernel `k`.
    pub fn new(k: K) -> ActFn<K> {
        ActFn {
            kernel: k,
            slope: Cell::new(None),
        }
    }
}

impl<K: Pointwise + std::fmt::Debug> std::fmt::Debug for ActFn<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ActFn").field(&self.kernel).finish()
    }
}

/// `f'(x)` (order 1) or `f''(x)` (order 2) of a [`Pointwise`] kernel, as a node: what
/// the graph of a gradient records. `y` is `f(x)`, saved by the forward.
#[derive(Clone, Debug)]
pub struct ActDeriv<K> {
    kernel: K,
    order: u8,
    y: Tensor,
}

#[derive(Clone, Copy)]
struct ValueFn<K>(K);
impl<K: Pointwise> UnaryFn for ValueFn<K> {
    const CALLS: bool = K::CALLS;
    #[inline(always)]
    fn eval<T: Element>(self, x: T) -> T {
        self.0.f(x)
    }
}

#[derive(Clone, Copy)]
struct DerivFn<K>(K, u8);
impl<K: Pointwise> BinaryFn for DerivFn<K> {
    const CALLS: bool = K::CALLS;
    #[inline(always)]
    fn eval<T: Element>(self, x: T, y: T) -> T {
        if self.1 == 1 {
            self.0.df(x, y)
        } else {
            self.0.d2f(x, y)
        }
    }
}

/// `g * f^(order)(x)` in one pass.
#[derive(Clone, Copy)]
struct GradFn<K>(K, u8);
impl<K: Pointwise> TernaryFn for GradFn<K> {
    const CALLS: bool = K::CALLS;
    #[inline(always)]
    fn eval<T: Element>(self, g: T, x: T, y: T) -> T {
        if self.1 == 1 {
            g * self.0.df(x, y)
        } else {
            g * self.0.d2f(x, y)
        }
    }
}

/// `f(x)` elementwise for a kernel (no recording).
pub fn pointwise<K: Pointwise>(x: &Tensor, k: K) -> Tensor {
    if let (Some(l), Ok(v)) = (k.lanes(), x.as_slice::<f32>()) {
        return Tensor::from_kernel(simd::map(v, LaneValue(l)), x.shape().clone());
    }
    if let (Some(l), Ok(v)) = (k.lanes_f64(), x.as_slice::<f64>()) {
        return Tensor::from_kernel(simd::map_f64(v, LaneValue(l)), x.shape().clone());
    }
    kernel::map(x, ValueFn(k))
}

/// `f'(x)` (order 1) or `f''(x)` (order 2) elementwise, given `y = f(x)` (no recording).
///
/// # Errors
/// [`Error::Shape`](crate::Error::Shape) if `x` and `y` differ in shape.
pub fn pointwise_derivative<K: Pointwise>(
    x: &Tensor,
    y: &Tensor,
    k: K,
    order: u8,
) -> Result<Tensor> {
    if x.shape() != y.shape() {
        return Err(crate::Error::shape(
            "activation_derivative",
            &[x.shape(), y.shape()],
            "x and f(x) must have one shape",
        ));
    }
    if let (1, Some(l), Ok(v)) = (order, k.lanes(), x.as_slice::<f32>())
        && y.dtype() == x.dtype()
    {
        return Ok(Tensor::from_kernel(
            simd::map(v, LaneSlope(l)),
            x.shape().clone(),
        ));
    }
    if let (1, Some(l), Ok(v)) = (order, k.lanes_f64(), x.as_slice::<f64>())
        && y.dtype() == x.dtype()
    {
        return Ok(Tensor::from_kernel(
            simd::map_f64(v, LaneSlope(l)),
            x.shape().clone(),
        ));
    }
    kernel::zip("activation_derivative", x, y, DerivFn(k, order))
}

impl<K: Pointwise> ActFn<K> {
    /// `g f'(x)` from the kept slope, which this takes (so it is used once); `Err(g)`
    /// when there is none or `g` does not match it.
    fn grad_from_kept_slope(&self, mut g: Tensor) -> std::result::Result<Tensor, Tensor> {
        let Some(slope) = self.slope.take() else {
            return Err(g);
        };
        let Ok(s) = slope.as_slice::<f64>() else {
            return Err(g);
        };
        if g.shape() != slope.shape() {
            return Err(g);
        }
        if g.is_unique()
            && let Ok(gs) = g.as_mut_slice::<f32>()
        {
            simd::zip_assign(gs, s, TimesKeptSlope);
            return Ok(g);
        }
        match g.as_slice::<f32>() {
            Ok(gs) => Ok(Tensor::from_kernel(
                simd::zip(gs, s, TimesKeptSlope),
                g.shape().clone(),
            )),
            Err(_) => Err(g),
        }
    }
}

impl<K: Pointwise> Op for ActFn<K> {
    fn name(&self) -> &'static str {
        self.kernel.name()
    }

    fn describe(&self) -> String {
        self.kernel.describe()
    }

    fn forward(&mut self, inputs: &[&Tensor]) -> Result<Tensor> {
        Ok(pointwise(inputs[0], self.kernel))
    }

    fn forward_recorded(&mut self, inputs: &[&Tensor]) -> Result<Tensor> {
        let x = inputs[0];
        if let (Some(l), Ok(v)) = (self.kernel.lanes(), x.as_slice::<f32>())
            && l.keeps_slope(v.len())
        {
            let (y, slope) = simd::map_pair(v, LaneValueAndSlope(l));
            self.slope
                .set(Some(Tensor::from_kernel(slope, x.shape().clone())));
            return Ok(Tensor::from_kernel(y, x.shape().clone()));
        }
        self.forward(inputs)
    }

    fn backward(&self, ctx: &BackwardCtx<'_>, grad: &Var) -> Result<InputGrads> {
        let (x, y) = (ctx.input(0), ctx.output());
        let dx = if ctx.create_graph() {
            let d1 = Var::apply(
                ActDeriv {
                    kernel: self.kernel,
                    order: 1,
                    y: y.value().clone(),
                },
                &[x],
            )?;
            grad.mul(&d1)?
        } else {
            ctx.fused(fused_grad(self.kernel, grad.value(), x.value(), y.value())?)
        };
        Ok([Some(dx)].into_iter().collect())
    }

    fn backward_owned(&self, ctx: &BackwardCtx<'_>, grad: Var) -> Result<InputGrads> {
        if ctx.create_graph() {
            return self.backward(ctx, &grad);
        }
        let (x, y) = (ctx.input(0), ctx.output());
        let dx = match self.grad_from_kept_slope(grad.into_value()) {
            Ok(dx) => dx,
            Err(g) => fused_grad_owned(self.kernel, g, x.value(), y.value())?,
        };
        Ok([Some(ctx.fused(dx))].into_iter().collect())
    }
}

impl<K: Pointwise> Op for ActDeriv<K> {
    fn name(&self) -> &'static str {
        if self.order == 1 {
            "activation_derivative"
        } else {
            "activation_second_derivative"
        }
    }

    fn describe(&self) -> String {
        format!(
            "{}{}",
            self.kernel.describe(),
            if self.order == 1 { "'" } else { "''" }
        )
    }

    fn forward(&mut self, inputs: &[&Tensor]) -> Result<Tensor> {
        pointwise_derivative(inputs[0], &self.y, self.kernel, self.order)
    }

    fn backward(&self, ctx: &BackwardCtx<'_>, grad: &Var) -> Result<InputGrads> {
        let x = ctx.input(0);
        let dx = match (self.order, ctx.create_graph()) {
            (1, false) => ctx.fused(kernel::zip3(
                self.kernel.name(),
                grad.value(),
                x.value(),
                &self.y,
                GradFn(self.kernel, 2),
            )?),
            (1, true) => {
                let d2 = Var::apply(
                    ActDeriv {
                        kernel: self.kernel,
                        order: 2,
                        y: self.y.clone(),
                    },
                    &[x],
                )?;
                grad.mul(&d2)?
            }
            _ => composite_third_derivative(self.kernel, x, grad, ctx.create_graph())?,
        };
        Ok([Some(dx)].into_iter().collect())
    }
}

/// `g * f'''(x)`, by differentiating the composite formula three times.
fn composite_third_derivative<K: Pointwise>(
    k: K,
    x: &Var,
    g: &Var,
    create_graph: bool,
) -> Result<Var> {
    // When recording, differentiate on the caller's tape so the result stays connected
    // to x; otherwise on a scratch tape.
    let (tape, xv) = match x.tape() {
        Some(t) if create_graph && x.requires_grad() => (t.clone(), x.clone()),
        _ => {
            let t = Tape::new();
            let v = t.var(x.value().clone());
            (t, v)
        }
    };
    let ones = Var::untracked(x.value().ones_like());
    let y = k.composite(&xv)?;
    let d1 = first(tape.vjp(&y, &ones, &[&xv], true)?);
    let d2 = first(tape.vjp(&d1, &ones, &[&xv], true)?);
    let g = if create_graph { g.clone() } else { g.detach() };
    Ok(first(tape.vjp(&d2, &g, &[&xv], create_graph)?))
}

fn first(mut v: Vec<Var>) -> Var {
    // vjp returns exactly one gradient per input, and each call above passes one input.
    v.swap_remove(0)
}

/// Applies a pointwise kernel to a Var: one recorded node.
///
/// # Errors
/// The recording errors of [`Var::apply`].
#[track_caller]
pub fn apply<K: Pointwise>(x: &Var, k: K) -> Result<Var> {
    Var::apply(ActFn::new(k), &[x])
}

/// `1` where `x > 0`, else `0`, as a constant of `x`'s dtype: the mask that the
/// composite forms of piecewise activations use.
pub(crate) fn positive_mask(x: &Var) -> Var {
    #[derive(Clone, Copy)]
    struct Positive;
    impl UnaryFn for Positive {
        #[inline(always)]
        fn eval<T: Element>(self, x: T) -> T {
            if x > T::zero() { T::one() } else { T::zero() }
        }
    }
    Var::untracked(kernel::map(x.value(), Positive))
}

/// `1` where `keep(x)` holds for the element (read as `f64`), else `0`: a constant
/// mask for the composite forms of piecewise activations.
pub(crate) fn indicator(x: &Var, keep: impl Fn(f64) -> bool) -> Result<Var> {
    let values: Vec<f64> = x
        .value()
        .to_f64_vec()
        .into_iter()
        .map(|t| if keep(t) { 1.0 } else { 0.0 })
        .collect();
    let mask = Tensor::from_vec(values, x.shape().clone())?.to_dtype(x.dtype());
    Ok(Var::untracked(mask))
}

/// `|x|` as `x * s` with the constant `s = 1` for `x >= 0` and `-1` below: unlike
/// `abs`, whose subgradient at 0 is 0, its derivative is `s`, so smooth functions of
/// `|x|` (such as `e^-|x|` inside the logistic) keep their true derivative at 0.
pub(crate) fn magnitude(x: &Var) -> Result<Var> {
    let s = indicator(x, |t| t >= 0.0)?
        .value()
        .mul_scalar(2.0)
        .add_scalar(-1.0);
    x.mul(&Var::untracked(s))
}

/// `-1`, `0` or `1` by the sign of `x` (0 at 0).
#[inline(always)]
pub(crate) fn sign<T: Element>(x: T) -> T {
    if x > T::zero() {
        T::one()
    } else if x < T::zero() {
        -T::one()
    } else {
        T::zero()
    }
}

/// `a` where `mask` is 1 and `b` where it is 0, as `a * mask + b * (1 - mask)`; both
/// branches must be finite everywhere.
pub(crate) fn blend(mask: &Var, a: &Var, b: &Var) -> Result<Var> {
    let inverse = Var::untracked(mask.value().neg().add_scalar(1.0));
    a.mul(mask)?.add(&b.mul(&inverse)?)
}

/// The logistic sigmoid `1 / (1 + e^-x)` in a form that neither overflows nor loses
/// precision: with `e = e^-|x|`, `1 / (1 + e)` for `x >= 0` and `e / (1 + e)` below.
#[inline(always)]
pub(crate) fn logistic<T: Element>(x: T) -> T {
    let e = (-x.abs()).exp();
    let r = T::one() / (T::one() + e);
    if x >= T::zero() { r } else { e * r }
}

/// `sigma'(x) = sigma(x) sigma(-x) = e / (1 + e)^2` with `e = e^-|x|`: accurate to a
/// few ulps for every `x` (the textbook `y (1 - y)` loses everything once `y` rounds
/// to 1).
#[inline(always)]
pub(crate) fn logistic_slope<T: Element>(x: T) -> T {
    let e = (-x.abs()).exp();
    let r = T::one() / (T::one() + e);
    e * r * r
}

/// `sigma''(x) = sigma'(x) (1 - 2 sigma(x))`, with `1 - 2 sigma(x) = -tanh(x / 2)`
/// computed as `sign(x) expm1(-|x|) / (1 + e)`: no cancellation near 0.
#[inline(always)]
pub(crate) fn logistic_curvature<T: Element>(x: T) -> T {
    let e = (-x.abs()).exp();
    let em1 = (-x.abs()).exp_m1();
    let r = T::one() / (T::one() + e);
    sign(x) * e * em1 * r * r * r
}

/// `a * b` as `p + err` exactly: the rounded product and its rounding error, by a fused
/// multiply-add. Where the product overflows the error is taken as 0.
#[inline(always)]
pub(crate) fn two_prod<T: Element>(a: T, b: T) -> (T, T) {
    let p = a * b;
    let err = a.mul_add(b, -p);
    (p, if err.is_finite() { err } else { T::zero() })
}

/// `a + b` as `s + err` exactly (Knuth's two-sum). Where the sum overflows the error is
/// taken as 0.
#[inline(always)]
pub(crate) fn two_sum<T: Element>(a: T, b: T) -> (T, T) {
    let s = a + b;
    let bb = s - a;
    let err = (a - (s - bb)) + (b - bb);
    (s, if err.is_finite() { err } else { T::zero() })
}

/// A constant whose exact value is `c + c_lo` (`c` the nearest f64, `c_lo` the rest) as
/// `hi + lo` in `T`: for f32, `lo` carries the bits that rounding `c` to f32 drops.
#[inline(always)]
pub(crate) fn split_constant<T: Element>(c: f64, c_lo: f64) -> (T, T) {
    let hi = T::of(c);
    // Exact in f64: hi is within half an f32 ulp of c (Sterbenz).
    (hi, T::of((c - hi.f64()) + c_lo))
}

/// Above this `|z|`, `e^-|z| < 1.7e-28` is below half an ulp of 1 in both f32 and f64, so
/// `1 + e` and `1 - e` round to 1 and the logistic's tails are exactly `e` times a
/// polynomial.
const LOGISTIC_TAIL: f64 = 64.0;

/// `a sigma(z) + b sigma'(z) + c sigma''(z)` at `z = hi + lo`, where `lo` is a correction
/// below the last bit of `hi` (the rounding error of the product or polynomial that gave
/// `z`), accurate to a few ulps for every `z`.
///
/// Why the correction matters: `sigma(z)` ~ `e^z` in the left tail, so an absolute error
/// `d` in `z` is a relative error `d` in the result, and rounding `z = beta * x` alone
/// costs `|z| / 2` ulps (26 ulps of f32 at `z = -52`). With `m = |z| = m_hi + m_lo`,
/// `e^-m = e^-m_hi (1 - m_lo)` to first order (`m_lo` is below `1e-5`, so the second order
/// is below f32's and f64's rounding wherever `e^-m` is not 0).
///
/// In the tails (`|z| > 64`) the terms are `e = e^-|z|` times the coefficients, and `e`
/// may be subnormal; multiplying a rounded subnormal by a large coefficient (`x` in
/// `x sigma(x)`) would magnify its rounding error, so `e` is applied as `e^(-|z|/2)`
/// twice, the second time last: one rounding into the subnormal range.
#[inline(always)]
pub(crate) fn logistic_combination<T: Element>(hi: T, lo: T, a: T, b: T, c: T) -> T {
    let negative = hi < T::zero();
    let (m, m_lo) = if negative { (-hi, -lo) } else { (hi, lo) };
    if m > T::of(LOGISTIC_TAIL) {
        // sigma, sigma', sigma'' are e, e, e (z < 0) or 1 - e, e, -e (z > 0).
        let h = (-m * T::of(0.5)).exp();
        if h == T::zero() {
            // e^-|z| underflows (or z is infinite): the limits 0 and a.
            return if negative { T::zero() } else { a };
        }
        let times_e = |k: T| {
            let kh = k * h;
            (kh - kh * m_lo) * h
        };
        return if negative {
            times_e(a + b + c)
        } else {
            a + times_e(b - c - a)
        };
    }
    let e0 = (-m).exp();
    let e = e0 - e0 * m_lo;
    let r = T::one() / (T::one() + e);
    let value = if negative { e * r } else { r };
    let slope = e * r * r;
    let mut out = a * value + b * slope;
    if c != T::zero() {
        // sigma'' = sigma' (1 - 2 sigma) = -sign(z) sigma' (1 - e) / (1 + e), with
        // e - 1 = expm1(-m): no cancellation near z = 0.
        let em1 = (-m).exp_m1() - e0 * m_lo;
        let curvature = slope * em1 * r;
        out += c * if negative { -curvature } else { curvature };
    }
    out
}

/// `2 sigma'(z) + z sigma''(z)` at `z = hi + lo` (swish's curvature over `beta`, and
/// silu's), as `sigma'(z) ((2 - |z|) + e (2 + |z|)) / (1 + e)` with `e = e^-|z|`.
///
/// It has roots at `|z| = 2.3994`, where the textbook sum of the two terms cancels
/// tenfold (19 ulps of f32 at `z = -2.55`); here `2 - |z|` is exact near the root
/// (Sterbenz) and the other term is a third of the size. Tails as in
/// [`logistic_combination`].
#[inline(always)]
pub(crate) fn logistic_swish_curvature<T: Element>(hi: T, lo: T) -> T {
    let (m, m_lo) = if hi < T::zero() { (-hi, -lo) } else { (hi, lo) };
    let two = T::of(2.0);
    if m > T::of(LOGISTIC_TAIL) {
        // e (2 - |z|), with e applied in two halves (see logistic_combination).
        let h = (-m * T::of(0.5)).exp();
        let kh = ((two - m) - m_lo) * h;
        return (kh - kh * m_lo) * h;
    }
    let e0 = (-m).exp();
    let e = e0 - e0 * m_lo;
    let r = T::one() / (T::one() + e);
    e * r * r * r * (((two - m) - m_lo) + e * (two + m))
}

/// A one-hot mask of `y`'s largest element along `axis` (the first, if several tie), in
/// `y`'s dtype: softmax's and log-softmax's gradients use it to avoid cancellation where
/// the distribution is nearly one-hot.
pub(crate) fn top_mask(y: &Tensor, axis: usize) -> Result<Tensor> {
    let dims = y.dims();
    let len = dims.get(axis).copied().unwrap_or(1);
    let inner: usize = dims.iter().skip(axis + 1).product();
    let shape = y.shape().clone();
    Ok(match y.storage_ref() {
        Storage::F32(v) => Tensor::from_kernel(top_mask_slice(v, len, inner), shape),
        Storage::F64(v) => Tensor::from_kernel(top_mask_slice(v, len, inner), shape),
    })
}

/// [`top_mask`] of row-major data whose axis has `len` entries `inner` apart.
fn top_mask_slice<T: Element>(values: &[T], len: usize, inner: usize) -> Vec<T> {
    let mut mask = vec![T::zero(); values.len()];
    for start in (0..values.len()).step_by((len * inner).max(1)) {
        let block = values.get(start..start + len * inner).unwrap_or_default();
        let mask = &mut mask[start..start + block.len()];
        if inner == 1 {
            if let Some(m) = mask.get_mut(top_index_of_row(block)) {
                *m = T::one();
            }
        } else {
            for (i, top) in top_indices_of_columns(block, inner).into_iter().enumerate() {
                if let Some(m) = mask.get_mut(top * inner + i) {
                    *m = T::one();
                }
            }
        }
    }
    mask
}

/// The top index of every column of a row-major `[len, inner]` block: the first
/// entry greater than every earlier one (the first maximum; a NaN never wins, except
/// at 0). Walked row by row with each column's best value so far, vectorised across
/// the columns: a column walked on its own strides `inner` elements per step, and
/// took a third of a column softmax's forward and backward pass.
fn top_indices_of_columns<T: Element>(block: &[T], inner: usize) -> Vec<usize> {
    // Row numbers held in T while T counts them exactly (f32 to 2^24): the walk is then
    // selects of one width, which vectorise (with usize row numbers beside f32 values
    // it compiled to branches).
    let exact_up_to: usize = if std::mem::size_of::<T>() == 4 {
        1 << 24
    } else {
        1 << 53
    };
    top_indices_with_rows_in_t_up_to(block, inner, exact_up_to)
}

/// [`top_indices_of_columns`], with row numbers held in `T` for blocks of at most
/// `exact_up_to` rows and in usize beyond.
fn top_indices_with_rows_in_t_up_to<T: Element>(
    block: &[T],
    inner: usize,
    exact_up_to: usize,
) -> Vec<usize> {
    let rows = block.len() / inner.max(1);
    if rows <= exact_up_to {
        walk_columns(block, inner, |a| T::of(a as f64))
            .into_iter()
            .map(|a| a.f64() as usize)
            .collect()
    } else {
        walk_columns(block, inner, |a| a)
    }
}

/// [`top_indices_of_columns`] with row numbers of type `I` (`row_number(a)` for row
/// `a`): each column's best value so far and its row, as pairs, updated row by row by
/// the SIMD loops.
fn walk_columns<T: Element, I: Copy + Send + Sync>(
    block: &[T],
    inner: usize,
    row_number: impl Fn(usize) -> I,
) -> Vec<I> {
    let mut rows = block.chunks_exact(inner.max(1));
    let Some(first) = rows.next() else {
        return Vec::new();
    };
    let mut best: Vec<(T, I)> = first.iter().map(|&x| (x, row_number(0))).collect();
    for (a, row) in rows.enumerate() {
        let row_number = row_number(a + 1);
        simd::zip_assign_on_caller(&mut best, row, TakeGreater { row_number });
    }
    best.into_iter().map(|(_, a)| a).collect()
}

/// `(best, row) := (x, row_number)` where `x > best`: a column's first maximum.
#[derive(Clone, Copy)]
struct TakeGreater<I> {
    row_number: I,
}

impl<T: Element, I: Copy + Send + Sync> simd::Binary<T, (T, I)> for TakeGreater<I> {
    #[inline(always)]
    fn eval(self, (best, row): (T, I), x: T) -> (T, I) {
        if x > best {
            (x, self.row_number)
        } else {
            (best, row)
        }
    }
}

/// The top index of a contiguous row (the first entry greater than every earlier one),
/// in two vectorised passes: the largest value (NaN ignored), then the first entry
/// equal to it. The same index: the first maximum, or 0 when the row starts with NaN
/// (nothing compares greater than it).
pub(crate) fn top_index_of_row<T: Element>(row: &[T]) -> usize {
    if row.first().is_none_or(|x| x.is_nan()) {
        return 0;
    }
    let top = fold_in_lanes(row, T::neg_infinity(), |m, x| if x > m { x } else { m });
    row.iter().position(|&x| x == top).unwrap_or(0)
}

/// The length of the rows along `axis` that softmax's and log-softmax's fused gradients
/// walk: the forward passes' [`contiguous_row_length`](rows::contiguous_row_length),
/// when the gradient `g` has `y`'s shape.
pub(crate) fn row_length(y: &Tensor, g: &Tensor, axis: usize) -> Option<usize> {
    rows::contiguous_row_length(y, axis).filter(|_| g.shape() == y.shape())
}

#[cfg(test)]
mod tests {
    /// The top index by its definition: the first entry greater than every earlier
    /// one (a NaN never wins, except at 0).
    fn top_index<T: Element>(len: usize, value: impl Fn(usize) -> Option<T>) -> usize {
        let mut best = 0;
        for a in 1..len {
            if value(a) > value(best) {
                best = a;
            }
        }
        best
    }

    /// The columns' top indices, walked row by row, are [`top_index`]'s per column: ties
    /// (the first wins), NaN at the start (it stays) and later (it never wins),
    /// infinities, signed zeros.
    #[test]
    fn top_indices_of_columns_are_top_index_per_column() {
        let pool = [
            0.0,
            -0.0,
            1.0,
            1.0,
            -2.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            3.5,
        ];
        let mut state = 7u64;
        let mut pick = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            pool[(state >> 33) as usize % pool.len()]
        };
        for (len, inner) in [(1, 5), (2, 3), (7, 17), (64, 33), (5, 1)] {
            let block: Vec<f64> = (0..len * inner).map(|_| pick()).collect();
            let got = super::top_indices_of_columns(&block, inner);
            // Row numbers in usize (blocks beyond 2^24 rows in f32) give the same.
            assert_eq!(
                super::top_indices_with_rows_in_t_up_to(&block, inner, 0),
                got
            );
            for (i, &g) in got.iter().enumerate() {
                let want = top_index(len, |a| block.get(a * inner + i).copied());
                assert_eq!(g, want, "column {i} of [{len}, {inner}]");
            }
            let as_f32: Vec<f32> = block.iter().map(|&x| x as f32).collect();
            assert_eq!(super::top_indices_of_columns(&as_f32, inner), got);
        }
    }

    use super::*;
    use crate::DType;

    /// The two-pass index of a row's first maximum is the one-pass fold's, with ties,
    /// signed zeros, infinities and NaN (first, later, everywhere).
    #[test]
    fn the_top_of_a_row_is_the_first_maximum() {
        let specials = [
            0.0f64,
            -0.0,
            2.0,
            -3.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ];
        let mut state = 11u64;
        for len in [1usize, 2, 7, 8, 9, 33] {
            for _ in 0..300 {
                let row: Vec<f64> = (0..len)
                    .map(|_| {
                        state = state
                            .wrapping_mul(6_364_136_223_846_793_005)
                            .wrapping_add(1);
                        specials[(state >> 33) as usize % specials.len()]
                    })
                    .collect();
                let want = top_index(len, |a| row.get(a).copied());
                assert_eq!(top_index_of_row(&row), want, "{row:?}");
            }
        }
    }

    /// Softmax's and log-softmax's fused gradients (nothing recorded) are their
    /// rules' compositions (recorded, with `create_graph`) bit for bit: f32 and f64,
    /// along the last axis and along one followed by dimensions of 1, on rows of random
    /// logits, nearly one-hot rows and tied maxima, and a tensor large enough to be
    /// split over threads; and an axis with more after it takes the composition.
    #[test]
    fn softmax_fused_gradients_are_the_compositions_bits() {
        for dtype in [DType::F32, DType::F64] {
            for dims in [vec![6, 7], vec![2, 3, 7, 1], vec![6, 7, 1], vec![70, 1000]] {
                let numel = dims.iter().product::<usize>();
                let mut values = Tensor::randn([numel], DType::F64, 3)
                    .mul_scalar(4.0)
                    .to_f64_vec();
                values[7] = 40.0; // row 1 of 7 nearly one-hot
                values[14] = 2.0; // row 2 of 7: a tie, the first wins
                values[15] = 2.0;
                let axis = if dims.len() == 4 { 2 } else { 1 };
                let x = Tensor::from_vec(values.clone(), dims.clone())
                    .unwrap()
                    .to_dtype(dtype);
                let g = Tensor::randn(dims.clone(), dtype, 5);
                for log in [false, true] {
                    let grad = |create_graph: bool| {
                        let tape = Tape::new();
                        let xv = tape.var(x.clone());
                        let y = if log {
                            xv.log_softmax(axis).unwrap()
                        } else {
                            xv.softmax(axis).unwrap()
                        };
                        let gv = Var::untracked(g.clone());
                        let dx = tape.vjp(&y, &gv, &[&xv], create_graph).unwrap();
                        dx[0].value().to_f64_vec()
                    };
                    let (fused, composed) = (grad(false), grad(true));
                    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(
                        bits(&fused),
                        bits(&composed),
                        "{dtype:?} {dims:?} log={log}"
                    );
                }
            }
        }
    }

    /// A recorded forward pass keeps the slope of an f32 kernel that asks for it, the
    /// gradient takes it (releasing it), and nothing is kept for f64, for a kernel
    /// whose slope is a comparison, or by an unrecorded pass.
    #[test]
    fn the_slope_is_kept_where_it_pays_and_released_by_the_gradient() {
        let x32 = Tensor::randn([64], DType::F32, 3);
        let kept = |op: &ActFn<_>| {
            let s = op.slope.take();
            let some = s.is_some();
            op.slope.set(s);
            some
        };
        let mut op = ActFn::new(tanh::Tanh);
        op.forward(&[&x32]).unwrap();
        assert!(!kept(&op), "an unrecorded forward keeps nothing");
        op.forward_recorded(&[&x32]).unwrap();
        assert!(kept(&op));
        let g = Tensor::ones([64], DType::F32);
        assert!(op.grad_from_kept_slope(g.clone()).is_ok());
        assert!(!kept(&op), "the gradient takes the slope");
        assert!(op.grad_from_kept_slope(g).is_err());

        let mut op = ActFn::new(tanh::Tanh);
        op.forward_recorded(&[&x32.to_dtype(DType::F64)]).unwrap();
        assert!(!kept(&op), "f64 has no vectorised path");
        let mut op = ActFn::new(relu::Relu);
        op.forward_recorded(&[&x32]).unwrap();
        let relu_kept = op.slope.take().is_some();
        assert!(!relu_kept, "relu's slope is a comparison");

        // elu's slope is kept while the tensor stays in cache, not beyond.
        let elu = elu::Elu { alpha: 1.0 };
        let mut op = ActFn::new(elu);
        op.forward_recorded(&[&x32]).unwrap();
        assert!(op.slope.take().is_some());
        let long = Tensor::randn([lanes::CACHED_LEN + 1], DType::F32, 4);
        let mut op = ActFn::new(elu);
        op.forward_recorded(&[&long]).unwrap();
        assert!(op.slope.take().is_none());
        let mut op = ActFn::new(tanh::Tanh);
        op.forward_recorded(&[&long]).unwrap();
        assert!(op.slope.take().is_some());
    }
}
