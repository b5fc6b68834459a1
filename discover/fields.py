"""Coefficient fields: a term whose coefficient varies in space (or, on long records, in
time: :func:`choose_fields`'s ``time``).

The stage of :func:`discover.find` after the structure is chosen with constant coefficients
(``fields="auto"``).  Each kept term's coefficient is refitted as a *field* — cubic splines
(``auto``, ``spline``) or Legendre polynomials (``legendre``) of the spatial coordinates,
scaled to ``[-1, 1]`` over the span of the regression's rows and held at their edge values
beyond — and the field is kept only where the held-out error drops by more than its
standard error:

* the regression stays linear: term ``j`` with a field of basis functions ``φ_k`` becomes the
  columns ``φ_k · term_j`` (on the strong form's rows directly; in the weak form exactly,
  by the product rule on the test function, :func:`discover.weakgrid.grid_weak_systems`);
* for each term and each size of the basis (spline intervals; Legendre degree) the
  per-fold held-out log error is computed on the builder's own space–time block folds; the
  weak form resolves no interval shorter than half a test function's half-width;
* greedily, the term whose field lowers the mean held-out log error most is given its field
  if the drop (at the smallest size within one standard error of the best) exceeds the
  standard error of the paired per-fold drops; it is kept at the best size; then the others
  are tried again against the new model, until none passes;
* with fields in, constant terms whose removal raises the held-out error by less than its
  standard error are dropped (they stood in for the varying coefficient).

A low-order basis and not a network: the fit stays a least-squares problem on rows the
builders already make (seconds, deterministic, exact in the weak form), its uncertainty is the
block jackknife of the weights, and it is an explicit SymPy expression (``Abs`` gives the
spline's pieces), so ``solve`` and ``validate`` take it as they take any forcing term, and
the result's JSON reads back through the restricted parser.

Examples
--------
>>> import numpy as np
>>> f = CoefficientField("D", ("x",), center=(0.5,), half=(0.5,),
...                      indices=((0,), (1,)), weights=(1.0, 0.5), size=1)
>>> [round(float(v), 3) for v in f.values({"x": np.array([0.0, 0.5, 1.0])})]
[0.5, 1.0, 1.5]
>>> print(f.expr())          # held at its edge values beyond the data's extent
0.5*Abs(x) - 0.25*Abs(2.0*x - 2.0) + 1.0
>>> CoefficientField.from_dict(f.to_dict()) == f
True
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np
import sympy as sp

from .errors import DataError
from .library import parse_symbol
from .registry import Registry

__all__ = [
    "BASES",
    "FIELD_MODES",
    "Basis",
    "CoefficientField",
    "FieldChoice",
    "choose_fields",
    "field_names",
    "legendre_design",
    "strong_modulate",
    "time_slab_folds",
    "write_fields",
]

logger = logging.getLogger(__name__)

#: rows used by the test (a seeded subsample of larger systems, folds kept)
MAX_ROWS = 20_000
#: a field of time is kept when the held-out error drops by more than this many standard
#: errors (a field of space: one).  Offering each term a second family of fields doubles the
#: chances of a false pass; measured on advection–diffusion with a constant D (5% noise,
#: 40 draws): a field of time passed one standard error on 5, two on 2, while every true
#: D(t) (10 draws, ratio 3) passed by 3.8 to 11 standard errors
TIME_SE = 2.0


class Basis:
    """A family of basis functions on ``[-1, 1]^d``, tensor products of functions of one
    variable; ``size`` orders the family's members from coarse to fine.  Subclasses
    register by name in :data:`BASES`."""

    name = ""
    #: sizes tried, by the number of arguments
    sizes: ClassVar[dict[int, range]] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.name:
            BASES.register(cls.name, cls())

    def indices(self, ndim: int, size: int) -> tuple[tuple[int, ...], ...]:
        raise NotImplementedError

    def one(self, s: np.ndarray, k: int, size: int, deriv: int) -> np.ndarray:
        """The ``deriv``-th derivative of function ``k`` of one variable at ``s``."""
        raise NotImplementedError

    def one_expr(self, s: sp.Expr, k: int, size: int) -> sp.Expr:
        """Function ``k`` of one variable as SymPy (only what the restricted parser reads)."""
        raise NotImplementedError

    def design(self, s, indices, size, deriv=None) -> np.ndarray:
        """``Π_d f_{k_d}(s_d)`` (or derivatives ``deriv`` per axis) for each multi-index:
        shape ``(n, len(indices))``; ``s`` is ``(n, d)``."""
        s = np.atleast_2d(np.asarray(s, dtype=float))
        deriv = deriv or (0,) * s.shape[1]
        inside = np.abs(s) <= 1.0
        s = np.clip(s, -1.0, 1.0)  # held at its edge value outside [-1, 1]
        memo: dict[tuple[int, int], np.ndarray] = {}
        out = np.ones((s.shape[0], len(indices)))
        for j, e in enumerate(indices):
            for d, k in enumerate(e):
                if (d, k) not in memo:
                    v = self.one(s[:, d], k, size, deriv[d])
                    memo[(d, k)] = v * inside[:, d] if deriv[d] else v
                out[:, j] *= memo[(d, k)]
        return out


#: the bases a coefficient field may take, by name
BASES: Registry[Basis] = Registry("field basis", parameter="fields", plural="field bases")

#: what ``fields=`` takes: ``none`` keeps constant coefficients; ``auto`` (splines) or a
#: basis's name tests each term for a coefficient field
FIELD_MODES: Registry[str] = Registry("fields mode", parameter="fields")
FIELD_MODES.register("none", "constant coefficients only")
FIELD_MODES.register("auto", "a coefficient field where the held-out error says so (splines)")
FIELD_MODES.register("spline", "the same, cubic splines")
FIELD_MODES.register("legendre", "the same, Legendre polynomials")


class Legendre(Basis):
    """Legendre polynomials of total degree ``<= size``."""

    name = "legendre"
    sizes: ClassVar[dict[int, range]] = {1: range(1, 11), 2: range(1, 7), 3: range(1, 4)}

    def indices(self, ndim, size):
        out = [e for e in itertools.product(range(size + 1), repeat=ndim) if sum(e) <= size]
        return tuple(sorted(out, key=lambda e: (sum(e), e)))

    def one(self, s, k, size, deriv):
        c = np.zeros(k + 1)
        c[k] = 1.0
        if deriv:
            c = np.polynomial.legendre.legder(c, deriv) if k >= deriv else np.zeros(1)
        return np.polynomial.legendre.legval(s, c)

    def one_expr(self, s, k, size):
        return sp.legendre(k, s)


class Spline(Basis):
    """Cubic splines on ``size`` equal intervals of ``[-1, 1]``, in the truncated power
    basis ``1, s, s², s³, (s - κ_i)₊³`` (tensor products in several dimensions), written
    with ``(z + |z|)/2`` so that the restricted parser reads the field back."""

    name = "spline"
    sizes: ClassVar[dict[int, range]] = {1: range(1, 13), 2: range(1, 6), 3: range(1, 4)}

    def indices(self, ndim, size):
        return tuple(itertools.product(range(size + 3), repeat=ndim))

    @staticmethod
    def knot(k: int, size: int) -> float:
        return -1.0 + 2.0 * (k - 3) / size

    def one(self, s, k, size, deriv):
        if k < 4:
            if deriv > k:
                return np.zeros_like(s)
            return math.perm(k, deriv) * s ** (k - deriv)
        if deriv > 3:
            return np.zeros_like(s)
        z = np.maximum(s - self.knot(k, size), 0.0)
        return math.perm(3, deriv) * (z ** (3 - deriv) if deriv < 3 else (z > 0).astype(float))

    def one_expr(self, s, k, size):
        if k < 4:
            return s**k
        z = s - sp.Float(self.knot(k, size), 17)
        return ((z + sp.Abs(z)) / 2) ** 3


def legendre_design(
    s: np.ndarray, exponents: Sequence[Sequence[int]], deriv: Sequence[int] | None = None
) -> np.ndarray:
    """``Π_d P_{e_d}(s_d)`` (or its derivative ``deriv`` along each axis of ``s``) for each
    multi-index ``e`` of ``exponents``: shape ``(n, len(exponents))``; ``s`` is ``(n, d)``.

    >>> legendre_design(np.array([[0.5]]), [(0,), (1,), (2,)]).round(3).tolist()
    [[1.0, 0.5, -0.125]]
    """
    size = max((max(e) for e in exponents), default=0)
    return BASES["legendre"].design(s, exponents, size, deriv)


@dataclass(frozen=True)
class CoefficientField:
    """A coefficient as a series ``Σ w_k Π_d f_{k_d}((x_d - c_d) / h_d)`` of a registered
    :class:`Basis` (:data:`BASES`).

    Attributes
    ----------
    name : str
        Printed name (``D``, ``A``).
    args : tuple of str
        The coordinates it depends on.
    center, half : tuple of float
        The affine map of each argument onto ``[-1, 1]`` over the data's extent.
    indices : tuple of tuple of int
        One multi-index per basis function.
    weights : tuple of float
        One weight per basis function.
    fold_weights : tuple of tuple of float
        The weights refitted without each cross-validation fold (block jackknife).
    basis : str
        The basis's name.
    size : int
        Its size (the Legendre degree; the spline's number of intervals).
    """

    name: str
    args: tuple[str, ...]
    center: tuple[float, ...]
    half: tuple[float, ...]
    indices: tuple[tuple[int, ...], ...]
    weights: tuple[float, ...]
    fold_weights: tuple[tuple[float, ...], ...] = ()
    basis: str = "legendre"
    size: int = 0

    def scaled(self, coords: Mapping[str, np.ndarray]) -> np.ndarray:
        """The arguments mapped onto ``[-1, 1]``, shape ``(n, len(args))``."""
        cols = [
            (np.asarray(coords[a], dtype=float).ravel() - c) / h
            for a, c, h in zip(self.args, self.center, self.half)
        ]
        return np.stack(cols, axis=1)

    def design(self, coords: Mapping[str, np.ndarray]) -> np.ndarray:
        return BASES[self.basis].design(self.scaled(coords), self.indices, self.size)

    def values(self, coords: Mapping[str, np.ndarray]) -> np.ndarray:
        """The field at points (``coords``: argument -> array, all of one shape)."""
        shape = np.shape(coords[self.args[0]])
        return (self.design(coords) @ np.asarray(self.weights)).reshape(shape)

    def std(self, coords: Mapping[str, np.ndarray]) -> np.ndarray:
        """Block-jackknife standard deviation of the field at points (0 without folds)."""
        shape = np.shape(coords[self.args[0]])
        if len(self.fold_weights) < 2:
            return np.zeros(shape)
        k = len(self.fold_weights)
        vals = self.design(coords) @ np.asarray(self.fold_weights).T
        dev = vals - vals.mean(axis=1, keepdims=True)
        return np.sqrt((k - 1) / k * np.sum(dev**2, axis=1)).reshape(shape)

    def function(self) -> sp.Expr:
        """``D(x)`` as a SymPy applied function (for printing)."""
        return sp.Function(self.name)(*[sp.Symbol(a) for a in self.args])

    def expr(self) -> sp.Expr:
        """The field as an explicit SymPy expression of its arguments (for solving)."""
        basis = BASES[self.basis]
        s = []
        for a, c, h in zip(self.args, self.center, self.half):
            z = (sp.Symbol(a) - sp.Float(c, 17)) / sp.Float(h, 17)
            s.append((sp.Abs(z + 1) - sp.Abs(z - 1)) / 2)  # z held within [-1, 1]
        memo: dict[tuple[int, int], sp.Expr] = {}
        total = sp.Integer(0)
        for e, w in zip(self.indices, self.weights):
            part = sp.Float(w, 17)
            for d, k in enumerate(e):
                if (d, k) not in memo:
                    memo[(d, k)] = basis.one_expr(s[d], k, self.size)
                part = part * memo[(d, k)]
            total += part
        return total

    def times(self, factor: float) -> CoefficientField:
        """The field multiplied by a number."""
        return replace(
            self,
            weights=tuple(factor * w for w in self.weights),
            fold_weights=tuple(tuple(factor * w for w in fw) for fw in self.fold_weights),
        )

    def moved(
        self, maps: Mapping[str, tuple[float, float]], renames: Mapping[str, str]
    ) -> CoefficientField:
        """The same field of new coordinates ``x' = a x + b`` (``maps``), renamed."""
        center, half = [], []
        for a_, c, h in zip(self.args, self.center, self.half):
            a, b = maps.get(a_, (1.0, 0.0))
            center.append(float(a * c + b))
            half.append(float(a * h))
        args = tuple(renames.get(a, a) for a in self.args)
        return replace(self, args=args, center=tuple(center), half=tuple(half))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "args": list(self.args),
            "basis": self.basis,
            "size": self.size,
            "center": list(self.center),
            "half": list(self.half),
            "indices": [list(e) for e in self.indices],
            "weights": list(self.weights),
            "fold_weights": [list(w) for w in self.fold_weights],
        }

    @classmethod
    def from_dict(cls, d: Any) -> CoefficientField:
        """From :meth:`to_dict`; a malformed record is a one-line :class:`DataError`."""
        if not isinstance(d, Mapping):
            raise DataError("a term's 'field' must be a JSON object")
        try:
            name = str(d["name"])
            args = tuple(str(a) for a in d["args"])
            center = tuple(float(v) for v in d["center"])
            half = tuple(float(v) for v in d["half"])
            idx = tuple(tuple(int(v) for v in e) for e in d["indices"])
            weights = tuple(float(v) for v in d["weights"])
            folds = tuple(tuple(float(v) for v in w) for w in d.get("fold_weights", []))
            size = int(d.get("size", 0))
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"cannot read a coefficient field: {exc!s}") from None
        basis = str(d.get("basis", "legendre"))
        BASES.check(basis)
        n = len(args)
        if not name.isidentifier() or not n or len(center) != n or len(half) != n:
            raise DataError(f"the coefficient field {name!r} needs one center and half per arg")
        if any(h == 0 for h in half) or len(weights) != len(idx):
            raise DataError(f"the coefficient field {name!r} has a zero half or bad weights")
        if any(len(e) != n or min(e, default=0) < 0 for e in idx):
            raise DataError(f"the coefficient field {name!r} has bad indices")
        if any(len(w) != len(weights) for w in folds):
            raise DataError(f"the coefficient field {name!r} has bad fold weights")
        return cls(name, args, center, half, idx, weights, folds, basis, size)


