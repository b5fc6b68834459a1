"""The neural PDE solver: the second use of the shared neural core.

Following Berg & Nyström ("A unified deep artificial neural network approach to partial
differential equations in complex geometries", *Neurocomputing* 317, 2018), the solution is

    u = G + D · N

- ``G`` meets the initial and boundary values (:mod:`discover.solve.lift`): the initial
  values' trigonometric interpolant on a periodic grid, else small networks of the core
  fitted to them.
- ``D`` vanishes where values are imposed: ``(t - t0)/(t1 - t0)`` times the domain's
  distance function (:meth:`~discover.solve.problem.Box.distance`; a closed-form R-function
  for polygons and masks).
- ``N`` is a network of the core, trained on the PDE residual compiled from the SymPy
  equations into torch operations, at collocation points drawn afresh every
  ``resample_every`` Adam steps, then L-BFGS (:func:`discover.neural.fit`), stopping early on
  the residual at held-out collocation points.

``G`` and ``D`` are frozen, so their derivatives at a set of points are computed once and
reused at every step; ``N``'s come from the core's autograd engine
(:func:`discover.neural.derivative_tensors`) and join ``D``'s by Leibniz's rule.  ``N`` may
train in single precision (``precision="float32"``, the default: a third less time, the
same accuracy) and is evaluated in double precision.  Evolution problems may be solved in
``windows`` one after another, each starting from the last one's end state and weights;
the residual may be weighted causally in time (``causal=``, Wang, Sankaran & Perdikaris
2022) and collocation points drawn where the residual is large (``resampling="residual"``,
Wu et al. 2023).  ``benchmarks/neural_solver.py`` measures each choice.

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

import copy
import logging
import time
from collections.abc import Callable
from itertools import pairwise
from typing import Any

import numpy as np
import torch
import xarray as xr
from torch import nn

from ..io import DataError
from ..neural import MLP, Scaled, TrainResult, derivative_tensors, fit, threads
from ..neural.autodiff import down_closure, leibniz
from ..neural.optimizers import check_optimizer
from ..neural.trainer import FitOptions
from .base import Solver
from .lift import LIFTS, fit_lift
from .problem import Box, Problem, Solution, compile_expr, derivatives_in

__all__ = ["PRECISIONS", "RESAMPLING", "NeuralSolver"]

logger = logging.getLogger(__name__)

#: the precisions ``N`` can train in (it is always evaluated in float64)
PRECISIONS = {"float32": torch.float32, "float64": torch.float64}
#: how collocation points are drawn: uniformly, or where the residual is large
RESAMPLING = ("uniform", "residual")


class _Ansatz(nn.Module):
    """``G + D · N`` with ``G`` frozen; ``N`` in its own precision."""

    def __init__(self, lift: nn.Module, distance: Callable, net: nn.Module) -> None:
        super().__init__()
        self.lift = lift
        self.distance = distance
        self.net = net
        for p in self.lift.parameters():
            p.requires_grad_(False)

    @property
    def dtype(self) -> torch.dtype:
        return self.net.out_std.dtype

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.lift(z) + self.correction(z)

    def correction(self, z: torch.Tensor) -> torch.Tensor:
        """``D · N``: the trained part."""
        return self.distance(z) * self.net(z.to(self.dtype)).to(z.dtype)


def _distance(problem: Problem) -> Callable[[torch.Tensor], torch.Tensor]:
    """``D``: the domain's distance function, times ``(t - t0)/(t1 - t0)`` in time."""
    dom = problem.domain
    if not problem.time_dependent:
        return dom.distance
    t0, span = float(problem.times[0]), float(problem.times[-1] - problem.times[0])

    def distance(z: torch.Tensor) -> torch.Tensor:
        return dom.distance(z[:, 1:]) * ((z[:, :1] - t0) / span)

    return distance


