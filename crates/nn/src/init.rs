//! Initialisers: how a layer's weights are drawn, and what variance that gives.
//!
//! Convention (DESIGN.md): `h_l = W_l x_{l-1} + b_l`, `sigma_w^2 = fan_in * Var(W)`.
//! PyTorch's default `nn.Linear` init and Glorot & Bengio's "standard" init are both
//! `U[-1/sqrt(fan_in), 1/sqrt(fan_in)]`, so `sigma_w^2 = 1/3`; Xavier with equal widths
//! and LeCun give 1; He (Kaiming) gives 2 (times `gain^2 / 2` in general).
//!
//! Sources: Glorot & Bengio 2010 (standard, normalised = Xavier), He et al. 2015
//! (Kaiming), LeCun et al. 1998 (Efficient BackProp), Saxe, McClelland & Ganguli 2014
//! (orthogonal). Gains follow PyTorch's `torch.nn.init.calculate_gain`.
//!
//! ```
//! use gradflow_autograd::{Activation, DType};
//! use gradflow_nn::init::Init;
//! let init: Init = "he".parse()?;
//! let w = init.tensor(&[256, 128], DType::F64, Some(Activation::Relu), 7)?;
//! // He normal with the ReLU gain: Var(W) = 2 / fan_in.
//! assert!((init.variance(128, 256, Some(Activation::Relu)) - 2.0 / 128.0).abs() < 1e-15);
//! assert_eq!(w.dims(), &[256, 128]);
//! # Ok::<(), gradflow_nn::Error>(())
//! ```

use std::fmt;
use std::str::FromStr;

use gradflow_autograd::{Activation, DType, Tensor};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use rand_distr::{Distribution, StandardNormal, Uniform};

use crate::{Error, Result};

/// Whether Kaiming initialisation preserves the variance of the forward signal
/// (`FanIn`, PyTorch's default) or of the backward gradient (`FanOut`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FanMode {
    /// Scale by the number of inputs.
    FanIn,
    /// Scale by the number of outputs.
    FanOut,
}

/// The gain of a Xavier, Kaiming or orthogonal initialiser.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Gain {
    /// The gain for the layer's activation ([`calculate_gain`]).
    ForActivation,
    /// A fixed value.
    Value(f64),
}

/// How to draw a weight tensor.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Init {
    /// All zeros.
    Zeros,
    /// Every element equal to the value.
    Constant(f64),
    /// Normal with the given mean and standard deviation.
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        std: f64,
    },
    /// Uniform on `[low, high)`.
    Uniform {
        /// Lower bound.
        low: f64,
        /// Upper bound.
        high: f64,
    },
    /// Glorot & Bengio's "standard" `U[-1/sqrt(fan_in), 1/sqrt(fan_in)]`, which is also
    /// PyTorch's `nn.Linear` default: `Var(W) = 1 / (3 fan_in)`.
    Standard,
    /// Xavier/Glorot uniform: `U[-a, a]`, `a = gain * sqrt(6 / (fan_in + fan_out))`.
    XavierUniform {
        /// The gain.
        gain: Gain,
    },
    /// Xavier/Glorot normal: `std = gain * sqrt(2 / (fan_in + fan_out))`.
    XavierNormal {
        /// The gain.
        gain: Gain,
    },
    /// He/Kaiming uniform: `U[-a, a]`, `a = gain * sqrt(3 / fan)`.
    KaimingUniform {
        /// Which fan.
        mode: FanMode,
        /// The gain.
        gain: Gain,
    },
    /// He/Kaiming normal: `std = gain / sqrt(fan)`.
    KaimingNormal {
        /// Which fan.
        mode: FanMode,
        /// The gain.
        gain: Gain,
    },
    /// LeCun normal: `std = 1 / sqrt(fan_in)` (the init SELU's self-normalisation
    /// assumes).
    LecunNormal,
    /// A (semi-)orthogonal matrix from the QR decomposition of a Gaussian one, times
    /// the gain: every singular value is the gain.
    Orthogonal {
        /// The gain.
        gain: Gain,
    },
}

