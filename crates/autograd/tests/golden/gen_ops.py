#!/usr/bin/env python3
"""Golden values for gradflow's non-activation ops and for a few composite functions.

Run from the repository root with a Python that has PyTorch (the CPU build is enough):

    python crates/autograd/tests/golden/gen_ops.py

It (re)writes crates/autograd/tests/golden/ops.json beside this script. The Rust test
crates/autograd/tests/golden_ops.rs reads that file; it never runs Python. The values
were generated with torch 2.15.0 and numpy 2.4 (both versions are also recorded in the
JSON). The output is deterministic: rerunning the script gives the same file.

For every case:
- inputs: seeded with the CRC-32 of the case name (so adding a case changes no other),
  drawn in float64. Inputs are kept away from kinks (abs at 0, clamp bounds, ties of
  maximum/minimum and of max pooling, relu at 0 inside composites) except in the cases
  named `ties`, which test PyTorch's tie-splitting rule on purpose.
- f64: the forward value, and the vector-Jacobian product of a seeded random cotangent
  `c` with respect to every input (the gradient of `sum(out * c)`), and the
  Hessian-vector product of `sum(out * c)` along a seeded random direction `v` (one
  tensor per input): `d/de grad(sum(out(x + e v) * c))`, computed as the gradient of
  `sum_i <grad_i, v_i>` with create_graph. Zero where the gradient does not depend on
  the inputs (linear ops, piecewise-linear ones away from kinks).
- f32: the same inputs, cotangent and constants rounded to float32 (round to nearest,
  as Rust's `as f32` does), the forward value and the VJP computed by PyTorch in
  float32. No HVP.
Composites (names starting `composite/`) return a scalar loss; their cotangent is 1, so
the VJP is the gradient of the loss w.r.t. every parameter. Their data (inputs, labels,
targets) are `constants`, which get no gradient.

JSON layout: {"torch", "numpy", "generator", "cases": [case, ...]}; a case is
{"name", "op", "params", "inputs": [array], "constants": [array], "cotangent": array,
"direction": [array], "f64": {"out", "grads", "hvp"}, "f32": {"out", "grads"}}, an
array is {"shape": [...], "data": [flat row-major values]}. Floats are written with
Python's repr (shortest round-trip), so the f64 values are exact; f32 values are written
as their exact f64 value.
"""

import json
import pathlib
import zlib

import numpy as np
import torch
import torch.nn.functional as F

OUT = pathlib.Path(__file__).with_name("ops.json")

CASES = []


def case(name, fn, inputs, constants=(), params=None, check=None):
    """Registers a case. `inputs` and `constants` are functions of a numpy Generator
    returning float64 arrays; `fn(xs, cs)` builds the output from torch tensors;
    `check(inputs, constants)` may reject a draw (a kink too close), which is redrawn."""
    CASES.append(
        dict(
            name=name,
            fn=fn,
            inputs=inputs,
            constants=constants,
            params=params or {},
            check=check,
        )
    )


# ---------------------------------------------------------------- input generators


def normal(*shape, scale=1.0, offset=0.0):
    return lambda rng: offset + scale * rng.standard_normal(shape)


def positive(*shape, lo=0.5, hi=2.0):
    return lambda rng: rng.uniform(lo, hi, shape)


def log_uniform(*shape, lo=-3.0, hi=3.0):
    """Positive values spread over several decades."""
    return lambda rng: 10.0 ** rng.uniform(lo, hi, shape)


def nonzero(*shape, lo=0.3, hi=2.0):
    """Away from 0 (abs, and denominators)."""
    return lambda rng: rng.choice([-1.0, 1.0], shape) * rng.uniform(lo, hi, shape)


def distinct(*shape):
    """All values distinct by at least 0.8 * 4 / n, in f32 too (max, min, pooling)."""

    def gen(rng):
        n = int(np.prod(shape))
        step = 4.0 / n
        base = np.linspace(-2.0, 2.0 - step, n) + rng.uniform(0.0, 0.2 * step, n)
        return rng.permutation(base).reshape(shape)

    return gen


