"""The autograd derivative engine: any set of multi-indices from one forward pass.

Each derivative is built from its *parent* (the same multi-index with one derivative fewer),
so ``u_xxx`` reuses ``u_xx`` which reuses ``u_x``: one gradient call per parent gives the
derivatives of that parent along every coordinate at once.  Points are processed in chunks
to bound memory.  Derivatives are with respect to the model's (physical) inputs.

Examples
--------
>>> import numpy as np, torch
>>> f = lambda x: (x[:, :1] ** 3) * torch.sin(x[:, 1:2])
>>> pts = np.array([[1.0, 0.5], [2.0, -1.0]])
>>> d = derivatives(f, pts, [(2, 0), (1, 1), (0, 3)])
>>> np.allclose(d[(2, 0)][:, 0], 6 * pts[:, 0] * np.sin(pts[:, 1]))
True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from itertools import product

import numpy as np
import torch

__all__ = ["derivative_tensors", "derivatives", "down_closure", "hessian", "leibniz"]

MultiIndex = tuple[int, ...]


def _parent(mi: MultiIndex) -> tuple[MultiIndex, int]:
    """The parent (one derivative fewer, in the last coordinate that has one) and that
    coordinate."""
    j = max(i for i, k in enumerate(mi) if k)
    return tuple(k - (i == j) for i, k in enumerate(mi)), j


def _closure(indices: Sequence[MultiIndex]) -> list[MultiIndex]:
    """All multi-indices needed to build ``indices`` from the value, lowest order first."""
    need: set[MultiIndex] = set()
    stack = list(indices)
    while stack:
        mi = stack.pop()
        if mi in need:
            continue
        need.add(mi)
        if any(mi):
            stack.append(_parent(mi)[0])
    return sorted(need, key=lambda m: (sum(m), m))


def derivative_tensors(
    model: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    indices: Sequence[MultiIndex],
    *,
    create_graph: bool = True,
) -> dict[MultiIndex, torch.Tensor]:
    """``model`` and its derivatives ``indices`` at ``x`` as tensors that keep the graph.

    This is the engine itself (used by :func:`derivatives` chunk by chunk, and by the PDE
    solver, whose loss is built from these derivatives and differentiated again with respect
    to the weights).

    Parameters
    ----------
    model : callable
        Maps ``(n, d)`` to ``(n, m)``.
    x : Tensor (n, d)
        Must have ``requires_grad=True`` when any index is nonzero.
    indices : sequence of tuples of d ints
    create_graph : bool
        Keep the graph of the highest derivatives too (needed to train on them).

    Returns
    -------
    dict
        Multi-index -> tensor ``(n, m)``; the closure of ``indices`` (every parent) included.
    """
    order = _closure([tuple(int(k) for k in mi) for mi in indices])
    d = x.shape[1]
    if any(len(mi) != d for mi in order):
        raise ValueError(f"multi-indices must have {d} entries (one per input)")
    top = max((sum(mi) for mi in order), default=0)
    children: dict[MultiIndex, list[tuple[MultiIndex, int]]] = {}
    for mi in order:
        if any(mi):
            p, j = _parent(mi)
            children.setdefault(p, []).append((mi, j))
    vals: dict[MultiIndex, torch.Tensor] = {order[0]: model(x)}
    for mi in order:
        if mi not in children:
            continue
        v = vals[mi]
        if not v.requires_grad:  # constant in x (e.g. a derivative of a linear function)
            grads = [torch.zeros_like(x) for _ in range(v.shape[1])]
        else:
            grads = [
                torch.autograd.grad(
                    v[:, k].sum(),
                    x,
                    create_graph=create_graph or sum(mi) + 1 < top,
                    retain_graph=True,
                    allow_unused=True,
                )[0]
                for k in range(v.shape[1])
            ]
            grads = [torch.zeros_like(x) if g is None else g for g in grads]
        for child, j in children[mi]:
            vals[child] = torch.stack([g[:, j] for g in grads], dim=1)
    return vals


def derivatives(
    model: Callable[[torch.Tensor], torch.Tensor],
    points: np.ndarray | torch.Tensor,
    indices: Sequence[MultiIndex],
    *,
    chunk_size: int = 8192,
) -> dict[MultiIndex, np.ndarray]:
    """Evaluate ``model`` and its derivatives ``indices`` at ``points``.

    Parameters
    ----------
    model : callable
        Maps a float64 tensor ``(n, d)`` to ``(n, m)`` (m outputs, e.g. fields).
    points : array (n, d)
    indices : sequence of tuples of d ints
        Multi-indices; ``(0, ..., 0)`` is the value itself.
    chunk_size : int
        Points per chunk.

    Returns
    -------
    dict
        Multi-index -> array ``(n, m)``.
    """
    pts = torch.as_tensor(np.asarray(points, dtype=np.float64))
    wanted = [tuple(int(k) for k in mi) for mi in indices]
    top = max((sum(mi) for mi in wanted), default=0)
    out: dict[MultiIndex, list[np.ndarray]] = {mi: [] for mi in set(wanted)}
    for start in range(0, pts.shape[0], chunk_size):
        x = pts[start : start + chunk_size].clone().requires_grad_(top > 0)
        with torch.set_grad_enabled(top > 0):
            vals = derivative_tensors(model, x, wanted, create_graph=False)
        for mi in out:
            out[mi].append(vals[mi].detach().numpy())
    return {mi: np.concatenate(v, axis=0) for mi, v in out.items()}


def hessian(
    model: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    *,
    create_graph: bool = True,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Value ``(n,)``, gradient ``(n, d)`` and Hessian ``(n, d, d)`` of a scalar ``model``.

    Built by :func:`derivative_tensors` from the second-order multi-indices (``d + 1``
    gradient calls: the mixed derivatives share their parents), so the PDE solvers'
    fully nonlinear operators (``det``, eigenvalues) see the same derivatives as the linear
    ones.  ``x`` is made to require gradients when it does not.

    >>> f = lambda x: (x[:, :1] ** 2 * x[:, 1:2] ** 3)
    >>> v, g, h = hessian(f, torch.tensor([[1.0, 2.0]], dtype=torch.float64))
    >>> h[0].tolist()
    [[16.0, 24.0], [24.0, 12.0]]
    """
    if not x.requires_grad:
        x = x.detach().clone().requires_grad_(True)
    d = x.shape[1]
    second = [
        tuple(int(k == i) + int(k == j) for k in range(d)) for i in range(d) for j in range(i, d)
    ]
    with torch.enable_grad():
        vals = derivative_tensors(model, x, second, create_graph=create_graph)
    first = [tuple(int(k == i) for k in range(d)) for i in range(d)]
    grad = torch.cat([vals[mi] for mi in first], dim=1)
    rows = [torch.cat([vals[second[_pair(i, j, d)]] for j in range(d)], dim=1) for i in range(d)]
    return vals[(0,) * d][:, 0], grad, torch.stack(rows, dim=1)


