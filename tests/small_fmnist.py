#!/usr/bin/python3
"""Writes a small FashionMNIST folder for the end-to-end tests: the first NTRAIN training and
NTEST test images and labels of /usr/share/datasets/fashion-mnist, as uncompressed IDX files
(the header's count set to the new size), so that a run's end-of-epoch test evaluation and its
analyses take a second. Usage: small_fmnist.py OUT_DIR NTRAIN NTEST."""
import gzip
import os
import sys

out, ntrain, ntest = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
src = "/usr/share/datasets/fashion-mnist"
os.makedirs(out, exist_ok=True)
for name, n in (("train-images-idx3-ubyte", ntrain), ("train-labels-idx1-ubyte", ntrain),
                ("t10k-images-idx3-ubyte", ntest), ("t10k-labels-idx1-ubyte", ntest)):
    b = gzip.open(f"{src}/{name}.gz").read()
    nd, per = b[3], 1
    for i in range(1, nd):
        per *= int.from_bytes(b[4 + 4 * i:8 + 4 * i], "big")
    head = bytearray(b[:4 + 4 * nd])
    head[4:8] = n.to_bytes(4, "big")
    open(f"{out}/{name}", "wb").write(bytes(head) + b[4 + 4 * nd:4 + 4 * nd + n * per])
