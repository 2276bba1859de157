//! [`Module`] and [`ForwardCtx`]: how layers compute, own parameters, nest, and are
//! observed.
//!
//! A forward pass runs in a [`ForwardCtx`], which holds the step's tape, binds each
//! parameter to a leaf Var of it the first time the parameter is used, tracks the path
//! of the module being run (`layers.3`), and tells [`Observer`]s (the gradient-flow
//! probes) about every sub-module's input and output. After `backward`,
//! [`ForwardCtx::param_grads`] maps the gradients back to the parameters, which an
//! optimiser then updates in place.
//!
//! ```
//! use gradflow_autograd::{Activation, DType, Tape, Tensor};
//! use gradflow_nn::{ForwardCtx, Mlp, Module};
//! let model = Mlp::builder(2, &[8], 1).activation(Activation::Tanh).dtype(DType::F64).seed(0).build()?;
//! let tape = Tape::new();
//! let mut ctx = ForwardCtx::new(&tape);
//! let x = tape.constant(Tensor::randn([4, 2], DType::F64, 1));
//! let loss = model.forward(&mut ctx, &x)?.powf(2.0)?.mean_all()?;
//! let grads = ctx.param_grads(&loss.backward()?);
//! assert_eq!(grads.len(), 4);   // two weights, two biases
//! # Ok::<(), gradflow_nn::Error>(())
//! ```

use std::collections::HashMap;

use gradflow_autograd::{Activation, Gradients, Tape, Tensor, Var};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

use crate::{Error, Param, ParamId, Result};

/// What a module is, for probes and reports.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Role {
    /// A fully connected layer `x W^T + b`.
    Linear {
        /// Input features.
        inputs: usize,
        /// Output features.
        outputs: usize,
    },
    /// A 2-D convolution.
    Conv2d {
        /// Input channels.
        inputs: usize,
        /// Output channels (filters).
        outputs: usize,
    },
    /// An activation function: its input is the pre-activation and its output is the
    /// activation applied to it (probes take the derivative from the two).
    Activation(Activation),
    /// A normalisation layer.
    Norm,
    /// A recurrent cell unrolled over time.
    Recurrent,
    /// A container of other modules.
    Container,
    /// Anything else (pooling, flatten, dropout, ...).
    Other,
}

/// A layer or a network of layers.
///
/// Implementors define `forward`, and report their parameters and children so that
/// [`named_parameters`], optimisers, checkpoints and probes can find everything.
/// Containers call their children through [`ForwardCtx::call`], which is what lets an
/// [`Observer`] see each one without the module knowing.
pub trait Module: Send + Sync {
    /// The type's name (`"Linear"`).
    fn kind(&self) -> &'static str;

    /// A one-line description with the sizes (`"Linear(784 -> 256)"`).
    fn describe(&self) -> String {
        self.kind().to_string()
    }

    /// What the module is, for probes.
    fn role(&self) -> Role {
        Role::Other
    }

