//! Recurrent layers: the cells [`RnnCell`] (tanh) and [`LstmCell`], and [`Rnn`] and
//! [`Lstm`], which unroll a cell over a sequence and give access to every time step's
//! hidden state, for probes of gradients through time.
//!
//! Conventions are PyTorch's: `[N, in]` inputs for cells, time-first `[T, N, in]`
//! sequences for the unrolled modules, weights `[G H, in]` and `[G H, H]` with `G = 1`
//! (RNN) or `4` (LSTM, gates `i, f, g, o` stacked in that order), two biases, every
//! tensor drawn from `U[-1/sqrt(H), 1/sqrt(H)]`.
//!
//! ```
//! use gradflow_autograd::{DType, Tape, Tensor};
//! use gradflow_nn::{ForwardCtx, Lstm, Module};
//! let lstm = Lstm::new(3, 5, true, DType::F64, 0)?;
//! let tape = Tape::new();
//! let mut ctx = ForwardCtx::new(&tape);
//! let x = tape.constant(Tensor::randn([4, 2, 3], DType::F64, 1)); // T = 4, N = 2
//! let hs = lstm.forward_states(&mut ctx, &x)?;                     // h_1 .. h_4
//! let loss = hs[3].powf(2.0)?.sum_all()?;
//! // dL/dh_t for every t: how much of the gradient reaches each step back in time.
//! let refs: Vec<_> = hs.iter().collect();
//! let grads = tape.grad(&loss, &refs, false)?;
//! assert_eq!(grads.len(), 4);
//! assert_eq!(grads[0].dims(), &[2, 5]);
//! # Ok::<(), gradflow_nn::Error>(())
//! ```

use gradflow_autograd::{DType, Tensor, Var};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

use crate::init::Init;
use crate::{Error, ForwardCtx, Module, Param, Result, Role};

/// The parameters shared by both cells: `weight_ih [G H, in]`, `weight_hh [G H, H]`,
/// `bias_ih [G H]`, `bias_hh [G H]`.
#[derive(Clone, Debug)]
struct CellParams {
    kind: &'static str,
    inputs: usize,
    hidden: usize,
    weight_ih: Param,
    weight_hh: Param,
    bias_ih: Option<Param>,
    bias_hh: Option<Param>,
}

/// Parameter names of a cell (`nn.RNNCell`, `nn.LSTMCell`).
const CELL_NAMES: [&str; 4] = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"];
/// Parameter names of a one-layer unrolled module (`nn.RNN`, `nn.LSTM`).
const LAYER_NAMES: [&str; 4] = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"];

impl CellParams {
    /// Draws every tensor from `U[-1/sqrt(H), 1/sqrt(H)]`, as PyTorch's
    /// `RNNBase.reset_parameters`, in the order weight_ih, weight_hh, bias_ih, bias_hh.
    fn new(
        kind: &'static str,
        gates: usize,
        inputs: usize,
        hidden: usize,
        bias: bool,
        dtype: DType,
        seed: u64,
    ) -> Result<CellParams> {
        if inputs == 0 || hidden == 0 {
            return Err(Error::config(
                kind,
                format!("sizes must be at least 1 (got {inputs} -> {hidden})"),
            ));
        }
        let k = 1.0 / (hidden as f64).sqrt();
        let init = Init::Uniform { low: -k, high: k };
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut draw = |shape: &[usize]| -> Result<Param> {
            Ok(Param::new(init.tensor_with(shape, dtype, None, &mut rng)?))
        };
        let weight_ih = draw(&[gates * hidden, inputs])?;
        let weight_hh = draw(&[gates * hidden, hidden])?;
        let (bias_ih, bias_hh) = if bias {
            (
                Some(draw(&[gates * hidden])?),
                Some(draw(&[gates * hidden])?),
            )
        } else {
            (None, None)
        };
        Ok(CellParams {
            kind,
            inputs,
            hidden,
            weight_ih,
            weight_hh,
            bias_ih,
            bias_hh,
        })
    }

