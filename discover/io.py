"""Open measured fields and hand them on as :class:`Samples`.

This module's one job: take a netCDF file or an :class:`xarray.Dataset`, pick the variable(s),
check dims, coordinates, units and missing values, detect the layout and hand on one
:class:`Samples` structure that the rest of the pipeline reads.

Three layouts are understood:

``grid``
    ``var(time, x[, y[, z]])`` with a numeric 1-D coordinate on every dim (decreasing
    coordinates, such as ERA5's latitude, are sorted ascending).
``station``
    ``var(time, station)`` with coordinate variables on the station dim (``x``, or ``lat``
    and ``lon``) giving each station's position.
``scattered``
    ``var(obs)`` with coordinate variables on the ``obs`` dim, one of them the time.

Datetime times are decoded to a float unit (days unless asked otherwise) counted from the
first time, and the origin is recorded.  Names used in equations are *symbols*: the time
is always ``t``, ``latitude``/``longitude`` become ``lat``/``lon`` and other names are kept
(made into valid identifiers).

Examples
--------
>>> import numpy as np, xarray as xr
>>> from discover.io import load
>>> x = np.linspace(0, 1, 20); t = np.linspace(0, 1, 10)
>>> ds = xr.Dataset({"u": (("t", "x"), np.sin(x)[None, :] * np.exp(-t)[:, None])},
...                 coords={"t": t, "x": x})
>>> s = load(ds, "u")
>>> s.layout, s.coords, s.n_samples
('grid', ('t', 'x'), 200)
"""

from __future__ import annotations

import keyword
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .errors import DataError

__all__ = [
    "HOLDOUT_KINDS",
    "UNITS",
    "DataError",
    "Samples",
    "Transform",
    "holdout_start",
    "holdout_stations",
    "load",
    "open_dataset",
    "parse_holdout",
    "split_holdout",
    "transform",
    "unit_conversion",
]

logger = logging.getLogger(__name__)

#: time units a datetime coordinate can be decoded to, and their length in seconds
TIME_UNITS: dict[str, float] = {"seconds": 1.0, "minutes": 60.0, "hours": 3600.0, "days": 86400.0}
_TIME_NAMES = ("time", "t", "Time", "TIME", "valid_time", "date", "datetime")
_SHORT_NAMES = {"latitude": "lat", "longitude": "lon"}
_NOT_SPATIAL = {"height", "elevation", "altitude", "station", "station_id", "id", "name"}
#: the fewest values along any dim, and in all, that the pipeline can work with
MIN_POINTS_PER_DIM = 5
MIN_SAMPLES = 20


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


def open_dataset(path: str | Path) -> xr.Dataset:
    """Open a netCDF file as an :class:`xarray.Dataset`, with one-line errors.

    Raises
    ------
    DataError
        When the file does not exist or is not a readable netCDF file.
    """
    p = Path(path)
    if not p.exists():
        raise DataError(f"no such file: '{p}'; give the path of a netCDF file (.nc)")
    if p.is_dir():
        raise DataError(f"'{p}' is a folder; give the path of a netCDF file (.nc)")
    try:
        with p.open("rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise DataError(
            f"cannot open '{p}' ({exc.strerror}); check the file's permissions"
        ) from None
    if not (head.startswith(b"CDF") or head.startswith(b"\x89HDF")):
        kind = "an empty file" if not head else f"it starts with {head[:4]!r}"
        hint = (
            "; for PDE-FIND .mat files use discover.datasets.load_pdefind"
            if head.startswith(b"MATL")
            else ""
        )
        raise DataError(
            f"'{p}' is not a netCDF file ({kind}); give a netCDF-3 or netCDF-4 file (.nc){hint}"
        )
    try:
        return xr.open_dataset(p)
    except Exception as exc:  # the backends raise many kinds of errors
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(
            f"cannot read '{p}' as netCDF ({reason[:120]}); give a netCDF file (.nc)"
        ) from None


def symbol_name(name: str) -> str:
    """The symbol used in equations for a data name: ``time`` -> ``t``, ``latitude`` ->
    ``lat``, otherwise the name made into a valid Python identifier.

    >>> symbol_name("latitude"), symbol_name("2m temp"), symbol_name("x")
    ('lat', '_2m_temp', 'x')
    """
    name = _SHORT_NAMES.get(name, name)
    out = re.sub(r"\W", "_", name)
    if out[:1].isdigit():
        out = "_" + out
    if keyword.iskeyword(out):
        out += "_"
    return out


