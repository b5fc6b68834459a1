"""Solving at weather stations (``T(time, station)``): equations without spatial
derivatives as an ODE at each station from its own value; with them, between the stations,
from the stations' state spread over the region they cover — by the neural core on the
region itself (:mod:`~discover.solve.region`: their hull, an outline or a mask) or by the
classical solver on a grid over their bounding box.  Used by
:func:`~discover.solve.solve_from_data` and by :func:`discover.validate.validate`.

Boundary treatment, both solvers: the walls hold the start state for the whole solve, so no
value after the start enters the forecast; the neural solver holds it on the inflow walls only
where advection dominates (:func:`advection_velocity`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp
import xarray as xr

from ..errors import DataError
from ..io import Samples, station_table
from ..library import parse_symbol
from .base import get_solver
from .classical import ClassicalSolver
from .problem import ParsedEquation, Polygon, Problem, parse_equations
from .region import InflowWalls, station_region
from .spline import StartState
from .windows import window_problem

__all__ = [
    "AUTO_START",
    "HISTORY",
    "MAX_TIMES",
    "SPAN",
    "START_STATES",
    "STATION_GRID",
    "STATION_SOLVERS",
    "StationSolution",
    "data_order",
    "solve_at_stations",
    "spatial_terms",
    "station_datasets",
    "station_table",
    "window_start",
]

#: points per side of the grid a PDE is solved on between stations
STATION_GRID = 48
#: how many values of each station, up to the start, the neural start state may use
HISTORY = 5
#: the solvers that solve a PDE between stations
STATION_SOLVERS = ("neural", "classical")
#: the neural solver's start states: a spline of the last values, or assimilated over a
#: window before the start (:class:`~discover.solve.assimilate.AssimilatedState`); ``auto``
#: takes the assimilation at stations and for scattered data (:data:`AUTO_START`)
START_STATES = ("auto", "spline", "assimilate")
#: what ``start_state="auto"`` takes for each layout (measured: README, validation)
AUTO_START = {"station": "assimilate", "scattered": "assimilate"}
#: the assimilation window's length, in units of the forecast's span (2 against 1: the
#: L-shape check 1.297 -> 1.177 × the floor on seed 1, 1.235 -> 1.225 on seed 3)
SPAN = 2.0
#: at most this many observation times of station data in the assimilation window
MAX_TIMES = 24


def window_start(times: np.ndarray, start: int, horizon: float) -> int:
    """The first of the sorted ``times`` the assimilation before ``times[start]`` uses: those
    within ``SPAN·horizon`` of the start, at most :data:`MAX_TIMES` of them, at least two.

    >>> window_start(np.arange(50.0), 40, 4.0), window_start(np.arange(50.0), 40, 90.0)
    (32, 17)
    """
    t0 = times[start] - SPAN * horizon
    first = int(np.searchsorted(times, t0 - 1e-12 * max(abs(t0), 1.0)))
    return int(max(0, min(first, start - 1), start + 1 - MAX_TIMES))


@dataclass
class StationSolution:
    """A solve at stations: the equations, how they were solved (``ode`` or
    ``classical``), the values ``(time, station, field)`` at ``times``, the wall time and
    what the solve did."""

    equations: list[str]
    solver: str
    values: np.ndarray
    times: np.ndarray
    seconds: float
    info: dict[str, Any]

    def __repr__(self) -> str:
        return (
            f"<Solution of {'; '.join(self.equations)} at {self.values.shape[1]} stations by "
            f"'{self.solver}' in {self.seconds:.1f} s>"
        )


def solve_at_stations(
    equations: Sequence[Any],
    parsed: Sequence[ParsedEquation],
    samples: Samples,
    pos: np.ndarray,
    u0: np.ndarray,
    times: np.ndarray,
    *,
    solver: str = "classical",
    region: str = "hull",
    data: xr.Dataset | None = None,
    solver_options: dict[str, Any] | None = None,
    history: tuple[np.ndarray, np.ndarray] | None = None,
    start: str = "spline",
    seen: np.ndarray | None = None,
) -> tuple[np.ndarray, dict[str, Any], str]:
    """Solve from the stations' state ``u0[station, field]`` at ``times[0]``: the forecast
    ``(time, station, field)`` at ``times`` (NaN at stations without a start value where
    the solve cannot give one), what the solve did, and how (``"ode"``, ``"neural"`` or
    ``"classical"``).

    ``parsed`` holds one evolution equation per field of ``samples`` in their order (for
    the ODEs); ``equations`` the same as text or :class:`~discover.equation.Equation` (for
    the PDE between the stations).  ``solver="neural"`` solves on the ``region`` (see
    :func:`~discover.solve.region.station_region`; ``data`` holds a mask variable) even
    equations without spatial derivatives; ``"classical"`` solves those as an ODE at each
    station and the others on a grid over the stations' bounding box.  ``history`` holds
    the stations' last few values up to the start, ``(times, values[time, station, field])``
    (the last time the start): the neural start state is assimilated from them
    (``start="assimilate"``, the stations ``seen`` only, default all) or is a spline of the
    last :data:`HISTORY` of them (``"spline"``, every station).
    """
    if solver not in STATION_SOLVERS:
        raise DataError(
            f"at stations the equation is re-solved by the neural solver on the stations' "
            f"region or by the classical one on a grid between them, not by '{solver}'; "
            "give --solver neural, classical, auto or both",
            parameter="solver",
        )
    if solver == "neural":
        past = history or (times[:1], u0[None])
        if start not in START_STATES:
            raise DataError(
                f"unknown start state '{start}'; valid: "
                + ", ".join(repr(s) for s in START_STATES),
                parameter="start",
            )
        start = AUTO_START["station"] if start == "auto" else start
        pred, info = _solve_pde_neural(
            equations, samples, pos, past, times, region=region, data=data,
            options=solver_options, start=start, seen=seen,
        )  # fmt: skip
        return pred, info, "neural"
    if spatial_terms(parsed, samples):
        pred, info = _solve_pde_at_stations(equations, samples, pos, u0, times)
        return pred, info, "classical"
    pred, info = _solve_ode_at_stations(parsed, samples, pos, u0, times)
    return pred, info, "ode"


def start_splines(
    samples: Samples, pos: np.ndarray, past: tuple[np.ndarray, np.ndarray]
) -> dict[str, StartState]:
    """Each field's start state (:class:`~discover.solve.spline.StartState`) from the
    stations' values ``past = (times, values[time, station, field])`` up to the start."""
    times, values = past[0][-HISTORY:], past[1][-HISTORY:]
    out = {}
    for k, f in enumerate(samples.fields):
        ok = np.isfinite(values[-1, :, k])
        if ok.sum() < pos.shape[1] + 2:
            raise DataError(
                f"only {int(ok.sum())} stations have a value of {f} at t = {times[-1]:g}, where "
                "the solve starts; too few to spread over the region"
            )
        out[f] = StartState(times, pos, values[:, :, k])
    return out


