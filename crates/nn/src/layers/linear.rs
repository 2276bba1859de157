//! [`Linear`]: the fully connected layer `y = x W^T + b`.

use gradflow_autograd::{Activation, DType, Var};

use crate::init::Init;
use crate::{Error, ForwardCtx, Module, Param, Result, Role};

/// `y = x W^T + b` with `W: [out, in]` and `b: [out]`, PyTorch's layout (so weights move
/// to and from `nn.Linear` unchanged).
///
/// # Shapes
/// Input `[..., in]`, output `[..., out]`.
#[derive(Clone, Debug)]
pub struct Linear {
    weight: Param,
    bias: Option<Param>,
}

impl Linear {
    /// A layer drawn with `init` for the weight (its gain taken from `act`, the
    /// activation that follows, when the scheme uses one) and zero bias.
    ///
    /// # Errors
    /// [`Error::Config`] for a zero width or a bad initialiser parameter.
    pub fn new(
        inputs: usize,
        outputs: usize,
        init: Init,
        act: Option<Activation>,
        bias: bool,
        dtype: DType,
        seed: u64,
    ) -> Result<Linear> {
        if inputs == 0 || outputs == 0 {
            return Err(Error::config(
                "Linear",
                format!("widths must be at least 1 (got {inputs} -> {outputs})"),
            ));
        }
        let weight = Param::new(init.tensor(&[outputs, inputs], dtype, act, seed)?);
        let bias = bias.then(|| Param::new(gradflow_autograd::Tensor::zeros([outputs], dtype)));
        Ok(Linear { weight, bias })
    }

    /// A layer from given tensors (`weight: [out, in]`, `bias: [out]`).
    ///
    /// # Errors
    /// [`Error::Config`] if the shapes do not fit.
    pub fn from_tensors(
        weight: gradflow_autograd::Tensor,
        bias: Option<gradflow_autograd::Tensor>,
    ) -> Result<Linear> {
        let &[out, _] = weight.dims() else {
            return Err(Error::config(
                "Linear",
                format!("the weight must be [out, in], got {}", weight.shape()),
            ));
        };
        if let Some(b) = &bias
            && b.dims() != [out]
        {
            return Err(Error::config(
                "Linear",
                format!("the bias must be [{out}], got {}", b.shape()),
            ));
        }
        Ok(Linear {
            weight: Param::new(weight),
            bias: bias.map(Param::new),
        })
    }

    /// The weight `[out, in]`.
    pub fn weight(&self) -> &Param {
        &self.weight
    }

    /// The bias `[out]`, if any.
    pub fn bias(&self) -> Option<&Param> {
        self.bias.as_ref()
    }

    /// Input features.
    pub fn inputs(&self) -> usize {
        self.weight.value().dims()[1]
    }

    /// Output features.
    pub fn outputs(&self) -> usize {
        self.weight.value().dims()[0]
    }
}

impl Module for Linear {
    fn kind(&self) -> &'static str {
        "Linear"
    }

    fn describe(&self) -> String {
        format!(
            "Linear({} -> {}{})",
            self.inputs(),
            self.outputs(),
            if self.bias.is_some() { "" } else { ", no bias" }
        )
    }

    fn role(&self) -> Role {
        Role::Linear {
            inputs: self.inputs(),
            outputs: self.outputs(),
        }
    }

    fn forward(&self, ctx: &mut ForwardCtx<'_>, x: &Var) -> Result<Var> {
        let w = ctx.param(&self.weight);
        let b = self.bias.as_ref().map(|b| ctx.param(b));
        // One `linear` node: x W^T read through strides (no transpose is
        // materialised), the bias added in place.
        Ok(x.linear(&w, b.as_ref())?)
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
    use gradflow_autograd::{Tape, Tensor};

    #[test]
    fn linear_computes_x_w_transpose_plus_b() {
        let w = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0], [2, 3]).unwrap();
        let b = Tensor::from_vec(vec![0.5f64, -0.5], [2]).unwrap();
        let layer = Linear::from_tensors(w, Some(b)).unwrap();
        let tape = Tape::new();
        let mut ctx = ForwardCtx::new(&tape);
        let x = tape.constant(Tensor::from_vec(vec![1.0f64, 0.0, -1.0], [1, 3]).unwrap());
        let y = layer.forward(&mut ctx, &x).unwrap();
        assert_eq!(
            y.value().to_vec::<f64>().unwrap(),
            vec![1.0 - 3.0 + 0.5, 4.0 - 6.0 - 0.5]
        );
    }

    #[test]
    fn linear_gradchecks_through_the_engine() {
        let layer = Linear::new(
            4,
            3,
            Init::he(),
            Some(Activation::Relu),
            true,
            DType::F64,
            1,
        )
        .unwrap();
        let x = Tensor::randn([5, 4], DType::F64, 3);
        let r = crate::gradcheck_module(&layer, &x, &Default::default()).unwrap();
        assert!(r.passed, "{r}");
    }

    #[test]
    fn a_zero_width_is_refused() {
        let e = Linear::new(0, 3, Init::Standard, None, true, DType::F32, 0).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Linear: widths must be at least 1 (got 0 -> 3)"
        );
    }
}
