from .layers import *
from torch.nn import *


class UsesStar(ConvBN):
    def forward(self, x):
        return super().forward(x) + make_divisible(1)


class StarBase(Module):
    def forward(self, x):
        return x
