"""Several weather fields together: temperature carried by the actual wind (issue #21)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr

from discover.find import find


def advected_temperature(rng: np.random.Generator, *, hours: int = 72) -> xr.Dataset:
    """``T_t = -U T_x - V T_y + A sin(2πt/24 h)`` exactly: T in kelvin (about 280 K) moved by a
    wind that changes in time (random speeds), with 1% noise on T and noisy wind fields."""
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


def _check(eq):
    terms = {t.term: t for t in eq.terms}
    assert {"T_x*U", "T_y*V"} <= set(terms)
    for name in ("T_x*U", "T_y*V"):
        assert terms[name].inclusion >= 0.9 and terms[name].coef == pytest.approx(-1, abs=0.1)
    assert len(terms) <= 8
    assert all(t.inclusion >= 0.5 for t in terms.values())


@pytest.mark.parametrize("seed", [1])
def test_weather_preset_carries_temperature_by_the_wind(seed):
    ds = advected_temperature(np.random.default_rng(seed), hours=48)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        eq = find(ds, ["T", "U", "V"], preset="weather", n_bootstrap=20).equations[0]
    _check(eq)


def test_centred_field_reported_in_data_units():
    """u far from zero: the degree-2 library works on (u - mean)/std and the equation comes
    back in the data's units."""
    from discover.datasets import make_dataset

    ds = make_dataset("heat", nx=64, nt=41)
    ds["u"] = ds.u + 50.0
    r = find(ds, "u", degree=2, n_bootstrap=0)
    assert "u" in r.settings["scale"]
    back = r.equations_in_data_units[0].coefficients
    assert set(back) == {"u_xx"} and back["u_xx"] == pytest.approx(0.1, rel=0.02)
