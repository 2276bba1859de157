//! [`Sgd`]: stochastic gradient descent with momentum, dampening, Nesterov momentum and
//! weight decay, exactly as `torch.optim.SGD`.

use std::collections::HashMap;

use gradflow_autograd::{DType, Element, Tensor};

use super::{
    Optimizer, check_grads, check_lr, check_non_negative, check_unit, for_each_update, same_layout,
};
use crate::{Error, Module, ParamGrads, ParamId, Result};

/// Stochastic gradient descent: PyTorch's `torch.optim.SGD` (`_single_tensor_sgd` in
/// `torch/optim/sgd.py`), without `maximize`.
///
/// For a parameter `p` with gradient `g`, learning rate `lr`, momentum `mu`, dampening
/// `tau` and weight decay `lambda`, each step computes
///
/// ```text
/// d = g + lambda p                              (if lambda != 0)
/// b = d                                         (first step with a gradient)
/// b = mu b + (1 - tau) d                        (later steps; if mu != 0)
/// d = d + mu b  (Nesterov)   or   d = b         (if mu != 0)
/// p = p - lr d
/// ```
///
/// With `mu = 0` it is plain gradient descent `p -= lr (g + lambda p)`. The buffer `b`
/// is kept per parameter, in its dtype. Note that the first step puts the whole
/// gradient into the buffer, undamped, as PyTorch does.
///
/// ```
/// use gradflow_nn::optim::{Optimizer, Sgd};
/// let opt = Sgd::builder(0.1).momentum(0.9).nesterov(true).weight_decay(1e-4).build()?;
/// assert_eq!(opt.lr(), 0.1);
/// let bad = Sgd::builder(0.1).nesterov(true).build().map_err(|e| e.to_string());
/// assert_eq!(bad.err().as_deref(), Some("Sgd: Nesterov momentum needs a momentum > 0, got 0"));
/// # Ok::<(), gradflow_nn::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Sgd {
    lr: f64,
    momentum: f64,
    dampening: f64,
    weight_decay: f64,
    nesterov: bool,
    buffers: HashMap<ParamId, Tensor>,
}

/// Settings of an [`Sgd`]; see [`Sgd::builder`].
#[derive(Clone, Debug)]
pub struct SgdBuilder {
    lr: f64,
    momentum: f64,
    dampening: f64,
    weight_decay: f64,
    nesterov: bool,
}

impl Sgd {
    /// Plain gradient descent with learning rate `lr`.
    ///
    /// # Errors
    /// [`Error::Config`] if `lr` is negative or not finite.
    pub fn new(lr: f64) -> Result<Sgd> {
        Sgd::builder(lr).build()
    }

    /// Starts the settings: learning rate `lr`, no momentum, no dampening, no weight
    /// decay, no Nesterov (PyTorch's defaults).
    pub fn builder(lr: f64) -> SgdBuilder {
        SgdBuilder {
            lr,
            momentum: 0.0,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: false,
        }
    }

    /// The momentum `mu`.
    pub fn momentum(&self) -> f64 {
        self.momentum
    }

    /// The dampening `tau`.
    pub fn dampening(&self) -> f64 {
        self.dampening
    }

    /// The weight decay `lambda` (an L2 penalty `lambda/2 |p|^2` added to the loss).
    pub fn weight_decay(&self) -> f64 {
        self.weight_decay
    }

    /// Whether the momentum is Nesterov's.
    pub fn nesterov(&self) -> bool {
        self.nesterov
    }
}

impl SgdBuilder {
    /// The momentum `mu`, in `[0, 1)`.
    pub fn momentum(mut self, momentum: f64) -> Self {
        self.momentum = momentum;
        self
    }

    /// The dampening `tau`, in `[0, 1]`: the buffer takes `(1 - tau)` of each new
    /// gradient after the first.
    pub fn dampening(mut self, dampening: f64) -> Self {
        self.dampening = dampening;
        self
    }

