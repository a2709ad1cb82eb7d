#!/usr/bin/python3
"""PyTorch reference timings for `make bench`, on the same CPU and data as mli.

Optional: runs only where python3-torch is installed (never a build or test dependency).
Times (1) one epoch of SGD training of FCNet 784-1024-1024-10 (relu, batch 512, lr 0.1,
momentum 0.9) on the 60,000 FashionMNIST training images, and (2) the loss/accuracy curves
at 50 alphas on the 60,000 + 10,000 images, evaluated the straightforward way (forward pass
at each alpha, batches of 10,000, no_grad). Prints "torch_KEY VALUE" lines. A second argument "epoch" stops after the training epoch.
"""
import gzip
import sys
import time

import numpy as np
import torch
import torch.nn as nn

ROOT = "/usr/share/datasets/fashion-mnist"


def idx(name):
    with gzip.open(f"{ROOT}/{name}", "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def fcnet(sizes):
    layers, prev = [], 784
    for i, h in enumerate(sizes):
        if i:
            layers.append(nn.ReLU())
        layers.append(nn.Linear(prev, h))
        prev = h
    return nn.Sequential(*layers)


def main():
    torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
    torch.manual_seed(0)
    xtr = torch.from_numpy(idx("train-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32) / 255)
    ytr = torch.from_numpy(idx("train-labels-idx1-ubyte.gz").astype(np.int64))
    xte = torch.from_numpy(idx("t10k-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32) / 255)
    yte = torch.from_numpy(idx("t10k-labels-idx1-ubyte.gz").astype(np.int64))
    net = fcnet([1024, 1024, 10])
    theta0 = [p.detach().clone() for p in net.parameters()]
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    t = time.perf_counter()
    perm = torch.randperm(len(xtr))
    for i in range(0, len(xtr), 512):
        b = perm[i:i + 512]
        opt.zero_grad()
        loss = loss_fn(net(xtr[b]), ytr[b])
        loss.backward()
        opt.step()
    print(f"torch_epoch_seconds {time.perf_counter() - t:.2f}", flush=True)
    if len(sys.argv) > 2 and sys.argv[2] == "epoch":
        return

    theta1 = [p.detach().clone() for p in net.parameters()]
    t = time.perf_counter()
    with torch.no_grad():
        for a in np.linspace(0, 1, 50):
            for p, p0, p1 in zip(net.parameters(), theta0, theta1):
                p.copy_((1 - a) * p0 + a * p1)
            for x, y in ((xtr, ytr), (xte, yte)):
                for i in range(0, len(x), 10000):
                    out = net(x[i:i + 10000])
                    loss_fn(out, y[i:i + 10000]).item()
                    (out.argmax(1) == y[i:i + 10000]).sum().item()
    print(f"torch_curves_seconds {time.perf_counter() - t:.2f}", flush=True)


if __name__ == "__main__":
    main()
