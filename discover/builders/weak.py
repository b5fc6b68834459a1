"""The weak form on the data's own grid (:mod:`discover.weakgrid`)."""

from __future__ import annotations

from ..select import block_folds
from ..weakgrid import fresh_noise_fit, grid_weak_systems
from .base import BUILDERS, Builder, RegressionSystem, RegressionSystems, check_rows

__all__ = ["WeakGridBuilder"]


class WeakGridBuilder(Builder):
    """Weak SINDy on the raw grid: one system per box size; the first is reported, the
    others check stability; backward elimination joins the path; the selection is net of the
    noise shared between columns, and the chosen model's coefficients are debiased for the
    noise (errors in variables).

    With ``gls`` (the ``"weak-gls"`` method) the chosen model's coefficients also take the
    generalized least squares step of :mod:`discover.weakgls`.
    """

    def __init__(self, *, gls: bool = False):
        self.gls = gls

    def build(self, prepared, library, settings) -> RegressionSystems:
        built = grid_weak_systems(prepared.samples, library, gls=self.gls)
        check_rows(len(built.centers[0]), library)
        systems = [
            RegressionSystem(
                variant,
                tables,
                centers,
                block_folds(centers, n_folds=settings.n_folds, seed=settings.seed),
                dict.fromkeys(tables, n_eff),
                modulate=modulate,
                noise=None if noise is None else noise.shares,
            )
            for variant, tables, centers, n_eff, modulate, noise in zip(
                built.variants,
                built.systems,
                built.centers,
                built.n_eff,
                built.modulators,
                built.row_noise,
            )
        ]
        return RegressionSystems(
            systems,
            "weak",
            backward=True,
            debias=built.debiased,
            diagnostics={"weak_grid": built.info},
            refresh=lambda fld, idx: fresh_noise_fit(
                prepared.samples, library, built, fld, idx, seed=settings.seed
            ),
            noise_gram=built.noise_gram,
        )


BUILDERS.register("weak", WeakGridBuilder())
BUILDERS.register("weak-gls", WeakGridBuilder(gls=True))