    /// Computes the output.
    ///
    /// # Errors
    /// Shape and dtype errors of the engine, naming the op.
    fn forward(&self, ctx: &mut ForwardCtx<'_>, x: &Var) -> Result<Var>;

    /// The module's own parameters (not its children's), with local names.
    fn params(&self) -> Vec<(&'static str, &Param)> {
        Vec::new()
    }

    /// The module's own parameters, mutably.
    fn params_mut(&mut self) -> Vec<(&'static str, &mut Param)> {
        Vec::new()
    }

    /// Direct sub-modules, with local names (their path component).
    fn children(&self) -> Vec<(String, &dyn Module)> {
        Vec::new()
    }

    /// Direct sub-modules, mutably.
    fn children_mut(&mut self) -> Vec<(String, &mut dyn Module)> {
        Vec::new()
    }

    /// Calls `f` with each direct sub-module, in the order of [`Module::children`],
    /// without their names: what walks that run every step (an optimiser's) use. The
    /// default goes through `children`; a container of many children overrides it so
    /// as not to build their names.
    fn for_each_child(&self, f: &mut dyn FnMut(&dyn Module)) {
        for (_, c) in self.children() {
            f(c);
        }
    }

    /// [`Module::for_each_child`], mutably (the order of [`Module::children_mut`]).
    fn for_each_child_mut(&mut self, f: &mut dyn FnMut(&mut dyn Module)) {
        for (_, c) in self.children_mut() {
            f(c);
        }
    }

    /// Switches this module (not its children) between training and evaluation
    /// behaviour (dropout, batch statistics). Most modules have none.
    fn set_training_self(&mut self, _training: bool) {}

    /// The module's own buffers (not its children's), with local names: state that a
    /// checkpoint saves beside the parameters but no optimiser trains, such as
    /// [`BatchNorm1d`](crate::BatchNorm1d)'s running statistics. Values are cheap
    /// clones (shared storage). Most modules have none.
    fn buffers(&self) -> Vec<(&'static str, Tensor)> {
        Vec::new()
    }

    /// Replaces one of the module's own buffers (loading a checkpoint).
    ///
    /// # Errors
    /// [`Error::Config`] for a name the module has no buffer
    /// of, or a value of the wrong shape.
    fn set_buffer(&mut self, name: &str, _value: Tensor) -> Result<()> {
        Err(crate::Error::config(
            self.kind(),
            format!("no buffer named {name:?}"),
        ))
    }
}

/// Every module in the tree under `root` (root first, depth first), with its path
/// (`""` for the root, `"layers.3"` below).
pub fn modules(root: &dyn Module) -> Vec<(String, &dyn Module)> {
    let mut out = Vec::new();
    fn walk<'m>(prefix: String, m: &'m dyn Module, out: &mut Vec<(String, &'m dyn Module)>) {
        let children = m.children();
        out.push((prefix.clone(), m));
        for (name, c) in children {
            walk(join(&prefix, &name), c, out);
        }
    }
    walk(String::new(), root, &mut out);
    out
}

/// Every parameter in the tree, with its full name (`"layers.3.weight"`), in a fixed
/// order (depth first, own parameters before children's).
pub fn named_parameters(root: &dyn Module) -> Vec<(String, &Param)> {
    modules(root)
        .into_iter()
        .flat_map(|(path, m)| {
            m.params()
                .into_iter()
                .map(move |(name, p)| (join(&path, name), p))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Every buffer in the tree, with its full name (`"layers.1.running_mean"`), in the
/// order of [`modules`] (see [`Module::buffers`]).
pub fn named_buffers(root: &dyn Module) -> Vec<(String, Tensor)> {
    modules(root)
        .into_iter()
        .flat_map(|(path, m)| {
            m.buffers()
                .into_iter()
                .map(move |(name, t)| (join(&path, name), t))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Sets the buffer with full name `name` (as [`named_buffers`] gives it) anywhere in the
/// tree, through the owning module's [`Module::set_buffer`].
///
/// # Errors
/// [`Error::Config`] if no module of the tree owns a buffer of
/// that name, or the value has the wrong shape.
pub fn set_named_buffer(root: &mut dyn Module, name: &str, value: Tensor) -> Result<()> {
    fn walk(m: &mut dyn Module, rest: &str, value: Tensor) -> Result<()> {
        for (child, c) in m.children_mut() {
            if let Some(r) = rest
                .strip_prefix(child.as_str())
                .and_then(|r| r.strip_prefix('.'))
            {
                return walk(c, r, value);
            }
        }
        m.set_buffer(rest, value)
    }
    walk(root, name, value).map_err(|e| match e {
        crate::Error::Config { .. } => {
            crate::Error::config("set_named_buffer", format!("{name}: {e}"))
        }
        other => other,
    })
}

/// Calls `f` with every parameter in the tree, mutably, with its full name, in the
/// order of [`named_parameters`]. (A callback rather than a list: a module's own
/// parameters and its children are borrowed one after the other.)
pub fn visit_parameters_mut(root: &mut dyn Module, f: &mut dyn FnMut(&str, &mut Param)) {
    fn walk(prefix: &str, m: &mut dyn Module, f: &mut dyn FnMut(&str, &mut Param)) {
        for (name, p) in m.params_mut() {
            f(&join(prefix, name), p);
        }
        for (name, c) in m.children_mut() {
            walk(&join(prefix, &name), c, f);
        }
    }
    walk("", root, f);
}

/// Calls `f` with every parameter in the tree, in the order of [`named_parameters`],
/// without building their names: what an optimiser's step walks every step.
pub fn for_each_parameter(root: &dyn Module, f: &mut dyn FnMut(&Param)) {
    for (_, p) in root.params() {
        f(p);
    }
    root.for_each_child(&mut |c| for_each_parameter(c, f));
}

/// [`for_each_parameter`], mutably (the order of [`visit_parameters_mut`]).
pub fn for_each_parameter_mut(root: &mut dyn Module, f: &mut dyn FnMut(&mut Param)) {
    for (_, p) in root.params_mut() {
        f(p);
    }
    root.for_each_child_mut(&mut |c| for_each_parameter_mut(c, f));
}

/// Number of trainable scalars in the tree.
pub fn parameter_count(root: &dyn Module) -> usize {
    named_parameters(root)
        .iter()
        .map(|(_, p)| p.value().numel())
        .sum()
}

/// Switches every module in the tree to training (`true`) or evaluation behaviour.
pub fn set_training(root: &mut dyn Module, training: bool) {
    root.set_training_self(training);
    for (_, c) in root.children_mut() {
        set_training(c, training);
    }
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else if name.is_empty() {
        prefix.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

/// Sees every sub-module call of a forward pass: the probes' way in.
pub trait Observer {
    /// Called after a sub-module ran, with its path, the module, its input and output.
    ///
    /// # Errors
    /// An observer may fail (registering a hook on a constant, say); the forward pass
    /// then fails with that error.
    fn after_forward(
        &mut self,
        path: &str,
        module: &dyn Module,
        input: &Var,
        output: &Var,
    ) -> Result<()>;

    /// Called by recurrent modules with the hidden state of every time step (`h_1` to
    /// `h_T`), so the gradient through time can be measured. The default ignores them.
    ///
    /// # Errors
    /// As [`Observer::after_forward`].
    fn on_states(&mut self, _path: &str, _module: &dyn Module, _states: &[Var]) -> Result<()> {
        Ok(())
    }
}

/// Gradients of a step, keyed by parameter.
#[derive(Clone, Debug, Default)]
pub struct ParamGrads {
    grads: HashMap<ParamId, Tensor>,
}

impl ParamGrads {
    /// The gradient for a parameter, if it took part in the step.
    pub fn get(&self, p: &Param) -> Option<&Tensor> {
        self.grads.get(&p.id())
    }

    /// The gradient by parameter id.
    pub fn get_id(&self, id: ParamId) -> Option<&Tensor> {
        self.grads.get(&id)
    }

    /// Replaces the gradient of a parameter (gradient clipping does this).
    pub fn set(&mut self, id: ParamId, grad: Tensor) {
        self.grads.insert(id, grad);
    }

    /// Number of parameters with a gradient.
    pub fn len(&self) -> usize {
        self.grads.len()
    }

    /// Whether no parameter has a gradient.
    pub fn is_empty(&self) -> bool {
        self.grads.is_empty()
    }

    /// Iterates over (parameter id, gradient).
    pub fn iter(&self) -> impl Iterator<Item = (&ParamId, &Tensor)> {
        self.grads.iter()
    }

    /// The L2 norm of all gradients together, accumulated in f64.
    pub fn global_norm(&self) -> f64 {
        self.grads
            .values()
            .map(|g| g.to_f64_vec().iter().map(|v| v * v).sum::<f64>())
            .sum::<f64>()
            .sqrt()
    }
}

/// The context of one forward pass: the tape, the parameters bound to it, the module
/// path, the random generator (dropout) and the observers.
pub struct ForwardCtx<'t> {
    tape: &'t Tape,
    bound: HashMap<ParamId, Var>,
    /// The path of the module being run, joined with dots (`"layers.3"`), kept as one
    /// string: a call appends its name and truncates it back (no string per call).
    path: String,
    /// Where each entered module's name starts in `path` (the length before it).
    marks: Vec<usize>,
    observers: Vec<Box<dyn Observer + 't>>,
    rng: Xoshiro256PlusPlus,
}

impl<'t> ForwardCtx<'t> {
    /// A context recording on `tape`, with random seed 0.
    pub fn new(tape: &'t Tape) -> Self {
        ForwardCtx::with_seed(tape, 0)
    }

    /// A context whose random generator (for dropout) starts from `seed`.
    pub fn with_seed(tape: &'t Tape, seed: u64) -> Self {
        ForwardCtx {
            tape,
            bound: HashMap::new(),
            path: String::new(),
            marks: Vec::new(),
            observers: Vec::new(),
            rng: Xoshiro256PlusPlus::seed_from_u64(seed),
        }
    }

    /// The tape the pass records on.
    pub fn tape(&self) -> &'t Tape {
        self.tape
    }

    /// Adds an observer that sees every sub-module call from now on.
    pub fn observe(&mut self, observer: impl Observer + 't) {
        self.observers.push(Box::new(observer));
    }

    /// The parameter as a leaf Var of the tape, created the first time it is used in
    /// this pass (so a parameter used twice is one leaf with both gradients summed).
    pub fn param(&mut self, p: &Param) -> Var {
        self.bound
            .entry(p.id())
            .or_insert_with(|| self.tape.var(p.value().clone()))
            .clone()
    }

    /// Binds a parameter to a given Var for this pass instead of a fresh leaf: a
    /// functional call of the module with other parameter values (what
    /// [`gradcheck_module`](crate::gradcheck_module) does, and what a Hessian w.r.t.
    /// parameters needs).
    pub fn bind(&mut self, p: &Param, v: Var) {
        self.bound.insert(p.id(), v);
    }

    /// The Vars bound so far, by parameter id.
    pub fn bound(&self) -> impl Iterator<Item = (&ParamId, &Var)> {
        self.bound.iter()
    }

    /// The path of the module being run (`"layers.3"`).
    pub fn path(&self) -> String {
        self.path.clone()
    }

    /// The random generator (dropout masks draw from it).
    pub fn rng(&mut self) -> &mut Xoshiro256PlusPlus {
        &mut self.rng
    }

    /// Runs a child module under the local name `name`, then tells the observers.
    ///
    /// # Errors
    /// The child's errors, and the observers'.
    pub fn call(&mut self, name: &str, module: &dyn Module, x: &Var) -> Result<Var> {
        self.enter();
        self.path.push_str(name);
        self.run_entered(module, x)
    }

    /// [`ForwardCtx::call`] with the child's index as its name (`"3"`), as containers
    /// name their children, without formatting a string for it.
    ///
    /// # Errors
    /// As [`ForwardCtx::call`].
    pub fn call_index(&mut self, index: usize, module: &dyn Module, x: &Var) -> Result<Var> {
        use std::fmt::Write as _;
        self.enter();
        // Writing to a String cannot fail.
        let _ = write!(self.path, "{index}");
        self.run_entered(module, x)
    }

    /// Starts a child's path component (the separator, when it is not the first).
    fn enter(&mut self) {
        self.marks.push(self.path.len());
        if self.marks.len() > 1 {
            self.path.push('.');
        }
    }

    /// Runs the child whose name was just appended to the path, tells the observers,
    /// and takes the name off the path again.
    fn run_entered(&mut self, module: &dyn Module, x: &Var) -> Result<Var> {
        // Nodes recorded by the child carry its path, for graph exports and anomaly
        // reports.
        let previous = self.tape.set_scope(Some(&self.path));
        let result = module.forward(self, x);
        self.tape.restore_scope(previous);
        // Name the innermost module an error came from.
        let result = result.map_err(|e| match e {
            e @ Error::InModule { .. } => e,
            e => Error::InModule {
                path: self.path.clone(),
                source: Box::new(e),
            },
        });
        let outcome = match result {
            Ok(y) => {
                let mut err = None;
                for obs in self.observers.iter_mut() {
                    if let Err(e) = obs.after_forward(&self.path, module, x, &y) {
                        err = Some(e);
                        break;
                    }
                }
                match err {
                    Some(e) => Err(e),
                    None => Ok(y),
                }
            }
            Err(e) => Err(e),
        };
        if let Some(mark) = self.marks.pop() {
            self.path.truncate(mark);
        }
        outcome
    }

    /// Whether any observer is attached (modules can skip work done only for them).
    pub fn is_observed(&self) -> bool {
        !self.observers.is_empty()
    }

    /// Reports the hidden states of every time step of the recurrent module being run
    /// to the observers.
    ///
    /// # Errors
    /// The observers' errors.
    pub fn report_states(&mut self, module: &dyn Module, states: &[Var]) -> Result<()> {
        for obs in self.observers.iter_mut() {
            obs.on_states(&self.path, module, states)?;
        }
        Ok(())
    }

    /// Maps the gradients of a backward pass to the parameters bound in this pass.
    pub fn param_grads(&self, grads: &Gradients) -> ParamGrads {
        ParamGrads {
            grads: self
                .bound
                .iter()
                .filter_map(|(id, v)| grads.get(v).map(|g| (*id, g.clone())))
                .collect(),
        }
    }
}
