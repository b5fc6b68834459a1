"""The generators solve the equations they claim, and write CF-style files."""

from __future__ import annotations

import json

import numpy as np
import pytest
import sympy as sp
import xarray as xr
from discover.datasets import GENERATORS, generate, make_dataset

from discover.differentiate import finite_difference, spectral
from discover.parsing import parse_expr


def _residual(problem, nx=256, nt=201):
    """Relative residual of the claimed PDE: 8th-order FD in t; in x spectral where the
    problem is periodic, 8th-order FD on a 4x finer grid where it is not."""
    a, b = problem.space["x"]
    t = np.linspace(0, problem.t_end, nt)
    if problem.periodic:
        x = a + (b - a) * np.arange(nx) / nx
        u = problem.evaluate(t, x)
        dx = [spectral(u, x, k, axis=1) for k in range(1, 5)]
    else:
        x = np.linspace(a, b, 4 * nx)
        u = problem.evaluate(t, x)
        dx = [finite_difference(u, x, k, axis=1, accuracy=8) for k in range(1, 5)]
    feats = {"u": u, "u_t": finite_difference(u, t, 1, axis=0, accuracy=8)}
    for k in range(1, 5):
        feats["u_" + "x" * k] = dx[k - 1]
    rhs = parse_expr(problem.equation.split("=", 1)[1])
    f = sp.lambdify(sorted(rhs.free_symbols, key=str), rhs)
    pred = f(*(feats[str(s)] for s in sorted(rhs.free_symbols, key=str)))
    ok = np.isfinite(feats["u_t"]) & np.isfinite(feats["u_xxxx"])
    return np.linalg.norm((feats["u_t"] - pred)[ok]) / np.linalg.norm(feats["u_t"][ok])


@pytest.mark.parametrize(
    "name", ["heat", "advection_diffusion", "burgers", "kdv", "fisher_kpp", "kuramoto_sivashinsky"]
)
def test_generators_solve_their_equation(name):
    assert _residual(generate(name)) < 1e-5


def test_kdv_signs_and_any_coefficients():
    for nonlinear, dispersion in [(-6, -1), (2.5, 0.4), (-1.5, 0.7), (3.0, -2.0)]:
        p = generate("kdv", nonlinear=nonlinear, dispersion=dispersion)
        assert _residual(p) < 1e-5, (nonlinear, dispersion)


def test_two_solitons_collide_inside_the_domain():
    p = generate("kdv")
    x = np.linspace(-25, 25, 1001)
    u0, u1 = p.evaluate(np.array([0.0, p.t_end]), x)
    for u in (u0, u1):  # the tails vanish at the ends of the domain
        assert np.abs(u[[0, -1]]).max() < 1e-4 * np.abs(u).max()
    assert x[np.argmax(u1)] > x[np.argmax(u0)]  # the fast soliton has passed the slow one


def test_noise_level_and_layouts(rng):
    clean = make_dataset("burgers", nx=128, nt=51)
    noisy = make_dataset("burgers", nx=128, nt=51, noise=0.1, seed=3)
    sigma = np.std(noisy["u"].values - clean["u"].values)
    assert abs(sigma / (0.1 * np.std(clean["u"].values)) - 1) < 0.05
    st = make_dataset("burgers", layout="station", n_stations=60, missing=0.1, noise=0.05)
    assert st["u"].dims == ("t", "station") and st["x"].dims == ("station",)
    assert 0.07 < float(np.isnan(st["u"]).mean()) < 0.13
    sc = make_dataset("burgers", layout="scattered", n_obs=500)
    assert sc["u"].dims == ("obs",) and set(sc.coords) >= {"t", "x"}
    # scattered values agree with the exact solution at their points
    p = generate("burgers")
    i = 17
    exact = p.evaluate(np.array([float(sc.t[i])]), np.array([float(sc.x[i])]))[0, 0]
    assert abs(float(sc["u"][i]) - exact) < 1e-10


def test_netcdf_attributes_round_trip(tmp_path):
    ds = make_dataset("fisher_kpp", nx=64, nt=11)
    ds.to_netcdf(tmp_path / "f.nc")
    back = xr.open_dataset(tmp_path / "f.nc")
    assert back.attrs["true_equation"].startswith("u_t = ")
    assert json.loads(back.attrs["true_coefficients"]) == generate("fisher_kpp").coefficients
    assert back["u"].attrs["units"] == "1" and back["t"].attrs["standard_name"] == "time"
    back.close()


def test_unknown_generator_lists_names():
    with pytest.raises(ValueError, match="valid names: 'heat'"):
        generate("navier_stokes")
    assert "advection_diffusion_2d" in GENERATORS
