//! [`Adam`] and [`AdamW`]: adaptive moment estimation, exactly as `torch.optim.Adam`
//! and `torch.optim.AdamW`.

use std::collections::HashMap;

use gradflow_autograd::{DType, Element, Tensor};

use super::{
    Optimizer, check_eps, check_grads, check_lr, check_non_negative, check_unit, for_each_update,
    lerp, same_layout,
};
use crate::vectorised::{Loop, vectorised};
use crate::{Module, ParamGrads, ParamId, Result};

/// Adam (Kingma & Ba 2015): PyTorch's `torch.optim.Adam` (`_single_tensor_adam` in
/// `torch/optim/adam.py`), without `amsgrad` or `maximize`; with decoupled weight
/// decay it is [`AdamW`].
///
/// For a parameter `p` with gradient `g` at its step `t = 1, 2, ...`, learning rate
/// `lr`, betas `(beta1, beta2)`, `eps` and weight decay `lambda`:
///
/// ```text
/// p = p (1 - lr lambda)                    (AdamW: decoupled weight decay)
/// d = g + lambda p                         (Adam: L2 weight decay; else d = g)
/// m = m + (1 - beta1) (d - m)              (lerp towards d)
/// v = beta2 v + (1 - beta2) d^2
/// p = p - (lr / (1 - beta1^t)) m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
/// ```
///
/// `m` and `v` start at zero; the bias corrections `1 - beta^t` undo that start. `eps`
/// is added *outside* the square root, after the correction, as PyTorch does (so its
/// effect does not depend on the step). `m`, `v` and the step count `t` are kept per
/// parameter, in its dtype; `t` advances only in steps where the parameter has a
/// gradient.
///
/// ```
/// use gradflow_nn::optim::{Adam, Optimizer};
/// let opt = Adam::builder(1e-3).betas(0.9, 0.99).eps(1e-8).build()?;
/// assert_eq!(opt.betas(), (0.9, 0.99));
/// let bad = Adam::builder(1e-3).betas(0.9, 1.0).build().map_err(|e| e.to_string());
/// assert_eq!(bad.err().as_deref(), Some("Adam: beta2 must be in [0, 1), got 1"));
/// # Ok::<(), gradflow_nn::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Adam {
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
    decoupled: bool,
    state: HashMap<ParamId, AdamState>,
}

#[derive(Clone, Debug)]
struct AdamState {
    step: u64,
    exp_avg: Tensor,
    exp_avg_sq: Tensor,
}

/// AdamW (Loshchilov & Hutter 2019): Adam whose weight decay shrinks the parameters
/// directly, `p = p (1 - lr lambda)`, instead of being added to the gradient, so it is
/// not rescaled by the adaptive denominator. PyTorch's `torch.optim.AdamW`, which is
/// `Adam` with `decoupled_weight_decay=True` (`torch/optim/adamw.py`); likewise here
/// `AdamW` builds an [`Adam`] with
/// [`decoupled_weight_decay`](AdamBuilder::decoupled_weight_decay) set, and a default
/// weight decay of 0.01 (PyTorch's).
///
/// ```
/// use gradflow_nn::optim::{AdamW, Optimizer};
/// let opt = AdamW::builder(1e-3).build()?;
/// assert_eq!((opt.name(), opt.weight_decay()), ("AdamW", 0.01));
/// # Ok::<(), gradflow_nn::Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct AdamW;

/// Settings of an [`Adam`] or [`AdamW`]; see [`Adam::builder`] and [`AdamW::builder`].
#[derive(Clone, Debug)]
pub struct AdamBuilder {
    lr: f64,
    betas: (f64, f64),
    eps: f64,
    weight_decay: f64,
    decoupled: bool,
}

impl Adam {
    /// Adam with learning rate `lr` and PyTorch's other defaults.
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::Config) if `lr` is negative or not finite.
    pub fn new(lr: f64) -> Result<Adam> {
        Adam::builder(lr).build()
    }

    /// Starts the settings with PyTorch's defaults: betas `(0.9, 0.999)`, eps `1e-8`, no
    /// weight decay. (PyTorch's default learning rate is `1e-3`.)
    pub fn builder(lr: f64) -> AdamBuilder {
        AdamBuilder {
            lr,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled: false,
        }
    }

    /// The betas `(beta1, beta2)`.
    pub fn betas(&self) -> (f64, f64) {
        (self.beta1, self.beta2)
    }

    /// The `eps` added to the denominator.
    pub fn eps(&self) -> f64 {
        self.eps
    }

    /// The weight decay `lambda`.
    pub fn weight_decay(&self) -> f64 {
        self.weight_decay
    }

    /// Whether the weight decay is decoupled (AdamW) rather than an L2 term.
    pub fn decoupled_weight_decay(&self) -> bool {
        self.decoupled
    }
}

impl AdamW {
    /// AdamW with learning rate `lr` and PyTorch's other defaults (weight decay 0.01).
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::Config) if `lr` is negative or not finite.
    #[expect(
        clippy::new_ret_no_self,
        reason = "AdamW is Adam with decoupled weight decay, as in PyTorch"
    )]
    pub fn new(lr: f64) -> Result<Adam> {
        AdamW::builder(lr).build()
    }

    /// Starts the settings with PyTorch's defaults for AdamW: betas `(0.9, 0.999)`, eps
    /// `1e-8`, weight decay `0.01`, decoupled.
    pub fn builder(lr: f64) -> AdamBuilder {
        AdamBuilder {
            weight_decay: 0.01,
            decoupled: true,
            ..Adam::builder(lr)
        }
    }
}

