"""The start state of a forecast from scattered values by assimilation: a network of
``(t, x)`` fitted over a window *before* the start to the PDE's residual and to the values
observed in that window, read at the start.

A smoothing spline of the values at the start alone (:class:`~discover.solve.spline.
StartState`) carries the noise of one or a few observation times.  Fitted over many of
them with the equation as a constraint, the state at the start averages the noise over
every observation in the window, and the part of the region that the flow carries past the
stations is shaped by what they saw earlier.  The window is the record's last stretch up to
the start, twice as long as the forecast reaches after it
(:data:`~discover.solve.stations.SPAN` times the forecast's span) and at most
:data:`~discover.solve.stations.MAX_TIMES` observation times
(:func:`~discover.solve.stations.window_start`; scattered data: at most
:data:`~discover.validate.scattered.MAX_OBS` observations); nothing after the start enters,
nor anything the caller leaves out.  This module needs torch; the others import it when
they use it.

With ``drift=True`` the state also gives its tendency at the start, ``∂u/∂t(t0, x)`` (a
backward difference of the fitted ``u``), which the neural solver's walls then carry on in
time, ``s(x) + (t − t0)·∂u/∂t`` (:meth:`AssimilatedState.tendency_module`,
:func:`~discover.solve.lift.exact_lift`), instead of holding the start state.  On the
L-shape check the held walls cost a forecast from the *exact* start 0.49 σ at the last lead
(seed 1), the exact tendency carried on 0.13 σ; with the assimilated tendency seed 1 went
from 1.18 to 1.13 × the floor (seeds 0, 2, 4 level, 3: 1.23 -> 1.25), but the 45 towns'
forecast from 3.65 to 5.7 °C (13 days of a weather tendency carried on), so it is off by
default.

The fit: ``u(t, x) = s(x) + N(t, x)`` with ``s`` the spline of the start (a prior, frozen)
and ``N`` a network of the core, trained on

    mean((PDE residual / r)²) + data_weight · mean(((u − y) / σ)²)

at collocation points drawn afresh over the window and region, and at the observations;
``r`` is the residual's natural size (as in the neural solver) and ``σ`` each field's noise
as the spline's leave-one-out error estimates it.  A tenth of the observations, chosen at
random, is held out of the fit for early stopping.  ``data_weight`` is 0.01 by default: on
the L-shaped stations (seed 0) the state's error at the stations was 0.72, 0.53, 0.41 and
0.44 σ for weights 10, 1, 0.1 and 0.01, and between the stations (farther than 0.5 from any)
7.7, 8.0, 5.6 and 4.3 σ (the spline of the start alone: 0.70 and 4.3 σ); a penalty on ``N``
(``prior_weight``) did not help.

Examples
--------
>>> from discover.solve import Box
>>> rng = np.random.default_rng(0)
>>> t = np.repeat(np.linspace(0.0, 0.5, 6), 30)
>>> x = rng.uniform(0, 2, t.size)
>>> pts = np.column_stack([t, x])
>>> y = np.sin(x - 0.5 * t)[:, None] + 0.02 * rng.standard_normal((t.size, 1))
>>> s = AssimilatedState(["u_t = -0.5*u_x"], Box(x=(0.0, 2.0)), ("t", "x"), ("u",), pts, y,
...                      steps=(150, 100))
>>> q = np.linspace(0.2, 1.8, 9)[:, None]
>>> bool(np.sqrt(np.mean((s(q)[:, 0] - np.sin(q[:, 0] - 0.25)) ** 2)) < 0.03)
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import DataError
from ..neural import MLP, Scaled, fit, threads
from .lift import AtTime, Fields, SpaceOnly
from .neural import _Ansatz, _Residual, _scales
from .problem import Problem
from .spline import StationSpline

__all__ = ["AssimilatedState", "FieldOf"]


class FieldOf(nn.Module):
    """Column ``k`` of a module's output."""

    def __init__(self, net: nn.Module, k: int) -> None:
        super().__init__()
        self.net, self.k = net, k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)[:, self.k : self.k + 1]


class Tendency(nn.Module):
    """``(u(t0, x) − u(t0 − h, x)) / h`` of a module ``u`` of ``(t, x)``."""

    def __init__(self, net: nn.Module, t0: float, h: float) -> None:
        super().__init__()
        self.net, self.t0, self.h = net, t0, h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        now = torch.cat([torch.full_like(x[:, :1], self.t0), x], dim=1)
        before = torch.cat([torch.full_like(x[:, :1], self.t0 - self.h), x], dim=1)
        return (self.net(now) - self.net(before)) / self.h


