import math

import torch.nn as nn

__all__ = ["ConvBN", "make_divisible"]

DEFAULT_MOMENTUM = 0.1


def make_divisible(v, divisor=8):
    return int(math.ceil(v / divisor) * divisor)


class ConvBN(nn.Module):
    """Convolution followed by batch norm.

    The second line of the docstring is not recorded.
    """

    def __init__(self, in_channels, out_channels, kernel_size=3, stride=1):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, make_divisible(out_channels), kernel_size, stride, kernel_size // 2, bias=False)
        self.bn = nn.BatchNorm2d(make_divisible(out_channels), momentum=DEFAULT_MOMENTUM)

    def forward(self, x):
        return self.bn(self.conv(x))