# ----------------------------------------------------------------------------- the test


def strong_modulate(X: np.ndarray, points: np.ndarray, coords: Sequence[str]):
    """``modulate`` of rows at points (the strong form): ``(j, basis) -> X[:, j] · φ_k``,
    where ``basis(coords, deriv)`` gives the basis functions (or their derivatives) at
    points given as a dict coordinate -> array."""

    def modulate(j: int, basis: Callable[..., np.ndarray]) -> np.ndarray:
        at = {c: points[:, i] for i, c in enumerate(coords)}
        return X[:, [j]] * basis(at, None)

    return modulate


@dataclass
class FieldChoice:
    """What the test decided for one field's equation."""

    fields: dict[int, CoefficientField]
    coef: dict[int, float]
    report: dict[str, Any] = field(default_factory=dict)


def _fold_errors(A: np.ndarray, y: np.ndarray, folds: np.ndarray):
    """Per-fold held-out log relative squared errors of least squares of ``y`` on ``A``,
    the coefficients on all rows and without each fold."""
    labels = np.unique(folds)
    xs = np.sqrt(np.sum(A**2, axis=0))
    xs = np.where(xs > 0, xs, 1.0)
    An = A / xs
    Rs = [np.linalg.qr(np.column_stack([An[folds == f], y[folds == f]]), mode="r") for f in labels]
    errs, fold_coef = [], []
    for i, _ in enumerate(labels):
        R = np.vstack([r for k, r in enumerate(Rs) if k != i])
        c = np.linalg.lstsq(R[:, :-1], R[:, -1], rcond=None)[0]
        fold_coef.append(c / xs)
        m = folds == labels[i]
        r = An[m] @ c - y[m]
        errs.append(max(float(r @ r / max(y[m] @ y[m], 1e-300)), 1e-14))
    R = np.vstack(Rs)
    c = np.linalg.lstsq(R[:, :-1], R[:, -1], rcond=None)[0] / xs
    return np.log(errs), c, np.array(fold_coef)


