#!/usr/bin/python3
"""Convert a PyTorch state_dict of the reference FCNet into an mli model file.

usage: torch2safetensors.py MODEL.pt OUT.safetensors [--act-fn relu] [--loss-fn ce]

MODEL.pt holds a state_dict (torch.save(net.state_dict(), ...)) or a whole nn.Module of a
sequential fully connected network: the reference FCNet (layers.{i}.weight / bias, and for
BatchNorm1d also running_mean, running_var, num_batches_tracked), a plain nn.Sequential
(0.weight, 2.weight, ...), or either under one prefix (net.0.weight). The Linear and
BatchNorm1d modules are taken in index order and renumbered onto the FCNet layout
(layers.{i}.*: Linear, then [BatchNorm1d], activation, Linear for each next layer), so modules
without tensors (activations, dropout) may sit anywhere. The architecture (input size,
hsizes, batch norm) is read from the shapes; the activation and the loss are not in a state_dict, so give them (defaults:
relu, ce). The output is safetensors (F32) with the architecture in __metadata__, which
`mli analyze`, `mli check --init A --final B` and every other command read.
Needs PyTorch (python3-torch); mli itself never does.
"""
import argparse
import json
import re
import struct
import sys

import torch


PARTS = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def modules(state):
    """The Linear and BatchNorm1d modules of a sequential network, in order: [(kind, {part: tensor})].

    Accepts the reference FCNet (layers.{i}.weight, ...), a plain nn.Sequential (0.weight,
    2.weight, ...) and the same under any common prefix (net.0.weight, module.layers.0.weight):
    the keys must be PREFIX{i}.{part} with one PREFIX; the indices give the order, so that
    activations, dropout and other modules without tensors may sit anywhere between."""
    keys = [k for k in state if k.rsplit(".", 1)[-1] in PARTS]
    pat = re.compile(r"(.*?)(\d+)\.(" + "|".join(PARTS) + r")")
    found = {}
    for k in keys:
        m = pat.fullmatch(k)
        if not m:
            raise SystemExit(f"tensor '{k}': expected PREFIX{{i}}.weight/bias/running_mean/running_var "
                             "(the reference FCNet's layers.{i}.*, or an nn.Sequential's {i}.*)")
        found.setdefault(m.group(1), {}).setdefault(int(m.group(2)), {})[m.group(3)] = state[k]
    if not found:
        raise SystemExit("no tensors named layers.{i}.weight/bias or {i}.weight/bias: "
                         "is this a sequential fully connected network (FCNet or nn.Sequential)?")
    if len(found) > 1:
        raise SystemExit("tensors under several prefixes (%s): expected one sequential network"
                         % ", ".join(repr(p) for p in sorted(found)))
    mods = []
    for i, parts in sorted(next(iter(found.values())).items()):
        if "weight" not in parts:
            raise SystemExit(f"module {i}: no weight")
        w = parts["weight"]
        kind = "linear" if w.dim() == 2 else "bn" if w.dim() == 1 and "running_mean" in parts else None
        if kind is None:
            raise SystemExit(f"module {i}: weight of shape {list(w.shape)} is neither Linear nor BatchNorm1d "
                             "(with running statistics): not a fully connected FCNet")
        mods.append((kind, parts))
    return mods


def fcnet_layout(mods):
    """Renumber onto the reference FCNet's nn.Sequential: Linear at 0, then for each next layer
    [BatchNorm1d], activation, Linear. Returns ({fcnet_index: parts}, linear indices, bn indices)."""
    kinds = [k for k, _ in mods]
    if kinds[0] != "linear" or kinds[-1] != "linear":
        raise SystemExit(f"modules {kinds}: an FCNet starts and ends with a Linear layer")
    use_bn = "bn" in kinds
    out, seq, i = {}, 0, 0
    linear, bn = [], []
    while i < len(mods):
        if mods[i][0] == "bn":
            raise SystemExit(f"modules {kinds}: batch norm must sit between two Linear layers")
        out[seq] = mods[i][1]
        linear.append(seq)
        i += 1
        if i == len(mods):
            break
        if use_bn:
            if mods[i][0] != "bn":
                raise SystemExit(f"modules {kinds}: with batch norm, every hidden layer has one")
            out[seq + 1] = mods[i][1]
            bn.append(seq + 1)
            i += 1
            seq += 3  # BatchNorm1d, activation, Linear
        else:
            seq += 2  # activation, Linear
    return out, linear, bn


def convert(state, act_fn, loss_fn):
    layers, linear, bn = fcnet_layout(modules(state))
    hsizes = [int(layers[i]["weight"].shape[0]) for i in linear]
    input_size = int(layers[linear[0]]["weight"].shape[1])
    meta = {"mli.input_size": str(input_size), "mli.hsizes": ",".join(map(str, hsizes)),
            "mli.act_fn": act_fn, "mli.use_batchnorm": "true" if bn else "false",
            "mli.loss_fn": loss_fn, "mli.converted_from": "pytorch state_dict"}
    header, blobs, offset = {"__metadata__": meta}, [], 0
    for i in sorted(layers):
        for part in ("weight", "bias", "running_mean", "running_var"):
            if part not in layers[i]:
                continue
            key = f"layers.{i}.{part}"
            t = layers[i][part].detach().to(torch.float32).contiguous().cpu()
            data = t.numpy().astype("<f4").tobytes()
            header[key] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
            blobs.append(data)
            offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-(8 + len(text)) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("model")
    ap.add_argument("out")
    ap.add_argument("--act-fn", default="relu", choices=["relu", "tanh", "sigmoid", "identity"])
    ap.add_argument("--loss-fn", default="ce", choices=["ce", "mse", "recon"])
    a = ap.parse_args()
    obj = torch.load(a.model, map_location="cpu")
    state = obj.state_dict() if hasattr(obj, "state_dict") else obj
    data = convert(state, a.act_fn, a.loss_fn)
    with open(a.out + ".tmp", "wb") as f:
        f.write(data)
    import os
    os.replace(a.out + ".tmp", a.out)
    print(f"{a.out}: {len(data)} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
