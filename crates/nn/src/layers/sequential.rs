//! [`Sequential`]: modules applied one after another.

use gradflow_autograd::Var;

use crate::{ForwardCtx, Module, Result, Role};

/// Modules applied in order, named `"0"`, `"1"`, ... as in PyTorch's `nn.Sequential`
/// (so parameter names match: `"0.weight"`, `"2.bias"`).
#[derive(Default)]
pub struct Sequential {
    layers: Vec<Box<dyn Module>>,
}

impl Sequential {
    /// An empty sequence.
    pub fn new() -> Sequential {
        Sequential::default()
    }

    /// Appends a module (builder style).
    pub fn with(mut self, layer: impl Module + 'static) -> Sequential {
        self.layers.push(Box::new(layer));
        self
    }

    /// Appends a boxed module.
    pub fn push(&mut self, layer: Box<dyn Module>) {
        self.layers.push(layer);
    }

    /// Number of modules.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// The modules, in order.
    pub fn layers(&self) -> &[Box<dyn Module>] {
        &self.layers
    }
}

impl std::fmt::Debug for Sequential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.layers.iter().map(|l| l.describe()))
            .finish()
    }
}

impl Module for Sequential {
    fn kind(&self) -> &'static str {
        "Sequential"
    }

    fn describe(&self) -> String {
        let parts: Vec<String> = self.layers.iter().map(|l| l.describe()).collect();
        format!("Sequential[{}]", parts.join(", "))
    }

    fn role(&self) -> Role {
        Role::Container
    }

    fn forward(&self, ctx: &mut ForwardCtx<'_>, x: &Var) -> Result<Var> {
        let mut h = x.clone();
        for (i, layer) in self.layers.iter().enumerate() {
            h = ctx.call_index(i, layer.as_ref(), &h)?;
        }
        Ok(h)
    }

    fn children(&self) -> Vec<(String, &dyn Module)> {
        self.layers
            .iter()
            .enumerate()
            .map(|(i, l)| (i.to_string(), l.as_ref() as &dyn Module))
            .collect()
    }

    fn children_mut(&mut self) -> Vec<(String, &mut dyn Module)> {
        self.layers
            .iter_mut()
            .enumerate()
            .map(|(i, l)| (i.to_string(), l.as_mut() as &mut dyn Module))
            .collect()
    }

    fn for_each_child(&self, f: &mut dyn FnMut(&dyn Module)) {
        for l in &self.layers {
            f(l.as_ref());
        }
    }

    fn for_each_child_mut(&mut self, f: &mut dyn FnMut(&mut dyn Module)) {
        for l in &mut self.layers {
            f(l.as_mut());
        }
    }
}
