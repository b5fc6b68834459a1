"""The project's own benchmark data: generators of known PDEs and loaders of real data.

In the repository this is the top-level folder ``datasets/``; it installs as
``discover.datasets``.

>>> from discover.datasets import make_dataset
>>> ds = make_dataset("advection_diffusion", nx=64, nt=21)
>>> ds["u"].dims, ds.attrs["true_equation"]
(('t', 'x'), 'u_t = -1.0*u_x + 0.05*u_xx')
"""

from .generators import GENERATORS, Problem, generate, make_dataset
from .pdefind import PDEFIND, load_pdefind, shared_data_dir

__all__ = [
    "GENERATORS",
    "PDEFIND",
    "Problem",
    "generate",
    "load_pdefind",
    "make_dataset",
    "shared_data_dir",
]