def _fmt_list(names: Sequence[Any]) -> str:
    return ", ".join(repr(str(n)) for n in names) or "none"


def _is_datetime(values: np.ndarray) -> bool:
    return np.issubdtype(values.dtype, np.datetime64) or values.dtype == object


def _find_time(ds: xr.Dataset, da: xr.DataArray, time: str | None) -> str:
    candidates = list(da.dims) + [c for c in da.coords if c not in da.dims]
    if time is not None:
        if time not in ds.variables and time not in da.dims:
            raise DataError(
                f"time coordinate '{time}' not found; coordinates of '{da.name}' are "
                f"{_fmt_list(candidates)}"
            )
        return time
    for name in candidates:
        if name in da.coords:
            c = da.coords[name]
            if (
                _is_datetime(c.values)
                or c.attrs.get("standard_name") == "time"
                or c.attrs.get("axis") == "T"
            ):
                return str(name)
    for name in _TIME_NAMES:
        if name in candidates:
            return name
    raise DataError(
        f"variable '{da.name}' has no time coordinate (dims {tuple(map(str, da.dims))}, "
        f"coordinates {_fmt_list(candidates)}); name one with --time / time="
    )


def _to_float_time(values: np.ndarray, name: str, time_unit: str) -> tuple[np.ndarray, str | None]:
    """Datetimes -> float ``time_unit`` since the earliest time; numbers pass through."""
    if not _is_datetime(values):
        return np.asarray(values, dtype=float), None
    try:
        dt = np.asarray(values, dtype="datetime64[ns]")
    except (TypeError, ValueError):  # cftime objects
        try:
            import cftime  # noqa: F401  (present with netCDF4)

            ref = min(values)
            secs = np.array([(v - ref).total_seconds() for v in values])
            return secs / TIME_UNITS[time_unit], str(ref)
        except Exception:
            raise DataError(
                f"time coordinate '{name}' holds values that are neither numbers nor dates"
            ) from None
    if np.isnat(dt).any():
        raise DataError(f"time coordinate '{name}' has missing (NaT) values; drop those times")
    origin = dt.min()
    secs = (dt - origin) / np.timedelta64(1, "s")
    return secs.astype(float) / TIME_UNITS[time_unit], str(np.datetime_as_string(origin, "s"))


def _check_monotonic(values: np.ndarray, name: str, var: str) -> None:
    if values.size < 2:
        return
    if not np.all(np.isfinite(values)):
        raise DataError(f"coordinate '{name}' has missing or infinite values; drop or fill them")
    d = np.diff(values)
    if np.all(d > 0) or np.all(d < 0):
        return
    same = np.flatnonzero(d == 0)
    if same.size:
        i = int(same[0])
        raise DataError(
            f"coordinate '{name}' of '{var}' has duplicate values ({values[i]:g} at positions "
            f"{i} and {i + 1}); coordinates must be strictly monotonic"
        )
    i = int(np.flatnonzero(np.sign(d) != np.sign(d[0]))[0])
    raise DataError(
        f"coordinate '{name}' of '{var}' is not monotonic (at position {i + 1}: {values[i]:g} "
        f"then {values[i + 1]:g}); sort the data along '{name}'"
    )


def _check_values(values: np.ndarray, var: str) -> None:
    finite = np.isfinite(values)
    if not finite.any():
        raise DataError(f"variable '{var}' has no valid values (all NaN)")
    v = values[finite]
    if np.ptp(v) == 0:
        raise DataError(
            f"variable '{var}' is constant ({v[0]:g} everywhere); a PDE needs a varying field"
        )


def _attr(obj: xr.DataArray | xr.Variable, key: str) -> str | None:
    val = obj.attrs.get(key)
    return str(val) if val is not None else None


def _station_dim(ds: xr.Dataset, dim: str, exclude: Sequence[str] = ()) -> list[str]:
    """Numeric variables on ``dim`` alone (other than its index and ``exclude``): positions."""
    out = []
    for name, var in ds.variables.items():
        if name == dim or var.dims != (dim,) or name in exclude:
            continue
        if np.issubdtype(var.dtype, np.number) and str(name).lower() not in _NOT_SPATIAL:
            out.append(str(name))
    return out


