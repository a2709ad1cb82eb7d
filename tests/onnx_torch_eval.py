#!/usr/bin/python3
"""Runs an ONNX file that `mli export` wrote on a data set's test images with an interpreter
of its own (the onnx module reads the file, PyTorch computes each node in float64), and prints
the mean cross-entropy and the accuracy: an independent reading of what the exported graph
computes, from the raw pixels/255 (tests/e2e_export.sh compares them with the run's own test
loss). Usage: onnx_torch_eval.py MODEL.onnx DATA_DIR fashionmnist|cifar10. Optional: needs
python3-torch and python3-onnx."""
import sys

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper

path, data, dset = sys.argv[1:4]


def test_set():
    if dset == "cifar10":
        b = np.frombuffer(open(f"{data}/test_batch.bin", "rb").read(), np.uint8).reshape(-1, 3073)
        return b[:, 1:].reshape(-1, 3, 32, 32), b[:, 0]
    def idx(name):
        b = open(f"{data}/{name}", "rb").read()
        nd = b[3]
        dims = [int.from_bytes(b[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
        return np.frombuffer(b, np.uint8, offset=4 + 4 * nd).reshape(dims)
    return idx("t10k-images-idx3-ubyte")[:, None], idx("t10k-labels-idx1-ubyte")


def attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def pads4(p):  # ONNX's [top, left, bottom, right] as F.pad's (left, right, top, bottom)
    return (p[1], p[3], p[0], p[2])


def run(node, x, a):
    op = node.op_type
    if op in ("Sub", "Div", "Add"):
        return {"Sub": torch.sub, "Div": torch.div, "Add": torch.add}[op](x[0], x[1])
    if op == "Conv":
        w = x[1]
        y = F.pad(x[0], pads4(a["pads"]))
        return F.conv2d(y, w, x[2] if len(x) > 2 else None, a["strides"], 0, a["dilations"], a["group"])
    if op == "BatchNormalization":
        return F.batch_norm(x[0], x[3], x[4], x[1], x[2], False, 0.0, a["epsilon"])
    if op in ("Relu", "Tanh", "Sigmoid"):
        return {"Relu": torch.relu, "Tanh": torch.tanh, "Sigmoid": torch.sigmoid}[op](x[0])
    if op == "MaxPool":
        y = F.pad(x[0], pads4(a["pads"]), value=-float("inf"))
        return F.max_pool2d(y, a["kernel_shape"], a["strides"], 0, a.get("dilations", [1, 1]))
    if op == "AveragePool":
        p = a["pads"]
        assert a.get("count_include_pad", 0) == 1 or not any(p), "count_include_pad 0 with pads"
        return F.avg_pool2d(F.pad(x[0], pads4(p)), a["kernel_shape"], a["strides"], 0)
    if op == "Pad":
        p = [int(v) for v in x[1]]
        n = len(p) // 2  # F.pad lists the last axis first: (begin, end) pairs
        return F.pad(x[0], sum(([p[k], p[k + n]] for k in reversed(range(n))), []))
    if op == "GlobalAveragePool":
        return x[0].mean((2, 3), keepdim=True)
    if op == "ReduceMean":
        return x[0].mean(tuple(a["axes"]), keepdim=bool(a.get("keepdims", 1)))
    if op == "Flatten":
        return x[0].flatten(1)
    if op == "Reshape":
        return x[0].reshape([x[0].shape[0]] + [int(v) for v in x[1][1:]])
    if op == "Gemm":
        return F.linear(x[0], x[1] if a.get("transB", 0) else x[1].T, x[2] if len(x) > 2 else None)
    if op == "MatMul":
        return x[0] @ x[1]
    sys.exit(f"onnx_torch_eval: op_type {op} is not interpreted")


m = onnx.load(path)
vals = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in m.graph.initializer}
vals = {k: v.double() if v.is_floating_point() else v for k, v in vals.items()}
img, lab = test_set()
x = torch.from_numpy(img.astype(np.float32) / 255).double()
vals[m.graph.input[0].name] = x.reshape(x.shape[0], *[d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim[1:]])
for node in m.graph.node:  # mli writes the nodes in an execution order
    vals[node.output[0]] = run(node, [vals[i] for i in node.input if i], attrs(node))
z, y = vals[m.graph.output[0].name], torch.from_numpy(lab.astype(np.int64))
print(f"test_loss {F.cross_entropy(z, y).item():.9g}")
print(f"test_acc {(z.argmax(1) == y).double().mean().item():.9g}")
print("ops " + ",".join(sorted({n.op_type for n in m.graph.node})))
