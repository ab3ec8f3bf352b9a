import torch.nn as nn
import torch.nn.functional as F

# A hand-written CIFAR-style ResNet (He et al. 2016, option B shortcuts):
# DEPTH = 6n+2, stages of 16/32/64 channels. Used until the tree package's
# seed renderer is available. IN_CHANNELS and CLASSES fit CIFAR-10.
DEPTH = 32
IN_CHANNELS = 3
CLASSES = 10


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class Candidate(nn.Module):
    def __init__(self):
        super().__init__()
        n = (DEPTH - 2) // 6
        self.stem = nn.Sequential(nn.Conv2d(IN_CHANNELS, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        layers, cin = [], 16
        for cout, stride in ((16, 1), (32, 2), (64, 2)):
            for i in range(n):
                layers.append(BasicBlock(cin, cout, stride if i == 0 else 1))
                cin = cout
        self.layers = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, CLASSES)

    def forward(self, x):
        return self.fc(self.pool(self.layers(self.stem(x))).flatten(1))
