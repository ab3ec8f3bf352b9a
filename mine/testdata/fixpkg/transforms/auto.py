"""The package's __init__ star-imports this file, which imports back from
the package: `from . import X` resolves through the __init__."""
import torch.nn as nn

from . import Mode, functional as F


class AutoMode(nn.Module):
    def __init__(self, mode: Mode = Mode.BILINEAR):
        super().__init__()
        self.mode = F.resize_mode(mode)

    def forward(self, x):
        return x
