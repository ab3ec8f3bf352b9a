from torch import nn
import torch


class ViaFromImport(nn.Module):
    def forward(self, x):
        return x * 2


class ViaTorchDotted(torch.nn.Module):
    def forward(self, x):
        return torch.tanh(x)