/// PyTorch's `calculate_gain`: identity and sigmoid 1, tanh 5/3, relu sqrt 2,
/// leaky relu `sqrt(2 / (1 + slope^2))`, selu 3/4. Activations not in PyTorch's table
/// get the gain that keeps the second moment of a unit Gaussian input,
/// `1 / sqrt(E[phi(z)^2])` for `z ~ N(0, 1)` (which also gives relu's sqrt 2 and leaky
/// relu's value), computed by quadrature.
pub fn calculate_gain(act: Option<Activation>) -> f64 {
    match act {
        None | Some(Activation::Identity) | Some(Activation::Sigmoid) => 1.0,
        Some(Activation::Tanh) => 5.0 / 3.0,
        Some(Activation::Relu) => std::f64::consts::SQRT_2,
        Some(Activation::LeakyRelu { slope }) | Some(Activation::PRelu { init: slope }) => {
            (2.0 / (1.0 + slope * slope)).sqrt()
        }
        Some(Activation::Selu) => 0.75,
        Some(a) => {
            let m = gaussian_second_moment(a);
            if m > 0.0 && m.is_finite() {
                1.0 / m.sqrt()
            } else {
                1.0
            }
        }
    }
}

/// `E[phi(z)^2]` for `z ~ N(0, 1)`, by the trapezoid rule on [-12, 12] (spectrally
/// accurate for a Gaussian weight; the tails beyond 12 weigh less than 1e-30).
fn gaussian_second_moment(act: Activation) -> f64 {
    let n = 4801;
    let Ok(z) = Tensor::linspace(-12.0, 12.0, n, DType::F64) else {
        return f64::NAN;
    };
    let Ok(y) = act.apply_tensor(&z) else {
        return f64::NAN;
    };
    let h = 24.0 / (n - 1) as f64;
    let norm = 1.0 / (2.0 * std::f64::consts::PI).sqrt();
    z.to_f64_vec()
        .iter()
        .zip(y.to_f64_vec())
        .map(|(&z, y)| y * y * norm * (-0.5 * z * z).exp() * h)
        .sum()
}

/// `(fan_in, fan_out)` of a weight shape, as PyTorch computes them: `[out, in]` for a
/// linear layer, `[out, in, k...]` for a convolution (times the receptive field size).
///
/// # Errors
/// [`Error::Config`] for a shape with fewer than 2 dimensions.
pub fn fans(shape: &[usize]) -> Result<(usize, usize)> {
    if shape.len() < 2 {
        return Err(Error::config(
            "init",
            format!(
                "fan in and fan out need a weight of at least 2 dimensions, got shape {shape:?}"
            ),
        ));
    }
    let receptive: usize = shape[2..].iter().product();
    Ok((shape[1] * receptive, shape[0] * receptive))
}

impl Init {
    /// Xavier (Glorot) uniform with gain 1, as Glorot & Bengio (2010) define it and as
    /// PyTorch's `xavier_uniform_` defaults to: `sigma_w^2 = 2 fan_in / (fan_in + fan_out)`,
    /// 1 for equal widths. (`xavier:auto` takes the activation's gain instead.)
    pub fn xavier() -> Init {
        Init::XavierUniform {
            gain: Gain::Value(1.0),
        }
    }

    /// Kaiming normal, fan-in, with the activation's gain: He et al.'s recommendation.
    pub fn he() -> Init {
        Init::KaimingNormal {
            mode: FanMode::FanIn,
            gain: Gain::ForActivation,
        }
    }

    /// The named initialisers a study can sweep over, one per scheme.
    pub fn catalogue() -> Vec<Init> {
        vec![
            Init::Standard,
            Init::xavier(),
            Init::XavierNormal {
                gain: Gain::Value(1.0),
            },
            Init::he(),
            Init::KaimingUniform {
                mode: FanMode::FanIn,
                gain: Gain::ForActivation,
            },
            Init::LecunNormal,
            Init::Orthogonal {
                gain: Gain::Value(1.0),
            },
        ]
    }

