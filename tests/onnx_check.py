#!/usr/bin/python3
"""Checks an ONNX file that `mli export` wrote against the safetensors file it came from, with
a protobuf decoder of its own (plain Python, no onnx or numpy module): a reader independent of
mli's. Usage: onnx_check.py MODEL.onnx MODEL.safetensors. Prints the ONNX nodes; exits 1 with
the reason when the file is not the model: every safetensors tensor must be an initializer of
the same name, shape and float32 bytes, with no other initializer; the graph must have one
FLOAT input [batch, input_size] and one output, producer mli, the default opset 15, and every
node input must be defined before it is used."""
import json
import struct
import sys


def varint(b, i):
    v = s = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << s
        s += 7
        if c < 0x80:
            return v, i


def fields(b):
    """(field number, wire type, value) of one message: ints for varints and fixed, bytes
    for length-delimited fields."""
    i, out = 0, []
    while i < len(b):
        key, i = varint(b, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = varint(b, i)
        elif wt == 1:
            v, i = b[i:i + 8], i + 8
        elif wt == 2:
            n, i = varint(b, i)
            v, i = b[i:i + n], i + n
        elif wt == 5:
            v, i = b[i:i + 4], i + 4
        else:
            sys.exit(f"wire type {wt} in field {num}")
        out.append((num, wt, v))
    return out


def get(fs, num):
    return [v for n, _, v in fs if n == num]


def ints(fs, num):
    """a repeated int64 field, packed or not"""
    out = []
    for n, wt, v in fs:
        if n != num:
            continue
        if wt == 0:
            out.append(v)
        else:
            i = 0
            while i < len(v):
                x, i = varint(v, i)
                out.append(x)
    return out


def fail(msg):
    print(f"onnx_check: {msg}", file=sys.stderr)
    sys.exit(1)


onnx_path, st_path = sys.argv[1], sys.argv[2]
model = fields(open(onnx_path, "rb").read())
producer = get(model, 2)[0].decode()
version = get(model, 3)[0].decode() if get(model, 3) else ""
opsets = {get(fields(o), 1)[0].decode() if get(fields(o), 1) else "": get(fields(o), 2)[0] for o in get(model, 8)}
graph = fields(get(model, 7)[0])
if producer != "mli" or not version:
    fail(f"producer '{producer}' version '{version}'")
if opsets.get("") != 15:
    fail(f"opsets {opsets}")

inits = {}
for t in get(graph, 5):
    tf = fields(t)
    name = get(tf, 8)[0].decode()
    if get(tf, 2) != [1]:
        fail(f"initializer {name}: data type {get(tf, 2)}, expected FLOAT (1)")
    inits[name] = (ints(tf, 1), get(tf, 9)[0] if get(tf, 9) else b"")


def value(v):
    vf = fields(v)
    name = get(vf, 1)[0].decode()
    tensor = fields(get(fields(get(vf, 2)[0]), 1)[0])  # TypeProto.tensor_type
    dims = []
    for d in get(fields(get(tensor, 2)[0]), 1):  # TensorShapeProto.dim
        df = fields(d)
        dims.append(get(df, 2)[0].decode() if get(df, 2) else get(df, 1)[0])
    return name, get(tensor, 1)[0], dims


ins, outs = [value(v) for v in get(graph, 11)], [value(v) for v in get(graph, 12)]

raw = open(st_path, "rb").read()
hlen = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + hlen])
meta = header.pop("__metadata__", {})
if len(ins) != 1 or ins[0][1] != 1 or ins[0][2] != ["batch", int(meta["mli.input_size"])]:
    fail(f"graph inputs {ins}")
nout = int(meta["mli.hsizes"].split(",")[-1])
if len(outs) != 1 or outs[0][2] != ["batch", nout]:
    fail(f"graph outputs {outs}")
for name, t in header.items():
    if name not in inits:
        fail(f"no initializer {name}")
    dims, data = inits.pop(name)
    lo, hi = t["data_offsets"]
    if t["dtype"] != "F32" or dims != t["shape"] or data != raw[8 + hlen + lo:8 + hlen + hi]:
        fail(f"initializer {name}: dims {dims} or its values differ from the safetensors tensor {t['shape']}")
if inits:
    fail(f"initializers not in the safetensors file: {sorted(inits)}")

defined = {ins[0][0]} | {name for name in header}
for nd in get(graph, 1):
    nf = fields(nd)
    op, name = get(nf, 4)[0].decode(), get(nf, 3)[0].decode() if get(nf, 3) else ""
    node_ins, node_outs = [s.decode() for s in get(nf, 1)], [s.decode() for s in get(nf, 2)]
    for s in node_ins:
        if s and s not in defined:
            fail(f"node {name} ({op}): input {s} is not defined before it")
    defined |= set(node_outs)
    attrs = {}
    for a in get(nf, 5):
        af = fields(a)
        an = get(af, 1)[0].decode()
        if get(af, 2):
            attrs[an] = round(struct.unpack("<f", get(af, 2)[0])[0], 6)
        elif get(af, 3):
            attrs[an] = get(af, 3)[0]
        else:
            attrs[an] = ints(af, 8)
    print(op, name, ",".join(node_ins), "->", ",".join(node_outs),
          " ".join(f"{k}={v}" for k, v in sorted(attrs.items())))
if outs[0][0] not in defined:
    fail(f"graph output {outs[0][0]} is not defined")
