#!/usr/bin/env python3
"""Golden values for every activation: value, first and second derivative.

Writes `activations.json` beside this file, read by `tests/golden_activations.rs`
(the Rust test suite never runs Python).

Run from the repository root with a Python that has torch, mpmath and jax:

    /work/main/.venv/bin/python crates/autograd/tests/golden/gen_activations.py

Generated with torch 2.15.0 (CPU), mpmath 1.3.0, jax 0.10.2, numpy 2.4.6; about 15 s.

References
----------
Pointwise activations. For each activation (the name strings of `Activation::all()`,
with parameter variants) and each point x of a grid (the issue's 13 points, corners of
the piecewise functions, points whose products are inexact in binary, and the ranges
where float32 saturates or underflows), PyTorch in float64 gives the value f(x) (the
functional in `torch` / `torch.nn.functional`), the first derivative (`autograd.grad`
of the sum, `create_graph=True`) and the second derivative (`grad` of the sum of that).

Every number is cross-checked against mpmath at 400 significant digits (the value from
the closed form, the derivatives by `mpmath.diff` of the closed form, or of the branch
PyTorch picks at a kink; PyTorch's conventions at kinks are followed exactly, including
elu''(0) = 0 and hardswish'(-3) = 0, hardswish'(3) = 1). Where PyTorch is not accurate
to 1e-13 relative at some grid point, mpmath's value, rounded to float64, is written for
that activation and order instead. The script knows in advance where that happens
(`TORCH_INACCURATE` below) and stops if the measured set differs, so this list stays
true for the torch version named above:

- sigmoid f', f'': `sigmoid_backward` computes y (1 - y), which cancels once y is
  close to 1 (relative error 3.6e-8 at x = 20, 0 instead of 1.9e-22 at x = 50).
- tanh f', f'': `tanh_backward` computes 1 - y^2 (0 for |x| >= 19.1 in float64).
- softplus value, f', f'' (beta 1 and 2): PyTorch returns x where beta x > 20
  (threshold=20), an approximation with relative error about e^-20 / (beta x).
- gelu value, f': 0.5 x (1 + erf(x / sqrt 2)) cancels in the left tail (0 at x = -20);
  f'': relative error 1e-9 next to its root x = sqrt 2.
- gelu_tanh value, f', f'': 1 + tanh(u) cancels in the left tail (0 at x = -10), and
  1 - tanh(u)^2 in both.
- silu, swish (beta 1 and 1.5), log_sigmoid f'': the double backward cancels for
  x > 6 (0 instead of -4e-18 for log_sigmoid at x = 40).
- mish f'': the double backward cancels for x > 4 and is nan at x = 1e4.
- softsign f'': the composite x / (1 + |x|) is off by 1e-13 relative at |x| = 1e4.
- hardsigmoid f': PyTorch's float64 slope is float32(1/6) = 0.1666666716337204.
  (Its second derivative is not implemented in PyTorch: "derivative for
  aten::hardsigmoid_backward is not implemented"; it is 0, as mpmath confirms.)

The reference used for each activation and order is recorded in the JSON
("reference": {"value": "torch" | "mpmath", "d1": ..., "d2": ...}).

Float32. For x32 = float32(x) the JSON holds (a) the float64 reference evaluated at
x32 (the truth against which the engine's float32 results are measured, in units of
the float32 ulp of that truth) and (b) PyTorch's own float32 result ("torch_f32"), for
information only.

Softmax and log_softmax. Two seeded [2, 3, 4] float64 tensors (standard normal, and
30 * normal + 1000, nearly one-hot along every axis, which also exercises the shift by
the maximum); for each axis: the values, the VJP with a seeded cotangent c (gradient of
sum(c * y)), and the Hessian-vector product with a seeded direction v (gradient of
sum(v * vjp)). The reference is exact (mpmath closed forms, see `mp_vector`): where the
VJP and HVP cancel, PyTorch's and JAX's float64 results carry absolute errors of a few
1e-16, more than 1e-12 relative for the smallest components. Both are checked against
it to 1e-12 relative or 2e-15 absolute. The float32 block is the same at float32(x),
float32(c), float32(v).

Non-finite numbers are written as the strings "inf", "-inf" and "nan".
"""

