import torch
import torch.nn as nn


class Candidate(nn.Module):
    """Asks for 1 EiB in __init__: more than any machine's address space, so
    the allocation fails even where the kernel overcommits memory."""

    def __init__(self):
        super().__init__()
        self.huge = nn.Parameter(torch.empty(2 ** 60, dtype=torch.uint8), requires_grad=False)

    def forward(self, x):
        return x.flatten(1)[:, :4]
