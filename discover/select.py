"""Model selection over the whole sparsity path, on held-out space–time blocks.

:func:`sparsity_path` runs a sparse regressor over a path of thresholds on each
cross-validation split, keeps every distinct model it meets, and scores each one by K-fold
cross-validation on *space–time blocks* (:func:`block_folds`; random points would leak,
because residuals of neighbouring points are correlated).  :meth:`SparsityPath.best` picks
the winner by a named criterion — never a single hand-tuned threshold.

Criteria (:data:`CRITERIA`)
---------------------------
``1se`` (default)
    The one-standard-error rule (Breiman et al. 1984; Hastie, Tibshirani & Friedman, *The
    Elements of Statistical Learning*, §7.10): the sparsest model whose mean held-out
    log-error is within one standard error of the best model's.  (A paired
    standard error, of the fold-by-fold difference of two models, was tried: it keeps
    spurious terms on noisy Burgers data, so the classic rule stays.)
``cv``
    The lowest mean held-out log-error.
``bic``, ``aic``
    Information criteria on the held-out error, with the *effective* sample size of the
    residual (:func:`effective_size`): discretization and interpolation errors are smooth,
    so ``n`` correlated residuals carry far fewer than ``n`` independent values.
``knee``
    The knee of the Pareto front of complexity (number of terms) against held-out log-error
    (:meth:`SparsityPath.pareto_front`): the front's point farthest below the straight line
    from its sparsest to its most accurate model, both axes scaled to [0, 1] (the "Kneedle"
    rule of Satopää et al. 2011) — where adding terms stops paying.

Why not a plain information criterion by default: on clean data the residual of the true
model is systematic (stencil or interpolation error), and extra terms do explain part of it
consistently — BIC with ``n`` in the tens of thousands keeps them.  Candidates may also be
marked unstable (``stable=False``) by the caller — e.g. when a coefficient moves with the
finite-difference stencil — and are then skipped by every criterion.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(1)
>>> X = rng.normal(size=(400, 6)); y = X[:, 0] - 0.3 * X[:, 4] + 0.01 * rng.normal(size=400)
>>> folds = np.arange(400) % 5
>>> sparsity_path(X, y, [f"f{i}" for i in range(6)], folds=folds).best().terms
('f0', 'f4')
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .registry import Registry
from .regress import REGRESSORS, check_regressor, normal_equations

__all__ = [
    "CRITERIA",
    "BlockFactors",
    "Candidate",
    "CollinearityWarning",
    "Ensemble",
    "SparsityPath",
    "block_folds",
    "block_labels",
    "check_criterion",
    "collinear_gram",
    "collinear_terms",
    "effective_size",
    "ensemble",
    "ensemble_factors",
    "refine_by_swaps",
    "refit",
    "sparsity_path",
    "sparsity_path_factors",
    "triangular",
]

#: selection criteria by name (the first is the default): each picks one model from the
#: stable, non-empty candidates of a path, ``criterion(pool, path) -> Candidate``
CRITERIA: Registry[Callable[[list, Any], Any]] = Registry(
    "selection criterion", parameter="select", plural="criteria"
)


def check_criterion(name: str) -> None:
    """Raise the registry's one-line error unless ``name`` is a criterion."""
    CRITERIA.check(name)


@dataclass(frozen=True)
class Candidate:
    """One model on the path, scored by K-fold block cross-validation.

    Attributes
    ----------
    support : tuple of int
        Indices of the kept terms.
    terms : tuple of str
    coef : ndarray
        Least-squares coefficients on all rows (original units; zero off the support).
    fold_coef : ndarray (n_folds, n_features)
        The same refitted without each fold (for block-jackknife intervals).
    fold_error : ndarray (n_folds,)
        Held-out mean squared residual relative to the held-out mean square of the target.
    threshold : float
        The smallest regressor threshold that produced this support.
    n_eff : float
        Effective number of independent held-out residuals (for AIC/BIC).
    stable : bool
        False when the caller found the model unstable (then no criterion picks it).
    """

    support: tuple[int, ...]
    terms: tuple[str, ...]
    coef: np.ndarray
    fold_coef: np.ndarray
    fold_error: np.ndarray
    threshold: float
    n_eff: float
    stable: bool = True

    @property
    def n_terms(self) -> int:
        return len(self.support)

    @property
    def log_error(self) -> np.ndarray:
        return np.log(np.maximum(self.fold_error, 1e-300))

    @property
    def cv(self) -> float:
        """Mean held-out log relative squared error (lower is better)."""
        return float(self.log_error.mean())

    @property
    def cv_se(self) -> float:
        """Standard error of :attr:`cv` across folds."""
        k = self.fold_error.size
        return float(self.log_error.std(ddof=1) / math.sqrt(k)) if k > 1 else 0.0

    @property
    def relative_error(self) -> float:
        """Held-out RMS residual relative to the target's RMS."""
        return float(math.sqrt(np.mean(self.fold_error)))

    @property
    def aic(self) -> float:
        return self.n_eff * math.log(max(np.mean(self.fold_error), 1e-300)) + 2 * self.n_terms

    @property
    def bic(self) -> float:
        return self.n_eff * math.log(max(np.mean(self.fold_error), 1e-300)) + (
            self.n_terms * math.log(max(self.n_eff, 2.0))
        )

    @property
    def jackknife_se(self) -> np.ndarray:
        """Block-jackknife standard errors of the kept coefficients (over the folds)."""
        k = self.fold_coef.shape[0]
        fc = self.fold_coef[:, list(self.support)]
        return np.sqrt((k - 1) / k * np.sum((fc - fc.mean(axis=0)) ** 2, axis=0))

    def interval(self, level: float = 0.95) -> np.ndarray:
        """Block-jackknife ``level`` intervals of the kept coefficients, shape (n_terms, 2)."""
        from scipy.stats import t as student

        k = self.fold_coef.shape[0]
        q = student.ppf(0.5 + level / 2, df=max(k - 1, 1))
        c, se = self.coef[list(self.support)], self.jackknife_se
        return np.stack([c - q * se, c + q * se], axis=1)

    @property
    def t_values(self) -> np.ndarray:
        """|coefficient| / block-jackknife standard error of each kept term (infinite where
        the folds agree exactly)."""
        c, se = np.abs(self.coef[list(self.support)]), self.jackknife_se
        return np.divide(c, se, out=np.full_like(c, np.inf), where=se > 0)

    def significant(self, q: float) -> bool:
        """Whether every kept coefficient is at least ``q`` block-jackknife standard errors
        from zero."""
        return bool(np.all(self.t_values >= q))

    def as_dict(self) -> dict:
        return {
            "terms": list(self.terms),
            "coefficients": [float(self.coef[i]) for i in self.support],
            "n_terms": self.n_terms,
            "threshold": float(self.threshold),
            "relative_error": self.relative_error,
            "cv": self.cv,
            "cv_se": self.cv_se,
            "aic": float(self.aic),
            "bic": float(self.bic),
            "stable": bool(self.stable),
        }


