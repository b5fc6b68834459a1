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
    log-error is within one standard error of the best model's.
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
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from .regress import REGRESSORS, STLSQ, column_scale, least_squares, stlsq_gram

__all__ = [
    "CRITERIA",
    "Candidate",
    "SparsityPath",
    "block_folds",
    "effective_size",
    "sparsity_path",
]

#: selection criteria by name (the first is the default)
CRITERIA = ("1se", "cv", "bic", "aic", "knee")


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

    def interval(self, level: float = 0.95) -> np.ndarray:
        """Block-jackknife ``level`` intervals of the kept coefficients, shape (n_terms, 2)."""
        from scipy.stats import t as student

        k = self.fold_coef.shape[0]
        idx = list(self.support)
        fc = self.fold_coef[:, idx]
        se = np.sqrt((k - 1) / k * np.sum((fc - fc.mean(axis=0)) ** 2, axis=0))
        q = student.ppf(0.5 + level / 2, df=max(k - 1, 1))
        c = self.coef[idx]
        return np.stack([c - q * se, c + q * se], axis=1)

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

    def best(self, criterion: str = "1se") -> Candidate:
        """The winner by ``criterion`` among the stable, non-empty candidates."""
        if criterion not in CRITERIA:
            raise ValueError(
                f"unknown selection criterion '{criterion}'; valid criteria: "
                + ", ".join(repr(c) for c in CRITERIA)
            )
        pool = [c for c in self.candidates if c.n_terms > 0 and c.stable]
        if not pool:
            pool = [c for c in self.candidates if c.n_terms > 0] or self.candidates
        if criterion == "1se":
            top = min(pool, key=lambda c: (c.cv, c.n_terms))
            near = [c for c in pool if c.cv <= top.cv + top.cv_se]
            return min(near, key=lambda c: (c.n_terms, c.cv))
        if criterion == "cv":
            return min(pool, key=lambda c: (c.cv, c.n_terms))
        if criterion == "knee":
            return _knee(self.pareto_front())
        return min(pool, key=lambda c: (getattr(c, criterion), c.n_terms))

    def pareto_front(self) -> list[Candidate]:
        """The stable, non-empty models no sparser-or-equal model beats on held-out error,
        sparsest first."""
        pool = [c for c in self.candidates if c.n_terms > 0 and c.stable]
        pool = pool or [c for c in self.candidates if c.n_terms > 0] or self.candidates
        front: list[Candidate] = []
        for c in sorted(pool, key=lambda c: (c.n_terms, c.cv)):
            if not front or c.cv < front[-1].cv:
                front.append(c)
        return front

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


def block_folds(
    points: np.ndarray, *, n_folds: int = 5, n_blocks: int = 4, seed: int = 0
) -> np.ndarray:
    """Fold label (0 … n_folds-1) of each point, whole space–time blocks at a time.

    Each coordinate is cut into ``n_blocks`` slabs of equal count; the resulting boxes are
    dealt to the folds at random (seeded).

    >>> pts = np.stack(np.meshgrid(np.arange(20.), np.arange(20.), indexing="ij"), -1)
    >>> f = block_folds(pts.reshape(-1, 2))
    >>> sorted(set(f.tolist())), bool(abs(np.mean(f == 0) - 0.2) < 0.1)
    ([0, 1, 2, 3, 4], True)
    """
    pts = np.asarray(points, dtype=float)
    n, d = pts.shape
    labels = np.zeros(n, dtype=np.int64)
    for j in range(d):
        edges = np.quantile(pts[:, j], np.linspace(0, 1, n_blocks + 1)[1:-1])
        labels = labels * n_blocks + np.searchsorted(edges, pts[:, j], side="right")
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


def _refit(X: np.ndarray, y: np.ndarray, idx: list[int]) -> np.ndarray:
    xs = column_scale(X[:, idx])
    return least_squares(X[:, idx] / xs, y) / xs


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
        The regressor's ridge penalty.
    n_eff : float, optional
        Effective number of independent residuals (AIC/BIC); default: the number of rows.
    """
    if regressor not in REGRESSORS:
        raise ValueError(
            f"unknown regressor '{regressor}'; valid regressors: "
            + ", ".join(repr(r) for r in REGRESSORS)
        )
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    folds = np.asarray(folds)
    labels = np.unique(folds)
    if labels.size < 2:
        raise ValueError("cross-validation needs at least two folds")
    if X.shape[0] <= X.shape[1]:
        raise ValueError(
            f"{X.shape[0]} samples cannot determine {X.shape[1]} candidate terms; "
            "use a smaller library or more data"
        )
    est_cls = REGRESSORS[regressor]
    seen: dict[tuple[int, ...], float] = {}
    # Gram matrices of all rows and of each fold: the training Gram of a split is a difference
    gram = {
        f: (
            X[folds == f].T @ X[folds == f],
            X[folds == f].T @ y[folds == f],
            float(np.sum(folds == f)),
        )
        for f in labels
    }
    G_all = sum(g[0] for g in gram.values())
    b_all = sum(g[1] for g in gram.values())
    splits = [(G_all, b_all, float(len(y)), float(np.mean(y**2)))]
    for f in labels:
        tr = folds != f
        splits.append(
            (G_all - gram[f][0], b_all - gram[f][1], float(tr.sum()), float(np.mean(y[tr] ** 2)))
        )
    for G, b, n, y2 in splits:
        xs = np.sqrt(np.maximum(np.diag(G) / n, 0.0))
        xs = np.where(xs > 0, xs, 1.0)
        ys = np.sqrt(y2) or 1.0
        Gn = G / n / np.outer(xs, xs)
        bn = b / n / xs / ys
        w0 = np.abs(np.linalg.solve(Gn + alpha * np.eye(len(bn)), bn))
        top = float(w0.max()) if w0.size else 1.0
        for thr in np.concatenate([[0.0], np.geomspace(top * 1e-5, top * 1.001, n_thresholds)]):
            if est_cls is STLSQ:
                _, support, _ = stlsq_gram(Gn, bn, float(thr), alpha)
            else:  # any other estimator with a support_
                support = est_cls(threshold=float(thr), alpha=alpha).fit(X, y).support_
            sup = tuple(int(i) for i in np.flatnonzero(support))
            if sup not in seen or thr < seen[sup]:
                seen[sup] = float(thr)
    n_eff = float(len(y)) if n_eff is None else float(n_eff)
    cands = []
    for sup, thr in seen.items():
        idx = list(sup)
        coef = np.zeros(X.shape[1])
        fold_coef = np.zeros((labels.size, X.shape[1]))
        errs = np.ones(labels.size)
        if idx:
            coef[idx] = _refit(X, y, idx)
        for k, f in enumerate(labels):
            tr = folds != f
            if idx:
                fold_coef[k, idx] = _refit(X[tr], y[tr], idx)
            r = y[~tr] - X[~tr] @ fold_coef[k]
            errs[k] = float(np.mean(r**2) / (np.mean(y[~tr] ** 2) or 1.0))
        cands.append(
            Candidate(
                support=sup,
                terms=tuple(names[i] for i in sup),
                coef=coef,
                fold_coef=fold_coef,
                fold_error=errs,
                threshold=thr,
                n_eff=n_eff,
            )
        )
    return SparsityPath(
        candidates=cands,
        names=tuple(names),
        n_folds=int(labels.size),
        n_samples=len(y),
        regressor=regressor,
        settings={"n_thresholds": n_thresholds, "alpha": alpha},
    )
