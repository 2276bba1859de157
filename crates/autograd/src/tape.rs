//! [`Tape`]: the record of one computation, an append-only arena of nodes.
//!
//! Nodes are created in execution order, which is a topological order: the backward
//! pass is a reverse loop over the arena (no recursion, no stack overflow on deep nets).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::panic::Location;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use smallvec::SmallVec;

use crate::op_box::OpBox;
use crate::{DType, Error, Result, Shape, Tensor, Var};

/// A gradient hook: sees the gradient of a node once it is complete, and may return a
/// replacement.
pub type Hook = Box<dyn FnMut(&Tensor) -> Option<Tensor>>;

static NEXT_TAPE_ID: AtomicU64 = AtomicU64::new(1);

/// The kind of a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    /// A leaf that needs a gradient ([`Tape::var`]).
    Var,
    /// A leaf that does not ([`Tape::constant`], or a value used by a recorded op).
    Constant,
    /// The result of an op.
    Op,
}

pub(crate) struct Node {
    pub(crate) kind: NodeKind,
    pub(crate) op: Option<OpBox>,
    pub(crate) inputs: SmallVec<[usize; 2]>,
    /// The node's value; `None` once a backward pass has released it.
    pub(crate) value: Option<Tensor>,
    pub(crate) shape: Shape,
    pub(crate) dtype: DType,
    pub(crate) location: &'static Location<'static>,
    /// The scope (module path) that was current when the node was recorded.
    pub(crate) scope: Option<Rc<str>>,
}

impl Node {
    pub(crate) fn name(&self) -> &'static str {
        match (&self.op, self.kind) {
            (Some(op), _) => op.get().name(),
            (None, NodeKind::Var) => "var",
            (None, _) => "constant",
        }
    }

    pub(crate) fn requires_grad(&self) -> bool {
        self.kind != NodeKind::Constant
    }
}

/// Nodes per chunk of [`Nodes`]: 256 nodes of about 200 bytes, 50 KiB, below glibc's 64 KiB
/// threshold at which freeing a block consolidates every small free block.
const CHUNK_BITS: u32 = 8;
const CHUNK: usize = 1 << CHUNK_BITS;

/// The node arena: a list of fixed-size chunks, so recording never moves a node (a
/// `Vec<Node>` copies every node each time it doubles, and frees ever larger blocks)
/// and node `i` is `chunks[i / 256][i % 256]`.
#[derive(Default)]
pub(crate) struct Nodes {
    chunks: Vec<Vec<Node>>,
    len: usize,
}

impl Nodes {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn push(&mut self, node: Node) {
        if self.len.is_multiple_of(CHUNK) {
            self.chunks.push(Vec::with_capacity(CHUNK));
        }
        if let Some(last) = self.chunks.last_mut() {
            last.push(node);
            self.len += 1;
        }
    }

    pub(crate) fn clear(&mut self) {
        self.chunks.clear();
        self.len = 0;
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Node> {
        self.chunks.iter().flatten()
    }
}

impl std::ops::Index<usize> for Nodes {
    type Output = Node;

    #[inline]
    fn index(&self, i: usize) -> &Node {
        &self.chunks[i >> CHUNK_BITS][i & (CHUNK - 1)]
    }
}

impl std::ops::IndexMut<usize> for Nodes {
    #[inline]
    fn index_mut(&mut self, i: usize) -> &mut Node {
        &mut self.chunks[i >> CHUNK_BITS][i & (CHUNK - 1)]
    }
}

pub(crate) struct TapeInner {
    pub(crate) id: u64,
    pub(crate) nodes: RefCell<Nodes>,
    pub(crate) hooks: RefCell<HashMap<usize, Vec<Hook>>>,
    no_grad_depth: Cell<usize>,
    anomaly: Cell<bool>,
    scope: RefCell<Option<Rc<str>>>,
}

/// The record of one computation.
///
/// A `Tape` is a cheap handle (clones refer to the same record). Vars made from it
/// record every op applied to them; `backward` and [`Tape::grad`] walk the record in
/// reverse. Several tapes can live at once, on one thread or on many (a tape itself
/// stays on the thread that made it); combining Vars of two tapes is an error.
///
/// ```
/// use gradflow_autograd::{Tape, Tensor};
/// let tape = Tape::new();
/// let x = tape.var(Tensor::from_vec(vec![1.0f64, 2.0, 3.0], &[3])?);
/// let y = x.mul(&x)?.sum_all()?;            // y = sum x^2
/// let g = tape.grad(&y, &[&x], false)?;     // dy/dx = 2x
/// assert_eq!(g[0].value().to_vec::<f64>()?, vec![2.0, 4.0, 6.0]);
/// # Ok::<(), gradflow_autograd::Error>(())
/// ```
#[derive(Clone)]
pub struct Tape {
    pub(crate) inner: Rc<TapeInner>,
}

impl Default for Tape {
    fn default() -> Self {
        Tape::new()
    }
}

impl std::fmt::Debug for Tape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tape(#{}, {} nodes)", self.id(), self.len())
    }
}

impl Tape {
    /// An empty tape.
    pub fn new() -> Tape {
        Tape {
            inner: Rc::new(TapeInner {
                id: NEXT_TAPE_ID.fetch_add(1, Ordering::Relaxed),
                nodes: RefCell::new(Nodes::default()),
                hooks: RefCell::new(HashMap::new()),
                no_grad_depth: Cell::new(0),
                anomaly: Cell::new(false),
                scope: RefCell::new(None),
            }),
        }
    }

