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

With intervals (as :func:`discover.find` reports them), :meth:`Equation.summary` prints each
coefficient to the precision its uncertainty allows:

>>> eq = Equation("u_t", [{"term": "u_xx", "coef": 0.1003, "ci": [0.0982, 0.1024],
...                        "inclusion": 1.0}], fields=("u",), coords=("t", "x"))
>>> print(eq.summary())
u_t = 0.1003*u_xx
    0.1003 ± 0.0021  u_xx  (inclusion 1.00)
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from .errors import DataError, ExpressionError
from .fields import CoefficientField
from .library import LAPLACIAN, derivative_symbol, latex, parse_symbol, sstr
from .parsing import parse_expr

__all__ = ["Equation", "TermEstimate", "format_uncertain"]


def format_uncertain(value: float, half_width: float) -> str:
    """``value ± half_width`` rounded to the uncertainty: one significant digit, two when
    it starts with a 1 or 2 (the Particle Data Group's habit, simplified).

    >>> format_uncertain(0.10012, 0.00213)
    '0.1001 ± 0.0021'
    >>> format_uncertain(-1.00231, 0.0061)
    '-1.002 ± 0.006'
    >>> format_uncertain(12.3, 0.0)
    '12.3 ± 0'
    """
    if not math.isfinite(half_width) or half_width <= 0:
        return f"{value:.4g} ± 0" if half_width == 0 else f"{value:.4g} ± {half_width}"
    exp = math.floor(math.log10(half_width))
    lead = half_width / 10**exp
    decimals = -exp + (1 if lead < 3 else 0)
    if decimals <= 0:
        return f"{round(value, decimals):.0f} ± {round(half_width, decimals):.0f}"
    return f"{value:.{decimals}f} ± {half_width:.{decimals}f}"


@dataclass(frozen=True)
class TermEstimate:
    """One term of an equation: its name, coefficient and (optional) uncertainty; with a
    ``field`` (:class:`~discover.fields.CoefficientField`) the coefficient varies in space
    and ``coef`` is the field's mean over the data."""

    term: str
    coef: float
    ci: tuple[float, float] | None = None
    inclusion: float | None = None
    field: CoefficientField | None = None

    def as_dict(self) -> dict[str, Any]:
        out = {
            "term": self.term,
            "coef": float(self.coef),
            "ci": None if self.ci is None else [float(self.ci[0]), float(self.ci[1])],
            "inclusion": None if self.inclusion is None else float(self.inclusion),
        }
        if self.field is not None:
            out["field"] = self.field.to_dict()
        return out


