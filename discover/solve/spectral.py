"""Fourier tools: wavenumbers, trigonometric interpolation and an ETDRK4 integrator for
periodic problems ``u_t = L u + N(u)`` (Cox & Matthews 2002, with the contour integrals of
Kassam & Trefethen 2005).

One integrator serves the classical solver (:mod:`discover.solve.classical`) and the
project's data generators (``discover.datasets``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["etdrk4", "etdrk4_states", "fourier_interpolate", "wavenumbers"]


def wavenumbers(n: int, length: float) -> np.ndarray:
    """Angular wavenumbers of ``numpy.fft.rfft`` on ``n`` points over a period ``length``."""
    return 2 * np.pi * np.fft.rfftfreq(n, d=length / n)


def fourier_interpolate(u: np.ndarray, x0: float, length: float, x: np.ndarray) -> np.ndarray:
    """Evaluate periodic samples ``u[..., n]`` (on ``x0 + length*j/n``) at points ``x``.

    Exact for fields band-limited to the grid's Nyquist wavenumber.
    """
    n = u.shape[-1]
    uh = np.fft.rfft(u, axis=-1) / n
    k = wavenumbers(n, length)
    w = np.full(k.size, 2.0)
    w[0] = 1.0
    if n % 2 == 0:
        w[-1] = 1.0  # the Nyquist mode counts once
    phase = np.exp(1j * np.outer(np.asarray(x, dtype=float) - x0, k))  # (m, nk)
    return np.real((uh * w) @ phase.T)


def etdrk4(
    u0: np.ndarray,
    lin: np.ndarray,
    nonlin: Callable[[np.ndarray], np.ndarray],
    times: np.ndarray,
    *,
    dt: float,
    n_contour: int = 64,
) -> np.ndarray:
    """Integrate ``v_t = lin * v + nonlin(v)`` in Fourier space (``v = rfft(u)``).

    Parameters
    ----------
    u0 : ndarray (n,)
        Initial values on the periodic grid.
    lin : ndarray (n//2 + 1,)
        Diagonal linear operator in Fourier space.
    nonlin : callable
        Maps Fourier coefficients ``v`` to the Fourier coefficients of the nonlinear term.
    times : ndarray
        Uniformly spaced output times starting at 0.
    dt : float
        Largest internal step; it is reduced so that it divides the output interval.

    Returns
    -------
    ndarray (len(times), n)
    """
    n = u0.size
    states = etdrk4_states(np.fft.rfft(u0), lin, nonlin, times, dt=dt, n_contour=n_contour)
    return np.stack([u0] + [np.fft.irfft(v, n=n) for v in states[1:]])


def etdrk4_states(
    v0: np.ndarray,
    lin: np.ndarray,
    nonlin: Callable[[np.ndarray], np.ndarray],
    times: np.ndarray,
    *,
    dt: float,
    n_contour: int = 64,
) -> list[np.ndarray]:
    """ETDRK4 on a Fourier state of any shape: ``v_t = lin * v + nonlin(v)`` with ``lin`` a
    diagonal operator of ``v``'s shape; returns the state at each output time.  Raises
    ``FloatingPointError`` when the integration diverges."""
    times = np.asarray(times, dtype=float)
    out_dt = times[1] - times[0]
    if not np.allclose(np.diff(times), out_dt, rtol=1e-9, atol=0):
        raise ValueError("etdrk4 needs uniformly spaced output times")
    nsub = max(1, int(np.ceil(out_dt / dt - 1e-9)))
    h = out_dt / nsub
    shape = lin.shape
    lin = np.ravel(lin)
    e = np.exp(h * lin).reshape(shape)
    e2 = np.exp(h * lin / 2).reshape(shape)
    r = np.exp(1j * np.pi * (np.arange(1, n_contour + 1) - 0.5) / n_contour)
    lr = h * lin[:, None] + r[None, :]
    q = (h * np.real(np.mean((np.exp(lr / 2) - 1) / lr, axis=1))).reshape(shape)
    f1 = h * np.real(np.mean((-4 - lr + np.exp(lr) * (4 - 3 * lr + lr**2)) / lr**3, axis=1))
    f2 = h * np.real(np.mean((2 + lr + np.exp(lr) * (-2 + lr)) / lr**3, axis=1))
    f3 = h * np.real(np.mean((-4 - 3 * lr - lr**2 + np.exp(lr) * (4 - lr)) / lr**3, axis=1))
    f1, f2, f3 = f1.reshape(shape), f2.reshape(shape), f3.reshape(shape)
    v = v0
    out = [v0]
    for _ in range(1, times.size):
        for _ in range(nsub):
            nv = nonlin(v)
            a = e2 * v + q * nv
            na = nonlin(a)
            b = e2 * v + q * na
            nb = nonlin(b)
            c = e2 * a + q * (2 * nb - nv)
            nc = nonlin(c)
            v = e * v + nv * f1 + 2 * (na + nb) * f2 + nc * f3
        if not np.all(np.isfinite(v)):
            raise FloatingPointError("the spectral integration diverged; use a smaller step")
        out.append(v)
    return out