    /// The variance of each weight for a layer with these fans, followed by
    /// activation `act` (what the gain depends on).
    pub fn variance(&self, fan_in: usize, fan_out: usize, act: Option<Activation>) -> f64 {
        let gain = |g: &Gain| match g {
            Gain::ForActivation => calculate_gain(act),
            Gain::Value(v) => *v,
        };
        let (fi, fo) = (fan_in as f64, fan_out as f64);
        match self {
            Init::Zeros | Init::Constant(_) => 0.0,
            Init::Normal { std, .. } => std * std,
            Init::Uniform { low, high } => (high - low).powi(2) / 12.0,
            Init::Standard => 1.0 / (3.0 * fi),
            Init::XavierUniform { gain: g } | Init::XavierNormal { gain: g } => {
                gain(g).powi(2) * 2.0 / (fi + fo)
            }
            Init::KaimingUniform { mode, gain: g } | Init::KaimingNormal { mode, gain: g } => {
                let fan = if *mode == FanMode::FanIn { fi } else { fo };
                gain(g).powi(2) / fan
            }
            Init::LecunNormal => 1.0 / fi,
            // Rows (out <= in) or columns (out > in) of a linear weight are orthonormal,
            // so the squares sum to min(in, out) over in * out elements.
            Init::Orthogonal { gain: g } => gain(g).powi(2) / fi.max(fo),
        }
    }

    /// `sigma_w^2 = fan_in * Var(W)`, the quantity mean-field theory uses.
    pub fn sigma_w2(&self, fan_in: usize, fan_out: usize, act: Option<Activation>) -> f64 {
        fan_in as f64 * self.variance(fan_in, fan_out, act)
    }

    /// Draws a tensor of `shape` (weights `[out, in, ...]`), reproducibly from `seed`.
    ///
    /// # Errors
    /// [`Error::Config`] for a bad parameter (a negative std, `low >= high`) or a shape
    /// the scheme cannot use (fewer than 2 dimensions for a fan-based scheme).
    pub fn tensor(
        &self,
        shape: &[usize],
        dtype: DType,
        act: Option<Activation>,
        seed: u64,
    ) -> Result<Tensor> {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        self.tensor_with(shape, dtype, act, &mut rng)
    }

    /// As [`Init::tensor`], drawing from a caller's generator.
    ///
    /// # Errors
    /// As [`Init::tensor`].
    pub fn tensor_with<R: rand::Rng + ?Sized>(
        &self,
        shape: &[usize],
        dtype: DType,
        act: Option<Activation>,
        rng: &mut R,
    ) -> Result<Tensor> {
        let n: usize = shape.iter().product();
        let normal = |std: f64, mean: f64, rng: &mut R| -> Vec<f64> {
            (0..n)
                .map(|_| {
                    let z: f64 = StandardNormal.sample(rng);
                    mean + std * z
                })
                .collect::<Vec<f64>>()
        };
        let uniform = |bound: f64, rng: &mut R| -> Result<Vec<f64>> {
            if bound == 0.0 {
                return Ok(vec![0.0; n]);
            }
            let d = Uniform::new(-bound, bound)
                .map_err(|_| Error::config("init", format!("bad uniform bound {bound}")))?;
            Ok((0..n).map(|_| d.sample(rng)).collect())
        };
        let values: Vec<f64> = match *self {
            Init::Zeros => vec![0.0; n],
            Init::Constant(c) => vec![c; n],
            Init::Normal { mean, std } => {
                if !(std >= 0.0 && std.is_finite() && mean.is_finite()) {
                    return Err(Error::config(
                        "init",
                        format!(
                            "normal needs a finite mean and std >= 0 (got mean {mean}, std {std})"
                        ),
                    ));
                }
                normal(std, mean, rng)
            }
            Init::Uniform { low, high } => {
                let d = Uniform::new(low, high).map_err(|_| {
                    Error::config(
                        "init",
                        format!("uniform needs finite low < high (got {low}, {high})"),
                    )
                })?;
                (0..n).map(|_| d.sample(rng)).collect()
            }
            Init::Orthogonal { gain } => {
                let g = match gain {
                    Gain::ForActivation => calculate_gain(act),
                    Gain::Value(v) => v,
                };
                orthogonal(shape, g, rng)?
            }
            _ => {
                let (fan_in, fan_out) = fans(shape)?;
                let var = self.variance(fan_in, fan_out, act);
                match self {
                    Init::XavierNormal { .. } | Init::KaimingNormal { .. } | Init::LecunNormal => {
                        normal(var.sqrt(), 0.0, rng)
                    }
                    // Uniform on [-a, a] has variance a^2 / 3.
                    _ => uniform((3.0 * var).sqrt(), rng)?,
                }
            }
        };
        Ok(Tensor::from_vec(values, shape)?.to_dtype(dtype))
    }
}

