"""Derivatives of measured fields, behind one interface.

:func:`differentiate` takes :class:`~discover.io.Samples` and the derivatives a library needs
and returns an :class:`xarray.Dataset` of features (``u``, ``u_t``, ``u_x``, ``u_xx`` …).
Methods are looked up by name in :data:`METHODS` (a :class:`DerivativeMethod` each):

``fd``
    Finite differences on the grid, any derivative order, any spacing (Fornberg's weights on
    a centred stencil of ``accuracy``-th order). Points whose stencil would leave the grid
    or touch a missing value are NaN (trimmed).
``savgol``
    Savitzky–Golay smoothing differentiation (a local least-squares polynomial) on uniform
    grids: the choice for mildly noisy grids. Points within half a window of an edge are NaN.
``spectral``
    Fourier differentiation along uniform periodic space dims, finite differences in time.

Examples
--------
>>> import numpy as np, xarray as xr
>>> from discover.io import load
>>> from discover.library import Derivative
>>> x = np.linspace(0, 2 * np.pi, 101); t = np.linspace(0, 1, 11)
>>> ds = xr.Dataset({"u": (("t", "x"), np.sin(x)[None, :] + 0 * t[:, None])},
...                 coords={"t": t, "x": x})
>>> f = differentiate(load(ds, "u"), [Derivative("u", ("t", "x"), (0, 2))])
>>> bool(np.nanmax(np.abs(f["u_xx"].values + np.sin(x))) < 1e-6)
True
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from .io import DataError, Samples
from .library import Derivative
from .registry import Registry

__all__ = [
    "METHODS",
    "DerivativeMethod",
    "differentiate",
    "fd_weights",
    "finite_difference",
    "is_uniform",
    "savgol",
]

logger = logging.getLogger(__name__)


def fd_weights(z: float, x: np.ndarray, m: int) -> np.ndarray:
    """Fornberg's weights for the ``m``-th derivative at ``z`` from values at nodes ``x``.

    >>> fd_weights(0.0, np.array([-1.0, 0.0, 1.0]), 2)
    array([ 1., -2.,  1.])
    """
    x = np.asarray(x, dtype=float)
    n = x.size
    c = np.zeros((n, m + 1))
    c1, c4 = 1.0, x[0] - z
    c[0, 0] = 1.0
    for i in range(1, n):
        mn = min(i, m)
        c2, c5, c4 = 1.0, c4, x[i] - z
        for j in range(i):
            c3 = x[i] - x[j]
            c2 *= c3
            if j == i - 1:
                for k in range(mn, 0, -1):
                    c[i, k] = c1 * (k * c[i - 1, k - 1] - c5 * c[i - 1, k]) / c2
                c[i, 0] = -c1 * c5 * c[i - 1, 0] / c2
            for k in range(mn, 0, -1):
                c[j, k] = (c4 * c[j, k] - k * c[j, k - 1]) / c3
            c[j, 0] = c4 * c[j, 0] / c3
        c1 = c2
    return c[:, m]


def is_uniform(x: np.ndarray) -> bool:
    """Whether the nodes ``x`` are equally spaced (to a relative 1e-6)."""
    d = np.diff(np.asarray(x, dtype=float))
    return bool(d.size and np.allclose(d, d[0], rtol=1e-6, atol=0))


def finite_difference(
    f: np.ndarray, x: np.ndarray, order: int, *, axis: int = -1, accuracy: int = 4
) -> np.ndarray:
    """The ``order``-th derivative of ``f`` along ``axis`` on nodes ``x`` (any spacing).

    A centred stencil of ``order + accuracy - 1`` points (rounded up to odd) gives
    ``accuracy``-th order on uniform grids; where it would leave the grid the result is NaN,
    as it is wherever the stencil touches a NaN.

    >>> x = np.linspace(0, 1, 11) ** 1.5
    >>> d = finite_difference(x**3, x, 1)
    >>> bool(np.nanmax(np.abs(d - 3 * x**2)) < 1e-3)
    True
    """
    if order == 0:
        return np.array(f, dtype=float, copy=True)
    f = np.moveaxis(np.asarray(f, dtype=float), axis, -1)
    n = f.shape[-1]
    width = order + accuracy - 1
    width += 1 - width % 2
    h = width // 2
    out = np.full(f.shape, np.nan)
    if n < width:
        return np.moveaxis(out, -1, axis)
    interior = np.arange(h, n - h)
    if is_uniform(x):
        w = fd_weights(0.0, (np.arange(width) - h) * (x[1] - x[0]), order)
        acc = np.zeros((*f.shape[:-1], interior.size))
        for j in range(width):
            acc += w[j] * f[..., interior - h + j]
    else:
        w = np.stack([fd_weights(x[i], x[i - h : i + h + 1], order) for i in interior])
        acc = np.zeros((*f.shape[:-1], interior.size))
        for j in range(width):
            acc += w[:, j] * f[..., interior - h + j]
    out[..., interior] = acc
    return np.moveaxis(out, -1, axis)


def savgol(
    f: np.ndarray,
    x: np.ndarray,
    order: int,
    *,
    axis: int = -1,
    window: int | None = None,
    polyorder: int | None = None,
) -> np.ndarray:
    """Savitzky–Golay derivative along ``axis`` (uniform spacing); edges NaN.

    ``window`` defaults to ``2*order + 7`` points and ``polyorder`` to ``order + 3``.
    """
    from scipy.signal import savgol_filter

    if not is_uniform(x):
        raise DataError("the 'savgol' method needs uniformly spaced coordinates; use 'fd'")
    polyorder = order + 3 if polyorder is None else polyorder
    window = 2 * order + 7 if window is None else window
    window += 1 - window % 2
    f = np.moveaxis(np.asarray(f, dtype=float), axis, -1)
    out = np.full(f.shape, np.nan)
    if f.shape[-1] >= window:
        d = savgol_filter(f, window, polyorder, deriv=order, delta=x[1] - x[0], axis=-1)
        h = window // 2
        out[..., h:-h] = d[..., h:-h]
    return np.moveaxis(out, -1, axis)


def spectral(f: np.ndarray, x: np.ndarray, order: int, *, axis: int = -1) -> np.ndarray:
    """Fourier derivative along a uniform periodic ``axis`` (``x`` excludes the endpoint)."""
    if not is_uniform(x):
        raise DataError("the 'spectral' method needs uniformly spaced periodic coordinates")
    f = np.moveaxis(np.asarray(f, dtype=float), axis, -1)
    n = f.shape[-1]
    length = (x[1] - x[0]) * n
    k = 2 * np.pi * np.fft.rfftfreq(n, d=length / n)
    mult = (1j * k) ** order
    if n % 2 == 0 and order % 2 == 1:
        mult[-1] = 0.0
    return np.moveaxis(np.fft.irfft(np.fft.rfft(f, axis=-1) * mult, n=n, axis=-1), -1, axis)


class DerivativeMethod:
    """The protocol of a derivative method for gridded data.

    ``apply`` differentiates an array along one axis; ``variants`` lists the settings whose
    fits :func:`discover.find` compares (the stability check and ``accuracy="auto"`` refit the
    same model with each).  Register an instance in :data:`METHODS`; ``find(method=NAME)``
    and ``discover find --method NAME`` take it.
    """

    def apply(
        self, f: np.ndarray, x: np.ndarray, order: int, *, axis: int, is_time: bool, **options
    ) -> np.ndarray:
        raise NotImplementedError

    def variants(self, accuracy: int | str) -> list[dict[str, Any]]:
        """The settings to fit with (one by default)."""
        return [{}]


class FiniteDifferences(DerivativeMethod):
    """Finite differences; ``accuracy="auto"`` tries :data:`AUTO_ACCURACIES`, a given
    accuracy its neighbours too (they serve the stability check)."""

    def apply(self, f, x, order, *, axis, is_time, accuracy: int = 4):
        return finite_difference(f, x, order, axis=axis, accuracy=accuracy)

    def variants(self, accuracy):
        if accuracy == "auto":
            return [{"accuracy": a} for a in AUTO_ACCURACIES]
        return [{"accuracy": a} for a in sorted({max(2, accuracy - 2), accuracy, accuracy + 2})]


class SavitzkyGolay(DerivativeMethod):
    def apply(self, f, x, order, *, axis, is_time, window=None, polyorder=None):
        return savgol(f, x, order, axis=axis, window=window, polyorder=polyorder)


class Spectral(DerivativeMethod):
    """Fourier derivatives in space, finite differences in time."""

    def apply(self, f, x, order, *, axis, is_time, accuracy: int = 4):
        if is_time:
            return finite_difference(f, x, order, axis=axis, accuracy=accuracy)
        return spectral(f, x, order, axis=axis)


#: finite-difference accuracies tried by ``accuracy="auto"``
AUTO_ACCURACIES = (2, 4, 6)

#: derivative methods for gridded data, by name
METHODS: Registry[DerivativeMethod] = Registry(
    "derivative method", parameter="method", plural="methods"
)
METHODS.register("fd", FiniteDifferences())
METHODS.register("savgol", SavitzkyGolay())
METHODS.register("spectral", Spectral())


def differentiate(
    samples: Samples,
    derivatives: Sequence[Derivative],
    *,
    method: str = "fd",
    **options,
) -> xr.Dataset:
    """Compute ``derivatives`` of gridded samples by a named method.

    Parameters
    ----------
    samples : Samples
        Gridded samples (``samples.grid`` is used).
    derivatives : sequence of Derivative
        What to compute; names follow :func:`discover.library.derivative_symbol`.
    method : {"fd", "savgol", "spectral"}
    **options
        ``accuracy`` (fd, default 4); ``window``, ``polyorder`` (savgol).

    Returns
    -------
    xarray.Dataset
        On the grid's dims, one variable per derivative; NaN where a derivative is unreliable
        (edges, next to gaps).
    """
    apply = METHODS[method].apply
    if samples.grid is None:
        raise DataError(
            f"the '{method}' method needs gridded data, but the layout is '{samples.layout}'; "
            "use the neural method for station and scattered data"
        )
    grid = samples.grid
    coords = samples.coords
    out = xr.Dataset(coords=grid.coords)
    cache: dict[tuple[str, tuple[int, ...]], np.ndarray] = {}

    def compute(field: str, orders: tuple[int, ...]) -> np.ndarray:
        key = (field, orders)
        if key in cache:
            return cache[key]
        if not any(orders):
            val = np.asarray(grid[field].values, dtype=float)
        else:
            # differentiate along the last coordinate with a nonzero order, from the parent
            i = max(j for j, k in enumerate(orders) if k)
            parent = tuple(k if j != i else 0 for j, k in enumerate(orders))
            base = compute(field, parent)
            x = grid[coords[i]].values
            val = apply(base, x, orders[i], axis=i, is_time=i == 0, **options)
        cache[key] = val
        return val

    for d in derivatives:
        if tuple(d.coords) != tuple(coords):
            raise ValueError(f"derivative {d.name} is on coords {d.coords}, data on {coords}")
        out[d.name] = (coords, compute(d.field, tuple(d.orders)))
    logger.debug("computed %d derivatives by %s", len(derivatives), method)
    return out
