"""Golden training runs for gradflow-nn: 20 steps of PyTorch training in float64.

Three models, each built with PyTorch parameter names equal to gradflow's:

- mlp:  6-16-16-3 tanh MLP held as `self.layers` (gradflow's `Mlp`: layers.0.*,
        layers.2.*, layers.4.*), cross-entropy (mean) on 32 rows of 6 features and
        3 classes.
- cnn:  nn.Sequential(Conv2d(1, 4, 3, padding=1), ReLU, MaxPool2d(2), Flatten,
        Linear(64, 3)) (gradflow's `Sequential`: 0.*, 4.*), cross-entropy (mean) on
        8 images of 1x8x8 and 3 classes.
- lstm: nn.LSTM(3, 5) held as `self.lstm` and a Linear(5, 2) read-out of the last
        hidden state held as `self.head` (lstm.weight_ih_l0, ..., head.weight,
        head.bias), mean squared error on a time-first [6, 4, 3] batch (T = 6, N = 4)
        with targets [4, 2].

For each model the initial weights are saved to `training_<model>.safetensors` (float64,
state_dict names), and from those weights two runs of 20 full-batch steps are made:
SGD(lr, momentum=0.9) and Adam(lr), both with foreach=False (the single-tensor code path
gradflow reproduces). The loss of every step (computed before that step's update) is
recorded. The data and the losses go to training.json next to this file:

    python crates/nn/tests/golden/gen_training.py

The test `crates/nn/tests/training_vs_pytorch.rs` loads the weights with gradflow's
checkpoint loader and the data from the JSON, trains with gradflow's optimisers and
checks every loss to 1e-9 relative. It never needs Python.
"""

import json
import pathlib
import re

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import nn

HERE = pathlib.Path(__file__).resolve().parent
DT = torch.float64
STEPS = 20
SGD_MOMENTUM = 0.9


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 3)
        )

    def forward(self, x):
        return self.layers(x)


def cnn():
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(4 * 4 * 4, 3),
    )


class LstmRegressor(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(3, 5)
        self.head = nn.Linear(5, 2)

    def forward(self, x):
        out, _ = self.lstm(x)  # [T, N, H]
        return self.head(out[-1])


def flat(t):
    return t.detach().reshape(-1).tolist()


def tensor_json(t):
    return {"shape": list(t.shape), "data": flat(t)}


def make(name):
    """(model, inputs, targets, loss function, data for the JSON, loss name)."""
    g = torch.Generator().manual_seed({"mlp": 1, "cnn": 2, "lstm": 3}[name])
    if name == "mlp":
        torch.manual_seed(11)
        model = Mlp().to(DT)
        x = torch.randn(32, 6, dtype=DT, generator=g)
        y = torch.randint(0, 3, (32,), generator=g)
        return model, x, y, F.cross_entropy, {"x": tensor_json(x), "labels": y.tolist()}
    if name == "cnn":
        torch.manual_seed(12)
        model = cnn().to(DT)
        x = torch.randn(8, 1, 8, 8, dtype=DT, generator=g)
        y = torch.randint(0, 3, (8,), generator=g)
        return model, x, y, F.cross_entropy, {"x": tensor_json(x), "labels": y.tolist()}
    torch.manual_seed(13)
    model = LstmRegressor().to(DT)
    x = torch.randn(6, 4, 3, dtype=DT, generator=g)
    y = torch.randn(4, 2, dtype=DT, generator=g)
    return model, x, y, F.mse_loss, {"x": tensor_json(x), "y": tensor_json(y)}


LOSS_NAMES = {"mlp": "cross_entropy", "cnn": "cross_entropy", "lstm": "mse"}
LRS = {
    "mlp": {"sgd": 0.1, "adam": 0.01},
    "cnn": {"sgd": 0.05, "adam": 0.01},
    "lstm": {"sgd": 0.1, "adam": 0.02},
}


def optimizer(kind, lr, params):
    if kind == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=SGD_MOMENTUM, foreach=False)
    return torch.optim.Adam(params, lr=lr, foreach=False)


models = {}
for name in ("mlp", "cnn", "lstm"):
    model, x, y, loss_fn, data = make(name)
    initial = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    weights = f"training_{name}.safetensors"
    save_file(initial, str(HERE / weights))
    runs = {}
    for kind in ("sgd", "adam"):
        model.load_state_dict(initial)
        lr = LRS[name][kind]
        opt = optimizer(kind, lr, model.parameters())
        losses = []
        for _ in range(STEPS):
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        runs[kind] = {"lr": lr, "losses": losses}
    models[name] = {
        "weights": weights,
        "params": {k: list(v.shape) for k, v in initial.items()},
        "loss": LOSS_NAMES[name] + ", mean",
        "data": data,
        "runs": runs,
    }
    print(name, {k: (r["losses"][0], r["losses"][-1]) for k, r in runs.items()})

out = {
    "generator": "crates/nn/tests/golden/gen_training.py",
    "torch": torch.__version__,
    "dtype": "float64",
    "steps": STEPS,
    "sgd_momentum": SGD_MOMENTUM,
    "models": models,
}
text = json.dumps(out, indent=1)
# Lists of numbers on one line each: one tensor or trajectory per line.
text = re.sub(r"\[[-0-9.e,\s]*\]", lambda m: re.sub(r"\s+", " ", m.group(0)), text)
(HERE / "training.json").write_text(text + "\n")
print(f"wrote training.json and {len(models)} safetensors files to {HERE}")
