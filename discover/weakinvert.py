"""The weak form of an inverse problem (``invert(..., form="weak")``).

The PDE ``k·div(a grad u) + rest = 0`` (``a`` an unknown, ``u`` a solution field) is tested
against smooth bumps ``φ_j = Π (1 - s²)^8`` that vanish outside boxes lying inside the data's
region, and integrated by parts twice, which moves every derivative off ``u``::

    k ∫ u (grad a · grad φ_j + a Δφ_j) + ∫ rest φ_j = 0,

so only the *values* of the solution network enter (its second derivatives, which noise
spoils most, do not), and ``a`` is differentiated once.  ``rest`` (the source ``f``,
lower-order terms) is evaluated pointwise.  The integrals are sums over a lattice: the data's
grid, or for scattered data a regular grid over their region with the given fields
interpolated (piecewise cubic in 2-D, linear otherwise); a box spans at least 8 lattice steps
each side, where the sums are accurate to about 1e-4 (4 steps left errors of 30%).  The sums
are matrices (test functions × lattice points) built once per member; a step then costs one
evaluation of the solution network and of the coefficient network and its gradient at the
lattice points.  With ``coupling="joint"`` the solution network is fitted to the data and to
these residuals together; with ``"fixed"`` it is frozen after its fit to the data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp
import torch

from .errors import DataError
from .solve.problem import compile_expr

__all__ = ["WeakSystem", "divergence_structure", "weak_system"]

_POWER = 8  # φ = Π (1 - s²)^8: smooth enough at the edge of its box for the lattice sums


@dataclass
class Structure:
    """``residual = k·div(a grad u) + rest`` in the placeholder symbols of a spec."""

    k: float
    unknown: str
    field: str
    rest: sp.Expr


def divergence_structure(spec) -> Structure:
    """Find ``k``, ``a``, ``u`` and ``rest`` with ``residual = k·div(a grad u) + rest``, where
    ``rest`` holds no second derivative of a solution field and no derivative of an unknown.

    >>> from discover.datasets.inverse import poisson_inverse
    >>> from discover.invert import parse_problem
    >>> ds = poisson_inverse(dim=2, n=11, seed=0)
    >>> st = divergence_structure(parse_problem("-div(a*grad(u)) = f", ds, ["a(x, y)"]))
    >>> st.k, st.unknown, st.field, st.rest
    (-1.0, 'a', 'u', -_f_f_0_0)
    """
    coords, spatial = spec.coords, spec.spatial
    for unk in (u for u in spec.unknowns if u.positive):
        for f in spec.solution:
            div = sp.Integer(0)
            for s in spatial:
                e = tuple(int(c == s) for c in coords)
                e2 = tuple(2 * v for v in e)
                a0 = _slot("u", unk.name, tuple(0 for _ in unk.args))
                if s in unk.args:
                    ai = _slot("u", unk.name, tuple(int(c == s) for c in unk.args))
                else:
                    ai = sp.Integer(0)
                div += a0 * _slot("f", f, e2) + ai * _slot("f", f, e)
            k = sp.diff(spec.residual, _slot("u", unk.name, tuple(0 for _ in unk.args)))
            k = sp.diff(k, _slot("f", f, tuple(2 * int(c == spatial[0]) for c in coords)))
            if not k.is_number or k == 0:
                continue
            rest = sp.expand(spec.residual - k * div)
            if all(
                x.name in spec.slots for x in rest.free_symbols if x.name.startswith("_")
            ) and _admissible(rest, spec):
                return Structure(float(k), unk.name, f, rest)
    raise DataError(
        "coupling 'weak' needs an equation of the form div(a*grad(u)) + (terms without "
        "second derivatives of u or derivatives of a) = 0, e.g. -div(a*grad(u)) = f; "
        "use coupling 'joint'"
    )


def _slot(kind: str, name: str, mi: tuple[int, ...]) -> sp.Symbol:
    return sp.Symbol(f"_{kind}_{name}_{'_'.join(map(str, mi))}")


def _admissible(rest: sp.Expr, spec) -> bool:
    for s in rest.free_symbols:
        slot = spec.slots.get(s.name)
        if slot is None:
            continue
        kind, _, mi = slot
        if (kind == "field" and sum(mi) >= 2) or (kind == "unknown" and any(mi)):
            return False
    return True


# ----------------------------------------------------------------------------- lattice
@dataclass
class Lattice:
    """Quadrature points: a regular lattice, which of its points lie inside the region,
    their weights and the given fields' values there."""

    axes: list[np.ndarray]
    inside: np.ndarray  # lattice shape
    given: dict[str, np.ndarray]  # lattice shape, NaN outside

    def points(self) -> np.ndarray:
        mesh = np.meshgrid(*self.axes, indexing="ij")
        return np.stack([m[self.inside] for m in mesh], axis=1)

    def weights(self) -> np.ndarray:
        cell = np.meshgrid(*[_trapezoid(a) for a in self.axes], indexing="ij")
        return np.prod([c[self.inside] for c in cell], axis=0)