def assimilated_states(
    equations: Sequence[Any], samples: Samples, dom: Any, pos: np.ndarray,
    past: tuple[np.ndarray, np.ndarray], seen: np.ndarray | None,
    options: dict[str, Any] | None,
) -> dict[str, Any]:  # fmt: skip
    """Each field's start state assimilated from the ``seen`` stations' values ``past =
    (times, values[time, station, field])`` up to the start (see
    :mod:`~discover.solve.assimilate`); the network's size and steps are the neural
    solver's ``options`` where given."""
    from .assimilate import AssimilatedState

    times, values = past
    keep = np.ones(len(pos), bool) if seen is None else np.asarray(seen, bool)
    vals = values[:, keep]
    t, p = np.meshgrid(times, np.flatnonzero(keep), indexing="ij")
    pts = np.column_stack([t.ravel(), pos[p.ravel()]])
    flat = vals.reshape(-1, vals.shape[-1])
    some = np.isfinite(flat).any(axis=1)
    opts = dict(options or {})
    kw = {k: opts[k] for k in ("width", "depth", "n_points", "seed") if k in opts}
    steps = (opts.get("adam_steps", 500), opts.get("lbfgs_steps", 500))
    state = AssimilatedState(
        equations, dom, samples.coords, samples.fields, pts[some], flat[some], steps=steps, **kw
    )
    return {f: state.field(f) for f in samples.fields}


