import torch.nn as nn

from ..layers import DropPath, SEModule, make_divisible


class InvertedResidual(nn.Module):
    """MobileNetV2-style block: 1x1 expansion, depthwise conv, 1x1 projection."""

    def __init__(self, in_chs, out_chs, dw_kernel_size=3, stride=1, exp_ratio=6.0, se_layer=None,
                 act_layer=nn.ReLU, norm_layer=nn.BatchNorm2d, drop_path_rate=0.):
        super().__init__()
        mid_chs = make_divisible(in_chs * exp_ratio)
        self.has_skip = in_chs == out_chs and stride == 1
        self.conv_pw = nn.Conv2d(in_chs, mid_chs, 1, bias=False)
        self.bn1 = norm_layer(mid_chs)
        self.act1 = act_layer(inplace=True)
        self.conv_dw = nn.Conv2d(mid_chs, mid_chs, dw_kernel_size, stride=stride, padding=dw_kernel_size // 2,
                                 groups=mid_chs, bias=False)
        self.bn2 = norm_layer(mid_chs)
        self.act2 = act_layer(inplace=True)
        self.se = se_layer(mid_chs) if se_layer else nn.Identity()
        self.conv_pwl = nn.Conv2d(mid_chs, out_chs, 1, bias=False)
        self.bn3 = norm_layer(out_chs)
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate else nn.Identity()

    def forward(self, x):
        shortcut = x
        x = self.act1(self.bn1(self.conv_pw(x)))
        x = self.act2(self.bn2(self.conv_dw(x)))
        x = self.se(x)
        x = self.bn3(self.conv_pwl(x))
        if self.has_skip:
            x = self.drop_path(x) + shortcut
        return x