def field_names(terms: Sequence[str], fields: Sequence[str], coords: Sequence[str]) -> list[str]:
    """A printed name per term's field: ``D`` for a second derivative of a field, ``V`` for
    a first, ``R`` for a field itself, ``S`` for the constant, ``A``, ``B``, … otherwise;
    a digit is added where a name repeats; never the name of a field or coordinate.

    >>> field_names(["u_xx", "u_x", "sin(t)", "cos(t)"], ["u"], ["t", "x"])
    ['D', 'V', 'A', 'B']
    """
    taken = set(fields) | set(coords)
    letters = (c for c in "ABCEFGHKLMNOPQW" if c not in taken)
    out: list[str] = []
    for t in terms:
        d = parse_symbol(t, fields, coords)
        role = {2: "D", 1: "V", 0: "R"}.get(d.total_order) if d is not None else None
        name = "S" if t == "1" else role or next(letters, "F")
        base, k = name, 2
        while name in out or name in taken:
            name, k = f"{base}{k}", k + 1
        out.append(name)
    return out


@dataclass(frozen=True)
class _Geometry:
    """The arguments of a field and their map onto ``[-1, 1]``."""

    args: tuple[str, ...]
    center: tuple[float, ...]
    half: tuple[float, ...]
    basis: Basis

    def function(self, size: int) -> Callable[..., np.ndarray]:
        """``basis(at, deriv)``: the basis functions of ``size`` (or their derivatives,
        ``deriv``: coordinate -> order) at points ``at`` (coordinate -> array)."""
        idx = self.basis.indices(len(self.args), size)

        def basis(at, deriv):
            s = np.stack([(at[a] - c) / h for a, c, h in zip(self.args, self.center, self.half)], 1)
            if deriv is None:
                return self.basis.design(s, idx, size)
            if any(k for c, k in deriv.items() if c not in self.args):
                return np.zeros((len(s), len(idx)))  # the field is constant along it
            orders = [deriv.get(a, 0) for a in self.args]
            scale = float(np.prod([h**-k for h, k in zip(self.half, orders)]))
            return scale * self.basis.design(s, idx, size, orders)

        return basis


