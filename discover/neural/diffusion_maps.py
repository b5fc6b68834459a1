"""Diffusion maps (Coifman & Lafon 2006) and the intrinsic dimension of a point cloud.

Used as Fjellström & Nyström (2022) use them: on the trajectory an optimizer traces in the
space of a network's weights (``record_every=`` of :func:`discover.neural.fit`), to see the
low-dimensional landscape the training moves in.

The steps, for points ``x_1 … x_n`` in ``R^D``:

1. squared distances ``d²_ij``; isotropic noise of variance σ² in every ambient coordinate
   adds about ``2σ²D`` to every one of them (El Karoui 2010), which is removed by subtracting
   the smallest nearest-neighbour distance ``min_i min_{j≠i} d²_ij``;
2. the Gaussian kernel ``K_ij = exp(−d²_ij / ε)`` with ``K_ii = 0`` (a point's distance to
   itself carries no noise, so the diagonal would otherwise dominate noisy data);
3. **bandwidth rule**: ``ε = 2 · median_i d²_(i, k)``, ``d²_(i, k)`` the squared distance
   from ``x_i`` to its ``k``-th nearest neighbour, ``k = max(8, ⌈√n / 2⌉)``: every point
   then has about ``k`` neighbours within reach of the kernel, few enough to resolve the
   leading eigenfunctions, enough to average out the sampling;
4. the α-normalisation ``K^α_ij = K_ij / (q_i q_j)^α``, ``q = Σ_j K_ij`` (``α = 1``, the
   default, removes the sampling density: the operator approximates the Laplace–Beltrami
   operator of the manifold whatever the density; ``α = 0`` is the graph Laplacian,
   ``α = ½`` the Fokker–Planck operator);
5. the Markov matrix ``P = D⁻¹K^α`` (rows normalised); its eigenvalues
   ``1 = λ_0 > λ_1 ≥ λ_2 ≥ …`` and right eigenvectors ``ψ_j`` give the diffusion coordinates
   ``λ_j^t ψ_j(x_i)``, ``j ≥ 1``.

**Dimension rule** (from the spectrum's decay): ``μ_j = −log λ_j`` approximate ``ε/4`` times
the Laplace–Beltrami eigenvalues, and by Weyl's law their count grows like ``μ^{d/2}`` on a
``d``-dimensional manifold: ``j ≈ C μ_j^{d/2}``.  The estimate is ``d = 2 · s``, ``s`` the
least-squares slope of ``log j`` against ``log μ_j`` over the leading ``n_weyl`` non-trivial
eigenvalues, rounded to the nearest whole number (``dimension_estimate`` keeps the unrounded
value).  This is where the spectral gaps sit: on a closed curve the eigenvalues come in
degenerate pairs (``cos kθ, sin kθ``) with gaps between ``μ ∝ k²``; on a 2-torus the
groups are denser (``μ ∝ k² + m²``), and the rule reads the dimension from how fast the gaps
close.  A plain "largest gap" rule would count the two coordinates ``cos θ, sin θ`` that a
closed curve needs to be embedded, not its dimension.

Examples
--------
>>> import numpy as np
>>> theta = np.random.default_rng(0).uniform(0, 2 * np.pi, 400)
>>> dm = diffusion_map(np.c_[np.cos(theta), np.sin(theta), 0 * theta])
>>> dm.dimension, float(dm.eigenvalues[0]), bool(np.all(np.diff(dm.eigenvalues) <= 1e-12))
(1, 1.0, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg

__all__ = ["DiffusionMap", "diffusion_map", "plot_diffusion_map"]


@dataclass(frozen=True)
class DiffusionMap:
    """The result of :func:`diffusion_map`.

    Attributes
    ----------
    eigenvalues : ndarray
        ``λ_0 = 1 > λ_1 ≥ …`` of the Markov matrix, descending (the trivial one first).
    coordinates : ndarray, shape (n, n_components)
        Diffusion coordinates ``λ_j^t ψ_j``, ``j = 1 … n_components``.
    dimension : int
        The intrinsic dimension by the rule of the module notes.
    dimension_estimate : float
        The same before rounding.
    epsilon : float
        The kernel bandwidth used.
    alpha : float
    """

    eigenvalues: np.ndarray
    coordinates: np.ndarray
    dimension: int
    dimension_estimate: float
    epsilon: float
    alpha: float


def _squared_distances(x: np.ndarray) -> np.ndarray:
    sq = np.einsum("ij,ij->i", x, x)
    d2 = sq[:, None] + sq[None, :] - 2 * x @ x.T
    np.maximum(d2, 0, out=d2)
    np.fill_diagonal(d2, np.inf)
    return d2


def _weyl_dimension(mu: np.ndarray) -> float:
    """``2 ×`` the slope of ``log j`` against ``log μ_j`` (Weyl's law)."""
    j = np.arange(1, len(mu) + 1)
    ok = mu > 0
    if ok.sum() < 3:
        return 0.0
    slope = np.polyfit(np.log(mu[ok]), np.log(j[ok]), 1)[0]
    return float(2 * slope)


def diffusion_map(
    points: np.ndarray,
    *,
    n_components: int = 10,
    alpha: float = 1.0,
    epsilon: float | None = None,
    k: int | None = None,
    t: int = 1,
    n_weyl: int = 20,
) -> DiffusionMap:
    """Diffusion map of ``points`` (n, D) with the α-normalisation.

    Parameters
    ----------
    points : array, shape (n, D)
    n_components : int
        Diffusion coordinates kept.
    alpha : float
        The α of the normalisation (1: Laplace–Beltrami, density removed).
    epsilon : float, optional
        Kernel bandwidth; by the rule of the module notes when None.
    k : int, optional
        Neighbour of the bandwidth rule (default ``max(8, ⌈√n / 2⌉)``).
    t : int
        Diffusion time of the coordinates.
    n_weyl : int
        Non-trivial eigenvalues the dimension rule reads.

    Returns
    -------
    DiffusionMap
    """
    x = np.asarray(points, dtype=np.float64)
    if x.ndim != 2 or len(x) < 10:
        raise ValueError(f"points must be (n, D) with n >= 10, not shape {x.shape}")
    n = len(x)
    x = x - x.mean(axis=0)
    d2 = _squared_distances(x)
    d2 -= d2.min()  # the noise offset: the smallest nearest-neighbour distance
    if epsilon is None:
        kk = min(n - 1, k or max(8, math.ceil(math.sqrt(n) / 2)))
        kth = np.partition(d2, kk - 1, axis=1)[:, kk - 1]
        epsilon = float(2 * np.median(kth))
        if epsilon <= 0:
            raise ValueError("the points coincide; no bandwidth separates them")
    kern = np.exp(-d2 / epsilon)  # the diagonal is exp(-inf) = 0
    q = kern.sum(axis=1)
    kern = kern / np.outer(q, q) ** alpha
    deg = kern.sum(axis=1)
    sym = kern / np.sqrt(np.outer(deg, deg))
    m = min(n - 1, max(n_components, n_weyl) + 1)
    vals, vecs = scipy.linalg.eigh(sym, subset_by_index=[n - m, n - 1])
    order = np.argsort(vals)[::-1]
    vals, vecs = vals[order], vecs[:, order]
    psi = vecs / np.sqrt(deg)[:, None]
    psi = psi / psi[:, :1]  # ψ_0 = 1 (the trivial, constant eigenvector)
    psi = psi * np.sqrt(n / np.sum(psi**2 * 1.0, axis=0))  # unit mean square
    vals = vals / vals[0]
    coords = psi[:, 1 : n_components + 1] * vals[1 : n_components + 1] ** t
    mu = -np.log(np.clip(vals[1 : n_weyl + 1], 1e-300, 1 - 1e-15))
    est = _weyl_dimension(mu)
    return DiffusionMap(
        eigenvalues=vals,
        coordinates=coords,
        dimension=max(0, round(est)),
        dimension_estimate=est,
        epsilon=epsilon,
        alpha=alpha,
    )


def plot_diffusion_map(dm: DiffusionMap, *, color: np.ndarray | None = None, title: str = ""):
    """Two panels: the first two diffusion coordinates (coloured by ``color``, e.g. the
    training step) and the eigenvalue decay ``1 − λ_j``; returns the matplotlib figure.

    Examples
    --------
    >>> import numpy as np
    >>> theta = np.linspace(0, 2 * np.pi, 200, endpoint=False)
    >>> fig = plot_diffusion_map(diffusion_map(np.c_[np.cos(theta), np.sin(theta)]))
    >>> len(fig.axes) >= 2
    True
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4.2))
    c = np.arange(len(dm.coordinates)) if color is None else np.asarray(color)
    sc = a.scatter(dm.coordinates[:, 0], dm.coordinates[:, 1], c=c, s=8, cmap="viridis")
    fig.colorbar(sc, ax=a, label="step" if color is not None else "index")
    a.set_xlabel("diffusion coordinate 1")
    a.set_ylabel("diffusion coordinate 2")
    a.set_title("embedding")
    j = np.arange(1, len(dm.eigenvalues))
    b.loglog(j, 1 - dm.eigenvalues[1:], "o-", markersize=3)
    b.set_xlabel("j")
    b.set_ylabel("1 − λ_j")
    b.set_title(
        f"eigenvalue decay: intrinsic dimension {dm.dimension} ({dm.dimension_estimate:.2f})"
    )
    b.grid(True, which="both", alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
