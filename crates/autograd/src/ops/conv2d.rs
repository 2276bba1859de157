//! `conv2d`: 2-D convolution (cross-correlation, as every deep-learning library means
//! it) of `[N, C, H, W]` images with `[O, C, kh, kw]` filters, with stride, zero padding
//! and an optional bias `[O]`.
//!
//! `out[n, o, y, x] = b[o] + sum_{c,i,j} w[o, c, i, j] x[n, c, y*sh - ph + i, x*sw - pw + j]`.
//!
//! Composed, as im2col-based convolutions are: `im2col` lays every window out as a
//! column, one matrix product with the filters reshaped to `[O, C*kh*kw]` does the
//! sums, and a reshape gives `[N, O, Ho, Wo]`. So conv2d has no gradient rule of its
//! own: the gradients w.r.t. input, filters and bias come from the rules of `im2col` (a
//! gather, whose adjoint is col2im), `matmul` and `add`, and are differentiable again.
//! PyTorch: `torch.nn.functional.conv2d(x, w, b, stride, padding)`.

use crate::{Error, Result, Tensor, Var};

/// Checks the filter (and bias) against the input, naming the shapes.
fn check(x: &Tensor, w: &Tensor, b: Option<&Tensor>) -> Result<[usize; 4]> {
    let (&[_, c, _, _], &[o, wc, kh, kw]) = (x.dims(), w.dims()) else {
        return Err(Error::shape(
            "conv2d",
            &[x.shape(), w.shape()],
            "expects a [N, C, H, W] input and [O, C, kh, kw] filters",
        ));
    };
    if wc != c {
        return Err(Error::shape(
            "conv2d",
            &[x.shape(), w.shape()],
            format!("the input has {c} channels but the filters expect {wc}"),
        ));
    }
    if let Some(b) = b
        && b.dims() != [o]
    {
        return Err(Error::shape(
            "conv2d",
            &[w.shape(), b.shape()],
            format!("the bias must have shape [{o}], one value per filter"),
        ));
    }
    Ok([o, c, kh, kw])
}