def _text(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise DataError(f"the equation's '{key}' must hold text, not {type(value).__name__}")
    return value


def _units(d: Mapping[str, Any]) -> Mapping[str, Any]:
    units = d.get("units") or {}
    if not isinstance(units, Mapping):
        raise DataError(f"the equation's 'units' must be an object, not {type(units).__name__}")
    return units


def _terms(terms: Any) -> list[dict[str, Any]]:
    if not isinstance(terms, list) or not all(isinstance(t, Mapping) for t in terms):
        raise DataError("the equation's 'terms' must be a list of objects with 'term' and 'coef'")
    out = []
    for t in terms:
        if "term" not in t or "coef" not in t:
            raise DataError(f"a term needs 'term' and 'coef'; keys given: {list(t)}")
        _text(t["term"], "term")
        out.append(t)
    return out


def _parse(text: str, names: Iterable[str]) -> sp.Expr:
    """A term as SymPy, through the restricted parser (no code runs; every name is a symbol
    of the data, never a SymPy built-in such as ``E`` or ``I``)."""
    return parse_expr(text, symbols=names)


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
                fld = t.get("field")
                est.append(
                    TermEstimate(
                        str(t["term"]),
                        float(t["coef"]),
                        None if ci is None else (float(ci[0]), float(ci[1])),
                        None if t.get("inclusion") is None else float(t["inclusion"]),
                        None if fld is None else CoefficientField.from_dict(fld),
                    )
                )
            else:
                est.append(TermEstimate(str(t[0]), float(t[1])))
        self.terms: list[TermEstimate] = est
        self._names = (*self.fields, *self.coords)

    # ------------------------------------------------------------------ SymPy
    def term_exprs(self) -> list[sp.Expr]:
        return [_parse(t.term, self._names) for t in self.terms]

    @property
    def rhs_expr(self) -> sp.Expr:
        """The right-hand side as a SymPy expression (terms in their given order), every
        coefficient field written out as its polynomial of the coordinates (for solving)."""
        return self._rhs(lambda t: sp.Float(t.coef, 17) if t.field is None else t.field.expr())

    def _rhs(self, coefficient) -> sp.Expr:
        parts = [
            coefficient(t) * e if t.field is None or e == 1 else
            sp.Mul(coefficient(t), e, evaluate=False)
            for t, e in zip(self.terms, self.term_exprs())
        ]  # fmt: skip
        if not parts:
            return sp.Integer(0)
        return sp.Add(*parts, evaluate=False)

    @property
    def display_expr(self) -> sp.Expr:
        """The right-hand side with each coefficient field by name (``D(x)*u_xx``)."""
        return self._rhs(lambda t: sp.Float(t.coef, 17) if t.field is None else t.field.function())

    @property
    def has_fields(self) -> bool:
        """Whether a coefficient varies in space."""
        return any(t.field is not None for t in self.terms)

    @property
    def sympy(self) -> sp.Eq:
        """The equation as :class:`sympy.Eq` (coefficient fields by name)."""
        return sp.Eq(sp.Symbol(self.lhs), self.display_expr, evaluate=False)

    @property
    def rhs(self) -> str:
        """The right-hand side in full precision, readable by :func:`sympy.sympify`."""
        return sstr(self.rhs_expr) if self.terms else "0"

    @property
    def field(self) -> str:
        """The field whose derivative the left-hand side is (``air_temp`` of
        ``air_temp_t``), read against the known fields, never split at ``_``.

        >>> Equation("air_temp_t", [("air_temp_xx", 0.1)], fields=("air_temp",)).field
        'air_temp'
        """
        d = parse_symbol(self.lhs, self.fields, self.coords)
        if d is None:
            raise DataError(
                f"the left-hand side '{self.lhs}' is no derivative of the equation's fields "
                f"({', '.join(self.fields)}) along {', '.join(self.coords)}"
            )
        return d.field

    @property
    def coefficients(self) -> dict[str, float]:
        return {t.term: t.coef for t in self.terms}

    def _unit_expr(self, unit: str | None) -> sp.Expr | None:
        if unit is None:
            return None
        if unit.strip() in ("1", ""):
            return sp.Integer(1)
        return sp.Symbol(unit.strip())

    def _symbol_unit(self, name: str) -> sp.Expr | None:
        d = parse_symbol(name, self.fields, self.coords)
        if d is None:  # a coordinate
            return self._unit_expr(self.units.get(name))
        out = self._unit_expr(self.units.get(d.field))
        for c, k in zip(d.coords, d.orders, strict=True):
            if k and out is not None:
                cu = self._unit_expr(self.units.get(c))
                out = None if cu is None else out / cu**k
        return out

    def coefficient_units(self) -> dict[str, str]:
        """Term -> the unit of its coefficient, ``[lhs] / [term]``, from :attr:`units`.

        Functions of the coordinates (``sin(2*pi*t/24)``) count as dimensionless.  Empty
        when a unit the equation needs is unknown.

        >>> eq = Equation("T_t", [("T_xx", 0.5), ("T", -0.1), ("1", 0.2)], fields=["T"],
        ...               units={"T": "K", "t": "h", "x": "km"})
        >>> eq.coefficient_units()
        {'T_xx': 'km**2/h', 'T': '1/h', '1': 'K/h'}
        """
        lhs = self._symbol_unit(self.lhs)
        if lhs is None:
            return {}
        out = {}
        for t, e in zip(self.terms, self.term_exprs(), strict=True):
            e = e.replace(lambda a: isinstance(a, sp.Function), lambda a: sp.Integer(1))
            units = {s: self._symbol_unit(s.name) for s in e.free_symbols}
            if any(u is None for u in units.values()):
                return {}
            unit = sp.powsimp(sp.simplify(lhs / e.subs(units, simultaneous=True)))
            out[t.term] = sstr(unit.as_coeff_Mul()[1])  # numbers in the term carry no unit
        return out

    # ------------------------------------------------------------------ printing
    def __str__(self) -> str:
        return f"{self.lhs} = {sstr(self.display_expr, digits=self.digits)}"

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

    def summary(self) -> str:
        """The equation, then one line per term: coefficient ± half its interval, the term,
        its inclusion probability; then the grouped form (:meth:`grouped`) if there is one."""
        lines = [str(self)]
        cunits = self.coefficient_units()
        width = max((len(t.term) for t in self.terms), default=0)
        rows = []
        for t in self.terms:
            if t.field is not None:
                num = _field_summary(t.field, self.digits)
            elif t.ci is None:
                num = f"{t.coef:.{self.digits}g}"
            else:
                lo, hi = t.ci
                centre = (lo + hi) / 2
                # symmetric intervals print as coef ± h; others show their ends
                if abs(centre - t.coef) <= 1e-6 * max(abs(hi - lo), 1e-300):
                    num = format_uncertain(t.coef, (hi - lo) / 2)
                else:
                    num = f"{t.coef:.{self.digits}g} [{lo:.{self.digits}g}, {hi:.{self.digits}g}]"
            inc = "" if t.inclusion is None else f"  (inclusion {t.inclusion:.2f})"
            if cunits:
                num = f"{num} {cunits[t.term]}" if cunits[t.term] != "1" else num
            rows.append((num, t.term, inc))
        nw = max((len(r[0]) for r in rows), default=0)
        lines += [f"    {n:>{nw}}  {term:<{width}}{inc}".rstrip() for n, term, inc in rows]
        groups = self.groups()
        if groups:
            grouped = self._grouped(groups)
            names = ", ".join(" + ".join(g["terms"]) + " -> " + g["group"] for g in groups)
            lines.append(f"grouped ({names}; their coefficients agree within their intervals):")
            lines.append(f"    {grouped}")
        return "\n".join(lines)

    # ------------------------------------------------------------------ change of variables
    def change_variables(
        self,
        maps: Mapping[str, tuple[float, float]],
        units: Mapping[str, str] | None = None,
        renames: Mapping[str, str] | None = None,
    ) -> Equation:
        """The same equation in new variables ``s' = factor * s + offset`` (``maps``: symbol ->
        ``(factor, offset)``, for fields and coordinates; e.g. from
        :class:`discover.io.Transform`), optionally renamed (``renames``: old -> new
        symbol, e.g. ``{"lat": "y"}``; derivative symbols follow, ``T_lat`` -> ``T_y``).

        A transform of the data is a change of variables in the PDE: with ``x' = a x``,
        ``t' = c t`` and ``u' = k u + b`` every derivative ``∂ⁿu/∂xⁿ = aⁿ/k · ∂ⁿu'/∂x'ⁿ``, the
        time derivative ``u_t = c/k · u'_t'`` and ``u = (u' - b)/k``; the right-hand side is
        expanded and collected again.  A new term fed by one old term keeps its interval
        (scaled) and inclusion; where old terms merge (a field offset makes ``u²`` spawn
        ``u`` and ``1``) the new term gets the summed coefficient and no interval.

        >>> eq = Equation("u_t", [{"term": "u_xx", "coef": 0.1, "ci": [0.09, 0.11]}],
        ...               fields=("u",), coords=("t", "x"))
        >>> km_days = eq.change_variables({"x": (1e-3, 0.0), "t": (1 / 86400, 0.0)})
        >>> print(km_days)
        u_t = 0.00864*u_xx
        >>> [round(v, 6) for v in km_days.terms[0].ci]
        [0.007776, 0.009504]
        """
        lhs_d = parse_symbol(self.lhs, self.fields, self.coords)
        if lhs_d is None:
            raise ValueError(f"the left-hand side '{self.lhs}' names no field derivative")
        renames = dict(renames or {})
        coords = tuple(renames.get(c, c) for c in self.coords)

        def new_name(name: str) -> str:
            d = parse_symbol(name, self.fields, self.coords)
            if d is None:
                return renames.get(name, name)
            return derivative_symbol(d.field, coords, d.orders)

        def factor(sym: str) -> tuple[float, float]:
            return tuple(float(v) for v in maps.get(sym, (1.0, 0.0)))  # type: ignore[return-value]

        def old_in_new(name: str) -> sp.Expr:
            d = parse_symbol(name, self.fields, self.coords)
            new = sp.Symbol(new_name(name))
            if d is None:  # a coordinate appearing in a term (forcing), or an unknown symbol
                a, b = factor(name) if name in self.coords else (1.0, 0.0)
                return (new - b) / a
            a_f, b_f = factor(d.field)
            if d.total_order == 0:
                return (new - b_f) / a_f
            scale = 1.0
            for c, n in zip(d.coords, d.orders):
                scale *= factor(c)[0] ** n
            return sp.Float(scale / a_f) * new

        # lhs: old = m * new  ->  new = rhs_old / m
        m = old_in_new(self.lhs) / sp.Symbol(new_name(self.lhs))
        pieces: list[dict[sp.Expr, float]] = []
        for e in self.term_exprs():
            sub = {s: old_in_new(s.name) for s in e.free_symbols}
            expanded = sp.expand(e.xreplace(sub) / m)
            pieces.append({k: float(v) for k, v in expanded.as_coefficients_dict().items()})
        sources: dict[Any, list[int]] = {}
        for i, pc in enumerate(pieces):
            for k in pc:  # a term with a coefficient field never merges with another
                sources.setdefault(k if self.terms[i].field is None else (k, i), []).append(i)
        coord_maps = {c: factor(c) for c in self.coords}
        terms = []
        for key, idx in sources.items():
            key = key[0] if isinstance(key, tuple) else key
            coef = sum(self.terms[i].coef * pieces[i][key] for i in idx)
            ci, inc, fld = None, None, None
            t0 = self.terms[idx[0]]
            if len(idx) == 1:
                mult = pieces[idx[0]][key]
                if t0.ci is not None:
                    lo, hi = sorted((t0.ci[0] * mult, t0.ci[1] * mult))
                    ci = (lo, hi)
                inc = t0.inclusion
                if t0.field is not None:
                    fld = t0.field.times(mult).moved(coord_maps, renames)
            name = "1" if key == 1 else sstr(key)
            terms.append(TermEstimate(name, float(coef), ci, inc, fld))
        return Equation(
            new_name(self.lhs),
            terms,
            fields=self.fields,
            coords=coords,
            units={**{renames.get(k, k): v for k, v in self.units.items()}, **(units or {})},
            digits=self.digits,
        )

    # ------------------------------------------------------------------ groups
    def groups(self) -> list[dict[str, Any]]:
        """Recognisable groups of terms whose coefficients agree within their intervals.

        A field's Laplacian: terms that differ only in which pure second derivative of the
        field they hold (``u_xx``, ``u_yy`` …, one per space coordinate) form ``c·Δu`` (or
        ``c·u·Δu`` …) when every pair of their intervals overlaps.  The group's coefficient
        is the inverse-variance weighted mean and its interval the matching one.  Groups are
        shown beside the equation, never forced on it.

        >>> eq = Equation("u_t", [{"term": "u_xx", "coef": 0.101, "ci": [0.099, 0.103]},
        ...                       {"term": "u_yy", "coef": 0.099, "ci": [0.097, 0.101]},
        ...                       {"term": "u_x", "coef": -1.0, "ci": [-1.01, -0.99]}],
        ...               fields=("u",), coords=("t", "x", "y"))
        >>> print(eq.grouped())
        u_t = 0.1*Δu - 1.0*u_x
        """
        space = self.coords[1:]
        if len(space) < 2:
            return []
        exprs = dict(zip((t.term for t in self.terms), self.term_exprs()))
        by_term = {t.term: t for t in self.terms}
        out = []
        for f in self.fields:
            second = {}
            for c in space:
                orders = tuple(2 if k == c else 0 for k in self.coords)
                second[c] = sp.Symbol(derivative_symbol(f, self.coords, orders))
            lap = sp.Symbol(LAPLACIAN + f)
            keyed: dict[sp.Expr, dict[str, str]] = {}
            for name, e in exprs.items():
                hits = [c for c, d in second.items() if e.has(d)]
                if len(hits) != 1 or not e.is_polynomial(second[hits[0]]):
                    continue
                if sp.degree(e, second[hits[0]]) != 1:
                    continue
                keyed.setdefault(e.subs(second[hits[0]], lap), {})[hits[0]] = name
            for key, members in keyed.items():
                if len(members) != len(space):
                    continue
                ts = [by_term[members[c]] for c in space]
                if any(t.ci is None for t in ts):
                    continue
                if not all(a.ci[0] <= b.ci[1] and b.ci[0] <= a.ci[1] for a in ts for b in ts):
                    continue
                half = np.array([(t.ci[1] - t.ci[0]) / 2 for t in ts])
                w = 1 / np.maximum(half, 1e-300) ** 2
                coef = float(np.sum(w * [t.coef for t in ts]) / w.sum())
                h = float(1 / np.sqrt(w.sum()))
                inc = [t.inclusion for t in ts if t.inclusion is not None]
                out.append(
                    {
                        "group": sstr(key),
                        "terms": [t.term for t in ts],
                        "coef": coef,
                        "ci": [coef - h, coef + h],
                        "inclusion": min(inc) if len(inc) == len(ts) else None,
                    }
                )
        return out

    def grouped(self) -> Equation | None:
        """The equation with its :meth:`groups` written compactly (``Δu``); None if none."""
        groups = self.groups()
        return self._grouped(groups) if groups else None

    def _grouped(self, groups: list[dict[str, Any]]) -> Equation:
        members = {m: g for g in groups for m in g["terms"]}
        terms: list[TermEstimate | dict] = []
        done = set()
        for t in self.terms:
            g = members.get(t.term)
            if g is None:
                terms.append(t)
            elif g["group"] not in done:
                done.add(g["group"])
                terms.append({k: g[k] for k in ("coef", "ci", "inclusion")} | {"term": g["group"]})
        return Equation(
            self.lhs,
            terms,
            fields=self.fields,
            coords=self.coords,
            units=self.units,
            digits=self.digits,
        )

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        return {
            "lhs": self.lhs,
            "rhs": self.rhs,
            "latex": self.to_latex(),
            "text": str(self),
            "terms": [t.as_dict() for t in self.terms],
            "groups": self.groups(),
            "fields": list(self.fields),
            "coords": list(self.coords),
            "units": dict(self.units),
            "coefficient_units": self.coefficient_units(),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Equation:
        """The equation of :meth:`to_dict`; a malformed record is a one-line
        :class:`~discover.errors.DataError`, and every term is parsed here by the restricted
        parser (no code in a record runs)."""
        if not isinstance(d, Mapping):
            raise DataError(f"an equation must be a JSON object, not {type(d).__name__}")
        for key in ("lhs", "terms"):
            if key not in d:
                raise DataError(f"an equation needs the key '{key}'; keys given: {list(d)}")
        try:
            eq = cls(
                _text(d["lhs"], "lhs"),
                _terms(d["terms"]),
                fields=[_text(f, "fields") for f in d.get("fields", ("u",))],
                coords=[_text(c, "coords") for c in d.get("coords", ("t", "x"))],
                units={_text(k, "units"): _text(v, "units") for k, v in _units(d).items()},
            )
        except (TypeError, KeyError, IndexError) as exc:
            raise DataError(f"cannot read the equation of {d.get('lhs')!r}: {exc}") from None
        except ExpressionError:
            raise
        except ValueError as exc:
            raise DataError(f"cannot read the equation of {d.get('lhs')!r}: {exc}") from None
        eq.term_exprs()  # parse every term now: a bad one fails here, in one line
        eq.field  # noqa: B018  (the left-hand side names a field's derivative)
        return eq

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
                and a.field == b.field
                for a, b in zip(self.terms, other.terms)
            )
        )

    __hash__ = None  # type: ignore[assignment]


def _field_summary(fld: CoefficientField, digits: int) -> str:
    """``D(x): 0.05 .. 0.15`` — the field's range over the data's extent."""
    grid = np.linspace(-1.0, 1.0, 21)
    mesh = np.meshgrid(*[grid * h + c for c, h in zip(fld.center, fld.half)], indexing="ij")
    v = fld.values(dict(zip(fld.args, mesh, strict=True)))
    call = f"{fld.name}({', '.join(fld.args)})"
    return f"{call}: {v.min():.{digits - 1}g} .. {v.max():.{digits - 1}g}"
