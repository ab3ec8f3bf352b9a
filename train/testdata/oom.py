import torch
import torch.nn as nn


class Candidate(nn.Module):
    """Asks for a 40 TB weight tensor."""

    def __init__(self):
        super().__init__()
        self.huge = nn.Parameter(torch.empty(10_000_000, 1_000_000))

    def forward(self, x):
        return x.flatten(1)[:, :4]
