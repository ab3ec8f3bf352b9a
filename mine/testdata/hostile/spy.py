import os

import torch.nn as nn


class EnvSpy(nn.Module):
    """Usable only when the probe hides secrets and runs in its own dir."""

    def forward(self, x):
        leaked = [k for k in os.environ if any(s in k.upper() for s in ("KEY", "TOKEN", "SECRET", "PASSWORD"))]
        if leaked:
            raise RuntimeError("environment leaks %s" % leaked)
        if "arbor-probe-" not in os.getcwd():
            raise RuntimeError("probe runs in %s, not its own directory" % os.getcwd())
        print("mined code printing to stdout must not break the protocol")
        return x


class Hog(nn.Module):
    """Allocates far beyond the probe's memory cap."""

    def forward(self, x):
        hoard = bytearray(64 << 30)
        return x + len(hoard)
