//! [`Residual`]: a skip connection around a module, `y = x + f(x)`.

use gradflow_autograd::Var;

use crate::{Error, ForwardCtx, Module, Result, Role};

/// A residual block (He et al. 2016): `y = x + f(x)` for an inner module `f`, whose
/// output must have the input's shape. The identity path carries the gradient past
/// `f` unchanged, `dL/dx = dL/dy + (df/dx)^T dL/dy`, which is why deep residual
/// networks do not suffer vanishing gradients the way plain stacks do.
///
/// The inner module is the child `"inner"`, so its parameters are named
/// `inner.<name>` (`inner.0.weight` for a [`Sequential`](crate::Sequential)), as for a
/// PyTorch module holding `self.inner = ...` whose `forward` returns
/// `x + self.inner(x)`. Observers see the inner module's call under that path.
///
/// # Shapes
/// Any input the inner module maps to the same shape; output the same.
pub struct Residual {
    inner: Box<dyn Module>,
}

impl Residual {
    /// `x + inner(x)`.
    pub fn new(inner: impl Module + 'static) -> Residual {
        Residual {
            inner: Box::new(inner),
        }
    }

    /// `x + inner(x)` for a boxed module.
    pub fn from_box(inner: Box<dyn Module>) -> Residual {
        Residual { inner }
    }

    /// The inner module `f`.
    pub fn inner(&self) -> &dyn Module {
        self.inner.as_ref()
    }
}

impl std::fmt::Debug for Residual {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Residual")
            .field("inner", &self.inner.describe())
            .finish()
    }
}

impl Module for Residual {
    fn kind(&self) -> &'static str {
        "Residual"
    }

    fn describe(&self) -> String {
        format!("Residual({})", self.inner.describe())
    }

    fn role(&self) -> Role {
        Role::Container
    }

    fn forward(&self, ctx: &mut ForwardCtx<'_>, x: &Var) -> Result<Var> {
        let fx = ctx.call("inner", self.inner.as_ref(), x)?;
        if fx.shape() != x.shape() {
            return Err(Error::config(
                "Residual",
                format!(
                    "the inner module {} maps {} to {}; x + f(x) needs the same shape",
                    self.inner.describe(),
                    x.shape(),
                    fx.shape()
                ),
            ));
        }
        Ok(x.add(&fx)?)
    }

    fn children(&self) -> Vec<(String, &dyn Module)> {
        vec![("inner".to_string(), self.inner.as_ref())]
    }

    fn children_mut(&mut self) -> Vec<(String, &mut dyn Module)> {
        vec![("inner".to_string(), self.inner.as_mut() as &mut dyn Module)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::module::named_parameters;
    use crate::{Act, Linear, Observer, Sequential};
    use gradflow_autograd::{Activation, DType, Tape, Tensor};

    fn block(inputs: usize, outputs: usize) -> Sequential {
        Sequential::new()
            .with(
                Linear::new(
                    inputs,
                    outputs,
                    crate::init::Init::xavier(),
                    Some(Activation::Tanh),
                    true,
                    DType::F64,
                    3,
                )
                .unwrap(),
            )
            .with(Act(Activation::Tanh))
    }

    #[test]
    fn residual_adds_the_input_to_the_inner_output() {
        let res = Residual::new(Act(Activation::Tanh));
        let tape = Tape::new();
        let x = Tensor::from_vec(vec![0.5f64, -1.0, 2.0], [3]).unwrap();
        let y = res
            .forward(&mut ForwardCtx::new(&tape), &tape.constant(x.clone()))
            .unwrap();
        let want: Vec<f64> = x.to_f64_vec().iter().map(|v| v + v.tanh()).collect();
        assert_eq!(y.value().to_f64_vec(), want);
    }

    #[test]
    fn residual_gradchecks_with_parameters_inside() {
        let res = Residual::new(block(4, 4));
        let x = Tensor::randn([3, 4], DType::F64, 1);
        let r = crate::gradcheck_module(&res, &x, &Default::default()).unwrap();
        assert!(r.passed, "{r}");
    }

    #[test]
    fn residual_parameters_live_under_inner() {
        let res = Residual::new(block(2, 2));
        let names: Vec<String> = named_parameters(&res).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["inner.0.weight", "inner.0.bias"]);
    }

    #[test]
    fn residual_names_both_shapes_when_they_differ() {
        let res = Residual::new(block(4, 3));
        let tape = Tape::new();
        let x = tape.constant(Tensor::zeros([2, 4], DType::F64));
        let e = res.forward(&mut ForwardCtx::new(&tape), &x).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Residual: the inner module Sequential[Linear(4 -> 3), tanh] maps [2, 4] to [2, 3]; x + f(x) needs the same shape"
        );
    }

    #[test]
    fn observers_see_the_inner_call_under_its_path() {
        struct Paths<'a>(&'a mut Vec<String>);
        impl Observer for Paths<'_> {
            fn after_forward(
                &mut self,
                path: &str,
                _: &dyn Module,
                _: &Var,
                _: &Var,
            ) -> Result<()> {
                self.0.push(path.to_string());
                Ok(())
            }
        }
        let net = Sequential::new().with(Residual::new(block(2, 2)));
        let tape = Tape::new();
        let mut seen = Vec::new();
        {
            let mut ctx = ForwardCtx::new(&tape);
            ctx.observe(Paths(&mut seen));
            let x = tape.constant(Tensor::zeros([1, 2], DType::F64));
            ctx.call("net", &net, &x).unwrap();
        }
        assert_eq!(
            seen,
            [
                "net.0.inner.0",
                "net.0.inner.1",
                "net.0.inner",
                "net.0",
                "net"
            ]
        );
    }
}
