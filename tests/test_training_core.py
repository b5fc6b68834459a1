"""Training as an object of study: optimizers by name, trajectories, diffusion maps, the
shared-weight ResNet's Neural-ODE limit, and the learned neural-scheme baseline."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from discover.datasets import generate, make_dataset
from typer.testing import CliRunner

from discover.cli import app
from discover.errors import DataError
from discover.interpolate import NeuralInterpolant
from discover.io import load
from discover.neural import MLP, NeuralODE, SharedResNet, diffusion_map, fit
from discover.neural.optimizers import EntropySGD, Langevin, make_optimizer
from discover.neural.scheme import neural_scheme_forecast
from discover.solve import get_solver


def _regression(seed: int):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(256, 2, generator=g, dtype=torch.float64) * 2 - 1
    a, b = torch.rand(2, generator=g, dtype=torch.float64) * 2 + 1
    y = torch.sin(a * x[:, :1]) * torch.cos(b * x[:, 1:])
    return x, y


@pytest.mark.parametrize("optimizer", ["adam", "entropy-sgd", "langevin", "lbfgs"])
@pytest.mark.parametrize("seed", [0, 1])
def test_every_optimizer_lowers_the_held_out_loss(optimizer, seed):
    x, y = _regression(seed)
    torch.manual_seed(seed)
    net = MLP(2, 1, width=16, depth=2).double()
    with torch.no_grad():
        start = float(torch.mean((net(x[200:]) - y[200:]) ** 2))
    r = fit(
        net, x[:200], y[:200], x_val=x[200:], y_val=y[200:], adam_steps=400, lbfgs_steps=20,
        lr=1e-2, optimizer=optimizer, num_threads=1, seed=seed, patience=1000,
    )  # fmt: skip
    assert r.optimizer == optimizer
    assert r.val_loss < 0.2 * start


def test_unknown_optimizer_is_one_line_listing_the_valid_names():
    net = MLP(1, 1, width=4, depth=1).double()
    x = torch.zeros(4, 1, dtype=torch.float64)
    with pytest.raises(DataError, match="valid optimizers: adam, lbfgs, entropy-sgd, langevin"):
        fit(net, x, x, x_val=x, y_val=x, optimizer="sgd")


def test_entropy_sgd_scopes_gamma_and_langevin_cools():
    w = torch.nn.Parameter(torch.tensor([1.0, -2.0], dtype=torch.float64))
    ent = make_optimizer("entropy-sgd", [w], lr=1e-2, inner_steps=5, gamma=0.1, scoping=0.1)
    assert isinstance(ent, EntropySGD) and ent.evaluations_per_step == 5
    calls = []

    def closure():
        ent.zero_grad()
        loss = (w**2).sum()
        loss.backward()
        calls.append(1)
        return loss

    g0 = ent.gamma
    ent.step(closure)
    ent.step(closure)
    assert len(calls) == 10
    assert ent.gamma == pytest.approx(g0 * 1.1**2)
    lang = make_optimizer("langevin", [w], lr=1e-3, temperature=1.0, total_steps=10)
    assert isinstance(lang, Langevin) and lang.temperature == pytest.approx(1.0)
    lang.k = 5
    assert lang.temperature == pytest.approx(0.5)
    lang.k = 10
    assert lang.temperature == 0.0


def test_trajectory_is_recorded_on_request():
    x, y = _regression(3)
    net = MLP(2, 1, width=8, depth=2).double()
    n_weights = sum(p.numel() for p in net.parameters())
    r = fit(net, x, y, x_val=x, y_val=y, adam_steps=100, lbfgs_steps=20, record_every=10)
    assert r.trajectory.shape == (len(r.trajectory_steps), n_weights)
    assert list(r.trajectory_steps[:10]) == list(range(10, 110, 10))
    assert len(r.trajectory_steps) == 12  # and after each L-BFGS chunk of 10
    assert np.ptp(r.trajectory, axis=0).max() > 0
    assert fit(net, x, y, x_val=x, y_val=y, adam_steps=10, lbfgs_steps=0).trajectory is None


@pytest.mark.parametrize("optimizer", ["entropy-sgd", "langevin"])
def test_interpolant_and_solver_take_the_optimizer(optimizer):
    samples = load(make_dataset("burgers", nx=32, nt=16), "u")
    f = NeuralInterpolant(
        width=16, depth=2, adam_steps=400, lbfgs_steps=50, optimizer=optimizer, record_every=20,
        num_threads=1,
    ).fit(samples)  # fmt: skip
    assert f.fit_report_["optimizer"] == optimizer
    assert f.fit_report_["relative_val_rmse"][0] < 0.5
    assert f.trajectory_.shape[0] == len(f.trajectory_steps_) >= 10
    assert get_solver("neural", optimizer=optimizer).optimizer == optimizer
    with pytest.raises(DataError, match="valid optimizers"):
        get_solver("neural", optimizer="rmsprop")


def _embed(low: np.ndarray, dim: int, sigma: float, rng: np.random.Generator) -> np.ndarray:
    q, _ = np.linalg.qr(rng.normal(size=(dim, low.shape[1])))
    return low @ q.T + sigma * rng.normal(size=(len(low), dim))


@pytest.mark.parametrize("seed", [0, 1])
def test_diffusion_map_finds_a_closed_curve_one_dimensional(seed):
    rng = np.random.default_rng(seed)
    th = rng.uniform(0, 2 * np.pi, 800)
    c = rng.uniform(0.1, 0.4, 2)
    curve = np.c_[np.cos(th), np.sin(th), c[0] * np.cos(3 * th), c[1] * np.sin(2 * th)]
    dm = diffusion_map(_embed(curve, 1000, 0.01, rng))  # noise norm ≈ 0.3 × the radius
    assert dm.dimension == 1
    mu = -np.log(dm.eigenvalues[1:6])
    assert np.all(np.diff(dm.eigenvalues) <= 1e-12)
    assert mu[1] / mu[0] < 1.2 < 3 < mu[2] / mu[1]  # the pair (cos, sin), then a gap
    assert dm.coordinates.shape == (800, 10)


@pytest.mark.parametrize("seed", [0, 1])
def test_diffusion_map_finds_a_torus_two_dimensional(seed):
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(0, 2 * np.pi, (2, 1500))
    r2 = rng.uniform(0.55, 0.8)
    torus = np.c_[np.cos(a), np.sin(a), r2 * np.cos(b), r2 * np.sin(b)]
    dm = diffusion_map(_embed(torus, 1000, 0.01, rng))
    assert dm.dimension == 2
    mu = -np.log(dm.eigenvalues[1:6])
    # two pairs, one per circle (1 and 1/r2²), before the first harmonics: a gap after each
    assert mu[1] / mu[0] < 1.2 and mu[3] / mu[2] < 1.2
    assert mu[2] / mu[1] > 1.3


def test_diffusion_map_of_an_interpolant_trajectory_is_low_dimensional():
    samples = load(make_dataset("advection_diffusion", nx=32, nt=16), "u")
    f = NeuralInterpolant(
        width=16, depth=2, adam_steps=600, lbfgs_steps=0, record_every=4, patience=10_000,
        num_threads=1,
    ).fit(samples)  # fmt: skip
    dm = diffusion_map(f.trajectory_)
    assert f.trajectory_.shape[1] > 100
    assert 1 <= dm.dimension <= 3


def test_shared_resnet_converges_to_the_neural_ode_at_rate_one_over_n():
    torch.manual_seed(0)
    net = SharedResNet(3, 2, width=16, n_layers=8).double()
    x = torch.rand(64, 3, dtype=torch.float64) * 2 - 1
    with torch.no_grad():
        limit = NeuralODE(net)(x)
        errs = [float((net.with_layers(n)(x) - limit).norm()) for n in (8, 16, 32, 64)]
    rates = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    assert np.all((rates > 0.85) & (rates < 1.15)), (errs, rates)
    # the limit shares the parameters: a gradient through it reaches the ResNet's weights
    NeuralODE(net, rtol=1e-6, atol=1e-8)(x).sum().backward()
    assert net.layer.weight.grad is not None and float(net.layer.weight.grad.abs().sum()) > 0


@pytest.mark.parametrize("seed", [0, pytest.param(1, marks=pytest.mark.slow)])
def test_neural_scheme_beats_persistence_on_burgers(seed):
    nu = np.random.default_rng(seed).uniform(0.05, 0.2)
    ds = make_dataset(generate("burgers", viscosity=nu), nx=64, nt=41)
    u = ds["u"].transpose("t", "x").values[:, None]
    n0 = 32
    pred = neural_scheme_forecast(
        u[: n0 + 1], len(u) - n0 - 1, periodic=[True], steps=200, lbfgs_steps=20
    )
    assert pred.shape == (len(u) - n0, 1, 64)
    err = np.sqrt(np.mean((pred[1:] - u[n0 + 1 :]) ** 2))
    persistence = np.sqrt(np.mean((u[n0] - u[n0 + 1 :]) ** 2))
    assert err < 0.7 * persistence


@pytest.mark.slow
def test_validate_prints_the_neural_scheme_baseline(tmp_path):
    path = tmp_path / "b.nc"
    make_dataset("burgers", nx=64, nt=41).to_netcdf(path)
    runner = CliRunner()
    res = runner.invoke(
        app, ["find", str(path), "--var", "u", "--holdout", "last:20%", "--bootstrap", "0",
              "--json", str(tmp_path / "r.json")],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    res = runner.invoke(
        app, ["validate", str(tmp_path / "r.json"), str(path), "--baseline", "neural-scheme"]
    )
    assert res.exit_code == 0, res.output
    assert "neural-scheme" in res.stdout
    bad = runner.invoke(app, ["validate", str(tmp_path / "r.json"), str(path), "--baseline", "x"])
    assert bad.exit_code == 2
    assert "unknown baseline 'x' for --baseline; valid baselines:" in bad.output
    bad = runner.invoke(app, ["find", str(path), "--var", "u", "--optimizer", "sgd"])
    assert bad.exit_code == 2 and "valid optimizers" in bad.output


def test_trajectory_command_reports_the_dimension(tmp_path):
    path = tmp_path / "b.nc"
    make_dataset("burgers", nx=32, nt=16).to_netcdf(path)
    png = tmp_path / "t.png"
    res = CliRunner().invoke(
        app, ["trajectory", str(path), "--var", "u", "--steps", "300", "--record-every", "5",
              "--optimizer", "langevin", "--plot", str(png)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "intrinsic dimension of the trajectory:" in res.stdout
    assert png.stat().st_size > 1000


def test_interpolant_with_the_shared_weight_resnet():
    samples = load(make_dataset("burgers", nx=32, nt=16), "u")
    opts = dict(adam_steps=400, lbfgs_steps=50, num_threads=1)
    f = NeuralInterpolant(network="shared-resnet", width=32, depth=8, **opts).fit(samples)
    mlp = NeuralInterpolant(width=16, depth=2, **opts).fit(samples)
    assert f.fit_report_["network"]["type"] == "shared-resnet"
    err, ref = f.fit_report_["relative_val_rmse"][0], mlp.fit_report_["relative_val_rmse"][0]
    assert err < 0.15 and err < 2 * ref
    with pytest.raises(DataError, match="valid networks: mlp, shared-resnet"):
        NeuralInterpolant(network="cnn").fit(samples)


@pytest.mark.parametrize(
    "optimizer", [pytest.param("entropy-sgd", marks=pytest.mark.slow), "langevin"]
)
def test_solve_command_runs_the_neural_solver_with_the_optimizer(optimizer, tmp_path):
    path = tmp_path / "h.nc"
    make_dataset("heat", nx=24, nt=11).to_netcdf(path)
    out = tmp_path / "s.nc"
    res = CliRunner().invoke(
        app, ["solve", "u_t = 0.1*u_xx", "--init", str(path), "--out", str(out), "--t-end", "0.2",
              "--n-times", "3", "--solver", "neural", "--steps", "40", "--optimizer", optimizer],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert out.stat().st_size > 0
