"""Solve from measured data: the state of gridded data at a time as the initial values, the
data's walls as boundary values, the sides that wrap around detected.

:func:`solve_from_data` is ``discover solve --init DATA``; :func:`window_problem` and
:func:`periodic_sides` are shared with :func:`discover.validate.validate`, which re-solves
from the start of the held-out window.

Examples
--------
>>> from discover.datasets import make_dataset
>>> data = make_dataset("heat", nx=64, nt=41)
>>> sol, ds = solve_from_data(["u_t = 0.1*u_xx"], data, t_end=float(data["t"][-1]))
>>> err = float(abs(ds["u"].isel(t=-1) - data["u"].isel(t=-1)).max())
>>> err < 1e-3 * float(abs(data["u"]).max())
True
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..equation import Equation
from ..errors import DataError
from ..io import Samples, load, open_dataset, symbol_name
from ..parsing import parse_equation
from .base import get_solver
from .problem import Problem, grid_domain

__all__ = ["detect_periodic", "periodic_sides", "solve_from_data", "window_problem"]


def solve_from_data(
    equations: Sequence[Any],
    data: str | Path | xr.Dataset,
    var: str | Sequence[str] | None = None,
    *,
    t_end: float,
    start: float | None = None,
    n_times: int = 51,
    solver: str = "classical",
    periodic: Sequence[str] | str = "auto",
    boundary: str = "data",
    solver_options: Mapping[str, Any] | None = None,
    time_unit: str = "days",
    sel: Mapping[str, Any] | None = None,
) -> tuple[Any, xr.Dataset]:
    """Solve ``equations`` from the state of gridded ``data`` at ``start`` (its first time
    by default) to ``t_end``; returns the :class:`~discover.solve.Solution` and the solution
    as a Dataset named like the data (variables, coordinates, units)."""
    if var is None:
        var = _fields_in(equations, data)
    samples = load(data, var, time_unit=time_unit, sel=sel)
    if samples.grid is None:
        raise DataError(
            f"solving starts from a state on a grid, but the data's layout is "
            f"'{samples.layout}'; give gridded data"
        )
    times = samples.grid["t"].values
    k = _start_index(times, start)
    if not t_end > times[k]:
        raise DataError(f"--t-end {t_end:g} must come after the start time {times[k]:g}")
    if n_times < 2:
        raise DataError(f"--n-times must be at least 2, not {n_times}")
    out_times = np.linspace(times[k], t_end, n_times)
    sides = periodic_sides(periodic, samples)
    walls = set(samples.space) - set(sides)
    if walls and boundary == "data" and times[-1] < t_end - 1e-12:
        raise DataError(
            f"the data ends at t = {times[-1]:g}, before --t-end {t_end:g}, so it cannot give "
            "the wall values; use --boundary initial or make the sides periodic (--periodic)"
        )
    window = samples.grid.isel(t=slice(k, None))
    problem = window_problem(equations, samples, window, sides, boundary, out_times)
    sol = get_solver(solver, **dict(solver_options or {})).solve(problem)
    ds = sol.on_grid() if sol.dataset is None else sol.dataset.interp(t=out_times)
    ds = _named_like(ds, samples)
    ds.attrs = {
        "title": "solution by discover solve",
        "equations": "; ".join(map(str, problem.equations)),
        "solver": solver,
        "solver_info": json.dumps(sol.info, default=str),
        "initial_state_from": f"{samples.source or 'data'} at t = {times[k]:g}",
        "periodic": ",".join(sides),
        "boundary": boundary if walls else "periodic",
    }
    if samples.time_origin:
        ds.attrs["time_origin"] = samples.time_origin
    return sol, ds


def _start_index(times: np.ndarray, start: float | None) -> int:
    """The index of the time ``start`` (the first by default); a one-line error if the data
    have no such time."""
    if start is None:
        return 0
    k = int(np.argmin(np.abs(times - start)))
    if not np.isclose(times[k], start, rtol=1e-9, atol=1e-9 * max(1.0, abs(start))):
        raise DataError(
            f"--start {start:g} is not a time of the data; its times run from "
            f"{times[0]:g} to {times[-1]:g} (e.g. {times[min(1, len(times) - 1)]:g})"
        )
    return k


def _named_like(ds: xr.Dataset, samples: Samples) -> xr.Dataset:
    """``ds`` (on the symbols) with the data's own names, units and long names."""
    names = samples.names
    ds = ds.rename({k: names.get(k, k) for k in [*ds.data_vars, *ds.coords]})
    for sym, name in names.items():
        if name in ds.variables:
            if sym in samples.units:
                ds[name].attrs["units"] = samples.units[sym]
            if sym in samples.long_names:
                ds[name].attrs["long_name"] = samples.long_names[sym]
    return ds