@dataclass
class SparsityPath:
    """Every distinct model found along the path, with its cross-validated scores."""

    candidates: list[Candidate]
    names: tuple[str, ...]
    n_folds: int
    n_samples: int
    regressor: str
    settings: dict = field(default_factory=dict)
    #: family-wise level of the significance filter (:meth:`_pool`); None: no filter
    significance: float | None = None
    #: the per-fold triangular factors the path was scored on (:func:`refine_by_swaps`
    #: scores more models on them); None for paths built from candidates alone
    fold_factors: np.ndarray | None = field(default=None, repr=False, compare=False)

    def _pool(self) -> list[Candidate]:
        """The candidates criteria choose from: the stable, non-empty ones (the non-empty
        ones if none is stable; all if every one is empty).  With :attr:`significance`
        ``α``, only those whose every term passes a Bonferroni t-test over the library
        (:meth:`significance_cut`) — unless none does."""
        pool = [c for c in self.candidates if c.n_terms > 0 and c.stable]
        pool = pool or [c for c in self.candidates if c.n_terms > 0] or self.candidates
        if self.significance is None or self.n_folds < 2:
            return pool
        q = self.significance_cut()
        # a one-term model is exempt: the test asks whether each term is needed beside the
        # others, and the empty model is no candidate (the inviscid shock at 100% noise:
        # u*u_x, |t| = 5.0 under a cut of 5.9, lost to the collinear u**2*u_x)
        return [c for c in pool if c.n_terms == 1 or c.significant(q)] or pool

    def significance_cut(self) -> float:
        """The |t| a kept term needs (:attr:`significance` ``α`` given): the Student-t
        quantile ``1 − α/(2p)`` with ``n_folds − 1`` degrees of freedom, ``p`` the library's
        size — Bonferroni over the candidates, since the selection looked at all of them.

        Measured on λ–ω at 20% noise (110 candidates per field, 5 folds: a cut of 10.6):
        the spurious terms that the one-standard-error rule kept had |t| of 6–9, the true
        terms 25 and more.
        """
        from scipy.stats import t as student

        alpha = self.significance if self.significance is not None else 0.05
        return float(student.ppf(1 - alpha / (2 * len(self.names)), df=self.n_folds - 1))

    def best(self, criterion: str = "1se") -> Candidate:
        """The winner by ``criterion`` among the stable, non-empty candidates."""
        return CRITERIA[criterion](self._pool(), self)

    def pareto_front(self) -> list[Candidate]:
        """The stable, non-empty models no sparser-or-equal model beats on held-out error,
        sparsest first."""
        front: list[Candidate] = []
        for c in sorted(self._pool(), key=lambda c: (c.n_terms, c.cv)):
            if not front or c.cv < front[-1].cv:
                front.append(c)
        return front

    def plot(self, ax=None, *, criterion: str = "1se", title: str | None = None):
        """Held-out error against the number of terms: every model (grey; unstable ones
        hollow), the Pareto front (line, each point labelled with its terms) and the pick of
        ``criterion`` (red).  Returns the matplotlib Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4.5))
        for c in self.candidates:
            if c.n_terms:
                ax.scatter(
                    c.n_terms,
                    c.relative_error,
                    s=18,
                    facecolors="0.6" if c.stable else "none",
                    edgecolors="0.6",
                )
        front = self.pareto_front()
        ax.plot(
            [c.n_terms for c in front],
            [c.relative_error for c in front],
            "-o",
            color="C0",
            label="Pareto front",
        )
        for c in front:
            text = " + ".join(c.terms) if c.n_terms <= 4 else f"{c.n_terms} terms"
            ax.annotate(
                text,
                (c.n_terms, c.relative_error),
                textcoords="offset points",
                xytext=(5, 4),
                fontsize=7,
            )
        best = self.best(criterion)
        ax.scatter(
            best.n_terms,
            best.relative_error,
            s=90,
            color="C3",
            zorder=3,
            label=f"chosen ({criterion})",
        )
        ax.set_yscale("log")
        ax.set_xlabel("number of terms")
        ax.set_ylabel("held-out relative RMS error (block CV)")
        ax.set_title(title or f"sparsity path ({self.regressor})")
        ax.legend(fontsize=8)
        return ax

    def mark_unstable(self, supports: set[tuple[int, ...]]) -> None:
        """Mark the candidates with these supports as unstable."""
        self.candidates = [
            replace(c, stable=False) if c.support in supports else c for c in self.candidates
        ]

    def table(self) -> list[dict]:
        """One row per candidate, sparsest first."""
        return [c.as_dict() for c in sorted(self.candidates, key=lambda c: (c.n_terms, c.cv))]


def _knee(front: list[Candidate]) -> Candidate:
    """The point of a Pareto front farthest below the chord from its first to its last point.

    When no point lies below the chord, the error keeps falling as fast as terms are added,
    and the last (most accurate) model is the knee.  A front of two points has no interior:
    the second wins when it lowers the log-error by more than 1 (the mean squared error by a
    factor e), else the first.

    >>> from types import SimpleNamespace as C
    >>> pts = [C(n_terms=n, cv=e) for n, e in [(1, -1.0), (2, -5.0), (3, -5.2), (5, -5.3)]]
    >>> _knee(pts).n_terms
    2
    """
    if len(front) < 3:
        return front[-1] if len(front) == 2 and front[0].cv - front[1].cv > 1.0 else front[0]
    n = np.array([c.n_terms for c in front], dtype=float)
    e = np.array([c.cv for c in front])
    x = (n - n[0]) / (n[-1] - n[0])
    y = (e - e[-1]) / ((e[0] - e[-1]) or 1.0)
    gap = (1 - x) - y
    # no point below the chord: the error keeps falling as fast as terms are added
    return front[int(np.argmax(gap))] if gap.max() > 1e-9 else front[-1]


@CRITERIA.register("1se")
def one_standard_error(pool: list[Candidate], path: SparsityPath) -> Candidate:
    """The sparsest model within one standard error of the best cross-validated one."""
    top = min(pool, key=lambda c: (c.cv, c.n_terms))
    near = [c for c in pool if c.cv <= top.cv + top.cv_se]
    return min(near, key=lambda c: (c.n_terms, c.cv))


def lowest(score: str) -> Callable[[list[Candidate], SparsityPath], Candidate]:
    """The criterion that picks the candidate with the lowest ``score`` (a
    :class:`Candidate` attribute), the sparser on a tie."""

    def pick(pool: list[Candidate], path: SparsityPath) -> Candidate:
        return min(pool, key=lambda c: (getattr(c, score), c.n_terms))

    pick.__doc__ = f"The lowest {score}."
    return pick


for _score in ("cv", "bic", "aic"):  # cross-validated error, then the information criteria
    CRITERIA.register(_score, lowest(_score))


@CRITERIA.register("knee")
def knee(pool: list[Candidate], path: SparsityPath) -> Candidate:
    """The knee of the Pareto front (:func:`_knee`)."""
    return _knee(path.pareto_front())


def block_labels(points: np.ndarray, *, n_blocks: int = 4) -> np.ndarray:
    """Space–time box of each point: each coordinate cut into ``n_blocks`` slabs of equal
    count (box labels are integers, not necessarily consecutive)."""
    pts = np.asarray(points, dtype=float)
    labels = np.zeros(pts.shape[0], dtype=np.int64)
    for j in range(pts.shape[1]):
        edges = np.quantile(pts[:, j], np.linspace(0, 1, n_blocks + 1)[1:-1])
        labels = labels * n_blocks + np.searchsorted(edges, pts[:, j], side="right")
    return labels


def block_folds(
    points: np.ndarray, *, n_folds: int = 5, n_blocks: int = 4, seed: int = 0
) -> np.ndarray:
    """Fold label (0 … n_folds-1) of each point, whole space–time blocks at a time.

    Each coordinate is cut into ``n_blocks`` slabs of equal count (:func:`block_labels`);
    the resulting boxes are dealt to the folds at random (seeded).

    >>> pts = np.stack(np.meshgrid(np.arange(20.), np.arange(20.), indexing="ij"), -1)
    >>> f = block_folds(pts.reshape(-1, 2))
    >>> sorted(set(f.tolist())), bool(abs(np.mean(f == 0) - 0.2) < 0.1)
    ([0, 1, 2, 3, 4], True)
    """
    labels = block_labels(points, n_blocks=n_blocks)
    n = labels.size
    boxes = np.unique(labels)
    rng = np.random.default_rng(seed)
    if boxes.size < n_folds:
        return rng.integers(0, n_folds, size=n)
    perm = rng.permutation(boxes)
    fold_of = np.empty(labels.max() + 1, dtype=np.int64)
    fold_of[perm] = np.arange(perm.size) % n_folds
    return fold_of[labels]


def effective_size(residual: np.ndarray) -> float:
    """Effective number of independent values in a residual on a grid (any number of dims).

    ``n · Π (1-ρ)/(1+ρ)`` with ``ρ`` the lag-one autocorrelation along each dim (clipped to
    [0, 0.999]; Bretherton et al. 1999, J. Climate 12); NaNs are ignored.  A 1-D array of
    scattered residuals counts in full.

    >>> rng = np.random.default_rng(0)
    >>> white = effective_size(rng.normal(size=(50, 50)))
    >>> smooth = effective_size(np.add.outer(np.sin(np.arange(50) / 9), np.arange(50) / 50))
    >>> white > 2000, smooth < 100
    (True, True)
    """
    r = np.asarray(residual, dtype=float)
    n = int(np.isfinite(r).sum())
    if r.ndim < 2:
        return float(n)
    r = r - np.nanmean(r)
    factor = 1.0
    for ax in range(r.ndim):
        a = np.take(r, np.arange(r.shape[ax] - 1), axis=ax)
        b = np.take(r, np.arange(1, r.shape[ax]), axis=ax)
        ok = np.isfinite(a) & np.isfinite(b)
        den = math.sqrt(float(np.sum(a[ok] ** 2) * np.sum(b[ok] ** 2)))
        rho = float(np.sum(a[ok] * b[ok]) / den) if den > 0 else 0.0
        rho = min(max(rho, 0.0), 0.999)
        factor *= (1 - rho) / (1 + rho)
    return max(2.0, n * factor)


def triangular(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The triangular factor ``R`` of ``[X y] = QR``, shape ``(p+1, p+1)`` (zero-padded).

    ``RᵀR`` is the augmented Gram matrix, but fits and residuals computed from ``R`` keep the
    conditioning of the data, where the Gram matrix squares it (a field with a large offset,
    e.g. temperatures in kelvin, makes ``1``, ``T`` and ``T²`` nearly collinear).  Stacked
    factors of several groups of rows are the factor of their union, up to a final QR.
    """
    A = np.column_stack([X, y])
    R = np.linalg.qr(A, mode="r") if len(A) else np.zeros((0, A.shape[1]))
    out = np.zeros((A.shape[1], A.shape[1]))
    out[: R.shape[0]] = R
    return out


