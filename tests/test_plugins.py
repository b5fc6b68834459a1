"""Plug-ins of every kind register in one place and run through ``find`` (Python and CLI);
an unknown name of each kind gives one line listing the valid names."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

import discover
from discover.builders import BUILDERS, Builder
from discover.builders.grid import GridBuilder
from discover.cli import app
from discover.differentiate import METHODS, FiniteDifferences, finite_difference
from discover.errors import UnknownNameError
from discover.presets import PRESETS, Preset, PresetSettings
from discover.regress import REGRESSORS, stlsq_path
from discover.select import CRITERIA

runner = CliRunner()


class CentredTwice(FiniteDifferences):
    """A toy derivative method: 4th-order finite differences, one variant only."""

    def __init__(self):
        self.calls = 0

    def apply(self, f, x, order, *, axis, is_time):
        self.calls += 1
        return finite_difference(f, x, order, axis=axis, accuracy=4)

    def variants(self, accuracy):
        return [{}]


class CountingRegressor:
    """A toy path regressor: STLSQ, counting its calls."""

    def __init__(self):
        self.calls = 0

    def __call__(self, Gn, bn, thresholds, alpha):
        self.calls += 1
        return stlsq_path(Gn, bn, thresholds, alpha)


class Sparsest:
    """A toy criterion: the sparsest candidate within 10% of the best held-out error."""

    def __init__(self):
        self.calls = 0

    def __call__(self, pool, path):
        self.calls += 1
        top = min(c.cv for c in pool)
        return min((c for c in pool if c.cv <= top + 0.1 * abs(top)), key=lambda c: c.n_terms)


class FirstOrder(Preset):
    """A toy preset: applies to data with a ``flag`` unit on x, caps the library at order 2."""

    def applies(self, samples):
        return samples.units.get("x") == "flag", "x is flagged"

    def settings(self, samples):
        return PresetSettings(max_order=2, degree=1)


class Counting(Builder):
    """A toy builder: the grid builder, counted."""

    def __init__(self):
        self.calls = 0

    def build(self, prepared, library, settings):
        self.calls += 1
        return GridBuilder("fd").build(prepared, library, settings)


@pytest.fixture
def toys():
    made = {
        "method": (METHODS, "twice", CentredTwice()),
        "regressor": (REGRESSORS, "counting", CountingRegressor()),
        "select": (CRITERIA, "sparsest", Sparsest()),
        "preset": (PRESETS, "first-order", FirstOrder()),
        "builder": (BUILDERS, "counting-fd", Counting()),
    }
    for registry, name, obj in made.values():
        registry.register(name, obj)
    yield {k: v[2] for k, v in made.items()}
    for registry, name, _ in made.values():
        registry.unregister(name)


@pytest.fixture
def data():
    return discover.datasets.make_dataset("advection_diffusion", nx=96, nt=41)


def test_toys_run_through_find(toys, data):
    d = discover.find(
        data, "u", method="twice", regressor="counting", select="sparsest",
        preset="first-order", n_bootstrap=0,
    )  # fmt: skip
    assert set(d.equations[0].coefficients) == {"u_x", "u_xx"}
    assert d.settings["max_order"] == 2 and d.settings["preset"] == "first-order"
    assert toys["method"].calls > 0 and toys["regressor"].calls > 0 and toys["select"].calls > 0
    d = discover.find(data, "u", method="counting-fd", n_bootstrap=0, max_order=2)
    fd = discover.find(data, "u", method="fd", n_bootstrap=0, max_order=2)
    assert (
        toys["builder"].calls == 1 and d.equations[0].coefficients == fd.equations[0].coefficients
    )
    assert set(d.equations[0].coefficients) == {"u_x", "u_xx"}


def test_toy_preset_is_taken_by_auto(toys, data):
    flagged = data.assign_coords(x=data.x.assign_attrs(units="flag"))
    d = discover.find(flagged, "u", n_bootstrap=0)
    assert d.settings["preset"] == "first-order" and "x is flagged" in d.settings["preset_reason"]


def test_toys_through_the_cli(toys, data, tmp_path):
    path = tmp_path / "u.nc"
    data.to_netcdf(path)
    res = runner.invoke(
        app, ["find", str(path), "--var", "u", "--method", "twice", "--select", "sparsest",
              "--regressor", "counting", "--bootstrap", "0"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "u_t = " in res.output and toys["method"].calls > 0


@pytest.mark.parametrize(
    ("option", "flag", "valid"),
    [
        ("method", "--method", "valid methods: 'auto', 'neural', 'weak', 'weak-gls', 'fd'"),
        ("regressor", "--regressor", "valid regressors: 'stlsq', 'sr3', 'lasso'"),
        ("select", "--select", "valid criteria: '1se', 'cv', 'bic', 'aic', 'knee'"),
        ("preset", "--preset", "valid presets: 'auto', 'none', 'weather'"),
        ("form", "--form", "valid forms: 'weak', 'strong'"),
    ],
)
def test_unknown_names_list_the_valid_ones(option, flag, valid, data, tmp_path):
    with pytest.raises(UnknownNameError, match=valid) as err:
        discover.find(data, "u", **{option: "magic"})
    assert "\n" not in str(err.value) and f"for {option}=" in str(err.value)
    path = tmp_path / "u.nc"
    data.to_netcdf(path)
    res = runner.invoke(app, ["find", str(path), "--var", "u", flag, "magic"])
    assert res.exit_code == 2
    line = res.output.strip()
    assert "\n" not in line and valid in line and f"for {flag};" in line


def test_a_registered_name_is_valid_everywhere(toys):
    assert "twice" in discover.builders.methods()
    assert "counting" in REGRESSORS.names and "sparsest" in CRITERIA.names
    np.testing.assert_equal(sorted(PRESETS.names)[:2], ["auto", "first-order"])