    /// Checks given tensors: `weight_ih [G H, in]`, `weight_hh [G H, H]`, biases `[G H]`.
    fn from_tensors(
        kind: &'static str,
        gates: usize,
        weight_ih: gradflow_autograd::Tensor,
        weight_hh: gradflow_autograd::Tensor,
        biases: Option<(gradflow_autograd::Tensor, gradflow_autograd::Tensor)>,
    ) -> Result<CellParams> {
        let bad = |what: String| Err(Error::config(kind, what));
        let &[gh, inputs] = weight_ih.dims() else {
            return bad(format!(
                "weight_ih must be [{gates} H, in], got {}",
                weight_ih.shape()
            ));
        };
        if gh == 0 || gh % gates != 0 || inputs == 0 {
            return bad(format!(
                "weight_ih must be [{gates} H, in] with H, in >= 1, got {}",
                weight_ih.shape()
            ));
        }
        let hidden = gh / gates;
        if weight_hh.dims() != [gh, hidden] {
            return bad(format!(
                "weight_hh must be [{gh}, {hidden}], got {}",
                weight_hh.shape()
            ));
        }
        if let Some((b_ih, b_hh)) = &biases {
            for (name, b) in [("bias_ih", b_ih), ("bias_hh", b_hh)] {
                if b.dims() != [gh] {
                    return bad(format!("{name} must be [{gh}], got {}", b.shape()));
                }
            }
        }
        let (bias_ih, bias_hh) = match biases {
            Some((a, b)) => (Some(Param::new(a)), Some(Param::new(b))),
            None => (None, None),
        };
        Ok(CellParams {
            kind,
            inputs,
            hidden,
            weight_ih: Param::new(weight_ih),
            weight_hh: Param::new(weight_hh),
            bias_ih,
            bias_hh,
        })
    }

    fn check_input(&self, x: &Var) -> Result<usize> {
        match *x.dims() {
            [n, i] if i == self.inputs => Ok(n),
            _ => Err(Error::config(
                self.kind,
                format!("expects an input [N, {}], got {}", self.inputs, x.shape()),
            )),
        }
    }

    fn check_state(&self, what: &str, n: usize, s: &Var) -> Result<()> {
        if s.dims() != [n, self.hidden] {
            return Err(Error::config(
                self.kind,
                format!(
                    "expects a {what} [{n}, {}] for an input of batch {n}, got {}",
                    self.hidden,
                    s.shape()
                ),
            ));
        }
        Ok(())
    }

    /// `x W_ih^T + b_ih + h W_hh^T + b_hh`, `[N, G H]`; without a state, `h = 0`.
    fn preactivation(&self, ctx: &mut ForwardCtx<'_>, x: &Var, h: Option<&Var>) -> Result<Var> {
        let w_ih = ctx.param(&self.weight_ih);
        let mut z = x.matmul_transposed(&w_ih, false, true)?;
        if let Some(b) = &self.bias_ih {
            z = z.add(&ctx.param(b))?;
        }
        if let Some(h) = h {
            let w_hh = ctx.param(&self.weight_hh);
            z = z.add(&h.matmul_transposed(&w_hh, false, true)?)?;
        }
        if let Some(b) = &self.bias_hh {
            z = z.add(&ctx.param(b))?;
        }
        Ok(z)
    }

