"""Baselines of :func:`discover.validate.validate`: forecasts that give the equation's error
a scale, each one plug-in in :data:`BASELINES`.

A baseline is a subclass of :class:`Baseline` with a ``name``: defining the class registers
it.  It forecasts the held-out window from a :class:`~discover.validate.record.Record`
(every layout's data as one table ``(time, point, field)``), and the same scorer scores it
beside the equation.  The ``default`` ones run in every validation; the others when asked
(``validate(..., baselines=["neural-scheme"])``, ``--baseline neural-scheme``).

- ``persistence``: ``u(t) = u(t_start)`` (scattered data: the start state's spline at each
  held-out point's place);
- ``trend``: at each point, the straight line through the last training snapshots (as many
  as the window has steps, at least two), extended over the window;
- ``climatology``: for sub-daily records with at least two days before the window, at each
  point the mean of the training data at the same time of day;
- ``neural-scheme`` (gridded data): the stable ResNet scheme of Alt et al. (2021), blocks
  ``u ← u − τ Dᵀ Φ(D u)`` (:mod:`discover.neural.scheme`), trained on the training window's
  snapshots, one forecast step per time step of the data.

Examples
--------
>>> check_baselines(["neural-scheme"])
('neural-scheme',)
>>> check_baselines(["lstm"])
Traceback (most recent call last):
...
discover.errors.UnknownNameError: unknown baseline 'lstm' for baselines=; valid baselines: ...
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from ..errors import DataError
from ..io import hours_per
from ..registry import Registry
from .record import Record, trend_window

__all__ = ["BASELINES", "Baseline", "check_baselines", "label"]

logger = logging.getLogger(__name__)

#: baselines by name (``baselines=`` / ``--baseline``)
BASELINES: Registry[type[Baseline]] = Registry("baseline", parameter="baselines")


class Baseline:
    """Base class of the baselines: subclass with a ``name`` to register.

    Attributes
    ----------
    name : str
        The registry name.
    label : str
        Its name in tables and plots (the registry name by default).
    style : str
        Its matplotlib line style in the plot of error against lead time.
    default : bool
        Whether every validation scores it (else only when asked for).
    layouts : tuple of str
        The data layouts it can forecast.
    """

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""
    style: ClassVar[str] = "-"
    default: ClassVar[bool] = False
    layouts: ClassVar[tuple[str, ...]] = ("grid", "station")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("name"):
            BASELINES.register(cls.name, cls)

    def forecast(self, record: Record) -> np.ndarray | None:  # pragma: no cover - abstract
        """The forecast ``(time, point, field)`` over ``record.window_times`` (the start
        state first), learnt from ``record.values[: record.start + 1]`` only; None where the
        baseline does not apply to these data."""
        raise NotImplementedError


def check_baselines(names: Sequence[str], layout: str | None = None) -> tuple[str, ...]:
    """The names, if each is a registered baseline that takes data of ``layout``; else the
    registry's one-line error, or a one-line :class:`DataError`."""
    for name in names:
        cls = BASELINES[name]
        if layout is not None and layout not in cls.layouts:
            raise DataError(
                f"the '{name}' baseline needs {' or '.join(cls.layouts)} data, not "
                f"{layout} data; leave it out",
                parameter="baselines",
            )
    return tuple(names)


def chosen(names: Sequence[str]) -> list[str]:
    """The default baselines, then the ones asked for, each once."""
    out = [n for n, cls in BASELINES.items() if cls.default]
    return out + [n for n in dict.fromkeys(names) if n not in out]


def label(key: str) -> str:
    """A model's name in tables: a baseline's label, else the key."""
    if key not in BASELINES:
        return key
    return BASELINES[key].label or key


class Persistence(Baseline):
    """``u(t) = u(t_start)``."""

    name = "persistence"
    style = "--"
    default = True
    layouts = ("grid", "station", "scattered")

    def forecast(self, record: Record) -> np.ndarray:
        data = record.window
        return np.broadcast_to(data[0], data.shape)


class Trend(Baseline):
    """At each point, the straight line through the last training snapshots."""

    name = "trend"
    label = "linear trend"
    style = ":"
    default = True

    def forecast(self, record: Record) -> np.ndarray:
        start, times, wt = record.start, record.times, record.window_times
        w = trend_window(len(times), start)
        tt = times[start - w + 1 : start + 1]
        past = record.values[start - w + 1 : start + 1].reshape(len(tt), -1)
        shape = record.window.shape
        trend = np.full((len(wt), past.shape[1]), np.nan)
        fit = np.all(np.isfinite(past), axis=0)
        if fit.any():
            slope, icept = np.polyfit(tt - tt[-1], past[:, fit], 1)
            trend[:, fit] = icept[None] + slope[None] * (wt - tt[-1])[:, None]
        return trend.reshape(shape)


class Climatology(Baseline):
    """The diurnal climatology: per point, the mean of the training record at the same time
    of day; none for daily or coarser records or fewer than two training days."""

    name = "climatology"
    style = "-."
    default = True

    def forecast(self, record: Record) -> np.ndarray | None:
        s, t, start = record.samples, record.times, record.start
        per = hours_per(s.units.get("t") or s.time_unit)
        if per is None:
            return None
        hours = (t - t[0]) * per
        step = float(np.median(np.diff(hours)))
        if step > 6 or hours[start] - hours[0] < 48:
            return None
        n_phase = max(1, round(24 / step))
        phase = np.round((hours % 24) / step).astype(int) % n_phase
        w_phase = np.round((((record.window_times - t[0]) * per) % 24) / step).astype(int)
        train = record.values[: start + 1]
        means = np.full((n_phase, *train.shape[1:]), np.nan)
        for k in range(n_phase):
            sel = phase[: start + 1] == k
            if sel.any():
                means[k] = np.nanmean(train[sel], axis=0)
        return means[w_phase % n_phase]


class NeuralScheme(Baseline):
    """A learned black-box forecaster: the stable ResNet scheme of Alt et al. (2021)."""

    name = "neural-scheme"
    style = "-x"
    layouts = ("grid",)

    def forecast(self, record: Record) -> np.ndarray:
        from ..neural.scheme import neural_scheme_forecast

        grid, fields, start = record.grid, record.samples.fields, record.start
        t = record.times
        dt = np.diff(t)
        if not np.allclose(dt, dt[0], rtol=1e-6):
            raise DataError("the neural-scheme baseline needs equally spaced times; resample first")
        space = [d for d in grid[fields[0]].dims if d != "t"]
        if len(space) not in (1, 2):
            raise DataError(
                f"the neural-scheme baseline works on 1 or 2 spatial dimensions, not {len(space)}"
            )
        cube = np.stack([grid[f].transpose("t", *space).values for f in fields], axis=1)
        if not np.isfinite(cube).all():
            raise DataError("the neural-scheme baseline needs a grid without missing values")
        logger.info("baseline %s: training on %d snapshots", self.name, start + 1)
        pred = neural_scheme_forecast(
            cube[: start + 1],
            len(t) - 1 - start,
            periodic=[d in record.sides for d in space],
            walls=cube[start + 1 :],
            seed=0,
        )  # (time, field, *space), space in the grid's (t, space…) order
        return np.moveaxis(pred.reshape(pred.shape[0], len(fields), -1), 1, -1)
