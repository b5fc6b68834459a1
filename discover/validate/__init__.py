"""Validation: solve the discovered equation again and compare it with data it never saw.

The record is split in time (``holdout="last:20%"``): the equation is re-solved from the
data's state at the last time before the held-out window (and, on sides that do not wrap,
from the data's boundary values over the window) and compared with the held-out data.
Baselines give the errors a scale (:mod:`~discover.validate.baselines`): persistence
``u(t) = u(t_start)``, each point's linear trend, the diurnal climatology of sub-daily
records, and on request a learned forecaster (``baselines=["neural-scheme"]``).

At stations (``T(time, station)``) the equation is re-solved at every station: by default
(``solver="auto"``) the neural core solves it on the region the stations cover (their hull,
an outline or a mask: ``region=``) from the stations' state spread by a smoothing spline,
and reads it at every station; an equation without spatial derivatives is an ODE at each
station.  ``solver="classical"`` solves on a grid between the stations, ``solver="both"``
scores the two side by side.  The stations ``find`` held out
(``holdout="last:20%,stations:9"``) are scored apart.  On grids ``auto`` is the classical
solver.

Scattered data (``u(obs)``) are re-solved by the neural core on the points' region, from a
start state made of the observations before the hold-out, and scored at every held-out
observation (:mod:`~.scattered`); persistence is that start state held still.

An equation that does not beat persistence clearly has not explained the dynamics, however
good its regression fit looked.

=============================  =================================================================
module                         its one job
=============================  =================================================================
:mod:`~.reading`               the result (through ``Discovery.from_dict``) and its data
:mod:`~.grid`                  the re-solve on a grid
:mod:`~.stations`              the re-solves at stations (ODE per station, PDE between them)
:mod:`~.scattered`             the re-solve of scattered data (neural core on their region)
:mod:`~.baselines`             the baselines, one plug-in each (:data:`BASELINES`)
:mod:`~.scoring`               the one scorer of the equation and every baseline
:mod:`~.outcome`               :class:`Validation`: tables, lead times, JSON
:mod:`~.plots`                 the plots of a validation
=============================  =================================================================

Examples
--------
>>> import discover
>>> from discover.datasets import make_dataset
>>> data = make_dataset("advection_diffusion", nx=128, nt=51)
>>> result = discover.find(data, "u", holdout="last:20%", n_bootstrap=0)
>>> v = validate(result, data)
>>> v.errors["equation"] < 1e-3 < v.errors["persistence"]
True
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import sympy as sp
import xarray as xr

from ..equation import Equation
from ..errors import DataError
from ..io import Samples
from ..solve.base import choose_solver
from ..solve.from_data import solve_from_data
from ..solve.problem import ParsedEquation
from ..solve.stations import AUTO_START, START_STATES, spatial_terms
from ..solve.windows import detect_periodic
from .baselines import BASELINES, Baseline, check_baselines, chosen
from .grid import resolve_grid
from .outcome import HELD_OUT, Validation, parse_leads
from .reading import load_like, matching_equations, read_result
from .record import Record, Resolved, trend_window
from .scattered import resolve_scattered
from .scoring import score
from .stations import resolve_stations

__all__ = [
    "BASELINES",
    "HELD_OUT",
    "Baseline",
    "Record",
    "Validation",
    "detect_periodic",
    "parse_leads",
    "solve_from_data",
    "validate",
]

logger = logging.getLogger(__name__)


def validate(
    result: Any,
    data: str | Path | xr.Dataset,
    var: str | Sequence[str] | None = None,
    *,
    solver: str = "auto",
    holdout: str | None = None,
    periodic: Sequence[str] | str = "auto",
    solver_options: Mapping[str, Any] | None = None,
    sel: Mapping[str, Any] | None = None,
    baselines: Sequence[str] = (),
    layout: str = "auto",
    region: str = "hull",
    start_state: str = "auto",
) -> Validation:
    """Re-solve the discovered equation(s) over a held-out window and compare with the data.

    Parameters
    ----------
    result : Discovery, dict or path
        What :func:`discover.find` returned, or the JSON it wrote.
    data : path or Dataset
        The gridded or station data (the same record the equation was found in, held-out
        part included).
    var : str or sequence of str, optional
        The field variable(s); the result's by default.
    solver : str
        A name in :data:`discover.solve.SOLVERS`: ``auto`` (the default: the neural core at
        stations, the classical solver on grids), ``both`` (that one and the other as a
        cross-check, scored side by side), ``neural``, ``classical``.
    holdout : str, optional
        ``last:P%`` or ``last:N``; the result's own hold-out by default, else ``last:20%``
        (held-out stations are the result's, recorded by ``find``).
    periodic : "auto", sequence of str or "none"
        Sides that wrap around; ``auto`` reads the data's ``periodic`` attribute or checks
        the wrap-around jump (:func:`detect_periodic`).
    solver_options : dict, optional
        Options of the solver.
    sel : dict, optional
        Dim -> the one value to take along it; the result's own selection by default.
    baselines : sequence of str
        Baselines to score besides the default ones (persistence, trend, climatology):
        names in :data:`BASELINES`, e.g. ``neural-scheme``.
    layout : str
        How to read ``data`` (see :func:`discover.io.load`); detected by default.
    region : str
        At stations and scattered points, where the neural core solves (see
        :func:`discover.solve.region.station_region`): ``hull`` (default), ``concave``,
        ``mask:VAR`` (a variable of ``data``) or a GeoJSON/CSV outline file.
    start_state : {"auto", "spline", "assimilate"}
        The neural core's start state at stations and scattered points: a smoothing spline
        of the latest values up to the start (at stations every station's last few values),
        or the equation fitted to the values over a window before the start
        (:mod:`discover.solve.assimilate`; at stations every station's values up to the
        start, held-out ones included: they are held out of the discovery, and no value
        after the start enters); ``auto`` (the default): the assimilation at stations and
        for scattered data.  The first line printed names the one taken.

    Returns
    -------
    Validation
    """
    choose_solver(solver, layout="grid")  # the registry's one-line error for a bad name
    if start_state not in START_STATES:
        raise DataError(
            f"unknown start state '{start_state}'; valid: "
            + ", ".join(repr(s) for s in START_STATES),
            parameter="start_state",
        )
    check_baselines(baselines)
    found = read_result(result)
    samples = load_like(found, data, var, sel, layout)
    check_baselines(baselines, samples.layout)
    equations = matching_equations(found, samples)
    holdout = holdout or found.settings.get("holdout") or "last:20%"
    main, cross, why = _chosen(solver, samples, equations)
    if samples.layout not in ("station", "scattered") and samples.grid is None:
        raise DataError(
            f"validation re-solves on a grid, at stations or at scattered points, but the "
            f"data's layout is '{samples.layout}'"
        )
    if samples.layout == "scattered" and (main, cross) != ("neural", None):
        raise DataError(
            "scattered data are re-solved by the neural core only (the classical solver needs "
            "a grid; there is no cross-check); give --solver neural or auto",
            parameter="solver",
        )
    opts = dict(solver_options or {})
    given = start_state
    if start_state == "auto":
        start_state = AUTO_START.get(samples.layout, "spline")
    run = _resolver(equations, samples, holdout, found, data, periodic, region, start_state)
    # the options are the named solver's, or the neural core's when auto or both chose it
    resolved = run(main, opts if main in (solver, "neural") else {})
    if cross is not None:
        other = run(cross, opts if cross == "neural" else {})
        resolved.cross = {f"equation ({cross})": other.prediction}
        resolved.info["cross_check"] = {
            "solver": other.info["solver"],
            "solver_info": other.info["solver_info"],
            "seconds": other.info["seconds"],
        }
    v = _scored(resolved, equations, samples, holdout, baselines)
    v.choice = why
    if "neural" in (main, cross) and samples.layout in AUTO_START:  # printed first, too
        how = "auto" if given == "auto" else "given"
        v.info["start"] = f"{'assimilated' if start_state == 'assimilate' else start_state} ({how})"
    return v


def _chosen(solver: str, samples: Samples, equations: Sequence[Equation]):
    """:func:`~discover.solve.base.choose_solver` for these data; at stations ``auto`` solves
    an equation without spatial derivatives as an ODE at each station (``classical``)."""
    main, cross, why = choose_solver(solver, layout=samples.layout)
    if samples.layout == "station" and solver == "auto":
        parsed = [ParsedEquation(sp.Symbol(e.lhs), e.rhs_expr, e.field) for e in equations]
        if not spatial_terms(parsed, samples):
            return "classical", None, "auto: station data, no spatial derivative: an ODE each"
    return main, cross, why


def _resolver(equations, samples, holdout, found, data, periodic, region, start_state):
    """A function of a solver's name and options that re-solves on the data's layout."""

    def run(name: str, options: dict[str, Any]) -> Resolved:
        if samples.layout == "scattered":
            return resolve_scattered(
                equations, samples, holdout, solver=name, region=region,
                data=_opened(data) if region.startswith("mask:") else None,
                solver_options=options, start_state=start_state,
            )  # fmt: skip
        if samples.layout == "station":
            return resolve_stations(
                equations, samples, holdout, solver=name, held=found.holdout["stations"],
                region=region, data=data, solver_options=options, start_state=start_state,
            )  # fmt: skip
        return resolve_grid(
            equations, samples, holdout, solver=name, periodic=periodic, solver_options=options
        )

    return run


def _opened(data: str | Path | xr.Dataset) -> xr.Dataset:
    """The data as a dataset (a mask variable is read from it)."""
    from ..io import open_dataset

    return data if isinstance(data, xr.Dataset) else open_dataset(data)


def _scored(
    resolved: Resolved,
    equations: Sequence[Equation],
    samples: Samples,
    holdout: str,
    baselines: Sequence[str],
) -> Validation:
    """The equation's forecast and the baselines', scored by the one scorer."""
    record = resolved.record
    models = {"equation": resolved.prediction, **resolved.cross}
    for name in chosen(baselines):
        if samples.layout not in BASELINES[name].layouts:
            continue
        forecast = BASELINES[name]().forecast(record)
        if forecast is not None:
            models[name] = forecast
    scores = score(models, record.window, record.window_times, resolved.groups)
    times, start = record.times, record.start
    info = {
        "holdout": holdout,
        "t_start": float(times[start]),
        "t_end": float(times[-1]),
        "n_held_out": int(len(times) - start - 1),
        **resolved.info,
        "equations": [str(e) for e in equations],
        "data": {
            "file": samples.source,
            "var": ",".join(samples.names.get(f, f) for f in samples.fields),
        },
        "trend_window": trend_window(len(times), start),
        **resolved.extra,
    }
    logger.info(
        "validation: equation %.3g, persistence %.3g",
        scores.errors["equation"],
        scores.errors["persistence"],
    )
    return Validation(
        **vars(scores), solution=resolved.solution, data=resolved.data, info=info, samples=samples
    )
