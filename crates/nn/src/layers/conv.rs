//! [`Conv2d`]: 2-D convolution (cross-correlation) of image batches with learned filters.

use gradflow_autograd::{Activation, DType, Tensor, Var};

use crate::init::Init;
use crate::{Error, ForwardCtx, Module, Param, Result, Role};

/// A 2-D convolution layer:
/// `y[n, o, i, j] = b[o] + sum_{c, u, v} w[o, c, u, v] x[n, c, i*sh - ph + u, j*sw - pw + v]`,
/// the input padded with zeros (the engine's [`Var::conv2d`]).
///
/// PyTorch: `nn.Conv2d(in, out, kernel_size=(kh, kw), stride, padding, bias)` with
/// dilation 1, one group and zero padding. The parameters are `"weight"` `[O, C, kh, kw]`
/// and `"bias"` `[O]`, PyTorch's names and layout, so weights move to and from PyTorch
/// checkpoints unchanged.
///
/// Initialisation: the weight is drawn by an [`Init`] whose fans are those of PyTorch
/// (`fan_in = C kh kw`, `fan_out = O kh kw`); the default, [`Init::Standard`], is
/// `U[-1/sqrt(fan_in), 1/sqrt(fan_in)]`, the scale of PyTorch's default
/// (`kaiming_uniform_(a = sqrt(5))`). The bias starts at zero, as for
/// [`Linear`](crate::Linear) (PyTorch draws it from the same uniform instead).
///
/// # Shapes
/// Input `[N, C, H, W]`, output `[N, O, Ho, Wo]` with
/// `Ho = floor((H + 2 ph - kh) / sh) + 1` and `Wo = floor((W + 2 pw - kw) / sw) + 1`.
///
/// ```
/// use gradflow_autograd::{DType, Tape, Tensor};
/// use gradflow_nn::{Conv2d, ForwardCtx, Module};
/// let conv = Conv2d::builder(3, 8, [3, 3]).padding([1, 1]).stride([2, 2]).seed(1).build()?;
/// let tape = Tape::new();
/// let mut ctx = ForwardCtx::new(&tape);
/// let y = conv.forward(&mut ctx, &tape.constant(Tensor::randn([2, 3, 9, 9], DType::F32, 0)))?;
/// assert_eq!(y.dims(), &[2, 8, 5, 5]);
/// # Ok::<(), gradflow_nn::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Conv2d {
    weight: Param,
    bias: Option<Param>,
    stride: [usize; 2],
    padding: [usize; 2],
}

/// Builder of a [`Conv2d`]; see [`Conv2d::builder`].
#[derive(Clone, Debug)]
pub struct Conv2dBuilder {
    inputs: usize,
    outputs: usize,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    bias: bool,
    init: Init,
    act: Option<Activation>,
    dtype: DType,
    seed: u64,
}

impl Conv2dBuilder {
    /// The stride `[sh, sw]` (default `[1, 1]`).
    pub fn stride(mut self, stride: [usize; 2]) -> Self {
        self.stride = stride;
        self
    }

    /// The zero padding `[ph, pw]` added on each side (default `[0, 0]`).
    pub fn padding(mut self, padding: [usize; 2]) -> Self {
        self.padding = padding;
        self
    }

    /// Whether the layer has a bias (default `true`).
    pub fn bias(mut self, bias: bool) -> Self {
        self.bias = bias;
        self
    }

    /// The weight initialiser (default [`Init::Standard`]).
    pub fn init(mut self, init: Init) -> Self {
        self.init = init;
        self
    }

    /// The activation that follows, whose gain schemes such as Kaiming use (default
    /// none, gain 1).
    pub fn activation(mut self, act: Activation) -> Self {
        self.act = Some(act);
        self
    }

    /// The dtype of the parameters (default f32).
    pub fn dtype(mut self, dtype: DType) -> Self {
        self.dtype = dtype;
        self
    }

