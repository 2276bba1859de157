"""Golden values for gradflow-nn's losses: PyTorch in float64.

Writes losses.json next to this file: for each case the inputs, the loss value and
its gradient w.r.t. the input. Run from anywhere with a PyTorch install:

    python crates/nn/tests/golden/gen_losses.py

The test `crates/nn/tests/losses.rs` reads the JSON; it never needs Python.
"""

import json
import pathlib
import re

import torch
import torch.nn.functional as F

torch.manual_seed(20240601)
DT = torch.float64
cases = []


def tensor(t):
    return {"shape": list(t.shape), "data": t.detach().reshape(-1).tolist()}


def record(loss, reduction, x, value, target=None, targets=None, label_smoothing=None,
           note=None, grad=True):
    case = {"loss": loss, "reduction": reduction, "input": tensor(x)}
    if target is not None:
        case["target"] = tensor(target)
    if targets is not None:
        case["targets"] = targets.tolist()
    if label_smoothing is not None:
        case["label_smoothing"] = label_smoothing
    case["value"] = value.item()
    if grad:
        (g,) = torch.autograd.grad(value, x)
        case["grad"] = g.reshape(-1).tolist()
    if note:
        case["note"] = note
    cases.append(case)


def exact_cross_entropy(z, t, reduction):
    """-mean/sum of log_softmax(z)[i, t_i] at 60 digits, rounded once to float64."""
    import mpmath
    mpmath.mp.dps = 60
    total = mpmath.mpf(0)
    for row, label in zip(z.tolist(), t.tolist()):
        m = max(row)
        lse = m + mpmath.log(mpmath.fsum(mpmath.exp(mpmath.mpf(v) - m) for v in row))
        total += lse - row[label]
    if reduction == "mean":
        total /= len(t)
    return float(total)


for reduction in ["mean", "sum"]:
    # mse: linear output, real targets.
    x = torch.randn(3, 4, dtype=DT, requires_grad=True)
    y = torch.randn(3, 4, dtype=DT)
    record("mse", reduction, x, F.mse_loss(x, y, reduction=reduction), target=y)

    # bce on probabilities away from 0 and 1, hard and soft targets.
    p = (torch.rand(3, 4, dtype=DT) * 0.9 + 0.05).requires_grad_()
    y = torch.tensor([[1, 0, 1, 0], [0.25, 0.5, 0.75, 1], [0, 0, 1, 0.1]], dtype=DT)
    record("bce", reduction, p, F.binary_cross_entropy(p, y, reduction=reduction), target=y)

    # bce_with_logits: moderate and large logits (sigmoid(20) is 1 - 2e-9).
    z = (torch.randn(3, 4, dtype=DT) * 3).detach()
    z[0, 0], z[1, 1], z[2, 2], z[2, 3] = 20.0, -20.0, 0.0, 8.0
    z.requires_grad_()
    record("bce_with_logits", reduction, z,
           F.binary_cross_entropy_with_logits(z, y, reduction=reduction), target=y)

    # cross_entropy from logits, plain and with label smoothing.
    z = torch.randn(4, 5, dtype=DT, requires_grad=True)
    t = torch.tensor([0, 4, 2, 2])
    for ls in [0.0, 0.1, 0.3]:
        record("cross_entropy", reduction, z,
               F.cross_entropy(z, t, reduction=reduction, label_smoothing=ls),
               targets=t, label_smoothing=ls)
    # Large logits: log_softmax must not overflow.
    big = (torch.randn(3, 4, dtype=DT) * 300).requires_grad_()
    tb = torch.tensor([1, 3, 0])
    record("cross_entropy", reduction, big, F.cross_entropy(big, tb, reduction=reduction),
           targets=tb, label_smoothing=0.0, note="logits of size ~300; value exact (mpmath)")
    # PyTorch rounds -log_softmax of a dominant logit to 0 where the exact value is
    # ln(1 + sum e^(z_j - z_max)) ~ 1e-40: the reference value is computed exactly.
    cases[-1]["value"] = exact_cross_entropy(big.detach(), tb, reduction)

    # nll from log-probabilities.
    logp = torch.log_softmax(torch.randn(4, 5, dtype=DT), dim=1).requires_grad_()
    record("nll", reduction, logp, F.nll_loss(logp, t, reduction=reduction), targets=t)

# bce with probabilities of exactly 0 and 1: each log is clamped at -100. Only the value
# is compared: PyTorch's backward there is its capped formula (see bce's docs).
p = torch.tensor([0.0, 1.0, 0.0, 1.0, 0.5], dtype=DT, requires_grad=True)
y = torch.tensor([1.0, 0.0, 0.0, 1.0, 0.3], dtype=DT)
record("bce", "sum", p, F.binary_cross_entropy(p, y, reduction="sum"), target=y,
       note="probabilities 0 and 1: the logs are clamped at -100", grad=False)

out = {
    "generator": "crates/nn/tests/golden/gen_losses.py",
    "torch": torch.__version__,
    "dtype": "float64",
    "cases": cases,
}
path = pathlib.Path(__file__).with_name("losses.json")
text = json.dumps(out, indent=1)
# Lists of numbers on one line each: one tensor or trajectory per line.
text = re.sub(r"\[[-0-9.e,\s]*\]", lambda m: re.sub(r"\s+", " ", m.group(0)), text)
path.write_text(text + "\n")
print(f"wrote {len(cases)} cases to {path}")
