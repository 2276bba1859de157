//! The reverse pass: one loop over the tape from the output back to the leaves.

use std::collections::HashMap;

use smallvec::SmallVec;

use crate::op::BackwardCtx;
use crate::op_box::OpBox;
use crate::tape::NodeKind;
use crate::{Error, Gradients, Result, Tape, Var};

/// Which nodes the caller wants gradients for.
enum Targets<'a> {
    /// Every [`Tape::var`] leaf (what `backward` returns).
    AllVars,
    /// These node ids (what [`Tape::grad`] asks for).
    Nodes(&'a [usize]),
}

pub(crate) fn backward_all(output: &Var, retain: bool) -> Result<Gradients> {
    if output.value().numel() != 1 {
        return Err(Error::NonScalarBackward {
            shape: output.shape().clone(),
        });
    }
    let Some((tape, out_id)) = output.tape_and_id().filter(|_| output.requires_grad()) else {
        // Nothing the output depends on needs a gradient.
        return Ok(Gradients::empty());
    };
    tape.check_node("backward", out_id)?;
    let seed = Var::untracked(output.value().ones_like());
    let grads = run(tape, out_id, seed, Targets::AllVars, false, retain)?;
    Ok(Gradients::new(
        tape.id(),
        grads
            .into_iter()
            .map(|(id, g)| (id, g.into_value()))
            .collect(),
    ))
}

impl Tape {
    /// Gradients of the scalar `output` w.r.t. each of `inputs`, in order.
    ///
    /// With `create_graph = true` the gradients are themselves recorded on this tape, so
    /// they can be differentiated again (second and higher derivatives, Hessian-vector
    /// products); the graph is kept for that. With `false` nothing is recorded and the
    /// values saved for the pass are released.
    ///
    /// An input the output does not depend on gets a gradient of zeros.
    ///
    /// # Errors
    /// [`Error::NonScalarBackward`] if `output` has more than one element (see
    /// [`Tape::vjp`]); [`Error::NotDifferentiable`] if an input needs no gradient or is on
    /// another tape; errors of the gradient rules.
    ///
    /// ```
    /// use gradflow_autograd::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::scalar(3.0f64));
    /// let y = x.powf(3.0)?;                              // y = x^3
    /// let dy = tape.grad(&y, &[&x], true)?;              // 3x^2 = 27, recorded
    /// let d2y = tape.grad(&dy[0], &[&x], false)?;        // 6x = 18
    /// assert_eq!(dy[0].value().to_scalar::<f64>()?, 27.0);
    /// assert_eq!(d2y[0].value().to_scalar::<f64>()?, 18.0);
    /// # Ok::<(), gradflow_autograd::Error>(())
    /// ```
    pub fn grad(&self, output: &Var, inputs: &[&Var], create_graph: bool) -> Result<Vec<Var>> {
        if output.value().numel() != 1 {
            return Err(Error::NonScalarBackward {
                shape: output.shape().clone(),
            });
        }
        let seed = Var::untracked(output.value().ones_like());
        self.vjp(output, &seed, inputs, create_graph)
    }

    /// Vector-Jacobian product: the gradients w.r.t. `inputs` of `sum(output * cotangent)`
    /// for an output of any shape. [`Tape::grad`] is the case of a scalar output and a
    /// cotangent of one.
    ///
    /// # Errors
    /// [`Error::Shape`] or [`Error::DTypeMismatch`] if the cotangent does not match the
    /// output; otherwise as [`Tape::grad`].
    pub fn vjp(
        &self,
        output: &Var,
        cotangent: &Var,
        inputs: &[&Var],
        create_graph: bool,
    ) -> Result<Vec<Var>> {
        self.vjp_with(output, cotangent, inputs, create_graph, create_graph)
    }

