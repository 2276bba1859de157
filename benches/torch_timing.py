"""The timing protocol of crates/nn/benches/workloads.rs, for the PyTorch scripts beside
this file (conv_torch.py, ops_torch.py): at least 2 calls and 0.3 s of warm-up, then 9
blocks of about `block_s` seconds each; one JSON line in the bench binary's schema, the
median, minimum and maximum over blocks, in ms per call.
"""

import json
import time

import torch


def time_and_print(call, block_s, workload, variant, threads):
    t0, n = time.perf_counter(), 0
    while n < 2 or time.perf_counter() - t0 < 0.3:
        call()
        n += 1
    k = max(1, round(block_s / ((time.perf_counter() - t0) / n)))
    blocks = []
    for _ in range(9):
        t = time.perf_counter()
        for _ in range(k):
            call()
        blocks.append((time.perf_counter() - t) / k * 1e3)
    s = sorted(blocks)
    print(json.dumps({
        "system": "pytorch", "workload": workload, "variant": variant, "threads": threads,
        "metric": "ms_per_call", "median": s[len(s) // 2], "min": s[0], "max": s[-1],
        "reps": blocks, "extra": {"torch": torch.__version__},
    }))
