"""discover: find the partial differential equation hidden in measured data.

>>> import discover
>>> from discover.datasets import make_dataset
>>> result = discover.find(make_dataset("heat", nx=64, nt=41), "u")
>>> print(result)
u_t = 0.1*u_xx
"""

from ._version import __version__
from .equation import Equation
from .find import Discovery, find
from .io import DataError, Samples, load
from .library import Library

__all__ = [
    "DataError",
    "Discovery",
    "Equation",
    "Library",
    "Samples",
    "__version__",
    "find",
    "load",
]
