use super::*;
use crate::module::named_parameters;
use gradflow_autograd::{Tape, Tensor};

fn sigmoid(v: f64) -> f64 {
    1.0 / (1.0 + (-v).exp())
}

/// Row-major `[rows, cols]` matrix from a parameter.
fn mat(p: &Param) -> Vec<f64> {
    p.value().to_f64_vec()
}

/// `z[n][r] = sum_k a[n][k] w[r][k]` for `a: [N, K]`, `w: [R, K]`.
fn times_transposed(a: &[f64], w: &[f64], k: usize) -> Vec<Vec<f64>> {
    a.chunks(k)
        .map(|row| {
            w.chunks(k)
                .map(|wr| row.iter().zip(wr).map(|(x, y)| x * y).sum())
                .collect()
        })
        .collect()
}

/// Direct-loop preactivation `x W_ih^T + b_ih + h W_hh^T + b_hh`, per example.
fn preact(p: &CellParams, x: &[f64], h: &[f64]) -> Vec<Vec<f64>> {
    let zx = times_transposed(x, &mat(&p.weight_ih), p.inputs);
    let zh = times_transposed(h, &mat(&p.weight_hh), p.hidden);
    let b_ih = p.bias_ih.as_ref().map(mat).unwrap_or_default();
    let b_hh = p.bias_hh.as_ref().map(mat).unwrap_or_default();
    zx.iter()
        .zip(&zh)
        .map(|(a, b)| {
            (0..a.len())
                .map(|r| {
                    a[r] + b[r]
                        + b_ih.get(r).copied().unwrap_or(0.0)
                        + b_hh.get(r).copied().unwrap_or(0.0)
                })
                .collect()
        })
        .collect()
}

fn rnn_reference(cell: &RnnCell, x: &[f64], h: &[f64]) -> Vec<f64> {
    preact(&cell.p, x, h)
        .into_iter()
        .flatten()
        .map(f64::tanh)
        .collect()
}

/// `(h', c')` by the LSTM equations, gates `i, f, g, o`.
fn lstm_reference(cell: &LstmCell, x: &[f64], h: &[f64], c: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let hd = cell.hidden();
    let (mut h2, mut c2) = (Vec::new(), Vec::new());
    for (n, z) in preact(&cell.p, x, h).iter().enumerate() {
        for j in 0..hd {
            let i = sigmoid(z[j]);
            let f = sigmoid(z[hd + j]);
            let g = z[2 * hd + j].tanh();
            let o = sigmoid(z[3 * hd + j]);
            let cj = f * c[n * hd + j] + i * g;
            c2.push(cj);
            h2.push(o * cj.tanh());
        }
    }
    (h2, c2)
}

fn assert_close(got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tol, "element {i}: {g} vs {w}");
    }
}

fn randn(dims: &[usize], seed: u64) -> Tensor {
    Tensor::randn(dims, DType::F64, seed)
}

#[test]
fn rnn_cell_matches_a_direct_loop_reference() {
    let cell = RnnCell::new(3, 4, true, DType::F64, 1).unwrap();
    let (x, h) = (randn(&[2, 3], 2), randn(&[2, 4], 3));
    let tape = Tape::new();
    let mut ctx = ForwardCtx::new(&tape);
    let got = cell
        .step(
            &mut ctx,
            &tape.constant(x.clone()),
            Some(&tape.constant(h.clone())),
        )
        .unwrap();
    let want = rnn_reference(&cell, &x.to_f64_vec(), &h.to_f64_vec());
    assert_close(&got.value().to_f64_vec(), &want, 1e-14);
    // Without a state, the cell starts from zeros.
    let got = cell.forward(&mut ctx, &tape.constant(x.clone())).unwrap();
    let want = rnn_reference(&cell, &x.to_f64_vec(), &[0.0; 8]);
    assert_close(&got.value().to_f64_vec(), &want, 1e-14);
}

#[test]
fn lstm_cell_matches_a_direct_loop_reference_for_both_states() {
    let cell = LstmCell::new(3, 2, true, DType::F64, 4).unwrap();
    let (x, h, c) = (randn(&[3, 3], 5), randn(&[3, 2], 6), randn(&[3, 2], 7));
    let tape = Tape::new();
    let mut ctx = ForwardCtx::new(&tape);
    let state = LstmState {
        h: tape.constant(h.clone()),
        c: tape.constant(c.clone()),
    };
    let got = cell
        .step(&mut ctx, &tape.constant(x.clone()), Some(&state))
        .unwrap();
    let (want_h, want_c) = lstm_reference(&cell, &x.to_f64_vec(), &h.to_f64_vec(), &c.to_f64_vec());
    assert_close(&got.h.value().to_f64_vec(), &want_h, 1e-14);
    assert_close(&got.c.value().to_f64_vec(), &want_c, 1e-14);
    let got = cell.forward(&mut ctx, &tape.constant(x.clone())).unwrap();
    let (want_h, _) = lstm_reference(&cell, &x.to_f64_vec(), &[0.0; 6], &[0.0; 6]);
    assert_close(&got.value().to_f64_vec(), &want_h, 1e-14);
}

