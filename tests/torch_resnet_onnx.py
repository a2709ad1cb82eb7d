#!/usr/bin/python3
"""Cross-check helper for tests/e2e_torch.sh (runs only where python3-torch is installed):
PyTorch's own ONNX export of the CIFAR ResNet (depth 8, batch norm) read by mli.

  torch_resnet_onnx.py export OUT    for each shortcut of tests/torch_models.py (pool: the
                                     option-A shortcut as avg_pool2d(x, 1, 2) then F.pad of the
                                     channels; slice: x[:, :, ::2, ::2] then F.pad; conv: a 1×1
                                     convolution of stride 2 and batch norm) at torch's default
                                     opset, the first two also at
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
from torch_models import ConvBlock, PoolBlock, ResNet, SliceBlock  # noqa: E402
from torch_onnx_reference import data  # noqa: E402

# float32 (mli's engine) against float64 over a depth-8 network: the sums of 10,000 examples'
# losses and the batch-norm statistics round at about 1e-7 relative; 1e-5 leaves a margin of 100
TOL = 1e-5
# (shortcut, opset; None: torch.onnx.export's default): the option-A shortcuts, whose Constant
# nodes and pads are folded at import, at both opsets; the 1×1 convolution needs no folding
VARIANTS = (("pool", None), ("pool", 13), ("slice", None), ("slice", 13), ("conv", None))


def model(kind):
    return ResNet({"pool": PoolBlock, "slice": SliceBlock, "conv": ConvBlock}[kind], depth=8)


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
