import torch, numpy as np
torch.set_num_threads(1)
def ulps(got, want):
    # f32 ulp at want
    w = want.astype(np.float32)
    a = np.abs(w)
    nxt = np.nextafter(a, np.float32(np.inf))
    ulp = (nxt - a).astype(np.float64)
    ulp = np.where(a < np.finfo(np.float32).tiny, 2.0**-149, ulp)
    return np.abs(got.astype(np.float64) - want) / ulp
g = torch.Generator().manual_seed(0)
x = torch.randn(1 << 22, generator=g) * 3
x = torch.cat([x, torch.linspace(-30, 30, 600001)])
x64 = x.double()
for name, f in [("sigmoid", torch.sigmoid), ("silu", torch.nn.functional.silu), ("softplus", torch.nn.functional.softplus), ("tanh", torch.tanh)]:
    xr = x.clone().requires_grad_(True)
    y = f(xr); y.backward(torch.ones_like(y))
    xr64 = x64.clone().requires_grad_(True)
    y64 = f(xr64); y64.backward(torch.ones_like(y64))
    ev = ulps(y.detach().numpy(), y64.detach().numpy())
    eg = ulps(xr.grad.numpy(), xr64.grad.numpy())
    iv, ig = ev.argmax(), eg.argmax()
    print(f"{name}: value worst {ev.max():.2f} ulps at x={x[iv].item():.4g}; gradient worst {eg.max():.3g} ulps at x={x[ig].item():.4g} (torch {xr.grad[ig].item():.6g} vs {xr64.grad[ig].item():.6g}); fraction of gradients > 1 ulp: {(eg>1).mean():.2e}")
