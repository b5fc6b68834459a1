"""A learned black-box forecaster: an explicit scheme written as a ResNet (Alt et al. 2021).

Alt, Schrader, Augustin, Peter & Weickert, "Translating numerical concepts for PDEs into
neural architectures" (2021), read an explicit step of nonlinear diffusion as a residual block
of transposed-convolution structure,

    u ← u − τ · Dᵀ Φ(D u),

with ``D`` a convolution (the discrete gradient), ``Dᵀ`` its adjoint (the same filters,
flipped and with input and output channels swapped: a transposed convolution) and ``Φ`` a
pointwise flux.  For a channel-wise monotone ``Φ`` of Lipschitz constant ``L`` the step is
stable in the Euclidean norm when ``τ L ‖D‖² ≤ 2``.

:class:`StableScheme` learns ``D`` (``channels`` filters of width 3 in every spatial
direction) and ``Φ``; one forecast step (the data's time step) is ``blocks`` such residual
blocks that share their weights, each of step ``1/blocks`` (a shared-weight ResNet, see
:mod:`discover.neural.resnet`).  ``Φ`` is the sum of a channel-wise monotone flux
``z · softplus(a)`` (the stable diffusion of the paper) and a small pointwise network that
mixes the channels, so that a block can also transport (the flux form ``∂ₓ f(u)``: with
``D`` holding an averaging and a difference filter, ``Dᵀ Φ(Du)`` is a conservative flux
difference).  That mixing part keeps the transposed structure but not the stability
guarantee; the training loss is taken over several forecast steps (a rollout), which keeps
the learned scheme stable over the windows we checked, and a forecast that blows up is
reported as such (non-finite values are replaced by NaN).

:func:`neural_scheme_forecast` trains it on consecutive snapshots of the training window and
runs it over the held-out window; on sides that do not wrap around, the outermost ring of
cells takes the data's values (the re-solved equation gets the same boundary data).

Examples
--------
>>> import numpy as np
>>> x = np.linspace(0, 2 * np.pi, 32, endpoint=False)
>>> frames = np.stack([np.sin(x - 0.1 * k) for k in range(40)])[:, None]  # (t, field, x)
>>> pred = neural_scheme_forecast(frames[:31], 9, periodic=[True], steps=100, lbfgs_steps=0)
>>> pred.shape
(10, 1, 32)
>>> err = np.sqrt(np.mean((pred[1:] - frames[31:]) ** 2))
>>> per = np.sqrt(np.mean((frames[30] - frames[31:]) ** 2))
>>> bool(err < 0.5 * per)
True
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .trainer import fit

__all__ = ["StableScheme", "neural_scheme_forecast"]

logger = logging.getLogger(__name__)


class StableScheme(nn.Module):
    """``blocks`` weight-sharing blocks ``u ← u − (1/blocks) Dᵀ Φ(D u)`` per forecast step.

    Parameters
    ----------
    n_fields : int
        Channels of the state.
    n_dims : int
        Spatial dimensions (1 or 2).
    periodic : sequence of bool
        Per spatial dimension: circular padding (True) or edge replication.
    channels : int
        Filters of ``D``.
    hidden : int
        Hidden units of the pointwise (1×1) mixing network in ``Φ``.
    blocks : int
        Residual blocks per forecast step (shared weights, step ``1/blocks``).
    """

    def __init__(
        self,
        n_fields: int,
        n_dims: int,
        *,
        periodic: Sequence[bool],
        channels: int = 8,
        hidden: int = 16,
        blocks: int = 4,
    ) -> None:
        super().__init__()
        if n_dims not in (1, 2):
            raise ValueError(f"the scheme works on 1 or 2 spatial dimensions, not {n_dims}")
        self.n_dims, self.blocks = n_dims, blocks
        self.periodic = tuple(bool(p) for p in periodic)
        self.conv = F.conv1d if n_dims == 1 else F.conv2d
        self.weight = nn.Parameter(0.3 * torch.randn(channels, n_fields, *([3] * n_dims)))
        with torch.no_grad():  # start from identity, differences and averages (see _stencils)
            for k, stencil in enumerate(_stencils(n_dims)[:channels]):
                self.weight[k] = stencil
        self.diffusivity = nn.Parameter(torch.full((channels,), -2.0))
        conv = nn.Conv1d if n_dims == 1 else nn.Conv2d
        self.mix = nn.Sequential(conv(channels, hidden, 1), nn.Tanh(), conv(hidden, channels, 1))
        nn.init.zeros_(self.mix[2].weight)
        nn.init.zeros_(self.mix[2].bias)

    def _pad(self, u: torch.Tensor) -> torch.Tensor:
        """One cell on every side: wrapped around where periodic, else the edge repeated."""
        for k, per in enumerate(self.periodic):
            pad = [0, 0] * self.n_dims
            pad[2 * (self.n_dims - 1 - k)] = pad[2 * (self.n_dims - 1 - k) + 1] = 1
            u = F.pad(u, pad, mode="circular" if per else "replicate")
        return u

    def flux(self, z: torch.Tensor) -> torch.Tensor:
        """``Φ``: the monotone channel-wise part plus the channel-mixing network."""
        shape = (1, -1) + (1,) * self.n_dims
        return z * F.softplus(self.diffusivity).view(shape) + self.mix(z)

    def block(self, u: torch.Tensor) -> torch.Tensor:
        """One residual block ``u − (1/blocks) Dᵀ Φ(D u)``."""
        du = self.conv(self._pad(u), self.weight)
        flipped = self.weight.flip(list(range(2, 2 + self.n_dims))).transpose(0, 1)
        return u - self.conv(self._pad(self.flux(du)), flipped) / self.blocks

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """One forecast step (``blocks`` blocks with the same weights)."""
        for _ in range(self.blocks):
            u = self.block(u)
        return u


def _stencils(n_dims: int) -> list[torch.Tensor]:
    """Filters the learned ``D`` starts from: the identity, then per direction the forward
    difference and the centred average (so that ``Dᵀ Φ(D u)`` can start as a flux form)."""
    out = []
    for pattern in ([0.0, 1.0, 0.0], *[[0.0, -1.0, 1.0], [0.5, 0.0, 0.5]]):
        for axis in range(n_dims) if pattern[1] != 1.0 else [0]:
            f = torch.zeros([3] * n_dims)
            idx = [1] * n_dims
            for j, v in enumerate(pattern):
                idx[axis] = j
                f[tuple(idx)] = v
            out.append(f)
    return out


def _ring(shape: Sequence[int], periodic: Sequence[bool]) -> torch.Tensor:
    """Mask of the outermost cells on the sides that do not wrap around."""
    mask = torch.zeros(tuple(shape), dtype=torch.bool)
    for k, per in enumerate(periodic):
        if not per:
            idx = [slice(None)] * len(shape)
            idx[k] = [0, shape[k] - 1]
            mask[tuple(idx)] = True
    return mask


def _rollout(
    model: StableScheme, u: torch.Tensor, n: int, walls: torch.Tensor | None, ring: torch.Tensor
) -> torch.Tensor:
    """``n`` steps from ``u`` (batch, fields, *space); ``walls`` (batch, n, fields, *space)
    gives the values of the ring cells at each step."""
    out = []
    for k in range(n):
        u = model(u)
        if walls is not None and bool(ring.any()):
            u = torch.where(ring, walls[:, k], u)
        out.append(u)
    return torch.stack(out, dim=1)


def neural_scheme_forecast(
    frames: np.ndarray,
    n_steps: int,
    *,
    periodic: Sequence[bool],
    walls: np.ndarray | None = None,
    rollout: int = 4,
    steps: int = 600,
    lbfgs_steps: int = 50,
    channels: int = 8,
    blocks: int = 4,
    seed: int = 0,
    num_threads: int | None = None,
) -> np.ndarray:
    """Train :class:`StableScheme` on ``frames`` and forecast ``n_steps`` from the last one.

    Parameters
    ----------
    frames : ndarray, shape (n_t, n_fields, *space)
        The training window, equally spaced in time, its last frame the start state.
    n_steps : int
        Forecast steps.
    periodic : sequence of bool
        Per spatial dimension, whether it wraps around.
    walls : ndarray, shape (n_steps, n_fields, *space), optional
        The data over the forecast window; only the ring cells of sides that do not wrap
        are read (the boundary values the re-solved equation gets too).
    rollout : int
        Forecast steps in each training sample's loss.
    steps, lbfgs_steps : int
        Adam and L-BFGS steps of the training (:func:`discover.neural.fit`).
    channels, blocks : int
        Filters of ``D`` and blocks per step.
    seed : int
    num_threads : int, optional

    Returns
    -------
    ndarray, shape (n_steps + 1, n_fields, *space)
        The start state followed by the forecast (NaN where it is not finite).
    """
    frames = np.asarray(frames, dtype=np.float64)
    if frames.shape[0] < rollout + 3:
        raise ValueError(f"the scheme needs at least {rollout + 3} training frames")
    axes = (0, *range(2, frames.ndim))
    mean = frames.mean(axis=axes, keepdims=True)[0]
    std = frames.std(axis=axes, keepdims=True)[0]
    std = np.where(std > 0, std, 1.0)
    z = torch.as_tensor((frames - mean) / std, dtype=torch.float32)
    n = z.shape[0] - rollout
    x = z[:n]
    y = torch.stack([z[k + 1 : k + 1 + rollout] for k in range(n)])
    n_val = min(16, max(1, n // 10))  # the last pairs, in time, decide when to stop
    # about 8192 grid cells per mini-batch: a 2-D grid's conv layers cost as much as a 1-D one's
    batch = int(np.clip(8192 // int(np.prod(frames.shape[2:])), 4, 32))
    torch.manual_seed(seed)
    model = StableScheme(
        frames.shape[1], frames.ndim - 2, periodic=periodic, channels=channels, blocks=blocks
    ).float()  # single precision: conv layers on CPUs are several times slower in double
    ring = _ring(frames.shape[2:], periodic)

    def loss(mdl: StableScheme, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        return torch.mean((_rollout(mdl, xb, rollout, yb, ring) - yb) ** 2)

    fit(
        model,
        x[:-n_val],
        y[:-n_val],
        x_val=x[-n_val:],
        y_val=y[-n_val:],
        loss=loss,
        adam_steps=steps,
        lbfgs_steps=lbfgs_steps,
        lr=1e-2,
        batch_size=batch,
        lbfgs_batch=4 * batch,
        patience=max(200, steps // 3),
        seed=seed,
        num_threads=num_threads,
    )
    w = None
    if walls is not None:
        w = torch.as_tensor((np.asarray(walls) - mean) / std, dtype=torch.float32)[None]
    with torch.no_grad():
        pred = _rollout(model, z[-1:], n_steps, w, ring)[0].numpy()
    out = np.concatenate([frames[-1:], pred.astype(np.float64) * std + mean])
    out[~np.isfinite(out)] = np.nan
    return out