import json
import math
import os
import sys

import mpmath
import numpy as np
import torch
import torch.nn.functional as F

mp = mpmath.mp
mp.dps = 400

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "activations.json")

# The issue's grid.
ISSUE_GRID = [-1e4, -1000.0, -50.0, -20.0, -1.0, -1e-3, 0.0, 1e-3, 1.0, 20.0, 50.0, 1000.0, 1e4]
# Corners of the piecewise functions (+-1, +-3, 6), points whose squares and products
# are not exact in binary (-7.3, 4.7, ...), and the ranges where float32 saturates or
# underflows (|x| around 9, 17, 88-104).
COMMON_EXTRA = [
    -104.0, -100.0, -95.0, -90.0, -88.5, -87.5, -30.0, -17.0, -10.0, -9.1, -7.3, -6.0, -5.0, -4.1, -3.0,
    -2.5, -1.7, -0.5, -0.1, 0.1, 0.5, 1.3, 2.0, 3.0, 4.7, 6.0, 6.5, 7.9, 9.1, 10.0,
    17.0, 30.0, 100.0,
]
# Per-function corners beyond the common ones.
EXTRA = {
    # The left tail: the density split from x^2 > 128, float32 subnormal from -13.2,
    # float64 subnormal from -37.5; sqrt 2 is the root of f''.
    "gelu": [-37.9, -37.5, -26.3, -14.4, -14.1, -13.7, -13.3, -12.0, -11.4, -11.2, -9.3,
             -8.1, 11.4, math.sqrt(2.0)],
    # float32 subnormal results from about -10.1.
    "gelu_tanh": [-12.0, -10.5, -10.3, -10.1, -8.1, -2.9],
    "softplus:1.0": [15.0, 19.5, 20.5, 25.0],
    "softplus:2.0": [7.5, 9.5, 10.5, 12.5],
    # f'' ~ -8 x e^(-2x) is subnormal in float32 from x = 44.
    "mish": [-15.0, -12.0, 12.0, 15.0, 44.0, 47.0, 60.0],
    "swish:1.5": [-60.1, -11.3],
    "log_sigmoid": [-40.0, 40.0],
}


def grid_for(spec):
    pts = set(ISSUE_GRID) | set(COMMON_EXTRA) | set(EXTRA.get(spec, []))
    return sorted(pts)


# ---------------------------------------------------------------------------------------
# PyTorch functions, by spec string (the Rust `Activation` names).


def torch_fn(spec):
    name, _, param = spec.partition(":")
    p = float(param) if param else None
    return {
        "identity": lambda x: x * 1,
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "relu": torch.relu,
        "leaky_relu": lambda x: F.leaky_relu(x, p),
        "prelu": lambda x: F.prelu(x, torch.tensor([p], dtype=x.dtype)),
        "elu": lambda x: F.elu(x, p),
        "selu": torch.selu,
        "celu": lambda x: F.celu(x, p),
        "gelu": lambda x: F.gelu(x),
        "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
        "silu": F.silu,
        # PyTorch has no swish with a beta.
        "swish": lambda x: x * torch.sigmoid(p * x),
        "mish": F.mish,
        "softplus": lambda x: F.softplus(x, beta=p),
        "softsign": F.softsign,
        "hardtanh": F.hardtanh,
        "hardsigmoid": F.hardsigmoid,
        "hardswish": F.hardswish,
        "log_sigmoid": F.logsigmoid,
        "relu6": F.relu6,
    }[name]


