from typing import TYPE_CHECKING

import torch.nn as nn

try:
    from torch.nn import SiLU as Act
except ImportError:  # very old torch
    from torch.nn import ReLU as Act

try:
    from .accelerated import fast_gate
except ImportError:
    fast_gate = None

if TYPE_CHECKING:
    from torch import Tensor


class Gate(nn.Module):
    def __init__(self, channels, reduction=4):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, channels // reduction, 1)
        self.act = Act()
        self.fc2 = nn.Conv2d(channels // reduction, channels, 1)

    def forward(self, x: "Tensor") -> "Tensor":
        if fast_gate is not None:
            return fast_gate(x)
        s = x.mean((2, 3), keepdim=True)
        return x * self.fc2(self.act(self.fc1(s))).sigmoid()
