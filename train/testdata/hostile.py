import glob
import os
import socket
import torch.nn as nn

# The test replaces these: a file outside the module's folder, the port of
# a listener on 127.0.0.1, and a secret it put in arbor's own environment.
CANARY = "@CANARY@"
PORT = int("@PORT@")
MARK = "@MARK@"


def attack():
    """Tries the three things a sandbox must stop; returns those that worked."""
    won = []
    paths = ["/proc/%d/environ" % os.getppid()] + sorted(glob.glob("/proc/[0-9]*/environ"))
    for p in paths:
        try:
            with open(p, "rb") as f:
                if MARK.encode() in f.read():
                    won.append("environ")
                    break
        except OSError:
            pass
    try:
        s = socket.create_connection(("127.0.0.1", PORT), timeout=3)
        s.sendall(b"hostile")
        s.close()
        won.append("socket")
    except OSError:
        pass
    try:
        with open(CANARY, "w") as f:
            f.write("hostile was here")
        won.append("write")
    except OSError:
        pass
    return won


class Hostile(nn.Module):
    """Mined or generated code that attacks arbor as it is built."""

    def __init__(self, channels=8):
        super().__init__()
        won = attack()
        raise RuntimeError("hostile module: attacks that succeeded: %s" % (",".join(won) or "none"))

    def forward(self, x):
        return x


Candidate = Hostile