    fn named(&self, names: [&'static str; 4]) -> Vec<(&'static str, &Param)> {
        let [w_ih, w_hh, b_ih, b_hh] = names;
        let mut v = vec![(w_ih, &self.weight_ih), (w_hh, &self.weight_hh)];
        if let (Some(a), Some(b)) = (&self.bias_ih, &self.bias_hh) {
            v.push((b_ih, a));
            v.push((b_hh, b));
        }
        v
    }

    fn named_mut(&mut self, names: [&'static str; 4]) -> Vec<(&'static str, &mut Param)> {
        let [w_ih, w_hh, b_ih, b_hh] = names;
        let mut v = vec![(w_ih, &mut self.weight_ih), (w_hh, &mut self.weight_hh)];
        if let (Some(a), Some(b)) = (&mut self.bias_ih, &mut self.bias_hh) {
            v.push((b_ih, a));
            v.push((b_hh, b));
        }
        v
    }

    fn describe(&self, kind: &str) -> String {
        format!(
            "{kind}({} -> {}{})",
            self.inputs,
            self.hidden,
            if self.bias_ih.is_some() {
                ""
            } else {
                ", no bias"
            }
        )
    }

    /// The time steps `[N, in]` of a `[T, N, in]` sequence, checked.
    fn time_steps(&self, layer: &'static str, x: &Var) -> Result<Vec<Var>> {
        let t = match *x.dims() {
            [t, _, i] if t >= 1 && i == self.inputs => t,
            _ => {
                return Err(Error::config(
                    layer,
                    format!(
                        "expects a sequence [T, N, {}] with T >= 1, got {}",
                        self.inputs,
                        x.shape()
                    ),
                ));
            }
        };
        (0..t).map(|s| Ok(x.narrow(0, s, 1)?.squeeze(0)?)).collect()
    }
}

/// An Elman RNN cell: `h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)`.
///
/// PyTorch: `nn.RNNCell(in, H, bias, nonlinearity="tanh")`, parameters `"weight_ih"`
/// `[H, in]`, `"weight_hh"` `[H, H]`, `"bias_ih"` `[H]`, `"bias_hh"` `[H]`, all drawn
/// from `U[-1/sqrt(H), 1/sqrt(H)]`.
///
/// As a [`Module`], `forward` takes the input alone and starts from `h = 0`, as
/// PyTorch's `cell(x)` with no state; [`RnnCell::step`] takes a state.
///
/// # Shapes
/// Input `[N, in]`, state `[N, H]`, output `[N, H]`.
#[derive(Clone, Debug)]
pub struct RnnCell {
    p: CellParams,
}

impl RnnCell {
    /// A cell from `inputs` features to `hidden` units, drawn reproducibly from `seed`.
    ///
    /// # Errors
    /// [`Error::Config`] for a zero size.
    pub fn new(
        inputs: usize,
        hidden: usize,
        bias: bool,
        dtype: DType,
        seed: u64,
    ) -> Result<RnnCell> {
        Ok(RnnCell {
            p: CellParams::new("RNNCell", 1, inputs, hidden, bias, dtype, seed)?,
        })
    }

    /// A cell from given tensors: `weight_ih [H, in]`, `weight_hh [H, H]`, and the
    /// biases `(bias_ih, bias_hh)`, each `[H]`.
    ///
    /// # Errors
    /// [`Error::Config`] if the shapes do not fit.
    pub fn from_tensors(
        weight_ih: gradflow_autograd::Tensor,
        weight_hh: gradflow_autograd::Tensor,
        biases: Option<(gradflow_autograd::Tensor, gradflow_autograd::Tensor)>,
    ) -> Result<RnnCell> {
        Ok(RnnCell {
            p: CellParams::from_tensors("RNNCell", 1, weight_ih, weight_hh, biases)?,
        })
    }

    /// Input features.
    pub fn inputs(&self) -> usize {
        self.p.inputs
    }

    /// Hidden units `H`.
    pub fn hidden(&self) -> usize {
        self.p.hidden
    }

    /// One step: the next hidden state from the input `[N, in]` and the state `[N, H]`
    /// (`None` for zeros).
    ///
    /// # Errors
    /// [`Error::Config`] naming the shapes if the input or the state has the wrong
    /// shape; the engine's errors (a dtype mismatch, say).
    pub fn step(&self, ctx: &mut ForwardCtx<'_>, x: &Var, h: Option<&Var>) -> Result<Var> {
        let n = self.p.check_input(x)?;
        if let Some(h) = h {
            self.p.check_state("hidden state", n, h)?;
        }
        Ok(self.p.preactivation(ctx, x, h)?.tanh()?)
    }
}

impl Module for RnnCell {
    fn kind(&self) -> &'static str {
        "RNNCell"
    }

    fn describe(&self) -> String {
        self.p.describe(self.kind())
    }

    fn role(&self) -> Role {
        Role::Recurrent
    }

    fn forward(&self, ctx: &mut ForwardCtx<'_>, x: &Var) -> Result<Var> {
        self.step(ctx, x, None)
    }

    fn params(&self) -> Vec<(&'static str, &Param)> {
        self.p.named(CELL_NAMES)
    }

    fn params_mut(&mut self) -> Vec<(&'static str, &mut Param)> {
        self.p.named_mut(CELL_NAMES)
    }
}

/// The state of an LSTM: hidden `h` and cell `c`, each `[N, H]`.
#[derive(Clone, Debug)]
pub struct LstmState {
    /// The hidden state (the cell's output).
    pub h: Var,
    /// The cell state.
    pub c: Var,
}

/// A long short-term memory cell (Hochreiter & Schmidhuber 1997, with a forget gate):
///
/// ```text
/// [i, f, g, o] = x W_ih^T + b_ih + h W_hh^T + b_hh      (split in four blocks of H)
/// i, f, o = sigmoid(i), sigmoid(f), sigmoid(o);   g = tanh(g)
/// c' = f * c + i * g
/// h' = o * tanh(c')
/// ```
///
/// PyTorch: `nn.LSTMCell(in, H, bias)`, parameters `"weight_ih"` `[4H, in]`,
/// `"weight_hh"` `[4H, H]`, `"bias_ih"` `[4H]`, `"bias_hh"` `[4H]` with the gates
/// stacked in the order `i, f, g, o`, all drawn from `U[-1/sqrt(H), 1/sqrt(H)]`.
///
/// As a [`Module`], `forward` takes the input alone, starts from `h = c = 0` and
/// returns `h'`; [`LstmCell::step`] takes and returns both states.
///
/// # Shapes
/// Input `[N, in]`, states `[N, H]`, output `[N, H]`.
#[derive(Clone, Debug)]
pub struct LstmCell {
    p: CellParams,
}

impl LstmCell {
    /// A cell from `inputs` features to `hidden` units, drawn reproducibly from `seed`.
    ///
    /// # Errors
    /// [`Error::Config`] for a zero size.
    pub fn new(
        inputs: usize,
        hidden: usize,
        bias: bool,
        dtype: DType,
        seed: u64,
    ) -> Result<LstmCell> {
        Ok(LstmCell {
            p: CellParams::new("LSTMCell", 4, inputs, hidden, bias, dtype, seed)?,
        })
    }