def _trapezoid(a: np.ndarray) -> np.ndarray:
    if len(a) < 2:
        return np.ones(len(a))
    return np.gradient(a) if len(a) > 2 else np.full(len(a), (a[-1] - a[0]) / 2)


def lattice(spec, data, *, n_scattered: int | None = None) -> Lattice:
    """The data's grid, or a regular grid over the region of scattered points (within four
    typical spacings of a point and inside their hull, where the given fields interpolate)."""
    from scipy.spatial import cKDTree

    have = np.ones(len(data.points), bool)
    for g in spec.given:
        have &= np.isfinite(data.values[g])
    if not spec.given:
        have = np.any([np.isfinite(data.values[f]) for f in spec.solution], axis=0)
    if data.axes is not None:
        axes = [data.axes[c] for c in data.coords]
        shape = tuple(len(a) for a in axes)
        given = {g: data.values[g].reshape(shape) for g in spec.given}
        return Lattice(axes, have.reshape(shape), given)
    d = data.points.shape[1]
    m = n_scattered or {1: 201, 2: 81}.get(d, 25)
    src = data.points[have]
    lo, hi = src.min(0), src.max(0)
    axes = [np.linspace(lo[j], hi[j], m) for j in range(d)]
    mesh = np.stack([g.ravel() for g in np.meshgrid(*axes, indexing="ij")], axis=1)
    tree = cKDTree(src)
    spacing = np.median(tree.query(src, k=2)[0][:, 1])
    inside = tree.query(mesh)[0] <= 4.0 * spacing  # random points leave gaps of ~3 spacings
    given = {}
    for g in spec.given:
        vals = _interpolate(src, data.values[g][have], mesh)
        inside &= np.isfinite(vals)
        given[g] = vals
    shape = (m,) * d
    return Lattice(axes, inside.reshape(shape), {g: v.reshape(shape) for g, v in given.items()})


def _interpolate(src: np.ndarray, vals: np.ndarray, at: np.ndarray) -> np.ndarray:
    if src.shape[1] == 1:
        order = np.argsort(src[:, 0])
        out = np.interp(at[:, 0], src[order, 0], vals[order], left=np.nan, right=np.nan)
        return out
    from scipy.interpolate import CloughTocher2DInterpolator, LinearNDInterpolator

    if src.shape[1] == 2:  # piecewise cubic: the linear one leaves errors of a few percent
        return CloughTocher2DInterpolator(src, vals)(at)
    return LinearNDInterpolator(src, vals)(at)


# ----------------------------------------------------------------------------- test functions
def place_bumps(lat: Lattice, *, radius: float, spacing: float, min_cells: float = 8.0):
    """Centres and half-widths of the bumps whose boxes lie inside the region: half-width
    ``radius`` of each coordinate's span (at least ``min_cells`` lattice steps), centres
    ``spacing`` half-widths apart."""
    spans = np.array([a[-1] - a[0] for a in lat.axes])
    steps = np.array([(a[-1] - a[0]) / max(len(a) - 1, 1) for a in lat.axes])
    r = np.maximum(radius * spans, min_cells * steps)
    per_axis = []
    for a, rj in zip(lat.axes, r):
        lo, hi = a[0] + rj, a[-1] - rj
        count = max(1, int(np.floor((hi - lo) / (spacing * rj) + 1e-9)) + 1)
        per_axis.append(np.linspace(lo, hi, count) if hi > lo else np.array([(a[0] + a[-1]) / 2]))
    centres = np.stack([g.ravel() for g in np.meshgrid(*per_axis, indexing="ij")], axis=1)
    keep = []
    for c in centres:
        box = tuple(
            slice(*np.searchsorted(a, [cj - rj, cj + rj], side="right"))
            for a, cj, rj in zip(lat.axes, c, r)
        )
        if lat.inside[box].all():
            keep.append(c)
    if not keep:
        raise DataError(
            "no test function fits inside the data's region; the weak form needs a region "
            "a few grid steps wide (use coupling 'joint')"
        )
    return np.array(keep), r


def _bump(points: np.ndarray, centres: np.ndarray, r: np.ndarray):
    """``φ``, ``∂_j φ`` and ``∂_jj φ`` (lists over coordinates) of every bump at every
    point: arrays of shape (bumps, points)."""
    s = (points[None, :, :] - centres[:, None, :]) / r  # (J, Q, d)
    inside = np.all(np.abs(s) < 1, axis=2)
    q = np.clip(1 - s**2, 0, None)
    p = _POWER
    g = q**p
    dg = -2 * p * s * q ** (p - 1) / r
    d2g = (-2 * p * q ** (p - 1) + 4 * p * (p - 1) * s**2 * q ** (p - 2)) / r**2
    d = points.shape[1]
    phi = np.prod(g, axis=2) * inside
    grads, seconds = [], []
    for j in range(d):
        others = np.prod(np.delete(g, j, axis=2), axis=2) if d > 1 else 1.0
        grads.append(dg[..., j] * others * inside)
        seconds.append(d2g[..., j] * others * inside)
    return phi, grads, seconds