def choose_fields(
    X: np.ndarray,
    y: np.ndarray,
    folds: np.ndarray,
    idx: Sequence[int],
    names: Sequence[str],
    modulate: Callable[[int, Callable[..., np.ndarray]], np.ndarray],
    extent: Mapping[str, tuple[float, float]],
    *,
    fields: Sequence[str],
    coords: Sequence[str],
    basis: str = "spline",
    max_size: int | None = None,
    time: Mapping[str, tuple[float, float]] | None = None,
    max_time_size: int | None = None,
    time_folds: np.ndarray | None = None,
    seed: int = 0,
) -> FieldChoice:
    """Which of the kept terms ``idx`` get a coefficient field (see the module notes).

    ``modulate(j, basis)`` returns the columns ``φ_k · term_j`` on the rows of ``X``, with
    ``basis(coords, deriv)`` the basis functions (or their derivatives) at points;
    ``extent`` maps each spatial coordinate to its range over the data.  ``time`` (the
    time coordinate and its range; a long record) offers each term a field of time too,
    of at most ``max_time_size``: a coefficient that drifts over the record, tested on
    ``time_folds`` (whole time slabs, :func:`time_slab_folds`), so that what the whole
    region shares at one time (the weather of a day) cannot pass for a drift.
    """
    geos = [_geometry(extent, basis)]
    limits = [max_size]
    every = [folds]
    if time:
        geos.append(_geometry(time, basis))
        limits.append(max_time_size)
        every.append(folds if time_folds is None else time_folds)
    sizes = [
        [p for p in g.basis.sizes.get(len(g.args), range(1, 3)) if m is None or p <= max(m, 1)]
        for g, m in zip(geos, limits)
    ]
    rows = _subsample(len(y), seed)
    Xs, ys, fs = X[rows], y[rows], folds[rows]
    fold_sets = [f[rows] for f in every]
    cache: dict[tuple[int, int, int], np.ndarray] = {}

    def columns(j: int, g: int, p: int) -> np.ndarray:
        if (j, g, p) not in cache:
            cache[(j, g, p)] = modulate(j, geos[g].function(p))[rows]
        return cache[(j, g, p)]

    def design(chosen: Mapping[int, tuple[int, int]], terms: Sequence[int] = idx) -> np.ndarray:
        return np.column_stack(
            [columns(j, *chosen[j]) if j in chosen else Xs[:, [j]] for j in terms]
        )

    def n_weights(chosen: Mapping[int, tuple[int, int]]) -> int:
        return sum(len(geos[g].basis.indices(len(geos[g].args), p)) for g, p in chosen.values())

    chosen: dict[int, tuple[int, int]] = {}
    terms = list(idx)
    bases = [_fold_errors(design(chosen, terms), ys, f)[0] for f in fold_sets]
    steps: list[dict[str, Any]] = []

    def trial(j: int, keep: list[int], g: int):
        """Term ``j`` with a field of geometry ``g``, the terms ``keep`` beside it: (tested
        size, best size, per-size errors), or None when no size fits the rows."""
        errs = {}
        for p in sizes[g]:
            if n_weights({**chosen, j: (g, p)}) >= len(ys) // 4:
                break  # too few rows for this many weights
            errs[p] = _fold_errors(design({**chosen, j: (g, p)}, keep), ys, fold_sets[g])[0]
        return (*_sizes(errs), errs) if errs else None

    while True:
        trials = {}
        for j in (j for j in terms if j not in chosen):
            # the field alone, or in place of one constant term that may stand in for it
            for k in [None, *(k for k in terms if k != j and k not in chosen)]:
                for g in range(len(geos)):
                    got = trial(j, [t for t in terms if t != k], g)
                    if got is not None:
                        trials[(j, k, g)] = got
        if not trials:
            break
        j, k, g = max(trials, key=lambda c: _mean_drop(bases[c[2]], trials[c]))
        test, p, errs = trials[(j, k, g)]
        drop = bases[g] - errs[test]
        se = float(drop.std(ddof=1) / math.sqrt(drop.size))
        bar = se * (TIME_SE if g else 1.0)
        step = {"term": names[j], "args": list(geos[g].args), "size": p,
                "tested_size": test, "cv_drop": float(drop.mean()), "se": se,
                "kept": bool(drop.mean() > bar)}  # fmt: skip
        if k is not None:
            step["in_place_of"] = names[k]
        steps.append(step)
        logger.info("field for %s (size %d): cv drop %.3g ± %.3g", names[j], test, drop.mean(), se)
        if not step["kept"]:
            break
        chosen[j] = (g, p)
        terms = [t for t in terms if t != k]
        bases = [_fold_errors(design(chosen, terms), ys, f)[0] for f in fold_sets]
    terms = _backward(terms, chosen, design, ys, fs, bases[0], names, steps)
    return _assemble(chosen, design, ys, fs, terms, names, geos, steps, fields, coords)


