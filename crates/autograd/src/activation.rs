//! [`Activation`]: every activation function by name, with the facts about each that
//! the docs and charts print.
//!
//! ```
//! use gradflow_autograd::{Activation, Tape, Tensor};
//! let act: Activation = "leaky_relu:0.1".parse()?;
//! assert_eq!(act.to_string(), "leaky_relu:0.1");
//! let tape = Tape::new();
//! let x = tape.var(Tensor::from_vec(vec![-2.0f64, 3.0], &[2])?);
//! let y = act.apply(&x)?;
//! assert_eq!(y.value().to_vec::<f64>()?, vec![-0.2, 3.0]);
//! assert_eq!(Activation::Sigmoid.info().max_derivative, 0.25);
//! # Ok::<(), gradflow_autograd::Error>(())
//! ```

use std::fmt;
use std::str::FromStr;

use crate::ops::activation::selu::{SELU_ALPHA, SELU_LAMBDA};
use crate::{Error, Result, Tensor, Var};

/// The relative part of [`Activation::derivative_estimate`]'s error bound.
pub const DERIVATIVE_ESTIMATE_REL: f64 = 1e-8;

/// The absolute part of [`Activation::derivative_estimate`]'s error bound.
pub const DERIVATIVE_ESTIMATE_ABS: f64 = 1e-12;

/// An activation function, with its parameters.
///
/// Parsed from and printed as `name` or `name:parameter`: `"sigmoid"`,
/// `"leaky_relu:0.01"`, `"swish:1.5"`, `"elu:1.0"`, `"softmax:-1"` (the axis).
/// A missing parameter takes the default shown in [`Activation::all`].
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Activation {
    /// `x` (also parsed from `"linear"`).
    Identity,
    /// `1 / (1 + e^-x)`.
    Sigmoid,
    /// `tanh x`.
    Tanh,
    /// `max(x, 0)`.
    Relu,
    /// `x` for `x > 0`, else `slope * x`.
    LeakyRelu {
        /// Slope for negative inputs (default 0.01).
        slope: f64,
    },
    /// Parametric ReLU. As an `Activation` the slope is the fixed `init`; the nn crate's
    /// `PRelu` layer learns it.
    PRelu {
        /// Initial (here: fixed) slope (default 0.25, as PyTorch).
        init: f64,
    },
    /// `x` for `x > 0`, else `alpha (e^x - 1)`.
    Elu {
        /// Scale of the negative branch (default 1).
        alpha: f64,
    },
    /// Self-normalising ELU with Klambauer et al.'s constants.
    Selu,
    /// Continuously differentiable ELU.
    Celu {
        /// Scale of the negative branch (default 1).
        alpha: f64,
    },
    /// Exact GELU, `x Phi(x)`.
    Gelu,
    /// GELU, tanh approximation.
    GeluTanh,
    /// `x sigma(x)`.
    Silu,
    /// `x sigma(beta x)`.
    Swish {
        /// Steepness (default 1, which is SiLU).
        beta: f64,
    },
    /// `x tanh(softplus(x))`.
    Mish,
    /// `ln(1 + e^(beta x)) / beta`.
    Softplus {
        /// Sharpness (default 1).
        beta: f64,
    },
    /// `x / (1 + |x|)`.
    Softsign,
    /// `clamp(x, -1, 1)`.
    Hardtanh,
    /// `relu6(x + 3) / 6`.
    Hardsigmoid,
    /// `x relu6(x + 3) / 6`.
    Hardswish,
    /// `ln sigma(x)`.
    LogSigmoid,
    /// `min(max(x, 0), 6)`.
    Relu6,
    /// Softmax along an axis.
    Softmax {
        /// The axis (default -1, the last).
        axis: isize,
    },
    /// Log-softmax along an axis.
    LogSoftmax {
        /// The axis (default -1, the last).
        axis: isize,
    },
}

/// Facts about an activation function, for docs, charts and reports.
#[derive(Clone, Debug, PartialEq)]
pub struct ActivationInfo {
    /// The formula, in plain text.
    pub formula: &'static str,
    /// Lower end of the output range (may be `-inf`).
    pub range_min: f64,
    /// Upper end of the output range (may be `inf`).
    pub range_max: f64,
    /// Whether the function is odd (`f(-x) = -f(x)`): outputs symmetric around zero,
    /// mean zero for inputs symmetric around zero.
    pub zero_centred: bool,
    /// Whether the function is non-decreasing.
    pub monotonic: bool,
    /// Whether the output is bounded above.
    pub bounded_above: bool,
    /// Whether the output is bounded below.
    pub bounded_below: bool,
    /// Whether the function is continuously differentiable (no kink).
    pub smooth: bool,
    /// The supremum of `|f'|` over the real line (for softmax, of the diagonal of the
    /// Jacobian): sigmoid 1/4, tanh 1. A product of these per layer bounds how fast a
    /// gradient can shrink.
    pub max_derivative: f64,
    /// `f'(0)`, with PyTorch's choice at kinks; `None` for softmax and log-softmax.
    pub derivative_at_zero: Option<f64>,
    /// The paper that introduced or popularised it for neural networks.
    pub source: &'static str,
}

