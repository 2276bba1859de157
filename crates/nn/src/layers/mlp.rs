//! [`Mlp`]: a multi-layer perceptron, built from widths, activations and an init.

use gradflow_autograd::{Activation, DType, Tensor, Var};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

use super::activation::Act;
use super::dropout::Dropout;
use super::linear::Linear;
use super::norm::{BatchNorm1d, LayerNorm, Norm};
use super::residual::Residual;
use super::sequential::Sequential;
use crate::init::Init;
use crate::{Error, ForwardCtx, Module, Result, Role};

/// A multi-layer perceptron: for each hidden width a block `Linear`, optional
/// normalisation, activation, optional dropout; then a final `Linear` and the output
/// activation (left out when it is the identity).
///
/// # Layout and parameter names
///
/// The modules sit in a [`Sequential`] named `layers`, as in a PyTorch module holding
/// `self.layers = nn.Sequential(...)`, so parameters are named `layers.<index>.<name>`.
/// Hidden block `k` (from width `w_k` to `w_{k+1}`) is, in order:
///
/// 1. `Linear(w_k -> w_{k+1})` (parameters `weight`, `bias`);
/// 2. with [`.norm(Norm::Layer)`](MlpBuilder::norm), a [`LayerNorm`]`(w_{k+1})`, or with
///    `.norm(Norm::Batch)` a [`BatchNorm1d`]`(w_{k+1})` (parameters `weight`, `bias`;
///    batch norm also has the buffers `running_mean`, `running_var`,
///    `num_batches_tracked`), between the linear layer and the activation;
/// 3. the hidden activation ([`Act`], no parameters);
/// 4. with [`.dropout(p)`](MlpBuilder::dropout) and `p > 0`, a [`Dropout`]`(p)`.
///
/// Without [`.residual(true)`](MlpBuilder::residual) the modules of every block are
/// consecutive entries of `layers`. With it, each block whose input and output widths
/// are equal becomes a single entry, a [`Residual`] computing `x + block(x)`, whose
/// child `inner` is a [`Sequential`] of the block's modules; blocks that change the
/// width (typically the first) stay flat. The output `Linear` is never wrapped.
///
/// For example `Mlp::builder(3, &[8, 8], 2).norm(Norm::Layer).residual(true)` gives
///
/// | entry      | module                                   | parameters                                   |
/// |------------|------------------------------------------|----------------------------------------------|
/// | `layers.0` | `Linear(3 -> 8)`                         | `layers.0.weight`, `layers.0.bias`           |
/// | `layers.1` | `LayerNorm(8)`                           | `layers.1.weight`, `layers.1.bias`           |
/// | `layers.2` | activation                               |                                              |
/// | `layers.3` | `Residual`, `inner` = `Sequential[Linear(8 -> 8), LayerNorm(8), activation]` | `layers.3.inner.0.weight`, `layers.3.inner.0.bias`, `layers.3.inner.1.weight`, `layers.3.inner.1.bias` |
/// | `layers.4` | `Linear(8 -> 2)`                         | `layers.4.weight`, `layers.4.bias`           |
///
/// and without `.residual(true)` the second block's modules are `layers.3` to
/// `layers.5` and the output layer `layers.6`.
///
/// ```
/// use gradflow_autograd::{Activation, DType};
/// use gradflow_nn::{init::Init, Mlp, module::parameter_count};
/// let mlp = Mlp::builder(784, &[256, 256], 10)
///     .activation(Activation::Relu)
///     .output_activation(Activation::Softmax { axis: -1 })
///     .init(Init::he())
///     .seed(42)
///     .build()?;
/// assert_eq!(parameter_count(&mlp), 784 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10);
/// assert_eq!(mlp.depth(), 3);
/// # Ok::<(), gradflow_nn::Error>(())
/// ```
#[derive(Debug)]
pub struct Mlp {
    layers: Sequential,
    widths: Vec<usize>,
    activation: Activation,
    output_activation: Activation,
    init: Init,
    norm: Option<Norm>,
    dropout: f64,
    residual: bool,
}

