"""Issue #18, part B: solvers, baselines and layouts as plug-ins (each registered in one
place), the results model's JSON both ways, odd field names through find → validate → solve
at stations, and the classical path without torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from cli_run import one_error_line, run
from discover.datasets import make_dataset
from hypothesis import given, settings
from hypothesis import strategies as st

import discover
from discover.equation import Equation
from discover.errors import DataError, UnknownNameError
from discover.io import LAYOUTS, Transform, load
from discover.results import SCHEMA_VERSION, DataInfo, Discovery
from discover.solve import SOLVERS, Solution, Solver, get_solver, solve_from_data
from discover.validate import BASELINES, Baseline, validate

ROOT = Path(__file__).parents[1]


@pytest.fixture(scope="module")
def grid(tmp_path_factory) -> tuple[Path, Path, dict]:
    """A clean advection–diffusion grid, the JSON of its discovery (last 20% held out)."""
    folder = tmp_path_factory.mktemp("grid")
    data = folder / "ad.nc"
    make_dataset("advection_diffusion", nx=64, nt=41).to_netcdf(data)
    found = discover.find(data, "u", method="fd", holdout="last:20%", n_bootstrap=0)
    doc = found.to_dict()
    result = folder / "ad.json"
    result.write_text(json.dumps(doc))
    return data, result, doc


def _stations(name: str, n: int = 12, nt: int = 40, rate: float = 0.05) -> xr.Dataset:
    """Daily values at ``n`` stations relaxing to 0 at ``rate``, one gap."""
    rng = np.random.default_rng(1)
    days = np.arange(nt, dtype=float)
    values = rng.uniform(5, 15, n)[None, :] * np.exp(-rate * days)[:, None]
    values[3:6, 2] = np.nan
    return xr.Dataset(
        {name: (("time", "station"), values, {"units": "degC"})},
        coords={
            "time": pd.date_range("2014-09-01", periods=nt, freq="D"),
            "lat": ("station", rng.uniform(55, 68, n), {"units": "degrees_north"}),
            "lon": ("station", rng.uniform(11, 24, n), {"units": "degrees_east"}),
        },
    )


def _station_result(name: str, rate: float) -> dict:
    eq = Equation(f"{name}_t", [(name, -rate)], fields=(name,), coords=("t", "lat", "lon"))
    return {"equations": [eq.to_dict()], "data": {"var": name}, "settings": {}}


# ----------------------------------------------------------------------------- toy plug-ins
@pytest.fixture
def frozen_solver():
    """A toy solver, registered by defining it: it keeps the initial state."""

    class Frozen(Solver):
        name = "toy-frozen"

        def solve(self, problem):
            space = problem.domain.names
            mesh = np.meshgrid(*[problem.grid[c] for c in space], indexing="ij")
            u0 = problem.initial_values(np.stack([m.ravel() for m in mesh], axis=1))
            shape = (len(problem.times), *mesh[0].shape)
            ds = xr.Dataset(
                {
                    f: (("t", *space), np.broadcast_to(u0[:, i].reshape(mesh[0].shape), shape))
                    for i, f in enumerate(problem.fields)
                },
                coords={"t": problem.times, **problem.grid},
            )
            return Solution(problem, self.name, None, seconds=0.0, dataset=ds)

    yield Frozen
    SOLVERS.unregister("toy-frozen")


@pytest.fixture
def zero_baseline():
    """A toy baseline, registered by defining it: it forecasts zero everywhere."""

    class Zero(Baseline):
        name = "toy-zero"
        label = "zero forecast"

        def forecast(self, record):
            return np.zeros_like(record.window)

    yield Zero
    BASELINES.unregister("toy-zero")


def test_a_toy_solver_is_found_by_name_in_python_and_the_cli(grid, frozen_solver, tmp_path):
    data, result, _ = grid
    assert isinstance(get_solver("toy-frozen"), frozen_solver)
    v = validate(result, data, solver="toy-frozen")
    assert v.info["solver"] == "toy-frozen"
    # the frozen state is persistence: the same error, by the same scorer
    assert v.errors["equation"] == pytest.approx(v.errors["persistence"], rel=1e-12)
    assert v.errors["equation"] > 10 * validate(result, data).errors["equation"]
    out = tmp_path / "v.json"
    res = run("validate", result, data, "--solver", "toy-frozen", "--json", out)
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())
    assert doc["errors"]["equation"] == pytest.approx(doc["errors"]["persistence"], rel=1e-12)
    with pytest.raises(UnknownNameError, match="'toy-frozen'"):
        get_solver("nope")  # the error lists the toy while it is registered


def test_a_toy_baseline_is_scored_on_grids_and_at_stations(grid, zero_baseline, tmp_path):
    data, result, _ = grid
    v = validate(result, data, baselines=["toy-zero"])
    assert list(v.errors) == ["equation", "persistence", "trend", "toy-zero"]
    assert v.errors["toy-zero"] == 1.0  # ‖0 − d‖ / ‖d‖, on the held-out window
    held = load(data, "u").grid["u"].values[-v.info["n_held_out"] :]
    assert v.rmse["toy-zero"] == pytest.approx(np.sqrt(np.mean(held**2)), rel=1e-12)
    assert "zero forecast" in v.table()
    res = run("validate", result, data, "--baseline", "toy-zero")
    assert res.exit_code == 0, res.output
    assert "zero forecast" in res.stdout
    stations = tmp_path / "st.nc"
    _stations("T").to_netcdf(stations)
    doc = _station_result("T", 0.05)
    two = load(stations, "T").points[:2, 1:].tolist()  # the first two stations' positions
    doc["settings"] = {"holdout": "last:25%", "holdout_stations": two}
    v = validate(doc, stations, baselines=["toy-zero"])
    assert v.errors["toy-zero"] == 1.0 and v.errors["toy-zero @ held-out stations"] == 1.0


# ----------------------------------------------------------------------------- unknown names
UNKNOWN = {
    "solver": ("solver", "'auto', 'both', 'neural', 'classical'"),
    "baseline": ("baselines", "'persistence', 'trend', 'climatology', 'neural-scheme'"),
    "layout": ("layout", "'auto', 'grid', 'station', 'scattered'"),
}


@pytest.mark.parametrize("kind", list(UNKNOWN))
def test_an_unknown_name_is_one_line_listing_the_valid_ones(grid, kind):
    data, result, _ = grid
    parameter, valid = UNKNOWN[kind]
    kwargs = {parameter: ["nope"] if kind == "baseline" else "nope"}
    with pytest.raises(UnknownNameError) as info:
        validate(result, data, **kwargs)
    message = str(info.value)
    assert message == f"unknown {kind} 'nope' for {parameter}=; valid {kind}s: {valid}"
    assert info.value.parameter == parameter
    line = one_error_line(run("validate", result, data, f"--{kind}", "nope"))
    assert line == f"error: unknown {kind} 'nope' for --{kind}; valid {kind}s: {valid}"


def test_unknown_layouts_and_solvers_elsewhere(grid, tmp_path):
    data, _, _ = grid
    with pytest.raises(UnknownNameError, match="unknown layout 'mesh' for layout=; valid layouts:"):
        load(data, "u", layout="mesh")
    line = one_error_line(
        run("solve", "u_t = 0.05*u_xx - u_x", "--init", data, "--t-end", "1",
            "--out", tmp_path / "s.nc", "--solver", "fem")
    )  # fmt: skip
    assert line == (
        "error: unknown solver 'fem' for --solver; valid solvers: 'auto', 'both', 'neural', "
        "'classical'"
    )
    assert sorted(LAYOUTS) == ["grid", "scattered", "station"]


def test_a_layout_can_be_forced_and_a_baseline_refuses_a_layout_it_cannot_take(tmp_path):
    path = tmp_path / "st.nc"
    _stations("T").to_netcdf(path)
    assert load(path, "T", layout="station").layout == "station"
    with pytest.raises(DataError, match="dim 'station' of 'T' has no coordinate values"):
        load(path, "T", layout="grid")
    with pytest.raises(DataError, match="scattered data are \\(obs\\)"):
        load(path, "T", layout="scattered")
    with pytest.raises(DataError, match="'neural-scheme' baseline needs grid data, not station"):
        validate(_station_result("T", 0.05), path, baselines=["neural-scheme"])


# ----------------------------------------------------------------------------- odd names
@pytest.mark.parametrize(
    "name", ["air_temp", pytest.param("sea_surface_temperature", marks=pytest.mark.slow)]
)
def test_odd_names_go_find_validate_solve_at_stations(tmp_path, name):
    """The grid version is tests/test_bad_input.py::test_odd_names_go_find_validate_solve."""
    data = tmp_path / "st.nc"
    _stations(name).to_netcdf(data)
    out = tmp_path / "r.json"
    res = run("find", data, "--var", name, "--max-order", "0", "--bootstrap", "0",
              "--holdout", "last:25%,stations:3", "--json", out)  # fmt: skip
    assert res.exit_code == 0, res.output
    eq = json.loads(out.read_text())["equations"][0]
    assert eq["lhs"] == f"{name}_t" and [t["term"] for t in eq["terms"]] == [name]
    assert eq["terms"][0]["coef"] == pytest.approx(-0.05, rel=0.2)
    vjson = tmp_path / "v.json"
    res = run("validate", out, data, "--json", vjson)
    assert res.exit_code == 0, res.output
    v = json.loads(vjson.read_text())
    assert v["solver"] == "ode" and v["data"]["var"] == name
    assert v["errors"]["equation"] < 0.2 * v["errors"]["persistence"]
    assert v["errors"]["equation @ held-out stations"] < 0.2 * v["errors"]["persistence"]
    sol = tmp_path / "s.nc"
    res = run("solve", f"{eq['lhs']} = {eq['rhs']}", "--init", data, "--t-end", "39",
              "--n-times", "40", "--out", sol)  # fmt: skip
    assert res.exit_code == 0, res.output
    with xr.open_dataset(sol) as got, xr.open_dataset(data) as truth:
        assert got[name].dims == ("time", "station") and got[name].attrs["units"] == "degC"
        np.testing.assert_array_equal(got["lat"].values, truth["lat"].values)
        exact = truth[name].values[0] * np.exp(eq["terms"][0]["coef"] * 39.0)  # of its ODE
        np.testing.assert_allclose(got[name].values[-1], exact, rtol=1e-5)


def test_a_pde_is_solved_between_stations(tmp_path):
    ds = make_dataset("advection_diffusion", nx=128, nt=51, layout="station", n_stations=40)
    ds = ds.rename({"u": "sea_surface_temperature"})
    rhs = "-1.0*sea_surface_temperature_x + 0.05*sea_surface_temperature_xx"
    sol, out = solve_from_data([f"sea_surface_temperature_t = {rhs}"], ds, t_end=0.5, n_times=6)
    assert sol.solver == "classical" and out["sea_surface_temperature"].shape == (6, 40)
    truth = ds["sea_surface_temperature"].sel(t=out["t"].values, method="nearest").values
    err = np.abs(out["sea_surface_temperature"].values - truth)[1:]
    persistence = np.abs(truth[0] - truth)[1:]
    assert np.median(err) < 0.5 * np.median(persistence)
    with pytest.raises(DataError, match="solver 'both' scores two solvers side by side"):
        solve_from_data([f"sea_surface_temperature_t = {rhs}"], ds, t_end=0.5, solver="both")


# ----------------------------------------------------------------------------- the JSON
FIELDS = ["u", "T", "air_temp", "sea_surface_temperature"]
COORDS = [("t", "x"), ("t", "x", "y"), ("t", "lat", "lon")]
JSON_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(-1e6, 1e6, allow_nan=False),
    st.text(max_size=8),
)


@st.composite
def discoveries(draw) -> Discovery:
    field = draw(st.sampled_from(FIELDS))
    coords = draw(st.sampled_from(COORDS))
    x = coords[1]
    candidates = [field, f"{field}_{x}", f"{field}_{x}{x}", f"{field}*{field}_{x}", f"{field}**2"]
    names = draw(st.lists(st.sampled_from(candidates), min_size=1, max_size=4, unique=True))
    terms = []
    for term in names:
        coef = draw(st.floats(-1e3, 1e3, allow_nan=False).filter(lambda c: abs(c) > 1e-9))
        half = draw(st.none() | st.floats(0, 10, allow_nan=False))
        inclusion = draw(st.none() | st.floats(0, 1))
        ci = None if half is None else (coef - half, coef + half)
        terms.append({"term": term, "coef": coef, "ci": ci, "inclusion": inclusion})
    units = draw(st.sampled_from([{}, {field: "K", "t": "h", x: "km"}]))
    eq = Equation(f"{field}_t", terms, fields=(field,), coords=coords, units=units)
    info = DataInfo(
        file=draw(st.none() | st.just("data.nc")), var=field, fields=[field],
        coords=list(coords), names={field: field, "t": "time"}, layout="grid",
        n_samples=draw(st.integers(20, 10**6)), units=dict(units),
        time_unit=draw(st.none() | st.just("hours")), time_origin=None,
    )  # fmt: skip
    setting = st.dictionaries(st.text(min_size=1, max_size=8), JSON_VALUES, max_size=6)
    transform = None
    if draw(st.booleans()):
        factor = draw(st.floats(0.5, 1000.0))
        transform = Transform({x: (factor, 0.0)}, {x: "km"}, {x: "m"})
    return Discovery([eq], draw(setting), info, transform=transform)


@settings(max_examples=25, deadline=None)
@given(discoveries())
def test_a_discovery_round_trips_through_its_json(found):
    text = json.dumps(found.to_dict(), sort_keys=True)
    back = Discovery.from_dict(json.loads(text))
    assert json.dumps(back.to_dict(), sort_keys=True) == text
    assert back.equations == found.equations and back.data == found.data


def test_a_newer_schema_is_refused_in_one_line(grid, tmp_path):
    data, _, doc = grid
    newer = {**doc, "schema_version": "2.0"}
    mine = SCHEMA_VERSION.replace(".", r"\.")
    with pytest.raises(DataError, match=rf"schema version 2\.0, newer than this discover's {mine}"):
        validate(newer, data)
    path = tmp_path / "newer.json"
    path.write_text(json.dumps(newer))
    line = one_error_line(run("validate", path, data))
    assert "schema version 2.0" in line and "upgrade discover" in line


def test_a_json_written_before_the_schema_still_validates(grid, tmp_path):
    data, result, doc = grid
    old = json.loads(json.dumps(doc))
    del old["schema_version"], old["data"]["fields"], old["data"]["coords"]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old))
    assert validate(path, data).errors == validate(result, data).errors
    assert run("validate", path, data).exit_code == 0


# ----------------------------------------------------------------------------- no torch
NO_TORCH = """
import sys
class NoTorch:  # torch absent (sys.modules["torch"] = None breaks scipy.stats' import)
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "torch":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, NoTorch())
"""


def test_the_classical_path_runs_without_torch(grid, tmp_path):
    data, result, _ = grid
    script = NO_TORCH + (
        "import json\n"
        "from discover.solve import solve_from_data\n"
        "from discover.validate import validate\n"
        "v = validate(sys.argv[1], sys.argv[2], solver='classical')\n"
        "sol, ds = solve_from_data(['u_t = 0.05*u_xx - u_x'], sys.argv[2], t_end=1.0)\n"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'torch']\n"
        "from discover.errors import DataError\n"
        "try:\n"
        "    validate(sys.argv[1], sys.argv[2], solver='neural')\n"
        "except DataError as exc:\n"
        "    assert 'needs torch, which is not installed' in str(exc), exc\n"
        "print(json.dumps({'v': v.errors['equation'], 'method': sol.info['method']}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(result), str(data)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["v"] == pytest.approx(validate(result, data).errors["equation"], rel=1e-12)
    assert got["method"] == "spectral"
    cli = NO_TORCH + "import discover_cli\ndiscover_cli.main()\n"
    out = tmp_path / "v.json"
    done = subprocess.run(
        [sys.executable, "-c", cli, "validate", str(result), str(data), "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(out.read_text())["solver"] == "classical"
