"""Large test fields written in several netCDF files, a slab of time steps at a time.

:func:`write_large` evaluates a generator with an exact solution (:data:`GENERATORS`,
``continuous_time``) a few time steps at a time and appends them to one file per block of
time steps, so that a field of 10⁸ or more values is written in bounded memory.  The files
open together with ``xarray.open_mfdataset`` (or ``discover find 'DIR/u_*.nc'``).

>>> import tempfile, xarray as xr
>>> d = tempfile.mkdtemp()
>>> paths = write_large(d, nt=20, nx=16, ny=12, n_files=3)
>>> len(paths), xr.open_mfdataset(paths)["u"].shape
(3, (20, 16, 12))
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .generators import GENERATORS, _grid

__all__ = ["write_large"]

#: bytes of the generator's work arrays per batch of time steps
BATCH_BYTES = 2 * 10**8


def write_large(
    directory: str | Path,
    *,
    problem: str = "advection_diffusion_2d",
    nt: int = 1000,
    nx: int = 1000,
    ny: int = 100,
    n_files: int = 10,
    noise: float = 0.0,
    seed: int = 0,
    dtype: str = "float32",
    prefix: str = "u",
) -> list[Path]:
    """Write ``problem``'s field on an ``nt × nx × ny`` grid to ``n_files`` netCDF files.

    Parameters
    ----------
    directory : path
        Created if missing; the files are ``{prefix}_000.nc`` … (time blocks, in order).
    problem : str
        A 2-D generator of :data:`datasets.generators.GENERATORS` with an exact solution.
    nt, nx, ny : int
        Grid size (times, x, y); the domain and time span are the generator's.
    n_files : int
        Files, each a block of consecutive time steps.
    noise : float
        Gaussian noise of standard deviation ``noise`` times the rms of the first time step
        (σ = p·rms(u₀), seeded per file).
    dtype : str
        Stored type of the field.

    Returns
    -------
    list of Path
    """
    import netCDF4

    prob = GENERATORS[problem]()
    if len(prob.space) != 2 or not prob.continuous_time:
        raise ValueError(f"{problem!r} is not a 2-D problem with an exact solution")
    (xa, xb), (ya, yb) = prob.space.values()
    xs = _grid(xa, xb, nx) if prob.periodic else np.linspace(xa, xb, nx)
    ys = _grid(ya, yb, ny) if prob.periodic else np.linspace(ya, yb, ny)
    t = np.linspace(0.0, prob.t_end, nt)
    rms = float(np.sqrt(np.mean(prob.evaluate(t[:1], xs, ys) ** 2)))
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    batch = max(1, BATCH_BYTES // (8 * nx * ny * 64))
    paths = []
    for k, block in enumerate(np.array_split(np.arange(nt), n_files)):
        path = out / f"{prefix}_{k:03d}.nc"
        rng = np.random.default_rng([seed, k])
        with netCDF4.Dataset(path, "w") as nc:
            nc.createDimension("t", block.size)
            nc.createDimension("x", nx)
            nc.createDimension("y", ny)
            for name, vals in (("t", t[block]), ("x", xs), ("y", ys)):
                nc.createVariable(name, "f8", (name,))[:] = vals
            var = nc.createVariable("u", dtype, ("t", "x", "y"))
            for i in range(0, block.size, batch):
                steps = block[i : i + batch]
                u = prob.evaluate(t[steps], xs, ys)
                if noise:
                    u = u + noise * rms * rng.normal(size=u.shape)
                var[i : i + steps.size] = u
            nc.true_equation = prob.equation
            nc.true_coefficients = json.dumps(prob.coefficients)
        paths.append(path)
    return paths
