"""The one structure the pipeline reads: :class:`Samples`, measured values of one or more
fields at space–time points, whatever the layout they came in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

__all__ = ["Samples"]


@dataclass(frozen=True, eq=False)
class Samples:
    """Measured values of one or more fields at space–time points.

    Attributes
    ----------
    fields : tuple of str
        Symbols of the measured fields, e.g. ``("u",)``.
    coords : tuple of str
        Symbols of the coordinates, time first, e.g. ``("t", "x")``.
    points : ndarray, shape (n, len(coords))
        Coordinates of each sample (time in ``time_unit``); rows with a missing value dropped.
    values : ndarray, shape (n, len(fields))
        Field values at ``points``.
    layout : {"grid", "station", "scattered"}
    grid : xarray.Dataset or None
        For the grid layout: the fields on dims ``coords`` (ascending float coordinates,
        missing values kept as NaN); ``None`` otherwise.
    names : dict
        Symbol -> name in the source data (``{"t": "time", "lat": "latitude", "u": "u"}``).
    units, long_names : dict
        Symbol -> ``units`` / ``long_name`` attribute, where the data gives one.
    time_unit : str or None
        The unit that datetime times were decoded to, ``None`` if time was numeric.
    time_origin : str or None
        ISO timestamp of ``t = 0`` where time was decoded from datetimes.
    source : str or None
        The file the data came from.
    attrs : dict
        The dataset's global attributes (generators store the true equation here).
    complex : dict
        Complex field symbol -> the symbols of its real and imaginary parts among
        ``fields`` (:func:`discover.io.pairs.split_complex`); empty for real data.
    """

    fields: tuple[str, ...]
    coords: tuple[str, ...]
    points: np.ndarray
    values: np.ndarray
    layout: str
    grid: xr.Dataset | None = None
    names: Mapping[str, str] = field(default_factory=dict)
    units: Mapping[str, str] = field(default_factory=dict)
    long_names: Mapping[str, str] = field(default_factory=dict)
    time_unit: str | None = None
    time_origin: str | None = None
    source: str | None = None
    attrs: Mapping[str, Any] = field(default_factory=dict)
    complex: Mapping[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def n_samples(self) -> int:
        """Number of (non-missing) samples."""
        return int(self.points.shape[0])

    @property
    def space(self) -> tuple[str, ...]:
        """Symbols of the spatial coordinates."""
        return self.coords[1:]

    def __repr__(self) -> str:
        lo, hi = self.points.min(axis=0), self.points.max(axis=0)
        span = ", ".join(f"{c}∈[{a:.4g}, {b:.4g}]" for c, a, b in zip(self.coords, lo, hi))
        return (
            f"<Samples {self.layout}: {','.join(self.fields)} at {self.n_samples} points; {span}>"
        )
