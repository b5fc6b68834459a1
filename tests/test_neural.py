"""The shared neural core: exact autograd derivatives, physical-unit scaling, training."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from discover.neural import MLP, Scaled, derivatives, fit, threads


def poly_sin_exp(x: torch.Tensor) -> torch.Tensor:
    t, y = x[:, :1], x[:, 1:2]
    return torch.cat([t**3 * y**2 - 2 * t * y, torch.sin(2 * y) * torch.exp(-0.5 * t)], dim=1)


def exact(pts: np.ndarray) -> dict:
    t, y = pts[:, 0], pts[:, 1]
    s, e = np.sin(2 * y), np.exp(-0.5 * t)
    return {
        (0, 0): np.stack([t**3 * y**2 - 2 * t * y, s * e], 1),
        (1, 0): np.stack([3 * t**2 * y**2 - 2 * y, -0.5 * s * e], 1),
        (0, 3): np.stack([0 * t, -8 * np.cos(2 * y) * e], 1),
        (2, 1): np.stack([12 * t * y, 0.25 * 2 * np.cos(2 * y) * e], 1),
        (1, 2): np.stack([6 * t**2, 0.5 * 4 * s * e], 1),
        (0, 4): np.stack([0 * t, 16 * s * e], 1),
    }


@pytest.mark.parametrize("chunk", [7, 10_000])
def test_engine_is_exact_on_analytic_fields(rng, chunk):
    pts = rng.uniform(-1.5, 1.5, size=(200, 2))
    want = exact(pts)
    got = derivatives(poly_sin_exp, pts, list(want), chunk_size=chunk)
    assert set(got) == set(want)
    for mi, v in want.items():
        np.testing.assert_allclose(got[mi], v, atol=1e-8, rtol=1e-10, err_msg=str(mi))


def test_engine_builds_each_derivative_from_its_parent(rng):
    calls = {"n": 0}

    def counted(x):
        calls["n"] += 1
        return poly_sin_exp(x)

    derivatives(counted, rng.uniform(size=(50, 2)), [(0, 4), (2, 1), (1, 0)], chunk_size=100)
    assert calls["n"] == 1  # one forward pass per chunk


class _Sin(nn.Module):
    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sin(z)


def test_scaling_applies_the_chain_rule():
    model = Scaled(_Sin(), lower=[2.0], upper=[6.0], mean=[10.0], std=[3.0])  # z = (x-4)/2
    x = np.linspace(2, 6, 9)[:, None]
    d = derivatives(model, x, [(0,), (1,), (2,)])
    z = (x - 4) / 2
    np.testing.assert_allclose(d[(0,)], 10 + 3 * np.sin(z), atol=1e-12)
    np.testing.assert_allclose(d[(1,)], 3 * np.cos(z) / 2, atol=1e-12)
    np.testing.assert_allclose(d[(2,)], -3 * np.sin(z) / 4, atol=1e-12)


@pytest.mark.parametrize("activation", ["tanh", "sin"])
@pytest.mark.parametrize("residual", [False, True])
def test_mlp_shapes(activation, residual):
    net = MLP(3, 2, width=8, depth=3, activation=activation, residual=residual).double()
    assert net(torch.zeros(5, 3, dtype=torch.float64)).shape == (5, 2)


def test_mlp_rejects_unknown_activation():
    with pytest.raises(ValueError, match="valid activations: 'tanh', 'sin'"):
        MLP(1, 1, activation="relu6")


def _train(seed: int) -> tuple[nn.Module, float]:
    torch.manual_seed(seed)
    x = torch.linspace(-1, 1, 200, dtype=torch.float64)[:, None]
    y = torch.sin(3 * x)
    net = MLP(1, 1, width=16, depth=2).double()
    res = fit(
        net, x[::2], y[::2], x_val=x[1::2], y_val=y[1::2], adam_steps=300, lbfgs_steps=50, seed=seed
    )
    return net, res.val_loss


def test_training_fits_and_is_reproducible():
    a, loss_a = _train(3)
    b, loss_b = _train(3)
    assert loss_a < 1e-4
    assert loss_a == loss_b
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)


def test_threads_are_restored():
    before = torch.get_num_threads()
    with threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_threads_default_to_the_callers_setting():
    """A process that asked torch for one thread (a benchmark worker per core) is not given
    every CPU by a fit: more threads than cores slowed the fits several-fold."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threads(None):
            assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_lbfgs_works_on_a_fixed_subset_when_asked():
    """L-BFGS sees ``lbfgs_batch`` training points, the same ones at every evaluation, and
    still fits: the full batch of a large grid would dominate the fit."""
    torch.manual_seed(0)
    x = torch.linspace(-1, 1, 2000, dtype=torch.float64)[:, None]
    y = torch.sin(3 * x)
    seen: list[torch.Tensor] = []

    def loss(model: nn.Module, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        seen.append(xb)
        return torch.mean((model(xb) - yb) ** 2)

    net = MLP(1, 1, width=16, depth=2).double()
    res = fit(
        net, x[::2], y[::2], x_val=x[1::2], y_val=y[1::2], loss=loss,
        adam_steps=0, lbfgs_steps=100, lbfgs_batch=64,
    )  # fmt: skip
    subsets = [xb for xb in seen if xb.shape[0] == 64]
    assert len(subsets) > 10
    assert all(torch.equal(xb, subsets[0]) for xb in subsets)
    assert {xb.shape[0] for xb in seen} <= {64, 1000}  # the subset, or the final full check
    assert res.val_loss < 1e-4