class AssimilatedState:
    """The state at the end of an assimilation window (see the module notes).

    Parameters
    ----------
    equations : sequence
        The evolution equations (text or :class:`~discover.equation.Equation`).
    domain : Box, Polygon or Mask
        Where they hold.
    coords, fields : sequence of str
        Coordinate names (time first) and field names.
    points : array (n, 1 + d)
        Observation times and positions, none after the start ``t0 = points[:, 0].max()``.
    values : array (n, fields)
        The observations (NaN where missing).
    data_weight : float
        Weight of the data misfit against the PDE residual.
    width, depth, n_points : int
        ``N``'s size and the collocation points per draw.
    steps : (int, int)
        Adam and L-BFGS steps.
    seed : int
    drift : bool
        Whether :meth:`tendency_module` gives the state's tendency at the start, which the
        neural solver's lift carries on in time on the walls (else the walls hold the state).

    Attributes
    ----------
    t0 : float
        The start.
    noise_ : ndarray (fields,)
        The noise level ``σ`` each field's misfit is divided by.
    misfit_ : ndarray (fields,)
        RMS misfit of the fit at the held-out observations.
    how_ : str
    walls_ : str
        What the walls of a solve from this state carry.
    """

    def __init__(
        self,
        equations: Sequence[Any],
        domain: Any,
        coords: Sequence[str],
        fields: Sequence[str],
        points: np.ndarray,
        values: np.ndarray,
        *,
        data_weight: float = 0.01,
        prior_weight: float = 0.0,
        width: int = 32,
        depth: int = 3,
        n_points: int = 1024,
        steps: tuple[int, int] = (500, 500),
        seed: int = 0,
        drift: bool = False,
    ) -> None:
        pts, vals = np.asarray(points, float), np.asarray(values, float).reshape(len(points), -1)
        self.t0, self.fields, self.drift = float(pts[:, 0].max()), tuple(fields), drift
        t_first = float(pts[:, 0].min())
        self._dt = 1e-3 * (self.t0 - t_first)
        if not t_first < self.t0:
            raise DataError("the assimilation window holds one time only; it needs two or more")
        prior, self.noise_ = _prior(pts, vals, self.t0)
        problem = Problem(
            equations, domain, time=np.array([t_first, self.t0]), fields=list(fields),
            initial={f: 0.0 for f in fields}, boundary="initial",
        )  # fmt: skip
        if list(problem.coords) != list(coords):
            raise DataError(f"coordinates {problem.coords} differ from the data's {coords}")
        rng = np.random.default_rng(seed)
        torch.manual_seed(seed)
        with threads(1):
            self._state, self.misfit_, self.steps_ = _fit(
                problem, prior, pts, vals, self.noise_, rng,
                data_weight=data_weight, prior_weight=prior_weight, width=width, depth=depth,
                n_points=n_points, steps=steps, seed=seed,
            )  # fmt: skip
        n_times = len(np.unique(pts[:, 0]))
        self.how_ = (
            f"assimilated: the PDE fitted to {len(pts)} observations at {n_times} times in "
            f"[{t_first:g}, {self.t0:g}] (noise σ {', '.join(f'{s:.3g}' for s in self.noise_)}"
            f" from the spline's leave-one-out error; held-out misfit "
            f"{', '.join(f'{m:.3g}' for m in self.misfit_)})"
        )
        self.loo_rmse_ = float(self.misfit_[0])

    @property
    def walls_(self) -> str:
        """What the walls of a solve from this state carry."""
        if self.drift:
            return "the walls carry it on with its tendency at the start, (t − t0)·∂u/∂t"
        return "the walls hold it"

    def __call__(self, *points: np.ndarray) -> np.ndarray:
        """Values ``(m, fields)`` at ``t0`` at ``points`` ``(m, d)`` or at the columns given
        apart."""
        if len(points) == 1 and np.ndim(points[0]) == 2:
            pts = np.asarray(points[0], float)
        else:
            pts = np.column_stack([np.asarray(c, float).ravel() for c in points])
        with torch.no_grad():
            return self.torch_module()(torch.as_tensor(pts)).numpy()

    def torch_module(self) -> nn.Module:
        """The state at ``t0`` as a frozen float64 module of spatial points ``(m, d)``."""
        return AtTime(self._state, self.t0)

    def tendency_module(self) -> nn.Module | None:
        """``∂u/∂t`` at ``t0`` (a backward difference of the fitted state) as a frozen float64
        module of spatial points, or None unless ``drift``."""
        if not self.drift:
            return None
        return Tendency(self._state, self.t0, self._dt)

    def field(self, name: str) -> _OneField:
        """One field's state, as :class:`~discover.solve.Problem` takes initial values."""
        return _OneField(self, self.fields.index(name))


class _OneField:
    """One field of an :class:`AssimilatedState` (a function and a torch module)."""

    def __init__(self, state: AssimilatedState, k: int) -> None:
        self.state, self.k = state, k
        self.how_, self.loo_rmse_ = state.how_, float(state.misfit_[k])

    def __call__(self, *points: np.ndarray) -> np.ndarray:
        return self.state(*points)[:, self.k]

    def torch_module(self) -> nn.Module:
        return FieldOf(self.state.torch_module(), self.k)

    def tendency_module(self) -> nn.Module | None:
        tend = self.state.tendency_module()
        return None if tend is None else FieldOf(tend, self.k)


