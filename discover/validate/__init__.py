"""Validation: solve the discovered equation again and compare it with data it never saw.

The record is split in time (``holdout="last:20%"``): the equation is re-solved from the
data's state at the last time before the held-out window (and, on sides that do not wrap,
from the data's boundary values over the window) and compared with the held-out data.
Baselines give the errors a scale (:mod:`~discover.validate.baselines`): persistence
``u(t) = u(t_start)``, each point's linear trend, the diurnal climatology of sub-daily
records, and on request a learned forecaster (``baselines=["neural-scheme"]``).

At stations (``T(time, station)``) the equation is re-solved at every station: without
spatial derivatives as an ODE at each station from its own value, with them on a grid
between the stations; the stations ``find`` held out (``holdout="last:20%,stations:9"``)
are scored apart.

An equation that does not beat persistence clearly has not explained the dynamics, however
good its regression fit looked.

=============================  =================================================================
module                         its one job
=============================  =================================================================
:mod:`~.reading`               the result (through ``Discovery.from_dict``) and its data
:mod:`~.grid`                  the re-solve on a grid
:mod:`~.stations`              the re-solves at stations (ODE per station, PDE between them)
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

import xarray as xr

from ..equation import Equation
from ..errors import DataError
from ..io import Samples
from ..solve.base import SOLVERS
from ..solve.from_data import solve_from_data
from ..solve.windows import detect_periodic
from .baselines import BASELINES, Baseline, check_baselines, chosen
from .grid import resolve_grid
from .outcome import HELD_OUT, Validation, parse_leads
from .reading import load_like, matching_equations, read_result
from .record import Record, Resolved, trend_window
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
    solver: str = "classical",
    holdout: str | None = None,
    periodic: Sequence[str] | str = "auto",
    solver_options: Mapping[str, Any] | None = None,
    sel: Mapping[str, Any] | None = None,
    baselines: Sequence[str] = (),
    layout: str = "auto",
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
        A name in :data:`discover.solve.SOLVERS` (``classical``, ``neural``); at stations
        only ``classical``.
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

    Returns
    -------
    Validation
    """
    SOLVERS.check(solver)
    check_baselines(baselines)
    found = read_result(result)
    samples = load_like(found, data, var, sel, layout)
    check_baselines(baselines, samples.layout)
    equations = matching_equations(found, samples)
    holdout = holdout or found.settings.get("holdout") or "last:20%"
    if samples.layout == "station":
        held = found.holdout["stations"]
        resolved = resolve_stations(equations, samples, holdout, solver=solver, held=held)
    elif samples.grid is not None:
        resolved = resolve_grid(
            equations,
            samples,
            holdout,
            solver=solver,
            periodic=periodic,
            solver_options=solver_options,
        )
    else:
        raise DataError(
            f"validation re-solves on a grid or at stations, but the data's layout is "
            f"'{samples.layout}'; give gridded or station data"
        )
    return _scored(resolved, equations, samples, holdout, baselines)


def _scored(
    resolved: Resolved,
    equations: Sequence[Equation],
    samples: Samples,
    holdout: str,
    baselines: Sequence[str],
) -> Validation:
    """The equation's forecast and the baselines', scored by the one scorer."""
    record = resolved.record
    models = {"equation": resolved.prediction}
    for name in chosen(baselines):
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