    /// A cell from given tensors: `weight_ih [4H, in]`, `weight_hh [4H, H]`, and the
    /// biases `(bias_ih, bias_hh)`, each `[4H]`; gates in the order `i, f, g, o`.
    ///
    /// # Errors
    /// [`Error::Config`] if the shapes do not fit.
    pub fn from_tensors(
        weight_ih: gradflow_autograd::Tensor,
        weight_hh: gradflow_autograd::Tensor,
        biases: Option<(gradflow_autograd::Tensor, gradflow_autograd::Tensor)>,
    ) -> Result<LstmCell> {
        Ok(LstmCell {
            p: CellParams::from_tensors("LSTMCell", 4, weight_ih, weight_hh, biases)?,
        })
    }

    /// The same cell with its forget-gate bias set to `value`: the forget block (entries
    /// `H..2H`) of `bias_ih` becomes `value` and that of `bias_hh` zero, so the gate
    /// starts at `sigmoid(value)` on average. A bias of 1 keeps the cell state, and the
    /// gradient through time, from halving at every step at initialisation (Gers,
    /// Schmidhuber & Cummins 2000; Jozefowicz, Zaremba & Sutskever 2015).
    ///
    /// ```
    /// use gradflow_autograd::DType;
    /// use gradflow_nn::{LstmCell, Module};
    ///
    /// let cell = LstmCell::new(3, 4, true, DType::F64, 0)?.with_forget_bias(1.0)?;
    /// let bias: Vec<f64> = cell.params().into_iter()
    ///     .find(|(name, _)| *name == "bias_ih").expect("has a bias").1.value().to_f64_vec();
    /// assert_eq!(&bias[4..8], &[1.0; 4]);
    /// assert!(LstmCell::new(3, 4, false, DType::F64, 0)?.with_forget_bias(1.0).is_err());
    /// # Ok::<(), gradflow_nn::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Config`] if the cell has no biases or `value` is not finite.
    pub fn with_forget_bias(mut self, value: f64) -> Result<LstmCell> {
        if !value.is_finite() {
            return Err(Error::config(
                "LSTMCell forget bias",
                format!("{value} is not a finite number"),
            ));
        }
        let h = self.p.hidden;
        let (Some(bias_ih), Some(bias_hh)) = (self.p.bias_ih.as_mut(), self.p.bias_hh.as_mut())
        else {
            return Err(Error::config(
                "LSTMCell forget bias",
                "the cell was built without biases",
            ));
        };
        for (param, share) in [(bias_ih, value), (bias_hh, 0.0)] {
            let dtype = param.value().dtype();
            let mut values = param.value().to_f64_vec();
            values[h..2 * h].fill(share);
            *param.value_mut() = Tensor::from_vec(values, [4 * h])?.to_dtype(dtype);
        }
        Ok(self)
    }

    /// Input features.
    pub fn inputs(&self) -> usize {
        self.p.inputs
    }

    /// Hidden units `H`.
    pub fn hidden(&self) -> usize {
        self.p.hidden
    }

