import torch.nn as nn


def get_padding(kernel_size: int, stride: int = 1, dilation: int = 1) -> int:
    return ((stride - 1) + dilation * (kernel_size - 1)) // 2


class ConvNormAct(nn.Module):
    """Convolution, normalization and activation, each a constructor argument."""

    def __init__(self, in_channels, out_channels, kernel_size=1, stride=1, padding='', dilation=1, groups=1,
                 bias=False, apply_act=True, norm_layer=nn.BatchNorm2d, act_layer=nn.ReLU):
        super().__init__()
        if padding == '':
            padding = get_padding(kernel_size, stride, dilation)
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding,
                              dilation=dilation, groups=groups, bias=bias)
        self.bn = norm_layer(out_channels)
        self.act = act_layer() if apply_act else nn.Identity()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))