/// A `[rows, cols...]` matrix (flattened after the first dimension) with orthonormal
/// rows or columns, whichever are fewer, times `gain`: QR of a Gaussian matrix with the
/// signs of R's diagonal folded into Q, so Q is uniform on the orthogonal group
/// (Mezzadri 2007), as PyTorch's `orthogonal_` does.
fn orthogonal<R: rand::Rng + ?Sized>(shape: &[usize], gain: f64, rng: &mut R) -> Result<Vec<f64>> {
    if shape.len() < 2 {
        return Err(Error::config(
            "init",
            format!("orthogonal needs at least 2 dimensions, got shape {shape:?}"),
        ));
    }
    let rows = shape[0];
    let cols: usize = shape[1..].iter().product();
    // Work on a tall matrix m x k (m >= k) column by column, then transpose if needed.
    let (m, k, transpose) = if rows >= cols {
        (rows, cols, false)
    } else {
        (cols, rows, true)
    };
    let mut q: Vec<Vec<f64>> = (0..k)
        .map(|_| {
            (0..m)
                .map(|_| -> f64 { StandardNormal.sample(rng) })
                .collect()
        })
        .collect();
    // Modified Gram-Schmidt, twice ("twice is enough", Giraud et al. 2005) for
    // orthogonality to rounding level. Normalising each column by its positive norm is
    // the QR with R's diagonal made positive, which is what makes Q Haar-distributed.
    for j in 0..k {
        for _pass in 0..2 {
            let (done, rest) = q.split_at_mut(j);
            let col = &mut rest[0];
            for prev in done.iter() {
                let d: f64 = prev.iter().zip(col.iter()).map(|(a, b)| a * b).sum();
                for (c, p) in col.iter_mut().zip(prev) {
                    *c -= d * p;
                }
            }
        }
        let norm = q[j].iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm == 0.0 {
            return Err(Error::config(
                "init",
                "orthogonal: a degenerate Gaussian draw (probability zero)",
            ));
        }
        for v in q[j].iter_mut() {
            *v /= norm;
        }
    }
    let mut out = vec![0.0; rows * cols];
    for (c, col) in q.iter().enumerate() {
        for (r, &v) in col.iter().enumerate() {
            let (i, j) = if transpose { (c, r) } else { (r, c) };
            out[i * cols + j] = gain * v;
        }
    }
    Ok(out)
}

impl fmt::Display for Init {
    /// The short names [`FromStr`] accepts; a gain other than the scheme's default
    /// after a colon (`auto` for the activation's gain).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Xavier and orthogonal default to gain 1 (PyTorch's default), Kaiming to the
        // activation's gain (He et al.'s derivation is per activation).
        let g = |g: &Gain, default: Gain| match (g, default) {
            (g, d) if *g == d => String::new(),
            (Gain::ForActivation, _) => ":auto".to_string(),
            (Gain::Value(v), _) => format!(":{v}"),
        };
        let one = Gain::Value(1.0);
        let auto = Gain::ForActivation;
        match self {
            Init::Zeros => write!(f, "zeros"),
            Init::Constant(c) => write!(f, "constant:{c}"),
            Init::Normal { mean, std } => write!(f, "normal:{mean},{std}"),
            Init::Uniform { low, high } => write!(f, "uniform:{low},{high}"),
            Init::Standard => write!(f, "standard"),
            Init::XavierUniform { gain } => write!(f, "xavier{}", g(gain, one)),
            Init::XavierNormal { gain } => write!(f, "xavier_normal{}", g(gain, one)),
            Init::KaimingNormal {
                mode: FanMode::FanIn,
                gain,
            } => write!(f, "he{}", g(gain, auto)),
            Init::KaimingNormal {
                mode: FanMode::FanOut,
                gain,
            } => write!(f, "he_fan_out{}", g(gain, auto)),
            Init::KaimingUniform {
                mode: FanMode::FanIn,
                gain,
            } => write!(f, "he_uniform{}", g(gain, auto)),
            Init::KaimingUniform {
                mode: FanMode::FanOut,
                gain,
            } => write!(f, "he_uniform_fan_out{}", g(gain, auto)),
            Init::LecunNormal => write!(f, "lecun"),
            Init::Orthogonal { gain } => write!(f, "orthogonal{}", g(gain, one)),
        }
    }
}

