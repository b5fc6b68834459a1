"""The generalized least squares step of the weak form (discover.weakgls, method "weak-gls"):
its kernels reproduce the system's rows, it is unbiased and tighter than the ordinary fit on
a shock at 100% noise, and find takes it as a method."""

from __future__ import annotations

import json

import numpy as np
import pytest
from discover.datasets import generate, make_dataset

import discover
from discover.io import load
from discover.library import Library
from discover.weakgrid import grid_weak_systems


def _shock(seed: int):
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.5, 2) * rng.choice([-1, 1])
    ds = make_dataset(generate("burgers_shock", advection=a, seed=seed), nt=101)
    return ds, json.loads(ds.attrs["true_coefficients"])["u*u_x"], rng


def _noisy(ds, p, rng):
    u = ds["u"].values
    return ds.assign(
        u=(ds["u"].dims, u + p * np.sqrt(np.mean(u**2)) * rng.standard_normal(u.shape))
    )


def test_kernels_reproduce_the_rows():
    """The sparse kernels the covariance is built from give the system's own columns: the
    term ``s·P·g(u)`` and the left-hand side ``-P_t·u``."""
    ds, _, rng = _shock(11)
    s = load(_noisy(ds, 1.0, rng), "u")
    lib = Library(("u",), ("t", "x"), max_order=2, degree=2)
    built = grid_weak_systems(s, lib, scales=(1.0,), gls=True)
    jac = built.jacobian
    X, y = built.systems[0]["u"]
    assert jac._fits(2)
    data = jac.data["u"].ravel()
    for name, g in (("u*u_x", lambda v: v**2 / 2), ("u_xx", lambda v: v)):
        j = lib.names.index(name)
        # (the column's Hermite correction, a constant -σ²/2, integrates to 0 against ∂_x ψ)
        col = jac.signs[j] * (jac._place(jac.kernels[j]) @ g(data))
        np.testing.assert_allclose(col, X[:, j], rtol=1e-9, atol=1e-9 * np.abs(X[:, j]).max())
    lhs = -(jac._place(jac.t_kernel) @ data)
    np.testing.assert_allclose(lhs, y, rtol=1e-9, atol=1e-9 * np.abs(y).max())


def test_no_noise_no_step():
    """Clean data: σ = 0, so there is no covariance to weigh by and the ordinary fit stands."""
    ds, truth, _ = _shock(12)
    lib = Library(("u",), ("t", "x"), max_order=1, degree=2)
    built = grid_weak_systems(load(ds, "u"), lib, gls=True, noise_correction=False)
    assert built.jacobian is None
    X, y = built.systems[0]["u"]
    j = lib.names.index("u*u_x")
    c = np.linalg.lstsq(X[:, [j]], y, rcond=None)[0][0]
    assert abs(c / truth - 1) < 0.01


@pytest.mark.slow
@pytest.mark.parametrize("seed", [21, 22])
def test_shock_at_100_percent_noise_unbiased_and_tighter(seed):
    """Twelve noisy copies of a shock at σ = 1.0·rms(u): the step's mean error is within 1.5%
    (unbiased up to its scatter) and its scatter is below the ordinary debiased fit's."""
    ds, truth, rng = _shock(seed)
    lib = Library(("u",), ("t", "x"), max_order=1, degree=2)
    j = [lib.names.index("u*u_x")]
    gls, ols = [], []
    for _ in range(12):
        built = grid_weak_systems(load(_noisy(ds, 1.0, rng), "u"), lib, scales=(1.0,), gls=True)
        X, y = built.systems[0]["u"]
        gls.append(built.debiased("u", X, y, j)[0] / truth - 1)
        built.jacobian = None
        ols.append(built.debiased("u", X, y, j)[0] / truth - 1)
    gls, ols = np.array(gls), np.array(ols)
    assert abs(gls.mean()) < 0.015, gls
    assert gls.std() < ols.std(), (gls.std(), ols.std())


def test_find_takes_the_method():
    """``method="weak-gls"`` runs the weak form with the step and says so."""
    ds, truth, rng = _shock(13)
    d = discover.find(_noisy(ds, 0.5, rng), "u", method="weak-gls", n_bootstrap=0)
    assert d.settings["method"] == "weak-gls"
    assert d.diagnostics["u"]["weak_grid"]["generalized_least_squares"] is True
    c = d.equations[0].coefficients
    assert set(c) == {"u*u_x"} and abs(c["u*u_x"] / truth - 1) < 0.05
    with pytest.raises(Exception, match="weak-gls"):
        discover.find(ds, "u", method="weak-glss")