def _prior(pts: np.ndarray, vals: np.ndarray, t0: float) -> tuple[nn.Module, np.ndarray]:
    """``s``: each field's smoothing spline of the observations nearest the start in time,
    as a module of ``(t, x)`` that ignores ``t``; and each field's noise level (the spline's
    leave-one-out error)."""
    times = np.unique(pts[:, 0])
    parts, noise = [], []
    for k in range(vals.shape[1]):
        ok = np.isfinite(vals[:, k])
        last = ok & (pts[:, 0] == t0)
        if last.sum() < pts.shape[1] + 1:  # scattered: the latest observations instead
            n = min(int(ok.sum()), 200)
            last = ok & (pts[:, 0] >= np.sort(pts[ok, 0])[-n])
        if last.sum() < pts.shape[1] + 1:
            raise DataError(
                f"only {int(last.sum())} values near the start, t = {t0:g}; too few to "
                f"spread over the region (times in the window: {len(times)})"
            )
        s = StationSpline(pts[last, 1:], vals[last, k])
        parts.append(s.torch_module())
        noise.append(max(s.loo_rmse_, 1e-6 * (float(np.std(vals[ok, k])) or 1.0)))
    return SpaceOnly(Fields(parts)), np.asarray(noise)


def _fit(problem: Problem, prior: nn.Module, pts, vals, noise, rng, *, data_weight,
         prior_weight, width, depth, n_points, steps, seed):  # fmt: skip
    """Train ``N`` of ``u = s + N`` (the neural solver's ansatz with ``D = 1``); the state,
    the held-out misfit per field and the steps taken."""
    lo, hi = problem.domain.bounds()
    lo = np.concatenate([[pts[:, 0].min()], lo])
    hi = np.concatenate([[pts[:, 0].max()], hi])
    residual = _Residual(problem, prior, _one)

    def draw(n: int) -> torch.Tensor:
        space = problem.domain.sample(n, rng)
        return torch.as_tensor(np.column_stack([rng.uniform(lo[0], hi[0], n), space]))

    _, ref = _scales(problem, prior, residual, draw(2048), 1.0)
    nf = len(problem.fields)
    mlp = MLP(len(lo), nf, width=width, depth=depth)
    net = Scaled(mlp.double(), lower=lo, upper=hi, mean=np.zeros(nf), std=noise * 3)
    model = _Ansatz(prior, _one, net.to(torch.float32))
    order = rng.permutation(len(pts))
    n_val = max(1, len(pts) // 10)
    x_obs = torch.as_tensor(pts)
    with torch.no_grad():  # the data less the prior: what N has to add
        gap = torch.as_tensor(vals) - prior(x_obs)
    fin = torch.isfinite(gap)
    gap = torch.where(fin, gap, torch.zeros_like(gap))
    x32 = x_obs.to(torch.float32)
    sig = torch.as_tensor(noise)

    def misfit(m: _Ansatz, idx) -> torch.Tensor:
        err = (m.net(x32[idx]).to(torch.float64) - gap[idx]) / sig
        return torch.sum((err * fin[idx]) ** 2) / max(int(fin[idx].sum()), 1)

    val_idx, tr_idx = order[:n_val], order[n_val:]

    def loss(m: nn.Module, x: torch.Tensor, _y: torch.Tensor) -> torch.Tensor:
        out = torch.mean((residual(m, x) / ref) ** 2) + data_weight * misfit(m, tr_idx)
        if prior_weight:
            out = out + prior_weight * torch.mean((m.correction(x) / sig) ** 2)
        return out

    def val_loss(m: nn.Module, x: torch.Tensor, _y: torch.Tensor) -> torch.Tensor:
        return torch.mean((residual(m, x) / ref) ** 2) + data_weight * misfit(m, val_idx)

    x = draw(n_points)
    empty = torch.zeros(len(x), 0, dtype=torch.float64)
    x_val = draw(max(256, n_points // 4))
    res = fit(
        model, x, empty, x_val=x_val, y_val=torch.zeros(len(x_val), 0, dtype=torch.float64),
        loss=loss, val_loss=val_loss, resample=lambda: (draw(n_points), empty),
        adam_steps=steps[0], lbfgs_steps=steps[1], lr=2e-3, patience=400, seed=seed,
        num_threads=1,
    )  # fmt: skip
    model.net.double()
    model.eval()
    with torch.no_grad():
        err = model(x_obs[val_idx]).numpy() - vals[val_idx]
    rms = np.sqrt(np.nanmean(err**2, axis=0))
    return model, rms, res.steps


def _one(z: torch.Tensor) -> torch.Tensor:
    """``D = 1``: nothing imposed."""
    return 0 * z[:, :1] + 1
