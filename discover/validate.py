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

At stations (``T(time, station)``) the equation is re-solved at every station: without
spatial derivatives as an ODE at each station from its own value, with them on a grid
between the stations; the stations ``find`` held out (``holdout="last:20%,stations:9"``)
are scored apart.

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
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .baselines import check_baselines, learned_baseline
from .equation import Equation
from .io import (
    DataError,
    Samples,
    at_positions,
    holdout_start,
    hours_per,
    load,
)
from .library import parse_symbol
from .solve import get_solver
from .solve.problem import Problem, grid_domain

__all__ = ["Validation", "parse_leads", "solve_from_data", "validate"]

logger = logging.getLogger(__name__)

#: baselines every validation reports (and "climatology" for sub-daily records)
BASELINES = ("persistence", "trend")
#: suffix of the scores at the stations the discovery never saw
HELD_OUT = " @ held-out stations"
_LABELS = {
    "equation": "equation",
    "persistence": "persistence",
    "trend": "linear trend",
    "climatology": "climatology",
}


def _label(key: str) -> str:
    """``"persistence @ held-out stations"`` -> ``"persistence, held-out stations"``."""
    base = key.removesuffix(HELD_OUT)
    return _LABELS.get(base, base) + (", held-out stations" if base != key else "")


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


def _versus(ratio: float) -> str:
    """Persistence's error over the equation's, in words.

    >>> _versus(8.85e5), _versus(0.5), _versus(0.0)
    ('8.85e+05× smaller', '2× larger', 'infinitely larger')
    """
    if ratio >= 1:
        return f"{ratio:.3g}× smaller"
    return f"{1 / ratio:.3g}× larger" if ratio > 0 else "infinitely larger"


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
        w = max(14, *(len(_label(k)) + 2 for k in self.errors))
        lines = [
            f"{'model':<{w}}{'rel. L2':>10}{'RMSE':>12}" + (f" [{unit}]" if unit else ""),
        ]
        for k in self.errors:
            lines.append(f"{_label(k):<{w}}{self.errors[k]:>10.3g}{self.rmse[k]:>12.3g}")
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

    def check_leads(self, leads: Sequence[float], labels: Sequence[str]) -> None:
        """A one-line error for a lead time outside the held-out window."""
        t = np.asarray(self.per_time_rmse["t"]) - self.info["t_start"]
        unit = self.samples.units.get("t")
        unit = unit if unit not in (None, "", "1") else "the data's time unit"
        for lead, label in zip(leads, labels):
            ok = self.at_leads([lead])["lead"] and not np.isnan(
                self.at_leads([lead])["equation"][0]
            )
            if lead <= 0 or not ok:
                raise DataError(
                    f"lead time {label} is outside the held-out window, which has lead times "
                    f"{t[0]:g} to {t[-1]:g} ({unit}); "
                    "give leads within it"
                )

    def lead_table(self, leads: Sequence[float], labels: Sequence[str] | None = None) -> str:
        """A plain-text table of :meth:`at_leads` (RMSE in the field's units)."""
        got = self.at_leads(leads)
        labels = list(labels or [f"{x:g}" for x in leads])
        unit = self.samples.units.get(self.samples.fields[0], "")
        w = max(18, *(len(_label(k)) + 2 for k in self.errors))
        lines = [f"{'RMSE' + (f' [{unit}]' if unit else ''):<{w}}" + "".join(
            f"{lab:>10}" for lab in labels)]  # fmt: skip
        for k in self.errors:
            lines.append(f"{_label(k):<{w}}" + "".join(f"{v:>10.3g}" for v in got[k]))
        return "\n".join(lines)

    def __str__(self) -> str:
        i = self.info
        head = (
            f"held out {i['holdout']}: t in [{i['t_start']:g}, {i['t_end']:g}] "
            f"({i['n_held_out']} snapshots), re-solved from t = {i['t_start']:g} by the "
            f"{i['solver']} solver ({i['solver_info'].get('method', i['solver'])}) "
            f"in {i['seconds']:.1f} s"
        )
        verdict = f"the equation's error is {_versus(self.ratio)} than persistence's"
        if "equation" + HELD_OUT in self.errors:
            e, p = self.errors["equation" + HELD_OUT], self.errors["persistence" + HELD_OUT]
            n = len(i.get("holdout_stations", []))
            ratio = p / e if e > 0 else math.inf
            verdict += f" ({_versus(ratio)} at the {n} stations the discovery never saw)"
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
        """Data, solution and their difference over the window (maps at the last held-out
        time in 2-D), and each model's RMSE against lead time; at stations, time series at
        four stations (unseen ones first) and the RMSE against lead time.  Saved to ``path``
        (PNG) when given; returns the figure."""
        import matplotlib

        if path is not None:
            matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        s = self.samples
        if s.layout == "station":
            return _plot_stations(self, path, plt)
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
        ax = axes[1, 1]  # RMSE against lead time, in the field's units
        lead = np.asarray(self.per_time_rmse["t"]) - self.info["t_start"]
        styles = (("equation", "-o"), ("persistence", "--"), ("trend", ":"), ("climatology", "-."))
        styles += (("neural-scheme", "-x"),)
        for k, style in ((k, st) for k, st in styles if k in self.per_time_rmse):
            rmse = np.maximum(self.per_time_rmse[k], 1e-16)
            ax.semilogy(lead, rmse, style, label=_label(k), markersize=3)
        t_unit = s.units.get("t")
        ax.set_xlabel(f"lead time [{t_unit}]" if t_unit else "lead time")
        ax.set_ylabel(f"RMSE [{s.units[f]}]" if s.units.get(f) else "RMSE")
        ax.set_title(f"held-out error (equation {self.ratio:.3g}× below persistence)")
        ax.legend()
        ax.grid(True, which="both", alpha=0.3)
        fig.suptitle(self.info["equations"][0], fontsize=10)
        if path is not None:
            fig.savefig(path, dpi=110)
            plt.close(fig)
        return fig