def load(
    data: str | Path | xr.Dataset | xr.DataArray,
    var: str | Sequence[str],
    *,
    time: str | None = None,
    coords: Sequence[str] | None = None,
    time_unit: str = "days",
    sel: Mapping[str, Any] | None = None,
) -> Samples:
    """Load the variable(s) ``var`` from a netCDF path or an xarray object as :class:`Samples`.

    Parameters
    ----------
    data : path, Dataset or DataArray
        The measured data.
    var : str or sequence of str
        Name(s) of the field variable(s). Several fields must share dims.
    time : str, optional
        Name of the time coordinate; detected when omitted (datetime coordinates,
        ``standard_name='time'``, ``axis='T'`` or a name such as ``time``/``t``).
    coords : sequence of str, optional
        Spatial coordinates to use for the station and scattered layouts (default: the
        numeric coordinate variables on the station/obs dim, except heights and ids).
    time_unit : {"days", "hours", "minutes", "seconds"}
        Unit that datetime times are decoded to.
    sel : dict, optional
        Dim -> the one value to take along it (an ensemble member, a pressure level), by
        label, or by position for a dim without coordinate (:func:`select`).  Other dims of
        length one are dropped by themselves.

    Returns
    -------
    Samples

    Raises
    ------
    DataError
        With a one-line message for every kind of unusable input.
    """
    if time_unit not in TIME_UNITS:
        raise DataError(f"unknown time unit '{time_unit}'; valid units: {_fmt_list(TIME_UNITS)}")
    source = None
    if isinstance(data, (str, Path)):
        source = str(data)
        ds = open_dataset(data)
    elif isinstance(data, xr.DataArray):
        ds = data.to_dataset(name=data.name or "u")
    elif isinstance(data, xr.Dataset):
        ds = data
    else:
        raise DataError(
            f"cannot load data of type {type(data).__name__}; give a netCDF path, "
            "an xarray.Dataset or an xarray.DataArray"
        )
    names = [var] if isinstance(var, str) else list(var)
    if not names:
        raise DataError("no variable given; name at least one with --var")
    for name in names:
        if name not in ds.data_vars:
            where = f" in '{source}'" if source else ""
            raise DataError(
                f"variable '{name}' not found{where}; valid variables: {_fmt_list(ds.data_vars)}"
            )
    tname = _find_time(ds, ds[names[0]], time)
    ds = select(ds, names, sel, keep=[tname])
    try:
        return _dispatch(ds, names, tname, coords, time_unit, source)
    except (RuntimeError, OSError) as exc:  # netCDF/HDF5 read errors surface on first access
        if source is None:
            raise
        reason = (str(exc).splitlines() or [type(exc).__name__])[0][:80]
        raise DataError(
            f"cannot read the values of {_fmt_list(names)} from '{source}' ({reason}); the file "
            "is damaged or incomplete: copy or download it again"
        ) from None


def _dispatch(
    ds: xr.Dataset,
    names: list[str],
    tname: str,
    coords: Sequence[str] | None,
    time_unit: str,
    source: str | None,
) -> Samples:
    """The layout loader for the fields' dims (grid, stations or scattered)."""
    arrays = [ds[n] for n in names]
    dims0 = arrays[0].dims
    for a in arrays[1:]:
        if a.dims != dims0:
            raise DataError(
                f"variables '{names[0]}' {dims0} and '{a.name}' {a.dims} have different dims; "
                "fields discovered together must share dims"
            )
    da = arrays[0]
    _check_not_ensemble(da, [d for d in da.dims if d != tname])
    if tname in da.dims and len(da.dims) == 1:
        raise DataError(
            f"variable '{da.name}' depends on time only; a PDE needs at least one space dim "
            "(grid), a station dim with positions, or scattered observations"
        )
    if tname in da.dims:
        others = [d for d in da.dims if d != tname]
        if len(others) == 1 and _station_dim(ds, others[0], names) and coords is None:
            return _load_stations(ds, names, tname, others[0], None, time_unit, source)
        if len(others) == 1 and coords is not None and others[0] not in coords:
            return _load_stations(ds, names, tname, others[0], coords, time_unit, source)
        return _load_grid(ds, names, tname, others, time_unit, source)
    if len(da.dims) == 1:
        return _load_scattered(ds, names, tname, da.dims[0], coords, time_unit, source)
    raise DataError(
        f"cannot tell the layout of '{da.name}' with dims {tuple(map(str, da.dims))}: expected "
        f"(time, x[, y[, z]]), (time, station) or (obs) with '{tname}' among the dims or on obs"
    )


