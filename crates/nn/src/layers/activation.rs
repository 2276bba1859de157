//! Activation layers: [`Act`] (any [`Activation`]) and [`PRelu`] (a learned slope).

use gradflow_autograd::{Activation, DType, Tensor, Var};

use crate::{Error, ForwardCtx, Module, Param, Result, Role};

/// Applies an activation function: a thin module around the engine's op (one node).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Act(pub Activation);

impl Module for Act {
    fn kind(&self) -> &'static str {
        "Activation"
    }

    fn describe(&self) -> String {
        self.0.to_string()
    }

    fn role(&self) -> Role {
        Role::Activation(self.0)
    }

    fn forward(&self, _ctx: &mut ForwardCtx<'_>, x: &Var) -> Result<Var> {
        Ok(self.0.apply(x)?)
    }
}

/// The parametric ReLU with a learned slope, one per channel (dimension 1 of the
/// input) or one shared (He et al. 2015). PyTorch: `nn.PReLU(num_parameters, init)`.
///
/// # Shapes
/// Input `[N, C, ...]` with `C` equal to the number of slopes (or any shape with one
/// slope); output the same.
#[derive(Clone, Debug)]
pub struct PRelu {
    slope: Param,
}

impl PRelu {
    /// `channels` slopes (1 for a shared one), each starting at `init` (PyTorch: 0.25).
    ///
    /// # Errors
    /// [`Error::Config`] for zero channels or a non-finite `init`.
    pub fn new(channels: usize, init: f64, dtype: DType) -> Result<PRelu> {
        if channels == 0 || !init.is_finite() {
            return Err(Error::config(
                "PReLU",
                format!("needs at least one slope and a finite init (got {channels}, {init})"),
            ));
        }
        Ok(PRelu {
            slope: Param::new(Tensor::full([channels], init, dtype)),
        })
    }

    /// The slopes.
    pub fn slope(&self) -> &Param {
        &self.slope
    }
}

impl Module for PRelu {
    fn kind(&self) -> &'static str {
        "PReLU"
    }

    fn describe(&self) -> String {
        format!("PReLU({})", self.slope.value().numel())
    }

    fn role(&self) -> Role {
        let init = self.slope.value().get_f64(0).unwrap_or(0.25);
        Role::Activation(Activation::PRelu { init })
    }

    fn forward(&self, ctx: &mut ForwardCtx<'_>, x: &Var) -> Result<Var> {
        let a = ctx.param(&self.slope);
        let c = a.value().numel();
        let a = if c == 1 {
            a
        } else {
            // Slopes along dimension 1: [C] -> [C, 1, ..., 1] so it broadcasts.
            if x.shape().ndim() < 2 || x.dims()[1] != c {
                return Err(Error::config(
                    "PReLU",
                    format!(
                        "{c} slopes need an input with {c} channels in dimension 1, got {}",
                        x.shape()
                    ),
                ));
            }
            let mut dims = vec![c];
            dims.extend(std::iter::repeat_n(1, x.shape().ndim() - 2));
            a.reshape(dims)?
        };
        Ok(x.prelu(&a)?)
    }

    fn params(&self) -> Vec<(&'static str, &Param)> {
        vec![("weight", &self.slope)]
    }

    fn params_mut(&mut self) -> Vec<(&'static str, &mut Param)> {
        vec![("weight", &mut self.slope)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prelu_layer_gradchecks_per_channel_and_shared() {
        let x = Tensor::randn([3, 4, 2], DType::F64, 1).add_scalar(0.05);
        let layer = PRelu::new(4, 0.3, DType::F64).unwrap();
        let r = crate::gradcheck_module(&layer, &x, &Default::default()).unwrap();
        assert!(r.passed, "{r}");
        let layer = PRelu::new(1, -0.2, DType::F64).unwrap();
        let r = crate::gradcheck_module(&layer, &x, &Default::default()).unwrap();
        assert!(r.passed, "{r}");
    }

    #[test]
    fn prelu_names_a_channel_mismatch() {
        let layer = PRelu::new(3, 0.25, DType::F64).unwrap();
        let tape = gradflow_autograd::Tape::new();
        let mut ctx = ForwardCtx::new(&tape);
        let x = tape.constant(Tensor::randn([2, 4], DType::F64, 1));
        let e = layer.forward(&mut ctx, &x).unwrap_err().to_string();
        assert_eq!(
            e,
            "PReLU: 3 slopes need an input with 3 channels in dimension 1, got [2, 4]"
        );
    }

    #[test]
    fn act_layers_gradcheck_for_every_smooth_activation() {
        let x = Tensor::randn([2, 5], DType::F64, 4).mul_scalar(2.0);
        for a in [
            Activation::Tanh,
            Activation::Sigmoid,
            Activation::Gelu,
            Activation::Softmax { axis: -1 },
        ] {
            let r = crate::gradcheck_module(&Act(a), &x, &Default::default()).unwrap();
            assert!(r.passed, "{a}: {r}");
        }
    }
}
