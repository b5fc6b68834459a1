"""Equation printing and the JSON round trip."""

from __future__ import annotations

import json
import math

import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from discover.equation import Equation
from discover.library import Library
from discover.parsing import parse_expr

LIB = Library(("u",), ("t", "x"), max_order=3, degree=2)


def test_printing_rounds_but_json_keeps_exact():
    eq = Equation("u_t", [("u_xx", 0.100000123456789), ("u*u_x", -0.99999871234)])
    assert str(eq) == "u_t = 0.1*u_xx - 1.0*u*u_x"
    assert eq.to_latex() == "u_{t} = 0.1 u_{xx} - 1.0 u u_{x}"
    d = json.loads(eq.to_json())
    assert d["terms"][0]["coef"] == 0.100000123456789
    assert parse_expr(d["rhs"]).coeff(sp.Symbol("u_xx")) == sp.Float(0.100000123456789)
    assert eq._repr_latex_() == "$u_{t} = 0.1 u_{xx} - 1.0 u u_{x}$"
    assert eq.to_latex(digits=6).startswith("u_{t} = 0.1 u_{xx} - 0.999999 u u_{x}")


finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12)
nonzero = finite.filter(lambda v: abs(v) > 1e-12)


@given(
    st.lists(
        st.tuples(st.sampled_from(LIB.names), nonzero),
        min_size=0,
        max_size=6,
        unique_by=lambda p: p[0],
    ),
    st.booleans(),
)
def test_json_round_trip(pairs, with_ci):
    terms = [
        {
            "term": n,
            "coef": c,
            "ci": [c - 1, c + 1] if with_ci else None,
            "inclusion": 0.5 if with_ci else None,
        }
        for n, c in pairs
    ]
    eq = Equation("u_t", terms)
    back = Equation.from_json(eq.to_json())
    assert back == eq
    coefs = parse_expr(eq.rhs).as_coefficients_dict()
    for n, c in pairs:
        assert math.isclose(float(coefs[parse_expr(n)]), c, rel_tol=1e-12)


def test_from_dict_needs_keys():
    import pytest

    with pytest.raises(ValueError, match="needs the key 'terms'"):
        Equation.from_dict({"lhs": "u_t"})


def _with_ci(terms, coords=("t", "x", "y")):
    return Equation(
        "u_t",
        [{"term": n, "coef": c, "ci": [c - h, c + h], "inclusion": 1.0} for n, c, h in terms],
        coords=coords,
    )


def test_summary_prints_coefficient_plus_minus_interval():
    eq = _with_ci([("u_xx", 0.1003, 0.0021), ("u*u_x", -1.00231, 0.0061)], ("t", "x"))
    lines = eq.summary().splitlines()
    assert lines[0] == str(eq)
    assert lines[1].split() == ["0.1003", "±", "0.0021", "u_xx", "(inclusion", "1.00)"]
    assert lines[2].split()[:4] == ["-1.002", "±", "0.006", "u*u_x"]


@pytest.mark.parametrize(
    ("yy", "grouped"),
    [((0.0995, 0.002), True), ((0.12, 0.002), False)],
)
def test_laplacian_grouped_only_when_intervals_agree(yy, grouped):
    eq = _with_ci([("u_x", -1.0, 0.01), ("u_xx", 0.1, 0.002), ("u_yy", *yy)])
    groups = eq.groups()
    assert bool(groups) == grouped
    if grouped:
        assert groups[0]["group"] == "Δu" and groups[0]["terms"] == ["u_xx", "u_yy"]
        g = eq.grouped()
        assert str(g) == "u_t = -1.0*u_x + 0.09975*Δu"
        assert g.to_latex() == r"u_{t} = -1.0 u_{x} + 0.09975 \Delta u"
        assert "grouped" in eq.summary()
        assert json.loads(eq.to_json())["groups"][0]["terms"] == ["u_xx", "u_yy"]
    else:
        assert eq.grouped() is None and "grouped" not in eq.summary()
    # the full equation is never changed by grouping
    assert [t.term for t in eq.terms] == ["u_x", "u_xx", "u_yy"]


def test_products_with_the_laplacian_group_too():
    eq = _with_ci([("u*u_xx", 0.5, 0.01), ("u*u_yy", 0.505, 0.01)])
    assert str(eq.grouped()) == "u_t = 0.5025*u*Δu"


@given(
    st.lists(
        st.tuples(st.sampled_from(LIB.names), nonzero.filter(lambda v: 1e-6 < abs(v) < 1e6)),
        min_size=1,
        max_size=5,
        unique_by=lambda p: p[0],
    ),
    st.floats(min_value=1e-3, max_value=1e3),
    st.floats(min_value=1e-3, max_value=1e3),
    st.floats(min_value=0.1, max_value=10),
    st.floats(min_value=-5, max_value=5),
)
def test_change_of_variables_round_trip(pairs, ax, at, au, bu):
    eq = Equation("u_t", [{"term": n, "coef": c, "ci": [c - 1, c + 1]} for n, c in pairs])
    maps = {"x": (ax, 0.0), "t": (at, 0.0), "u": (au, bu)}
    back = eq.change_variables(maps).change_variables(
        {k: (1 / a, -b / a) for k, (a, b) in maps.items()}
    )
    want, got = eq.coefficients, back.coefficients
    big = max(map(abs, want.values()))
    # terms the offset of u brought in cancel to rounding; every original term comes back
    # (a small one beside a large one too: coefficients span 12 decades here)
    assert all(abs(v) <= 1e-9 * big for k, v in got.items() if k not in want)
    for k, v in want.items():
        assert math.isclose(got.get(k, 0.0), v, rel_tol=1e-6, abs_tol=1e-9 * big)


def test_change_of_variables_scales_each_term_by_its_derivative_orders():
    eq = _with_ci([("u_xx", 0.1, 0.01), ("u*u_x", -1.0, 0.1), ("u", 2.0, 0.2)], ("t", "x"))
    # x' = 1e-3 x (m -> km), t' = t / 3600 (s -> h), u' = 2 u
    new = eq.change_variables({"x": (1e-3, 0.0), "t": (1 / 3600, 0.0), "u": (2.0, 0.0)})
    c = new.coefficients
    assert math.isclose(c["u_xx"], 0.1 * 3600 * 1e-6)
    assert math.isclose(c["u*u_x"], -1.0 * 3600 * 1e-3 / 2)
    assert math.isclose(c["u"], 2.0 * 3600)
    t = {t.term: t for t in new.terms}
    assert math.isclose(t["u"].ci[1] - t["u"].ci[0], 0.4 * 3600) and t["u"].inclusion == 1.0


def test_groups_skip_terms_that_are_not_polynomial_in_a_derivative():
    eq = _with_ci([("sin(u_xx)", 0.1, 0.1), ("u_yy", 0.1, 0.1)])
    assert eq.groups() == [] and "sin(u_xx)" in eq.summary()