def _common(
    ds: xr.Dataset, names: list[str], coord_names: list[str], time_unit: str | None
) -> dict[str, Any]:
    syms = {symbol_name(n): n for n in names}
    csyms = ["t"] + [symbol_name(c) for c in coord_names[1:]]
    all_syms = list(syms) + csyms
    if len(set(all_syms)) != len(all_syms):
        raise DataError(
            f"names {_fmt_list(names + coord_names)} give clashing symbols {_fmt_list(all_syms)};"
            " rename the variables or coordinates"
        )
    if "t" in csyms[1:]:
        raise DataError("a spatial coordinate is named 't'; rename it (t is the time symbol)")
    namemap = dict(syms)
    namemap.update(zip(csyms, coord_names))
    units: dict[str, str] = {}
    long_names: dict[str, str] = {}
    for sym, n in namemap.items():
        if n in ds.variables:
            if (u := _attr(ds[n], "units")) is not None:
                units[sym] = u
            if (ln := _attr(ds[n], "long_name")) is not None:
                long_names[sym] = ln
    if time_unit is not None:
        units["t"] = time_unit
    return {
        "fields": tuple(syms),
        "coords": tuple(csyms),
        "names": namemap,
        "units": units,
        "long_names": long_names,
    }


def _stack_values(arrays: list[np.ndarray]) -> np.ndarray:
    return np.stack([np.asarray(a, dtype=float).ravel() for a in arrays], axis=1)


def _finish(points: np.ndarray, values: np.ndarray, var: str) -> tuple[np.ndarray, np.ndarray]:
    keep = np.all(np.isfinite(values), axis=1) & np.all(np.isfinite(points), axis=1)
    if keep.sum() < MIN_SAMPLES:
        raise DataError(
            f"variable '{var}' has only {int(keep.sum())} valid samples; at least "
            f"{MIN_SAMPLES} are needed"
        )
    return points[keep], values[keep]


def _point_samples(
    layout: str,
    points: np.ndarray,
    values: np.ndarray,
    var: str,
    info: dict[str, Any],
    origin: str | None,
    source: str | None,
    ds: xr.Dataset,
) -> Samples:
    """Samples of the station and scattered layouts (no grid), missing values dropped."""
    points, values = _finish(points, values, var)
    return Samples(
        points=points,
        values=values,
        layout=layout,
        time_unit=info["units"].get("t") if origin is not None else None,
        time_origin=origin,
        source=source,
        attrs=dict(ds.attrs),
        **info,
    )


#: dimension names that count members of an ensemble, never a spatial axis
ENSEMBLE_DIMS = ("number", "member", "ensemble", "realization", "realisation", "member_id")


def parse_sel(spec: str | None) -> dict[str, str]:
    """``"number=0,level=850"`` -> ``{"number": "0", "level": "850"}`` (values stay text until
    the data tells their type, :func:`select`).

    >>> parse_sel("number=0, level=850")
    {'number': '0', 'level': '850'}
    """
    out: dict[str, str] = {}
    for item in (spec or "").split(","):
        if not item.strip():
            continue
        dim, sep, value = item.partition("=")
        if not sep or not dim.strip() or not value.strip():
            raise DataError(f"--sel takes DIM=VALUE pairs separated by commas, not '{item}'")
        out[dim.strip()] = value.strip()
    return out


def _label(ds: xr.Dataset, dim: str, value: Any) -> Any:
    """``value`` (text from the command line, or a number) as a label of ``dim``."""
    coord = ds[dim].values
    if not isinstance(value, str):
        return value
    try:
        if np.issubdtype(coord.dtype, np.datetime64):
            return np.datetime64(value)
        if np.issubdtype(coord.dtype, np.number):
            return float(value)
    except ValueError:
        raise DataError(
            f"--sel {dim}={value}: '{value}' is not a value of '{dim}' ({coord.dtype})"
        ) from None
    return value


def select(
    ds: xr.Dataset, names: Sequence[str], sel: Mapping[str, Any] | None, keep: Sequence[str] = ()
) -> xr.Dataset:
    """Pick one value along the dims named in ``sel`` (by label; by position where the dim
    has no coordinate), then drop every other length-1 dim of the fields (a single pressure
    level, a single ensemble member); the picked values stay as scalar coordinates."""
    dims = list(ds[names[0]].dims)
    for dim, value in (sel or {}).items():
        if dim not in dims:
            raise DataError(
                f"--sel names '{dim}', which is not a dim of '{names[0]}'; dims: {_fmt_list(dims)}"
            )
        if dim not in ds.coords:
            ds = ds.isel({dim: int(value)})
            continue
        label = _label(ds, dim, value)
        try:
            ds = ds.sel({dim: label})
        except KeyError:
            shown = _fmt_list(ds[dim].values[:6])
            raise DataError(
                f"--sel {dim}={value}: no such value; values of '{dim}': {shown}"
            ) from None
    single = [d for d in ds[names[0]].dims if ds.sizes[d] == 1 and d not in keep]
    return ds.isel({d: 0 for d in single}) if single else ds


