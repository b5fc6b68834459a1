"""Finite differences, Savitzky–Golay and spectral derivatives against exact ones."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from discover.differentiate import differentiate, fd_weights, finite_difference, savgol, spectral
from discover.io import DataError, load
from discover.library import Derivative


@given(st.integers(1, 4), st.integers(0, 3))
@settings(max_examples=30, deadline=None)
def test_fornberg_weights_are_exact_on_polynomials(m, extra):
    nodes = np.linspace(-1.3, 1.1, m + 1 + extra) + 0.05 * np.sin(np.arange(m + 1 + extra))
    z = 0.1
    w = fd_weights(z, nodes, m)
    for p in range(m + 1 + extra):
        exact = 0.0 if p < m else np.prod(np.arange(p - m + 1, p + 1)) * z ** (p - m)
        np.testing.assert_allclose(w @ nodes**p, exact, atol=1e-8 * (1 + abs(exact)))


@pytest.mark.parametrize("order", [1, 2, 3, 4])
@pytest.mark.parametrize("accuracy", [2, 4, 6])
def test_fd_converges_at_its_order(order, accuracy):
    errs = []
    for n in (24, 48):  # coarse enough that truncation, not round-off, dominates
        x = np.linspace(0, 2 * np.pi, n)
        d = finite_difference(np.sin(x), x, order, accuracy=accuracy)
        exact = np.sin(x + order * np.pi / 2)
        errs.append(np.nanmax(np.abs(d - exact)))
    rate = np.log2(errs[0] / errs[1])
    assert rate > accuracy - 0.6


def test_fd_nonuniform_grid_and_trimming():
    x = np.linspace(0, 1, 60) ** 1.3
    f = np.exp(2 * x)
    d = finite_difference(f, x, 2, accuracy=4)
    width = 2 + 4 - 1
    h = (width + 1 - width % 2) // 2
    assert np.isnan(d[:h]).all() and np.isnan(d[-h:]).all()
    np.testing.assert_allclose(d[h:-h], 4 * f[h:-h], rtol=2e-4)


def test_fd_is_exact_on_polynomials_of_its_degree():
    x = np.cumsum(np.random.default_rng(0).uniform(0.5, 1.5, 30))
    d = finite_difference(x**3 - 2 * x, x, 1, accuracy=4)
    np.testing.assert_allclose(d[~np.isnan(d)], (3 * x**2 - 2)[~np.isnan(d)], rtol=1e-9)


def test_nan_spreads_only_through_stencils():
    x = np.linspace(0, 1, 50)
    f = x**2
    f[25] = np.nan
    d = finite_difference(f, x, 1, accuracy=2)
    assert np.isnan(d[24:27]).all() and np.isfinite(d[1:24]).all() and np.isfinite(d[27:49]).all()


def test_savgol_and_spectral():
    x = np.linspace(0, 2 * np.pi, 128, endpoint=False)
    f = np.sin(3 * x)
    np.testing.assert_allclose(spectral(f, x, 2), -9 * f, atol=1e-9)
    d = savgol(f, x, 1)
    ok = np.isfinite(d)
    np.testing.assert_allclose(d[ok], 3 * np.cos(3 * x[ok]), atol=2e-3)  # a smoother
    with pytest.raises(DataError, match="uniformly spaced"):
        savgol(f, x**1.1, 1)


def test_differentiate_dataset_mixed_and_time(rng):
    t = np.linspace(0, 1, 41)
    x = np.linspace(0, 2, 50)
    y = np.linspace(0, 3, 60)
    T, X, Y = np.meshgrid(t, x, y, indexing="ij")
    u = np.sin(X) * np.cos(Y) * np.exp(-T)
    ds = xr.Dataset({"u": (("t", "x", "y"), u)}, coords={"t": t, "x": x, "y": y})
    s = load(ds, "u")
    ds_out = differentiate(
        s,
        [Derivative("u", ("t", "x", "y"), o) for o in [(1, 0, 0), (0, 1, 1), (0, 0, 2)]],
        accuracy=6,
    )
    assert set(ds_out.data_vars) == {"u_t", "u_xy", "u_yy"}
    for name, exact in [("u_t", -u), ("u_xy", -np.cos(X) * np.sin(Y) * np.exp(-T)), ("u_yy", -u)]:
        v = ds_out[name].values
        ok = np.isfinite(v)
        assert ok.mean() > 0.7
        np.testing.assert_allclose(v[ok], exact[ok], atol=1e-6)


def test_unknown_method_lists_valid(grid_ds):
    with pytest.raises(DataError, match="valid methods: 'fd', 'savgol', 'spectral'"):
        differentiate(load(grid_ds, "u"), [], method="magic")
