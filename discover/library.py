"""Candidate terms as SymPy expressions.

A :class:`Library` lists the terms that may explain the time derivative: the fields, their
spatial derivatives up to ``max_order`` (mixed ones in 2-D/3-D) and their products up to
polynomial ``degree`` — the PDE-FIND family — plus extra terms given as SymPy strings.  One
:class:`Term` gives its name (``u*u_x``), its column (evaluated on a table of features) and its
LaTeX (``u u_{x}``).

Naming contract (DESIGN.md): a field ``u`` on coordinates ``(t, x, y)`` has derivative
symbols ``u_t``, ``u_x``, ``u_xx``, ``u_xy`` … — the coordinate symbols concatenated in the
data's coordinate order when every coordinate symbol is one letter, joined by ``_``
otherwise (``T_lat``, ``T_lat_lon``).

Examples
--------
>>> lib = Library(("u",), ("t", "x"), max_order=2, degree=1)
>>> [t.name for t in lib.terms]
['1', 'u_x', 'u_xx', 'u', 'u*u_x', 'u*u_xx']
>>> lib.terms[4].latex()
'u u_{x}'
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.str import StrPrinter

from .errors import ExpressionError
from .parsing import parse_expr

__all__ = [
    "Derivative",
    "Library",
    "Term",
    "derivative_symbol",
    "latex",
    "parse_symbol",
]


def _suffix(coords: Sequence[str], orders: Sequence[int]) -> list[str]:
    return [c for c, k in zip(coords, orders) for _ in range(k)]


def derivative_symbol(field: str, coords: Sequence[str], orders: Sequence[int]) -> str:
    """Name of the derivative of ``field`` with ``orders[i]`` derivatives in ``coords[i]``.

    >>> derivative_symbol("u", ("t", "x", "y"), (0, 1, 1))
    'u_xy'
    >>> derivative_symbol("T", ("t", "lat", "lon"), (0, 2, 0))
    'T_lat_lat'
    >>> derivative_symbol("u", ("t", "x"), (0, 0))
    'u'
    """
    parts = _suffix(coords, orders)
    if not parts:
        return field
    sep = "" if all(len(c) == 1 for c in coords) else "_"
    return f"{field}_{sep.join(parts)}"


@dataclass(frozen=True)
class Derivative:
    """A derivative of one field: ``orders[i]`` derivatives along ``coords[i]``."""

    field: str
    coords: tuple[str, ...]
    orders: tuple[int, ...]

    @property
    def name(self) -> str:
        return derivative_symbol(self.field, self.coords, self.orders)

    @property
    def total_order(self) -> int:
        return int(sum(self.orders))


def parse_symbol(name: str, fields: Sequence[str], coords: Sequence[str]) -> Derivative | None:
    """The :class:`Derivative` a symbol names, or ``None`` if it names none.

    >>> parse_symbol("u_xxt", ("u",), ("t", "x"))
    Derivative(field='u', coords=('t', 'x'), orders=(1, 2))
    """
    for f in sorted(fields, key=len, reverse=True):
        if name == f:
            return Derivative(f, tuple(coords), (0,) * len(coords))
        if not name.startswith(f + "_"):
            continue
        rest = name[len(f) + 1 :]
        if all(len(c) == 1 for c in coords):
            parts = list(rest)
        else:
            parts = rest.split("_")
        if parts and all(p in coords for p in parts):
            return Derivative(f, tuple(coords), tuple(parts.count(c) for c in coords))
    return None


# ----------------------------------------------------------------------------- printing

#: prefix of the symbol of a field's Laplacian in grouped printing (``Δu``)
LAPLACIAN = "Δ"


def _latex_name(name: str, fields: Sequence[str], coords: Sequence[str]) -> str | None:
    def tex(s: str) -> str:
        return s if len(s) == 1 else r"\mathrm{" + s.replace("_", r"\_") + "}"

    if name.startswith(LAPLACIAN) and name[len(LAPLACIAN) :] in fields:
        return r"\Delta " + tex(name[len(LAPLACIAN) :])
    d = parse_symbol(name, fields, coords)
    if d is None:
        return None

    base = tex(d.field)
    parts = _suffix(d.coords, d.orders)
    if not parts:
        return base
    sub = r"\,".join(tex(p) for p in parts) if any(len(p) > 1 for p in parts) else "".join(parts)
    return f"{base}_{{{sub}}}"


def _format_number(value: float, digits: int) -> str:
    s = f"{value:.{digits}g}"
    if "e" in s or "inf" in s or "nan" in s:
        return s
    return s if "." in s else s + ".0"


class _FactorOrder:
    """Sums keep the order they were built in (``order="none"``); the factors of a product
    print in SymPy's usual order (``u^{2} u_{xx}``, not ``u_{xx} u^{2}``)."""

    _settings: dict

    def _print_Mul(self, expr: sp.Mul) -> str:
        from sympy.core.function import AppliedUndef
        from sympy.printing.precedence import PRECEDENCE

        funcs = [a for a in expr.args if isinstance(a, AppliedUndef)]
        if funcs and len(funcs) < len(expr.args):  # a coefficient field first: D(x)*u_xx
            rest = sp.Mul(*[a for a in expr.args if not isinstance(a, AppliedUndef)])
            sep = " " if isinstance(self, LatexPrinter) else "*"
            parts = [self._print(f) for f in funcs]
            return sep.join([*parts, self.parenthesize(rest, PRECEDENCE["Mul"])])
        order, self._settings["order"] = self._settings["order"], None
        try:
            return super()._print_Mul(expr)  # type: ignore[misc]
        finally:
            self._settings["order"] = order


