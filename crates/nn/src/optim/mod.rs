//! Optimisers, gradient clipping and learning-rate schedules.
//!
//! An [`Optimizer`] updates a model's parameters in place from the gradients of one
//! step ([`ParamGrads`], from [`ForwardCtx::param_grads`](crate::ForwardCtx::param_grads)).
//! Each reproduces PyTorch's update rule (the single-tensor code path of
//! `torch/optim/<name>.py`) operation for operation: [`Sgd`] (momentum, dampening,
//! Nesterov, weight decay), [`Adam`], [`AdamW`] and [`RmsProp`]. Trajectories of a small
//! network over five steps agree with PyTorch's in float64 to 1e-12 relative
//! (`crates/nn/tests/optim.rs`).
//!
//! - State (momentum buffers, moment estimates, step counts) is kept per
//!   [`ParamId`], created the first time a parameter has a gradient,
//!   in the parameter's dtype, as PyTorch keeps it. A parameter without a gradient in
//!   a step is left alone, state and weight decay included (PyTorch skips parameters
//!   whose `.grad` is `None`).
//! - Updates write into the parameter's tensor (copy-on-write: a tape that still
//!   holds the old value keeps it), in the parameter's dtype.
//! - Before anything is written, every gradient is checked against its parameter
//!   (shape and dtype) and its state, so a failed step changes nothing.
//! - Settings are validated when an optimiser is built, and errors name the value.
//!
//! [`clip_grad_norm`] rescales gradients (PyTorch's `clip_grad_norm_`), and [`StepLr`]
//! and [`CosineLr`] set the learning rate epoch by epoch through
//! [`Optimizer::set_lr`].
//!
//! ```
//! use gradflow_autograd::{Activation, DType, Tape, Tensor};
//! use gradflow_nn::loss::{mse, Reduction};
//! use gradflow_nn::optim::{clip_grad_norm, Adam, CosineLr, LrSchedule, Optimizer};
//! use gradflow_nn::{ForwardCtx, Mlp, Module};
//!
//! let mut model = Mlp::builder(2, &[8], 1)
//!     .activation(Activation::Tanh)
//!     .dtype(DType::F64)
//!     .build()?;
//! let mut opt = Adam::builder(0.01).build()?;
//! let mut schedule = CosineLr::new(opt.lr(), 50, 1e-4)?;
//! let x = Tensor::randn([32, 2], DType::F64, 1);
//! let y = x.sum(&[1], true)?;
//! for _ in 0..50 {
//!     let tape = Tape::new();
//!     let mut ctx = ForwardCtx::new(&tape);
//!     let pred = model.forward(&mut ctx, &tape.constant(x.clone()))?;
//!     let loss = mse(&pred, &tape.constant(y.clone()), Reduction::Mean)?;
//!     let mut grads = ctx.param_grads(&loss.backward()?);
//!     clip_grad_norm(&mut grads, 1.0)?;
//!     opt.step(&mut model, &grads)?;
//!     schedule.step(&mut opt)?;
//! }
//! assert!((opt.lr() - 1e-4).abs() < 1e-12);
//! # Ok::<(), gradflow_nn::Error>(())
//! ```

mod adam;
mod clip;
mod rmsprop;
mod schedule;
mod sgd;

pub use adam::{Adam, AdamBuilder, AdamW};
pub use clip::clip_grad_norm;
pub use rmsprop::{RmsProp, RmsPropBuilder};
pub use schedule::{CosineLr, LrSchedule, StepLr};
pub use sgd::{Sgd, SgdBuilder};

use gradflow_autograd::{Element, Tensor};

use crate::module::{for_each_parameter, for_each_parameter_mut, named_parameters};
use crate::{Error, Module, ParamGrads, ParamId, Result};

/// Updates a model's parameters from the gradients of a step.
///
/// Implemented by [`Sgd`], [`Adam`], [`AdamW`] and [`RmsProp`]; object safe, so a
/// training loop can hold a `Box<dyn Optimizer>` chosen at run time.
pub trait Optimizer {
    /// The optimiser's name (`"Sgd"`), as error messages show it.
    fn name(&self) -> &'static str;

    /// Updates, in place, every parameter of `model` that has a gradient in `grads`.
    ///
    /// # Errors
    /// [`Error::Gradient`] naming the parameter if a gradient's shape or dtype is not
    /// its parameter's, or the parameter no longer fits the state kept for it (its
    /// value was replaced by one of another shape or dtype). Nothing is updated then.
    fn step(&mut self, model: &mut dyn Module, grads: &ParamGrads) -> Result<()>;

    /// The learning rate of the next step.
    fn lr(&self) -> f64;