def _fields_in(equations: Sequence[Any], data: str | Path | xr.Dataset) -> list[str]:
    """The data variables the equations are about: a variable ``v`` is a field when a symbol
    is ``v`` or a derivative ``v_…`` of it (the longest such variable wins, so ``air_temp``
    is not taken for ``air``)."""
    ds = open_dataset(data) if isinstance(data, (str, Path)) else data
    symbols = {symbol_name(str(v)): str(v) for v in ds.data_vars}
    names: set[str] = set()
    for e in equations:
        text = f"{e.lhs} = {e.rhs}" if isinstance(e, Equation) else str(e)
        lhs, rhs = parse_equation(text)
        names |= {s.name for s in (lhs - rhs).free_symbols}
    found: list[str] = []
    for name in sorted(names):
        hits = [v for v in symbols if name == v or name.startswith(v + "_")]
        if hits and symbols[max(hits, key=len)] not in found:
            found.append(symbols[max(hits, key=len)])
    if not found:
        raise DataError(
            f"the equations name none of the data's variables ({', '.join(symbols.values())}); "
            "name the field with --var"
        )
    return found


def detect_periodic(
    grid: xr.Dataset, fields: Sequence[str], attrs: Mapping[str, Any]
) -> tuple[str, ...]:
    """Sides on which the data wraps around: as the data's ``periodic`` attribute says, else
    where the jump from the last node to the first is no larger than three times the
    typical step between neighbours, at every time, for every field."""
    space = [c for c in grid.dims if c != "t"]
    if "periodic" in attrs:
        return tuple(space) if int(attrs["periodic"]) else ()
    out = []
    for c in space:
        ok = True
        for f in fields:
            u = grid[f].transpose("t", c, ...).values
            wrap = np.abs(u[:, -1] - u[:, 0])
            step = np.nanmedian(np.abs(np.diff(u, axis=1)), axis=1)
            scale = np.nanmax(np.abs(np.diff(u, axis=1)), axis=1)
            if not np.all(np.nan_to_num(wrap) <= np.maximum(3 * step, 0.5 * scale)):
                ok = False
        if ok:
            out.append(c)
    return tuple(out)


def periodic_sides(periodic: Sequence[str] | str, samples: Samples) -> tuple[str, ...]:
    """The sides that wrap around: ``"auto"`` (:func:`detect_periodic`), ``"none"``, or
    names of spatial coordinates."""
    space = list(samples.space)
    if periodic == "auto":
        return detect_periodic(samples.grid, samples.fields, samples.attrs)
    if periodic in ("none", None) or periodic == ():
        return ()
    sides = tuple([periodic] if isinstance(periodic, str) else periodic)
    bad = [c for c in sides if c not in space]
    if bad:
        raise DataError(f"periodic side(s) {bad} are not coordinates of the data {space}")
    return sides


def window_problem(
    equations: Sequence[Any],
    samples: Samples,
    window: xr.Dataset,
    sides: tuple[str, ...],
    boundary: str,
    times: np.ndarray | None = None,
) -> Problem:
    """The problem of re-solving from ``window``'s first state (output at ``times``,
    ``window``'s own by default), walls from its values (``boundary="data"``) or held at
    their initial values (``"initial"``)."""
    space = list(samples.space)
    init = window.isel(t=0).drop_vars("t")
    t_first = float(window["t"].values[0])
    for f in samples.fields:
        if not np.all(np.isfinite(init[f].values)):
            raise DataError(
                f"the data of '{f}' has missing values at t = {t_first:g}, where the solve "
                "starts; choose another start"
            )
    grid = {c: window[c].values for c in space}
    walls = set(space) - set(sides)
    return Problem(
        equations,
        grid_domain(grid, sides),
        time=window["t"].values if times is None else times,
        initial=init,
        boundary=(window if boundary == "data" else "initial") if walls else None,
        fields=samples.fields,
        grid=grid,
    )
