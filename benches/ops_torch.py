"""PyTorch's times for the `ops` workload of crates/nn/benches/workloads.rs.

Forward and backward of common ops on [256, 1024] f32 (the permute on
[32, 64, 16, 16]): the op, sum(y * ones), and the gradient w.r.t. the input; eager
CPU. One JSON line per op in the bench binary's schema, with the same timing protocol
(torch_timing.py; blocks of about 0.2 s). `permute` and `transpose` are made
contiguous, as gradflow's copies are.

    .venv/bin/python benches/ops_torch.py [threads]
"""

import sys

import torch

from torch_timing import time_and_print


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(256, 1024, generator=g)
    img = torch.randn(32, 64, 16, 16, generator=g)
    column = torch.randn(256, 1, generator=g)
    ops = [
        ("sum_rows", x, lambda v: v.sum(1)),
        ("sum_cols", x, lambda v: v.sum(0)),
        ("variance_cols", x, lambda v: v.var(0, keepdim=True, correction=0)),
        ("max_rows", x, lambda v: v.max(1).values),
        ("logsumexp_rows", x, lambda v: v.logsumexp(-1)),
        ("softmax_rows", x, lambda v: v.softmax(-1)),
        ("log_softmax_rows", x, lambda v: v.log_softmax(-1)),
        ("softmax_cols", x, lambda v: v.softmax(0)),
        ("transpose", x, lambda v: v.t().contiguous()),
        ("permute_nchw_nhwc", img, lambda v: v.permute(0, 2, 3, 1).contiguous()),
        ("add_column", x, lambda v: v + column),
        ("concat_cols", x, lambda v: torch.cat([v, v], 1)),
        ("div", x, lambda v: v / (v.abs() + 1)),
        ("clamp", x, lambda v: v.clamp(-0.5, 0.5)),
        ("powf_3", x, lambda v: v.pow(3.0)),
        ("exp", x, lambda v: v.exp()),
        ("tanh", x, lambda v: v.tanh()),
        ("gelu", x, lambda v: torch.nn.functional.gelu(v)),
    ]
    only = sys.argv[2].split(",") if len(sys.argv) > 2 else None
    for name, data, op in ops:
        if only and name not in only:
            continue

        def call():
            v = data.detach().requires_grad_()
            y = op(v)
            torch.autograd.grad((y * torch.ones_like(y)).sum(), [v])

        time_and_print(call, 0.2, "ops", name, threads)


if __name__ == "__main__":
    main()
