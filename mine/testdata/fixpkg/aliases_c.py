from torch.nn import Module as M
from torch.nn import Identity

Base = M


class ViaRenamedModule(M):
    def __init__(self, channels: int = 16):
        super().__init__()
        self.id = Identity()

    def forward(self, x):
        return self.id(x)


class ViaAssignedAlias(Base):
    def forward(self, x):
        return -x


class NotAModule:
    """A plain class is not mined."""


class AlsoNot(object):
    pass
