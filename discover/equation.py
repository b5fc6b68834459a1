"""The discovered equation: a SymPy ``Eq`` with coefficients, intervals and units.

Coefficients are rounded for printing (``str``, :meth:`Equation.to_latex`) and kept exact in
JSON (:meth:`Equation.to_json`); :meth:`Equation.from_json` restores the same equation.

Examples
--------
>>> eq = Equation("u_t", [("u_xx", 0.1), ("u*u_x", -1.0)], fields=("u",), coords=("t", "x"))
>>> print(eq)
u_t = 0.1*u_xx - 1.0*u*u_x
>>> eq.to_latex()
'u_{t} = 0.1 u_{xx} - 1.0 u u_{x}'
>>> Equation.from_json(eq.to_json()) == eq
True
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sympy as sp

from .library import latex, parse_symbol, sstr

__all__ = ["Equation", "TermEstimate"]


@dataclass(frozen=True)
class TermEstimate:
    """One term of an equation: its name, coefficient and (optional) uncertainty."""

    term: str
    coef: float
    ci: tuple[float, float] | None = None
    inclusion: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "term": self.term,
            "coef": float(self.coef),
            "ci": None if self.ci is None else [float(self.ci[0]), float(self.ci[1])],
            "inclusion": None if self.inclusion is None else float(self.inclusion),
        }


def _symbols_of(names: Iterable[str], fields: Sequence[str], coords: Sequence[str]) -> dict:
    local: dict[str, sp.Symbol] = {f: sp.Symbol(f) for f in fields}
    for name in names:
        for tok in _identifiers(name):
            if parse_symbol(tok, fields, coords) is not None:
                local[tok] = sp.Symbol(tok)
    return local


def _identifiers(text: str) -> list[str]:
    import re

    return re.findall(r"[A-Za-z_]\w*", text)


def _parse(text: str, local: Mapping[str, sp.Symbol]) -> sp.Expr:
    return sp.sympify(text, locals=dict(local))


class Equation:
    """``lhs = Σ coef_i · term_i`` as SymPy, with printing and JSON.

    Parameters
    ----------
    lhs : str
        The left-hand side symbol, e.g. ``"u_t"``.
    terms : sequence
        :class:`TermEstimate` objects, dicts with ``term``/``coef`` (and ``ci``,
        ``inclusion``), or ``(term, coef)`` pairs. Order is kept for printing.
    fields, coords : sequence of str
        Field and coordinate symbols (for the LaTeX of derivative symbols).
    units : dict, optional
        Symbol -> unit string.
    digits : int
        Significant figures when printing.
    """

    def __init__(
        self,
        lhs: str,
        terms: Sequence[TermEstimate | Mapping[str, Any] | tuple[str, float]],
        *,
        fields: Sequence[str] = ("u",),
        coords: Sequence[str] = ("t", "x"),
        units: Mapping[str, str] | None = None,
        digits: int = 4,
    ) -> None:
        self.lhs = lhs
        self.fields = tuple(fields)
        self.coords = tuple(coords)
        self.units = dict(units or {})
        self.digits = digits
        est = []
        for t in terms:
            if isinstance(t, TermEstimate):
                est.append(t)
            elif isinstance(t, Mapping):
                ci = t.get("ci")
                est.append(
                    TermEstimate(
                        str(t["term"]),
                        float(t["coef"]),
                        None if ci is None else (float(ci[0]), float(ci[1])),
                        t.get("inclusion"),
                    )
                )
            else:
                est.append(TermEstimate(str(t[0]), float(t[1])))
        self.terms: list[TermEstimate] = est
        self._local = _symbols_of([lhs, *(t.term for t in est)], self.fields, self.coords)

    # ------------------------------------------------------------------ SymPy
    def term_exprs(self) -> list[sp.Expr]:
        return [_parse(t.term, self._local) for t in self.terms]

    @property
    def rhs_expr(self) -> sp.Expr:
        """The right-hand side as a SymPy expression (terms in their given order)."""
        parts = [sp.Float(t.coef, 17) * e for t, e in zip(self.terms, self.term_exprs())]
        if not parts:
            return sp.Integer(0)
        return sp.Add(*parts, evaluate=False)

    @property
    def sympy(self) -> sp.Eq:
        """The equation as :class:`sympy.Eq`."""
        return sp.Eq(sp.Symbol(self.lhs), self.rhs_expr, evaluate=False)

    @property
    def rhs(self) -> str:
        """The right-hand side in full precision, readable by :func:`sympy.sympify`."""
        return sstr(self.rhs_expr) if self.terms else "0"

    @property
    def coefficients(self) -> dict[str, float]:
        return {t.term: t.coef for t in self.terms}

    # ------------------------------------------------------------------ printing
    def __str__(self) -> str:
        return f"{self.lhs} = {sstr(self.rhs_expr, digits=self.digits)}"

    def __repr__(self) -> str:
        return f"<Equation {self}>"

    def to_latex(self, **settings) -> str:
        """LaTeX of the equation (``u_{t} = 0.1 u_{xx} - 1.0 u u_{x}``).

        Keyword settings go to :func:`sympy.latex`; ``digits`` overrides the rounding.
        """
        digits = settings.pop("digits", self.digits)
        return latex(self.sympy, self.fields, self.coords, digits=digits, **settings)

    def _repr_latex_(self) -> str:
        return f"${self.to_latex()}$"

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        return {
            "lhs": self.lhs,
            "rhs": self.rhs,
            "latex": self.to_latex(),
            "text": str(self),
            "terms": [t.as_dict() for t in self.terms],
            "fields": list(self.fields),
            "coords": list(self.coords),
            "units": dict(self.units),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Equation:
        for key in ("lhs", "terms"):
            if key not in d:
                raise ValueError(f"an equation needs the key '{key}'; keys given: {list(d)}")
        return cls(
            d["lhs"],
            d["terms"],
            fields=d.get("fields", ("u",)),
            coords=d.get("coords", ("t", "x")),
            units=d.get("units"),
        )

    def to_json(self, **kwargs) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_json(cls, text: str) -> Equation:
        return cls.from_dict(json.loads(text))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Equation):
            return NotImplemented
        return (
            self.lhs == other.lhs
            and self.fields == other.fields
            and self.coords == other.coords
            and self.units == other.units
            and len(self.terms) == len(other.terms)
            and all(
                a.term == b.term
                and (a.coef == b.coef or (math.isnan(a.coef) and math.isnan(b.coef)))
                and a.ci == b.ci
                and a.inclusion == b.inclusion
                for a, b in zip(self.terms, other.terms)
            )
        )

    __hash__ = None  # type: ignore[assignment]
