"""The neural PDE solver: the second use of the shared neural core.

Following Berg & Nyström ("A unified deep artificial neural network approach to partial
differential equations in complex geometries", *Neurocomputing* 317, 2018), the solution is

    u = G + D · N

- ``G`` meets the initial and boundary values: small networks of the core fitted to them
  (there is no closed form for values read from data).  For evolution problems
  ``G = g0(x) + h(t, x) - h(t0, x)``: ``g0`` fits the initial values and ``h`` what the walls
  add over time, so ``G`` has no structure in time that the data do not ask for (with a
  single network fitted to both, the heat equation's error stayed 50 times above that of
  the exact lift).
- ``D`` vanishes where values are imposed: ``(t - t0)/(t1 - t0)`` times the domain's
  distance function (:meth:`~discover.solve.problem.Box.distance`; a closed-form R-function
  for polygons and masks).
- ``N`` is a network of the core, trained on the PDE residual compiled from the SymPy
  equations into torch operations and differentiated by the core's autograd engine
  (:func:`discover.neural.derivative_tensors`), at collocation points drawn afresh every
  ``resample_every`` Adam steps, then L-BFGS (:func:`discover.neural.fit`), stopping early on
  the residual at held-out collocation points.

Periodic sides enter every network as ``cos θ, sin θ``, so the solution is exactly periodic.

Examples
--------
>>> import numpy as np
>>> from discover.solve import Box, Problem
>>> p = Problem("u_xx = -pi**2*sin(pi*x)", Box(x=(0.0, 1.0)), boundary=0.0)
>>> solver = NeuralSolver(width=16, depth=2, n_points=256, adam_steps=200, lbfgs_steps=200)
>>> sol = solver.solve(p)
>>> x = np.linspace(0, 1, 11)[:, None]
>>> bool(np.max(np.abs(sol(x)[:, 0] - np.sin(np.pi * x[:, 0]))) < 1e-3)
True
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import torch
from torch import nn

from ..io import DataError
from ..neural import MLP, Scaled, derivative_tensors, fit, threads
from ..neural.optimizers import check_optimizer
from .problem import Box, Problem, Solution, compile_expr, derivatives_in

__all__ = ["NeuralSolver"]

logger = logging.getLogger(__name__)


class _SpaceOnly(nn.Module):
    """A network of the spatial inputs only (drops the time column)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z[:, 1:])


class _Constant(nn.Module):
    """Constant values (a lift for constant initial and boundary values)."""

    def __init__(self, values: np.ndarray) -> None:
        super().__init__()
        self.register_buffer("values", torch.as_tensor(values, dtype=torch.float64))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.values.expand(z.shape[0], -1) + 0 * z[:, :1]


class _Change(nn.Module):
    """``h(t, x) - h(t0, x)``: zero at the initial time."""

    def __init__(self, net: nn.Module, t0: float) -> None:
        super().__init__()
        self.net = net
        self.t0 = t0

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        z0 = torch.cat([torch.full_like(z[:, :1], self.t0), z[:, 1:]], dim=1)
        return self.net(z) - self.net(z0)


class _Sum(nn.Module):
    def __init__(self, a: nn.Module, b: nn.Module) -> None:
        super().__init__()
        self.a, self.b = a, b

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.a(z) + self.b(z)


class _Ansatz(nn.Module):
    """``G + D · N`` with ``G`` frozen."""

    def __init__(self, lift: nn.Module, distance, net: nn.Module) -> None:
        super().__init__()
        self.lift = lift
        self.distance = distance
        self.net = net
        for p in self.lift.parameters():
            p.requires_grad_(False)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.lift(z) + self.correction(z)

    def correction(self, z: torch.Tensor) -> torch.Tensor:
        """``D · N``: the trained part."""
        return self.distance(z) * self.net(z)