impl Tensor {
    /// 2-D convolution. Plain maths: the composition of [`Var::conv2d`] on untracked
    /// values, so both share one implementation.
    ///
    /// # Errors
    /// As [`Var::conv2d`].
    pub fn conv2d(
        &self,
        weight: &Tensor,
        bias: Option<&Tensor>,
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> Result<Tensor> {
        let bias = bias.map(|b| Var::untracked(b.clone()));
        Var::untracked(self.clone())
            .conv2d(
                &Var::untracked(weight.clone()),
                bias.as_ref(),
                stride,
                padding,
            )
            .map(Var::into_value)
    }
}

/// `[Ho, Wo]`; only called after `im2col` has accepted the geometry.
fn output_size(
    dims: &[usize],
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
) -> [usize; 2] {
    [0, 1].map(|i| (dims[2 + i] + 2 * padding[i] - kernel[i]) / stride[i] + 1)
}

impl Var {
    /// 2-D convolution of `[N, C, H, W]` with filters `[O, C, kh, kw]` and an optional
    /// bias `[O]`; recorded as im2col, matmul, reshape and add.
    ///
    /// # Shapes
    /// Output `[N, O, Ho, Wo]` with `Ho = floor((H + 2 ph - kh) / sh) + 1`, likewise `Wo`.
    ///
    /// # Errors
    /// [`Error::Shape`] if the input is not 4-D, the filters are not 4-D, the channel
    /// counts differ, or the bias is not `[O]`; the errors of `im2col` for a zero
    /// stride, a kernel larger than the padded input, and so on.
    #[track_caller]
    pub fn conv2d(
        &self,
        weight: &Var,
        bias: Option<&Var>,
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> Result<Var> {
        let [o, c, kh, kw] = check(self.value(), weight.value(), bias.map(Var::value))?;
        let cols = self.im2col([kh, kw], stride, padding)?;
        let out = weight.reshape([o, c * kh * kw])?.matmul(&cols)?;
        let [ho, wo] = output_size(self.dims(), [kh, kw], stride, padding);
        let out = out.reshape([self.dims()[0], o, ho, wo])?;
        match bias {
            Some(b) => out.add(&b.reshape([1, o, 1, 1])?),
            None => Ok(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::*;

    /// Direct nested-loop convolution.
    fn reference(
        x: &[f64],
        [n, c, h, w]: [usize; 4],
        k: &[f64],
        [o, kh, kw]: [usize; 3],
        bias: &[f64],
        [sh, sw]: [usize; 2],
        [ph, pw]: [usize; 2],
    ) -> Vec<f64> {
        let ho = (h + 2 * ph - kh) / sh + 1;
        let wo = (w + 2 * pw - kw) / sw + 1;
        let mut out = vec![0.0; n * o * ho * wo];
        for b in 0..n {
            for f in 0..o {
                for y in 0..ho {
                    for xx in 0..wo {
                        let mut s = bias[f];
                        for ch in 0..c {
                            for i in 0..kh {
                                for j in 0..kw {
                                    let (iy, ix) = (
                                        (y * sh + i) as isize - ph as isize,
                                        (xx * sw + j) as isize - pw as isize,
                                    );
                                    if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                                        continue;
                                    }
                                    s += k[((f * c + ch) * kh + i) * kw + j]
                                        * x[((b * c + ch) * h + iy as usize) * w + ix as usize];
                                }
                            }
                        }
                        out[((b * o + f) * ho + y) * wo + xx] = s;
                    }
                }
            }
        }
        out
    }

    #[test]
    fn conv2d_matches_a_direct_convolution() {
        for (stride, padding) in [([1, 1], [0, 0]), ([2, 1], [1, 0]), ([2, 2], [1, 1])] {
            let x = randn(&[2, 3, 5, 6], 1);
            let w = randn(&[4, 3, 3, 2], 2);
            let b = randn(&[4], 3);
            let got = x.conv2d(&w, Some(&b), stride, padding).unwrap();
            let want = reference(
                &x.to_f64_vec(),
                [2, 3, 5, 6],
                &w.to_f64_vec(),
                [4, 3, 2],
                &b.to_f64_vec(),
                stride,
                padding,
            );
            assert_close(&got.to_f64_vec(), &want, 1e-12, 1e-12);
        }
    }

    #[test]
    fn conv2d_gradchecks_for_input_filters_and_bias() {
        let x = randn(&[2, 2, 4, 5], 4);
        let w = randn(&[3, 2, 2, 3], 5);
        let b = randn(&[3], 6);
        check_op(
            |v| v[0].conv2d(&v[1], Some(&v[2]), [1, 2], [1, 1]),
            &[x.clone(), w.clone(), b],
        );
        check_op(
            |v| v[0].conv2d(&v[1], None, [2, 1], [0, 1])?.tanh(),
            &[x, w],
        );
    }

    #[test]
    fn conv2d_names_mismatched_channels_and_bias() {
        let x = randn(&[1, 3, 4, 4], 1);
        let e = x
            .conv2d(&randn(&[2, 2, 3, 3], 2), None, [1, 1], [0, 0])
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "conv2d: the input has 3 channels but the filters expect 2 (shapes: [1, 3, 4, 4], [2, 2, 3, 3])"
        );
        let e = x
            .conv2d(
                &randn(&[2, 3, 3, 3], 2),
                Some(&randn(&[3], 3)),
                [1, 1],
                [0, 0],
            )
            .unwrap_err();
        assert!(
            e.to_string().contains("the bias must have shape [2]"),
            "{e}"
        );
        assert!(
            randn(&[3, 4, 4], 1)
                .conv2d(&randn(&[2, 3, 3, 3], 2), None, [1, 1], [0, 0])
                .is_err()
        );
    }
}
