"""Data with a coefficient that varies in space: advection–diffusion with a diffusivity
``D(x)``, solved on a fine periodic grid.

``u_t = D(x) u_xx - c u_x`` (``form="advective"``) or ``u_t = (D(x) u_x)_x - c u_x``
(``form="conservative"``, where ``u_x`` then carries ``D'(x) - c``) on ``[0, 2π)``: the
diffusivity is ``D0 · 3^{g(x)/2}`` with ``g`` a random smooth periodic function scaled to
``[-1, 1]`` (so ``max D / min D`` is ``ratio``, 3 by default), or constant with
``ratio=1``.  Fourier derivatives on 2 × the output's points, classical RK4 with a step
well inside its stability limit.  The true diffusivity on the output grid is the variable
``D_true`` (ignored by ``find --var u``).

>>> ds = variable_diffusion(nx=64, nt=21, seed=1)
>>> sorted(ds.data_vars)
['D_true', 'u']
>>> bool(abs(float(ds.D_true.max() / ds.D_true.min()) - 3) < 0.01)
True
"""

from __future__ import annotations

import itertools

import numpy as np
import xarray as xr

__all__ = ["variable_diffusion"]


def _random_periodic(rng: np.random.Generator, x: np.ndarray, kmax: int) -> np.ndarray:
    g = np.zeros_like(x)
    for k in range(1, kmax + 1):
        g += rng.normal() / k * np.cos(k * x) + rng.normal() / k * np.sin(k * x)
    return g


def variable_diffusion(
    *,
    nx: int = 128,
    nt: int = 101,
    t_end: float = 2.0,
    diffusivity: float = 0.1,
    ratio: float = 3.0,
    speed: float = 1.0,
    form: str = "advective",
    varies: str = "x",
    noise: float = 0.0,
    seed: int = 0,
) -> xr.Dataset:
    """Advection–diffusion with diffusivity ``D(x)`` (see the module notes).

    Parameters
    ----------
    nx, nt : int
        Output points in x and in time.
    t_end : float
        Length of the record.
    diffusivity : float
        Geometric mean of ``D``.
    ratio : float
        ``max D / min D`` (1: constant).
    speed : float
        Advection speed ``c``.
    form : {"advective", "conservative"}
    varies : {"x", "t"}
        Whether ``D`` varies in space (``D(x)``) or in time (``D(t)``, the same random
        shape over the record: a coefficient that drifts, as over a season).
    noise : float
        Gaussian noise of standard deviation ``noise · std(u)`` (σ = p·std(u)).
    seed : int
        Seed of ``D``, the initial state and the noise.

    Returns
    -------
    xarray.Dataset
        ``u(t, x)`` and ``D_true(x)`` (or ``D_true(t)``).
    """
    if form not in ("advective", "conservative"):
        raise ValueError(f"unknown form {form!r}; valid forms: 'advective', 'conservative'")
    if varies not in ("x", "t"):
        raise ValueError(f"unknown varies={varies!r}; valid: 'x', 't'")
    rng = np.random.default_rng(seed)
    n = 2 * nx
    x = 2 * np.pi * np.arange(n) / n
    g = _random_periodic(rng, x, 3)
    g = 2 * (g - g.min()) / (g.max() - g.min()) - 1
    D = diffusivity * ratio ** (g / 2)
    u = _random_periodic(rng, x, 6)
    k = np.fft.rfftfreq(n, 1.0 / n)

    def d(v: np.ndarray, order: int) -> np.ndarray:
        return np.fft.irfft((1j * k) ** order * np.fft.rfft(v), n)

    def at(t: float) -> np.ndarray:  # D(x), or D(t) with the same shape over the record
        return D if varies == "x" else np.interp(2 * np.pi * t / t_end, x, D, period=2 * np.pi)

    def rhs(v: np.ndarray, t: float) -> np.ndarray:
        ux = d(v, 1)
        dd = at(t)
        diff = dd * d(v, 2) if form == "advective" else d(dd * ux, 1)
        return diff - speed * ux

    times = np.linspace(0.0, t_end, nt)
    dt_max = 0.5 * 2.8 / (D.max() * (n / 2) ** 2 + speed * n / 2)
    out = [u]
    for a, b in itertools.pairwise(times):
        steps = int(np.ceil((b - a) / dt_max))
        h = (b - a) / steps
        for i in range(steps):
            s = a + i * h
            k1 = rhs(u, s)
            k2 = rhs(u + h / 2 * k1, s + h / 2)
            k3 = rhs(u + h / 2 * k2, s + h / 2)
            k4 = rhs(u + h * k3, s + h)
            u = u + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        out.append(u)
    vals = np.array(out)[:, ::2]
    if noise:
        vals = vals + noise * np.std(vals) * np.random.default_rng(seed + 7919).normal(
            size=vals.shape
        )
    xs = x[::2]
    true_d = ("x", D[::2]) if varies == "x" else ("t", np.array([at(t) for t in times]))
    ds = xr.Dataset({"u": (("t", "x"), vals), "D_true": true_d}, coords={"t": times, "x": xs})
    eq = "u_t = D(x)*u_xx - c*u_x" if form == "advective" else "u_t = (D(x)*u_x)_x - c*u_x"
    eq = eq.replace("D(x)", f"D({varies})")
    ds.attrs.update(
        {"true_equation": eq, "speed": speed, "noise_level": float(noise), "periodic": 1}
    )
    return ds
