"""Re-solving scattered data (``u(obs)``, each observation with its own time and place): the
neural core on the region the points span, from a start state made of the points before the
hold-out, read at every held-out point.

The hold-out ``last:P%`` holds out the latest observations in time (as ``find`` does); the
solve starts at ``t0``, the last observation time before them.  The start state is
assimilated from the observations in a window before ``t0`` (:mod:`~discover.solve.
assimilate`; ``start_state="assimilate"``, the default: 1.07–1.29 × the error floor on
three draws against the spline's 1.24–1.70) or is a space–time smoothing spline of the latest
of them read at ``t0`` (``"spline"``; :meth:`~discover.solve.spline.StartState.of_points`).
Persistence is that spline held still: the forecast at a held-out point is the spline's
value at its place.  Held-out points outside the region are not scored.

The scorer takes tables ``(time, point, field)``: each held-out observation is a point,
with its value in the row of its group (:data:`SCORE_BINS` groups of equal count by time,
each at the mean time of its observations) and the start state at its place in the first
row.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from ..equation import Equation
from ..errors import DataError
from ..io import Samples, holdout_start
from ..solve.base import get_solver
from ..solve.problem import Polygon, Problem
from ..solve.region import InflowWalls, station_region
from ..solve.spline import StartState
from ..solve.stations import SPAN, advection_velocity
from .record import Record, Resolved

__all__ = ["MAX_OBS", "MAX_SPLINE", "SCORE_BINS", "resolve_scattered"]

#: groups (by time) the held-out observations are scored in
SCORE_BINS = 10
#: at most this many of the latest observations before the start make the spline
MAX_SPLINE = 400
#: at most this many of the latest observations before the start are assimilated
MAX_OBS = 1500


def resolve_scattered(
    equations: Sequence[Equation],
    samples: Samples,
    holdout: str,
    *,
    solver: str,
    region: str = "hull",
    data: xr.Dataset | None = None,
    solver_options: Mapping[str, Any] | None = None,
    start_state: str = "assimilate",
) -> Resolved:
    """Re-solve scattered ``samples`` over the held-out time by the neural core on the
    points' ``region`` (see the module notes)."""
    if solver != "neural":
        raise DataError(
            f"scattered data are re-solved by the neural core on the points' region, not by "
            f"'{solver}' (the classical solver needs a grid); give --solver neural or auto",
            parameter="solver",
        )
    pts, vals = samples.points, samples.values
    times = np.unique(pts[:, 0])
    cut = times[holdout_start(times, holdout)]
    before = pts[:, 0] < cut
    t0, t_end = float(pts[before, 0].max()), float(pts[:, 0].max())
    space = list(samples.space)
    dom, how = station_region(
        np.unique(pts[before, 1:], axis=0), space, region=region, data=data,
        units=samples.units,
    )  # fmt: skip
    how = how.replace("stations", "points before the start")
    window = before & (pts[:, 0] >= t0 - SPAN * (t_end - t0))
    spline = _splines(samples, pts[window], vals[window])
    t_start = time.perf_counter()
    if start_state == "assimilate":
        from ..solve.assimilate import AssimilatedState

        recent = np.flatnonzero(window)[np.argsort(pts[window, 0])][-MAX_OBS:]
        opts = dict(solver_options or {})
        kw = {k: opts[k] for k in ("width", "depth", "n_points", "seed") if k in opts}
        steps = (opts.get("adam_steps", 500), opts.get("lbfgs_steps", 500))
        state = AssimilatedState(
            equations, dom, samples.coords, samples.fields, pts[recent], vals[recent],
            steps=steps, **kw,
        )  # fmt: skip
        initial: dict[str, Any] = {f: state.field(f) for f in samples.fields}
        start_how, walls = state.how_, state.walls_
    elif start_state == "spline":
        initial = spline
        walls = "the walls hold it"
        start_how = "; ".join(f"{f}: {s.how_} (leave-one-out {s.loo_rmse_:.3g})"
                              for f, s in spline.items())  # fmt: skip
    else:
        raise DataError(
            f"unknown start state '{start_state}'; valid: 'assimilate', 'spline'",
            parameter="start_state",
        )
    velocity = advection_velocity(equations, samples, domain=dom)
    if velocity is not None and isinstance(dom, Polygon):
        dom = InflowWalls(dom, velocity)
        how += f"; values held on the {len(dom.segments)} inflow walls only (advection)"
    problem = Problem(
        equations, dom, time=np.array([t0, t_end]), initial=initial, boundary="initial",
        fields=samples.fields,
    )  # fmt: skip
    sol = get_solver("neural", **dict(solver_options or {})).solve(problem)
    held = np.flatnonzero(~before & dom.contains(pts[:, 1:]))
    if not len(held):
        raise DataError("no held-out observation lies in the region; choose another region")
    pred = sol(pts[held])
    seconds = time.perf_counter() - t_start
    persist = np.column_stack([spline[f](pts[held, 1:]) for f in samples.fields])
    record, table = _tables(pts[held, 0], vals[held], pred, persist, t0, samples)
    info = {
        "solver": "neural",
        "solver_info": {
            **sol.info,
            "method": "neural (u = G + D·N) on the points' region, read at every held-out point",
            "region": how,
            "start_state": start_how + "; " + walls,
            "seconds": sol.seconds,
        },
        "seconds": seconds,
        "periodic": [],
    }
    extra = {
        "n_held_out_points": len(held),
        "n_held_out_outside": int((~before).sum()) - len(held),
        "score_bins": len(record.times) - 1,
        "t_end": t_end,
    }
    as_ds = _datasets(samples, pts[held])
    return Resolved(record, table, as_ds(pred), as_ds(vals[held]), info, {"": None}, extra)