impl FromStr for Init {
    type Err = Error;

    /// `standard`, `xavier` (`glorot`), `xavier_normal`, `he` (`kaiming`), `he_fan_out`,
    /// `he_uniform`, `he_uniform_fan_out`, `lecun`, `orthogonal`, `zeros`,
    /// `constant:C`, `normal:MEAN,STD`, `uniform:LOW,HIGH`. The gain-based ones take an
    /// optional gain after a colon: a number (`xavier:2`) or `auto`, the activation's
    /// gain; without one, Xavier and orthogonal use 1 and He the activation's gain.
    fn from_str(s: &str) -> Result<Init> {
        let valid = "standard, xavier, xavier_normal, he, he_fan_out, he_uniform, he_uniform_fan_out, lecun, orthogonal, zeros, constant:C, normal:MEAN,STD, uniform:LOW,HIGH";
        let bad = |reason: String| {
            Error::config(
                "init",
                format!("cannot parse {s:?}: {reason}; valid: {valid}"),
            )
        };
        let (name, param) = match s.trim().split_once(':') {
            Some((n, p)) => (n.trim(), Some(p.trim())),
            None => (s.trim(), None),
        };
        let numbers = |count: usize| -> Result<Vec<f64>> {
            let p = param
                .ok_or_else(|| bad(format!("{name} needs {count} number(s) after a colon")))?;
            let v: std::result::Result<Vec<f64>, _> =
                p.split(',').map(|t| t.trim().parse::<f64>()).collect();
            match v {
                Ok(v) if v.len() == count && v.iter().all(|x| x.is_finite()) => Ok(v),
                _ => Err(bad(format!(
                    "{name} needs {count} finite number(s), got {p:?}"
                ))),
            }
        };
        let gain = |default: Gain| -> Result<Gain> {
            match param {
                None => Ok(default),
                Some("auto") => Ok(Gain::ForActivation),
                Some(p) => match p.parse::<f64>() {
                    Ok(v) if v.is_finite() && v > 0.0 => Ok(Gain::Value(v)),
                    _ => Err(bad(format!(
                        "the gain must be a positive number or auto, got {p:?}"
                    ))),
                },
            }
        };
        let no_param = |i: Init| match param {
            None => Ok(i),
            Some(p) => Err(bad(format!("{name} takes no parameter (got {p:?})"))),
        };
        match name.to_ascii_lowercase().as_str() {
            "zeros" => no_param(Init::Zeros),
            "constant" => Ok(Init::Constant(numbers(1)?[0])),
            "normal" => {
                let v = numbers(2)?;
                if v[1] < 0.0 {
                    return Err(bad(format!("the std must be >= 0, got {}", v[1])));
                }
                Ok(Init::Normal {
                    mean: v[0],
                    std: v[1],
                })
            }
            "uniform" => {
                let v = numbers(2)?;
                if v[0] >= v[1] {
                    return Err(bad(format!("needs low < high, got {} and {}", v[0], v[1])));
                }
                Ok(Init::Uniform {
                    low: v[0],
                    high: v[1],
                })
            }
            "standard" | "default" | "pytorch" => no_param(Init::Standard),
            "xavier" | "glorot" | "xavier_uniform" | "glorot_uniform" => Ok(Init::XavierUniform {
                gain: gain(Gain::Value(1.0))?,
            }),
            "xavier_normal" | "glorot_normal" => Ok(Init::XavierNormal {
                gain: gain(Gain::Value(1.0))?,
            }),
            "he" | "kaiming" | "he_normal" | "kaiming_normal" => Ok(Init::KaimingNormal {
                mode: FanMode::FanIn,
                gain: gain(Gain::ForActivation)?,
            }),
            "he_fan_out" | "kaiming_fan_out" => Ok(Init::KaimingNormal {
                mode: FanMode::FanOut,
                gain: gain(Gain::ForActivation)?,
            }),
            "he_uniform" | "kaiming_uniform" => Ok(Init::KaimingUniform {
                mode: FanMode::FanIn,
                gain: gain(Gain::ForActivation)?,
            }),
            "he_uniform_fan_out" => Ok(Init::KaimingUniform {
                mode: FanMode::FanOut,
                gain: gain(Gain::ForActivation)?,
            }),
            "lecun" | "lecun_normal" => no_param(Init::LecunNormal),
            "orthogonal" => Ok(Init::Orthogonal {
                gain: gain(Gain::Value(1.0))?,
            }),
            _ => Err(bad("unknown initialiser".into())),
        }
    }
}

