"""Builders: one per way of building the regression (DESIGN.md's "builders" stage).

Each turns prepared data and a candidate :class:`~discover.library.Library` into
:class:`RegressionSystems` (per derivative variant: each field's design matrix and time
derivative, where the rows lie, their cross-validation folds, their effective size).  The
selection after them does not know how the rows were made.

=================  ==========================================================================
``fd``, …          derivatives on the grid by a registered derivative method
                   (:data:`discover.differentiate.METHODS`), strong form (:mod:`.grid`)
``weak``           the weak form on the data's own grid (:mod:`discover.weakgrid`)
``neural``         the neural interpolant's derivatives, weak or strong form (:mod:`.neural`)
=================  ==========================================================================

A new way (chunked data, coefficient fields) is one new :class:`Builder` registered in
:data:`BUILDERS`.
"""

from __future__ import annotations

from .base import BUILDERS, Builder, RegressionSystem, RegressionSystems, builder_for, methods
from .grid import GridBuilder
from .neural import NeuralBuilder
from .weak import WeakGridBuilder

__all__ = [
    "BUILDERS",
    "Builder",
    "GridBuilder",
    "NeuralBuilder",
    "RegressionSystem",
    "RegressionSystems",
    "WeakGridBuilder",
    "builder_for",
    "methods",
]