class _Residual:
    """The residuals ``(n, equations)`` of the PDE at points, for ``u = G + D·N``.

    ``G``'s and ``D``'s derivatives are frozen: computed once per set of points (the last
    few sets are kept) and joined with ``N``'s by Leibniz's rule (derivatives are linear, so
    those of ``G`` and of ``D·N`` add up).
    """

    def __init__(self, problem: Problem, lift: nn.Module, distance: Callable) -> None:
        coords, fields = problem.coords, problem.fields
        self.need = derivatives_in([e.residual for e in problem.equations], fields, coords)
        self.fidx = {f: i for i, f in enumerate(fields)}
        names = [*coords, *(d.name for d in self.need)]
        self.fns = [compile_expr(e.residual, names, backend="torch") for e in problem.equations]
        self.mi = [tuple(d.orders) for d in self.need] or [(0,) * len(coords)]
        self.closure = down_closure(self.mi)
        self.n_coords = len(coords)
        self.lift, self.distance = lift, distance
        self._fixed: list[tuple[torch.Tensor, dict, dict]] = []

    def fixed(self, x: torch.Tensor) -> tuple[dict, dict]:
        """``G``'s and ``D``'s derivatives at ``x`` (cached by identity of ``x``)."""
        for i, (xs, g, d) in enumerate(self._fixed):
            if xs is x:
                self._fixed.append(self._fixed.pop(i))  # most recently used last
                return g, d
        with torch.enable_grad():
            z = x.detach().clone().requires_grad_(True)
            g = derivative_tensors(self.lift, z, self.mi, create_graph=False)
            z = x.detach().clone().requires_grad_(True)
            d = derivative_tensors(self.distance, z, self.closure, create_graph=False)
        g = {k: v.detach() for k, v in g.items()}
        d = {k: v.detach() for k, v in d.items()}
        self._fixed.append((x, g, d))
        del self._fixed[:-4]  # the training set, the held-out set, a pool, one more
        return g, d

    def __call__(self, model: _Ansatz | None, x: torch.Tensor) -> torch.Tensor:
        """The residuals of ``model`` at ``x`` (of ``G`` alone when ``model`` is None)."""
        g, dist = self.fixed(x)
        vals = g
        if model is not None:
            with torch.enable_grad():
                z = x.detach().to(model.dtype).requires_grad_(True)
                n = derivative_tensors(model.net, z, self.closure)
            n = {k: v.to(x.dtype) for k, v in n.items()}
            vals = {mi: g[mi] + leibniz(dist, n, mi) for mi in self.mi}
        cols = [x[:, j] for j in range(self.n_coords)]
        cols += [vals[tuple(d.orders)][:, self.fidx[d.field]] for d in self.need]
        return torch.stack([r(*cols) for r in self.fns], dim=1)


