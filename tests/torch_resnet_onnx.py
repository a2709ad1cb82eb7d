#!/usr/bin/python3
"""Cross-check helper for tests/e2e_torch.sh (runs only where python3-torch is installed):
PyTorch's own ONNX export of the CIFAR ResNet (depth 8, batch norm) read by mli.

  torch_resnet_onnx.py export OUT    for each shortcut (pool: bench/torch_cnn.py's ResNet, the
                                     option-A shortcut as avg_pool2d(x, 1, 2) then F.pad of the
                                     channels; slice: tests/torch_resnet_step.py's, x[:, :, ::2,
                                     ::2] then F.pad; conv: a 1×1 convolution of stride 2 and
                                     batch norm) at torch's default opset, the first two also at
                                     opset 13: θ₀ a
                                     fresh model, θ₁ θ₀ moved by a random step, written by
                                     torch.onnx.export as OUT/KIND-OPSET/init.onnx, final.onnx,
                                     and both state_dicts
  torch_resnet_onnx.py compare OUT N for each: PyTorch's mean cross-entropy at α = 0 and 1 in
                                     float64 on the first N training images (PyTorch's float64
                                     convolutions are too slow for the 10,000 test images), with the batch-norm statistics set to the population
                                     statistics (mli check --bn-stats exact), against mli's
                                     OUT/KIND-OPSET/check/interp.tsv; prints the largest relative
                                     difference and exits 1 above TOL

The export is the README's (eval mode, [batch, 1, 28, 28] with a symbolic batch), with
training=PRESERVE and do_constant_folding=False for batch norm and the exporter's merging of
equal initializers turned off (docs/onnx.md, "PyTorch CNNs"): the Slice bounds, Constant nodes
and the Shape arithmetic of F.pad's pads are left to mli's constant folding."""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "bench"))
import torch_cnn  # noqa: E402  (bench/torch_cnn.py: the ResNet of the benchmark)
from torch_onnx_reference import data  # noqa: E402

# float32 (mli's engine) against float64 over a depth-8 network: the sums of 10,000 examples'
# losses and the batch-norm statistics round at about 1e-7 relative; 1e-5 leaves a margin of 100
TOL = 1e-5
# (shortcut, opset; None: torch.onnx.export's default): the option-A shortcuts, whose Constant
# nodes and pads are folded at import, at both opsets; the 1×1 convolution needs no folding
VARIANTS = (("pool", None), ("pool", 13), ("slice", None), ("slice", 13), ("conv", None))