def _check_not_ensemble(da: xr.DataArray, space: Sequence[str]) -> None:
    for d in space:
        if str(d).lower() in ENSEMBLE_DIMS:
            raise DataError(
                f"'{da.name}' has an ensemble dim '{d}' ({da.sizes[d]} members); pick one with "
                f"--sel {d}=VALUE (sel= in Python), e.g. --sel {d}={da[d].values[0]}"
            )


def _continuous_longitudes(ds: xr.Dataset, names: Sequence[str], space: Sequence[str]):
    """Longitudes that cross 0°/360° (354 … 359, 0 … 9, or sorted into 0 … 9, 354 … 359)
    made continuous (-6 … 9) and in order, the data rolled along; others untouched."""
    for d in space:
        if d not in ds.coords or degree_kind(str(d), _attr(ds[d], "units")) != "lon":
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


def _load_grid(
    ds: xr.Dataset,
    names: list[str],
    tname: str,
    space: list[str],
    time_unit: str,
    source: str | None,
) -> Samples:
    ds = _continuous_longitudes(ds, names, space)
    da = ds[names[0]]
    dims = [tname, *space]
    axes: dict[str, np.ndarray] = {}
    decoded_unit = None
    origin = None
    for d in dims:
        if d not in da.coords:
            raise DataError(
                f"dim '{d}' of '{da.name}' has no coordinate values; add a coordinate variable "
                f"'{d}' (positions along it), or give station positions as coordinates on it"
            )
        vals = da.coords[d].values
        if d == tname:
            vals, origin = _to_float_time(vals, d, time_unit)
            decoded_unit = time_unit if origin is not None else None
        elif not np.issubdtype(vals.dtype, np.number):
            raise DataError(f"coordinate '{d}' of '{da.name}' is not numeric ({vals.dtype})")
        vals = np.asarray(vals, dtype=float)
        _check_monotonic(vals, d, str(da.name))
        if vals.size < MIN_POINTS_PER_DIM:
            raise DataError(
                f"variable '{da.name}' has only {vals.size} points along '{d}'; at least "
                f"{MIN_POINTS_PER_DIM} are needed"
            )
        axes[d] = vals
    info = _common(ds, names, dims, decoded_unit)
    for n in names:
        _check_values(ds[n].values, n)
    # a dataset with canonical symbols, ascending coordinates, time first
    syms = dict(zip(dims, info["coords"]))
    grid = xr.Dataset(
        {
            sym: (info["coords"], np.asarray(ds[n].transpose(*dims).values, dtype=float))
            for sym, n in zip(info["fields"], names)
        },
        coords={syms[d]: axes[d] for d in dims},
    )
    for c in info["coords"]:
        if grid[c].values[0] > grid[c].values[-1]:
            grid = grid.isel({c: slice(None, None, -1)})
    for sym in list(info["fields"]) + list(info["coords"]):
        if sym in info["units"]:
            grid[sym].attrs["units"] = info["units"][sym]
        if sym in info["long_names"]:
            grid[sym].attrs["long_name"] = info["long_names"][sym]
    mesh = np.meshgrid(*[grid[c].values for c in info["coords"]], indexing="ij")
    points = np.stack([m.ravel() for m in mesh], axis=1)
    values = _stack_values([grid[f].values for f in info["fields"]])
    points, values = _finish(points, values, names[0])
    return Samples(
        points=points,
        values=values,
        layout="grid",
        grid=grid,
        time_unit=decoded_unit,
        time_origin=origin,
        source=source,
        attrs=dict(ds.attrs),
        **info,
    )


def _positions(
    ds: xr.Dataset,
    dim: str,
    coords: Sequence[str] | None,
    var: str,
    what: str,
    fields: Sequence[str] = (),
) -> list[str]:
    if coords is None:
        pos = _station_dim(ds, dim, fields)
        if not pos:
            raise DataError(
                f"the {what} dim '{dim}' of '{var}' has no coordinate variables giving positions"
                f" (e.g. 'x', or 'lat' and 'lon' on '{dim}')"
            )
        return pos
    valid = [
        str(n) for n, v in ds.variables.items() if v.dims == (dim,) and n != dim and n not in fields
    ]
    for c in coords:
        if c not in valid:
            raise DataError(
                f"coordinate '{c}' not found on the {what} dim '{dim}'; valid coordinates: "
                f"{_fmt_list(valid)}"
            )
    return list(coords)


