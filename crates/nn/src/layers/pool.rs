//! Pooling layers: [`MaxPool2d`] and [`AvgPool2d`] over `[N, C, H, W]` batches.

use gradflow_autograd::Var;

use crate::{Error, ForwardCtx, Module, Result};

/// Kernel, stride and padding of a pooling layer, checked as PyTorch checks them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Window {
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
}

impl Window {
    fn new(
        what: &'static str,
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> Result<Window> {
        if kernel.contains(&0) {
            return Err(Error::config(
                what,
                format!("kernel sizes must be at least 1 (got {kernel:?})"),
            ));
        }
        if stride.contains(&0) {
            return Err(Error::config(
                what,
                format!("strides must be at least 1 (got {stride:?})"),
            ));
        }
        // PyTorch: "pad should be at most half of effective kernel size", so that every
        // window holds at least one element of the input.
        if padding[0] > kernel[0] / 2 || padding[1] > kernel[1] / 2 {
            return Err(Error::config(
                what,
                format!(
                    "padding must be at most half the kernel (got padding {padding:?} for kernel {kernel:?})"
                ),
            ));
        }
        Ok(Window {
            kernel,
            stride,
            padding,
        })
    }

    fn describe(&self, kind: &str) -> String {
        format!(
            "{kind}(kernel {:?}, stride {:?}, padding {:?})",
            self.kernel, self.stride, self.padding
        )
    }
}

/// 2-D max pooling: `y[n, c, i, j] = max_{u < kh, v < kw} x[n, c, i*sh - ph + u, j*sw - pw + v]`,
/// the padding counting as `-inf`. The gradient goes to each window's first maximum
/// (row-major), as in PyTorch; see the engine's [`Var::max_pool2d`].
///
/// PyTorch: `nn.MaxPool2d(kernel_size, stride=None, padding)` (stride defaults to the
/// kernel), with dilation 1 and `ceil_mode = False`. No parameters.
///
/// # Shapes
/// Input `[N, C, H, W]`, output `[N, C, Ho, Wo]` with
/// `Ho = floor((H + 2 ph - kh) / sh) + 1` and `Wo = floor((W + 2 pw - kw) / sw) + 1`.
///
/// ```
/// use gradflow_autograd::{Tape, Tensor};
/// use gradflow_nn::{ForwardCtx, MaxPool2d, Module};
/// let pool = MaxPool2d::new([2, 2])?;
/// let tape = Tape::new();
/// let x = tape.constant(Tensor::from_vec((1..=16).map(f64::from).collect(), [1, 1, 4, 4])?);
/// let y = pool.forward(&mut ForwardCtx::new(&tape), &x)?;
/// assert_eq!(y.value().to_vec::<f64>()?, vec![6.0, 8.0, 14.0, 16.0]);
/// # Ok::<(), gradflow_nn::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaxPool2d {
    window: Window,
}

impl MaxPool2d {
    /// Windows of `kernel`, stride equal to the kernel, no padding.
    ///
    /// # Errors
    /// [`Error::Config`] for a zero kernel size.
    pub fn new(kernel: [usize; 2]) -> Result<MaxPool2d> {
        MaxPool2d::with_options(kernel, kernel, [0, 0])
    }

    /// Windows of `kernel` every `stride`, over the input padded by `padding` on each
    /// side.
    ///
    /// # Errors
    /// [`Error::Config`] for a zero kernel size or stride, or a padding above half the
    /// kernel.
    pub fn with_options(
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> Result<MaxPool2d> {
        Ok(MaxPool2d {
            window: Window::new("MaxPool2d", kernel, stride, padding)?,
        })
    }

    /// The kernel `[kh, kw]`.
    pub fn kernel(&self) -> [usize; 2] {
        self.window.kernel
    }

    /// The stride `[sh, sw]`.
    pub fn stride(&self) -> [usize; 2] {
        self.window.stride
    }

    /// The padding `[ph, pw]` on each side.
    pub fn padding(&self) -> [usize; 2] {
        self.window.padding
    }
}

impl Module for MaxPool2d {
    fn kind(&self) -> &'static str {
        "MaxPool2d"
    }

