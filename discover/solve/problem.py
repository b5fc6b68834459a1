"""What to solve: equations, a domain, and initial and boundary values.

A :class:`Problem` holds one equation per field, parsed with SymPy from an
:class:`~discover.equation.Equation` or a string such as ``"u_t = 0.1*u_xx - u*u_x"``
(evolution) or ``"u_xx + u_yy = -2*pi**2*sin(pi*x)*sin(pi*y)"`` (steady), a spatial domain,
an optional time window, and initial and boundary values given as functions or as xarray
data on a grid.  Both solvers (:mod:`discover.solve.neural`, :mod:`discover.solve.classical`)
read the same problem.

Domains: :class:`Box` (intervals, rectangles, boxes; any side periodic), :class:`Disk`,
:class:`Ball` (any dimension from 2), :class:`Polygon` and :class:`Mask` (a boolean grid,
e.g. a land–sea mask).  Every domain gives a smooth function that vanishes exactly on its
boundary (:meth:`Box.distance`); for polygons and masks it is the R-function of the
boundary's segments (Sukumar & Srivastava, *CMAME* 389, 2022), a closed form where Berg &
Nyström fitted a network.

Examples
--------
>>> import numpy as np
>>> p = Problem("u_t = 0.1*u_xx", Box(x=(0.0, 1.0)), time=(0.0, 0.5),
...             initial=lambda x: np.sin(np.pi * x), boundary=0.0)
>>> p
<Problem u_t = 0.1*u_xx on Box(x=(0.0, 1.0)), t in [0, 0.5]>
>>> p.max_order("x")
2
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy as sp
import xarray as xr

from ..equation import Equation
from ..errors import DataError
from ..library import Derivative, parse_symbol
from ..parsing import parse_equation

if TYPE_CHECKING:
    import torch

__all__ = ["Ball", "Box", "Disk", "Mask", "Polygon", "Problem", "compile_expr"]


# ----------------------------------------------------------------------------- domains
class _Domain:
    names: tuple[str, ...]
    periodic: tuple[str, ...] = ()

    @property
    def dim(self) -> int:
        return len(self.names)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - abstract
        raise NotImplementedError

    def contains(self, points: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def distance(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def boundary_points(self, n: int, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError  # pragma: no cover - abstract

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` points drawn uniformly inside the domain (rejection from the bounding box)."""
        lo, hi = self.bounds()
        out: list[np.ndarray] = []
        got = 0
        while got < n:
            p = lo + (hi - lo) * rng.random((2 * (n - got) + 16, self.dim))
            p = p[self.contains(p)]
            out.append(p)
            got += len(p)
        return np.concatenate(out)[:n]