def torch_derivatives(spec, xs, dtype):
    x = torch.tensor(xs, dtype=dtype, requires_grad=True)
    y = torch_fn(spec)(x)
    (d1,) = torch.autograd.grad(y.sum(), x, create_graph=True)
    if spec == "hardsigmoid":
        # PyTorch implements no derivative of hardsigmoid_backward ("derivative for
        # aten::hardsigmoid_backward is not implemented"); f'' is 0 (f is piecewise
        # linear), which the mpmath cross-check confirms.
        d2 = torch.zeros_like(x)
    elif d1.requires_grad:
        (d2,) = torch.autograd.grad(d1.sum(), x, allow_unused=True)
        d2 = torch.zeros_like(x) if d2 is None else d2
    else:
        # The first derivative is piecewise constant (relu, hardtanh, ...): PyTorch
        # records no graph for it.
        d2 = torch.zeros_like(x)
    return [t.detach().double().tolist() for t in (y, d1, d2)]


# ---------------------------------------------------------------------------------------
# mpmath: closed forms at 400 digits. `branch(spec, x)` returns the analytic piece whose
# value and derivatives PyTorch reports at x (at a kink, the one its backward picks).

SELU_ALPHA = mpmath.mpf("1.6732632423543772848170429916717")
SELU_LAMBDA = mpmath.mpf("1.0507009873554804934193349852946")
SQRT_2_OVER_PI = mpmath.sqrt(2 / mpmath.pi)


def logistic(z):
    return 1 / (1 + mpmath.exp(-z))


def softplus_mp(z):
    # ln(1 + e^z), accurate for every z.
    return mpmath.log1p(mpmath.exp(z)) if z < 0 else z + mpmath.log1p(mpmath.exp(-z))


def const(c):
    return lambda x: mpmath.mpf(c) + 0 * x


def branch(spec, x):
    name, _, param = spec.partition(":")
    p = mpmath.mpf(param) if param else None
    if name == "identity":
        return lambda t: t
    if name == "sigmoid":
        return logistic
    if name == "tanh":
        return mpmath.tanh
    if name == "relu":
        return (lambda t: t) if x > 0 else const(0)
    if name in ("leaky_relu", "prelu"):
        return (lambda t: t) if x > 0 else (lambda t: p * t)
    if name == "elu":
        return (lambda t: t) if x > 0 else (lambda t: p * mpmath.expm1(t))
    if name == "selu":
        return (lambda t: SELU_LAMBDA * t) if x > 0 else (
            lambda t: SELU_LAMBDA * SELU_ALPHA * mpmath.expm1(t))
    if name == "celu":
        return (lambda t: t) if x > 0 else (lambda t: p * mpmath.expm1(t / p))
    if name == "gelu":
        return lambda t: t * mpmath.ncdf(t)
    if name == "gelu_tanh":
        # x (1 + tanh u) / 2 = x sigma(2u)
        c = mpmath.mpf("0.044715")
        return lambda t: t * logistic(2 * SQRT_2_OVER_PI * (t + c * t**3))
    if name == "silu":
        return lambda t: t * logistic(t)
    if name == "swish":
        return lambda t: t * logistic(p * t)
    if name == "mish":
        return lambda t: t * mpmath.tanh(softplus_mp(t))
    if name == "softplus":
        return lambda t: softplus_mp(p * t) / p
    if name == "softsign":
        return (lambda t: t / (1 + t)) if x > 0 else (lambda t: t / (1 - t))
    if name == "log_sigmoid":
        return lambda t: -softplus_mp(-t)
    raise KeyError(name)


def piecewise_linear(spec, x):
    """Value, f', f'' of the piecewise-linear activations with PyTorch's conventions at
    the corners (see each Rust file)."""
    x = mpmath.mpf(x)
    if spec == "hardtanh":
        return (max(-1, min(1, x)), 1 if -1 < x < 1 else 0, 0)
    if spec == "relu6":
        return (max(0, min(6, x)), 1 if 0 < x < 6 else 0, 0)
    if spec == "hardsigmoid":
        v = 0 if x <= -3 else (1 if x >= 3 else x / 6 + mpmath.mpf(1) / 2)
        return (v, mpmath.mpf(1) / 6 if -3 < x < 3 else 0, 0)
    if spec == "hardswish":
        v = 0 if x <= -3 else (x if x >= 3 else x * (x + 3) / 6)
        # PyTorch >= 2.7 (pull request 148049): 0 at -3 and 1 at 3, the outer branches.
        d1 = 0 if x <= -3 else (x / 3 + mpmath.mpf(1) / 2 if x < 3 else 1)
        return (v, d1, mpmath.mpf(1) / 3 if -3 < x < 3 else 0)
    return None