def _plot_stations(v: Validation, path: str | Path | None, plt: Any):
    s = v.samples
    f = s.fields[0]
    name = s.names.get(f, f)
    unit = s.units.get(f, "")
    tunit = s.units.get("t") or s.time_unit or ""
    data, sol = v.data[name], v.solution[name]
    held = np.asarray(v.data["held_out"].values, bool)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), constrained_layout=True)
    ax = axes[0]  # time series at up to four stations, held-out ones first
    order = [*np.flatnonzero(held), *np.flatnonzero(~held)]
    order = [k for k in order if np.isfinite(sol.values[:, k]).any()][:4]
    t = v.data["t"].values
    for j, k in enumerate(order):
        where = ", ".join(f"{c} {v.data[c].values[k]:.4g}" for c in v.data.coords
                          if c not in ("t", "held_out"))  # fmt: skip
        tag = " (held out)" if held[k] else ""
        ax.plot(t, data.values[:, k], "o", color=f"C{j}", markersize=3)
        ax.plot(t, sol.values[:, k], "-", color=f"C{j}", label=f"{where}{tag}")
    ax.set_xlabel(f"t [{tunit}]" if tunit else "t")
    ax.set_ylabel(f"{name} [{unit}]" if unit else name)
    ax.set_title("stations: data (dots) and re-solved equation (lines)")
    ax.legend(fontsize=7)
    ax = axes[1]  # RMSE against lead time
    lead = np.asarray(v.per_time_rmse["t"]) - v.info["t_start"]
    for k in v.errors:
        style = "--" if k.endswith(HELD_OUT) else "-"
        ax.plot(lead, v.per_time_rmse[k], style, marker="o", markersize=3, label=_label(k))
    ax.set_xlabel(f"lead time [{tunit}]" if tunit else "lead time")
    ax.set_ylabel(f"RMSE [{unit}]" if unit else "RMSE")
    ax.set_title("error against lead time")
    ax.legend(fontsize=7)
    ax.grid(True, alpha=0.3)
    fig.suptitle(v.info["equations"][0], fontsize=10)
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
    from .results import Discovery

    if isinstance(result, (str, Path)):
        result = _read_record(Path(result))
    if not isinstance(result, Discovery):
        result = Discovery.from_dict(result)
    return result.equations_in_data_units, result.to_dict(include_path=False)


def _read_record(path: Path) -> Any:
    """The JSON of a result file; one-line errors for a missing, binary or non-JSON file."""
    hint = "give the JSON file that `discover find --json` wrote"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"no result file '{path}'; {hint}") from None
    except IsADirectoryError:
        raise DataError(f"'{path}' is a folder; {hint}") from None
    except UnicodeDecodeError:
        raise DataError(f"'{path}' is not text (a binary or netCDF file?); {hint}") from None
    except (json.JSONDecodeError, RecursionError) as exc:
        raise DataError(f"'{path}' is not JSON ({str(exc)[:80]}); {hint}") from None


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


