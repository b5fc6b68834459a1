"""Equation printing and the JSON round trip."""

from __future__ import annotations

import json
import math

import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from discover.equation import Equation
from discover.library import Library

LIB = Library(("u",), ("t", "x"), max_order=3, degree=2)


def test_printing_rounds_but_json_keeps_exact():
    eq = Equation("u_t", [("u_xx", 0.100000123456789), ("u*u_x", -0.99999871234)])
    assert str(eq) == "u_t = 0.1*u_xx - 1.0*u*u_x"
    assert eq.to_latex() == "u_{t} = 0.1 u_{xx} - 1.0 u u_{x}"
    d = json.loads(eq.to_json())
    assert d["terms"][0]["coef"] == 0.100000123456789
    assert sp.sympify(d["rhs"]).coeff(sp.Symbol("u_xx")) == sp.Float(0.100000123456789)
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
    coefs = sp.sympify(eq.rhs).as_coefficients_dict()
    for n, c in pairs:
        assert math.isclose(float(coefs[sp.sympify(n)]), c, rel_tol=1e-12)


def test_from_dict_needs_keys():
    import pytest

    with pytest.raises(ValueError, match="needs the key 'terms'"):
        Equation.from_dict({"lhs": "u_t"})
