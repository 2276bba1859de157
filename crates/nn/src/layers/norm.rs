//! Normalisation layers: [`LayerNorm`] (over each example's features) and
//! [`BatchNorm1d`] (over the batch, with running statistics), and the [`Norm`] choice
//! of the [`Mlp`](crate::Mlp) builder.

use std::sync::{Mutex, MutexGuard, PoisonError};

use gradflow_autograd::{DType, Tensor, Var};

use crate::{Error, ForwardCtx, Module, Param, Result, Role};

/// Which normalisation an [`Mlp`](crate::Mlp) puts after each hidden linear layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Norm {
    /// [`LayerNorm`] over the layer's outputs.
    Layer,
    /// [`BatchNorm1d`] over the batch.
    Batch,
}

impl std::fmt::Display for Norm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Norm::Layer => "layer norm",
            Norm::Batch => "batch norm",
        })
    }
}

fn check_features(what: &'static str, features: usize) -> Result<()> {
    if features == 0 {
        return Err(Error::config(
            what,
            format!("features must be at least 1 (got {features})"),
        ));
    }
    Ok(())
}

fn check_eps(what: &'static str, eps: f64) -> Result<()> {
    if !(eps.is_finite() && eps >= 0.0) {
        return Err(Error::config(
            what,
            format!("eps must be finite and >= 0 (got {eps})"),
        ));
    }
    Ok(())
}

/// The affine parameters: weight (scale) starting at one and bias starting at zero, as
/// PyTorch initialises them.
fn affine_params(features: usize, affine: bool, dtype: DType) -> (Option<Param>, Option<Param>) {
    if affine {
        (
            Some(Param::new(Tensor::ones([features], dtype))),
            Some(Param::new(Tensor::zeros([features], dtype))),
        )
    } else {
        (None, None)
    }
}

/// `y * weight + bias`, the `[C]` parameters reshaped to `shape` so they broadcast.
fn apply_affine(
    ctx: &mut ForwardCtx<'_>,
    y: Var,
    weight: Option<&Param>,
    bias: Option<&Param>,
    shape: &[usize],
) -> Result<Var> {
    let y = match weight {
        Some(w) => y.mul(&ctx.param(w).reshape(shape)?)?,
        None => y,
    };
    Ok(match bias {
        Some(b) => y.add(&ctx.param(b).reshape(shape)?)?,
        None => y,
    })
}

fn affine_list<'a>(
    weight: Option<&'a Param>,
    bias: Option<&'a Param>,
) -> Vec<(&'static str, &'a Param)> {
    let mut v = Vec::new();
    if let Some(w) = weight {
        v.push(("weight", w));
    }
    if let Some(b) = bias {
        v.push(("bias", b));
    }
    v
}

fn affine_list_mut<'a>(
    weight: Option<&'a mut Param>,
    bias: Option<&'a mut Param>,
) -> Vec<(&'static str, &'a mut Param)> {
    let mut v = Vec::new();
    if let Some(w) = weight {
        v.push(("weight", w));
    }
    if let Some(b) = bias {
        v.push(("bias", b));
    }
    v
}

/// Layer normalisation (Ba, Kiros & Hinton 2016) over the last dimension:
/// `y = (x - mean(x)) / sqrt(var(x) + eps) * weight + bias`, the mean and the biased
/// variance taken over the last dimension of each example, `weight` and `bias` of size
/// `D` (one per feature). The same computation in training and evaluation.
///
/// PyTorch: `nn.LayerNorm(D, eps=1e-5, elementwise_affine=True)`, parameters
/// `"weight"` `[D]` (starting at 1) and `"bias"` `[D]` (starting at 0).
///
/// # Shapes
/// Input `[..., D]` (at least 1-D), output the same.
#[derive(Clone, Debug)]
pub struct LayerNorm {
    features: usize,
    eps: f64,
    weight: Option<Param>,
    bias: Option<Param>,
}

impl LayerNorm {
    /// Normalises `features` values, `eps = 1e-5`, with a learned weight and bias.
    ///
    /// # Errors
    /// [`Error::Config`] for zero features.
    pub fn new(features: usize, dtype: DType) -> Result<LayerNorm> {
        LayerNorm::with_options(features, 1e-5, true, dtype)
    }

    /// Normalises `features` values with the given `eps`, with a learned weight and
    /// bias if `affine`.
    ///
    /// # Errors
    /// [`Error::Config`] for zero features or an `eps` that is negative or not finite.
    pub fn with_options(
        features: usize,
        eps: f64,
        affine: bool,
        dtype: DType,
    ) -> Result<LayerNorm> {
        check_features("LayerNorm", features)?;
        check_eps("LayerNorm", eps)?;
        let (weight, bias) = affine_params(features, affine, dtype);
        Ok(LayerNorm {
            features,
            eps,
            weight,
            bias,
        })
    }

