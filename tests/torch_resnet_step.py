#!/usr/bin/python3
"""Cross-check helper for tests/e2e_torch.sh (runs only where python3-torch is installed): one
SGD step of mli's CIFAR ResNet with batch norm against PyTorch's.

Usage: torch_resnet_step.py RUN_DIR DATA_DIR LR [float64 | TOL]. RUN_DIR is an `mli train` run of one step
(datasize = batchsize, one epoch, optim_name=sgd); DATA_DIR holds the uncompressed IDX files it
trained on. The same network is built in PyTorch from the architecture of src/nn/arch_cnn.c
(conv3x3 without bias, batch norm, relu; the option-A shortcut: x[:, :, ::2, ::2], bn0, zero
channels appended), loaded from RUN_DIR/init.safetensors by name, and takes one step on the
whole training set in training mode (batch statistics; the running statistics updated with
momentum 0.1 and the unbiased variance). Every tensor of RUN_DIR/final.safetensors must equal
PyTorch's after the step, computed in float64 from the same float32 θ₀ and pixels:
|mli − torch| ≤ TOL · max|θ₁ − θ₀| for the parameters (the step), ≤ TOL · max|buffer| for
the running statistics. A relu input within float rounding of 0 (a few of the 10⁵ per layer lie
within 1e-5 of it) may fall on the other side in float32, and the gradient then jumps by a
whole unit's share, the same in any float32 step: the parameters may instead be within TOL of
PyTorch's own float32 step, which meets the same kinks. "float64": the float64 step is the
only reference; a number: TOL for the parameters instead of 1e-4 (F(4×4) Winograd's float
rounding, some 10× the direct sums', moves more relu inputs across 0 than either float32 step
does). Prints the measured differences."""
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_models import ResNet, SliceBlock  # noqa: E402

TOL = 1e-4
run, data, lr = sys.argv[1], sys.argv[2], float(sys.argv[3])
# "float64": the float64 step is the only reference (a run whose convolutions are im2col's
# direct sums, MLI_CONV_WINOGRAD=0, meets the same kinks as it)
only64 = len(sys.argv) > 4 and sys.argv[4] == "float64"
TOL_P = float(sys.argv[4]) if len(sys.argv) > 4 and not only64 else TOL


def safetensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    out = {}
    for k, t in header.items():
        lo, hi = t["data_offsets"]
        assert t["dtype"] == "F32", (k, t["dtype"])
        out[k] = torch.from_numpy(np.frombuffer(raw[8 + n + lo:8 + n + hi], np.float32).reshape(t["shape"]).copy())
    return meta, out


def idx(name):
    b = open(f"{data}/{name}", "rb").read()
    nd = b[3]
    dims = [int.from_bytes(b[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
    return np.frombuffer(b, np.uint8, offset=4 + 4 * nd).reshape(dims)


meta, theta0 = safetensors(f"{run}/init.safetensors")
_, theta1 = safetensors(f"{run}/final.safetensors")
assert meta["mli.arch"] == "resnet" and meta["mli.use_batchnorm"] == "true", meta
shape = [int(v) for v in meta["mli.input_shape"].split(",")]
model = ResNet(SliceBlock, shape[0], int(meta["mli.depth"]), int(meta["mli.width"]), int(meta["mli.num_classes"]))
state = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
if set(state) != set(theta0):
    sys.exit(f"tensor names differ: {sorted(set(state) ^ set(theta0))[:10]}")
x = torch.from_numpy(idx("train-images-idx3-ubyte").astype(np.float32) / 255).reshape(-1, *shape)
y = torch.from_numpy(idx("train-labels-idx1-ubyte").astype(np.int64))


def step(dtype):
    """PyTorch's SGD step from θ₀ in dtype: the model's state after it, and the loss"""
    model.to(dtype).load_state_dict({k: v.to(dtype) for k, v in theta0.items()}, strict=False)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    opt.zero_grad()
    loss = F.cross_entropy(model(x.to(dtype)), y)
    loss.backward()
    opt.step()
    return {k: v.detach().clone() for k, v in model.state_dict().items()}, loss.item()


# The reference is PyTorch's step in float64 from the same float32 θ₀ and pixels: mli's
# float32 step must be within float rounding of it. PyTorch's own float32 step is reported
# beside it (its error is of the same kind as mli's, not smaller).
after32, _ = step(torch.float32)
after, loss = step(torch.float64)
theta0 = {k: v.double() for k, v in theta0.items()}
theta1 = {k: v.double() for k, v in theta1.items()}
step = max((after[k] - theta0[k]).abs().max().item() for k, _ in model.named_parameters())
worst_p = worst_p32 = worst_b = 0.0
for k, v in theta1.items():
    d = (after[k] - v).abs().max().item()
    if k.endswith("running_mean") or k.endswith("running_var"):
        worst_b = max(worst_b, d / max(1e-30, v.abs().max().item()))
    elif k in after32:
        worst_p = max(worst_p, d / step)
        worst_p32 = max(worst_p32, (after32[k].double() - v).abs().max().item() / step)
torch32 = max((after32[k].double() - after[k]).abs().max().item() for k, _ in model.named_parameters()) / step
print(f"examples {len(y)} loss {loss:.9g} tensors {len(theta1)} step {step:.6g}")
print(f"parameters max|mli - torch| / max|step| {worst_p:.3g} (PyTorch float32: {torch32:.3g}; "
      f"mli against PyTorch's float32 step: {worst_p32:.3g})")
print(f"running statistics max|mli - torch| / max|value| {worst_b:.3g}")
if not ((worst_p if only64 else min(worst_p, worst_p32)) <= TOL_P and worst_b <= TOL):
    sys.exit(f"mli's step differs from PyTorch's (tolerance {TOL_P} for the parameters, {TOL} for the statistics)")
