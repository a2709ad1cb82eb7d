#!/usr/bin/python3
"""PyTorch reference timings for the CNN section of `make bench`, on the same CPU and data as mli.

Optional: runs only where python3-torch is installed (never a build or test dependency).
The models are the graphs src/nn/arch_cnn.c builds (FashionMNIST, 1x28x28, 10 classes), from
tests/torch_models.py:
  resnet: ResNet-20 of the CIFAR reference, widths 16/32/64, batch norm, option-A shortcuts
          (1x1 stride-2 average pool, batch norm over its channels, zero channels appended);
  vgg:    three blocks conv 3x3 (bias) relu maxpool 2, widths 64/128/256, then Linear.
Usage: torch_cnn.py THREADS train ARCH N   one epoch of SGD (lr 0.1, momentum 0.9, batch 128)
                                           on the first N training images: torch_ARCH_epoch_seconds
       torch_cnn.py THREADS curves N        ResNet-20 loss curve at 50 alphas over the first N
                                           training images, the straightforward way: at each
                                           alpha, batch-norm statistics reset and re-estimated
                                           by one train-mode pass in batches of 128 (momentum
                                           0.1, as mli analyze's default ema), then an eval-mode
                                           pass (no_grad): torch_cnn_curves_seconds
"""
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from torch_compare import idx  # noqa: E402  (FashionMNIST's IDX files)
from torch_models import PoolBlock, ResNet, vgg  # noqa: E402  (the networks of src/nn/arch_cnn.c)

def train_epoch(net, x, y):
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    net.train()
    t = time.perf_counter()
    perm = torch.randperm(len(x))
    for i in range(0, len(x), 128):
        b = perm[i:i + 128]
        opt.zero_grad()
        loss_fn(net(x[b]), y[b]).backward()
        opt.step()
    return time.perf_counter() - t


def curves(net, theta0, theta1, x, y):
    loss_fn = nn.CrossEntropyLoss(reduction="sum")
    t = time.perf_counter()
    with torch.no_grad():
        for a in np.linspace(0, 1, 50):
            for p, p0, p1 in zip(net.parameters(), theta0, theta1):
                p.copy_((1 - a) * p0 + a * p1)
            for m in net.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.reset_running_stats()
            net.train()
            for i in range(0, len(x) - 1, 128):
                net(x[i:i + 128])
            net.eval()
            total = 0.0
            for i in range(0, len(x), 512):
                total += loss_fn(net(x[i:i + 512]), y[i:i + 512]).item()
    return time.perf_counter() - t


def main():
    torch.set_num_threads(int(sys.argv[1]))
    torch.manual_seed(0)
    what = sys.argv[2]
    n = int(sys.argv[-1])
    x = torch.from_numpy(idx("train-images-idx3-ubyte.gz")[:n].reshape(-1, 1, 28, 28).astype(np.float32) / 255)
    y = torch.from_numpy(idx("train-labels-idx1-ubyte.gz")[:n].astype(np.int64))
    if what == "train":
        arch = sys.argv[3]
        net = ResNet(PoolBlock) if arch == "resnet" else vgg()
        print(f"torch_{arch}_epoch_seconds {train_epoch(net, x, y):.2f}", flush=True)
    else:
        net = ResNet(PoolBlock)
        theta0 = [p.detach().clone() for p in net.parameters()]
        train_epoch(net, x, y)
        theta1 = [p.detach().clone() for p in net.parameters()]
        print(f"torch_cnn_curves_seconds {curves(net, theta0, theta1, x, y):.2f}", flush=True)


if __name__ == "__main__":
    main()