impl Activation {
    /// Every activation, each with its default parameters.
    pub fn all() -> impl Iterator<Item = Activation> {
        [
            Activation::Identity,
            Activation::Sigmoid,
            Activation::Tanh,
            Activation::Relu,
            Activation::LeakyRelu { slope: 0.01 },
            Activation::PRelu { init: 0.25 },
            Activation::Elu { alpha: 1.0 },
            Activation::Selu,
            Activation::Celu { alpha: 1.0 },
            Activation::Gelu,
            Activation::GeluTanh,
            Activation::Silu,
            Activation::Swish { beta: 1.0 },
            Activation::Mish,
            Activation::Softplus { beta: 1.0 },
            Activation::Softsign,
            Activation::Hardtanh,
            Activation::Hardsigmoid,
            Activation::Hardswish,
            Activation::LogSigmoid,
            Activation::Relu6,
            Activation::Softmax { axis: -1 },
            Activation::LogSoftmax { axis: -1 },
        ]
        .into_iter()
    }

    /// The name without parameters (`"leaky_relu"`).
    pub fn name(&self) -> &'static str {
        match self {
            Activation::Identity => "identity",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Relu => "relu",
            Activation::LeakyRelu { .. } => "leaky_relu",
            Activation::PRelu { .. } => "prelu",
            Activation::Elu { .. } => "elu",
            Activation::Selu => "selu",
            Activation::Celu { .. } => "celu",
            Activation::Gelu => "gelu",
            Activation::GeluTanh => "gelu_tanh",
            Activation::Silu => "silu",
            Activation::Swish { .. } => "swish",
            Activation::Mish => "mish",
            Activation::Softplus { .. } => "softplus",
            Activation::Softsign => "softsign",
            Activation::Hardtanh => "hardtanh",
            Activation::Hardsigmoid => "hardsigmoid",
            Activation::Hardswish => "hardswish",
            Activation::LogSigmoid => "log_sigmoid",
            Activation::Relu6 => "relu6",
            Activation::Softmax { .. } => "softmax",
            Activation::LogSoftmax { .. } => "log_softmax",
        }
    }

    /// The valid names, comma-separated, for error messages and `--help`.
    pub fn valid_names() -> String {
        let names: Vec<&str> = Activation::all().map(|a| a.name()).collect();
        format!(
            "{} (and linear for identity; parameters as name:value, e.g. leaky_relu:0.01)",
            names.join(", ")
        )
    }

    /// Whether the function acts on each element alone (all but softmax and
    /// log-softmax).
    pub fn is_pointwise(&self) -> bool {
        !matches!(
            self,
            Activation::Softmax { .. } | Activation::LogSoftmax { .. }
        )
    }

    /// Checks the parameter, as parsing does.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the activation and the bad value.
    pub fn validate(&self) -> Result<()> {
        let bad =
            |what: &str, v: f64| Err(Error::invalid(self.name(), format!("{what} (got {v})")));
        match *self {
            Activation::LeakyRelu { slope } if !slope.is_finite() => {
                bad("the slope must be finite", slope)
            }
            Activation::PRelu { init } if !init.is_finite() => {
                bad("the slope must be finite", init)
            }
            Activation::Elu { alpha } if !alpha.is_finite() => bad("alpha must be finite", alpha),
            Activation::Celu { alpha } if !alpha.is_finite() || alpha == 0.0 => {
                bad("alpha must be finite and non-zero", alpha)
            }
            Activation::Swish { beta } if !beta.is_finite() => bad("beta must be finite", beta),
            Activation::Softplus { beta } if !(beta.is_finite() && beta > 0.0) => {
                bad("beta must be finite and > 0", beta)
            }
            _ => Ok(()),
        }
    }

    /// Applies the activation to a Var: one recorded node (PReLU with its fixed slope).
    ///
    /// # Errors
    /// A bad parameter ([`Error::InvalidArgument`]), an axis out of range (softmax), or
    /// the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn apply(&self, x: &Var) -> Result<Var> {
        match *self {
            Activation::Identity => x.identity(),
            Activation::Sigmoid => x.sigmoid(),
            Activation::Tanh => x.tanh(),
            Activation::Relu => x.relu(),
            Activation::LeakyRelu { slope } => x.leaky_relu(slope),
            Activation::PRelu { init } => {
                self.validate()?;
                x.prelu(&Var::untracked(Tensor::scalar(init).to_dtype(x.dtype())))
            }
            Activation::Elu { alpha } => x.elu(alpha),
            Activation::Selu => x.selu(),
            Activation::Celu { alpha } => x.celu(alpha),
            Activation::Gelu => x.gelu(),
            Activation::GeluTanh => x.gelu_tanh(),
            Activation::Silu => x.silu(),
            Activation::Swish { beta } => x.swish(beta),
            Activation::Mish => x.mish(),
            Activation::Softplus { beta } => x.softplus(beta),
            Activation::Softsign => x.softsign(),
            Activation::Hardtanh => x.hardtanh(),
            Activation::Hardsigmoid => x.hardsigmoid(),
            Activation::Hardswish => x.hardswish(),
            Activation::LogSigmoid => x.log_sigmoid(),
            Activation::Relu6 => x.relu6(),
            Activation::Softmax { axis } => x.softmax(axis),
            Activation::LogSoftmax { axis } => x.log_softmax(axis),
        }
    }

    /// Applies the activation to a tensor (plain maths, nothing recorded).
    ///
    /// # Errors
    /// A bad parameter, or an axis out of range (softmax).
    pub fn apply_tensor(&self, x: &Tensor) -> Result<Tensor> {
        Ok(match *self {
            Activation::Identity => x.identity(),
            Activation::Sigmoid => x.sigmoid(),
            Activation::Tanh => x.tanh(),
            Activation::Relu => x.relu(),
            Activation::LeakyRelu { slope } => x.leaky_relu(slope)?,
            Activation::PRelu { init } => {
                self.validate()?;
                x.prelu(&Tensor::scalar(init).to_dtype(x.dtype()))?
            }
            Activation::Elu { alpha } => x.elu(alpha)?,
            Activation::Selu => x.selu(),
            Activation::Celu { alpha } => x.celu(alpha)?,
            Activation::Gelu => x.gelu(),
            Activation::GeluTanh => x.gelu_tanh(),
            Activation::Silu => x.silu(),
            Activation::Swish { beta } => x.swish(beta)?,
            Activation::Mish => x.mish(),
            Activation::Softplus { beta } => x.softplus(beta)?,
            Activation::Softsign => x.softsign(),
            Activation::Hardtanh => x.hardtanh(),
            Activation::Hardsigmoid => x.hardsigmoid(),
            Activation::Hardswish => x.hardswish(),
            Activation::LogSigmoid => x.log_sigmoid(),
            Activation::Relu6 => x.relu6(),
            Activation::Softmax { axis } => x.softmax(axis)?,
            Activation::LogSoftmax { axis } => x.log_softmax(axis)?,
        })
    }

    /// The inputs where the function or its derivative has a kink (a jump in `f'` or
    /// `f''`), where numerical integration and finite differences need care.
    pub fn kinks(&self) -> Vec<f64> {
        match *self {
            Activation::Relu
            | Activation::LeakyRelu { .. }
            | Activation::PRelu { .. }
            | Activation::Elu { .. }
            | Activation::Selu
            | Activation::Celu { .. }
            | Activation::Softsign => vec![0.0],
            Activation::Hardtanh => vec![-1.0, 1.0],
            Activation::Hardsigmoid | Activation::Hardswish => vec![-3.0, 3.0],
            Activation::Relu6 => vec![0.0, 6.0],
            _ => Vec::new(),
        }
    }

    /// `f'(x)` elementwise, computed by the engine (one backward pass through the
    /// activation's node, which runs its fused derivative kernel).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for softmax and log-softmax (their derivative is a
    /// Jacobian, not elementwise) and for a bad parameter.
    pub fn derivative(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.derivatives(x, 1)?.remove(0))
    }

    /// An estimate of `f'(x)` elementwise for an f64 tensor, several times cheaper than
    /// [`Activation::derivative`]: the vectorised kernel of the f32 path, evaluated in
    /// f64 without the final rounding to f32. For a caller that only compares `f'(x)`
    /// with thresholds (the probes' dead and saturated units) and evaluates exactly the
    /// few values whose estimate is too close to one to decide.
    ///
    /// Where it is `Some`, each element `e` of the estimate and `d` of the exact
    /// derivative satisfy `|e - d| <= DERIVATIVE_ESTIMATE_REL * |d| +
    /// DERIVATIVE_ESTIMATE_ABS`, and `e` is NaN exactly where `d` is (a test holds every
    /// activation with such a kernel to that bound, on random and extreme inputs). The
    /// absolute term covers the slopes that cancel (silu's and gelu_tanh's pass through
    /// zero) and those that underflow (sigmoid's beyond `|x| = 745`).
    ///
    /// `None` for an activation without a vectorised kernel or whose exact derivative is
    /// a comparison (relu, leaky_relu: nothing to save, and their exact zeros would all
    /// be too close to 0 to decide), and for a tensor that is not f64 (an f32 tensor's
    /// [`Activation::derivative`] already takes this path).
    ///
    /// ```
    /// use gradflow_autograd::{Activation, DERIVATIVE_ESTIMATE_ABS, DERIVATIVE_ESTIMATE_REL, Tensor};
    /// let x = Tensor::from_vec(vec![-3.0f64, 0.25, 8.0], &[3])?;
    /// let estimate = Activation::Tanh.derivative_estimate(&x).expect("tanh has a vectorised kernel");
    /// let exact = Activation::Tanh.derivative(&x)?;
    /// for (e, d) in estimate.to_vec::<f64>()?.iter().zip(exact.to_vec::<f64>()?) {
    ///     assert!((e - d).abs() <= DERIVATIVE_ESTIMATE_REL * d.abs() + DERIVATIVE_ESTIMATE_ABS);
    /// }
    /// # Ok::<(), gradflow_autograd::Error>(())
    /// ```
    pub fn derivative_estimate(&self, x: &Tensor) -> Option<Tensor> {
        use crate::ops::activation::{self as k, pointwise_slope_estimate as e};
        self.validate().ok()?;
        match *self {
            Activation::Sigmoid => e(x, k::sigmoid::Sigmoid),
            Activation::Tanh => e(x, k::tanh::Tanh),
            Activation::Elu { alpha } => e(x, k::elu::Elu { alpha }),
            Activation::GeluTanh => e(x, k::gelu_tanh::GeluTanh),
            Activation::Silu => e(x, k::silu::Silu),
            Activation::Softplus { beta } => e(x, k::softplus::Softplus { beta }),
            _ => None,
        }
    }

    /// `f'(x)` elementwise given `y = f(x)` as this activation computed it (a layer's
    /// output), without evaluating `f` again: the derivative kernel that the backward
    /// pass runs, so the values are those of [`Activation::derivative`] bit for bit, at
    /// the cost of one pass. PReLU (whose layer output depends on its learned slope,
    /// not on `init`) ignores `y` and is computed as [`Activation::derivative`] does.
    ///
    /// ```
    /// use gradflow_autograd::{Activation, Tensor};
    /// let x = Tensor::from_vec(vec![-1.0f64, 0.5, 3.0], &[3])?;
    /// let y = Activation::Tanh.apply_tensor(&x)?;
    /// let d = Activation::Tanh.derivative_given_output(&x, &y)?;
    /// assert_eq!(d.to_vec::<f64>()?, Activation::Tanh.derivative(&x)?.to_vec::<f64>()?);
    /// # Ok::<(), gradflow_autograd::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Activation::derivative`]; [`Error::Shape`] if `x` and `y` differ in shape.
    pub fn derivative_given_output(&self, x: &Tensor, y: &Tensor) -> Result<Tensor> {
        use crate::ops::activation::{self as k, pointwise_derivative as d};
        self.validate()?;
        match *self {
            Activation::Identity => d(x, y, k::identity::Identity, 1),
            Activation::Sigmoid => d(x, y, k::sigmoid::Sigmoid, 1),
            Activation::Tanh => d(x, y, k::tanh::Tanh, 1),
            Activation::Relu => d(x, y, k::relu::Relu, 1),
            Activation::LeakyRelu { slope } => d(x, y, k::leaky_relu::LeakyRelu { slope }, 1),
            Activation::Elu { alpha } => d(x, y, k::elu::Elu { alpha }, 1),
            Activation::Selu => d(x, y, k::selu::Selu, 1),
            Activation::Celu { alpha } => d(x, y, k::celu::Celu { alpha }, 1),
            Activation::Gelu => d(x, y, k::gelu::Gelu, 1),
            Activation::GeluTanh => d(x, y, k::gelu_tanh::GeluTanh, 1),
            Activation::Silu => d(x, y, k::silu::Silu, 1),
            Activation::Swish { beta } => d(x, y, k::swish::Swish { beta }, 1),
            Activation::Mish => d(x, y, k::mish::Mish, 1),
            Activation::Softplus { beta } => d(x, y, k::softplus::Softplus { beta }, 1),
            Activation::Softsign => d(x, y, k::softsign::Softsign, 1),
            Activation::Hardtanh => d(x, y, k::hardtanh::Hardtanh, 1),
            Activation::Hardsigmoid => d(x, y, k::hardsigmoid::Hardsigmoid, 1),
            Activation::Hardswish => d(x, y, k::hardswish::Hardswish, 1),
            Activation::LogSigmoid => d(x, y, k::log_sigmoid::LogSigmoid, 1),
            Activation::Relu6 => d(x, y, k::relu6::Relu6, 1),
            Activation::PRelu { .. }
            | Activation::Softmax { .. }
            | Activation::LogSoftmax { .. } => self.derivative(x),
        }
    }

    /// `f'(x)` and `f''(x)` elementwise, computed by the engine (a recorded backward,
    /// then the backward of that).
    ///
    /// # Errors
    /// As [`Activation::derivative`].
    pub fn second_derivative(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let mut d = self.derivatives(x, 2)?;
        let second = d.remove(1);
        Ok((d.remove(0), second))
    }

    fn derivatives(&self, x: &Tensor, order: usize) -> Result<Vec<Tensor>> {
        if !self.is_pointwise() {
            return Err(Error::invalid(
                self.name(),
                "the derivative of a vector function is a Jacobian; use Tape::vjp",
            ));
        }
        let tape = crate::Tape::new();
        let xv = tape.var(x.clone());
        let y = self.apply(&xv)?.sum_all()?;
        let d1 = tape.grad(&y, &[&xv], order > 1)?.remove(0);
        let mut out = vec![d1.value().clone()];
        if order > 1 {
            out.push(
                tape.grad(&d1.sum_all()?, &[&xv], false)?
                    .remove(0)
                    .into_value(),
            );
        }
        Ok(out)
    }

    /// Facts about the function (with its parameters).
    pub fn info(&self) -> ActivationInfo {
        let inf = f64::INFINITY;
        let info = |formula,
                    (range_min, range_max): (f64, f64),
                    zero_centred,
                    monotonic,
                    smooth,
                    max_derivative,
                    derivative_at_zero,
                    source| ActivationInfo {
            formula,
            range_min,
            range_max,
            zero_centred,
            monotonic,
            bounded_above: range_max.is_finite(),
            bounded_below: range_min.is_finite(),
            smooth,
            max_derivative,
            derivative_at_zero,
            source,
        };
        match *self {
            Activation::Identity => info(
                "x",
                (-inf, inf),
                true,
                true,
                true,
                1.0,
                Some(1.0),
                "the linear output unit of regression",
            ),
            Activation::Sigmoid => info(
                "1 / (1 + exp(-x))",
                (0.0, 1.0),
                false,
                true,
                true,
                0.25,
                Some(0.25),
                "Rumelhart, Hinton & Williams 1986",
            ),
            Activation::Tanh => info(
                "tanh(x)",
                (-1.0, 1.0),
                true,
                true,
                true,
                1.0,
                Some(1.0),
                "LeCun et al. 1998, Efficient BackProp",
            ),
            Activation::Relu => info(
                "max(x, 0)",
                (0.0, inf),
                false,
                true,
                false,
                1.0,
                Some(0.0),
                "Nair & Hinton 2010; Glorot, Bordes & Bengio 2011",
            ),
            Activation::LeakyRelu { slope } | Activation::PRelu { init: slope } => info(
                if matches!(self, Activation::PRelu { .. }) {
                    "x if x > 0 else a x (a learned)"
                } else {
                    "x if x > 0 else slope x"
                },
                if slope >= 0.0 {
                    (-inf, inf)
                } else {
                    (0.0, inf)
                },
                false,
                slope >= 0.0,
                slope == 1.0,
                slope.abs().max(1.0),
                Some(slope),
                if matches!(self, Activation::PRelu { .. }) {
                    "He et al. 2015"
                } else {
                    "Maas, Hannun & Ng 2013"
                },
            ),
            Activation::Elu { alpha } => info(
                "x if x > 0 else alpha (exp(x) - 1)",
                (if alpha >= 0.0 { -alpha } else { -inf }, inf),
                false,
                alpha >= 0.0,
                alpha == 1.0,
                alpha.abs().max(1.0),
                Some(alpha),
                "Clevert, Unterthiner & Hochreiter 2016",
            ),
            Activation::Selu => info(
                "lambda x if x > 0 else lambda alpha (exp(x) - 1)",
                (-SELU_LAMBDA * SELU_ALPHA, inf),
                false,
                true,
                false,
                SELU_LAMBDA * SELU_ALPHA,
                Some(SELU_LAMBDA * SELU_ALPHA),
                "Klambauer et al. 2017",
            ),
            Activation::Celu { alpha } => info(
                "x if x > 0 else alpha (exp(x / alpha) - 1)",
                (if alpha > 0.0 { -alpha } else { -inf }, inf),
                false,
                alpha > 0.0,
                true,
                if alpha > 0.0 { 1.0 } else { inf },
                Some(1.0),
                "Barron 2017",
            ),
            Activation::Gelu => info(
                "x Phi(x)",
                (GELU_MIN, inf),
                false,
                false,
                true,
                GELU_MAX_SLOPE,
                Some(0.5),
                "Hendrycks & Gimpel 2016",
            ),
            Activation::GeluTanh => info(
                "x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))",
                (GELU_TANH_MIN, inf),
                false,
                false,
                true,
                GELU_TANH_MAX_SLOPE,
                Some(0.5),
                "Hendrycks & Gimpel 2016",
            ),
            Activation::Silu | Activation::Swish { beta: 1.0 } => info(
                "x sigmoid(x)",
                (SILU_MIN, inf),
                false,
                false,
                true,
                SILU_MAX_SLOPE,
                Some(0.5),
                if matches!(self, Activation::Silu) {
                    "Elfwing, Uchibe & Doya 2018"
                } else {
                    "Ramachandran, Zoph & Le 2017"
                },
            ),
            Activation::Swish { beta } => info(
                "x sigmoid(beta x)",
                if beta > 0.0 {
                    (SILU_MIN / beta, inf)
                } else if beta == 0.0 {
                    (-inf, inf)
                } else {
                    (-inf, -SILU_MIN / beta)
                },
                false,
                beta == 0.0,
                true,
                // f'(x) = h(beta x) with h(u) = sigma(u) + u sigma'(u), for any beta != 0.
                if beta == 0.0 { 0.5 } else { SILU_MAX_SLOPE },
                Some(0.5),
                "Ramachandran, Zoph & Le 2017",
            ),
            Activation::Mish => info(
                "x tanh(softplus(x))",
                (MISH_MIN, inf),
                false,
                false,
                true,
                MISH_MAX_SLOPE,
                Some(0.6),
                "Misra 2019",
            ),
            Activation::Softplus { .. } => info(
                "ln(1 + exp(beta x)) / beta",
                (0.0, inf),
                false,
                true,
                true,
                1.0,
                Some(0.5),
                "Dugas et al. 2001",
            ),
            Activation::Softsign => info(
                "x / (1 + |x|)",
                (-1.0, 1.0),
                true,
                true,
                true,
                1.0,
                Some(1.0),
                "Bergstra et al. 2009; Glorot & Bengio 2010",
            ),
            Activation::Hardtanh => info(
                "clamp(x, -1, 1)",
                (-1.0, 1.0),
                true,
                true,
                false,
                1.0,
                Some(1.0),
                "Collobert 2004",
            ),
            Activation::Hardsigmoid => info(
                "clamp(x / 6 + 1/2, 0, 1)",
                (0.0, 1.0),
                false,
                true,
                false,
                1.0 / 6.0,
                Some(1.0 / 6.0),
                "Courbariaux, Bengio & David 2015",
            ),
            Activation::Hardswish => info(
                "x clamp(x / 6 + 1/2, 0, 1)",
                (-0.375, inf),
                false,
                false,
                false,
                1.5,
                Some(0.5),
                "Howard et al. 2019 (MobileNetV3)",
            ),
            Activation::LogSigmoid => info(
                "ln sigmoid(x)",
                (-inf, 0.0),
                false,
                true,
                true,
                1.0,
                Some(0.5),
                "the log-likelihood of a logistic output",
            ),
            Activation::Relu6 => info(
                "min(max(x, 0), 6)",
                (0.0, 6.0),
                false,
                true,
                false,
                1.0,
                Some(0.0),
                "Krizhevsky 2010",
            ),
            Activation::Softmax { .. } => info(
                "exp(x_i) / sum_j exp(x_j)",
                (0.0, 1.0),
                false,
                true,
                true,
                0.25,
                None,
                "Bridle 1990",
            ),
            Activation::LogSoftmax { .. } => info(
                "x_i - ln sum_j exp(x_j)",
                (-inf, 0.0),
                false,
                true,
                true,
                1.0,
                None,
                "Bridle 1990",
            ),
        }
    }
}