    /// The seed of the weight (default 0).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Builds the layer.
    ///
    /// # Errors
    /// [`Error::Config`] for zero channels, a zero kernel size or stride, or a bad
    /// initialiser parameter.
    pub fn build(self) -> Result<Conv2d> {
        if self.inputs == 0 || self.outputs == 0 {
            return Err(Error::config(
                "Conv2d",
                format!(
                    "channels must be at least 1 (got {} -> {})",
                    self.inputs, self.outputs
                ),
            ));
        }
        check_geometry(self.kernel, self.stride)?;
        let [kh, kw] = self.kernel;
        let weight = self.init.tensor(
            &[self.outputs, self.inputs, kh, kw],
            self.dtype,
            self.act,
            self.seed,
        )?;
        let bias = self.bias.then(|| Tensor::zeros([self.outputs], self.dtype));
        Conv2d::from_tensors(weight, bias, self.stride, self.padding)
    }
}

fn check_geometry(kernel: [usize; 2], stride: [usize; 2]) -> Result<()> {
    if kernel.contains(&0) {
        return Err(Error::config(
            "Conv2d",
            format!("kernel sizes must be at least 1 (got {kernel:?})"),
        ));
    }
    if stride.contains(&0) {
        return Err(Error::config(
            "Conv2d",
            format!("strides must be at least 1 (got {stride:?})"),
        ));
    }
    Ok(())
}

impl Conv2d {
    /// Starts a builder: `inputs` channels in, `outputs` filters, a `[kh, kw]` kernel.
    /// Defaults: stride 1, no padding, a bias (zero), [`Init::Standard`], f32, seed 0.
    pub fn builder(inputs: usize, outputs: usize, kernel: [usize; 2]) -> Conv2dBuilder {
        Conv2dBuilder {
            inputs,
            outputs,
            kernel,
            stride: [1, 1],
            padding: [0, 0],
            bias: true,
            init: Init::Standard,
            act: None,
            dtype: DType::F32,
            seed: 0,
        }
    }

    /// A layer from given tensors: `weight: [O, C, kh, kw]`, `bias: [O]`.
    ///
    /// # Errors
    /// [`Error::Config`] if the shapes do not fit, a dimension of the weight is 0, or
    /// a stride is 0.
    pub fn from_tensors(
        weight: Tensor,
        bias: Option<Tensor>,
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> Result<Conv2d> {
        let &[o, c, kh, kw] = weight.dims() else {
            return Err(Error::config(
                "Conv2d",
                format!("the weight must be [O, C, kh, kw], got {}", weight.shape()),
            ));
        };
        if o == 0 || c == 0 {
            return Err(Error::config(
                "Conv2d",
                format!("channels must be at least 1 (got {c} -> {o})"),
            ));
        }
        check_geometry([kh, kw], stride)?;
        if let Some(b) = &bias
            && b.dims() != [o]
        {
            return Err(Error::config(
                "Conv2d",
                format!("the bias must be [{o}], got {}", b.shape()),
            ));
        }
        Ok(Conv2d {
            weight: Param::new(weight),
            bias: bias.map(Param::new),
            stride,
            padding,
        })
    }

    /// The filters `[O, C, kh, kw]`.
    pub fn weight(&self) -> &Param {
        &self.weight
    }

    /// The bias `[O]`, if any.
    pub fn bias(&self) -> Option<&Param> {
        self.bias.as_ref()
    }

    /// Input channels `C`.
    pub fn inputs(&self) -> usize {
        self.weight.value().dims().get(1).copied().unwrap_or(0)
    }

    /// Output channels (filters) `O`.
    pub fn outputs(&self) -> usize {
        self.weight.value().dims().first().copied().unwrap_or(0)
    }

    /// The kernel `[kh, kw]`.
    pub fn kernel(&self) -> [usize; 2] {
        match *self.weight.value().dims() {
            [_, _, kh, kw] => [kh, kw],
            _ => [0, 0],
        }
    }

    /// The stride `[sh, sw]`.
    pub fn stride(&self) -> [usize; 2] {
        self.stride
    }

    /// The zero padding `[ph, pw]` on each side.
    pub fn padding(&self) -> [usize; 2] {
        self.padding
    }
}

impl Module for Conv2d {
    fn kind(&self) -> &'static str {
        "Conv2d"
    }

