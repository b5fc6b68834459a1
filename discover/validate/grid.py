"""Re-solving on a grid: from the data's state at the last time before the held-out window,
with the data's values on the walls (sides that do not wrap) over the window."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..equation import Equation
from ..io import Samples, holdout_start
from ..solve.base import get_solver
from ..solve.windows import periodic_sides, window_problem
from .record import Record, Resolved, as_table

__all__ = ["resolve_grid"]


def resolve_grid(
    equations: Sequence[Equation],
    samples: Samples,
    holdout: str,
    *,
    solver: str,
    periodic: Sequence[str] | str,
    solver_options: Mapping[str, Any] | None,
) -> Resolved:
    """Re-solve ``equations`` over the held-out window of gridded ``samples``."""
    grid = samples.grid
    times = grid["t"].values
    start = holdout_start(times, holdout) - 1
    window = grid.isel(t=slice(start, None))
    sides = periodic_sides(periodic, samples)
    problem = window_problem(equations, samples, window, sides, "data")
    sol = get_solver(solver, **dict(solver_options or {})).solve(problem)
    pred = sol.dataset if sol.dataset is not None else sol.on_grid()
    pred = pred.transpose(*window[samples.fields[0]].dims)
    fields = list(samples.fields)
    record = Record(times, as_table(grid, fields), start, samples, grid, sides)
    info = {
        "solver": solver,
        "solver_info": sol.info,
        "seconds": sol.seconds,
        "periodic": list(sides),
    }
    return Resolved(record, as_table(pred, fields), pred, window[fields], info)
