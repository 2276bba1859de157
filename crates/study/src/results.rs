//! What a run produces: plain data written as JSON (`runs/<id>.json`, `results.json`)
//! and CSV (`results.csv`); the schema is in docs/results.md.
//!
//! JSON has no NaN or infinity, and serde_json writes them as `null`, which it then
//! refuses to read back as a number. A diverged run's last loss is not finite, and the
//! depth scale at the edge of chaos (ReLU with He's init) is infinite, so every float
//! here is written through [`float`]: finite values as numbers, the others as the
//! strings `"NaN"`, `"inf"` and `"-inf"` (what `results.csv` shows, and what Python's
//! `float()` reads).

use gradflow_nn::probe::Histogram;
use serde::{Deserialize, Serialize};

use crate::config::{RunSpec, StudyConfig, Training};

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum RunStatus {
    /// Every step ran with a finite loss.
    Completed,
    /// The loss became NaN or infinite at `step`; `culprit` is what anomaly mode found
    /// on a replay (the op, the layer and where the node was made), if it found it.
    Diverged {
        /// The first step whose loss was not finite.
        step: usize,
        /// The first non-finite value's origin, from a replay in anomaly mode.
        culprit: Option<String>,
    },
}

/// The loss (and accuracy) of one training step's mini-batch.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    /// The step.
    pub step: usize,
    /// The mini-batch loss before the step's update.
    #[serde(with = "float::one")]
    pub loss: f64,
    /// The mini-batch accuracy (classification only).
    #[serde(with = "float::option")]
    pub accuracy: Option<f64>,
}

/// Per-layer measurements at one recorded step; vectors run over the hidden layers
/// `1..=depth` (input side first).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The step.
    pub step: usize,
    /// `||delta_l|| = ||dL/dh_l||`, the back-propagated gradient at each hidden layer's
    /// pre-activation (over the mini-batch).
    #[serde(with = "float::vec")]
    pub delta_norm: Vec<f64>,
    /// `||dL/dW_l||`.
    #[serde(with = "float::vec")]
    pub weight_grad_norm: Vec<f64>,
    /// `||W_l||`.
    #[serde(with = "float::vec")]
    pub weight_norm: Vec<f64>,
    /// Fraction of dead units per layer.
    #[serde(with = "float::vec")]
    pub dead: Vec<f64>,
    /// Fraction of saturated units per layer.
    #[serde(with = "float::vec")]
    pub saturated: Vec<f64>,
    /// Fraction of exact zeros in each layer's activations.
    #[serde(with = "float::vec")]
    pub zero_fraction: Vec<f64>,
    /// Mean of each layer's activations.
    #[serde(with = "float::vec")]
    pub activation_mean: Vec<f64>,
    /// Standard deviation of each layer's activations.
    #[serde(with = "float::vec")]
    pub activation_std: Vec<f64>,
    /// Standard deviation of each layer's pre-activations.
    #[serde(with = "float::vec")]
    pub pre_activation_std: Vec<f64>,
    /// `||W_new - W|| / ||W||` of the update after this step.
    #[serde(with = "float::vec")]
    pub update_ratio: Vec<f64>,
}

/// Histograms of every hidden layer at one step (Glorot & Bengio 2010, figures 3-7).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerHistograms {
    /// The step.
    pub step: usize,
    /// Bin edges of the activation histograms.
    #[serde(with = "float::vec")]
    pub value_edges: Vec<f64>,
    /// Bin edges on `log10 |delta|` of the gradient histograms.
    #[serde(with = "float::vec")]
    pub grad_edges: Vec<f64>,
    /// Activations `x_l` of each hidden layer.
    pub activations: Vec<Histogram>,
    /// `log10 |delta_l|` of each hidden layer (zeros fall below the first edge).
    pub gradients: Vec<Histogram>,
}

/// Mean-field predictions for the run's network at initialisation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TheoryPrediction {
    /// `sigma_w^2` of the hidden layers (`width * Var(W)`).
    #[serde(with = "float::one")]
    pub sigma_w2: f64,
    /// `sigma_w^2` of the first layer (its fan-in is the number of input features).
    #[serde(with = "float::one")]
    pub sigma_w2_first: f64,
    /// `chi_1` at the fixed point of the hidden layers' length map.
    #[serde(with = "float::one")]
    pub chi1: f64,
    /// Depth scale `-1 / ln chi_1` (layers); infinite at `chi_1 = 1`.
    #[serde(with = "float::one")]
    pub depth_scale: f64,
    /// Predicted second moment `q_l` of each hidden layer's pre-activations.
    #[serde(with = "float::vec")]
    pub q: Vec<f64>,
    /// Predicted `||delta_l|| / ||delta_depth||` for each hidden layer (1 at the last).
    #[serde(with = "float::vec")]
    pub delta_relative: Vec<f64>,
}

