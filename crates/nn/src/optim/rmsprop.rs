//! [`RmsProp`]: gradient steps scaled by a running root mean square, exactly as
//! `torch.optim.RMSprop`.

use std::collections::HashMap;

use gradflow_autograd::{DType, Element, Tensor};

use super::{
    Optimizer, check_eps, check_grads, check_lr, check_non_negative, check_unit, for_each_update,
    lerp, same_layout,
};
use crate::{Module, ParamGrads, ParamId, Result};

/// RMSProp (Hinton's lecture 6e; centered: Graves 2013): PyTorch's
/// `torch.optim.RMSprop` (`_single_tensor_rmsprop` in `torch/optim/rmsprop.py`),
/// without `maximize`.
///
/// For a parameter `p` with gradient `g`, learning rate `lr`, smoothing `alpha`, `eps`,
/// momentum `mu` and weight decay `lambda`:
///
/// ```text
/// d = g + lambda p                                  (if lambda != 0)
/// s = alpha s + (1 - alpha) d^2
/// a = a + (1 - alpha) (d - a)                       (centered: running mean of d)
/// r = sqrt(s - a^2) + eps   (centered)   or   r = sqrt(s) + eps
/// b = mu b + d / r;  p = p - lr b                   (if mu > 0)
/// p = p - lr d / r                                  (otherwise)
/// ```
///
/// `s`, `a` and `b` start at zero and are kept per parameter, in its dtype. Note that
/// `eps` is added outside the square root, and that there is no bias correction: the
/// first steps are larger than later ones (`s` starts at `(1 - alpha) d^2`).
///
/// ```
/// use gradflow_nn::optim::{Optimizer, RmsProp};
/// let opt = RmsProp::builder(0.01).alpha(0.9).centered(true).momentum(0.5).build()?;
/// assert!(opt.centered());
/// let bad = RmsProp::builder(0.01).eps(0.0).build().map_err(|e| e.to_string());
/// assert_eq!(bad.err().as_deref(), Some("RmsProp: eps must be a finite number > 0, got 0"));
/// # Ok::<(), gradflow_nn::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct RmsProp {
    lr: f64,
    alpha: f64,
    eps: f64,
    weight_decay: f64,
    momentum: f64,
    centered: bool,
    state: HashMap<ParamId, RmsPropState>,
}

#[derive(Clone, Debug)]
struct RmsPropState {
    square_avg: Tensor,
    grad_avg: Option<Tensor>,
    momentum_buffer: Option<Tensor>,
}

/// Settings of an [`RmsProp`]; see [`RmsProp::builder`].
#[derive(Clone, Debug)]
pub struct RmsPropBuilder {
    lr: f64,
    alpha: f64,
    eps: f64,
    weight_decay: f64,
    momentum: f64,
    centered: bool,
}

impl RmsProp {
    /// RMSProp with learning rate `lr` and PyTorch's other defaults.
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::Config) if `lr` is negative or not finite.
    pub fn new(lr: f64) -> Result<RmsProp> {
        RmsProp::builder(lr).build()
    }

    /// Starts the settings with PyTorch's defaults: alpha `0.99`, eps `1e-8`, no weight
    /// decay, no momentum, not centered. (PyTorch's default learning rate is `1e-2`.)
    pub fn builder(lr: f64) -> RmsPropBuilder {
        RmsPropBuilder {
            lr,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false,
        }
    }

    /// The smoothing constant `alpha`.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    /// The `eps` added to the denominator.
    pub fn eps(&self) -> f64 {
        self.eps
    }

    /// The weight decay `lambda`.
    pub fn weight_decay(&self) -> f64 {
        self.weight_decay
    }

    /// The momentum `mu`.
    pub fn momentum(&self) -> f64 {
        self.momentum
    }

    /// Whether the second moment is centered (divided by an estimate of the variance).
    pub fn centered(&self) -> bool {
        self.centered
    }
}

impl RmsPropBuilder {
    /// The smoothing constant `alpha`, in `[0, 1)`.
    pub fn alpha(mut self, alpha: f64) -> Self {
        self.alpha = alpha;
        self
    }