    /// One step: the next state from the input `[N, in]` and the state (`None` for
    /// zeros).
    ///
    /// # Errors
    /// [`Error::Config`] naming the shapes if the input or a state has the wrong shape;
    /// the engine's errors (a dtype mismatch, say).
    pub fn step(
        &self,
        ctx: &mut ForwardCtx<'_>,
        x: &Var,
        state: Option<&LstmState>,
    ) -> Result<LstmState> {
        let n = self.p.check_input(x)?;
        if let Some(s) = state {
            self.p.check_state("hidden state", n, &s.h)?;
            self.p.check_state("cell state", n, &s.c)?;
        }
        let z = self.p.preactivation(ctx, x, state.map(|s| &s.h))?;
        let hd = self.p.hidden;
        let i = z.narrow(1, 0, hd)?.sigmoid()?;
        let f = z.narrow(1, hd, hd)?.sigmoid()?;
        let g = z.narrow(1, 2 * hd, hd)?.tanh()?;
        let o = z.narrow(1, 3 * hd, hd)?.sigmoid()?;
        let ig = i.mul(&g)?;
        let c = match state {
            Some(s) => f.mul(&s.c)?.add(&ig)?,
            // c = 0: the forget gate multiplies zeros, so it gets no gradient, as in
            // PyTorch with no state given.
            None => ig,
        };
        let h = o.mul(&c.tanh()?)?;
        Ok(LstmState { h, c })
    }
}

impl Module for LstmCell {
    fn kind(&self) -> &'static str {
        "LSTMCell"
    }

    fn describe(&self) -> String {
        self.p.describe(self.kind())
    }

    fn role(&self) -> Role {
        Role::Recurrent
    }

    fn forward(&self, ctx: &mut ForwardCtx<'_>, x: &Var) -> Result<Var> {
        Ok(self.step(ctx, x, None)?.h)
    }

    fn params(&self) -> Vec<(&'static str, &Param)> {
        self.p.named(CELL_NAMES)
    }

    fn params_mut(&mut self) -> Vec<(&'static str, &mut Param)> {
        self.p.named_mut(CELL_NAMES)
    }
}

/// An [`RnnCell`] unrolled over a time-first sequence from a zero initial state:
/// `h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`, `h_0 = 0`, for
/// `t = 1 .. T`; the output stacks `h_1 .. h_T`.
///
/// PyTorch: `nn.RNN(in, H, num_layers=1, nonlinearity="tanh", bias)` (time first,
/// `batch_first = False`), whose output is the first element of the returned pair.
/// Parameters `"weight_ih_l0"`, `"weight_hh_l0"`, `"bias_ih_l0"`, `"bias_hh_l0"`, the
/// cell's, under PyTorch's layer-0 names.
///
/// [`Rnn::forward_states`] returns each `h_t` as its own node of the tape, so a probe
/// can ask for `dL/dh_t` (with [`Tape::grad`](gradflow_autograd::Tape::grad)) and see
/// how the gradient decays back through time.
///
/// # Shapes
/// Input `[T, N, in]` with `T >= 1`, output `[T, N, H]`.
#[derive(Clone, Debug)]
pub struct Rnn {
    cell: RnnCell,
}

impl Rnn {
    /// A one-layer RNN from `inputs` features to `hidden` units.
    ///
    /// # Errors
    /// [`Error::Config`] for a zero size.
    pub fn new(inputs: usize, hidden: usize, bias: bool, dtype: DType, seed: u64) -> Result<Rnn> {
        Ok(Rnn::from_cell(RnnCell::new(
            inputs, hidden, bias, dtype, seed,
        )?))
    }

    /// Unrolls a given cell (its parameters take the layer names).
    pub fn from_cell(cell: RnnCell) -> Rnn {
        Rnn { cell }
    }

    /// The cell.
    pub fn cell(&self) -> &RnnCell {
        &self.cell
    }

    /// The hidden states `h_1 .. h_T`, each `[N, H]` and its own node of the tape.
    ///
    /// # Errors
    /// [`Error::Config`] naming the shape unless the input is `[T, N, in]` with
    /// `T >= 1`.
    pub fn forward_states(&self, ctx: &mut ForwardCtx<'_>, x: &Var) -> Result<Vec<Var>> {
        let mut states: Vec<Var> = Vec::new();
        for x_t in self.cell.p.time_steps("RNN", x)? {
            let h = self.cell.step(ctx, &x_t, states.last())?;
            states.push(h);
        }
        Ok(states)
    }
}

