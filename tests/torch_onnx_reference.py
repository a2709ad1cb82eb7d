#!/usr/bin/python3
"""Cross-check helper for tests/e2e_torch_onnx.sh (runs only where python3-torch is installed).

  torch_onnx_reference.py train OUT N     for each model (fcnet, residual): train it in PyTorch
                                          for 300 SGD steps on the first N FashionMNIST training
                                          images, export it with torch.onnx.export at
                                          initialization (OUT/MODEL/init.onnx) and after training
                                          (OUT/MODEL/final.onnx), keep both state_dicts
  torch_onnx_reference.py compare OUT N   for each model: PyTorch's own mean cross-entropy along
                                          θ(α) = (1−α)θ₀ + αθ₁ at the α of mli's
                                          OUT/MODEL/check/interp.tsv, on the N training images and
                                          the 10,000 test images, against mli's columns; prints the
                                          largest relative difference, exits 1 above TOL

The models read [batch, 784] (mli's FashionMNIST examples: pixels / 255), are exported in eval
mode with opset 15 and a symbolic batch dimension, as the README's walk-through says."""
import gzip
import os
import sys

import numpy as np
import torch
import torch.nn as nn

ROOT = "/usr/share/datasets/fashion-mnist"
TOL = 1e-5
STEPS = 300


def idx(name):
    data = gzip.open(f"{ROOT}/{name}").read()
    nd = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * nd).reshape(dims)


class FCNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 32), nn.Tanh(), nn.Linear(32, 10))

    def forward(self, x):
        return self.layers(x)


class Residual(nn.Module):
    """x → fc1 → relu → h; h + fc2(h) (the skip connection) → relu → fc3"""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(784, 64), nn.Linear(64, 64), nn.Linear(64, 10)

    def forward(self, x):
        h = torch.relu(self.fc1(x))
        return self.fc3(torch.relu(h + self.fc2(h)))


MODELS = {"fcnet": FCNet, "residual": Residual}


def data(n):
    xtr = torch.from_numpy(idx("train-images-idx3-ubyte.gz")[:n].reshape(-1, 784).astype(np.float32) / 255)
    ytr = torch.from_numpy(idx("train-labels-idx1-ubyte.gz")[:n].astype(np.int64))
    xte = torch.from_numpy(idx("t10k-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32) / 255)
    yte = torch.from_numpy(idx("t10k-labels-idx1-ubyte.gz").astype(np.int64))
    return xtr, ytr, xte, yte


def export(model, path):
    model.eval()
    torch.onnx.export(model, torch.zeros(1, 784), path, input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}}, opset_version=15)


def train(out, n):
    xtr, ytr, _, _ = data(n)
    for name, cls in MODELS.items():
        os.makedirs(f"{out}/{name}", exist_ok=True)
        torch.manual_seed(11)
        model = cls()
        torch.save(model.state_dict(), f"{out}/{name}/init.pt")
        export(model, f"{out}/{name}/init.onnx")
        model.train()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        g = torch.Generator().manual_seed(12)
        for _ in range(STEPS):
            b = torch.randint(0, n, (128,), generator=g)
            opt.zero_grad()
            nn.functional.cross_entropy(model(xtr[b]), ytr[b]).backward()
            opt.step()
        torch.save(model.state_dict(), f"{out}/{name}/final.pt")
        export(model, f"{out}/{name}/final.onnx")


def compare(out, n):
    xtr, ytr, xte, yte = data(n)
    worst = 0.0
    for name, cls in MODELS.items():
        s0, s1 = torch.load(f"{out}/{name}/init.pt"), torch.load(f"{out}/{name}/final.pt")
        rows = [l.rstrip("\n").split("\t") for l in open(f"{out}/{name}/check/interp.tsv")]
        col = {h: i for i, h in enumerate(rows[0])}
        model = cls().eval()
        for r in rows[1:]:
            a = float(r[col["alpha"]])
            with torch.no_grad():
                # θ(α) in float32 as mli forms it: θ₀ + α(θ₁ − θ₀)
                model.load_state_dict({k: s0[k] + np.float32(a) * (s1[k] - s0[k]) for k in s0})
                ref = {"train_loss": nn.functional.cross_entropy(model(xtr), ytr).item(),
                       "test_loss": nn.functional.cross_entropy(model(xte), yte).item()}
            for k, v in ref.items():
                got = float(r[col[k]])
                rel = abs(got - v) / max(1.0, abs(v))
                worst = max(worst, rel)
                if rel > TOL:
                    print(f"{name}: alpha {a}: {k} mli {got:.9g}, PyTorch {v:.9g} (relative {rel:.2g})")
                    sys.exit(1)
    print(f"largest relative difference {worst:.2g} (tolerance {TOL:g})")


if __name__ == "__main__":
    mode, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    {"train": train, "compare": compare}[mode](out, n)
