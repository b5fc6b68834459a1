"""Monge–Ampère problems with exact convex solutions, for tests, benchmarks and notebooks.

Each case gives the equation as text (``det(hessian(u)) = f``), the exact solution ``u`` (its
values on the boundary are the Dirichlet data) and its Hessian, in any dimension:

- ``"radial"``: ``u = exp(|x|²/2)``, ``f = (1 + |x|²) exp(d|x|²/2)`` (smooth; in 4-D on the
  box ``[-1, 1]⁴`` the source spans four orders of magnitude);
- ``"random"``: ``u = ½ xᵀAx + Σ cᵢ·exp(kᵢ·x)`` (``terms`` exponentials, one or two) with a
  random symmetric positive definite ``A``, random ``kᵢ`` and ``cᵢ > 0`` from ``seed``; by the
  matrix determinant lemma ``f = det A · det(I + C KᵀA⁻¹K)`` with ``K = [k₁ k₂]`` and
  ``C = diag(cᵢ exp(kᵢ·x))`` (smooth, coefficients the caller does not pick);
- ``"singular"``: ``u = |x - p|^(3/2)``, ``f = (3/2)^d (1/2) |x - p|^(-d/2)`` (a point
  singularity of the source at ``p``; ``u`` is only C^{1,1/2} there);
- ``"jump"``: the radial convex solution for a source with a jump, ``f = 1`` in the ball
  ``|x| < 1/2`` and ``f = 2`` outside it (written ``1.5 + 0.5*sign(|x|² - 1/4)``):
  ``u' = v`` with ``v(r)^d = d ∫₀^r f(s) s^{d-1} ds``, so ``u`` is C^{1,1} but not C² at the
  jump; ``u`` is integrated from ``v`` by Gauss–Legendre quadrature (to rounding error).

>>> case = monge_ampere_case("radial", dim=2)
>>> case.equation
'det(hessian(u)) = (1 + x**2 + y**2)*exp(x**2 + y**2)'
>>> import numpy as np
>>> float(case.exact(np.array([0.0]), np.array([0.0]))[0])
1.0
>>> jump = monge_ampere_case("jump", dim=2)
>>> h = jump.hessian(np.array([[0.2, 0.1], [0.7, -0.3]]))
>>> np.round(np.linalg.det(h), 12).tolist()
[1.0, 2.0]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["KINDS", "MongeAmpereCase", "monge_ampere_case"]

#: the kinds of case
KINDS = ("radial", "random", "singular", "jump")
_NAMES = ("x", "y", "z", "w", "v", "s")


@dataclass(frozen=True)
class MongeAmpereCase:
    """An exact solution of ``det D²u = f``: ``exact(*columns)`` and ``hessian(points)``."""

    kind: str
    equation: str
    names: tuple[str, ...]
    exact: Callable[..., np.ndarray]
    hessian: Callable[[np.ndarray], np.ndarray]


def _num(v: float) -> str:
    return f"{float(v):.12g}"


def monge_ampere_case(
    kind: str,
    *,
    dim: int = 2,
    seed: int = 0,
    center: tuple[float, ...] | None = None,
    terms: int = 1,
) -> MongeAmpereCase:
    """The case ``kind`` in ``dim`` dimensions (coordinates x, y, z, w, …).

    Parameters
    ----------
    kind : {"radial", "random", "singular", "jump"}
    dim : int
    seed : int
        Coefficients of ``"random"``.
    center : tuple of float, optional
        The singular point of ``"singular"`` (default: the origin).
    terms : {1, 2}
        Exponentials in ``"random"``.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown case '{kind}'; valid: {', '.join(KINDS)}")
    if not 1 <= dim <= len(_NAMES):
        raise ValueError(f"dim must be 1 to {len(_NAMES)}, not {dim}")
    names = _NAMES[:dim]
    if kind == "radial":
        return _radial(names)
    if kind == "random":
        if terms not in (1, 2):
            raise ValueError(f"terms must be 1 or 2, not {terms}")
        return _random(names, seed, terms)
    if kind == "singular":
        return _singular(names, np.zeros(dim) if center is None else np.asarray(center, float))
    return _jump(names)


def _r2(names: tuple[str, ...]) -> str:
    return " + ".join(f"{n}**2" for n in names)


def _radial(names: tuple[str, ...]) -> MongeAmpereCase:
    dim, r2 = len(names), _r2(names)
    power = f"{r2}" if dim == 2 else f"{_num(dim / 2)}*({r2})"
    eq = f"det(hessian(u)) = (1 + {r2})*exp({power})"

    def exact(*cols: np.ndarray) -> np.ndarray:
        return np.exp(sum(c**2 for c in cols) / 2)

    def hess(p: np.ndarray) -> np.ndarray:
        u = np.exp(np.sum(p**2, axis=1) / 2)
        return u[:, None, None] * (np.eye(dim) + p[:, :, None] * p[:, None, :])

    return MongeAmpereCase("radial", eq, names, exact, hess)


