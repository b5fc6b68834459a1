"""Fully nonlinear equations of the Hessian on the neural core: Monge–Ampère and kin.

Following Nyström & Vestberg ("Solving the Dirichlet problem for the Monge–Ampère equation
using neural networks", 2021), the Dirichlet problem

    det D²u = f  in Ω,    u = g  on ∂Ω,    u convex,

has one convex solution when Ω is convex and ``f > 0``; the ansatz is an input-convex network
(:class:`discover.neural.ICNN`), so every candidate is convex and training cannot drift to one
of the non-convex functions that solve the same equation (in the plane ``-u`` has the same
Hessian determinant as ``u``).

Equations are written in SymPy with two extra functions, ``hessian(u)`` (the matrix of second
derivatives over every coordinate of the domain) and ``det``/``trace`` of it, and may use the
field, its first derivatives and the coordinates elsewhere:
``"det(hessian(u)) = (1 + x**2)*exp(y)"``, ``"det(hessian(u)) = 4*(1 + u_x**2 + u_y**2)**2"``
(prescribed Gauss curvature), ``"det(hessian(u)) = 1"`` in any dimension.  They are read
with :func:`discover.parsing.parse_expr` (never ``sympify``).

Dirichlet data enter through a **boundary loss**, not through ``u = G + D·N``: a product of
the distance function and a network is not convex, and the lift ``G`` fitted to ``g`` need
not be convex either, so that ansatz would give up the one property the method rests on.

For the input-convex network and an equation ``c·det(hessian(u)) = F(x, u, ∇u)`` (``c > 0``,
the Monge–Ampère form) the residual is taken in **log form**; the loss is

    mean over interior points of (w · (log c + log det D²u - log F))²,   w = (F / s_f)^(1/d)
      + boundary_weight · mean over boundary points of ((u - g) / s_u)²

``det D²u > 0`` for every candidate (the network's Hessian is positive definite), so the log
is always defined.  ``w · log(det/F)`` is ``d·(det^(1/d) - F^(1/d)) / s_f^(1/d)`` to first
order: the quantity whose ``L^d`` norm bounds the error of ``u`` in the Alexandrov-type
stability estimate ``sup|u - ũ| ≤ C·‖f^(1/d) - f̃^(1/d)‖_{L^d}`` (equal boundary values).
Away from the solution the log keeps every point's residual and its gradient of order one,
where the plain difference ``det - F`` saturates at points whose ``F`` is far above the
current determinant (the README compares the two forms).  Other equations (``trace``,
products of ``det`` …) and the plain network take the plain residual

    mean over interior points of (F(x, u, ∇u, D²u) · v / s_f)²  [+ the boundary term]
      [+ convexity_weight · mean (max(0, -λ_min(D²u)) / s_f^{1/d})²   plain networks only]

with ``v = (s_f / f)^(1-1/d)`` for ``det(hessian(u)) = f(x)`` (the same first-order quantity)
and ``v = 1`` otherwise; ``s_f`` is the root mean square of the source and ``s_u`` the
natural size of ``u``.  The last term is the paper's alternative (an ordinary network plus a
penalty for lack of convexity), used when ``network="mlp"``.  Training is the core's Adam
then L-BFGS with resampled collocation points (:func:`discover.neural.fit`); above two
dimensions L-BFGS does nearly all the work, so give it most of the steps.

Non-convex polygons and masks are refused (the Dirichlet problem need not have a convex
solution there) unless ``hull=True``: the problem is then posed on the convex hull, with
``g`` evaluated on the hull's boundary, and the solution is reported on the whole hull.

Examples
--------
>>> import numpy as np
>>> from discover.solve import Disk, Problem, solve
>>> p = Problem("det(hessian(u)) = 1", Disk(radius=1.0), boundary=0.5)
>>> p
<Problem det(hessian(u)) = 1 on Disk(center=(0.0, 0.0), radius=1.0, names=('x', 'y'))>
>>> sol = solve(p, "neural", network="icnn", width=8, depth=2, n_points=128,
...             adam_steps=100, lbfgs_steps=60)
>>> pts = np.array([[0.0, 0.0], [0.5, 0.0], [0.3, -0.6]])
>>> bool(np.max(np.abs(sol(pts)[:, 0] - (pts**2).sum(axis=1) / 2)) < 0.02)  # exact: |x|²/2
True
>>> bool(sol.min_eigenvalue(pts).min() > 0)
True
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp
import torch
from torch import nn

from ..errors import DataError
from ..library import derivative_symbol
from ..neural import ICNN, MLP, Scaled, fit, hessian, threads
from ..parsing import FUNCTIONS, parse_expr
from .problem import (
    Ball,
    Box,
    Disk,
    Mask,
    ParsedEquation,
    Polygon,
    Problem,
    Solution,
    compile_expr,
)

__all__ = [
    "NETWORKS",
    "ConvexSolution",
    "det",
    "det_form",
    "hessian_of",
    "parse_domain",
    "parse_fully_nonlinear",
    "solve_fully_nonlinear",
    "solve_steady_text",
    "trace",
]

logger = logging.getLogger(__name__)

#: networks the fully nonlinear solver takes, by name
NETWORKS = ("icnn", "mlp")

_HESSIAN_CALL = re.compile(r"\b(hessian|det|trace)\s*\(")


# ----------------------------------------------------------------------------- SymPy forms
class hessian_of(sp.Function):
    """``hessian(u)``: the field ``u`` and the coordinates it is taken over (printed as
    ``hessian(u)``); :meth:`matrix` is the symmetric matrix of derivative symbols."""

    def matrix(self) -> sp.ImmutableMatrix:
        field, *coords = (str(a) for a in self.args)
        d = len(coords)

        def sym(i: int, j: int) -> sp.Symbol:
            orders = tuple(int(k == i) + int(k == j) for k in range(d))
            return sp.Symbol(derivative_symbol(field, tuple(coords), orders))

        return sp.ImmutableMatrix(d, d, lambda i, j: sym(i, j))

    def _sympystr(self, printer: Any) -> str:
        return f"hessian({self.args[0]})"


class det(sp.Function):
    """``det(hessian(u))`` (unevaluated; :func:`expand_operators` writes it out)."""

    nargs = 1


class trace(sp.Function):
    """``trace(hessian(u))``: the Laplacian."""

    nargs = 1


def expand_operators(expr: sp.Expr) -> sp.Expr:
    """``expr`` with ``det``/``trace`` of Hessians written out in derivative symbols.

    >>> x, y = sp.symbols("x y")
    >>> expand_operators(det(hessian_of(sp.Symbol("u"), x, y)))
    u_xx*u_yy - u_xy**2
    """
    expr = expr.replace(det, lambda m: m.matrix().det(method="berkowitz").expand())
    return expr.replace(trace, lambda m: m.matrix().trace())


def _functions(field_syms: dict[str, sp.Symbol], coords: Sequence[sp.Symbol]) -> dict:
    def make_hessian(arg: sp.Expr) -> sp.Expr:
        if str(arg) not in field_syms:
            raise TypeError(f"hessian takes a field name, e.g. hessian(u), not {arg}")
        return hessian_of(arg, *coords)

    def operator(cls: type) -> Any:
        def build(arg: sp.Expr) -> sp.Expr:
            if not isinstance(arg, hessian_of):
                raise TypeError(f"{cls.__name__} takes hessian(u), not {arg}")
            return cls(arg)

        return build

    return {**FUNCTIONS, "hessian": make_hessian, "det": operator(det), "trace": operator(trace)}


def parse_fully_nonlinear(
    equations: Any, coords: Sequence[str]
) -> tuple[tuple[str, ...], list[ParsedEquation]] | None:
    """The field and equation of a fully nonlinear problem, or ``None`` when ``equations``
    is not one string that calls ``hessian``, ``det`` or ``trace``.

    The field is the one named in ``hessian(…)``; the rest of the equation may use the
    coordinates, the field and its first derivatives (``u_x``) and numbers.

    >>> f, (eq,) = parse_fully_nonlinear("det(hessian(u)) = (1 + x**2)*exp(y)", ("x", "y"))
    >>> f, str(eq)
    (('u',), 'det(hessian(u)) = (x**2 + 1)*exp(y)')
    """
    text = _hessian_text(equations)
    if text is None:
        return None
    if "t" in coords:
        raise DataError(
            f"'{text}' is a steady fully nonlinear equation; give no time window (time=None)"
        )
    if text.count("=") != 1:
        raise DataError(f"cannot read '{text}': write it as 'det(hessian(u)) = f' with one '='")
    field = _hessian_field(text, coords)
    allowed = _allowed_symbols(field, coords)
    funcs = _functions({field: allowed[field]}, [sp.Symbol(c) for c in coords])
    lhs, rhs = (parse_expr(side, symbols=allowed, functions=funcs) for side in text.split("="))
    _check_parsed(text, lhs - rhs, field, coords, allowed)
    return (field,), [ParsedEquation(lhs, rhs, None)]


def _hessian_text(equations: Any) -> str | None:
    """The equation's text when it is one string that calls hessian/det/trace."""
    if isinstance(equations, (list, tuple)) and len(equations) == 1:
        equations = equations[0]
    if not isinstance(equations, str) or not _HESSIAN_CALL.search(equations):
        return None
    return equations