impl Module for Rnn {
    fn kind(&self) -> &'static str {
        "RNN"
    }

    fn describe(&self) -> String {
        self.cell.p.describe(self.kind())
    }

    fn role(&self) -> Role {
        Role::Recurrent
    }

    fn forward(&self, ctx: &mut ForwardCtx<'_>, x: &Var) -> Result<Var> {
        let states = self.forward_states(ctx, x)?;
        // Observers (probes) get every h_t, to measure the gradient through time.
        if ctx.is_observed() {
            ctx.report_states(self, &states)?;
        }
        let refs: Vec<&Var> = states.iter().collect();
        Ok(Var::stack(&refs, 0)?)
    }

    fn params(&self) -> Vec<(&'static str, &Param)> {
        self.cell.p.named(LAYER_NAMES)
    }

    fn params_mut(&mut self) -> Vec<(&'static str, &mut Param)> {
        self.cell.p.named_mut(LAYER_NAMES)
    }
}

/// An [`LstmCell`] unrolled over a time-first sequence from zero initial states
/// (`h_0 = c_0 = 0`); the output stacks the hidden states `h_1 .. h_T`.
///
/// PyTorch: `nn.LSTM(in, H, num_layers=1, bias)` (time first), whose output is the
/// first element of the returned pair. Parameters `"weight_ih_l0"`, `"weight_hh_l0"`,
/// `"bias_ih_l0"`, `"bias_hh_l0"` (gates `i, f, g, o`).
///
/// [`Lstm::forward_states`] returns each `h_t` as its own node of the tape (and
/// [`Lstm::forward_steps`] each `c_t` too), so a probe can ask for `dL/dh_t`.
///
/// # Shapes
/// Input `[T, N, in]` with `T >= 1`, output `[T, N, H]`.
#[derive(Clone, Debug)]
pub struct Lstm {
    cell: LstmCell,
}

impl Lstm {
    /// A one-layer LSTM from `inputs` features to `hidden` units.
    ///
    /// # Errors
    /// [`Error::Config`] for a zero size.
    pub fn new(inputs: usize, hidden: usize, bias: bool, dtype: DType, seed: u64) -> Result<Lstm> {
        Ok(Lstm::from_cell(LstmCell::new(
            inputs, hidden, bias, dtype, seed,
        )?))
    }

    /// Unrolls a given cell (its parameters take the layer names).
    pub fn from_cell(cell: LstmCell) -> Lstm {
        Lstm { cell }
    }

    /// The cell.
    pub fn cell(&self) -> &LstmCell {
        &self.cell
    }

    /// The states `(h_t, c_t)` for `t = 1 .. T`.
    ///
    /// # Errors
    /// [`Error::Config`] naming the shape unless the input is `[T, N, in]` with
    /// `T >= 1`.
    pub fn forward_steps(&self, ctx: &mut ForwardCtx<'_>, x: &Var) -> Result<Vec<LstmState>> {
        let mut states: Vec<LstmState> = Vec::new();
        for x_t in self.cell.p.time_steps("LSTM", x)? {
            let s = self.cell.step(ctx, &x_t, states.last())?;
            states.push(s);
        }
        Ok(states)
    }

    /// The hidden states `h_1 .. h_T`, each `[N, H]` and its own node of the tape.
    ///
    /// # Errors
    /// As [`Lstm::forward_steps`].
    pub fn forward_states(&self, ctx: &mut ForwardCtx<'_>, x: &Var) -> Result<Vec<Var>> {
        Ok(self
            .forward_steps(ctx, x)?
            .into_iter()
            .map(|s| s.h)
            .collect())
    }
}

impl Module for Lstm {
    fn kind(&self) -> &'static str {
        "LSTM"
    }

    fn describe(&self) -> String {
        self.cell.p.describe(self.kind())
    }

    fn role(&self) -> Role {
        Role::Recurrent
    }

    fn forward(&self, ctx: &mut ForwardCtx<'_>, x: &Var) -> Result<Var> {
        let states = self.forward_states(ctx, x)?;
        // Observers (probes) get every h_t, to measure the gradient through time.
        if ctx.is_observed() {
            ctx.report_states(self, &states)?;
        }
        let refs: Vec<&Var> = states.iter().collect();
        Ok(Var::stack(&refs, 0)?)
    }

    fn params(&self) -> Vec<(&'static str, &Param)> {
        self.cell.p.named(LAYER_NAMES)
    }

    fn params_mut(&mut self) -> Vec<(&'static str, &mut Param)> {
        self.cell.p.named_mut(LAYER_NAMES)
    }
}

#[cfg(test)]
mod tests;
