import torch.nn as nn


class Candidate(nn.Module):
    def __init__(self):
        super().__init__()
        raise ValueError("bad constructor argument: width=-1")

    def forward(self, x):
        return x