def lattice(*shape, offset):
    """Multiples of 0.2 (plus `offset`) with noise of at most 0.02: a draw with
    offset 0 and one with offset 0.1 are 0.06 apart or more everywhere, so maximum and
    minimum have no ties even under broadcasting."""
    return lambda rng: (
        0.2 * rng.integers(-10, 11, shape) + offset + rng.uniform(-0.02, 0.02, shape)
    )


def small_ints(*shape, lo=-2, hi=2):
    """Integers in [lo, hi]: many exact ties, in f32 too."""
    return lambda rng: rng.integers(lo, hi + 1, shape).astype(np.float64)


def away_from(*shape, points, margin=0.05):
    """Standard normal values moved at least `margin` away from each of `points`."""

    def gen(rng):
        x = rng.standard_normal(shape)
        for p in points:
            near = np.abs(x - p) < margin
            x[near] = p + np.where(x[near] >= p, margin, -margin) * 2
        return x

    return gen


def mask(*shape):
    return lambda rng: rng.integers(0, 2, shape).astype(np.float64)


def labels(n, classes):
    return lambda rng: rng.integers(0, classes, (n,)).astype(np.float64)


# ---------------------------------------------------------------- elementwise


BINARY = {
    "add": lambda x, c: x[0] + x[1],
    "sub": lambda x, c: x[0] - x[1],
    "mul": lambda x, c: x[0] * x[1],
    "div": lambda x, c: x[0] / x[1],
    "maximum": lambda x, c: torch.maximum(x[0], x[1]),
    "minimum": lambda x, c: torch.minimum(x[0], x[1]),
}
BINARY_SHAPES = {
    "same": ((3, 4), (3, 4)),
    "bcast_rank": ((2, 3, 4), (3, 1)),
    "bcast_both": ((4, 1), (1, 5)),
    "scalar_rhs": ((2, 3), ()),
    "bcast_lhs": ((1, 4), (2, 3, 4)),
}
for op, fn in BINARY.items():
    for variant, (sa, sb) in BINARY_SHAPES.items():
        if op in ("maximum", "minimum"):
            gens = [lattice(*sa, offset=0.0), lattice(*sb, offset=0.1)]
        elif op == "div":
            gens = [normal(*sa), nonzero(*sb)]
        else:
            gens = [normal(*sa), normal(*sb)]
        case(f"{op}/{variant}", fn, gens)
    if op in ("maximum", "minimum"):
        # Exact ties: PyTorch gives each input half the gradient.
        case(f"{op}/ties", fn, [small_ints(3, 4, lo=-1, hi=1), small_ints(3, 4, lo=-1, hi=1)])

case("neg/basic", lambda x, c: -x[0], [normal(3, 4)])
case("exp/basic", lambda x, c: torch.exp(x[0]), [normal(3, 4)])
case("exp/wide", lambda x, c: torch.exp(x[0]), [normal(2, 1, 5, scale=4.0)])
case("log/basic", lambda x, c: torch.log(x[0]), [positive(3, 4)])
case("log/wide", lambda x, c: torch.log(x[0]), [log_uniform(2, 5)])
case("sqrt/basic", lambda x, c: torch.sqrt(x[0]), [positive(3, 4)])
case("sqrt/wide", lambda x, c: torch.sqrt(x[0]), [log_uniform(2, 5)])
case("abs/basic", lambda x, c: torch.abs(x[0]), [nonzero(3, 4)])
case("erf/basic", lambda x, c: torch.erf(x[0]), [normal(3, 4, scale=1.5)])
case("erf/tails", lambda x, c: torch.erf(x[0]), [nonzero(2, 4, lo=2.0, hi=4.5)])