/// Builder of an [`Mlp`]; see [`Mlp::builder`].
#[derive(Clone, Debug)]
pub struct MlpBuilder {
    input: usize,
    hidden: Vec<usize>,
    output: usize,
    activation: Activation,
    output_activation: Activation,
    init: Init,
    bias: bool,
    dtype: DType,
    seed: u64,
    norm: Option<Norm>,
    dropout: f64,
    residual: bool,
}

impl Mlp {
    /// Starts a builder: `input` features, one hidden layer per entry of `hidden`,
    /// `output` features. Defaults: ReLU, identity output, the standard init
    /// (PyTorch's default), biases (zero), f32, seed 0, no normalisation, no dropout,
    /// no residual connections.
    pub fn builder(input: usize, hidden: &[usize], output: usize) -> MlpBuilder {
        MlpBuilder {
            input,
            hidden: hidden.to_vec(),
            output,
            activation: Activation::Relu,
            output_activation: Activation::Identity,
            init: Init::Standard,
            bias: true,
            dtype: DType::F32,
            seed: 0,
            norm: None,
            dropout: 0.0,
            residual: false,
        }
    }

    /// Number of linear layers.
    pub fn depth(&self) -> usize {
        self.widths.len() - 1
    }

    /// Layer widths, input first, output last.
    pub fn widths(&self) -> &[usize] {
        &self.widths
    }

    /// The hidden activation.
    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// The output activation.
    pub fn output_activation(&self) -> Activation {
        self.output_activation
    }

    /// The weight initialiser.
    pub fn init(&self) -> Init {
        self.init
    }

    /// The normalisation after each hidden linear layer, if any.
    pub fn norm(&self) -> Option<Norm> {
        self.norm
    }

    /// The dropout probability after each hidden activation (0: no dropout layers).
    pub fn dropout(&self) -> f64 {
        self.dropout
    }

    /// Whether hidden blocks of equal width are residual.
    pub fn residual(&self) -> bool {
        self.residual
    }

    /// The layers.
    pub fn layers(&self) -> &Sequential {
        &self.layers
    }
}

impl MlpBuilder {
    /// The hidden activation.
    pub fn activation(mut self, a: Activation) -> Self {
        self.activation = a;
        self
    }

    /// The output activation (identity for regression or logits, sigmoid for binary
    /// and multi-label, softmax for multi-class probabilities).
    pub fn output_activation(mut self, a: Activation) -> Self {
        self.output_activation = a;
        self
    }

    /// The weight initialiser (its gain follows each layer's activation).
    pub fn init(mut self, init: Init) -> Self {
        self.init = init;
        self
    }

    /// Whether layers have biases.
    pub fn bias(mut self, bias: bool) -> Self {
        self.bias = bias;
        self
    }

    /// The dtype of the parameters.
    pub fn dtype(mut self, dtype: DType) -> Self {
        self.dtype = dtype;
        self
    }

    /// The seed of the weights.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// A normalisation layer between each hidden `Linear` and its activation (see the
    /// [layout](Mlp#layout-and-parameter-names)). The output layer is not normalised.
    pub fn norm(mut self, norm: Norm) -> Self {
        self.norm = Some(norm);
        self
    }

    /// A [`Dropout`] of probability `p` after each hidden activation; `p = 0` (the
    /// default) adds no layers. Checked by [`MlpBuilder::build`].
    pub fn dropout(mut self, p: f64) -> Self {
        self.dropout = p;
        self
    }

    /// Whether each hidden block whose input and output widths are equal is wrapped in
    /// a [`Residual`], `x + block(x)` (see the [layout](Mlp#layout-and-parameter-names)).
    pub fn residual(mut self, residual: bool) -> Self {
        self.residual = residual;
        self
    }