    fn describe(&self) -> String {
        let [kh, kw] = self.kernel();
        format!(
            "Conv2d({} -> {}, kernel {kh}x{kw}, stride {:?}, padding {:?}{})",
            self.inputs(),
            self.outputs(),
            self.stride,
            self.padding,
            if self.bias.is_some() { "" } else { ", no bias" }
        )
    }

    fn role(&self) -> Role {
        Role::Conv2d {
            inputs: self.inputs(),
            outputs: self.outputs(),
        }
    }

    fn forward(&self, ctx: &mut ForwardCtx<'_>, x: &Var) -> Result<Var> {
        let w = ctx.param(&self.weight);
        let b = self.bias.as_ref().map(|b| ctx.param(b));
        Ok(x.conv2d(&w, b.as_ref(), self.stride, self.padding)?)
    }

    fn params(&self) -> Vec<(&'static str, &Param)> {
        let mut v = vec![("weight", &self.weight)];
        if let Some(b) = &self.bias {
            v.push(("bias", b));
        }
        v
    }

    fn params_mut(&mut self) -> Vec<(&'static str, &mut Param)> {
        let mut v = vec![("weight", &mut self.weight)];
        if let Some(b) = &mut self.bias {
            v.push(("bias", b));
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::module::named_parameters;
    use gradflow_autograd::Tape;

    /// Direct nested-loop convolution with zero padding.
    fn reference(x: &Tensor, w: &Tensor, b: &[f64], s: [usize; 2], p: [usize; 2]) -> Vec<f64> {
        let (xd, wd) = (x.dims(), w.dims());
        let (n, c, h, wi) = (xd[0], xd[1], xd[2], xd[3]);
        let (o, kh, kw) = (wd[0], wd[2], wd[3]);
        let ho = (h + 2 * p[0] - kh) / s[0] + 1;
        let wo = (wi + 2 * p[1] - kw) / s[1] + 1;
        let (xv, wv) = (x.to_f64_vec(), w.to_f64_vec());
        let mut out = Vec::new();
        for bn in 0..n {
            for f in 0..o {
                for i in 0..ho {
                    for j in 0..wo {
                        let mut acc = b[f];
                        for ch in 0..c {
                            for u in 0..kh {
                                for v in 0..kw {
                                    let yy = (i * s[0] + u) as isize - p[0] as isize;
                                    let xx = (j * s[1] + v) as isize - p[1] as isize;
                                    if yy < 0 || xx < 0 || yy >= h as isize || xx >= wi as isize {
                                        continue;
                                    }
                                    acc += wv[((f * c + ch) * kh + u) * kw + v]
                                        * xv[((bn * c + ch) * h + yy as usize) * wi + xx as usize];
                                }
                            }
                        }
                        out.push(acc);
                    }
                }
            }
        }
        out
    }

    fn run(layer: &dyn Module, x: &Tensor) -> Result<Tensor> {
        let tape = Tape::new();
        let mut ctx = ForwardCtx::new(&tape);
        Ok(layer
            .forward(&mut ctx, &tape.constant(x.clone()))?
            .into_value())
    }

    #[test]
    fn conv2d_matches_a_direct_loop_with_stride_and_padding() {
        let w = Tensor::randn([4, 2, 3, 2], DType::F64, 1);
        let b = Tensor::randn([4], DType::F64, 2);
        let x = Tensor::randn([2, 2, 5, 6], DType::F64, 3);
        for (s, p) in [([1, 1], [0, 0]), ([2, 1], [1, 1]), ([1, 3], [2, 0])] {
            let layer = Conv2d::from_tensors(w.clone(), Some(b.clone()), s, p).unwrap();
            let got = run(&layer, &x).unwrap().to_f64_vec();
            let want = reference(&x, &w, &b.to_f64_vec(), s, p);
            assert_eq!(got.len(), want.len());
            for (g, r) in got.iter().zip(&want) {
                assert!((g - r).abs() < 1e-12, "{g} vs {r}");
            }
        }
    }

    #[test]
    fn conv2d_gradchecks_for_input_weight_and_bias() {
        let layer = Conv2d::builder(2, 3, [2, 3])
            .stride([2, 1])
            .padding([1, 1])
            .dtype(DType::F64)
            .seed(4)
            .build()
            .unwrap();
        let x = Tensor::randn([2, 2, 4, 4], DType::F64, 5);
        let r = crate::gradcheck_module(&layer, &x, &Default::default()).unwrap();
        assert!(r.passed, "{r}");
    }

    #[test]
    fn conv2d_default_init_is_within_one_over_sqrt_fan_in_and_bias_is_zero() {
        let layer = Conv2d::builder(3, 16, [3, 3]).seed(9).build().unwrap();
        let bound = 1.0 / (27.0f64).sqrt();
        let w = layer.weight().value().to_f64_vec();
        assert!(w.iter().all(|v| v.abs() <= bound));
        // U[-a, a] has variance a^2 / 3; 432 draws give the sample variance within 20%.
        let var = w.iter().map(|v| v * v).sum::<f64>() / w.len() as f64;
        assert!((var / (bound * bound / 3.0) - 1.0).abs() < 0.2, "{var}");
        let bias = layer.bias().unwrap().value().to_f64_vec();
        assert!(bias.iter().all(|&v| v == 0.0));
        let names: Vec<String> = named_parameters(&layer)
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, ["weight", "bias"]);
        assert_eq!(layer.weight().value().dims(), &[16, 3, 3, 3]);
        assert_eq!(
            layer.role(),
            Role::Conv2d {
                inputs: 3,
                outputs: 16
            }
        );
    }

    #[test]
    fn conv2d_refuses_zero_channels_kernels_and_strides() {
        let e = |b: Conv2dBuilder| b.build().unwrap_err().to_string();
        assert_eq!(
            e(Conv2d::builder(0, 4, [3, 3])),
            "Conv2d: channels must be at least 1 (got 0 -> 4)"
        );
        assert_eq!(
            e(Conv2d::builder(1, 4, [0, 3])),
            "Conv2d: kernel sizes must be at least 1 (got [0, 3])"
        );
        assert_eq!(
            e(Conv2d::builder(1, 4, [3, 3]).stride([1, 0])),
            "Conv2d: strides must be at least 1 (got [1, 0])"
        );
        let w = Tensor::zeros([4, 3, 3], DType::F64);
        assert_eq!(
            Conv2d::from_tensors(w, None, [1, 1], [0, 0])
                .unwrap_err()
                .to_string(),
            "Conv2d: the weight must be [O, C, kh, kw], got [4, 3, 3]"
        );
        let w = Tensor::zeros([4, 3, 3, 3], DType::F64);
        let b = Tensor::zeros([3], DType::F64);
        assert_eq!(
            Conv2d::from_tensors(w, Some(b), [1, 1], [0, 0])
                .unwrap_err()
                .to_string(),
            "Conv2d: the bias must be [4], got [3]"
        );
    }

    #[test]
    fn conv2d_names_a_wrong_input_shape() {
        let layer = Conv2d::builder(3, 2, [3, 3])
            .dtype(DType::F64)
            .build()
            .unwrap();
        let e = run(&layer, &Tensor::zeros([1, 2, 5, 5], DType::F64)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "conv2d: the input has 2 channels but the filters expect 3 (shapes: [1, 2, 5, 5], [2, 3, 3, 3])"
        );
        let e = run(&layer, &Tensor::zeros([3, 5, 5], DType::F64)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "conv2d: expects a [N, C, H, W] input and [O, C, kh, kw] filters (shapes: [3, 5, 5], [2, 3, 3, 3])"
        );
    }
}
