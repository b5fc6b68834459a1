"""The outcome of a validation: :class:`Validation` (errors, tables, lead times, JSON) and
the reading of lead times (:func:`parse_leads`)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..errors import DataError
from ..io import Samples, hours_per
from .baselines import label as baseline_label

__all__ = ["HELD_OUT", "Validation", "parse_leads"]

#: suffix of the scores at the stations the discovery never saw
HELD_OUT = " @ held-out stations"


def model_label(key: str) -> str:
    """``"persistence @ held-out stations"`` -> ``"persistence, held-out stations"``."""
    base = key.removesuffix(HELD_OUT)
    return baseline_label(base) + (", held-out stations" if base != key else "")


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
        #: why this solver ran (``"auto: station data"``, ``"given"`` …); printed first
        self.choice: str = kw.get("choice", "given")

    @property
    def ratio(self) -> float:
        """How many times smaller the equation's error is than persistence's."""
        e = self.errors["equation"]
        return float(self.errors["persistence"] / e) if e > 0 else float("inf")

    def label(self, key: str) -> str:
        """A model's row label; with a cross-check, the equation's rows name their solver."""
        out = model_label(key)
        if "cross_check" in self.info and key.removesuffix(HELD_OUT) == "equation":
            out = out.replace("equation", f"equation ({self.info['solver']})", 1)
        return out

    def table(self) -> str:
        """A plain-text table of the errors."""
        unit = self.samples.units.get(self.samples.fields[0], "")
        w = max(14, *(len(self.label(k)) + 2 for k in self.errors))
        lines = [
            f"{'model':<{w}}{'rel. L2':>10}{'RMSE':>12}" + (f" [{unit}]" if unit else ""),
        ]
        for k in self.errors:
            lines.append(f"{self.label(k):<{w}}{self.errors[k]:>10.3g}{self.rmse[k]:>12.3g}")
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
        w = max(18, *(len(self.label(k)) + 2 for k in self.errors))
        lines = [f"{'RMSE' + (f' [{unit}]' if unit else ''):<{w}}" + "".join(
            f"{lab:>10}" for lab in labels)]  # fmt: skip
        for k in self.errors:
            lines.append(f"{self.label(k):<{w}}" + "".join(f"{v:>10.3g}" for v in got[k]))
        return "\n".join(lines)

    def solver_line(self) -> str:
        """The first line printed: the solver taken and why (as ``find`` prints its preset),
        where it solved, the neural core's start state (and why), and the cross-check."""
        i = self.info
        line = f"solver {i['solver']} ({self.choice})"
        region = i["solver_info"].get("region")
        if region:
            line += f" on the {region}"
        if i.get("start"):
            line += f"; start state: {i['start']}"
        cross = i.get("cross_check")
        if cross:
            line += f"; cross-check: {cross['solver']} in {cross['seconds']:.1f} s"
        return line

    def __str__(self) -> str:
        i = self.info
        count = f"{i['n_held_out']} snapshots"
        if "n_held_out_points" in i:  # scattered data
            count = f"{i['n_held_out_points']} observations in {i['score_bins']} groups by time"
        head = (
            f"held out {i['holdout']}: t in [{i['t_start']:g}, {i['t_end']:g}] "
            f"({count}), re-solved from t = {i['t_start']:g} by the "
            f"{i['solver']} solver ({i['solver_info'].get('method', i['solver'])}) "
            f"in {i['seconds']:.1f} s"
        )
        verdict = f"the equation's error is {_versus(self.ratio)} than persistence's"
        if "equation" + HELD_OUT in self.errors:
            e, p = self.errors["equation" + HELD_OUT], self.errors["persistence" + HELD_OUT]
            n = len(i.get("holdout_stations", []))
            ratio = p / e if e > 0 else math.inf
            verdict += f" ({_versus(ratio)} at the {n} stations the discovery never saw)"
        return "\n".join([self.solver_line(), head, *i["equations"], self.table(), verdict])

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
        from .plots import plot

        return plot(self, path)


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
