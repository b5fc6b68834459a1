"""Units and declared transforms: the units a transform knows, conversions between them,
and :func:`transform`, which expresses samples in other units (lat/lon projected onto
lengths) and returns the :class:`Transform` that equations follow."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..errors import DataError
from .geodesy import DEGREE_UNITS, projection
from .reading import fmt_list
from .samples import Samples

__all__ = ["UNITS", "Transform", "hours_per", "transform", "unit_conversion"]

#: units a declared transform converts between: name -> (kind, factor to the base unit,
#: offset), base value = factor * value + offset (SI base units; kelvin for temperature)
UNITS: dict[str, tuple[str, float, float]] = {
    **{u: ("length", 1.0, 0.0) for u in ("m", "meter", "metre", "meters", "metres")},
    **{u: ("length", 1e3, 0.0) for u in ("km", "kilometer", "kilometre", "kilometers")},
    "cm": ("length", 1e-2, 0.0),
    "mm": ("length", 1e-3, 0.0),
    **{u: ("time", 1.0, 0.0) for u in ("s", "sec", "second", "seconds")},
    **{u: ("time", 60.0, 0.0) for u in ("min", "minute", "minutes")},
    **{u: ("time", 3600.0, 0.0) for u in ("h", "hr", "hour", "hours")},
    **{u: ("time", 86400.0, 0.0) for u in ("d", "day", "days")},
    **{u: ("temperature", 1.0, 0.0) for u in ("K", "kelvin", "degK")},
    **{u: ("temperature", 1.0, 273.15) for u in ("degC", "°C", "celsius", "deg_C", "C")},
    **{u: ("angle", 1.0, 0.0) for u in ("degrees_north", "degrees_east", "degrees", "deg")},
    **{u: ("angle", 1.0, 0.0) for u in ("degree_north", "degree_east", "degree")},
    **{u: ("angle", 1.0, 0.0) for u in ("degrees_N", "degrees_E", "degreesN", "degreesE")},
}


def hours_per(unit: str | None) -> float | None:
    """How many hours one ``unit`` of time is (``"days"`` -> 24), None for other units.

    >>> hours_per("days"), hours_per("min"), hours_per("km")
    (24.0, 0.016666666666666666, None)
    """
    kind, factor, _ = UNITS.get(unit or "", ("", 0.0, 0.0))
    return factor / 3600 if kind == "time" else None


def unit_conversion(old: str, new: str) -> tuple[float, float]:
    """``(factor, offset)`` with ``value_new = factor * value_old + offset``.

    >>> unit_conversion("m", "km")
    (0.001, 0.0)
    >>> unit_conversion("K", "degC")
    (1.0, -273.15)
    """
    for u in (old, new):
        if u not in UNITS:
            raise DataError(f"unknown unit '{u}'; units a transform knows: {fmt_list(UNITS)}")
    (k1, f1, o1), (k2, f2, o2) = UNITS[old], UNITS[new]
    if k1 != k2:
        raise DataError(f"cannot convert '{old}' ({k1}) to '{new}' ({k2}); give a {k1} unit")
    return f1 / f2, (o1 - o2) / f2


@dataclass(frozen=True)
class Transform:
    """A declared change of variables: each symbol ``s`` becomes ``factor * s + offset``,
    and may be renamed (a local projection makes ``lat``/``lon`` into ``y``/``x`` in km).

    Attributes
    ----------
    maps : dict
        Symbol (before) -> ``(factor, offset)``; symbols not listed are unchanged.
    units : dict
        Symbol (after) -> its unit after the transform.
    units_before : dict
        Symbol (before) -> its unit before.
    renames : dict
        Symbol before -> symbol after, where they differ.
    """

    maps: Mapping[str, tuple[float, float]]
    units: Mapping[str, str] = field(default_factory=dict)
    units_before: Mapping[str, str] = field(default_factory=dict)
    renames: Mapping[str, str] = field(default_factory=dict)

    def inverse(self) -> Transform:
        """The transform back: ``s = (s' - offset) / factor``, names restored."""
        r = dict(self.renames)
        return Transform(
            {r.get(s, s): (1 / a, -b / a) for s, (a, b) in self.maps.items()},
            dict(self.units_before),
            dict(self.units),
            {new: old for old, new in r.items()},
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            s: {
                "factor": a,
                "offset": b,
                "from": self.units_before.get(s),
                "to": self.units.get(self.renames.get(s, s)),
                **({"renamed": self.renames[s]} if s in self.renames else {}),
            }
            for s, (a, b) in self.maps.items()
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Transform:
        """From :meth:`as_dict` (a result JSON's ``transform``); one-line error if malformed."""
        maps, units, before, renames = {}, {}, {}, {}
        try:
            for s, v in d.items():
                maps[str(s)] = (float(v["factor"]), float(v["offset"]))
                if "renamed" in v:
                    renames[str(s)] = str(v["renamed"])
                if v.get("from") is not None:
                    before[str(s)] = str(v["from"])
                if v.get("to") is not None:
                    units[renames.get(str(s), str(s))] = str(v["to"])
        except (TypeError, KeyError, ValueError, AttributeError):
            raise DataError(
                "the result's 'transform' must map each symbol to its factor and offset"
            ) from None
        return cls(maps, units, before, renames)


def transform(
    samples: Samples,
    units: Mapping[str, str] | None = None,
    *,
    scale: Mapping[str, tuple[float, float]] | None = None,
) -> tuple[Samples, Transform]:
    """Express ``samples`` in other units: ``{"x": "km", "t": "days", "T": "degC"}``.

    Each symbol's current unit comes from the data's ``units`` attribute (or the time unit
    datetimes were decoded to).  Latitude and longitude in degrees asked for in a length
    unit (``{"lat": "km", "lon": "km"}``) are projected on a local equirectangular grid
    centred on the data (``y = R·Δφ``, ``x = R·cos φ₀·Δλ``, R the mean Earth radius) and
    renamed ``y`` and ``x``.  ``scale`` declares any other affine change, symbol ->
    ``(factor, offset)`` (centring and scaling a field).  Returns the converted samples and
    the :class:`Transform`, which :meth:`discover.equation.Equation.change_variables`
    applies to equations.

    >>> import xarray as xr
    >>> x = np.linspace(0, 5000.0, 11); t = np.linspace(0, 7200.0, 9)
    >>> ds = xr.Dataset({"u": (("t", "x"), np.random.default_rng(0).normal(size=(9, 11)))},
    ...                 coords={"t": ("t", t, {"units": "s"}), "x": ("x", x, {"units": "m"})})
    >>> from discover.io import load
    >>> s, tr = transform(load(ds, "u"), {"x": "km", "t": "h"})
    >>> float(s.points[:, 1].max()), float(s.points[:, 0].max()), dict(s.units)
    (5.0, 2.0, {'t': 'h', 'x': 'km'})
    """
    units, scale = dict(units or {}), dict(scale or {})
    known = (*samples.fields, *samples.coords)
    for sym in [*units, *scale]:
        if sym not in known:
            raise DataError(f"cannot transform '{sym}'; symbols of the data: {fmt_list(known)}")
    maps, before, after = _scale_maps(samples, scale, units)
    renames = _unit_maps(samples, units, maps, before, after)
    if "t" in maps and maps["t"][1] != 0:
        raise DataError("time can only be rescaled, not shifted")

    def renamed(d: Mapping[str, Any]) -> dict[str, Any]:
        return {renames.get(k, k): v for k, v in d.items()}

    time_unit = samples.time_unit
    if "t" in units and time_unit is not None:
        time_unit = units["t"]
    pts, vals = _mapped_points(samples, maps)
    out = replace(
        samples,
        coords=tuple(renames.get(c, c) for c in samples.coords),
        points=pts,
        values=vals,
        grid=_mapped_grid(samples, maps, after, renames),
        names=renamed(samples.names),
        units=renamed({**samples.units, **after}),
        long_names=renamed(samples.long_names),
        time_unit=time_unit,
    )
    return out, Transform(maps, renamed(after), before, renames)


Maps = dict[str, tuple[float, float]]


def _scale_maps(
    samples: Samples, scale: Mapping[str, tuple[float, float]], units: Mapping[str, str]
) -> tuple[Maps, dict[str, str], dict[str, str]]:
    """The declared affine changes ``scale``: maps, units before and after."""
    maps: Maps = {}
    before: dict[str, str] = {}
    after: dict[str, str] = {}
    for sym, (a, b) in scale.items():
        if sym in units:
            raise DataError(f"'{sym}' is both converted to a unit and scaled; give one of them")
        if not np.isfinite(a) or a == 0 or not np.isfinite(b):
            raise DataError(f"scale of '{sym}' must be a finite, nonzero factor and offset")
        maps[sym] = (float(a), float(b))
        old = samples.units.get(sym)
        before[sym] = old or "1"
        after[sym] = f"{a:g}*({old or 1}){b:+g}" if b else f"{a:g}*({old or 1})"
    return maps, before, after


def _unit_maps(
    samples: Samples,
    units: Mapping[str, str],
    maps: Maps,
    before: dict[str, str],
    after: dict[str, str],
) -> dict[str, str]:
    """Add the unit conversions ``units`` to ``maps``, ``before`` and ``after``; returns the
    renames (lat/lon projected onto lengths become y/x)."""
    known = (*samples.fields, *samples.coords)
    renames: dict[str, str] = {}
    for sym, new in units.items():
        old = samples.units.get(sym)
        if old is None or old.strip() in ("", "1", "-", "dimensionless"):
            what = "no units attribute" if old is None else f"no physical unit (units {old!r})"
            raise DataError(
                f"'{sym}' has {what} in the data, so it cannot be converted to '{new}'; set "
                f"its units attribute (e.g. units='m'), or drop {sym}={new} from --units"
            )
        before[sym] = old
        after[sym] = new
        if old in DEGREE_UNITS and sym in samples.coords and UNITS.get(new, ("",))[0] == "length":
            maps[sym], newsym = projection(samples, sym, old, UNITS[new][1])
            if newsym not in known and newsym not in renames.values():
                renames[sym] = newsym
        else:
            maps[sym] = unit_conversion(old, new)
    return renames


def _mapped_points(samples: Samples, maps: Maps) -> tuple[np.ndarray, np.ndarray]:
    """The samples' points and values with ``maps`` applied."""
    pts = samples.points.copy()
    vals = samples.values.copy()
    for j, c in enumerate(samples.coords):
        if c in maps:
            a, b = maps[c]
            pts[:, j] = a * pts[:, j] + b
    for j, f in enumerate(samples.fields):
        if f in maps:
            a, b = maps[f]
            vals[:, j] = a * vals[:, j] + b
    return pts, vals


def _mapped_grid(samples: Samples, maps: Maps, after: Mapping[str, str], renames):
    """The samples' grid (if any) with ``maps`` applied, new units set, symbols renamed."""
    grid = samples.grid
    if grid is None:
        return None
    grid = grid.copy()
    for sym, (a, b) in maps.items():
        attrs = {**grid[sym].attrs, "units": after[sym]}
        if sym in samples.coords:
            grid = grid.assign_coords({sym: (sym, a * grid[sym].values + b, attrs)})
        else:
            grid[sym] = (grid[sym].dims, a * grid[sym].values + b, attrs)
    return grid.rename(renames)
