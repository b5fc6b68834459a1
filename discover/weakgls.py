"""Generalized least squares of the weak form on the grid (the WENDy step).

The weak form's rows share data: neighbouring test-function boxes overlap (a lattice of
:data:`discover.weakgrid.QUERY` query points per half-width), and each row's noise depends on
the model.  With ``y = u + σ ε`` the residual of row ``q`` of ``b = X c`` is, to first order
in the noise,

    ``δr_q = Σ_f σ_f Σ_p J_f[q, p] ε_f(p)``,
    ``J_f = ∂b/∂u_f - Σ_j c_j ∂X_j/∂u_f``,

where ``∂X_j/∂u_f`` is the term's test-function kernel at each grid point times ``∂g_j/∂u_f``
(the term ``∂^β g_j`` with its derivative moved onto the test function).  Ordinary least
squares weighs all rows alike although their residuals are strongly correlated; generalized
least squares weighs them by ``W = Σ⁻¹``, ``Σ = Σ_f σ_f² J_f J_fᵀ``, at the ordinary
estimate: the step of WENDy (Bortz, Messenger & Dukic, Bull. Math. Biol. 85, 2023).  The
noise's expected share of ``XᵀWX`` and ``XᵀWb`` (errors in variables) is taken out as
:meth:`discover.weakgrid.WeakGridSystems.debiased` does for the ordinary fit: at each grid
point, the exact covariance of the noise-corrected polynomials (Hermite expansion), summed
against ``W`` and the two terms' kernels.

``Σ`` is dense: the step runs where the system has at most :data:`ROWS` rows and
:data:`NONZEROS` kernel values, and only for models whose terms are all polynomials of the
fields under a derivative that the test function takes (``u*u_x = ∂(u²/2)``,
``u_xxxx = ∂⁴u``, ``u**3``); other models keep the ordinary estimate.  A coarser lattice
(every second query point per axis) would be cheaper but lost the gain: KdV at 50% noise
2.3% against the ordinary fit's 2.0%.

It is the ``"weak-gls"`` method of :func:`discover.find`, not the default: it costs 1.2–3.5
times the default's time (the sparse products of the kernels: on a 256 × 300 KdV case 7.7 s of
CPU against about 2.5 s) for a gain that is not general (below).

Measured (σ = p·rms(u), weak SINDy's convention; ``python -m benchmarks --methods
discover_weak discover_weak_gls``, median worst coefficient error over the noise seeds; the
runs are in ``benchmarks/results/weak_gls/``):

* KdV (``kdv.mat``) at 50% noise: 1.36% → 0.65% (6 seeds); at 100%: 0.98% → 1.09%;
* the inviscid Burgers shock at 100%: 3.3% → 1.07% (3 seeds); at 50%: 0.35% → 0.51%;
* Burgers (``burgers.mat``) at 50%: 3.1% → 3.3%; advection–diffusion at 50%: 2.8% → 2.5%;
* KS on the whole domain and NLS: unchanged (too many rows; the complex fields' debiasing
  does not take the step); the selections never change.
* On the chosen model alone (four shock draws, twelve noisy copies each at 100%, as in the
  slow test): the coefficient's scatter is 0.8–2.3% against the ordinary fit's 3.0–3.4%, the
  mean errors within 0.4% (the step applied in 43 of 48 copies; the rest had over 800 rows).

Examples
--------
>>> import numpy as np, xarray as xr
>>> from discover.io import load
>>> from discover.library import Library
>>> from discover.weakgrid import grid_weak_systems
>>> rng = np.random.default_rng(0)
>>> t = np.linspace(0, 2, 101); x = np.linspace(0, 2 * np.pi, 128, endpoint=False)
>>> u = np.exp(-0.1 * t)[:, None] * np.sin(x)[None, :]     # u_t = 0.1 u_xx
>>> u = u + 0.1 * rng.standard_normal(u.shape)
>>> s = load(xr.Dataset({"u": (("t", "x"), u)}, coords={"t": t, "x": x}), "u")
>>> lib = Library(("u",), ("t", "x"), max_order=2, degree=1)
>>> b = grid_weak_systems(s, lib, gls=True)
>>> X, y = b.systems[0]["u"]
>>> c = b.debiased("u", X, y, [lib.names.index("u_xx")])
>>> bool(abs(c[0] - 0.1) < 0.01)
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import reduce

import numpy as np
import scipy.sparse as sps
from scipy.linalg import cho_factor, cho_solve

__all__ = ["NONZEROS", "ROWS", "NoiseJacobian"]

#: most rows of the generalized least squares (its covariance is dense)
ROWS = 800
#: most kernel values of one term's sparse Jacobian
NONZEROS = 4_000_000
#: ridge on the covariance, relative to its mean diagonal
RIDGE = 1e-8

Poly = dict[tuple[int, ...], float]


@dataclass
class NoiseJacobian:
    """The weak form's rows as linear maps of the data's noise, for one box size.

    Attributes
    ----------
    data : dict
        The data per field on the grid (missing values as 0).
    sigma : dict
        The noise's standard deviation per field.
    polys : list of dict or None
        Per library term, ``g`` of ``∂^β g`` as monomials over the fields (None: not a
        polynomial of the fields alone).
    kernels : list of list of ndarray
        Per library term, the separable test-function kernel ``∂^β ψ`` (one array per axis).
    signs : list of int
        Per library term, ``(-1)^|β|``.
    t_kernel : list of ndarray
        The kernel of ``∂_t ψ`` (the left-hand side ``-∫ ∂_t ψ · u``).
    stride : list of int
        The query lattice's stride per axis.
    keep : ndarray of bool
        The lattice's query points that are rows of the system.
    fields : list of str
        The fields, in the order of the monomials' exponents.
    smooth : dict, optional
        The data mollified, per field: the weights' ``∂g/∂u`` are evaluated on it, so that
        they do not share the noise of the point they weigh (default: the data).
    """

    data: dict[str, np.ndarray]
    sigma: dict[str, float]
    polys: list[Poly | None]
    kernels: list[list[np.ndarray]]
    signs: list[int]
    t_kernel: list[np.ndarray]
    stride: list[int]
    keep: np.ndarray
    fields: list[str]
    smooth: dict[str, np.ndarray] | None = None
    _placed: dict = field(default_factory=dict, repr=False)

    def fit(
        self, fld: str, X: np.ndarray, y: np.ndarray, idx: Sequence[int], c0
    ) -> np.ndarray | None:
        """The model ``idx`` of ``fld`` by generalized least squares at the estimate ``c0``,
        noise-debiased; ``None`` where the step does not apply (non-polynomial terms, no
        noise, too many rows) or the corrected Gram matrix is not positive definite."""
        idx = list(idx)
        if not idx or any(self.polys[j] is None for j in idx) or not any(self.sigma.values()):
            return None
        if not self._fits(len(idx)):
            return None
        try:
            return self._fit(fld, X, y, idx, c0)
        finally:
            self._placed.clear()

    def _fit(self, fld, X, y, idx, c0) -> np.ndarray | None:
        """The weighted, debiased normal equations of the model, solved."""
        A = X[:, idx]
        jac = {f: [self._term(j, f) for j in idx] for f in self.fields}
        lhs = {f: (-self._place(self.t_kernel)) if f == fld else None for f in self.fields}
        W = self._weights(jac, lhs, np.asarray(c0, dtype=float))
        if W is None:
            return None
        AWA = A.T @ W @ A
        G, h = AWA.copy(), A.T @ W @ y
        own = tuple(int(f == fld) for f in self.fields)  # y = -∫ ∂_t ψ · u_fld
        for a, j in enumerate(idx):
            for k_ in range(a, len(idx)):  # the noise's share of G is symmetric
                k = idx[k_]
                M = self._weighted(j, self._cov(self.polys[j], self.polys[k]), self.kernels[k])
                G[a, k_] -= self.signs[j] * self.signs[k] * _trace(W, M)
                G[k_, a] = G[a, k_]
            M = self._weighted(j, self._cov(self.polys[j], {own: 1.0}), self.t_kernel)
            h[a] += self.signs[j] * _trace(W, M)
        if np.any(np.linalg.eigvalsh(0.5 * (G + G.T)) <= 1e-3 * np.diag(AWA).min()):
            return None
        return np.linalg.solve(G, h)

    def _fits(self, n_terms: int) -> bool:
        """Whether the dense covariance of the system's rows is affordable, and the rows
        outnumber the terms."""
        box = int(np.prod([k.size for k in self.t_kernel]))
        n = int(self.keep.sum())
        return 3 * n_terms < n <= ROWS and n * box <= NONZEROS

    def _weighted(self, j: int, weight: np.ndarray, kernels: list[np.ndarray]):
        """``P_j · diag(weight) · P_kᵀ``: term ``j``'s kernel against ``kernels``, weighted
        at each grid point."""
        return self._place(self.kernels[j]) @ sps.diags(weight) @ self._place(kernels).T

    def _place(self, kernels: list[np.ndarray]) -> sps.csr_matrix:
        """The separable kernel at every row's query point: rows × grid points (cached
        during one fit)."""
        key = tuple(id(k) for k in kernels)
        if key not in self._placed:
            shape = next(iter(self.data.values())).shape
            values = reduce(np.multiply.outer, kernels).ravel()
            offsets = np.ravel_multi_index(
                np.indices([k.size for k in kernels]).reshape(len(shape), -1), shape
            )
            starts = np.ravel_multi_index((np.argwhere(self.keep) * self.stride).T, shape)
            n = starts.size
            cols = (starts[:, None] + offsets[None, :]).ravel()
            self._placed[key] = sps.csr_matrix(
                (np.tile(values, n), cols, np.arange(n + 1) * values.size),
                shape=(n, int(np.prod(shape))),
            )
        return self._placed[key]

    def _term(self, j: int, f: str) -> sps.csr_matrix | None:
        """``∂X_j/∂u_f``: the term's kernel times ``∂g_j/∂u_f`` at each grid point."""
        d = _derivative(self.polys[j], self.fields.index(f))
        if not d:
            return None
        return self.signs[j] * self._place(self.kernels[j]) @ sps.diags(self._evaluate(d).ravel())

    def _cov(self, a: Poly, b: Poly) -> np.ndarray:
        """The noise's covariance of the (noise-corrected) polynomials ``a`` and ``b`` of the
        fields at each grid point, exactly (:func:`discover.weakgrid._poly_cov`)."""
        from .weakgrid import _poly_cov

        return _poly_cov(a, b, self.data, self.sigma, self.fields).ravel()

    def _evaluate(self, poly: Poly) -> np.ndarray:
        """The polynomial at the mollified data (:attr:`smooth`; else the data), for the
        weights only."""
        out = np.zeros(next(iter(self.data.values())).shape)
        for e, c in poly.items():
            term = np.full(out.shape, c)
            for f, k in zip(self.fields, e):
                term = term * (self.smooth or self.data)[f] ** k
            out += term
        return out

    def _weights(self, jac, lhs, c0) -> np.ndarray | None:
        """``Σ⁻¹`` of the residual at ``c0`` (a small ridge keeps it invertible)."""
        C = None
        for f, terms in jac.items():
            J = lhs[f]
            for c, Jj in zip(c0, terms):
                if Jj is not None:
                    J = -c * Jj if J is None else J - c * Jj
            if J is None or not self.sigma[f]:
                continue
            part = self.sigma[f] ** 2 * (J @ J.T).toarray()
            C = part if C is None else C + part
        if C is None:
            return None
        C[np.diag_indices_from(C)] += RIDGE * np.trace(C) / len(C)
        try:
            return cho_solve(cho_factor(C, lower=True), np.eye(len(C)))
        except np.linalg.LinAlgError:
            return None


def _trace(W: np.ndarray, M) -> float:
    """``tr(W Mᵀ) = Σ W ∘ M`` with ``M`` sparse."""
    M = M.tocoo()
    return float(np.sum(W[M.row, M.col] * M.data))


def _derivative(poly: Poly, i: int) -> Poly:
    """``∂/∂u_i`` of a polynomial in monomial form."""
    out: Poly = {}
    for e, c in poly.items():
        if e[i]:
            d = (*e[:i], e[i] - 1, *e[i + 1 :])
            out[d] = out.get(d, 0.0) + c * e[i]
    return out
