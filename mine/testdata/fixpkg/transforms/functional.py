from enum import Enum


class Mode(Enum):
    NEAREST = "nearest"
    BILINEAR = "bilinear"


def resize_mode(mode: Mode) -> str:
    return mode.value
