"""Golden files for the checkpoint interoperability tests (crates/nn/tests/checkpoint.rs).

Run from the repository root with a Python that has torch, numpy and safetensors:

    python crates/nn/tests/golden/gen_checkpoint.py            # write the torch golden files
    python crates/nn/tests/golden/gen_checkpoint.py --verify   # check gradflow's file in torch

Default mode (PyTorch -> gradflow): builds nn.Sequential(Linear(3, 4), Tanh(), Linear(4, 2))
held as `self.layers`, so its state_dict names are layers.0.weight, layers.0.bias,
layers.2.weight, layers.2.bias (what gradflow's Mlp names its parameters), in float64 with
fixed seeds; saves it with safetensors to checkpoint_torch.safetensors and writes the fixed
input and the model's output on it to checkpoint_torch.json. The Rust test loads the
.safetensors file into Mlp::builder(3, &[4], 2).activation(Tanh) and must reproduce the
output to 1e-12.

--verify (gradflow -> PyTorch): loads checkpoint_gradflow.safetensors, which gradflow's
checkpoint::save wrote (the Rust test checks that saving the same seeded model still gives
exactly these bytes), into the same torch module with load_state_dict(strict=True), runs
the input of checkpoint_gradflow.json and compares with the output gradflow computed.
"""

import json
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

HERE = Path(__file__).resolve().parent


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = torch.nn.Sequential(
            torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)
        )

    def forward(self, x):
        return self.layers(x)


def generate():
    torch.manual_seed(20240607)
    net = Net().double()
    generator = torch.Generator().manual_seed(7)
    x = torch.randn(5, 3, dtype=torch.float64, generator=generator)
    with torch.no_grad():
        y = net(x)
    state = {k: v.contiguous() for k, v in net.state_dict().items()}
    save_file(state, str(HERE / "checkpoint_torch.safetensors"))
    golden = {
        "about": "gen_checkpoint.py: torch output of checkpoint_torch.safetensors on input",
        "torch": torch.__version__,
        "input": x.tolist(),
        "output": y.tolist(),
    }
    (HERE / "checkpoint_torch.json").write_text(json.dumps(golden, indent=1) + "\n")
    print("wrote checkpoint_torch.safetensors and checkpoint_torch.json")


def verify():
    net = Net().double()
    state = load_file(str(HERE / "checkpoint_gradflow.safetensors"))
    for name, tensor in state.items():
        assert tensor.dtype == torch.float64, (name, tensor.dtype)
    net.load_state_dict(state, strict=True)
    golden = json.loads((HERE / "checkpoint_gradflow.json").read_text())
    x = torch.tensor(golden["input"], dtype=torch.float64)
    with torch.no_grad():
        y = net(x)
    expected = torch.tensor(golden["output"], dtype=torch.float64)
    err = (y - expected).abs().max().item()
    print(f"gradflow checkpoint loaded into torch: names {sorted(state)}; max |diff| {err:.3e}")
    if err > 1e-12:
        sys.exit("FAILED: torch output differs from gradflow's")
    print("ok")


if __name__ == "__main__":
    if sys.argv[1:] == ["--verify"]:
        verify()
    elif sys.argv[1:] == []:
        generate()
    else:
        sys.exit(__doc__)