class SliceBlock(nn.Module):
    """tests/torch_resnet_step.py's block: the usual CIFAR option A, x[:, :, ::2, ::2] and F.pad"""

    def __init__(self, cin, k, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, k, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(k)
        self.conv2 = nn.Conv2d(k, k, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(k)
        self.extra, self.stride = k - cin, stride
        if stride != 1 or cin != k:
            self.downsample = nn.Module()
            self.downsample.bn0 = nn.BatchNorm2d(cin)

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        if hasattr(self, "downsample"):
            s = self.downsample.bn0(x[:, :, ::self.stride, ::self.stride])
            x = F.pad(s, (0, 0, 0, 0, 0, self.extra))
        return F.relu(y + x)


class ConvBlock(SliceBlock):
    """the option-B shortcut: a 1×1 convolution of stride 2 and batch norm"""

    def __init__(self, cin, k, stride):
        super().__init__(cin, k, stride)
        if hasattr(self, "downsample"):
            self.downsample = nn.Sequential(nn.Conv2d(cin, k, 1, stride, bias=False), nn.BatchNorm2d(k))

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(y + (self.downsample(x) if hasattr(self, "downsample") else x))


class ResNet(nn.Module):
    """tests/torch_resnet_step.py's ResNet (widths 16/32/64, mean over H×W, Linear)"""

    def __init__(self, block, depth=8, width=16):
        super().__init__()
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(1, width, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        c = width
        for s in range(1, 4):
            k = width << (s - 1)
            blocks = []
            for j in range(n):
                blocks.append(block(c, k, 2 if s > 1 and j == 0 else 1))
                c = k
            setattr(self, f"layer{s}", nn.Sequential(*blocks))
        self.fc = nn.Linear(c, 10)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(x.mean((2, 3)))


def model(kind):
    if kind == "pool":
        return torch_cnn.ResNet(depth=8)
    return ResNet(SliceBlock if kind == "slice" else ConvBlock)


def export(m, path, opset):
    m.eval()
    dedup = torch._C._jit_pass_onnx_deduplicate_initializers
    torch._C._jit_pass_onnx_deduplicate_initializers = lambda graph, params, training: params
    kw = {} if opset is None else {"opset_version": opset}
    try:
        torch.onnx.export(m, torch.zeros(1, 1, 28, 28), path, input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
                          training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False, **kw)
    finally:
        torch._C._jit_pass_onnx_deduplicate_initializers = dedup


def name(kind, opset):
    return f"{kind}-{opset or 'default'}"


def export_all(out):
    for kind, opset in VARIANTS:
        d = f"{out}/{name(kind, opset)}"
        os.makedirs(d, exist_ok=True)
        torch.manual_seed(3)
        m = model(kind)
        torch.save(m.state_dict(), f"{d}/init.pt")
        export(m, f"{d}/init.onnx", opset)
        with torch.no_grad():
            for p in m.parameters():
                p.add_(0.05 * torch.randn_like(p))
        torch.save(m.state_dict(), f"{d}/final.pt")
        export(m, f"{d}/final.onnx", opset)


def population_stats(m, x):
    """mli's --bn-stats exact (as tests/torch_onnx_reference.py's population_stats) in one eval
    pass: each batch norm's running mean and unbiased variance set, just before it runs, to
    those of its input over x (per channel), the layers before it already set"""
    def pre(bn, inp):
        h = inp[0].transpose(0, 1).reshape(inp[0].shape[1], -1)
        bn.running_mean.copy_(h.mean(1).float())
        bn.running_var.copy_(h.var(1, unbiased=True).float())
    hooks = [b.register_forward_pre_hook(pre) for b in m.modules() if isinstance(b, nn.BatchNorm2d)]
    with torch.no_grad():
        m(x)
    for h in hooks:
        h.remove()


def mean_loss(m, x, y):
    """the mean cross-entropy, in chunks (float64 activations of 10,000 images would not fit)"""
    with torch.no_grad():
        return sum(F.cross_entropy(m(x[i:i + 500]), y[i:i + 500], reduction="sum").item()
                   for i in range(0, len(x), 500)) / len(x)


def compare(out, n):
    xtr, ytr, _, _ = data(n)
    xtr = xtr.reshape(-1, 1, 28, 28).double()
    worst = 0.0
    for kind, opset in VARIANTS:
        d = f"{out}/{name(kind, opset)}"
        rows = [l.rstrip("\n").split("\t") for l in open(f"{d}/check/interp.tsv")]
        col = {h: i for i, h in enumerate(rows[0])}

        for r in rows[1:]:
            a = float(r[col["alpha"]])
            if a not in (0.0, 1.0):
                continue
            m = model(kind).double().eval()
            m.load_state_dict(torch.load(f"{d}/{'final' if a else 'init'}.pt"))
            population_stats(m, xtr)
            ref = {"train_loss": mean_loss(m, xtr, ytr)}
            for k, v in ref.items():
                got = float(r[col[k]])
                rel = abs(got - v) / max(1.0, abs(v))
                worst = max(worst, rel)
                print(f"{name(kind, opset)}: alpha {a:g}: {k} mli {got:.9g}, PyTorch float64 {v:.9g} "
                      f"(relative {rel:.2g})", flush=True)
                if rel > TOL:
                    sys.exit(1)
    print(f"largest relative difference {worst:.2g} (tolerance {TOL:g})")


if __name__ == "__main__":
    torch.set_num_threads(1)
    if sys.argv[1] == "export":
        export_all(sys.argv[2])
    else:
        compare(sys.argv[2], int(sys.argv[3]))
