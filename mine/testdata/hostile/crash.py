"""Modules that take their probe process down; each may cost only itself."""
import ctypes
import os

import torch.nn as nn


class Segfault(nn.Module):
    def __init__(self, channels):
        super().__init__()
        ctypes.string_at(0)

    def forward(self, x):
        return x


class HardExit(nn.Module):
    def forward(self, x):
        os._exit(3)


class Hang(nn.Module):
    def forward(self, x):
        while True:
            pass


class DeafHang(nn.Module):
    """Ignores the probe's soft time limit: only the parent's kill ends it."""

    def forward(self, x):
        import signal
        signal.signal(signal.SIGPROF, signal.SIG_IGN)
        while True:
            pass