def _mean_drop(base: np.ndarray, trial) -> float:
    test, _, errs = trial
    return float(np.mean(base - errs[test]))


def time_slab_folds(t: np.ndarray, *, n_folds: int, n_slabs: int | None = None) -> np.ndarray:
    """Fold of each row by time alone: the record cut into ``n_slabs`` slabs of equal count
    (default ``2 · n_folds``), dealt to the folds in turn, so a held-out slab has kept
    slabs on both sides (a field of time interpolates across it).

    >>> time_slab_folds(np.arange(10.0), n_folds=5).tolist()
    [0, 1, 2, 3, 4, 0, 1, 2, 3, 4]
    """
    n_slabs = n_slabs or 2 * n_folds
    edges = np.quantile(t, np.linspace(0, 1, n_slabs + 1)[1:-1])
    return np.searchsorted(edges, t, side="right") % n_folds


def _geometry(extent: Mapping[str, tuple[float, float]], basis: str) -> _Geometry:
    """The arguments ``extent`` names, mapped from their ranges onto ``[-1, 1]``."""
    return _Geometry(
        tuple(extent),
        tuple((lo + hi) / 2 for lo, hi in extent.values()),
        tuple(max((hi - lo) / 2, 1e-300) for lo, hi in extent.values()),
        BASES[basis],
    )