for p, gen in [
    (2.0, normal(3, 4)),
    (3.0, normal(3, 4)),
    (4.0, normal(3, 4)),
    (1.0, normal(3, 4)),
    (0.0, normal(3, 4)),
    (0.5, positive(3, 4)),
    (-1.0, nonzero(3, 4)),
    (-1.5, positive(3, 4)),
    (2.5, positive(3, 4)),
    (-2.0, nonzero(3, 4)),
]:
    case(f"powf/p{p:g}", lambda x, c, p=p: torch.pow(x[0], p), [gen], params={"p": p})

case("add_scalar/basic", lambda x, c: x[0] + 1.5, [normal(3, 4)], params={"c": 1.5})
case("mul_scalar/basic", lambda x, c: x[0] * -0.75, [normal(3, 4)], params={"c": -0.75})
case(
    "clamp/both",
    lambda x, c: torch.clamp(x[0], -0.5, 0.8),
    [away_from(4, 5, points=[-0.5, 0.8])],
    params={"min": -0.5, "max": 0.8},
)
case(
    "clamp/min_only",
    lambda x, c: torch.clamp(x[0], min=0.2),
    [away_from(4, 5, points=[0.2])],
    params={"min": 0.2},
)
case(
    "clamp/max_only",
    lambda x, c: torch.clamp(x[0], max=-0.3),
    [away_from(4, 5, points=[-0.3])],
    params={"max": -0.3},
)

# ---------------------------------------------------------------- reductions


def reduction_cases(op, tfn, gen, variants):
    for variant, axes, keepdim, shape in variants:
        params = {"axes": axes, "keepdim": keepdim}
        case(
            f"{op}/{variant}",
            lambda x, c, axes=axes, keepdim=keepdim: tfn(x[0], axes, keepdim),
            [gen(*shape)],
            params=params,
        )


def t_sum(x, axes, k):
    return x.sum() if axes is None else torch.sum(x, dim=axes, keepdim=k)


def t_mean(x, axes, k):
    return x.mean() if axes is None else torch.mean(x, dim=axes, keepdim=k)


def t_max(x, axes, k):
    return x.amax() if axes is None else torch.amax(x, dim=axes, keepdim=k)


def t_min(x, axes, k):
    return x.amin() if axes is None else torch.amin(x, dim=axes, keepdim=k)


REDUCE_VARIANTS = [
    ("all", None, False, (3, 4, 5)),
    ("axis1", [1], False, (3, 4, 5)),
    ("axes02_keepdim", [0, 2], True, (3, 4, 5)),
    ("neg_axis_keepdim", [-1], True, (3, 4, 5)),
    ("size1_axis", [1], False, (3, 1, 4)),
    ("4d_axes13", [1, 3], False, (2, 3, 4, 5)),
    ("axes_reversed_keepdim", [2, 0], True, (3, 4, 5)),
]
reduction_cases("sum", t_sum, normal, REDUCE_VARIANTS)
reduction_cases("mean", t_mean, normal, REDUCE_VARIANTS)
reduction_cases("max", t_max, distinct, REDUCE_VARIANTS)
reduction_cases("min", t_min, distinct, REDUCE_VARIANTS)
reduction_cases(
    "max", t_max, small_ints, [("ties", [1], False, (3, 6)), ("ties_all", None, False, (2, 3))]
)
reduction_cases("min", t_min, small_ints, [("ties", [0], True, (4, 3))])
reduction_cases(
    "logsumexp",
    lambda x, axes, k: torch.logsumexp(x, dim=axes, keepdim=k),
    normal,
    [
        ("all", [0, 1, 2], False, (3, 4, 5)),
        ("axis1", [1], False, (3, 4, 5)),
        ("axes02_keepdim", [0, 2], True, (3, 4, 5)),
        ("size1_axis", [1], False, (3, 1, 4)),
        ("4d_axes13", [1, 3], False, (2, 3, 4, 5)),
    ],
)
case(
    "logsumexp/large",
    lambda x, c: torch.logsumexp(x[0], dim=[-1], keepdim=False),
    [normal(2, 5, scale=3.0, offset=500.0)],
    params={"axes": [-1], "keepdim": False},
)
for variant, axes, keepdim, corr, shape in [
    ("all_c0", [0, 1, 2], False, 0, (3, 4, 5)),
    ("axis1_c1", [1], False, 1, (3, 4, 5)),
    ("axes02_keepdim_c1", [0, 2], True, 1, (3, 4, 5)),
    ("neg_axis_keepdim_c0", [-1], True, 0, (3, 4, 5)),
    ("4d_axes13_c1", [1, 3], False, 1, (2, 3, 4, 5)),
]:
    case(
        f"variance/{variant}",
        lambda x, c, axes=axes, keepdim=keepdim, corr=corr: torch.var(
            x[0], dim=axes, correction=corr, keepdim=keepdim
        ),
        [normal(*shape)],
        params={"axes": axes, "keepdim": keepdim, "correction": corr},
    )

