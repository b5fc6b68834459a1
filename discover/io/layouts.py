"""Layouts: the ways measured fields can be laid out, each one plug-in in :data:`LAYOUTS`.

``grid``
    ``var(time, x[, y[, z]])`` with a numeric 1-D coordinate on every dim (decreasing
    coordinates, such as ERA5's latitude, are sorted ascending).
``station``
    ``var(time, station)`` with coordinate variables on the station dim (``x``, or ``lat``
    and ``lon``) giving each station's position.
``scattered``
    ``var(obs)`` with coordinate variables on the ``obs`` dim, one of them the time.

A layout is a subclass of :class:`Layout` with a ``name``: defining the class registers it.
It says whether it recognises the data (:meth:`Layout.detect`) and turns them into
:class:`~discover.io.Samples` (:meth:`Layout.load`).  ``load(..., layout="auto")`` tries the
layouts in the order of their ``priority`` and takes the first that recognises the data.

Examples
--------
>>> sorted(LAYOUTS)
['grid', 'scattered', 'station']
>>> LAYOUTS["mesh"]
Traceback (most recent call last):
...
discover.errors.UnknownNameError: unknown layout 'mesh' for layout=; valid layouts: 'auto', ...
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import xarray as xr

from ..errors import DataError
from ..registry import Registry
from .geodesy import continuous_longitudes
from .reading import attr, check_monotonic, check_values, fmt_list, symbol_name, to_float_time
from .samples import Samples

__all__ = ["LAYOUTS", "MIN_POINTS_PER_DIM", "MIN_SAMPLES", "Layout", "Request", "detect_layout"]

#: the fewest values along any dim, and in all, that the pipeline can work with
MIN_POINTS_PER_DIM = 5
MIN_SAMPLES = 20
_NOT_SPATIAL = {"height", "elevation", "altitude", "station", "station_id", "id", "name"}

#: layouts by name (``load(..., layout=NAME)``; "auto" detects)
LAYOUTS: Registry[Layout] = Registry("layout", parameter="layout", extra=("auto",))


@dataclass(frozen=True)
class Request:
    """What :func:`~discover.io.load` was asked for, once the variables and the time are
    found: the dataset, the field variables' names, the time coordinate's name, the
    coordinates asked for (station and scattered data), the time unit, the file."""

    ds: xr.Dataset
    names: list[str]
    time: str
    coords: Sequence[str] | None
    time_unit: str
    source: str | None

    @property
    def var(self) -> xr.DataArray:
        """The first field variable."""
        return self.ds[self.names[0]]

    @property
    def others(self) -> list[str]:
        """The fields' dims other than time."""
        return [str(d) for d in self.var.dims if d != self.time]


class Layout:
    """One layout of measured data; subclass with a ``name`` to register it in
    :data:`LAYOUTS`.

    Attributes
    ----------
    name : str
        The registry name (``layout=`` / ``--layout``).
    priority : int
        Where ``layout="auto"`` tries it (lower first); the grid, which takes any
        ``(time, …)`` data, comes last.
    """

    name: ClassVar[str] = ""
    priority: ClassVar[int] = 50

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name:
            LAYOUTS.register(cls.name, cls())

    def detect(self, request: Request) -> bool:  # pragma: no cover - abstract
        """Whether the data are in this layout."""
        raise NotImplementedError

    def load(self, request: Request) -> Samples:  # pragma: no cover - abstract
        """The data as :class:`Samples`; one-line :class:`DataError` for unusable data."""
        raise NotImplementedError


def detect_layout(request: Request) -> Layout:
    """The first registered layout, by priority, that recognises the data."""
    da = request.var
    for layout in sorted(LAYOUTS.values(), key=lambda lay: lay.priority):
        if layout.detect(request):
            return layout
    raise DataError(
        f"cannot tell the layout of '{da.name}' with dims {tuple(map(str, da.dims))}: expected "
        f"(time, x[, y[, z]]), (time, station) or (obs) with '{request.time}' among the dims "
        "or on obs"
    )