class _Latex(_FactorOrder, LatexPrinter):
    """The one custom LaTeX printer: ``u_{xx}``, ``T_{\\mathrm{lat}}``, short numbers."""

    def __init__(self, names: Mapping[str, str], digits: int | None, settings: dict):
        super().__init__(settings)
        self._names = names
        self._digits = digits

    def _print_Symbol(self, expr: sp.Symbol, style: str = "plain") -> str:
        return self._names.get(expr.name) or super()._print_Symbol(expr)

    def _print_Add(self, expr: sp.Add, order: str | None = None) -> str:
        # SymPy writes a leading minus as "- 1.0 u_{x}"; a sign binds to its number
        out = super()._print_Add(expr, order)
        return "-" + out[2:] if out.startswith("- ") else out

    def _print_Float(self, expr: sp.Float) -> str:
        if self._digits is None:
            return super()._print_Float(expr)
        s = _format_number(float(expr), self._digits)
        if "e" in s:
            m, e = s.split("e")
            return rf"{m} \cdot 10^{{{int(e)}}}"
        return s


class _Str(_FactorOrder, StrPrinter):
    def __init__(self, digits: int | None):
        super().__init__({"order": "none"})
        self._digits = digits

    def _print_Float(self, expr: sp.Float) -> str:
        if self._digits is None:
            return repr(float(expr))
        return _format_number(float(expr), self._digits)


def latex(
    expr: sp.Basic,
    fields: Sequence[str] = (),
    coords: Sequence[str] = (),
    *,
    digits: int | None = None,
    **settings,
) -> str:
    """LaTeX of ``expr`` with derivative symbols as subscripts (``u_{xx}``).

    Extra keyword settings go to SymPy's :func:`sympy.latex` (``order``, ``mul_symbol`` …).

    >>> u, u_xx = sp.symbols("u u_xx")
    >>> latex(sp.Float(0.1) * u_xx - u * sp.Symbol("u_x"), ("u",), ("t", "x"), digits=3)
    '0.1 u_{xx} - u u_{x}'
    """
    names = {}
    for s in expr.free_symbols:
        tex = _latex_name(s.name, fields, coords)
        if tex is not None:
            names[s.name] = tex
    settings.setdefault("order", "none")
    return _Latex(names, digits, settings).doprint(expr)


