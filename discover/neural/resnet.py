"""A ResNet whose layers share one weight matrix, and its Neural-ODE limit.

Avelin & Nyström, "Neural ODEs as the deep limit of ResNets with constant weights" (2019):
the network

    h_0 = A x,   h_{k+1} = h_k + (1/N) σ(W h_k + b)   (k = 0 … N−1),   y = B h_N

is the explicit Euler method with step ``1/N`` for the ODE ``ḣ = σ(W h + b)`` on
``[0, 1]``; as ``N → ∞`` its output converges to the ODE's, at rate ``O(1/N)`` (Euler's
global error).  :class:`SharedResNet` is the network at depth ``N``; :class:`NeuralODE`
evaluates the limit with the *same* parameters, integrated by an adaptive Dormand–Prince
method (torchdiffeq's ``dopri5``).

Examples
--------
>>> import torch
>>> torch.manual_seed(0)  # doctest: +ELLIPSIS
<torch._C.Generator object at ...>
>>> net = SharedResNet(2, 1, width=8, n_layers=64).double()
>>> x = torch.rand(5, 2, dtype=torch.float64)
>>> limit = NeuralODE(net)(x)
>>> e64 = float((net(x) - limit).detach().abs().max())
>>> e32 = float((net.with_layers(32)(x) - limit).detach().abs().max())
>>> 1.7 < e32 / e64 < 2.3
True
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from .networks import ACTIVATIONS

__all__ = ["NeuralODE", "SharedResNet"]


class SharedResNet(nn.Module):
    """``N`` residual layers of step ``1/N`` with one shared weight matrix.

    Parameters
    ----------
    in_dim, out_dim : int
    width : int
        Width of the hidden state ``h``.
    n_layers : int
        ``N``, the depth (the step is ``1/N``).
    activation : {"tanh", "sin"}
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        *,
        width: int = 32,
        n_layers: int = 16,
        activation: str = "tanh",
    ) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            valid = ", ".join(repr(a) for a in ACTIVATIONS)
            raise ValueError(f"unknown activation '{activation}'; valid activations: {valid}")
        if n_layers < 1:
            raise ValueError(f"n_layers must be >= 1, not {n_layers}")
        self.n_layers = n_layers
        self.lift = nn.Linear(in_dim, width)
        self.layer = nn.Linear(width, width)
        self.out = nn.Linear(width, out_dim)
        self.act = ACTIVATIONS[activation]()
        nn.init.xavier_normal_(self.lift.weight)
        nn.init.xavier_normal_(self.layer.weight, gain=2.0)
        nn.init.xavier_normal_(self.out.weight)

    def velocity(self, h: torch.Tensor) -> torch.Tensor:
        """The right-hand side ``σ(W h + b)`` of the limit ODE."""
        return self.act(self.layer(h))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.lift(x)
        step = 1.0 / self.n_layers
        for _ in range(self.n_layers):
            h = h + step * self.velocity(h)
        return self.out(h)

    def with_layers(self, n_layers: int) -> SharedResNet:
        """The same weights at another depth (a copy)."""
        other = copy.deepcopy(self)
        other.n_layers = n_layers
        return other


class NeuralODE(nn.Module):
    """The ``N → ∞`` limit of a :class:`SharedResNet`, with the same parameters.

    Parameters
    ----------
    resnet : SharedResNet
        Its parameters are shared (not copied): training one trains the other.
    rtol, atol : float
        Tolerances of the adaptive solver.
    method : str
        A torchdiffeq method (``dopri5``, ``rk4``, …).
    """

    def __init__(
        self,
        resnet: SharedResNet,
        *,
        rtol: float = 1e-10,
        atol: float = 1e-12,
        method: str = "dopri5",
    ) -> None:
        super().__init__()
        self.resnet = resnet
        self.rtol, self.atol, self.method = rtol, atol, method

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from torchdiffeq import odeint

        h0 = self.resnet.lift(x)
        times = torch.tensor([0.0, 1.0], dtype=h0.dtype)
        h = odeint(
            lambda _t, h: self.resnet.velocity(h),
            h0,
            times,
            rtol=self.rtol,
            atol=self.atol,
            method=self.method,
        )[-1]
        return self.resnet.out(h)