    /// The size `D` of the normalised (last) dimension.
    pub fn features(&self) -> usize {
        self.features
    }

    /// The `eps` added to the variance.
    pub fn eps(&self) -> f64 {
        self.eps
    }

    /// The scale `[D]`, if affine.
    pub fn weight(&self) -> Option<&Param> {
        self.weight.as_ref()
    }

    /// The shift `[D]`, if affine.
    pub fn bias(&self) -> Option<&Param> {
        self.bias.as_ref()
    }
}

impl Module for LayerNorm {
    fn kind(&self) -> &'static str {
        "LayerNorm"
    }

    fn describe(&self) -> String {
        format!(
            "LayerNorm({}, eps {}{})",
            self.features,
            self.eps,
            if self.weight.is_some() {
                ""
            } else {
                ", no affine"
            }
        )
    }

    fn role(&self) -> Role {
        Role::Norm
    }

    fn forward(&self, ctx: &mut ForwardCtx<'_>, x: &Var) -> Result<Var> {
        if x.dims().last() != Some(&self.features) {
            return Err(Error::config(
                "LayerNorm",
                format!(
                    "expects inputs whose last dimension is {}, got {}",
                    self.features,
                    x.shape()
                ),
            ));
        }
        let centred = x.sub(&x.mean(&[-1], true)?)?;
        let std = x.variance(&[-1], true, 0)?.add_scalar(self.eps)?.sqrt()?;
        let y = centred.div(&std)?;
        apply_affine(
            ctx,
            y,
            self.weight.as_ref(),
            self.bias.as_ref(),
            &[self.features],
        )
    }

    fn params(&self) -> Vec<(&'static str, &Param)> {
        affine_list(self.weight.as_ref(), self.bias.as_ref())
    }

    fn params_mut(&mut self) -> Vec<(&'static str, &mut Param)> {
        affine_list_mut(self.weight.as_mut(), self.bias.as_mut())
    }
}

/// The running statistics of a [`BatchNorm1d`].
#[derive(Clone, Debug)]
struct RunningStats {
    mean: Tensor,
    var: Tensor,
    num_batches_tracked: u64,
}

/// Batch normalisation (Ioffe & Szegedy 2015) of `[N, C]` or `[N, C, L]` batches, per
/// channel `C`: `y = (x - mean) / sqrt(var + eps) * weight + bias`.
///
/// - Training mode (the default, as in PyTorch): `mean` and `var` are the batch's,
///   over `N` (and `L`), the variance biased (divided by `n = N L`); gradients flow
///   through them. Each forward pass also updates the running statistics:
///   `running = (1 - momentum) running + momentum batch`, with the *unbiased* batch
///   variance (`n / (n - 1)` times the biased one) for `running_var`, and adds 1 to
///   `num_batches_tracked`. With `momentum = None` the running statistics are the
///   cumulative average over all batches (factor `1 / num_batches_tracked`).
/// - Evaluation mode ([`set_training`](crate::module::set_training) with `false`):
///   `mean` and `var` are the running statistics, constants of the graph.
///
/// PyTorch: `nn.BatchNorm1d(C, eps=1e-5, momentum=0.1, affine=True,
/// track_running_stats=True)`. Parameters `"weight"` `[C]` (starting at 1) and `"bias"`
/// `[C]` (starting at 0); buffers ([`Module::buffers`]) `"running_mean"` `[C]`
/// (starting at 0), `"running_var"` `[C]` (starting at 1) and `"num_batches_tracked"`,
/// PyTorch's names, so that a checkpoint writer can save them. The buffers sit behind a
/// [`Mutex`], because `forward` takes `&self` and must update them in training mode;
/// the running statistics keep the dtype the layer was built with, whatever the input's.
///
/// # Shapes
/// Input `[N, C]` or `[N, C, L]`, output the same.
#[derive(Debug)]
pub struct BatchNorm1d {
    features: usize,
    eps: f64,
    momentum: Option<f64>,
    weight: Option<Param>,
    bias: Option<Param>,
    training: bool,
    stats: Mutex<RunningStats>,
}

impl Clone for BatchNorm1d {
    /// A copy with fresh parameter ids and a copy of the running statistics.
    fn clone(&self) -> BatchNorm1d {
        BatchNorm1d {
            features: self.features,
            eps: self.eps,
            momentum: self.momentum,
            weight: self.weight.clone(),
            bias: self.bias.clone(),
            training: self.training,
            stats: Mutex::new(self.stats().clone()),
        }
    }
}