def _backward(idx, chosen, design, ys, fs, base, names, steps) -> list[int]:
    """With the fields in, drop the constant terms that no longer lower the held-out error
    by more than its standard error (a term taken in only to stand in for the variation of
    another's coefficient), the least useful first."""
    if not chosen:
        return idx
    while True:
        rises = {}
        for j in (j for j in idx if j not in chosen):
            keep = [k for k in idx if k != j]
            errs = _fold_errors(design(chosen, keep), ys, fs)[0]
            rise = errs - base
            rises[j] = (float(rise.mean()), float(rise.std(ddof=1) / math.sqrt(rise.size)), errs)
        weak = {j: r for j, r in rises.items() if r[0] <= r[1]}
        if not weak:
            return idx
        j = min(weak, key=lambda k: weak[k][0])
        steps.append({"term": names[j], "dropped": True, "cv_rise": weak[j][0], "se": weak[j][1]})
        idx = [k for k in idx if k != j]
        base = weak[j][2]


def _sizes(errs: Mapping[int, np.ndarray]) -> tuple[int, int]:
    """The smallest size within one standard error of the best (tested against the
    constant: the choice among sizes does not inflate the test) and the best size (kept:
    the one-standard-error size was measured too coarse, 11-14% error of D(x) where the
    lowest gave 3-6%)."""
    means = {p: float(e.mean()) for p, e in errs.items()}
    best = min(means, key=means.get)
    e = errs[best]
    se = float(e.std(ddof=1) / math.sqrt(e.size)) if e.size > 1 else 0.0
    return min(q for q in errs if means[q] <= means[best] + se), best