/// Everything one run measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    /// The run's id (file name of its JSON).
    pub id: String,
    /// Its position in the grid (0-based), so shards merge in order.
    pub index: usize,
    /// The configuration.
    pub spec: RunSpec,
    /// The training settings it ran with: a resumed study reuses a saved run only if
    /// they are its own.
    pub training: Training,
    /// How it ended.
    #[serde(flatten)]
    pub status: RunStatus,
    /// Steps run.
    pub steps_done: usize,
    /// Seconds the run took (the only field that differs between identical runs).
    #[serde(with = "float::one")]
    pub wall_time_s: f64,
    /// Mini-batch loss and accuracy at every step.
    pub curve: Vec<CurvePoint>,
    /// Loss over the whole training set after training.
    #[serde(with = "float::option")]
    pub train_loss: Option<f64>,
    /// Accuracy over the whole training set after training (classification).
    #[serde(with = "float::option")]
    pub train_accuracy: Option<f64>,
    /// Loss over the held-out set.
    #[serde(with = "float::option")]
    pub test_loss: Option<f64>,
    /// Accuracy over the held-out set (classification).
    #[serde(with = "float::option")]
    pub test_accuracy: Option<f64>,
    /// `||delta_1|| / ||delta_depth||` at initialisation: how much the gradient
    /// shrinks (< 1) or grows (> 1) from the last hidden layer to the first.
    #[serde(with = "float::one")]
    pub first_last_ratio: f64,
    /// Mean dead fraction over the hidden layers at the last recorded step.
    #[serde(with = "float::one")]
    pub dead_final: f64,
    /// Mean saturated fraction over the hidden layers at the last recorded step.
    #[serde(with = "float::one")]
    pub saturated_final: f64,
    /// Every recorded step, the first being initialisation.
    pub snapshots: Vec<Snapshot>,
    /// Histograms at initialisation.
    pub histograms_init: Option<LayerHistograms>,
    /// Histograms at the last recorded step.
    pub histograms_final: Option<LayerHistograms>,
    /// Mean-field predictions.
    pub theory: Option<TheoryPrediction>,
}

impl RunResult {
    /// Whether the run diverged.
    pub fn diverged(&self) -> bool {
        matches!(self.status, RunStatus::Diverged { .. })
    }

    /// The same result with the wall time zeroed: what must be identical between a
    /// sharded and an unsharded run, or a resumed and an uninterrupted one. Compare
    /// two with [`RunResult::same_as`]: `==` is false for any result holding a NaN.
    pub fn without_timing(&self) -> RunResult {
        RunResult {
            wall_time_s: 0.0,
            ..self.clone()
        }
    }

    /// Whether two results are identical apart from their wall times, a NaN matching a
    /// NaN in the same place (they are compared as the JSON they are saved as).
    pub fn same_as(&self, other: &RunResult) -> bool {
        match (
            serde_json::to_value(self.without_timing()),
            serde_json::to_value(other.without_timing()),
        ) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        }
    }
}

/// A whole study's results (`results.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StudyResults {
    /// The configuration that produced them.
    pub config: StudyConfig,
    /// Versions, for reproducibility.
    pub versions: Versions,
    /// One result per run, in grid order.
    pub runs: Vec<RunResult>,
}

/// Versions of what produced the results.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Versions {
    /// gradflow's version.
    pub gradflow: String,
    /// The Rust compiler target (architecture-os).
    pub target: String,
}

impl Versions {
    /// This build's versions.
    pub fn current() -> Versions {
        Versions {
            gradflow: env!("CARGO_PKG_VERSION").to_string(),
            target: format!("{}-{}", std::env::consts::ARCH, std::env::consts::OS),
        }
    }
}

