"""A small package written for arbor's mining tests in the style of timm
(pytorch-image-models): a layers package used through relative imports,
callable layer arguments (act_layer=nn.GELU), width rules
(make_divisible), token-sequence blocks and expansion-ratio bottlenecks.
It is not timm's code; it only uses the same idioms."""
from .layers import *
from .models import *