def _solve_pde_neural(
    equations: Sequence[Any], samples: Samples, pos: np.ndarray,
    past: tuple[np.ndarray, np.ndarray], wt: np.ndarray, *, region: str,
    data: xr.Dataset | None, options: dict[str, Any] | None, start: str = "spline",
    seen: np.ndarray | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:  # fmt: skip
    """The neural core on the stations' region: the start state (the lift ``G``, exact,
    walls held at it) is assimilated from the stations' values up to the start (those
    ``seen``, default all), or is each field's smoothing spline of the stations' last
    values; the equation is solved over the region, and the solution is read at every
    station."""
    space = list(samples.space)
    dom, how = station_region(pos, space, region=region, data=data, units=samples.units)
    if start == "assimilate":
        splines = assimilated_states(equations, samples, dom, pos, past, seen, options)
    else:
        splines = start_splines(samples, pos, past)
    velocity = advection_velocity(equations, samples, domain=dom)
    if velocity is not None and isinstance(dom, Polygon):
        dom = InflowWalls(dom, velocity)
        how += f"; values held on the {len(dom.segments)} inflow walls only (advection)"
    problem = Problem(
        equations, dom, time=wt, initial=splines, boundary="initial", fields=samples.fields
    )
    sol = get_solver("neural", **dict(options or {})).solve(problem)
    pts = np.column_stack([np.repeat(wt, len(pos)), np.tile(pos, (len(wt), 1))])
    pred = sol(pts).reshape(len(wt), len(pos), len(samples.fields))
    if start == "assimilate":
        first = next(iter(splines.values()))
        state = f"{first.how_}; {first.state.walls_}"
    else:
        loo = ", ".join(f"{f} {s.loo_rmse_:.3g} ({s.how_})" for f, s in splines.items())
        state = (
            "smoothing cubic spline of the stations up to the start (leave-one-out RMS error "
            f"at the start {loo}); the walls hold it"
        )
    info = {
        **sol.info,
        "method": "neural (u = G + D·N) on the stations' region, read at every station",
        "region": how,
        "start_state": state,
        "seconds": sol.seconds,
    }
    return pred, info


def advection_velocity(
    equations: Sequence[Any], samples: Samples, *, domain: Any = None
) -> np.ndarray | None:
    """The constant velocity ``v`` of one equation of first order in space,
    ``u_t = −v·∇u + f(t, x, u)`` (nothing else of ``u``'s derivatives), or of an
    advection–diffusion whose advection dominates on the ``domain``: second derivatives with
    constant coefficients ``D`` besides, and a Péclet number ``|v|·L / max|D|`` above 1 (``L``
    the largest side of the domain's bounding box); None otherwise.  The neural solver then
    holds values on the inflow walls only (:class:`~discover.solve.region.InflowWalls`).

    >>> from discover.io import load
    >>> from discover.datasets.regions import lshape_stations
    >>> s = load(lshape_stations(n_stations=20, nt=5, seed=0), "u")
    >>> eq = ["u_t = 0.1*u_x + 0.12*u_y + 0.02*u_xx + 0.02*u_yy"]
    >>> from discover.solve import Box
    >>> big, small = Box(x=(0.0, 5.5), y=(0.0, 5.5)), Box(x=(0.0, 0.1), y=(0.0, 0.1))
    >>> advection_velocity(eq, s), advection_velocity(eq, s, domain=big).tolist()
    (None, [-0.1, -0.12])
    >>> print(advection_velocity(eq, s, domain=small))  # diffusion dominates
    None
    """
    if len(samples.fields) != 1:
        return None
    _, parsed = parse_equations(equations, samples.coords, samples.fields)
    rhs, f = parsed[0].rhs, samples.fields[0]
    v = []
    for c in samples.space:
        coef = rhs.diff(sp.Symbol(f"{f}_{c}"))
        if not coef.is_number:
            return None
        v.append(-float(coef))
    rest = rhs.subs({sp.Symbol(f"{f}_{c}"): 0 for c in samples.space})
    diffusion = [0.0]
    for sym in rest.free_symbols:
        d = parse_symbol(str(sym), samples.fields, samples.coords)
        if d is None or not any(d.orders):
            continue
        coef = rest.diff(sym)
        if domain is None or sum(d.orders) != 2 or not coef.is_number:
            return None
        diffusion.append(abs(float(coef)))
    speed = float(np.linalg.norm(v))
    if speed == 0 or (max(diffusion) > 0 and speed * _extent(domain) <= max(diffusion)):
        return None
    return np.asarray(v)


def _extent(dom: Any) -> float:
    """The largest side of a domain's bounding box."""
    lo, hi = dom.bounds()
    return float(np.max(np.asarray(hi) - np.asarray(lo)))


def data_order(samples: Samples) -> np.ndarray:
    """The stations of :func:`station_table` (sorted by position) in the order they first
    appear in the data."""
    _, first = np.unique(samples.points[:, 1:], axis=0, return_index=True)
    return np.argsort(first, kind="stable")


def spatial_terms(parsed: Sequence[ParsedEquation], samples: Samples) -> list[str]:
    """The spatial derivatives the equations use (none: ODEs in time); a DataError for a
    symbol the data does not give."""
    spatial = []
    for e in parsed:
        for sym in map(str, e.rhs.free_symbols):
            d = parse_symbol(sym, samples.fields, samples.coords)
            if d is not None and any(d.orders):
                spatial.append(sym)
            elif d is None and sym not in samples.coords:
                raise DataError(
                    f"the equation of {sp.sstr(e.lhs)} uses {sym}, which the station data does "
                    f"not give (its coordinates are {', '.join(samples.coords)})"
                )
    return sorted(set(spatial))


def _ode_rhs(parsed: Sequence[ParsedEquation], samples: Samples):
    """``f(t, u[field, station], position[coord, station])`` of equations without spatial
    derivatives."""
    args = [sp.Symbol(f) for f in samples.fields] + [sp.Symbol(c) for c in samples.coords]
    fn = sp.lambdify(args, [e.rhs for e in parsed], modules="numpy")
    space = samples.space

    def rhs(t: float, u: np.ndarray, pos: np.ndarray) -> np.ndarray:
        out = fn(*u, np.full(u.shape[1:], t), *(pos[i] for i in range(len(space))))
        return np.stack([np.broadcast_to(np.asarray(o, float), u.shape[1:]) for o in out])

    return rhs


def _solve_ode_at_stations(
    parsed: Sequence[ParsedEquation], samples: Samples, pos: np.ndarray, u0: np.ndarray,
    wt: np.ndarray,
) -> tuple[np.ndarray, dict[str, Any]]:  # fmt: skip
    """Each station's own ODE from its value ``u0[station, field]`` (NaN where it has none)."""
    from scipy.integrate import solve_ivp

    rhs = _ode_rhs(parsed, samples)
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
    equations: Sequence[Any], samples: Samples, pos: np.ndarray, u0: np.ndarray,
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
    sol = ClassicalSolver().solve(problem)
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


def station_datasets(
    samples: Samples, pos: np.ndarray, times: np.ndarray, **station_coords: np.ndarray
):
    """A function from a table ``(time, station, field)`` at ``times`` to a dataset named
    like the data, with the stations' positions (and ``station_coords``) on ``station``."""
    names = samples.names
    dims = ("t", "station")
    pos_coords = {names.get(c, c): ("station", pos[:, i]) for i, c in enumerate(samples.space)}
    extra = {k: ("station", v) for k, v in station_coords.items()}
    coords = {"t": times, **pos_coords, **extra}

    def as_ds(arr: np.ndarray) -> xr.Dataset:
        return xr.Dataset(
            {names.get(f, f): (dims, arr[..., k]) for k, f in enumerate(samples.fields)},
            coords=coords,
        )

    return as_ds
