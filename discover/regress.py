"""Sparse regressors with scikit-learn's estimator API.

:class:`STLSQ` is sequentially thresholded ridge regression (Brunton et al. 2016; Rudy et al.
2017) on *standardized* columns: each column of ``X`` and the target are divided by their
root-mean-square, so ``threshold`` is the least contribution a term must make, as a fraction
of the target's size.  Coefficients are reported in the original units.

The sparsity path (:mod:`discover.select`) runs a regressor by name from :data:`REGRESSORS`:
STLSQ, SR3 from pysindy (L0 relaxation, Zheng et al. 2019) or scikit-learn's Lasso path, all
behind one interface — standardized normal equations and thresholds in, supports out — so
the path of any of them costs nothing per data row.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(200, 5)); y = 2 * X[:, 1] - 0.5 * X[:, 3]
>>> STLSQ(threshold=0.05).fit(X, y).coef_.round(6)
array([ 0. ,  2. ,  0. , -0.5,  0. ])
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .registry import Registry

__all__ = [
    "REGRESSORS",
    "STLSQ",
    "PathRegressor",
    "check_regressor",
    "column_scale",
    "lasso_path_supports",
    "least_squares",
    "normal_equations",
    "sr3_path_supports",
    "stlsq_gram",
    "stlsq_path",
]


def column_scale(X: np.ndarray) -> np.ndarray:
    """Root-mean-square of each column (1 where a column is all zero)."""
    s = np.sqrt(np.mean(np.asarray(X) ** 2, axis=0))
    return np.where(s > 0, s, 1.0)


def least_squares(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Ordinary least squares on already scaled columns (ridge lives in :func:`stlsq_gram`)."""
    if X.shape[1] == 0:
        return np.zeros(0)
    return np.linalg.lstsq(X, y, rcond=None)[0]


def stlsq_gram(
    G: np.ndarray,
    b: np.ndarray,
    threshold: float,
    alpha: float = 1e-6,
    max_iter: int = 25,
    _memo: dict | None = None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """The thresholding loop of STLSQ on normal equations.

    ``G = Xn.T @ Xn / n`` and ``b = Xn.T @ yn / n`` of standardized columns; returns the
    (ridge) coefficients, the support and the number of rounds.  Working on the Gram matrix
    makes a whole path of thresholds cost O(p³) per threshold, whatever the number of rows.
    The ridge solution of a support does not depend on the threshold, so a path shares them
    (``_memo``: support bytes -> coefficients).
    """
    p = G.shape[0]
    memo = {} if _memo is None else _memo
    support = np.ones(p, dtype=bool)
    w = np.zeros(p)
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 (returned)
        key = support.tobytes()
        if key not in memo:
            w = np.zeros(p)
            if support.any():
                sub = np.ix_(support, support)
                w[support] = np.linalg.solve(
                    G[sub] + alpha * np.eye(int(support.sum())), b[support]
                )
            memo[key] = w
        w = memo[key]
        new = np.abs(w) >= threshold
        if np.array_equal(new, support):
            break
        support = new
        if not support.any():
            break
    w = np.where(support, w, 0.0)
    return w, support, it


class STLSQ(RegressorMixin, BaseEstimator):
    """Sequentially thresholded least squares on standardized columns.

    Parameters
    ----------
    threshold : float
        Standardized coefficients smaller than this (in magnitude) are set to zero.
    alpha : float
        Ridge penalty on standardized columns (``X.T X / n`` has a unit diagonal).
    max_iter : int
        Most thresholding rounds.
    unbias : bool
        Refit the kept terms by ordinary least squares at the end.

    Attributes
    ----------
    coef_ : ndarray (n_features,)
        Coefficients in the original units, zero for dropped terms.
    support_ : ndarray of bool
        Which terms are kept.
    n_iter_ : int
    """

    def __init__(
        self,
        threshold: float = 0.05,
        *,
        alpha: float = 1e-6,
        max_iter: int = 25,
        unbias: bool = True,
    ) -> None:
        self.threshold = threshold
        self.alpha = alpha
        self.max_iter = max_iter
        self.unbias = unbias

    def fit(self, X: np.ndarray, y: np.ndarray) -> STLSQ:
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64)
        if self.threshold < 0:
            raise ValueError(f"threshold must be >= 0, not {self.threshold}")
        xs = column_scale(X)
        ys = float(np.sqrt(np.mean(y**2))) or 1.0
        Xn, yn = X / xs, y / ys
        n = X.shape[0]
        w, support, it = stlsq_gram(
            Xn.T @ Xn / n, Xn.T @ yn / n, self.threshold, self.alpha, self.max_iter
        )
        if self.unbias and support.any():
            w = np.zeros(X.shape[1])
            w[support] = least_squares(Xn[:, support], yn)
        w[~support] = 0.0
        self.coef_ = w * ys / xs
        self.support_ = support
        self.n_iter_ = it
        self.intercept_ = 0.0
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return X @ self.coef_


