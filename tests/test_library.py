"""Candidate terms: names, columns, LaTeX, and errors."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from discover.library import Library, derivative_symbol, latex, parse_symbol


def test_pde_find_family_1d():
    lib = Library(("u",), ("t", "x"), max_order=3, degree=2)
    assert len(lib) == 12
    assert lib.names[:5] == ["1", "u_x", "u_xx", "u_xxx", "u"]
    assert {"u*u_x", "u**2", "u**2*u_xxx"} <= set(lib.names)
    assert next(d.name for d in lib.derivatives_needed()) == "u_t"


def test_mixed_terms_2d_and_two_fields():
    lib = Library(("u", "v"), ("t", "x", "y"), max_order=2, degree=1, include_constant=False)
    names = set(lib.names)
    assert {"u_xy", "v_yy", "u*v_x", "u_xy*v", "u", "v"} <= names
    assert "1" not in names


def test_columns_and_latex():
    lib = Library(("u",), ("t", "x"), max_order=2, degree=2)
    feats = {"u": np.array([1.0, 2.0]), "u_x": np.array([3.0, 4.0]), "u_xx": np.array([0.5, 1])}
    X = lib.matrix(feats)
    np.testing.assert_allclose(X[:, lib.names.index("u**2*u_x")], [3.0, 16.0])
    np.testing.assert_allclose(X[:, lib.names.index("1")], [1.0, 1.0])
    t = lib.terms[lib.names.index("u**2*u_xx")]
    assert t.latex() == "u^{2} u_{xx}"


def test_extra_terms_and_bad_ones():
    lib = Library(("u",), ("t", "x"), max_order=1, degree=1, extra=["u_x**2", "sin(u)"])
    assert lib.names[-2:] == ["u_x**2", "sin(u)"]
    col = lib.terms[-1].column({"u": np.array([0.0, np.pi / 2])})
    np.testing.assert_allclose(col, [0, 1])
    with pytest.raises(ValueError, match="neither a field nor a derivative"):
        Library(("u",), ("t", "x"), extra=["w*u"])
    with pytest.raises(ValueError, match="extra term: cannot read"):
        Library(("u",), ("t", "x"), extra=["u_x**"])
    with pytest.raises(ValueError, match="max_order"):
        Library(("u",), ("t", "x"), max_order=-1)


def test_multi_letter_coordinates():
    assert derivative_symbol("T", ("t", "lat", "lon"), (0, 1, 1)) == "T_lat_lon"
    tex = latex(sp.Symbol("T_lat_lon"), ("T",), ("t", "lat", "lon"))
    assert tex == r"T_{\mathrm{lat}\,\mathrm{lon}}"


@given(st.lists(st.integers(0, 3), min_size=3, max_size=3))
def test_symbol_names_round_trip(orders):
    coords = ("t", "x", "y")
    name = derivative_symbol("u", coords, orders)
    d = parse_symbol(name, ("u",), coords)
    assert d is not None and d.orders == tuple(orders)