def sstr(expr: sp.Basic, *, digits: int | None = None) -> str:
    """Plain text of ``expr`` in the order it was built, numbers to ``digits`` significant
    figures (full precision if ``None``)."""
    return _Str(digits).doprint(expr)


# ----------------------------------------------------------------------------- terms


@dataclass(frozen=True)
class Term:
    """One candidate term: a product of symbols (or an extra SymPy expression)."""

    expr: sp.Expr
    fields: tuple[str, ...]
    coords: tuple[str, ...]

    @property
    def name(self) -> str:
        """The SymPy string of the term: ``u*u_x``, ``u**2``, ``1``."""
        return sp.sstr(self.expr)

    @cached_property
    def symbols(self) -> tuple[str, ...]:
        return tuple(sorted(s.name for s in self.expr.free_symbols))

    @property
    def derivatives(self) -> list[Derivative]:
        """The derivatives (and plain fields) this term needs; coordinates (in forcing
        terms such as ``sin(2*pi*t/24)``) need none."""
        out = []
        for s in self.symbols:
            if s in self.coords:  # a forcing such as sin(2*pi*t/24) uses coordinates
                continue
            d = parse_symbol(s, self.fields, self.coords)
            if d is None:
                raise ValueError(
                    f"term '{self.name}' uses '{s}', which is neither a field nor a derivative"
                    f" of one; fields: {', '.join(self.fields)}; coordinates: "
                    f"{', '.join(self.coords)}"
                )
            out.append(d)
        return out

    @property
    def complexity(self) -> int:
        """Polynomial degree plus derivative orders: a simple measure of a term's size."""
        if self.expr.is_number:
            return 0
        total = 0
        for base, exp in self.expr.as_powers_dict().items():
            if isinstance(base, sp.Symbol):
                d = parse_symbol(base.name, self.fields, self.coords)
                total += int(exp) * (1 + (d.total_order if d else 0))
            else:
                total += 2
        return total

    def column(self, features: Mapping[str, np.ndarray]) -> np.ndarray:
        """Evaluate the term on arrays of features (``{"u": …, "u_x": …}``, and the
        coordinates ``{"t": …}`` where the term uses them)."""
        if self.expr.is_number:
            ref = next(iter(features.values()))
            return np.full(np.shape(ref), float(self.expr))
        f = sp.lambdify([sp.Symbol(s) for s in self.symbols], self.expr, modules="numpy")
        return np.asarray(f(*(features[s] for s in self.symbols)), dtype=float)

    def latex(self, **settings) -> str:
        return latex(self.expr, self.fields, self.coords, **settings)

    def __str__(self) -> str:
        return self.name