impl AdamBuilder {
    /// The betas, each in `[0, 1)`: the decay rates of the first and second moment
    /// estimates.
    pub fn betas(mut self, beta1: f64, beta2: f64) -> Self {
        self.betas = (beta1, beta2);
        self
    }

    /// The `eps > 0` added to the denominator.
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }

    /// The weight decay `lambda >= 0`.
    pub fn weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = weight_decay;
        self
    }

    /// Whether the weight decay is decoupled (AdamW: `p *= 1 - lr lambda`) or added to
    /// the gradient (Adam: `g += lambda p`). PyTorch's `decoupled_weight_decay`.
    pub fn decoupled_weight_decay(mut self, decoupled: bool) -> Self {
        self.decoupled = decoupled;
        self
    }

    /// Checks the settings and builds the optimiser.
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::Config) naming the value: a negative or
    /// non-finite learning rate or weight decay, a beta outside `[0, 1)`, or
    /// `eps <= 0`.
    pub fn build(self) -> Result<Adam> {
        let what = if self.decoupled { "AdamW" } else { "Adam" };
        Ok(Adam {
            lr: check_lr(what, self.lr)?,
            beta1: check_unit(what, "beta1", self.betas.0)?,
            beta2: check_unit(what, "beta2", self.betas.1)?,
            eps: check_eps(what, self.eps)?,
            weight_decay: check_non_negative(what, "weight_decay", self.weight_decay)?,
            decoupled: self.decoupled,
            state: HashMap::new(),
        })
    }
}

/// The constants of one parameter's step.
#[derive(Clone, Copy)]
struct AdamStep {
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
    decoupled: bool,
    /// `lr / (1 - beta1^t)`.
    step_size: f64,
    /// `sqrt(1 - beta2^t)`.
    bias_correction2_sqrt: f64,
}

impl AdamStep {
    fn run<T: Element>(self, p: &mut Tensor, g: &Tensor, st: &mut AdamState) -> Result<()> {
        let g = g.as_slice::<T>()?;
        let p = p.as_mut_slice::<T>()?;
        let m = st.exp_avg.as_mut_slice::<T>()?;
        let v = st.exp_avg_sq.as_mut_slice::<T>()?;
        vectorised(AdamLoop {
            k: self,
            p,
            g,
            m,
            v,
        });
        Ok(())
    }
}

/// One parameter's update as a [`Loop`]: with AVX-512 the square roots and divisions
/// run eight f64 to a register instead of two.
struct AdamLoop<'a, T> {
    k: AdamStep,
    p: &'a mut [T],
    g: &'a [T],
    m: &'a mut [T],
    v: &'a mut [T],
}

impl<T: Element> Loop for AdamLoop<'_, T> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        let k = self.k;
        let wd = T::of(k.weight_decay);
        let shrink = T::of(1.0 - k.lr * k.weight_decay);
        let (w1, b2, w2) = (T::of(1.0 - k.beta1), T::of(k.beta2), T::of(1.0 - k.beta2));
        let (neg_step, bc2, eps) = (
            T::of(-k.step_size),
            T::of(k.bias_correction2_sqrt),
            T::of(k.eps),
        );
        let (decays, decoupled) = (k.weight_decay != 0.0, k.decoupled);
        let elements = self.p.iter_mut().zip(self.g).zip(self.m).zip(self.v);
        for (((p, &g), m), v) in elements {
            let mut d = g;
            if decays {
                if decoupled {
                    *p *= shrink;
                } else {
                    d = g + wd * *p;
                }
            }
            *m = lerp(*m, d, w1);
            *v = *v * b2 + w2 * d * d;
            let denom = v.sqrt() / bc2 + eps;
            *p += neg_step * *m / denom;
        }
    }
}

impl Optimizer for Adam {
    fn name(&self) -> &'static str {
        if self.decoupled { "AdamW" } else { "Adam" }
    }

    fn step(&mut self, model: &mut dyn Module, grads: &ParamGrads) -> Result<()> {
        let name = self.name();
        let state = &mut self.state;
        check_grads(name, model, grads, &|id, v| {
            state.get(&id).is_none_or(|s| same_layout(&s.exp_avg, v))
        })?;
        let (lr, beta1, beta2) = (self.lr, self.beta1, self.beta2);
        let (eps, weight_decay, decoupled) = (self.eps, self.weight_decay, self.decoupled);
        for_each_update(model, grads, &mut |id, p, g| {
            let st = state.entry(id).or_insert_with(|| AdamState {
                step: 0,
                exp_avg: p.zeros_like(),
                exp_avg_sq: p.zeros_like(),
            });
            st.step += 1;
            // Python floats in PyTorch: beta ** step with step a float.
            let t = st.step as f64;
            let k = AdamStep {
                lr,
                beta1,
                beta2,
                eps,
                weight_decay,
                decoupled,
                step_size: lr / (1.0 - beta1.powf(t)),
                bias_correction2_sqrt: (1.0 - beta2.powf(t)).sqrt(),
            };
            match p.dtype() {
                DType::F32 => k.run::<f32>(p, g, st),
                DType::F64 => k.run::<f64>(p, g, st),
            }
        })
    }

    fn lr(&self) -> f64 {
        self.lr
    }

    fn set_lr(&mut self, lr: f64) -> Result<()> {
        self.lr = check_lr(self.name(), lr)?;
        Ok(())
    }

    fn reset(&mut self) {
        self.state.clear();
    }
}
