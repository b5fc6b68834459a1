"""The classical reference: method of lines on the problem's grid, in 1-D and 2-D (any
number of space dims).

Two ways, chosen by ``method="auto"``:

``spectral``
    Every side periodic and the grid uniform: Fourier derivatives, the linear
    constant-coefficient terms of each field's own equation (``c·u_xx``, ``c·u_xxxx``, …)
    integrated exactly by ETDRK4 (:mod:`discover.solve.spectral`), the rest evaluated on a
    grid twice as fine (products up to cubic are free of aliasing).  The step is halved
    until two runs agree to ``rtol`` (fourth order: the error estimate is their
    difference / 15).
``fd``
    Finite differences (Fornberg weights, :func:`discover.differentiate.fd_weights`;
    centred stencils of ``accuracy`` order, narrower centred stencils near walls, so
    nonuniform grids work too), boundary values taken from
    the problem (data interpolated in time by cubic splines) on the outermost
    ``ceil(order / 2)`` nodes of each wall, and scipy's stiff integrators (``BDF`` by
    default) with the Jacobian's sparsity pattern.

Examples
--------
>>> import numpy as np
>>> from discover.solve import Box, Problem
>>> x = np.linspace(0, 1, 41)
>>> p = Problem("u_t = 0.1*u_xx", Box(x=(0.0, 1.0)), time=(0.0, 0.5),
...             initial=lambda x: np.sin(np.pi * x), boundary=0.0, grid={"x": x})
>>> sol = ClassicalSolver().solve(p)
>>> exact = np.exp(-0.1 * np.pi**2 * 0.5) * np.sin(np.pi * x)
>>> bool(np.max(np.abs(sol.dataset["u"].values[-1] - exact)) < 1e-6)
True
"""

from __future__ import annotations

import itertools
import logging
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sps
import sympy as sp
import xarray as xr
from scipy.integrate import solve_ivp
from scipy.interpolate import CubicSpline

from ..differentiate import fd_weights, is_uniform
from ..errors import DataError
from ..library import parse_symbol
from .base import Solver
from .problem import Box, Problem, Solution, compile_expr, derivatives_in
from .spectral import etdrk4_states

__all__ = ["ClassicalSolver", "diff_matrix"]

logger = logging.getLogger(__name__)

METHODS = ("auto", "spectral", "fd")