class Library:
    """The PDE-FIND family of candidate terms, plus extra ones.

    Parameters
    ----------
    fields : sequence of str
        Field symbols, e.g. ``("u",)`` or ``("u", "v")``.
    coords : sequence of str
        Coordinate symbols, time first, e.g. ``("t", "x", "y")``.
    max_order : int
        Highest total order of the spatial derivatives (mixed ones included).
    degree : int
        Highest polynomial degree in the fields of the factor multiplying a derivative, and
        of the pure polynomial terms.
    extra : sequence of str
        More terms as SymPy strings in the field and derivative symbols (``"u_x**2"``).
    include_constant : bool
        Whether the constant term ``1`` is a candidate.

    Raises
    ------
    ValueError
        On an unusable setting or extra term (naming what is wrong and what is valid).
    """

    def __init__(
        self,
        fields: Sequence[str],
        coords: Sequence[str],
        *,
        max_order: int = 3,
        degree: int = 2,
        extra: Iterable[str] = (),
        include_constant: bool = True,
    ) -> None:
        self.fields = tuple(fields)
        self.coords = tuple(coords)
        self.max_order = max_order
        self.degree = degree
        self.extra = tuple(extra)
        self.include_constant = include_constant
        if not self.fields:
            raise ValueError("a library needs at least one field")
        if len(self.coords) < 2:
            raise ValueError("a library needs time and at least one spatial coordinate")
        if not isinstance(max_order, int) or max_order < 0:
            raise ValueError(f"max_order must be a whole number >= 0, not {max_order!r}")
        if not isinstance(degree, int) or degree < 0:
            raise ValueError(f"degree must be a whole number >= 0, not {degree!r}")
        self.terms = self._build()
        if not self.terms:
            raise ValueError("the library is empty: raise max_order or degree, or give extra terms")

    @property
    def space(self) -> tuple[str, ...]:
        return self.coords[1:]

    def spatial_derivatives(self) -> list[Derivative]:
        """Every spatial derivative of every field up to ``max_order``, lowest first."""
        nd = len(self.space)
        out = []
        for order in range(1, self.max_order + 1):
            for combo in itertools.combinations_with_replacement(range(nd), order):
                orders = tuple([0] + [combo.count(i) for i in range(nd)])
                for f in self.fields:
                    out.append(Derivative(f, self.coords, orders))
        return out

    def time_derivative(self, field: str) -> Derivative:
        return Derivative(field, self.coords, (1,) + (0,) * len(self.space))

    def _monomials(self, max_degree: int) -> list[sp.Expr]:
        syms = [sp.Symbol(f) for f in self.fields]
        out: list[sp.Expr] = []
        for deg in range(0, max_degree + 1):
            for combo in itertools.combinations_with_replacement(syms, deg):
                out.append(sp.Mul(*combo))
        return out

    def _build(self) -> list[Term]:
        exprs: list[sp.Expr] = []
        monos = self._monomials(self.degree)
        derivs = [sp.Symbol(d.name) for d in self.spatial_derivatives()]
        for m in monos:
            if m == 1 and not self.include_constant:
                continue
            exprs.append(m)
        for m in monos:
            for d in derivs:
                exprs.append(m * d)
        # order: by polynomial multiplier first (1, u, u**2), then derivative order
        const = [e for e in exprs if e == 1]
        rest = [e for e in exprs if e != 1]
        rest.sort(key=lambda e: (self._poly_degree(e), self._deriv_order(e)))
        terms = [Term(e, self.fields, self.coords) for e in const + rest]
        known = {t.name for t in terms}
        for s in self.extra:
            expr = self._parse_extra(s)
            t = Term(expr, self.fields, self.coords)
            t.derivatives  # validates the symbols  # noqa: B018
            if t.name in known:
                continue
            known.add(t.name)
            terms.append(t)
        return terms

    def _poly_degree(self, e: sp.Expr) -> int:
        return sum(int(k) for b, k in e.as_powers_dict().items() if str(b) in self.fields)

    def _deriv_order(self, e: sp.Expr) -> int:
        return sum(
            (parse_symbol(str(b), self.fields, self.coords) or Derivative("", (), (0,))).total_order
            for b in e.free_symbols
        )

    def _parse_extra(self, s: str) -> sp.Expr:
        names = [*self.fields, *self.coords, *(d.name for d in self.spatial_derivatives())]
        try:
            expr = parse_expr(s, symbols=names)
        except ExpressionError as exc:
            raise ExpressionError(f"extra term: {exc}") from None
        if expr.is_number:
            raise ExpressionError(
                f"extra term '{s}' is a constant; the constant term is in the library already"
            )
        return expr

    def derivatives_needed(self) -> list[Derivative]:
        """All derivatives the terms use, plus each field's time derivative (lhs)."""
        seen: dict[str, Derivative] = {}
        for f in self.fields:
            d = self.time_derivative(f)
            seen[d.name] = d
        for t in self.terms:
            for d in t.derivatives:
                seen.setdefault(d.name, d)
        return list(seen.values())

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.terms]

    def matrix(self, features: Mapping[str, np.ndarray]) -> np.ndarray:
        """The design matrix, one column a term."""
        return np.column_stack([t.column(features) for t in self.terms])

    def __len__(self) -> int:
        return len(self.terms)

    def __repr__(self) -> str:
        return (
            f"Library(fields={self.fields}, coords={self.coords}, max_order={self.max_order}, "
            f"degree={self.degree}, {len(self.terms)} terms)"
        )
