import torch.nn as nn


class BeforeBreak(nn.Module):
    def forward(self, x):
        return x


class Broken(nn.Module):
    def __init__(self, a:
        self.x = (

class SwallowedByBreak(nn.Module):
    def forward(self, x):
        return x