/// A cell checked w.r.t. its state too: the input `[N, in + H]` (or `[N, in + 2H]`
/// for an LSTM) is split into `x`, `h` (and `c`); the output is `h'` (or `[h', c']`).
struct WithState<C>(C);

impl Module for WithState<RnnCell> {
    fn kind(&self) -> &'static str {
        "WithState"
    }

    fn forward(&self, ctx: &mut ForwardCtx<'_>, xh: &Var) -> Result<Var> {
        let i = self.0.inputs();
        let x = xh.narrow(1, 0, i)?;
        let h = xh.narrow(1, i, self.0.hidden())?;
        self.0.step(ctx, &x, Some(&h))
    }

    fn params(&self) -> Vec<(&'static str, &Param)> {
        self.0.params()
    }
}

impl Module for WithState<LstmCell> {
    fn kind(&self) -> &'static str {
        "WithState"
    }

    fn forward(&self, ctx: &mut ForwardCtx<'_>, xhc: &Var) -> Result<Var> {
        let (i, hd) = (self.0.inputs(), self.0.hidden());
        let state = LstmState {
            h: xhc.narrow(1, i, hd)?,
            c: xhc.narrow(1, i + hd, hd)?,
        };
        let s = self.0.step(ctx, &xhc.narrow(1, 0, i)?, Some(&state))?;
        Ok(Var::concat(&[&s.h, &s.c], 1)?)
    }

    fn params(&self) -> Vec<(&'static str, &Param)> {
        self.0.params()
    }
}

#[test]
fn rnn_cell_gradchecks_for_input_state_and_every_parameter() {
    let cell = WithState(RnnCell::new(3, 4, true, DType::F64, 8).unwrap());
    let xh = randn(&[2, 7], 9);
    let r = crate::gradcheck_module(&cell, &xh, &Default::default()).unwrap();
    assert!(r.passed, "{r}");
    // The cell as a module (zero state), without biases.
    let bare = RnnCell::new(3, 4, false, DType::F64, 8).unwrap();
    let r = crate::gradcheck_module(&bare, &randn(&[2, 3], 10), &Default::default()).unwrap();
    assert!(r.passed, "{r}");
}

#[test]
fn lstm_cell_gradchecks_for_input_both_states_and_every_parameter() {
    let cell = WithState(LstmCell::new(3, 2, true, DType::F64, 11).unwrap());
    let xhc = randn(&[2, 7], 12);
    let r = crate::gradcheck_module(&cell, &xhc, &Default::default()).unwrap();
    assert!(r.passed, "{r}");
    let bare = LstmCell::new(3, 2, true, DType::F64, 11).unwrap();
    let r = crate::gradcheck_module(&bare, &randn(&[2, 3], 13), &Default::default()).unwrap();
    assert!(r.passed, "{r}");
}

#[test]
fn unrolled_rnn_and_lstm_gradcheck_over_three_steps() {
    let x = randn(&[3, 2, 3], 14);
    let rnn = Rnn::new(3, 4, true, DType::F64, 15).unwrap();
    let r = crate::gradcheck_module(&rnn, &x, &Default::default()).unwrap();
    assert!(r.passed, "RNN: {r}");
    let lstm = Lstm::new(3, 2, true, DType::F64, 16).unwrap();
    let r = crate::gradcheck_module(&lstm, &x, &Default::default()).unwrap();
    assert!(r.passed, "LSTM: {r}");
}

