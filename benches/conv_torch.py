"""PyTorch's time for the `conv` workload of crates/nn/benches/workloads.rs.

max_pool2d(relu(conv2d(x, w, b)))-summed, forward and backward (gradients w.r.t. x, w
and b), x of [64, 16, 16, 16], 32 filters of 3 x 3, padding 1, a 2 x 2 pool, f32, eager
CPU. Prints one JSON line in the bench binary's schema, with the same timing protocol:
at least 2 calls and 0.3 s of warm-up, then 9 blocks of about 0.25 s; median over
blocks.

    .venv/bin/python benches/conv_torch.py [threads]
"""

import json
import sys
import time

import torch


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(0)
    x0 = torch.randn(64, 16, 16, 16, generator=g)
    w0 = torch.randn(32, 16, 3, 3, generator=g) * 0.1
    b0 = torch.randn(32, generator=g)

    def call():
        x = x0.detach().requires_grad_()
        w = w0.detach().requires_grad_()
        b = b0.detach().requires_grad_()
        y = torch.nn.functional.conv2d(x, w, b, padding=1)
        loss = torch.nn.functional.max_pool2d(torch.relu(y), 2).sum()
        torch.autograd.grad(loss, [x, w, b])

    t0, n = time.perf_counter(), 0
    while n < 2 or time.perf_counter() - t0 < 0.3:
        call()
        n += 1
    k = max(1, round(0.25 / ((time.perf_counter() - t0) / n)))
    blocks = []
    for _ in range(9):
        t = time.perf_counter()
        for _ in range(k):
            call()
        blocks.append((time.perf_counter() - t) / k * 1e3)
    s = sorted(blocks)
    print(json.dumps({
        "system": "pytorch", "workload": "conv", "variant": "conv3x3_relu_maxpool_fwd_bwd",
        "threads": threads, "metric": "ms_per_call", "median": s[len(s) // 2],
        "min": s[0], "max": s[-1], "reps": blocks,
        "extra": {"torch": torch.__version__},
    }))


if __name__ == "__main__":
    main()
