//! Learning-rate schedules: [`StepLr`] and [`CosineLr`], PyTorch's closed forms.

use std::f64::consts::PI;

use super::{Optimizer, check_lr, check_non_negative};
use crate::{Error, Result};

/// A learning rate as a function of the epoch (the number of [`LrSchedule::step`]
/// calls so far), applied to an optimiser through [`Optimizer::set_lr`].
///
/// As with PyTorch's schedulers, call `step` once per epoch (or per optimiser step,
/// if that is the unit you chose), after the optimiser's step.
pub trait LrSchedule {
    /// The learning rate at `epoch` (epoch 0: the base rate).
    fn lr_at(&self, epoch: usize) -> f64;

    /// The current epoch: how many times [`LrSchedule::step`] has run.
    fn epoch(&self) -> usize;

    /// Advances one epoch, sets the optimiser's learning rate to the new epoch's, and
    /// returns it (PyTorch's `scheduler.step()`).
    ///
    /// # Errors
    /// [`Error::Config`] if the optimiser refuses the rate (it cannot be negative or
    /// infinite for the schedules here, whose settings are checked when built).
    fn step(&mut self, optimizer: &mut dyn Optimizer) -> Result<f64>;
}

/// Step decay: `lr_t = base_lr * gamma^floor(t / step_size)`. PyTorch's
/// `torch.optim.lr_scheduler.StepLR` (`_get_closed_form_lr` in
/// `torch/optim/lr_scheduler.py`; its `step()` multiplies by `gamma` every `step_size`
/// epochs, which is the same up to rounding).
///
/// ```
/// use gradflow_nn::optim::{LrSchedule, StepLr};
/// let s = StepLr::new(0.1, 30, 0.1)?;
/// assert_eq!(s.lr_at(29), 0.1);
/// assert!((s.lr_at(30) - 0.01).abs() < 1e-15);
/// # Ok::<(), gradflow_nn::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct StepLr {
    base_lr: f64,
    step_size: usize,
    gamma: f64,
    epoch: usize,
}

impl StepLr {
    /// Decays `base_lr` (pass the optimiser's `lr()`) by `gamma` every `step_size`
    /// epochs.
    ///
    /// # Errors
    /// [`Error::Config`] naming the value: a negative or non-finite `base_lr` or
    /// `gamma`, or `step_size == 0`.
    pub fn new(base_lr: f64, step_size: usize, gamma: f64) -> Result<StepLr> {
        const WHAT: &str = "StepLr";
        if step_size == 0 {
            return Err(Error::config(WHAT, "step_size must be at least 1, got 0"));
        }
        Ok(StepLr {
            base_lr: check_lr(WHAT, base_lr)?,
            step_size,
            gamma: check_non_negative(WHAT, "gamma", gamma)?,
            epoch: 0,
        })
    }
}

impl LrSchedule for StepLr {
    fn lr_at(&self, epoch: usize) -> f64 {
        self.base_lr * self.gamma.powf((epoch / self.step_size) as f64)
    }

    fn epoch(&self) -> usize {
        self.epoch
    }

    fn step(&mut self, optimizer: &mut dyn Optimizer) -> Result<f64> {
        self.epoch += 1;
        let lr = self.lr_at(self.epoch);
        optimizer.set_lr(lr)?;
        Ok(lr)
    }
}

/// Cosine annealing (Loshchilov & Hutter 2017, without restarts):
/// `lr_t = eta_min + (base_lr - eta_min) (1 + cos(pi t / t_max)) / 2`, from `base_lr` at
/// `t = 0` down to `eta_min` at `t = t_max` (and back up after, as a cosine does).
/// PyTorch's `torch.optim.lr_scheduler.CosineAnnealingLR` (`_get_closed_form_lr` in
/// `torch/optim/lr_scheduler.py`; its `step()` uses an equivalent recursive form,
/// which agrees to rounding).
///
/// ```
/// use gradflow_nn::optim::{CosineLr, LrSchedule};
/// let s = CosineLr::new(0.1, 10, 0.0)?;
/// assert!((s.lr_at(5) - 0.05).abs() < 1e-15);
/// assert_eq!(s.lr_at(10), 0.0);
/// # Ok::<(), gradflow_nn::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct CosineLr {
    base_lr: f64,
    t_max: usize,
    eta_min: f64,
    epoch: usize,
}

impl CosineLr {
    /// Anneals `base_lr` (pass the optimiser's `lr()`) to `eta_min` over `t_max` epochs.
    ///
    /// # Errors
    /// [`Error::Config`] naming the value: a negative or non-finite `base_lr` or
    /// `eta_min`, or `t_max == 0`.
    pub fn new(base_lr: f64, t_max: usize, eta_min: f64) -> Result<CosineLr> {
        const WHAT: &str = "CosineLr";
        if t_max == 0 {
            return Err(Error::config(WHAT, "t_max must be at least 1, got 0"));
        }
        Ok(CosineLr {
            base_lr: check_lr(WHAT, base_lr)?,
            t_max,
            eta_min: check_non_negative(WHAT, "eta_min", eta_min)?,
            epoch: 0,
        })
    }
}

impl LrSchedule for CosineLr {
    fn lr_at(&self, epoch: usize) -> f64 {
        let cos = (PI * epoch as f64 / self.t_max as f64).cos();
        self.eta_min + (self.base_lr - self.eta_min) * (1.0 + cos) / 2.0
    }

    fn epoch(&self) -> usize {
        self.epoch
    }

    fn step(&mut self, optimizer: &mut dyn Optimizer) -> Result<f64> {
        self.epoch += 1;
        let lr = self.lr_at(self.epoch);
        optimizer.set_lr(lr)?;
        Ok(lr)
    }
}
