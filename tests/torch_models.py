"""The PyTorch side of the CNN cross-checks and benchmarks (optional: needs python3-torch), one
definition of each network of src/nn/arch_cnn.c, shared by tests/torch_resnet_step.py,
tests/torch_resnet_onnx.py and bench/torch_cnn.py.

ResNet(block, ...): the CIFAR ResNet (widths 16/32/64 by stage, conv3x3 without bias, batch
norm, relu, the mean over H×W, Linear), its state_dict names those of mli's model files
(conv1, bn1, layer{s}.{j}.conv1 …, layer{s}.{j}.downsample.bn0, fc). The shortcut of a block
that changes the width or the stride is its block class's:
  SliceBlock  option A as mli builds it: x[:, :, ::2, ::2], bn0, zero channels appended (F.pad);
  PoolBlock   the same values, subsampled by avg_pool2d(x, 1, 2) (another ONNX form of it);
  ConvBlock   option B: a 1×1 convolution of stride 2 and batch norm.
vgg(): three blocks conv 3x3 (bias) relu maxpool 2, widths 64/128/256, then Linear."""
import torch.nn as nn
import torch.nn.functional as F


class SliceBlock(nn.Module):
    def __init__(self, cin, k, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, k, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(k)
        self.conv2 = nn.Conv2d(k, k, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(k)
        self.extra, self.stride = k - cin, stride
        if stride != 1 or cin != k:
            self.downsample = nn.Module()
            self.downsample.bn0 = nn.BatchNorm2d(cin)

    def subsample(self, x):
        return x[:, :, ::self.stride, ::self.stride]

    def shortcut(self, x):
        if not hasattr(self, "downsample"):
            return x
        return F.pad(self.downsample.bn0(self.subsample(x)), (0, 0, 0, 0, 0, self.extra))

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(y + self.shortcut(x))


class PoolBlock(SliceBlock):
    def subsample(self, x):
        return F.avg_pool2d(x, 1, self.stride)


class ConvBlock(SliceBlock):
    def __init__(self, cin, k, stride):
        super().__init__(cin, k, stride)
        if hasattr(self, "downsample"):
            self.downsample = nn.Sequential(nn.Conv2d(cin, k, 1, stride, bias=False), nn.BatchNorm2d(k))

    def shortcut(self, x):
        return self.downsample(x) if hasattr(self, "downsample") else x


class ResNet(nn.Module):
    def __init__(self, block=SliceBlock, cin=1, depth=20, width=16, nout=10):
        super().__init__()
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(cin, width, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        c = width
        for s in range(1, 4):
            k = width << (s - 1)
            blocks = []
            for j in range(n):
                blocks.append(block(c, k, 2 if s > 1 and j == 0 else 1))
                c = k
            setattr(self, f"layer{s}", nn.Sequential(*blocks))
        self.fc = nn.Linear(c, nout)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(x.mean((2, 3)))


def vgg(width=64, depth=3, cin=1, hw=28, nout=10):
    layers = []
    for b in range(depth):
        cout = width << min(b, 3)
        layers += [nn.Conv2d(cin, cout, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(2)]
        cin, hw = cout, hw // 2
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(cin * hw * hw, nout))
