#!/usr/bin/python3
"""Cross-check helper for tests/e2e_torch_onnx.sh (runs only where python3-torch is installed).

  torch_onnx_reference.py train OUT N     for each model (fcnet, residual, cnn): train it in PyTorch
                                          for 300 SGD steps on the first N FashionMNIST training
                                          images, export it with torch.onnx.export at
                                          initialization (OUT/MODEL/init.onnx) and after training
                                          (OUT/MODEL/final.onnx), keep both state_dicts
  torch_onnx_reference.py compare OUT N   for each model: PyTorch's own mean cross-entropy along
                                          θ(α) = (1−α)θ₀ + αθ₁ at the α of mli's
                                          OUT/MODEL/check/interp.tsv, on the N training images and
                                          the 10,000 test images, against mli's columns; prints the
                                          largest relative difference, exits 1 above TOL

The models read [batch, 784] (mli's FashionMNIST examples: pixels / 255; the CNN the same
values as [batch, 1, 28, 28]), are exported in eval mode with opset 15 and a symbolic batch
dimension, as the README's walk-through says. Batch norm (the CNN's): mli check runs with
--bn-stats exact, and PyTorch's statistics at each α are the same population statistics
(population_stats)."""
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


class CNN(nn.Module):
    """[1, 28, 28] → conv 3×3 (8) → batch norm → relu → max pool 2 → a residual block (conv 3×3
    stride 2 without bias → batch norm → relu → conv 3×3, plus a 1×1 conv stride 2 shortcut) →
    relu → adaptive average pool to 1×1 → flatten → linear"""
    shape = (1, 28, 28)

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2))
        self.conv1 = nn.Conv2d(8, 16, 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 16, 3, padding=1)
        self.shortcut = nn.Conv2d(8, 16, 1, stride=2)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))

    def forward(self, x):
        h = self.stem(x)
        r = self.conv2(torch.relu(self.bn1(self.conv1(h))))
        return self.head(torch.relu(r + self.shortcut(h)))


MODELS = {"fcnet": FCNet, "residual": Residual, "cnn": CNN}


def shape(cls):
    return getattr(cls, "shape", (784,))


def population_stats(model, x):
    """mli's --bn-stats exact: each batch norm's running mean and unbiased variance are those of
    its input over the whole training set (per channel, over examples and positions), set in
    order, each layer's input computed in eval mode with the statistics before it final"""
    for bn in [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]:
        seen = []
        hook = bn.register_forward_hook(lambda m, i, o: seen.append(i[0].detach()))
        with torch.no_grad():
            model(x)
        hook.remove()
        h = seen[0].transpose(0, 1).reshape(seen[0].shape[1], -1).double()
        bn.running_mean.copy_(h.mean(1).float())
        bn.running_var.copy_(h.var(1, unbiased=True).float())


def data(n):
    xtr = torch.from_numpy(idx("train-images-idx3-ubyte.gz")[:n].reshape(-1, 784).astype(np.float32) / 255)
    ytr = torch.from_numpy(idx("train-labels-idx1-ubyte.gz")[:n].astype(np.int64))
    xte = torch.from_numpy(idx("t10k-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32) / 255)
    yte = torch.from_numpy(idx("t10k-labels-idx1-ubyte.gz").astype(np.int64))
    return xtr, ytr, xte, yte


def export(model, path):
    """eval mode; training=PRESERVE (the model's own mode, eval) rather than the default EVAL,
    which folds each batch norm into the convolution before it: the file would then hold the
    fused weights, whose straight path is not the path of the parameters (nor are the
    statistics re-estimated along it). Without constant folding, and without the exporter's
    merging of equal initializers: at initialization every batch norm's weight equals its running
    variance (ones) and its bias its running mean (zeros), which the exporter would store once
    and read through Identity nodes, so that init.onnx and final.onnx would differ in graph"""
    model.eval()
    dedup = torch._C._jit_pass_onnx_deduplicate_initializers
    torch._C._jit_pass_onnx_deduplicate_initializers = lambda graph, params, training: params
    try:
        _export(model, path)
    finally:
        torch._C._jit_pass_onnx_deduplicate_initializers = dedup


def _export(model, path):
    torch.onnx.export(model, torch.zeros(1, *shape(type(model))), path, input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}}, opset_version=15,
                      training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)


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
        x = xtr.reshape(-1, *shape(cls))
        for _ in range(STEPS):
            b = torch.randint(0, n, (128,), generator=g)
            opt.zero_grad()
            nn.functional.cross_entropy(model(x[b]), ytr[b]).backward()
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
        model, mine = cls().eval(), 0.0
        x, xt = xtr.reshape(-1, *shape(cls)), xte.reshape(-1, *shape(cls))
        for r in rows[1:]:
            a = float(r[col["alpha"]])
            with torch.no_grad():
                # θ(α) in float32 as mli forms it: θ₀ + α(θ₁ − θ₀); integer buffers (batch
                # norm's step count) as they are
                model.load_state_dict({k: s0[k] + np.float32(a) * (s1[k] - s0[k]) if s0[k].is_floating_point()
                                       else s0[k] for k in s0})
            population_stats(model, x)
            with torch.no_grad():
                ref = {"train_loss": nn.functional.cross_entropy(model(x), ytr).item(),
                       "test_loss": nn.functional.cross_entropy(model(xt), yte).item()}
            for k, v in ref.items():
                got = float(r[col[k]])
                rel = abs(got - v) / max(1.0, abs(v))
                worst, mine = max(worst, rel), max(mine, rel)
                if rel > TOL:
                    print(f"{name}: alpha {a}: {k} mli {got:.9g}, PyTorch {v:.9g} (relative {rel:.2g})")
                    sys.exit(1)
        print(f"{name}: largest relative difference {mine:.2g}")
    print(f"largest relative difference {worst:.2g} (tolerance {TOL:g})")


if __name__ == "__main__":
    mode, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    {"train": train, "compare": compare}[mode](out, n)