    /// As [`Tape::grad`] with `create_graph = false` (nothing recorded), but keeping the
    /// values saved for the pass, so that more gradients can be taken through the same
    /// graph afterwards: several losses sharing a network, or each output of a model in
    /// turn (PyTorch's `retain_graph=True`).
    ///
    /// ```
    /// use gradflow_autograd::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::scalar(2.0f64));
    /// let h = x.exp()?;                                  // shared by both outputs
    /// let (a, b) = (h.sum_all()?, h.powf(2.0)?.sum_all()?);
    /// let da = tape.grad_retain(&a, &[&x])?;             // e^x
    /// let db = tape.grad(&b, &[&x], false)?;             // 2 e^(2x); releases the graph
    /// assert_eq!(da[0].value().to_scalar::<f64>()?, 2f64.exp());
    /// assert!((db[0].value().to_scalar::<f64>()? - 2.0 * 4f64.exp()).abs() < 1e-12);
    /// # Ok::<(), gradflow_autograd::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Tape::grad`].
    pub fn grad_retain(&self, output: &Var, inputs: &[&Var]) -> Result<Vec<Var>> {
        if output.value().numel() != 1 {
            return Err(Error::NonScalarBackward {
                shape: output.shape().clone(),
            });
        }
        let seed = Var::untracked(output.value().ones_like());
        self.vjp_with(output, &seed, inputs, false, true)
    }

    fn vjp_with(
        &self,
        output: &Var,
        cotangent: &Var,
        inputs: &[&Var],
        create_graph: bool,
        retain: bool,
    ) -> Result<Vec<Var>> {
        if cotangent.shape() != output.shape() {
            return Err(Error::shape(
                "vjp",
                &[output.shape(), cotangent.shape()],
                "the cotangent must have the output's shape",
            ));
        }
        if cotangent.dtype() != output.dtype() {
            return Err(Error::DTypeMismatch {
                op: "vjp",
                lhs: output.dtype(),
                rhs: cotangent.dtype(),
            });
        }
        let mut ids = Vec::with_capacity(inputs.len());
        for (k, v) in inputs.iter().enumerate() {
            match v.tape_and_id() {
                Some((t, id)) if t.id() == self.id() && v.requires_grad() => {
                    self.check_node("grad", id)?;
                    ids.push(id);
                }
                Some((t, _)) if t.id() != self.id() => {
                    return Err(Error::NotDifferentiable {
                        op: "grad",
                        reason: format!(
                            "input {k} is on tape #{}, not on tape #{}",
                            t.id(),
                            self.id()
                        ),
                    });
                }
                _ => {
                    return Err(Error::NotDifferentiable {
                        op: "grad",
                        reason: format!(
                            "input {k} ({} {}) needs no gradient: make it with Tape::var",
                            v.shape(),
                            v.dtype()
                        ),
                    });
                }
            }
        }
        let found = match output.tape_and_id() {
            Some((t, out_id)) if t.id() == self.id() && output.requires_grad() => {
                self.check_node("grad", out_id)?;
                run(
                    self,
                    out_id,
                    cotangent.clone(),
                    Targets::Nodes(&ids),
                    create_graph,
                    retain,
                )?
            }
            Some((t, _)) if t.id() != self.id() => {
                return Err(Error::NotDifferentiable {
                    op: "grad",
                    reason: format!(
                        "the output is on tape #{}, not on tape #{}",
                        t.id(),
                        self.id()
                    ),
                });
            }
            _ => HashMap::new(),
        };
        Ok(ids
            .iter()
            .zip(inputs)
            .map(|(id, v)| {
                // `get`, not `remove`: an input listed twice gets its gradient twice.
                found
                    .get(id)
                    .cloned()
                    .unwrap_or_else(|| Var::untracked(v.value().zeros_like()))
            })
            .collect())
    }
}