    /// The `eps > 0` added to the denominator.
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }

    /// The weight decay `lambda >= 0`, added to the gradient as `lambda p`.
    pub fn weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = weight_decay;
        self
    }

    /// The momentum `mu`, in `[0, 1)`.
    pub fn momentum(mut self, momentum: f64) -> Self {
        self.momentum = momentum;
        self
    }

    /// Whether to center the second moment.
    pub fn centered(mut self, centered: bool) -> Self {
        self.centered = centered;
        self
    }

    /// Checks the settings and builds the optimiser.
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::Config) naming the value: a negative or
    /// non-finite learning rate or weight decay, alpha or momentum outside `[0, 1)`, or
    /// `eps <= 0`.
    pub fn build(self) -> Result<RmsProp> {
        const WHAT: &str = "RmsProp";
        Ok(RmsProp {
            lr: check_lr(WHAT, self.lr)?,
            alpha: check_unit(WHAT, "alpha", self.alpha)?,
            eps: check_eps(WHAT, self.eps)?,
            weight_decay: check_non_negative(WHAT, "weight_decay", self.weight_decay)?,
            momentum: check_unit(WHAT, "momentum", self.momentum)?,
            centered: self.centered,
            state: HashMap::new(),
        })
    }
}

/// The constants of one step.
#[derive(Clone, Copy)]
struct RmsPropStep {
    lr: f64,
    alpha: f64,
    eps: f64,
    weight_decay: f64,
    momentum: f64,
}

impl RmsPropStep {
    fn run<T: Element>(self, p: &mut Tensor, g: &Tensor, st: &mut RmsPropState) -> Result<()> {
        let g = g.as_slice::<T>()?;
        let p = p.as_mut_slice::<T>()?;
        let s = st.square_avg.as_mut_slice::<T>()?;
        // The optional buffers walk along with p, one element per element of p.
        let mut grad_avg = match st.grad_avg.as_mut() {
            Some(t) => Some(t.as_mut_slice::<T>()?.iter_mut()),
            None => None,
        };
        let mut buffer = match st.momentum_buffer.as_mut() {
            Some(t) => Some(t.as_mut_slice::<T>()?.iter_mut()),
            None => None,
        };
        let (lr, wd, eps) = (T::of(self.lr), T::of(self.weight_decay), T::of(self.eps));
        let (alpha, w, mu) = (
            T::of(self.alpha),
            T::of(1.0 - self.alpha),
            T::of(self.momentum),
        );
        for ((p, &g), s) in p.iter_mut().zip(g).zip(s) {
            let d = if self.weight_decay != 0.0 {
                g + wd * *p
            } else {
                g
            };
            *s = *s * alpha + w * d * d;
            let root = match grad_avg.as_mut().and_then(Iterator::next) {
                Some(a) => {
                    *a = lerp(*a, d, w);
                    // square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
                    (*s + -T::one() * *a * *a).sqrt()
                }
                None => s.sqrt(),
            };
            let avg = root + eps;
            match buffer.as_mut().and_then(Iterator::next) {
                Some(b) => {
                    // buf.mul_(momentum).addcdiv_(grad, avg); param.add_(buf, alpha=-lr)
                    *b = *b * mu + d / avg;
                    *p += -lr * *b;
                }
                // param.addcdiv_(grad, avg, value=-lr)
                None => *p += -lr * d / avg,
            }
        }
        Ok(())
    }
}

impl Optimizer for RmsProp {
    fn name(&self) -> &'static str {
        "RmsProp"
    }

    fn step(&mut self, model: &mut dyn Module, grads: &ParamGrads) -> Result<()> {
        let state = &mut self.state;
        check_grads("RmsProp", model, grads, &|id, v| {
            state.get(&id).is_none_or(|s| same_layout(&s.square_avg, v))
        })?;
        let k = RmsPropStep {
            lr: self.lr,
            alpha: self.alpha,
            eps: self.eps,
            weight_decay: self.weight_decay,
            momentum: self.momentum,
        };
        let (centered, momentum) = (self.centered, self.momentum > 0.0);
        for_each_update(model, grads, &mut |id, p, g| {
            let st = state.entry(id).or_insert_with(|| RmsPropState {
                square_avg: p.zeros_like(),
                grad_avg: centered.then(|| p.zeros_like()),
                momentum_buffer: momentum.then(|| p.zeros_like()),
            });
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
        self.lr = check_lr("RmsProp", lr)?;
        Ok(())
    }

    fn reset(&mut self) {
        self.state.clear();
    }
}