# ----------------------------------------------------------------------------- the system
@dataclass
class WeakSystem:
    """The lattice sums of one problem: ``weak_j = Σ_q L[j,q] u_q a_q + Σ_i Σ_q M_i[j,q] u_q
    ∂_i a_q + Σ_q B[j,q] rest_q`` (``L = k Δφ·w``, ``M_i = k ∂_i φ·w``, ``B = φ·w``, ``w``
    the quadrature weights); the rest's slots that do not change are kept (``fixed``)."""

    points: torch.Tensor
    lap: torch.Tensor
    mi: dict[int, torch.Tensor]  # argument index of the unknown -> matrix
    b: torch.Tensor
    rest_fn: object
    rest_names: list[str]
    fixed: dict[str, torch.Tensor]
    unknown: str
    field: str
    cols: list[int]
    scale: float
    centres: np.ndarray
    radius: np.ndarray

    def rest(self, model) -> torch.Tensor:
        """``rest`` at the lattice points with the coefficients as they are."""
        spec = model.spec
        vals = dict(self.fixed)
        for k in self.rest_names:
            if k not in vals:  # an unknown's value (no derivatives: admissible)
                name = spec.slots[k][1]
                vals[k] = model.coefs[name](self.points[:, model.cols[name]])[:, 0]
        out = self.rest_fn(*[vals[k] for k in self.rest_names], *self.points.T)
        return torch.broadcast_to(torch.as_tensor(out, dtype=torch.float64), (len(self.points),))


def weak_system(model, data, *, radius: float, spacing: float) -> WeakSystem:
    """The weak system of ``model``'s spec on the data's lattice."""
    spec = model.spec
    st = divergence_structure(spec)
    lat = lattice(spec, data)
    pts = lat.points()
    w = lat.weights()
    centres, r = place_bumps(lat, radius=radius, spacing=spacing)
    phi, grads, seconds = _bump(pts, centres, r)
    x = torch.as_tensor(pts)
    unk = next(v for v in spec.unknowns if v.name == st.unknown)
    lap = st.k * sum(seconds[spec.coords.index(s)] for s in spec.spatial) * w[None, :]
    mi = {
        unk.args.index(s): torch.as_tensor(st.k * grads[spec.coords.index(s)] * w[None, :])
        for s in spec.spatial
        if s in unk.args
    }
    names = sorted(s.name for s in st.rest.free_symbols)
    system = WeakSystem(
        x,
        torch.as_tensor(lap),
        mi,
        torch.as_tensor(phi * w[None, :]),
        compile_expr(st.rest, [*names, *spec.coords], backend="torch"),
        names,
        _fixed_values(model, spec, names, x, lat),
        st.unknown,
        st.field,
        [spec.coords.index(a) for a in unk.args],
        1.0,
        centres,
        r,
    )
    with torch.no_grad():
        system.scale = float(torch.sqrt(torch.mean((system.b @ system.rest(model)) ** 2))) or 1.0
    return system


def _fixed_values(model, spec, names, x, lat) -> dict[str, torch.Tensor]:
    """Values of the rest's slots that do not change in the coefficient's fit."""
    out: dict[str, torch.Tensor] = {}
    fields = {}
    for k in names:
        kind, name, mi = spec.slots[k]
        if kind == "given":
            out[k] = torch.as_tensor(lat.given[name][lat.inside])
        elif kind == "field":
            fields.setdefault(name, []).append((k, mi))
    from .neural import derivative_tensors

    xg = x.detach().requires_grad_(True)
    for name, items in fields.items():
        d = derivative_tensors(model.fields[name], xg, [mi for _, mi in items], create_graph=False)
        out.update({k: d[mi][:, 0].detach() for k, mi in items})
    return out


def residuals(system: WeakSystem, model) -> torch.Tensor:
    """The weak residuals of all test functions, divided by the rms of ``∫ rest φ_j`` at the
    start."""
    net = model.coefs[system.unknown]
    with torch.enable_grad():  # the held-out checks run under no_grad
        u = model.fields[system.field](system.points)[:, 0]
        x = system.points[:, system.cols].detach().requires_grad_(bool(system.mi))
        a = net(x)[:, 0]
        out = system.lap @ (u * a) + system.b @ system.rest(model)
        if system.mi:
            (grad,) = torch.autograd.grad(a.sum(), x, create_graph=True)
            for i, m in system.mi.items():
                out = out + m @ (u * grad[:, i])
    return out / system.scale