    fn describe(&self) -> String {
        self.window.describe(self.kind())
    }

    fn forward(&self, _ctx: &mut ForwardCtx<'_>, x: &Var) -> Result<Var> {
        let w = self.window;
        Ok(x.max_pool2d(w.kernel, w.stride, w.padding)?)
    }
}

/// 2-D average pooling: `y[n, c, i, j] = (1 / (kh kw)) sum_{u, v} x[n, c, i*sh - ph + u, j*sw - pw + v]`,
/// the zero padding counted in every window's `kh kw` (see the engine's
/// [`Var::avg_pool2d`]).
///
/// PyTorch: `nn.AvgPool2d(kernel_size, stride=None, padding)` (stride defaults to the
/// kernel), with `ceil_mode = False` and `count_include_pad = True`. No parameters.
///
/// # Shapes
/// As [`MaxPool2d`]: `[N, C, H, W]` to `[N, C, Ho, Wo]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AvgPool2d {
    window: Window,
}

impl AvgPool2d {
    /// Windows of `kernel`, stride equal to the kernel, no padding.
    ///
    /// # Errors
    /// [`Error::Config`] for a zero kernel size.
    pub fn new(kernel: [usize; 2]) -> Result<AvgPool2d> {
        AvgPool2d::with_options(kernel, kernel, [0, 0])
    }

    /// Windows of `kernel` every `stride`, over the input padded with zeros by
    /// `padding` on each side.
    ///
    /// # Errors
    /// [`Error::Config`] for a zero kernel size or stride, or a padding above half the
    /// kernel.
    pub fn with_options(
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> Result<AvgPool2d> {
        Ok(AvgPool2d {
            window: Window::new("AvgPool2d", kernel, stride, padding)?,
        })
    }

    /// The kernel `[kh, kw]`.
    pub fn kernel(&self) -> [usize; 2] {
        self.window.kernel
    }

    /// The stride `[sh, sw]`.
    pub fn stride(&self) -> [usize; 2] {
        self.window.stride
    }

    /// The padding `[ph, pw]` on each side.
    pub fn padding(&self) -> [usize; 2] {
        self.window.padding
    }
}

impl Module for AvgPool2d {
    fn kind(&self) -> &'static str {
        "AvgPool2d"
    }

    fn describe(&self) -> String {
        self.window.describe(self.kind())
    }

