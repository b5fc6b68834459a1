"""Coefficient fields: unknown functions of a PDE as networks, estimated from data.

Berg & Nyström, "Neural network augmented inverse problems for PDEs" (2017): a neural network
is the prior of an unknown coefficient, fitted to noisy, incomplete measurements of the
solution with no explicit regularization.  The paper ties the solution to the data by a
finite-element forward solve inside the loss (an adjoint gives the gradient).  Here the
solution is a network too, and solution and coefficient are fitted *together*: the loss is the
data misfit of the solution network plus the PDE residual of both networks at the data's
points, plus the misfit of the coefficient where it is known (values of it in DATA, e.g. on
the boundary).  This needs no mesh and no boundary condition of ``u``, works on grids and
scattered points in any geometry, and costs one network fit; the alternative ``coupling=
"fixed"`` (fit ``u`` to the data, freeze it, then fit the coefficient to the residual) is kept
for comparison.  The README's section on inverse problems gives the measured difference.

Each unknown is a small network of its own arguments (:class:`discover.neural.MLP`);
a coefficient in front of a second derivative (a diffusivity, ``a`` in ``div(a*grad(u))``) is
positive by construction, ``c·softplus(N)``.  The uncertainty is the spread of an ensemble over
seeds (initial weights and the held-out split).

Examples
--------
>>> from discover.datasets.inverse import poisson_inverse
>>> ds = poisson_inverse(dim=1, n=41, seed=0)
>>> spec = parse_problem("-div(a*grad(u)) = f", ds, ["a(x)"])
>>> spec.solution, spec.given, [(k.name, k.args, k.positive) for k in spec.unknowns]
(('u',), ('f',), [('a', ('x',), True)])
>>> parse_problem("-div(a*grad(u)) = f", ds, ["a(x)", "b(x)"])
Traceback (most recent call last):
...
discover.errors.DataError: the unknown function 'b' appears in no term of '-div(a*grad(u)) = f'; ...
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import sympy as sp
import torch
import xarray as xr
from torch import nn

from .errors import DataError
from .neural import MLP, Scaled, derivative_tensors, fit
from .parsing import FUNCTIONS, parse_equation
from .solve.problem import compile_expr

__all__ = ["Inversion", "Unknown", "invert", "parse_problem", "parse_unknown"]

logger = logging.getLogger(__name__)

_TIME_NAMES = ("t", "time")
#: how the solution is tied to the equation (see ``_pde_term``)
FORMS = ("auto", "strong", "weak", "solve")
_SOFT_ONE = math.log(math.e - 1)  # softplus(_SOFT_ONE) = 1
_IDENT = r"[A-Za-z][A-Za-z0-9_]*"


@dataclass(frozen=True)
class Unknown:
    """An unknown function of the equation: its name, arguments and sign constraint."""

    name: str
    args: tuple[str, ...]
    positive: bool = False


@dataclass
class ProblemSpec:
    """An equation read against its data: the residual in placeholder symbols.

    ``solution`` fields are differentiated (each gets a network fitted to its data);
    ``given`` fields enter with their values only.  ``slots`` maps each placeholder name to
    ``(kind, name, multi-index)`` with kind ``"field"``, ``"unknown"`` or ``"given"``.
    """

    text: str
    coords: tuple[str, ...]
    spatial: tuple[str, ...]
    residual: sp.Expr
    solution: tuple[str, ...]
    given: tuple[str, ...]
    unknowns: list[Unknown]
    slots: dict[str, tuple[str, str, tuple[int, ...]]] = field(default_factory=dict)


def parse_unknown(text: str, coords: Sequence[str]) -> tuple[str, tuple[str, ...]]:
    """``'a(x, y)'`` -> ``('a', ('x', 'y'))``; the arguments must be coordinates of the data.

    >>> parse_unknown("D(x)", ["t", "x"])
    ('D', ('x',))
    >>> parse_unknown("a(x, q)", ["x", "y"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    discover.errors.DataError: 'q' in --unknown 'a(x, q)' is not a coordinate of the data; ...
    """
    m = re.fullmatch(rf"\s*({_IDENT})\s*\(([^()]*)\)\s*", text or "")
    if m is None:
        raise DataError(
            f"cannot read the unknown '{text}'; write a name and its arguments, e.g. 'a(x, y)'"
        )
    args = tuple(a.strip() for a in m.group(2).split(",") if a.strip())
    if not args:
        raise DataError(f"the unknown '{text}' has no arguments; give coordinates, e.g. 'a(x)'")
    for a in args:
        if a not in coords:
            raise DataError(
                f"'{a}' in --unknown '{text.strip()}' is not a coordinate of the data; "
                f"coordinates: {', '.join(coords)}"
            )
    if len(set(args)) < len(args):
        raise DataError(f"the unknown '{text.strip()}' names an argument twice")
    return m.group(1), args


# ----------------------------------------------------------------------------- data layout
@dataclass
class _Data:
    """The data as points: coordinates ``(n, d)`` and each variable's values ``(n,)``."""

    coords: tuple[str, ...]
    points: np.ndarray
    values: dict[str, np.ndarray]
    axes: dict[str, np.ndarray] | None  # the grid's coordinates; None for scattered points
    units: dict[str, str]


def _open(data: str | Path | xr.Dataset) -> xr.Dataset:
    if isinstance(data, xr.Dataset):
        return data
    from .io import open_dataset

    return open_dataset(data)


def _layout(ds: xr.Dataset, names: Sequence[str]) -> _Data:
    """Read the variables ``names`` of ``ds`` as points (a grid or scattered points)."""
    dims = ds[names[0]].dims
    for n in names[1:]:
        if ds[n].dims != dims:
            raise DataError(
                f"'{n}' has dimensions {ds[n].dims} but '{names[0]}' has {dims}; "
                "the variables of an inverse problem share their dimensions"
            )
    units = {c: str(ds[c].attrs.get("units", "")) for c in ds.variables}
    if len(dims) == 1 and dims[0] not in ds.coords:
        coords = tuple(
            str(c)
            for c in ds.coords
            if ds[c].dims == dims and np.issubdtype(ds[c].dtype, np.number)
        )
        if not coords:
            raise DataError(
                f"scattered data on '{dims[0]}' need coordinates on it (e.g. x({dims[0]}))"
            )
        pts = np.stack([np.asarray(ds[c].values, float) for c in coords], axis=1)
        vals = {n: np.asarray(ds[n].values, float) for n in names}
        return _Data(coords, pts, vals, None, units)
    axes = {str(d): np.asarray(ds[d].values, float) for d in dims}
    mesh = np.meshgrid(*axes.values(), indexing="ij")
    pts = np.stack([m.ravel() for m in mesh], axis=1)
    vals = {n: np.asarray(ds[n].transpose(*dims).values, float).ravel() for n in names}
    return _Data(tuple(axes), pts, vals, axes, units)


# ----------------------------------------------------------------------------- parsing
def _derivative_symbols(fields: Sequence[str], coords: Sequence[str], funcs: dict) -> dict:
    """``u_x``, ``u_xx``, ``u_xy`` … as derivatives of the field functions (coordinates of one
    letter only, as the project's term names have them)."""
    table: dict[str, sp.Expr] = {}
    letters = [c for c in coords if len(c) == 1]
    for f in fields:
        for order in range(1, 5):
            for combo in _combos(letters, order):
                table[f"{f}_{''.join(combo)}"] = sp.Derivative(funcs[f], *map(sp.Symbol, combo))
    return table


def _combos(letters: Sequence[str], order: int) -> list[tuple[str, ...]]:
    from itertools import combinations_with_replacement

    return list(combinations_with_replacement(letters, order))


def _names_in(text: str) -> set[str]:
    return set(re.findall(rf"\b{_IDENT}\b", text))


def _operators(spatial: Sequence[str]) -> dict:
    xs = [sp.Symbol(s) for s in spatial]

    def grad(e):
        if isinstance(e, sp.MatrixBase):
            raise TypeError("grad takes a scalar")
        return sp.ImmutableMatrix([sp.diff(e, x) for x in xs])

    def div(v):
        if not isinstance(v, sp.MatrixBase) or len(v) != len(xs):
            raise TypeError(f"div takes a vector of {len(xs)} components, e.g. div(a*grad(u))")
        return sum((sp.diff(c, x) for c, x in zip(v, xs)), sp.Integer(0))

    def laplace(e):
        return div(grad(e))

    def diff(e, *v):
        return sp.diff(e, *v)

    return {"div": div, "grad": grad, "laplace": laplace, "diff": diff}


def parse_problem(
    equation: str,
    data: str | Path | xr.Dataset,
    unknowns: Sequence[str],
    *,
    positive: dict[str, bool] | None = None,
) -> ProblemSpec:
    """Read ``equation`` against the variables and coordinates of ``data``.

    Names of the equation that are variables of ``data`` are data; ``unknowns`` (``'a(x)'``)
    are the functions to estimate; ``div``, ``grad``, ``laplace`` act on the spatial
    coordinates (all but a time ``t``/``time``) and ``diff(e, x)`` differentiates once.
    ``positive`` overrides the sign rule (positive when in front of a second derivative).
    """
    ds = _open(data)
    if not unknowns:
        raise DataError("give at least one unknown function, e.g. --unknown 'a(x)'")
    variables = [str(v) for v in ds.data_vars]
    text_names = _names_in(equation)
    fields = [v for v in variables if v in text_names]
    probe = [v for v in fields if v not in {u.split("(")[0].strip() for u in unknowns}]
    if not probe:
        raise DataError(
            f"no variable of the data appears in '{equation}'; variables: {', '.join(variables)}"
        )
    coords = _layout(ds, probe).coords
    spatial = tuple(c for c in coords if c not in _TIME_NAMES)
    parsed = [parse_unknown(u, coords) for u in unknowns]
    unk_names = [p[0] for p in parsed]
    _check_names(equation, variables, coords, unk_names)
    fields = [f for f in fields if f not in unk_names]
    return _build(equation, coords, spatial, fields, parsed, variables, positive or {})


def _check_names(equation: str, variables, coords, unknowns) -> None:
    """Every name of the equation is a variable, a coordinate, an unknown or a function."""
    known = {*variables, *coords, *unknowns, *FUNCTIONS, *_operators(()), "pi"}
    for name in sorted(_names_in(equation)):
        base = name.split("_")[0]
        if name in known or (base in variables and base != name):
            continue
        raise DataError(
            f"'{name}' in the equation is not a variable of the data (variables: "
            f"{', '.join(variables)}), a coordinate ({', '.join(coords)}) or an unknown; "
            f"add it to the data or declare it, e.g. --unknown '{name}({coords[-1]})'"
        )


def _build(equation, coords, spatial, fields, parsed, variables, positive) -> ProblemSpec:
    csyms = {c: sp.Symbol(c) for c in coords}
    funcs = {f: sp.Function(f)(*csyms.values()) for f in fields}
    symbols: dict[str, sp.Expr] = {**csyms, **funcs, **_derivative_symbols(fields, coords, funcs)}
    functions: dict[str, Any] = {**FUNCTIONS, **_operators(spatial)}
    for name, args in parsed:
        app = sp.Function(name)(*[csyms[a] for a in args])
        if re.search(rf"\b{re.escape(name)}\s*\(", equation):
            functions[name] = _unknown_call(name, args, app)
        else:
            symbols[name] = app
    try:
        lhs, rhs = parse_equation(equation, symbols=symbols, functions=functions)
    except DataError:
        raise
    except Exception as exc:  # ExpressionError is a DataError; sympy errors of shapes
        raise DataError(f"cannot read the equation '{equation}': {exc}") from None
    res = sp.expand((lhs - rhs).doit()) if not isinstance(lhs - rhs, sp.MatrixBase) else None
    if res is None or isinstance(lhs, sp.MatrixBase) or isinstance(rhs, sp.MatrixBase):
        raise DataError(f"'{equation}' is a vector equation; take div(...) of a grad(...)")
    stray = sorted(
        s.name for s in res.free_symbols if s.name not in coords and s.name not in variables
    )
    if stray:
        raise DataError(
            f"'{stray[0]}' in the equation is neither a variable of the data (variables: "
            f"{', '.join(variables)}) nor a coordinate nor an unknown (--unknown '{stray[0]}(x)')"
        )
    return _placeholders(equation, res, coords, spatial, fields, parsed, positive)


def _unknown_call(name: str, args: tuple[str, ...], app: sp.Expr):
    def call(*given):
        if tuple(str(g) for g in given) != args:
            raise TypeError(f"{name} is declared as {app}; call it as {app}")
        return app

    return call


def _placeholders(equation, res, coords, spatial, fields, parsed, positive) -> ProblemSpec:
    slots: dict[str, tuple[str, str, tuple[int, ...]]] = {}
    subs: dict[sp.Expr, sp.Symbol] = {}
    unk = {n: a for n, a in parsed}

    def slot(kind: str, name: str, vars_: Sequence[str], wrt: Sequence[sp.Symbol]) -> sp.Symbol:
        mi = tuple(sum(1 for w in wrt if w.name == v) for v in vars_)
        key = f"_{kind[0]}_{name}_{'_'.join(map(str, mi))}"
        slots[key] = (kind, name, mi)
        return sp.Symbol(key)

    for d in res.atoms(sp.Derivative):
        name = d.expr.func.__name__
        kind = "unknown" if name in unk else "field"
        vars_ = unk[name] if name in unk else coords
        wrt = [v for v, k in d.variable_count for _ in range(k)]
        subs[d] = slot(kind, name, vars_, wrt)
    for fn in res.atoms(sp.core.function.AppliedUndef):
        name = fn.func.__name__
        kind = "unknown" if name in unk else "field"
        subs[fn] = slot(kind, name, unk.get(name, coords), [])
    expr = res.xreplace(subs)
    differentiated = {n for k, n, mi in slots.values() if k == "field" and any(mi)}
    solution = tuple(f for f in fields if f in differentiated)
    given = tuple(f for f in fields if f not in differentiated)
    for key, (kind, name, mi) in list(slots.items()):
        if kind == "field" and name in given:
            slots[key] = ("given", name, mi)
    if not solution:
        raise DataError(
            f"no field of the data is differentiated in '{equation}'; write e.g. "
            "-div(a*grad(u)) = f with u a variable of the data"
        )
    unknowns = []
    for name, args in parsed:
        if not any(k == "unknown" and n == name for k, n, _ in slots.values()):
            raise DataError(
                f"the unknown function '{name}' appears in no term of '{equation}'; "
                "declare only functions the equation uses"
            )
        pos = positive.get(name, _is_diffusivity(expr, name, slots))
        unknowns.append(Unknown(name, tuple(args), bool(pos)))
    return ProblemSpec(
        equation, tuple(coords), tuple(spatial), expr, solution, given, unknowns, slots
    )


def _is_diffusivity(expr: sp.Expr, name: str, slots: dict) -> bool:
    """Whether ``name`` multiplies a second derivative of a solution field."""
    second = [
        sp.Symbol(k) for k, (kind, _, mi) in slots.items() if kind == "field" and sum(mi) == 2
    ]
    mine = {sp.Symbol(k) for k, (kind, n, mi) in slots.items() if kind == "unknown" and n == name}
    return any(mine & sp.diff(expr, s).free_symbols for s in second)


# ----------------------------------------------------------------------------- networks
class Coefficient(nn.Module):
    """An unknown function as a network of its arguments: ``scale·softplus(N + b)`` (positive,
    ``scale`` where ``N = 0``) or ``offset + scale·N`` (either sign)."""

    def __init__(
        self,
        lower,
        upper,
        *,
        positive: bool,
        scale: float,
        offset: float = 0.0,
        width: int = 16,
        depth: int = 2,
    ) -> None:
        super().__init__()
        mlp = MLP(len(lower), 1, width=width, depth=depth).double()
        with torch.no_grad():
            mlp.last.weight.mul_(0.1)  # start near the constant fit
        self.net = Scaled(mlp, lower=lower, upper=upper, mean=[0.0], std=[1.0])
        self.positive = positive
        self.register_buffer("scale", torch.tensor(float(scale), dtype=torch.float64))
        # a learnt level: log-factor of the scale (positive) or the offset (either sign)
        self.level = nn.Parameter(torch.tensor(0.0 if positive else offset / scale).double())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.net(x)
        if self.positive:
            return self.scale * torch.exp(self.level) * nn.functional.softplus(z + _SOFT_ONE)
        return self.scale * (self.level + z)


class _Model(nn.Module):
    """The solution networks and the coefficient networks of one ensemble member."""

    def __init__(self, spec: ProblemSpec, fields: dict, coefs: dict) -> None:
        super().__init__()
        self.spec = spec
        self.fields = nn.ModuleDict(fields)
        self.coefs = nn.ModuleDict(coefs)
        self.names = list(spec.slots)
        self.fn = compile_expr(spec.residual, [*self.names, *spec.coords], backend="torch")
        self.cols = {u.name: [spec.coords.index(a) for a in u.args] for u in spec.unknowns}

    def slot_values(self, x: torch.Tensor, given: dict[str, torch.Tensor]) -> dict:
        out: dict[str, torch.Tensor] = {}
        for kind, net, cols in self._sources():
            keys = [k for k, s in self.spec.slots.items() if s[0] == kind and s[1] == net]
            if not keys:
                continue
            xin = x if cols is None else x[:, cols]
            vals = derivative_tensors(
                self._module(kind, net), xin, [self.spec.slots[k][2] for k in keys]
            )
            out.update({k: vals[self.spec.slots[k][2]][:, 0] for k in keys})
        for k, (kind, name, _) in self.spec.slots.items():
            if kind == "given":
                out[k] = given[name]
        return out

    def _sources(self):
        for f in self.spec.solution:
            yield "field", f, None
        for u in self.spec.unknowns:
            yield "unknown", u.name, self.cols[u.name]

    def _module(self, kind: str, name: str) -> nn.Module:
        return self.fields[name] if kind == "field" else self.coefs[name]

    def residual(self, x: torch.Tensor, given: dict[str, torch.Tensor]) -> torch.Tensor:
        with torch.enable_grad():
            x = x.detach().requires_grad_(True)
            vals = self.slot_values(x, given)
            return self.fn(*[vals[k] for k in self.names], *x.T)


@dataclass
class _Prepared:
    """Tensors of one problem: data rows (field index last), collocation points, anchors."""

    x: torch.Tensor
    y: torch.Tensor
    colloc: torch.Tensor
    given: dict[str, torch.Tensor]
    anchors: dict[str, tuple[torch.Tensor, torch.Tensor]]
    stats: dict[str, tuple[float, float]]
    lower: np.ndarray
    upper: np.ndarray


def _prepare(
    spec: ProblemSpec, data: _Data, ds: xr.Dataset, *, n_colloc: int, rng: np.random.Generator
) -> _Prepared:
    rows, ys, stats = [], [], {}
    for i, f in enumerate(spec.solution):
        v = data.values[f]
        ok = np.isfinite(v)
        if ok.sum() < 10:
            raise DataError(
                f"'{f}' has {int(ok.sum())} finite values; an inverse problem needs more"
            )
        rows.append(np.c_[data.points[ok], np.full(ok.sum(), i)])
        ys.append(v[ok])
        stats[f] = (float(np.mean(v[ok])), float(np.std(v[ok])) or 1.0)
    inside = np.ones(len(data.points), bool)
    for g in spec.given:
        inside &= np.isfinite(data.values[g])
    if not spec.given:
        inside = np.any([np.isfinite(data.values[f]) for f in spec.solution], axis=0)
    pick = np.flatnonzero(inside)
    if pick.size > n_colloc:
        pick = np.sort(rng.choice(pick, n_colloc, replace=False))
    anchors = {}
    for u in spec.unknowns:
        if u.name in ds.data_vars:
            a = (
                _layout(ds, [u.name]).values[u.name]
                if ds[u.name].dims == ds[spec.solution[0]].dims
                else None
            )
            if a is not None and np.isfinite(a).any():
                ok = np.isfinite(a)
                cols = [spec.coords.index(c) for c in u.args]
                anchors[u.name] = (
                    torch.as_tensor(data.points[ok][:, cols]),
                    torch.as_tensor(a[ok]),
                )
    t = torch.as_tensor
    return _Prepared(
        t(np.concatenate(rows)),
        t(np.concatenate(ys))[:, None],
        t(data.points[pick]),
        {g: t(data.values[g][pick]) for g in spec.given},
        anchors,
        stats,
        np.nanmin(data.points, axis=0),
        np.nanmax(data.points, axis=0),
    )


def _data_loss(model: nn.Module, xb: torch.Tensor, yb: torch.Tensor, stats: dict) -> torch.Tensor:
    fields = model.fields if isinstance(model, _Model) else model
    total = xb.new_zeros(())
    for i, (f, net) in enumerate(fields.items()):
        rows = xb[:, -1] == i
        if bool(rows.any()):
            err = (net(xb[rows, :-1]) - yb[rows]) / stats[f][1]
            total = total + torch.mean(err**2)
    return total


def _constants(model: _Model, prep: _Prepared) -> dict[str, float]:
    """Least-squares constant values of the unknowns (derivatives zero) on the collocation
    points, from the solution networks as they are."""
    spec = model.spec
    x = prep.colloc.detach().requires_grad_(True)
    vals = {}
    for f in spec.solution:
        keys = [k for k, s in spec.slots.items() if s[0] == "field" and s[1] == f]
        d = derivative_tensors(model.fields[f], x, [spec.slots[k][2] for k in keys])
        vals.update({k: d[spec.slots[k][2]][:, 0].detach() for k in keys})
    vals.update({k: prep.given[s[1]] for k, s in spec.slots.items() if s[0] == "given"})
    zero = torch.zeros(len(x), dtype=torch.float64)

    def at(c: dict[str, float]) -> np.ndarray:
        for k, (kind, name, mi) in spec.slots.items():
            if kind == "unknown":
                vals[k] = zero + (0.0 if any(mi) else c.get(name, 0.0))
        r = model.fn(*[vals[k] for k in model.names], *x.detach().T)
        return np.broadcast_to(r.detach().numpy(), (len(x),))

    names = [u.name for u in spec.unknowns]
    r0 = at({})
    cols = np.stack([at({n: 1.0}) - r0 for n in names], axis=1)
    c, *_ = np.linalg.lstsq(cols, -r0, rcond=None)
    return dict(zip(names, map(float, c)))


def _term_scale(model: _Model, prep: _Prepared) -> float:
    """The largest root-mean-square of the residual's terms: the scale of the PDE loss."""
    x = prep.colloc.detach().requires_grad_(True)
    vals = model.slot_values(x, prep.given)
    names = [*model.names, *model.spec.coords]
    rms = []
    for term in sp.Add.make_args(model.spec.residual):
        v = compile_expr(term, names, backend="torch")(*[vals[k] for k in model.names], *x.T)
        rms.append(float(torch.sqrt(torch.mean(v.detach() ** 2))))
    return max(max(rms, default=1.0), 1e-12)


@dataclass(frozen=True)
class Settings:
    """Sizes and weights of one inversion (see :func:`invert`)."""

    width: int = 32
    depth: int = 3
    coef_width: int = 16
    coef_depth: int = 2
    steps: int = 1500
    lbfgs_steps: int = 500
    n_colloc: int = 3000
    pde_weight: float = 10.0
    anchor_weight: float = 1.0
    coupling: str = "joint"
    form: str = "auto"
    test_radius: float = 0.1
    test_spacing: float = 0.25
    solve_points: int = 201
    smoothing: float = 0.0


def _member(
    spec: ProblemSpec, prep: _Prepared, data: _Data, cfg: Settings, seed: int
) -> tuple[_Model, dict]:
    """One member of the ensemble: the fields fitted to the data first, the coefficient
    networks started from the best constants, then both fitted to data and PDE together."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    perm = torch.as_tensor(rng.permutation(len(prep.x)))
    n_val = max(1, len(perm) // 10)
    xv, yv = prep.x[perm[:n_val]], prep.y[perm[:n_val]]
    xt, yt = prep.x[perm[n_val:]], prep.y[perm[n_val:]]
    fields = _field_networks(spec, prep, cfg)
    first = nn.ModuleDict(fields)

    def data_only(m, xb, yb):
        return _data_loss(m, xb, yb, prep.stats)

    fit(
        first,
        xt,
        yt,
        x_val=xv,
        y_val=yv,
        loss=data_only,
        adam_steps=cfg.steps,
        lbfgs_steps=cfg.lbfgs_steps,
        seed=seed,
        lr=3e-3,
    )
    model = _Model(spec, fields, {})
    const = _constants(model, prep)
    _start_coefficients(model, spec, prep, cfg, const)
    pde, form = _pde_term(model, prep, data, cfg)
    if form == "solve":  # the solution is now the forward solve for the coefficients
        model.fields.update(_forward_fields(model, data, cfg))
    if cfg.coupling == "fixed":
        for p in model.fields.parameters():
            p.requires_grad_(False)

    def total(m, xb, yb):
        loss = _data_loss(m, xb, yb, prep.stats) + cfg.pde_weight * pde(m)
        if cfg.smoothing:
            loss = loss + cfg.smoothing * _roughness(m, prep)
        for name, (xa, va) in prep.anchors.items():
            err = (m.coefs[name](xa)[:, 0] - va) / m.coefs[name].scale
            loss = loss + cfg.anchor_weight * torch.mean(err**2)
        return loss

    result = fit(
        model,
        xt,
        yt,
        x_val=xv,
        y_val=yv,
        loss=total,
        adam_steps=cfg.steps,
        lbfgs_steps=cfg.lbfgs_steps,
        seed=seed,
        lr=3e-3,
    )
    with torch.no_grad():
        info = {
            "seed": seed,
            "constant_fit": const,
            "val_misfit": float(torch.sqrt(_data_loss(model, xv, yv, prep.stats))),
            "form": form,
            "pde_residual": float(torch.sqrt(pde(model))),
            "steps": result.steps,
            "seconds": result.seconds,
        }
    return model, info


def _pde_term(model: _Model, prep: _Prepared, data: _Data, cfg: Settings):
    """How the solution is tied to the equation: the mean squared PDE residual as a function
    of the model, and the form's name.  ``"strong"``: pointwise at the collocation points,
    scaled by the largest term; ``"weak"``: tested against bumps (:mod:`discover.weakinvert`);
    ``"solve"``: no residual at all, the solution *is* the forward solve of a steady 1-D linear
    equation (:mod:`discover.solveinvert`).  ``"auto"`` takes the weak form in two or more
    space dimensions when the equation is in divergence form and the bumps fit the data's
    lattice, else the strong form (each measured best where it is taken; the forward solve
    measured no better than the strong form in 1-D: README, inverse problems)."""
    if cfg.form == "solve":  # eligible: checked by invert() before any fit
        return (lambda m: prep.x.new_zeros(())), "solve"
    if cfg.form in ("weak", "auto"):
        from .weakinvert import residuals, weak_system

        try:
            if cfg.form == "auto" and len(model.spec.spatial) < 2:
                raise DataError("one space dimension: the strong form")
            system = weak_system(model, data, radius=cfg.test_radius, spacing=cfg.test_spacing)
        except DataError:
            if cfg.form == "weak":
                raise
        else:
            return (lambda m: torch.mean(residuals(system, m) ** 2)), "weak"
    rscale = _term_scale(model, prep)
    return (lambda m: torch.mean((m.residual(prep.colloc, prep.given) / rscale) ** 2)), "strong"


def _roughness(model: _Model, prep: _Prepared) -> torch.Tensor:
    """Mean squared second derivative of each unknown's logarithm (positive unknowns) or of
    its value over its scale (either sign), in coordinates scaled to the data's span, at the
    collocation points."""
    total = prep.colloc.new_zeros(())
    for u in model.spec.unknowns:
        cols = model.cols[u.name]
        span = prep.upper[cols] - prep.lower[cols]
        net = model.coefs[u.name]
        zero = (0,) * len(cols)
        unit = [tuple(int(i == j) for i in range(len(cols))) for j in range(len(cols))]
        twice = [tuple(2 * k for k in e) for e in unit]
        x = prep.colloc[:, cols].detach().requires_grad_(True)
        d = {k: v[:, 0] for k, v in derivative_tensors(net, x, [zero, *unit, *twice]).items()}
        for j, (e, ee) in enumerate(zip(unit, twice)):
            if u.positive:  # (log a)'' = a''/a - (a'/a)²
                curv = d[ee] / d[zero] - (d[e] / d[zero]) ** 2
            else:
                curv = d[ee] / net.scale
            total = total + torch.mean((curv * float(span[j]) ** 2) ** 2)
    return total


def _forward_fields(model: _Model, data: _Data, cfg: Settings) -> dict[str, nn.Module]:
    """The solution field as the forward solve, its end values started from the first fit."""
    from .solveinvert import ForwardSolve

    (f,) = model.spec.solution
    start = model.fields[f]
    return {f: ForwardSolve(model.spec, model.coefs, data, start=start, points=cfg.solve_points)}


def _field_networks(spec: ProblemSpec, prep: _Prepared, cfg: Settings) -> dict[str, Scaled]:
    """A network per solution field, scaled to the data's box and values."""
    d = len(spec.coords)
    return {
        f: Scaled(
            MLP(d, 1, width=cfg.width, depth=cfg.depth).double(),
            lower=prep.lower,
            upper=prep.upper,
            mean=[prep.stats[f][0]],
            std=[prep.stats[f][1]],
        )
        for f in spec.solution
    }


def _start_coefficients(model, spec: ProblemSpec, prep: _Prepared, cfg: Settings, const) -> None:
    """Each unknown's network, centred on its best constant (or its known values' mean)."""
    for u in spec.unknowns:
        cols = [spec.coords.index(a) for a in u.args]
        c = const[u.name]
        if u.name in prep.anchors:  # known values fix the level better than the constant fit
            c = float(prep.anchors[u.name][1].mean())
        scale = abs(c) if u.positive else max(abs(c), 1e-3)
        model.coefs[u.name] = Coefficient(
            prep.lower[cols],
            prep.upper[cols],
            positive=u.positive,
            scale=max(scale, 1e-6),
            offset=0.0 if u.positive else c,
            width=cfg.coef_width,
            depth=cfg.coef_depth,
        )


# ----------------------------------------------------------------------------- result
def _output_axes(u: Unknown, data: _Data, n_out: int | None) -> dict[str, np.ndarray]:
    if data.axes is not None:
        return {a: data.axes[a] for a in u.args}
    cols = [data.coords.index(a) for a in u.args]
    n = n_out or {1: 101, 2: 61}.get(len(cols), 25)
    lo, hi = data.points[:, cols].min(0), data.points[:, cols].max(0)
    return {a: np.linspace(lo[j], hi[j], n) for j, a in enumerate(u.args)}


def _region(u: Unknown, data: _Data, spec: ProblemSpec, pts: np.ndarray) -> np.ndarray:
    """Which output points lie in the data's region (grid: where any value is; scattered:
    within twice the typical spacing of the data's points)."""
    have = np.zeros(len(data.points), bool)
    for f in (*spec.solution, *spec.given):
        have |= np.isfinite(data.values[f])
    cols = [data.coords.index(a) for a in u.args]
    if data.axes is not None:
        shape = tuple(len(v) for v in data.axes.values())
        other = tuple(j for j in range(len(shape)) if j not in cols)
        return np.any(have.reshape(shape), axis=other).ravel() if other else have
    from scipy.spatial import cKDTree

    src = data.points[have][:, cols]
    tree = cKDTree(src)
    spacing = np.median(tree.query(src, k=2)[0][:, 1])
    return tree.query(pts)[0] <= 2.0 * spacing + 1e-12


@dataclass
class Inversion:
    """What :func:`invert` found: each unknown as a field with its ensemble spread.

    ``fields`` holds, per unknown ``a``, the variables ``a`` (ensemble mean) and ``a_std``
    on a grid of its arguments; ``misfit`` the data misfit of the solution networks.
    """

    spec: ProblemSpec
    fields: xr.Dataset
    misfit: dict[str, Any]
    members: list[dict]
    settings: dict[str, Any]
    models: list[_Model] = field(repr=False, default_factory=list)

    def __call__(self, name: str, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Ensemble mean and spread of the unknown ``name`` at ``points`` (n, len(args))."""
        x = torch.as_tensor(np.asarray(points, float).reshape(len(points), -1))
        with torch.no_grad():
            vals = np.stack([m.coefs[name](x)[:, 0].numpy() for m in self.models])
        return vals.mean(0), vals.std(0)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        out = {}
        for u in self.spec.unknowns:
            v, s = self.fields[u.name].values, self.fields[f"{u.name}_std"].values
            out[u.name] = {
                "args": list(u.args),
                "positive": u.positive,
                "min": float(np.nanmin(v)),
                "max": float(np.nanmax(v)),
                "mean": float(np.nanmean(v)),
                "mean_std": float(np.nanmean(s)),
            }
        return {
            "equation": self.spec.text,
            "unknowns": out,
            "solution_fields": list(self.spec.solution),
            "data_fields": list(self.spec.given),
            "misfit": self.misfit,
            "members": self.members,
            "settings": self.settings,
        }

    def plot(self):
        """A figure: each unknown (1-D: mean ± 2 std; 2-D: mean and std maps)."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        us = self.spec.unknowns
        fig, axes = plt.subplots(len(us), 2, figsize=(10, 4 * len(us)), squeeze=False)
        for row, u in zip(axes, us):
            mean, std = self.fields[u.name], self.fields[f"{u.name}_std"]
            if mean.ndim == 1:
                x = mean[u.args[0]].values
                row[0].plot(x, mean.values, label=f"{u.name} (ensemble mean)")
                row[0].fill_between(x, mean - 2 * std, mean + 2 * std, alpha=0.3, label="± 2 std")
                row[0].legend()
                row[1].plot(x, std.values)
                row[1].set_title(f"{u.name}: ensemble std")
            else:
                sel = {a: mean.sizes[a] // 2 for a in u.args[2:]}
                mean.isel(sel).plot(ax=row[0], x=u.args[0])
                std.isel(sel).plot(ax=row[1], x=u.args[0])
        fig.tight_layout()
        return fig


def _field_dataset(spec: ProblemSpec, data: _Data, models: list[_Model], n_out) -> xr.Dataset:
    out = xr.Dataset()
    for u in spec.unknowns:
        axes = _output_axes(u, data, n_out)
        mesh = np.meshgrid(*axes.values(), indexing="ij")
        pts = np.stack([m.ravel() for m in mesh], axis=1)
        x = torch.as_tensor(pts)
        with torch.no_grad():
            vals = np.stack([m.coefs[u.name](x)[:, 0].numpy() for m in models])
        keep = _region(u, data, spec, pts)
        shape = mesh[0].shape
        mean = np.where(keep, vals.mean(0), np.nan).reshape(shape)
        std = np.where(keep, vals.std(0), np.nan).reshape(shape)
        for a, v in axes.items():
            out.coords[a] = (a, v, {"units": data.units.get(a, "")} if data.units.get(a) else {})
        out[u.name] = (u.args, mean, {"long_name": f"{u.name}({', '.join(u.args)}), ensemble mean"})
        out[f"{u.name}_std"] = (
            u.args,
            std,
            {"long_name": f"{u.name}: ensemble standard deviation"},
        )
    out.attrs.update(equation=spec.text, ensemble=len(models))
    return out


def _misfit(spec: ProblemSpec, data: _Data, models: list[_Model]) -> dict[str, Any]:
    out = {}
    for f in spec.solution:
        ok = np.isfinite(data.values[f])
        x = torch.as_tensor(data.points[ok])
        with torch.no_grad():
            pred = np.mean([m.fields[f](x)[:, 0].numpy() for m in models], axis=0)
        err = pred - data.values[f][ok]
        rms = float(np.sqrt(np.mean(err**2)))
        out[f] = {
            "rms": rms,
            "relative_to_std": rms / (float(np.std(data.values[f][ok])) or 1.0),
            "n": int(ok.sum()),
        }
    return out


def invert(
    equation: str,
    data: str | Path | xr.Dataset,
    unknowns: Sequence[str],
    *,
    ensemble: int = 3,
    seed: int = 0,
    positive: dict[str, bool] | None = None,
    n_out: int | None = None,
    num_threads: int | None = None,
    **settings: Any,
) -> Inversion:
    """Estimate the unknown functions of ``equation`` from measurements in ``data``.

    Parameters
    ----------
    equation : str
        E.g. ``'-div(a*grad(u)) = f'`` or ``'u_t = div(D*grad(u)) + r*u'``: names that are
        variables of ``data`` are data; ``div``/``grad``/``laplace`` act on the spatial
        coordinates; ``diff(e, x)`` differentiates; ``u_x``, ``u_xx`` … are derivatives.
    data : path or Dataset
        A grid (the variables on coordinate dimensions; NaN where missing or outside the
        domain) or scattered points (one dimension, coordinates on it).  A variable named
        like an unknown gives its known values (e.g. on the boundary; NaN elsewhere).
    unknowns : sequence of str
        ``'a(x)'``, ``'a(x, y)'``: each unknown with its arguments (coordinates of ``data``).
    ensemble : int
        Members (seeds ``seed``, ``seed + 1``, …); their spread is the uncertainty.
    positive : dict, optional
        Sign constraint per unknown; by default positive when it multiplies a second
        derivative (a diffusivity), free otherwise.
    n_out : int, optional
        Points per dimension of the output grid for scattered data.
    **settings
        Fields of :class:`Settings` (network sizes, steps, weights, ``coupling``:
        ``'joint'`` or ``'fixed'``; ``form``: ``'auto'``, ``'strong'``, ``'weak'`` or
        ``'solve'``, the PDE residual pointwise, tested against bumps
        (:mod:`discover.weakinvert`) or replaced by a forward solve (steady 1-D linear
        equations, :mod:`discover.solveinvert`); ``smoothing``: the weight of a curvature
        prior on each unknown's logarithm, in coordinates scaled to the data's span (0: none,
        the default; README, inverse problems, gives what it did in 1-D);
        ``test_radius``, ``test_spacing``: the bumps' half-width as a fraction of each
        coordinate's span, at least 8 lattice steps, and their centres' spacing in
        half-widths).

    Examples
    --------
    >>> from discover.datasets.inverse import poisson_inverse
    >>> ds = poisson_inverse(dim=1, n=41, seed=0)
    >>> inv = invert("-div(a*grad(u)) = f", ds, ["a(x)"], ensemble=1, steps=50, lbfgs_steps=0)
    >>> inv.fields["a"].dims, bool((inv.fields["a"] > 0).all())
    (('x',), True)
    """
    unknown_keys = set(Settings.__dataclass_fields__)
    bad = sorted(set(settings) - unknown_keys)
    if bad:
        raise DataError(
            f"unknown setting '{bad[0]}'; valid settings: {', '.join(sorted(unknown_keys))}"
        )
    cfg = Settings(**settings)
    if cfg.coupling not in ("joint", "fixed"):
        raise DataError(f"coupling must be 'joint' or 'fixed', not '{cfg.coupling}'")
    if cfg.form not in FORMS:
        raise DataError(f"form must be one of {', '.join(FORMS)}, not '{cfg.form}'")
    if ensemble < 1:
        raise DataError(f"the ensemble needs at least one member, not {ensemble}")
    ds = _open(data)
    spec = parse_problem(equation, ds, unknowns, positive=positive)
    if cfg.form == "solve":
        from .solveinvert import require_eligible

        require_eligible(spec)
    names = [*spec.solution, *spec.given]
    layout = _layout(ds, names)
    t0 = time.perf_counter()
    from .neural import threads

    models, members = [], []
    with threads(num_threads):
        prep = _prepare(spec, layout, ds, n_colloc=cfg.n_colloc, rng=np.random.default_rng(seed))
        for k in range(ensemble):
            model, info = _member(spec, prep, layout, cfg, seed + k)
            models.append(model)
            members.append(info)
            logger.info("member %d: %s", k, info)
    fields = _field_dataset(spec, layout, models, n_out)
    misfit = _misfit(spec, layout, models)
    settings_out = {
        **cfg.__dict__,
        "ensemble": ensemble,
        "seed": seed,
        "seconds": time.perf_counter() - t0,
        "anchors": sorted(prep.anchors),
    }
    return Inversion(spec, fields, misfit, members, settings_out, models)
