"""The weather preset: declared transforms and a candidate library for temperature fields.

``find(data, "t2m", preset="weather")`` (CLI ``--preset weather``) makes the steps of a
meteorologist's analysis explicit instead of hidden:

- latitude/longitude in degrees become ``y``/``x`` in km on a local projection, time
  becomes hours (sub-daily records) or days (daily ones): declared transforms, undone in
  the report in the data's own units;
- the library is linear in the field, up to second derivatives — ``T``, ``T_x``, ``T_y``
  (advection by a constant wind), ``T_xx``, ``T_yy``, ``T_xy`` (diffusion, ``ΔT``
  grouped), ``T`` and the constant (relaxation to a mean) — plus the diurnal cycle
  ``sin(2πt/24 h)``, ``cos(2πt/24 h)`` for sub-daily records and the annual one for
  records of a year or more, as candidate forcing terms, so the equation shows them
  rather than a silent detrending.

>>> import numpy as np, xarray as xr
>>> from discover.io import load
>>> t = np.arange(0, 48.0) / 24  # days
>>> ds = xr.Dataset({"T": (("time", "lat"), np.ones((48, 5)).cumsum(0), {"units": "K"})},
...     coords={"time": ("time", t, {"units": "days"}),
...             "lat": ("lat", np.arange(50.0, 55), {"units": "degrees_north"})})
>>> p = weather_settings(load(ds, "T"))
>>> p["units"], p["extra"], p["max_order"], p["degree"]
({'t': 'h', 'lat': 'km'}, ['T', 'sin(pi*t/12)', 'cos(pi*t/12)'], 2, 0)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp

from .io import DEGREE_UNITS, DataError, Samples, degree_kind, hours_per
from .library import derivative_symbol
from .parsing import parse_expr
from .presets import PRESETS, Preset, PresetSettings

__all__ = ["WeatherPreset", "transport_terms", "weather_settings"]

#: records with a time step up to this many hours get the diurnal harmonics
DIURNAL_STEP_HOURS = 6.0
#: records spanning at least this many days get the annual harmonics
ANNUAL_SPAN_DAYS = 300.0


def weather_settings(samples: Samples) -> dict[str, Any]:
    """The settings of the weather preset for these samples: ``units``, ``extra``,
    ``max_order``, ``degree`` (see the module notes), and on a grid ``method`` ("fd",
    what ``method="auto"`` becomes) with ``method_reason``."""
    t_unit = samples.units.get("t") or samples.time_unit
    hours = hours_per(t_unit)
    if hours is None:
        raise DataError(
            f"the weather preset needs the time unit (hours, days, or datetimes); time is in "
            f"'{t_unit}'; set the time coordinate's units attribute"
        )
    j = samples.coords.index("t")
    times = np.unique(samples.points[:, j])
    if times.size < 3:
        raise DataError(f"the record has {times.size} times; the weather preset needs 3 or more")
    step_h = float(np.median(np.diff(times))) * hours
    span_days = float(times[-1] - times[0]) * hours / 24
    hourly = step_h < 12
    units: dict[str, str] = {"t": "h" if hourly else "days"}
    for c in samples.coords:
        if c != "t" and samples.units.get(c) in DEGREE_UNITS:
            units[c] = "km"
    lengths = [c for c in samples.coords if c != "t" and c not in units]
    if lengths and any(c in ("lat", "lon") for c in lengths):
        raise DataError(
            "latitude/longitude have no degree units (degrees_north, degrees_east); set their "
            "units attributes so that they can be projected to km"
        )
    day = "24" if hourly else "1"
    year = "8760" if hourly else "365"  # a 365-day year keeps the term readable
    extra = []
    if step_h <= DIURNAL_STEP_HOURS:
        extra += [f"sin(2*pi*t/{day})", f"cos(2*pi*t/{day})"]
    if span_days >= ANNUAL_SPAN_DAYS:
        extra += [f"sin(2*pi*t/{year})", f"cos(2*pi*t/{year})"]
    extra = [sp.sstr(parse_expr(e)) for e in extra]
    # linear: the fields themselves, their derivatives and the constant (degree 0 keeps
    # products such as T*T_x out; the fields enter as extra terms)
    out = {"units": units, "extra": [*samples.fields, *extra], "max_order": 2, "degree": 0}
    # several fields (temperature with the wind): each field times another's gradient, the
    # transport by the actual wind; added by find in the transformed coordinates
    out["transport"] = len(samples.fields) > 1
    if samples.grid is not None:  # what ``method="auto"`` becomes
        out["method"] = "fd"
        # analyses, reanalyses and model output: the 4th-difference noise estimate measures
        # real small-scale weather there, not noise
        out["method_reason"] = "gridded weather fields are smooth at the grid scale"
    return out


def transport_terms(samples: Samples) -> list[str]:
    """``G*F_c`` for every pair of different fields and spatial coordinate ``c``: a field
    carried by another (``U*T_x``, ``V*T_y``).

    >>> import numpy as np, xarray as xr
    >>> from discover.io import load
    >>> g = np.random.default_rng(0).random((5, 5, 6))
    >>> ds = xr.Dataset({k: (("t", "y", "x"), g) for k in "TU"},
    ...                 coords={"t": np.arange(5.0), "y": np.arange(5.0), "x": np.arange(6.0)})
    >>> transport_terms(load(ds, ["T", "U"]))
    ['U*T_y', 'U*T_x', 'T*U_y', 'T*U_x']
    """
    space = [c for c in samples.coords if c != "t"]
    return [
        f"{g}*{derivative_symbol(f, samples.coords, [int(c == s) for c in samples.coords])}"
        for f in samples.fields
        for g in samples.fields
        if g != f
        for s in space
    ]


class WeatherPreset(Preset):
    """Temperature (and wind) fields on latitude/longitude: see the module notes."""

    def applies(self, samples: Samples) -> tuple[bool, str]:
        geo = [c for c in samples.space if samples.units.get(c) in DEGREE_UNITS]
        kinds = {c: degree_kind(c, samples.units[c]) for c in geo}
        if not geo:
            return False, "no latitude/longitude"
        if None in kinds.values() or "lat" not in kinds.values():
            return False, "coordinates in degrees, but not a latitude with it"
        if hours_per(samples.units.get("t") or samples.time_unit) is None:
            return False, "latitude/longitude, but time has no unit of hours or days"
        return True, f"coordinates {', '.join(geo)} in degrees"

    def settings(self, samples: Samples) -> PresetSettings:
        return PresetSettings(**weather_settings(samples))


PRESETS.register("weather", WeatherPreset())