    fn forward(&self, _ctx: &mut ForwardCtx<'_>, x: &Var) -> Result<Var> {
        let w = self.window;
        Ok(x.avg_pool2d(w.kernel, w.stride, w.padding)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gradflow_autograd::{DType, Tape, Tensor};

    fn run(layer: &dyn Module, x: &Tensor) -> Result<Vec<f64>> {
        let tape = Tape::new();
        let mut ctx = ForwardCtx::new(&tape);
        Ok(layer
            .forward(&mut ctx, &tape.constant(x.clone()))?
            .value()
            .to_f64_vec())
    }

    /// 0..16 in a 4x4 image, shuffled so no window is sorted.
    fn image() -> Tensor {
        let v = [
            3.0, 9.0, 1.0, 12.0, //
            7.0, 0.0, 15.0, 4.0, //
            11.0, 5.0, 2.0, 8.0, //
            6.0, 13.0, 10.0, 14.0,
        ];
        Tensor::from_vec(v.to_vec(), [1, 1, 4, 4]).unwrap()
    }

    #[test]
    fn max_pool_stride_defaults_to_the_kernel_and_matches_hand_computed_maxima() {
        let pool = MaxPool2d::new([2, 2]).unwrap();
        assert_eq!(pool.stride(), [2, 2]);
        assert_eq!(run(&pool, &image()).unwrap(), [9.0, 15.0, 13.0, 14.0]);
        // Overlapping 3x3 windows with one cell of -inf padding, stride 2.
        let pool = MaxPool2d::with_options([3, 3], [2, 2], [1, 1]).unwrap();
        assert_eq!(run(&pool, &image()).unwrap(), [9.0, 15.0, 13.0, 15.0]);
    }

    #[test]
    fn avg_pool_counts_the_padding_as_in_pytorch() {
        let pool = AvgPool2d::new([2, 2]).unwrap();
        assert_eq!(pool.stride(), [2, 2]);
        assert_eq!(
            run(&pool, &image()).unwrap(),
            [19.0 / 4.0, 32.0 / 4.0, 35.0 / 4.0, 34.0 / 4.0]
        );
        // The top-left 3x3 window with padding 1 holds 3, 9, 7, 0 and five zeros.
        let pool = AvgPool2d::with_options([3, 3], [2, 2], [1, 1]).unwrap();
        let got = run(&pool, &image()).unwrap();
        assert!((got[0] - 19.0 / 9.0).abs() < 1e-15, "{got:?}");
    }

    #[test]
    fn pooling_layers_gradcheck_on_inputs_without_ties() {
        // A random permutation of distinct values: no two elements of a window tie,
        // and finite differences (1e-6) cannot swap a maximum.
        let n = 2 * 3 * 5 * 5;
        let mut values: Vec<f64> = (0..n).map(|i| i as f64 * 0.05 - 3.0).collect();
        let order = Tensor::randn([n], DType::F64, 7).to_f64_vec();
        let mut idx: Vec<usize> = (0..n).collect();
        idx.sort_by(|&a, &b| order[a].total_cmp(&order[b]));
        values = idx.iter().map(|&i| values[i]).collect();
        let x = Tensor::from_vec(values, [2, 3, 5, 5]).unwrap();
        let layers: [Box<dyn Module>; 4] = [
            Box::new(MaxPool2d::new([2, 2]).unwrap()),
            Box::new(MaxPool2d::with_options([3, 2], [2, 1], [1, 1]).unwrap()),
            Box::new(AvgPool2d::new([2, 2]).unwrap()),
            Box::new(AvgPool2d::with_options([3, 3], [2, 2], [1, 1]).unwrap()),
        ];
        for layer in &layers {
            let r = crate::gradcheck_module(layer.as_ref(), &x, &Default::default()).unwrap();
            assert!(r.passed, "{}: {r}", layer.describe());
        }
    }

    #[test]
    fn pooling_refuses_zero_kernels_zero_strides_and_wide_padding() {
        assert_eq!(
            MaxPool2d::new([0, 2]).unwrap_err().to_string(),
            "MaxPool2d: kernel sizes must be at least 1 (got [0, 2])"
        );
        assert_eq!(
            AvgPool2d::with_options([2, 2], [1, 0], [0, 0])
                .unwrap_err()
                .to_string(),
            "AvgPool2d: strides must be at least 1 (got [1, 0])"
        );
        assert_eq!(
            MaxPool2d::with_options([3, 3], [1, 1], [2, 1])
                .unwrap_err()
                .to_string(),
            "MaxPool2d: padding must be at most half the kernel (got padding [2, 1] for kernel [3, 3])"
        );
    }

    #[test]
    fn pooling_names_a_wrong_input_shape() {
        let pool = MaxPool2d::new([2, 2]).unwrap();
        let e = run(&pool, &Tensor::zeros([4, 4], DType::F64)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "max_pool2d: expects a 4-D [N, C, H, W] input, got 2-D (shapes: [4, 4])"
        );
        let pool = AvgPool2d::new([3, 3]).unwrap();
        let e = run(&pool, &Tensor::zeros([1, 1, 2, 2], DType::F64)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "avg_pool2d: kernel [3, 3] is larger than the padded input [2, 2] (padding [0, 0] on each side), so the output would be empty (shapes: [1, 1, 2, 2])"
        );
    }
}
