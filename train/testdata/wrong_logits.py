import torch.nn as nn


class Candidate(nn.Module):
    """Runs, but returns 7 logits instead of the job's 4 classes."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 7)

    def forward(self, x):
        return self.fc(x.flatten(1))
