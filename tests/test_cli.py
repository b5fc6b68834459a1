"""The discover command: output contract, file safety, and exit 2 with one line on bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp
import xarray as xr
from discover.datasets import make_dataset
from typer.testing import CliRunner

from discover.cli import app
from discover.parsing import parse_expr

runner = CliRunner()


@pytest.fixture(scope="module")
def burgers_nc(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "burgers.nc"
    make_dataset("burgers", nx=128, nt=61).to_netcdf(path)
    return path


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_find_prints_and_writes_the_contract(burgers_nc, tmp_path):
    out, tex = tmp_path / "r.json", tmp_path / "r.tex"
    res = run("find", burgers_nc, "--var", "u", "--json", out, "--latex", tex)
    assert res.exit_code == 0, res.output
    assert "u_t = 0.1*u_xx - 1.0*u*u_x" in res.stdout
    doc = json.loads(out.read_text())
    eq = doc["equations"][0]
    assert eq["lhs"] == "u_t"
    rhs = parse_expr(eq["rhs"])
    assert rhs.free_symbols == {sp.Symbol("u"), sp.Symbol("u_x"), sp.Symbol("u_xx")}
    assert eq["latex"] == "u_{t} = 0.1 u_{xx} - 1.0 u u_{x}"
    for term in eq["terms"]:
        assert set(term) >= {"term", "coef", "ci", "inclusion"}
        lo, hi = term["ci"]
        assert lo <= term["coef"] <= hi
    assert doc["data"]["var"] == "u" and doc["data"]["n_samples"] == 128 * 61
    assert doc["data"]["file"] == str(burgers_nc)
    assert doc["settings"]["select"] == "1se" and doc["version"]
    assert doc["path"]["u"][0]["n_terms"] == 0
    assert tex.read_text().startswith("\\begin{equation}")


def test_find_path_table(burgers_nc):
    res = run("find", burgers_nc, "--var", "u", "--path")
    assert res.exit_code == 0
    assert "sparsity path for u" in res.stdout and "u_xx + u*u_x" in res.stdout


def test_uncertainty_units_and_pareto_plot(burgers_nc, tmp_path):
    """Issue #4: ± intervals with inclusion, a declared transform, the Pareto plot."""
    data = tmp_path / "b.nc"
    ds = xr.open_dataset(burgers_nc)
    ds["x"].attrs["units"] = "m"
    ds["t"].attrs["units"] = "s"
    ds.to_netcdf(data)
    png = tmp_path / "front.png"
    res = run(
        "find",
        data,
        "--var",
        "u",
        "--units",
        "x=km,t=h",
        "--plot-path",
        png,
        "--bootstrap",
        "20",
        "--json",
        tmp_path / "r.json",
    )
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    # in km and hours: u_xx scales by 3600 / 1e6, u*u_x by 3600 / 1e3
    assert lines[0].startswith("u_t = 0.00036") and lines[0].endswith(" - 3.6*u*u_x")
    assert "±" in lines[1] and "(inclusion 1.00)" in lines[1]
    assert "in the data's own units (x: m, t: s):" in res.stdout
    assert "u_t = 0.1*u_xx - 1.0*u*u_x" in res.stdout
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["transform"]["x"] == {"factor": 0.001, "offset": 0.0, "from": "m", "to": "km"}
    c = {t["term"]: t["coef"] for t in doc["equations"][0]["terms"]}
    back = {t["term"]: t["coef"] for t in doc["equations_in_data_units"][0]["terms"]}
    assert back == pytest.approx(
        {k: v * {"u_xx": 1e6, "u*u_x": 1e3}[k] / 3600 for k, v in c.items()}
    )
    assert doc["diagnostics"]["u"]["uncertainty"]["n_models"] == 20
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_two_fields_through_the_cli(tmp_path):
    """--var u,v: one equation per field, from a library with the cross terms."""
    from discover.datasets import generate

    heat = make_dataset(generate("heat", diffusivity=0.08, seed=1), nx=96, nt=41)
    adv = make_dataset(
        generate("advection_diffusion", velocity=0.7, diffusivity=0.04), nx=96, nt=41
    )
    both = heat.assign(v=(("t", "x"), adv["u"].values * 2.0))
    both = both.assign_coords(t=adv.t.values * 0.4)  # heat's time axis is 0..2, adv's 0..5
    path = tmp_path / "two.nc"
    both.to_netcdf(path)
    res = run("find", path, "--var", "u,v", "--bootstrap", "0", "--json", tmp_path / "r.json")
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "r.json").read_text())
    u, v = (e["terms"] for e in doc["equations"])
    assert [t["term"] for t in u] == ["u_xx"]
    assert u[0]["coef"] == pytest.approx(0.08, rel=0.01)
    # v's time axis was squeezed by 0.4, so its coefficients grow by 2.5
    got = {t["term"]: t["coef"] for t in v}
    assert got == pytest.approx({"v_x": -0.7 * 2.5, "v_xx": 0.04 * 2.5}, rel=0.01)
    assert "u*v" in doc["settings"]["library"]  # cross terms were candidates
    assert doc["data"]["fields"] == ["u", "v"]


