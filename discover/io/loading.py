""":func:`load`: from a netCDF path or an xarray object to :class:`~discover.io.Samples`,
through the layout the data have (:data:`~discover.io.layouts.LAYOUTS`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import xarray as xr

from ..errors import DataError
from .layouts import LAYOUTS, Request, detect_layout
from .pairs import split_complex
from .reading import (
    TIME_UNITS,
    check_not_ensemble,
    find_time,
    fmt_list,
    open_dataset,
    select,
    symbol_name,
)
from .samples import Samples

__all__ = ["load"]


def load(
    data: str | Path | xr.Dataset | xr.DataArray,
    var: str | Sequence[str],
    *,
    time: str | None = None,
    coords: Sequence[str] | None = None,
    time_unit: str = "days",
    sel: Mapping[str, Any] | None = None,
    layout: str = "auto",
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
    layout : str
        ``"auto"`` (detect), or a name in :data:`~discover.io.layouts.LAYOUTS`
        (``grid``, ``station``, ``scattered``).

    Returns
    -------
    Samples

    Raises
    ------
    DataError
        With a one-line message for every kind of unusable input.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> t, x = np.linspace(0, 1, 10), np.linspace(0, 1, 20)
    >>> ds = xr.Dataset({"u": (("t", "x"), np.sin(x)[None] * np.exp(-t)[:, None])},
    ...                 coords={"t": t, "x": x})
    >>> load(ds, "u").layout
    'grid'
    >>> load(ds, "u", layout="mesh")
    Traceback (most recent call last):
    ...
    discover.errors.UnknownNameError: unknown layout 'mesh' for layout=; valid layouts: 'auto', ...
    """
    LAYOUTS.check(layout)
    if time_unit not in TIME_UNITS:
        raise DataError(f"unknown time unit '{time_unit}'; valid units: {fmt_list(TIME_UNITS)}")
    ds, source = _dataset(data)
    names = [var] if isinstance(var, str) else list(var)
    if not names:
        raise DataError("no variable given; name at least one with --var")
    ds, names, pairs = split_complex(ds, names)
    for name in names:
        if name not in ds.data_vars:
            where = f" in '{source}'" if source else ""
            raise DataError(
                f"variable '{name}' not found{where}; valid variables: {fmt_list(ds.data_vars)}"
            )
    tname = find_time(ds, ds[names[0]], time)
    ds = select(ds, names, sel, keep=[tname])
    request = Request(ds, names, tname, coords, time_unit, source)
    try:
        return _with_pairs(_dispatch(request, layout), pairs)
    except (RuntimeError, OSError) as exc:  # netCDF/HDF5 read errors surface on first access
        if source is None:
            raise
        reason = (str(exc).splitlines() or [type(exc).__name__])[0][:80]
        raise DataError(
            f"cannot read the values of {fmt_list(names)} from '{source}' ({reason}); the file "
            "is damaged or incomplete: copy or download it again"
        ) from None


def _with_pairs(samples: Samples, pairs: dict[str, tuple[str, str]]) -> Samples:
    """The samples with their complex fields named by symbol (real, imaginary part)."""
    if not pairs:
        return samples
    sym = {v: k for k, v in samples.names.items() if k in samples.fields}
    found = {symbol_name(c): (sym[re], sym[im]) for c, (re, im) in pairs.items()}
    return replace(samples, complex=found)


def _dataset(data: Any) -> tuple[xr.Dataset, str | None]:
    """The data as a Dataset, and the file it came from."""
    if isinstance(data, (str, Path)):
        return open_dataset(data), str(data)
    if isinstance(data, xr.DataArray):
        return data.to_dataset(name=data.name or "u"), None
    if isinstance(data, xr.Dataset):
        return data, None
    raise DataError(
        f"cannot load data of type {type(data).__name__}; give a netCDF path, "
        "an xarray.Dataset or an xarray.DataArray"
    )


def _dispatch(request: Request, layout: str) -> Samples:
    """The fields (which must share dims) loaded by the named layout, or the detected one."""
    names, da = request.names, request.var
    for name in names[1:]:
        other = request.ds[name]
        if other.dims != da.dims:
            raise DataError(
                f"variables '{names[0]}' {da.dims} and '{name}' {other.dims} have different "
                "dims; fields discovered together must share dims"
            )
    check_not_ensemble(da, request.others)
    if request.time in da.dims and len(da.dims) == 1:
        raise DataError(
            f"variable '{da.name}' depends on time only; a PDE needs at least one space dim "
            "(grid), a station dim with positions, or scattered observations"
        )
    chosen = detect_layout(request) if layout == "auto" else LAYOUTS[layout]
    return chosen.load(request)
