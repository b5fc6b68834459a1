"""Solve from measured data: the state of the data at a time as the initial values.

On a grid, the data's values on the walls (sides that do not wrap) are the boundary values
and the sides that wrap around are detected (:mod:`~discover.solve.windows`); at stations,
equations without spatial derivatives are solved as an ODE at each station, others on a
grid between the stations (:mod:`~discover.solve.stations`).  This is ``discover solve
--init DATA``.

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
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..equation import Equation
from ..errors import DataError
from ..io import Samples, load, open_dataset, symbol_name
from ..parsing import parse_equation
from .base import choose_solver, get_solver
from .problem import ParsedEquation, parse_equations
from .stations import HISTORY, StationSolution, data_order, solve_at_stations, station_table
from .windows import periodic_sides, window_problem

__all__ = ["solve_from_data"]


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
    """Solve ``equations`` from the state of ``data`` at ``start`` (its first time by
    default) to ``t_end`` at ``n_times`` times; returns the solution (a
    :class:`~discover.solve.Solution` on a grid, a :class:`StationSolution` at stations) and a
    Dataset named like the data (variables, coordinates, units).

    On a grid, ``periodic`` names the sides that wrap around and ``boundary`` gives the
    walls their values (``data``: the data's over time; ``initial``: held).  At stations
    the walls hold the start state: the neural core solves on the stations' hull, the
    classical solver on a grid between them (an ODE at each station for an equation without
    spatial derivatives).  ``solver="auto"`` takes the neural core at stations, the
    classical solver on grids.
    """
    if solver == "both":
        raise DataError(
            "solver 'both' scores two solvers side by side in validate; give one solver "
            "(auto, neural or classical) to solve",
            parameter="solver",
        )
    if var is None:
        var = _fields_in(equations, data)
    samples = load(data, var, time_unit=time_unit, sel=sel)
    solver = choose_solver(solver, layout=samples.layout)[0]
    if samples.layout == "station":
        return _from_stations(
            equations, samples, t_end=t_end, start=start, n_times=n_times, solver=solver,
            solver_options=solver_options,
        )  # fmt: skip
    if samples.grid is None:
        raise DataError(
            f"solving starts from a state on a grid or at stations, but the data's layout is "
            f"'{samples.layout}'; give gridded or station data"
        )
    times = samples.grid["t"].values
    k = _start_index(times, start)
    out_times = _output_times(times[k], t_end, n_times)
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


def _from_stations(
    equations: Sequence[Any],
    samples: Samples,
    *,
    t_end: float,
    start: float | None,
    n_times: int,
    solver: str,
    solver_options: Mapping[str, Any] | None = None,
) -> tuple[StationSolution, xr.Dataset]:
    """Solve from the stations' state at ``start``: the solution and a dataset of it on
    ``(time, station)`` named like the data."""
    times, pos, table = station_table(samples)
    k = _start_index(times, start)
    out_times = _output_times(times[k], t_end, n_times)
    parsed = _evolution_equations(equations, samples)
    u0 = table[k]  # (station, field)
    if not np.all(np.isfinite(u0), axis=1).any():
        raise DataError(f"no station has a value at t = {times[k]:g}; give another --start")
    t0 = time.perf_counter()
    first = max(0, k - HISTORY + 1)
    pred, info, how = solve_at_stations(
        equations, parsed, samples, pos, u0, out_times, solver=solver,
        solver_options=dict(solver_options or {}),
        history=(times[first : k + 1], table[first : k + 1]),
    )  # fmt: skip
    seconds = time.perf_counter() - t0
    order = data_order(samples)  # the stations in the data's order
    pred, pos = pred[:, order], pos[order]
    sol = StationSolution([str(e) for e in parsed], how, pred, out_times, seconds, info)
    coords = {"t": out_times, **{c: ("station", pos[:, j]) for j, c in enumerate(samples.space)}}
    cube = {f: (("t", "station"), pred[..., i]) for i, f in enumerate(samples.fields)}
    ds = _named_like(xr.Dataset(cube, coords=coords), samples)
    ds.attrs = {
        "title": "solution by discover solve",
        "equations": "; ".join(sol.equations),
        "solver": how,
        "solver_info": json.dumps(info, default=str),
        "initial_state_from": f"{samples.source or 'stations'} at t = {times[k]:g}",
    }
    if samples.time_origin:
        ds.attrs["time_origin"] = samples.time_origin
    return sol, ds


def _evolution_equations(equations: Sequence[Any], samples: Samples) -> list[ParsedEquation]:
    """One evolution equation ``field_t = …`` per field of ``samples``, in their order."""
    _, parsed = parse_equations(equations, samples.coords, samples.fields)
    by_field = {e.field: e for e in parsed if e.field is not None}
    missing = [f for f in samples.fields if f not in by_field]
    if missing:
        raise DataError(
            f"at stations each field needs an evolution equation 'field_t = …'; none for "
            f"{', '.join(missing)}"
        )
    return [by_field[f] for f in samples.fields]


def _output_times(t0: float, t_end: float, n_times: int) -> np.ndarray:
    """``n_times`` times from ``t0`` to ``t_end``; one-line errors for a bad window."""
    if not t_end > t0:
        raise DataError(f"--t-end {t_end:g} must come after the start time {t0:g}")
    if n_times < 2:
        raise DataError(f"--n-times must be at least 2, not {n_times}")
    return np.linspace(t0, t_end, n_times)


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