def _assemble(chosen, design, ys, fs, idx, names, geos, steps, fields, coords):
    """The chosen fields refitted together, with their fold weights."""
    _, coef, fold_coef = _fold_errors(design(chosen, idx), ys, fs)
    labels = field_names([names[j] for j in idx], fields, coords)
    out, consts, at = {}, {}, 0
    for j, label in zip(idx, labels):
        if j in chosen:
            g, p = chosen[j]
            geo = geos[g]
            ind = geo.basis.indices(len(geo.args), p)
            w = slice(at, at + len(ind))
            out[j] = CoefficientField(
                label, geo.args, geo.center, geo.half, ind, tuple(coef[w].tolist()),
                tuple(tuple(r) for r in fold_coef[:, w].tolist()), geo.basis.name, p,
            )  # fmt: skip
            at += len(ind)
        else:
            consts[j] = float(coef[at])
            at += 1
    report = {"basis": geos[0].basis.name, "args": list(geos[0].args), "steps": steps,
              "fields": {names[j]: f.name for j, f in out.items()}}  # fmt: skip
    if len(geos) > 1:
        report["time_args"] = list(geos[1].args)
    return FieldChoice(out, consts, report)


def _subsample(n: int, seed: int) -> np.ndarray:
    if n <= MAX_ROWS:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, MAX_ROWS, replace=False))


# ----------------------------------------------------------------------------- netCDF


def write_fields(equations, path, *, grid: Mapping[str, np.ndarray], force: bool = False) -> bool:
    """Write every coefficient field of ``equations`` on ``grid`` (coordinate -> 1-D array)
    as a netCDF file: one variable per field (``D``) and its block-jackknife spread
    (``D_std``), named by the equation's left-hand side where fields share a name
    (``u_t.D``).  False when there is no field to write."""
    import xarray as xr

    found = [(e, t.field) for e in equations for t in e.terms if t.field is not None]
    if not found:
        return False
    names = [f.name for _, f in found]
    ds = xr.Dataset()
    for e, f in found:
        dims = list(f.args)
        mesh = np.meshgrid(*[np.asarray(grid[a], dtype=float) for a in dims], indexing="ij")
        at = dict(zip(dims, mesh, strict=True))
        key = f.name if names.count(f.name) == 1 else f"{e.lhs}.{f.name}"
        attrs = {"long_name": f"coefficient field {f.name} of {e.lhs}", "equation": str(e)}
        ds[key] = (dims, f.values(at), attrs)
        ds[f"{key}_std"] = (dims, f.std(at), {"long_name": f"block-jackknife std of {key}"})
    ds = ds.assign_coords({a: np.asarray(grid[a], dtype=float) for a in ds.dims})
    from pathlib import Path

    path = Path(path)
    if path.exists() and not force:
        raise DataError(f"{path} exists; give --force to overwrite it", parameter="force")
    ds.to_netcdf(path)
    return True
