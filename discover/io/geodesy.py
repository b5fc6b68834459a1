"""Geodesy: which coordinates are latitude and longitude, longitudes made continuous across
0°/360°, and the local projection of lat/lon onto lengths."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import xarray as xr

from ..errors import DataError
from .reading import attr
from .samples import Samples

__all__ = ["DEGREE_UNITS", "EARTH_RADIUS", "continuous_longitudes", "degree_kind", "projection"]

logger = logging.getLogger(__name__)

#: mean Earth radius (IUGG), metres, for the local projection of lat/lon
EARTH_RADIUS = 6371008.8
DEGREE_UNITS = {
    "degrees_north": "lat",
    "degree_north": "lat",
    "degrees_N": "lat",
    "degreesN": "lat",
    "degrees_east": "lon",
    "degree_east": "lon",
    "degrees_E": "lon",
    "degreesE": "lon",
    "degrees": None,
    "degree": None,
    "deg": None,
}


def degree_kind(sym: str, unit: str | None) -> str | None:
    """``"lat"``/``"lon"`` for a coordinate in degree units (``degrees_north``, or plain
    ``degrees`` on a coordinate named lat/lon), None otherwise."""
    if unit not in DEGREE_UNITS:
        return None
    return DEGREE_UNITS[unit] or {"lat": "lat", "lon": "lon"}.get(sym)


def continuous_longitudes(ds: xr.Dataset, names: Sequence[str], space: Sequence[str]):
    """Longitudes that cross 0°/360° (354 … 359, 0 … 9, or sorted into 0 … 9, 354 … 359)
    made continuous (-6 … 9) and in order, the data rolled along; others untouched."""
    for d in space:
        if d not in ds.coords or degree_kind(str(d), attr(ds[d], "units")) != "lon":
            if str(d).lower() not in ("lon", "longitude"):
                continue
        vals = np.asarray(ds[d].values, dtype=float)
        if vals.size < 3 or not np.all(np.isfinite(vals)):
            continue
        steps = np.diff(np.sort(np.mod(vals, 360.0)))
        gap = np.mod(vals.min(), 360.0) + 360.0 - np.mod(vals.max(), 360.0)
        order = np.argsort(np.mod(vals, 360.0))
        # the widest gap of the circle must be the one left out
        k = int(np.argmax(steps))
        if steps[k] <= gap:
            continue
        cont = np.mod(vals, 360.0)
        cont = np.where(cont > cont[order][k], cont - 360.0, cont)
        new_order = np.argsort(cont)
        ds = ds.isel({d: new_order}).assign_coords({d: (d, cont[new_order], ds[d].attrs)})
        logger.info(
            "longitude '%s' crosses 0°/360°: made continuous (%g … %g)", d, cont.min(), cont.max()
        )
    return ds


def projection(
    samples: Samples, sym: str, unit: str, metres: float
) -> tuple[tuple[float, float], str]:
    """``(factor, offset)`` of the local equirectangular projection of a lat/lon coordinate
    to a length unit of ``metres`` metres, centred on the data, and the new symbol
    (``y``/``x``)."""
    kind = degree_kind(sym, unit)
    if kind is None:
        raise DataError(
            f"'{sym}' is in '{unit}' but neither latitude nor longitude; give its units "
            "as degrees_north or degrees_east"
        )
    j = samples.coords.index(sym)
    lo, hi = float(samples.points[:, j].min()), float(samples.points[:, j].max())
    factor = EARTH_RADIUS * np.pi / 180 / metres
    if kind == "lon":
        factor *= float(np.cos(np.deg2rad(_mid_latitude(samples, sym))))
    new = {"lat": "y", "lon": "x"}[kind]
    return (factor, -factor * (lo + hi) / 2), new


def _mid_latitude(samples: Samples, lon: str) -> float:
    """The middle of the data's latitudes (for the length of a degree of longitude)."""
    lats = [
        c
        for c in samples.coords
        if DEGREE_UNITS.get(samples.units.get(c, ""), "") == "lat" or c == "lat"
    ]
    if not lats:
        raise DataError(
            f"projecting longitude '{lon}' needs a latitude coordinate "
            "(units degrees_north) for the scale of a degree of longitude"
        )
    k = samples.coords.index(lats[0])
    return (samples.points[:, k].min() + samples.points[:, k].max()) / 2