/// The reverse loop. Returns the gradient of every target node reached.
fn run(
    tape: &Tape,
    out_id: usize,
    seed: Var,
    targets: Targets<'_>,
    create_graph: bool,
    retain: bool,
) -> Result<HashMap<usize, Var>> {
    let anomaly = tape.anomaly_detection();
    // needs[i]: node i lies on a path from a target to the output, so its gradient is
    // wanted. Everything else is pruned: its rule never runs.
    // A target is a node whose gradient is returned: with `AllVars` only the `Var`
    // leaves, not every op node the pass goes through (whose gradients would otherwise
    // all be kept until the pass ends and handed back in `Gradients`).
    let is_target = |i: usize, kind: NodeKind| match targets {
        Targets::AllVars => kind == NodeKind::Var,
        Targets::Nodes(ids) => ids.contains(&i),
    };
    let needs: Vec<bool> = {
        let nodes = tape.inner.nodes.borrow();
        let mut needs = vec![false; out_id + 1];
        for i in 0..=out_id {
            needs[i] = is_target(i, nodes[i].kind) || nodes[i].inputs.iter().any(|&j| needs[j]);
        }
        needs
    };

    let mut grads: Vec<Option<Var>> = vec![None; out_id + 1];
    grads[out_id] = Some(seed);
    let mut found = HashMap::new();

    for i in (0..=out_id).rev() {
        if !needs[i] {
            continue;
        }
        let Some(mut g) = grads[i].take() else {
            continue;
        };
        g = run_hooks(tape, i, g)?;
        // Filled in place inside the borrow below rather than returned from it: a Var is
        // about a hundred bytes, and every move of these is a copy, per node.
        let mut inputs: SmallVec<[Var; 2]> = SmallVec::new();
        let output: Var;
        let op: OpBox;
        let input_ids: SmallVec<[usize; 2]>;
        let kind = {
            let mut nodes = tape.inner.nodes.borrow_mut();
            let kind = nodes[i].kind;
            if kind != NodeKind::Op {
                drop(nodes);
                if is_target(i, kind) {
                    found.insert(i, g);
                }
                continue;
            }
            input_ids = copy_ids(&nodes[i].inputs);
            let name = nodes[i].name();
            let released = || Error::GraphReleased { node: i, op: name };
            // Without `retain` the value is released after the rule anyway: move it out
            // now rather than count one more reference to it.
            let out_value = if retain {
                nodes[i].value.clone()
            } else {
                nodes[i].value.take()
            };
            let out_value = out_value.ok_or_else(released)?;
            for &j in &input_ids {
                let value = nodes[j].value.clone().ok_or_else(released)?;
                inputs.push(if create_graph {
                    Var::tracked(value, tape.clone(), j, nodes[j].requires_grad())
                } else {
                    Var::untracked(value)
                });
            }
            output = if create_graph {
                Var::tracked(out_value, tape.clone(), i, true)
            } else {
                Var::untracked(out_value)
            };
            op = nodes[i].op.take().ok_or_else(|| Error::BadGradient {
                op: "backward",
                reason: format!("node {i} is running its own gradient rule re-entrantly"),
            })?;
            kind
        };
        debug_assert_eq!(kind, NodeKind::Op);
        if is_target(i, kind) {
            found.insert(i, g.clone());
        }
        let needs_grad: SmallVec<[bool; 4]> = match *input_ids {
            // A fixed-size array for the one and two inputs of almost every op: the
            // generic `collect` into a SmallVec is an out-of-line loop, per node.
            [a] => SmallVec::from_buf_and_len([needs[a], false, false, false], 1),
            [a, b] => SmallVec::from_buf_and_len([needs[a], needs[b], false, false], 2),
            _ => input_ids.iter().map(|&j| needs[j]).collect(),
        };
        let ctx = BackwardCtx {
            inputs: &inputs,
            output: &output,
            needs_grad: &needs_grad,
            create_graph,
        };
        // The op is taken out of the tape while its rule runs, so the rule may record on
        // the same tape (create_graph) without holding a borrow; it is put back at once.
        // Whether the upstream gradient was finite, for anomaly reports (asked before the
        // rule takes the gradient, which it may overwrite).
        let g_finite = anomaly && g.value().all_finite();
        let result = op.get().backward_owned(&ctx, g);
        let op_name = op.get().name();
        {
            let mut nodes = tape.inner.nodes.borrow_mut();
            nodes[i].op = Some(op);
            if !retain {
                nodes[i].value = None;
            }
        }
        let input_grads = result?;
        if input_grads.len() != input_ids.len() {
            return Err(Error::BadGradient {
                op: op_name,
                reason: format!(
                    "returned {} gradients for {} inputs",
                    input_grads.len(),
                    input_ids.len()
                ),
            });
        }
        for (k, (gj, &j)) in input_grads.into_iter().zip(&input_ids).enumerate() {
            let Some(gj) = gj else { continue };
            if !needs[j] {
                continue;
            }
            let input = &inputs[k];
            if gj.shape() != input.shape() || gj.dtype() != input.dtype() {
                return Err(Error::BadGradient {
                    op: op_name,
                    reason: format!(
                        "gradient for input {k} is {} {}, the input is {} {}",
                        gj.shape(),
                        gj.dtype(),
                        input.shape(),
                        input.dtype()
                    ),
                });
            }
            if g_finite && let Some((index, x)) = gj.value().first_non_finite() {
                let nodes = tape.inner.nodes.borrow();
                return Err(Error::NonFinite(Box::new(crate::error::Anomaly {
                    phase: "backward",
                    node: i,
                    op: op_name,
                    value: format!("{x}"),
                    index,
                    location: nodes[i].location.to_string(),
                    scope: nodes[i].scope.as_ref().map(|s| s.to_string()),
                    input_shapes: input_ids.iter().map(|&j| nodes[j].shape.clone()).collect(),
                })));
            }
            grads[j] = Some(match grads[j].take() {
                None => gj,
                Some(prev) => prev.add(&gj)?,
            });
        }
    }
    Ok(found)
}

