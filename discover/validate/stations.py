"""Re-solving at weather stations (``T(time, station)``): without spatial derivatives as an
ODE at each station from its own value, with them on a grid between the stations; the
stations ``find`` held out (``holdout="last:20%,stations:9"``) are scored apart."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from ..equation import Equation
from ..errors import DataError
from ..io import Samples, at_positions, holdout_start
from ..library import parse_symbol
from ..solve.base import get_solver
from ..solve.from_data import window_problem
from .outcome import HELD_OUT
from .record import Record, Resolved

__all__ = ["STATION_GRID", "resolve_stations"]

#: points per side of the grid a PDE is solved on between stations
STATION_GRID = 48


def _station_table(samples: Samples) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Station data as ``(times, positions, values[t, station, field])``, gaps as NaN."""
    times = np.unique(samples.points[:, 0])
    pos, inv = np.unique(samples.points[:, 1:], axis=0, return_inverse=True)
    table = np.full((len(times), len(pos), len(samples.fields)), np.nan)
    table[np.searchsorted(times, samples.points[:, 0]), inv.ravel()] = samples.values
    return times, pos, table


def _spatial_terms(equations: Sequence[Equation], samples: Samples) -> list[str]:
    """The spatial derivatives the equations use (none: ODEs in time); a DataError for a
    symbol the data does not give."""
    spatial = []
    for e in equations:
        for sym in map(str, e.rhs_expr.free_symbols):
            d = parse_symbol(sym, e.fields, e.coords)
            if d is not None and any(d.orders):
                spatial.append(sym)
            elif d is None and sym not in samples.coords:
                raise DataError(
                    f"the equation of {e.lhs} uses {sym}, which the station data does not give "
                    f"(its coordinates are {', '.join(samples.coords)})"
                )
    return sorted(set(spatial))


def _ode_rhs(equations: Sequence[Equation], samples: Samples):
    """``f(t, u[field, station], position[coord, station])`` of equations without spatial
    derivatives."""
    import sympy as sp

    args = [sp.Symbol(f) for f in samples.fields] + [sp.Symbol(c) for c in samples.coords]
    fn = sp.lambdify(args, [e.rhs_expr for e in equations], modules="numpy")
    space = samples.space

    def rhs(t: float, u: np.ndarray, pos: np.ndarray) -> np.ndarray:
        out = fn(*u, np.full(u.shape[1:], t), *(pos[i] for i in range(len(space))))
        return np.stack([np.broadcast_to(np.asarray(o, float), u.shape[1:]) for o in out])

    return rhs


def _solve_ode_at_stations(
    equations: Sequence[Equation], samples: Samples, pos: np.ndarray, u0: np.ndarray,
    wt: np.ndarray,
) -> tuple[np.ndarray, dict[str, Any]]:  # fmt: skip
    """Each station's own ODE from its value ``u0[station, field]`` (NaN where it has none)."""
    from scipy.integrate import solve_ivp

    rhs = _ode_rhs(equations, samples)
    ok = np.all(np.isfinite(u0), axis=1)
    nf, ns = u0.shape[1], int(ok.sum())
    pos_ok = pos[ok].T
    sol = solve_ivp(
        lambda t, y: rhs(t, y.reshape(nf, ns), pos_ok).ravel(),
        (wt[0], wt[-1]),
        u0[ok].T.ravel(),
        t_eval=wt,
        method="LSODA",
        rtol=1e-8,
        atol=1e-10,
    )
    if not sol.success:
        raise DataError(f"the ODE solve at the stations failed: {sol.message}")
    pred = np.full((len(wt), len(pos), nf), np.nan)
    pred[:, ok] = sol.y.reshape(nf, ns, len(wt)).transpose(2, 1, 0)
    return pred, {"method": "LSODA at each station", "rtol": 1e-8}


def _spread(
    samples: Samples, pos: np.ndarray, u0: np.ndarray, t0: float
) -> tuple[list[np.ndarray], dict[str, np.ndarray]]:
    """The stations' state ``u0[station, field]`` spread onto a grid of ``STATION_GRID``
    points per side over their bounding box (thin-plate spline, clipped to the stations'
    range): the grid's axes and each field's values on it."""
    from scipy.interpolate import RBFInterpolator

    space = list(samples.space)
    lo, hi = pos.min(axis=0), pos.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    axes = [np.linspace(lo[i] - 0.02 * span[i], hi[i] + 0.02 * span[i], STATION_GRID)
            for i in range(len(space))]  # fmt: skip
    mesh = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, len(space))
    init = {}
    for k, f in enumerate(samples.fields):
        ok = np.isfinite(u0[:, k])
        if ok.sum() < len(space) + 2:
            raise DataError(
                f"only {int(ok.sum())} stations have a value of {f} at t = {t0:g}, where the "
                "solve starts; too few to spread over the region"
            )
        try:
            rbf = RBFInterpolator(pos[ok] / span, u0[ok, k], kernel="thin_plate_spline")
        except np.linalg.LinAlgError:
            raise DataError(
                f"the stations lie on a line in {', '.join(space)}; a state between them "
                "cannot be spread over the region to solve the PDE on"
            ) from None
        vals = np.clip(rbf(mesh / span), u0[ok, k].min(), u0[ok, k].max())
        init[f] = vals.reshape((STATION_GRID,) * len(space))
    return axes, init


