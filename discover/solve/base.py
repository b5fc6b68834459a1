"""The solver protocol: one base class, registration by name (as py-pde's solvers), and the
lookup that every caller uses.

A solver is a subclass of :class:`Solver` with a ``name``; defining the class registers it in
:data:`SOLVERS`, and ``solve(problem, "name", **options)`` builds it with the options and
solves.  Two names are resolved before lookup (:func:`choose_solver`): ``auto`` — the neural
core for station and scattered data and for domains other than boxes, the classical solver on
grids — and ``both`` (validation only: the two side by side).  A solver whose module needs
heavy imports (the neural one needs torch) is registered as a :class:`Deferred` entry and
imported on first use, so that the classical solver works where torch is absent.

Examples
--------
>>> class Frozen(Solver):
...     '''Keeps the initial state: a toy solver.'''
...     name = "frozen"
...     def solve(self, problem):
...         ...
>>> get_solver("frozen").name
'frozen'
>>> SOLVERS.unregister("frozen")
>>> get_solver("frozen")
Traceback (most recent call last):
...
discover.errors.UnknownNameError: unknown solver 'frozen' for solver=; valid solvers: 'auto', ...
>>> choose_solver("auto", layout="station")
('neural', None, 'auto: station data')
>>> choose_solver("both", layout="grid")
('classical', 'neural', 'both: classical, neural as the cross-check')
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import DataError
from ..registry import Registry

if TYPE_CHECKING:
    from .problem import Problem, Solution

__all__ = ["AUTO_SOLVERS", "SOLVERS", "Deferred", "Solver", "choose_solver", "get_solver", "solve"]


class Solver:
    """Base class of the solvers: subclass with a ``name`` to register.

    Constructors take keyword-only options and store them; :meth:`solve` takes a
    :class:`~discover.solve.Problem` and returns a :class:`~discover.solve.Solution`.
    """

    #: the registry name (``solver=`` / ``--solver``)
    name: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("name"):
            SOLVERS.register(cls.name, cls)

    def solve(self, problem: Problem) -> Solution:  # pragma: no cover - abstract
        raise NotImplementedError


class Deferred:
    """A registry entry for a solver class imported on first use.

    Parameters
    ----------
    module : str
        The module, relative to :mod:`discover.solve` (``".neural"``).
    attr : str
        The class's name in it.
    """

    def __init__(self, module: str, attr: str) -> None:
        self.module = module
        self.attr = attr

    def load(self) -> type:
        return getattr(importlib.import_module(self.module, __package__), self.attr)

    def __repr__(self) -> str:
        return f"Deferred({self.module}.{self.attr})"


#: solvers by name: :class:`Solver` subclasses, or :class:`Deferred` ones
SOLVERS: Registry[type | Deferred] = Registry("solver", parameter="solver", extra=("auto", "both"))
SOLVERS.register("neural", Deferred(".neural", "NeuralSolver"))

#: what ``auto`` takes for each data layout (grids: the classical solver, exact to 1e-8 there)
AUTO_SOLVERS = {"grid": "classical", "station": "neural", "scattered": "neural"}


def choose_solver(name: str, *, layout: str) -> tuple[str, str | None, str]:
    """The solver ``name`` stands for on data of ``layout``, the cross-check's (``both``
    only, else None), and why, in words: ``auto`` takes :data:`AUTO_SOLVERS`; ``both`` takes
    that and the other of neural and classical; any other name is itself.  The registry's
    one-line error for an unknown name."""
    SOLVERS.check(name)
    auto = AUTO_SOLVERS.get(layout, "classical")
    if name == "auto":
        return auto, None, f"auto: {layout} data"
    if name == "both":
        other = "classical" if auto == "neural" else "neural"
        return auto, other, f"both: {auto}, {other} as the cross-check"
    return name, None, "given"


def get_solver(name: str, **options: Any) -> Any:
    """The solver registered as ``name``, built with ``options``; the registry's one-line
    error for an unknown name, a one-line :class:`DataError` for an option it does not take."""
    if name in ("auto", "both"):
        raise DataError(
            f"solver '{name}' is chosen from the data (validate and solve --init do that); "
            f"give one of {', '.join(repr(n) for n in SOLVERS)} here",
            parameter="solver",
        )
    entry = SOLVERS[name]
    try:
        cls = entry.load() if isinstance(entry, Deferred) else entry
    except ImportError as exc:
        raise DataError(
            f"the '{name}' solver needs {exc.name or 'a package'}, which is not installed; "
            "install it, or give another solver",
            parameter="solver",
        ) from None
    try:
        return cls(**options)
    except TypeError as exc:
        raise DataError(
            f"bad option for the '{name}' solver: {exc}", parameter="solver_options"
        ) from None


def solve(problem: Problem, solver: str = "neural", **options: Any) -> Solution:
    """Solve ``problem`` with the solver named ``solver`` (options go to its constructor);
    ``auto`` takes the classical solver for a problem on a grid over a box, the neural core
    otherwise (disks, polygons, masks, no grid)."""
    if solver == "auto":
        from .problem import Box

        on_grid = problem.grid is not None and isinstance(problem.domain, Box)
        solver = "classical" if on_grid and problem.evolution else "neural"
    return get_solver(solver, **options).solve(problem)
