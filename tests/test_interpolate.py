"""NeuralInterpolant: a noisy smooth field gives its derivatives back."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import xarray as xr
from sklearn.exceptions import NotFittedError

from discover.interpolate import NeuralInterpolant
from discover.io import load


@pytest.fixture(scope="module")
def noisy_field():
    t = np.linspace(0, 1, 30)
    x = np.linspace(0, 2 * np.pi, 50)
    u = np.sin(x)[None, :] * np.exp(-t)[:, None]
    sigma = 0.05 * u.std()
    noise = np.random.default_rng(5).normal(size=u.shape) * sigma
    ds = xr.Dataset({"u": (("t", "x"), u + noise)}, coords={"t": t, "x": x})
    return load(ds, "u"), sigma


@pytest.fixture(scope="module")
def fitted(noisy_field):
    samples, _ = noisy_field
    return NeuralInterpolant(adam_steps=1500, lbfgs_steps=200, seed=1).fit(samples)


def test_noisy_field_derivatives(fitted):
    rng = np.random.default_rng(0)
    pts = np.column_stack([rng.uniform(0.1, 0.9, 400), rng.uniform(0.6, 2 * np.pi - 0.6, 400)])
    d = fitted.derivatives(pts, [(0, 0), (1, 0), (0, 1), (0, 2)])
    t, x = pts[:, 0], pts[:, 1]
    e = np.exp(-t)
    for mi, want, tol in [
        ((0, 0), np.sin(x) * e, 0.02),
        ((1, 0), -np.sin(x) * e, 0.10),
        ((0, 1), np.cos(x) * e, 0.05),
        ((0, 2), -np.sin(x) * e, 0.15),
    ]:
        rel = np.sqrt(np.mean((d[mi][:, 0] - want) ** 2) / np.mean(want**2))
        assert rel < tol, (mi, rel)


def test_fit_report_estimates_the_noise(fitted, noisy_field):
    _, sigma = noisy_field
    rep = fitted.fit_report_
    assert 0.7 * sigma < rep["noise_estimate"][0] < 1.4 * sigma
    assert rep["n_train"] + rep["n_val"] == 1500 and rep["seconds"] > 0


def test_estimator_contract(noisy_field):
    est = NeuralInterpolant(width=8, depth=2)
    assert est.get_params()["width"] == 8 and not hasattr(est, "model_")
    with pytest.raises(NotFittedError):
        est.predict(np.zeros((1, 2)))
    with pytest.raises(TypeError, match="takes Samples"):
        est.fit(np.zeros((3, 2)))


def test_single_precision_training_is_evaluated_in_double(noisy_field):
    """float32 (the default) trains faster; the fitted network is float64 afterwards, and
    its fit is as good as a float64 training's."""
    samples, sigma = noisy_field
    fits = {
        dt: NeuralInterpolant(adam_steps=800, lbfgs_steps=100, seed=1, dtype=dt).fit(samples)
        for dt in ("float32", "float64")
    }
    for f in fits.values():
        assert all(p.dtype == torch.float64 for p in f.model_.parameters())
        assert f.predict(samples.points[:3]).dtype == np.float64
    assert fits["float32"].fit_report_["network"]["dtype"] == "float32"
    v32, v64 = (fits[dt].fit_report_["val_rmse"][0] for dt in ("float32", "float64"))
    assert v32 < 1.3 * sigma and v64 < 1.3 * sigma
    with pytest.raises(ValueError, match="unknown dtype 'float16'; valid dtypes"):
        NeuralInterpolant(dtype="float16").fit(samples)