    /// Sets the learning rate (schedules call this between steps).
    ///
    /// # Errors
    /// [`Error::Config`] if `lr` is negative or not finite.
    fn set_lr(&mut self, lr: f64) -> Result<()>;

    /// Forgets the state of every parameter (buffers, moments, step counts): the next
    /// step is a first step again.
    fn reset(&mut self);
}

/// `lr` if it is finite and `>= 0` (PyTorch: `Invalid learning rate`).
fn check_lr(what: &'static str, lr: f64) -> Result<f64> {
    if lr.is_finite() && lr >= 0.0 {
        Ok(lr)
    } else {
        Err(Error::config(
            what,
            format!("the learning rate must be a finite number >= 0, got {lr}"),
        ))
    }
}

/// `value` if it is finite and `>= 0`.
fn check_non_negative(what: &'static str, name: &str, value: f64) -> Result<f64> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(Error::config(
            what,
            format!("{name} must be a finite number >= 0, got {value}"),
        ))
    }
}

/// `value` if it is in `[0, 1)` (momentum, betas, a smoothing constant).
fn check_unit(what: &'static str, name: &str, value: f64) -> Result<f64> {
    if (0.0..1.0).contains(&value) {
        Ok(value)
    } else {
        Err(Error::config(
            what,
            format!("{name} must be in [0, 1), got {value}"),
        ))
    }
}

/// `eps` if it is finite and `> 0`.
fn check_eps(what: &'static str, eps: f64) -> Result<f64> {
    if eps.is_finite() && eps > 0.0 {
        Ok(eps)
    } else {
        Err(Error::config(
            what,
            format!("eps must be a finite number > 0, got {eps}"),
        ))
    }
}

/// Checks every gradient of `grads` that belongs to a parameter of `model`: its shape
/// and dtype must be the parameter's, and `state_fits` must accept the parameter's
/// value (the state kept for it has its shape and dtype). Run before any update, so a
/// step that fails changes nothing.
fn check_grads(
    optimizer: &'static str,
    model: &dyn Module,
    grads: &ParamGrads,
    state_fits: &dyn Fn(ParamId, &Tensor) -> bool,
) -> Result<()> {
    // The parameters are walked without their names (building them is most of the
    // cost of a walk); a failure looks its parameter's name up afterwards.
    let mut failure: Option<(ParamId, String)> = None;
    for_each_parameter(model, &mut |p| {
        if failure.is_some() {
            return;
        }
        let Some(g) = grads.get(p) else { return };
        let v = p.value();
        if g.shape() != v.shape() || g.dtype() != v.dtype() {
            failure = Some((
                p.id(),
                format!(
                    "the gradient is {} {} but the parameter is {} {}",
                    g.shape(),
                    g.dtype(),
                    v.shape(),
                    v.dtype()
                ),
            ));
        } else if !state_fits(p.id(), v) {
            failure = Some((
                p.id(),
                format!(
                    "the parameter is now {} {}, which does not fit the state kept for it \
                     (call reset() after replacing parameters)",
                    v.shape(),
                    v.dtype()
                ),
            ));
        }
    });
    let Some((id, reason)) = failure else {
        return Ok(());
    };
    let param = named_parameters(model)
        .into_iter()
        .find(|(_, p)| p.id() == id)
        .map(|(name, _)| name)
        .unwrap_or_default();
    Err(Error::Gradient {
        optimizer,
        param,
        reason,
    })
}

/// Calls `update` with the id, value and gradient of every parameter of `model` that
/// has a gradient, in [`named_parameters`] order; stops at the first error.
fn for_each_update(
    model: &mut dyn Module,
    grads: &ParamGrads,
    update: &mut dyn FnMut(ParamId, &mut Tensor, &Tensor) -> Result<()>,
) -> Result<()> {
    let mut failure = None;
    for_each_parameter_mut(model, &mut |p| {
        if failure.is_some() {
            return;
        }
        if let Some(g) = grads.get(p) {
            let id = p.id();
            if let Err(e) = update(id, p.value_mut(), g) {
                failure = Some(e);
            }
        }
    });
    failure.map_or(Ok(()), Err)
}

/// Whether a state tensor has the parameter's shape and dtype.
fn same_layout(state: &Tensor, value: &Tensor) -> bool {
    state.shape() == value.shape() && state.dtype() == value.dtype()
}

/// PyTorch's `lerp` (`aten/src/ATen/native/Lerp.h`): `a + w (b - a)` for `|w| < 1/2`,
/// else `b - (b - a)(1 - w)`, which is exact at `w = 1`.
#[inline(always)]
fn lerp<T: Element>(a: T, b: T, w: T) -> T {
    if w.abs() < T::of(0.5) {
        a + w * (b - a)
    } else {
        b - (b - a) * (T::one() - w)
    }
}

#[cfg(test)]
mod tests;
