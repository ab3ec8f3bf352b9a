"""A small package written for arbor's mining tests."""
from .layers import *
from .resnet import BasicBlock