def _scales(
    problem: Problem, lift: nn.Module, residual: _Residual, probe: torch.Tensor, extent: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Natural sizes: of the correction (the lift's spread, or how far the lift's own
    residual would move the field over the window or the domain's half-width ``extent``)
    and of the residual."""
    with torch.no_grad():
        g0 = lift(probe)
    if not torch.all(torch.isfinite(g0)):
        raise DataError("the fitted initial/boundary values are not finite")
    rms0 = torch.sqrt(torch.mean(residual(None, probe).detach() ** 2, dim=0))
    if problem.time_dependent:
        span = float(problem.times[-1] - problem.times[0])
        reach = rms0 * span
    else:
        order = max((sum(d.orders) for d in residual.need), default=0)
        reach = rms0 * extent**order
    scale = torch.maximum(g0.std(dim=0), reach)
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    if problem.time_dependent:
        return scale, torch.maximum(rms0, scale / span)
    return scale, torch.where(rms0 > 0, rms0, scale)


def _causal_loss(
    residual: _Residual, ref: torch.Tensor, t0: float, t1: float, eps: float, slabs: int = 16
) -> Callable:
    """The mean squared residual per time slab, each slab weighted by
    ``exp(-eps · Σ earlier slabs' losses)`` (not differentiated): later times count once
    earlier ones are resolved (Wang, Sankaran & Perdikaris 2022)."""
    edges = torch.linspace(t0, t1, slabs + 1, dtype=torch.float64)[1:-1]

    def loss(model: nn.Module, x: torch.Tensor, _y: torch.Tensor) -> torch.Tensor:
        e = torch.mean((residual(model, x) / ref) ** 2, dim=1)
        slab = torch.bucketize(x[:, 0].contiguous(), edges)
        per = torch.zeros(slabs, dtype=e.dtype).index_add(0, slab, e)
        per = per / torch.bincount(slab, minlength=slabs).clamp(min=1)
        before = torch.cumsum(per, 0) - per
        return torch.mean(torch.exp(-eps * before).detach() * per)

    return loss


class NeuralSolver(Solver):
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
        Steps of each training phase for ``N`` (per window).
    lr : float
        Adam's learning rate.
    lift_width, lift_depth, lift_points : int
        Network of ``G`` and the number of initial/boundary samples it is fitted to (data
        on a grid are used as they are); constant values, and initial values on a periodic
        grid, need no network.
    lift_steps : (int, int)
        Adam and L-BFGS steps of the fit of ``G``.
    lift : {"auto", "network"}
        ``auto``: the initial values' trigonometric interpolant when they lie on a uniform
        grid that fills a periodic box, else networks; ``network``: networks always.
    seed : int
    progress : bool
        Show progress bars.
    num_threads : int or None
        Threads of the fits and evaluations.  One by default: a step of the default network
        on 1024 points is too small to share (two threads ran 5 to 50 times slower than one
        on a 2-core machine shared with other work, at a load of 5 to 7: the waiting threads
        compete with the working ones);
        ``None`` takes torch's setting, at most the CPUs available.
    optimizer : {"adam", "lbfgs", "entropy-sgd", "langevin"}
        First training phase of ``N`` and ``G`` (see :mod:`discover.neural.optimizers`).
    optimizer_options : dict, optional
        Options of that optimizer.
    precision : {"float32", "float64"}
        The precision ``N`` trains in; it is evaluated in float64 either way.
    windows : int
        Evolution problems: solve the time window in this many equal parts, one after
        another, each from the last one's end state (``N`` starting from its weights).
    causal : float, optional
        Evolution problems: weight the residual in time causally with this ``ε`` (off when
        None).
    resampling : {"uniform", "residual"}
        Draw collocation points uniformly, or from four times as many with probability
        ``∝ r²/mean(r²) + 1`` of their residual ``r``.
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

    name = "neural"

    def __init__(
        self,
        *,
        width: int = 32,
        depth: int = 3,
        activation: str = "tanh",
        n_points: int = 1024,
        resample_every: int = 100,
        adam_steps: int = 500,
        lbfgs_steps: int = 500,
        lr: float = 2e-3,
        lift_width: int = 32,
        lift_depth: int = 3,
        lift_points: int = 2048,
        lift_steps: tuple[int, int] = (1000, 1000),
        lift: str = "auto",
        seed: int = 0,
        progress: bool = False,
        num_threads: int | None = 1,
        optimizer: str = "adam",
        optimizer_options: dict | None = None,
        precision: str = "float32",
        windows: int = 1,
        causal: float | None = None,
        resampling: str = "uniform",
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
        self.lift = _check_choice(lift, LIFTS, "lift")
        self.seed = seed
        self.progress = progress
        self.num_threads = num_threads
        self.optimizer = check_optimizer(optimizer)
        self.optimizer_options = optimizer_options
        self.precision = _check_choice(precision, PRECISIONS, "precision")
        self.windows = _check_windows(windows)
        self.causal = _check_causal(causal)
        self.resampling = _check_choice(resampling, RESAMPLING, "resampling")
        self.network = network
        self.boundary_weight = boundary_weight
        self.boundary_points = boundary_points
        self.convexity_weight = convexity_weight
        self.hull = hull
        self.source_noise = source_noise

    # ------------------------------------------------------------------ solve
    def solve(self, problem: Problem) -> Solution:
        """Train ``N`` on the residual of ``problem`` (window by window); the
        :class:`Solution` evaluates ``G + D·N`` anywhere."""
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
        pieces: list[tuple[float, _Ansatz]] = []
        infos: list[dict[str, Any]] = []
        for times in _window_times(problem, self.windows):
            prev = pieces[-1][1] if pieces else None
            sub = problem if times is None else _window_problem(problem, times, prev)
            model, info = self._solve_one(sub, rng, warm=prev.net if prev else None)
            end = float(sub.times[-1]) if sub.time_dependent else np.inf
            pieces.append((end, model))
            infos.append(info)
        info = _merged(infos)
        seconds = time.perf_counter() - t_start
        logger.info("neural solve: %.1f s, residual loss %.3g", seconds, info["val_loss"])
        evaluate = _Evaluator(pieces, len(problem.fields), problem.time_dependent, self.num_threads)
        return Solution(problem, self.name, evaluate, seconds=seconds, info=info)

    def _solve_one(
        self, problem: Problem, rng: np.random.Generator, *, warm: nn.Module | None
    ) -> tuple[_Ansatz, dict[str, Any]]:
        """One window (or a steady problem): fit ``G``, size and train ``N``."""
        lo, hi, per = self._bounds(problem)
        with threads(self.num_threads):
            lift, info = fit_lift(problem, lo, hi, per, rng, self)
            distance = _distance(problem)
            residual = _Residual(problem, lift, distance)
            probe = self._collocation(problem, lo, hi, rng, 2048)
            scale, ref = _scales(problem, lift, residual, probe, float(np.max(hi - lo)) / 2)
        net = self._network(problem, lo, hi, per, scale, warm)
        model = _Ansatz(lift, distance, net)
        res = self._train(model, residual, ref, problem, lo, hi, rng)
        model.net.double()  # evaluated in double precision whatever it trained in
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
                "precision": self.precision,
            }
        )
        return model, info

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

    def _network(
        self, problem: Problem, lo, hi, per, scale: torch.Tensor, warm: nn.Module | None
    ) -> Scaled:
        """``N``: scaled to the window and to the correction's natural size; the weights of
        ``warm`` (the last window's ``N``) when given."""
        nf = len(problem.fields)
        mlp = MLP(
            len(lo) + sum(per), nf, width=self.width, depth=self.depth, activation=self.activation
        )
        net = Scaled(
            mlp.double(), lower=lo, upper=hi, mean=np.zeros(nf), std=scale.numpy(), periodic=per
        )
        if warm is not None:
            net.net.load_state_dict(warm.net.state_dict())
        return net.to(PRECISIONS[self.precision])

    def _train(
        self,
        model: _Ansatz,
        residual: _Residual,
        ref: torch.Tensor,
        problem: Problem,
        lo: np.ndarray,
        hi: np.ndarray,
        rng: np.random.Generator,
    ) -> TrainResult:
        """Adam on fresh collocation points every ``resample_every`` steps, then L-BFGS;
        early stopping on the plain residual at held-out points."""

        def plain(mdl: nn.Module, x: torch.Tensor, _y: torch.Tensor) -> torch.Tensor:
            return torch.mean((residual(mdl, x) / ref) ** 2)

        loss = plain
        if problem.time_dependent and self.causal is not None:
            loss = _causal_loss(residual, ref, lo[0], hi[0], self.causal)

        def draw(n: int) -> torch.Tensor:
            return self._collocation(problem, lo, hi, rng, n)

        with threads(self.num_threads):
            x, x_val = draw(self.n_points), draw(max(256, self.n_points // 4))
            empty = torch.zeros(len(x), 0, dtype=torch.float64)
            return fit(
                model,
                x,
                empty,
                x_val=x_val,
                y_val=torch.zeros(len(x_val), 0, dtype=torch.float64),
                loss=loss,
                val_loss=plain,
                resample=self._resampler(model, residual, ref, draw, rng, empty),
                options=self._fit_options(),
            )

    def _resampler(self, model, residual, ref, draw, rng, empty) -> Callable:
        """Fresh collocation points: uniform, or drawn by their residual from a pool."""
        n = self.n_points
        if self.resampling == "uniform":
            return lambda: (draw(n), empty)

        def by_residual() -> tuple[torch.Tensor, torch.Tensor]:
            pool = draw(4 * n)
            e = torch.mean((residual(model, pool).detach() / ref) ** 2, dim=1).numpy()
            p = e / max(float(e.mean()), 1e-300) + 1.0
            pick = rng.choice(len(pool), size=n, replace=False, p=p / p.sum())
            return pool[np.sort(pick)], empty

        return by_residual

    def _fit_options(self) -> FitOptions:
        return FitOptions(
            adam_steps=self.adam_steps,
            lbfgs_steps=self.lbfgs_steps,
            lr=self.lr,
            patience=max(400, self.resample_every * 4),
            seed=self.seed,
            progress=self.progress,
            num_threads=self.num_threads,
            resample_every=self.resample_every,
            optimizer=self.optimizer,
            optimizer_options=self.optimizer_options,
        )

    def _collocation(
        self, problem: Problem, lo: np.ndarray, hi: np.ndarray, rng, n: int
    ) -> torch.Tensor:
        space = problem.domain.sample(n, rng)
        if problem.time_dependent:
            t = rng.uniform(lo[0], hi[0], n)
            space = np.column_stack([t, space])
        return torch.as_tensor(space)


# ---------------------------------------------------------------------- time-marching
def _window_times(problem: Problem, windows: int) -> list[np.ndarray | None]:
    """The output times of each window (both ends included); ``[None]`` for one window."""
    if windows == 1 or not problem.evolution:
        return [None]
    t = problem.times
    ends = np.linspace(t[0], t[-1], windows + 1)
    out = []
    for a, b in pairwise(ends):
        inner = t[(t > a) & (t < b)]
        out.append(np.concatenate([[a], inner, [b]]))
    return out


def _window_problem(problem: Problem, times: np.ndarray, prev: _Ansatz | None) -> Problem:
    """``problem`` over ``times``, from ``prev``'s state at ``times[0]`` (the original initial
    values for the first window; walls held at the original initial values stay so)."""
    sub = copy.copy(problem)
    sub.times = times
    if prev is None:
        return sub
    sub.initial = _state_at(problem, prev, float(times[0]))
    if problem.boundary == "initial":
        sub.boundary = {
            f: (lambda *cols, i=i: problem.initial_values(np.column_stack(cols[1:]))[:, i])
            for i, f in enumerate(problem.fields)
        }
    return sub


def _state_at(problem: Problem, model: _Ansatz, t: float) -> dict[str, Any]:
    """``model`` at time ``t``: on the problem's grid when it has one (so the next lift sees
    grid values, as from data), else as a function of space."""
    names = problem.domain.names

    def at(space: np.ndarray) -> np.ndarray:
        pts = torch.as_tensor(np.column_stack([np.full(len(space), t), space]))
        with torch.no_grad():
            return model(pts).numpy()

    if problem.grid is None:
        return {
            f: (lambda *cols, i=i: at(np.column_stack(cols))[:, i])
            for i, f in enumerate(problem.fields)
        }
    axes = [problem.grid[c] for c in names]
    mesh = np.meshgrid(*axes, indexing="ij")
    vals = at(np.stack([m.ravel() for m in mesh], axis=1))
    return {
        f: xr.DataArray(
            vals[:, i].reshape(mesh[0].shape), coords=dict(zip(names, axes)), dims=names
        )
        for i, f in enumerate(problem.fields)
    }


def _merged(infos: list[dict[str, Any]]) -> dict[str, Any]:
    """One window's info as it is; several: totals, and the worst held-out residual."""
    if len(infos) == 1:
        return infos[0]
    out = dict(infos[-1])
    for key in ("steps", "train_seconds", "lift_seconds"):
        out[key] = sum(i[key] for i in infos)
    out["val_loss"] = max(i["val_loss"] for i in infos)
    out["windows"] = len(infos)
    out["window_val_loss"] = [i["val_loss"] for i in infos]
    return out


class _Evaluator:
    """The solution at points: each time from its window's model, in float64, in chunks."""

    def __init__(self, pieces: list[tuple[float, _Ansatz]], n_fields: int, td: bool, n_threads):
        self.ends = np.array([e for e, _ in pieces])
        self.models = [m for _, m in pieces]
        self.n_fields, self.td, self.n_threads = n_fields, td, n_threads

    def __call__(self, points: np.ndarray) -> np.ndarray:
        out = np.empty((len(points), self.n_fields))
        which = np.zeros(len(points), dtype=int)
        if self.td and len(self.models) > 1:
            which = np.searchsorted(self.ends[:-1], points[:, 0], side="left")
        with torch.no_grad(), threads(self.n_threads):
            for k, model in enumerate(self.models):
                idx = np.flatnonzero(which == k)
                for s in range(0, len(idx), 16384):
                    part = idx[s : s + 16384]
                    out[part] = model(torch.as_tensor(points[part])).numpy()
        return out


# ---------------------------------------------------------------------- checks
def _check_choice(value: str, valid, name: str) -> str:
    if value not in valid:
        raise DataError(
            f"unknown {name} '{value}'; valid: {', '.join(repr(v) for v in valid)}",
            parameter=name,
        )
    return value


def _check_windows(windows: int) -> int:
    if isinstance(windows, bool) or not isinstance(windows, int) or windows < 1:
        raise DataError(
            f"windows must be a whole number >= 1, not {windows!r}", parameter="windows"
        )
    return windows


def _check_causal(causal: float | None) -> float | None:
    if causal is not None and not (np.isfinite(causal) and causal > 0):
        raise DataError(
            f"causal must be a positive weight (e.g. 1.0) or None, not {causal!r}",
            parameter="causal",
        )
    return None if causal is None else float(causal)