def normal_equations(G: np.ndarray, b: np.ndarray, n: float, y2: float):
    """Standardize normal equations: columns and target to unit root-mean-square.

    Returns ``(Gn, bn, xs, ys)`` with ``Gn = G / n / (xs xsᵀ)``, ``bn = b / n / xs / ys``.
    """
    xs = np.sqrt(np.maximum(np.diag(G) / n, 0.0))
    xs = np.where(xs > 0, xs, 1.0)
    ys = float(np.sqrt(y2)) or 1.0
    return G / n / np.outer(xs, xs), b / n / xs / ys, xs, ys


def _pseudo_data(Gn: np.ndarray, bn: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows ``(A, z)`` with ``AᵀA = Gn`` and ``Aᵀz = bn`` (up to the null space of ``Gn``):
    any least-squares regressor sees the same objective as on the data, at ``p`` rows."""
    lam, V = np.linalg.eigh(Gn)
    keep = lam > lam.max() * 1e-12
    A = np.sqrt(lam[keep])[:, None] * V[:, keep].T
    z = (V[:, keep].T @ bn) / np.sqrt(lam[keep])
    return A, z


def stlsq_path(Gn: np.ndarray, bn: np.ndarray, thresholds: np.ndarray, alpha: float) -> list:
    """Supports of STLSQ (:func:`stlsq_gram`) at each threshold."""
    memo: dict = {}
    return [stlsq_gram(Gn, bn, float(t), alpha, _memo=memo)[1] for t in thresholds]


def lasso_path_supports(
    Gn: np.ndarray, bn: np.ndarray, thresholds: np.ndarray, alpha: float
) -> list:
    """Supports along scikit-learn's Lasso path (coordinate descent), one per threshold.

    On standardized columns the Lasso's penalty ``α`` zeroes a term whose correlation with
    the residual is below ``α``: the thresholds are used as the penalties.
    """
    from sklearn.linear_model import lasso_path

    A, z = _pseudo_data(Gn, bn)
    # sklearn's objective is (1/2m)||z - Aw||² + α|w|; scale rows so 1/m cancels
    m = A.shape[0]
    thresholds = np.asarray(thresholds, dtype=float)
    positive = np.flatnonzero(thresholds > 0)
    order = positive[np.argsort(-thresholds[positive])]  # sklearn wants decreasing alphas
    out = [np.ones(Gn.shape[0], dtype=bool) for _ in thresholds]  # α = 0: least squares
    if order.size:
        _, coefs, _ = lasso_path(
            np.sqrt(m) * A, np.sqrt(m) * z, alphas=thresholds[order], max_iter=5000
        )
        for k, c in zip(order, coefs.T):
            out[k] = np.abs(c) > 0
    return out


def sr3_path_supports(Gn: np.ndarray, bn: np.ndarray, thresholds: np.ndarray, alpha: float) -> list:
    """Supports of pysindy's SR3 (L0 regularizer, relaxation ν = 1) at each threshold.

    SR3's L0 prox is a hard threshold at ``√(2λν)``; ``λ = t²/2`` puts it at ``t``.
    """
    import warnings

    import pysindy as ps

    A, z = _pseudo_data(Gn, bn)
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for t in thresholds:
            opt = ps.SR3(reg_weight_lam=float(t) ** 2 / 2, regularizer="L0", max_iter=100)
            opt.fit(A, z.reshape(-1, 1))
            out.append(np.abs(np.ravel(opt.coef_)) > 0)
    return out


class PathRegressor(Protocol):
    """The protocol of a sparse path regressor: standardized normal equations ``Gn``, ``bn``
    (see :func:`normal_equations`), thresholds (least standardized coefficient kept) and the
    ridge ``alpha`` in; one support (boolean mask) per threshold out.  Options belong to the
    object (set at construction); register an instance in :data:`REGRESSORS`."""

    def __call__(
        self, Gn: np.ndarray, bn: np.ndarray, thresholds: np.ndarray, alpha: float
    ) -> list[np.ndarray]: ...


def check_regressor(name: str) -> None:
    """Raise the registry's one-line error unless ``name`` is a regressor."""
    REGRESSORS.check(name)


#: sparse regressors by name (:class:`PathRegressor`)
REGRESSORS: Registry[PathRegressor] = Registry("regressor", parameter="regressor")
REGRESSORS.register("stlsq", stlsq_path)
REGRESSORS.register("sr3", sr3_path_supports)
REGRESSORS.register("lasso", lasso_path_supports)
