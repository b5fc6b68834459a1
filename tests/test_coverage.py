"""Calibrated intervals (issue #19, item 5): the coverage benchmark's machinery, the parts of
the interval that see the estimator's bias, and a slow check of coverage on hidden cases."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.coverage import PDES, draw_case, run_case, summarize
from discover.select import Ensemble, refit, refit_many, triangular
from discover.weakgrid import MAX_FRACTION, MIN_HALF, box_half_widths


def test_draws_are_reproducible_and_take_every_pde_in_turn():
    a = [draw_case(5, i) for i in range(10)]
    assert a == [draw_case(5, i) for i in range(10)]
    assert {c["pde"] for c in a[:5]} == set(PDES)
    assert a[0]["params"] != draw_case(6, 0)["params"]  # another draw, other coefficients
    assert all(160 <= c["nx"] <= 320 and 101 <= c["nt"] <= 301 for c in a)


def test_a_missed_term_counts_as_not_covered():
    base = {"noise": 0.1, "pde": "burgers", "nx": 200, "nt": 150, "right_terms": False,
            "extra": "", "method": "weak", "wall_s": 1.0, "cpu_s": 1.0}  # fmt: skip
    rows = [
        {**base, "case": 0, "term": "u*u_x", "true": -1.0, "coef": -1.01, "lo": -1.05,
         "hi": -0.97, "covered": True, "inclusion": 1.0},
        {**base, "case": 0, "term": "u_xx", "true": 0.1, "coef": 0.0, "lo": np.nan,
         "hi": np.nan, "covered": False, "inclusion": 0.0},
    ]  # fmt: skip
    (s,) = summarize(rows)
    assert (s["terms"], s["found"], s["covered"], s["inclusion_ok"]) == (2, 1, 1, 1)
    assert s["min_inclusion"] == 0.0


@pytest.mark.parametrize("seed", range(5))
def test_the_neighbouring_box_always_differs_from_the_chosen_one(seed):
    """At the size cap the neighbour is smaller: a neighbour equal to the chosen box would
    see no change, and the interval would leave the box size's bias out."""
    rng = np.random.default_rng(seed)
    shape = rng.integers(60, 400, size=3)
    chosen = [int(rng.integers(MIN_HALF + 3, round(MAX_FRACTION * n) + 5)) for n in shape]
    base = box_half_widths(chosen, shape, 1.0)
    near = box_half_widths(chosen, shape, 1.3)
    for b, m, n in zip(base, near, shape):
        assert MIN_HALF <= m <= max(MIN_HALF, round(MAX_FRACTION * n))
        assert m != b and abs(m / b - 1) >= 0.1


def test_batched_refits_agree_with_single_ones():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 7)) * rng.uniform(0.01, 100, 7)
    X[:, 3] = 2 * X[:, 2] + 1e-10 * rng.normal(size=60)  # nearly dependent: the slow way
    R = triangular(X, X @ rng.normal(size=7) + rng.normal(size=60))
    sups = [(0,), (1, 4), (2, 3), (0, 5, 6), (), (1, 2, 3, 4)]
    got = refit_many(R, sups)
    for s, row in zip(sups, got):
        assert not np.any(np.delete(row, list(s)))
        if s:
            np.testing.assert_allclose(row[list(s)], refit(R, list(s)), rtol=1e-7, atol=1e-12)


def test_selection_spread_sees_a_term_coming_and_going():
    """A coefficient that shifts whenever another term joins the selected model has a
    selection spread that the refit of one fixed model does not show."""
    selected = np.array([[1, 0]] * 5 + [[1, 1]] * 5, dtype=bool)
    sel_coef = np.array([[1.0, 0.0]] * 5 + [[1.4, 0.3]] * 5)
    ens = Ensemble(("a", "b"), selected, np.ones_like(selected), (0,),
                   np.full((10, 1), 1.0) + 1e-3 * np.arange(10)[:, None], {}, sel_coef)  # fmt: skip
    assert ens.coef_se[0] < 0.01
    assert ens.selection_se[0] == pytest.approx(np.std([1.0] * 5 + [1.4] * 5, ddof=1))


@pytest.mark.slow
@pytest.mark.parametrize("noise", [0.1, 0.5])
def test_intervals_cover_the_truth_on_hidden_cases(noise):
    """Six hidden cases (a draw the benchmark does not use): most true coefficients lie in
    their 95% intervals, and every true term the method finds is covered but at most one.
    Over the benchmark's 20 cases per level (two draws) coverage is 94% at 10% noise and
    85-88% at 50%, and 173 of the 174 true terms found are covered; what misses is mostly
    Fisher–KPP's ``u_xx``, dropped by the selection."""
    rows = [r for i in range(6) for r in run_case(draw_case(77, i), noise)]
    (s,) = summarize(rows)
    assert s["covered"] >= 0.75 * s["terms"], rows
    assert s["covered"] >= s["found"] - 1, rows


def test_the_fresh_noise_check_widens_the_weak_forms_intervals(rng):
    """With noise the weak form fits the model again on the data with as much fresh noise
    again; the move enters the interval (in quadrature) and the report."""
    from discover.datasets import generate, make_dataset

    import discover

    ds = make_dataset(generate("advection_diffusion", velocity=0.7, seed=3), nx=128, nt=101)
    u = ds["u"].values
    ds["u"].values = u + 0.2 * np.sqrt(np.mean(u**2)) * rng.standard_normal(u.shape)
    d = discover.find(ds, "u", n_bootstrap=10)
    rep = d.diagnostics["u"]["uncertainty"]
    assert d.settings["method"] == "weak"
    for t in d.equations[0].terms:
        parts = [rep[k][t.term] for k in ("se_bootstrap", "se_discretization", "se_noise_bias")]
        half = 1.959963984540054 * np.sqrt(np.sum(np.square(parts)))
        assert t.ci[1] - t.ci[0] == pytest.approx(2 * half, rel=1e-9)
        assert rep["se_noise_bias"][t.term] > 0
