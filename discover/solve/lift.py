"""The lift ``G`` of the neural solver's ``u = G + D·N``: a function that meets the initial and
boundary values, frozen while ``N`` trains (see :mod:`discover.solve.neural`).

- Initial values on a uniform grid that fills a box whose every side wraps: their
  trigonometric interpolant (:class:`TrigGrid`), exact at the nodes and spectrally accurate
  between them, built by one linear solve per axis (no training).
- Otherwise small networks of the core fitted to the values (there is no closed form for
  values read from data).  For evolution problems ``G = g0(x) + h(t, x) - h(t0, x)``: ``g0``
  fits the initial values and ``h`` what the walls add over time, so ``G`` has no structure
  in time that the data do not ask for (with a single network fitted to both, the heat
  equation's error stayed 50 times above that of the exact lift).

Examples
--------
>>> import math, numpy as np, torch
>>> x = np.linspace(0, 2 * np.pi, 16, endpoint=False)
>>> g = TrigGrid([(0.0, 2 * np.pi, 16)], np.sin(3 * x)[:, None])
>>> value = float(g(torch.tensor([[0.1]], dtype=torch.float64))[0, 0])
>>> abs(value - math.sin(0.3)) < 1e-14
True
"""

from __future__ import annotations

import time
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from ..io import DataError
from ..neural import MLP, Scaled, fit
from .problem import Box, Problem

__all__ = [
    "LIFTS",
    "AtTime",
    "LiftSettings",
    "SplineModule",
    "TrigGrid",
    "exact_lift",
    "fit_lift",
    "periodic_grid_lift",
]


#: how ``G`` is built: ``auto`` takes the trigonometric interpolant where it applies
LIFTS = ("auto", "network")


class LiftSettings(Protocol):
    """What the lift's fit reads from the solver."""

    lift: str
    lift_width: int
    lift_depth: int
    lift_points: int
    lift_steps: tuple[int, int]
    seed: int
    progress: bool
    num_threads: int | None
    optimizer: str
    optimizer_options: dict | None


class SpaceOnly(nn.Module):
    """A network of the spatial inputs only (drops the time column)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z[:, 1:])


class Constant(nn.Module):
    """Constant values (a lift for constant initial and boundary values)."""

    def __init__(self, values: np.ndarray) -> None:
        super().__init__()
        self.register_buffer("values", torch.as_tensor(values, dtype=torch.float64))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.values.expand(z.shape[0], -1) + 0 * z[:, :1]


class Change(nn.Module):
    """``h(t, x) - h(t0, x)``: zero at the initial time."""

    def __init__(self, net: nn.Module, t0: float) -> None:
        super().__init__()
        self.net = net
        self.t0 = t0

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        z0 = torch.cat([torch.full_like(z[:, :1], self.t0), z[:, 1:]], dim=1)
        return self.net(z) - self.net(z0)


class Sum(nn.Module):
    """``a + b``."""

    def __init__(self, a: nn.Module, b: nn.Module) -> None:
        super().__init__()
        self.a, self.b = a, b

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.a(z) + self.b(z)


class Drift(nn.Module):
    """``(t - t0) · τ(x)``: a start state's tendency ``τ`` carried on in time, zero at ``t0``."""

    def __init__(self, tendency: nn.Module, t0: float) -> None:
        super().__init__()
        self.tendency = tendency
        self.t0 = t0

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return (z[:, :1] - self.t0) * self.tendency(z[:, 1:])


