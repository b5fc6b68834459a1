"""STLSQ (scikit-learn contract) and selection over the sparsity path."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from sklearn.base import clone

from discover.regress import STLSQ
from discover.select import block_folds, effective_size, sparsity_path


def test_stlsq_estimator_contract(rng):
    est = STLSQ(threshold=0.1, alpha=1e-5)
    assert est.get_params()["threshold"] == 0.1 and not hasattr(est, "coef_")
    X = rng.normal(size=(300, 6)) * [1, 10, 0.1, 1, 5, 1]
    y = 3 * X[:, 2] - 0.2 * X[:, 4]
    fitted = est.fit(X, y)
    assert fitted is est
    np.testing.assert_allclose(est.coef_, [0, 0, 3, 0, -0.2, 0], atol=1e-10)
    np.testing.assert_array_equal(est.support_, [0, 0, 1, 0, 1, 0])
    np.testing.assert_allclose(est.predict(X), y, atol=1e-9)
    assert clone(est).get_params() == est.get_params()
    with pytest.raises(ValueError):
        STLSQ(threshold=-1).fit(X, y)


def test_threshold_is_relative_to_target_size(rng):
    X = rng.normal(size=(200, 3))
    y = X[:, 0] + 0.05 * X[:, 1]
    assert STLSQ(threshold=0.01).fit(X, y).support_.sum() == 2
    assert STLSQ(threshold=0.01).fit(X, 1e6 * y).support_.sum() == 2
    assert STLSQ(threshold=0.2).fit(X, y).support_.sum() == 1


def test_block_folds_hold_out_whole_blocks():
    t, x = np.meshgrid(np.arange(40.0), np.arange(40.0), indexing="ij")
    pts = np.stack([t.ravel(), x.ravel()], 1)
    folds = block_folds(pts, n_folds=5, n_blocks=4).reshape(40, 40)
    # each 10x10 block has one fold
    for i in range(4):
        for j in range(4):
            assert np.unique(folds[10 * i : 10 * i + 10, 10 * j : 10 * j + 10]).size == 1


def test_path_selects_true_terms_with_noise(rng):
    X = rng.normal(size=(2000, 10))
    y = 0.5 * X[:, 1] - 2 * X[:, 7] + 0.05 * rng.normal(size=2000)
    folds = np.arange(2000) % 5
    path = sparsity_path(X, y, [f"t{i}" for i in range(10)], folds=folds)
    for crit in ("1se", "bic"):
        assert path.best(crit).terms == ("t1", "t7"), crit
    for crit in ("cv", "aic"):  # the least error may keep a spurious term, never lose a true one
        assert {"t1", "t7"} <= set(path.best(crit).terms), crit
    best = path.best()
    lo, hi = best.interval().T
    assert np.all(lo < [0.5, -2]) and np.all(hi > [0.5, -2])
    with pytest.raises(ValueError, match="valid criteria"):
        path.best("magic")


def test_unstable_candidates_are_skipped(rng):
    X = rng.normal(size=(500, 4))
    y = X[:, 0] + 0.01 * X[:, 1]
    path = sparsity_path(X, y, ["a", "b", "c", "d"], folds=np.arange(500) % 5)
    assert path.best("cv").terms == ("a", "b")
    path.mark_unstable({(0, 1)})
    assert path.best("cv").terms != ("a", "b")


def test_effective_size_of_white_and_smooth_residuals(rng):
    white = rng.normal(size=(80, 80))
    assert effective_size(white) > 0.8 * white.size
    smooth = np.cumsum(np.cumsum(white, axis=0), axis=1)
    assert effective_size(smooth) < 0.05 * white.size


def test_too_few_samples_for_library(rng):
    with pytest.raises(ValueError, match="cannot determine"):
        sparsity_path(
            rng.normal(size=(5, 8)), rng.normal(size=5), list("abcdefgh"), folds=np.arange(5) % 2
        )


def test_knee_of_the_pareto_front():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(600, 8))
    y = 2 * X[:, 0] - X[:, 3] + 0.3 * X[:, 5] + 0.05 * rng.normal(size=600)
    path = sparsity_path(X, y, [f"f{i}" for i in range(8)], folds=np.arange(600) % 5)
    front = path.pareto_front()
    assert [c.n_terms for c in front] == sorted({c.n_terms for c in front})
    assert all(a.cv > b.cv for a, b in itertools.pairwise(front))
    assert path.best("knee").terms == ("f0", "f3", "f5")
    with pytest.raises(ValueError, match="valid criteria: '1se', 'cv', 'bic', 'aic', 'knee'"):
        path.best("elbow")