def _solve_pde_at_stations(
    equations: Sequence[Equation], samples: Samples, pos: np.ndarray, u0: np.ndarray,
    wt: np.ndarray,
) -> tuple[np.ndarray, dict[str, Any]]:  # fmt: skip
    """Spread the stations' state at the start onto a grid over their bounding box, solve
    there with the walls held at their initial values (no future data enters); the forecast
    at a station is its own value at the start plus the solution's change there since the
    start, so that the spreading's error at the stations does not enter the forecast."""
    space = list(samples.space)
    axes, init = _spread(samples, pos, u0, wt[0])
    shape = (STATION_GRID,) * len(space)
    dims = ("t", *space)
    window = xr.Dataset(
        {f: (dims, np.broadcast_to(v, (len(wt), *shape))) for f, v in init.items()},
        coords={"t": wt, **dict(zip(space, axes, strict=True))},
    )
    problem = window_problem(equations, samples, window, (), "initial", wt)
    sol = get_solver("classical").solve(problem)
    grid = sol.dataset if sol.dataset is not None else sol.on_grid()
    at = {c: xr.DataArray(pos[:, i], dims="station") for i, c in enumerate(space)}
    change = np.stack(
        [grid[f].interp(t=wt, **at).transpose("t", "station").values for f in samples.fields],
        axis=-1,
    )
    pred = u0[None] + (change - change[:1])  # each station's own start plus the change
    info = {
        "method": f"{sol.info.get('method', 'classical')} on a {'x'.join(map(str, shape))} grid "
        "between the stations (thin-plate spline start, walls held; each station's value at "
        "the start plus the solution's change there)",
    }
    return pred, info


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
) -> Resolved:
    """Re-solve at the stations from their state at the start of the held-out window: an
    ODE at each station, a PDE on a grid between them; the stations ``held`` (positions)
    are scored apart."""
    if solver != "classical":
        raise DataError(
            f"at stations the equation is re-solved per station (ODE) or on a grid between "
            f"them (classical); the '{solver}' solver is for gridded data"
        )
    spatial = _spatial_terms(equations, samples)
    times, pos, table = _station_table(samples)
    start = holdout_start(times, holdout) - 1
    is_held = _held_out_stations(pos, held)
    u0 = table[start]  # (station, field)
    if not np.all(np.isfinite(u0), axis=1).any():
        raise DataError(
            f"no station has a value at t = {times[start]:g}, where the solve starts; "
            "choose another hold-out"
        )
    wt = times[start:]
    t0 = time.perf_counter()
    solve = _solve_pde_at_stations if spatial else _solve_ode_at_stations
    pred, solver_info = solve(equations, samples, pos, u0, wt)
    seconds = time.perf_counter() - t0
    info = {"solver": "classical" if spatial else "ode", "solver_info": solver_info,
            "seconds": seconds, "periodic": []}  # fmt: skip
    extra = {
        "n_stations": len(pos),
        "n_stations_started": int(np.isfinite(pred[-1, :, 0]).sum()),
        "holdout_stations": pos[is_held].tolist(),
    }
    as_ds = _datasets(samples, pos, is_held, wt)
    groups = {"": None, HELD_OUT: is_held} if is_held.any() else {"": None}
    record = Record(times, table, start, samples)
    return Resolved(record, pred, as_ds(pred), as_ds(table[start:]), info, groups, extra)


def _datasets(samples: Samples, pos: np.ndarray, is_held: np.ndarray, wt: np.ndarray):
    """A function from a table ``(time, station, field)`` over the window to a dataset named
    like the data, with the stations' positions and whether each was held out."""
    names = samples.names
    dims = ("t", "station")
    pos_coords = {names.get(c, c): ("station", pos[:, i]) for i, c in enumerate(samples.space)}
    coords = {"t": wt, **pos_coords, "held_out": ("station", is_held)}

    def as_ds(arr: np.ndarray) -> xr.Dataset:
        return xr.Dataset(
            {names.get(f, f): (dims, arr[..., k]) for k, f in enumerate(samples.fields)},
            coords=coords,
        )

    return as_ds