def _hessian_field(text: str, coords: Sequence[str]) -> str:
    """The one field whose Hessian ``text`` takes; a one-line error otherwise."""
    names = sorted(set(re.findall(r"\bhessian\s*\(\s*([A-Za-z_]\w*)\s*\)", text)))
    if not names and not re.search(r"\bhessian\s*\(", text):
        raise DataError(
            f"cannot read '{text}': det(…) and trace(…) take hessian(field), e.g. "
            "det(hessian(u)) = 1"
        )
    if len(names) != 1:
        raise DataError(
            f"'{text}' must take the Hessian of one field, e.g. det(hessian(u)), "
            f"not of {', '.join(names) or 'an expression'}"
        )
    if names[0] in coords:
        raise DataError(f"'{names[0]}' is a coordinate; take the Hessian of a field: hessian(u)")
    return names[0]


def _first_derivatives(field: str, coords: Sequence[str]) -> list[str]:
    """``u_x, u_y, …``: the names of the field's first derivatives."""
    d = len(coords)
    return [derivative_symbol(field, tuple(coords), _unit(j, d)) for j in range(d)]


def _unit(j: int, d: int) -> tuple[int, ...]:
    return tuple(int(k == j) for k in range(d))


def _allowed_symbols(field: str, coords: Sequence[str]) -> dict[str, sp.Symbol]:
    """The names an equation of the Hessian of ``field`` may use besides its operators."""
    names = [*coords, field, *_first_derivatives(field, coords)]
    return {n: sp.Symbol(n) for n in names}


