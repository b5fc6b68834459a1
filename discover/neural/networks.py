"""Networks of the shared neural core.

Every network works in *physical* units: :class:`Scaled` maps physical inputs to [-1, 1] and
the network's output back to the data's mean and spread, inside the module, so automatic
differentiation with respect to the physical inputs applies the chain rule through the
scaling by itself.

Examples
--------
>>> import torch
>>> net = Scaled(MLP(2, 1, width=8, depth=2).double(), lower=[0.0, -5.0], upper=[1.0, 5.0],
...              mean=[10.0], std=[2.0])
>>> net(torch.zeros(3, 2, dtype=torch.float64)).shape
torch.Size([3, 1])
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["ACTIVATIONS", "MLP", "NETWORKS", "Scaled", "Sine", "make_network"]


class Sine(nn.Module):
    """``sin(w0 · x)``: the SIREN activation (Sitzmann et al. 2020)."""

    def __init__(self, w0: float = 1.0) -> None:
        super().__init__()
        self.w0 = w0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sin(self.w0 * x)


#: activation functions by name
ACTIVATIONS = {"tanh": nn.Tanh, "sin": Sine}


class MLP(nn.Module):
    """A fully connected network, optionally with residual (skip) connections.

    Parameters
    ----------
    in_dim, out_dim : int
    width, depth : int
        Hidden units per layer and number of hidden layers.
    activation : {"tanh", "sin"}
    residual : bool
        Add each hidden layer's input to its output (a ResNet-style network).
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        *,
        width: int = 64,
        depth: int = 4,
        activation: str = "tanh",
        residual: bool = False,
    ) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            valid = ", ".join(repr(a) for a in ACTIVATIONS)
            raise ValueError(f"unknown activation '{activation}'; valid activations: {valid}")
        if depth < 1 or width < 1:
            raise ValueError(f"width and depth must be >= 1, not {width} and {depth}")
        self.residual = residual
        self.first = nn.Linear(in_dim, width)
        self.hidden = nn.ModuleList(nn.Linear(width, width) for _ in range(depth - 1))
        self.last = nn.Linear(width, out_dim)
        self.act = ACTIVATIONS[activation]()
        for layer in [self.first, *self.hidden, self.last]:
            if activation == "sin":
                bound = (
                    1 / layer.in_features
                    if layer is self.first
                    else math.sqrt(6 / layer.in_features)
                )
                nn.init.uniform_(layer.weight, -bound, bound)
            else:
                nn.init.xavier_normal_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.act(self.first(x))
        for layer in self.hidden:
            z = self.act(layer(h))
            h = h + z if self.residual else z
        return self.last(h)


class Scaled(nn.Module):
    """Physical inputs -> [-1, 1] -> ``net`` -> physical outputs (``mean + std · net``).

    Inputs marked ``periodic`` enter the network as ``cos θ, sin θ`` with
    ``θ = 2π (x - lower) / (upper - lower)`` (``upper - lower`` is the period), so the
    network is exactly periodic in them; ``net`` then takes one more input per periodic
    coordinate.
    """

    def __init__(
        self,
        net: nn.Module,
        *,
        lower: Sequence[float],
        upper: Sequence[float],
        mean: Sequence[float],
        std: Sequence[float],
        periodic: Sequence[bool] | None = None,
    ) -> None:
        super().__init__()
        self.net = net
        lo = torch.as_tensor(lower, dtype=torch.float64)
        hi = torch.as_tensor(upper, dtype=torch.float64)
        half = torch.where(hi > lo, (hi - lo) / 2, torch.ones_like(lo))
        per = torch.zeros(lo.shape, dtype=torch.bool)
        if periodic is not None:
            per = torch.as_tensor(list(periodic), dtype=torch.bool)
        self.register_buffer("in_center", (hi + lo) / 2)
        self.register_buffer("in_half", half)
        self.register_buffer("periodic", per)
        self.register_buffer("out_mean", torch.as_tensor(mean, dtype=torch.float64))
        self.register_buffer("out_std", torch.as_tensor(std, dtype=torch.float64))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The network's inputs: scaled coordinates, periodic ones as ``cos θ, sin θ``."""
        z = (x - self.in_center) / self.in_half
        if not bool(self.periodic.any()):
            return z
        theta = math.pi * (z[:, self.periodic] + 1)
        return torch.cat([z[:, ~self.periodic], torch.cos(theta), torch.sin(theta)], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out_mean + self.out_std * self.net(self.features(x))

    def normalized(self, x: torch.Tensor) -> torch.Tensor:
        """The network's output before scaling back (what the loss is computed on)."""
        return self.net(self.features(x))


def _mlp(in_dim: int, out_dim: int, **kw) -> nn.Module:
    return MLP(in_dim, out_dim, **kw)


def _shared_resnet(in_dim: int, out_dim: int, *, depth: int, residual: bool = True, **kw):
    from .resnet import SharedResNet

    return SharedResNet(in_dim, out_dim, n_layers=depth, **kw)


#: networks of the core by name (``shared-resnet``: one weight matrix shared by ``depth``
#: residual layers of step 1/depth, see :mod:`discover.neural.resnet`)
NETWORKS = {"mlp": _mlp, "shared-resnet": _shared_resnet}


def make_network(name: str, in_dim: int, out_dim: int, **options) -> nn.Module:
    """The network ``name`` (options: ``width``, ``depth``, ``activation``, ``residual``).

    Examples
    --------
    >>> make_network("shared-resnet", 2, 1, width=8, depth=16).n_layers
    16
    """
    if name not in NETWORKS:
        from ..errors import DataError

        raise DataError(f"unknown network '{name}'; valid networks: {', '.join(NETWORKS)}")
    return NETWORKS[name](in_dim, out_dim, **options)
