"""Re-solving at weather stations (``T(time, station)``): by the neural core on the region
the stations cover, read at every station, or by the classical solver (without spatial
derivatives an ODE at each station from its own value, with them on a grid between the
stations); the stations ``find`` held out (``holdout="last:20%,stations:9"``) are scored
apart."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import sympy as sp
import xarray as xr

from ..equation import Equation
from ..errors import DataError
from ..io import Samples, at_positions, holdout_start, open_dataset
from ..solve.problem import ParsedEquation
from ..solve.stations import (
    HISTORY,
    solve_at_stations,
    spatial_terms,
    station_datasets,
    station_table,
    window_start,
)
from .outcome import HELD_OUT
from .record import Record, Resolved

__all__ = ["resolve_stations"]


def _held_out_stations(pos: np.ndarray, held: Sequence[Sequence[float]] | None) -> np.ndarray:
    """Which stations (rows of ``pos``) the discovery held out; a one-line error when some
    of them are not in the data."""
    held_pos = np.asarray(held or [], float)
    is_held = np.zeros(len(pos), bool)
    if held_pos.size:
        is_held = at_positions(pos, held_pos)
        if is_held.sum() != len(held_pos):
            raise DataError(
                f"{len(held_pos) - int(is_held.sum())} of the result's {len(held_pos)} held-out "
                "stations are not in the data; validate on the data the equation was found in"
            )
    return is_held


def resolve_stations(
    equations: Sequence[Equation],
    samples: Samples,
    holdout: str,
    *,
    solver: str,
    held: Sequence[Sequence[float]] | None,
    region: str = "hull",
    data: str | Path | xr.Dataset | None = None,
    solver_options: Mapping[str, Any] | None = None,
    start_state: str = "spline",
) -> Resolved:
    """Re-solve at the stations from their state at the start of the held-out window: by
    the neural core on the stations' ``region`` (``data`` holds a mask variable), or by the
    classical solver (an ODE at each station, a PDE on a grid between them); the stations
    ``held`` (positions) are scored apart.  The neural start state (``start_state``) is
    assimilated from every station's values over a window up to the start (held-out
    stations included: they are held out of the discovery; nothing after the start
    enters), or a spline of every station's last few values (``"spline"``)."""
    if region.startswith("mask:") and isinstance(data, (str, Path)):
        data = open_dataset(data)
    parsed = [ParsedEquation(sp.Symbol(e.lhs), e.rhs_expr, e.field) for e in equations]
    spatial_terms(parsed, samples)  # a one-line error for a symbol the data do not give
    times, pos, table = station_table(samples)
    start = holdout_start(times, holdout) - 1
    is_held = _held_out_stations(pos, held)
    u0 = table[start]  # (station, field)
    if not np.all(np.isfinite(u0), axis=1).any():
        raise DataError(
            f"no station has a value at t = {times[start]:g}, where the solve starts; "
            "choose another hold-out"
        )
    wt = times[start:]
    # the start state may use these values, none later
    horizon = float(times[-1] - times[start])
    first = min(max(0, start - HISTORY + 1), window_start(times, start, horizon))
    t0 = time.perf_counter()
    pred, solver_info, how = solve_at_stations(
        equations, parsed, samples, pos, u0, wt, solver=solver, region=region,
        data=data if isinstance(data, xr.Dataset) else None,
        solver_options=dict(solver_options or {}),
        history=(times[first : start + 1], table[first : start + 1]),
        start=start_state,
    )  # fmt: skip
    seconds = time.perf_counter() - t0
    info = {"solver": how, "solver_info": solver_info, "seconds": seconds, "periodic": []}
    extra = {
        "n_stations": len(pos),
        "n_stations_started": int(np.isfinite(pred[-1, :, 0]).sum()),
        "holdout_stations": pos[is_held].tolist(),
    }
    as_ds = station_datasets(samples, pos, wt, held_out=is_held)
    groups = {"": None, HELD_OUT: is_held} if is_held.any() else {"": None}
    record = Record(times, table, start, samples)
    return Resolved(record, pred, as_ds(pred), as_ds(table[start:]), info, groups, extra)
