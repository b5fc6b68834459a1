"""Data for inverse problems: the Poisson equation ``-div(a grad u) = f`` with a coefficient
``a`` drawn at random, as in Berg & Nyström, "Neural network augmented inverse problems for
PDEs" (2017).

A manufactured solution: ``a`` (positive, varying by a factor of about three) and ``u`` are
random smooth functions, ``f = -div(a grad u)`` follows exactly by SymPy.  The dataset holds
``u`` (noisy, σ = p·std(u), a fraction of the points missing), ``f`` (exact, where the domain
is) and ``a`` only at points on the boundary (what the inverse problem is told; in 1-D the
coefficient is otherwise determined only up to ``C/u_x``).  The true coefficient is kept as
text in the attribute ``true_a`` (read it with :func:`discover.parsing.parse_expr`).

>>> ds = poisson_inverse(dim=1, n=33, seed=1)
>>> sorted(ds.data_vars), ds.attrs["equation"]
(['a', 'f', 'u'], '-div(a*grad(u)) = f')
>>> int(ds["a"].notnull().sum())
2
"""

from __future__ import annotations

import numpy as np
import sympy as sp
import xarray as xr

from discover.solve.problem import Box, Disk, Polygon

__all__ = ["DOMAINS", "coefficient_error", "make_domain", "poisson_inverse", "random_coefficient"]

_NAMES = ("x", "y", "z")
#: the domains, each inside the unit square or cube
DOMAINS = ("box", "polygon", "disk")


def make_domain(kind: str, dim: int):
    """The domain ``kind`` in ``dim`` dimensions inside [0, 1]^dim (polygon: an L shape)."""
    names = _NAMES[:dim]
    if kind == "box":
        return Box(**{n: (0.0, 1.0) for n in names})
    if dim != 2:
        raise ValueError(f"a {kind} domain is two-dimensional; use dim=2 or domain='box'")
    if kind == "polygon":
        return Polygon([(0, 0), (1, 0), (1, 0.5), (0.5, 0.5), (0.5, 1), (0, 1)])
    if kind == "disk":
        return Disk(center=(0.5, 0.5), radius=0.5)
    raise ValueError(f"unknown domain '{kind}'; valid domains: {', '.join(DOMAINS)}")


def random_coefficient(rng: np.random.Generator, dim: int, *, ratio: float = 3.0) -> sp.Expr:
    """A smooth positive function on [0, 1]^dim whose largest and smallest values differ by
    about ``ratio``: ``exp`` of a few random low-frequency cosines."""
    xs = sp.symbols(_NAMES[:dim])
    g = sp.Integer(0)
    for _ in range(3):
        k = rng.uniform(0.5, 2.0, dim)
        phase = rng.uniform(0, 2 * np.pi)
        amp = rng.uniform(0.5, 1.0)
        arg = sum(float(round(ki, 3)) * xi for ki, xi in zip(k, xs))
        g += float(round(amp, 3)) * sp.cos(sp.pi * arg + float(round(phase, 3)))
    grid = np.stack(np.meshgrid(*[np.linspace(0, 1, 9)] * dim, indexing="ij"), -1).reshape(-1, dim)
    vals = sp.lambdify(xs, g, "numpy")(*grid.T) * np.ones(len(grid))
    spread = float(vals.max() - vals.min()) or 1.0
    scale = float(round(np.log(ratio) / spread, 4))
    return sp.exp(scale * (g - float(round(vals.mean(), 4))))


def _random_solution(rng: np.random.Generator, dim: int) -> sp.Expr:
    xs = sp.symbols(_NAMES[:dim])
    u = sp.Integer(0)
    for _ in range(3):
        k = rng.uniform(0.5, 1.5, dim)
        phase = rng.uniform(0, 2 * np.pi)
        arg = sum(float(round(ki, 3)) * xi for ki, xi in zip(k, xs))
        u += float(round(rng.uniform(0.5, 1.0), 3)) * sp.sin(sp.pi * arg + float(round(phase, 3)))
    return u


