"""Several weather fields together: temperature carried by the actual wind (issue #21)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from discover.datasets.transport import advected_temperature

from discover.find import find


def _check(eq):
    terms = {t.term: t for t in eq.terms}
    assert {"T_x*U", "T_y*V"} <= set(terms)
    for name in ("T_x*U", "T_y*V"):
        assert terms[name].inclusion >= 0.9 and terms[name].coef == pytest.approx(-1, abs=0.1)
    assert len(terms) <= 8
    assert all(t.inclusion >= 0.5 for t in terms.values())


@pytest.mark.parametrize("seed", [1])
def test_weather_preset_carries_temperature_by_the_wind(seed):
    ds = advected_temperature(np.random.default_rng(seed), hours=48)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        eq = find(ds, ["T", "U", "V"], preset="weather", n_bootstrap=20).equations[0]
    _check(eq)


def test_centred_field_reported_in_data_units():
    """u far from zero: the degree-2 library works on (u - mean)/std and the equation comes
    back in the data's units."""
    from discover.datasets import make_dataset

    ds = make_dataset("heat", nx=64, nt=41)
    ds["u"] = ds.u + 50.0
    r = find(ds, "u", degree=2, n_bootstrap=0)
    assert "u" in r.settings["scale"]
    back = r.equations_in_data_units[0].coefficients
    assert set(back) == {"u_xx"} and back["u_xx"] == pytest.approx(0.1, rel=0.02)
