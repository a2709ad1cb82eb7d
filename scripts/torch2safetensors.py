#!/usr/bin/python3
"""Convert a PyTorch state_dict of the reference FCNet into an mli model file.

usage: torch2safetensors.py MODEL.pt OUT.safetensors [--act-fn relu] [--loss-fn ce]

MODEL.pt holds a state_dict (torch.save(net.state_dict(), ...)) or a whole nn.Module, with the
reference's tensor names: layers.{i}.weight / bias, and for BatchNorm1d also running_mean,
running_var, num_batches_tracked. The architecture (input size, hsizes, batch norm) is read
from the shapes; the activation and the loss are not in a state_dict, so give them (defaults:
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


def convert(state, act_fn, loss_fn):
    names = [k for k in state if re.fullmatch(r"layers\.\d+\.(weight|bias|running_mean|running_var)", k)]
    if not names:
        raise SystemExit("no tensors named layers.{i}.weight/bias: is this the reference FCNet?")
    idx = sorted({int(k.split(".")[1]) for k in names})
    linear = [i for i in idx if state[f"layers.{i}.weight"].dim() == 2]
    bn = [i for i in idx if f"layers.{i}.running_mean" in state]
    hsizes = [int(state[f"layers.{i}.weight"].shape[0]) for i in linear]
    input_size = int(state[f"layers.{linear[0]}.weight"].shape[1])
    meta = {"mli.input_size": str(input_size), "mli.hsizes": ",".join(map(str, hsizes)),
            "mli.act_fn": act_fn, "mli.use_batchnorm": "true" if bn else "false",
            "mli.loss_fn": loss_fn, "mli.converted_from": "pytorch state_dict"}
    header, blobs, offset = {"__metadata__": meta}, [], 0
    for i in idx:
        for part in ("weight", "bias", "running_mean", "running_var"):
            key = f"layers.{i}.{part}"
            if key not in state:
                continue
            t = state[key].detach().to(torch.float32).contiguous().cpu()
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
