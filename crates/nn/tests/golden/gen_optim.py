"""Golden optimiser trajectories for gradflow-nn: PyTorch in float64.

A 3-4-2 tanh MLP with fixed weights (written into the JSON), a fixed batch, and the
mean squared error. For each optimiser configuration, 5 steps from the same start;
after each step the loss of that step (before the update) and every parameter are
recorded, and for the configurations that use them the gradient norm before clipping
and the learning rate the scheduler set. Learning-rate schedules are also recorded on
their own over 12 epochs. Writes optim.json next to this file:

    python crates/nn/tests/golden/gen_optim.py

The test `crates/nn/tests/optim.rs` reads the JSON; it never needs Python.
"""

import json
import pathlib
import re

import torch
import torch.nn.functional as F
from torch import nn

torch.manual_seed(7)
DT = torch.float64
STEPS = 5


class Mlp(nn.Module):
    """Parameter names as gradflow's Mlp: layers.0.weight, layers.0.bias, layers.2.*"""

    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))

    def forward(self, x):
        return self.layers(x)


start = Mlp().to(DT)
x = torch.randn(6, 3, dtype=DT)
y = torch.randn(6, 2, dtype=DT)
initial = {k: v.detach().clone() for k, v in start.state_dict().items()}


def flat(t):
    return t.detach().reshape(-1).tolist()


CONFIGS = [
    {"name": "sgd", "kind": "sgd", "lr": 0.1},
    {"name": "sgd_momentum", "kind": "sgd", "lr": 0.1, "momentum": 0.9},
    {"name": "sgd_momentum_dampening", "kind": "sgd", "lr": 0.1, "momentum": 0.9,
     "dampening": 0.3},
    {"name": "sgd_nesterov", "kind": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True},
    {"name": "sgd_weight_decay", "kind": "sgd", "lr": 0.1, "weight_decay": 0.05},
    {"name": "sgd_nesterov_weight_decay", "kind": "sgd", "lr": 0.1, "momentum": 0.8,
     "nesterov": True, "weight_decay": 0.01},
    {"name": "adam", "kind": "adam", "lr": 0.01},
    {"name": "adam_l2", "kind": "adam", "lr": 0.01, "betas": [0.8, 0.95], "eps": 1e-6,
     "weight_decay": 0.1},
    {"name": "adamw", "kind": "adamw", "lr": 0.01, "weight_decay": 0.1},
    {"name": "adamw_defaults", "kind": "adamw", "lr": 0.02},
    {"name": "rmsprop", "kind": "rmsprop", "lr": 0.01},
    {"name": "rmsprop_centered", "kind": "rmsprop", "lr": 0.01, "centered": True},
    {"name": "rmsprop_momentum", "kind": "rmsprop", "lr": 0.01, "momentum": 0.9},
    {"name": "rmsprop_everything", "kind": "rmsprop", "lr": 0.01, "alpha": 0.9,
     "eps": 1e-6, "weight_decay": 0.01, "momentum": 0.5, "centered": True},
    {"name": "sgd_momentum_clipped", "kind": "sgd", "lr": 0.1, "momentum": 0.9,
     "clip": 0.05},
    {"name": "sgd_momentum_step_lr", "kind": "sgd", "lr": 0.2, "momentum": 0.5,
     "schedule": {"kind": "step", "step_size": 2, "gamma": 0.5}},
    {"name": "adam_cosine_lr", "kind": "adam", "lr": 0.05,
     "schedule": {"kind": "cosine", "t_max": 3, "eta_min": 0.001}},
]


def optimizer(cfg, params):
    kind, lr = cfg["kind"], cfg["lr"]
    if kind == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=cfg.get("momentum", 0.0),
                               dampening=cfg.get("dampening", 0.0),
                               nesterov=cfg.get("nesterov", False),
                               weight_decay=cfg.get("weight_decay", 0.0), foreach=False)
    if kind in ("adam", "adamw"):
        cls = torch.optim.Adam if kind == "adam" else torch.optim.AdamW
        kw = {k: cfg[k] for k in ("eps", "weight_decay") if k in cfg}
        if "betas" in cfg:
            kw["betas"] = tuple(cfg["betas"])
        return cls(params, lr=lr, foreach=False, **kw)
    if kind == "rmsprop":
        kw = {k: cfg[k] for k in ("alpha", "eps", "weight_decay", "momentum", "centered")
              if k in cfg}
        return torch.optim.RMSprop(params, lr=lr, foreach=False, **kw)
    raise ValueError(kind)


def scheduler(spec, opt):
    if spec["kind"] == "step":
        return torch.optim.lr_scheduler.StepLR(opt, step_size=spec["step_size"],
                                               gamma=spec["gamma"])
    return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=spec["t_max"],
                                                      eta_min=spec["eta_min"])


runs = []
for cfg in CONFIGS:
    model = Mlp().to(DT)
    model.load_state_dict(initial)
    opt = optimizer(cfg, model.parameters())
    sched = scheduler(cfg["schedule"], opt) if "schedule" in cfg else None
    run = {"config": cfg, "losses": [], "params": [], "grad_norms": [], "lrs": []}
    for _ in range(STEPS):
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        if "clip" in cfg:
            norm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg["clip"],
                                                  foreach=False)
            run["grad_norms"].append(norm.item())
        opt.step()
        if sched is not None:
            sched.step()
            run["lrs"].append(opt.param_groups[0]["lr"])
        run["losses"].append(loss.item())
        run["params"].append({k: flat(v) for k, v in model.state_dict().items()})
    runs.append(run)

schedules = []
for spec, base in [({"kind": "step", "step_size": 3, "gamma": 0.1}, 0.1),
                   ({"kind": "cosine", "t_max": 5, "eta_min": 0.001}, 0.1),
                   ({"kind": "cosine", "t_max": 4, "eta_min": 0.0}, 0.5)]:
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base)
    sched = scheduler(spec, opt)
    lrs = []
    for _ in range(12):
        opt.step()
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    schedules.append({"schedule": spec, "base_lr": base, "lrs": lrs})

out = {
    "generator": "crates/nn/tests/golden/gen_optim.py",
    "torch": torch.__version__,
    "dtype": "float64",
    "model": {"widths": [3, 4, 2], "activation": "tanh", "loss": "mse, mean",
              "params": {k: {"shape": list(v.shape), "data": flat(v)}
                         for k, v in initial.items()}},
    "batch": {"x": {"shape": list(x.shape), "data": flat(x)},
              "y": {"shape": list(y.shape), "data": flat(y)}},
    "steps": STEPS,
    "runs": runs,
    "schedules": schedules,
}
path = pathlib.Path(__file__).with_name("optim.json")
text = json.dumps(out, indent=1)
# Lists of numbers on one line each: one tensor or trajectory per line.
text = re.sub(r"\[[-0-9.e,\s]*\]", lambda m: re.sub(r"\s+", " ", m.group(0)), text)
path.write_text(text + "\n")
print(f"wrote {len(runs)} runs and {len(schedules)} schedules to {path}")
