import torch
import torch.nn as nn

from ..layers import DropPath, LayerNorm2d, Mlp, ConvMlp


class ConvNeXtBlock(nn.Module):
    """Depthwise 7x7 convolution, norm and an inverted MLP, with a layer scale."""

    def __init__(self, in_chs, out_chs=None, kernel_size=7, stride=1, dilation=1, mlp_ratio=4, conv_mlp=False,
                 conv_bias=True, ls_init_value=1e-6, act_layer=nn.GELU, drop_path=0.):
        super().__init__()
        out_chs = out_chs or in_chs
        self.use_conv_mlp = conv_mlp
        self.conv_dw = nn.Conv2d(in_chs, out_chs, kernel_size, stride=stride, padding=dilation * (kernel_size - 1) // 2,
                                 dilation=dilation, groups=in_chs, bias=conv_bias)
        self.norm = LayerNorm2d(out_chs) if conv_mlp else nn.LayerNorm(out_chs, eps=1e-6)
        mlp_layer = ConvMlp if conv_mlp else Mlp
        self.mlp = mlp_layer(out_chs, int(mlp_ratio * out_chs), act_layer=act_layer)
        self.gamma = nn.Parameter(ls_init_value * torch.ones(out_chs)) if ls_init_value is not None else None
        self.drop_path = DropPath(drop_path) if drop_path > 0. else nn.Identity()

    def forward(self, x):
        shortcut = x
        x = self.conv_dw(x)
        if self.use_conv_mlp:
            x = self.norm(x)
            x = self.mlp(x)
        else:
            x = x.permute(0, 2, 3, 1)
            x = self.norm(x)
            x = self.mlp(x)
            x = x.permute(0, 3, 1, 2)
        if self.gamma is not None:
            x = x.mul(self.gamma.reshape(1, -1, 1, 1))
        if shortcut.shape == x.shape:
            x = self.drop_path(x) + shortcut
        return x