    /// Builds the network.
    ///
    /// # Errors
    /// [`Error::Config`] for a zero width, a bad activation or init parameter, or a
    /// dropout probability outside `[0, 1)`.
    pub fn build(self) -> Result<Mlp> {
        let mut widths = vec![self.input];
        widths.extend(&self.hidden);
        widths.push(self.output);
        if let Some(w) = widths.iter().position(|&w| w == 0) {
            return Err(Error::config(
                "Mlp",
                format!("every width must be at least 1, got {widths:?} (position {w})"),
            ));
        }
        self.activation.validate()?;
        self.output_activation.validate()?;
        // Checked before any weight is drawn; cloned into each block below.
        let dropout = Dropout::new(self.dropout)?;
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(self.seed);
        let mut layers = Sequential::new();
        let n = widths.len() - 1;
        for (i, pair) in widths.windows(2).enumerate() {
            let &[fan_in, fan_out] = pair else {
                continue;
            };
            let hidden = i + 1 < n;
            let act = if hidden {
                self.activation
            } else {
                self.output_activation
            };
            let w = self
                .init
                .tensor_with(&[fan_out, fan_in], self.dtype, Some(act), &mut rng)?;
            let b = self.bias.then(|| Tensor::zeros([fan_out], self.dtype));
            let linear = Linear::from_tensors(w, b)?;
            if !hidden {
                layers = layers.with(linear);
                if act != Activation::Identity {
                    layers = layers.with(Act(act));
                }
                continue;
            }
            let mut block: Vec<Box<dyn Module>> = vec![Box::new(linear)];
            match self.norm {
                Some(Norm::Layer) => block.push(Box::new(LayerNorm::new(fan_out, self.dtype)?)),
                Some(Norm::Batch) => {
                    block.push(Box::new(BatchNorm1d::new(fan_out, self.dtype)?));
                }
                None => {}
            }
            block.push(Box::new(Act(act)));
            if dropout.p() > 0.0 {
                block.push(Box::new(dropout));
            }
            if self.residual && fan_in == fan_out {
                let mut inner = Sequential::new();
                for m in block {
                    inner.push(m);
                }
                layers = layers.with(Residual::new(inner));
            } else {
                for m in block {
                    layers.push(m);
                }
            }
        }
        Ok(Mlp {
            layers,
            widths,
            activation: self.activation,
            output_activation: self.output_activation,
            init: self.init,
            norm: self.norm,
            dropout: self.dropout,
            residual: self.residual,
        })
    }
}