# ----------------------------------------------------------------------------- grid
class GridLayout(Layout):
    """``var(time, x[, y[, z]])``: fields on a tensor grid."""

    name = "grid"
    priority = 90

    def detect(self, request: Request) -> bool:
        return request.time in request.var.dims and len(request.var.dims) > 1

    def load(self, request: Request) -> Samples:
        space = request.others
        ds = continuous_longitudes(request.ds, request.names, space)
        names, dims = request.names, [request.time, *space]
        axes, origin = _grid_axes(ds[names[0]], dims, request.time, request.time_unit)
        decoded_unit = request.time_unit if origin is not None else None
        info = _common(ds, names, dims, decoded_unit)
        for n in names:
            check_values(ds[n].values, n)
        grid = _canonical_grid(ds, names, dims, axes, info)
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
            source=request.source,
            attrs=dict(ds.attrs),
            **info,
        )


def _grid_axes(
    da: xr.DataArray, dims: list[str], tname: str, time_unit: str
) -> tuple[dict[str, np.ndarray], str | None]:
    """Each dim's coordinate values as floats (time decoded), checked; and the time origin."""
    axes: dict[str, np.ndarray] = {}
    origin = None
    for d in dims:
        if d not in da.coords:
            raise DataError(
                f"dim '{d}' of '{da.name}' has no coordinate values; add a coordinate variable "
                f"'{d}' (positions along it), or give station positions as coordinates on it"
            )
        vals = da.coords[d].values
        if d == tname:
            vals, origin = to_float_time(vals, d, time_unit)
        elif not np.issubdtype(vals.dtype, np.number):
            raise DataError(f"coordinate '{d}' of '{da.name}' is not numeric ({vals.dtype})")
        vals = np.asarray(vals, dtype=float)
        check_monotonic(vals, d, str(da.name))
        if vals.size < MIN_POINTS_PER_DIM:
            raise DataError(
                f"variable '{da.name}' has only {vals.size} points along '{d}'; at least "
                f"{MIN_POINTS_PER_DIM} are needed"
            )
        axes[d] = vals
    return axes, origin


def _canonical_grid(
    ds: xr.Dataset,
    names: list[str],
    dims: list[str],
    axes: dict[str, np.ndarray],
    info: dict[str, Any],
) -> xr.Dataset:
    """The fields as a dataset with canonical symbols, ascending coordinates, time first,
    units and long names as attributes."""
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
    return grid


# ----------------------------------------------------------------------------- stations
class StationLayout(Layout):
    """``var(time, station)`` with each station's position in coordinate variables on the
    station dim."""

    name = "station"
    priority = 10

    def detect(self, request: Request) -> bool:
        others, coords = request.others, request.coords
        if request.time not in request.var.dims or len(others) != 1:
            return False
        if coords is None:
            return bool(_station_dim(request.ds, others[0], request.names))
        return others[0] not in coords

    def load(self, request: Request) -> Samples:
        ds, names, tname = request.ds, request.names, request.time
        if tname not in request.var.dims or len(request.others) != 1:
            raise DataError(
                f"station data are (time, station); '{names[0]}' has dims "
                f"{tuple(map(str, request.var.dims))}"
            )
        sdim = request.others[0]
        da = ds[names[0]].transpose(tname, sdim)
        pos = _positions(ds, sdim, request.coords, str(da.name), "station", names)
        if tname not in da.coords:
            raise DataError(f"time dim '{tname}' of '{da.name}' has no coordinate values")
        tvals, origin = to_float_time(da.coords[tname].values, tname, request.time_unit)
        check_monotonic(tvals, tname, str(da.name))
        if tvals.size < MIN_POINTS_PER_DIM:
            raise DataError(
                f"variable '{da.name}' has only {tvals.size} times; at least {MIN_POINTS_PER_DIM} "
                "are needed"
            )
        xy = _station_xy(ds, pos)
        for n in names:
            check_values(ds[n].values, n)
        info = _common(ds, names, [tname, *pos], request.time_unit if origin is not None else None)
        nt, ns = da.shape
        points = np.concatenate(
            [np.repeat(tvals, ns)[:, None], np.tile(xy, (nt, 1))], axis=1
        )  # row-major over (time, station)
        values = _stack_values([ds[n].transpose(tname, sdim).values for n in names])
        return _point_samples("station", points, values, names[0], info, origin, request, ds)


