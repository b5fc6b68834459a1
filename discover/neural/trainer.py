"""Training of the shared neural core: a first phase (Adam by default; Entropy-SGD or
Langevin dynamics by name, see :mod:`discover.neural.optimizers`), then L-BFGS with a strong
Wolfe line search; full batch when the data fit, mini-batches for the first phase when they do
not; early stopping on held-out samples (the best weights by validation loss are kept); seeded
and reproducible.  On request (``record_every=``) the trajectory of the weights is recorded,
for the diffusion-map analysis of :mod:`discover.neural.diffusion_maps`.

The thread count is set for the duration of a fit and restored afterwards (no global state
changes); progress goes to ``logging`` and, on request, to a tqdm bar.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
from torch import nn

from .optimizers import check_optimizer, make_optimizer

__all__ = ["FitOptions", "TrainResult", "fit", "threads"]

logger = logging.getLogger(__name__)

Loss = Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class TrainResult:
    """What a fit did."""

    train_loss: float
    val_loss: float
    best_step: int
    steps: int
    seconds: float
    history: list[tuple[int, float, float]] = field(default_factory=list)
    #: flattened weights every ``record_every`` gradient evaluations, shape (n, n_weights)
    trajectory: np.ndarray | None = None
    #: the gradient evaluations at which the rows of ``trajectory`` were taken
    trajectory_steps: np.ndarray | None = None
    optimizer: str = "adam"


@contextlib.contextmanager
def threads(n: int | None) -> Iterator[None]:
    """Use ``n`` intra-op threads inside the block.

    By default torch's own setting, capped at the CPUs this process may use: a container's
    or a job scheduler's CPU share, or a caller that set ``torch.set_num_threads`` (a
    benchmark running one process per core), is respected.  More threads than cores makes
    OpenMP's waiting threads compete with the working ones, which slows a fit several-fold.
    """
    before = torch.get_num_threads()
    if n is None:
        try:
            n = min(before, len(os.sched_getaffinity(0)))
        except AttributeError:  # pragma: no cover - not on Linux
            n = before
    torch.set_num_threads(max(1, n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _mse(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return torch.mean((model(x) - y) ** 2)


class _Recorder:
    """Keeps the flattened weights every ``every`` gradient evaluations (``every=None``: none)."""

    def __init__(self, model: nn.Module, every: int | None) -> None:
        self.model, self.every = model, every
        self.rows: list[np.ndarray] = []
        self.steps: list[int] = []

    def __call__(self, step: int, before: int) -> None:
        if self.every is None or step // self.every == before // self.every:
            return
        with torch.no_grad():
            flat = torch.cat([p.detach().reshape(-1) for p in self.model.parameters()])
        self.rows.append(flat.double().numpy().copy())
        self.steps.append(step)

    def result(self) -> tuple[np.ndarray | None, np.ndarray | None]:
        if self.every is None:
            return None, None
        return np.array(self.rows).reshape(len(self.rows), -1), np.array(self.steps, dtype=int)


@dataclass(frozen=True)
class FitOptions:
    """How :func:`fit` trains: everything but the model, the data, the loss and the
    resampler.  Each field can also be given to :func:`fit` as a keyword.

    Attributes
    ----------
    adam_steps, lbfgs_steps : int
        Gradient evaluations of the first phase (whatever its optimizer) and L-BFGS
        iterations (checked against the held-out loss every 10).
    lr : float
        The first phase's learning rate (cosine-decayed to a tenth).
    batch_size : int, optional
        First-phase mini-batch size; full batch when ``None`` or larger than the data.
    lbfgs_batch : int, optional
        L-BFGS works on one fixed random subset of this many training points (all of them
        when None or when there are fewer): its full-batch loss over hundreds of thousands
        of points would dominate the fit while adding little to a network of a few
        thousand weights.
    patience : int
        Stop a phase when the validation loss has not improved for this many steps.
    eval_every : int
        Steps between validation checks.
    seed : int
        Seed of the mini-batch order and of the optimizers' noise.
    progress : bool
        Show a tqdm progress bar (the CLI turns it on).
    num_threads : int, optional
        Threads for the fit (default: torch's setting, at most the CPUs available; see
        :func:`threads`).
    resample_every : int
        First-phase steps between draws of a fresh training set (with ``resample=``).
    optimizer : {"adam", "lbfgs", "entropy-sgd", "langevin"}
        The first phase (see :mod:`discover.neural.optimizers`); ``lbfgs`` skips it.
    optimizer_options : dict, optional
        Options of that optimizer (e.g. ``{"inner_steps": 10}`` for Entropy-SGD).
    record_every : int, optional
        Record the flattened weights every this many steps (``TrainResult.trajectory``);
        at most once per optimizer step (Entropy-SGD's step is ``inner_steps`` evaluations)
        and once per L-BFGS chunk of 10 iterations.
    """

    adam_steps: int = 1000
    lbfgs_steps: int = 500
    lr: float = 3e-3
    batch_size: int | None = None
    lbfgs_batch: int | None = None
    patience: int = 200
    eval_every: int = 25
    seed: int = 0
    progress: bool = False
    num_threads: int | None = None
    resample_every: int = 100
    optimizer: str = "adam"
    optimizer_options: Mapping[str, Any] | None = None
    record_every: int | None = None

    def __post_init__(self) -> None:
        check_optimizer(self.optimizer)
        if self.record_every is not None and self.record_every < 1:
            raise ValueError(
                f"record_every must be a positive number of steps, not {self.record_every}"
            )


class _Monitor:
    """The held-out checks: the history, the best weights so far, and when to stop."""

    def __init__(self, model: nn.Module, loss: Loss, x_val, y_val, patience: int) -> None:
        self.model, self.loss, self.x_val, self.y_val = model, loss, x_val, y_val
        self.patience = patience
        self.best, self.best_step, self.state = math.inf, 0, None
        self.history: list[tuple[int, float, float]] = []

    def __call__(self, step: int, train_value: float) -> bool:
        """Check at ``step``; True when the phase should stop."""
        with torch.no_grad():
            v = float(self.loss(self.model, self.x_val, self.y_val))
        self.history.append((step, train_value, v))
        if v < self.best * (1 - 1e-6):
            self.best, self.best_step = v, step
            self.state = {k: t.clone() for k, t in self.model.state_dict().items()}
        return step - self.best_step > self.patience

    def restore(self) -> None:
        """Put the best weights back (when a check has seen any)."""
        if self.state is not None:
            self.model.load_state_dict(self.state)


def fit(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    x_val: torch.Tensor,
    y_val: torch.Tensor,
    loss: Loss = _mse,
    val_loss: Loss | None = None,
    resample: Callable[[], tuple[torch.Tensor, torch.Tensor]] | None = None,
    options: FitOptions | None = None,
    **settings: Any,
) -> TrainResult:
    """Train ``model`` to minimize ``loss`` on ``(x, y)``, stopping early on ``(x_val, y_val)``.

    A first phase (Adam by default), then L-BFGS from the best weights of the first; the
    model ends with the weights of the best held-out loss.

    Parameters
    ----------
    model : nn.Module
        Trained in place.
    x, y, x_val, y_val : Tensor
        Training and held-out inputs and targets.
    loss : callable
        ``loss(model, x, y)``; mean squared error by default.
    val_loss : callable, optional
        The loss of the held-out checks (default ``loss``): e.g. the plain residual where the
        training loss weights it.
    resample : callable, optional
        Draws a fresh training set ``(x, y)``; called every ``resample_every`` first-phase
        steps (the PDE solver resamples its collocation points this way).  L-BFGS keeps the
        last set, since its curvature pairs belong to one loss.
    options : FitOptions, optional
        How to train; keywords ``settings`` (the fields of :class:`FitOptions`, e.g.
        ``adam_steps=500``) replace its fields.

    Examples
    --------
    >>> import torch
    >>> from discover.neural import MLP
    >>> x = torch.linspace(-1, 1, 64, dtype=torch.float64)[:, None]
    >>> net = MLP(1, 1, width=8, depth=2).double()
    >>> r = fit(net, x, x**2, x_val=x[::7], y_val=x[::7] ** 2, adam_steps=400, lr=1e-2,
    ...         lbfgs_steps=0, optimizer="langevin", record_every=50)
    >>> r.trajectory.shape, r.val_loss < 0.05
    ((8, 97), True)
    """
    opts = replace(options or FitOptions(), **settings)
    t0 = time.perf_counter()
    gen = torch.Generator().manual_seed(opts.seed)
    monitor = _Monitor(model, val_loss or loss, x_val, y_val, opts.patience)
    record = _Recorder(model, opts.record_every)
    bar = _progress_bar(opts)
    data = {"x": x, "y": y}
    with threads(opts.num_threads):
        step = 0
        if opts.optimizer != "lbfgs" and opts.adam_steps > 0:
            step = _first_phase(model, loss, data, opts, gen, monitor, record, bar, resample)
        x, y = data["x"], data["y"]
        if opts.lbfgs_steps > 0:
            monitor.restore()
            step = _lbfgs_phase(model, loss, x, y, opts, gen, step, monitor, record, bar)
        monitor(step, float(loss(model, x, y).detach()))
    if bar is not None:
        bar.close()
    monitor.restore()
    with torch.no_grad():
        train_value = float(loss(model, x, y))
    traj, traj_steps = record.result()
    result = TrainResult(
        train_value,
        monitor.best,
        monitor.best_step,
        step,
        time.perf_counter() - t0,
        monitor.history,
        traj,
        traj_steps,
        opts.optimizer,
    )
    logger.info(
        "fit (%s): %d steps, best at %d, train %.3g, val %.3g, %.1f s",
        opts.optimizer,
        step,
        result.best_step,
        train_value,
        result.val_loss,
        result.seconds,
    )
    return result


def _progress_bar(opts: FitOptions):
    if not opts.progress:
        return None
    from tqdm.auto import tqdm

    total = opts.adam_steps + opts.lbfgs_steps
    return tqdm(total=total, desc="fitting", unit="step", leave=False)


def _first_phase(model, loss, data, opts: FitOptions, gen, monitor, record, bar, resample) -> int:
    """The stochastic first phase; returns the gradient evaluations done."""
    opt = make_optimizer(
        opts.optimizer,
        model.parameters(),
        lr=opts.lr,
        total_steps=opts.adam_steps,
        generator=gen,
        **dict(opts.optimizer_options or {}),
    )
    per = getattr(opt, "evaluations_per_step", 1)
    n_updates = max(1, opts.adam_steps // per)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, n_updates, opts.lr / 10)
    evals = 0

    def closure() -> torch.Tensor:
        nonlocal evals
        if resample is not None and evals and evals % opts.resample_every == 0:
            data["x"], data["y"] = resample()
        xs, ys = data["x"], data["y"]
        n = xs.shape[0]
        if opts.batch_size is not None and opts.batch_size < n:
            idx = torch.randint(0, n, (opts.batch_size,), generator=gen)
            xs, ys = xs[idx], ys[idx]
        opt.zero_grad()
        value = loss(model, xs, ys)
        value.backward()
        evals += 1
        return value

    every = opts.eval_every
    for _ in range(n_updates):
        before = evals
        value = opt.step(closure)
        sched.step()
        if bar is not None:
            bar.update(evals - before)
        record(evals, before)
        if not torch.isfinite(value):
            logger.warning("%s diverged at step %d; keeping the best weights", opt, evals)
            break
        if evals // every > before // every and monitor(evals, float(value.detach())):
            break
    return evals


def _lbfgs_phase(model, loss, x, y, opts: FitOptions, gen, step, monitor, record, bar) -> int:
    """L-BFGS in chunks of 10 iterations, checked against the held-out loss after each."""
    steps = opts.lbfgs_steps
    chunk = max(1, min(10, steps))
    opt = torch.optim.LBFGS(
        model.parameters(),
        lr=1.0,
        max_iter=chunk,
        history_size=50,
        line_search_fn="strong_wolfe",
        tolerance_grad=1e-12,
        tolerance_change=1e-15,
    )
    xs, ys = x, y
    if opts.lbfgs_batch is not None and opts.lbfgs_batch < x.shape[0]:
        pick = torch.randperm(x.shape[0], generator=gen)[: opts.lbfgs_batch]
        xs, ys = x[pick], y[pick]

    def closure() -> torch.Tensor:
        opt.zero_grad()
        value = loss(model, xs, ys)
        value.backward()
        return value

    done = 0
    while done < steps:
        value = opt.step(closure)
        done += chunk
        step += chunk
        if bar is not None:
            bar.update(chunk)
        record(step, step - chunk)
        if not torch.isfinite(value):
            logger.warning("L-BFGS diverged at step %d; keeping the best weights", step)
            break
        if monitor(step, float(value.detach())):
            break
    return step
