"""Bad, odd and hostile input (issue #17): no code runs from a string, no file is lost, no
name is misread, no traceback reaches a user — every case through the command line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
import xarray as xr
from discover.datasets import make_dataset
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from discover.cli import _replace_atomically, app
from discover.equation import Equation
from discover.errors import DataError, ExpressionError
from discover.io import load
from discover.library import Library
from discover.parsing import parse_equation, parse_expr
from discover.prepare import station_support
from discover.solve.problem import parse_equations

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def one_error_line(res, code: int = 2) -> str:
    """The run ended with ``code`` and exactly one line on stderr, no traceback."""
    assert res.exit_code == code, res.output
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    assert "Traceback" not in res.output and "Traceback" not in res.stderr
    return lines[0]


@pytest.fixture(scope="module")
def burgers(tmp_path_factory):
    path = tmp_path_factory.mktemp("bad") / "burgers.nc"
    make_dataset("burgers", nx=64, nt=41).to_netcdf(path)
    return path


@pytest.fixture(scope="module")
def result(burgers, tmp_path_factory):
    out = tmp_path_factory.mktemp("res") / "r.json"
    res = run(*FAST, burgers, "--holdout", "last:20%", "--json", out)
    assert res.exit_code == 0, res.output
    return out


FAST = ("find", "--var", "u", "--method", "fd", "--bootstrap", "0")


# ----------------------------------------------------------------------------- 1. no code runs
def hostile(sentinel: Path) -> list[str]:
    s = str(sentinel)
    return [
        f"__import__('os').system('touch {s}')",
        f'u_xx + 0*__import__("os").system("touch {s}")',
        f"open('{s}', 'w')",
        f"exec(\"open('{s}', 'w')\")",
        f"eval(\"open('{s}', 'w')\")",
        f"(lambda: open('{s}', 'w'))()",
        f"[open('{s}', 'w') for _ in [1]]",
        f"u.__class__.__init__.__globals__['os'].system('touch {s}')",
        f"Symbol('x').__reduce__()[0]('{s}')",
        f"u_xx if open('{s}', 'w') else u",
        f"(q := open('{s}', 'w'))",
        f'f\'{{open("{s}", "w")}}\'',
        f"sin(open('{s}', 'w'))",
        "import os",
        "9**9**9**9",
        "(" * 300 + "u" + ")" * 300,
        "u+" * 3000 + "u",
    ]


def test_hostile_strings_run_nothing_in_any_parser(tmp_path):
    sentinel = tmp_path / "PWNED"
    for text in hostile(sentinel):
        calls = [
            lambda t: parse_expr(t),
            lambda t: parse_equation(f"u_t = {t}"),
            lambda t: Library(("u",), ("t", "x"), extra=[t]),
            lambda t: Equation.from_dict({"lhs": "u_t", "terms": [{"term": t, "coef": 1.0}]}),
            lambda t: parse_equations(f"u_t = {t}", ("t", "x")),
        ]
        for call in calls:
            with pytest.raises(DataError) as err:
                call(text)
            assert "\n" not in str(err.value)
        assert not sentinel.exists(), text


ALPHABET = "uxt_()[]{}.,:;'\"=+-*/^%@!&|<>~ 0123456789abcdefjlmnoprsy\\\n"


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet="uxt_()[]{}.,:;'\"=+-*/^%@!&|<>~ 0123456789abcdefjlmnoprsy\\\n", max_size=40)
)
def test_fuzzed_text_gives_an_expression_or_one_line(text):
    try:
        out = parse_expr(text)
    except ExpressionError as exc:
        assert "\n" not in str(exc)
    else:
        assert isinstance(out, sp.Expr)


@given(st.sampled_from(["E", "I", "N", "S", "O", "Q", "pi_", "gamma", "beta", "lambda_", "sin"]))
def test_names_are_the_datas_symbols(name):
    expr = parse_expr(f"{name}*{name}_x", symbols=[name])
    assert {s.name for s in expr.free_symbols} == {name, f"{name}_x"}


def test_hostile_strings_through_the_cli(burgers, result, tmp_path):
    sentinel = tmp_path / "PWNED"
    bad = hostile(sentinel)[1]
    assert "cannot read" in one_error_line(run(*FAST, burgers, "--extra", bad))
    out = tmp_path / "s.nc"
    res = run("solve", f"u_t = 0.1*u_xx + {bad}", "--init", burgers, "--t-end", "5", "--out", out)
    one_error_line(res)
    doc = json.loads(result.read_text())
    for key in ("term", "units"):
        evil = json.loads(json.dumps(doc))
        if key == "term":
            evil["equations"][0]["terms"][0]["term"] = bad
        else:
            evil["equations"][0]["units"] = {"u": bad}
        path = tmp_path / f"evil_{key}.json"
        path.write_text(json.dumps(evil))
        res = run("validate", path, burgers)
        assert res.exit_code in (0, 2), res.output  # a unit is only ever a name
        assert "Traceback" not in res.output
    assert not sentinel.exists() and not out.exists()


# ----------------------------------------------------------------------------- 2. files
def test_a_file_that_appears_meanwhile_is_kept(tmp_path):
    from discover.cli import UsageError

    target = tmp_path / "r.json"

    def write(tmp):  # another run finishes first
        target.write_text("first")
        Path(tmp).write_text("second")

    with pytest.raises(UsageError, match="appeared while discover ran"):
        _replace_atomically(target, write, force=False)
    assert target.read_text() == "first"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temporary left behind
    _replace_atomically(target, lambda tmp: Path(tmp).write_text("third"), force=True)
    assert target.read_text() == "third"


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077])
def test_outputs_respect_the_umask(burgers, tmp_path, mask):
    old = os.umask(mask)
    try:
        res = run(*FAST, burgers, "--json", tmp_path / "r.json", "--latex", tmp_path / "r.tex")
        assert res.exit_code == 0, res.output
        assert run("generate", "heat", tmp_path / "h.nc", "--nx", "16", "--nt", "9").exit_code == 0
    finally:
        os.umask(old)
    for name in ("r.json", "r.tex", "h.nc"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o666 & ~mask, name


@pytest.mark.parametrize("flag", ["--json", "--latex", "--plot-path"])
def test_unwritable_outputs_are_refused_before_the_work(burgers, tmp_path, flag):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    line = one_error_line(run(*FAST, burgers, flag, blocker / "out.png"))
    assert "is a file, not a folder" in line
    assert blocker.read_text() == "x"
    line = one_error_line(run("generate", "heat", tmp_path / "nope" / "h.nc"))
    assert "does not exist" in line


# ----------------------------------------------------------------------------- 3. names
NAMES = ["E", "I", "N", "sin", "air_temp", "sea_surface_temperature", "_2m_temp", "lambda_"]


@pytest.mark.parametrize("name", NAMES)
def test_odd_names_go_find_validate_solve(tmp_path, name):
    data = tmp_path / "d.nc"
    make_dataset("burgers", nx=64, nt=41).rename({"u": name}).to_netcdf(data)
    out = tmp_path / "r.json"
    res = run(*FAST[:2], name, *FAST[3:], data, "--holdout", "last:20%", "--json", out)
    assert res.exit_code == 0, res.output
    eq = json.loads(out.read_text())["equations"][0]
    assert eq["lhs"] == f"{name}_t"
    coefs = {t["term"]: t["coef"] for t in eq["terms"]}
    assert set(coefs) == {f"{name}_xx", f"{name}*{name}_x"}
    assert abs(coefs[f"{name}_xx"] - 0.1) < 0.005 and abs(coefs[f"{name}*{name}_x"] + 1) < 0.02
    res = run("validate", out, data, "--json", tmp_path / "v.json")
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "v.json").read_text())["errors"]["equation"] < 0.01
    sol = tmp_path / "s.nc"
    rhs = f"0.1*{name}_xx - {name}*{name}_x"
    res = run("solve", f"{name}_t = {rhs}", "--init", data, "--t-end", "3", "--out", sol)
    assert res.exit_code == 0, res.output
    with xr.open_dataset(sol) as ds, xr.open_dataset(data) as truth:
        got = ds[name].sel(t=3.0, method="nearest").values
        want = truth[name].sel(t=3.0, method="nearest").values
        assert np.abs(got - want).max() < 0.01 * np.ptp(want)


def _lon_lat_field() -> xr.Dataset:
    ds = make_dataset("advection_diffusion_2d", nx=16, nt=11)
    lon = np.round(np.linspace(-6.0, 9.0, ds.sizes["x"]), 6)
    lat = np.linspace(50.0, 58.0, ds.sizes["y"])
    ds = ds.assign_coords(x=lon, y=lat).rename({"x": "lon", "y": "lat"})
    ds["lon"].attrs["units"] = "degrees_east"
    ds["lat"].attrs["units"] = "degrees_north"
    return ds


def test_longitudes_across_zero_are_made_continuous():
    cont = _lon_lat_field()
    wrapped = cont.assign_coords(lon=("lon", np.mod(cont["lon"].values, 360), cont.lon.attrs))
    sorted_gap = wrapped.sortby("lon")  # 0 … 9, 354 … 359: what the old advice led to
    want = load(cont, "u").grid
    for ds in (wrapped, sorted_gap):
        got = load(ds, "u").grid
        np.testing.assert_allclose(got["lon"].values, want["lon"].values)
        np.testing.assert_array_equal(got["u"].values, want["u"].values)


# ----------------------------------------------------------------------------- 4. tracebacks
def test_damaged_netcdf_is_one_line(tmp_path):
    good = tmp_path / "good.nc"
    ds = make_dataset("burgers", nx=256, nt=101, noise=0.1)
    ds.to_netcdf(good, engine="netcdf4", encoding={"u": {"zlib": True, "chunksizes": (10, 256)}})
    raw = bytearray(good.read_bytes())
    rng = np.random.default_rng(0)
    for i in rng.integers(len(raw) // 3, len(raw) - 16, size=64):
        raw[i] ^= 0xFF
    bad = tmp_path / "bad.nc"
    bad.write_bytes(bytes(raw))
    line = one_error_line(run(*FAST, bad))
    assert line.startswith("error: ") and "bad.nc" in line


def _stations(n: int, seed: int = 0) -> xr.Dataset:
    """``u(t, station)`` at ``n`` grid points of a 2-D field, positions x, y on station."""
    ds = make_dataset("advection_diffusion_2d", nx=32, nt=21)
    rng = np.random.default_rng(seed)
    ix = xr.DataArray(rng.choice(32, n, replace=False), dims="station")
    iy = xr.DataArray(rng.choice(32, n, replace=False), dims="station")
    return ds.isel(x=ix, y=iy)


def test_too_few_stations_are_refused_at_once(tmp_path):
    path = tmp_path / "two.nc"
    _stations(2).to_netcdf(path)
    t0 = time.perf_counter()
    line = one_error_line(run("find", path, "--var", "u", "--bootstrap", "0"))
    assert "cannot give derivatives" in line and "--max-order 0" in line
    assert time.perf_counter() - t0 < 60  # refused before any fit


def test_stations_cap_the_derivative_order():
    samples = load(_stations(4), "u")
    with pytest.warns(UserWarning, match="up to order 1 only"):
        assert station_support(samples, 2) == 1
    assert station_support(load(_stations(12), "u"), 2) == 2
    assert station_support(samples, 0) == 0


def test_result_file_that_is_not_json(burgers):
    line = one_error_line(run("validate", burgers, burgers))
    assert "not text" in line


def test_solve_with_a_number_on_the_right(burgers, tmp_path):
    out = tmp_path / "s.nc"
    res = run("solve", "u_t = 1", "--init", burgers, "--t-end", "2", "--out", out)
    assert res.exit_code == 0, res.output
    with xr.open_dataset(out) as ds:
        gain = ds["u"].isel(t=-1) - ds["u"].isel(t=0)
        np.testing.assert_allclose(gain.values[5:-5], 2.0, rtol=1e-6)


def test_interrupt_during_start_up_is_one_line(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-c", "import discover_cli; discover_cli.main()", "info"],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    time.sleep(1.0)  # Python is up; the package (torch) is still being imported
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    if proc.returncode == 0:
        pytest.skip("the imports finished before the interrupt on this machine")
    assert proc.returncode == 130, err
    assert err.strip() == "discover: interrupted"


# ----------------------------------------------------------------------------- 5. messages
def test_version():
    res = run("--version")
    assert res.exit_code == 0 and res.stdout.strip().startswith("discover 0.")


@pytest.mark.parametrize(
    "args, expect",
    [
        (("find", "x.nc", "--var", "u", "--max-order", "abc"), "--max-order"),
        (("frobnicate",), "No such command"),
        (("find", "x.nc", "--var", "u", "--bogus"), "--bogus"),
        (("find", "x.nc"), "--var"),
    ],
)
def test_usage_errors_are_one_line(args, expect):
    line = one_error_line(run(*args))
    assert expect in line and line.startswith("error: ")


def test_syntax_errors_are_one_line(burgers, tmp_path):
    assert "cannot read" in one_error_line(run(*FAST, burgers, "--extra", "u_x**"))
    res = run("solve", "u_t = 0.1*u_xx +", "--init", burgers, "--t-end", "1", "--out",
              tmp_path / "s.nc")  # fmt: skip
    assert "cannot read" in one_error_line(res)


def test_warnings_are_one_line_each(burgers):
    res = run(*FAST, burgers, "--extra", "2*u_x")
    assert res.exit_code == 0, res.output
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("warning: u: terms u_x, 2*u_x are nearly")
    assert ".py:" not in res.stderr


def test_units_on_data_without_units(burgers):
    line = one_error_line(run(*FAST, burgers, "--units", "x=km"))
    assert "no physical unit" in line and "set its units attribute" in line


def test_singleton_and_ensemble_dims(tmp_path):
    base = make_dataset("burgers", nx=64, nt=41)
    level = base.expand_dims(level=[850.0], axis=1)
    (tmp_path / "level.nc").unlink(missing_ok=True)
    level.to_netcdf(tmp_path / "level.nc")
    assert run(*FAST, tmp_path / "level.nc").exit_code == 0
    members = xr.concat([base, base * 1.01, base * 0.99], dim="number")
    members = members.assign_coords(number=[0, 1, 2]).transpose("t", "number", "x")
    members.to_netcdf(tmp_path / "ens.nc")
    line = one_error_line(run(*FAST, tmp_path / "ens.nc"))
    assert "--sel number=" in line
    res = run(*FAST, tmp_path / "ens.nc", "--sel", "number=0", "--json", tmp_path / "r.json")
    assert res.exit_code == 0, res.output
    assert "0.1*u_xx" in res.stdout.replace("0.1007", "0.1")
    assert json.loads((tmp_path / "r.json").read_text())["settings"]["sel"] == {"number": "0"}
    assert "no such value" in one_error_line(run(*FAST, tmp_path / "ens.nc", "--sel", "number=7"))


@pytest.mark.parametrize(
    "args, expect",
    [
        (("--param", "foo=1"), "its parameters: advection, viscosity"),
        (("--param", "viscosity=nan"), "finite"),
        (("--nx", "0"), "--nx 5"),
        (("--nt", "1"), "--nt 5"),
        (("--layout", "station", "--n-stations", "1"), "--n-stations 3"),
        (("--noise", "nan"), "--noise"),
    ],
)
def test_generate_refuses_unusable_settings(tmp_path, args, expect):
    out = tmp_path / "g.nc"
    assert expect in one_error_line(run("generate", "burgers", out, *args))
    assert not out.exists()


def test_numbers_out_of_range(burgers, result, tmp_path):
    assert "even" in one_error_line(run(*FAST, burgers, "--accuracy", "3"))
    assert "outside the held-out window" in one_error_line(
        run("validate", result, burgers, "--leads", "100")
    )
    res = run(
        "solve", "u_t = u_xx", "--init", burgers, "--t-end", "nan", "--out", tmp_path / "s.nc"
    )
    assert "finite" in one_error_line(res)