impl Module for Mlp {
    fn kind(&self) -> &'static str {
        "Mlp"
    }

    fn describe(&self) -> String {
        let mut extras = String::new();
        if let Some(norm) = self.norm {
            extras.push_str(&format!(", {norm}"));
        }
        if self.dropout > 0.0 {
            extras.push_str(&format!(", dropout {}", self.dropout));
        }
        if self.residual {
            extras.push_str(", residual");
        }
        format!(
            "Mlp({}, {}, output {}, init {}{extras})",
            self.widths
                .iter()
                .map(|w| w.to_string())
                .collect::<Vec<_>>()
                .join("-"),
            self.activation,
            self.output_activation,
            self.init
        )
    }

    fn role(&self) -> Role {
        Role::Container
    }

    fn forward(&self, ctx: &mut ForwardCtx<'_>, x: &Var) -> Result<Var> {
        ctx.call("layers", &self.layers, x)
    }

    fn children(&self) -> Vec<(String, &dyn Module)> {
        vec![("layers".to_string(), &self.layers as &dyn Module)]
    }

    fn children_mut(&mut self) -> Vec<(String, &mut dyn Module)> {
        vec![("layers".to_string(), &mut self.layers as &mut dyn Module)]
    }

    fn for_each_child(&self, f: &mut dyn FnMut(&dyn Module)) {
        f(&self.layers);
    }

    fn for_each_child_mut(&mut self, f: &mut dyn FnMut(&mut dyn Module)) {
        f(&mut self.layers);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::module::named_parameters;

    #[test]
    fn parameter_names_follow_pytorch_sequential_indices() {
        let mlp = Mlp::builder(3, &[4, 5], 2)
            .activation(Activation::Tanh)
            .build()
            .unwrap();
        let names: Vec<String> = named_parameters(&mlp).into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                "layers.0.weight",
                "layers.0.bias",
                "layers.2.weight",
                "layers.2.bias",
                "layers.4.weight",
                "layers.4.bias"
            ]
        );
    }

    #[test]
    fn mlp_gradchecks_through_the_engine() {
        let mlp = Mlp::builder(3, &[4], 2)
            .activation(Activation::Tanh)
            .output_activation(Activation::Sigmoid)
            .dtype(DType::F64)
            .seed(5)
            .build()
            .unwrap();
        let x = Tensor::randn([6, 3], DType::F64, 1);
        let r = crate::gradcheck_module(&mlp, &x, &Default::default()).unwrap();
        assert!(r.passed, "{r}");
    }

    fn names(m: &dyn Module) -> Vec<String> {
        named_parameters(m).into_iter().map(|(n, _)| n).collect()
    }

    #[test]
    fn norm_and_dropout_sit_between_linear_and_activation_and_after_it() {
        let mlp = Mlp::builder(3, &[4, 5], 2)
            .norm(Norm::Batch)
            .dropout(0.2)
            .build()
            .unwrap();
        let kinds: Vec<&str> = mlp.layers().layers().iter().map(|l| l.kind()).collect();
        assert_eq!(
            kinds,
            [
                "Linear",
                "BatchNorm1d",
                "Activation",
                "Dropout",
                "Linear",
                "BatchNorm1d",
                "Activation",
                "Dropout",
                "Linear"
            ]
        );
        assert_eq!(
            names(&mlp),
            [
                "layers.0.weight",
                "layers.0.bias",
                "layers.1.weight",
                "layers.1.bias",
                "layers.4.weight",
                "layers.4.bias",
                "layers.5.weight",
                "layers.5.bias",
                "layers.8.weight",
                "layers.8.bias"
            ]
        );
        let buffers: Vec<String> = crate::module::named_buffers(&mlp)
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(buffers[0], "layers.1.running_mean");
        assert_eq!(buffers.len(), 6);
        assert_eq!(
            mlp.describe(),
            "Mlp(3-4-5-2, relu, output identity, init standard, batch norm, dropout 0.2)"
        );
    }

    #[test]
    fn residual_wraps_exactly_the_hidden_blocks_of_equal_width() {
        let mlp = Mlp::builder(3, &[8, 8, 8], 2)
            .norm(Norm::Layer)
            .residual(true)
            .build()
            .unwrap();
        let kinds: Vec<&str> = mlp.layers().layers().iter().map(|l| l.kind()).collect();
        assert_eq!(
            kinds,
            [
                "Linear",
                "LayerNorm",
                "Activation",
                "Residual",
                "Residual",
                "Linear"
            ]
        );
        assert_eq!(
            names(&mlp),
            [
                "layers.0.weight",
                "layers.0.bias",
                "layers.1.weight",
                "layers.1.bias",
                "layers.3.inner.0.weight",
                "layers.3.inner.0.bias",
                "layers.3.inner.1.weight",
                "layers.3.inner.1.bias",
                "layers.4.inner.0.weight",
                "layers.4.inner.0.bias",
                "layers.4.inner.1.weight",
                "layers.4.inner.1.bias",
                "layers.5.weight",
                "layers.5.bias"
            ]
        );
        // The documented example.
        let doc = Mlp::builder(3, &[8, 8], 2)
            .norm(Norm::Layer)
            .residual(true)
            .build()
            .unwrap();
        assert_eq!(names(&doc).last().unwrap(), "layers.4.bias");
        let flat = Mlp::builder(3, &[8, 8], 2)
            .norm(Norm::Layer)
            .build()
            .unwrap();
        assert_eq!(names(&flat).last().unwrap(), "layers.6.bias");
    }

    #[test]
    fn residual_blocks_add_their_input() {
        // With zero weights and biases a hidden block outputs act(0) = 0 for tanh, so
        // a residual network passes its first hidden layer's output through unchanged.
        let mlp = Mlp::builder(2, &[3, 3, 3], 3)
            .activation(Activation::Tanh)
            .init(Init::Zeros)
            .residual(true)
            .dtype(DType::F64)
            .build()
            .unwrap();
        let tape = gradflow_autograd::Tape::new();
        let mut ctx = ForwardCtx::new(&tape);
        let x = tape.constant(Tensor::randn([4, 3], DType::F64, 1));
        let hidden = &mlp.layers().layers()[2];
        let y = hidden.forward(&mut ctx, &x).unwrap();
        assert_eq!(y.value().to_f64_vec(), x.value().to_f64_vec());
    }

    #[test]
    fn extended_mlps_gradcheck_with_norms_residuals_and_dropout() {
        let x = Tensor::randn([6, 3], DType::F64, 2);
        for (norm, dropout) in [(Norm::Layer, 0.0), (Norm::Batch, 0.0), (Norm::Layer, 0.3)] {
            let mlp = Mlp::builder(3, &[4, 4], 2)
                .activation(Activation::Tanh)
                .norm(norm)
                .dropout(dropout)
                .residual(true)
                .dtype(DType::F64)
                .seed(6)
                .build()
                .unwrap();
            let r = crate::gradcheck_module(&mlp, &x, &Default::default()).unwrap();
            assert!(r.passed, "{}: {r}", mlp.describe());
        }
    }

    #[test]
    fn set_training_reaches_norms_and_dropout_inside_residual_blocks() {
        let mut mlp = Mlp::builder(3, &[4, 4], 2)
            .norm(Norm::Batch)
            .dropout(0.5)
            .residual(true)
            .dtype(DType::F64)
            .build()
            .unwrap();
        crate::module::set_training(&mut mlp, false);
        // In eval mode, batch norm takes one example and dropout is the identity: two
        // passes with different seeds agree.
        let x = Tensor::randn([1, 3], DType::F64, 3);
        let run = |seed| {
            let tape = gradflow_autograd::Tape::new();
            let mut ctx = ForwardCtx::with_seed(&tape, seed);
            mlp.forward(&mut ctx, &tape.constant(x.clone()))
                .unwrap()
                .value()
                .to_f64_vec()
        };
        assert_eq!(run(1), run(2));
    }

    #[test]
    fn a_bad_dropout_probability_is_refused_at_build() {
        let e = Mlp::builder(3, &[4], 2).dropout(1.0).build().unwrap_err();
        assert_eq!(e.to_string(), "Dropout: p must be in [0, 1), got 1");
    }

    #[test]
    fn same_seed_same_weights_and_zero_width_refused() {
        let a = Mlp::builder(3, &[4], 2).seed(1).build().unwrap();
        let b = Mlp::builder(3, &[4], 2).seed(1).build().unwrap();
        let pa: Vec<Vec<f64>> = named_parameters(&a)
            .iter()
            .map(|(_, p)| p.value().to_f64_vec())
            .collect();
        let pb: Vec<Vec<f64>> = named_parameters(&b)
            .iter()
            .map(|(_, p)| p.value().to_f64_vec())
            .collect();
        assert_eq!(pa, pb);
        let e = Mlp::builder(3, &[0], 2).build().unwrap_err().to_string();
        assert_eq!(
            e,
            "Mlp: every width must be at least 1, got [3, 0, 2] (position 1)"
        );
    }
}
