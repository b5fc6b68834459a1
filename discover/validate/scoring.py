"""The one scorer of :func:`discover.validate.validate`: the equation and every baseline,
on grids and at stations, scored by the same code on the same points.

Every model is a table ``(time, point, field)`` over the window (the start state first);
the scores leave the start state out.  A point at a time counts where the data and every
model have a value, so that no model is scored on an easier set of points than another.

Examples
--------
>>> data = np.array([[[1.0]], [[2.0]], [[3.0]]])  # (time, point, field)
>>> s = score({"still": np.ones_like(data)}, data, [0.0, 1.0, 2.0])
>>> s.rmse["still"], s.per_time_rmse["still"]
(1.5811388300841898, [1.0, 2.0])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Scores", "relative", "rmse", "score"]


@dataclass
class Scores:
    """Each model's relative L2 error and RMSE over the held-out window, and at each
    held-out time (lists, with the times under ``"t"``); a group of points scored apart
    adds its suffix to the model's key (``"equation @ held-out stations"``)."""

    errors: dict[str, float]
    rmse: dict[str, float]
    per_time: dict[str, list[float]]
    per_time_rmse: dict[str, list[float]]


def relative(pred: np.ndarray, data: np.ndarray) -> float:
    """``‖pred − data‖ / ‖data‖`` where both have values (NaN for zero data)."""
    ok = np.isfinite(data) & np.isfinite(pred)
    den = np.linalg.norm(data[ok])
    return float(np.linalg.norm(pred[ok] - data[ok]) / den) if den > 0 else float("nan")


def rmse(pred: np.ndarray, data: np.ndarray) -> float:
    """The root-mean-square difference where both have values."""
    ok = np.isfinite(data) & np.isfinite(pred)
    return float(np.sqrt(np.mean((pred[ok] - data[ok]) ** 2)))


def score(
    models: Mapping[str, np.ndarray],
    data: np.ndarray,
    times: Sequence[float],
    groups: Mapping[str, np.ndarray | None] | None = None,
) -> Scores:
    """Score every model against ``data`` (tables ``(time, point, field)``, the start state
    first) at ``times``; ``groups`` maps a key suffix to the points scored together (None:
    all points), ``{"": None}`` by default."""
    held_t = [float(t) for t in times[1:]]
    out = Scores({}, {}, {"t": held_t}, {"t": list(held_t)})
    scored = np.isfinite(data) & np.all([np.isfinite(m) for m in models.values()], axis=0)
    for suffix, sel in (groups or {"": None}).items():
        points = slice(None) if sel is None else sel
        dm = np.where(scored, data, np.nan)[:, points]
        for name, m in models.items():
            key = name + suffix
            pm = np.where(scored, m, np.nan)[:, points]
            out.errors[key] = relative(pm[1:].ravel(), dm[1:].ravel())
            out.rmse[key] = rmse(pm[1:].ravel(), dm[1:].ravel())
            out.per_time[key] = [relative(pm[k], dm[k]) for k in range(1, len(times))]
            out.per_time_rmse[key] = [rmse(pm[k], dm[k]) for k in range(1, len(times))]
    return out
