"""Derivatives on the grid by a registered derivative method, the strong form."""

from __future__ import annotations

import numpy as np

from ..differentiate import METHODS, differentiate
from ..select import block_folds, effective_size
from .base import Builder, RegressionSystem, RegressionSystems, check_rows, strong_tables

__all__ = ["GridBuilder"]


class GridBuilder(Builder):
    """Every derivative the library needs, computed on the grid by ``method`` for each of
    the method's variants (stencil orders); rows are the grid points where every variant
    and every feature is finite, so that variants are compared on the same rows."""

    def __init__(self, method: str = "fd"):
        self.method = method

    def build(self, prepared, library, settings) -> RegressionSystems:
        samples = prepared.samples
        variants = METHODS[self.method].variants(settings.accuracy)
        needed = library.derivatives_needed()
        feats = [differentiate(samples, needed, method=self.method, **v) for v in variants]
        rows = np.ones(samples.grid[samples.fields[0]].shape, dtype=bool)
        for f in feats:
            for name in f.data_vars:
                rows &= np.isfinite(f[name].values)
        mesh = np.meshgrid(*[samples.grid[c].values for c in samples.coords], indexing="ij")
        points = np.stack([m[rows] for m in mesh], axis=1)
        coords_at = {c: m[rows] for c, m in zip(samples.coords, mesh, strict=True)}
        check_rows(len(points), library)
        folds = block_folds(points, n_folds=settings.n_folds, seed=settings.seed)
        systems = []
        for v, f in zip(variants, feats):
            tables = strong_tables(
                library, {**coords_at, **{k: f[k].values[rows] for k in f.data_vars}}
            )
            n_eff = {fld: _effective_size(X, y, rows) for fld, (X, y) in tables.items()}
            systems.append(RegressionSystem(v, tables, points, folds, n_eff))
        return RegressionSystems(systems, "strong", pick=self._picker(variants, settings))

    @staticmethod
    def _picker(variants: list[dict], settings):
        """``accuracy="auto"``: the variant whose pick has the lowest held-out error; a
        given accuracy: that one (its neighbours only check stability)."""
        given = [i for i, v in enumerate(variants) if v.get("accuracy") == settings.accuracy]
        if given:
            return lambda cvs: given[0]
        return lambda cvs: min(range(len(cvs)), key=lambda i: (cvs[i], i))


def _effective_size(X: np.ndarray, y: np.ndarray, rows: np.ndarray) -> float:
    """The effective number of independent rows, from the full model's residual on the grid
    (:func:`discover.select.effective_size`)."""
    full = np.linalg.lstsq(X, y, rcond=None)[0]
    resid = np.full(rows.shape, np.nan)
    resid[rows] = y - X @ full
    return effective_size(resid)
