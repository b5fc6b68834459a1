"""Hold-outs: the part of the record ``find`` leaves out and ``validate`` scores on — the
last time steps (``last:20%``, ``last:12``) and, for station data, stations chosen at random
with a fixed seed (``stations:9``)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from ..errors import DataError
from .samples import Samples

__all__ = [
    "HOLDOUT_KINDS",
    "HOLDOUT_SEED",
    "at_positions",
    "holdout_start",
    "holdout_stations",
    "parse_holdout",
    "split_holdout",
    "station_positions",
    "station_table",
]

HOLDOUT_KINDS = ("last", "stations")


def parse_holdout(spec: str) -> dict[str, float | int]:
    """Read a hold-out: ``last:20%`` (a fraction of the time steps) or ``last:12`` (steps),
    ``stations:20%`` or ``stations:9`` (stations chosen at random, station data only), or
    both, comma-separated.

    >>> parse_holdout("last:20%")
    {'last': 0.2}
    >>> parse_holdout("last:5,stations:20%")
    {'last': 5, 'stations': 0.2}
    """
    out: dict[str, float | int] = {}
    for part in str(spec).split(","):
        kind, _, amount = part.strip().partition(":")
        if kind not in HOLDOUT_KINDS or not amount or kind in out:
            raise DataError(
                f"cannot read the hold-out '{spec}'; write last:P% (the last P percent of the "
                "time steps) or last:N (the last N steps), optionally with stations:P% or "
                "stations:N (e.g. last:20%,stations:9)"
            )
        try:
            if amount.endswith("%"):
                frac = float(amount[:-1]) / 100
                if not 0 < frac < 1:
                    raise ValueError
                out[kind] = frac
                continue
            n = int(amount)
            if n < 1:
                raise ValueError
            out[kind] = n
        except ValueError:
            raise DataError(
                f"cannot read the hold-out amount '{amount}'; give a percentage in (0, 100), "
                f"e.g. {kind}:20%, or a whole number, e.g. {kind}:10"
            ) from None
    return out


def _count(amount: float | int, n: int) -> int:
    return int(np.ceil(amount * n - 1e-9)) if isinstance(amount, float) else int(amount)


def holdout_start(times: np.ndarray, spec: str) -> int:
    """Index of the first held-out time among the sorted unique ``times`` (``last:`` part;
    the last 20% where ``spec`` holds out stations only)."""
    amount = parse_holdout(spec).get("last", 0.2)
    n = len(times)
    held = _count(amount, n)
    if held < 1 or n - held < 2:
        raise DataError(
            f"the hold-out '{spec}' leaves {n - held} of {n} time steps to learn from; "
            "at least 2 are needed"
        )
    return n - held


#: seed of the random choice of held-out stations (the same stations on every run)
HOLDOUT_SEED = 0


def station_positions(samples: Samples) -> np.ndarray:
    """The distinct station positions of station data, sorted (rows of ``points[:, 1:]``)."""
    return np.unique(samples.points[:, 1:], axis=0)


def station_table(samples: Samples) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Station data as ``(times, positions, values[t, station, field])``, gaps as NaN."""
    times = np.unique(samples.points[:, 0])
    pos, inv = np.unique(samples.points[:, 1:], axis=0, return_inverse=True)
    table = np.full((len(times), len(pos), len(samples.fields)), np.nan)
    table[np.searchsorted(times, samples.points[:, 0]), inv.ravel()] = samples.values
    return times, pos, table


def holdout_stations(samples: Samples, amount: float | int) -> np.ndarray:
    """Positions of the stations held out by ``stations:P%`` / ``stations:N``: a seeded
    random choice (the same on every run); find records it in its settings, where
    validate reads it."""
    if samples.layout != "station":
        raise DataError(
            f"a stations: hold-out needs station data, but the layout is '{samples.layout}'; "
            "hold out time only (last:P%)"
        )
    pos = station_positions(samples)
    k = _count(amount, len(pos))
    if k < 1 or len(pos) - k < 3:
        spec = f"{100 * amount:g}%" if isinstance(amount, float) else amount
        raise DataError(
            f"the hold-out stations:{spec} leaves {len(pos) - k} of {len(pos)} stations to "
            "learn from; at least 3 are needed"
        )
    pick = np.random.default_rng(HOLDOUT_SEED).choice(len(pos), k, replace=False)
    return pos[np.sort(pick)]


def at_positions(points: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Which rows of ``points`` (spatial coordinates) are one of ``positions`` exactly."""
    pts = np.ascontiguousarray(points)
    want = {tuple(r) for r in np.asarray(positions, dtype=float).reshape(-1, pts.shape[1])}
    return np.fromiter((tuple(r) in want for r in pts), bool, len(pts))


def split_holdout(samples: Samples, spec: str) -> tuple[Samples, dict[str, Any]]:
    """The samples left to learn from, and what was held out: ``start`` (the first held-out
    time, or None) and ``stations`` (held-out station positions, or None)."""
    parts = parse_holdout(spec)
    keep = np.ones(samples.n_samples, bool)
    grid = samples.grid
    info: dict[str, Any] = {"start": None, "stations": None}
    if "last" in parts:
        times = np.unique(samples.points[:, 0])
        cut = float(times[holdout_start(times, spec)])
        keep &= samples.points[:, 0] < cut
        if grid is not None:
            grid = grid.sel(t=grid["t"] < cut)
        info["start"] = cut
    if "stations" in parts:
        held = holdout_stations(samples, parts["stations"])
        keep &= ~at_positions(samples.points[:, 1:], held)
        info["stations"] = held.tolist()
    train = replace(samples, points=samples.points[keep], values=samples.values[keep], grid=grid)
    return train, info