// Extremes of the smooth non-monotonic activations: the roots of f' (minimum) and f''
// (steepest slope), found with mpmath's findroot at 40 digits (values at the x shown).
// The tests re-derive each by scanning the engine's kernels.
/// min of gelu, at x = -0.7517915247.
const GELU_MIN: f64 = -0.169_971_207_479_903_66;
/// max of gelu', at x = sqrt 2.
const GELU_MAX_SLOPE: f64 = 1.128_904_145_185_154_8;
/// min of gelu_tanh, at x = -0.7524614221.
const GELU_TANH_MIN: f64 = -0.170_040_750_571_254_05;
/// max of gelu_tanh', at x = 1.418504009.
const GELU_TANH_MAX_SLOPE: f64 = 1.128_993_068_658_771_8;
/// min of silu, at x = -1.278464543.
const SILU_MIN: f64 = -0.278_464_542_761_073_8;
/// max of silu', at x = 2.399357281.
const SILU_MAX_SLOPE: f64 = 1.099_839_320_128_867;
/// min of mish, at x = -1.192431215.
const MISH_MIN: f64 = -0.308_843_413_017_250_4;
/// max of mish', at x = 1.490571179.
const MISH_MAX_SLOPE: f64 = 1.088_498_161_251_728;

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Activation::LeakyRelu { slope } => write!(f, "leaky_relu:{slope}"),
            Activation::PRelu { init } => write!(f, "prelu:{init}"),
            Activation::Elu { alpha } => write!(f, "elu:{alpha}"),
            Activation::Celu { alpha } => write!(f, "celu:{alpha}"),
            Activation::Swish { beta } => write!(f, "swish:{beta}"),
            Activation::Softplus { beta } => write!(f, "softplus:{beta}"),
            Activation::Softmax { axis } => write!(f, "softmax:{axis}"),
            Activation::LogSoftmax { axis } => write!(f, "log_softmax:{axis}"),
            _ => f.write_str(self.name()),
        }
    }
}

