import functools

import torch.nn as nn

REGISTRY = {}


def register(cls):
    REGISTRY[cls.__name__] = cls
    return cls


def traced(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)
    return wrapper


@register
class Registered(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.norm = nn.BatchNorm2d(channels)

    @traced
    def forward(self, x):
        return self.norm(x)


class Outer(nn.Module):
    class Inner(nn.Module):
        """Nested inside a module class."""

        def __init__(self, dim):
            super().__init__()
            self.scale = nn.Parameter(nn.init.ones_(nn.Parameter(__import__("torch").empty(dim, 1, 1))))

        def forward(self, x):
            return x * self.scale

    def __init__(self, dim):
        super().__init__()
        self.inner = Outer.Inner(dim)

    def forward(self, x):
        return self.inner(x)


class Holder:
    @register
    class HeldPool(nn.Module):
        def __init__(self, kernel_size=3):
            super().__init__()
            self.pool = nn.MaxPool2d(kernel_size, 1, kernel_size // 2)

        def forward(self, x):
            return self.pool(x)
