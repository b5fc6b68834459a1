"""Validation: solve the discovered equation again and compare it with data it never saw.

The record is split in time (``holdout="last:20%"``): the equation is re-solved from the
data's state at the last time before the held-out window (and, on sides that do not wrap,
from the data's boundary values over the window) and compared with the held-out data.
Two plain baselines give the errors a scale:

- persistence: ``u(t) = u(t_start)``;
- the linear trend: at each point, the straight line through the last training snapshots
  (as many as the window has steps, at least two), extended over the window;
- for sub-daily records with at least two days before the window, the diurnal
  climatology: at each point, the mean of the training data at the same time of day.

An equation that does not beat persistence clearly has not explained the dynamics, however
good its regression fit looked.

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

import json
import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .equation import Equation
from .io import DataError, Samples, holdout_start, hours_per, load
from .solve import get_solver
from .solve.problem import Problem, grid_domain

__all__ = ["Validation", "parse_leads", "solve_from_data", "validate"]

logger = logging.getLogger(__name__)

#: baselines every validation reports (and "climatology" for sub-daily records)
BASELINES = ("persistence", "trend")
_LABELS = {
    "equation": "equation",
    "persistence": "persistence",
    "trend": "linear trend",
    "climatology": "climatology",
}


def _relative(pred: np.ndarray, data: np.ndarray) -> float:
    ok = np.isfinite(data) & np.isfinite(pred)
    den = np.linalg.norm(data[ok])
    return float(np.linalg.norm(pred[ok] - data[ok]) / den) if den > 0 else float("nan")


def _rmse(pred: np.ndarray, data: np.ndarray) -> float:
    ok = np.isfinite(data) & np.isfinite(pred)
    return float(np.sqrt(np.mean((pred[ok] - data[ok]) ** 2)))


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


class Validation:
    """The outcome of :func:`validate`.

    Attributes
    ----------
    errors : dict
        Relative L2 error over the held-out window: ``equation``, ``persistence``, ``trend``.
    rmse : dict
        The same as root-mean-square errors in the data's units.
    per_time : dict
        Relative L2 error at each held-out time, per model (and ``t``).
    per_time_rmse : dict
        The RMSE at each held-out time, per model (and ``t``): the error against lead time.
    solution, data : xarray.Dataset
        Solution and data over the window (from the start state on).
    info : dict
        Window, solver, its settings and time, the equations and the sides taken as periodic.
    """

    def __init__(self, **kw: Any) -> None:
        self.errors: dict[str, float] = kw["errors"]
        self.rmse: dict[str, float] = kw["rmse"]
        self.per_time: dict[str, list[float]] = kw["per_time"]
        self.per_time_rmse: dict[str, list[float]] = kw.get("per_time_rmse", {})
        self.solution: xr.Dataset = kw["solution"]
        self.data: xr.Dataset = kw["data"]
        self.info: dict[str, Any] = kw["info"]
        self.samples: Samples = kw["samples"]

    @property
    def ratio(self) -> float:
        """How many times smaller the equation's error is than persistence's."""
        e = self.errors["equation"]
        return float(self.errors["persistence"] / e) if e > 0 else float("inf")

    def table(self) -> str:
        """A plain-text table of the errors."""
        unit = self.samples.units.get(self.samples.fields[0], "")
        lines = [
            f"{'model':<14}{'rel. L2':>10}{'RMSE':>12}" + (f" [{unit}]" if unit else ""),
        ]
        for k in self.errors:
            lines.append(f"{_LABELS[k]:<14}{self.errors[k]:>10.3g}{self.rmse[k]:>12.3g}")
        return "\n".join(lines)

    def at_leads(self, leads: Sequence[float]) -> dict[str, list[float]]:
        """RMSE of each model at these lead times (in the data's time unit) after the start
        of the re-solve: the held-out time nearest to each lead (NaN beyond the window)."""
        t = np.asarray(self.per_time_rmse["t"]) - self.info["t_start"]
        out: dict[str, list[float]] = {"lead": [float(x) for x in leads]}
        for k in self.errors:
            row = []
            for lead in leads:
                j = int(np.argmin(np.abs(t - lead)))
                close = abs(t[j] - lead) <= 0.5 * np.min(np.diff(t), initial=abs(t[0]))
                row.append(float(self.per_time_rmse[k][j]) if close else float("nan"))
            out[k] = row
        return out

    def lead_table(self, leads: Sequence[float], labels: Sequence[str] | None = None) -> str:
        """A plain-text table of :meth:`at_leads` (RMSE in the field's units)."""
        got = self.at_leads(leads)
        labels = list(labels or [f"{x:g}" for x in leads])
        unit = self.samples.units.get(self.samples.fields[0], "")
        lines = [f"{'RMSE' + (f' [{unit}]' if unit else ''):<18}" + "".join(
            f"{lab:>10}" for lab in labels)]  # fmt: skip
        for k in self.errors:
            lines.append(f"{_LABELS[k]:<18}" + "".join(f"{v:>10.3g}" for v in got[k]))
        return "\n".join(lines)

    def __str__(self) -> str:
        i = self.info
        head = (
            f"held out {i['holdout']}: t in [{i['t_start']:g}, {i['t_end']:g}] "
            f"({i['n_held_out']} snapshots), re-solved from t = {i['t_start']:g} by the "
            f"{i['solver']} solver ({i['solver_info'].get('method', i['solver'])}) "
            f"in {i['seconds']:.1f} s"
        )
        verdict = f"the equation's error is {self.ratio:.3g}× smaller than persistence's"
        return "\n".join([head, *i["equations"], self.table(), verdict])

    def to_dict(self) -> dict[str, Any]:
        return {
            "errors": self.errors,
            "rmse": self.rmse,
            "ratio_to_persistence": self.ratio,
            "per_time": self.per_time,
            "per_time_rmse": self.per_time_rmse,
            **self.info,
        }

    def to_json(self, **kw: Any) -> str:
        return json.dumps(self.to_dict(), **kw)

    def plot(self, path: str | Path | None = None):
        """Data, solution and their difference over the window, and the error of each
        model against time; saved to ``path`` (PNG) when given.  Returns the figure."""
        import matplotlib

        if path is not None:
            matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        s = self.samples
        f = s.fields[0]
        space = [c for c in self.data[f].dims if c != "t"]

        def label(sym: str) -> str:
            name = s.long_names.get(sym) or s.names.get(sym, sym)
            unit = s.units.get(sym)
            return f"{name} [{unit}]" if unit else name

        data = self.data[f]
        sol = self.solution[f]
        err = sol - data
        fig, axes = plt.subplots(2, 2, figsize=(11, 8), constrained_layout=True)
        vmin, vmax = float(data.min()), float(data.max())
        elim = float(np.nanmax(np.abs(err.values))) or 1.0
        if len(space) == 1:  # the window as a (t, x) image
            x, y = space[0], "t"

            def pick(da):
                return da

            when = "over the window"
        else:  # maps at the last held-out time
            x, y = space[-1], space[0]
            last = float(data["t"].values[-1])

            def pick(da):
                return da.sel(t=last)

            when = f"at {label('t').split(' [')[0]} = {last:g}"
        kw = {"x": x, "y": y}
        for ax, da in ((axes[0, 0], data), (axes[0, 1], sol)):
            pick(da).plot(ax=ax, vmin=vmin, vmax=vmax, cbar_kwargs={"label": label(f)}, **kw)
        pick(err).plot(
            ax=axes[1, 0],
            cmap="RdBu_r",
            vmin=-elim,
            vmax=elim,
            cbar_kwargs={"label": f"solution − data [{s.units.get(f, '')}]"},
            **kw,
        )
        for ax in (axes[0, 0], axes[0, 1], axes[1, 0]):
            ax.set_xlabel(label(x))
            ax.set_ylabel(label(y))
        axes[0, 0].set_title(f"data {when}")
        axes[0, 1].set_title(f"re-solved ({self.info['solver']}) {when}")
        axes[1, 0].set_title(f"error {when}")
        ax = axes[1, 1]
        t = self.per_time["t"]
        for k, style in (("equation", "-o"), ("persistence", "--"), ("trend", ":")):
            ax.semilogy(t, np.maximum(self.per_time[k], 1e-16), style, label=k, markersize=3)
        ax.set_xlabel(label("t"))
        ax.set_ylabel("relative L2 error")
        ax.set_title(f"held-out error (equation {self.ratio:.3g}× below persistence)")
        ax.legend()
        ax.grid(True, which="both", alpha=0.3)
        fig.suptitle(self.info["equations"][0], fontsize=10)
        if path is not None:
            fig.savefig(path, dpi=110)
            plt.close(fig)
        return fig


def parse_leads(spec: str, unit: str | None) -> tuple[list[float], list[str]]:
    """Lead times ``"1h,6h,24h"`` or ``"1d,2d,5d"`` (``h``, ``d``, ``min``; a bare number is
    in the data's time unit) -> values in the data's time ``unit`` and their labels.

    >>> parse_leads("1h,6h,1d", "days")
    ([0.041666666666666664, 0.25, 1.0], ['1h', '6h', '1d'])
    """
    out, labels = [], []
    for item in (x.strip() for x in spec.split(",")):
        if not item:
            continue
        m = re.fullmatch(r"([0-9.]+(?:e-?\d+)?)\s*(h|d|min)?", item)
        if m is None:
            raise DataError(f"lead '{item}' is not a number with h, d or min (e.g. 6h, 2d)")
        value = float(m.group(1))
        if m.group(2):
            per = hours_per(unit)
            if per is None:
                raise DataError(
                    f"the data's time unit '{unit}' is not hours or days; give leads as bare "
                    "numbers in that unit"
                )
            value = value * hours_per(m.group(2)) / per
        out.append(value)
        labels.append(item)
    if not out:
        raise DataError(f"no lead times in '{spec}'; give e.g. 1h,6h,24h")
    return out, labels


def _climatology(
    grid: xr.Dataset, samples: Samples, start: int, window_t: np.ndarray
) -> dict[str, np.ndarray] | None:
    """The diurnal climatology over the window: per point, the mean of the training record
    (up to index ``start``) at the same time of day; None for daily or coarser records or
    fewer than two training days."""
    per = hours_per(samples.units.get("t") or samples.time_unit)
    if per is None:
        return None
    t = grid["t"].values
    hours = (t - t[0]) * per
    step = float(np.median(np.diff(hours)))
    if step > 6 or hours[start] - hours[0] < 48:
        return None
    n_phase = max(1, round(24 / step))
    phase = np.round((hours % 24) / step).astype(int) % n_phase
    w_phase = np.round((((window_t - t[0]) * per) % 24) / step).astype(int) % n_phase
    out = {}
    for f in samples.fields:
        train = grid[f].values[: start + 1]
        means = np.full((n_phase, *train.shape[1:]), np.nan)
        for k in range(n_phase):
            sel = phase[: start + 1] == k
            if sel.any():
                means[k] = np.nanmean(train[sel], axis=0)
        out[f] = means[w_phase]
    return out


def _equations(result: Any) -> tuple[list[Equation], dict[str, Any]]:
    """The equations in the data's own units, and the result's settings and data record."""
    from .find import Discovery

    if isinstance(result, Discovery):
        return result.equations_in_data_units, result.to_dict(include_path=False)
    if isinstance(result, (str, Path)):
        try:
            result = json.loads(Path(result).read_text())
        except FileNotFoundError:
            raise DataError(
                f"no result file '{result}'; give the JSON that `discover find --json` wrote"
            ) from None
        except json.JSONDecodeError as exc:
            raise DataError(
                f"'{result}' is not JSON ({exc}); give the file `discover find --json` wrote"
            ) from None
    if not isinstance(result, Mapping) or "equations" not in result:
        raise DataError(
            "the result has no 'equations'; give the JSON that `discover find --json` wrote"
        )
    eqs = result.get("equations_in_data_units") or result["equations"]
    try:
        return [Equation.from_dict(e) for e in eqs], dict(result)
    except (ValueError, KeyError, TypeError) as exc:
        raise DataError(f"cannot read the result's equations: {exc}") from None


def _sides(periodic: Sequence[str] | str, samples: Samples) -> tuple[str, ...]:
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


def _problem(
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
) -> tuple[Any, xr.Dataset]:
    """Solve ``equations`` from the state of gridded ``data`` at ``start`` (its first time
    by default) to ``t_end``; returns the :class:`~discover.solve.Solution` and the solution
    as a Dataset named like the data (variables, coordinates, units)."""
    from .solve.problem import parse_equations

    if var is None:
        fields, _ = parse_equations(list(equations), ("t", "x", "y", "z"))
        var = list(fields)
    samples = load(data, var, time_unit=time_unit)
    if samples.grid is None:
        raise DataError(
            f"solving starts from a state on a grid, but the data's layout is "
            f"'{samples.layout}'; give gridded data"
        )
    grid = samples.grid
    times = grid["t"].values
    k = 0
    if start is not None:
        k = int(np.argmin(np.abs(times - start)))
        if not np.isclose(times[k], start, rtol=1e-9, atol=1e-9 * max(1.0, abs(start))):
            raise DataError(
                f"--start {start:g} is not a time of the data; its times run from "
                f"{times[0]:g} to {times[-1]:g} (e.g. {times[min(1, len(times) - 1)]:g})"
            )
    if not t_end > times[k]:
        raise DataError(f"--t-end {t_end:g} must come after the start time {times[k]:g}")
    if n_times < 2:
        raise DataError(f"--n-times must be at least 2, not {n_times}")
    out_times = np.linspace(times[k], t_end, n_times)
    sides = _sides(periodic, samples)
    walls = set(samples.space) - set(sides)
    if walls and boundary == "data" and times[-1] < t_end - 1e-12:
        raise DataError(
            f"the data ends at t = {times[-1]:g}, before --t-end {t_end:g}, so it cannot give "
            "the wall values; use --boundary initial or make the sides periodic (--periodic)"
        )
    window = grid.isel(t=slice(k, None))
    problem = _problem(equations, samples, window, sides, boundary, out_times)
    sol = get_solver(solver, **dict(solver_options or {})).solve(problem)
    ds = sol.on_grid() if sol.dataset is None else sol.dataset.interp(t=out_times)
    names = samples.names
    ds = ds.rename({k_: names.get(k_, k_) for k_ in [*ds.data_vars, *ds.coords]})
    for sym, name in names.items():
        if name in ds.variables:
            if sym in samples.units:
                ds[name].attrs["units"] = samples.units[sym]
            if sym in samples.long_names:
                ds[name].attrs["long_name"] = samples.long_names[sym]
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


def validate(
    result: Any,
    data: str | Path | xr.Dataset,
    var: str | Sequence[str] | None = None,
    *,
    solver: str = "classical",
    holdout: str | None = None,
    periodic: Sequence[str] | str = "auto",
    solver_options: Mapping[str, Any] | None = None,
) -> Validation:
    """Re-solve the discovered equation(s) over a held-out window and compare with the data.

    Parameters
    ----------
    result : Discovery, dict or path
        What :func:`discover.find` returned, or the JSON it wrote.
    data : path or Dataset
        The gridded data (the same record the equation was found in, held-out part included).
    var : str or sequence of str, optional
        The field variable(s); the result's by default.
    solver : {"classical", "neural"}
        Solver name (see :data:`discover.solve.SOLVERS`).
    holdout : str, optional
        ``last:P%`` or ``last:N``; the result's own hold-out by default, else ``last:20%``.
    periodic : "auto", sequence of str or "none"
        Sides that wrap around; ``auto`` reads the data's ``periodic`` attribute or checks
        the wrap-around jump (:func:`detect_periodic`).
    solver_options : dict, optional
        Options of the solver.

    Returns
    -------
    Validation
    """
    equations, record = _equations(result)
    rdata = record.get("data", {})
    settings = record.get("settings", {})
    if var is None:
        var = rdata.get("var")
        if not var:
            raise DataError("the result does not name its variable; give var= / --var")
        var = var.split(",")
    time_unit = rdata.get("time_unit") or "days"
    if "t" in record.get("transform", {}):  # found in other units: load in the data's own
        time_unit = record["transform"]["t"].get("from") or "days"
    samples = load(data, var, time_unit=time_unit)
    if samples.grid is None:
        raise DataError(
            f"validation re-solves on a grid, but the data's layout is '{samples.layout}'; "
            "give gridded data"
        )
    eq_fields = [e.lhs.split("_")[0] for e in equations]
    if sorted(eq_fields) != sorted(samples.fields):
        raise DataError(
            f"the result has equations for {', '.join(eq_fields)} but the data gives "
            f"{', '.join(samples.fields)}; name the same fields with --var"
        )
    for e in equations:
        if tuple(e.coords) != samples.coords:
            raise DataError(
                f"the equation of {e.lhs} is in coordinates {tuple(e.coords)} but the data's are "
                f"{samples.coords}; validate on the data the equation was found in"
            )
    holdout = holdout or settings.get("holdout") or "last:20%"
    grid = samples.grid
    times = grid["t"].values
    i0 = holdout_start(times, holdout)
    start = i0 - 1
    window = grid.isel(t=slice(start, None))
    sides = _sides(periodic, samples)
    problem = _problem(equations, samples, window, sides, "data")
    sol = get_solver(solver, **dict(solver_options or {})).solve(problem)
    pred = sol.dataset if sol.dataset is not None else sol.on_grid()
    pred = pred.transpose(*window[samples.fields[0]].dims)
    held = slice(1, None)
    w = min(start + 1, max(2, len(times) - i0 + 1))
    past = grid.isel(t=slice(start - w + 1, start + 1))
    tt = past["t"].values
    held_t = [float(t) for t in window["t"].values[held]]
    errors, rmse, per_time, per_time_rmse = {}, {}, {"t": held_t}, {"t": list(held_t)}
    models: dict[str, dict[str, np.ndarray]] = {"equation": {}, "persistence": {}, "trend": {}}
    clim = _climatology(grid, samples, start, window["t"].values)
    if clim is not None:
        models["climatology"] = clim
    for f in samples.fields:
        d = window[f].values
        models["equation"][f] = pred[f].values
        models["persistence"][f] = np.broadcast_to(d[0], d.shape)
        vals = past[f].values.reshape(len(tt), -1)
        slope, icept = np.polyfit(tt - tt[-1], vals, 1)
        dt = window["t"].values - tt[-1]
        models["trend"][f] = (icept[None] + slope[None] * dt[:, None]).reshape(d.shape)
    for name, m in models.items():
        p_all = np.concatenate([m[f][held].ravel() for f in samples.fields])
        d_all = np.concatenate([window[f].values[held].ravel() for f in samples.fields])
        errors[name] = _relative(p_all, d_all)
        rmse[name] = _rmse(p_all, d_all)
        pairs = [
            (
                np.concatenate([m[f][k].ravel() for f in samples.fields]),
                np.concatenate([window[f].values[k].ravel() for f in samples.fields]),
            )
            for k in range(1, len(window["t"]))
        ]
        per_time[name] = [_relative(p, d) for p, d in pairs]
        per_time_rmse[name] = [_rmse(p, d) for p, d in pairs]
    info = {
        "holdout": holdout,
        "t_start": float(times[start]),
        "t_end": float(times[-1]),
        "n_held_out": int(len(times) - i0),
        "solver": solver,
        "solver_info": sol.info,
        "seconds": sol.seconds,
        "periodic": list(sides),
        "equations": [str(e) for e in equations],
        "data": {
            "file": samples.source,
            "var": ",".join(samples.names.get(f, f) for f in samples.fields),
        },
        "trend_window": int(w),
    }
    logger.info(
        "validation: equation %.3g, persistence %.3g", errors["equation"], errors["persistence"]
    )
    return Validation(
        errors=errors,
        rmse=rmse,
        per_time=per_time,
        per_time_rmse=per_time_rmse,
        solution=pred,
        data=window[list(samples.fields)],
        info=info,
        samples=samples,
    )