impl FromStr for Activation {
    type Err = Error;

    fn from_str(s: &str) -> Result<Activation> {
        let text = s.trim();
        let (name, param) = match text.split_once(':') {
            Some((n, p)) => (n.trim(), Some(p.trim())),
            None => (text, None),
        };
        let parse_err = |reason: String| Error::Parse {
            what: "activation",
            input: s.to_string(),
            reason,
            valid: Activation::valid_names(),
        };
        let number = |default: f64| -> Result<f64> {
            match param {
                None => Ok(default),
                Some(p) => p
                    .parse::<f64>()
                    .map_err(|_| parse_err(format!("parameter {p:?} is not a number"))),
            }
        };
        let axis = || -> Result<isize> {
            match param {
                None => Ok(-1),
                Some(p) => p
                    .parse::<isize>()
                    .map_err(|_| parse_err(format!("axis {p:?} is not an integer"))),
            }
        };
        let no_param = |a: Activation| -> Result<Activation> {
            match param {
                None => Ok(a),
                Some(p) => Err(parse_err(format!("{name} takes no parameter (got {p:?})"))),
            }
        };
        let act = match name.to_ascii_lowercase().replace('-', "_").as_str() {
            "identity" | "linear" => no_param(Activation::Identity)?,
            "sigmoid" | "logistic" => no_param(Activation::Sigmoid)?,
            "tanh" => no_param(Activation::Tanh)?,
            "relu" => no_param(Activation::Relu)?,
            "leaky_relu" | "leakyrelu" => Activation::LeakyRelu {
                slope: number(0.01)?,
            },
            "prelu" => Activation::PRelu {
                init: number(0.25)?,
            },
            "elu" => Activation::Elu {
                alpha: number(1.0)?,
            },
            "selu" => no_param(Activation::Selu)?,
            "celu" => Activation::Celu {
                alpha: number(1.0)?,
            },
            "gelu" => no_param(Activation::Gelu)?,
            "gelu_tanh" => no_param(Activation::GeluTanh)?,
            "silu" => no_param(Activation::Silu)?,
            "swish" => Activation::Swish { beta: number(1.0)? },
            "mish" => no_param(Activation::Mish)?,
            "softplus" => Activation::Softplus { beta: number(1.0)? },
            "softsign" => no_param(Activation::Softsign)?,
            "hardtanh" => no_param(Activation::Hardtanh)?,
            "hardsigmoid" => no_param(Activation::Hardsigmoid)?,
            "hardswish" => no_param(Activation::Hardswish)?,
            "log_sigmoid" | "logsigmoid" => no_param(Activation::LogSigmoid)?,
            "relu6" => no_param(Activation::Relu6)?,
            "softmax" => Activation::Softmax { axis: axis()? },
            "log_softmax" | "logsoftmax" => Activation::LogSoftmax { axis: axis()? },
            _ => return Err(parse_err("unknown activation".into())),
        };
        act.validate().map_err(|e| parse_err(e.to_string()))?;
        Ok(act)
    }
}

