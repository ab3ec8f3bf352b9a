import torch.nn as nn


class Candidate(nn.Module):
    def __init__(self)
        super().__init__()