def mp_derivatives(spec, x):
    pl = piecewise_linear(spec, x)
    if pl is not None:
        return [float(mpmath.mpf(v)) for v in pl]
    xm = mpmath.mpf(x)
    g = branch(spec, x)
    v = g(xm)
    d1 = mpmath.diff(g, xm, 1)
    d2 = mpmath.diff(g, xm, 2)
    name = spec.partition(":")[0]
    if x == 0 and name in ("elu", "selu", "celu", "softsign"):
        # PyTorch's second derivatives at the kink: elu_double_backward multiplies by
        # the mask x < 0 (celu and selu are elu with other scales), so f''(0) = 0 while
        # f'(0) takes the left branch; softsign differentiates |x| with sign(0) = 0.
        d2 = 0
    return [float(t) for t in (v, d1, d2)]


# ---------------------------------------------------------------------------------------
# Which (activation, order) pairs take mpmath's value, and why. Checked against the
# measurement below.

TORCH_INACCURATE = {
    ("sigmoid", "d1"): "sigmoid_backward computes y (1 - y): cancels as y -> 1",
    ("sigmoid", "d2"): "differentiates y (1 - y): cancels as y -> 1",
    ("tanh", "d1"): "tanh_backward computes 1 - y^2: 0 once y rounds to +-1",
    ("tanh", "d2"): "differentiates 1 - y^2: 0 once y rounds to +-1",
    ("softplus:1.0", "value"): "threshold=20: returns x where beta x > 20",
    ("softplus:1.0", "d1"): "threshold=20: slope 1 where beta x > 20",
    ("softplus:1.0", "d2"): "threshold=20: curvature 0 where beta x > 20",
    ("softplus:2.0", "value"): "threshold=20: returns x where beta x > 20",
    ("softplus:2.0", "d1"): "threshold=20: slope 1 where beta x > 20",
    ("softplus:2.0", "d2"): "threshold=20: curvature 0 where beta x > 20",
    ("gelu", "value"): "0.5 x (1 + erf(x / sqrt 2)) cancels in the left tail (0 at x = -20)",
    ("gelu", "d1"): "Phi(x) = 0.5 (1 + erf(..)) cancels in the left tail",
    ("gelu", "d2"): "relative error 1e-9 at x = sqrt 2, where f'' has its root",
    ("gelu_tanh", "value"): "0.5 x (1 + tanh u) cancels in the left tail (0 at x = -10)",
    ("gelu_tanh", "d1"): "1 + tanh u cancels in the left tail",
    ("gelu_tanh", "d2"): "1 + tanh u and 1 - tanh^2 u cancel in both tails",
    ("silu", "d2"): "the double backward of silu cancels for x > 7 (0 at x = 100)",
    ("swish:1.0", "d2"): "differentiates x sigmoid(x) through y (1 - y): cancels",
    ("swish:1.5", "d2"): "differentiates x sigmoid(beta x) through y (1 - y): cancels",
    ("mish", "d2"): "the double backward of mish cancels for x > 4 (nan at x = 1e4)",
    ("softsign", "d2"): "composite x / (1 + |x|): relative error 1e-13 at |x| = 1e4",
    ("hardsigmoid", "d1"): "float64 slope is float32(1/6) = 0.1666666716337204",
    ("log_sigmoid", "d2"): "log_sigmoid_double_backward cancels for x > 7 (0 at x = 40)",
}

ORDERS = ("value", "d1", "d2")


def agree(t, m):
    # 1e-13 relative; below 1e-300 (float64's subnormal range) an absolute 1e-320.
    if isinstance(t, float) and math.isnan(t):
        return False
    return abs(t - m) <= max(1e-13 * abs(m), 1e-320)