impl serde::Serialize for Activation {
    /// Serialised as its string form (`Display`), which `FromStr` reads back.
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Activation {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::t64;
    use crate::{DType, Tape};

    /// Every activation with a vectorised kernel keeps its estimate of `f'(x)` within
    /// the stated bound of the exact derivative, NaN where it is NaN, on random inputs
    /// at several scales, a dense sweep, the zeros of silu's and gelu_tanh's slopes and
    /// their neighbours, and the extremes where exponentials underflow or overflow.
    #[test]
    fn derivative_estimates_are_within_their_stated_bound() {
        let mut xs: Vec<f64> = Vec::new();
        for (scale, seed) in [(1.0, 1), (4.0, 2), (30.0, 3), (400.0, 4)] {
            xs.extend(
                Tensor::randn([4096], DType::F64, seed)
                    .mul_scalar(scale)
                    .to_vec::<f64>()
                    .unwrap_or_default(),
            );
        }
        xs.extend((-40_000..=40_000).map(|i| f64::from(i) * 1e-3));
        for root in [-1.278_464_542_761_074, -0.751_791_524_693_564_5] {
            let mut x: f64 = root;
            xs.push(x);
            for _ in 0..64 {
                x = x.next_up();
                xs.push(x);
            }
            x = root;
            for _ in 0..64 {
                x = x.next_down();
                xs.push(x);
            }
        }
        for v in [
            0.0,
            -0.0,
            1e-300,
            5e-324,
            1e-8,
            17.3,
            36.8,
            354.0,
            372.0,
            700.0,
            708.0,
            709.5,
            745.0,
            746.0,
            800.0,
            1e10,
            1e300,
            f64::MAX,
            f64::INFINITY,
            f64::NAN,
        ] {
            xs.extend([v, -v]);
        }
        let x = Tensor::from_vec(xs.clone(), [xs.len()]).unwrap_or_else(|e| panic!("{e}"));
        let mut covered = 0;
        for act in Activation::all() {
            let Some(estimate) = act.derivative_estimate(&x) else {
                continue;
            };
            covered += 1;
            let exact = act.derivative(&x).unwrap_or_else(|e| panic!("{act}: {e}"));
            let (e, d) = (
                estimate.to_vec::<f64>().unwrap_or_default(),
                exact.to_vec::<f64>().unwrap_or_default(),
            );
            assert_eq!(e.len(), xs.len());
            for ((&xi, &ei), &di) in xs.iter().zip(&e).zip(&d) {
                assert_eq!(
                    ei.is_nan(),
                    di.is_nan(),
                    "{act} at {xi:e}: {ei:e} vs {di:e}"
                );
                if !di.is_nan() {
                    let bound = DERIVATIVE_ESTIMATE_REL * di.abs() + DERIVATIVE_ESTIMATE_ABS;
                    assert!(
                        (ei - di).abs() <= bound,
                        "{act} at {xi:e}: estimate {ei:e}, exact {di:e}"
                    );
                }
            }
        }
        assert_eq!(
            covered, 6,
            "the activations with a vectorised kernel, but relu's"
        );
        // Other dtypes and activations without a kernel have no estimate.
        assert!(
            Activation::Tanh
                .derivative_estimate(&x.to_dtype(DType::F32))
                .is_none()
        );
        assert!(Activation::Gelu.derivative_estimate(&x).is_none());
        assert!(Activation::Relu.derivative_estimate(&x).is_none());
    }

    #[test]
    fn the_derivative_given_the_output_is_the_engines_derivative_bit_for_bit() {
        let mut values = vec![
            0.0, -0.0, 1e-300, -1e-300, 6.0, -3.0, 3.0, 1.0, -1.0, 40.0, -40.0,
        ];
        values.extend((0..64).map(|i| -8.0 + 0.25 * i as f64 + 0.01));
        values.push(f64::NAN);
        let n = values.len();
        for dtype in [DType::F64, DType::F32] {
            let x = t64(&values, &[n]).to_dtype(dtype);
            for a in Activation::all().filter(|a| a.is_pointwise()) {
                let y = a.apply_tensor(&x).unwrap();
                let fast = a.derivative_given_output(&x, &y).unwrap().to_f64_vec();
                let engine = a.derivative(&x).unwrap().to_f64_vec();
                for (i, (f, e)) in fast.iter().zip(&engine).enumerate() {
                    assert!(
                        f.to_bits() == e.to_bits() || (f.is_nan() && e.is_nan()),
                        "{a} {dtype:?} at {}: {f} vs {e}",
                        values[i]
                    );
                }
            }
        }
        let x = t64(&[1.0, 2.0], &[2]);
        assert!(
            Activation::Tanh
                .derivative_given_output(&x, &t64(&[1.0], &[1]))
                .is_err()
        );
    }

    #[test]
    fn every_activation_round_trips_through_its_name() {
        for a in Activation::all() {
            let parsed: Activation = a.to_string().parse().unwrap();
            assert_eq!(parsed, a);
        }
        let a: Activation = "swish:1.5".parse().unwrap();
        assert_eq!(a, Activation::Swish { beta: 1.5 });
        assert_eq!(
            "linear".parse::<Activation>().unwrap(),
            Activation::Identity
        );
        assert_eq!(
            "elu".parse::<Activation>().unwrap(),
            Activation::Elu { alpha: 1.0 }
        );
        assert_eq!(
            "softmax:1".parse::<Activation>().unwrap(),
            Activation::Softmax { axis: 1 }
        );
    }

    #[test]
    fn unknown_names_and_bad_parameters_list_the_valid_names() {
        let e = "sigmoidd".parse::<Activation>().unwrap_err().to_string();
        assert!(e.starts_with("activation: cannot parse \"sigmoidd\": unknown activation; valid: identity, sigmoid, tanh, relu"), "{e}");
        let e = "leaky_relu:abc"
            .parse::<Activation>()
            .unwrap_err()
            .to_string();
        assert!(e.contains("parameter \"abc\" is not a number"), "{e}");
        let e = "softplus:0".parse::<Activation>().unwrap_err().to_string();
        assert!(
            e.contains("softplus: beta must be finite and > 0 (got 0)"),
            "{e}"
        );
        let e = "relu:2".parse::<Activation>().unwrap_err().to_string();
        assert!(e.contains("relu takes no parameter"), "{e}");
        assert!("celu:0".parse::<Activation>().is_err());
        assert!("leaky_relu:nan".parse::<Activation>().is_err());
    }

    #[test]
    fn apply_on_var_and_on_tensor_agree_for_every_activation() {
        let x = Tensor::linspace(-4.0, 4.0, 17, DType::F64)
            .unwrap()
            .reshape([1, 17])
            .unwrap();
        for a in Activation::all() {
            let tape = Tape::new();
            let v = a.apply(&tape.var(x.clone())).unwrap();
            assert_eq!(
                v.value().to_f64_vec(),
                a.apply_tensor(&x).unwrap().to_f64_vec(),
                "{a}"
            );
            let ops = tape
                .graph()
                .node_weights()
                .filter(|n| n.kind == crate::NodeKind::Op)
                .count();
            assert_eq!(ops, 1, "{a} must be one node");
        }
    }

    /// Scans f' on a fine grid (through the engine) and checks the stated supremum and
    /// the derivative at 0.
    #[test]
    fn stated_max_derivative_and_slope_at_zero_match_the_engine() {
        let x = Tensor::linspace(-12.0, 12.0, 240_001, DType::F64).unwrap();
        for a in Activation::all().filter(Activation::is_pointwise) {
            let tape = Tape::new();
            let xv = tape.var(x.clone());
            let y = a.apply(&xv).unwrap().sum_all().unwrap();
            let d = tape
                .grad(&y, &[&xv], false)
                .unwrap()
                .remove(0)
                .value()
                .to_f64_vec();
            let max = d.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            let info = a.info();
            // Suprema approached only in a limit come within 5e-5: softplus at +inf, and
            // hardswish as x -> 3 from below (f'(3) = 1, PyTorch's choice), where the grid
            // step of 1e-4 leaves 1e-4 / 3.
            assert!(
                max <= info.max_derivative + 1e-12,
                "{a}: scanned {max} > stated {}",
                info.max_derivative
            );
            assert!(
                max >= info.max_derivative - 5e-5,
                "{a}: scanned {max} < stated {}",
                info.max_derivative
            );
            let tape = Tape::new();
            let z = tape.var(t64(&[0.0], &[1]));
            let dz = tape
                .grad(&a.apply(&z).unwrap().sum_all().unwrap(), &[&z], false)
                .unwrap();
            let stated = info.derivative_at_zero.unwrap();
            assert!(
                (dz[0].value().to_f64_vec()[0] - stated).abs() < 1e-15,
                "{a}: f'(0)"
            );
        }
    }

    /// The stated minima of the non-monotonic activations, re-derived by scanning.
    #[test]
    fn stated_ranges_match_a_scan() {
        let x = Tensor::linspace(-12.0, 12.0, 240_001, DType::F64).unwrap();
        for a in Activation::all().filter(Activation::is_pointwise) {
            let y = a.apply_tensor(&x).unwrap().to_f64_vec();
            let min = y.iter().fold(f64::INFINITY, |m, &v| m.min(v));
            let max = y.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v));
            let info = a.info();
            assert!(
                min >= info.range_min - 1e-12,
                "{a}: min {min} below {}",
                info.range_min
            );
            assert!(
                max <= info.range_max + 1e-12,
                "{a}: max {max} above {}",
                info.range_max
            );
            if info.range_min.is_finite() && !info.monotonic {
                assert!(
                    (min - info.range_min).abs() < 1e-9,
                    "{a}: scanned min {min}, stated {}",
                    info.range_min
                );
            }
        }
    }

    #[test]
    fn sigmoid_slope_is_a_quarter_and_tanh_one() {
        assert_eq!(Activation::Sigmoid.info().max_derivative, 0.25);
        assert_eq!(Activation::Tanh.info().max_derivative, 1.0);
    }
}