    /// A process-unique id, shown in errors about mixed tapes.
    pub fn id(&self) -> u64 {
        self.inner.id
    }

    /// Number of recorded nodes.
    pub fn len(&self) -> usize {
        self.inner.nodes.borrow().len()
    }

    /// Whether nothing has been recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A leaf that needs a gradient (a parameter or an input to differentiate).
    #[track_caller]
    pub fn var(&self, value: Tensor) -> Var {
        let id = self.push_leaf(NodeKind::Var, value.clone(), Location::caller());
        Var::tracked(value, self.clone(), id, true)
    }

    /// A leaf that needs no gradient (data, targets, fixed weights).
    #[track_caller]
    pub fn constant(&self, value: Tensor) -> Var {
        let id = self.push_leaf(NodeKind::Constant, value.clone(), Location::caller());
        Var::tracked(value, self.clone(), id, false)
    }

    /// Runs `f` with recording switched off: ops inside return untracked Vars.
    pub fn no_grad<R>(&self, f: impl FnOnce() -> R) -> R {
        struct Restore<'a>(&'a Cell<usize>);
        impl Drop for Restore<'_> {
            fn drop(&mut self) {
                self.0.set(self.0.get() - 1);
            }
        }
        let depth = &self.inner.no_grad_depth;
        depth.set(depth.get() + 1);
        let _restore = Restore(depth);
        f()
    }

    /// Whether recording is switched off ([`Tape::no_grad`]).
    pub fn is_no_grad(&self) -> bool {
        self.inner.no_grad_depth.get() > 0
    }

    /// Switches anomaly detection on or off. When on, the first NaN or infinity produced
    /// by a recorded op, forward or backward, is an [`Error::NonFinite`] naming the node,
    /// its input shapes and where it was created. When off it costs nothing.
    pub fn set_anomaly_detection(&self, on: bool) {
        self.inner.anomaly.set(on);
    }

    /// Whether anomaly detection is on.
    pub fn anomaly_detection(&self) -> bool {
        self.inner.anomaly.get()
    }

    /// Sets the scope recorded with every node from now on (the nn crate sets the path
    /// of the module being run, `layers.3`), or clears it with `None`; returns the
    /// previous scope so callers can restore it. Graph exports group nodes by scope, and
    /// anomaly errors name it.
    pub fn set_scope(&self, scope: Option<&str>) -> Option<Rc<str>> {
        self.inner.scope.replace(scope.map(Rc::from))
    }

    /// Restores a scope returned by [`Tape::set_scope`].
    pub fn restore_scope(&self, scope: Option<Rc<str>>) {
        *self.inner.scope.borrow_mut() = scope;
    }

    /// The current scope.
    pub fn scope(&self) -> Option<Rc<str>> {
        self.inner.scope.borrow().clone()
    }

    /// Drops every node (and every hook), keeping the tape's id. Vars made before the
    /// reset must not be used with the tape afterwards: their node ids are gone, and
    /// using them is an error.
    pub fn reset(&self) {
        self.inner.nodes.borrow_mut().clear();
        self.inner.hooks.borrow_mut().clear();
    }

    /// Number of nodes whose values are still held (not released by a backward pass).
    pub fn live_values(&self) -> usize {
        self.inner
            .nodes
            .borrow()
            .iter()
            .filter(|n| n.value.is_some())
            .count()
    }

    fn push_leaf(
        &self,
        kind: NodeKind,
        value: Tensor,
        location: &'static Location<'static>,
    ) -> usize {
        let mut nodes = self.inner.nodes.borrow_mut();
        nodes.push(Node {
            kind,
            op: None,
            inputs: SmallVec::new(),
            shape: value.shape().clone(),
            dtype: value.dtype(),
            value: Some(value),
            location,
            scope: self.inner.scope.borrow().clone(),
        });
        nodes.len() - 1
    }

    /// Records an op node whose value has been computed; returns its id.
    pub(crate) fn push_op(
        &self,
        op: OpBox,
        inputs: SmallVec<[usize; 2]>,
        value: Tensor,
        location: &'static Location<'static>,
    ) -> usize {
        let mut nodes = self.inner.nodes.borrow_mut();
        nodes.push(Node {
            kind: NodeKind::Op,
            op: Some(op),
            inputs,
            shape: value.shape().clone(),
            dtype: value.dtype(),
            value: Some(value),
            location,
            scope: self.inner.scope.borrow().clone(),
        });
        nodes.len() - 1
    }

    /// Records a value that an op uses but that is on no tape yet, as a constant leaf.
    pub(crate) fn push_constant(
        &self,
        value: Tensor,
        location: &'static Location<'static>,
    ) -> usize {
        self.push_leaf(NodeKind::Constant, value, location)
    }

    /// Registers a gradient hook on node `id`.
    pub(crate) fn add_hook(&self, id: usize, hook: Hook) {
        self.inner
            .hooks
            .borrow_mut()
            .entry(id)
            .or_default()
            .push(hook);
    }

    /// Checks that `id` is a node of this tape (it may not be after [`Tape::reset`]).
    pub(crate) fn check_node(&self, op: &'static str, id: usize) -> Result<()> {
        if id >= self.len() {
            return Err(Error::NotDifferentiable {
                op,
                reason: format!(
                    "node {id} is not on tape #{} (it has {} nodes; was the tape reset?)",
                    self.id(),
                    self.len()
                ),
            });
        }
        Ok(())
    }
}
