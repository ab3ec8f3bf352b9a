import torch
import torch.nn as nn


class Candidate(nn.Module):
    """Trains until its logits blow up: the loss becomes NaN/inf."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 4)
        self.register_buffer("calls", torch.zeros(()))

    def forward(self, x):
        if self.training:
            self.calls += 1
        out = self.fc(x.flatten(1))
        if self.calls > 3:
            out = out * float("nan")
        return out
