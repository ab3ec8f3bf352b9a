import subprocess
import time
import torch.nn as nn

# PIDFILE is replaced by the test with a path it can read.
PIDFILE = "@PIDFILE@"


class Candidate(nn.Module):
    """Starts a grandchild that would outlive it, then never finishes."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 4)
        child = subprocess.Popen(["sleep", "300"])
        with open(PIDFILE + ".tmp", "w") as f:
            f.write(str(child.pid))
        import os
        os.replace(PIDFILE + ".tmp", PIDFILE)

    def forward(self, x):
        time.sleep(3600)
        return self.fc(x.flatten(1))
