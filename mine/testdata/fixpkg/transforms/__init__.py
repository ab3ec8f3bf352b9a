from .functional import *
from .auto import *