def _pair(i: int, j: int, d: int) -> int:
    """Position of ``(min(i, j), max(i, j))`` in the upper-triangle order of :func:`hessian`."""
    i, j = min(i, j), max(i, j)
    return i * d - i * (i - 1) // 2 + (j - i)


def down_closure(indices: Sequence[MultiIndex]) -> list[MultiIndex]:
    """Every multi-index at or below one of ``indices`` (the value included), lowest order
    first: what :func:`leibniz` needs of each factor.

    >>> down_closure([(1, 2)])
    [(0, 0), (0, 1), (1, 0), (0, 2), (1, 1), (1, 2)]
    """
    out: set[MultiIndex] = set()
    for mi in indices:
        out.update(product(*(range(k + 1) for k in mi)))
    return sorted(out, key=lambda m: (sum(m), m))


def leibniz(
    a: dict[MultiIndex, torch.Tensor], b: dict[MultiIndex, torch.Tensor], mi: MultiIndex
) -> torch.Tensor:
    """``∂^mi (a·b)`` from the derivatives of ``a`` and ``b`` at every index below ``mi``
    (Leibniz's rule).  The neural solver joins the frozen distance function's derivatives,
    computed once per set of points, with the network's this way.

    >>> x = torch.tensor([2.0])
    >>> a = {(0,): x**2, (1,): 2 * x}
    >>> b = {(0,): x**3, (1,): 3 * x**2}
    >>> leibniz(a, b, (1,))  # d(x^5)/dx at 2
    tensor([80.])
    """
    total = None
    for beta in product(*(range(k + 1) for k in mi)):
        rest = tuple(k - j for k, j in zip(mi, beta))
        c = math.prod(math.comb(k, j) for k, j in zip(mi, beta))
        term = a[beta] * b[rest] if c == 1 else c * (a[beta] * b[rest])
        total = term if total is None else total + term
    return total