def _load_stations(
    ds: xr.Dataset,
    names: list[str],
    tname: str,
    sdim: str,
    coords: Sequence[str] | None,
    time_unit: str,
    source: str | None,
) -> Samples:
    da = ds[names[0]].transpose(tname, sdim)
    pos = _positions(ds, sdim, coords, str(da.name), "station", names)
    if tname not in da.coords:
        raise DataError(f"time dim '{tname}' of '{da.name}' has no coordinate values")
    tvals, origin = _to_float_time(da.coords[tname].values, tname, time_unit)
    _check_monotonic(tvals, tname, str(da.name))
    if tvals.size < MIN_POINTS_PER_DIM:
        raise DataError(
            f"variable '{da.name}' has only {tvals.size} times; at least {MIN_POINTS_PER_DIM} "
            "are needed"
        )
    xy = np.stack([np.asarray(ds[c].values, dtype=float) for c in pos], axis=1)
    if not np.all(np.isfinite(xy)):
        raise DataError(f"station positions {_fmt_list(pos)} have missing values; fill or drop")
    if len({tuple(r) for r in xy}) < len(xy):
        raise DataError(
            f"two or more stations share a position in {_fmt_list(pos)}; merge or drop them"
        )
    for n in names:
        _check_values(ds[n].values, n)
    info = _common(ds, names, [tname, *pos], time_unit if origin is not None else None)
    nt, ns = da.shape
    points = np.concatenate(
        [np.repeat(tvals, ns)[:, None], np.tile(xy, (nt, 1))], axis=1
    )  # row-major over (time, station)
    values = _stack_values([ds[n].transpose(tname, sdim).values for n in names])
    return _point_samples("station", points, values, names[0], info, origin, source, ds)


def _load_scattered(
    ds: xr.Dataset,
    names: list[str],
    tname: str,
    odim: str,
    coords: Sequence[str] | None,
    time_unit: str,
    source: str | None,
) -> Samples:
    da = ds[names[0]]
    if tname not in ds.variables or ds[tname].dims != (odim,):
        raise DataError(
            f"scattered data needs the time '{tname}' as a coordinate on '{odim}'; "
            f"coordinates on '{odim}': {_fmt_list(_station_dim(ds, odim, names))}"
        )
    pos = [c for c in _positions(ds, odim, coords, str(da.name), "obs", names) if c != tname]
    if not pos:
        raise DataError(f"scattered data needs spatial coordinates on '{odim}' besides time")
    tvals, origin = _to_float_time(ds[tname].values, tname, time_unit)
    for n in names:
        _check_values(ds[n].values, n)
    info = _common(ds, names, [tname, *pos], time_unit if origin is not None else None)
    points = np.stack([tvals] + [np.asarray(ds[c].values, dtype=float) for c in pos], axis=1)
    for j, c in enumerate([tname, *pos]):
        if np.unique(points[:, j]).size < MIN_POINTS_PER_DIM:
            raise DataError(
                f"scattered data has fewer than {MIN_POINTS_PER_DIM} distinct values of '{c}'"
            )
    values = _stack_values([ds[n].values for n in names])
    return _point_samples("scattered", points, values, names[0], info, origin, source, ds)


# ----------------------------------------------------------------------------- transforms

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


HOLDOUT_KINDS = ("last", "stations")


def parse_holdout(spec: str) -> dict[str, float | int]:
    """Read a hold-out: ``last:20%`` (a fraction of the time steps) or ``last:12`` (steps),
    ``stations:20%`` or ``stations:9`` (stations chosen at random, station data only), or
    both, comma-separated.

    >>> parse_holdout("last:20%")
    {'last': 0.2}
    >>> parse_holdout("last:5,stations:20%")
    {'last': 5, 'stations': 0.2}
    """
    out: dict[str, float | int] = {}
    for part in str(spec).split(","):
        kind, _, amount = part.strip().partition(":")
        if kind not in HOLDOUT_KINDS or not amount or kind in out:
            raise DataError(
                f"cannot read the hold-out '{spec}'; write last:P% (the last P percent of the "
                "time steps) or last:N (the last N steps), optionally with stations:P% or "
                "stations:N (e.g. last:20%,stations:9)"
            )
        try:
            if amount.endswith("%"):
                frac = float(amount[:-1]) / 100
                if not 0 < frac < 1:
                    raise ValueError
                out[kind] = frac
                continue
            n = int(amount)
            if n < 1:
                raise ValueError
            out[kind] = n
        except ValueError:
            raise DataError(
                f"cannot read the hold-out amount '{amount}'; give a percentage in (0, 100), "
                f"e.g. {kind}:20%, or a whole number, e.g. {kind}:10"
            ) from None
    return out