def test_existing_output_is_not_overwritten(burgers_nc, tmp_path):
    out = tmp_path / "keep.json"
    out.write_text("precious")
    res = run("find", burgers_nc, "--var", "u", "--json", out)
    assert res.exit_code == 2
    assert out.read_text() == "precious"
    assert "--force" in res.stderr
    res = run("find", burgers_nc, "--var", "u", "--json", out, "--force")
    assert res.exit_code == 0 and json.loads(out.read_text())["equations"]


def test_input_is_never_an_output(burgers_nc):
    before = burgers_nc.read_bytes()
    res = run("find", burgers_nc, "--var", "u", "--latex", burgers_nc, "--force")
    assert res.exit_code == 2 and "is the input" in res.stderr
    assert burgers_nc.read_bytes() == before


def _bad_files(tmp_path):
    t = np.linspace(0, 1, 21)
    x = np.linspace(0, 1, 30)
    u = np.sin(3 * x)[None, :] * np.exp(-t)[:, None]
    good = xr.Dataset({"u": (("t", "x"), u)}, coords={"t": t, "x": x})
    nonmono = x.copy()
    nonmono[[4, 5]] = nonmono[[5, 4]]
    dup = x.copy()
    dup[3] = dup[2]
    cases = {
        "missing_variable": (good, ["--var", "w"], "not found"),
        "no_time": (good.rename(t="s"), ["--var", "u"], "no time coordinate"),
        "non_monotonic": (good.assign_coords(x=nonmono), ["--var", "u"], "not monotonic"),
        "duplicate": (good.assign_coords(x=dup), ["--var", "u"], "duplicate"),
        "too_few": (good.isel(t=slice(0, 2)), ["--var", "u"], "only 2 points"),
        "all_nan": (good.assign(u=good["u"] * np.nan), ["--var", "u"], "all NaN"),
        "constant": (good.assign(u=good["u"] * 0 + 1), ["--var", "u"], "constant"),
    }
    out = {}
    for name, (ds, args, expect) in cases.items():
        path = tmp_path / f"{name}.nc"
        ds.to_netcdf(path)
        out[name] = (path, args, expect)
    text = tmp_path / "text.nc"
    text.write_text("hello")
    out["not_netcdf"] = (text, ["--var", "u"], "not a netCDF file")
    empty = tmp_path / "empty.nc"
    empty.write_bytes(b"")
    out["empty_file"] = (empty, ["--var", "u"], "empty file")
    out["missing_file"] = (tmp_path / "nope.nc", ["--var", "u"], "no such file")
    good_path = tmp_path / "good.nc"
    good.to_netcdf(good_path)
    out["bad_select"] = (good_path, ["--var", "u", "--select", "magic"], "valid criteria")
    out["bad_method"] = (good_path, ["--var", "u", "--method", "magic"], "valid methods")
    out["bad_accuracy"] = (good_path, ["--var", "u", "--accuracy", "high"], "--accuracy")
    out["bad_regressor"] = (good_path, ["--var", "u", "--regressor", "omp"], "valid regressors")
    with_units = tmp_path / "with_units.nc"
    good.assign_coords(x=("x", good.x.values, {"units": "m"})).to_netcdf(with_units)
    out["no_units_attr"] = (good_path, ["--var", "u", "--units", "x=km"], "no units attribute")
    out["bad_unit"] = (with_units, ["--var", "u", "--units", "x=parsec"], "unknown unit")
    out["unit_kind"] = (with_units, ["--var", "u", "--units", "x=h"], "cannot convert")
    out["units_syntax"] = (good_path, ["--var", "u", "--units", "x:km"], "SYMBOL=UNIT")
    out["empty_library"] = (
        good_path,
        ["--var", "u", "--max-order", "0", "--degree", "0", "--no-constant"],
        "library is empty",
    )
    out["plot_not_png"] = (
        good_path,
        ["--var", "u", "--plot-path", tmp_path / "p.pdf"],
        "ending in .png",
    )
    out["bootstrap_one"] = (good_path, ["--var", "u", "--bootstrap", "1"], "n_bootstrap")
    return out


