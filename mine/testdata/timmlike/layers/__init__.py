from ._fx import register_notrace_module
from .helpers import make_divisible, to_2tuple
from .drop import DropPath, drop_path
from .mlp import Mlp, GluMlp, ConvMlp
from .attention import Attention
from .layer_scale import LayerScale
from .norm import LayerNorm2d
from .conv_bn_act import ConvNormAct
from .squeeze_excite import SEModule
