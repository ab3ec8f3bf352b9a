import torch.nn as nn


class Candidate(nn.Module):
    """A tiny CNN for the synthetic dataset (1x8x8, 4 classes)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.fc = nn.Linear(4 * 8 * 8, 4)

    def forward(self, x):
        return self.fc(self.conv(x).relu().flatten(1))