def _fields_in(equations: Sequence[Any], data: str | Path | xr.Dataset) -> list[str]:
    """The data variables the equations are about: a variable ``v`` is a field when a symbol
    is ``v`` or a derivative ``v_…`` of it (the longest such variable wins, so ``air_temp``
    is not taken for ``air``)."""
    from .io import open_dataset, symbol_name
    from .parsing import parse_equation

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


#: points per side of the grid a PDE is solved on between stations
STATION_GRID = 48


def _solve_pde_at_stations(
    equations: Sequence[Equation], samples: Samples, pos: np.ndarray, u0: np.ndarray,
    wt: np.ndarray,
) -> tuple[np.ndarray, dict[str, Any]]:  # fmt: skip
    """Spread the stations' state at the start onto a grid over their bounding box
    (thin-plate spline, clipped to the stations' range), solve there with the walls held at
    their initial values (no future data enters); the forecast at a station is its own value
    at the start plus the solution's change there since the start, so that the spreading's
    error at the stations does not enter the forecast."""
    from scipy.interpolate import RBFInterpolator

    space = list(samples.space)
    lo, hi = pos.min(axis=0), pos.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    axes = [np.linspace(lo[i] - 0.02 * span[i], hi[i] + 0.02 * span[i], STATION_GRID)
            for i in range(len(space))]  # fmt: skip
    mesh = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, len(space))
    shape = (STATION_GRID,) * len(space)
    init = {}
    for k, f in enumerate(samples.fields):
        ok = np.isfinite(u0[:, k])
        if ok.sum() < len(space) + 2:
            raise DataError(
                f"only {int(ok.sum())} stations have a value of {f} at t = {wt[0]:g}, where the "
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
        init[f] = vals.reshape(shape)
    dims = ("t", *space)
    window = xr.Dataset(
        {f: (dims, np.broadcast_to(v, (len(wt), *shape))) for f, v in init.items()},
        coords={"t": wt, **dict(zip(space, axes, strict=True))},
    )
    problem = _problem(equations, samples, window, (), "initial", wt)
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


def _validate_stations(
    equations: Sequence[Equation],
    samples: Samples,
    record: Mapping[str, Any],
    holdout: str | None,
    solver: str,
) -> Validation:
    """Re-solve at the stations from their state at the start of the held-out window: an
    ODE at each station, a PDE on a grid between them; the stations the discovery never saw
    (``holdout_stations``) are scored apart."""
    import time as _time

    settings = record.get("settings", {})
    if solver != "classical":
        raise DataError(
            f"at stations the equation is re-solved per station (ODE) or on a grid between "
            f"them (classical); the '{solver}' solver is for gridded data"
        )
    by_field = {e.field: e for e in equations}
    equations = [by_field[f] for f in samples.fields]
    spatial = _spatial_terms(equations, samples)
    holdout = holdout or settings.get("holdout") or "last:20%"
    times, pos, table = _station_table(samples)
    i0 = holdout_start(times, holdout)
    start = i0 - 1
    held_pos = np.asarray(settings.get("holdout_stations") or [], float)
    is_held = np.zeros(len(pos), bool)
    if held_pos.size:
        is_held = at_positions(pos, held_pos)
        if is_held.sum() != len(held_pos):
            raise DataError(
                f"{len(held_pos) - int(is_held.sum())} of the result's {len(held_pos)} held-out "
                "stations are not in the data; validate on the data the equation was found in"
            )
    u0 = table[start]  # (station, field)
    if not np.all(np.isfinite(u0), axis=1).any():
        raise DataError(
            f"no station has a value at t = {times[start]:g}, where the solve starts; "
            "choose another hold-out"
        )
    wt = times[start:]
    t0 = _time.perf_counter()
    solve = _solve_pde_at_stations if spatial else _solve_ode_at_stations
    pred, solver_info = solve(equations, samples, pos, u0, wt)
    seconds = _time.perf_counter() - t0
    ns = int(np.isfinite(pred[-1, :, 0]).sum())
    data = table[start:]
    models: dict[str, np.ndarray] = {"equation": pred}
    models["persistence"] = np.broadcast_to(data[0], data.shape)
    w = min(start + 1, max(2, len(times) - i0 + 1))
    tt = times[start - w + 1 : start + 1]
    past = table[start - w + 1 : start + 1].reshape(len(tt), -1)
    trend = np.full(data.shape, np.nan).reshape(len(wt), -1)
    fit = np.all(np.isfinite(past), axis=0)
    if fit.any():
        slope, icept = np.polyfit(tt - tt[-1], past[:, fit], 1)
        trend[:, fit] = icept[None] + slope[None] * (wt - tt[-1])[:, None]
    models["trend"] = trend.reshape(data.shape)
    names = samples.names
    dims = ("t", "station")
    pos_coords = {names.get(c, c): ("station", pos[:, i]) for i, c in enumerate(samples.space)}
    grid = xr.Dataset(
        {f: (dims, table[..., k]) for k, f in enumerate(samples.fields)},
        coords={"t": times, **pos_coords},
    )
    clim = _climatology(grid, samples, start, wt)
    if clim is not None:
        models["climatology"] = np.stack([clim[f] for f in samples.fields], axis=-1)
    groups = {"": np.ones(len(pos), bool)}
    if is_held.any():
        groups[HELD_OUT] = is_held
    errors, rmse, per_time, per_time_rmse = {}, {}, {"t": list(wt[1:])}, {"t": list(wt[1:])}
    # every model is scored where all of them and the data have a value: the same points
    scored = np.isfinite(data) & np.all([np.isfinite(m) for m in models.values()], axis=0)
    for suffix, sel in groups.items():
        for name, m in models.items():
            key = name + suffix
            pm, dm = np.where(scored, m, np.nan)[:, sel], np.where(scored, data, np.nan)[:, sel]
            errors[key] = _relative(pm[1:].ravel(), dm[1:].ravel())
            rmse[key] = _rmse(pm[1:].ravel(), dm[1:].ravel())
            per_time[key] = [_relative(pm[k], dm[k]) for k in range(1, len(wt))]
            per_time_rmse[key] = [_rmse(pm[k], dm[k]) for k in range(1, len(wt))]
    coords = {"t": wt, **pos_coords, "held_out": ("station", is_held)}
    as_ds = lambda arr: xr.Dataset(  # noqa: E731
        {names.get(f, f): (dims, arr[..., k]) for k, f in enumerate(samples.fields)},
        coords=coords,
    )
    info = {
        "holdout": holdout,
        "t_start": float(times[start]),
        "t_end": float(times[-1]),
        "n_held_out": int(len(times) - i0),
        "solver": "classical" if spatial else "ode",
        "solver_info": solver_info,
        "seconds": seconds,
        "periodic": [],
        "equations": [str(e) for e in equations],
        "data": {
            "file": samples.source,
            "var": ",".join(samples.names.get(f, f) for f in samples.fields),
        },
        "trend_window": int(w),
        "n_stations": len(pos),
        "n_stations_started": ns,
        "holdout_stations": pos[is_held].tolist(),
    }
    return Validation(
        errors=errors,
        rmse=rmse,
        per_time=per_time,
        per_time_rmse=per_time_rmse,
        solution=as_ds(pred),
        data=as_ds(data),
        info=info,
        samples=samples,
    )


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
    solver : {"classical", "neural"}
        Solver name (see :data:`discover.solve.SOLVERS`).
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
        Learned baselines to train and score beside the plain ones (gridded data):
        ``neural-scheme`` (see :mod:`discover.baselines`).

    Returns
    -------
    Validation
    """
    equations, record = _equations(result)
    rdata = record.get("data", {})
    settings = record.get("settings", {})
    if var is None:
        var = rdata.get("var")
        if not var or not isinstance(var, str):
            raise DataError("the result does not name its variable; give var= / --var")
        var = var.split(",")
    time_unit = rdata.get("time_unit") or "days"
    t_change = record.get("transform", {}).get("t")
    if isinstance(t_change, Mapping):  # found in other units: load in the data's own
        time_unit = t_change.get("from") or "days"
    if sel is None:
        sel = settings.get("sel") if isinstance(settings.get("sel"), Mapping) else None
    samples = load(data, var, time_unit=time_unit, sel=sel)
    eq_fields = [e.field for e in equations]
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
    if check_baselines(baselines) and samples.grid is None:
        raise DataError("learned baselines (--baseline) need gridded data; leave them out")
    if samples.layout == "station":
        return _validate_stations(equations, samples, record, holdout, solver)
    if samples.grid is None:
        raise DataError(
            f"validation re-solves on a grid or at stations, but the data's layout is "
            f"'{samples.layout}'; give gridded or station data"
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
    for name in baselines:
        models[name] = learned_baseline(name, grid, samples.fields, start, sides)
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
