"""The benchmark machinery: term names, scoring, medians, the highest-noise table."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks.cases import CASES, noisy, unavailable
from benchmarks.methods import _pysindy_name, canonical, measure, score
from benchmarks.report import append_csv, highest_noise, markdown, read_csv, summarize
from benchmarks.run import main, run_case


def test_pysindy_feature_names_become_ours():
    assert _pysindy_name("1", ["x"]) == "1"
    assert _pysindy_name("uu_1", ["x"]) == "u*u_x"
    assert _pysindy_name("u^2u_111", ["x"]) == "u**2*u_xxx"
    assert _pysindy_name("u_12", ["x", "y"]) == "u_xy"
    assert _pysindy_name("u_22", ["x", "y"]) == "u_yy"
    assert _pysindy_name("u^2", ["x"]) == "u**2"


def test_score_counts_missed_terms_as_full_errors():
    truth = {"u*u_x": -1.0, "u_xx": 0.1}
    assert score({"u_x*u": -0.99, "u_xx": 0.102}, truth) == {
        "right": True,
        "max_error": pytest.approx(0.02),
        "extra": [],
        "missed": [],
    }
    s = score({"u*u_x": -1.0, "u": 0.3}, truth)
    assert not s["right"] and s["max_error"] == 1.0
    assert s["extra"] == ["u"] and s["missed"] == ["u_xx"]


def test_noise_is_reproducible_and_has_the_asked_size():
    a, b = noisy("advection_diffusion", 0.1, 1), noisy("advection_diffusion", 0.1, 1)
    clean = noisy("advection_diffusion", 0.0, 1)
    assert np.array_equal(a["u"].values, b["u"].values)
    d = a["u"].values - clean["u"].values
    assert np.std(d) == pytest.approx(0.1 * np.std(clean["u"].values), rel=0.02)
    assert not np.array_equal(d, noisy("advection_diffusion", 0.1, 2)["u"].values - clean["u"])


def test_measure_reports_time_and_memory():
    out, wall, peak = measure(lambda: np.ones((4000, 4000)).sum())
    assert out == 16e6 and wall > 0
    assert np.isnan(peak) or 100 < peak < 1000  # 122 MiB array


def _rows(method, right_by_noise):
    return [
        {"dataset": "burgers", "noise": p, "seed": s, "method": method, "right": r,
         "max_error": 0.01 if r else 1.0, "wall_s": 1.0, "peak_mib": 1.0, "failed": ""}
        for p, rights in right_by_noise.items()
        for s, r in enumerate(rights)
    ]  # fmt: skip


def test_highest_noise_needs_most_seeds_right():
    rows = _rows("discover", {0.0: [True], 0.1: [True, True, False], 0.2: [True, False, False]})
    rows += _rows("pysindy_fd", {0.0: [False], 0.1: [False, False, False]})
    rows += _rows("pysindy_weak", {0.0: [True], 0.1: [False] * 3, 0.2: [True, True, False]})
    best = highest_noise(summarize(rows))
    assert best[("burgers", "discover")] == (0.1, [])
    assert best[("burgers", "pysindy_fd")] == (None, [])
    assert best[("burgers", "pysindy_weak")] == (0.0, [0.2])  # right again above a failure
    table = markdown(summarize(rows), ["discover", "pysindy_fd", "pysindy_weak"])
    assert "**2/3**" in table and "1/3" in table and "| none |" in table
    assert "| 0% (20%) |" in table


def test_station_rows_say_pysindy_has_no_entry():
    rows = [
        {"dataset": "burgers_stations", "noise": 0.0, "seed": 0, "method": "discover",
         "right": True, "max_error": 0.01, "wall_s": 1.0, "peak_mib": 1.0, "failed": ""}
    ]  # fmt: skip
    table = markdown(summarize(rows), ["discover", "pysindy_fd"])
    assert "no entry (needs a grid)" in table


@pytest.mark.skipif(unavailable(CASES["burgers"]) is not None, reason="shared PDE-FIND data absent")
def test_pysindy_and_fd_rows_on_clean_burgers():
    """pysindy's PDE-FIND and weak form find clean Burgers (their best threshold), and so
    does discover's finite-difference method, through the benchmark's own runner."""
    rows = run_case("burgers", 0.0, 0, ["discover_fd", "pysindy_fd", "pysindy_weak"])
    assert [r["method"] for r in rows] == ["discover_fd", "pysindy_fd", "pysindy_weak"]
    for r in rows:
        assert r["right"], r
        assert r["max_error"] < 0.01, r
        assert r["wall_s"] > 0 and not r["failed"]
    truth = json.loads(noisy("burgers", 0.0, 0).attrs["true_coefficients"])
    assert set(truth) == {"u*u_x", "u_xx"}


@pytest.mark.skipif(unavailable(CASES["burgers"]) is not None, reason="shared PDE-FIND data absent")
def test_pysindy_weak_gives_the_same_row_twice():
    """pysindy's weak library places its subdomains with NumPy's global generator; the runner
    seeds it, so one command gives one table."""
    a, b = (run_case("burgers", 0.05, 1, ["pysindy_weak"])[0] for _ in range(2))
    assert a["found"] == b["found"] and a["max_error"] == b["max_error"]


def test_cli_rejects_bad_noise(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--noise", "-0.1"])
    assert exc.value.code == 2
    assert "noise levels are fractions" in capsys.readouterr().err


@pytest.mark.skipif(unavailable(CASES["burgers"]) is not None, reason="shared PDE-FIND data absent")
def test_a_stopped_run_resumes_with_the_cases_it_lacks(tmp_path, monkeypatch, capsys):
    import benchmarks.run as run

    monkeypatch.setattr(run, "_code_version", lambda: "abc,def,123")
    out = tmp_path / "bench"
    args = ["--datasets", "burgers", "--noise", "0", "0.01", "--seeds", "1"]
    assert main([*args, "--methods", "pysindy_fd", "--out", str(out)]) == 0
    lines = (out / "results.csv").read_text().splitlines()
    assert len(lines) == 3  # header and two cases
    (out / "results.csv").write_text("\n".join(lines[:2]) + "\n")  # stopped after one case
    capsys.readouterr()
    assert main(["--resume", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "1 runs" in err and "1 done before" in err
    rows = (out / "results.csv").read_text().splitlines()
    assert len(rows) == 3 and {r.split(",")[1] for r in rows[1:]} == {"0.0", "0.01"}
    meta = json.loads((out / "run.json").read_text())
    assert meta["status"] == "done" and meta["resumed"] == 1
    assert "(in 2 parts)" in (out / "table.md").read_text()
    with open(out / "results.csv", "a") as f:  # a stopped run's last line, cut short
        f.write("burgers,0.5,0,pysindy_fd,Tru")
    assert len(read_csv(out / "results.csv")) == 2
    append_csv(read_csv(out / "results.csv")[:1], out / "results.csv")
    assert len(read_csv(out / "results.csv")) == 3
    meta["machine"] = "sparc 64 cores"
    (out / "run.json").write_text(json.dumps(meta))
    with pytest.raises(SystemExit) as exc:
        main(["--resume", "--out", str(out)])
    assert exc.value.code == 2 and "would not compare" in capsys.readouterr().err
    monkeypatch.setattr(run, "_code_version", lambda: "abc,XYZ,123")
    with pytest.raises(SystemExit) as exc:
        main(["--resume", "--out", str(out)])
    assert exc.value.code == 2 and "would not compare" in capsys.readouterr().err


def test_rms_convention_scales_noise_by_the_root_mean_square():
    """weak SINDy's convention: σ = p·rms(u) (the shock's field has a large mean)."""
    clean = noisy("burgers_shock", 0.0, 0)["u"].values
    d = noisy("burgers_shock", 0.5, 0, "rms")["u"].values - clean
    assert np.std(d) == pytest.approx(0.5 * np.sqrt(np.mean(clean**2)), rel=0.02)
    assert np.sqrt(np.mean(clean**2)) > 1.2 * np.std(clean)
    with pytest.raises(ValueError, match="valid: 'std', 'rms'"):
        noisy("burgers_shock", 0.5, 0, "var")


def test_several_fields_and_a_complex_pair_keep_their_names():
    """pysindy's names of two fields (``a^2 ba_11``), the ``field: term`` keys of a
    multi-field (or complex pair) truth, and scoring on them."""
    pair = {"a": "u_re", "b": "u_im"}
    assert _pysindy_name("a^2 ba_11", ["x"], pair) == "u_im*u_re**2*u_re_xx"
    assert _pysindy_name("bb_1", ["x"], pair) == "u_im*u_im_x"
    assert canonical("u_re: u_re**2*u_im") == "u_re: u_im*u_re**2"
    truth = {"u_re: u_im_xx": -0.5, "u_im: u_re_xx": 0.5}
    s = score({"u_re: u_im_xx": -0.51, "u_im: u_re_xx": 0.5, "u_im: u_re": 0.1}, truth)
    assert not s["right"] and s["extra"] == ["u_im: u_re"]
    assert s["max_error"] == pytest.approx(0.02)


@pytest.mark.skipif(unavailable(CASES["nls"]) is not None, reason="shared PDE-FIND data absent")
def test_the_nls_case_gets_complex_noise_of_the_asked_size():
    clean = noisy("nls", 0.0, 0)["u"].values
    d = noisy("nls", 0.5, 0, "rms")["u"].values - clean
    assert np.iscomplexobj(d)
    assert np.sqrt(np.mean(np.abs(d) ** 2)) == pytest.approx(
        0.5 * np.sqrt(np.mean(np.abs(clean) ** 2)), rel=0.01
    )
    assert np.std(d.real) == pytest.approx(np.std(d.imag), rel=0.02)
    truth = CASES["nls"].truth(noisy("nls", 0.0, 0))
    assert truth["u_im: u_re_xx"] == 0.5 and len(truth) == 6


def test_station_draws_are_reproducible_and_score_the_10_percent_check():
    from benchmarks.stations import draw_case
    from benchmarks.stations import score as station_score

    a, b = draw_case("fisher_kpp", 3, 1), draw_case("fisher_kpp", 3, 1)
    assert a == b and a != draw_case("fisher_kpp", 3, 2)
    assert 0.02 <= a["params"]["diffusivity"] <= 0.5 and a["params"]["saturation"] < 0
    truth = {"u_x": -1.0, "u_xx": 0.1}
    assert station_score({"u_x": -1.02, "u_xx": 0.095}, truth)["ok"]
    s = station_score({"u_x": -1.0, "u_xx": 0.089}, truth)
    assert s["right_terms"] and not s["ok"] and s["max_error"] == pytest.approx(0.11)
    s = station_score({"u_x": -1.0, "u*u_xx": 0.1}, truth)
    assert (s["missed"], s["extra"], s["max_error"]) == ("u_xx", "u*u_xx", 1.0)