def _station_xy(ds: xr.Dataset, pos: list[str]) -> np.ndarray:
    """The stations' positions ``(station, coordinate)``: finite, no two the same."""
    xy = np.stack([np.asarray(ds[c].values, dtype=float) for c in pos], axis=1)
    if not np.all(np.isfinite(xy)):
        raise DataError(f"station positions {fmt_list(pos)} have missing values; fill or drop")
    if len({tuple(r) for r in xy}) < len(xy):
        raise DataError(
            f"two or more stations share a position in {fmt_list(pos)}; merge or drop them"
        )
    return xy


# ----------------------------------------------------------------------------- scattered
class ScatteredLayout(Layout):
    """``var(obs)``: each observation with its own time and position on the ``obs`` dim."""

    name = "scattered"
    priority = 20

    def detect(self, request: Request) -> bool:
        return request.time not in request.var.dims and len(request.var.dims) == 1

    def load(self, request: Request) -> Samples:
        ds, names, tname = request.ds, request.names, request.time
        da = ds[names[0]]
        if len(da.dims) != 1:
            raise DataError(
                f"scattered data are (obs); '{names[0]}' has dims {tuple(map(str, da.dims))}"
            )
        odim = str(da.dims[0])
        if tname not in ds.variables or ds[tname].dims != (odim,):
            raise DataError(
                f"scattered data needs the time '{tname}' as a coordinate on '{odim}'; "
                f"coordinates on '{odim}': {fmt_list(_station_dim(ds, odim, names))}"
            )
        pos = [
            c
            for c in _positions(ds, odim, request.coords, str(da.name), "obs", names)
            if c != tname
        ]
        if not pos:
            raise DataError(f"scattered data needs spatial coordinates on '{odim}' besides time")
        tvals, origin = to_float_time(ds[tname].values, tname, request.time_unit)
        for n in names:
            check_values(ds[n].values, n)
        info = _common(ds, names, [tname, *pos], request.time_unit if origin is not None else None)
        points = np.stack([tvals] + [np.asarray(ds[c].values, dtype=float) for c in pos], axis=1)
        for j, c in enumerate([tname, *pos]):
            if np.unique(points[:, j]).size < MIN_POINTS_PER_DIM:
                raise DataError(
                    f"scattered data has fewer than {MIN_POINTS_PER_DIM} distinct values of '{c}'"
                )
        values = _stack_values([ds[n].values for n in names])
        return _point_samples("scattered", points, values, names[0], info, origin, request, ds)


# ----------------------------------------------------------------------------- shared
def _station_dim(ds: xr.Dataset, dim: str, exclude: Sequence[str] = ()) -> list[str]:
    """Numeric variables on ``dim`` alone (other than its index and ``exclude``): positions."""
    out = []
    for name, var in ds.variables.items():
        if name == dim or var.dims != (dim,) or name in exclude:
            continue
        if np.issubdtype(var.dtype, np.number) and str(name).lower() not in _NOT_SPATIAL:
            out.append(str(name))
    return out


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
                f"{fmt_list(valid)}"
            )
    return list(coords)


def _common(
    ds: xr.Dataset, names: list[str], coord_names: list[str], time_unit: str | None
) -> dict[str, Any]:
    """Symbols of the fields and coordinates, the symbol -> name map, units, long names."""
    syms = {symbol_name(n): n for n in names}
    csyms = ["t"] + [symbol_name(c) for c in coord_names[1:]]
    all_syms = list(syms) + csyms
    if len(set(all_syms)) != len(all_syms):
        raise DataError(
            f"names {fmt_list(names + coord_names)} give clashing symbols {fmt_list(all_syms)};"
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
            if (u := attr(ds[n], "units")) is not None:
                units[sym] = u
            if (ln := attr(ds[n], "long_name")) is not None:
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
    request: Request,
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
        source=request.source,
        attrs=dict(ds.attrs),
        **info,
    )
