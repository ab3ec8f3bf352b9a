from .resnet_like import BasicBlock, Bottleneck
from .vit_like import Block
from .convnext_like import ConvNeXtBlock
from .mobilenet_like import InvertedResidual