/// The summary table as CSV, one row per run.
pub fn summary_csv(runs: &[RunResult]) -> String {
    let mut out = String::from(
        "id,activation,init,depth,width,dataset,optimiser,seed,status,diverged_step,final_train_loss,train_accuracy,test_accuracy,first_last_grad_ratio,dead_fraction,saturated_fraction,wall_time_s\n",
    );
    let opt = |v: Option<f64>| v.map(|v| format!("{v:?}")).unwrap_or_default();
    for r in runs {
        let (status, step) = match &r.status {
            RunStatus::Completed => ("completed", String::new()),
            RunStatus::Diverged { step, .. } => ("diverged", step.to_string()),
        };
        let cells = [
            r.id.clone(),
            r.spec.activation.to_string(),
            r.spec.init.to_string(),
            r.spec.depth.to_string(),
            r.spec.width.to_string(),
            quote(&r.spec.dataset.to_string()),
            quote(&r.spec.optimiser.to_string()),
            r.spec.seed.to_string(),
            status.to_string(),
            step,
            opt(r.train_loss),
            opt(r.train_accuracy),
            opt(r.test_accuracy),
            format!("{:?}", r.first_last_ratio),
            format!("{:?}", r.dead_final),
            format!("{:?}", r.saturated_final),
            format!("{:.3}", r.wall_time_s),
        ];
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

fn quote(s: &str) -> String {
    if s.contains([',', '"']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Serde helpers that keep non-finite floats through JSON: finite values are numbers,
/// NaN and the infinities the strings `"NaN"`, `"inf"` and `"-inf"`. Reading also
/// accepts any string Rust's `f64::from_str` does (`"Infinity"`, `"nan"`) and `null`
/// (read as NaN, as serde_json wrote non-finite values before).
///
/// ```
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct Row {
///     #[serde(with = "gradflow_study::results::float::one")]
///     x: f64,
/// }
/// let text = serde_json::to_string(&Row { x: f64::INFINITY })?;
/// assert_eq!(text, r#"{"x":"inf"}"#);
/// assert_eq!(serde_json::from_str::<Row>(&text)?.x, f64::INFINITY);
/// # Ok::<(), serde_json::Error>(())
/// ```
pub mod float {
    use std::fmt;

    use serde::de::{self, Deserializer, Visitor};
    use serde::{Deserialize, Serialize, Serializer};

    /// A float that serialises its non-finite values as strings.
    #[derive(Clone, Copy, Debug)]
    struct F(f64);

    impl Serialize for F {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let v = self.0;
            if v.is_finite() {
                s.serialize_f64(v)
            } else if v.is_nan() {
                s.serialize_str("NaN")
            } else if v > 0.0 {
                s.serialize_str("inf")
            } else {
                s.serialize_str("-inf")
            }
        }
    }

    struct FVisitor;

    impl Visitor<'_> for FVisitor {
        type Value = F;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a number, or \"NaN\", \"inf\" or \"-inf\"")
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<F, E> {
            Ok(F(v))
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<F, E> {
            Ok(F(v as f64))
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<F, E> {
            Ok(F(v as f64))
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<F, E> {
            v.trim()
                .parse::<f64>()
                .map(F)
                .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
        }

        fn visit_unit<E: de::Error>(self) -> Result<F, E> {
            Ok(F(f64::NAN))
        }
    }

    impl<'de> Deserialize<'de> for F {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<F, D::Error> {
            d.deserialize_any(FVisitor)
        }
    }

    /// For an `f64` field.
    pub mod one {
        use super::*;

        /// Writes `v`.
        ///
        /// # Errors
        /// The serializer's.
        pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
            F(*v).serialize(s)
        }

        /// Reads a float.
        ///
        /// # Errors
        /// Neither a number nor a float's name.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
            F::deserialize(d).map(|f| f.0)
        }
    }

    /// For an `Option<f64>` field (`None` is `null`; a present NaN is `"NaN"`).
    pub mod option {
        use super::*;

        /// Writes `v`.
        ///
        /// # Errors
        /// The serializer's.
        pub fn serialize<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
            v.map(F).serialize(s)
        }

        /// Reads an optional float.
        ///
        /// # Errors
        /// Neither null, a number nor a float's name.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
            Option::<F>::deserialize(d).map(|o| o.map(|f| f.0))
        }
    }

    /// For a `Vec<f64>` field.
    pub mod vec {
        use super::*;

        /// Writes `v`.
        ///
        /// # Errors
        /// The serializer's.
        pub fn serialize<S: Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq(v.iter().map(|x| F(*x)))
        }

        /// Reads a list of floats.
        ///
        /// # Errors
        /// An element that is neither a number nor a float's name.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
            Vec::<F>::deserialize(d).map(|v| v.into_iter().map(|f| f.0).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Row {
        #[serde(with = "float::one")]
        x: f64,
        #[serde(with = "float::option")]
        o: Option<f64>,
        #[serde(with = "float::vec")]
        v: Vec<f64>,
    }

    #[test]
    fn non_finite_floats_survive_json() {
        let row = Row {
            x: f64::NAN,
            o: Some(f64::NEG_INFINITY),
            v: vec![1.5, f64::INFINITY, f64::NAN, -0.0, 1e-300],
        };
        let text = serde_json::to_string(&row).unwrap();
        assert_eq!(
            text,
            r#"{"x":"NaN","o":"-inf","v":[1.5,"inf","NaN",-0.0,1e-300]}"#
        );
        let back: Row = serde_json::from_str(&text).unwrap();
        assert!(back.x.is_nan());
        assert_eq!(back.o, Some(f64::NEG_INFINITY));
        assert_eq!(back.v[1], f64::INFINITY);
        assert!(back.v[2].is_nan());
        assert_eq!(back.v[4], 1e-300);
        let none: Row = serde_json::from_str(r#"{"x":null,"o":null,"v":[2,"Infinity"]}"#).unwrap();
        assert!(none.x.is_nan());
        assert_eq!(none.o, None);
        assert_eq!(none.v, vec![2.0, f64::INFINITY]);
        assert!(serde_json::from_str::<Row>(r#"{"x":"big","o":null,"v":[]}"#).is_err());
    }
}
