//! [`Dropout`]: inverted dropout, a random mask in training and the identity in
//! evaluation.

use gradflow_autograd::{DType, Tensor, Var};

use crate::{Error, ForwardCtx, Module, Result};

/// Inverted dropout (Srivastava et al. 2014): in training mode each element is zeroed
/// with probability `p` and the survivors are scaled by `1 / (1 - p)`, so
/// `y = x * m / (1 - p)` with `m ~ Bernoulli(1 - p)` elementwise and `E[y] = x`; the
/// gradient is `m / (1 - p)` times the upstream one. In evaluation mode (see
/// [`set_training`](crate::module::set_training)) it is the identity, as is `p = 0`.
///
/// The mask is drawn from the pass's generator, [`ForwardCtx::rng`]: a context built
/// with [`ForwardCtx::with_seed`] gives the same masks every time. PyTorch:
/// `nn.Dropout(p)`. No parameters.
///
/// # Shapes
/// Any input; output the same.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dropout {
    p: f64,
    training: bool,
}

impl Dropout {
    /// Drops each element with probability `p`, in training mode.
    ///
    /// # Errors
    /// [`Error::Config`] unless `0 <= p < 1` (`p = 1` would drop everything and scale
    /// by infinity).
    pub fn new(p: f64) -> Result<Dropout> {
        if !(0.0..1.0).contains(&p) {
            return Err(Error::config(
                "Dropout",
                format!("p must be in [0, 1), got {p}"),
            ));
        }
        Ok(Dropout { p, training: true })
    }

    /// The drop probability.
    pub fn p(&self) -> f64 {
        self.p
    }

    /// Whether the layer is in training mode (drops elements).
    pub fn is_training(&self) -> bool {
        self.training
    }
}

impl Module for Dropout {
    fn kind(&self) -> &'static str {
        "Dropout"
    }

    fn describe(&self) -> String {
        format!("Dropout({})", self.p)
    }

    fn forward(&self, ctx: &mut ForwardCtx<'_>, x: &Var) -> Result<Var> {
        if !self.training || self.p == 0.0 {
            return Ok(x.clone());
        }
        // Uniform draws in f64 whatever the input's dtype, so a seed gives the same
        // mask for f32 and f64 inputs.
        let u = Tensor::rand_uniform_with(x.dims(), 0.0, 1.0, DType::F64, ctx.rng())?;
        let scale = 1.0 / (1.0 - self.p);
        let mask: Vec<f64> = u
            .to_f64_vec()
            .into_iter()
            .map(|u| if u < self.p { 0.0 } else { scale })
            .collect();
        let mask = Tensor::from_vec(mask, x.dims())?.to_dtype(x.dtype());
        Ok(x.mul(&Var::untracked(mask))?)
    }

    fn set_training_self(&mut self, training: bool) {
        self.training = training;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::module::set_training;
    use gradflow_autograd::Tape;

    fn run(layer: &Dropout, x: &Tensor, seed: u64) -> Vec<f64> {
        let tape = Tape::new();
        let mut ctx = ForwardCtx::with_seed(&tape, seed);
        layer
            .forward(&mut ctx, &tape.constant(x.clone()))
            .unwrap()
            .value()
            .to_f64_vec()
    }

    #[test]
    fn dropout_drops_a_fraction_p_and_scales_survivors_by_one_over_one_minus_p() {
        let n = 100_000;
        let x = Tensor::ones([n], DType::F32);
        for p in [0.1, 0.5, 0.8] {
            let y = run(&Dropout::new(p).unwrap(), &x, 3);
            let scale = 1.0 / (1.0 - p);
            let dropped = y.iter().filter(|&&v| v == 0.0).count();
            // Every survivor is exactly the scaled input (f32 rounding of the scale).
            assert!(
                y.iter()
                    .all(|&v| v == 0.0 || (v - scale).abs() < 1e-6 * scale)
            );
            // The dropped count is Binomial(n, p): its standard deviation is
            // sqrt(n p (1 - p)) <= 158, so 8 of them (1264) fails with probability
            // below 1e-14 for a correct mask.
            let sd = (n as f64 * p * (1.0 - p)).sqrt();
            assert!(
                (dropped as f64 - n as f64 * p).abs() < 8.0 * sd,
                "p {p}: dropped {dropped} of {n}"
            );
            // Inverted dropout keeps the mean: E[y] = 1, sd of the mean sqrt(p / (1 - p) / n).
            let mean = y.iter().sum::<f64>() / n as f64;
            let sd_mean = (p / (1.0 - p) / n as f64).sqrt();
            assert!((mean - 1.0).abs() < 8.0 * sd_mean, "p {p}: mean {mean}");
        }
    }

    #[test]
    fn dropout_masks_depend_on_the_seed_and_only_on_it() {
        let layer = Dropout::new(0.5).unwrap();
        let x = Tensor::ones([64], DType::F64);
        assert_eq!(run(&layer, &x, 1), run(&layer, &x, 1));
        assert_ne!(run(&layer, &x, 1), run(&layer, &x, 2));
        // Two layers in one pass draw different masks from the one generator.
        let tape = Tape::new();
        let mut ctx = ForwardCtx::with_seed(&tape, 1);
        let v = tape.constant(x);
        let a = layer.forward(&mut ctx, &v).unwrap().value().to_f64_vec();
        let b = layer.forward(&mut ctx, &v).unwrap().value().to_f64_vec();
        assert_ne!(a, b);
    }

    #[test]
    fn dropout_gradient_is_the_scaled_mask() {
        let layer = Dropout::new(0.25).unwrap();
        let tape = Tape::new();
        let mut ctx = ForwardCtx::new(&tape);
        let x = tape.var(Tensor::randn([50], DType::F64, 4));
        let y = layer.forward(&mut ctx, &x).unwrap();
        let grads = y.sum_all().unwrap().backward().unwrap();
        let g = grads.get(&x).unwrap().to_f64_vec();
        let (xv, yv) = (x.value().to_f64_vec(), y.value().to_f64_vec());
        for i in 0..50 {
            assert!((yv[i] - g[i] * xv[i]).abs() < 1e-15);
            assert!(g[i] == 0.0 || (g[i] - 1.0 / 0.75).abs() < 1e-15);
        }
        // With the mask fixed by the seed, training-mode dropout gradchecks.
        let r = crate::gradcheck_module(&layer, x.value(), &Default::default()).unwrap();
        assert!(r.passed, "{r}");
    }

    #[test]
    fn dropout_is_the_identity_in_eval_mode_and_for_p_zero() {
        let mut layer = Dropout::new(0.9).unwrap();
        set_training(&mut layer, false);
        assert!(!layer.is_training());
        let x = Tensor::randn([100], DType::F64, 5);
        assert_eq!(run(&layer, &x, 0), x.to_f64_vec());
        assert_eq!(run(&Dropout::new(0.0).unwrap(), &x, 0), x.to_f64_vec());
    }

    #[test]
    fn dropout_refuses_p_outside_zero_to_one() {
        for (p, msg) in [
            (1.0, "Dropout: p must be in [0, 1), got 1"),
            (-0.1, "Dropout: p must be in [0, 1), got -0.1"),
            (f64::NAN, "Dropout: p must be in [0, 1), got NaN"),
        ] {
            assert_eq!(Dropout::new(p).unwrap_err().to_string(), msg);
        }
    }
}
