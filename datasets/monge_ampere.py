"""Monge–Ampère problems with exact convex solutions, for tests, benchmarks and notebooks.

Each case gives the equation as text (``det(hessian(u)) = f``), the exact solution ``u`` (its
values on the boundary are the Dirichlet data) and its Hessian, in any dimension:

- ``"radial"``: ``u = exp(|x|²/2)``, ``f = (1 + |x|²) exp(d|x|²/2)`` (smooth);
- ``"random"``: ``u = ½ xᵀAx + c·exp(k·x)`` with a random symmetric positive definite ``A``,
  random ``k`` and ``c > 0`` from ``seed``; by the matrix determinant lemma
  ``f = det A · (1 + c·exp(k·x)·kᵀA⁻¹k)`` (smooth, coefficients the caller does not pick);
- ``"singular"``: ``u = |x - p|^(3/2)``, ``f = (3/2)^d (1/2) |x - p|^(-d/2)`` (a point
  singularity of the source at ``p``; ``u`` is only C^{1,1/2} there).

>>> case = monge_ampere_case("radial", dim=2)
>>> case.equation
'det(hessian(u)) = (1 + x**2 + y**2)*exp(x**2 + y**2)'
>>> import numpy as np
>>> float(case.exact(np.array([0.0]), np.array([0.0]))[0])
1.0
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["KINDS", "MongeAmpereCase", "monge_ampere_case"]

#: the kinds of case
KINDS = ("radial", "random", "singular")
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
    kind: str, *, dim: int = 2, seed: int = 0, center: tuple[float, ...] | None = None
) -> MongeAmpereCase:
    """The case ``kind`` in ``dim`` dimensions (coordinates x, y, z, w, …).

    Parameters
    ----------
    kind : {"radial", "random", "singular"}
    dim : int
    seed : int
        Coefficients of ``"random"``.
    center : tuple of float, optional
        The singular point of ``"singular"`` (default: the origin).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown case '{kind}'; valid: {', '.join(KINDS)}")
    if not 1 <= dim <= len(_NAMES):
        raise ValueError(f"dim must be 1 to {len(_NAMES)}, not {dim}")
    names = _NAMES[:dim]
    r2 = " + ".join(f"{n}**2" for n in names)
    if kind == "radial":
        power = f"{r2}" if dim == 2 else f"{_num(dim / 2)}*({r2})"
        eq = f"det(hessian(u)) = (1 + {r2})*exp({power})"

        def exact(*cols: np.ndarray) -> np.ndarray:
            return np.exp(sum(c**2 for c in cols) / 2)

        def hess(p: np.ndarray) -> np.ndarray:
            u = np.exp(np.sum(p**2, axis=1) / 2)
            return u[:, None, None] * (np.eye(dim) + p[:, :, None] * p[:, None, :])

        return MongeAmpereCase(kind, eq, names, exact, hess)
    if kind == "random":
        rng = np.random.default_rng(seed)
        b = rng.normal(size=(dim, dim))
        a = b @ b.T / dim + 0.5 * np.eye(dim)
        k = rng.normal(size=dim) * 0.7
        c = rng.uniform(0.5, 1.5)
        q = float(k @ np.linalg.solve(a, k))
        kx = " + ".join(f"{_num(kj)}*{n}" for kj, n in zip(k, names))
        eq = f"det(hessian(u)) = {_num(np.linalg.det(a))}*(1 + {_num(c * q)}*exp({kx}))"

        def exact(*cols: np.ndarray) -> np.ndarray:
            x = np.stack(cols, axis=-1)
            return 0.5 * np.einsum("...i,ij,...j->...", x, a, x) + c * np.exp(x @ k)

        def hess(p: np.ndarray) -> np.ndarray:
            return a + c * np.exp(p @ k)[:, None, None] * np.outer(k, k)

        return MongeAmpereCase(kind, eq, names, exact, hess)
    p0 = np.zeros(dim) if center is None else np.asarray(center, float)
    shifted = [f"({n} - {_num(c)})" if c else n for n, c in zip(names, p0)]
    rr = " + ".join(f"{s}**2" for s in shifted)
    coef = 1.5**dim * 0.5
    eq = f"det(hessian(u)) = {_num(coef)}*({rr})**({_num(-dim / 4)})"

    def exact(*cols: np.ndarray) -> np.ndarray:
        r2v = sum((c - c0) ** 2 for c, c0 in zip(cols, p0))
        return r2v**0.75

    def hess(p: np.ndarray) -> np.ndarray:
        x = p - p0
        r = np.linalg.norm(x, axis=1)
        e = x / r[:, None]
        # φ = r^(3/2): φ'' e eᵀ + (φ'/r)(I - e eᵀ)
        ee = e[:, :, None] * e[:, None, :]
        return (0.75 * r**-0.5)[:, None, None] * ee + (1.5 * r**-0.5)[:, None, None] * (
            np.eye(dim) - ee
        )

    return MongeAmpereCase(kind, eq, names, exact, hess)
