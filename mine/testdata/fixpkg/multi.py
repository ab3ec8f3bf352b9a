import torch
import torch.nn as nn


class Fuse(nn.Module):
    def forward(self, x, y):
        return x + y


class CrossAttention(nn.Module):
    def __init__(self, dim, num_heads=2):
        super().__init__()
        self.attn = nn.MultiheadAttention(dim, num_heads, batch_first=True)

    def forward(self, q, k, v, mask=None):
        return self.attn(q, k, v, attn_mask=mask)[0]


class Variadic(nn.Module):
    def forward(self, *xs):
        return torch.stack(xs).sum(0)
