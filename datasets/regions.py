"""Stations over a non-convex region: a known 2-D advection–diffusion sampled at random
stations inside an L-shaped region, for the station validation by the neural solver.

The field is an exact Fourier-series solution of ``u_t = -a u_x - b u_y + D (u_xx + u_yy)``
(:func:`~discover.datasets.generators.advection_diffusion_2d`), so the exact values at every
station and time are known; noise is ``σ = p·std(u)`` (as PDE-FIND).

Examples
--------
>>> ds = lshape_stations(n_stations=30, seed=1)
>>> ds["u"].dims, ds.sizes["station"], "u_exact" in ds
(('t', 'station'), 30, True)
>>> from discover.solve import Polygon
>>> bool(Polygon(L_SHAPE).contains(np.column_stack([ds["x"], ds["y"]])).all())
True
"""

from __future__ import annotations

import json

import numpy as np
import xarray as xr

from .generators import advection_diffusion_2d

__all__ = ["L_SHAPE", "lshape_scattered", "lshape_stations"]

#: the L-shaped region (counter-clockwise), inside the periodic square [0, 2π)²
L_SHAPE = ((0.4, 0.4), (5.9, 0.4), (5.9, 2.9), (2.9, 2.9), (2.9, 5.9), (0.4, 5.9))


def lshape_stations(
    *,
    n_stations: int = 60,
    nt: int = 41,
    t_end: float = 4.0,
    noise: float = 0.02,
    seed: int = 0,
    velocity: tuple[float, float] | None = None,
    diffusivity: float | None = None,
    kmax: int = 2,
) -> xr.Dataset:
    """``u(t, station)`` at ``n_stations`` random stations in :data:`L_SHAPE` (at least 0.2
    from its walls), ``nt`` times on ``[0, t_end]``.

    Unless given, the velocity ``(a, b)`` has a random direction and a speed drawn from
    [0.1, 0.3], and ``D`` is drawn from [0.02, 0.08] (both from ``seed``).  ``u_exact`` holds
    the values without noise; the true equation and the outline are in the attributes.
    """
    rng = np.random.default_rng(seed)
    problem = _problem(rng, seed, velocity, diffusivity, kmax)
    xy = _inside(rng, n_stations)
    t = np.linspace(0.0, t_end, nt)
    exact = np.stack(
        [problem.evaluate(t, xy[i : i + 1, 0], xy[i : i + 1, 1])[:, 0, 0] for i in range(len(xy))],
        axis=1,
    )
    u = exact + noise * np.std(exact) * rng.standard_normal(exact.shape)
    ds = xr.Dataset(
        {
            "u": (("t", "station"), u, {"units": "1", "long_name": "advected field"}),
            "u_exact": (("t", "station"), exact, {"units": "1", "long_name": "without noise"}),
        },
        coords={
            "t": ("t", t, {"units": "1", "standard_name": "time"}),
            "station": np.arange(n_stations),
            "x": ("station", xy[:, 0], {"units": "1"}),
            "y": ("station", xy[:, 1], {"units": "1"}),
        },
        attrs={
            "title": "2-D advection-diffusion at stations in an L-shaped region",
            "source": "discover.datasets generator",
            "true_equation": problem.equation,
            "true_coefficients": json.dumps(problem.coefficients),
            "noise_level": float(noise),
            "seed": int(seed),
            "outline": json.dumps([list(v) for v in L_SHAPE]),
            "layout": "station",
        },
    )
    return ds


def lshape_scattered(
    *,
    n_obs: int = 2000,
    t_end: float = 4.0,
    noise: float = 0.02,
    seed: int = 0,
    velocity: tuple[float, float] | None = None,
    diffusivity: float | None = None,
    kmax: int = 2,
) -> xr.Dataset:
    """``u(obs)`` of the same advection–diffusion as :func:`lshape_stations` (the same
    coefficients for the same ``seed``) at ``n_obs`` random times in ``[0, t_end]`` and
    random places in :data:`L_SHAPE` (at least 0.2 from its walls), each its own.

    Examples
    --------
    >>> ds = lshape_scattered(n_obs=300, seed=2)
    >>> ds["u"].dims, sorted(ds["u"].coords)
    (('obs',), ['t', 'x', 'y'])
    """
    rng = np.random.default_rng(seed)
    problem = _problem(rng, seed, velocity, diffusivity, kmax)
    xy = _inside(rng, n_obs)
    t = np.sort(rng.uniform(0.0, t_end, n_obs))
    exact = np.array(
        [problem.evaluate(t[i : i + 1], xy[i : i + 1, 0], xy[i : i + 1, 1])[0, 0, 0]
         for i in range(n_obs)]
    )  # fmt: skip
    u = exact + noise * np.std(exact) * rng.standard_normal(n_obs)
    one = {"units": "1"}
    return xr.Dataset(
        {
            "u": ("obs", u, {"units": "1", "long_name": "advected field"}),
            "u_exact": ("obs", exact, {"units": "1", "long_name": "without noise"}),
        },
        coords={
            "t": ("obs", t, {"units": "1", "standard_name": "time"}),
            "x": ("obs", xy[:, 0], one),
            "y": ("obs", xy[:, 1], one),
        },
        attrs={
            "title": "2-D advection-diffusion at scattered points in an L-shaped region",
            "source": "discover.datasets generator",
            "true_equation": problem.equation,
            "true_coefficients": json.dumps(problem.coefficients),
            "noise_level": float(noise),
            "seed": int(seed),
            "outline": json.dumps([list(v) for v in L_SHAPE]),
            "layout": "scattered",
        },
    )


def _problem(rng, seed: int, velocity, diffusivity, kmax: int):
    """The advection–diffusion of a seed: velocity of a random direction and a speed in
    [0.1, 0.3], ``D`` in [0.02, 0.08], unless given."""
    if velocity is None:
        angle, speed = rng.uniform(0, 2 * np.pi), rng.uniform(0.1, 0.3)
        velocity = (speed * np.cos(angle), speed * np.sin(angle))
    if diffusivity is None:
        diffusivity = float(rng.uniform(0.02, 0.08))
    a, b = (round(float(v), 4) for v in velocity)
    d = round(float(diffusivity), 4)
    return advection_diffusion_2d(velocity_x=a, velocity_y=b, diffusivity=d, seed=seed, kmax=kmax)


def _inside(rng, n: int) -> np.ndarray:
    """``n`` random places in the L, at least 0.2 from its walls."""
    from matplotlib.path import Path as MplPath

    inner = MplPath(np.array(L_SHAPE))
    pts: list[np.ndarray] = []
    while sum(len(p) for p in pts) < n:
        cand = rng.uniform(0.6, 5.7, (4 * n, 2))
        pts.append(cand[inner.contains_points(cand, radius=-0.4)])
    return np.concatenate(pts)[:n]