def _combine(R: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """One triangular factor of the union of the row groups with factors ``R[k]``, each
    counted ``weights[k]`` times."""
    if weights is not None:
        keep = weights > 0
        R = R[keep] * np.sqrt(weights[keep])[:, None, None]
    if len(R) == 0:
        return np.zeros(R.shape[1:])
    if len(R) == 1:
        return R[0]
    return triangular(np.vstack(R)[:, :-1], np.vstack(R)[:, -1])


def net_of_noise(R: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Factors of each group's ``[X y]ᵀ[X y]`` with the noise's expected share *between*
    columns taken out (``noise[k]``'s off-diagonal: between two terms, and between a term
    and ``y``); each column keeps its own.

    In the weak form one grid point's noise enters every column whose test function covers
    it, so a spurious term can lower a model's error by cancelling part of another column's
    noise (errors in variables: ``⟨K_x, K_xxx⟩ = −‖K_xx‖²``, so ``u_xxx`` takes up noise of
    ``u_x``), on held-out rows as well.  Net of the shared share that credit is gone, while
    a noisy column still pays for its own noise (its fit does not carry to other rows).
    Directions where the result is not positive semidefinite are clipped to zero (the
    nearest such matrix).

    >>> R = triangular(np.array([[1.0], [1.0]]), np.array([1.0, 0.5]))[None]
    >>> N = np.array([[[1.0, 0.5], [0.5, 9.0]]])
    >>> M = net_of_noise(R, N)[0]
    >>> np.round(M.T @ M, 6).tolist()  # [[2, 1.5 - 0.5], [1.5 - 0.5, 1.25]]
    [[2.0, 1.0], [1.0, 1.25]]
    """
    out = np.empty_like(R)
    for k in range(len(R)):
        M = R[k].T @ R[k] - (noise[k] - np.diag(np.diag(noise[k])))
        lam, V = np.linalg.eigh((M + M.T) / 2)
        out[k] = np.linalg.qr((V * np.sqrt(np.clip(lam, 0.0, None))).T, mode="r")
    return out


def refit(R: np.ndarray, idx: list[int]) -> np.ndarray:
    """Least-squares coefficients of the columns ``idx`` from a triangular factor ``R`` of
    ``[X y]`` (:func:`triangular`; any rows whose Gram matrix is that of the data will do),
    columns scaled for conditioning."""
    A = R[:, idx]
    xs = np.sqrt(np.sum(A**2, axis=0))
    xs = np.where(xs > 0, xs, 1.0)
    return np.linalg.lstsq(A / xs, R[:, -1], rcond=None)[0] / xs


def refit_many(R: np.ndarray, supports: Sequence[Sequence[int]]) -> np.ndarray:
    """:func:`refit` of every support in ``supports`` from one factor ``R``, as rows of a
    ``(len(supports), p)`` array (zero off each support).

    Supports of equal size are solved together, on the normal equations of the scaled
    columns (stacked Cholesky factors): the bootstrap refits hundreds of small models per
    resample, where one LAPACK call each costs more than the arithmetic.  A model whose
    scaled Gram matrix is far from well conditioned (a Cholesky diagonal ratio above
    ``1e4``, a condition number above about ``1e8``) goes to :func:`refit`'s least squares
    alone, which keeps the data's conditioning.

    >>> R = triangular(np.eye(4)[:, :3] + 0.1, np.arange(4.0))
    >>> bool(np.allclose(refit_many(R, [(0, 2), (1,)])[0, [0, 2]], refit(R, [0, 2])))
    True
    """
    p = R.shape[1] - 1
    out = np.zeros((len(supports), p))
    by_size: dict[int, list[int]] = {}
    for i, sup in enumerate(supports):
        if len(sup):
            by_size.setdefault(len(sup), []).append(i)
    A = R[:, :p]
    G, g = A.T @ A, A.T @ R[:, -1]
    d = np.sqrt(np.diag(G))
    d = np.where(d > 0, d, 1.0)
    Gs, gs = G / np.outer(d, d), g / d
    for rows in by_size.values():
        cols = np.array([supports[i] for i in rows])  # (K, k)
        Gk = Gs[cols[:, :, None], cols[:, None, :]]
        try:
            L = np.linalg.cholesky(Gk)
        except np.linalg.LinAlgError:
            ok = np.zeros(len(rows), dtype=bool)
        else:
            diag = np.diagonal(L, axis1=1, axis2=2)
            ok = diag.min(axis=1) > 1e-4 * diag.max(axis=1)
        good = np.flatnonzero(ok)
        if good.size:
            c = np.linalg.solve(Gk[good], gs[cols[good]][..., None])[..., 0] / d[cols[good]]
            out[np.asarray(rows)[good][:, None], cols[good]] = c
        for i in np.flatnonzero(~ok):
            out[rows[i], cols[i]] = refit(R, list(cols[i]))
    return out


#: relative squared errors below this are round-off
ERROR_FLOOR = 1e-14


def unit_stats(X: np.ndarray, y: np.ndarray, units: np.ndarray):
    """Triangular factors (:func:`triangular`) of each group of rows, ``R (U, p+1, p+1)``,
    and their sizes ``n (U,)``, for the sorted unique labels in ``units``."""
    labels, inv = np.unique(units, return_inverse=True)
    p = X.shape[1]
    R = np.zeros((labels.size, p + 1, p + 1))
    order = np.argsort(inv, kind="stable")  # each unit's rows in their own order
    ends = np.cumsum(np.bincount(inv, minlength=labels.size))
    n = np.diff(ends, prepend=0).astype(float)
    for k in range(labels.size):
        rows = order[ends[k] - int(n[k]) : ends[k]]
        R[k] = triangular(X[rows], y[rows])
    return labels, R, n


def _candidates(
    R: np.ndarray,
    n: np.ndarray,
    names: Sequence[str],
    *,
    regressor: str,
    n_thresholds: int,
    alpha: float,
    n_eff: float,
    columns: np.ndarray | None = None,
    backward: bool = False,
    fast: bool = False,
) -> list[Candidate]:
    """Every distinct model of the path from per-fold triangular factors ``R[f]``.

    The regressor runs on the standardized normal equations (the Gram matrix suffices to
    find supports); coefficients and held-out errors come from the factors themselves.
    ``columns`` (bool, optional) restricts the regressor to some library terms.
    ``backward`` adds the nested supports of backward elimination (:func:`backward_supports`).
    ``fast`` refits the candidates together (:func:`refit_many`), as the bootstrap's
    resamples do; the reported path solves each on its own.
    """
    path_fn = REGRESSORS[regressor]
    n_folds = R.shape[0]
    p = R.shape[1] - 1
    n_all = n.sum()
    cols = np.flatnonzero(np.ones(p, dtype=bool) if columns is None else columns)
    R_all = _combine(R)
    R_train = [_combine(np.delete(R, f, axis=0)) for f in range(n_folds)]
    yy = np.sum(R[:, :, -1] ** 2, axis=1)
    splits = [(R_all, n_all)] + [(R_train[f], n_all - n[f]) for f in range(n_folds)]
    seen: dict[tuple[int, ...], float] = {}
    for Rs, ns in splits:
        A = Rs[:, cols]
        Gn, bn, _, _ = normal_equations(A.T @ A, A.T @ Rs[:, -1], ns, (Rs[:, -1] @ Rs[:, -1]) / ns)
        w0 = np.abs(np.linalg.solve(Gn + alpha * np.eye(len(bn)), bn))
        top = float(w0.max()) if w0.size else 1.0
        thresholds = np.concatenate([[0.0], np.geomspace(top * 1e-5, top * 1.001, n_thresholds)])
        for thr, support in zip(thresholds, path_fn(Gn, bn, thresholds, alpha)):
            sup = tuple(int(cols[i]) for i in np.flatnonzero(support))
            if sup not in seen or thr < seen[sup]:
                seen[sup] = float(thr)
        for support in backward_supports(Gn, bn, alpha, downdate=fast) if backward else ():
            sup = tuple(int(cols[i]) for i in support)
            seen.setdefault(sup, float("inf"))
    sups = list(seen)
    if fast:
        coefs = refit_many(R_all, sups)  # (K, p)
        fold_coefs = np.stack([refit_many(R_train[f], sups) for f in range(n_folds)], axis=1)
        errs = np.ones((len(sups), n_folds))
        for f in range(n_folds):  # every candidate's held-out residual on fold f at once
            r = fold_coefs[:, f] @ R[f][:, :-1].T - R[f][:, -1]
            errs[:, f] = np.maximum(np.sum(r**2, axis=1) / (yy[f] or 1.0), ERROR_FLOOR)
    else:
        coefs, fold_coefs, errs = _refit_each(R, R_all, R_train, yy, sups)
    return [
        Candidate(
            support=sup,
            terms=tuple(names[i] for i in sup),
            coef=coefs[k],
            fold_coef=fold_coefs[k],
            fold_error=errs[k] if sup else np.ones(n_folds),
            threshold=seen[sup],
            n_eff=n_eff,
        )
        for k, sup in enumerate(sups)
    ]


def refine_by_swaps(
    path: SparsityPath,
    R: np.ndarray,
    criterion: str = "1se",
    *,
    stable: Callable[[tuple[int, ...]], bool] | None = None,
    rounds: int = 4,
) -> Candidate:
    """The pick of ``criterion``, improved by swapping or dropping one term at a time.

    Thresholding and backward elimination can miss a model that differs from the pick by a
    term or two (on λ–ω at 20% noise: ``u**2*v_yy`` kept for ``v_yy``, the true model absent
    from the path though its held-out error is lower).  Each round adds to the path, for
    every kept term, the pick without it and the pick with it swapped for the term left out
    that leaves the least squared residual on all rows (per-fold factors ``R``,
    :meth:`BlockFactors.fold_factors`), where that residual is below the pick's — and,
    with the path's significance filter, each of those without its insignificant terms;
    each is scored by cross-validation and marked by ``stable``, and the criterion picks
    again.
    Stops when the pick does not change.

    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 4)); X[:, 3] = X[:, 0] + 0.3 * rng.normal(size=300)
    >>> y = X[:, 0] + X[:, 1] + 0.1 * rng.normal(size=300)
    >>> _, R, _ = unit_stats(X, y, np.arange(300) % 5)
    >>> path = SparsityPath([], ("a", "b", "c", "d"), 5, 300, "stlsq")
    >>> path.candidates = _candidates(R, np.full(5, 60.0), path.names, regressor="stlsq",
    ...     n_thresholds=5, alpha=1e-6, n_eff=300.0, columns=np.array([0, 1, 0, 1], bool))
    >>> path.best().terms  # a path that never offered a: d stands in for it
    ('b', 'd')
    >>> refine_by_swaps(path, R).terms
    ('a', 'b')
    """
    best = path.best(criterion)
    R_all = _combine(R)
    R_train = [_combine(np.delete(R, f, axis=0)) for f in range(R.shape[0])]
    yy = np.sum(R[:, :, -1] ** 2, axis=1)
    seen = {c.support for c in path.candidates}
    for _ in range(rounds):
        new = [s for s in _neighbours(R_all, best.support) if s not in seen]
        if not new:
            break
        seen.update(new)
        added = _scored(path, new, (R, R_all, R_train, yy), best.n_eff, stable)
        if path.significance is not None:  # and each without its insignificant terms
            q = path.significance_cut()
            pruned = {tuple(j for j, t in zip(c.support, c.t_values) if t >= q) for c in added}
            pruned = [s for s in pruned if s and s not in seen]
            seen.update(pruned)
            _scored(path, pruned, (R, R_all, R_train, yy), best.n_eff, stable)
        pick = path.best(criterion)
        if pick.support == best.support:
            break
        best = pick
    return best


def _scored(path, supports, factors, n_eff, stable) -> list[Candidate]:
    """``supports`` scored by cross-validation (``factors``: per-fold, all rows, without
    each fold, held-out ``y·y``), marked by ``stable`` and added to ``path``."""
    coefs, fold_coefs, errs = _refit_each(*factors, supports)
    out = [
        Candidate(sup, tuple(path.names[j] for j in sup), coefs[k], fold_coefs[k], errs[k],
                  threshold=float("inf"), n_eff=n_eff,
                  stable=True if stable is None else bool(stable(sup)))
        for k, sup in enumerate(supports)
    ]  # fmt: skip
    path.candidates += out
    return out


def _neighbours(R: np.ndarray, cur: tuple[int, ...]) -> list[tuple[int, ...]]:
    """``cur`` without each of its terms, and with each swapped for its best replacement
    (least squared residual, when below ``cur``'s), from the factor ``R`` of all rows."""
    p = R.shape[1] - 1
    out = [tuple(j for j in cur if j != i) for i in cur] if len(cur) > 1 else []
    rest = [k for k in range(p) if k not in cur]
    if not rest:
        return out
    swaps = [tuple(sorted(set(cur) - {j} | {k})) for j in cur for k in rest]
    res = refit_many(R, [*swaps, cur]) @ R[:, :-1].T - R[:, -1]
    rss = np.sum(res**2, axis=1)
    for i in range(len(cur)):
        block = rss[i * len(rest) : (i + 1) * len(rest)]
        k = int(np.argmin(block))
        if block[k] < rss[-1]:
            out.append(swaps[i * len(rest) + k])
    return out


def _refit_each(R, R_all, R_train, yy, sups):
    """The candidates' coefficients on all data and without each fold, and their held-out
    errors, one least-squares solve at a time (the reported path's exact arithmetic)."""
    n_folds, p = R.shape[0], R.shape[1] - 1
    coefs = np.zeros((len(sups), p))
    fold_coefs = np.zeros((len(sups), n_folds, p))
    errs = np.ones((len(sups), n_folds))
    for k, sup in enumerate(sups):
        idx = list(sup)
        if not idx:
            continue
        coefs[k, idx] = refit(R_all, idx)
        for f in range(n_folds):
            c = fold_coefs[k, f, idx] = refit(R_train[f], idx)
            r = R[f][:, idx] @ c - R[f][:, -1]
            errs[k, f] = max(float((r @ r) / (yy[f] or 1.0)), ERROR_FLOOR)
    return coefs, fold_coefs, errs


class CollinearityWarning(UserWarning):
    """Candidate terms that are (nearly) linear combinations of each other on the data."""


def collinear_terms(
    X: np.ndarray, names: Sequence[str], *, tol: float = 1e-8
) -> list[tuple[str, ...]]:
    """Groups of terms that are nearly linearly dependent on the data.

    The columns are scaled to unit root-mean-square; each eigenvalue of their Gram matrix
    below ``tol`` times the largest is a combination of terms that (nearly) vanishes on the
    data, and the terms with a weight above 0.2 in its eigenvector are named.  Their
    coefficients cannot be told apart by any regression.

    >>> x = np.linspace(0, 1, 50)
    >>> collinear_terms(np.stack([x, 2 * x, x**2], 1), ["a", "b", "c"])
    [('a', 'b')]
    """
    X = np.asarray(X, dtype=float)
    if X.shape[1] < 2:
        return []
    xs = np.sqrt(np.mean(X**2, axis=0))
    zero = [names[j] for j in np.flatnonzero(xs == 0)]
    Xn = X / np.where(xs > 0, xs, 1.0)
    lam, V = np.linalg.eigh(Xn.T @ Xn / len(X))
    return _collinear_groups(lam, V, xs, zero, names, tol)


def collinear_gram(
    R: np.ndarray, n: int, names: Sequence[str], *, tol: float = 1e-8
) -> list[tuple[str, ...]]:
    """:func:`collinear_terms` from the triangular factor ``R`` of ``[X y]`` of ``n`` rows.

    >>> x = np.linspace(0, 1, 50)
    >>> collinear_gram(triangular(np.stack([x, 2 * x, x**2], 1), x), 50, ["a", "b", "c"])
    [('a', 'b')]
    """
    A = R[:, :-1]
    if A.shape[1] < 2:
        return []
    xs = np.sqrt(np.sum(A**2, axis=0) / n)
    zero = [names[j] for j in np.flatnonzero(xs == 0)]
    An = A / np.where(xs > 0, xs, 1.0)
    lam, V = np.linalg.eigh(An.T @ An / n)
    return _collinear_groups(lam, V, xs, zero, names, tol)


def _collinear_groups(lam, V, xs, zero, names, tol) -> list[tuple[str, ...]]:
    out = [(z,) for z in zero]
    for k in np.flatnonzero(lam < tol * lam.max()):
        group = tuple(names[j] for j in np.flatnonzero(np.abs(V[:, k]) > 0.2) if xs[j] > 0)
        if len(group) > 1 and group not in out:
            out.append(group)
    return out


def backward_supports(
    Gn: np.ndarray, bn: np.ndarray, alpha: float, *, downdate: bool = False
) -> list[tuple[int, ...]]:
    """Backward elimination on standardized normal equations: from all terms, drop at each
    step the one whose removal raises the squared residual least; every nested support down
    to two terms, and every single term (cross-validation then tells them apart).

    Thresholding misses the sparse model when terms are nearly collinear (on a positive
    shock profile ``u*u_x`` and ``u**2*u_x``: the full fit splits between them and both fall
    below the threshold together); elimination keeps the better of the two.

    >>> G = np.array([[1.0, 0.99, 0.0], [0.99, 1.0, 0.0], [0.0, 0.0, 1.0]])
    >>> backward_supports(G, np.array([0.9, 0.89, 0.1]), 1e-6)
    [(0, 1, 2), (0,), (1,), (2,), (0, 2)]
    """
    sup = list(range(len(bn)))
    out = [tuple(sup)] + [(j,) for j in sup]  # every single term too
    if downdate:
        return out + _backward_downdate(Gn, bn, alpha)
    while len(sup) > 2:  # dropping term j raises the residual by w_j² / (G⁻¹)_jj
        inv = np.linalg.pinv(Gn[np.ix_(sup, sup)] + alpha * np.eye(len(sup)))
        w = inv @ bn[sup]
        rise = w**2 / np.maximum(np.diag(inv), 1e-300)
        sup.pop(int(np.argmin(rise)))
        out.append(tuple(sup))
    return out


def _backward_downdate(Gn: np.ndarray, bn: np.ndarray, alpha: float) -> list[tuple[int, ...]]:
    """The nested supports of :func:`backward_supports`, the inverse downdated after each
    removal (``G⁻¹`` of a sub-matrix is a Schur complement of the inverse) rather than
    recomputed: what the bootstrap's resamples use."""
    sup = list(range(len(bn)))
    inv = np.linalg.pinv(Gn + alpha * np.eye(len(bn)))
    out = []
    while len(sup) > 2:
        w = inv @ bn[sup]
        rise = w**2 / np.maximum(np.diag(inv), 1e-300)
        j = int(np.argmin(rise))
        keep = [k for k in range(len(sup)) if k != j]
        inv = inv[np.ix_(keep, keep)] - np.outer(inv[keep, j], inv[j, keep]) / inv[j, j]
        sup.pop(j)
        out.append(tuple(sup))
    return out


def _check_path_args(X: np.ndarray, y: np.ndarray, folds: np.ndarray, regressor: str) -> None:
    check_regressor(regressor)
    if X.ndim != 2 or X.shape[1] == 0:
        raise ValueError("the library is empty: give at least one candidate term")
    if np.unique(folds).size < 2:
        raise ValueError("cross-validation needs at least two folds")
    if X.shape[0] <= X.shape[1]:
        raise ValueError(
            f"{X.shape[0]} samples cannot determine {X.shape[1]} candidate terms; "
            "use a smaller library or more data"
        )


def sparsity_path(
    X: np.ndarray,
    y: np.ndarray,
    names: Sequence[str],
    *,
    folds: np.ndarray,
    regressor: str = "stlsq",
    n_thresholds: int = 40,
    alpha: float = 1e-6,
    n_eff: float | None = None,
    backward: bool = False,
    significance: float | None = None,
    noise: Callable[[np.ndarray, int], np.ndarray] | None = None,
) -> SparsityPath:
    """Run ``regressor`` over a path of thresholds and score every distinct model.

    Parameters
    ----------
    X, y : ndarray
        Design matrix (one column a term) and target (the time derivative).
    names : sequence of str
        Term names, one per column.
    folds : ndarray of int
        Cross-validation fold of each row (see :func:`block_folds`).
    regressor : str
        A key of :data:`discover.regress.REGRESSORS`.
    n_thresholds : int
        Thresholds, log-spaced from the largest standardized least-squares coefficient down
        to 1e-5 of it, plus zero; the path is run on all rows and without each fold.
    alpha : float
        Ridge penalty of STLSQ.
    n_eff : float, optional
        Effective number of independent residuals (AIC/BIC); default: the number of rows.
    backward : bool
        Also score the supports of backward elimination (:func:`backward_supports`).
    significance : float, optional
        Criteria choose only among models whose every term is significant at this
        family-wise level (:meth:`SparsityPath.significance_cut`); None: no such filter.
    noise : callable, optional
        ``(labels, n_labels) -> (n_labels, p + 1, p + 1)``: the noise's expected share of
        ``[X y]ᵀ[X y]`` summed over the rows of each label (``labels`` one per row, from 0);
        fits and held-out errors are then net of its part between columns
        (:func:`net_of_noise`).
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    folds = np.asarray(folds)
    _check_path_args(X, y, folds, regressor)
    labels, R, n = unit_stats(X, y, folds)
    if noise is not None:
        R = net_of_noise(R, noise(np.searchsorted(labels, folds), labels.size))
    return _path(R, n, names, regressor, n_thresholds, alpha, n_eff, backward, significance)


def sparsity_path_factors(
    factors: BlockFactors,
    names: Sequence[str],
    *,
    regressor: str = "stlsq",
    n_thresholds: int = 40,
    alpha: float = 1e-6,
    n_eff: float | None = None,
    backward: bool = False,
    significance: float | None = None,
) -> SparsityPath:
    """:func:`sparsity_path` on per-(block, fold) factors (:class:`BlockFactors`).

    >>> rng = np.random.default_rng(1)
    >>> X = rng.normal(size=(400, 6)); y = X[:, 0] - 0.3 * X[:, 4] + 0.01 * rng.normal(size=400)
    >>> f = BlockFactors.from_rows(X, y, rng.uniform(size=(400, 2)), np.arange(400) % 5)
    >>> sparsity_path_factors(f, [f"f{i}" for i in range(6)]).best().terms
    ('f0', 'f4')
    """
    check_regressor(regressor)
    if factors.n_folds < 2:
        raise ValueError("cross-validation needs at least two folds")
    p = factors.R.shape[1] - 1
    if factors.n_rows <= p:
        raise ValueError(f"{factors.n_rows} samples cannot determine {p} candidate terms")
    R, n = factors.fold_factors()
    return _path(R, n, names, regressor, n_thresholds, alpha, n_eff, backward, significance)


def _path(R, n, names, regressor, n_thresholds, alpha, n_eff, backward, significance=None):
    """The path from per-fold factors ``R`` and row counts ``n``."""
    n_rows = int(n.sum())
    cands = _candidates(
        R,
        n,
        names,
        regressor=regressor,
        n_thresholds=n_thresholds,
        alpha=alpha,
        n_eff=float(n_rows) if n_eff is None else float(n_eff),
        backward=backward,
    )
    return SparsityPath(
        candidates=cands,
        names=tuple(names),
        n_folds=int(R.shape[0]),
        n_samples=n_rows,
        regressor=regressor,
        settings={"n_thresholds": n_thresholds, "alpha": alpha},
        significance=significance,
        fold_factors=R,
    )


@dataclass
class Ensemble:
    """The selection repeated on block-bootstrap resamples (and optionally library subsets).

    Attributes
    ----------
    names : tuple of str
    selected : ndarray of bool (n_models, n_terms)
        The terms each resample's selection kept.
    available : ndarray of bool (n_models, n_terms)
        The terms each resample's library offered (all, unless ``library_fraction < 1``).
    support : tuple of int
        The model whose coefficients are resampled (the one chosen on all data).
    coef : ndarray (n_models, len(support))
        That model refitted on each resample.
    settings : dict
    selected_coef : ndarray (n_models, n_terms), optional
        The coefficients of each resample's own selected model (zero where it drops a term).
    """

    names: tuple[str, ...]
    selected: np.ndarray
    available: np.ndarray
    support: tuple[int, ...]
    coef: np.ndarray
    settings: dict = field(default_factory=dict)
    selected_coef: np.ndarray | None = None

    @property
    def inclusion(self) -> np.ndarray:
        """Per term: the fraction of resamples offering it whose selection kept it."""
        avail = self.available.sum(axis=0)
        return np.where(avail > 0, self.selected.sum(axis=0) / np.maximum(avail, 1), 0.0)

    @property
    def coef_se(self) -> np.ndarray:
        """Bootstrap standard error of each coefficient of :attr:`support`."""
        return self.coef.std(axis=0, ddof=1) if len(self.coef) > 1 else np.zeros(len(self.support))

    @property
    def selection_se(self) -> np.ndarray:
        """Per term of :attr:`support`: the standard deviation of its coefficient over the
        resamples whose own selection kept it, each in the model that resample chose
        (Fasel et al.'s bagged coefficients).  Beside :attr:`coef_se` it also sees how the
        coefficient moves when other terms come and go: the model-selection part of the
        error.  Zero where fewer than two resamples kept the term."""
        out = np.zeros(len(self.support))
        if self.selected_coef is None:
            return out
        for k, j in enumerate(self.support):
            kept = self.selected[:, j]
            if kept.sum() > 1:
                out[k] = self.selected_coef[kept, j].std(ddof=1)
        return out

    def models(self) -> list[tuple[tuple[str, ...], float]]:
        """The distinct selected models and the fraction of resamples choosing each."""
        keys = [tuple(self.names[i] for i in np.flatnonzero(s)) for s in self.selected]
        counts: dict[tuple[str, ...], int] = {}
        for k in keys:
            counts[k] = counts.get(k, 0) + 1
        return sorted(((k, c / len(keys)) for k, c in counts.items()), key=lambda kc: -kc[1])


@dataclass
class BlockFactors:
    """A regression system as per-unit triangular factors, one unit per (space–time block,
    fold): what the selection needs of ``[X y]``, without its rows.

    Builders that never hold the whole design matrix (:mod:`discover.builders.chunked`)
    reduce each chunk of rows at once to such factors and :meth:`merge` them; the selection
    (:func:`sparsity_path_factors`, :func:`ensemble_factors`) then works on them alone.

    Attributes
    ----------
    R : ndarray (U, p+1, p+1)
        Each unit's triangular factor of ``[X y]`` (:func:`triangular`).
    n : ndarray (U,)
        Each unit's number of rows.
    block : ndarray of int (U,)
        Each unit's space–time block (the boxes the bootstrap resamples).
    fold : ndarray of int (U,)
        Each unit's cross-validation fold, ``0 … n_folds-1``.
    n_folds : int
    noise : ndarray (U, p+1, p+1), optional
        Each unit's expected noise share of ``[X y]ᵀ[X y]``: the folds' factors are then
        net of it (:func:`net_of_noise`).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3)); y = X[:, 0]; pts = rng.uniform(size=(200, 2))
    >>> f = BlockFactors.from_rows(X, y, pts, np.arange(200) % 5)
    >>> int(f.n.sum()), f.n_folds, bool(np.allclose(refit(f.total(), [0]), 1.0))
    (200, 5, True)
    """

    R: np.ndarray
    n: np.ndarray
    block: np.ndarray
    fold: np.ndarray
    n_folds: int
    noise: np.ndarray | None = None

    @classmethod
    def from_rows(
        cls,
        X: np.ndarray,
        y: np.ndarray,
        points: np.ndarray,
        folds: np.ndarray,
        n_blocks: int = 8,
        noise: Callable[[np.ndarray, int], np.ndarray] | None = None,
    ) -> BlockFactors:
        """The factors of rows at ``points`` with fold labels ``folds`` (blocks:
        :func:`block_labels` with ``n_blocks`` slabs per coordinate); ``noise`` as in
        :func:`sparsity_path`."""
        fold_labels = np.unique(folds)
        n_folds = int(fold_labels.size)
        units = block_labels(points, n_blocks=n_blocks) * n_folds + np.searchsorted(
            fold_labels, folds
        )
        return cls.from_units(X, y, units, n_folds, noise)

    @classmethod
    def from_units(
        cls,
        X: np.ndarray,
        y: np.ndarray,
        units: np.ndarray,
        n_folds: int,
        noise: Callable[[np.ndarray, int], np.ndarray] | None = None,
    ):
        """The factors of rows with unit labels ``block * n_folds + fold``."""
        ulab, R, n = unit_stats(X, y, units)
        N = None if noise is None else noise(np.searchsorted(ulab, units), ulab.size)
        return cls(R, n, ulab // n_folds, ulab % n_folds, n_folds, N)

    @staticmethod
    def merge(parts: Sequence[BlockFactors]) -> BlockFactors:
        """One set of factors of the union of the rows of ``parts`` (same units combined)."""
        full = [q for q in parts if len(q.n)]
        if len(full) <= 1:
            return full[0] if full else parts[0]
        parts = full
        n_folds = parts[0].n_folds
        keys = np.concatenate([q.block * n_folds + q.fold for q in parts])
        R = np.concatenate([q.R for q in parts])
        n = np.concatenate([q.n for q in parts])
        ulab, inv = np.unique(keys, return_inverse=True)
        out_R = np.stack([_combine(R[inv == k]) for k in range(ulab.size)])
        out_n = np.bincount(inv, weights=n, minlength=ulab.size)
        out_N = None
        if all(q.noise is not None for q in parts):
            N = np.concatenate([q.noise for q in parts])
            out_N = np.stack([N[inv == k].sum(axis=0) for k in range(ulab.size)])
        return BlockFactors(out_R, out_n, ulab // n_folds, ulab % n_folds, n_folds, out_N)

    @property
    def n_rows(self) -> int:
        return int(self.n.sum())

    def total(self) -> np.ndarray:
        """The triangular factor of all rows."""
        return _combine(self.R)

    def fold_factors(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-fold factors ``(n_folds, p+1, p+1)`` and row counts."""
        Rf = np.stack([_combine(self.R[self.fold == f]) for f in range(self.n_folds)])
        if self.noise is not None:
            Rf = net_of_noise(Rf, _fold_sums(self.noise, self.fold, self.n_folds))
        return Rf, np.bincount(self.fold, weights=self.n, minlength=self.n_folds)