class TrigGrid(nn.Module):
    """The trigonometric interpolant of values on a uniform periodic grid (a tensor product
    over the axes): exact at the nodes, spectrally accurate between them.

    Parameters
    ----------
    axes : list of (start, period, nodes)
        One per axis; the nodes are ``start + period·k/nodes``.
    values : array (nodes_1, …, nodes_d, fields)
    """

    def __init__(self, axes: list[tuple[float, float, int]], values: np.ndarray) -> None:
        super().__init__()
        self.axes = [(float(a), float(p), int(n)) for a, p, n in axes]
        coef = np.asarray(values, dtype=float)
        for j, (_a, _p, n) in enumerate(self.axes):
            inv = np.linalg.inv(_trig_basis(2 * np.pi * np.arange(n)[:, None] / n, n, np))
            coef = np.moveaxis(np.tensordot(inv, np.moveaxis(coef, j, 0), axes=(1, 0)), 0, j)
        self.register_buffer("coef", torch.as_tensor(coef))

    def _basis(self, x: torch.Tensor, j: int) -> torch.Tensor:
        a0, period, n = self.axes[j]
        return _trig_basis((2 * np.pi / period) * (x[:, j : j + 1] - a0), n, torch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = self.coef
        out = self._basis(x, 0) @ c.reshape(c.shape[0], -1)  # (points, rest)
        for j in range(1, len(self.axes)):
            out = out.reshape(len(x), c.shape[j], -1)
            out = torch.einsum("mk,mkr->mr", self._basis(x, j), out)
        return out.reshape(len(x), c.shape[-1])


def _trig_basis(theta, n: int, xp):
    """``1, cos kθ, sin kθ (k < n/2), cos(n/2 θ) (n even)`` at ``theta`` (a column)."""
    k = xp.arange(1, (n - 1) // 2 + 1, dtype=theta.dtype)
    parts = [theta * 0 + 1, xp.cos(theta * k), xp.sin(theta * k)]
    if n % 2 == 0:
        parts.append(xp.cos(theta * (n // 2)))
    return xp.concatenate(parts, axis=1) if xp is np else torch.cat(parts, dim=1)


def periodic_grid_lift(problem: Problem) -> nn.Module | None:
    """``G`` as the initial values' trigonometric interpolant, when they lie on a uniform
    grid that fills a box whose every side wraps (else ``None``)."""
    dom = problem.domain
    if not (problem.time_dependent and problem.grid is not None and isinstance(dom, Box)):
        return None
    if set(dom.periodic) != set(dom.names):
        return None
    axes = []
    for name, a, b in dom.sides:
        g = np.asarray(problem.grid[name], float)
        n = len(g)
        if n < 3 or not np.allclose(g, a + (b - a) * np.arange(n) / n, rtol=0, atol=1e-9 * (b - a)):
            return None
        axes.append((a, b - a, n))
    mesh = np.meshgrid(*[problem.grid[c] for c in dom.names], indexing="ij")
    values = problem.initial_values(np.stack([m.ravel() for m in mesh], axis=1))
    if not np.all(np.isfinite(values)):
        raise DataError("the initial or boundary values have missing (NaN) values")
    return SpaceOnly(TrigGrid(axes, values.reshape(*mesh[0].shape, -1)))


class SplineModule(nn.Module):
    """A :class:`~discover.solve.spline.StationSpline` as a frozen torch module of points
    ``(m, d)``: ``Σ wᵢ (|z − zᵢ|² + δ)^{3/2} + a₀ + a·z`` in the spline's scaled coordinates
    ``z`` (``δ = 1e-24`` keeps autograd finite at a station itself)."""

    def __init__(self, spline: Any) -> None:
        super().__init__()
        for name in ("shift", "scale", "centres", "weights", "poly"):
            self.register_buffer(name, torch.as_tensor(np.asarray(getattr(spline, name), float)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = (x - self.shift) / self.scale
        d2 = torch.sum((z[:, None, :] - self.centres[None]) ** 2, dim=2) + 1e-24
        out = (d2**1.5) @ self.weights + self.poly[0] + z @ self.poly[1:]
        return out[:, None]


class AtTime(nn.Module):
    """A module of ``(t, x…)`` read at the fixed time ``t0``: a module of ``x…``."""

    def __init__(self, net: nn.Module, t0: float) -> None:
        super().__init__()
        self.net = net
        self.t0 = t0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([torch.full_like(x[:, :1], self.t0), x], dim=1))


class Fields(nn.Module):
    """Several one-column modules side by side (one per field)."""

    def __init__(self, parts: list[nn.Module]) -> None:
        super().__init__()
        self.parts = nn.ModuleList(parts)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([p(x) for p in self.parts], dim=1)


def exact_lift(problem: Problem) -> nn.Module | None:
    """``G(t, x) = s(x)`` when every field's initial values are a smooth interpolant with a
    torch form (``torch_module()``, e.g. a :class:`~discover.solve.spline.StationSpline`)
    and the walls hold the initial values: it meets both exactly (else ``None``).  Where
    every field's initial values also give their tendency at the start
    (``tendency_module()`` not None: an assimilated start state), the walls carry it on,
    ``G = s(x) + (t − t0)·τ(x)``."""
    init = problem.initial or {}
    if not (problem.time_dependent and init and problem.boundary == "initial"):
        return None
    if not all(hasattr(v, "torch_module") for v in init.values()):
        return None
    start = SpaceOnly(Fields([init[f].torch_module() for f in problem.fields]))
    trend = [getattr(init[f], "tendency_module", lambda: None)() for f in problem.fields]
    if any(m is None for m in trend):
        return start
    return Sum(start, Drift(Fields(trend), float(problem.times[0])))


def fit_lift(
    problem: Problem,
    lo: np.ndarray,
    hi: np.ndarray,
    per: list[bool],
    rng: np.random.Generator,
    settings: LiftSettings,
) -> tuple[nn.Module, dict[str, Any]]:
    """``G`` and what was done: the trigonometric interpolant where it applies (unless
    ``settings.lift`` is ``"network"``), else networks.  Steady: one network fitted to the
    boundary values.  Time-dependent: ``G = g0(x) + h(t, x) - h(t0, x)``, ``g0`` fitted to
    the initial values and ``h`` to what the walls add to ``g0`` over time (nothing when they
    keep their initial values)."""
    t_start = time.perf_counter()
    trig = periodic_grid_lift(problem) if settings.lift == "auto" else None
    exact = exact_lift(problem) if settings.lift == "auto" and trig is None else None
    if trig is not None:
        parts, err, rms = "initial (trigonometric interpolation)", 0.0, 1.0
        lift: nn.Module = trig
    elif exact is not None:
        parts, err, rms = "initial and walls (the start state's module, exact)", 0.0, 1.0
        lift = exact
    else:
        init_p, init_v, wall_p, wall_v = _lift_samples(problem, rng, settings.lift_points)
        if init_p is None:
            lift, err = _fit_values(wall_p, wall_v, lo, hi, per, rng, settings)
            rms, parts = float(np.sqrt(np.mean(wall_v**2))), "boundary"
        else:
            lift, parts = _evolution_lift(
                problem, init_p, init_v, wall_p, wall_v, lo, hi, per, rng, settings
            )
            pts, vals = np.concatenate([init_p, wall_p]), np.concatenate([init_v, wall_v])
            with torch.no_grad():
                err = float(
                    torch.sqrt(
                        torch.mean((lift(torch.as_tensor(pts)) - torch.as_tensor(vals)) ** 2)
                    )
                )
            rms = float(np.sqrt(np.mean(vals**2)))
    return lift, {
        "lift": parts,
        "lift_rel_error": err / rms if rms > 0 else err,
        "lift_seconds": time.perf_counter() - t_start,
    }


def _evolution_lift(
    problem: Problem, init_p, init_v, wall_p, wall_v, lo, hi, per, rng, settings: LiftSettings
) -> tuple[nn.Module, str]:
    """``g0(x)`` fitted to the initial values, plus ``h(t, x) - h(t0, x)`` fitted to what the
    walls add to it, when they add more than ``g0``'s own fit error."""
    g0, err0 = _fit_values(init_p[:, 1:], init_v, lo[1:], hi[1:], per[1:], rng, settings)
    lift: nn.Module = SpaceOnly(g0)
    if not len(wall_p):
        return lift, "initial"
    with torch.no_grad():
        target = wall_v - lift(torch.as_tensor(wall_p)).numpy()
    # walls that keep what g0 already gives them (to within g0's own fit error) need no h:
    # fitting h to fit errors would only add wiggles
    size = max(float(np.max(np.abs(init_v))), 1e-300)
    if np.max(np.abs(target)) <= max(10 * err0, 1e-9 * size):
        return lift, "initial"
    t0 = float(problem.times[0])
    h, _ = _fit_values(wall_p, target, lo, hi, per, rng, settings, wrap=lambda n: Change(n, t0))
    return Sum(lift, h), "initial + walls"


def _lift_samples(
    problem: Problem, rng: np.random.Generator, n_points: int
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray, np.ndarray]:
    """Initial points and values (time-dependent problems), then boundary points and values
    (time first when time-dependent; empty when every side wraps)."""
    dom = problem.domain
    walls = not (isinstance(dom, Box) and set(dom.periodic) == set(dom.names))
    d = len(problem.coords)
    init_p = init_v = None
    wall_p, wall_v = np.empty((0, d)), np.empty((0, len(problem.fields)))
    if problem.time_dependent:
        t0, t1 = problem.times[0], problem.times[-1]
        if problem.grid is not None:
            mesh = np.meshgrid(*[problem.grid[c] for c in dom.names], indexing="ij")
            space = np.stack([m.ravel() for m in mesh], axis=1)
            space = space[dom.contains(space)]
        else:
            space = dom.sample(n_points, rng)
        init_v = problem.initial_values(space)
        init_p = np.column_stack([np.full(len(space), t0), space])
        if walls:
            wall_p = _grid_wall_points(problem)
            if wall_p is None:
                bs = dom.boundary_points(n_points, rng)
                wall_p = np.column_stack([rng.uniform(t0, t1, len(bs)), bs])
            wall_v = problem.boundary_values(wall_p)
    elif walls:
        wall_p = dom.boundary_points(n_points, rng)
        wall_v = problem.boundary_values(wall_p)
    else:
        raise DataError(
            "a steady problem needs walls with boundary values; every side of the box wraps"
        )
    for v in (init_v, wall_v):
        if v is not None and not np.all(np.isfinite(v)):
            raise DataError("the initial or boundary values have missing (NaN) values")
    return init_p, init_v, wall_p, wall_v


def _grid_wall_points(problem: Problem) -> np.ndarray | None:
    """For a box with gridded boundary data over time: the data's own wall nodes."""
    dom = problem.domain
    src = (
        next(iter((problem.boundary or {}).values()), None)
        if isinstance(problem.boundary, dict)
        else None
    )
    if not (isinstance(dom, Box) and problem.grid is not None and hasattr(src, "dims")):
        return None
    if "t" not in src.dims:
        return None
    tt = np.asarray(src["t"].values, float)
    tt = tt[(tt >= problem.times[0] - 1e-12) & (tt <= problem.times[-1] + 1e-12)]
    mesh = np.meshgrid(tt, *[problem.grid[c] for c in dom.names], indexing="ij")
    pts = np.stack([m.ravel() for m in mesh], axis=1)
    lo, hi = dom.bounds()
    on_wall = np.zeros(len(pts), dtype=bool)
    for j, c in enumerate(dom.names):
        if c not in dom.periodic:
            on_wall |= np.isclose(pts[:, j + 1], lo[j]) | np.isclose(pts[:, j + 1], hi[j])
    return pts[on_wall]


def _fit_values(
    points: np.ndarray,
    values: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    per: list[bool],
    rng: np.random.Generator,
    settings: LiftSettings,
    *,
    wrap=None,
) -> tuple[nn.Module, float]:
    """A small network of the core fitted to ``values`` at ``points`` (constant values need
    none); ``wrap(net)`` is the module actually fitted.  Returns it and its RMS error."""
    if np.all(np.ptp(values, axis=0) == 0):
        return Constant(values[0]), 0.0
    mean, std = values.mean(axis=0), values.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    mlp = MLP(
        len(lo) + sum(per), values.shape[1], width=settings.lift_width, depth=settings.lift_depth
    ).double()
    net: nn.Module = Scaled(mlp, lower=lo, upper=hi, mean=mean, std=std, periodic=per)
    if wrap is not None:
        net = wrap(net)
    x, y = torch.as_tensor(points), torch.as_tensor(values)
    order = rng.permutation(len(x))
    n_val = max(1, len(x) // 10)
    val, tr = order[:n_val], order[n_val:]
    yn_std = torch.as_tensor(std)

    def loss(model, xb, yb):
        return torch.mean(((model(xb) - yb) / yn_std) ** 2)

    fit(
        net,
        x[tr],
        y[tr],
        x_val=x[val],
        y_val=y[val],
        loss=loss,
        adam_steps=settings.lift_steps[0],
        lbfgs_steps=settings.lift_steps[1],
        lr=3e-3,
        patience=400,
        seed=settings.seed,
        progress=settings.progress,
        num_threads=settings.num_threads,
        optimizer=settings.optimizer,
        optimizer_options=settings.optimizer_options,
    )
    with torch.no_grad():
        err = float(torch.sqrt(torch.mean((net(x) - y) ** 2)))
    return net, err
