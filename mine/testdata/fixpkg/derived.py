from .resnet import BasicBlock
from .resnet import BasicBlock as BB
from . import layers


class WideBlock(BasicBlock):
    """Inherits its constructor and forward from another file."""

    def extra_repr(self):
        return "wide"


class AliasedBase(BB):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)


class ViaModule(layers.ConvBN):
    pass