def _count(amount: float | int, n: int) -> int:
    return int(np.ceil(amount * n - 1e-9)) if isinstance(amount, float) else int(amount)


def holdout_start(times: np.ndarray, spec: str) -> int:
    """Index of the first held-out time among the sorted unique ``times`` (``last:`` part;
    the last 20% where ``spec`` holds out stations only)."""
    amount = parse_holdout(spec).get("last", 0.2)
    n = len(times)
    held = _count(amount, n)
    if held < 1 or n - held < 2:
        raise DataError(
            f"the hold-out '{spec}' leaves {n - held} of {n} time steps to learn from; "
            "at least 2 are needed"
        )
    return n - held


#: seed of the random choice of held-out stations (the same stations on every run)
HOLDOUT_SEED = 0


def station_positions(samples: Samples) -> np.ndarray:
    """The distinct station positions of station data, sorted (rows of ``points[:, 1:]``)."""
    return np.unique(samples.points[:, 1:], axis=0)


def holdout_stations(samples: Samples, amount: float | int) -> np.ndarray:
    """Positions of the stations held out by ``stations:P%`` / ``stations:N``: a seeded
    random choice (the same on every run); find records it in its settings, where
    validate reads it."""
    if samples.layout != "station":
        raise DataError(
            f"a stations: hold-out needs station data, but the layout is '{samples.layout}'; "
            "hold out time only (last:P%)"
        )
    pos = station_positions(samples)
    k = _count(amount, len(pos))
    if k < 1 or len(pos) - k < 3:
        spec = f"{100 * amount:g}%" if isinstance(amount, float) else amount
        raise DataError(
            f"the hold-out stations:{spec} leaves {len(pos) - k} of {len(pos)} stations to "
            "learn from; at least 3 are needed"
        )
    pick = np.random.default_rng(HOLDOUT_SEED).choice(len(pos), k, replace=False)
    return pos[np.sort(pick)]


