//! What a run produces: plain data written as JSON (`runs/<id>.json`, `results.json`)
//! and CSV (`results.csv`); the schema is in docs/results.md.

use gradflow_nn::probe::Histogram;
use serde::{Deserialize, Serialize};

use crate::config::{RunSpec, StudyConfig};

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
    pub loss: f64,
    /// The mini-batch accuracy (classification only).
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
    pub delta_norm: Vec<f64>,
    /// `||dL/dW_l||`.
    pub weight_grad_norm: Vec<f64>,
    /// `||W_l||`.
    pub weight_norm: Vec<f64>,
    /// Fraction of dead units per layer.
    pub dead: Vec<f64>,
    /// Fraction of saturated units per layer.
    pub saturated: Vec<f64>,
    /// Fraction of exact zeros in each layer's activations.
    pub zero_fraction: Vec<f64>,
    /// Mean of each layer's activations.
    pub activation_mean: Vec<f64>,
    /// Standard deviation of each layer's activations.
    pub activation_std: Vec<f64>,
    /// Standard deviation of each layer's pre-activations.
    pub pre_activation_std: Vec<f64>,
    /// `||W_new - W|| / ||W||` of the update after this step.
    pub update_ratio: Vec<f64>,
}

/// Histograms of every hidden layer at one step (Glorot & Bengio 2010, figures 3-7).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerHistograms {
    /// The step.
    pub step: usize,
    /// Bin edges of the activation histograms.
    pub value_edges: Vec<f64>,
    /// Bin edges on `log10 |delta|` of the gradient histograms.
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
    pub sigma_w2: f64,
    /// `sigma_w^2` of the first layer (its fan-in is the number of input features).
    pub sigma_w2_first: f64,
    /// `chi_1` at the fixed point of the hidden layers' length map.
    pub chi1: f64,
    /// Depth scale `-1 / ln chi_1` (layers); infinite at `chi_1 = 1`.
    pub depth_scale: f64,
    /// Predicted second moment `q_l` of each hidden layer's pre-activations.
    pub q: Vec<f64>,
    /// Predicted `||delta_l|| / ||delta_depth||` for each hidden layer (1 at the last).
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
    /// How it ended.
    #[serde(flatten)]
    pub status: RunStatus,
    /// Steps run.
    pub steps_done: usize,
    /// Seconds the run took (the only field that differs between identical runs).
    pub wall_time_s: f64,
    /// Mini-batch loss and accuracy at every step.
    pub curve: Vec<CurvePoint>,
    /// Loss over the whole training set after training.
    pub train_loss: Option<f64>,
    /// Accuracy over the whole training set after training (classification).
    pub train_accuracy: Option<f64>,
    /// Loss over the held-out set.
    pub test_loss: Option<f64>,
    /// Accuracy over the held-out set (classification).
    pub test_accuracy: Option<f64>,
    /// `||delta_1|| / ||delta_depth||` at initialisation: how much the gradient
    /// shrinks (< 1) or grows (> 1) from the last hidden layer to the first.
    pub first_last_ratio: f64,
    /// Mean dead fraction over the hidden layers at the last recorded step.
    pub dead_final: f64,
    /// Mean saturated fraction over the hidden layers at the last recorded step.
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
    /// sharded and an unsharded run, or a resumed and an uninterrupted one.
    pub fn without_timing(&self) -> RunResult {
        RunResult {
            wall_time_s: 0.0,
            ..self.clone()
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