    /// The weight decay `lambda >= 0`, added to the gradient as `lambda p`.
    pub fn weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = weight_decay;
        self
    }

    /// Nesterov momentum (needs a momentum `> 0` and zero dampening, as in PyTorch).
    pub fn nesterov(mut self, nesterov: bool) -> Self {
        self.nesterov = nesterov;
        self
    }

    /// Checks the settings and builds the optimiser.
    ///
    /// # Errors
    /// [`Error::Config`] naming the value: a negative or non-finite learning rate or
    /// weight decay, a momentum outside `[0, 1)`, a dampening outside `[0, 1]`, or
    /// Nesterov without momentum or with dampening.
    pub fn build(self) -> Result<Sgd> {
        const WHAT: &str = "Sgd";
        let lr = check_lr(WHAT, self.lr)?;
        let momentum = check_unit(WHAT, "momentum", self.momentum)?;
        if !(0.0..=1.0).contains(&self.dampening) {
            return Err(Error::config(
                WHAT,
                format!("dampening must be in [0, 1], got {}", self.dampening),
            ));
        }
        let weight_decay = check_non_negative(WHAT, "weight_decay", self.weight_decay)?;
        if self.nesterov && momentum <= 0.0 {
            return Err(Error::config(
                WHAT,
                format!("Nesterov momentum needs a momentum > 0, got {momentum}"),
            ));
        }
        if self.nesterov && self.dampening != 0.0 {
            return Err(Error::config(
                WHAT,
                format!(
                    "Nesterov momentum needs zero dampening, got {}",
                    self.dampening
                ),
            ));
        }
        Ok(Sgd {
            lr,
            momentum,
            dampening: self.dampening,
            weight_decay,
            nesterov: self.nesterov,
            buffers: HashMap::new(),
        })
    }
}

/// The constants of one step.
#[derive(Clone, Copy)]
struct SgdStep {
    lr: f64,
    momentum: f64,
    dampening: f64,
    weight_decay: f64,
    nesterov: bool,
}

impl SgdStep {
    /// One parameter's update. `buf` is `None` without momentum; `first` says the
    /// buffer was just created (it then receives `d` itself).
    fn run<T: Element>(
        self,
        p: &mut Tensor,
        g: &Tensor,
        buf: Option<&mut Tensor>,
        first: bool,
    ) -> Result<()> {
        let g = g.as_slice::<T>()?;
        let p = p.as_mut_slice::<T>()?;
        let (lr, mu) = (T::of(self.lr), T::of(self.momentum));
        let (wd, keep) = (T::of(self.weight_decay), T::of(1.0 - self.dampening));
        let decay = |p: T, g: T| {
            if self.weight_decay != 0.0 {
                g + wd * p
            } else {
                g
            }
        };
        match buf {
            None => {
                for (p, &g) in p.iter_mut().zip(g) {
                    *p += -lr * decay(*p, g);
                }
            }
            Some(buf) => {
                let buf = buf.as_mut_slice::<T>()?;
                for ((p, &g), b) in p.iter_mut().zip(g).zip(buf) {
                    let d = decay(*p, g);
                    *b = if first { d } else { *b * mu + keep * d };
                    let d = if self.nesterov { d + mu * *b } else { *b };
                    *p += -lr * d;
                }
            }
        }
        Ok(())
    }
}

impl Optimizer for Sgd {
    fn name(&self) -> &'static str {
        "Sgd"
    }

    fn step(&mut self, model: &mut dyn Module, grads: &ParamGrads) -> Result<()> {
        let buffers = &mut self.buffers;
        check_grads("Sgd", model, grads, &|id, v| {
            buffers.get(&id).is_none_or(|b| same_layout(b, v))
        })?;
        let k = SgdStep {
            lr: self.lr,
            momentum: self.momentum,
            dampening: self.dampening,
            weight_decay: self.weight_decay,
            nesterov: self.nesterov,
        };
        for_each_update(model, grads, &mut |id, p, g| {
            let (buf, first) = if k.momentum != 0.0 {
                let first = !buffers.contains_key(&id);
                let buf = buffers.entry(id).or_insert_with(|| p.zeros_like());
                (Some(buf), first)
            } else {
                (None, false)
            };
            match p.dtype() {
                DType::F32 => k.run::<f32>(p, g, buf, first),
                DType::F64 => k.run::<f64>(p, g, buf, first),
            }
        })
    }

    fn lr(&self) -> f64 {
        self.lr
    }

    fn set_lr(&mut self, lr: f64) -> Result<()> {
        self.lr = check_lr("Sgd", lr)?;
        Ok(())
    }

    fn reset(&mut self) {
        self.buffers.clear();
    }
}
