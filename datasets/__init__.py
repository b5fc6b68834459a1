"""The project's own benchmark data: generators of known PDEs, loaders of real data, and small
samples of real data shipped with the package (:func:`open_sample`).

In the repository this is the top-level folder ``datasets/``; it installs as
``discover.datasets``.

>>> from discover.datasets import make_dataset
>>> ds = make_dataset("advection_diffusion", nx=64, nt=21)
>>> ds["u"].dims, ds.attrs["true_equation"]
(('t', 'x'), 'u_t = -1.0*u_x + 0.05*u_xx')
"""

from .generators import GENERATORS, Problem, generate, make_dataset
from .pdefind import PDEFIND, load_pdefind, shared_data_dir
from .samples import SAMPLES, open_sample, sample_path, write_sample

__all__ = [
    "GENERATORS",
    "PDEFIND",
    "SAMPLES",
    "Problem",
    "generate",
    "load_pdefind",
    "make_dataset",
    "open_sample",
    "sample_path",
    "shared_data_dir",
    "write_sample",
]
