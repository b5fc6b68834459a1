"""Input-convex networks (Amos, Xu & Kolter 2017), as Nyström & Vestberg use them for
Monge–Ampère (2021).

:class:`ICNN` is convex in its input by construction:

- the first layer is affine in ``x`` followed by a convex non-decreasing activation;
- each further layer adds ``W_z · z`` (``W_z = softplus(V) ≥ 0``: the hidden-to-hidden path
  has non-negative weights) to an affine *skip connection from the input* ``A · x + b``, then
  the activation again — a non-negative combination of convex functions, composed with a
  convex non-decreasing function, stays convex;
- the output is ``w · z`` (``w ≥ 0``) plus an affine term in ``x`` plus the strictly convex
  quadratic ``½ xᵀ(L Lᵀ + ε I) x`` (``ε = softplus(e) > 0``), so the Hessian is positive
  definite everywhere, not only semi-definite.

The activation is softplus (smooth, so the Hessian exists everywhere; ReLU's would be zero
almost everywhere).  The non-negative weights are reparametrized through softplus rather
than clipped, so the network trains with L-BFGS.  Any affine map of the inputs and any
positive scaling of the output keep convexity, so :class:`~discover.neural.Scaled` may wrap
an ICNN (without periodic inputs).

Examples
--------
>>> import torch
>>> from discover.neural import hessian
>>> net = ICNN(2, width=8, depth=2).double()
>>> x = torch.randn(50, 2, dtype=torch.float64)
>>> h = hessian(net, x, create_graph=False)[2]
>>> bool(torch.all(torch.linalg.eigvalsh(h) > 0))
True
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["ICNN"]


def _inverse_softplus(y: torch.Tensor) -> torch.Tensor:
    return y + torch.log(-torch.expm1(-y))


class ICNN(nn.Module):
    """A fully input-convex network ``R^d -> R`` with a positive definite Hessian.

    Parameters
    ----------
    in_dim : int
    width, depth : int
        Hidden units per layer and number of hidden layers.
    epsilon : float
        Initial value of ``ε``, the smallest curvature the quadratic term adds (it is
        trained, and stays positive).
    """

    def __init__(self, in_dim: int, *, width: int = 32, depth: int = 3, epsilon: float = 0.1):
        super().__init__()
        if depth < 1 or width < 1:
            raise ValueError(f"width and depth must be >= 1, not {width} and {depth}")
        if not epsilon > 0:
            raise ValueError(f"epsilon must be positive, not {epsilon}")
        self.first = nn.Linear(in_dim, width)
        self.skips = nn.ModuleList(nn.Linear(in_dim, width) for _ in range(depth - 1))
        # raw weights of the non-negative hidden-to-hidden path: softplus(raw) ~ U(0, 2/width)
        self.raw = nn.ParameterList(
            nn.Parameter(_inverse_softplus(torch.rand(width, width) * 2 / width + 1e-3))
            for _ in range(depth - 1)
        )
        # output weights of order one: the units carry curvature from the start, rather than
        # leaving it to the quadratic term (training then tends to stall on a near-quadratic)
        self.raw_out = nn.Parameter(_inverse_softplus(torch.rand(width) + 0.5))
        self.affine = nn.Linear(in_dim, 1)
        self.factor = nn.Parameter(torch.randn(in_dim, in_dim) * 0.1 / math.sqrt(in_dim))
        self.raw_eps = nn.Parameter(_inverse_softplus(torch.tensor(float(epsilon))))
        for layer in [self.first, *self.skips]:
            nn.init.xavier_normal_(layer.weight)
            nn.init.normal_(layer.bias, std=0.5)
        nn.init.zeros_(self.affine.weight)
        nn.init.zeros_(self.affine.bias)

    @property
    def epsilon(self) -> torch.Tensor:
        """``ε``: the quadratic term's curvature along every direction (a lower bound of the
        Hessian's eigenvalues)."""
        return F.softplus(self.raw_eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = F.softplus(self.first(x))
        for skip, raw in zip(self.skips, self.raw):
            z = F.softplus(z @ F.softplus(raw).T + skip(x))
        xl = x @ self.factor
        quad = 0.5 * (
            torch.sum(xl**2, dim=1, keepdim=True) + self.epsilon * torch.sum(x**2, 1, True)
        )
        return z @ F.softplus(self.raw_out)[:, None] + self.affine(x) + quad
