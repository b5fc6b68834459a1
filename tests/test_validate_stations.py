"""Validation at weather stations: an ODE re-solved at each station, held-out stations apart."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from typer.testing import CliRunner

import discover
from discover.cli import app
from discover.io import DataError, load, split_holdout
from discover.validate import validate

runner = CliRunner()
RATE = 0.05  # per day


def _stations(n: int = 12, nt: int = 40) -> xr.Dataset:
    """Daily values at ``n`` stations relaxing to 0 at ``RATE``, with a gap at one station."""
    rng = np.random.default_rng(1)
    days = np.arange(nt, dtype=float)
    amp = rng.uniform(5, 15, n)
    T = amp[None, :] * np.exp(-RATE * days)[:, None]
    T[3:6, 2] = np.nan
    return xr.Dataset(
        {"T": (("time", "station"), T, {"units": "degC"})},
        coords={
            "time": pd.date_range("2014-09-01", periods=nt, freq="D"),
            "lat": ("station", rng.uniform(55, 68, n), {"units": "degrees_north"}),
            "lon": ("station", rng.uniform(11, 24, n), {"units": "degrees_east"}),
        },
    )


def _result(terms, held=None, coords=("t", "lat", "lon")) -> dict:
    eq = discover.Equation("T_t", terms, fields=("T",), coords=coords)
    settings = {"holdout": "last:25%", "holdout_stations": held}
    return {"equations": [eq.to_dict()], "data": {"var": "T"}, "settings": settings}


def test_split_holdout_leaves_stations_out_the_same_way_every_time():
    s = load(_stations(), "T")
    train, held = split_holdout(s, "last:25%,stations:3")
    again = split_holdout(s, "stations:3")[1]
    assert len(held["stations"]) == 3 and held["stations"] == again["stations"]
    assert again["start"] is None and held["start"] == pytest.approx(30.0)
    kept = {tuple(r) for r in train.points[:, 1:]}
    assert len(kept) == 9 and not kept & {tuple(r) for r in held["stations"]}
    assert train.points[:, 0].max() < 30
    with pytest.raises(DataError, match="at least 3"):
        split_holdout(s, "stations:10")
    grid = discover.datasets.make_dataset("heat", nx=32, nt=11)
    with pytest.raises(DataError, match="needs station data"):
        split_holdout(load(grid, "u"), "stations:2")


def test_an_ode_is_re_solved_at_every_station_and_at_held_out_ones_apart():
    ds = _stations()
    held = split_holdout(load(ds, "T"), "stations:3")[1]["stations"]
    v = validate(_result([("T", -RATE)], held), ds)
    assert v.info["solver"] == "ode" and v.info["n_stations"] == 12
    assert v.info["n_held_out"] == 10 and v.info["t_start"] == pytest.approx(29.0)
    assert v.errors["equation"] < 1e-6 < v.errors["persistence"]
    key = "equation @ held-out stations"
    assert v.errors[key] < 1e-6 and v.rmse["persistence @ held-out stations"] > 0.1
    assert len(v.info["holdout_stations"]) == 3
    lead = v.at_leads([1.0, 2.0, 5.0])
    assert lead["lead"] == [1.0, 2.0, 5.0] and all(e < 1e-6 for e in lead[key])
    assert "held-out stations" in v.lead_table([1.0, 2.0]) and "never saw" in str(v)
    # a wrong rate is caught
    wrong = validate(_result([("T", -2 * RATE)]), ds)
    assert wrong.errors["equation"] > 0.3 * wrong.errors["persistence"]


def test_a_pde_is_re_solved_by_the_neural_core_and_on_a_grid_between_the_stations():
    """Westerly advection of a smooth wave: both solvers beat persistence at the stations."""
    ds = _stations(n=40)
    speed = 0.4  # degrees of longitude per day
    days = np.arange(ds.sizes["time"], dtype=float)
    lon = ds["lon"].values
    ds["T"][:] = 10 + 5 * np.sin(2 * np.pi * (lon[None, :] - speed * days[:, None]) / 25)
    quick = {"adam_steps": 200, "lbfgs_steps": 200}
    v = validate(_result([("T_lon", -speed)]), ds, solver="both", solver_options=quick)
    assert v.info["solver"] == "neural" and "region" in v.info["solver_info"]
    cross = v.info["cross_check"]
    assert cross["solver"] == "classical" and "grid" in cross["solver_info"]["method"]
    assert str(v).splitlines()[0].startswith("solver neural (both: neural, classical as the")
    assert "equation (neural)" in v.table() and "equation (classical)" in v.table()
    first = v.at_leads([1.0])  # before inflow through the held western wall matters
    for key in ("equation", "equation (classical)"):
        assert v.errors[key] < 0.5 * v.errors["persistence"], key
        assert first[key][0] < 0.2 * first["persistence"][0], key
    # advection: values are held on the inflow walls only, so the neural core is the closer
    assert "inflow walls only" in v.info["solver_info"]["region"]
    assert v.errors["equation"] < v.errors["equation (classical)"]
    with pytest.raises(DataError, match="coordinates"):
        validate(_result([("x", 0.1)], coords=("t", "x", "y")), _stations())
    with pytest.raises(DataError, match="not in the data"):
        validate(_result([("T", -RATE)], [[0.0, 0.0]]), _stations())


def test_cli_validate_at_stations_prints_leads_and_plots(tmp_path):
    ds = _stations()
    data, res, js, png = (tmp_path / n for n in ("s.nc", "r.json", "v.json", "v.png"))
    ds.to_netcdf(data)
    held = split_holdout(load(ds, "T"), "stations:3")[1]["stations"]
    res.write_text(json.dumps(_result([("T", -RATE)], held)))
    args = ["validate", str(res), str(data), "--leads", "1d,2d,5d", "--json", str(js)]
    out = runner.invoke(app, [*args, "--plot", str(png)])
    assert out.exit_code == 0, out.output
    assert "persistence, held-out stations" in out.output and "5d" in out.output
    doc = json.loads(js.read_text())
    assert doc["leads"]["labels"] == ["1d", "2d", "5d"]
    assert doc["leads"]["equation @ held-out stations"][2] < 1e-6
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    res.write_text(json.dumps(_result([("x", 0.1)], coords=("t", "x", "y"))))
    bad = runner.invoke(app, ["validate", str(res), str(data)])
    assert bad.exit_code == 2 and len(bad.output.strip().splitlines()) == 1