def _check_parsed(
    text: str, expr: sp.Expr, field: str, coords: Sequence[str], allowed: dict
) -> None:
    """One-line errors for unknown names and a Hessian outside ``det``/``trace``."""
    unknown = sorted(str(s) for s in expr.free_symbols if str(s) not in allowed)
    if unknown:
        raise DataError(
            f"the equation '{text}' uses {', '.join(unknown)}: a fully nonlinear equation may "
            f"use the coordinates ({', '.join(coords)}), {field}, its first derivatives and "
            "det/trace of hessian(" + field + "); write numbers for constants"
        )
    if not expr.has(det) and not expr.has(trace):
        raise DataError(
            f"'{text}' uses hessian({field}) outside det(…) or trace(…); write e.g. "
            f"det(hessian({field})) = f"
        )


# ----------------------------------------------------------------------------- checks
def _is_convex_polygon(vertices: np.ndarray) -> bool:
    v = np.asarray(vertices, float)
    e = np.roll(v, -1, axis=0) - v
    cross = e[:, 0] * np.roll(e, -1, axis=0)[:, 1] - e[:, 1] * np.roll(e, -1, axis=0)[:, 0]
    scale = np.max(np.abs(cross)) if len(cross) else 1.0
    return bool(np.all(cross >= -1e-12 * scale) or np.all(cross <= 1e-12 * scale))


def _hull_polygon(domain: Polygon | Mask) -> Polygon:
    from scipy.spatial import ConvexHull

    pts = domain.vertices if isinstance(domain, Polygon) else domain.segments.reshape(-1, 2)
    hull = ConvexHull(pts)
    return Polygon(pts[hull.vertices], names=domain.names)


def working_domain(problem: Problem, *, hull: bool) -> Any:
    """The convex domain the problem is solved on (the hull of a non-convex polygon or
    mask when ``hull``); a one-line error for a non-convex domain otherwise."""
    dom = problem.domain
    if isinstance(dom, Box):
        if dom.periodic:
            raise DataError(
                "a Monge–Ampère problem needs walls with Dirichlet values; give a Box without "
                f"periodic sides, not periodic={dom.periodic}"
            )
        return dom
    if isinstance(dom, (Disk, Ball)):
        return dom
    if isinstance(dom, Polygon) and _is_convex_polygon(dom.vertices):
        return dom
    if hull:
        return _hull_polygon(dom)
    raise DataError(
        f"the domain {dom!r} is not convex, where the Dirichlet problem for det(hessian(u)) "
        "need not have a convex solution; give a convex domain, or hull=True to pose the "
        "problem on its convex hull (g must then be defined there)"
    )


