"""The forward solve inside the loss: a steady 1-D equation, linear in its solution, solved by
finite differences for the coefficient networks as they are at each training step.

Berg & Nyström, "Neural network augmented inverse problems for PDEs" (2017), tie the solution
to the data by a classical solve inside the loss.  In one space dimension this is cheap and it
matters: the equation ``-(a u_x)_x = f`` fixes ``a`` only up to ``C/u_x`` (``a u_x = C - ∫f``),
and the constant ``C`` comes from ``a``'s known values at the ends together with ``u_x`` there.
A free solution network's slope at the end of the data is poorly determined by noisy values, so
the penalty forms carry a level offset into the whole of ``a`` (15.9% worst error on hidden
draws, stop 28).  Here ``u`` *is* the solution of the equation for the current ``a`` and two
learnt boundary values: its slope at the ends follows from ``a`` and the data everywhere, not
from the last few points.

The equation ``Σ_k c_k(x) ∂ᵏu + g(x) = 0`` (``k ≤ 2``) is read from the residual: ``c_k`` is the
residual's derivative with respect to the placeholder of ``∂ᵏu`` (unknowns and data in it),
``g`` the rest.  Second-order central differences on a uniform grid of ``points`` nodes over the
data's span; the two end values are parameters, started from the first fit of the data.  The
dense solve (:func:`torch.linalg.solve`) is differentiated by autograd: at 201 nodes a step
costs about a millisecond.

Examples
--------
>>> from discover.datasets.inverse import poisson_inverse
>>> from discover.invert import parse_problem
>>> ds = poisson_inverse(dim=1, n=41, seed=0)
>>> spec = parse_problem("-div(a*grad(u)) = f", ds, ["a(x)"])
>>> eligible(spec)
True
>>> eligible(parse_problem("-div(a*grad(u)) + u**3 = f", ds, ["a(x)"]))
False
"""

from __future__ import annotations

import numpy as np
import sympy as sp
import torch
from torch import nn

from .errors import DataError
from .neural import derivative_tensors
from .solve.problem import compile_expr

__all__ = ["ForwardSolve", "eligible", "require_eligible"]


def _field_slots(spec) -> dict[str, int]:
    """The placeholders of the solution's derivatives and their orders."""
    return {k: sum(mi) for k, (kind, _, mi) in spec.slots.items() if kind == "field"}


def require_eligible(spec) -> None:
    """A one-line DataError unless :func:`eligible`."""
    if not eligible(spec):
        raise DataError(
            f"form='solve' needs a steady 1-D equation of second order, linear in its field; "
            f"'{spec.text}' is not; use form='strong' or 'weak'"
        )


def eligible(spec) -> bool:
    """Whether ``spec`` is a steady 1-D equation of second order, linear in its one field."""
    if len(spec.coords) != 1 or tuple(spec.spatial) != tuple(spec.coords):
        return False
    if len(spec.solution) != 1:
        return False
    orders = _field_slots(spec)
    if not orders or max(orders.values()) != 2:
        return False
    syms = [sp.Symbol(k) for k in orders]
    try:
        return sp.Poly(spec.residual, *syms).total_degree() <= 1
    except sp.PolynomialError:
        return False


class ForwardSolve(nn.Module):
    """The solution field of a steady 1-D linear equation for the model's coefficients,
    called like a field network: ``(n, 1)`` points to ``(n, 1)`` values, interpolated
    linearly from the finite-difference nodes.

    The coefficient networks are read, not owned: their parameters stay the model's.
    """

    def __init__(
        self, spec, coefs: nn.ModuleDict, data, *, start: nn.Module, points: int = 201
    ) -> None:
        super().__init__()
        require_eligible(spec)
        object.__setattr__(self, "_coefs", coefs)  # not a submodule: the model owns them
        self.spec = spec
        lo, hi = float(np.min(data.points)), float(np.max(data.points))
        grid = np.linspace(lo, hi, points)
        self.register_buffer("grid", torch.as_tensor(grid))
        self.h = (hi - lo) / (points - 1)
        with torch.no_grad():  # the end values, started from ``start`` (a first fit)
            ends = start(torch.tensor([[lo], [hi]], dtype=torch.float64))[:, 0]
        self.left = nn.Parameter(ends[0].clone())
        self.right = nn.Parameter(ends[1].clone())
        self.given = {g: torch.as_tensor(_on_grid(data, g, grid)) for g in spec.given}
        self._compile()

    def _compile(self) -> None:
        spec = self.spec
        names = [*spec.slots, *spec.coords]
        orders = _field_slots(spec)
        zero = {sp.Symbol(k): 0 for k in orders}
        self.parts = {}
        for k, order in orders.items():
            c = sp.diff(spec.residual, sp.Symbol(k))
            self.parts[order] = self.parts.get(order, 0) + c
        self.parts = {o: compile_expr(c, names, backend="torch") for o, c in self.parts.items()}
        self.rest = compile_expr(spec.residual.xreplace(zero), names, backend="torch")
        self.names = names

    def _slot_values(self) -> list[torch.Tensor]:
        x = self.grid[:, None].detach().requires_grad_(True)
        vals: dict[str, torch.Tensor] = {}
        for u in self.spec.unknowns:
            keys = [k for k, s in self.spec.slots.items() if s[0] == "unknown" and s[1] == u.name]
            d = derivative_tensors(self._coefs[u.name], x, [self.spec.slots[k][2] for k in keys])
            vals.update({k: d[self.spec.slots[k][2]][:, 0] for k in keys})
        zero = torch.zeros_like(self.grid)
        for k, (kind, name, _) in self.spec.slots.items():
            if kind == "given":
                vals[k] = self.given[name]
            elif kind == "field":
                vals[k] = zero
        return [*(vals[k] for k in self.spec.slots), self.grid]

    def solve(self) -> torch.Tensor:
        """The solution at the nodes, for the coefficients and end values as they are."""
        with torch.enable_grad():
            args = self._slot_values()
        n, h = len(self.grid), self.h
        c = {o: f(*args) for o, f in self.parts.items()}
        c0, c1, c2 = (c.get(o, torch.zeros_like(self.grid)) for o in (0, 1, 2))
        lower = c2[1:] / h**2 - c1[1:] / (2 * h)
        upper = c2[:-1] / h**2 + c1[:-1] / (2 * h)
        diag = c0 - 2 * c2 / h**2
        inner = torch.zeros(n, dtype=torch.bool)
        inner[1:-1] = True
        a = torch.diag(torch.where(inner, diag, torch.ones_like(diag)))
        a = a + torch.diag(torch.where(inner[:-1], upper, 0.0), 1)
        a = a + torch.diag(torch.where(inner[1:], lower, 0.0), -1)
        rhs = -self.rest(*args)
        rhs = torch.cat([self.left[None], rhs[1:-1], self.right[None]])
        return torch.linalg.solve(a, rhs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = self.solve()
        pos = (x[:, 0] - self.grid[0]) / self.h
        i = torch.clamp(pos.detach().floor().long(), 0, len(self.grid) - 2)
        w = (pos - i).clamp(0.0, 1.0)
        return ((1 - w) * u[i] + w * u[i + 1])[:, None]


def _on_grid(data, name: str, grid: np.ndarray) -> np.ndarray:
    """The data variable ``name`` interpolated linearly onto ``grid`` from its finite values."""
    v = data.values[name]
    ok = np.isfinite(v)
    if ok.sum() < 2:
        raise DataError(f"'{name}' has fewer than two finite values; the forward solve needs it")
    x = data.points[ok, 0]
    order = np.argsort(x)
    return np.interp(grid, x[order], v[ok][order])