/// A copy of a node's input ids: as a fixed-size array for the one or two inputs of
/// almost every op (a SmallVec's `clone` goes through its generic, out-of-line
/// `extend`, a measurable part of a recorded op's backward cost).
fn copy_ids(ids: &SmallVec<[usize; 2]>) -> SmallVec<[usize; 2]> {
    match **ids {
        [] => SmallVec::new(),
        [a] => SmallVec::from_buf_and_len([a, 0], 1),
        [a, b] => SmallVec::from_buf([a, b]),
        _ => SmallVec::from_slice(ids),
    }
}

/// Runs the hooks registered on node `i`, each seeing the gradient the previous left.
fn run_hooks(tape: &Tape, i: usize, g: Var) -> Result<Var> {
    if tape.inner.hooks.borrow().is_empty() {
        return Ok(g);
    }
    // Taken out while they run, so a hook may use the tape.
    let Some(mut hooks) = tape.inner.hooks.borrow_mut().remove(&i) else {
        return Ok(g);
    };
    let mut g = g;
    let mut outcome = Ok(());
    for hook in hooks.iter_mut() {
        if let Some(replacement) = hook(g.value()) {
            if replacement.shape() != g.shape() || replacement.dtype() != g.dtype() {
                outcome = Err(Error::BadGradient {
                    op: "hook",
                    reason: format!(
                        "a hook on node {i} replaced a {} {} gradient with a {} {} one",
                        g.shape(),
                        g.dtype(),
                        replacement.shape(),
                        replacement.dtype()
                    ),
                });
                break;
            }
            g = Var::untracked(replacement);
        }
    }
    let mut map = tape.inner.hooks.borrow_mut();
    let slot = map.entry(i).or_default();
    // Hooks registered by a hook while it ran go after the existing ones.
    let added = std::mem::take(slot);
    *slot = hooks;
    slot.extend(added);
    drop(map);
    outcome.map(|()| g)
}