# ---------------------------------------------------------------- linear

case("linear/2d", lambda x, c: F.linear(x[0], x[1], x[2]), [normal(3, 4), normal(5, 4), normal(5)])
case("linear/batched", lambda x, c: F.linear(x[0], x[1], x[2]), [normal(2, 3, 4), normal(5, 4), normal(5)])
case("linear/no_bias", lambda x, c: F.linear(x[0], x[1]), [normal(3, 4), normal(5, 4)])

# ---------------------------------------------------------------- matmul

for variant, sa, sb in [
    ("2d", (3, 4), (4, 5)),
    ("outer_inner", (1, 4), (4, 1)),
    ("batched", (2, 3, 4), (2, 4, 5)),
    ("bcast_batch", (2, 1, 3, 4), (3, 4, 5)),
    ("lhs_2d", (3, 4), (2, 4, 5)),
    ("rhs_2d", (2, 3, 4), (4, 5)),
    ("rhs_batch1", (2, 3, 4), (1, 4, 5)),
    ("lhs_batch1", (1, 3, 4), (2, 4, 5)),
    ("both_bcast", (2, 1, 3, 4), (1, 3, 4, 5)),
]:
    case(f"matmul/{variant}", lambda x, c: torch.matmul(x[0], x[1]), [normal(*sa), normal(*sb)])


def t_matmul_t(ta, tb):
    return lambda x, c: torch.matmul(x[0].mT if ta else x[0], x[1].mT if tb else x[1])


# op(A): [.., 3, 4], op(B): [.., 4, 5].
for ta in (False, True):
    for tb in (False, True):
        tag = ("t" if ta else "n") + ("t" if tb else "n")
        a2, b2 = ((4, 3) if ta else (3, 4)), ((5, 4) if tb else (4, 5))
        params = {"transpose_lhs": ta, "transpose_rhs": tb}
        case(
            f"matmul_transposed/{tag}_2d",
            t_matmul_t(ta, tb),
            [normal(*a2), normal(*b2)],
            params=params,
        )
        case(
            f"matmul_transposed/{tag}_bcast_batch",
            t_matmul_t(ta, tb),
            [normal(2, 1, *a2), normal(3, *b2)],
            params=params,
        )
case(
    "matmul_transposed/nt_linear_batched",
    t_matmul_t(False, True),
    [normal(2, 3, 4), normal(5, 4)],
    params={"transpose_lhs": False, "transpose_rhs": True},
)
case(
    "matmul_transposed/nt_rhs_batch1",
    t_matmul_t(False, True),
    [normal(2, 3, 4), normal(1, 5, 4)],
    params={"transpose_lhs": False, "transpose_rhs": True},
)
case(
    "matmul_transposed/tn_rhs_2d",
    t_matmul_t(True, False),
    [normal(2, 4, 3), normal(4, 5)],
    params={"transpose_lhs": True, "transpose_rhs": False},
)

# ---------------------------------------------------------------- shape ops

