"""Learned baselines of :func:`discover.validate.validate`, looked up by name.

The plain baselines (persistence, the linear trend, the diurnal climatology) need no
training and live in :mod:`discover.validate`; a learned one is trained on the training
window's snapshots and run over the held-out window, so that a user sees what the
interpretable equation costs or gains against a network that only forecasts.

- ``neural-scheme``: the stable ResNet scheme of Alt et al. (2021), blocks
  ``u ← u − τ Dᵀ Φ(D u)`` (:mod:`discover.neural.scheme`), one forecast step per time step
  of the data.

Examples
--------
>>> check_baselines(["neural-scheme"])
('neural-scheme',)
>>> check_baselines(["lstm"])
Traceback (most recent call last):
...
discover.errors.DataError: unknown baseline 'lstm'; valid learned baselines: neural-scheme
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np
import xarray as xr

from .errors import DataError

__all__ = ["LEARNED_BASELINES", "check_baselines", "learned_baseline"]

logger = logging.getLogger(__name__)


def _neural_scheme(
    grid: xr.Dataset, fields: Sequence[str], start: int, sides: Sequence[str]
) -> dict[str, np.ndarray]:
    from .neural.scheme import neural_scheme_forecast

    t = grid["t"].values
    dt = np.diff(t)
    if not np.allclose(dt, dt[0], rtol=1e-6):
        raise DataError("the neural-scheme baseline needs equally spaced times; resample first")
    space = [d for d in grid[fields[0]].dims if d != "t"]
    if len(space) not in (1, 2):
        raise DataError(
            f"the neural-scheme baseline works on 1 or 2 spatial dimensions, not {len(space)}"
        )
    cube = np.stack([grid[f].transpose("t", *space).values for f in fields], axis=1)
    if not np.isfinite(cube).all():
        raise DataError("the neural-scheme baseline needs a grid without missing values")
    periodic = [d in sides for d in space]
    n = len(t) - 1 - start
    pred = neural_scheme_forecast(
        cube[: start + 1], n, periodic=periodic, walls=cube[start + 1 :], seed=0
    )
    dims = grid[fields[0]].dims
    out = {}
    for k, f in enumerate(fields):
        da = xr.DataArray(pred[:, k], dims=("t", *space))
        out[f] = da.transpose(*dims).values
    return out


#: learned baselines by name: ``fn(grid, fields, start, periodic_sides)`` returns, per field,
#: the forecast over the window from index ``start`` on (the start state first)
LEARNED_BASELINES: dict[str, Callable[..., dict[str, np.ndarray]]] = {
    "neural-scheme": _neural_scheme,
}


def check_baselines(names: Sequence[str]) -> tuple[str, ...]:
    """The names, if every one is a learned baseline; else a one-line :class:`DataError`."""
    for name in names:
        if name not in LEARNED_BASELINES:
            valid = ", ".join(LEARNED_BASELINES)
            raise DataError(f"unknown baseline '{name}'; valid learned baselines: {valid}")
    return tuple(names)


def learned_baseline(
    name: str, grid: xr.Dataset, fields: Sequence[str], start: int, sides: Sequence[str]
) -> dict[str, np.ndarray]:
    """Train the baseline ``name`` on ``grid`` up to index ``start`` and forecast the rest."""
    check_baselines([name])
    logger.info("baseline %s: training on %d snapshots", name, start + 1)
    return LEARNED_BASELINES[name](grid, fields, start, sides)
