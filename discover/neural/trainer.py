"""Training of the shared neural core: Adam warm-up, then L-BFGS with a strong Wolfe line
search; full batch when the data fit, mini-batches for Adam when they do not; early stopping
on held-out samples (the best weights by validation loss are kept); seeded and reproducible.

The thread count is set for the duration of a fit and restored afterwards (no global state
changes); progress goes to ``logging`` and, on request, to a tqdm bar.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import torch
from torch import nn

__all__ = ["TrainResult", "fit", "threads"]

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


def fit(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    x_val: torch.Tensor,
    y_val: torch.Tensor,
    loss: Loss = _mse,
    adam_steps: int = 1000,
    lbfgs_steps: int = 500,
    lr: float = 3e-3,
    batch_size: int | None = None,
    lbfgs_batch: int | None = None,
    patience: int = 200,
    eval_every: int = 25,
    seed: int = 0,
    progress: bool = False,
    num_threads: int | None = None,
    resample: Callable[[], tuple[torch.Tensor, torch.Tensor]] | None = None,
    resample_every: int = 100,
) -> TrainResult:
    """Train ``model`` to minimize ``loss`` on ``(x, y)``, stopping early on ``(x_val, y_val)``.

    Parameters
    ----------
    model : nn.Module
        Trained in place; it ends with the weights of the best validation loss.
    x, y, x_val, y_val : Tensor
        Training and held-out inputs and targets (float64).
    loss : callable
        ``loss(model, x, y)``; mean squared error by default.
    adam_steps, lbfgs_steps : int
        Steps of each phase (L-BFGS iterations, checked against the held-out loss every 10).
    lr : float
        Adam's learning rate (cosine-decayed to a tenth).
    batch_size : int, optional
        Adam mini-batch size; full batch when ``None`` or larger than the data.
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
        Seed of the mini-batch order.
    progress : bool
        Show a tqdm progress bar (the CLI turns it on).
    num_threads : int, optional
        Threads for the fit (default: torch's setting, at most the CPUs available; see
        :func:`threads`).
    resample : callable, optional
        Draws a fresh training set ``(x, y)``; called every ``resample_every`` Adam steps
        (the PDE solver resamples its collocation points this way).  L-BFGS keeps the last
        set, since its curvature pairs belong to one loss.
    resample_every : int
        Adam steps between draws.
    """
    t0 = time.perf_counter()
    gen = torch.Generator().manual_seed(seed)
    n = x.shape[0]
    full = batch_size is None or batch_size >= n
    best = {"val": math.inf, "step": 0, "state": None}
    history: list[tuple[int, float, float]] = []

    def check(step: int, train_value: float) -> bool:
        with torch.no_grad():
            v = float(loss(model, x_val, y_val))
        history.append((step, train_value, v))
        if v < best["val"] * (1 - 1e-6):
            best.update(
                val=v, step=step, state={k: t.clone() for k, t in model.state_dict().items()}
            )
        return step - best["step"] > patience

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=adam_steps + lbfgs_steps, desc="fitting", unit="step", leave=False)
    step = 0
    with threads(num_threads):
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(adam_steps, 1), lr / 10)
        for _ in range(adam_steps):
            if resample is not None and step and step % resample_every == 0:
                x, y = resample()
                n = x.shape[0]
                full = batch_size is None or batch_size >= n
            if full:
                xb, yb = x, y
            else:
                idx = torch.randint(0, n, (batch_size,), generator=gen)
                xb, yb = x[idx], y[idx]
            opt.zero_grad()
            value = loss(model, xb, yb)
            value.backward()
            opt.step()
            sched.step()
            step += 1
            if bar is not None:
                bar.update(1)
            if step % eval_every == 0 and check(step, float(value.detach())):
                break
        if lbfgs_steps > 0:
            if best["state"] is not None:
                model.load_state_dict(best["state"])
            chunk = max(1, min(10, lbfgs_steps))
            opt2 = torch.optim.LBFGS(
                model.parameters(),
                lr=1.0,
                max_iter=chunk,
                history_size=50,
                line_search_fn="strong_wolfe",
                tolerance_grad=1e-12,
                tolerance_change=1e-15,
            )

            xs, ys = x, y
            if lbfgs_batch is not None and lbfgs_batch < x.shape[0]:
                pick = torch.randperm(x.shape[0], generator=gen)[:lbfgs_batch]
                xs, ys = x[pick], y[pick]

            def closure() -> torch.Tensor:
                opt2.zero_grad()
                value = loss(model, xs, ys)
                value.backward()
                return value

            done = 0
            while done < lbfgs_steps:
                value = opt2.step(closure)
                done += chunk
                step += chunk
                if bar is not None:
                    bar.update(chunk)
                if not torch.isfinite(value):
                    logger.warning("L-BFGS diverged at step %d; keeping the best weights", step)
                    break
                if check(step, float(value.detach())):
                    break
        check(step, float(loss(model, x, y).detach()))
    if bar is not None:
        bar.close()
    if best["state"] is not None:
        model.load_state_dict(best["state"])
    with torch.no_grad():
        train_value = float(loss(model, x, y))
    result = TrainResult(
        train_value, best["val"], best["step"], step, time.perf_counter() - t0, history
    )
    logger.info(
        "fit: %d steps, best at %d, train %.3g, val %.3g, %.1f s",
        step,
        best["step"],
        train_value,
        best["val"],
        result.seconds,
    )
    return result