def _fold_sums(noise: np.ndarray, fold: np.ndarray, n_folds: int, w=None) -> np.ndarray:
    """Per-unit noise shares summed per fold (each unit counted ``w`` times)."""
    w = np.ones(len(fold)) if w is None else w
    return np.stack([np.tensordot(w[fold == f], noise[fold == f], 1) for f in range(n_folds)])


class _Units:
    """Rows grouped into units, one per (space–time block, fold) pair, with each unit's
    triangular factor: blocks are resampled, folds stay as they are."""

    def __init__(self, factors: BlockFactors):
        self.n_folds = factors.n_folds
        self.R, self.n, self.fold = factors.R, factors.n, factors.fold
        self.noise = factors.noise
        self.blocks, self.block = np.unique(factors.block, return_inverse=True)

    def resample(self, rng) -> tuple[np.ndarray, np.ndarray]:
        """Per-fold factors and row counts of one block-bootstrap resample: blocks drawn
        with replacement until every fold keeps some rows (rarely more than once)."""
        nb = self.blocks.size
        for _ in range(100):
            w = np.bincount(rng.integers(0, nb, nb), minlength=nb)
            wu = w[self.block].astype(float)
            nf = np.bincount(self.fold, weights=wu * self.n, minlength=self.n_folds)
            if np.all(nf > 0):
                break
        Rf = np.stack(
            [_combine(self.R[self.fold == f], wu[self.fold == f]) for f in range(self.n_folds)]
        )
        if self.noise is not None:
            Rf = net_of_noise(Rf, _fold_sums(self.noise, self.fold, self.n_folds, wu))
        return Rf, nf


