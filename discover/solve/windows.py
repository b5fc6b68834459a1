"""Problems from measured data: the state of gridded data at a time as the initial values,
the data's values on the walls as boundary values, the sides that wrap around detected."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from ..errors import DataError
from ..io import Samples
from .problem import Problem, grid_domain

__all__ = ["detect_periodic", "periodic_sides", "window_problem"]


def detect_periodic(
    grid: xr.Dataset, fields: Sequence[str], attrs: Mapping[str, Any]
) -> tuple[str, ...]:
    """Sides on which the data wraps around: as the data's ``periodic`` attribute says, else
    where the jump from the last node to the first is no larger than three times the
    typical step between neighbours, at every time, for every field."""
    space = [c for c in grid.dims if c != "t"]
    if "periodic" in attrs:
        return tuple(space) if int(attrs["periodic"]) else ()
    out = []
    for c in space:
        ok = True
        for f in fields:
            u = grid[f].transpose("t", c, ...).values
            wrap = np.abs(u[:, -1] - u[:, 0])
            step = np.nanmedian(np.abs(np.diff(u, axis=1)), axis=1)
            scale = np.nanmax(np.abs(np.diff(u, axis=1)), axis=1)
            if not np.all(np.nan_to_num(wrap) <= np.maximum(3 * step, 0.5 * scale)):
                ok = False
        if ok:
            out.append(c)
    return tuple(out)


def periodic_sides(periodic: Sequence[str] | str, samples: Samples) -> tuple[str, ...]:
    """The sides that wrap around: ``"auto"`` (:func:`detect_periodic`), ``"none"``, or
    names of spatial coordinates."""
    space = list(samples.space)
    if periodic == "auto":
        return detect_periodic(samples.grid, samples.fields, samples.attrs)
    if periodic in ("none", None) or periodic == ():
        return ()
    sides = tuple([periodic] if isinstance(periodic, str) else periodic)
    bad = [c for c in sides if c not in space]
    if bad:
        raise DataError(f"periodic side(s) {bad} are not coordinates of the data {space}")
    return sides


def window_problem(
    equations: Sequence[Any],
    samples: Samples,
    window: xr.Dataset,
    sides: tuple[str, ...],
    boundary: str,
    times: np.ndarray | None = None,
) -> Problem:
    """The problem of re-solving from ``window``'s first state (output at ``times``,
    ``window``'s own by default), walls from its values (``boundary="data"``) or held at
    their initial values (``"initial"``)."""
    space = list(samples.space)
    init = window.isel(t=0).drop_vars("t")
    t_first = float(window["t"].values[0])
    for f in samples.fields:
        if not np.all(np.isfinite(init[f].values)):
            raise DataError(
                f"the data of '{f}' has missing values at t = {t_first:g}, where the solve "
                "starts; choose another start"
            )
    grid = {c: window[c].values for c in space}
    walls = set(space) - set(sides)
    return Problem(
        equations,
        grid_domain(grid, sides),
        time=window["t"].values if times is None else times,
        initial=init,
        boundary=(window if boundary == "data" else "initial") if walls else None,
        fields=samples.fields,
        grid=grid,
    )
