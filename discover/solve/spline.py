"""A smooth interpolant of scattered values: the start state of a solve from stations.

:class:`StationSpline` is the cubic polyharmonic spline ``s(x) = Σ wᵢ |x − xᵢ|³ + a₀ + a·x``
(twice continuously differentiable, so a PDE of second order can be evaluated on it
anywhere), fitted with the smoothing ``λ`` that minimises the leave-one-out error of the
stations (closed form for a linear smoother: ``eᵢ = rᵢ / (1 − Hᵢᵢ)``), so that clean data are
interpolated and noisy data smoothed as much as they ask.  It evaluates with NumPy and, as a
frozen torch module (:meth:`StationSpline.torch_module`), as the neural solver's lift ``G``:
with the walls held at the start values, ``G(t, x) = s(x)`` meets the initial and boundary
values exactly and needs no training.

Examples
--------
>>> rng = np.random.default_rng(0)
>>> pos = rng.uniform(0, 1, (40, 2))
>>> f = lambda p: np.sin(2 * p[:, 0]) + p[:, 1] ** 2
>>> s = StationSpline(pos, f(pos))
>>> bool(np.max(np.abs(s(pos) - f(pos))) < 1e-6)  # clean values: interpolated
True
>>> q = rng.uniform(0.2, 0.8, (5, 2))
>>> bool(np.max(np.abs(s(q) - f(q))) < 0.02)
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import DataError

__all__ = ["StartState", "StationSpline"]

#: smoothing parameters tried, relative to the kernel matrix's mean size
_LAMBDAS = np.concatenate([[0.0], np.logspace(-9, 1, 21)])


class StationSpline:
    """The cubic polyharmonic spline of ``values`` at ``points``, smoothed by leave-one-out.

    Parameters
    ----------
    points : array (n, d)
        Positions (finite, not all on a line in 2-D).
    values : array (n,)
        Values there (finite).
    smoothing : float or "loo"
        ``λ`` relative to the mean kernel entry, or ``"loo"`` (the default): the one of a
        grid from 0 to 10 with the least leave-one-out error.
    scale : array (d,), optional
        The length of each axis in the kernel (default: the points' extent along it).
    scored : array of bool (n,), optional
        The points whose leave-one-out errors choose ``λ`` (default: all).

    Attributes
    ----------
    smoothing_ : float
        The ``λ`` used.
    loo_rmse_ : float
        The leave-one-out RMS error at that ``λ`` (NaN when ``λ`` was given).
    """

    def __init__(
        self,
        points: np.ndarray,
        values: np.ndarray,
        *,
        smoothing: Any = "loo",
        scale: np.ndarray | None = None,
        scored: np.ndarray | None = None,
    ):
        p = np.asarray(points, float)
        v = np.asarray(values, float)
        n, d = p.shape
        if n < d + 2:
            raise DataError(f"{n} stations are too few to spread a state over {d} dimensions")
        self.shift = p.mean(axis=0)
        span = p.max(axis=0) - p.min(axis=0) if scale is None else np.asarray(scale, float)
        self.scale = np.where(span > 0, span, 1.0)
        self.centres = (p - self.shift) / self.scale
        kernel = _cubic(self.centres, self.centres)
        poly = np.column_stack([np.ones(n), self.centres])
        unit = float(np.mean(kernel)) or 1.0
        if smoothing == "loo":
            rows = np.ones(n, bool) if scored is None else np.asarray(scored, bool)
            lam, self.loo_rmse_ = _best_smoothing(kernel, poly, v, unit, rows)
        else:
            lam, self.loo_rmse_ = float(smoothing), float("nan")
        self.smoothing_ = lam
        sol = _solve(kernel, poly, v[:, None], lam * unit)
        self.weights, self.poly = sol[:n, 0], sol[n:, 0]

    def __call__(self, *points: np.ndarray) -> np.ndarray:
        """Values at ``points`` ``(m, d)``, or at the columns ``x, y, …`` given apart (as a
        :class:`~discover.solve.Problem` calls initial values)."""
        if len(points) == 1 and np.ndim(points[0]) == 2:
            pts = np.asarray(points[0], float)
        else:
            pts = np.column_stack([np.asarray(c, float).ravel() for c in points])
        z = (pts - self.shift) / self.scale
        return _cubic(z, self.centres) @ self.weights + self.poly[0] + z @ self.poly[1:]

    def torch_module(self):
        """The spline as a frozen torch module of ``(m, d)`` points (float64)."""
        from .lift import SplineModule

        return SplineModule(self)


class StartState:
    """The stations' state at ``t0`` as a function of space: a spline of their values at
    ``t0`` alone, or a space–time spline of their last few values up to ``t0`` (never
    after), read at ``t0`` — whichever predicts the values at ``t0`` best when each is left
    out in turn.

    Parameters
    ----------
    times : array (k,)
        The times of the rows of ``values``, the last one ``t0``.
    pos : array (n, d)
        Station positions.
    values : array (k, n)
        Their values (NaN where missing).
    stretches : sequence of float
        Lengths of the time window, in units of the stations' extent, tried for the
        space–time spline (a long one couples the times strongly).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> pos = rng.uniform(0, 1, (50, 2)); t = np.linspace(0, 0.4, 5)
    >>> exact = np.sin(3 * pos[:, 0] - t[:, None]) + pos[:, 1]
    >>> noisy = exact + 0.05 * rng.standard_normal(exact.shape)
    >>> s = StartState(t, pos, noisy)
    >>> s.how_.startswith("space-time")
    True
    >>> bool(np.sqrt(np.mean((s(pos) - exact[-1]) ** 2)) < 0.05)
    True
    """

    def __init__(
        self,
        times: np.ndarray,
        pos: np.ndarray,
        values: np.ndarray,
        *,
        stretches: tuple[float, ...] = (0.25, 1.0, 4.0),
    ) -> None:
        times, pos, values = (np.asarray(a, float) for a in (times, pos, values))
        self.t0 = float(times[-1])
        last = np.isfinite(values[-1])
        best = StationSpline(pos[last], values[-1, last])
        self.spline, self.time_scale, self.how_ = best, None, "the stations at the start"
        if len(times) > 1:
            t, p = np.meshgrid(times, np.arange(len(pos)), indexing="ij")
            ok = np.isfinite(values)
            pts = np.column_stack([t[ok], pos[p[ok]]])
            span = np.ptp(pos, axis=0)
            for stretch in stretches:
                tscale = (times[-1] - times[0]) / stretch
                cand = StationSpline(
                    pts, values[ok], scale=np.concatenate([[tscale], span]),
                    scored=t[ok] == times[-1],
                )  # fmt: skip
                if cand.loo_rmse_ < best.loo_rmse_:
                    best, self.spline, self.time_scale = cand, cand, tscale
                    self.how_ = f"space-time, the stations' last {len(times)} values"
        self.loo_rmse_ = best.loo_rmse_

    @classmethod
    def of_points(
        cls,
        points: np.ndarray,
        values: np.ndarray,
        *,
        stretches: tuple[float, ...] = (0.25, 1.0, 4.0),
    ) -> StartState:
        """The state at the latest time ``t0`` of scattered observations ``points`` ``(n, 1
        + d)`` (time first) with ``values`` ``(n,)``: a space–time spline of them read at
        ``t0``, or a spline of the latest quarter in space alone — whichever predicts the
        latest quarter best when each value is left out in turn.

        Examples
        --------
        >>> rng = np.random.default_rng(1)
        >>> pts = np.column_stack([rng.uniform(0, 0.4, 300), rng.uniform(0, 1, (300, 2))])
        >>> f = lambda t, x, y: np.sin(3 * x - t) + y
        >>> noisy = f(*pts.T) + 0.05 * rng.standard_normal(300)
        >>> s = StartState.of_points(pts, noisy)
        >>> q = rng.uniform(0.2, 0.8, (20, 2))
        >>> bool(np.sqrt(np.mean((s(q) - f(s.t0, *q.T)) ** 2)) < 0.05)
        True
        """
        pts, v = np.asarray(points, float), np.asarray(values, float)
        ok = np.isfinite(v) & np.all(np.isfinite(pts), axis=1)
        pts, v = pts[ok], v[ok]
        self = cls.__new__(cls)
        self.t0 = float(pts[:, 0].max())
        latest = pts[:, 0] >= np.quantile(pts[:, 0], 0.75)
        best = StationSpline(pts[latest, 1:], v[latest])
        self.spline, self.time_scale = best, None
        self.how_ = f"the latest {int(latest.sum())} observations, in space"
        span, t_span = np.ptp(pts[:, 1:], axis=0), float(np.ptp(pts[:, 0]))
        for stretch in stretches if t_span > 0 else ():
            tscale = t_span / stretch
            cand = StationSpline(pts, v, scale=np.concatenate([[tscale], span]), scored=latest)
            if cand.loo_rmse_ < best.loo_rmse_:
                best, self.spline, self.time_scale = cand, cand, tscale
                self.how_ = f"space-time, the latest {len(v)} observations"
        self.loo_rmse_ = best.loo_rmse_
        return self

    def _with_time(self, pts: np.ndarray) -> np.ndarray:
        if self.time_scale is None:
            return pts
        return np.column_stack([np.full(len(pts), self.t0), pts])

    def __call__(self, *points: np.ndarray) -> np.ndarray:
        """Values at ``t0`` at ``points`` ``(m, d)`` or at the columns given apart."""
        if len(points) == 1 and np.ndim(points[0]) == 2:
            pts = np.asarray(points[0], float)
        else:
            pts = np.column_stack([np.asarray(c, float).ravel() for c in points])
        return self.spline(self._with_time(pts))

    def torch_module(self):
        """The state at ``t0`` as a frozen torch module of spatial points ``(m, d)``."""
        from .lift import AtTime

        module = self.spline.torch_module()
        return module if self.time_scale is None else AtTime(module, self.t0)


def _cubic(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``|a_i − b_j|³``."""
    d2 = np.sum((a[:, None, :] - b[None, :, :]) ** 2, axis=2)
    return d2**1.5


def _solve(kernel: np.ndarray, poly: np.ndarray, rhs: np.ndarray, lam: float) -> np.ndarray:
    """The spline's weights and polynomial part: ``[K + λI, P; Pᵀ, 0] [w; a] = [rhs; 0]``."""
    n, m = poly.shape
    system = np.block([[kernel + lam * np.eye(n), poly], [poly.T, np.zeros((m, m))]])
    padded = np.vstack([rhs, np.zeros((m, rhs.shape[1]))])
    try:
        return np.linalg.solve(system, padded)
    except np.linalg.LinAlgError:
        raise DataError(
            "the stations lie on a line (or coincide); a state between them cannot be spread "
            "over the region"
        ) from None


def _best_smoothing(
    kernel: np.ndarray, poly: np.ndarray, values: np.ndarray, unit: float, rows: np.ndarray
) -> tuple[float, float]:
    """The ``λ`` of :data:`_LAMBDAS` with the least leave-one-out RMS error over ``rows``,
    and that error (Rippa's formula: ``eᵢ = cᵢ / (M⁻¹)ᵢᵢ`` for the system matrix ``M``)."""
    n, m = poly.shape
    best = (0.0, np.inf)
    for lam in _LAMBDAS:
        system = np.block([[kernel + lam * unit * np.eye(n), poly], [poly.T, np.zeros((m, m))]])
        try:
            inv = np.linalg.inv(system)
        except np.linalg.LinAlgError:
            continue
        coef = inv[:n, :n] @ values
        loo = (coef / np.diag(inv)[:n])[rows]
        err = float(np.sqrt(np.mean(loo**2)))
        if np.isfinite(err) and err < best[1] * (1 - 1e-9):
            best = (float(lam), err)
    if not np.isfinite(best[1]):
        raise DataError(f"cannot spread the values of {n} stations over the region")
    return best