def references(spec, xs):
    """Float64 reference at each x: per order, torch's value where it is accurate,
    else mpmath's. Returns (values per order, reference name per order, points
    where torch disagrees per order)."""
    tv = torch_derivatives(spec, xs, torch.float64)
    mv = [mp_derivatives(spec, x) for x in xs]
    out, used, bad = {}, {}, {}
    for k, order in enumerate(ORDERS):
        t = tv[k]
        m = [row[k] for row in mv]
        off = [x for x, a, b in zip(xs, t, m) if not agree(a, b)]
        bad[order] = off
        if off:
            out[order], used[order] = m, "mpmath"
        else:
            out[order], used[order] = t, "torch"
    return out, used, bad


def enc(v):
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def encl(vs):
    return [enc(float(v)) for v in vs]


SPECS = [
    "identity", "sigmoid", "tanh", "relu", "leaky_relu:0.01", "leaky_relu:0.2",
    "prelu:0.25", "elu:1.0", "elu:0.5", "selu", "celu:1.0", "celu:2.0", "gelu",
    "gelu_tanh", "silu", "swish:1.0", "swish:1.5", "mish", "softplus:1.0",
    "softplus:2.0", "softsign", "hardtanh", "hardsigmoid", "hardswish", "log_sigmoid",
    "relu6",
]


def pointwise_cases():
    cases, inaccurate = [], {}
    for spec in SPECS:
        xs = grid_for(spec)
        ref64, used, bad = references(spec, xs)
        # float32: the same reference, evaluated at x32 = float32(x).
        x32 = sorted(set(float(np.float32(x)) for x in xs))
        ref32, used32, bad32 = references(spec, x32)
        torch32 = torch_derivatives(spec, x32, torch.float32)
        for order in ORDERS:
            pts = sorted(set(bad[order]) | set(bad32[order]))
            if pts:
                inaccurate[(spec, order)] = pts
            # One reference per activation and order, for both dtypes.
            if used[order] != used32[order]:
                ref64[order] = [mp_derivatives(spec, x)[ORDERS.index(order)] for x in xs]
                ref32[order] = [mp_derivatives(spec, x)[ORDERS.index(order)] for x in x32]
                used[order] = "mpmath"
        print(f"{spec:>16}: " + ", ".join(f"{o} {used[o]}" for o in ORDERS), file=sys.stderr)
        cases.append({
            "activation": spec,
            "reference": used,
            "f64": {"x": encl(xs), **{o: encl(ref64[o]) for o in ORDERS}},
            "f32": {
                "x": encl(x32),
                **{o: encl(ref32[o]) for o in ORDERS},
                "torch_f32": {o: encl(torch32[k]) for k, o in enumerate(ORDERS)},
            },
        })
    return cases, inaccurate


# ---------------------------------------------------------------------------------------
# Softmax and log-softmax.


def mp_vector(name, x, axis, cot, direction):
    """Exact value, VJP and HVP (mpmath, closed forms), as float64 arrays.

    With p = softmax(x) along the axis and J(a) = p * (a - <a, p>) (the action of the
    softmax Jacobian, which is symmetric):
    softmax:     y = p, vjp = J(c), hvp = J(v * c) - J(v) <c, p> - J(c) <v, p>;
    log_softmax: y = x - lse(x), vjp = c - p sum(c), hvp = -sum(c) J(v).
    """
    mp_arr = np.vectorize(mpmath.mpf, otypes=[object])
    x, c, v = mp_arr(x), mp_arr(cot), mp_arr(direction)
    y = np.empty(x.shape, dtype=object)
    g = np.empty(x.shape, dtype=object)
    h = np.empty(x.shape, dtype=object)
    other = [a for a in range(3) if a != axis]
    for i in range(x.shape[other[0]]):
        for j in range(x.shape[other[1]]):
            idx = [slice(None)] * 3
            idx[other[0]], idx[other[1]] = i, j
            idx = tuple(idx)
            xs, cs, vs = list(x[idx]), list(c[idx]), list(v[idx])
            m = max(xs)
            e = [mpmath.exp(t - m) for t in xs]
            z = mpmath.fsum(e)
            p = [t / z for t in e]

            def dot(a, b):
                return mpmath.fsum(s * t for s, t in zip(a, b))

            def jac(a):
                ap = dot(a, p)
                return [pk * (ak - ap) for pk, ak in zip(p, a)]

            if name == "softmax":
                yv = p
                gv = jac(cs)
                vc = [s * t for s, t in zip(vs, cs)]
                cp, vp = dot(cs, p), dot(vs, p)
                hv = [a - b * cp - d * vp for a, b, d in zip(jac(vc), jac(vs), jac(cs))]
            else:
                lse = m + mpmath.log(z)
                yv = [t - lse for t in xs]
                sc = mpmath.fsum(cs)
                gv = [ck - pk * sc for ck, pk in zip(cs, p)]
                hv = [-sc * t for t in jac(vs)]
            y[idx], g[idx], h[idx] = yv, gv, hv
    as_f64 = np.vectorize(float, otypes=[np.float64])
    return as_f64(y), as_f64(g), as_f64(h)


