"""The weak form of the regression: the PDE integrated against smooth test functions.

Multiplying ``u_t = Σ c_i term_i`` by a test function ψ that vanishes with its derivatives on
the edge of a box, and integrating over the box, moves derivatives from the data onto ψ:

.. math::

    -\\int ψ_t\\, u = \\sum_i c_i (-1)^{|β_i|} \\int ∂^{β_i} ψ\\; g_i ,
    \\qquad \\text{term}_i = ∂^{β_i} g_i .

A term written as a derivative of a simpler expression (``u_xxx = ∂³u``,
``u*u_x = ∂(u²/2)``, ``u**2*u_x = ∂(u³/3)``) then needs only values of the field, which an
interpolant of noisy data gives far more accurately than its derivatives (measured on
advection–diffusion at 10% noise: value error 4% of the field's spread, ``u_xx`` error 24%).
Other terms (``u*u_xx``, ``u_x**2``) are integrated as they are, which still averages their
noise.  This is the weak SINDy of Messenger & Bortz (2021, J. Comput. Phys. 443), evaluated on
the neural interpolant instead of on raw data.

Test functions are ``ψ = Π_d (1 - s_d²)^p`` on boxes of a regular grid (``s_d`` the
coordinate scaled to [-1, 1] over the box); integrals use the trapezoidal rule, which is
accurate to high order because ψ vanishes smoothly at the edges.

Examples
--------
>>> import numpy as np
>>> t = np.linspace(0, 1, 81); x = np.linspace(0, 2 * np.pi, 201)
>>> u = np.exp(-t)[:, None] * np.sin(x)[None, :]          # u_t = u_xx
>>> boxes = WeakBoxes((t, x), half_width=(8, 20), order=3)
>>> lhs = -boxes.integrate(u, (1, 0))       # ∫ψ u_t = -∫ψ_t u
>>> rhs = boxes.integrate(u, (0, 2))
>>> bool(np.allclose(lhs, rhs, rtol=1e-3, atol=1e-9))
True
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
import sympy as sp

from .library import Term, parse_symbol

__all__ = [
    "WeakBoxes",
    "evaluation_grid",
    "half_widths",
    "inner_box",
    "inside_hull",
    "product_rule",
    "weak_parts",
    "weak_systems",
]


def weak_parts(term: Term) -> tuple[sp.Expr, tuple[int, ...]]:
    """Split a term into ``(g, β)`` with ``term = ∂^β g`` where that is simple.

    ``∂^α u`` gives ``(u, α)``; ``u**k * ∂_c u`` gives ``(u**(k+1)/(k+1), e_c)``; any other
    term gives ``(term, 0)``.

    >>> from discover.library import Library
    >>> lib = Library(("u",), ("t", "x"), max_order=3, degree=2)
    >>> {t.name: weak_parts(t) for t in lib.terms if t.name in ("u_xxx", "u*u_x", "u*u_xx")}
    {'u_xxx': (u, (0, 3)), 'u*u_x': (u**2/2, (0, 1)), 'u*u_xx': (u*u_xx, (0, 0))}
    """
    zero = (0,) * len(term.coords)
    expr = term.expr
    if expr.is_number:
        return expr, zero
    derivs, poly = [], []
    for base, exp in expr.as_powers_dict().items():
        if not isinstance(base, sp.Symbol) or not exp.is_Integer or exp < 1:
            return expr, zero
        d = parse_symbol(base.name, term.fields, term.coords)
        if d is None:
            return expr, zero
        (derivs if d.total_order else poly).append((d, int(exp)))
    if len(derivs) != 1 or derivs[0][1] != 1:
        return expr, zero
    d = derivs[0][0]
    f = sp.Symbol(d.field)
    if not poly:
        return f, d.orders
    if len(poly) == 1 and poly[0][0].field == d.field and d.total_order == 1:
        k = poly[0][1]
        return f ** (k + 1) / (k + 1), d.orders
    return expr, zero


def _bump_derivative(p: int, order: int) -> np.polynomial.Polynomial:
    """``d^order/ds^order (1 - s²)^p`` as a polynomial in ``s``."""
    base = np.polynomial.Polynomial([1.0, 0.0, -1.0]) ** p
    return base.deriv(order) if order else base


class WeakBoxes:
    """Test functions on boxes of a tensor grid, and the integrals against them.

    Parameters
    ----------
    axes : sequence of 1-D arrays
        The grid's coordinate values (increasing), one array per coordinate.
    half_width : sequence of int
        Half-width of a box in grid points, per coordinate.
    order : int
        The highest derivative any test function must carry; the exponent ``p`` of the bump
        is ``order + BUMP_EXTRA`` (ψ's derivatives up to ``order`` vanish smoothly at the edges).
    stride : sequence of int, optional
        Grid points between neighbouring box centres (default: half the half-width).
    inside : callable, optional
        ``inside(corners) -> bool array``: keeps only the boxes whose corners (``(2^d, d)``
        per box) it accepts — e.g. inside the stations' convex hull.

    Attributes
    ----------
    centers : ndarray (n_boxes, d)
        Box centres in coordinate values.
    """

    def __init__(
        self,
        axes: Sequence[np.ndarray],
        *,
        half_width: Sequence[int],
        order: int,
        stride: Sequence[int] | None = None,
        inside=None,
    ) -> None:
        self.axes = [np.asarray(a, dtype=float) for a in axes]
        self.half_width = [int(m) for m in half_width]
        if len(self.half_width) != len(self.axes):
            raise ValueError("give one half-width per axis")
        for a, m in zip(self.axes, self.half_width):
            if m < 2 or 2 * m + 1 > a.size:
                raise ValueError(
                    f"a box of half-width {m} points does not fit an axis of {a.size} points; "
                    "use a finer grid"
                )
        self.p = int(order) + BUMP_EXTRA
        self.stride = [max(1, int(s)) for s in (stride or [m // 2 for m in self.half_width])]
        starts = [
            np.arange(0, a.size - 2 * m, s)
            for a, m, s in zip(self.axes, self.half_width, self.stride)
        ]
        grid = np.stack(np.meshgrid(*starts, indexing="ij"), axis=-1).reshape(-1, len(starts))
        if inside is not None:
            keep = np.ones(len(grid), dtype=bool)
            for corner in np.ndindex(*(2,) * len(starts)):
                idx = grid + 2 * np.asarray(self.half_width) * np.asarray(corner)
                pts = np.stack([a[idx[:, d]] for d, a in enumerate(self.axes)], axis=1)
                keep &= np.asarray(inside(pts), dtype=bool)
            grid = grid[keep]
        if len(grid) == 0:
            raise ValueError("no test-function box fits inside the data's domain")
        self.starts = grid
        self.centers = np.stack(
            [
                0.5 * (a[grid[:, d]] + a[grid[:, d] + 2 * m])
                for d, (a, m) in enumerate(zip(self.axes, self.half_width))
            ],
            axis=1,
        )
        self._cache: dict[tuple[int, int], np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.starts)

    def _weights(self, d: int, order: int) -> np.ndarray:
        """(n_boxes, 2m+1): trapezoid weight times ``∂^order ψ_d`` on each box's points."""
        key = (d, order)
        if key not in self._cache:
            a, m = self.axes[d], self.half_width[d]
            idx = self.starts[:, d][:, None] + np.arange(2 * m + 1)[None, :]
            xs = a[idx]
            lo, hi = xs[:, :1], xs[:, -1:]
            half = 0.5 * (hi - lo)
            s = (xs - 0.5 * (lo + hi)) / half
            poly = _bump_derivative(self.p, order)
            vals = poly(s) / half**order
            dx = np.diff(xs, axis=1)
            w = np.zeros_like(xs)
            w[:, :-1] += 0.5 * dx
            w[:, 1:] += 0.5 * dx
            self._cache[key] = vals * w
        return self._cache[key]

    def integrate(self, values: np.ndarray, orders: Sequence[int]) -> np.ndarray:
        """``∫ ∂^orders ψ_k · values`` over each box ``k`` (values on the whole grid).

        NaN values (outside the domain) make the boxes that touch them NaN.
        """
        v = np.asarray(values, dtype=float)
        if v.shape != tuple(a.size for a in self.axes):
            raise ValueError(f"values of shape {v.shape} do not match the grid")
        n_dim = v.ndim
        offsets = np.meshgrid(*[np.arange(2 * m + 1) for m in self.half_width], indexing="ij")
        out = np.empty(len(self))
        chunk = max(1, int(2e6 // offsets[0].size))
        for k0 in range(0, len(self), chunk):
            sl = slice(k0, min(k0 + chunk, len(self)))
            # each box's window (n, 2m0+1, 2m1+1, ...), contracted one axis at a time
            sel = tuple(
                self.starts[sl, d].reshape((-1,) + (1,) * n_dim) + offsets[d][None]
                for d in range(n_dim)
            )
            win = v[sel]
            for d in range(n_dim - 1, -1, -1):
                win = np.einsum("k...j,kj->k...", win, self._weights(d, int(orders[d]))[sl])
            out[sl] = win
        return out


def inner_box(samples, margin: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper corners of the data's bounding box shrunk by ``margin`` (a fraction of
    each coordinate's span) at every edge, where any interpolant is weakest."""
    lo, hi = samples.points.min(axis=0), samples.points.max(axis=0)
    return lo + margin * (hi - lo), hi - margin * (hi - lo)


def inside_hull(samples):
    """``inside(points) -> bool array``: whether each point's spatial part lies in the convex
    hull of the data's positions; ``None`` in 1-D space, where the box is the hull."""
    if samples.points.shape[1] <= 2:
        return None
    from scipy.spatial import Delaunay

    hull = Delaunay(np.unique(samples.points[:, 1:], axis=0))
    return lambda pts: hull.find_simplex(pts[:, 1:]) >= 0


def evaluation_grid(samples, *, margin: float = 0.1, n_space: int | None = None) -> list:
    """Axes of the regular grid the weak form integrates on: the data's own grid when it has
    one, else times of the stations (or a uniform axis) and a uniform spatial grid; a
    ``margin`` (fraction of each span) is left at every edge."""
    a, b = inner_box(samples, margin)
    if samples.grid is not None:
        axes = [samples.grid[c].values.astype(float) for c in samples.coords]
        return [v[(v >= a[i]) & (v <= b[i])] for i, v in enumerate(axes)]
    n_space = n_space or {1: 256, 2: 64}.get(len(a) - 1, 24)
    times = np.unique(samples.points[:, 0])
    times = times[(times >= a[0]) & (times <= b[0])]
    if samples.layout != "station" or times.size > 400 or times.size < 20:
        times = np.linspace(a[0], b[0], 128)
    return [times] + [np.linspace(a[i], b[i], n_space) for i in range(1, len(a))]


#: box half-width as a fraction of the evaluation grid's points: time, then each space axis
HALF_WIDTH = (0.1, 0.06)
#: fewest points in a box's half-width: time, space (spatial test functions carry up to third
#: derivatives; with the bump's exponent below the trapezoidal rule integrates them to ~1e-4
#: from 8 points on and ~1e-5 from 12; measured)
MIN_HALF_WIDTH = (4, 10)
#: the bump ``(1 - s²)^p`` has ``p = order + BUMP_EXTRA``: its highest derivative then vanishes
#: to high order at the box's edges, which is what makes the trapezoidal rule accurate
BUMP_EXTRA = 6
#: box sizes tried, as multiples of the above: the first gives the reported fit, the others
#: the stability check (a physical coefficient does not depend on the test functions)
SCALES = (1.0, 1.5)


def half_widths(shape: Sequence[int], scale: float = 1.0) -> list[int]:
    """Box half-widths (grid points) on a grid of ``shape`` (time first).

    >>> half_widths((81, 204)), half_widths((81, 204), 1.5)
    ([8, 12], [12, 18])
    """
    space = [min(d, 1) for d in range(len(shape))]  # 0 for time, 1 for every space axis
    return [max(MIN_HALF_WIDTH[j], round(scale * HALF_WIDTH[j] * n)) for j, n in zip(space, shape)]


def weak_systems(
    interpolant,
    samples,
    library,
    *,
    scales: Sequence[float] = SCALES,
    margin: float = 0.1,
) -> tuple[list[dict[str, tuple[np.ndarray, np.ndarray]]], list[np.ndarray], list[float], list]:
    """The weak-form regression problems of every field, one per box size.

    Parameters
    ----------
    interpolant : NeuralInterpolant
        A fitted interpolant of ``samples``.
    samples : Samples
    library : Library
    scales : sequence of float
        Box sizes as multiples of :func:`half_widths`.
    margin : float
        Fraction of each coordinate's span left out at the edges.

    Returns
    -------
    systems : list of dict
        Per scale, field -> ``(X, y)``: one row per box, one column per library term.
    centers : list of ndarray
        Per scale, the box centres (for block cross-validation).
    n_eff : list of float
        Per scale, the number of non-overlapping boxes (for AIC/BIC).
    modulators : list of callable
        Per scale, ``modulate(j, basis)``: term ``j``'s columns with a coefficient field
        (:mod:`discover.fields`).
    """
    axes = evaluation_grid(samples, margin=margin)
    shape = tuple(a.size for a in axes)
    inside = inside_hull(samples)
    parts = [weak_parts(t) for t in library.terms]
    wanted: dict[str, object] = {}
    for fld in library.fields:
        wanted[fld] = parse_symbol(fld, library.fields, library.coords)
    for g, _ in parts:
        for s in g.free_symbols:
            if s.name not in library.coords:
                wanted[s.name] = parse_symbol(s.name, library.fields, library.coords)
    mesh = np.meshgrid(*axes, indexing="ij")
    pts = np.stack([m.ravel() for m in mesh], axis=1)
    k = {f: i for i, f in enumerate(samples.fields)}
    orders = sorted({tuple(d.orders) for d in wanted.values()})
    d = interpolant.derivatives(pts, orders)
    feat = {n: d[tuple(w.orders)][:, k[w.field]].reshape(shape) for n, w in wanted.items()}
    feat.update(zip(samples.coords, mesh, strict=True))  # forcing terms use coordinates
    values = [Term(g, library.fields, library.coords).column(feat) for g, _ in parts]
    max_order = max([sum(b) for _, b in parts] + [1])
    t_order = (1,) + (0,) * (len(axes) - 1)
    flat = {c: m.ravel() for c, m in zip(samples.coords, mesh, strict=True)}
    systems, centers, n_eff, modulators = [], [], [], []
    for scale in scales:
        half = half_widths(shape, scale)
        boxes = WeakBoxes(axes, half_width=half, order=max_order, inside=inside)
        X = np.column_stack(
            [(-1) ** sum(b) * boxes.integrate(v, b) for v, (_, b) in zip(values, parts)]
        )
        systems.append({fld: (X, -boxes.integrate(feat[fld], t_order)) for fld in library.fields})
        centers.append(boxes.centers)
        overlap = np.prod([s / (2 * m + 1) for s, m in zip(boxes.stride, half)])
        n_eff.append(float(max(2.0, len(boxes) * overlap)))
        modulators.append(_modulator(boxes, values, parts, flat))
    return systems, centers, n_eff, modulators


def _modulator(boxes: WeakBoxes, values, parts, flat: dict[str, np.ndarray]):
    """``modulate(j, basis)`` of one box size (:mod:`discover.fields`): term ``j``'s
    columns with each basis function of a coefficient field (:func:`product_rule`)."""

    def modulate(j: int, basis) -> np.ndarray:
        return product_rule(parts[j][1], values[j], basis, flat, boxes.integrate)

    return modulate


def product_rule(beta, v: np.ndarray, basis, flat: dict[str, np.ndarray], integral):
    """The columns ``∫ψ φ_k ∂^β g = (-1)^|β| Σ_γ C(β, γ) ∫ ∂^{β-γ}ψ · ∂^γ φ_k · g`` of a
    term ``∂^β g`` (``g``'s values ``v`` on the grid ``flat``) times each basis function
    ``φ_k`` (``basis(coords, deriv)``): the field's derivatives land on the test function,
    ``integral(values, orders)`` being ``∫ ∂^orders ψ · values`` over every box."""
    out = None
    for gamma in itertools.product(*[range(b + 1) for b in beta]):
        phi = basis(flat, dict(zip(flat, gamma)))
        if not np.any(phi):
            continue
        w = float(np.prod([math.comb(b, c) for b, c in zip(beta, gamma)]))
        rest = tuple(b - c for b, c in zip(beta, gamma))
        cols = np.column_stack(
            [integral(phi[:, k].reshape(v.shape) * v, rest) for k in range(phi.shape[1])]
        )
        out = w * cols if out is None else out + w * cols
    return (-1) ** sum(beta) * out
