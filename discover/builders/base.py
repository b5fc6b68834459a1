"""The protocol of builders and what they return."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..differentiate import METHODS
from ..errors import DataError, UnknownNameError
from ..registry import Registry

if TYPE_CHECKING:
    from ..library import Library
    from ..prepare import Prepared
    from ..select import BlockFactors
    from ..settings import FindSettings

__all__ = [
    "BUILDERS",
    "Builder",
    "RegressionSystem",
    "RegressionSystems",
    "builder_for",
    "check_rows",
    "strong_tables",
]


@dataclass
class RegressionSystem:
    """One variant of the regression (a stencil order, a box size), for every field.

    Attributes
    ----------
    variant : dict
        The variant's settings (``{"accuracy": 4}``, ``{"box_scale": 1.0, …}``), reported.
    tables : dict
        Field -> ``(X, y)``: one row per point, one column per library term.
    points : ndarray
        Where the rows lie, ``(n_rows, n_coords)``.
    folds : ndarray
        Each row's cross-validation fold (space–time blocks).
    n_eff : dict
        Field -> the effective number of independent rows (AIC/BIC), or None for all rows.
    factors : dict, optional
        Field -> :class:`~discover.select.BlockFactors`: the system reduced to per-(block,
        fold) triangular factors, from builders that never hold the rows (``tables``,
        ``points`` and ``folds`` are then empty); the selection then works on them.
    """

    variant: dict[str, Any]
    tables: dict[str, tuple[np.ndarray, np.ndarray]]
    points: np.ndarray
    folds: np.ndarray
    n_eff: dict[str, float | None]
    factors: dict[str, BlockFactors] | None = None
    #: ``(j, basis) -> columns`` of term ``j`` times each function of a coefficient field's
    #: basis on these rows (:mod:`discover.fields`); None: rows at points (the strong form
    #: multiplies by the basis there) or, with ``form="weak"``, not available
    modulate: Callable[..., np.ndarray] | None = None
    #: ``(field, labels, n_labels) -> (n_labels, p + 1, p + 1)``: the noise's expected share
    #: of ``[X y]ᵀ[X y]`` summed over the rows of each label (:class:`~discover.weakgrid.RowNoise`);
    #: None: not known (the selection then uses the raw Gram matrices)
    noise: Callable[..., np.ndarray] | None = None

    @property
    def n_rows(self) -> int:
        if self.factors:
            return next(iter(self.factors.values())).n_rows
        return len(self.points)


@dataclass
class RegressionSystems:
    """What a builder returns: the variants and how to use them.

    Attributes
    ----------
    systems : list of RegressionSystem
        The variants, neighbours next to each other (the stability check compares each
        fit with its neighbours' refits).
    form : str
        "strong" or "weak" (reported).
    pick : callable
        The held-out errors of each variant's pick -> the index of the variant reported.
    backward : bool
        Whether the path adds backward elimination (the weak form's).
    debias : callable, optional
        ``(field, X, y, idx) -> coefficients or None`` for the first variant: the noise's
        share taken out (:meth:`discover.weakgrid.WeakGridSystems.debiased`).
    diagnostics : dict
        Reported for every field (how the rows came about).
    refresh : callable, optional
        ``(field, idx) -> coefficients or None``: the model ``idx`` of the first variant
        estimated again (debiased the same way) on the data with as much fresh noise again
        (:func:`discover.weakgrid.fresh_noise_fit`); how far it moves measures the noise's
        bias that the estimator leaves, for the interval.
    noise_gram : callable, optional
        ``(field, columns) -> (N_XX, N_Xy)``: the noise's expected share of the Gram
        matrix of the first variant (the weak form's), for builders that combine columns
        (:func:`discover.complexfield.stack`).
    """

    systems: list[RegressionSystem]
    form: str
    pick: Callable[[Sequence[float]], int] = lambda cvs: 0
    backward: bool = False
    debias: Callable[..., np.ndarray | None] | None = None
    diagnostics: dict[str, Any] = field(default_factory=dict)
    refresh: Callable[[str, Sequence[int]], np.ndarray | None] | None = None
    noise_gram: Callable[..., tuple[np.ndarray, np.ndarray]] | None = None

    @property
    def n_rows(self) -> int:
        return self.systems[0].n_rows


class Builder:
    """The protocol of a builder: register an instance in :data:`BUILDERS` under the
    ``method=`` name it answers to."""

    #: whether the builder needs gridded data
    needs_grid = True

    def build(
        self, prepared: Prepared, library: Library, settings: FindSettings
    ) -> RegressionSystems:
        raise NotImplementedError


#: builders by ``method=`` name; every derivative method is also a valid ``method=``
#: (:class:`~discover.builders.grid.GridBuilder`)
BUILDERS: Registry[Builder] = Registry("method", parameter="method", extra=("auto",))


def methods() -> tuple[str, ...]:
    """Every name ``method=`` takes: "auto", the builders, the derivative methods."""
    return (*BUILDERS.names, *(m for m in METHODS if m not in BUILDERS))


def builder_for(method: str) -> Builder:
    """The builder of ``method`` (a derivative method gets the grid builder)."""
    if method in BUILDERS:
        return BUILDERS[method]
    if method in METHODS:
        from .grid import GridBuilder

        return GridBuilder(method)
    raise UnknownNameError(
        f"unknown method {method!r} for method=; valid methods: "
        + ", ".join(repr(m) for m in methods()),
        parameter="method",
    )


def strong_tables(library: Library, table: dict[str, np.ndarray]) -> dict:
    """Field -> (design matrix, time derivative) from a table of derivatives at points."""
    X = library.matrix(table)
    return {f: (X, table[library.time_derivative(f).name]) for f in library.fields}


def check_rows(n: int, library: Library) -> None:
    """One line when ``n`` rows cannot carry the library's regression."""
    if n <= len(library):
        raise DataError(
            f"only {n} rows are left for the regression (edges are trimmed and gaps "
            f"spread); the {len(library)}-term library needs more: a finer grid, a lower "
            "max_order= or a smaller degree="
        )
