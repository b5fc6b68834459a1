"""STLSQ (scikit-learn contract) and selection over the sparsity path."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from sklearn.base import clone

from discover.regress import STLSQ
from discover.select import (
    block_folds,
    collinear_terms,
    effective_size,
    ensemble,
    sparsity_path,
)


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


@pytest.mark.parametrize("regressor", ["stlsq", "sr3", "lasso"])
def test_every_regressor_finds_the_true_terms(rng, regressor):
    X = rng.normal(size=(1500, 9))
    y = 0.8 * X[:, 2] - 0.25 * X[:, 6] + 0.02 * rng.normal(size=1500)
    path = sparsity_path(
        X, y, [f"f{i}" for i in range(9)], folds=np.arange(1500) % 5, regressor=regressor
    )
    assert path.regressor == regressor
    best = path.best()
    assert best.terms == ("f2", "f6")
    np.testing.assert_allclose(best.coef[[2, 6]], [0.8, -0.25], rtol=0.01)


def test_unknown_regressor_lists_the_valid_ones(rng):
    with pytest.raises(ValueError, match="valid regressors: 'stlsq', 'sr3', 'lasso'"):
        sparsity_path(
            rng.normal(size=(50, 2)),
            rng.normal(size=50),
            "ab",
            folds=np.arange(50) % 5,
            regressor="omp",
        )


def test_empty_library_is_an_error(rng):
    with pytest.raises(ValueError, match="library is empty"):
        sparsity_path(np.zeros((50, 0)), rng.normal(size=50), [], folds=np.arange(50) % 5)


def _grid_points(nt: int, nx: int) -> np.ndarray:
    t, x = np.meshgrid(np.arange(float(nt)), np.arange(float(nx)), indexing="ij")
    return np.stack([t.ravel(), x.ravel()], 1)


def test_bootstrap_intervals_cover_the_truth_and_inclusion_separates(rng):
    """Independent noise: the bootstrap's 95% intervals cover the truth about 95% of the time."""
    pts = _grid_points(30, 40)
    folds = block_folds(pts)
    hits, n = 0, 0
    for rep in range(8):
        X = rng.normal(size=(1200, 6))
        y = 0.5 * X[:, 0] - 0.2 * X[:, 3] + 0.3 * rng.normal(size=1200)
        e = ensemble(
            X, y, list("abcdef"), points=pts, folds=folds, support=(0, 3), n_models=40, seed=rep
        )
        assert e.inclusion[0] == 1.0 and e.inclusion[3] >= 0.9
        assert np.all(np.delete(e.inclusion, [0, 3]) <= 0.5)
        centre = e.coef.mean(axis=0)
        hits += int(np.sum(np.abs(centre - [0.5, -0.2]) <= 1.96 * e.coef_se))
        n += 2
    assert hits / n >= 0.8


def test_library_bagging_counts_only_offered_terms(rng):
    pts = _grid_points(20, 30)
    X = rng.normal(size=(600, 5))
    y = X[:, 1] + 0.01 * rng.normal(size=600)
    e = ensemble(
        X,
        y,
        list("abcde"),
        points=pts,
        folds=block_folds(pts),
        support=(1,),
        n_models=30,
        library_fraction=0.6,
    )
    assert e.available.sum(axis=1).tolist() == [3] * 30
    assert e.inclusion[1] == 1.0  # whenever b was offered it was kept
    assert e.settings["library_fraction"] == 0.6
    with pytest.raises(ValueError, match="library_fraction"):
        ensemble(
            X,
            y,
            list("abcde"),
            points=pts,
            folds=block_folds(pts),
            support=(1,),
            library_fraction=0,
        )


def test_collinear_terms_are_named(rng):
    x = rng.normal(size=300)
    X = np.stack([x, rng.normal(size=300), 3 * x, np.zeros(300)], 1)
    assert collinear_terms(X, ["a", "b", "c", "d"]) == [("d",), ("a", "c")]
    assert collinear_terms(rng.normal(size=(300, 4)), list("abcd")) == []


