"""Data larger than memory: lazy opening (xarray on dask), the memory budget, the scheduler.

:func:`discover.find` takes the chunked path (:mod:`discover.builders.chunked`) by itself
when the in-memory path would need more than a memory budget (``memory="2GB"`` by default,
``--memory`` on the command line): the data are then opened lazily — one file with
``xarray.open_dataset(chunks={})``, many files (a list, or a glob such as
``"era5_*.nc"``) with ``xarray.open_mfdataset`` — and only slabs of time steps are ever read.

The in-memory path needs about :data:`BYTES_PER_VALUE` bytes per data value (measured on
finite differences, 2-D advection–diffusion: 2.95 GB for 1.65 × 10⁶ values).

Examples
--------
>>> parse_memory("2GB"), parse_memory("512 MiB"), parse_memory(10**6)
(2000000000, 536870912, 1000000)
"""

from __future__ import annotations

import glob
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .errors import DataError
from .io import Samples, load
from .io.reading import find_time as _find_time
from .io.reading import open_dataset, select
from .io.reading import to_float_time as _to_float_time

__all__ = [
    "BYTES_PER_VALUE",
    "DEFAULT_MEMORY",
    "LazySamples",
    "client_for",
    "is_many",
    "lazy_samples",
    "needs_chunks",
    "open_lazy",
    "parse_memory",
]

#: the default memory budget of :func:`discover.find`
DEFAULT_MEMORY = "2GB"
#: bytes the in-memory path needs per data value (measured, see the module notes)
BYTES_PER_VALUE = 1800
_UNITS = {"": 1, "B": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
_IUNITS = {"KI": 2**10, "MI": 2**20, "GI": 2**30, "TI": 2**40}


def parse_memory(text: str | int | float) -> int:
    """Bytes from a memory size: a number of bytes or text like ``"2GB"``, ``"500 MB"``,
    ``"1.5GiB"``; a one-line error otherwise."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        if text > 0:
            return int(text)
    elif isinstance(text, str):
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([kKmMgGtT][iI]?)?[bB]?\s*", text)
        if m and float(m.group(1)) > 0:
            unit = (m.group(2) or "").upper()
            return int(float(m.group(1)) * (_IUNITS.get(unit) or _UNITS[unit]))
    raise DataError(
        f"memory must be a positive size such as '2GB', '500MB' or '1.5GiB', not {text!r}",
        parameter="memory",
    )


def is_many(data: Any) -> bool:
    """Whether ``data`` names several files (a list of paths, or a glob pattern)."""
    if isinstance(data, (list, tuple)):
        return True
    return isinstance(data, str) and any(ch in data for ch in "*?[")


def open_lazy(data: str | Path | Sequence[str | Path]) -> xr.Dataset:
    """Open one netCDF file, a list of them or a glob pattern lazily (dask arrays)."""
    if is_many(data):
        paths = sorted(glob.glob(data)) if isinstance(data, str) else [str(p) for p in data]
        if not paths:
            raise DataError(f"no file matches '{data}'; give a path or a glob such as 'u_*.nc'")
        for p in paths:
            open_dataset(p).close()  # the one-line errors of a missing or unreadable file
        return xr.open_mfdataset(paths, combine="by_coords", chunks={}, data_vars="minimal")
    open_dataset(data).close()
    return xr.open_dataset(data, chunks={})


@dataclass(frozen=True, repr=False)
class LazySamples(Samples):
    """Gridded samples whose ``grid`` holds dask arrays: nothing read until a slab is asked
    for (``points`` and ``values`` are empty)."""

    n_values: int = 0

    @property
    def n_samples(self) -> int:
        return self.n_values

    def __repr__(self) -> str:
        shape = "×".join(str(self.grid.sizes[c]) for c in self.coords)
        return f"<LazySamples grid: {','.join(self.fields)} on {shape} (not loaded)>"


def lazy_samples(
    ds: xr.Dataset,
    var: str | Sequence[str],
    *,
    time: str | None = None,
    time_unit: str = "days",
    sel: dict | None = None,
    source: str | None = None,
) -> LazySamples:
    """The fields of ``ds`` as :class:`LazySamples`: the first time steps go through
    :func:`discover.io.load` (every check and the symbols), the grid stays lazy."""
    names = [var] if isinstance(var, str) else list(var)
    for n in names:
        if n not in ds.data_vars:
            raise DataError(f"variable '{n}' not found; valid variables: {list(ds.data_vars)}")
    tname = _find_time(ds, ds[names[0]], time)
    ds = select(ds, names, sel, keep=[tname])
    head = load(ds.isel({tname: slice(0, 32)}).load(), names, time=tname, time_unit=time_unit)
    if head.layout != "grid":
        raise DataError(
            f"the chunked path takes gridded data, not the '{head.layout}' layout; give more "
            "memory (memory=, --memory) to load it whole"
        )
    dims = [head.names[c] for c in head.coords]
    tvals, _ = _to_float_time(ds[tname].values, tname, time_unit)
    axes = {c: np.asarray(ds[d].values, dtype=float) for c, d in zip(head.coords, dims)}
    axes["t"] = np.asarray(tvals, dtype=float) - (tvals[0] - head.grid["t"].values[0])
    grid = xr.Dataset(
        {f: (head.coords, ds[head.names[f]].transpose(*dims).data) for f in head.fields},
        coords=axes,
    )
    for c in head.coords:
        if grid[c].values[0] > grid[c].values[-1]:
            grid = grid.isel({c: slice(None, None, -1)})
    return LazySamples(
        fields=head.fields,
        coords=head.coords,
        points=np.empty((0, len(head.coords))),
        values=np.empty((0, len(head.fields))),
        layout="grid",
        grid=grid,
        names=head.names,
        units=head.units,
        long_names=head.long_names,
        time_unit=head.time_unit,
        time_origin=head.time_origin,
        source=source,
        attrs=dict(ds.attrs),
        n_values=int(np.prod([grid.sizes[c] for c in head.coords])) * len(head.fields),
    )


def needs_chunks(data: Any, var: Any, memory: str | int | float | None) -> bool:
    """Whether ``find`` takes the chunked path: the data exceed the memory budget at
    :data:`BYTES_PER_VALUE` bytes per value (``memory=None``: never)."""
    if memory is None or var is None:
        return False
    budget = parse_memory(memory)
    if isinstance(data, Samples):
        return False
    if isinstance(data, (xr.Dataset, xr.DataArray)):
        arr = data if isinstance(data, xr.DataArray) else data.get(_first(var))
        size = 0 if arr is None else arr.size
    else:
        with open_lazy(data) as ds:
            arr = ds.get(_first(var))
            size = 0 if arr is None else arr.size * len([var] if isinstance(var, str) else var)
    return size * BYTES_PER_VALUE > budget


def _first(var: Any) -> str:
    return var if isinstance(var, str) else next(iter(var))


def client_for(scheduler: Any):
    """A ``dask.distributed.Client`` for ``scheduler``: an address (``"tcp://host:8786"``),
    a cluster (``LocalCluster``) or a client; ``None`` for dask's local threads."""
    if scheduler is None:
        return None
    from dask.distributed import Client

    if isinstance(scheduler, Client):
        return scheduler
    try:
        return Client(scheduler, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise DataError(
            f"cannot reach the dask scheduler {scheduler!r} ({exc}); give the address a "
            "'dask scheduler' prints, e.g. 'tcp://127.0.0.1:8786'",
            parameter="scheduler",
        ) from None