def ensemble(
    X: np.ndarray,
    y: np.ndarray,
    names: Sequence[str],
    *,
    points: np.ndarray,
    folds: np.ndarray,
    support: Sequence[int],
    criterion: str = "1se",
    regressor: str = "stlsq",
    stable: Callable[[tuple[int, ...]], bool] | None = None,
    n_models: int = 100,
    library_fraction: float = 1.0,
    n_blocks: int = 8,
    n_thresholds: int = 40,
    alpha: float = 1e-6,
    n_eff: float | None = None,
    seed: int = 0,
    backward: bool = False,
    significance: float | None = None,
    noise: Callable[[np.ndarray, int], np.ndarray] | None = None,
) -> Ensemble:
    """Repeat the whole selection on block-bootstrap resamples of the rows.

    The rows are cut into space–time blocks (``n_blocks`` slabs per coordinate, as in
    :func:`block_folds`, whose coarser blocks keep their folds); each resample draws blocks
    with replacement, runs the sparsity path with the same folds and criterion, and records
    the terms it keeps (inclusion probabilities) and the coefficients of ``support`` refitted
    (bootstrap standard errors).  ``stable`` (support -> bool), when given, is the caller's
    stability check; models failing it are skipped, as on the full data.  With
    ``library_fraction < 1`` each resample also offers a random subset of the library
    (library bagging, Fasel et al. 2022); a term's inclusion
    then counts only the resamples that offered it.  Everything works on per-block normal
    equations, so a resample costs nothing per data row.  ``noise``, as in
    :func:`sparsity_path`, nets the folds' Gram matrices of the noise's share.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> t, x = np.meshgrid(np.arange(40.0), np.arange(40.0), indexing="ij")
    >>> pts = np.stack([t.ravel(), x.ravel()], 1)
    >>> X = rng.normal(size=(1600, 4)); y = X[:, 0] - 0.5 * X[:, 2] + 0.1 * rng.normal(size=1600)
    >>> folds = block_folds(pts)
    >>> e = ensemble(X, y, "abcd", points=pts, folds=folds, support=(0, 2), n_models=20)
    >>> e.inclusion.round(2).tolist()
    [1.0, 0.0, 1.0, 0.0]
    >>> bool(abs(e.coef.mean(axis=0)[1] + 0.5) < 3 * e.coef_se[1])
    True
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    folds = np.asarray(folds)
    _check_path_args(X, y, folds, regressor)
    if not 0 < library_fraction <= 1:
        raise ValueError(f"library_fraction must be in (0, 1], not {library_fraction}")
    factors = BlockFactors.from_rows(X, y, points, folds, n_blocks, noise)
    return ensemble_factors(
        factors,
        names,
        support=support,
        criterion=criterion,
        regressor=regressor,
        stable=stable,
        n_models=n_models,
        library_fraction=library_fraction,
        n_thresholds=n_thresholds,
        alpha=alpha,
        n_eff=n_eff,
        seed=seed,
        backward=backward,
        significance=significance,
        settings={"n_blocks": n_blocks},
    )


def ensemble_factors(
    factors: BlockFactors,
    names: Sequence[str],
    *,
    support: Sequence[int],
    criterion: str = "1se",
    regressor: str = "stlsq",
    stable: Callable[[tuple[int, ...]], bool] | None = None,
    n_models: int = 100,
    library_fraction: float = 1.0,
    n_thresholds: int = 40,
    alpha: float = 1e-6,
    n_eff: float | None = None,
    seed: int = 0,
    backward: bool = False,
    significance: float | None = None,
    settings: dict | None = None,
) -> Ensemble:
    """:func:`ensemble` on per-(block, fold) factors (:class:`BlockFactors`): the same
    resamples, without the rows."""
    check_regressor(regressor)
    if not 0 < library_fraction <= 1:
        raise ValueError(f"library_fraction must be in (0, 1], not {library_fraction}")
    units = _Units(factors)
    n_rows = factors.n_rows
    rng = np.random.default_rng(seed)
    p = factors.R.shape[1] - 1
    idx = list(support)
    n_eff = float(n_rows) if n_eff is None else float(n_eff)
    selected = np.zeros((n_models, p), dtype=bool)
    available = np.ones((n_models, p), dtype=bool)
    coef = np.zeros((n_models, len(idx)))
    selected_coef = np.zeros((n_models, p))
    n_keep = max(1, round(library_fraction * p))
    for m in range(n_models):
        Rf, nf = units.resample(rng)
        if n_keep < p:
            available[m] = False
            available[m, rng.choice(p, n_keep, replace=False)] = True
        cands = _candidates(
            Rf,
            nf,
            names,
            regressor=regressor,
            n_thresholds=n_thresholds,
            alpha=alpha,
            n_eff=n_eff * nf.sum() / n_rows,
            columns=available[m] if n_keep < p else None,
            backward=backward,
            fast=True,
        )
        path = SparsityPath(
            cands, tuple(names), units.n_folds, int(nf.sum()), regressor, significance=significance
        )
        if stable is not None:
            path.mark_unstable({c.support for c in cands if not stable(c.support)})
        chosen = path.best(criterion)
        selected[m, list(chosen.support)] = True
        selected_coef[m] = chosen.coef
        if idx:
            coef[m] = refit(_combine(Rf), idx)
    return Ensemble(
        names=tuple(names),
        selected=selected,
        available=available,
        support=tuple(idx),
        coef=coef,
        selected_coef=selected_coef,
        settings={
            "n_models": n_models,
            "library_fraction": library_fraction,
            "n_blocks": (settings or {}).get("n_blocks", 8),
            "n_resampled_blocks": int(units.blocks.size),
            "criterion": criterion,
            "seed": seed,
        },
    )
