#!/usr/bin/env python3
"""One table of gradflow beside its peers, from the results that benches/compare.sh collects.

usage: compare_table.py PEERS_JSON [RSS_JSON]

PEERS_JSON is run_peers.py's output (gradflow is the "extra" job); RSS_JSON, optional, holds
the peak resident set sizes of one W1 process per system ({"gradflow": KiB, "torch": KiB}).
Cells are medians over every repetition of every pass. "ratio" is gradflow's time over
PyTorch's (for W5, PyTorch's GFLOP/s over gradflow's): below 1 gradflow is faster. The
targets are those of the performance issue (docs/performance.md).
"""
import json
import sys

args = sys.argv[1:]
if not args:
    sys.exit(__doc__)
data = json.load(open(args[0]))
results = data["results"]
rss = json.load(open(args[1])) if len(args) > 1 else {}
meta = data.get("meta", {})


def find(system, workload, prefix, t):
    for r in results:
        if (r["system"], r["workload"], r["threads"]) == (system, workload, t) and r["variant"].startswith(prefix):
            return r
    return None


def med(system, workload, prefix, t):
    r = find(system, workload, prefix, t)
    return None if r is None else r["median"]


def fmt(v):
    if v is None:
        return "—"
    if v >= 1000:
        return f"{v:,.0f}"
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


ACTS = ["sigmoid", "tanh", "relu", "leaky_relu", "silu", "gelu_tanh", "softplus", "elu"]
ROWS = [("W1 mlp train step", "mlp", "train_step", "µs/step")]
ROWS += [("W2 deep train step", "deep", "train_step", "µs/step")]
ROWS += [(f"W3 {a}", "act", a, "ns/elem") for a in ACTS]
ROWS += [("W4 10k-op chain", "tiny", "chain10k", "ns/op"), ("W5 matmul 1024", "matmul", "1024", "GFLOP/s")]


def gemm_flops(sizes, batch):
    """FLOPs of the matrix products of one training step of an MLP: forward 2 B sum(in out),
    dW as much again, dX as much again except for the first layer (its input needs none)."""
    fwd = 2 * batch * sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    return 3 * fwd - 2 * batch * sizes[0] * sizes[1]


STEP_FLOPS = {"mlp": gemm_flops([784, 256, 256, 256, 10], 64),
              "deep": gemm_flops([32] + [64] * 20 + [10], 32)}


def limit(workload, t):
    if workload in STEP_FLOPS:
        peak = med("limits", "fma_peak", "avx512", t) or med("limits", "fma_peak", "avx2", t)
        if peak is None:
            return None
        floor_us = STEP_FLOPS[workload] / (peak * 1e3)
        return (f"{floor_us:.0f} (GEMM FLOPs at FMA peak)", floor_us)
    if workload == "act":
        gb = med("limits", "relu_fwd_bwd_5stream", "f32_2^22", t)
        return None if gb is None else (f"{20.0 / gb:.2f} (5-stream relu floor)", 20.0 / gb)
    if workload == "matmul":
        peak = med("limits", "fma_peak", "avx512", t) or med("limits", "fma_peak", "avx2", t)
        g = med("limits", "gemm_crate", "sgemm_1024", t)
        if peak is None:
            return None
        return (f"{peak:.0f} FMA peak; gemm crate {fmt(g)}", peak)
    return None


def target(label, workload, t, gf, torch, jax, candle, lim):
    """(text, met) for the issue's target of this row, or None."""
    if gf is None:
        return None
    faster = (lambda a, b: a >= b) if workload == "matmul" else (lambda a, b: a <= b)
    checks = []
    if workload == "mlp" and torch:
        checks.append(("<= 0.6x torch", gf <= 0.6 * torch))
    if workload == "deep" and torch:
        checks.append(("<= 0.25x torch", gf <= 0.25 * torch))
        if jax:
            checks.append(("<= 1.5x jax", gf <= 1.5 * jax))
    if workload == "act" and torch:
        checks.append(("<= torch", gf <= torch))
    if workload == "tiny":
        checks.append(("<= 200 ns", gf <= 200))
    if workload == "matmul":
        if torch:
            checks.append((">= torch", gf >= torch))
        if lim:
            checks.append((">= 75% peak", gf >= 0.75 * lim[1]))
    if candle:
        checks.append(("beats candle", faster(gf, candle)))
    return "; ".join(f"{name} {'✓' if ok else '✗'}" for name, ok in checks)


threads = sorted({r["threads"] for r in results if r["system"] == "gradflow"}, reverse=True)
print(f"Run of {meta.get('date', '?')} on {meta.get('host_cpu', '?')}, {meta.get('nproc', '?')} cores; "
      "medians over all repetitions; ratio = gradflow time / PyTorch time (< 1: gradflow faster).\n")
for t in threads:
    print(f"### {t} thread{'s' if t > 1 else ''}\n")
    print("| workload | unit | gradflow | PyTorch | JAX (jit) | candle | ratio to PyTorch | machine limit | targets |")
    print("|---|---|---:|---:|---:|---:|---:|---|---|")
    for label, w, v, unit in ROWS:
        gf, torch, jax, candle = (med(s, w, v, t) for s in ("gradflow", "torch", "jax", "candle"))
        ratio = None
        if gf and torch:
            ratio = torch / gf if w == "matmul" else gf / torch
        lim = limit(w, t)
        tgt = target(label, w, t, gf, torch, jax, candle, lim)
        print(f"| {label} | {unit} | {fmt(gf)} | {fmt(torch)} | {fmt(jax)} | {fmt(candle)} | "
              f"{'—' if ratio is None else f'{ratio:.2f}'} | {lim[0] if lim else ''} | {tgt or ''} |")
    for act in ("tanh", "relu"):
        u = med("gradflow", "study", f"train_step_unprobed_{act}", t)
        p = med("gradflow", "study", f"train_step_probed_{act}", t)
        if u and p:
            print(f"| study step, {act} (unprobed / probed) | µs/step | {fmt(u)} / {fmt(p)} | | | | | | "
                  f"probed/unprobed {p / u:.2f} (<= 1.25 {'✓' if p <= 1.25 * u else '✗'}) |")
    print()
if rss:
    g, tr = rss.get("gradflow"), rss.get("torch")
    line = f"Peak RSS of one W1 process (2 threads): gradflow {g / 1024:.0f} MiB" if g else "Peak RSS: gradflow —"
    if tr:
        line += f", PyTorch {tr / 1024:.0f} MiB"
        if g:
            line += f" (target: gradflow <= PyTorch {'✓' if g <= tr else '✗'})"
    print(line)