def diff_matrix(
    x: np.ndarray, order: int, *, accuracy: int = 6, period: float | None = None
) -> sps.csr_matrix:
    """The ``order``-th derivative on nodes ``x`` as a sparse matrix: centred stencils of
    ``accuracy`` order, narrower (still centred) ones near the ends, one-sided only on the
    outermost nodes; circulant when ``period`` is given (uniform grid).

    >>> x = np.linspace(0, 1, 11)
    >>> bool(np.allclose(diff_matrix(x, 2) @ x**2, 2.0))
    True
    """
    n = len(x)
    half_min = (order + 1) // 2
    half = half_min + (accuracy - 1) // 2
    rows, cols, vals = [], [], []
    for i in range(n):
        if period is not None:
            h = x[1] - x[0]
            offs = np.arange(-half, half + 1)
            idx = (i + offs) % n
            w = fd_weights(0.0, offs * h, order)
        else:
            hh = min(half, i, n - 1 - i)
            if hh >= half_min:
                idx = np.arange(i - hh, i + hh + 1)
            else:
                size = min(n, 2 * half_min + 1 + (1 if order % 2 == 0 else 0))
                start = min(max(i - size // 2, 0), n - size)
                idx = np.arange(start, start + size)
            w = fd_weights(x[i], x[idx], order)
        rows.extend([i] * len(idx))
        cols.extend(idx)
        vals.extend(w)
    return sps.csr_matrix((vals, (rows, cols)), shape=(n, n))


def _apply(mat: sps.csr_matrix, u: np.ndarray, axis: int) -> np.ndarray:
    moved = np.moveaxis(u, axis, 0)
    out = mat @ moved.reshape(moved.shape[0], -1)
    return np.moveaxis(out.reshape(moved.shape), 0, axis)


class ClassicalSolver(Solver):
    """Method-of-lines solver for evolution equations on a grid.

    Parameters
    ----------
    method : {"auto", "spectral", "fd"}
        ``auto``: spectral when every side is periodic, the grid uniform and the equations
        do not depend on time explicitly; finite differences otherwise.
    accuracy : int
        Order of the centred finite-difference stencils.
    rtol, atol : float
        Tolerances (``atol`` relative to the largest initial value).
    integrator : str
        scipy's ``solve_ivp`` method for finite differences (``BDF``, ``Radau``, ``LSODA``…).
    """

    name = "classical"

    def __init__(
        self,
        *,
        method: str = "auto",
        accuracy: int = 6,
        rtol: float = 1e-8,
        atol: float = 1e-10,
        integrator: str = "BDF",
    ) -> None:
        self.method = method
        self.accuracy = accuracy
        self.rtol = rtol
        self.atol = atol
        self.integrator = integrator

    def solve(self, problem: Problem) -> Solution:
        """Solve ``problem`` on its grid at its output times."""
        method = self._method(problem)
        t_start = time.perf_counter()
        space = problem.domain.names
        mesh = np.meshgrid(*[problem.grid[c] for c in space], indexing="ij")
        shape = mesh[0].shape
        u0 = problem.initial_values(np.stack([m.ravel() for m in mesh], axis=1))
        u0 = u0.T.reshape((len(problem.fields), *shape))
        if not np.all(np.isfinite(u0)):
            raise DataError("the initial values have missing (NaN) values on the grid")
        if method == "spectral":
            states, info = self._spectral(problem, mesh, u0)
        else:
            states, info = self._fd(problem, mesh, u0)
        info["method"] = method
        ds = xr.Dataset(
            {f: (("t", *space), states[:, i]) for i, f in enumerate(problem.fields)},
            coords={"t": problem.times, **{c: problem.grid[c] for c in space}},
        )
        seconds = time.perf_counter() - t_start
        logger.info("classical solve (%s): %.2f s", method, seconds)
        evaluate = _interpolator(ds, problem)
        return Solution(problem, self.name, evaluate, seconds=seconds, info=info, dataset=ds)

    def _method(self, problem: Problem) -> str:
        """The method for ``problem`` (``auto`` resolved); a one-line error for a problem or
        a method this solver cannot take."""
        if self.method not in METHODS:
            raise DataError(
                f"unknown method '{self.method}'; valid methods: "
                + ", ".join(repr(m) for m in METHODS)
            )
        _check_problem(problem)
        space = problem.domain.names
        explicit_t = any(sp.Symbol("t") in e.rhs.free_symbols for e in problem.equations)
        periodic_all = set(problem.domain.periodic) == set(space)
        uniform = all(is_uniform(problem.grid[c]) for c in space)
        # a coefficient that varies in space (discover.fields) is no Fourier multiplier:
        # the spectral method would step it explicitly, with tiny steps
        explicit_x = any(
            sp.Symbol(c) in e.rhs.free_symbols for e in problem.equations for c in space
        )
        if self.method == "auto":
            return (
                "spectral" if periodic_all and uniform and not (explicit_t or explicit_x) else "fd"
            )
        if self.method == "spectral" and not (periodic_all and uniform):
            raise DataError(
                "the spectral method needs every side periodic and a uniform grid; use method='fd'"
            )
        if self.method == "spectral" and explicit_t:
            raise DataError(
                "the spectral method takes equations without explicit time; use method='fd'"
            )
        return self.method

    # ---------------------------------------------------------------- spectral
    def _spectral(
        self, problem: Problem, mesh: list[np.ndarray], u0: np.ndarray
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Fourier in space; the linear terms of each field's own equation exactly, the rest
        on a grid twice as fine; ETDRK4 in time, the step halved until two runs agree."""
        fourier = _Fourier(problem, mesh[0].shape)
        lin, nonlinear = _split_linear(problem, fourier)
        nonlin = _dealiased(problem, nonlinear, fourier)
        axes = tuple(range(1, u0.ndim))
        v0 = np.fft.rfftn(u0, axes=axes)
        times = problem.times
        steps = np.diff(times)
        uniform = np.allclose(steps, steps[0], rtol=1e-9, atol=0)

        def run(h: float) -> np.ndarray:
            if uniform:
                states = etdrk4_states(v0, lin, nonlin, times - times[0], dt=h)
            else:
                states = [v0]
                for a, b in itertools.pairwise(times):
                    states.append(
                        etdrk4_states(states[-1], lin, nonlin, np.array([0, b - a]), dt=h)[-1]
                    )
            return np.stack([np.fft.irfftn(s, s=fourier.shape, axes=axes) for s in states])

        h = float(steps.min()) / 2
        previous, err, halvings = None, math.inf, 0
        while True:
            try:
                current = run(h)
            except FloatingPointError:
                current = None
            if previous is not None and current is not None:
                scale = np.linalg.norm(current)
                err = np.linalg.norm(current - previous) / (15 * scale if scale else 1)
                if err < self.rtol:
                    break
            previous = current
            halvings += 1
            if halvings > 14:
                raise DataError(
                    f"the spectral integration did not converge (relative change {err:.2g} at "
                    f"step {h:.3g}); the equation may blow up on this grid"
                )
            h /= 2
        return current, {"step": h, "error_estimate": float(err), "dealias": "2x grid"}

    # ---------------------------------------------------------------- finite differences
    def _fd(
        self, problem: Problem, mesh: list[np.ndarray], u0: np.ndarray
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Finite differences in space (boundary nodes from the problem), scipy's stiff
        integrators in time with the Jacobian's sparsity pattern."""
        shape = mesh[0].shape
        m = len(problem.fields)
        mats, interior = self._fd_operators(problem, shape)
        boundary = ~interior
        need = derivatives_in([e.rhs for e in problem.equations], problem.fields, problem.coords)
        bvals = self._boundary(problem, mesh, boundary, u0)
        rhs = _fd_rhs(problem, mesh, mats, interior, need, bvals)
        y0 = u0[:, interior].ravel()
        scale = float(np.max(np.abs(u0))) or 1.0
        options: dict[str, Any] = {"rtol": self.rtol, "atol": self.atol * scale}
        if self.integrator in ("BDF", "Radau"):
            options["jac_sparsity"] = _jacobian_pattern(need, mats, interior, m)
        times = problem.times
        res = solve_ivp(
            rhs, (times[0], times[-1]), y0, method=self.integrator, t_eval=times, **options
        )
        if not res.success:
            raise DataError(f"the time integration failed: {res.message}")
        states = np.empty((len(times), m, *shape))
        for k, t in enumerate(times):
            states[k][:, interior] = res.y[:, k].reshape(m, int(interior.sum()))
            if boundary.any():
                states[k][:, boundary] = bvals(t)
        info = {
            "integrator": self.integrator,
            "accuracy": self.accuracy,
            "rhs_evaluations": int(res.nfev),
            "boundary_nodes": int(boundary.sum()),
        }
        return states, info

    def _fd_operators(
        self, problem: Problem, shape: tuple[int, ...]
    ) -> tuple[list[dict[int, sps.csr_matrix]], np.ndarray]:
        """Per spatial dim, the derivative matrices up to the order the equations use; and
        the interior nodes (the outermost ``ceil(order / 2)`` of each wall are boundary)."""
        mats: list[dict[int, sps.csr_matrix]] = []
        interior = np.ones(shape, dtype=bool)
        for j, c in enumerate(problem.domain.names):
            x = problem.grid[c]
            per = (x[1] - x[0]) * len(x) if c in problem.domain.periodic else None
            if per is not None and not is_uniform(x):
                raise DataError(f"a periodic side needs a uniform grid; '{c}' is not uniform")
            order = problem.max_order(c)
            mats.append(
                {
                    k: diff_matrix(x, k, accuracy=self.accuracy, period=per)
                    for k in range(1, order + 1)
                }
            )
            if per is None:
                nb = max(1, math.ceil(order / 2))
                if len(x) <= 2 * nb:
                    raise DataError(f"the grid along '{c}' is too short for order-{order} terms")
                sl = [slice(None)] * len(shape)
                sl[j] = np.r_[0:nb, len(x) - nb : len(x)]
                interior[tuple(sl)] = False
        return mats, interior

    def _boundary(
        self, problem: Problem, mesh: list[np.ndarray], boundary: np.ndarray, u0: np.ndarray
    ) -> Callable[[float], np.ndarray]:
        """Values on the boundary nodes, ``(fields, nodes)``, as a function of time."""
        if not boundary.any():
            return lambda t: np.empty((len(problem.fields), 0))
        if problem.boundary == "initial":
            fixed = u0[:, boundary]
            return lambda t: fixed
        pts = np.stack([mm[boundary] for mm in mesh], axis=1)
        sources = problem.boundary
        data = {f: s for f, s in sources.items() if isinstance(s, xr.DataArray)}
        splines: dict[str, CubicSpline] = {}
        for f, da in data.items():
            if "t" not in da.dims:
                raise DataError(f"the boundary data of '{f}' needs a time dim 't'")
            sel = {
                c: xr.DataArray(pts[:, j], dims="points")
                for j, c in enumerate(problem.domain.names)
            }
            vals = np.asarray(da.interp(sel).transpose("t", "points").values, dtype=float)
            tt = np.asarray(da["t"].values, dtype=float)
            if tt[0] > problem.times[0] + 1e-9 or tt[-1] < problem.times[-1] - 1e-9:
                raise DataError(
                    f"the boundary data covers t in [{tt[0]:g}, {tt[-1]:g}], not the whole "
                    f"window [{problem.times[0]:g}, {problem.times[-1]:g}]"
                )
            if not np.all(np.isfinite(vals)):
                raise DataError(f"the boundary data of '{f}' has missing values on the walls")
            splines[f] = CubicSpline(tt, vals, axis=0) if len(tt) >= 4 else None
            if splines[f] is None:
                from scipy.interpolate import interp1d

                splines[f] = interp1d(tt, vals, axis=0)

        def values(t: float) -> np.ndarray:
            out = []
            for f in problem.fields:
                if f in splines:
                    out.append(splines[f](t))
                else:
                    full = np.column_stack([np.full(len(pts), t), pts])
                    cols = [full[:, j] for j in range(full.shape[1])]
                    out.append(Problem._evaluate(sources[f], cols, problem.coords))
            return np.stack(out)

        return values


def _check_problem(problem: Problem) -> None:
    """A one-line error for a problem the classical solver cannot take."""
    if not problem.evolution:
        raise DataError(
            "the classical solver integrates evolution equations 'u_t = …' in time; "
            "use the neural solver for steady or general problems"
        )
    if not isinstance(problem.domain, Box):
        raise DataError(
            f"the classical solver needs a box (a grid); the domain is {problem.domain!r}: "
            "use the neural solver"
        )
    if problem.grid is None:
        raise DataError("the classical solver needs a grid: give grid= or gridded initial data")


def _interpolator(ds: xr.Dataset, problem: Problem) -> Callable[[np.ndarray], np.ndarray]:
    """Field values ``(n, fields)`` at points ``(n, coords)``, interpolated in ``ds``."""

    def evaluate(points: np.ndarray) -> np.ndarray:
        sel = {c: xr.DataArray(points[:, j], dims="points") for j, c in enumerate(problem.coords)}
        kw = {"kwargs": {"fill_value": None}}
        return np.stack([ds[f].interp(sel, **kw).values for f in problem.fields], axis=1)

    return evaluate


class _Fourier:
    """Wavenumbers of a problem's periodic uniform grid; derivatives as Fourier factors
    (odd derivatives zero at the Nyquist wavenumber)."""

    def __init__(self, problem: Problem, shape: tuple[int, ...]) -> None:
        self.shape = shape
        self.lengths = [
            (problem.grid[c][1] - problem.grid[c][0]) * len(problem.grid[c])
            for c in problem.domain.names
        ]
        ks = [
            2 * np.pi * (np.fft.rfftfreq if j == len(shape) - 1 else np.fft.fftfreq)(n, d=ln / n)
            for j, (n, ln) in enumerate(zip(shape, self.lengths))
        ]
        self.kk = np.meshgrid(*ks, indexing="ij")
        self.nyq = [
            (np.abs(k) == np.pi * n / ln) if n % 2 == 0 else np.zeros_like(k, dtype=bool)
            for k, n, ln in zip(self.kk, shape, self.lengths)
        ]

    def factor(self, orders: Sequence[int]) -> np.ndarray:
        """The Fourier factor of the derivative of ``orders`` along the spatial dims."""
        out = np.ones(self.kk[0].shape, dtype=complex)
        for k, o, ny in zip(self.kk, orders, self.nyq):
            if o:
                out = out * (1j * k) ** o
                if o % 2:
                    out = np.where(ny, 0, out)
        return out


def _split_linear(problem: Problem, fourier: _Fourier) -> tuple[np.ndarray, list[sp.Expr]]:
    """Each equation's linear constant-coefficient terms of its own field, as a Fourier
    multiplier; the rest of its right-hand side as an expression."""
    fields, coords = problem.fields, problem.coords
    lin = np.zeros((len(fields), *fourier.kk[0].shape), dtype=complex)
    nonlinear: list[sp.Expr] = []
    for i, eq in enumerate(problem.equations):
        rest = sp.Integer(0)
        for term in sp.Add.make_args(sp.expand(eq.rhs)):
            c, sym = term.as_coeff_Mul()
            d = parse_symbol(str(sym), fields, coords) if isinstance(sym, sp.Symbol) else None
            if d is not None and d.field == fields[i] and d.orders[0] == 0:
                lin[i] += float(c) * fourier.factor(d.orders[1:])
            else:
                rest += term
        nonlinear.append(rest)
    return lin, nonlinear


def _dealiased(
    problem: Problem, nonlinear: list[sp.Expr], fourier: _Fourier
) -> Callable[[np.ndarray], np.ndarray]:
    """The nonlinear right-hand sides as a map of Fourier coefficients, evaluated on a grid
    twice as fine (products up to cubic free of aliasing)."""
    space, fields, shape = problem.domain.names, problem.fields, fourier.shape
    need = derivatives_in(nonlinear, fields, problem.coords)
    names = [*space, *(d.name for d in need)]
    fns = [compile_expr(e, names) if e != 0 else None for e in nonlinear]
    fine = tuple(2 * n for n in shape)
    fine_mesh = np.meshgrid(
        *[
            problem.grid[c][0] + ln * np.arange(m) / m
            for c, ln, m in zip(space, fourier.lengths, fine)
        ],
        indexing="ij",
    )
    src, dst = _padding(shape, fine)
    ratio = math.prod(fine) / math.prod(shape)
    fine_hat = (*fine[:-1], fine[-1] // 2 + 1)
    fine_axes = tuple(range(len(fine)))
    factors = {d.name: fourier.factor(d.orders[1:]) for d in need}
    fidx = {f: i for i, f in enumerate(fields)}

    def nonlin(v: np.ndarray) -> np.ndarray:
        out = np.zeros_like(v)
        cols = []  # none when the rest is a forcing of the coordinates or a constant
        for d in need:
            big = np.zeros(fine_hat, dtype=complex)
            big[np.ix_(*dst)] = (v[fidx[d.field]] * factors[d.name])[np.ix_(*src)] * ratio
            cols.append(np.fft.irfftn(big, s=fine, axes=fine_axes))
        for i, fn in enumerate(fns):
            if fn is None:
                continue
            w = np.fft.rfftn(fn(*fine_mesh, *cols), axes=fine_axes) / ratio
            out[i][np.ix_(*src)] = w[np.ix_(*dst)]
        return out

    return nonlin


def _padding(
    shape: tuple[int, ...], fine: tuple[int, ...]
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Where each Fourier coefficient of the grid (``src``) sits on the fine grid (``dst``);
    the last dim is the half spectrum of ``rfftn``."""
    src, dst = [], []
    for j, (n, m) in enumerate(zip(shape, fine)):
        npos, nneg = (n + 1) // 2, (n - 1) // 2
        if j == len(shape) - 1:
            src.append(np.arange(npos))
            dst.append(np.arange(npos))
        else:
            src.append(np.concatenate([np.arange(npos), np.arange(n - nneg, n)]))
            dst.append(np.concatenate([np.arange(npos), np.arange(m - nneg, m)]))
    return src, dst


def _fd_rhs(
    problem: Problem,
    mesh: list[np.ndarray],
    mats: list[dict[int, sps.csr_matrix]],
    interior: np.ndarray,
    need: Sequence[Any],
    bvals: Callable[[float], np.ndarray],
) -> Callable[[float, np.ndarray], np.ndarray]:
    """The method of lines' right-hand side on the interior nodes, ``f(t, y)``."""
    fields, shape = problem.fields, interior.shape
    names = ["t", *problem.domain.names, *(d.name for d in need)]
    fns = [compile_expr(e.rhs, names) for e in problem.equations]
    inner_mesh = [mm[interior] for mm in mesh]
    fidx = {f: i for i, f in enumerate(fields)}
    boundary = ~interior
    m, n_in = len(fields), int(interior.sum())

    def derivative(u: np.ndarray, orders: Sequence[int]) -> np.ndarray:
        for j, o in enumerate(orders):
            if o:
                u = _apply(mats[j][o], u, j)
        return u

    def rhs(t: float, y: np.ndarray) -> np.ndarray:
        u = np.empty((m, *shape))
        u[:, interior] = y.reshape(m, n_in)
        if boundary.any():
            u[:, boundary] = bvals(t)
        cols = [derivative(u[fidx[d.field]], d.orders[1:])[interior] for d in need]
        tt = np.full(n_in, t)
        return np.concatenate([fn(tt, *inner_mesh, *cols) for fn in fns])

    return rhs


def _jacobian_pattern(
    need: Sequence[Any], mats: list[dict[int, sps.csr_matrix]], interior: np.ndarray, m: int
) -> sps.csr_matrix:
    """The sparsity of the Jacobian: the union of the stencils, every field with every
    field, on the interior nodes."""
    shape = interior.shape
    ops = [sps.identity(int(np.prod(shape)), format="csr")]
    for d in need:
        op = sps.identity(1, format="csr")
        for j, o in enumerate(d.orders[1:]):
            op = sps.kron(op, mats[j][o] if o else sps.identity(shape[j]), format="csr")
        ops.append(op)
    pattern = sum(abs(o) for o in ops)
    flat = np.flatnonzero(interior.ravel())
    pattern = (pattern[flat][:, flat] != 0).astype(float)
    return sps.kron(np.ones((m, m)), pattern, format="csr")
