#!/usr/bin/python3
"""Cross-check helper for tests/e2e_torch.sh (runs only where python3-torch is installed):
builds two reference FCNets (init and a perturbed 'final'), saves their state_dicts, and
prints PyTorch's mean cross-entropy of the init on the first N training images and of the
final (and its accuracy) on the 10,000 test images."""
import gzip
import sys

import numpy as np
import torch
import torch.nn as nn

out, n, act = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ROOT = "/usr/share/datasets/fashion-mnist"


def idx(name):
    data = gzip.open(f"{ROOT}/{name}").read()
    nd = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * nd).reshape(dims)


class FCNet(nn.Module):
    def __init__(self):
        super().__init__()
        a = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}[act]
        self.layers = nn.Sequential(nn.Linear(784, 64), a(), nn.Linear(64, 32), a(), nn.Linear(32, 10))

    def forward(self, x):
        return self.layers(x)


torch.manual_seed(3)
init, final = FCNet(), FCNet()
with torch.no_grad():
    for p, q in zip(final.parameters(), init.parameters()):
        p.copy_(q + 0.3 * torch.randn_like(q))
torch.save(init.state_dict(), f"{out}/init.pt")
torch.save(final.state_dict(), f"{out}/final.pt")
xtr = torch.from_numpy(idx("train-images-idx3-ubyte.gz")[:n].reshape(-1, 784).astype(np.float32) / 255)
ytr = torch.from_numpy(idx("train-labels-idx1-ubyte.gz")[:n].astype(np.int64))
xte = torch.from_numpy(idx("t10k-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32) / 255)
yte = torch.from_numpy(idx("t10k-labels-idx1-ubyte.gz").astype(np.int64))
ce = nn.CrossEntropyLoss()
with torch.no_grad():
    print(f"init_train_loss {ce(init(xtr), ytr).item():.9g}")
    print(f"final_test_loss {ce(final(xte), yte).item():.9g}")
    print(f"final_test_acc {(final(xte).argmax(1) == yte).float().mean().item():.9g}")