def _random(names: tuple[str, ...], seed: int, terms: int) -> MongeAmpereCase:
    dim = len(names)
    rng = np.random.default_rng(seed)
    b = rng.normal(size=(dim, dim))
    a = b @ b.T / dim + 0.5 * np.eye(dim)
    k = rng.normal(size=(terms, dim)) * 0.7
    c = rng.uniform(0.5, 1.5, size=terms)
    if terms == 2:  # keep the second draw's exponent range like the first one's
        k[1] *= 0.8
    q = k @ np.linalg.solve(a, k.T)  # (terms, terms)
    exps = [f"exp({' + '.join(f'{_num(kj)}*{n}' for kj, n in zip(kk, names))})" for kk in k]
    e = [f"{_num(ci)}*{ex}" for ci, ex in zip(c, exps)]  # cᵢ exp(kᵢ·x)
    if terms == 1:
        inner = f"1 + {_num(q[0, 0])}*{e[0]}"
    else:  # det(I + C Q) for a 2 × 2 Q
        cross = q[0, 0] * q[1, 1] - q[0, 1] ** 2
        inner = f"1 + {_num(q[0, 0])}*{e[0]} + {_num(q[1, 1])}*{e[1]} + {_num(cross)}*{e[0]}*{e[1]}"
    eq = f"det(hessian(u)) = {_num(np.linalg.det(a))}*({inner})"

    def exact(*cols: np.ndarray) -> np.ndarray:
        x = np.stack(cols, axis=-1)
        return 0.5 * np.einsum("...i,ij,...j->...", x, a, x) + np.exp(x @ k.T) @ c

    def hess(p: np.ndarray) -> np.ndarray:
        w = np.exp(p @ k.T) * c  # (n, terms)
        return a + np.einsum("nt,ti,tj->nij", w, k, k)

    return MongeAmpereCase("random", eq, names, exact, hess)


def _radial_hessian(p: np.ndarray, u2: np.ndarray, v_over_r: np.ndarray) -> np.ndarray:
    """``u'' e eᵀ + (u'/r)(I - e eᵀ)`` for a radial ``u`` (``e = p/|p|``; ``I·u''`` at 0)."""
    r = np.linalg.norm(p, axis=1)
    e = p / np.where(r > 0, r, 1.0)[:, None]
    ee = e[:, :, None] * e[:, None, :]
    eye = np.eye(p.shape[1])
    return u2[:, None, None] * ee + v_over_r[:, None, None] * (eye - ee)


def _singular(names: tuple[str, ...], p0: np.ndarray) -> MongeAmpereCase:
    dim = len(names)
    shifted = [f"({n} - {_num(c)})" if c else n for n, c in zip(names, p0)]
    rr = " + ".join(f"{s}**2" for s in shifted)
    eq = f"det(hessian(u)) = {_num(1.5**dim * 0.5)}*({rr})**({_num(-dim / 4)})"

    def exact(*cols: np.ndarray) -> np.ndarray:
        return sum((c - c0) ** 2 for c, c0 in zip(cols, p0)) ** 0.75

    def hess(p: np.ndarray) -> np.ndarray:  # φ = r^(3/2)
        r = np.linalg.norm(p - p0, axis=1)
        return _radial_hessian(p - p0, 0.75 * r**-0.5, 1.5 * r**-0.5)

    return MongeAmpereCase("singular", eq, names, exact, hess)


_JUMP = (1.0, 2.0, 0.5)  # f inside, f outside, radius of the jump
_GAUSS = np.polynomial.legendre.leggauss(40)


def _jump(names: tuple[str, ...]) -> MongeAmpereCase:
    dim, (a, b, r0) = len(names), _JUMP
    eq = (
        f"det(hessian(u)) = {_num((a + b) / 2)} + {_num((b - a) / 2)}"
        f"*sign({_r2(names)} - {_num(r0**2)})"
    )

    def slope(r: np.ndarray) -> np.ndarray:  # u'(r) = v(r)
        outer = np.maximum(b * r**dim + (a - b) * r0**dim, 0.0) ** (1 / dim)
        return np.where(r < r0, a ** (1 / dim) * r, outer)

    def profile(r: np.ndarray) -> np.ndarray:  # u(r) = ∫₀^r v
        inner = a ** (1 / dim) * np.minimum(r, r0) ** 2 / 2
        lo, hi = r0, np.maximum(r, r0)
        nodes, weights = _GAUSS
        s = (hi - lo)[:, None] / 2 * nodes[None] + (hi + lo)[:, None] / 2
        return inner + (hi - lo) / 2 * (slope(s) @ weights)

    def exact(*cols: np.ndarray) -> np.ndarray:
        r = np.sqrt(sum(c**2 for c in cols))
        return profile(np.atleast_1d(r).ravel()).reshape(np.shape(r))

    def hess(p: np.ndarray) -> np.ndarray:
        r = np.linalg.norm(p, axis=1)
        v = slope(r)
        f = np.where(r < r0, a, b)
        u2 = np.where(r > 0, f * r ** (dim - 1) / np.where(v > 0, v, 1.0) ** (dim - 1), 0.0)
        u2 = np.where(r < r0, a ** (1 / dim), u2)
        return _radial_hessian(p, u2, np.where(r > 0, v / np.where(r > 0, r, 1.0), a ** (1 / dim)))

    return MongeAmpereCase("jump", eq, names, exact, hess)