#[cfg(test)]
mod tests {
    use crate::testing::*;
    use crate::{Tape, Tensor};

    #[test]
    fn backward_returns_gradients_for_var_leaves_only() {
        let tape = Tape::new();
        let x = tape.var(t64(&[0.5, -1.0], &[2]));
        let c = tape.constant(t64(&[2.0, 3.0], &[2]));
        let h = x.mul(&c).unwrap().exp().unwrap();
        let y = h.sum_all().unwrap();
        let g = y.backward().unwrap();
        assert_eq!(g.len(), 1);
        assert!(g.get(&h).is_none());
        assert!(g.get(&y).is_none());
        assert!(g.get(&c).is_none());
        let want = [2.0 * 1.0f64.exp(), 3.0 * (-3.0f64).exp()];
        assert_close(&g.get(&x).unwrap().to_f64_vec(), &want, 1e-15, 0.0);
    }

    #[test]
    fn grad_still_reaches_an_intermediate_node_asked_for() {
        let tape = Tape::new();
        let x = tape.var(t64(&[0.5, -1.0], &[2]));
        let h = x.mul(&x).unwrap();
        let y = h.mul_scalar(3.0).unwrap().sum_all().unwrap();
        let g = tape.grad(&y, &[&h, &x], false).unwrap();
        assert_eq!(g[0].value().to_f64_vec(), vec![3.0, 3.0]);
        assert_eq!(g[1].value().to_f64_vec(), vec![3.0, -6.0]);
    }

    /// Rules write their result into the upstream gradient's storage only when nothing
    /// else holds it: a cotangent the caller keeps and a gradient a hook kept stay as
    /// they were, in both dtypes (f32 goes through the vectorised in-place kernel).
    #[test]
    fn in_place_rules_leave_gradients_held_elsewhere_untouched() {
        use std::{cell::RefCell, rc::Rc};
        for dtype in [crate::DType::F64, crate::DType::F32] {
            let tape = Tape::new();
            let x = tape.var(t64(&[0.5, -1.0, 2.0], &[3]).to_dtype(dtype));
            let h = x.mul_scalar(2.0).unwrap();
            let a = h.tanh().unwrap();
            let y = a.mul_scalar(3.0).unwrap();
            let kept = Rc::new(RefCell::new(None));
            let k = kept.clone();
            a.register_hook(move |g| {
                *k.borrow_mut() = Some(g.clone());
                None
            })
            .unwrap();
            let cot = crate::Var::untracked(t64(&[1.0, 2.0, -1.0], &[3]).to_dtype(dtype));
            let g = tape.vjp(&y, &cot, &[&x], false).unwrap();
            assert_eq!(cot.value().to_f64_vec(), vec![1.0, 2.0, -1.0]);
            let seen = kept.borrow().as_ref().map(|t: &Tensor| t.to_f64_vec());
            assert_eq!(seen, Some(vec![3.0, 6.0, -3.0]));
            let want: Vec<f64> = [0.5f64, -1.0, 2.0]
                .iter()
                .zip([3.0, 6.0, -3.0])
                .map(|(x, c)| c * 2.0 / (2.0 * x).cosh().powi(2))
                .collect();
            let rtol = if dtype == crate::DType::F64 {
                1e-14
            } else {
                1e-6
            };
            assert_close(&g[0].value().to_f64_vec(), &want, rtol, 0.0);
        }
    }

    #[test]
    fn grad_of_an_input_listed_twice_is_returned_twice() {
        let tape = Tape::new();
        let x = tape.var(Tensor::scalar(3.0f64));
        let y = x.mul(&x).unwrap();
        let g = tape.grad(&y, &[&x, &x], false).unwrap();
        assert_eq!(g[0].value().to_scalar::<f64>().unwrap(), 6.0);
        assert_eq!(g[1].value().to_scalar::<f64>().unwrap(), 6.0);
    }
}