BAD = [
    "missing_variable",
    "no_time",
    "non_monotonic",
    "duplicate",
    "too_few",
    "all_nan",
    "constant",
    "not_netcdf",
    "empty_file",
    "missing_file",
    "bad_select",
    "bad_method",
    "bad_accuracy",
    "bad_regressor",
    "no_units_attr",
    "bad_unit",
    "unit_kind",
    "units_syntax",
    "empty_library",
    "plot_not_png",
    "bootstrap_one",
]


@pytest.mark.parametrize("case", BAD)
def test_bad_input_exit_2_one_line(tmp_path, case):
    path, args, expect = _bad_files(tmp_path)[case]
    res = run("find", path, *args)
    assert res.exit_code == 2, res.output
    assert expect in res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "Traceback" not in res.output


def test_real_process_exit_status(tmp_path):
    """The installed entry point, not only the runner, exits 2 without a traceback."""
    proc = subprocess.run(
        [sys.executable, "-m", "discover.cli", "find", str(tmp_path / "x.nc"), "--var", "u"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr


def test_generate_and_info(tmp_path):
    out = tmp_path / "kdv.nc"
    res = run(
        "generate",
        "kdv",
        out,
        "--nx",
        "64",
        "--nt",
        "11",
        "--param",
        "nonlinear=3",
        "--noise",
        "0.01",
    )
    assert res.exit_code == 0, res.output
    ds = xr.open_dataset(out)
    assert ds["u"].shape == (11, 64) and "3.0*u*u_x" in ds.attrs["true_equation"]
    ds.close()
    assert run("generate", "kdv", out).exit_code == 2  # exists
    assert "valid names" in run("generate", "nope", tmp_path / "n.nc").stderr
    assert run("generate", "kdv", tmp_path / "p.nc", "--param", "x").exit_code == 2
    info = run("info")
    assert info.exit_code == 0 and "torch" in info.stdout and "discover" in info.stdout


@pytest.mark.slow
@pytest.mark.parametrize("layout", ["station", "scattered"])
def test_station_and_scattered_through_the_cli(tmp_path, layout):
    data, out = tmp_path / f"{layout}.nc", tmp_path / f"{layout}.json"
    res = run(
        "generate",
        "burgers",
        data,
        "--layout",
        layout,
        "--noise",
        "0.05",
        "--missing",
        "0.1" if layout == "station" else "0",
        "--param",
        "advection=-1.2",
    )
    assert res.exit_code == 0, res.output
    res = run("find", data, "--var", "u", "--json", out)
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())
    assert doc["settings"]["method"] == "neural" and doc["data"]["layout"] == layout
    assert {t["term"] for t in doc["equations"][0]["terms"]} == {"u_xx", "u*u_x"}
    assert doc["diagnostics"]["u"]["interpolant"]["val_rmse"][0] > 0
