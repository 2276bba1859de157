#!/usr/bin/env python3
"""How far PyTorch's f32 activations are from exact, on W3's kind of input.

W3 of the peer benchmark times `y = f(x)` and `dx = dy f'(x)` over 2^22 f32 values
(`x` normal times 3, `dy` ones). gradflow's f32 lanes keep every value and gradient
within one ulp of the exact result; PyTorch's are faster for sigmoid and silu, and this
script measures what that costs in accuracy. For each activation it runs forward and
backward in f32 and in f64 (the reference) on the same inputs: 2^22 normal values times
3 (PyTorch's generator, seed 0) and a dense sweep of [-30, 30]. It prints the worst
error of the value and of the gradient in f32 ulps of the reference, where it occurs,
and the fraction of gradients more than one ulp off.

    .venv/bin/python benches/torch_accuracy.py

docs/performance.md ("Targets") quotes its output.
"""

import numpy as np
import torch


def ulps(got, want):
    """|got - want| in units of the f32 ulp at `want` (the subnormal spacing below the
    normal range)."""
    w = np.abs(want.astype(np.float32))
    ulp = (np.nextafter(w, np.float32(np.inf)) - w).astype(np.float64)
    ulp = np.where(w < np.finfo(np.float32).tiny, 2.0**-149, ulp)
    return np.abs(got.astype(np.float64) - want) / ulp


def value_and_gradient(f, x):
    """`f(x)` and `d sum(f(x)) / dx` (an upstream gradient of ones), as numpy arrays."""
    x = x.clone().requires_grad_(True)
    y = f(x)
    y.backward(torch.ones_like(y))
    return y.detach().numpy(), x.grad.numpy()


def main():
    torch.set_num_threads(1)
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(1 << 22, generator=generator) * 3
    x = torch.cat([x, torch.linspace(-30, 30, 600_001)])
    activations = [
        ("sigmoid", torch.sigmoid),
        ("silu", torch.nn.functional.silu),
        ("softplus", torch.nn.functional.softplus),
        ("tanh", torch.tanh),
    ]
    for name, f in activations:
        y32, g32 = value_and_gradient(f, x)
        y64, g64 = value_and_gradient(f, x.double())
        value_error = ulps(y32, y64)
        grad_error = ulps(g32, g64)
        iv, ig = value_error.argmax(), grad_error.argmax()
        print(
            f"{name}: value worst {value_error[iv]:.2f} ulps at x={x[iv].item():.4g}; "
            f"gradient worst {grad_error[ig]:.3g} ulps at x={x[ig].item():.4g} "
            f"(f32 {g32[ig]:.6g}, f64 {g64[ig]:.6g}); "
            f"gradients more than 1 ulp off: {(grad_error > 1).mean():.1%}"
        )


if __name__ == "__main__":
    main()
