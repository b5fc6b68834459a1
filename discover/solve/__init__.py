"""Solve a SymPy PDE: the neural core (``u = G + D·N``) and a classical reference.

Solvers are subclasses of :class:`Solver`, registered by name in :data:`SOLVERS` when their
class is defined; :func:`solve` takes a :class:`Problem` (equations, domain, time window,
initial and boundary values) and a solver's name and returns a :class:`Solution` that
evaluates anywhere and on grids.  Only the neural solver imports torch, on first use.

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
discover.errors.UnknownNameError: unknown solver 'fem' for solver=; valid solvers: 'auto', 'both', 'neural', 'classical'
"""  # noqa: E501

from __future__ import annotations

from typing import Any

from .base import AUTO_SOLVERS, SOLVERS, Deferred, Solver, choose_solver, get_solver, solve
from .classical import ClassicalSolver
from .from_data import solve_from_data
from .problem import Ball, Box, Disk, Mask, Polygon, Problem, Solution

__all__ = [
    "AUTO_SOLVERS",
    "SOLVERS",
    "Ball",
    "Box",
    "ClassicalSolver",
    "Deferred",
    "Disk",
    "Mask",
    "NeuralSolver",
    "Polygon",
    "Problem",
    "Solution",
    "Solver",
    "choose_solver",
    "get_solver",
    "solve",
    "solve_from_data",
]


def __getattr__(name: str) -> Any:
    """``NeuralSolver`` is imported on first use (it needs torch)."""
    if name == "NeuralSolver":
        from .neural import NeuralSolver

        return NeuralSolver
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
