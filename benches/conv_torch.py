"""PyTorch's time for the `conv` workload of crates/nn/benches/workloads.rs.

max_pool2d(relu(conv2d(x, w, b)))-summed, forward and backward (gradients w.r.t. x, w
and b), x of [64, 16, 16, 16], 32 filters of 3 x 3, padding 1, a 2 x 2 pool, f32, eager
CPU. Prints one JSON line in the bench binary's schema, with the same timing protocol
(torch_timing.py; blocks of about 0.25 s).

    .venv/bin/python benches/conv_torch.py [threads]
"""

import sys

import torch

from torch_timing import time_and_print


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

    time_and_print(call, 0.25, "conv", "conv3x3_relu_maxpool_fwd_bwd", threads)


if __name__ == "__main__":
    main()