def _points(domain, dim: int, layout: str, n: int, rng: np.random.Generator):
    if layout == "grid":
        axes = [np.linspace(0, 1, n)] * dim
        pts = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, dim)
        inside = domain.contains(pts)
        h = 1.0 / (n - 1)
        near = np.zeros(len(pts), bool)
        for j in range(dim):
            for step in (-h, h):
                moved = pts.copy()
                moved[:, j] += step
                near |= ~domain.contains(moved)
        return axes, pts, inside, inside & near
    if layout == "scattered":
        n_b = max(8, n // 10) if dim > 1 else 2
        interior = domain.sample(n - n_b, rng)
        bnd = domain.boundary_points(n_b, rng) if dim > 1 else np.array([[0.0], [1.0]])
        pts = np.concatenate([interior, bnd])
        on_b = np.r_[np.zeros(len(interior), bool), np.ones(len(bnd), bool)]
        return None, pts, np.ones(len(pts), bool), on_b
    raise ValueError(f"unknown layout '{layout}'; valid layouts: 'grid', 'scattered'")


def poisson_inverse(
    *,
    dim: int = 1,
    domain: str = "box",
    layout: str = "grid",
    n: int | None = None,
    noise: float = 0.05,
    missing: float = 0.5,
    seed: int = 0,
    ratio: float = 3.0,
) -> xr.Dataset:
    """A Poisson inverse problem ``-div(a grad u) = f`` with a random coefficient.

    Parameters
    ----------
    dim : {1, 2, 3}
    domain : {"box", "polygon", "disk"}
        The unit interval/square/cube, an L-shaped (non-convex) polygon or a disk.
    layout : {"grid", "scattered"}
        ``n`` points per dimension on a grid (NaN outside the domain), or ``n`` random points
        inside the domain (a tenth of them on its boundary) on the dimension ``obs``.
    n : int, optional
        Default 101 (1-D), 41 (2-D), 17 (3-D) per dimension; 1500 scattered points.
    noise : float
        σ = noise · std(u) of Gaussian noise on ``u``.
    missing : float
        Fraction of the ``u`` values set missing.
    seed : int
        Seed of the coefficient, the solution, the positions, the noise and the gaps.
    ratio : float
        About max(a) / min(a).
    """
    if dim not in (1, 2, 3):
        raise ValueError(f"dim must be 1, 2 or 3, not {dim}")
    rng = np.random.default_rng(seed)
    dom = make_domain(domain, dim)
    xs = sp.symbols(_NAMES[:dim])
    a, u = random_coefficient(rng, dim, ratio=ratio), _random_solution(rng, dim)
    f = -sum(sp.diff(a * sp.diff(u, xi), xi) for xi in xs)
    if n is None:
        n = 1500 if layout == "scattered" else {1: 101, 2: 41, 3: 17}[dim]
    axes, pts, inside, on_b = _points(dom, dim, layout, n, rng)
    ev = {k: sp.lambdify(xs, e, "numpy") for k, e in (("u", u), ("f", f), ("a", a))}
    vals = {k: np.broadcast_to(fn(*pts.T), (len(pts),)).astype(float) for k, fn in ev.items()}
    uu = vals["u"] + noise * np.std(vals["u"][inside]) * rng.standard_normal(len(pts))
    uu[rng.random(len(pts)) < missing] = np.nan
    uu[~inside] = np.nan
    ff = np.where(inside, vals["f"], np.nan)
    aa = np.where(on_b, vals["a"], np.nan)
    names = _NAMES[:dim]
    if axes is not None:
        shape = (n,) * dim
        data = {k: (names, v.reshape(shape)) for k, v in (("u", uu), ("f", ff), ("a", aa))}
        ds = xr.Dataset(data, coords=dict(zip(names, axes)))
    else:
        data = {k: (("obs",), v) for k, v in (("u", uu), ("f", ff), ("a", aa))}
        ds = xr.Dataset(data, coords={c: ("obs", pts[:, j]) for j, c in enumerate(names)})
    ds.attrs.update(
        equation="-div(a*grad(u)) = f",
        true_a=sp.sstr(a),
        true_u=sp.sstr(u),
        domain=repr(dom),
        domain_kind=domain,
        noise=f"sigma = {noise} * std(u)",
        missing=float(missing),
        seed=int(seed),
    )
    ds["a"].attrs["long_name"] = "coefficient, given on the boundary only"
    return ds


def coefficient_error(estimate: xr.DataArray, ds: xr.Dataset, *, margin: float = 0.1) -> float:
    """Relative L2 error of an estimated coefficient ``estimate`` (on a grid of its
    coordinates, NaN outside the region) against the truth of ``ds`` (made by
    :func:`poisson_inverse`), over the grid points at least ``margin`` from the boundary.

    >>> ds = poisson_inverse(dim=1, n=33, seed=1)
    >>> from discover.parsing import parse_expr
    >>> a = parse_expr(ds.attrs["true_a"], symbols=("x",))
    >>> exact = xr.DataArray(sp.lambdify(sp.Symbol("x"), a)(ds.x.values), coords={"x": ds.x})
    >>> coefficient_error(exact, ds)
    0.0
    """
    from discover.parsing import parse_expr

    names = tuple(str(d) for d in estimate.dims)
    dim = len(names)
    truth = sp.lambdify(
        sp.symbols(names), parse_expr(ds.attrs["true_a"], symbols=_NAMES[:dim]), "numpy"
    )
    mesh = np.meshgrid(*[estimate[n].values for n in names], indexing="ij")
    pts = np.stack([m.ravel() for m in mesh], axis=1)
    dom = make_domain(ds.attrs.get("domain_kind", "box"), dim)
    vals = estimate.values.ravel()
    ok = np.isfinite(vals)
    for j in range(dim):
        for step in (-margin, margin):
            moved = pts.copy()
            moved[:, j] += step
            ok &= dom.contains(moved)
    est = vals[ok]
    true = np.broadcast_to(truth(*pts[ok].T), est.shape)
    return float(np.linalg.norm(est - true) / np.linalg.norm(true))
