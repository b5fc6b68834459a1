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

__all__ = ["StationSpline"]

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

    Attributes
    ----------
    smoothing_ : float
        The ``λ`` used.
    loo_rmse_ : float
        The leave-one-out RMS error at that ``λ`` (NaN when ``λ`` was given).
    """

    def __init__(self, points: np.ndarray, values: np.ndarray, *, smoothing: Any = "loo"):
        p = np.asarray(points, float)
        v = np.asarray(values, float)
        n, d = p.shape
        if n < d + 2:
            raise DataError(f"{n} stations are too few to spread a state over {d} dimensions")
        self.shift = p.mean(axis=0)
        span = p.max(axis=0) - p.min(axis=0)
        self.scale = np.where(span > 0, span, 1.0)
        self.centres = (p - self.shift) / self.scale
        kernel = _cubic(self.centres, self.centres)
        poly = np.column_stack([np.ones(n), self.centres])
        unit = float(np.mean(kernel)) or 1.0
        if smoothing == "loo":
            lam, self.loo_rmse_ = _best_smoothing(kernel, poly, v, unit)
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
    kernel: np.ndarray, poly: np.ndarray, values: np.ndarray, unit: float
) -> tuple[float, float]:
    """The ``λ`` of :data:`_LAMBDAS` with the least leave-one-out RMS error, and that error."""
    n = len(values)
    best = (0.0, np.inf)
    for lam in _LAMBDAS:
        hat = _hat(kernel, poly, lam * unit)
        if hat is None:
            continue
        resid = values - hat @ values
        lever = 1 - np.diag(hat)
        if np.any(lever < 1e-10):  # interpolation: leave-one-out by refitting
            loo = _loo_by_refit(kernel, poly, values, lam * unit)
        else:
            loo = resid / lever
        err = float(np.sqrt(np.mean(loo**2)))
        if err < best[1] * (1 - 1e-9):
            best = (float(lam), err)
    if not np.isfinite(best[1]):
        raise DataError(f"cannot spread the values of {n} stations over the region")
    return best


def _hat(kernel: np.ndarray, poly: np.ndarray, lam: float) -> np.ndarray | None:
    """The smoother's hat matrix ``H`` (values at the stations = ``H @ values``)."""
    n = len(kernel)
    try:
        sol = _solve(kernel, poly, np.eye(n), lam)
    except DataError:
        return None
    return kernel @ sol[:n] + poly @ sol[n:]


def _loo_by_refit(
    kernel: np.ndarray, poly: np.ndarray, values: np.ndarray, lam: float
) -> np.ndarray:
    """Leave-one-out errors by refitting without each station in turn."""
    n = len(values)
    out = np.empty(n)
    for i in range(n):
        keep = np.arange(n) != i
        sol = _solve(kernel[np.ix_(keep, keep)], poly[keep], values[keep, None], lam)
        out[i] = values[i] - (kernel[i, keep] @ sol[: n - 1, 0] + poly[i] @ sol[n - 1 :, 0])
    return out
