"""Text to SymPy without running code: the one parser of the project.

Every string that becomes a SymPy object — a term in a result JSON, an equation given to
``solve``, ``--extra`` and ``--units``, an equation in a netCDF attribute — goes through
:func:`parse_expr` or :func:`parse_equation`.  They walk Python's syntax tree (``ast``) and
admit only numbers, names, ``+ - * / **`` (and ``^`` for a power) and calls of an allow-list
of mathematical functions; anything else — attribute access, subscripts, lambdas,
comprehensions, strings, keywords — is a one-line :class:`~discover.errors.ExpressionError`.
Nothing is evaluated by Python: the SymPy objects are built node by node.

Names are always symbols of the data, never SymPy's built-ins: ``E`` is a field named E, not
Euler's number, and ``I``, ``N``, ``S``, ``beta``, ``lambda_`` are names like any other; so
is ``sin`` when it is not called (a field may be named so).  The
one constant is ``pi`` (unless the caller declares a symbol of that name).

Examples
--------
>>> parse_expr("0.1*u_xx - u*u_x")
-u*u_x + 0.1*u_xx
>>> parse_expr("E*E_x + sin(2*pi*t/24)")
E*E_x + sin(pi*t/12)
>>> parse_expr("__import__('os').system('true')")
Traceback (most recent call last):
...
discover.errors.ExpressionError: cannot read "__import__('os').system('true')" as a formula: ...
>>> parse_equation("u_t = 0.5*u_xx")
(u_t, 0.5*u_xx)
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import sympy as sp

from .errors import ExpressionError

__all__ = ["FUNCTIONS", "parse_equation", "parse_expr"]

#: the functions a formula may call, by the name it is written with
FUNCTIONS: dict[str, Callable[..., sp.Expr]] = {
    "sin": sp.sin,
    "cos": sp.cos,
    "tan": sp.tan,
    "exp": sp.exp,
    "log": sp.log,
    "sqrt": sp.sqrt,
    "tanh": sp.tanh,
    "sinh": sp.sinh,
    "cosh": sp.cosh,
    "Abs": sp.Abs,
    "abs": sp.Abs,
    "sign": sp.sign,
}
#: the named constants (a symbol of the same name declared by the caller wins)
CONSTANTS: dict[str, sp.Expr] = {"pi": sp.pi}
#: longest text, deepest nesting and largest numeric exponent admitted
MAX_LENGTH = 5000
MAX_DEPTH = 100
MAX_EXPONENT = 1000

_BINARY = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: _power(a, b),
    ast.BitXor: lambda a, b: _power(a, b),
}
_UNARY = {ast.USub: lambda a: -a, ast.UAdd: lambda a: a}


class _Reject(Exception):
    """Why a node is not admitted (turned into an ExpressionError with the text)."""


def _shown(text: str, limit: int = 60) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _power(base: sp.Expr, exp: sp.Expr) -> sp.Expr:
    if exp.is_number and (not exp.is_finite or abs(exp) > MAX_EXPONENT):
        shown = _shown(sp.sstr(exp), 20)
        raise _Reject(f"the exponent {shown} is too large (at most {MAX_EXPONENT})")
    return base**exp


class _Builder:
    def __init__(self, text: str, symbols: Mapping[str, sp.Expr], functions: Mapping) -> None:
        self.text = text
        self.symbols = symbols
        self.functions = functions

    def build(self, node: ast.AST, depth: int = 0) -> sp.Expr:
        if depth > MAX_DEPTH:
            raise _Reject(f"it is nested more than {MAX_DEPTH} levels deep")
        if isinstance(node, ast.Expression):
            return self.build(node.body, depth + 1)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            left, right = self.build(node.left, depth + 1), self.build(node.right, depth + 1)
            return _BINARY[type(node.op)](left, right)
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            return _UNARY[type(node.op)](self.build(node.operand, depth + 1))
        if isinstance(node, ast.Constant):
            return self.number(node)
        if isinstance(node, ast.Name):
            return self.name(node.id)
        if isinstance(node, ast.Call):
            return self.call(node, depth)
        raise _Reject(f"{_describe(node)} is not allowed")

    def number(self, node: ast.Constant) -> sp.Expr:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _Reject(f"the constant {_shown(repr(value), 20)} is not a real number")
        if isinstance(value, int):
            return sp.Integer(value)
        literal = ast.get_source_segment(self.text, node) or repr(value)
        return sp.Float(literal.replace("_", ""))

    def name(self, name: str) -> sp.Expr:
        if name in self.symbols:
            return self.symbols[name]
        if name in CONSTANTS:
            return CONSTANTS[name]
        return sp.Symbol(name)

    def call(self, node: ast.Call, depth: int) -> sp.Expr:
        fname = node.func.id if isinstance(node.func, ast.Name) else None
        if fname is None:
            raise _Reject(f"calling the result of {_describe(node.func)} is not allowed")
        if fname not in self.functions:
            shown = fname
            raise _Reject(
                f"the function {shown} is not allowed; functions: "
                f"{', '.join(sorted(self.functions))}"
            )
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise _Reject(f"{fname}() takes plain arguments, no keywords or *")
        args = [self.build(a, depth + 1) for a in node.args]
        try:
            return self.functions[fname](*args)
        except (TypeError, ValueError) as exc:
            raise _Reject(f"{fname}() cannot take these arguments ({_shown(exc, 60)})") from None


def _describe(node: ast.AST) -> str:
    kinds = {
        ast.Attribute: "attribute access (a.b)",
        ast.Subscript: "indexing (a[b])",
        ast.Lambda: "lambda",
        ast.Compare: "a comparison",
        ast.BoolOp: "and/or",
        ast.IfExp: "if/else",
        ast.JoinedStr: "an f-string",
        ast.NamedExpr: "assignment (:=)",
    }
    for kind, words in kinds.items():
        if isinstance(node, kind):
            return words
    return type(node).__name__.lower()


def _symbol_table(symbols: Mapping[str, sp.Expr] | Iterable[str]) -> dict[str, sp.Expr]:
    if isinstance(symbols, Mapping):
        return dict(symbols)
    return {s: sp.Symbol(s) for s in symbols}


def parse_expr(
    text: str,
    *,
    symbols: Mapping[str, sp.Expr] | Iterable[str] = (),
    functions: Mapping[str, Callable[..., Any]] | None = None,
) -> sp.Expr:
    """Read ``text`` as a SymPy expression without executing anything.

    Parameters
    ----------
    text : str
        A formula: numbers, names, ``+ - * / **`` (``^`` too), parentheses and calls of
        ``functions``.
    symbols : mapping or iterable of str
        Names with a fixed meaning (e.g. the data's fields and coordinates).  Any other name
        becomes a plain :class:`sympy.Symbol` of that name.
    functions : mapping, optional
        Callable name -> function building the SymPy object; :data:`FUNCTIONS` by default.

    Raises
    ------
    ExpressionError
        One line naming what is not allowed.

    Examples
    --------
    >>> parse_expr("air_temp_x**2 / 2")
    air_temp_x**2/2
    >>> parse_expr("u.__class__")
    Traceback (most recent call last):
    ...
    discover.errors.ExpressionError: cannot read "u.__class__" as a formula: attribute access ...
    """
    if not isinstance(text, str):
        raise ExpressionError(f"a formula must be text, not {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"cannot read a formula of {len(text)} characters; at most {MAX_LENGTH} are allowed"
        )
    text = text.strip()
    builder = _Builder(text, _symbol_table(symbols), FUNCTIONS if functions is None else functions)
    try:
        tree = ast.parse(text, mode="eval")
        return sp.sympify(builder.build(tree))  # plain numbers as SymPy numbers
    except _Reject as exc:
        why = str(exc)
    except SyntaxError as exc:
        why = f"it is not a formula ({_shown(exc.msg, 50)})"
    except (RecursionError, MemoryError, ValueError, OverflowError):
        why = "it is too large or too deeply nested"
    raise ExpressionError(
        f'cannot read "{_shown(text)}" as a formula: {why}; write numbers, names, + - * / ** '
        "and functions such as sin(x), e.g. '0.1*u_xx - u*u_x'"
    )


def parse_equation(
    text: str,
    *,
    symbols: Mapping[str, sp.Expr] | Iterable[str] = (),
    functions: Mapping[str, Callable[..., Any]] | None = None,
) -> tuple[sp.Expr, sp.Expr]:
    """Read ``'lhs = rhs'`` (exactly one ``=``) as two SymPy expressions, as
    :func:`parse_expr` reads each side.

    >>> parse_equation("T_t = -0.5*U*T_x")
    (T_t, -0.5*T_x*U)
    """
    if not isinstance(text, str):
        raise ExpressionError(f"an equation must be text, not {type(text).__name__}")
    if text.count("=") != 1 or any(op in text for op in ("==", "<=", ">=", "!=")):
        raise ExpressionError(
            f'cannot read the equation "{_shown(text)}": write it as lhs = rhs with one '
            "'=', e.g. 'u_t = 0.1*u_xx - u*u_x'"
        )
    lhs, rhs = text.split("=")
    table = _symbol_table(symbols)
    return (
        parse_expr(lhs, symbols=table, functions=functions),
        parse_expr(rhs, symbols=table, functions=functions),
    )
