"""A weather-like test field of several variables: temperature carried by a wind that changes in
time, with a diurnal source (exact), and noisy wind fields — what the weather preset's
transport terms are for (``T_t = -U T_x - V T_y + A sin(2πt/24 h)``)."""

from __future__ import annotations

import numpy as np
import xarray as xr

__all__ = ["advected_temperature"]


def advected_temperature(rng: np.random.Generator, *, hours: int = 72) -> xr.Dataset:
    """``T_t = -U T_x - V T_y + A sin(2πt/24 h)`` exactly: T in kelvin (about 280 K) moved by a
    wind that changes in time (random speeds), with 1% noise on T and noisy wind fields.

    Parameters
    ----------
    rng : numpy.random.Generator
        Draws the wind's speeds and periods, the source's amplitude and the noise.
    hours : int
        Length of the hourly record.

    Returns
    -------
    xarray.Dataset
        ``T`` (K), ``U`` and ``V`` (km/h) on ``(t, y, x)``: hours and km.

    Examples
    --------
    >>> ds = advected_temperature(np.random.default_rng(0), hours=24)
    >>> sorted(ds.data_vars), dict(ds.sizes)
    (['T', 'U', 'V'], {'t': 24, 'y': 20, 'x': 25})
    """
    t = np.arange(0.0, hours)
    x, y = np.arange(0, 1000.0, 40.0), np.arange(0, 800.0, 40.0)
    u0, u1, v0, v1 = (
        rng.uniform(10, 25),
        rng.uniform(5, 10),
        rng.uniform(-10, 10),
        rng.uniform(5, 10),
    )
    pu, pv, amp = rng.uniform(30, 45), rng.uniform(45, 60), rng.uniform(0.3, 0.8)
    U, V = u0 + u1 * np.sin(2 * np.pi * t / pu), v0 + v1 * np.cos(2 * np.pi * t / pv)
    X = u0 * t - u1 * pu / (2 * np.pi) * (np.cos(2 * np.pi * t / pu) - 1)
    Y = v0 * t + v1 * pv / (2 * np.pi) * np.sin(2 * np.pi * t / pv)
    tt, yy, xx = np.meshgrid(t, y, x, indexing="ij")
    xs, ys = xx - X[:, None, None], yy - Y[:, None, None]
    T = 280 + 4 * np.sin(2 * np.pi * xs / 600) * np.cos(2 * np.pi * ys / 900)
    T += 2 * np.cos(2 * np.pi * (xs + ys) / 1300) - amp * 24 / (2 * np.pi) * np.cos(np.pi * tt / 12)
    T += 0.01 * T.std() * rng.standard_normal(T.shape)
    dims = ("t", "y", "x")
    wind = {
        k: np.broadcast_to(w[:, None, None], T.shape) + 0.2 * rng.standard_normal(T.shape)
        for k, w in (("U", U), ("V", V))
    }
    return xr.Dataset(
        {
            "T": (dims, T, {"units": "K"}),
            **{k: (dims, w, {"units": "km/h"}) for k, w in wind.items()},
        },
        coords={
            "t": ("t", t, {"units": "hours"}),
            "y": ("y", y, {"units": "km"}),
            "x": ("x", x, {"units": "km"}),
        },
    )