impl BatchNorm1d {
    /// Normalises `features` channels, `eps = 1e-5`, `momentum = 0.1`, with a learned
    /// weight and bias, in training mode.
    ///
    /// # Errors
    /// [`Error::Config`] for zero features.
    pub fn new(features: usize, dtype: DType) -> Result<BatchNorm1d> {
        BatchNorm1d::with_options(features, 1e-5, Some(0.1), true, dtype)
    }

    /// Normalises `features` channels with the given `eps` and `momentum` (`None` for a
    /// cumulative average), with a learned weight and bias if `affine`.
    ///
    /// # Errors
    /// [`Error::Config`] for zero features, an `eps` that is negative or not finite, or
    /// a momentum outside `[0, 1]`.
    pub fn with_options(
        features: usize,
        eps: f64,
        momentum: Option<f64>,
        affine: bool,
        dtype: DType,
    ) -> Result<BatchNorm1d> {
        check_features("BatchNorm1d", features)?;
        check_eps("BatchNorm1d", eps)?;
        if let Some(m) = momentum
            && !(0.0..=1.0).contains(&m)
        {
            return Err(Error::config(
                "BatchNorm1d",
                format!("momentum must be in [0, 1] (got {m})"),
            ));
        }
        let (weight, bias) = affine_params(features, affine, dtype);
        Ok(BatchNorm1d {
            features,
            eps,
            momentum,
            weight,
            bias,
            training: true,
            stats: Mutex::new(RunningStats {
                mean: Tensor::zeros([features], dtype),
                var: Tensor::ones([features], dtype),
                num_batches_tracked: 0,
            }),
        })
    }

    /// The statistics, even if a thread panicked while holding the lock: every update
    /// replaces whole tensors, so they are never half written.
    fn stats(&self) -> MutexGuard<'_, RunningStats> {
        self.stats.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The number of channels `C`.
    pub fn features(&self) -> usize {
        self.features
    }

    /// The `eps` added to the variance.
    pub fn eps(&self) -> f64 {
        self.eps
    }

    /// The momentum of the running statistics (`None`: cumulative average).
    pub fn momentum(&self) -> Option<f64> {
        self.momentum
    }

    /// Whether the layer is in training mode (batch statistics, running ones updated).
    pub fn is_training(&self) -> bool {
        self.training
    }

    /// The scale `[C]`, if affine.
    pub fn weight(&self) -> Option<&Param> {
        self.weight.as_ref()
    }

    /// The shift `[C]`, if affine.
    pub fn bias(&self) -> Option<&Param> {
        self.bias.as_ref()
    }

    /// The running mean `[C]` (a copy sharing storage).
    pub fn running_mean(&self) -> Tensor {
        self.stats().mean.clone()
    }

    /// The running (unbiased) variance `[C]` (a copy sharing storage).
    pub fn running_var(&self) -> Tensor {
        self.stats().var.clone()
    }

    /// The number of training batches seen.
    pub fn num_batches_tracked(&self) -> u64 {
        self.stats().num_batches_tracked
    }

    /// Replaces the running statistics (loading a checkpoint).
    ///
    /// # Errors
    /// [`Error::Config`] unless both tensors are `[C]`.
    pub fn set_running_stats(
        &mut self,
        mean: Tensor,
        var: Tensor,
        num_batches_tracked: u64,
    ) -> Result<()> {
        for (name, t) in [("running_mean", &mean), ("running_var", &var)] {
            self.check_stat(name, t)?;
        }
        let dtype = self.stats().mean.dtype();
        *self.stats() = RunningStats {
            mean: mean.to_dtype(dtype),
            var: var.to_dtype(dtype),
            num_batches_tracked,
        };
        Ok(())
    }

    fn check_stat(&self, name: &str, t: &Tensor) -> Result<()> {
        if t.dims() != [self.features] {
            return Err(Error::config(
                "BatchNorm1d",
                format!("{name} must be [{}], got {}", self.features, t.shape()),
            ));
        }
        Ok(())
    }

    /// The axes statistics are taken over and the shape `[C]` vectors take to
    /// broadcast, for a checked input.
    fn layout(&self, x: &Var) -> Result<(&'static [isize], Vec<usize>)> {
        match *x.dims() {
            [_, c] if c == self.features => Ok((&[0], vec![1, c])),
            [_, c, _] if c == self.features => Ok((&[0, 2], vec![1, c, 1])),
            _ => Err(Error::config(
                "BatchNorm1d",
                format!(
                    "expects an input [N, {c}] or [N, {c}, L], got {}",
                    x.shape(),
                    c = self.features
                ),
            )),
        }
    }

