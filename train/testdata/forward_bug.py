import torch.nn as nn


class Candidate(nn.Module):
    """A bug that is not a shape mismatch: forward uses a missing attribute."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 4)

    def forward(self, x):
        return self.head(x.flatten(1))