case("reshape/to_2d", lambda x, c: x[0].reshape(4, 6), [normal(2, 3, 4)], params={"shape": [4, 6]})
case(
    "reshape/size1_dims",
    lambda x, c: x[0].reshape(1, 6, 1),
    [normal(6)],
    params={"shape": [1, 6, 1]},
)
case(
    "reshape_infer/minus1",
    lambda x, c: x[0].reshape(-1, 4),
    [normal(2, 3, 4)],
    params={"dims": [-1, 4]},
)
case("flatten/start1", lambda x, c: torch.flatten(x[0], 1), [normal(2, 3, 4)], params={"start": 1})
case("unsqueeze/axis1", lambda x, c: x[0].unsqueeze(1), [normal(3, 4)], params={"axis": 1})
case("squeeze/axis1", lambda x, c: x[0].squeeze(1), [normal(3, 1, 4)], params={"axis": 1})

case(
    "permute/3d",
    lambda x, c: x[0].permute(2, 0, 1),
    [normal(2, 3, 4)],
    params={"axes": [2, 0, 1]},
)
case(
    "permute/4d",
    lambda x, c: x[0].permute(1, 3, 0, 2),
    [normal(2, 3, 4, 5)],
    params={"axes": [1, 3, 0, 2]},
)
case(
    "transpose/first_last",
    lambda x, c: x[0].transpose(0, -1),
    [normal(2, 3, 4)],
    params={"a": 0, "b": -1},
)
case("transpose/2d", lambda x, c: x[0].transpose(0, 1), [normal(3, 5)], params={"a": 0, "b": 1})

for variant, shape, axis, start, length in [
    ("axis1", (3, 5), 1, 1, 3),
    ("axis0", (4, 3, 2), 0, 2, 2),
    ("neg_axis", (2, 3, 4), -1, 0, 1),
]:
    case(
        f"narrow/{variant}",
        lambda x, c, axis=axis, start=start, length=length: x[0].narrow(axis, start, length),
        [normal(*shape)],
        params={"axis": axis, "start": start, "len": length},
    )


def t_slice(x, axis, start, end, step):
    index = [slice(None)] * x.dim()
    index[axis] = slice(start, end, step)
    return x[tuple(index)]


for variant, shape, axis, start, end, step in [
    ("last_step2", (3, 7), -1, 0, 7, 2),
    ("axis0_step3", (7, 2), 0, 1, 6, 3),
    ("axis1_step1", (2, 6, 3), 1, 1, 5, 1),
]:
    case(
        f"slice/{variant}",
        lambda x, c, a=axis, s=start, e=end, st=step: t_slice(x[0], a, s, e, st),
        [normal(*shape)],
        params={"axis": axis, "start": start, "end": end, "step": step},
    )

for variant, shape, axis, idx in [
    ("axis0_repeats", (3, 2), 0, [2, 0, 2]),
    ("axis1", (3, 4, 2), 1, [3, 1]),
    ("neg_axis_repeats", (2, 3, 2), -1, [1, 1, 0]),
]:
    case(
        f"index_select/{variant}",
        lambda x, c, axis=axis, idx=idx: torch.index_select(x[0], axis, torch.tensor(idx)),
        [normal(*shape)],
        params={"axis": axis, "indices": idx},
    )

case(
    "concat/axis1",
    lambda x, c: torch.cat([x[0], x[1], x[2]], 1),
    [normal(2, 3), normal(2, 1), normal(2, 2)],
    params={"axis": 1},
)
case(
    "concat/axis0",
    lambda x, c: torch.cat([x[0], x[1]], 0),
    [normal(1, 3), normal(2, 3)],
    params={"axis": 0},
)
case(
    "concat/neg_axis_3d",
    lambda x, c: torch.cat([x[0], x[1]], -1),
    [normal(2, 3, 1), normal(2, 3, 4)],
    params={"axis": -1},
)
case(
    "concat/repeated_input",
    lambda x, c: torch.cat([x[0], x[1], x[0]], 0),
    [normal(2, 3), normal(1, 3)],
    params={"axis": 0, "pieces": [0, 1, 0]},
)
case(
    "stack/axis0",
    lambda x, c: torch.stack([x[0], x[1], x[2]], 0),
    [normal(2, 3), normal(2, 3), normal(2, 3)],
    params={"axis": 0},
)
case(
    "stack/axis1",
    lambda x, c: torch.stack([x[0], x[1]], 1),
    [normal(2, 3), normal(2, 3)],
    params={"axis": 1},
)
case(
    "stack/neg_axis",
    lambda x, c: torch.stack([x[0], x[1]], -1),
    [normal(3, 2), normal(3, 2)],
    params={"axis": -1},
)