    /// Folds a batch's mean and biased variance (`[C]`, over `n` values each) into the
    /// running statistics, as PyTorch's `batch_norm` does.
    fn update_running(&self, mean: &Tensor, biased_var: &Tensor, n: usize) -> Result<()> {
        let mut stats = self.stats();
        let dtype = stats.mean.dtype();
        let tracked = stats.num_batches_tracked.saturating_add(1);
        let factor = self.momentum.unwrap_or(1.0 / tracked as f64);
        let unbiased = biased_var.mul_scalar(n as f64 / (n - 1) as f64);
        let blend = |old: &Tensor, new: &Tensor| -> Result<Tensor> {
            Ok(old
                .mul_scalar(1.0 - factor)
                .add(&new.to_dtype(dtype).mul_scalar(factor))?)
        };
        let mean = blend(&stats.mean, mean)?;
        let var = blend(&stats.var, &unbiased)?;
        *stats = RunningStats {
            mean,
            var,
            num_batches_tracked: tracked,
        };
        Ok(())
    }
}

impl Module for BatchNorm1d {
    fn kind(&self) -> &'static str {
        "BatchNorm1d"
    }

    fn describe(&self) -> String {
        let momentum = match self.momentum {
            Some(m) => m.to_string(),
            None => "cumulative".to_string(),
        };
        format!(
            "BatchNorm1d({}, eps {}, momentum {momentum}{})",
            self.features,
            self.eps,
            if self.weight.is_some() {
                ""
            } else {
                ", no affine"
            }
        )
    }

    fn role(&self) -> Role {
        Role::Norm
    }

    fn forward(&self, ctx: &mut ForwardCtx<'_>, x: &Var) -> Result<Var> {
        let (axes, shape) = self.layout(x)?;
        let y = if self.training {
            let n = x.value().numel() / self.features;
            if n <= 1 {
                return Err(Error::config(
                    "BatchNorm1d",
                    format!(
                        "training needs more than one value per channel, got input {}",
                        x.shape()
                    ),
                ));
            }
            let mean = x.mean(axes, true)?;
            let var = x.variance(axes, true, 0)?;
            self.update_running(
                &mean.value().reshape([self.features])?,
                &var.value().reshape([self.features])?,
                n,
            )?;
            x.sub(&mean)?.div(&var.add_scalar(self.eps)?.sqrt()?)?
        } else {
            let (mean, var) = {
                let stats = self.stats();
                (stats.mean.clone(), stats.var.clone())
            };
            let dtype = x.dtype();
            let mean = Var::untracked(mean.to_dtype(dtype).reshape(shape.as_slice())?);
            let std = Var::untracked(
                var.to_dtype(dtype)
                    .add_scalar(self.eps)
                    .sqrt()
                    .reshape(shape.as_slice())?,
            );
            x.sub(&mean)?.div(&std)?
        };
        apply_affine(ctx, y, self.weight.as_ref(), self.bias.as_ref(), &shape)
    }

    fn params(&self) -> Vec<(&'static str, &Param)> {
        affine_list(self.weight.as_ref(), self.bias.as_ref())
    }

    fn params_mut(&mut self) -> Vec<(&'static str, &mut Param)> {
        affine_list_mut(self.weight.as_mut(), self.bias.as_mut())
    }

    fn set_training_self(&mut self, training: bool) {
        self.training = training;
    }

    /// `running_mean` and `running_var` in the layer's dtype, and
    /// `num_batches_tracked` as a 0-D f64 tensor (exact up to 2^53; PyTorch stores an
    /// int64, which a checkpoint writer converts to).
    fn buffers(&self) -> Vec<(&'static str, Tensor)> {
        let stats = self.stats();
        vec![
            ("running_mean", stats.mean.clone()),
            ("running_var", stats.var.clone()),
            (
                "num_batches_tracked",
                Tensor::scalar(stats.num_batches_tracked as f64),
            ),
        ]
    }

    fn set_buffer(&mut self, name: &str, value: Tensor) -> Result<()> {
        match name {
            "running_mean" | "running_var" => {
                self.check_stat(name, &value)?;
                let mut stats = self.stats();
                let value = value.to_dtype(stats.mean.dtype());
                if name == "running_mean" {
                    stats.mean = value;
                } else {
                    stats.var = value;
                }
                Ok(())
            }
            "num_batches_tracked" => {
                let &[n] = value.to_f64_vec().as_slice() else {
                    return Err(Error::config(
                        "BatchNorm1d",
                        format!(
                            "num_batches_tracked must have one element, got shape {}",
                            value.shape()
                        ),
                    ));
                };
                if !(n >= 0.0 && n.fract() == 0.0 && n <= (1u64 << 53) as f64) {
                    return Err(Error::config(
                        "BatchNorm1d",
                        format!("num_batches_tracked must be a whole number >= 0, got {n}"),
                    ));
                }
                self.stats().num_batches_tracked = n as u64;
                Ok(())
            }
            _ => Err(Error::config(
                "BatchNorm1d",
                format!("no buffer named {name:?}"),
            )),
        }
    }
}

#[cfg(test)]
mod tests;