#[test]
fn unrolled_modules_equal_repeated_cell_steps_from_zero_state() {
    let x = randn(&[4, 2, 3], 17);
    let xs: Vec<Vec<f64>> = x.to_f64_vec().chunks(6).map(<[f64]>::to_vec).collect();
    let tape = Tape::new();
    let mut ctx = ForwardCtx::new(&tape);

    let rnn = Rnn::new(3, 5, true, DType::F64, 18).unwrap();
    let y = rnn.forward(&mut ctx, &tape.constant(x.clone())).unwrap();
    assert_eq!(y.dims(), &[4, 2, 5]);
    let mut h = vec![0.0; 10];
    let mut want = Vec::new();
    for x_t in &xs {
        h = rnn_reference(rnn.cell(), x_t, &h);
        want.extend(&h);
    }
    assert_close(&y.value().to_f64_vec(), &want, 1e-13);

    let lstm = Lstm::new(3, 5, true, DType::F64, 19).unwrap();
    let steps = lstm
        .forward_steps(&mut ctx, &tape.constant(x.clone()))
        .unwrap();
    let y = lstm.forward(&mut ctx, &tape.constant(x)).unwrap();
    assert_eq!(y.dims(), &[4, 2, 5]);
    let (mut h, mut c) = (vec![0.0; 10], vec![0.0; 10]);
    let mut want = Vec::new();
    for (t, x_t) in xs.iter().enumerate() {
        (h, c) = lstm_reference(lstm.cell(), x_t, &h, &c);
        want.extend(&h);
        assert_close(&steps[t].c.value().to_f64_vec(), &c, 1e-13);
    }
    assert_close(&y.value().to_f64_vec(), &want, 1e-13);
}

#[test]
fn forward_states_give_the_gradient_at_every_time_step() {
    // L = sum(r * h_T): dL/dh_T = r, and one step back
    // dL/dh_{T-1} = (r * (1 - h_T^2)) W_hh, the tanh RNN's backward recurrence.
    let rnn = Rnn::new(2, 3, true, DType::F64, 20).unwrap();
    let tape = Tape::new();
    let mut ctx = ForwardCtx::new(&tape);
    let hs = rnn
        .forward_states(&mut ctx, &tape.constant(randn(&[3, 2, 2], 21)))
        .unwrap();
    assert_eq!(hs.len(), 3);
    let r = randn(&[2, 3], 22);
    let loss = hs[2]
        .mul(&tape.constant(r.clone()))
        .unwrap()
        .sum_all()
        .unwrap();
    let refs: Vec<&Var> = hs.iter().collect();
    let g = tape.grad(&loss, &refs, false).unwrap();
    assert_close(&g[2].value().to_f64_vec(), &r.to_f64_vec(), 0.0);
    let h_t = hs[2].value().to_f64_vec();
    let delta: Vec<f64> = r
        .to_f64_vec()
        .iter()
        .zip(&h_t)
        .map(|(r, h)| r * (1.0 - h * h))
        .collect();
    let w_hh = mat(&rnn.cell().p.weight_hh);
    // (delta W_hh)[n][k] = sum_j delta[n][j] w_hh[j][k]
    let want: Vec<f64> = (0..2)
        .flat_map(|n| {
            let (delta, w_hh) = (&delta, &w_hh);
            (0..3).map(move |k| (0..3).map(|j| delta[n * 3 + j] * w_hh[j * 3 + k]).sum())
        })
        .collect();
    assert_close(&g[1].value().to_f64_vec(), &want, 1e-14);
    // The gradient at h_1 exists too and has the state's shape.
    assert_eq!(g[0].dims(), &[2, 3]);
}

#[test]
fn recurrent_parameter_names_and_shapes_follow_pytorch() {
    let shapes = |m: &dyn Module| -> Vec<(String, Vec<usize>)> {
        named_parameters(m)
            .into_iter()
            .map(|(n, p)| (n, p.value().dims().to_vec()))
            .collect()
    };
    let s = |n: &str, d: &[usize]| (n.to_string(), d.to_vec());
    assert_eq!(
        shapes(&RnnCell::new(3, 4, true, DType::F32, 0).unwrap()),
        [
            s("weight_ih", &[4, 3]),
            s("weight_hh", &[4, 4]),
            s("bias_ih", &[4]),
            s("bias_hh", &[4])
        ]
    );
    assert_eq!(
        shapes(&Lstm::new(3, 4, true, DType::F32, 0).unwrap()),
        [
            s("weight_ih_l0", &[16, 3]),
            s("weight_hh_l0", &[16, 4]),
            s("bias_ih_l0", &[16]),
            s("bias_hh_l0", &[16])
        ]
    );
    assert_eq!(
        shapes(&Rnn::new(3, 4, false, DType::F32, 0).unwrap()),
        [s("weight_ih_l0", &[4, 3]), s("weight_hh_l0", &[4, 4])]
    );
    assert_eq!(
        shapes(&LstmCell::new(2, 1, true, DType::F32, 0).unwrap()).len(),
        4
    );
}