def det_form(problem: Problem) -> tuple[float, sp.Expr] | None:
    """``(c, F)`` when the equation reads ``c·det(hessian(u)) = F(x, u, ∇u)`` with a number
    ``c > 0``; None for other forms (``trace``, products of ``det`` …).

    >>> det_form(Problem("2*det(hessian(u)) = 4 + x**2", Disk(), boundary=0.0))
    (2.0, x**2 + 4)
    """
    res = problem.equations[0].residual
    dets = list(res.atoms(det))
    if len(dets) != 1 or res.has(trace):
        return None
    d = sp.Dummy("d")
    lin = res.subs(dets[0], d)
    coef = sp.diff(lin, d)
    if sp.diff(lin, d, 2) != 0 or not coef.is_number or not coef > 0:
        return None
    return float(coef), sp.expand(-lin.subs(d, 0))


def _source(problem: Problem) -> sp.Expr | None:
    """``f`` of ``c·det(hessian(u)) = f(x)`` (``c > 0``; ``f`` of the coordinates only),
    or None for other forms."""
    form = det_form(problem)
    if form is None or not form[1].free_symbols <= {sp.Symbol(c) for c in problem.coords}:
        return None
    return form[1] / form[0]


def _values(fn: Any, pts: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.asarray(fn(*[pts[:, j] for j in range(pts.shape[1])]), float)


def _check_source(problem: Problem, domain: Any, rng: np.random.Generator) -> None:
    f = _source(problem)
    if f is None:
        return
    pts = domain.sample(4096, rng)
    vals = _values(compile_expr(f, list(problem.coords)), pts)
    bad = ~(vals > 0)
    if bad.any():
        k = int(np.argmax(bad))
        at = ", ".join(f"{c}={v:.3g}" for c, v in zip(problem.coords, pts[k]))
        raise DataError(
            f"the source f = {sp.sstr(f)} is {vals[k]:.3g} at ({at}); det(hessian(u)) = f has a "
            "strictly convex solution only where f > 0: give an f positive on the domain"
        )


def _unit_weights(pts: np.ndarray, eps: np.ndarray) -> np.ndarray:
    return np.ones(len(pts))


def _weights(problem: Problem, s_f: float) -> Any:
    """Pointwise weights of the plain residual (the penalty network's loss): for
    ``det(hessian(u)) = f``, ``(s_f / f)^(1-1/d)``, so that the loss measures
    ``f̃^(1/d) - f^(1/d)`` to first order (the quantity the stability estimate of the
    Dirichlet problem bounds the error of ``u`` by), rather than letting the largest values
    of ``f`` dominate; ones for other equations."""
    f = _source(problem)
    d = len(problem.coords)
    if f is None or d == 1:
        return _unit_weights
    fn = compile_expr(f, list(problem.coords))

    def weight(pts: np.ndarray, eps: np.ndarray) -> np.ndarray:
        vals = _values(fn, pts) + eps
        vals = np.clip(np.nan_to_num(vals, nan=s_f, posinf=1e300), 1e-3 * s_f, None)
        return (s_f / vals) ** (1 - 1 / d)

    return weight


# ----------------------------------------------------------------------------- solution
class ConvexSolution(Solution):
    """A :class:`~discover.solve.Solution` that also gives the Hessian of its network."""

    def __init__(self, *args: Any, model: nn.Module, num_threads: int | None, **kw: Any):
        super().__init__(*args, **kw)
        self._model = model
        self._threads = num_threads

    def hessian(self, points: np.ndarray) -> np.ndarray:
        """The Hessian ``(n, d, d)`` of the solution at ``points`` ``(n, d)``."""
        pts = torch.as_tensor(np.asarray(points, dtype=np.float64))
        out = []
        with threads(self._threads):
            for s in range(0, len(pts), 4096):
                out.append(hessian(self._model, pts[s : s + 4096], create_graph=False)[2])
        return torch.cat(out).detach().numpy() if out else np.empty((0, pts.shape[1]) * 2)

    def min_eigenvalue(self, points: np.ndarray) -> np.ndarray:
        """The smallest eigenvalue of the Hessian at ``points`` (positive: strictly convex)."""
        return np.linalg.eigvalsh(self.hessian(points))[:, 0]


# ----------------------------------------------------------------------------- solver
def _network(name: str, d: int, solver: Any) -> nn.Module:
    if name == "icnn":
        return ICNN(d, width=solver.width, depth=solver.depth).double()
    return MLP(d, 1, width=solver.width, depth=solver.depth, activation="tanh").double()


def _columns(problem: Problem) -> tuple[list[str], list[tuple[int, int]]]:
    """Argument names of the compiled residual: coordinates, field, first derivatives and
    the upper triangle of the Hessian (whose index pairs come second)."""
    coords, field = problem.coords, problem.fields[0]
    d = len(coords)
    hsyms = hessian_of(sp.Symbol(field), *[sp.Symbol(c) for c in coords]).matrix()
    upper = [(i, j) for i in range(d) for j in range(i, d)]
    names = [*coords, field, *_first_derivatives(field, coords)]
    return names + [str(hsyms[i, j]) for i, j in upper], upper


def _compiled_residual(problem: Problem) -> Any:
    """``F(x, u, ∇u, D²u)`` as a torch function of points ``(n, d)``, values ``(n,)``,
    gradients ``(n, d)`` and Hessians ``(n, d, d)``."""
    names, upper = _columns(problem)
    residual = compile_expr(expand_operators(problem.equations[0].residual), names, "torch")

    def evaluate(x: torch.Tensor, u: torch.Tensor, g: torch.Tensor, h: torch.Tensor):
        cols = [x[:, j] for j in range(x.shape[1])] + [u] + [g[:, j] for j in range(x.shape[1])]
        return residual(*cols, *[h[:, i, j] for i, j in upper])

    return evaluate


def _compiled_rhs(problem: Problem, rhs: sp.Expr) -> Any:
    """``F(x, u, ∇u)`` of ``c·det(hessian(u)) = F`` as a torch function of ``x, u, ∇u``."""
    coords, field = problem.coords, problem.fields[0]
    fn = compile_expr(rhs, [*coords, field, *_first_derivatives(field, coords)], "torch")

    def evaluate(x: torch.Tensor, u: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        d = x.shape[1]
        return fn(*[x[:, j] for j in range(d)], u, *[g[:, j] for j in range(d)])

    return evaluate


def _scales(problem: Problem, domain: Any, residual: Any, rng) -> tuple[float, float, float]:
    """The source's size ``s_f`` (rms of the residual of ``u = 0``), the natural size of
    ``u`` and the mean boundary value."""
    d = len(problem.coords)
    probe = torch.as_tensor(domain.sample(2048, rng))
    n = len(probe)
    zeros = torch.zeros(n, dtype=torch.float64)
    with np.errstate(all="ignore"):
        f0 = residual(probe, zeros, torch.zeros_like(probe), torch.zeros(n, d, d).double())
    ok = torch.isfinite(f0)
    s_f = float(torch.sqrt(torch.mean(f0[ok] ** 2))) if ok.any() else 1.0
    s_f = s_f if s_f > 0 else 1.0
    gvals = problem.boundary_values(domain.boundary_points(2048, rng))[:, 0]
    if not np.all(np.isfinite(gvals)):
        raise DataError("the boundary values g are not finite everywhere on the boundary")
    lo, hi = domain.bounds()
    extent = float(np.max(hi - lo)) / 2
    s_u = max(float(np.std(gvals)), s_f ** (1 / d) * extent**2 / 2, 1e-12)
    return s_f, s_u, float(np.mean(gvals))


def _boundary_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor, s_u: float):
    """Mean squared mismatch ``((u - g) / s_u)²`` at the boundary rows of ``(x, y)``."""
    wall = y[:, 0] != 0
    return torch.mean(((model(x[wall])[:, 0] - y[wall, 1]) / s_u) ** 2)


def _inner_derivatives(model: nn.Module, x: torch.Tensor, y: torch.Tensor):
    """Interior rows, and the value, gradient and Hessian of ``model`` there."""
    inner = y[:, 0] == 0
    xi = x[inner].detach().clone().requires_grad_(True)
    with torch.enable_grad():
        u, g, h = hessian(model, xi)
    return inner, xi, u, g, h


def _log_loss(form: tuple[float, Any], solver: Any, s_f: float, s_u: float, d: int) -> Any:
    """The loss of the module notes in log form at interior rows (``y = (is boundary, noise
    on f or g, unused)``): ``w·(log c + log det D²u - log f)`` with ``f = F + noise`` and
    ``w = (f / s_f)^(1/d)``, which is ``d·(det^(1/d) - f^(1/d)) / s_f^(1/d)`` to first order
    — the quantity the stability estimate bounds the error of ``u`` by."""
    coef, rhs = form
    # a floor only for noisy values f + noise <= 0: the weight then drops such a point
    wb, floor, log_c = float(solver.boundary_weight), 1e-12 * s_f, float(np.log(coef))

    def loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        inner, xi, u, g, h = _inner_derivatives(model, x, y)
        with torch.enable_grad():
            f = torch.clamp(rhs(xi, u, g) + y[inner, 1], min=floor)
            w = (f.detach() / s_f) ** (1 / d)
            r = w * (torch.linalg.slogdet(h)[1] + log_c - torch.log(f))
            total = torch.mean(r**2)
        return total + wb * _boundary_loss(model, x, y, s_u)

    return loss


def _plain_loss(residual: Any, network: str, solver: Any, s_f: float, s_u: float, d: int):
    """The loss of the module notes in plain form, ``(F(x, u, ∇u, D²u) - noise)·w / s_f``
    at interior rows (``y = (is boundary, noise on f or g, weight w)``), with the convexity
    penalty for ``network="mlp"``."""
    wb, wc = float(solver.boundary_weight), float(solver.convexity_weight)
    s_h = s_f ** (1 / d)

    def loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        inner, xi, u, g, h = _inner_derivatives(model, x, y)
        with torch.enable_grad():
            r = (residual(xi, u, g, h) - y[inner, 1]) * y[inner, 2] / s_f
            total = torch.mean(r**2)
            if network == "mlp" and wc > 0:
                lam = torch.linalg.eigvalsh(h)[:, 0]
                total = total + wc * torch.mean(torch.relu(-lam / s_h) ** 2)
        return total + wb * _boundary_loss(model, x, y, s_u)

    return loss


def _check_network(solver: Any) -> str:
    network = solver.network or "icnn"
    if network not in NETWORKS:
        valid = ", ".join(repr(n) for n in NETWORKS)
        raise DataError(f"unknown network '{network}'; valid networks: {valid}")
    return network


def _sampler(problem: Problem, domain: Any, solver: Any, weight: Any, s_f: float, rng) -> Any:
    """``draw(n)``: ``n`` interior and the boundary points, with targets ``(is boundary,
    noise on f or g, weight)``; the noise on ``f`` has ``σ = source_noise · rms(f)``."""
    d = len(problem.coords)
    n_b = solver.boundary_points or max(256, solver.n_points // (2 if d > 2 else 4))
    noise = float(solver.source_noise)

    def draw(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        xi = domain.sample(n, rng)
        xb = domain.boundary_points(n_b, rng)
        gb = problem.boundary_values(xb)[:, 0]
        eps = noise * s_f * rng.standard_normal(n)
        x = np.concatenate([xi, xb])
        y = np.column_stack(
            [np.r_[np.zeros(n), np.ones(n_b)], np.r_[eps, gb], np.r_[weight(xi, eps), np.ones(n_b)]]
        )
        return torch.as_tensor(x), torch.as_tensor(y)

    return draw


@dataclass
class _Setup:
    """What a fully nonlinear solve trains: the network, its loss and the sampler."""

    network: str
    domain: Any
    net: nn.Module
    loss: Any
    draw: Any
    form: str
    scales: tuple[float, float]


def _setup(problem: Problem, solver: Any, rng: np.random.Generator) -> _Setup:
    network = _check_network(solver)
    domain = working_domain(problem, hull=solver.hull)
    _check_source(problem, domain, rng)
    d = len(problem.coords)
    residual = _compiled_residual(problem)
    s_f, s_u, g_mean = _scales(problem, domain, residual, rng)
    lo, hi = domain.bounds()
    net = Scaled(_network(network, d, solver), lower=lo, upper=hi, mean=[g_mean], std=[s_u])
    form = det_form(problem) if network == "icnn" else None
    if form is not None:
        loss = _log_loss((form[0], _compiled_rhs(problem, form[1])), solver, s_f, s_u, d)
        weight = _unit_weights
    else:
        loss = _plain_loss(residual, network, solver, s_f, s_u, d)
        weight = _weights(problem, s_f)
    draw = _sampler(problem, domain, solver, weight, s_f, rng)
    kind = "log det" if form is not None else "plain"
    return _Setup(network, domain, net, loss, draw, kind, (s_f, s_u))


def _train(setup: _Setup, solver: Any) -> Any:
    """Adam on resampled points (fixed ones when the source is noisy), then L-BFGS."""
    x, y = setup.draw(solver.n_points)
    x_val, y_val = setup.draw(max(256, solver.n_points // 4))
    noisy = float(solver.source_noise) > 0
    return fit(
        setup.net,
        x,
        y,
        x_val=x_val,
        y_val=y_val,
        loss=setup.loss,
        adam_steps=solver.adam_steps,
        lbfgs_steps=solver.lbfgs_steps,
        lr=solver.lr,
        patience=max(400, solver.resample_every * 4),
        seed=solver.seed,
        progress=solver.progress,
        num_threads=solver.num_threads,
        resample=None if noisy else (lambda: setup.draw(solver.n_points)),
        resample_every=solver.resample_every,
    )


def _evaluator(net: nn.Module, num_threads: int | None) -> Any:
    def evaluate(points: np.ndarray) -> np.ndarray:
        out = []
        with torch.no_grad(), threads(num_threads):
            for s in range(0, len(points), 16384):
                out.append(net(torch.as_tensor(points[s : s + 16384])).numpy())
        return np.concatenate(out) if out else np.empty((0, 1))

    return evaluate


def _info(setup: _Setup, solver: Any, result: Any) -> dict[str, Any]:
    return {
        "method": "fully nonlinear (boundary loss)",
        "network": f"{setup.network} {solver.depth}x{solver.width}",
        "residual": setup.form,
        "domain": repr(setup.domain),
        "steps": result.steps,
        "best_step": result.best_step,
        "train_loss": result.train_loss,
        "val_loss": result.val_loss,
        "train_seconds": result.seconds,
        "source_scale": setup.scales[0],
        "value_scale": setup.scales[1],
        "source_noise": float(solver.source_noise),
    }


def solve_fully_nonlinear(problem: Problem, solver: Any) -> ConvexSolution:
    """Solve a fully nonlinear problem (see the module notes) with the settings of a
    :class:`~discover.solve.NeuralSolver` (``solver``)."""
    t_start = time.perf_counter()
    torch.manual_seed(solver.seed)
    rng = np.random.default_rng(solver.seed)
    setup = _setup(problem, solver, rng)
    with threads(solver.num_threads):
        result = _train(setup, solver)
    setup.net.eval()
    seconds = time.perf_counter() - t_start
    logger.info("fully nonlinear solve: %.1f s, loss %.3g", seconds, result.val_loss)
    return ConvexSolution(
        problem,
        solver.name,
        _evaluator(setup.net, solver.num_threads),
        seconds=seconds,
        info=_info(setup, solver, result),
        model=setup.net,
        num_threads=solver.num_threads,
    )


# ----------------------------------------------------------------------------- command line
_DOMAIN_HELP = (
    "'disk:R' or 'disk:R@CX,CY', 'ball:R' (3-D) or 'ball:R@C1,...,Cd' (d from the centre), "
    "'box:x=-1..1,y=-1..1' (any number of sides) or 'polygon:X1,Y1;X2,Y2;X3,Y3'"
)


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise DataError(
            f"cannot read {what} '{text}' as a number; domains: {_DOMAIN_HELP}"
        ) from None
    if not np.isfinite(value):
        raise DataError(f"{what} must be finite, not '{text}'")
    return value


def _round(rest: str, kind: str) -> tuple[float, list[float] | None]:
    """The radius and centre of ``R[@C1,C2,…]``."""
    radius, _, center = rest.partition("@")
    c = [_number(v, f"the {kind}'s centre") for v in center.split(",")] if center else None
    return _number(radius, f"the {kind}'s radius"), c


def _disk(rest: str) -> Disk:
    radius, c = _round(rest, "disk")
    c = c or [0.0, 0.0]
    if len(c) != 2:
        raise DataError(f"a disk's centre is two numbers CX,CY, not {len(c)}; use ball: for more")
    return Disk(center=(c[0], c[1]), radius=radius)


def _ball(rest: str) -> Ball:
    radius, c = _round(rest, "ball")
    return Ball(radius=radius, center=c, dim=None if c else 3)


def _box(rest: str) -> Box:
    sides = {}
    for part in rest.split(","):
        name, _, span = part.partition("=")
        a, sep, b = span.partition("..")
        if not name.strip().isidentifier() or not sep:
            raise DataError(f"cannot read the side '{part}'; write name=START..END")
        sides[name.strip()] = (_number(a, "a side's start"), _number(b, "a side's end"))
    return Box(**sides)


def _polygon(rest: str) -> Polygon:
    return Polygon([[_number(v, "a vertex") for v in p.split(",")] for p in rest.split(";")])


_DOMAIN_KINDS = {"disk": _disk, "ball": _ball, "box": _box, "polygon": _polygon}


def parse_domain(text: str) -> Box | Disk | Ball | Polygon:
    """A domain from a short text (the command line's ``--domain``).

    >>> parse_domain("disk:1.5@0,1")
    Disk(center=(0.0, 1.0), radius=1.5, names=('x', 'y'))
    >>> parse_domain("box:x=-1..1,y=0..2")
    Box(x=(-1.0, 1.0), y=(0.0, 2.0))
    >>> parse_domain("ball:1@0,0,0,0")
    Ball(center=(0.0, 0.0, 0.0, 0.0), radius=1.0, names=('x', 'y', 'z', 'w'))
    >>> parse_domain("sphere:1")
    Traceback (most recent call last):
    ...
    discover.errors.DataError: unknown domain 'sphere:1'; give 'disk:R' or 'disk:R@CX,CY', ...
    """
    kind, _, rest = text.strip().partition(":")
    build = _DOMAIN_KINDS.get(kind.strip().lower())
    if build is None:
        raise DataError(f"unknown domain '{text}'; give {_DOMAIN_HELP}")
    try:
        return build(rest)
    except DataError:
        raise
    except ValueError as exc:  # the domains' own checks
        raise DataError(f"{exc}; domains: {_DOMAIN_HELP}") from None


def solve_steady_text(
    equation: str,
    domain: str,
    dirichlet: str,
    *,
    n_grid: int = 41,
    solver_options: dict[str, Any] | None = None,
) -> tuple[Solution, Any]:
    """Solve ``equation`` on the domain ``domain`` (see :func:`parse_domain`) with boundary
    values given by the formula ``dirichlet`` (read by :func:`discover.parsing.parse_expr`);
    returns the solution and an ``xarray.Dataset`` of it on a grid of ``n_grid`` points per
    coordinate over the domain's bounding box (NaN outside the domain)."""
    from . import solve

    dom = parse_domain(domain)
    g = parse_expr(dirichlet, symbols={c: sp.Symbol(c) for c in dom.names})
    unknown = sorted(str(s) for s in g.free_symbols if str(s) not in dom.names)
    if unknown:
        raise DataError(
            f"the boundary values '{dirichlet}' use {', '.join(unknown)}; they may use only the "
            f"coordinates {', '.join(dom.names)}"
        )
    if not 2 <= n_grid <= 401:
        raise DataError(f"--n-grid must be between 2 and 401, not {n_grid}")
    gfn = compile_expr(g, list(dom.names))
    problem = Problem(equation, dom, boundary=lambda *cols: gfn(*cols))
    if not problem.fully_nonlinear:
        raise DataError(
            f"'{equation}' is not an equation of the Hessian; a steady problem from the command "
            "line takes e.g. 'det(hessian(u)) = 1'"
        )
    sol = solve(problem, "neural", **dict(solver_options or {}))
    lo, hi = dom.bounds()
    axes = {c: np.linspace(a, b, n_grid) for c, a, b in zip(dom.names, lo, hi)}
    ds = sol.on_grid(**axes)
    mesh = np.meshgrid(*axes.values(), indexing="ij")
    inside = dom.contains(np.stack([m.ravel() for m in mesh], axis=1)).reshape(mesh[0].shape)
    for f in problem.fields:
        ds[f] = ds[f].where(inside)
    ds.attrs["equations"] = equation
    ds.attrs["boundary"] = dirichlet
    return sol, ds