def at_positions(points: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Which rows of ``points`` (spatial coordinates) are one of ``positions`` exactly."""
    pts = np.ascontiguousarray(points)
    want = {tuple(r) for r in np.asarray(positions, dtype=float).reshape(-1, pts.shape[1])}
    return np.fromiter((tuple(r) in want for r in pts), bool, len(pts))


def split_holdout(samples: Samples, spec: str) -> tuple[Samples, dict[str, Any]]:
    """The samples left to learn from, and what was held out: ``start`` (the first held-out
    time, or None) and ``stations`` (held-out station positions, or None)."""
    parts = parse_holdout(spec)
    keep = np.ones(samples.n_samples, bool)
    grid = samples.grid
    info: dict[str, Any] = {"start": None, "stations": None}
    if "last" in parts:
        times = np.unique(samples.points[:, 0])
        cut = float(times[holdout_start(times, spec)])
        keep &= samples.points[:, 0] < cut
        if grid is not None:
            grid = grid.sel(t=grid["t"] < cut)
        info["start"] = cut
    if "stations" in parts:
        held = holdout_stations(samples, parts["stations"])
        keep &= ~at_positions(samples.points[:, 1:], held)
        info["stations"] = held.tolist()
    train = replace(samples, points=samples.points[keep], values=samples.values[keep], grid=grid)
    return train, info


def unit_conversion(old: str, new: str) -> tuple[float, float]:
    """``(factor, offset)`` with ``value_new = factor * value_old + offset``.

    >>> unit_conversion("m", "km")
    (0.001, 0.0)
    >>> unit_conversion("K", "degC")
    (1.0, -273.15)
    """
    for u in (old, new):
        if u not in UNITS:
            raise DataError(f"unknown unit '{u}'; units a transform knows: {_fmt_list(UNITS)}")
    (k1, f1, o1), (k2, f2, o2) = UNITS[old], UNITS[new]
    if k1 != k2:
        raise DataError(f"cannot convert '{old}' ({k1}) to '{new}' ({k2}); give a {k1} unit")
    return f1 / f2, (o1 - o2) / f2


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


def degree_kind(sym: str, unit: str | None) -> str | None:
    """``"lat"``/``"lon"`` for a coordinate in degree units (``degrees_north``, or plain
    ``degrees`` on a coordinate named lat/lon), None otherwise."""
    if unit not in DEGREE_UNITS:
        return None
    return DEGREE_UNITS[unit] or {"lat": "lat", "lon": "lon"}.get(sym)


def _projection(
    samples: Samples, sym: str, unit: str, target: str
) -> tuple[tuple[float, float], str | None]:
    """``(factor, offset)`` of the local equirectangular projection of a lat/lon coordinate
    to the length unit ``target``, centred on the data, and the new symbol (``y``/``x``)."""
    kind = degree_kind(sym, unit)
    if kind is None:
        raise DataError(
            f"'{sym}' is in '{unit}' but neither latitude nor longitude; give its units "
            "as degrees_north or degrees_east"
        )
    length = UNITS[target][1]
    j = samples.coords.index(sym)
    lo, hi = float(samples.points[:, j].min()), float(samples.points[:, j].max())
    factor = EARTH_RADIUS * np.pi / 180 / length
    if kind == "lon":
        lats = [
            c
            for c in samples.coords
            if DEGREE_UNITS.get(samples.units.get(c, ""), "") == "lat" or c == "lat"
        ]
        if not lats:
            raise DataError(
                f"projecting longitude '{sym}' needs a latitude coordinate "
                "(units degrees_north) for the scale of a degree of longitude"
            )
        k = samples.coords.index(lats[0])
        mid_lat = (samples.points[:, k].min() + samples.points[:, k].max()) / 2
        factor *= float(np.cos(np.deg2rad(mid_lat)))
    new = {"lat": "y", "lon": "x"}[kind]
    return (factor, -factor * (lo + hi) / 2), new


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
    >>> s, tr = transform(load(ds, "u"), {"x": "km", "t": "h"})
    >>> float(s.points[:, 1].max()), float(s.points[:, 0].max()), dict(s.units)
    (5.0, 2.0, {'t': 'h', 'x': 'km'})
    """
    units = dict(units or {})
    scale = dict(scale or {})
    known = (*samples.fields, *samples.coords)
    maps: dict[str, tuple[float, float]] = {}
    before: dict[str, str] = {}
    renames: dict[str, str] = {}
    after: dict[str, str] = {}
    for sym in [*units, *scale]:
        if sym not in known:
            raise DataError(f"cannot transform '{sym}'; symbols of the data: {_fmt_list(known)}")
    for sym, (a, b) in scale.items():
        if sym in units:
            raise DataError(f"'{sym}' is both converted to a unit and scaled; give one of them")
        if not np.isfinite(a) or a == 0 or not np.isfinite(b):
            raise DataError(f"scale of '{sym}' must be a finite, nonzero factor and offset")
        maps[sym] = (float(a), float(b))
        old = samples.units.get(sym)
        before[sym] = old or "1"
        after[sym] = f"{a:g}*({old or 1}){b:+g}" if b else f"{a:g}*({old or 1})"
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
            maps[sym], newsym = _projection(samples, sym, old, new)
            if newsym is not None and newsym not in known and newsym not in renames.values():
                renames[sym] = newsym
        else:
            maps[sym] = unit_conversion(old, new)
    if "t" in maps and maps["t"][1] != 0:
        raise DataError("time can only be rescaled, not shifted")
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
    grid = samples.grid
    if grid is not None:
        grid = grid.copy()
        for sym, (a, b) in maps.items():
            attrs = {**grid[sym].attrs, "units": after[sym]}
            if sym in samples.coords:
                grid = grid.assign_coords({sym: (sym, a * grid[sym].values + b, attrs)})
            else:
                grid[sym] = (grid[sym].dims, a * grid[sym].values + b, attrs)
        grid = grid.rename(renames)

    def renamed(d: Mapping[str, Any]) -> dict[str, Any]:
        return {renames.get(k, k): v for k, v in d.items()}

    time_unit = samples.time_unit
    if "t" in units and time_unit is not None:
        time_unit = units["t"]
    out = replace(
        samples,
        coords=tuple(renames.get(c, c) for c in samples.coords),
        points=pts,
        values=vals,
        grid=grid,
        names=renamed(samples.names),
        units=renamed({**samples.units, **after}),
        long_names=renamed(samples.long_names),
        time_unit=time_unit,
    )
    return out, Transform(maps, renamed(after), before, renames)