def _splines(samples: Samples, pts: np.ndarray, vals: np.ndarray) -> dict[str, StartState]:
    """Each field's space–time spline of the latest :data:`MAX_SPLINE` observations."""
    out = {}
    for k, f in enumerate(samples.fields):
        ok = np.flatnonzero(np.isfinite(vals[:, k]))
        last = ok[np.argsort(pts[ok, 0])][-MAX_SPLINE:]
        if len(last) < pts.shape[1] + 2:
            raise DataError(
                f"only {len(last)} observations of {f} before the start; too few to spread "
                "over the region"
            )
        out[f] = StartState.of_points(pts[last], vals[last, k])
    return out


def _tables(t, vals, pred, persist, t0, samples) -> tuple[Record, np.ndarray]:
    """The record and the forecast as tables ``(1 + groups, observation, field)``: each
    held-out observation is a point with a value in its own group's row only (groups of
    equal count by time, each at the mean time of its observations); the first row, the
    start, holds the persistence spline at every observation's place."""
    order = np.argsort(t, kind="stable")
    groups = np.array_split(order, min(SCORE_BINS, len(order)))
    data = np.full((len(groups) + 1, *vals.shape), np.nan)
    model = np.full_like(data, np.nan)
    data[0] = model[0] = persist
    for i, g in enumerate(groups, start=1):
        data[i, g], model[i, g] = vals[g], pred[g]
    times = np.array([t0, *(float(np.mean(t[g])) for g in groups)])
    return Record(times, data, 0, samples), model


def _datasets(samples: Samples, pts: np.ndarray):
    """A function from values ``(obs, field)`` at the held-out points to a dataset named
    like the data, the points' time and place as coordinates on ``obs``."""
    names = samples.names
    coords = {names.get(c, c): ("obs", pts[:, i]) for i, c in enumerate(samples.coords)}

    def as_ds(arr: np.ndarray) -> xr.Dataset:
        return xr.Dataset(
            {names.get(f, f): ("obs", arr[:, k]) for k, f in enumerate(samples.fields)},
            coords=coords,
        )

    return as_ds
