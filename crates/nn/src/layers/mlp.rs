//! [`Mlp`]: a multi-layer perceptron, built from widths, activations and an init.

use gradflow_autograd::{Activation, DType, Tensor, Var};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

use super::activation::Act;
use super::linear::Linear;
use super::sequential::Sequential;
use crate::init::Init;
use crate::{Error, ForwardCtx, Module, Result, Role};

/// A multi-layer perceptron: `Linear, activation` for each hidden width, then a final
/// `Linear` and the output activation (left out when it is the identity). Its layers
/// sit in a [`Sequential`] named `layers`, so parameters are `layers.0.weight`,
/// `layers.0.bias`, `layers.2.weight`, ... exactly as for a PyTorch module holding
/// `self.layers = nn.Sequential(...)`.
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
}

impl Mlp {
    /// Starts a builder: `input` features, one hidden layer per entry of `hidden`,
    /// `output` features. Defaults: ReLU, identity output, the standard init
    /// (PyTorch's default), biases (zero), f32, seed 0.
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

    /// Builds the network.
    ///
    /// # Errors
    /// [`Error::Config`] for a zero width or a bad activation or init parameter.
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
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(self.seed);
        let mut layers = Sequential::new();
        let n = widths.len() - 1;
        for i in 0..n {
            let (fan_in, fan_out) = (widths[i], widths[i + 1]);
            let act = if i + 1 < n {
                self.activation
            } else {
                self.output_activation
            };
            let w = self
                .init
                .tensor_with(&[fan_out, fan_in], self.dtype, Some(act), &mut rng)?;
            let b = self.bias.then(|| Tensor::zeros([fan_out], self.dtype));
            layers = layers.with(Linear::from_tensors(w, b)?);
            if i + 1 < n || act != Activation::Identity {
                layers = layers.with(Act(act));
            }
        }
        Ok(Mlp {
            layers,
            widths,
            activation: self.activation,
            output_activation: self.output_activation,
            init: self.init,
        })
    }
}

impl Module for Mlp {
    fn kind(&self) -> &'static str {
        "Mlp"
    }

    fn describe(&self) -> String {
        format!(
            "Mlp({}, {}, output {}, init {})",
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