@dataclass(frozen=True, init=False)
class Box(_Domain):
    """An interval, rectangle or box; sides named in ``periodic`` wrap around.

    >>> Box(x=(0.0, 2.0), y=(-1.0, 1.0), periodic=("x",)).names
    ('x', 'y')
    """

    sides: tuple[tuple[str, float, float], ...]
    periodic: tuple[str, ...]

    def __init__(self, *, periodic: Sequence[str] = (), **sides: tuple[float, float]) -> None:
        if not sides:
            raise ValueError("a Box needs at least one side, e.g. Box(x=(0, 1))")
        for name, (a, b) in sides.items():
            if not b > a:
                raise ValueError(f"side {name}=({a}, {b}) of the box must have {name}_end > start")
        unknown = [p for p in periodic if p not in sides]
        if unknown:
            raise ValueError(f"periodic side(s) {unknown} are not sides of the box {list(sides)}")
        object.__setattr__(
            self, "sides", tuple((k, float(a), float(b)) for k, (a, b) in sides.items())
        )
        object.__setattr__(self, "periodic", tuple(periodic))

    @property
    def names(self) -> tuple[str, ...]:  # type: ignore[override]
        return tuple(s[0] for s in self.sides)

    def __repr__(self) -> str:
        parts = [f"{k}=({a}, {b})" for k, a, b in self.sides]
        if self.periodic:
            parts.append(f"periodic={self.periodic}")
        return f"Box({', '.join(parts)})"

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return np.array([s[1] for s in self.sides]), np.array([s[2] for s in self.sides])

    def contains(self, points: np.ndarray) -> np.ndarray:
        lo, hi = self.bounds()
        return np.all((points >= lo) & (points <= hi), axis=1)

    def distance(self, x: torch.Tensor) -> torch.Tensor:
        """``Π (x - a)(b - x) / ((b - a)/2)²`` over the sides that do not wrap (1 inside the
        centre, 0 on the boundary); constant 1 for a fully periodic box."""
        import torch

        out = torch.ones(x.shape[0], 1, dtype=x.dtype)
        for j, (name, a, b) in enumerate(self.sides):
            if name not in self.periodic:
                half = (b - a) / 2
                out = out * ((x[:, j : j + 1] - a) * (b - x[:, j : j + 1]) / half**2)
        return out

    def boundary_points(self, n: int, rng: np.random.Generator) -> np.ndarray:
        walls = [j for j, s in enumerate(self.sides) if s[0] not in self.periodic]
        if not walls:
            return np.empty((0, self.dim))
        lo, hi = self.bounds()
        p = lo + (hi - lo) * rng.random((n, self.dim))
        which = rng.integers(0, 2 * len(walls), n)
        for i, w in enumerate(which):
            j = walls[w // 2]
            p[i, j] = lo[j] if w % 2 == 0 else hi[j]
        return p


class _Round(_Domain):
    """What a disk and a ball share: a ``center`` and a ``radius``."""

    center: tuple[float, ...]
    radius: float

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        c = np.asarray(self.center, float)
        return c - self.radius, c + self.radius

    def contains(self, points: np.ndarray) -> np.ndarray:
        return np.sum((points - np.asarray(self.center)) ** 2, axis=1) <= self.radius**2

    def distance(self, x: torch.Tensor) -> torch.Tensor:
        """``1 - |x - c|² / r²``: 1 at the centre, 0 on the sphere."""
        import torch

        c = torch.as_tensor(self.center, dtype=x.dtype)
        return 1 - torch.sum((x - c) ** 2, dim=1, keepdim=True) / self.radius**2


@dataclass(frozen=True)
class Disk(_Round):
    """A disk of ``radius`` around ``center`` in the plane of ``names``."""

    center: tuple[float, float] = (0.0, 0.0)
    radius: float = 1.0
    names: tuple[str, ...] = ("x", "y")

    def __post_init__(self) -> None:
        if not self.radius > 0:
            raise ValueError(f"a disk needs a positive radius, not {self.radius}")
        if len(self.names) != 2:
            raise ValueError(f"a disk lies in a plane: give two coordinate names, not {self.names}")

    def boundary_points(self, n: int, rng: np.random.Generator) -> np.ndarray:
        a = rng.uniform(0, 2 * np.pi, n)
        return np.asarray(self.center) + self.radius * np.stack([np.cos(a), np.sin(a)], axis=1)


_BALL_NAMES = ("x", "y", "z", "w", "v", "s")


@dataclass(frozen=True, init=False)
class Ball(_Round):
    """A ball of ``radius`` around ``center`` in ``dim`` dimensions (a disk when ``dim=2``).

    Coordinates are named ``x, y, z, w, v, s`` (``x1 … xd`` above six) unless ``names``
    are given.  Points inside are drawn uniformly (a uniform direction times
    ``radius · U^(1/d)``), points on the sphere from normalized Gaussian vectors.

    >>> b = Ball(radius=2.0, dim=3)
    >>> b
    Ball(center=(0.0, 0.0, 0.0), radius=2.0, names=('x', 'y', 'z'))
    >>> p = b.sample(1000, np.random.default_rng(0))
    >>> bool(b.contains(p).all()), p.shape
    (True, (1000, 3))
    >>> bool(np.allclose(np.linalg.norm(b.boundary_points(5, np.random.default_rng(0)), axis=1), 2))
    True
    >>> Ball(radius=0.0)
    Traceback (most recent call last):
    ...
    discover.errors.DataError: a ball needs a positive, finite radius, not 0.0
    """

    center: tuple[float, ...]
    radius: float
    names: tuple[str, ...]

    def __init__(
        self,
        *,
        radius: float = 1.0,
        dim: int | None = None,
        center: Sequence[float] | None = None,
        names: Sequence[str] | None = None,
    ) -> None:
        d = _ball_dim(dim, center, names)
        r = _number_or_nan(radius)
        if not 0 < r < np.inf:
            raise DataError(
                f"a ball needs a positive, finite radius, not {radius!r}", parameter="radius"
            )
        c = tuple(float(v) for v in (center if center is not None else [0.0] * d))
        if not all(np.isfinite(c)):
            raise DataError(f"a ball's center must be finite, not {c}", parameter="center")
        if names is None:
            names = _BALL_NAMES[:d] if d <= len(_BALL_NAMES) else [f"x{i + 1}" for i in range(d)]
        object.__setattr__(self, "center", c)
        object.__setattr__(self, "radius", r)
        object.__setattr__(self, "names", tuple(str(n) for n in names))

    def _directions(self, n: int, rng: np.random.Generator) -> np.ndarray:
        v = rng.standard_normal((n, self.dim))
        norm = np.linalg.norm(v, axis=1, keepdims=True)
        return v / np.where(norm > 0, norm, 1.0)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` points drawn uniformly inside the ball (no rejection: in many dimensions
        the ball fills little of its bounding box)."""
        r = self.radius * rng.random((n, 1)) ** (1 / self.dim)
        return np.asarray(self.center) + r * self._directions(n, rng)

    def boundary_points(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return np.asarray(self.center) + self.radius * self._directions(n, rng)


def _number_or_nan(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _ball_dim(dim: int | None, center: Sequence[float] | None, names: Sequence[str] | None) -> int:
    """The dimension of a :class:`Ball` from whichever of ``dim``, ``center`` and
    ``names`` are given (3 when none is); a one-line error when they disagree or d < 2."""
    sizes = {
        "dim": None if dim is None else dim,
        "center": None if center is None else len(center),
        "names": None if names is None else len(names),
    }
    given = {k: v for k, v in sizes.items() if v is not None}
    if len(set(given.values())) > 1:
        said = ", ".join(f"{k} gives {v}" for k, v in given.items())
        raise DataError(f"the ball's dimension is ambiguous ({said}); make them agree")
    d = next(iter(given.values()), 3)
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 2:
        raise DataError(
            f"a ball needs dim >= 2 (a disk is dim=2; an interval is a Box), not {d!r}",
            parameter="dim",
        )
    return int(d)


class _Segments(_Domain):
    """A domain bounded by straight segments ``(k, 2, 2)``; the distance function is the
    R-function ``φ = (Σ 1/φ_i)^-1`` of the trimmed segment functions ``φ_i``, zero on every
    segment and smooth inside, scaled to a maximum of about 1."""

    segments: np.ndarray
    _scale: float | None

    def _phi(self, x: torch.Tensor) -> torch.Tensor:
        import torch

        seg = torch.as_tensor(self.segments, dtype=x.dtype)
        p1, p2 = seg[:, 0], seg[:, 1]  # (k, 2)
        d = p2 - p1
        length = torch.linalg.norm(d, dim=1)  # (k,)
        xc = (p1 + p2) / 2
        rel = x[:, None, :] - p1[None]  # (n, k, 2)
        f = (rel[..., 0] * d[:, 1] - rel[..., 1] * d[:, 0]) / length
        t = ((length / 2) ** 2 - torch.sum((x[:, None, :] - xc[None]) ** 2, dim=2)) / length
        varphi = torch.sqrt(t**2 + f**4)
        phi_i = torch.sqrt(f**2 + ((varphi - t) / 2) ** 2)
        return 1 / torch.sum(1 / phi_i, dim=1, keepdim=True)

    def _set_scale(self) -> None:
        """The scale is found on the first :meth:`distance` (it needs torch)."""
        self._scale = None

    def _scale_value(self) -> float:
        if self._scale is None:
            import torch

            pts = self.sample(2000, np.random.default_rng(0))
            with torch.no_grad():
                m = float(self._phi(torch.as_tensor(pts)).max())
            self._scale = m if m > 0 else 1.0
        return self._scale

    def distance(self, x: torch.Tensor) -> torch.Tensor:
        return self._phi(x) / self._scale_value()

    def boundary_points(self, n: int, rng: np.random.Generator) -> np.ndarray:
        seg = self.segments
        length = np.linalg.norm(seg[:, 1] - seg[:, 0], axis=1)
        which = rng.choice(len(seg), size=n, p=length / length.sum())
        s = rng.random(n)[:, None]
        return seg[which, 0] + s * (seg[which, 1] - seg[which, 0])


class Polygon(_Segments):
    """A simple polygon in the plane of ``names`` (vertices in order, not repeated).

    >>> L = Polygon([(0, 0), (2, 0), (2, 1), (1, 1), (1, 2), (0, 2)])
    >>> L.contains(np.array([[0.5, 1.5], [1.5, 1.5]]))
    array([ True, False])
    """

    def __init__(self, vertices: Sequence[Sequence[float]], names: Sequence[str] = ("x", "y")):
        v = np.asarray(vertices, dtype=float)
        if v.ndim != 2 or v.shape[1] != 2 or len(v) < 3:
            raise ValueError(f"a polygon needs at least 3 vertices (x, y), not shape {v.shape}")
        if len(names) != 2:
            raise ValueError(f"a polygon lies in a plane: give two coordinate names, not {names}")
        from matplotlib.path import Path as MplPath

        self.vertices = v
        self.names = tuple(names)
        self.segments = np.stack([v, np.roll(v, -1, axis=0)], axis=1)
        self._path = MplPath(v)
        self._set_scale()

    def __repr__(self) -> str:
        return f"Polygon({len(self.vertices)} vertices)"

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return self.vertices.min(axis=0), self.vertices.max(axis=0)

    def contains(self, points: np.ndarray) -> np.ndarray:
        return self._path.contains_points(points, radius=1e-12) | self._path.contains_points(
            points, radius=-1e-12
        )


class Mask(_Segments):
    """The cells of a boolean grid that are ``True`` (e.g. land or one basin); the boundary
    is the 0.5-contour of the mask between cell centres, holes included.

    Parameters
    ----------
    mask : xarray.DataArray of bool
        On two dims whose coordinates are the cell centres (ascending or not).
    """

    def __init__(self, mask: xr.DataArray) -> None:
        if not isinstance(mask, xr.DataArray) or mask.ndim != 2:
            raise ValueError("a Mask needs a 2-D boolean xarray.DataArray (e.g. dims y, x)")
        m = mask.sortby(list(mask.dims)).astype(bool)
        if not bool(m.any()):
            raise ValueError("the mask has no True cell; the domain would be empty")
        import contourpy

        dy, dx = (str(d) for d in m.dims)
        yv, xv = m[dy].values.astype(float), m[dx].values.astype(float)
        z = np.pad(m.values.astype(float), 1)  # closed contours at the grid's edge too
        xp = np.concatenate([[2 * xv[0] - xv[1]], xv, [2 * xv[-1] - xv[-2]]])
        yp = np.concatenate([[2 * yv[0] - yv[1]], yv, [2 * yv[-1] - yv[-2]]])
        lines = contourpy.contour_generator(xp, yp, z).lines(0.5)
        segs = [np.stack([ln[:-1], ln[1:]], axis=1) for ln in lines if len(ln) > 1]
        segments = np.concatenate(segs)
        keep = np.linalg.norm(segments[:, 1] - segments[:, 0], axis=1) > 0
        self.mask = m
        self.names = (dx, dy)
        self.segments = segments[keep]
        self._x, self._y = xv, yv
        self._set_scale()

    def __repr__(self) -> str:
        return f"Mask({int(self.mask.sum())} of {self.mask.size} cells)"

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        s = self.segments.reshape(-1, 2)
        return s.min(axis=0), s.max(axis=0)

    def contains(self, points: np.ndarray) -> np.ndarray:
        inside = np.zeros(len(points), dtype=bool)
        lo, hi = self.bounds()
        ok = np.all((points >= lo) & (points <= hi), axis=1)
        ix = np.clip(np.searchsorted(self._x, points[ok, 0]), 1, len(self._x) - 1)
        iy = np.clip(np.searchsorted(self._y, points[ok, 1]), 1, len(self._y) - 1)
        ix -= (points[ok, 0] - self._x[ix - 1]) < (self._x[ix] - points[ok, 0])
        iy -= (points[ok, 1] - self._y[iy - 1]) < (self._y[iy] - points[ok, 1])
        inside[ok] = self.mask.values[iy, ix]
        return inside


# ----------------------------------------------------------------------------- equations
@dataclass(frozen=True)
class ParsedEquation:
    """``lhs = rhs`` as SymPy; ``field`` is set for an evolution equation ``field_t = rhs``."""

    lhs: sp.Expr
    rhs: sp.Expr
    field: str | None

    @property
    def residual(self) -> sp.Expr:
        return self.lhs - self.rhs

    def __str__(self) -> str:
        return f"{sp.sstr(self.lhs)} = {sp.sstr(self.rhs)}"


def split_derivative(name: str, coords: Sequence[str]) -> tuple[str, str] | None:
    """``(field, suffix)`` when ``name`` reads as a derivative of some field along
    ``coords`` (``air_temp_xx`` -> ``("air_temp", "xx")``), the shortest field first; the
    symbol is never simply split at its first ``_``.

    >>> split_derivative("air_temp_xx", ("t", "x"))
    ('air_temp', 'xx')
    >>> split_derivative("T_lat_lon", ("t", "lat", "lon"))
    ('T', 'lat_lon')
    >>> split_derivative("nu", ("t", "x")) is None
    True
    """
    for i, ch in enumerate(name):
        if ch != "_" or i == 0:
            continue
        field = name[:i]
        if parse_symbol(name, (field,), coords) is not None:
            return field, name[i + 1 :]
    return None


def _evolution_field(lhs: sp.Expr, coords: Sequence[str]) -> str | None:
    """The field of an evolution equation's left-hand side ``field_t``."""
    if isinstance(lhs, sp.Symbol) and lhs.name.endswith("_t") and "t" in coords:
        return lhs.name[:-2] or None
    return None


def _infer_fields(sides: Sequence[tuple[sp.Expr, sp.Expr]], coords: Sequence[str]) -> tuple:
    """Fields are the left-hand sides' ``field`` of ``field_t``, then the names whose
    derivatives appear (``u`` of ``u_xx``); a plain name alone (``nu``) is not a field."""
    fields: list[str] = []
    for lhs, _ in sides:
        f = _evolution_field(lhs, coords)
        if f is not None and f not in fields:
            fields.append(f)
    for lhs, rhs in sides:
        for sym in sorted((lhs - rhs).free_symbols, key=lambda s: s.name):
            if parse_symbol(sym.name, fields, coords) is not None or sym.name in coords:
                continue
            split = split_derivative(sym.name, coords)
            if split is not None and split[0] not in coords and split[0] not in fields:
                fields.append(split[0])
    return tuple(fields)


def _equation_texts(equations: Equation | str | Sequence[Equation | str]) -> list[str]:
    items = [equations] if isinstance(equations, (str, Equation)) else list(equations)
    if not items:
        raise DataError("no equation given; give one equation per field, e.g. 'u_t = 0.1*u_xx'")
    texts = []
    for item in items:
        if isinstance(item, Equation):
            texts.append(f"{item.lhs} = {item.rhs}")
        elif isinstance(item, str):
            texts.append(item)
        else:
            raise DataError(
                f"an equation must be an Equation or a string, not {type(item).__name__}"
            )
    return texts


def _check_names(text: str, residual: sp.Expr, fields: Sequence[str], coords: Sequence[str]):
    for sym in sorted(residual.free_symbols, key=lambda s: s.name):
        name = sym.name
        if name not in coords and parse_symbol(name, fields, coords) is None:
            raise DataError(
                f"the equation '{text}' uses '{name}', which is neither a field "
                f"({', '.join(fields) or 'none found'}), one of its derivatives nor a "
                f"coordinate ({', '.join(coords)}); write numbers for constants"
            )


def _as_parsed(lhs: sp.Expr, rhs: sp.Expr, fields, coords) -> ParsedEquation:
    fld = _evolution_field(lhs, coords)
    if fld not in fields:
        fld = None
    if fld is not None and any(
        (d := parse_symbol(s.name, fields, coords)) is not None and d.orders[0] > 0
        for s in rhs.free_symbols
    ):
        fld = None
    return ParsedEquation(lhs, rhs, fld)


def parse_equations(
    equations: Equation | str | Sequence[Equation | str],
    coords: Sequence[str],
    fields: Sequence[str] | None = None,
) -> tuple[tuple[str, ...], list[ParsedEquation]]:
    """Parse the equations of a problem; returns the fields and one equation per field.

    Text goes through :func:`discover.parsing.parse_equation` (no code runs; ``E``, ``I``
    and ``N`` are names, not SymPy's constants).

    >>> parse_equations("E_t = 0.1*E_xx - E*E_x", ("t", "x"))[0]
    ('E',)
    """
    texts = _equation_texts(equations)
    names = [*coords, *(fields or ())]
    items = [equations] if isinstance(equations, (str, Equation)) else list(equations)
    sides = [
        # an Equation is already SymPy (its coefficient fields can be longer than the
        # parser's limit on text); text goes through the restricted parser
        (sp.Symbol(item.lhs), item.rhs_expr)
        if isinstance(item, Equation)
        else parse_equation(text, symbols=names)
        for item, text in zip(items, texts)
    ]
    fields = _infer_fields(sides, coords) if fields is None else tuple(fields)
    out: list[ParsedEquation] = []
    for text, (lhs, rhs) in zip(texts, sides):
        _check_names(text, lhs - rhs, fields, coords)
        out.append(_as_parsed(lhs, rhs, fields, coords))
    if len(out) != len(fields):
        raise DataError(
            f"{len(out)} equation(s) for {len(fields)} field(s) ({', '.join(fields)}); "
            "give one equation per field"
        )
    return fields, out


def derivatives_in(
    exprs: sp.Expr | Sequence[sp.Expr], fields: Sequence[str], coords: Sequence[str]
) -> list[Derivative]:
    """The field derivatives (values included) that one or more expressions use, lowest
    order first."""
    out = {}
    for expr in [exprs] if isinstance(exprs, sp.Basic) else exprs:
        for sym in expr.free_symbols:
            d = parse_symbol(str(sym), fields, coords)
            if d is not None:
                out[str(sym)] = d
    return sorted(out.values(), key=lambda d: (sum(d.orders), d.name))


def compile_expr(expr: sp.Expr, names: Sequence[str], backend: str = "numpy") -> Callable[..., Any]:
    """``expr`` as a function of the symbols ``names`` (arrays or tensors), broadcast to the
    shape of the first argument.

    >>> import numpy as np
    >>> from discover.parsing import parse_expr
    >>> f = compile_expr(parse_expr("0.1*u_xx - u*u_x"), ["u", "u_x", "u_xx"])
    >>> float(f(np.array(2.0), np.array(3.0), np.array(10.0)))
    -5.0
    """
    expr = sp.N(expr, 17)  # numbers as floats (torch has no pow of two Python numbers)
    fn = sp.lambdify([sp.Symbol(n) for n in names], expr, modules=backend, dummify=True)
    constant = not (expr.free_symbols & {sp.Symbol(n) for n in names})

    def call(*args: Any) -> Any:
        value = fn(*args)
        if constant:
            like = args[0]
            if backend == "torch":
                import torch

                return torch.full_like(like, float(value))
            return np.full_like(np.asarray(like, dtype=float), float(value))
        return value

    return call


def _fully_nonlinear(
    equations: Any, coords: Sequence[str]
) -> tuple[tuple[str, ...], list[ParsedEquation]] | None:
    """The field and equation of a fully nonlinear problem (``det(hessian(u)) = f``, read by
    :mod:`.monge_ampere`), or None; that module (and torch) is imported only for those."""
    texts = equations if isinstance(equations, (list, tuple)) else [equations]
    if not any(isinstance(t, str) and _HESSIAN_CALL.search(t) for t in texts):
        return None
    from .monge_ampere import parse_fully_nonlinear

    return parse_fully_nonlinear(equations, coords)


#: a call of a function of the Hessian: only such text may be a fully nonlinear equation
_HESSIAN_CALL = re.compile(r"\b(hessian|det|trace)\s*\(")


# ----------------------------------------------------------------------------- problem
Values = Callable[..., Any] | float | xr.DataArray | xr.Dataset


class Problem:
    """A PDE problem: equations, domain, time window, initial and boundary values.

    Parameters
    ----------
    equations : Equation, str or list of them
        One per field.  Evolution equations read ``field_t = rhs``; anything else is solved
        as a steady (or general space–time) residual ``lhs - rhs = 0``.
    domain : Box, Disk, Ball, Polygon or Mask
        The spatial domain; its names are the spatial coordinates.
    time : (t0, t1) or array of times, optional
        The time window (evolution problems), or the output times (first = initial time).
    initial : callable, number, DataArray or Dataset, optional
        Initial values: ``f(x, y, …)`` on arrays, a number, a dict field -> one of these, or
        xarray data on the spatial grid (a Dataset holds one variable per field).
    boundary : callable, number, DataArray, Dataset or "initial", optional
        Values on the boundary (sides that do not wrap): ``g(t, x, …)`` (``g(x, …)`` for
        steady problems), a number, a dict per field, xarray data over ``(t, space…)``
        from which the boundary nodes are read and interpolated in time, or ``"initial"``
        (the initial boundary values held fixed).
    fields : sequence of str, optional
        The field names; read from the equations when omitted.
    grid : dict, optional
        Spatial coordinate -> 1-D array: where a gridded solver works and where solutions
        are reported; taken from xarray initial values when omitted.
    """

    def __init__(
        self,
        equations: Equation | str | Sequence[Equation | str],
        domain: _Domain,
        *,
        time: tuple[float, float] | Sequence[float] | np.ndarray | None = None,
        initial: Values | Mapping[str, Values] | None = None,
        boundary: Values | Mapping[str, Values] | str | None = None,
        fields: Sequence[str] | None = None,
        grid: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        if not isinstance(domain, _Domain):
            raise DataError(
                f"the domain must be a Box, Disk, Ball, Polygon or Mask, not "
                f"{type(domain).__name__}"
            )
        self.domain = domain
        space = domain.names
        if "t" in space:
            raise DataError("'t' names time; give the spatial coordinates other names")
        self.time_dependent = time is not None
        self.coords: tuple[str, ...] = (("t",) if self.time_dependent else ()) + tuple(space)
        parsed = _fully_nonlinear(equations, self.coords)
        #: an equation of the Hessian (det, trace), solved by :mod:`.monge_ampere`
        self.fully_nonlinear = parsed is not None
        self.fields, self.equations = parsed or parse_equations(equations, self.coords, fields)
        if self.time_dependent:
            times = np.asarray(time, dtype=float)
            if times.ndim != 1 or times.size < 2 or not np.all(np.diff(times) > 0):
                raise DataError("time must be (t0, t1) or increasing output times, at least two")
            if times.size == 2:
                times = np.linspace(times[0], times[1], 51)
            self.times = times
            if initial is None:
                raise DataError("an evolution problem needs initial values (initial=…)")
        else:
            self.times = None
        self.evolution = self.time_dependent and all(e.field is not None for e in self.equations)
        if self.evolution:
            order = [e.field for e in self.equations]
            if sorted(order) != sorted(self.fields):
                raise DataError(
                    "each field needs its own evolution equation; got equations for "
                    f"{', '.join(map(str, order))} but the fields are {', '.join(self.fields)}"
                )
            self.equations = [self.equations[order.index(f)] for f in self.fields]
        self.initial = self._per_field(initial, "initial")
        self.boundary = (
            boundary if isinstance(boundary, str) else self._per_field(boundary, "boundary")
        )
        if isinstance(boundary, str) and boundary != "initial":
            raise DataError(f"unknown boundary '{boundary}'; valid: a function, data, or 'initial'")
        walls = not (isinstance(domain, Box) and set(domain.periodic) == set(space))
        if walls and boundary is None:
            raise DataError(
                "the domain has walls but no boundary values were given (boundary=…); "
                "make the box periodic or give values"
            )
        self.grid = self._grid(grid)

    def __repr__(self) -> str:
        eqs = "; ".join(str(e) for e in self.equations)
        when = f", t in [{self.times[0]:g}, {self.times[-1]:g}]" if self.time_dependent else ""
        return f"<Problem {eqs} on {self.domain!r}{when}>"

    # -------------------------------------------------------------- values
    def _per_field(self, values: Any, what: str) -> dict[str, Any] | None:
        if values is None:
            return None
        if isinstance(values, xr.Dataset):
            missing = [f for f in self.fields if f not in values.data_vars]
            if missing:
                raise DataError(
                    f"the {what} data has no variable for field(s) {missing}; "
                    f"variables: {list(values.data_vars)}"
                )
            return {f: values[f] for f in self.fields}
        if isinstance(values, Mapping):
            missing = [f for f in self.fields if f not in values]
            if missing:
                raise DataError(f"no {what} values for field(s) {missing}")
            return {f: values[f] for f in self.fields}
        if len(self.fields) > 1 and not isinstance(values, (int, float)):
            raise DataError(
                f"{len(self.fields)} fields: give the {what} values as a dict or Dataset per field"
            )
        return {f: values for f in self.fields}

    def _grid(self, grid: Mapping[str, np.ndarray] | None) -> dict[str, np.ndarray] | None:
        space = self.domain.names
        if grid is not None:
            missing = [c for c in space if c not in grid]
            if missing:
                raise DataError(f"the grid lacks coordinate(s) {missing}")
            return {c: np.asarray(grid[c], dtype=float) for c in space}
        for source in (self.initial or {}).values():
            if isinstance(source, xr.DataArray):
                missing = [c for c in space if c not in source.coords]
                if missing:
                    raise DataError(
                        f"the initial data has no coordinate(s) {missing}; its dims: "
                        f"{list(source.dims)}"
                    )
                return {c: np.asarray(source[c].values, dtype=float) for c in space}
        return None

    @staticmethod
    def _evaluate(source: Any, columns: list[np.ndarray], names: Sequence[str]) -> np.ndarray:
        n = len(columns[0])
        if isinstance(source, (int, float)):
            return np.full(n, float(source))
        if isinstance(source, xr.DataArray):
            sel = {
                c: xr.DataArray(col, dims="points")
                for c, col in zip(names, columns)
                if c in source.dims
            }
            missing = [d for d in source.dims if d not in sel]
            if missing:
                raise DataError(
                    f"cannot place values on dims {missing}; the problem's coordinates are "
                    f"{list(names)}"
                )
            return np.asarray(source.interp(sel).values, dtype=float)
        return np.broadcast_to(np.asarray(source(*columns), dtype=float), (n,)).copy()

    def initial_values(self, points: np.ndarray) -> np.ndarray:
        """Initial values ``(n, fields)`` at spatial points ``(n, space)``."""
        cols = [points[:, j] for j in range(points.shape[1])]
        return np.stack(
            [self._evaluate(self.initial[f], cols, self.domain.names) for f in self.fields],
            axis=1,
        )

    def boundary_values(self, points: np.ndarray) -> np.ndarray:
        """Boundary values ``(n, fields)`` at points ``(n, coords)`` (time first when the
        problem is time dependent)."""
        if self.boundary == "initial":
            return self.initial_values(points[:, 1:] if self.time_dependent else points)
        cols = [points[:, j] for j in range(points.shape[1])]
        return np.stack(
            [self._evaluate(self.boundary[f], cols, self.coords) for f in self.fields], axis=1
        )

    def max_order(self, coord: str) -> int:
        """The highest derivative along ``coord`` in the equations."""
        j = self.coords.index(coord)
        need = derivatives_in([e.residual for e in self.equations], self.fields, self.coords)
        return max((d.orders[j] for d in need), default=0)


def grid_domain(grid: Mapping[str, np.ndarray], periodic: Sequence[str] = ()) -> Box:
    """The box a grid spans; a periodic side includes one more step (the grid's period).

    >>> grid_domain({"x": np.arange(4.0)}, periodic=("x",))
    Box(x=(0.0, 4.0), periodic=('x',))
    """
    sides = {}
    for c, v in grid.items():
        v = np.sort(np.asarray(v, dtype=float))
        end = v[-1] + (v[1] - v[0]) if c in periodic else v[-1]
        sides[c] = (float(v[0]), float(end))
    return Box(periodic=tuple(periodic), **sides)


# ----------------------------------------------------------------------------- solution
class Solution:
    """A solved problem: evaluate it anywhere (:meth:`__call__`) or on a grid
    (:meth:`on_grid`).

    Attributes
    ----------
    problem : Problem
    solver : str
        The solver's registry name.
    seconds : float
        Wall time of the solve.
    info : dict
        What the solver did (steps, losses, the method it chose …), JSON-ready.
    dataset : xarray.Dataset or None
        A gridded solver's own output (fields on ``(t, space…)``).
    """

    def __init__(
        self,
        problem: Problem,
        solver: str,
        evaluate: Callable[[np.ndarray], np.ndarray],
        *,
        seconds: float,
        info: Mapping[str, Any] | None = None,
        dataset: xr.Dataset | None = None,
    ) -> None:
        self.problem = problem
        self.solver = solver
        self._evaluate = evaluate
        self.seconds = float(seconds)
        self.info = dict(info or {})
        self.dataset = dataset

    def __repr__(self) -> str:
        return f"<Solution of {self.problem!r} by '{self.solver}' in {self.seconds:.1f} s>"

    def __call__(self, points: np.ndarray) -> np.ndarray:
        """Field values ``(n, fields)`` at points ``(n, coords)`` (time first)."""
        pts = np.asarray(points, dtype=float)
        if pts.ndim != 2 or pts.shape[1] != len(self.problem.coords):
            raise ValueError(
                f"points must have shape (n, {len(self.problem.coords)}) for coordinates "
                f"{self.problem.coords}, not {pts.shape}"
            )
        return self._evaluate(pts)

    def on_grid(self, **coords: np.ndarray) -> xr.Dataset:
        """The fields on the tensor grid of ``coords`` (default: the problem's output times
        and grid), as an :class:`xarray.Dataset` on dims ``coords``."""
        axes = {}
        for c in self.problem.coords:
            if c in coords:
                axes[c] = np.atleast_1d(np.asarray(coords[c], dtype=float))
            elif c == "t":
                axes[c] = self.problem.times
            elif self.problem.grid is not None:
                axes[c] = self.problem.grid[c]
            else:
                raise ValueError(f"no grid for '{c}': give {c}=array")
        mesh = np.meshgrid(*axes.values(), indexing="ij")
        pts = np.stack([m.ravel() for m in mesh], axis=1)
        vals = self(pts)
        shape = mesh[0].shape
        return xr.Dataset(
            {
                f: (tuple(axes), vals[:, i].reshape(shape))
                for i, f in enumerate(self.problem.fields)
            },
            coords=axes,
            attrs={"solver": self.solver, "equations": "; ".join(map(str, self.problem.equations))},
        )