def torch_vector(name, x, axis, cot, direction, dtype):
    fn = torch.softmax if name == "softmax" else torch.log_softmax
    t = torch.tensor(x, dtype=dtype, requires_grad=True)
    c = torch.tensor(cot, dtype=dtype)
    v = torch.tensor(direction, dtype=dtype)
    y = fn(t, axis)
    (g,) = torch.autograd.grad((y * c).sum(), t, create_graph=True)
    (h,) = torch.autograd.grad((g * v).sum(), t)
    return [a.detach().double().numpy() for a in (y, g, h)]


def vector_cases():
    """Softmax and log_softmax along each axis. The reference is exact (mpmath): where
    the VJP and HVP cancel (gradients sum to zero along the axis), PyTorch's and JAX's
    float64 results carry absolute errors of a few 1e-16, which for the smallest
    components is far more than 1e-12 relative. PyTorch and JAX are checked against it
    to 1e-12 relative or 2e-15 absolute."""
    rng = np.random.default_rng(20240611)
    shape = (2, 3, 4)
    inputs = {
        "normal": rng.standard_normal(shape),
        "shifted": 30 * rng.standard_normal(shape) + 1000,
    }
    cot = rng.standard_normal(shape)
    direction = rng.standard_normal(shape)
    f32 = lambda a: a.astype(np.float32).astype(np.float64)  # noqa: E731
    cases = []
    for label, x in inputs.items():
        for name in ("softmax", "log_softmax"):
            for axis in range(3):
                ref = mp_vector(name, x, axis, cot, direction)
                for other in (torch_vector(name, x, axis, cot, direction, torch.float64),
                              jax_vector(name, x, axis, cot, direction)):
                    for a, b in zip(other, ref):
                        if not np.all(np.abs(a - b) <= np.maximum(1e-12 * np.abs(b), 2e-15)):
                            raise SystemExit(f"{name}:{axis} {label}: torch or jax is off")
                x32, c32, v32 = f32(x), f32(cot), f32(direction)
                ref32 = mp_vector(name, x32, axis, c32, v32)
                torch32 = torch_vector(name, x32, axis, c32, v32, torch.float32)
                cases.append({
                    "activation": f"{name}:{axis}",
                    "input": label,
                    "shape": list(shape),
                    "f64": {
                        "x": encl(x.ravel()),
                        "cotangent": encl(cot.ravel()),
                        "direction": encl(direction.ravel()),
                        **{k: encl(r.ravel()) for k, r in zip(VECTOR_ORDERS, ref)},
                    },
                    "f32": {
                        "x": encl(x32.ravel()),
                        "cotangent": encl(c32.ravel()),
                        "direction": encl(v32.ravel()),
                        **{k: encl(r.ravel()) for k, r in zip(VECTOR_ORDERS, ref32)},
                        "torch_f32": {k: encl(r.ravel()) for k, r in zip(VECTOR_ORDERS, torch32)},
                    },
                })
    return cases


