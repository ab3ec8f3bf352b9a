from dataclasses import dataclass, field

import torch.nn as nn


@dataclass(eq=False)
class MLPBlock(nn.Module):
    dim: int = 16
    hidden: int = 32
    drop_rate: float = 0.0

    def __post_init__(self):
        super().__init__()
        self.fc1 = nn.Conv2d(self.dim, self.hidden, 1)
        self.act = nn.GELU()
        self.fc2 = nn.Conv2d(self.hidden, self.dim, 1)

    def forward(self, x):
        return x + self.fc2(self.act(self.fc1(x)))