def test_pareto_plot(rng, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    X = rng.normal(size=(400, 5))
    y = X[:, 0] - 0.5 * X[:, 2] + 0.01 * rng.normal(size=400)
    path = sparsity_path(X, y, list("abcde"), folds=np.arange(400) % 5)
    ax = path.plot(criterion="knee")
    assert ax.get_yscale() == "log" and "terms" in ax.get_xlabel()
    ax.figure.savefig(tmp_path / "p.png")
    assert (tmp_path / "p.png").stat().st_size > 1000


def test_fits_keep_the_conditioning_of_the_rows(rng):
    """A field with a large offset (kelvin) makes 1, T, T² nearly collinear: coefficients and
    held-out errors come from triangular factors, not the squared-conditioned Gram matrix."""
    T = 273.15 + 5 * np.sin(np.linspace(0, 20, 3000)) + rng.normal(size=3000)
    X = np.stack([np.ones_like(T), T, T**2, T**3], 1)
    y = X @ [-4.0e5, 4.7e3, -16.8, 0.02] + 1e-3 * rng.normal(size=3000)
    path = sparsity_path(X, y, ["1", "T", "T^2", "T^3"], folds=np.arange(3000) % 5)
    full = next(c for c in path.candidates if c.n_terms == 4)
    rows = np.linalg.lstsq(X / np.abs(X).max(0), y, rcond=None)[0] / np.abs(X).max(0)
    np.testing.assert_allclose(full.coef, rows, rtol=1e-6)
    assert full.relative_error < 1e-6


def test_lasso_thresholds_belong_to_their_supports(rng):
    X = rng.normal(size=(800, 5))
    y = X[:, 0] + 0.2 * X[:, 1] + 0.01 * rng.normal(size=800)
    path = sparsity_path(X, y, list("abcde"), folds=np.arange(800) % 5, regressor="lasso")
    by_size = sorted(path.candidates, key=lambda c: c.n_terms)
    thresholds = [c.threshold for c in by_size if c.n_terms > 0]
    assert thresholds == sorted(thresholds, reverse=True)  # sparser models need larger α


def _candidate(support, coef, fold_coef, error):
    from discover.select import Candidate

    return Candidate(
        tuple(support), tuple(f"t{j}" for j in support), np.asarray(coef, float),
        np.asarray(fold_coef, float), np.full(5, error), 0.0, 100.0,
    )  # fmt: skip


def test_significance_filter_needs_every_term_beyond_the_bonferroni_cut():
    """A second term that lowers the held-out error but moves across the folds by about its
    own size is chosen without the filter, not with it; the cut is the Student-t quantile
    1 − α/(2p) with n_folds − 1 degrees of freedom (110 candidates, 5 folds: 10.56)."""
    from discover.select import SparsityPath

    steady = np.add([[1.0, 0.0]] * 5, [[0.01, 0], [-0.01, 0], [0.005, 0], [0, 0], [-0.005, 0]])
    one = _candidate([0], [1.0, 0.0], steady, 0.10)
    wobbly = np.add(steady, [[0, 0.05], [0, -0.04], [0, 0.06], [0, -0.05], [0, 0.0]])
    two = _candidate([0, 1], [1.0, 0.05], wobbly, 0.05)
    names = tuple(f"t{j}" for j in range(110))
    plain = SparsityPath([one, two], names, 5, 500, "stlsq")
    filtered = SparsityPath([one, two], names, 5, 500, "stlsq", significance=0.05)
    assert plain.best().support == (0, 1) and filtered.best().support == (0,)
    assert filtered.significance_cut() == pytest.approx(10.56, abs=0.01)
    assert one.significant(10.56) and not two.significant(10.56)
    only = SparsityPath([two], names, 5, 500, "stlsq", significance=0.05)
    assert only.best().support == (0, 1)  # none passes: the filter steps aside


def test_a_one_term_model_is_exempt_from_the_significance_filter():
    """A single term that misses the cut stays a candidate (the empty model is none): a
    weaker rival that passes does not win by default (the shock's u*u_x against u**2*u_x)."""
    from discover.select import SparsityPath

    loose = np.add([[1.0, 0.0]] * 5, [[0.3, 0], [-0.3, 0], [0.2, 0], [0, 0], [-0.2, 0]])
    good = _candidate([0], [1.0, 0.0], loose, 0.05)
    tight = np.add([[0.0, 1.0]] * 5, [[0, 0.01], [0, -0.01], [0, 0.005], [0, 0], [0, -0.005]])
    rival = _candidate([1], [0.0, 1.0], tight, 0.20)
    names = tuple(f"t{j}" for j in range(110))
    path = SparsityPath([good, rival], names, 5, 500, "stlsq", significance=0.05)
    assert not good.significant(path.significance_cut()) and rival.significant(10.0)
    assert path.best().support == (0,)


def test_swaps_find_the_model_the_path_missed_unless_it_is_unstable(rng):
    from discover.select import SparsityPath, _candidates, refine_by_swaps, unit_stats

    X = rng.normal(size=(400, 5))
    X[:, 4] = X[:, 1] + 0.3 * rng.normal(size=400)
    y = X[:, 0] + X[:, 1] + 0.05 * rng.normal(size=400)
    _, R, n = unit_stats(X, y, np.arange(400) % 5)
    names = ("a", "b", "c", "d", "e")

    def path():
        cands = _candidates(R, n, names, regressor="stlsq", n_thresholds=10, alpha=1e-6,
                            n_eff=400.0, columns=np.array([1, 0, 1, 1, 1], bool))  # fmt: skip
        return SparsityPath(cands, names, 5, 400, "stlsq")

    assert path().best().terms == ("a", "e")  # b never offered: e stands in
    assert refine_by_swaps(path(), R).terms == ("a", "b")
    assert refine_by_swaps(path(), R, stable=lambda s: s != (0, 1)).terms == ("a", "e")