case(
    "where/bcast_false",
    lambda x, c: torch.where(c[0] != 0, x[0], x[1]),
    [normal(3, 4), normal(4)],
    constants=[mask(3, 4)],
)
case(
    "where/bcast_cond",
    lambda x, c: torch.where(c[0] != 0, x[0], x[1]),
    [normal(1, 4), normal(3, 4)],
    constants=[mask(3, 1)],
)
case(
    "where/bcast_all",
    lambda x, c: torch.where(c[0] != 0, x[0], x[1]),
    [normal(3, 4), normal(2, 1, 4)],
    constants=[mask(2, 3, 4)],
)

for variant, src, dst in [
    ("rank_and_size1", (3, 1), (2, 3, 4)),
    ("scalar", (), (2, 3)),
    ("rank", (4,), (3, 4)),
]:
    case(
        f"broadcast_to/{variant}",
        lambda x, c, dst=dst: torch.broadcast_to(x[0], dst),
        [normal(*src)],
        params={"shape": list(dst)},
    )
for variant, src, dst in [
    ("rank_and_size1", (2, 3, 4), (3, 1)),
    ("leading_size1", (2, 3, 4), (1, 4)),
    ("scalar", (3, 4), ()),
]:
    case(
        f"sum_to/{variant}",
        lambda x, c, dst=dst: x[0].sum_to_size(dst),
        [normal(*src)],
        params={"shape": list(dst)},
    )

# ---------------------------------------------------------------- convolution, pooling

for variant, xs, ws, bias, stride, pad in [
    ("bias", (2, 3, 5, 6), (4, 3, 3, 2), True, (1, 1), (0, 0)),
    ("stride_pad", (2, 2, 7, 6), (3, 2, 3, 3), True, (2, 1), (1, 1)),
    ("no_bias_wide_pad", (1, 3, 6, 5), (2, 3, 2, 3), False, (2, 2), (2, 1)),
    ("kernel1x1", (2, 4, 3, 3), (5, 4, 1, 1), True, (1, 1), (0, 0)),
    ("single_channel", (1, 1, 5, 5), (1, 1, 3, 3), True, (1, 1), (1, 1)),
]:
    gens = [normal(*xs), normal(*ws, scale=0.5)] + ([normal(ws[0])] if bias else [])
    case(
        f"conv2d/{variant}",
        lambda x, c, stride=stride, pad=pad: F.conv2d(
            x[0], x[1], x[2] if len(x) > 2 else None, stride=stride, padding=pad
        ),
        gens,
        params={"stride": list(stride), "padding": list(pad), "bias": bias},
    )

POOL_VARIANTS = [
    ("k2_s2", (2, 3, 6, 7), (2, 2), (2, 2), (0, 0)),
    ("k3_s2_p1", (1, 2, 7, 6), (3, 3), (2, 2), (1, 1)),
    ("k3x2_s1x2_p1x0", (2, 1, 5, 6), (3, 2), (1, 2), (1, 0)),
    ("k2_s1_p1_overlap", (1, 2, 4, 5), (2, 2), (1, 1), (1, 1)),
    ("whole_input", (2, 2, 3, 3), (3, 3), (1, 1), (0, 0)),
]
for variant, xs, k, s, p in POOL_VARIANTS:
    params = {"kernel": list(k), "stride": list(s), "padding": list(p)}
    case(
        f"max_pool2d/{variant}",
        lambda x, c, k=k, s=s, p=p: F.max_pool2d(x[0], k, s, p),
        [distinct(*xs)],
        params=params,
    )
    case(
        f"avg_pool2d/{variant}",
        lambda x, c, k=k, s=s, p=p: F.avg_pool2d(x[0], k, s, p, count_include_pad=True),
        [normal(*xs)],
        params=params,
    )

