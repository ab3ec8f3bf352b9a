import torch
import torch.nn as nn

EPS = 1e-6


class ChannelNorm(nn.Module):
    def __init__(self, channels, eps=EPS):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(1, channels, 1, 1))
        self.eps = eps

    def forward(self, x):
        return self.weight * x / (x.pow(2).mean(1, keepdim=True) + self.eps).sqrt()