class NeuralSolver:
    """Solve a :class:`~discover.solve.Problem` with ``u = G + D·N`` (see the module notes).

    Parameters
    ----------
    width, depth : int
        Hidden units and layers of ``N``.
    activation : {"tanh", "sin"}
    n_points : int
        Collocation points per draw (space–time).
    resample_every : int
        Adam steps between draws of the collocation points.
    adam_steps, lbfgs_steps : int
        Steps of each training phase for ``N``.
    lr : float
        Adam's learning rate.
    lift_width, lift_depth, lift_points : int
        Network of ``G`` and the number of initial/boundary samples it is fitted to (data
        on a grid are used as they are); constant values need no network.
    lift_steps : (int, int)
        Adam and L-BFGS steps of the fit of ``G``.
    seed : int
    progress : bool
        Show progress bars.
    num_threads : int, optional
    optimizer : {"adam", "lbfgs", "entropy-sgd", "langevin"}
        First training phase of ``N`` and ``G`` (see :mod:`discover.neural.optimizers`).
    optimizer_options : dict, optional
        Options of that optimizer.
    network : {"icnn", "mlp"}, optional
        For equations of the Hessian (``det(hessian(u)) = f``, see
        :mod:`discover.solve.monge_ampere`): an input-convex network (their default), or a
        plain one with a convexity penalty.  Other equations take ``"mlp"`` (their default).
    boundary_weight, boundary_points, convexity_weight, hull, source_noise
        Equations of the Hessian only: the weight of the boundary loss and its points per
        draw (default a quarter of ``n_points``, half above two dimensions), the weight of
        the convexity penalty of ``"mlp"``, whether a non-convex polygon or mask is replaced
        by its convex hull, and relative noise ``p`` put on the source at fixed collocation
        points (``σ = p·rms(f)``; the paper's noisy-source test).
    """

    name = "neural"

    def __init__(
        self,
        *,
        width: int = 32,
        depth: int = 3,
        activation: str = "tanh",
        n_points: int = 2048,
        resample_every: int = 100,
        adam_steps: int = 1000,
        lbfgs_steps: int = 2000,
        lr: float = 2e-3,
        lift_width: int = 32,
        lift_depth: int = 3,
        lift_points: int = 2048,
        lift_steps: tuple[int, int] = (1000, 1000),
        seed: int = 0,
        progress: bool = False,
        num_threads: int | None = None,
        optimizer: str = "adam",
        optimizer_options: dict | None = None,
        network: str | None = None,
        boundary_weight: float = 10.0,
        boundary_points: int | None = None,
        convexity_weight: float = 1.0,
        hull: bool = False,
        source_noise: float = 0.0,
    ) -> None:
        self.width = width
        self.depth = depth
        self.activation = activation
        self.n_points = n_points
        self.resample_every = resample_every
        self.adam_steps = adam_steps
        self.lbfgs_steps = lbfgs_steps
        self.lr = lr
        self.lift_width = lift_width
        self.lift_depth = lift_depth
        self.lift_points = lift_points
        self.lift_steps = lift_steps
        self.seed = seed
        self.progress = progress
        self.num_threads = num_threads
        self.optimizer = check_optimizer(optimizer)
        self.optimizer_options = optimizer_options
        self.network = network
        self.boundary_weight = boundary_weight
        self.boundary_points = boundary_points
        self.convexity_weight = convexity_weight
        self.hull = hull
        self.source_noise = source_noise

    # ------------------------------------------------------------------ pieces
    def _bounds(self, problem: Problem) -> tuple[np.ndarray, np.ndarray, list[bool]]:
        lo, hi = problem.domain.bounds()
        per = [
            isinstance(problem.domain, Box) and c in problem.domain.periodic
            for c in problem.domain.names
        ]
        if problem.time_dependent:
            lo = np.concatenate([[problem.times[0]], lo])
            hi = np.concatenate([[problem.times[-1]], hi])
            per = [False, *per]
        return np.asarray(lo, float), np.asarray(hi, float), per

    def _lift_samples(
        self, problem: Problem, rng: np.random.Generator
    ) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray, np.ndarray]:
        """Initial points and values (time-dependent problems), then boundary points and
        values (time first when time-dependent; empty when every side wraps)."""
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
                space = dom.sample(self.lift_points, rng)
            init_v = problem.initial_values(space)
            init_p = np.column_stack([np.full(len(space), t0), space])
            if walls:
                wall_p = self._boundary_points(problem, rng)
                if wall_p is None:
                    bs = dom.boundary_points(self.lift_points, rng)
                    wall_p = np.column_stack([rng.uniform(t0, t1, len(bs)), bs])
                wall_v = problem.boundary_values(wall_p)
        elif walls:
            wall_p = dom.boundary_points(self.lift_points, rng)
            wall_v = problem.boundary_values(wall_p)
        else:
            raise DataError(
                "a steady problem needs walls with boundary values; every side of the box wraps"
            )
        for v in (init_v, wall_v):
            if v is not None and not np.all(np.isfinite(v)):
                raise DataError("the initial or boundary values have missing (NaN) values")
        return init_p, init_v, wall_p, wall_v

    @staticmethod
    def _boundary_points(problem: Problem, rng: np.random.Generator) -> np.ndarray | None:
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
        self,
        points: np.ndarray,
        values: np.ndarray,
        lo: np.ndarray,
        hi: np.ndarray,
        per: list[bool],
        rng: np.random.Generator,
        *,
        wrap=None,
    ) -> tuple[nn.Module, float]:
        """A small network of the core fitted to ``values`` at ``points`` (constant values
        need none); ``wrap(net)`` is the module actually fitted."""
        if np.all(np.ptp(values, axis=0) == 0):
            return _Constant(values[0]), 0.0
        mean, std = values.mean(axis=0), values.std(axis=0)
        std = np.where(std > 0, std, 1.0)
        net: nn.Module = Scaled(
            MLP(
                len(lo) + sum(per), values.shape[1], width=self.lift_width, depth=self.lift_depth
            ).double(),
            lower=lo,
            upper=hi,
            mean=mean,
            std=std,
            periodic=per,
        )
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
            adam_steps=self.lift_steps[0],
            lbfgs_steps=self.lift_steps[1],
            lr=3e-3,
            patience=400,
            seed=self.seed,
            progress=self.progress,
            num_threads=self.num_threads,
            optimizer=self.optimizer,
            optimizer_options=self.optimizer_options,
        )
        with torch.no_grad():
            err = float(torch.sqrt(torch.mean((net(x) - y) ** 2)))
        return net, err

    def _fit_lift(
        self, problem: Problem, lo: np.ndarray, hi: np.ndarray, per: list[bool], rng
    ) -> tuple[nn.Module, dict[str, Any]]:
        """``G``.  Steady: one network fitted to the boundary values.  Time-dependent:
        ``G = g0(x) + h(t, x) - h(t0, x)``, ``g0`` fitted to the initial values (a function
        of space only, so ``G`` has no needless structure in time) and ``h`` to what the
        walls add to ``g0`` over time (nothing when they keep their initial values)."""
        t_start = time.perf_counter()
        init_p, init_v, wall_p, wall_v = self._lift_samples(problem, rng)
        if init_p is None:
            lift, err = self._fit_values(wall_p, wall_v, lo, hi, per, rng)
            rms = float(np.sqrt(np.mean(wall_v**2)))
            parts = "boundary"
        else:
            g0, err0 = self._fit_values(init_p[:, 1:], init_v, lo[1:], hi[1:], per[1:], rng)
            lift = _SpaceOnly(g0)
            parts = "initial"
            if len(wall_p):
                with torch.no_grad():
                    target = wall_v - lift(torch.as_tensor(wall_p)).numpy()
                # walls that keep what g0 already gives them (to within g0's own fit
                # error) need no h: fitting h to fit errors would only add wiggles
                size = max(float(np.max(np.abs(init_v))), 1e-300)
                if np.max(np.abs(target)) > max(10 * err0, 1e-9 * size):
                    t0 = float(problem.times[0])
                    h, _ = self._fit_values(
                        wall_p, target, lo, hi, per, rng, wrap=lambda n: _Change(n, t0)
                    )
                    lift = _Sum(lift, h)
                    parts = "initial + walls"
            pts = np.concatenate([init_p, wall_p])
            vals = np.concatenate([init_v, wall_v])
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

    # ------------------------------------------------------------------ solve
    def solve(self, problem: Problem) -> Solution:
        """Train ``N`` on the residual of ``problem``; the :class:`Solution` evaluates
        ``G + D·N`` anywhere."""
        if getattr(problem, "fully_nonlinear", False):
            from .monge_ampere import solve_fully_nonlinear

            return solve_fully_nonlinear(problem, self)
        if self.network not in (None, "mlp"):
            raise DataError(
                f"network='{self.network}' is for equations of the Hessian such as "
                "'det(hessian(u)) = f'; use network='mlp' for this problem"
            )
        t_start = time.perf_counter()
        torch.manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        lo, hi, per = self._bounds(problem)
        with threads(self.num_threads):
            lift, info = self._fit_lift(problem, lo, hi, per, rng)
        dom = problem.domain
        td = problem.time_dependent
        t0 = problem.times[0] if td else 0.0
        span = problem.times[-1] - problem.times[0] if td else 1.0

        def distance(z: torch.Tensor) -> torch.Tensor:
            d = dom.distance(z[:, 1:] if td else z)
            return d * ((z[:, :1] - t0) / span) if td else d

        coords, fields = problem.coords, problem.fields
        need = derivatives_in([e.residual for e in problem.equations], fields, coords)
        fidx = {f: i for i, f in enumerate(fields)}
        names = [*coords, *(d.name for d in need)]
        residuals = [compile_expr(e.residual, names, backend="torch") for e in problem.equations]
        mi = [tuple(d.orders) for d in need] or [(0,) * len(coords)]
        # the lift is frozen: its derivatives at a set of points are computed once (the
        # derivative operators are linear, so those of G and of D·N add up)
        lifted: list[tuple[torch.Tensor, dict]] = []

        def lift_derivatives(x: torch.Tensor) -> dict:
            for xs, vals in lifted:
                if xs is x:
                    return vals
            with torch.enable_grad():
                z = x.detach().clone().requires_grad_(True)
                vals = derivative_tensors(lift, z, mi, create_graph=False)
            vals = {k: v.detach() for k, v in vals.items()}
            lifted.append((x, vals))
            del lifted[:-3]  # the training set, the held-out set, one probe
            return vals

        def raw(x: torch.Tensor, *, lift_only: bool = False) -> torch.Tensor:
            """The residuals ``(n, equations)`` of ``G + D·N`` (or of ``G`` alone)."""
            with torch.enable_grad():
                z = x.detach().clone().requires_grad_(True)
                g = lift_derivatives(x)
                if lift_only:
                    vals = g
                else:
                    vals = derivative_tensors(model.correction, z, mi)
                    vals = {k: v + g[k] for k, v in vals.items()}
                cols = [z[:, j] for j in range(len(coords))]
                cols += [vals[tuple(d.orders)][:, fidx[d.field]] for d in need]
                return torch.stack([r(*cols) for r in residuals], dim=1)

        # natural sizes: of the correction (the lift's spread, or how far the lift's own
        # residual would move the field) and of the residual
        probe = self._collocation(problem, lo, hi, rng, 2048)
        with threads(self.num_threads):
            with torch.no_grad():
                g0 = lift(probe)
            if not torch.all(torch.isfinite(g0)):
                raise DataError("the fitted initial/boundary values are not finite")
            rms0 = torch.sqrt(torch.mean(raw(probe, lift_only=True).detach() ** 2, dim=0))
        if td:
            reach = rms0 * span
        else:
            extent = float(np.max(hi - lo)) / 2
            order = max((sum(d.orders) for d in need), default=0)
            reach = rms0 * extent**order
        scale = torch.maximum(g0.std(dim=0), reach)
        scale = torch.where(scale > 0, scale, torch.ones_like(scale))
        ref = torch.maximum(rms0, scale / span) if td else torch.where(rms0 > 0, rms0, scale)
        net = Scaled(
            MLP(
                len(lo) + sum(per),
                len(fields),
                width=self.width,
                depth=self.depth,
                activation=self.activation,
            ).double(),
            lower=lo,
            upper=hi,
            mean=np.zeros(len(fields)),
            std=scale.numpy(),
            periodic=per,
        )
        model = _Ansatz(lift, distance, net)

        def loss(mdl: nn.Module, x: torch.Tensor, _y: torch.Tensor) -> torch.Tensor:
            return torch.mean((raw(x) / ref) ** 2)

        with threads(self.num_threads):
            x = self._collocation(problem, lo, hi, rng, self.n_points)
            x_val = self._collocation(problem, lo, hi, rng, max(256, self.n_points // 4))
            empty = torch.zeros(len(x), 0, dtype=torch.float64)

            def resample() -> tuple[torch.Tensor, torch.Tensor]:
                return self._collocation(problem, lo, hi, rng, self.n_points), empty

            res = fit(
                model,
                x,
                empty,
                x_val=x_val,
                y_val=torch.zeros(len(x_val), 0, dtype=torch.float64),
                loss=loss,
                adam_steps=self.adam_steps,
                lbfgs_steps=self.lbfgs_steps,
                lr=self.lr,
                patience=max(400, self.resample_every * 4),
                seed=self.seed,
                progress=self.progress,
                num_threads=self.num_threads,
                resample=resample,
                resample_every=self.resample_every,
                optimizer=self.optimizer,
                optimizer_options=self.optimizer_options,
            )
        model.eval()
        info.update(
            {
                "steps": res.steps,
                "best_step": res.best_step,
                "train_loss": res.train_loss,
                "val_loss": res.val_loss,
                "residual_scale": ref.tolist(),
                "train_seconds": res.seconds,
                "n_points": self.n_points,
                "network": f"{self.depth}x{self.width} {self.activation}",
                "optimizer": self.optimizer,
            }
        )

        def evaluate(points: np.ndarray) -> np.ndarray:
            out = []
            with torch.no_grad(), threads(self.num_threads):
                for s in range(0, len(points), 16384):
                    out.append(model(torch.as_tensor(points[s : s + 16384])).numpy())
            return np.concatenate(out) if out else np.empty((0, len(fields)))

        seconds = time.perf_counter() - t_start
        logger.info("neural solve: %.1f s, residual loss %.3g", seconds, res.val_loss)
        return Solution(problem, self.name, evaluate, seconds=seconds, info=info)

    def _collocation(
        self, problem: Problem, lo: np.ndarray, hi: np.ndarray, rng, n: int
    ) -> torch.Tensor:
        space = problem.domain.sample(n, rng)
        if problem.time_dependent:
            t = rng.uniform(lo[0], hi[0], n)
            space = np.column_stack([t, space])
        return torch.as_tensor(space)