VECTOR_ORDERS = ("value", "vjp", "hvp")


def jax_version():
    import jax

    return jax.__version__


def jax_vector(name, x, axis, cot, direction):
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    fn = jax.nn.softmax if name == "softmax" else jax.nn.log_softmax

    def f(t):
        return fn(t, axis=axis)

    def vjp(t):
        return jax.vjp(f, t)[1](jnp.asarray(cot))[0]

    y = f(jnp.asarray(x))
    g = vjp(jnp.asarray(x))
    h = jax.grad(lambda t: jnp.sum(vjp(t) * direction))(jnp.asarray(x))
    return np.asarray(y), np.asarray(g), np.asarray(h)


# ---------------------------------------------------------------------------------------


def write(doc):
    # Compact but readable: one array per line.
    lines = ["{"]
    lines.append(f'  "generator": {json.dumps(doc["generator"])},')
    lines.append(f'  "versions": {json.dumps(doc["versions"])},')
    lines.append('  "pointwise": [')
    for i, c in enumerate(doc["pointwise"]):
        lines.append("    {")
        lines.append(f'      "activation": {json.dumps(c["activation"])},')
        lines.append(f'      "reference": {json.dumps(c["reference"])},')
        for dt in ("f64", "f32"):
            lines.append(f'      "{dt}": {{')
            keys = ["x", *ORDERS]
            for k in keys:
                lines.append(f'        "{k}": {json.dumps(c[dt][k])},')
            if dt == "f32":
                lines.append(f'        "torch_f32": {{')
                lines.append(",\n".join(
                    f'          "{o}": {json.dumps(c[dt]["torch_f32"][o])}' for o in ORDERS))
                lines.append("        }")
            else:
                lines[-1] = lines[-1].rstrip(",")
            lines.append("      }" + ("," if dt == "f64" else ""))
        lines.append("    }" + ("," if i + 1 < len(doc["pointwise"]) else ""))
    lines.append("  ],")
    lines.append('  "vector": [')
    for i, c in enumerate(doc["vector"]):
        lines.append("    {")
        for k in ("activation", "input", "shape"):
            lines.append(f'      "{k}": {json.dumps(c[k])},')
        for dt in ("f64", "f32"):
            lines.append(f'      "{dt}": {{')
            body = [f'        "{k}": {json.dumps(v)}' for k, v in c[dt].items() if k != "torch_f32"]
            if "torch_f32" in c[dt]:
                inner = ",\n".join(f'          "{k}": {json.dumps(v)}'
                                   for k, v in c[dt]["torch_f32"].items())
                body.append('        "torch_f32": {\n' + inner + "\n        }")
            lines.append(",\n".join(body))
            lines.append("      }" + ("," if dt == "f64" else ""))
        lines.append("    }" + ("," if i + 1 < len(doc["vector"]) else ""))
    lines.append("  ]")
    lines.append("}")
    text = "\n".join(lines) + "\n"
    json.loads(text)  # well-formed
    with open(OUT, "w") as f:
        f.write(text)


def main():
    pointwise, inaccurate = pointwise_cases()
    print("\nwhere torch float64 is not accurate to 1e-13 (mpmath used):", file=sys.stderr)
    for (spec, order), pts in inaccurate.items():
        print(f"  {spec} {order}: x = {pts}", file=sys.stderr)
    documented = set(TORCH_INACCURATE)
    measured = set(inaccurate)
    if documented != measured:
        print(f"\nundocumented: {sorted(measured - documented)}", file=sys.stderr)
        print(f"documented but accurate: {sorted(documented - measured)}", file=sys.stderr)
        raise SystemExit("update TORCH_INACCURATE and the docstring")
    doc = {
        "generator": "crates/autograd/tests/golden/gen_activations.py",
        "versions": {
            "torch": torch.__version__,
            "mpmath": mpmath.__version__,
            "jax": jax_version(),
            "numpy": np.__version__,
        },
        "pointwise": pointwise,
        "vector": vector_cases(),
    }
    write(doc)
    print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