impl serde::Serialize for Init {
    /// Serialised as its string form (`Display`), which `FromStr` reads back.
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Init {
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

    fn stats(t: &Tensor) -> (f64, f64, f64, f64) {
        let v = t.to_f64_vec();
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
        let min = v.iter().copied().fold(f64::INFINITY, f64::min);
        let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (mean, var, min, max)
    }

    /// For n i.i.d. draws the sample mean has standard error sqrt(var / n) and the
    /// sample variance sqrt((mu4 - var^2) / n), mu4 = 3 var^2 for a normal and
    /// 1.8 var^2 for a uniform. A 6-sigma band fails a correct scheme with probability
    /// about 2e-9, and a wrong gain (off by 10% or more) is far outside it.
    fn check_moments(init: Init, act: Option<Activation>, shape: &[usize], uniform: bool) {
        let t = init.tensor(shape, DType::F64, act, 1234).unwrap();
        let (fan_in, fan_out) = fans(shape).unwrap();
        let want = init.variance(fan_in, fan_out, act);
        let n = t.numel() as f64;
        let (mean, var, min, max) = stats(&t);
        let kurt = if uniform { 1.8 } else { 3.0 };
        assert!(mean.abs() < 6.0 * (want / n).sqrt(), "{init}: mean {mean}");
        let se = ((kurt - 1.0) * want * want / n).sqrt();
        assert!(
            (var - want).abs() < 6.0 * se,
            "{init} {act:?}: variance {var}, want {want} (se {se})"
        );
        if uniform {
            let a = (3.0 * want).sqrt();
            assert!(min >= -a && max < a, "{init}: outside [-{a}, {a}]");
            // The extremes come close to the bounds: within 1% of the range for n draws.
            assert!(
                max > a * 0.99 && min < -a * 0.99,
                "{init}: bounds not reached"
            );
        }
    }

    #[test]
    fn every_scheme_has_the_mean_variance_and_bounds_of_its_formula() {
        let shape = [300, 200];
        check_moments(Init::Standard, None, &shape, true);
        check_moments(Init::xavier(), Some(Activation::Tanh), &shape, true);
        check_moments(
            Init::XavierNormal {
                gain: Gain::Value(1.0),
            },
            None,
            &shape,
            false,
        );
        check_moments(Init::he(), Some(Activation::Relu), &shape, false);
        check_moments(
            Init::he(),
            Some(Activation::LeakyRelu { slope: 0.2 }),
            &shape,
            false,
        );
        check_moments(
            Init::KaimingUniform {
                mode: FanMode::FanOut,
                gain: Gain::ForActivation,
            },
            Some(Activation::Relu),
            &shape,
            true,
        );
        check_moments(Init::LecunNormal, None, &shape, false);
        check_moments(
            Init::Normal {
                mean: 0.0,
                std: 0.05,
            },
            None,
            &shape,
            false,
        );
        check_moments(
            Init::Uniform {
                low: -0.3,
                high: 0.3,
            },
            None,
            &shape,
            true,
        );
    }

    #[test]
    fn the_formulas_give_the_documented_sigma_w2() {
        // DESIGN.md: standard 1/3, Xavier with equal widths 1, LeCun 1, He 2.
        assert!((Init::Standard.sigma_w2(256, 256, None) - 1.0 / 3.0).abs() < 1e-15);
        assert!(
            (Init::XavierNormal {
                gain: Gain::Value(1.0)
            }
            .sigma_w2(256, 256, None)
                - 1.0)
                .abs()
                < 1e-15
        );
        assert!((Init::LecunNormal.sigma_w2(256, 64, None) - 1.0).abs() < 1e-15);
        assert!((Init::he().sigma_w2(256, 64, Some(Activation::Relu)) - 2.0).abs() < 1e-14);
        // Xavier is gain 1 unless asked: sigma_w^2 = 1 for any activation; with the tanh
        // gain (`xavier:auto`), (5/3)^2.
        assert!((Init::xavier().sigma_w2(100, 100, Some(Activation::Tanh)) - 1.0).abs() < 1e-15);
        let auto: Init = "xavier:auto".parse().unwrap();
        assert!((auto.sigma_w2(100, 100, Some(Activation::Tanh)) - 25.0 / 9.0).abs() < 1e-13);
        assert_eq!(auto.to_string(), "xavier:auto");
        assert_eq!("he".parse::<Init>().unwrap(), Init::he());
    }

    #[test]
    fn gains_follow_pytorch_calculate_gain() {
        assert_eq!(calculate_gain(Some(Activation::Tanh)), 5.0 / 3.0);
        assert_eq!(calculate_gain(Some(Activation::Relu)), 2f64.sqrt());
        assert_eq!(calculate_gain(Some(Activation::Sigmoid)), 1.0);
        assert_eq!(calculate_gain(Some(Activation::Selu)), 0.75);
        assert!(
            (calculate_gain(Some(Activation::LeakyRelu { slope: 0.01 }))
                - (2.0 / 1.0001f64).sqrt())
            .abs()
                < 1e-15
        );
        // Outside PyTorch's table: the second-moment gain, which for relu would be
        // sqrt 2 too (a check of the quadrature).
        assert!(
            (1.0 / gaussian_second_moment(Activation::Relu).sqrt() - 2f64.sqrt()).abs() < 1e-12
        );
        let g = calculate_gain(Some(Activation::Silu));
        assert!(g > 1.0 && g < 3.0, "{g}");
    }

    #[test]
    fn orthogonal_rows_are_orthonormal_times_the_gain() {
        for shape in [[6usize, 10], [10, 6], [8, 8]] {
            let t = Init::Orthogonal {
                gain: Gain::Value(2.0),
            }
            .tensor(&shape, DType::F64, None, 3)
            .unwrap();
            let v = t.to_f64_vec();
            let (r, c) = (shape[0], shape[1]);
            // W W^T = 4 I when rows <= cols, W^T W = 4 I otherwise.
            let (outer, inner, stride_o, stride_i) =
                if r <= c { (r, c, c, 1) } else { (c, r, 1, c) };
            for a in 0..outer {
                for b in 0..outer {
                    let d: f64 = (0..inner)
                        .map(|k| v[a * stride_o + k * stride_i] * v[b * stride_o + k * stride_i])
                        .sum();
                    let want = if a == b { 4.0 } else { 0.0 };
                    assert!((d - want).abs() < 1e-12, "{shape:?}: [{a},{b}] = {d}");
                }
            }
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_weights() {
        let a = Init::he()
            .tensor(&[20, 10], DType::F32, Some(Activation::Relu), 9)
            .unwrap();
        let b = Init::he()
            .tensor(&[20, 10], DType::F32, Some(Activation::Relu), 9)
            .unwrap();
        let c = Init::he()
            .tensor(&[20, 10], DType::F32, Some(Activation::Relu), 10)
            .unwrap();
        assert_eq!(a.to_f64_vec(), b.to_f64_vec());
        assert_ne!(a.to_f64_vec(), c.to_f64_vec());
    }

    #[test]
    fn names_round_trip_and_bad_ones_list_the_valid_ones() {
        for i in Init::catalogue() {
            assert_eq!(i.to_string().parse::<Init>().unwrap(), i);
        }
        assert_eq!("glorot".parse::<Init>().unwrap(), Init::xavier());
        assert_eq!(
            "normal:0,0.1".parse::<Init>().unwrap(),
            Init::Normal {
                mean: 0.0,
                std: 0.1
            }
        );
        let e = "hee".parse::<Init>().unwrap_err().to_string();
        assert!(
            e.starts_with(
                "init: cannot parse \"hee\": unknown initialiser; valid: standard, xavier"
            ),
            "{e}"
        );
        assert!("uniform:1,0".parse::<Init>().is_err());
        assert!("normal:0,-1".parse::<Init>().is_err());
        assert!("xavier:-2".parse::<Init>().is_err());
    }

    #[test]
    fn fans_of_conv_weights_include_the_receptive_field() {
        assert_eq!(fans(&[16, 3, 5, 5]).unwrap(), (75, 400));
        assert_eq!(fans(&[10, 4]).unwrap(), (4, 10));
        assert!(fans(&[10]).is_err());
    }
}