#[test]
fn recurrent_init_is_uniform_within_one_over_sqrt_hidden() {
    let lstm = Lstm::new(16, 25, true, DType::F64, 23).unwrap();
    let k = 1.0 / 5.0;
    for (name, p) in lstm.params() {
        let v = p.value().to_f64_vec();
        assert!(v.iter().all(|x| x.abs() <= k), "{name}");
        // Var of U[-k, k] is k^2 / 3; with at least 100 draws within 35%.
        let var = v.iter().map(|x| x * x).sum::<f64>() / v.len() as f64;
        assert!((var / (k * k / 3.0) - 1.0).abs() < 0.35, "{name}: {var}");
    }
    // Same seed, same weights; another seed, others.
    let a = RnnCell::new(2, 3, true, DType::F64, 1).unwrap();
    let b = RnnCell::new(2, 3, true, DType::F64, 1).unwrap();
    let c = RnnCell::new(2, 3, true, DType::F64, 2).unwrap();
    assert_eq!(mat(&a.p.weight_hh), mat(&b.p.weight_hh));
    assert_ne!(mat(&a.p.weight_hh), mat(&c.p.weight_hh));
}

#[test]
fn recurrent_layers_refuse_bad_sizes_and_tensors_with_exact_messages() {
    assert_eq!(
        RnnCell::new(0, 4, true, DType::F32, 0)
            .unwrap_err()
            .to_string(),
        "RNNCell: sizes must be at least 1 (got 0 -> 4)"
    );
    assert_eq!(
        Lstm::new(3, 0, true, DType::F32, 0)
            .unwrap_err()
            .to_string(),
        "LSTMCell: sizes must be at least 1 (got 3 -> 0)"
    );
    let e = LstmCell::from_tensors(randn(&[6, 3], 0), randn(&[6, 2], 0), None).unwrap_err();
    assert_eq!(
        e.to_string(),
        "LSTMCell: weight_ih must be [4 H, in] with H, in >= 1, got [6, 3]"
    );
    let e = RnnCell::from_tensors(randn(&[4, 3], 0), randn(&[4, 3], 0), None).unwrap_err();
    assert_eq!(
        e.to_string(),
        "RNNCell: weight_hh must be [4, 4], got [4, 3]"
    );
    let e = RnnCell::from_tensors(
        randn(&[4, 3], 0),
        randn(&[4, 4], 0),
        Some((randn(&[4], 0), randn(&[3], 0))),
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "RNNCell: bias_hh must be [4], got [3]");
}

#[test]
fn recurrent_layers_name_wrong_input_and_state_shapes() {
    let tape = Tape::new();
    let mut ctx = ForwardCtx::new(&tape);
    let c = |d: &[usize]| tape.constant(randn(d, 0));
    let cell = RnnCell::new(3, 4, true, DType::F64, 0).unwrap();
    assert_eq!(
        cell.forward(&mut ctx, &c(&[2, 5])).unwrap_err().to_string(),
        "RNNCell: expects an input [N, 3], got [2, 5]"
    );
    assert_eq!(
        cell.step(&mut ctx, &c(&[2, 3]), Some(&c(&[3, 4])))
            .unwrap_err()
            .to_string(),
        "RNNCell: expects a hidden state [2, 4] for an input of batch 2, got [3, 4]"
    );
    let lstm = LstmCell::new(3, 4, true, DType::F64, 0).unwrap();
    let state = LstmState {
        h: c(&[2, 4]),
        c: c(&[2, 3]),
    };
    assert_eq!(
        lstm.step(&mut ctx, &c(&[2, 3]), Some(&state))
            .unwrap_err()
            .to_string(),
        "LSTMCell: expects a cell state [2, 4] for an input of batch 2, got [2, 3]"
    );
    let rnn = Rnn::from_cell(cell);
    assert_eq!(
        rnn.forward(&mut ctx, &c(&[2, 3])).unwrap_err().to_string(),
        "RNN: expects a sequence [T, N, 3] with T >= 1, got [2, 3]"
    );
    assert_eq!(
        rnn.forward(&mut ctx, &c(&[0, 2, 3]))
            .unwrap_err()
            .to_string(),
        "RNN: expects a sequence [T, N, 3] with T >= 1, got [0, 2, 3]"
    );
    let lstm = Lstm::from_cell(lstm);
    assert_eq!(
        lstm.forward(&mut ctx, &c(&[4, 2, 2]))
            .unwrap_err()
            .to_string(),
        "LSTM: expects a sequence [T, N, 3] with T >= 1, got [4, 2, 2]"
    );
}
