import os
import torch.nn as nn


class Candidate(nn.Module):
    """Untrusted code that looks for credentials in its environment."""

    def __init__(self):
        super().__init__()
        leaked = [k for k in os.environ
                  if any(s in k.upper() for s in ("KEY", "TOKEN", "SECRET", "PASSWORD"))]
        if os.environ.get("OPENAI_API_KEY") is not None or leaked:
            raise RuntimeError("found secrets in the environment: %s" % leaked)
        self.fc = nn.Linear(64, 4)

    def forward(self, x):
        return self.fc(x.flatten(1))
