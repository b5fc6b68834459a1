"""Sparse regressors with scikit-learn's estimator API.

:class:`STLSQ` is sequentially thresholded ridge regression (Brunton et al. 2016; Rudy et al.
2017) on *standardized* columns: each column of ``X`` and the target are divided by their
root-mean-square, so ``threshold`` is the least contribution a term must make, as a fraction
of the target's size.  Coefficients are reported in the original units.

Regressors are looked up by name in :data:`REGRESSORS`.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(200, 5)); y = 2 * X[:, 1] - 0.5 * X[:, 3]
>>> STLSQ(threshold=0.05).fit(X, y).coef_.round(6)
array([ 0. ,  2. ,  0. , -0.5,  0. ])
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["REGRESSORS", "STLSQ", "column_scale", "least_squares", "stlsq_gram"]


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
    G: np.ndarray, b: np.ndarray, threshold: float, alpha: float = 1e-6, max_iter: int = 25
) -> tuple[np.ndarray, np.ndarray, int]:
    """The thresholding loop of STLSQ on normal equations.

    ``G = Xn.T @ Xn / n`` and ``b = Xn.T @ yn / n`` of standardized columns; returns the
    (ridge) coefficients, the support and the number of rounds.  Working on the Gram matrix
    makes a whole path of thresholds cost O(p³) per threshold, whatever the number of rows.
    """
    p = G.shape[0]
    support = np.ones(p, dtype=bool)
    w = np.zeros(p)
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 (returned)
        w = np.zeros(p)
        if support.any():
            sub = np.ix_(support, support)
            w[support] = np.linalg.solve(G[sub] + alpha * np.eye(int(support.sum())), b[support])
        new = np.abs(w) >= threshold
        if np.array_equal(new, support):
            break
        support = new
        if not support.any():
            w = np.zeros(p)
            break
    w[~support] = 0.0
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


#: sparse regressors by name
REGRESSORS: dict[str, type] = {"stlsq": STLSQ}
