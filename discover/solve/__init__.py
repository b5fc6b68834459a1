"""Solve a SymPy PDE: the neural core (``u = G + D·N``) and a classical reference.

Solvers are looked up by name in :data:`SOLVERS`; :func:`solve` takes a
:class:`Problem` (equations, domain, time window, initial and boundary values) and returns a
:class:`Solution` that evaluates anywhere and on grids.

Examples
--------
>>> import numpy as np
>>> p = Problem("u_t = 0.1*u_xx", Box(x=(0.0, 2 * np.pi), periodic=("x",)), time=(0.0, 1.0),
...             initial=np.sin, grid={"x": np.linspace(0, 2 * np.pi, 32, endpoint=False)})
>>> sol = solve(p, "classical")
>>> u = sol.on_grid(t=[1.0], x=[np.pi / 2])["u"].item()
>>> bool(abs(u - np.exp(-0.1)) < 1e-8)
True
>>> solve(p, "fem")
Traceback (most recent call last):
...
discover.errors.DataError: unknown solver 'fem'; valid solvers: 'neural', 'classical'
"""

from __future__ import annotations

from typing import Any

from ..io import DataError
from .classical import ClassicalSolver
from .neural import NeuralSolver
from .problem import Ball, Box, Disk, Mask, Polygon, Problem, Solution

__all__ = [
    "SOLVERS",
    "Ball",
    "Box",
    "ClassicalSolver",
    "Disk",
    "Mask",
    "NeuralSolver",
    "Polygon",
    "Problem",
    "Solution",
    "get_solver",
    "solve",
]

#: solvers by name
SOLVERS: dict[str, type] = {"neural": NeuralSolver, "classical": ClassicalSolver}


def get_solver(name: str, **options: Any) -> NeuralSolver | ClassicalSolver:
    """The solver registered as ``name``, built with ``options``."""
    if name not in SOLVERS:
        valid = ", ".join(repr(s) for s in SOLVERS)
        raise DataError(f"unknown solver '{name}'; valid solvers: {valid}")
    try:
        return SOLVERS[name](**options)
    except TypeError as exc:
        raise DataError(f"bad option for the '{name}' solver: {exc}") from None


def solve(problem: Problem, solver: str = "neural", **options: Any) -> Solution:
    """Solve ``problem`` with the solver named ``solver`` (options go to its constructor)."""
    return get_solver(solver, **options).solve(problem)
