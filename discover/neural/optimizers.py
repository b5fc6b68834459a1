"""Optimizers of the trainer's first phase, looked up by name.

- ``adam``: Adam (the default), followed by the L-BFGS phase;
- ``lbfgs``: no first phase, L-BFGS alone;
- ``entropy-sgd``: Entropy-SGD (Chaudhari et al. 2017, "Entropy-SGD: biasing gradient descent
  into wide valleys"; the viscous Hamilton–Jacobi view in Chaudhari, Oberman, Osher, Soatto &
  Carlier, "Deep relaxation", 2018).  Each outer step runs ``L`` inner stochastic-gradient
  Langevin steps ``x' ← x' − η'(∇f(x') + γ(x' − x)) + √η' ε ξ`` from ``x' = x``, keeps the
  running mean ``μ ← (1−α)μ + αx'``, and moves ``x`` along the local-entropy gradient
  ``γ(x − μ)``.  The coupling γ is *scoped*, ``γ_k = γ₀(1 + γ₁)^k`` over the outer steps ``k``,
  so the smoothing of the loss shrinks as training goes on (their schedule).  The outer update
  uses Adam on that gradient ("Entropy-Adam" in the paper), so the trainer's learning rate keeps
  its meaning; the inner loop is plain SGLD as in the paper.
- ``langevin``: gradient steps with Gaussian noise of an annealed temperature,
  ``x ← x − η G ∇f + √(2 η T_k G) ξ`` (stochastic gradient Langevin dynamics preconditioned by
  RMSprop's ``G``, Li et al. 2016), ``T_k = T₀ · ½(1 + cos(π k/K))``: hot at the start, to
  leave poor minima and saddles, cold at the end, where it becomes a plain descent.

Each optimizer takes a ``closure`` that draws a mini-batch, computes the loss, back-propagates
and returns it; Entropy-SGD calls it ``L`` times per step (the trainer counts gradient
evaluations, so every optimizer gets the same budget).

Examples
--------
>>> import torch
>>> w = torch.nn.Parameter(torch.tensor([2.0, -1.0]))
>>> opt = make_optimizer("langevin", [w], lr=0.05, temperature=0.0)
>>> def closure():
...     opt.zero_grad(); loss = (w ** 2).sum(); loss.backward(); return loss
>>> for _ in range(300):
...     _ = opt.step(closure)
>>> float(w.detach().abs().max()) < 1e-2
True
>>> make_optimizer("sgd", [w], lr=0.1)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
discover.errors.DataError: unknown optimizer 'sgd'; valid optimizers: adam, lbfgs, ...
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch

from ..errors import DataError

__all__ = ["OPTIMIZERS", "EntropySGD", "Langevin", "check_optimizer", "make_optimizer"]

Closure = Callable[[], torch.Tensor]


class EntropySGD(torch.optim.Optimizer):
    """Entropy-SGD with an Adam outer step (see the module notes).

    Parameters
    ----------
    params : iterable of Parameter
    lr : float
        Adam's learning rate of the outer step.
    inner_steps : int
        ``L``, SGLD steps per outer step.
    inner_lr : float
        ``η'`` of the inner SGLD.
    noise : float
        ``ε``, the inner thermal noise.
    gamma, scoping : float
        ``γ₀`` and ``γ₁`` of the scoping ``γ_k = γ₀(1 + γ₁)^k``.
    alpha : float
        Weight of the running mean ``μ``.
    betas : (float, float)
        Adam's moment decays.
    generator : torch.Generator, optional
        Source of the inner noise (seeded by the trainer).
    """

    def __init__(
        self,
        params: Iterable[torch.nn.Parameter],
        *,
        lr: float = 1e-3,
        inner_steps: int = 20,
        inner_lr: float = 0.1,
        noise: float = 1e-4,
        gamma: float = 0.03,
        scoping: float = 1e-3,
        alpha: float = 0.75,
        betas: tuple[float, float] = (0.9, 0.999),
        generator: torch.Generator | None = None,
    ) -> None:
        defaults = dict(lr=lr, betas=betas)
        super().__init__(params, defaults)
        self.inner_steps = inner_steps
        self.inner_lr = inner_lr
        self.noise = noise
        self.gamma0 = gamma
        self.scoping = scoping
        self.alpha = alpha
        self.generator = generator
        self.outer = 0
        self.evaluations_per_step = inner_steps
        self._adam = torch.optim.Adam(self._params(), lr=lr, betas=betas)
        self.param_groups = self._adam.param_groups  # one schedule drives both

    def _params(self) -> list[torch.nn.Parameter]:
        return [p for g in self.param_groups for p in g["params"]]

    @property
    def gamma(self) -> float:
        """The current coupling ``γ_k``."""
        return self.gamma0 * (1 + self.scoping) ** self.outer

    def step(self, closure: Closure) -> torch.Tensor:  # type: ignore[override]
        """One outer step: ``L`` inner SGLD steps, then Adam on ``γ(x − μ)``."""
        params = self._params()
        x = [p.detach().clone() for p in params]
        mu = [p.detach().clone() for p in params]
        gamma, eta = self.gamma, self.inner_lr
        values = []
        for _ in range(self.inner_steps):
            values.append(closure().detach())
            with torch.no_grad():
                for p, x0, m in zip(params, x, mu):
                    g = p.grad if p.grad is not None else torch.zeros_like(p)
                    p.add_(g + gamma * (p - x0), alpha=-eta)
                    if self.noise > 0:
                        xi = torch.randn(p.shape, generator=self.generator, dtype=p.dtype)
                        p.add_(xi, alpha=math.sqrt(eta) * self.noise)
                    m.mul_(1 - self.alpha).add_(p, alpha=self.alpha)
        with torch.no_grad():
            for p, x0, m in zip(params, x, mu):
                p.copy_(x0)
                p.grad = gamma * (x0 - m)
        self._adam.step()
        self.outer += 1
        return torch.stack(values).mean()


class Langevin(torch.optim.Optimizer):
    """RMSprop-preconditioned Langevin dynamics with an annealed temperature.

    Parameters
    ----------
    params : iterable of Parameter
    lr : float
        Step size ``η``.
    temperature : float
        ``T₀``, the starting temperature (of the normalised loss).
    total_steps : int
        ``K``, the steps over which the temperature falls to zero (cosine).
    beta : float
        Decay of the squared-gradient average.
    eps : float
        ``λ`` of the preconditioner ``G = 1/(λ + √V)``.
    generator : torch.Generator, optional
    """

    def __init__(
        self,
        params: Iterable[torch.nn.Parameter],
        *,
        lr: float = 1e-3,
        temperature: float = 1e-6,
        total_steps: int = 1000,
        beta: float = 0.99,
        eps: float = 1e-8,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__(params, dict(lr=lr))
        self.temperature0 = temperature
        self.total_steps = max(1, total_steps)
        self.beta = beta
        self.eps = eps
        self.generator = generator
        self.k = 0
        self.evaluations_per_step = 1

    @property
    def temperature(self) -> float:
        """The current temperature ``T_k``."""
        frac = min(1.0, self.k / self.total_steps)
        return self.temperature0 * 0.5 * (1 + math.cos(math.pi * frac))

    def step(self, closure: Closure) -> torch.Tensor:  # type: ignore[override]
        """One noisy, preconditioned gradient step."""
        value = closure()
        temp = self.temperature
        with torch.no_grad():
            for group in self.param_groups:
                lr = group["lr"]
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state[p]
                    if "v" not in state:
                        state["v"] = p.grad**2
                    v = state["v"].mul_(self.beta).addcmul_(p.grad, p.grad, value=1 - self.beta)
                    pre = 1 / (self.eps + v.sqrt())
                    p.addcmul_(pre, p.grad, value=-lr)
                    if temp > 0:
                        xi = torch.randn(p.shape, generator=self.generator, dtype=p.dtype)
                        p.add_(xi * torch.sqrt(2 * lr * temp * pre))
        self.k += 1
        return value


def _adam(params, *, lr: float, total_steps: int, generator=None, **kw) -> torch.optim.Optimizer:
    opt = torch.optim.Adam(params, lr=lr, **kw)
    opt.evaluations_per_step = 1  # type: ignore[attr-defined]
    return opt


def _entropy(params, *, lr: float, total_steps: int, generator=None, **kw) -> EntropySGD:
    return EntropySGD(params, lr=lr, generator=generator, **kw)


def _langevin(params, *, lr: float, total_steps: int, generator=None, **kw) -> Langevin:
    return Langevin(params, lr=lr, total_steps=total_steps, generator=generator, **kw)


#: first-phase optimizers by name (``lbfgs``: none, L-BFGS alone)
OPTIMIZERS: dict[str, Callable[..., torch.optim.Optimizer] | None] = {
    "adam": _adam,
    "lbfgs": None,
    "entropy-sgd": _entropy,
    "langevin": _langevin,
}


def check_optimizer(name: str) -> str:
    """Return ``name`` if it is a known optimizer; else a one-line :class:`DataError`."""
    if name not in OPTIMIZERS:
        valid = ", ".join(OPTIMIZERS)
        raise DataError(f"unknown optimizer '{name}'; valid optimizers: {valid}")
    return name


def make_optimizer(
    name: str,
    params: Iterable[torch.nn.Parameter],
    *,
    lr: float,
    total_steps: int = 1000,
    generator: torch.Generator | None = None,
    **options: float,
) -> torch.optim.Optimizer | None:
    """The first-phase optimizer ``name`` over ``params`` (None for ``lbfgs``).

    ``options`` go to the optimizer (e.g. ``inner_steps=``, ``gamma=`` for Entropy-SGD,
    ``temperature=`` for Langevin).
    """
    factory = OPTIMIZERS[check_optimizer(name)]
    if factory is None:
        return None
    return factory(params, lr=lr, total_steps=total_steps, generator=generator, **options)
