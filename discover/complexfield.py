"""Complex fields: one complex equation ``ψ_t = Σ c_k θ_k(ψ)`` with complex coefficients.

A complex variable (a complex dtype, or a real/imaginary pair named ``psi_re``/``psi_im`` or
``psi_real``/``psi_imag``) is read as its real pair ``(a, b)`` (:func:`split_complex`), so
that every builder (finite differences, the weak form on the grid, the interpolant) works
on real data as it always does.  The regression is then posed for the complex field:

* The library (:class:`ComplexLibrary`) is the *phase-equivariant* family — terms that turn
  with ψ under a global phase ``ψ → e^{iφ}ψ``, the symmetry of every amplitude equation
  (Schrödinger, Ginzburg–Landau): ``|ψ|^{2j} ∂^α ψ`` and ``ψ² |ψ|^{2j} conj(∂^α ψ)``
  (``|α| ≥ 1``), with the factor in front of the derivative of polynomial degree at most
  ``degree`` (as in the real library), ``∂^α`` every spatial derivative up to ``max_order``
  (``α = 0``: ψ itself) — plus the constant when asked.  With the defaults (order 3,
  degree 2) that is 12 complex terms: ``1, ψ, |ψ|²ψ, ψ_x, |ψ|²ψ_x, ψ² conj(ψ_x), …``.
* Each complex term's real and imaginary parts are polynomials in the pair and its
  derivatives; the builders evaluate those real monomials (one real library), and
  ``Re θ_k = X R[:, k]``, ``Im θ_k = X J[:, k]``.
* The complex least squares ``ψ_t ≈ Θ c`` is solved as its equivalent real block system
  (:func:`stack`): rows ``[a_t; b_t]``, columns ``[[ReΘ, -ImΘ], [ImΘ, ReΘ]]``, unknowns
  ``[Re c; Im c]`` — exactly the complex normal equations, and the real and imaginary part
  of every coefficient are selected separately (NLS's coefficients are purely imaginary,
  and the selection keeps only those parts).  Folds keep a point's two rows together.
* The result is one :class:`ComplexEquation`, printed with SymPy's ``I`` and ``Abs``, and
  multiplied by ``I`` when that makes its coefficients mostly real
  (``I*psi_t = -0.5*psi_xx - 1.0*Abs(psi)**2*psi``); the real pair it implies is reported as
  ordinary equations underneath (:meth:`ComplexEquation.real_pair`).

Examples
--------
>>> lib = ComplexLibrary("psi", ("psi_re", "psi_im"), ("t", "x"), max_order=2, degree=2)
>>> lib.complex_names[:5]
['1', 'psi', 'psi_x', 'psi_xx', 'Abs(psi)**2*psi']
>>> lib.complex_names[5:]
['psi**2*conjugate(psi_x)', 'Abs(psi)**2*psi_x', 'psi**2*conjugate(psi_xx)', 'Abs(psi)**2*psi_xx']
>>> eq = ComplexEquation("psi", ("psi_re", "psi_im"), ("t", "x"),
...                      [ComplexTerm("psi_xx", 0.5j), ComplexTerm("Abs(psi)**2*psi", 1j)])
>>> print(eq)
I*psi_t = -0.5*psi_xx - 1.0*Abs(psi)**2*psi
>>> for e in eq.real_pair():
...     print(e)
psi_re_t = -0.5*psi_im_xx - 1.0*psi_im**3 - 1.0*psi_im*psi_re**2
psi_im_t = 0.5*psi_re_xx + 1.0*psi_re**3 + 1.0*psi_im**2*psi_re
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import sympy as sp

from .builders.base import RegressionSystem, RegressionSystems
from .equation import Equation, TermEstimate, format_uncertain
from .errors import DataError, ExpressionError
from .io.pairs import PAIR_SUFFIXES, split_complex
from .library import Derivative, Library, _format_number, derivative_symbol, latex, sstr
from .parsing import FUNCTIONS, parse_expr

__all__ = [
    "PAIR_SUFFIXES",
    "ComplexEquation",
    "ComplexLibrary",
    "ComplexTerm",
    "split_complex",
    "stack",
]

# ----------------------------------------------------------------------------- library


#: the functions a complex term may call
COMPLEX_FUNCTIONS = {**FUNCTIONS, "conjugate": sp.conjugate}


def parse_complex(text: str) -> sp.Expr:
    """A complex term or coefficient through the restricted parser (``I`` is ``sqrt(-1)``,
    ``conjugate`` and ``Abs`` may be called; nothing runs).

    >>> parse_complex("Abs(psi)**2*psi")
    psi*Abs(psi)**2
    """
    return parse_expr(text, symbols={"I": sp.I}, functions=COMPLEX_FUNCTIONS)


class ComplexLibrary:
    """The phase-equivariant candidate terms of one complex field (module notes).

    Parameters
    ----------
    field : str
        The complex field's symbol (``psi``).
    pair : (str, str)
        The symbols of its real and imaginary parts in the data (``psi_re``, ``psi_im``).
    coords : sequence of str
        Coordinate symbols, time first.
    max_order, degree, include_constant
        As for :class:`discover.library.Library`.

    Attributes
    ----------
    real : Library
        The real monomials the builders evaluate on the pair.
    R, J : ndarray, shape (len(real), n_terms)
        ``Re θ_k`` and ``Im θ_k`` as combinations of the real library's columns.
    names : list of str
        The unknowns of the stacked regression: ``θ_k`` (its coefficient's real part), then
        ``I*θ_k`` (the imaginary part).
    """

    def __init__(
        self,
        field: str,
        pair: tuple[str, str],
        coords: Sequence[str],
        *,
        max_order: int = 3,
        degree: int = 2,
        include_constant: bool = True,
    ) -> None:
        self.field = field
        self.pair = tuple(pair)
        self.coords = tuple(coords)
        self.fields = (field,)
        self.max_order, self.degree = max_order, degree
        self.complex_names = _complex_terms(field, self.coords, max_order, degree, include_constant)
        if not self.complex_names:
            raise ValueError("the library is empty: raise max_order or degree")
        self.terms = [parse_complex(t) for t in self.complex_names]
        parts = [real_parts(t, field, self.pair, self.coords) for t in self.terms]
        monos: dict[str, None] = {}
        for re, im in parts:
            for p in (re, im):
                for m in p:
                    monos.setdefault(m, None)
        const = "1" in monos
        self.real = Library(
            self.pair,
            self.coords,
            max_order=0,
            degree=0,
            include_constant=const,
            extra=[m for m in monos if m != "1"],
        )
        index = {n: i for i, n in enumerate(self.real.names)}
        self.R = np.zeros((len(self.real), len(self.terms)))
        self.J = np.zeros_like(self.R)
        for k, (re, im) in enumerate(parts):
            for mat, p in ((self.R, re), (self.J, im)):
                for m, c in p.items():
                    mat[index[m], k] += c

    @property
    def names(self) -> list[str]:
        return self.complex_names + ["I" if t == "1" else f"I*{t}" for t in self.complex_names]

    def __len__(self) -> int:
        return 2 * len(self.terms)

    def time_derivative(self, field: str) -> Derivative:
        return Derivative(field, self.coords, (1,) + (0,) * (len(self.coords) - 1))

    def blocks(self) -> dict[str, np.ndarray]:
        """Pair symbol -> the map from the real library's columns to the stacked unknowns:
        ``[R, -J]`` for the real part's rows, ``[J, R]`` for the imaginary part's."""
        re, im = self.pair
        return {re: np.hstack([self.R, -self.J]), im: np.hstack([self.J, self.R])}

    def __repr__(self) -> str:
        return (
            f"ComplexLibrary(field={self.field!r}, pair={self.pair}, {len(self.terms)} complex "
            f"terms over {len(self.real)} real monomials)"
        )


def _complex_terms(
    field: str, coords: tuple[str, ...], max_order: int, degree: int, const: bool
) -> list[str]:
    """``1``, ``|ψ|^{2j} ∂^α ψ`` and ``ψ²|ψ|^{2j} conj(∂^α ψ)`` (module notes) as text
    (``Abs(psi)**2*psi_xx``), ordered by the degree of the factor, then the derivative's
    order."""
    orders = [(0,) * len(coords)] + [
        d.orders for d in Library(("w",), coords, max_order=max_order).spatial_derivatives()
    ]
    keyed = []
    for o in orders:
        d = derivative_symbol(field, coords, o)
        total = sum(o)
        for j in range(degree // 2 + 1):
            mod = [f"Abs({field})**{2 * j}"] if j else []
            keyed.append(((2 * j, total), "*".join([*mod, d])))
            if total and 2 + 2 * j <= degree:
                keyed.append(((2 + 2 * j, total), "*".join([*mod, f"{field}**2*conjugate({d})"])))
    keyed.sort(key=lambda kv: kv[0])
    return (["1"] if const else []) + [e for _, e in keyed]


def real_parts(
    term: sp.Expr, field: str, pair: Sequence[str], coords: Sequence[str]
) -> tuple[dict[str, float], dict[str, float]]:
    """``Re term`` and ``Im term`` as ``{monomial in the pair: coefficient}``.

    >>> re, im = real_parts(parse_complex("psi**2*conjugate(psi_x)"), "psi", ("a", "b"),
    ...                     ("t", "x"))
    >>> re
    {'a**2*a_x': 1.0, 'a_x*b**2': -1.0, 'a*b*b_x': 2.0}
    """
    sub = {}
    for s in term.free_symbols:
        if s.name == field:
            orders = (0,) * len(coords)
        else:
            d = _parse_derivative(s.name, field, coords)
            orders = d.orders
        a = sp.Symbol(derivative_symbol(pair[0], coords, orders), real=True)
        b = sp.Symbol(derivative_symbol(pair[1], coords, orders), real=True)
        sub[s] = a + sp.I * b
    value = sp.expand(term.xreplace(sub))
    re, im = value.as_real_imag()
    return _poly(sp.expand(re)), _poly(sp.expand(im))


def _parse_derivative(name: str, field: str, coords: Sequence[str]) -> Derivative:
    from .library import parse_symbol

    d = parse_symbol(name, (field,), coords)
    if d is None:
        raise ExpressionError(f"'{name}' is no derivative of the complex field '{field}'")
    return d


def _poly(expr: sp.Expr) -> dict[str, float]:
    """``{monomial text (plain symbols): coefficient}`` of an expanded real polynomial."""
    out: dict[str, float] = {}
    plain = {s: sp.Symbol(s.name) for s in expr.free_symbols}
    for mono, c in expr.xreplace(plain).as_coefficients_dict().items():
        if c == 0:
            continue
        coef, rest = sp.Mul(c, mono).as_coeff_Mul()
        key = sstr(rest) if rest != 1 else "1"
        out[key] = out.get(key, 0.0) + float(coef)
    return {k: v for k, v in out.items() if v != 0}


# ----------------------------------------------------------------------------- regression


def stack(built: RegressionSystems, lib: ComplexLibrary) -> RegressionSystems:
    """The complex regression as its real block system (module notes), one field: the
    complex symbol.  Rows ``[a; b]`` of each variant, columns the stacked unknowns; a
    point's two rows share its fold; the effective size doubles (two independent noises).
    The weak form's noise correction carries over through the same linear map."""
    re, im = lib.pair
    V = lib.blocks()
    systems = []
    for s in built.systems:
        if s.factors:
            raise DataError("a complex field is not taken by the chunked path; give more memory=")
        Xa, ya = s.tables[re]
        Xb, yb = s.tables[im]
        X = np.vstack([Xa @ V[re], Xb @ V[im]])
        y = np.concatenate([ya, yb])
        ne = s.n_eff.get(re)
        systems.append(
            RegressionSystem(
                s.variant,
                {lib.field: (X, y)},
                np.vstack([s.points, s.points]),
                np.concatenate([s.folds, s.folds]),
                {lib.field: None if ne is None else 2 * ne},
            )
        )
    debias = None
    if built.noise_gram is not None:
        debias = _complex_debias(built.noise_gram, lib)
    # the fresh-noise refit (the interval's noise-bias part) is defined on the real fields'
    # systems, not on the stacked one: the complex interval is bootstrap and box size
    return replace(built, systems=systems, debias=debias, noise_gram=None, refresh=None)


def _complex_debias(noise_gram, lib: ComplexLibrary):
    """``(field, X, y, idx) -> coefficients``: the real builder's expected noise share of
    the Gram matrix, mapped through the blocks, taken out (errors in variables)."""
    re, im = lib.pair
    V = lib.blocks()

    def debias(fld: str, X: np.ndarray, y: np.ndarray, idx: Sequence[int]):
        idx = list(idx)
        if not idx:
            return None
        va, vb = V[re][:, idx], V[im][:, idx]
        cols = [int(c) for c in np.nonzero(np.any(va != 0, axis=1) | np.any(vb != 0, axis=1))[0]]
        nxx, nxy_a = noise_gram(re, cols)
        _, nxy_b = noise_gram(im, cols)
        va, vb = va[cols], vb[cols]
        A = X[:, idx]
        G = A.T @ A - (va.T @ nxx @ va + vb.T @ nxx @ vb)
        if np.any(np.linalg.eigvalsh(G) <= 1e-3 * np.diag(A.T @ A).min()):
            return None
        return np.linalg.solve(G, A.T @ y - (va.T @ nxy_a + vb.T @ nxy_b))

    return debias


# ----------------------------------------------------------------------------- equation


@dataclass(frozen=True)
class ComplexTerm:
    """One term of a complex equation: ``coef · term`` with a complex coefficient, the
    intervals of its real and imaginary parts (None: that part was not selected), and
    the inclusion of the term (the larger of its parts')."""

    term: str
    coef: complex
    ci_re: tuple[float, float] | None = None
    ci_im: tuple[float, float] | None = None
    inclusion: float | None = None

    def as_dict(self) -> dict[str, Any]:
        def pair(ci):
            return None if ci is None else [float(ci[0]), float(ci[1])]

        return {
            "term": self.term,
            "coef_re": float(self.coef.real),
            "coef_im": float(self.coef.imag),
            "ci_re": pair(self.ci_re),
            "ci_im": pair(self.ci_im),
            "inclusion": None if self.inclusion is None else float(self.inclusion),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ComplexTerm:
        if not isinstance(d, Mapping) or "term" not in d or "coef_re" not in d:
            raise DataError("a complex term needs 'term', 'coef_re' and 'coef_im'")

        def pair(v):
            return None if v is None else (float(v[0]), float(v[1]))

        return cls(
            str(d["term"]),
            complex(float(d["coef_re"]), float(d.get("coef_im", 0.0))),
            pair(d.get("ci_re")),
            pair(d.get("ci_im")),
            None if d.get("inclusion") is None else float(d["inclusion"]),
        )


class ComplexEquation:
    """``ψ_t = Σ c_k θ_k`` with complex ``c_k``; printed as ``f·ψ_t = Σ f c_k θ_k`` with
    ``f = I`` when that makes the coefficients mostly real (:attr:`factor`).

    Parameters
    ----------
    field : str
        The complex field's symbol.
    pair : (str, str)
        Its real and imaginary parts' symbols.
    coords : sequence of str
    terms : sequence of ComplexTerm
        Coefficients of ``ψ_t`` (not multiplied by the factor).
    units : dict, optional
    digits : int
        Significant figures when printing.
    """

    def __init__(
        self,
        field: str,
        pair: Sequence[str],
        coords: Sequence[str],
        terms: Sequence[ComplexTerm],
        *,
        units: Mapping[str, str] | None = None,
        digits: int = 4,
    ) -> None:
        self.field = field
        self.pair = tuple(pair)
        self.coords = tuple(coords)
        self.terms = list(terms)
        self.units = dict(units or {})
        self.digits = digits
        for t in self.terms:
            self._expr(t.term)  # every term parses (restricted parser)

    # ------------------------------------------------------------------ SymPy
    @property
    def lhs_symbol(self) -> str:
        return derivative_symbol(self.field, self.coords, (1,) + (0,) * (len(self.coords) - 1))

    @property
    def factor(self) -> complex:
        """``1j`` when the real parts of ``I*c_k`` outweigh those of ``c_k``, else 1."""
        re = sum(abs(t.coef.real) for t in self.terms)
        im = sum(abs(t.coef.imag) for t in self.terms)
        return 1j if im > re else 1.0 + 0j

    def _expr(self, text: str) -> sp.Expr:
        try:
            return parse_complex(text)
        except ExpressionError as exc:
            raise DataError(f"cannot read the complex term '{text}': {exc}") from None

    @staticmethod
    def _times(c: complex, term: sp.Expr | None) -> sp.Expr:
        """``c·term`` unevaluated, flat where ``c`` is real or imaginary (``-0.2*I*psi``),
        the complex number in brackets otherwise (``(0.1 + 0.2*I)*psi``)."""
        if c.imag == 0:
            factors = [sp.Float(c.real, 17)]
        elif c.real == 0:
            factors = [sp.Float(c.imag, 17), sp.I]
        else:
            factors = [
                sp.Add(sp.Float(c.real, 17), sp.Mul(sp.Float(c.imag, 17), sp.I), evaluate=False)
            ]
        if term is not None:
            factors.append(term)
        return factors[0] if len(factors) == 1 else sp.Mul(*factors, evaluate=False)

    @property
    def lhs_expr(self) -> sp.Expr:
        s = sp.Symbol(self.lhs_symbol)
        return sp.Mul(sp.I, s, evaluate=False) if self.factor == 1j else s

    @property
    def rhs_expr(self) -> sp.Expr:
        """The printed right-hand side (coefficients multiplied by :attr:`factor`)."""
        f = self.factor
        parts = []
        for t in self.terms:
            e = self._expr(t.term)
            parts.append(self._times(complex(t.coef) * f, None if e == 1 else e))
        return sp.Add(*parts, evaluate=False) if parts else sp.Integer(0)

    @property
    def sympy(self) -> sp.Eq:
        return sp.Eq(self.lhs_expr, self.rhs_expr, evaluate=False)

    @property
    def lhs(self) -> str:
        return sstr(self.lhs_expr)

    @property
    def rhs(self) -> str:
        """The printed right-hand side in full precision (the restricted parser reads it,
        ``I`` the imaginary unit)."""
        return self._text(None)

    @property
    def coefficients(self) -> dict[str, complex]:
        """Term -> the complex coefficient of ``ψ_t``."""
        return {t.term: complex(t.coef) for t in self.terms}

    def _text(self, digits: int | None) -> str:
        """The printed right-hand side as text, each term ``coefficient*term`` in the
        library's spelling (``-1.0*Abs(psi)**2*psi``, ``(0.1 - 0.5*I)*psi_xx``)."""
        f = self.factor
        out = ""
        for t in self.terms:
            c = complex(t.coef) * f
            text = _coefficient_text(c, digits)
            if t.term != "1":
                text += "*" + t.term
            if not out:
                out = text
            elif text.startswith("-"):
                out += " - " + text[1:]
            else:
                out += " + " + text
        return out or "0"

    def __str__(self) -> str:
        return f"{self.lhs} = {self._text(self.digits)}"

    def __repr__(self) -> str:
        return f"<ComplexEquation {self}>"

    def to_latex(self, **settings) -> str:
        digits = settings.pop("digits", self.digits)
        return latex(self.sympy, (self.field,), self.coords, digits=digits, **settings)

    def summary(self) -> str:
        """The equation, one line per term (its printed coefficient's parts ± half their
        intervals), then the real pair."""
        f = self.factor
        lines = [str(self)]
        width = max((len(t.term) for t in self.terms), default=0)
        for t in self.terms:
            c = complex(t.coef) * f
            # the printed coefficient's parts and intervals (multiplying by I swaps them)
            re_ci, im_ci = (t.ci_re, t.ci_im) if f == 1 else (_neg(t.ci_im), t.ci_re)
            parts = []
            for v, ci, unit in ((c.real, re_ci, ""), (c.imag, im_ci, "*I")):
                if v == 0 and ci is None:
                    continue
                num = format_uncertain(v, (ci[1] - ci[0]) / 2) if ci else f"{v:.{self.digits}g}"
                parts.append(f"({num}){unit}" if unit else num)
            inc = "" if t.inclusion is None else f"  (inclusion {t.inclusion:.2f})"
            lines.append(f"    {' + '.join(parts) or '0'}  {t.term:<{width}}{inc}".rstrip())
        lines.append(f"the real pair ({self.field} = {self.pair[0]} + I*{self.pair[1]}):")
        lines += [f"    {e}" for e in self.real_pair()]
        return "\n".join(lines)

    # ------------------------------------------------------------------ the real pair
    def real_pair(self) -> list[Equation]:
        """The two real equations the complex one stands for, ``a_t = Re(…)``,
        ``b_t = Im(…)``; a real term fed by one complex part keeps its interval (scaled)."""
        out = []
        for which, name in enumerate(self.pair):
            coefs: dict[str, float] = {}
            sources: dict[str, list[tuple[float, tuple | None, float | None]]] = {}
            for t in self.terms:
                re, im = real_parts(self._expr(t.term), self.field, self.pair, self.coords)
                # Re(c θ) = α Reθ - β Imθ;  Im(c θ) = α Imθ + β Reθ
                pieces = (
                    [(re, 1.0, t.ci_re, t.coef.real), (im, -1.0, t.ci_im, t.coef.imag)]
                    if which == 0
                    else [(im, 1.0, t.ci_re, t.coef.real), (re, 1.0, t.ci_im, t.coef.imag)]
                )
                for poly, sign, ci, c in pieces:
                    if c == 0 and ci is None:
                        continue
                    for m, w in poly.items():
                        coefs[m] = coefs.get(m, 0.0) + sign * w * c
                        sources.setdefault(m, []).append((sign * w, ci, t.inclusion))
            terms = []
            for m, c in coefs.items():
                if c == 0:
                    continue
                ci = inc = None
                if len(sources[m]) == 1:
                    mult, ci0, inc = sources[m][0]
                    if ci0 is not None:
                        ci = tuple(sorted((ci0[0] * mult, ci0[1] * mult)))
                terms.append(TermEstimate(m, c, ci, inc))
            lhs = derivative_symbol(name, self.coords, (1,) + (0,) * (len(self.coords) - 1))
            out.append(Equation(lhs, terms, fields=self.pair, coords=self.coords, units=self.units))
        return out

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "pair": list(self.pair),
            "lhs": self.lhs,
            "rhs": self.rhs,
            "factor": "I" if self.factor == 1j else "1",
            "latex": self.to_latex(),
            "text": str(self),
            "terms": [t.as_dict() for t in self.terms],
            "coords": list(self.coords),
            "units": dict(self.units),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ComplexEquation:
        """The equation of :meth:`to_dict` (terms through the restricted parser); a bad
        record is a one-line :class:`DataError`."""
        if not isinstance(d, Mapping):
            raise DataError("a complex equation must be a JSON object")
        for key in ("field", "pair", "terms", "coords"):
            if key not in d:
                raise DataError(f"a complex equation needs the key '{key}'; keys given: {list(d)}")
        pair, terms = d["pair"], d["terms"]
        if not isinstance(pair, list) or len(pair) != 2 or not isinstance(terms, list):
            raise DataError("a complex equation's 'pair' must name two fields, 'terms' a list")
        try:
            return cls(
                str(d["field"]),
                [str(p) for p in pair],
                [str(c) for c in d["coords"]],
                [ComplexTerm.from_dict(t) for t in terms],
                units={str(k): str(v) for k, v in (d.get("units") or {}).items()},
            )
        except (TypeError, ValueError, IndexError) as exc:
            what = d.get("field")
            raise DataError(f"cannot read the complex equation of {what!r}: {exc}") from None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ComplexEquation):
            return NotImplemented
        return (self.field, self.pair, self.coords, self.terms, self.units) == (
            other.field,
            other.pair,
            other.coords,
            other.terms,
            other.units,
        )

    __hash__ = None  # type: ignore[assignment]


def _coefficient_text(c: complex, digits: int | None) -> str:
    """``-0.5``, ``0.2*I``, ``(0.1 - 0.5*I)``: a complex coefficient as text.

    >>> _coefficient_text(complex(0.1, -0.5), 4), _coefficient_text(-0.25j, None)
    ('(0.1 - 0.5*I)', '-0.25*I')
    """

    def num(v: float) -> str:
        return repr(float(v)) if digits is None else _format_number(v, digits)

    if c.imag == 0:
        return num(c.real)
    if c.real == 0:
        return num(c.imag) + "*I"
    sign = "-" if c.imag < 0 else "+"
    return f"({num(c.real)} {sign} {num(abs(c.imag))}*I)"


def _neg(ci: tuple[float, float] | None) -> tuple[float, float] | None:
    return None if ci is None else (-ci[1], -ci[0])


def from_fit(eq: Equation, lib: ComplexLibrary) -> ComplexEquation:
    """The :class:`ComplexEquation` of a fit on the stacked unknowns (``θ``, ``I*θ``)."""
    n = len(lib.terms)
    where = {name: (i % n, i // n) for i, name in enumerate(lib.names)}
    by_term: dict[int, dict[int, TermEstimate]] = {}
    for t in eq.terms:
        k, part = where[t.term]
        by_term.setdefault(k, {})[part] = t
    terms = []
    for k, parts in by_term.items():
        re, im = parts.get(0), parts.get(1)
        incl = [p.inclusion for p in parts.values() if p.inclusion is not None]
        terms.append(
            ComplexTerm(
                lib.complex_names[k],
                complex(re.coef if re else 0.0, im.coef if im else 0.0),
                re.ci if re else None,
                im.ci if im else None,
                max(incl) if incl else None,
            )
        )
    return ComplexEquation(lib.field, lib.pair, lib.coords, terms, units=eq.units)