for variant, xs, k, s, p in [
    ("k2x3_s1x2_p1x0", (2, 2, 4, 5), (2, 3), (1, 2), (1, 0)),
    ("k3_s2_p1", (1, 3, 5, 5), (3, 3), (2, 2), (1, 1)),
]:
    case(
        f"im2col/{variant}",
        lambda x, c, k=k, s=s, p=p: F.unfold(x[0], k, dilation=1, padding=p, stride=s),
        [normal(*xs)],
        params={"kernel": list(k), "stride": list(s), "padding": list(p)},
    )

# ---------------------------------------------------------------- composites


def mlp_loss(x, c):
    w1, b1, w2, b2 = x
    data, lab = c
    h = torch.relu(data @ w1.T + b1)
    return F.cross_entropy(h @ w2.T + b2, lab.long())


def mlp_check(x, c):
    """Pre-activations at least 1e-3 from the relu kink."""
    w1, b1, _, _ = x
    return np.abs(c[0] @ w1.T + b1).min() > 1e-3


case(
    "composite/mlp_cross_entropy",
    mlp_loss,
    [normal(6, 4, scale=0.5), normal(6, scale=0.1), normal(3, 6, scale=0.4), normal(3, scale=0.1)],
    constants=[normal(5, 4), labels(5, 3)],
    params={"layers": "relu(x W1^T + b1) W2^T + b2", "loss": "mean softmax cross-entropy"},
    check=mlp_check,
)
case(
    "composite/softmax_cross_entropy",
    lambda x, c: F.cross_entropy(x[0], c[0].long()),
    [normal(4, 5)],
    constants=[labels(4, 5)],
    params={"loss": "mean softmax cross-entropy"},
)
case(
    "composite/softmax_cross_entropy_large_logits",
    lambda x, c: F.cross_entropy(x[0], c[0].long()),
    [normal(3, 6, scale=40.0)],
    constants=[labels(3, 6)],
    params={"loss": "mean softmax cross-entropy"},
)


def conv_chain(x, c):
    wc, bc, wl, bl = x
    data, target = c
    h = F.max_pool2d(torch.relu(F.conv2d(data, wc, bc, stride=1, padding=1)), 2, 2)
    return F.mse_loss(torch.flatten(h, 1) @ wl.T + bl, target)


