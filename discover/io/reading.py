"""Reading: open netCDF files, name symbols, decode times, pick values along extra dims,
and the checks every layout applies to coordinates and values."""

from __future__ import annotations

import keyword
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..errors import DataError

__all__ = [
    "ENSEMBLE_DIMS",
    "TIME_UNITS",
    "open_dataset",
    "parse_sel",
    "select",
    "symbol_name",
]

#: time units a datetime coordinate can be decoded to, and their length in seconds
TIME_UNITS: dict[str, float] = {"seconds": 1.0, "minutes": 60.0, "hours": 3600.0, "days": 86400.0}
_TIME_NAMES = ("time", "t", "Time", "TIME", "valid_time", "date", "datetime")
_SHORT_NAMES = {"latitude": "lat", "longitude": "lon"}
#: dimension names that count members of an ensemble, never a spatial axis
ENSEMBLE_DIMS = ("number", "member", "ensemble", "realization", "realisation", "member_id")


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


def fmt_list(names: Sequence[Any]) -> str:
    return ", ".join(repr(str(n)) for n in names) or "none"


def _is_datetime(values: np.ndarray) -> bool:
    return np.issubdtype(values.dtype, np.datetime64) or values.dtype == object


def find_time(ds: xr.Dataset, da: xr.DataArray, time: str | None) -> str:
    candidates = list(da.dims) + [c for c in da.coords if c not in da.dims]
    if time is not None:
        if time not in ds.variables and time not in da.dims:
            raise DataError(
                f"time coordinate '{time}' not found; coordinates of '{da.name}' are "
                f"{fmt_list(candidates)}"
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
        f"coordinates {fmt_list(candidates)}); name one with --time / time="
    )


def to_float_time(values: np.ndarray, name: str, time_unit: str) -> tuple[np.ndarray, str | None]:
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


def check_monotonic(values: np.ndarray, name: str, var: str) -> None:
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


def check_values(values: np.ndarray, var: str) -> None:
    finite = np.isfinite(values)
    if not finite.any():
        raise DataError(f"variable '{var}' has no valid values (all NaN)")
    v = values[finite]
    if np.ptp(v) == 0:
        raise DataError(
            f"variable '{var}' is constant ({v[0]:g} everywhere); a PDE needs a varying field"
        )


def attr(obj: xr.DataArray | xr.Variable, key: str) -> str | None:
    val = obj.attrs.get(key)
    return str(val) if val is not None else None


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
                f"--sel names '{dim}', which is not a dim of '{names[0]}'; dims: {fmt_list(dims)}"
            )
        if dim not in ds.coords:
            ds = ds.isel({dim: int(value)})
            continue
        label = _label(ds, dim, value)
        try:
            ds = ds.sel({dim: label})
        except KeyError:
            shown = fmt_list(ds[dim].values[:6])
            raise DataError(
                f"--sel {dim}={value}: no such value; values of '{dim}': {shown}"
            ) from None
    single = [d for d in ds[names[0]].dims if ds.sizes[d] == 1 and d not in keep]
    return ds.isel({d: 0 for d in single}) if single else ds


def check_not_ensemble(da: xr.DataArray, space: Sequence[str]) -> None:
    for d in space:
        if str(d).lower() in ENSEMBLE_DIMS:
            raise DataError(
                f"'{da.name}' has an ensemble dim '{d}' ({da.sizes[d]} members); pick one with "
                f"--sel {d}=VALUE (sel= in Python), e.g. --sel {d}={da[d].values[0]}"
            )
