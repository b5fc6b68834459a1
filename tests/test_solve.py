"""The solvers (discover.solve) on problems with exact solutions."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import xarray as xr
from discover.datasets import generate, make_dataset

from discover.io import DataError
from discover.neural import MLP, Scaled
from discover.solve import (
    SOLVERS,
    Box,
    ClassicalSolver,
    Disk,
    Mask,
    NeuralSolver,
    Polygon,
    Problem,
    get_solver,
    solve,
)
from discover.solve.classical import diff_matrix


def rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def heat_problem(nx: int = 101) -> Problem:
    return Problem(
        "u_t = 0.1*u_xx",
        Box(x=(0.0, 1.0)),
        time=(0.0, 1.0),
        initial=lambda x: np.sin(np.pi * x),
        boundary=0.0,
        grid={"x": np.linspace(0, 1, nx)},
    )


def heat_exact(t: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.exp(-0.1 * np.pi**2 * t)[:, None] * np.sin(np.pi * x)[None]


# ----------------------------------------------------------------------------- problems
def test_registry_lists_the_valid_names():
    assert set(SOLVERS) == {"neural", "classical"}  # auto and both are resolved before lookup
    with pytest.raises(
        DataError,
        match="unknown solver 'fd' for solver=; valid solvers: 'auto', 'both', 'neural', "
        "'classical'",
    ):
        get_solver("fd")
    with pytest.raises(DataError, match="bad option for the 'classical' solver"):
        get_solver("classical", width=3)


@pytest.mark.parametrize(
    ("equation", "message"),
    [
        ("u_t == 0.1*u_xx", "one '='"),
        ("u_t = nu*u_xx", "'nu'"),
        ("u_t = 0.1*u_xx + besselj(0, x)", "function besselj"),
        ("u_t = 0.1*u_xx; v_t = u", "equation"),
    ],
)
def test_bad_equations_get_one_line_errors(equation, message):
    with pytest.raises(DataError, match=message) as info:
        Problem(equation, Box(x=(0.0, 1.0)), time=(0, 1), initial=0.0, boundary=0.0, fields=("u",))
    assert "\n" not in str(info.value)


def test_walls_need_boundary_values_and_evolution_needs_initial_values():
    with pytest.raises(DataError, match="no boundary values"):
        Problem("u_t = u_xx", Box(x=(0.0, 1.0)), time=(0, 1), initial=0.0)
    with pytest.raises(DataError, match="initial values"):
        Problem("u_t = u_xx", Box(x=(0.0, 1.0), periodic=("x",)), time=(0, 1))
    p = Problem("u_t = u_xx", Box(x=(0.0, 1.0), periodic=("x",)), time=(0, 1), initial=0.0)
    assert p.evolution and p.fields == ("u",) and p.coords == ("t", "x")


def test_steady_problem_is_not_for_the_classical_solver():
    p = Problem("u_xx = 1", Box(x=(0.0, 1.0)), boundary=0.0, grid={"x": np.linspace(0, 1, 9)})
    with pytest.raises(DataError, match="use the neural solver"):
        solve(p, "classical")


# ----------------------------------------------------------------------------- domains
def test_distance_functions_vanish_on_the_boundary_and_are_positive_inside():
    rng = np.random.default_rng(0)
    shape_l = Polygon([(0, 0), (2, 0), (2, 1), (1, 1), (1, 2), (0, 2)])
    disk = Disk((0.5, -0.5), 2.0)
    box = Box(x=(0.0, 1.0), y=(-1.0, 1.0))
    yy, xx = np.meshgrid(np.linspace(-1, 1, 21), np.linspace(-1, 1, 21), indexing="ij")
    mask = Mask(
        xr.DataArray(xx**2 + yy**2 < 0.6, coords={"y": yy[:, 0], "x": xx[0]}, dims=("y", "x"))
    )
    for dom in (shape_l, disk, box, mask):
        on = dom.boundary_points(200, rng)
        inside = dom.sample(500, rng)
        assert dom.contains(inside).all()
        d_on = dom.distance(torch.as_tensor(on)).numpy()
        d_in = dom.distance(torch.as_tensor(inside)).numpy()
        assert np.max(np.abs(d_on)) < 1e-7, dom
        assert np.all(d_in > 0), dom
    # the L-shape's re-entrant part is outside
    assert not shape_l.contains(np.array([[1.5, 1.5]]))[0]
    assert not mask.contains(np.array([[0.95, 0.95]]))[0]


def test_periodic_inputs_make_a_network_exactly_periodic():
    net = Scaled(
        MLP(3, 1, width=8, depth=2).double(),
        lower=[0.0, 0.0],
        upper=[1.0, 2.0],
        mean=[0.0],
        std=[1.0],
        periodic=[False, True],
    )
    a = torch.tensor([[0.3, 0.0], [0.7, 0.5]], dtype=torch.float64)
    b = a + torch.tensor([0.0, 2.0], dtype=torch.float64)
    assert torch.allclose(net(a), net(b), atol=1e-14)


# ----------------------------------------------------------------------------- classical
def test_difference_matrices_are_exact_for_polynomials_on_nonuniform_grids():
    x = np.sort(np.random.default_rng(1).uniform(0, 1, 30))
    x[0], x[-1] = 0.0, 1.0
    # everywhere (the narrow stencils near the ends included): quadratics, and cubics for
    # the third derivative
    assert np.allclose(diff_matrix(x, 1, accuracy=4) @ x**2, 2 * x, atol=1e-8)
    assert np.allclose(diff_matrix(x, 2, accuracy=4) @ x**2, 2.0, atol=1e-6)
    assert np.allclose(diff_matrix(x, 3, accuracy=4) @ x**3, 6.0, atol=1e-5)
    # away from the ends the stencils have the full order: quartics for 5 points
    inner = slice(2, -2)
    assert np.allclose((diff_matrix(x, 1, accuracy=4) @ x**4)[inner], 4 * x[inner] ** 3)
    assert np.allclose((diff_matrix(x, 2, accuracy=4) @ x**4)[inner], 12 * x[inner] ** 2)


def test_classical_heat_with_walls_is_within_1e_5():
    p = heat_problem()
    sol = solve(p, "classical")
    assert sol.info["method"] == "fd"
    ds = sol.dataset
    assert rel(ds["u"].values, heat_exact(ds["t"].values, ds["x"].values)) < 1e-5


def test_classical_periodic_heat_is_spectral_and_within_1e_10():
    x = np.linspace(0, 2 * np.pi, 32, endpoint=False)
    p = Problem(
        "u_t = 0.1*u_xx",
        Box(x=(0.0, 2 * np.pi), periodic=("x",)),
        time=(0.0, 2.0),
        initial=lambda x: np.sin(x) + 0.5 * np.cos(3 * x),
        grid={"x": x},
    )
    ds = solve(p, "classical").dataset
    t = ds["t"].values[:, None]
    exact = np.exp(-0.1 * t) * np.sin(x) + 0.5 * np.exp(-0.9 * t) * np.cos(3 * x)
    assert rel(ds["u"].values, exact) < 1e-10


@pytest.mark.parametrize("method", ["spectral", "fd"])
def test_classical_burgers_matches_the_exact_cole_hopf_solution(method):
    prob = generate("burgers")
    data = make_dataset(prob, nx=256, nt=21)
    window = data.isel(t=slice(10, None))
    x = data["x"].values
    p = Problem(
        prob.equation,
        Box(x=(-8.0, 8.0), periodic=("x",)),
        time=window["t"].values,
        initial=window["u"].isel(t=0).drop_vars("t"),
        grid={"x": x},
    )
    ds = ClassicalSolver(method=method).solve(p).dataset
    tol = 1e-7 if method == "spectral" else 1e-4
    assert rel(ds["u"].values, window["u"].values) < tol


def test_classical_2d_advection_diffusion_with_data_on_the_walls():
    prob = generate("advection_diffusion_2d")
    data = make_dataset(prob, nx=65, nt=11)
    # solve on the box without using periodicity: the walls take the data's values
    p = Problem(
        prob.equation,
        Box(x=tuple(data["x"].values[[0, -1]]), y=tuple(data["y"].values[[0, -1]])),
        time=data["t"].values,
        initial=data["u"].isel(t=0).drop_vars("t"),
        boundary=data["u"],
    )
    ds = solve(p, "classical").dataset.transpose(*data["u"].dims)
    assert rel(ds["u"].values, data["u"].values) < 1e-3


# ----------------------------------------------------------------------------- neural
def test_neural_solver_meets_a_1d_boundary_value_problem():
    p = Problem("u_xx = -pi**2*sin(pi*x)", Box(x=(0.0, 1.0)), boundary=0.0)
    sol = NeuralSolver(width=16, depth=2, adam_steps=300, lbfgs_steps=300).solve(p)
    x = np.linspace(0, 1, 101)[:, None]
    assert rel(sol(x)[:, 0], np.sin(np.pi * x[:, 0])) < 1e-3
    assert sol.info["lift_rel_error"] == 0.0  # constant boundary values need no network


@pytest.mark.slow
def test_neural_heat_is_within_1e_3():
    p = heat_problem()
    sol = solve(p, "neural")
    ds = sol.on_grid()
    assert rel(ds["u"].values, heat_exact(ds["t"].values, ds["x"].values)) < 1e-3


@pytest.mark.slow
@pytest.mark.parametrize("shape", ["disk", "L"])
def test_neural_poisson_on_a_disk_and_an_l_shape_is_within_1e_2(shape):
    if shape == "disk":
        dom = Disk((0.0, 0.0), 1.0)

        def exact(x, y):
            return np.exp(x) * np.sin(2 * y) + x**2

        eq = "u_xx + u_yy = -3*exp(x)*sin(2*y) + 2"
    else:
        dom = Polygon([(0, 0), (2, 0), (2, 1), (1, 1), (1, 2), (0, 2)])

        def exact(x, y):
            return np.sin(x) * np.exp(y / 2) + 0.1 * x * y

        eq = "u_xx + u_yy = -0.75*sin(x)*exp(y/2)"
    sol = solve(Problem(eq, dom, boundary=exact), "neural")
    pts = dom.sample(20000, np.random.default_rng(1))
    assert rel(sol(pts)[:, 0], exact(*pts.T)) < 1e-2