def conv_chain_check(x, c):
    """Conv outputs at least 1e-3 from the relu kink, and the top two of every pooling
    window at least 1e-4 apart (so f32 rounding cannot move the argmax)."""
    wc, bc, _, _ = x
    with torch.no_grad():
        pre = F.conv2d(torch.tensor(c[0]), torch.tensor(wc), torch.tensor(bc), padding=1)
    if pre.abs().min() <= 1e-3:
        return False
    r = torch.relu(pre)
    n, ch, h, w = r.shape
    win = r.reshape(n, ch, h // 2, 2, w // 2, 2).permute(0, 1, 2, 4, 3, 5).reshape(-1, 4)
    top = torch.sort(win, dim=1, descending=True).values
    # A window of zeros ties, but relu passes no gradient there, so only positive
    # maxima need a margin.
    positive = top[:, 0] > 0
    return bool(((top[:, 0] - top[:, 1])[positive] > 1e-4).all())


case(
    "composite/conv_relu_pool_linear_mse",
    conv_chain,
    [
        normal(3, 2, 3, 3, scale=0.4),
        normal(3, scale=0.1),
        normal(4, 27, scale=0.2),
        normal(4, scale=0.1),
    ],
    constants=[normal(2, 2, 6, 6), normal(2, 4)],
    params={
        "layers": "conv2d(3x3, stride 1, pad 1) + relu + max_pool2d(2, 2) + flatten + linear",
        "loss": "mean squared error",
    },
    check=conv_chain_check,
)

# ---------------------------------------------------------------- evaluation


def array(a):
    a = np.asarray(a, dtype=np.float64)
    return {"shape": list(a.shape), "data": [float(v) for v in a.reshape(-1)]}


def tensor_array(t):
    return array(t.detach().to(torch.float64).numpy(force=True))


def evaluate(fn, inputs, constants, cotangent, direction, dtype):
    xs = [torch.tensor(a, dtype=dtype, requires_grad=True) for a in inputs]
    cs = [torch.tensor(a, dtype=dtype) for a in constants]
    out = fn(xs, cs)
    cot = torch.tensor(cotangent, dtype=dtype)
    second = direction is not None
    grads = torch.autograd.grad(out, xs, cot, create_graph=second, allow_unused=True)
    grads = [torch.zeros_like(x) if g is None else g for x, g in zip(xs, grads)]
    result = {"out": tensor_array(out), "grads": [tensor_array(g) for g in grads]}
    if second:
        v = [torch.tensor(d, dtype=dtype) for d in direction]
        s = sum((g * d).sum() for g, d in zip(grads, v))
        if s.requires_grad:
            hvp = torch.autograd.grad(s, xs, allow_unused=True)
            hvp = [torch.zeros_like(x) if h is None else h for x, h in zip(xs, hvp)]
        else:
            hvp = [torch.zeros_like(x) for x in xs]
        result["hvp"] = [tensor_array(h) for h in hvp]
    return result


def generate(c):
    rng = np.random.default_rng(zlib.crc32(c["name"].encode()))
    for _ in range(100):
        inputs = [np.asarray(g(rng), dtype=np.float64) for g in c["inputs"]]
        constants = [np.asarray(g(rng), dtype=np.float64) for g in c["constants"]]
        if c["check"] is None or c["check"](inputs, constants):
            break
    else:
        raise RuntimeError(f"{c['name']}: no draw passed the check")
    with torch.no_grad():
        out = c["fn"]([torch.tensor(a) for a in inputs], [torch.tensor(a) for a in constants])
    scalar_loss = c["name"].startswith("composite/")
    cotangent = np.ones(()) if scalar_loss else rng.standard_normal(tuple(out.shape))
    direction = [rng.standard_normal(a.shape) for a in inputs]
    # f32 sees the same numbers rounded to nearest f32.
    r32 = lambda arrays: [a.astype(np.float32) for a in arrays]  # noqa: E731
    f64 = evaluate(c["fn"], inputs, constants, cotangent, direction, torch.float64)
    f32 = evaluate(
        c["fn"], r32(inputs), r32(constants), cotangent.astype(np.float32), None, torch.float32
    )
    return {
        "name": c["name"],
        "op": c["name"].split("/")[0],
        "params": c["params"],
        "inputs": [array(a) for a in inputs],
        "constants": [array(a) for a in constants],
        "cotangent": array(cotangent),
        "direction": [array(d) for d in direction],
        "f64": f64,
        "f32": f32,
    }


def main():
    torch.set_num_threads(1)  # the summation order of a reduction is then fixed
    names = [c["name"] for c in CASES]
    assert len(names) == len(set(names)), "duplicate case names"
    cases = [generate(c) for c in CASES]
    head = {
        "generator": "crates/autograd/tests/golden/gen_ops.py",
        "torch": torch.__version__,
        "numpy": np.__version__,
    }
    body = ",\n".join(json.dumps(c, separators=(",", ":")) for c in cases)
    text = json.dumps(head)[:-1] + ', "cases": [\n' + body + "\n]}\n"
    OUT.write_text(text)
    print(f"wrote {len(cases)} cases to {OUT} ({len(text) / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
