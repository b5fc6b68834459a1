"""Complex fields (discover.complexfield): read as a complex dtype or a real/imaginary pair,
discovered as one complex equation with complex coefficients, printed with I and Abs, the
real pair underneath; the NLS generator; JSON, LaTeX and the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest
import sympy as sp
import xarray as xr
from cli_run import one_error_line, run
from discover.datasets import generate, make_dataset
from discover.datasets.pdefind import load_pdefind, shared_data_dir

import discover
from discover.complexfield import (
    ComplexEquation,
    ComplexLibrary,
    ComplexTerm,
    parse_complex,
    split_complex,
)
from discover.errors import DataError
from discover.results import Discovery

NLS_MAT = shared_data_dir() / "pde-find" / "nls.mat"


def _complex_noise(ds: xr.Dataset, p: float, rng) -> xr.Dataset:
    """Complex Gaussian noise with E|ε|² = σ², σ = p·rms(|ψ|), on the pair ``psi_re``,
    ``psi_im`` (each part σ/√2)."""
    ds = ds.copy(deep=True)
    psi = ds["psi_re"].values + 1j * ds["psi_im"].values
    sigma = p * np.sqrt(np.mean(np.abs(psi) ** 2)) / np.sqrt(2)
    for f in ("psi_re", "psi_im"):
        ds[f].values = ds[f].values + sigma * rng.standard_normal(psi.shape)
    return ds


def _hidden_nls(rng, *, damping: bool = False, n: int = 512):
    """NLS with coefficients drawn at random (focusing or defocusing, optional damping)."""
    a = float(rng.uniform(0.2, 1.0))
    b = float(rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 1.5))
    g = float(rng.uniform(0.1, 0.5)) if damping else 0.0
    return generate(
        "nls", dispersion=a, nonlinearity=b, damping=g, seed=int(rng.integers(1, 10**6)), n=n
    )


def _max_error(found: dict, truth: dict) -> float:
    truth = {k: complex(*v) for k, v in truth.items()}
    assert set(found) == set(truth), (found, truth)
    return max(abs(found[k] - v) / abs(v) for k, v in truth.items())


# ----------------------------------------------------------------------------- reading


def test_split_complex_reads_a_complex_dtype_and_both_pair_spellings():
    psi = np.array([[1 + 2j, 3 - 1j]])
    ds, names, pairs = split_complex(xr.Dataset({"psi": (("t", "x"), psi)}), ["psi"])
    assert names == ["psi_re", "psi_im"] and pairs == {"psi": ("psi_re", "psi_im")}
    np.testing.assert_array_equal(ds["psi_im"].values, psi.imag)
    for re, im in (("w_re", "w_im"), ("w_real", "w_imag")):
        ds = xr.Dataset({re: ("x", [1.0]), im: ("x", [2.0])})
        assert split_complex(ds, ["w"])[2] == {"w": (re, im)}
    # one part of a complex variable, as validate asks for it
    ds, names, pairs = split_complex(xr.Dataset({"psi": ("x", psi[0])}), ["psi_re"])
    assert names == ["psi_re"] and not pairs and ds["psi_re"].values.tolist() == [1.0, 3.0]


def test_real_variables_pass_unchanged():
    ds = xr.Dataset({"u": ("x", [1.0, 2.0])})
    out, names, pairs = split_complex(ds, ["u"])
    assert out is ds and names == ["u"] and pairs == {}


# ----------------------------------------------------------------------------- library


@pytest.mark.parametrize("coords", [("t", "x"), ("t", "x", "y")])
def test_real_parts_reproduce_every_complex_term(coords, rng):
    """``Re θ = X R``, ``Im θ = X J`` at random values of the pair and its derivatives."""
    lib = ComplexLibrary("psi", ("psi_re", "psi_im"), coords, max_order=2, degree=4)
    n = 7
    values = {d.name: rng.normal(size=n) for d in lib.real.derivatives_needed()}
    values.update({f: rng.normal(size=n) for f in lib.pair})
    X = lib.real.matrix(values)
    for k, term in enumerate(lib.terms):
        subs = {}
        for s in term.free_symbols:
            suffix = s.name[len("psi") :]
            subs[s] = values["psi_re" + suffix] + 1j * values["psi_im" + suffix]
        f = sp.lambdify(list(subs), term, modules=[{"conjugate": np.conj}, "numpy"])
        want = np.broadcast_to(np.asarray(f(*subs.values()), dtype=complex), (n,))
        np.testing.assert_allclose(X @ lib.R[:, k], want.real, atol=1e-10)
        np.testing.assert_allclose(X @ lib.J[:, k], want.imag, atol=1e-10)


def test_the_library_is_phase_equivariant(rng):
    """Every term turns with ψ under ψ -> e^{iφ}ψ (the symmetry of amplitude equations)."""
    lib = ComplexLibrary("psi", ("a", "b"), ("t", "x"), include_constant=False)
    phase = np.exp(1j * rng.uniform(0, 2 * np.pi))
    for term in lib.terms:
        syms = sorted(term.free_symbols, key=str)
        vals = rng.normal(size=len(syms)) + 1j * rng.normal(size=len(syms))
        f = sp.lambdify(syms, term, modules=[{"conjugate": np.conj}, "numpy"])
        assert np.isclose(f(*(phase * vals)), phase * f(*vals)), term


# ----------------------------------------------------------------------------- equation


def test_a_complex_equation_prints_in_complex_form_and_round_trips():
    eq = ComplexEquation(
        "psi",
        ("psi_re", "psi_im"),
        ("t", "x"),
        [
            ComplexTerm("psi_xx", 0.5j, None, (0.49, 0.51), 1.0),
            ComplexTerm("Abs(psi)**2*psi", 1j, None, (0.98, 1.02), 1.0),
            ComplexTerm("psi", -0.2 + 0.0j, (-0.21, -0.19), None, 0.9),
        ],
    )
    assert str(eq) == "I*psi_t = -0.5*psi_xx - 1.0*Abs(psi)**2*psi - 0.2*I*psi"
    lhs, rhs = eq.lhs, parse_complex(eq.rhs)  # the printed rhs reads back, I the unit
    assert (
        lhs == "I*psi_t"
        and sp.simplify(rhs - sp.I * sum(complex(t.coef) * parse_complex(t.term) for t in eq.terms))
        == 0
    )
    assert "i" in eq.to_latex() and r"\left|" in eq.to_latex()
    back = ComplexEquation.from_dict(json.loads(json.dumps(eq.to_dict())))
    assert back == eq
    re, im = eq.real_pair()
    assert re.coefficients == {
        "psi_im_xx": -0.5,
        "psi_im**3": -1.0,
        "psi_im*psi_re**2": -1.0,
        "psi_re": -0.2,
    }
    assert im.terms[0].ci == (0.49, 0.51)  # one complex part feeds it: its interval


def test_a_bad_complex_record_is_one_line():
    with pytest.raises(DataError, match="needs the key"):
        ComplexEquation.from_dict({"field": "psi"})
    with pytest.raises(DataError, match="cannot read the complex term"):
        ComplexEquation.from_dict(
            {
                "field": "psi",
                "pair": ["a", "b"],
                "coords": ["t", "x"],
                "terms": [{"term": "__import__('os')", "coef_re": 1.0}],
            }
        )


# ----------------------------------------------------------------------------- find


def test_the_generator_is_the_pdefind_benchmark_for_its_defaults():
    if not NLS_MAT.exists():
        pytest.skip(f"{NLS_MAT} not found (shared data beside the repository)")
    ref = load_pdefind("nls")
    ds = make_dataset("nls", nx=512, nt=501)
    psi = ds["psi_re"].values + 1j * ds["psi_im"].values
    assert np.abs(psi - ref["u"].values).max() < 1e-4 * np.abs(psi).max()


@pytest.mark.parametrize("seed", [5, 6])
def test_hidden_nls_at_20_percent_noise(seed):
    """NLS with coefficients drawn at random, 20% noise: the right complex terms, each
    coefficient within 5%, one complex equation with the real pair underneath."""
    rng = np.random.default_rng(seed)
    prob = _hidden_nls(rng, n=256)
    ds = _complex_noise(make_dataset(prob, nx=256, nt=201), 0.2, rng)
    d = discover.find(ds, "psi", n_bootstrap=0)
    assert d.settings["method"] == "weak"
    (ce,) = d.complex_equations
    assert _max_error(ce.coefficients, prob.coefficients["psi"]) < 0.05
    assert str(d).splitlines()[0].startswith("I*psi_t = ")
    assert [e.lhs for e in d.equations] == ["psi_re_t", "psi_im_t"]


@pytest.fixture(scope="module")
def small_nls() -> xr.Dataset:
    return make_dataset(
        generate("nls", dispersion=0.7, nonlinearity=-1.2, seed=3, n=256), nx=128, nt=101
    )


def test_the_result_json_round_trips_and_keeps_the_schema(small_nls):
    d = discover.find(small_nls, "psi", n_bootstrap=0)
    doc = json.loads(json.dumps(d.to_dict()))
    assert doc["schema_version"] == "1.1"
    assert doc["complex_equations"][0]["factor"] == "I"
    assert doc["settings"]["complex_fields"] == {"psi": ["psi_re", "psi_im"]}
    back = Discovery.from_dict(doc)
    assert back.complex_equations == d.complex_equations
    assert back.to_dict() == doc
    assert r"\left|" in d.to_latex()


def test_a_complex_field_is_discovered_alone(small_nls):
    ds = small_nls.copy()
    ds["v"] = ds["psi_re"] * 2
    with pytest.raises(DataError, match="discovered alone"):
        discover.find(ds, ["psi", "v"])
    with pytest.raises(DataError, match="extra= terms are not taken"):
        discover.find(ds, "psi", extra=["psi_re_x**2"])


def test_real_fields_have_no_complex_output():
    d = discover.find(make_dataset("heat", nx=64, nt=41), "u", n_bootstrap=0)
    doc = d.to_dict()
    assert d.complex_equations == [] and "complex_equations" not in doc
    assert "complex_fields" not in doc["settings"]


def test_the_command_line(tmp_path):
    nc, out = tmp_path / "nls.nc", tmp_path / "nls.json"
    res = run(
        "generate",
        "nls",
        nc,
        "--nx",
        128,
        "--nt",
        101,
        "--param",
        "dispersion=0.4",
        "--param",
        "n=256",
    )
    assert res.exit_code == 0, res.output
    assert "I*psi_t = -0.4*psi_xx - 1.0*Abs(psi)**2*psi" in res.output
    res = run("find", nc, "--var", "psi", "--json", out, "--bootstrap", 0)
    assert res.exit_code == 0, res.output
    first = res.stdout.splitlines()[0]
    assert first.startswith("I*psi_t = -0.4") and "Abs(psi)**2*psi" in first
    assert "the real pair (psi = psi_re + I*psi_im):" in res.stdout
    assert json.loads(out.read_text())["complex_equations"][0]["lhs"] == "I*psi_t"
    one_error_line(run("find", nc, "--var", "psi", "--extra", "psi_re_x**2"))


# ----------------------------------------------------------------------------- slow


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(3))
def test_pdefind_nls_at_50_percent_noise(seed):
    """PDE-FIND's nls.mat, complex noise σ = 0.5·rms|ψ|, with find's defaults (the
    bootstrap's inclusion drops a term its resamples do not support): the right terms,
    within 5%."""
    if not NLS_MAT.exists():
        pytest.skip(f"{NLS_MAT} not found (shared data beside the repository)")
    ds = load_pdefind("nls").rename(u="psi")
    rng = np.random.default_rng(seed)
    psi = ds["psi"].values
    sigma = 0.5 * np.sqrt(np.mean(np.abs(psi) ** 2)) / np.sqrt(2)
    ds["psi"].values = psi + sigma * (
        rng.standard_normal(psi.shape) + 1j * rng.standard_normal(psi.shape)
    )
    (ce,) = discover.find(ds, "psi").complex_equations
    truth = {"psi_xx": (0.0, 0.5), "Abs(psi)**2*psi": (0.0, 1.0)}
    assert _max_error(ce.coefficients, truth) < 0.05, str(ce)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(20, 26))
def test_hidden_nls_at_50_percent_noise(seed):
    """NLS with hidden coefficients (a damping term in half the draws) at PDE-FIND's
    resolution (512 × 501) and 50% noise: right terms, within 5%."""
    rng = np.random.default_rng(seed)
    prob = _hidden_nls(rng, damping=bool(seed % 2))
    ds = _complex_noise(make_dataset(prob, nx=512, nt=501), 0.5, rng)
    (ce,) = discover.find(ds, "psi", n_bootstrap=0).complex_equations
    assert _max_error(ce.coefficients, prob.coefficients["psi"]) < 0.05, str(ce)
