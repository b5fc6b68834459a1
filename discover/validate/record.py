"""What grid and station re-solves hand to the scorer and the baselines: the record as one
table ``(time, point, field)`` (a grid's points are its nodes, in C order; a station is a
point), and the re-solve's outcome."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from ..io import Samples

__all__ = ["Record", "Resolved", "as_table", "trend_window"]


@dataclass(frozen=True)
class Record:
    """The data a validation scores on, and what a baseline may learn from.

    Attributes
    ----------
    times : ndarray
        Every time of the record.
    values : ndarray, shape (time, point, field)
        The record, NaN where a value is missing.
    start : int
        Index of the start state: a baseline learns from ``values[: start + 1]`` and
        forecasts ``values[start:]`` (the start state first).
    samples : Samples
    grid : xarray.Dataset or None
        Gridded data as the loader gave them (fields on ``(t, space…)``).
    sides : tuple of str
        Sides of the grid that wrap around.
    """

    times: np.ndarray
    values: np.ndarray
    start: int
    samples: Samples
    grid: xr.Dataset | None = None
    sides: tuple[str, ...] = ()

    @property
    def window_times(self) -> np.ndarray:
        """The times from the start state on."""
        return self.times[self.start :]

    @property
    def window(self) -> np.ndarray:
        """The data from the start state on, ``(time, point, field)``."""
        return self.values[self.start :]


@dataclass
class Resolved:
    """A layout's re-solve: the forecast ``(time, point, field)`` over the window, the
    groups of points scored apart (suffix -> which points), the solution and data as
    datasets named like the data, what the solve did, and (``solver="both"``) the other
    solver's forecast."""

    record: Record
    prediction: np.ndarray
    solution: xr.Dataset
    data: xr.Dataset
    info: dict[str, Any]
    groups: dict[str, np.ndarray | None] = field(default_factory=lambda: {"": None})
    extra: dict[str, Any] = field(default_factory=dict)
    #: the cross-check's forecast, ``{"equation (classical)": (time, point, field)}``
    cross: dict[str, np.ndarray] = field(default_factory=dict)


def as_table(ds: xr.Dataset, fields: Sequence[str]) -> np.ndarray:
    """Fields on ``(t, …)`` as one table ``(time, point, field)``."""
    return np.stack([ds[f].values.reshape(ds.sizes["t"], -1) for f in fields], axis=-1)


def trend_window(n_times: int, start: int) -> int:
    """How many snapshots up to the start the linear trend is fitted to: as many as the
    held-out window has steps, at least two, at most all the training ones.

    >>> trend_window(100, 79), trend_window(10, 8), trend_window(10, 1)
    (21, 2, 2)
    """
    return min(start + 1, max(2, n_times - start))
