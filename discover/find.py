"""The discovery pipeline: data -> derivatives -> library -> sparse path -> equation.

:func:`find` runs the stages of DESIGN.md in one direction and returns a :class:`Discovery`
holding the equation(s), the whole sparsity path and every choice it made, so that the JSON
it writes says how each number came about.

How the finite-difference stencil is chosen (``accuracy="auto"``)
-----------------------------------------------------------------
The path is computed with stencils of accuracy 2, 4 and 6.  A model is *stable* when each of
its coefficients, refitted with the neighbouring stencils, moves by less than half its own
size: a physical coefficient does not depend on the stencil, while a term that only soaks
up truncation error changes by about an order of magnitude from one stencil order to the
next.  Among stable models the criterion (default: one-standard-error rule on block
cross-validation) picks one per stencil, and the stencil whose pick has the lowest held-out
error wins.  No threshold is tuned by hand.

Examples
--------
>>> from discover.datasets import make_dataset
>>> d = find(make_dataset("advection_diffusion", nx=128, nt=51), "u")
>>> print(d.equations[0])
u_t = -1.0*u_x + 0.05*u_xx
"""

from __future__ import annotations

import copy
import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .builders import RegressionSystem, RegressionSystems, builder_for
from .builders.chunked import ChunkedGridBuilder
from .builders.chunked_neural import ChunkedNeuralBuilder
from .builders.chunked_weak import ChunkedWeakBuilder
from .complexfield import ComplexLibrary, from_fit, stack
from .equation import Equation, TermEstimate
from .errors import DataError
from .fields import choose_fields, strong_modulate, time_slab_folds
from .io import Samples
from .lazy import DEFAULT_MEMORY, is_many, needs_chunks, open_lazy, parse_memory
from .library import Library
from .prepare import NotChunkable, Prepared, prepare, prepare_lazy
from .results import DataInfo, Discovery
from .select import (
    Candidate,
    CollinearityWarning,
    SparsityPath,
    collinear_gram,
    collinear_terms,
    ensemble,
    ensemble_factors,
    net_of_noise,
    refine_by_swaps,
    refit,
    sparsity_path,
    sparsity_path_factors,
    triangular,
)
from .settings import FindSettings
from .weakgrid import MIN_HALF as WEAK_MIN_HALF

__all__ = ["Discovery", "find"]

logger = logging.getLogger(__name__)

#: the chunked path's builder for a method (the derivative methods: ChunkedGridBuilder);
#: "weak-gls" streams as "weak" does, without the generalized least squares step (its dense
#: covariance is for systems that fit in memory)
CHUNKED = {
    "weak": ChunkedWeakBuilder,
    "weak-gls": ChunkedWeakBuilder,
    "neural": ChunkedNeuralBuilder,
}

#: a coefficient that moves by more than this fraction of itself between variants is unstable
STABILITY = 0.5
#: level of the reported coefficient intervals
CI_LEVEL = 0.95
#: a record is long enough for coefficients that vary in time when it holds this many
#: intervals the regression resolves in time (:func:`_long_record`)
LONG_RECORD = 8
#: a term whose inclusion over the resamples is below this is dropped and the rest refitted
MIN_INCLUSION = 0.5
#: the weak form on the grid chooses among models whose every term passes a t-test at this
#: family-wise level, Bonferroni over the library (:meth:`SparsityPath.significance_cut`)
SIGNIFICANCE = 0.05


def find(
    data: str | Path | xr.Dataset | xr.DataArray | Samples,
    var: str | Sequence[str] | None = None,
    *,
    time: str | None = None,
    coords: Sequence[str] | None = None,
    time_unit: str = "days",
    method: str = "auto",
    accuracy: int | str = "auto",
    max_order: int = 3,
    degree: int = 2,
    extra: Sequence[str] = (),
    include_constant: bool = True,
    select: str = "1se",
    regressor: str = "stlsq",
    n_folds: int = 5,
    seed: int = 0,
    neural: dict | None = None,
    form: str = "weak",
    n_bootstrap: int = 100,
    library_fraction: float = 1.0,
    units: dict[str, str] | None = None,
    scale: dict[str, tuple[float, float]] | None = None,
    holdout: str | None = None,
    preset: str | None = "auto",
    sel: dict[str, Any] | None = None,
    memory: str | int | None = DEFAULT_MEMORY,
    chunks: int | None = None,
    scheduler: Any = None,
    progress: bool = False,
    fields: str = "none",
) -> Discovery:
    """Discover the PDE ``∂field/∂t = Σ c_i term_i`` behind measured data.

    Parameters
    ----------
    data : path, Dataset, DataArray or Samples
        The measurements (see :func:`discover.io.load`).
    var : str or sequence of str
        Field variable(s); one equation per field.
    time, coords, time_unit
        Passed to :func:`discover.io.load`.
    method : {"auto", "weak", "weak-gls", "neural", "fd", "savgol", "spectral"}
        How derivatives are computed. ``weak``: the weak form on the data's own grid
        (:mod:`discover.weakgrid`; no derivative of the data).  ``weak-gls``: the same, with
        the chosen model's coefficients refitted by generalized least squares (WENDy's step,
        :mod:`discover.weakgls`): lower scatter at high noise, 1.2–3.5 times the time.
        ``auto`` (:func:`auto_method`):
        finite differences on grids whose estimated noise (:func:`estimate_noise`) is below
        ``NOISE_FOR_NEURAL`` (0.2% of the field's spread), the weak form on noisier uniform
        grids, the neural interpolant on noisier uneven grids and for station and scattered
        data.
    accuracy : "auto" or int
        Finite-difference accuracy; ``auto`` chooses it by held-out error among stable
        models (see the module notes). An integer uses that stencil (its neighbours still
        serve the stability check).
    max_order, degree, extra, include_constant
        The candidate library (see :class:`discover.library.Library`).
    select : {"1se", "cv", "bic", "aic", "knee"}
        Selection criterion over the path (see :mod:`discover.select`).
    regressor : str
        Sparse regressor (see :data:`discover.regress.REGRESSORS`).
    n_folds : int
        Cross-validation folds of space–time blocks.
    seed : int
        Seed of the fold assignment and of the collocation points.
    neural : dict, optional
        Settings of the :class:`~discover.interpolate.NeuralInterpolant` (method "neural").
    form : {"weak", "strong"}
        How the neural method builds the regression: ``weak`` (default) integrates the PDE
        against test functions on boxes of the interpolant (:mod:`discover.weak`), so most
        terms need only the interpolant's values; ``strong`` uses its derivatives at
        collocation points.  Finite-difference methods always use the strong form.
    n_bootstrap : int
        Block-bootstrap resamples of the whole selection (:func:`discover.select.ensemble`):
        each kept term's inclusion probability and the bootstrap part of its interval.
        0 skips them (the interval is then the block jackknife over the folds).
    library_fraction : float
        Fraction of the library each resample offers (library bagging); 1 offers all.
    units : dict, optional
        A declared transform of the inputs, symbol -> unit, e.g. ``{"x": "km", "t": "days"}``
        (:func:`discover.io.transform`).  The equation is discovered in these units and also
        reported in the data's own (:attr:`Discovery.equations_in_data_units`).  Latitude
        and longitude asked for in km are projected locally and become ``y`` and ``x``.
    scale : dict, optional
        Any other declared affine transform, symbol -> ``(factor, offset)`` (e.g. centring
        and scaling a field), undone the same way.
    holdout : str, optional
        Leave the end of the record out of the discovery, e.g. ``"last:20%"`` or
        ``"last:10"`` (time steps), and for station data also stations, ``"stations:9"`` or
        ``"stations:20%"`` (a seeded random choice), alone or together
        (``"last:20%,stations:9"``), so that :func:`discover.validate.validate` can test
        the equation on data it never saw; recorded in the settings (``holdout_start``,
        ``holdout_stations``).
    preset : {"auto", "weather", "none"}
        ``auto`` (the default) takes ``weather`` for data on latitude/longitude (degree
        units) and none otherwise; the choice is recorded in the settings and printed.
        A bundle of declared settings for a kind of data (:mod:`discover.weather`): units
        (lat/lon → km, time → h or days), library (linear, second order) and forcing
        harmonics.  ``units`` and ``extra`` given here are added to (and win over) the
        preset's; ``max_order`` and ``degree`` are capped at the preset's (2, and 0: no
        products, the fields enter as extra terms), so ``max_order=0`` asks for the best
        ODE with the same forcing.
    sel : dict, optional
        Dim -> the one value to take along it (an ensemble member, a level); passed to
        :func:`discover.io.load` and recorded, so that ``validate`` takes the same.

    memory : str or int, optional
        The memory budget (``"2GB"``, ``"500MB"`` or bytes; :func:`discover.lazy.parse_memory`).
        Data whose in-memory path would need more (:data:`discover.lazy.BYTES_PER_VALUE` per
        value) take the chunked path (:mod:`discover.builders.chunked`): opened lazily (a
        path, a list of paths or a glob for many files), read in slabs of time steps, each
        reduced at once to per-block factors; ``None`` never chunks.
    chunks : int, optional
        Time steps per chunk; giving it takes the chunked path whatever the size.
    scheduler : optional
        Run the chunks on ``dask.distributed``: a scheduler address
        (``"tcp://host:8786"``), a ``LocalCluster`` or a ``Client``; default: dask's
        local threads.
    progress : bool
        A progress bar over chunks.
    fields : {"none", "auto", "spline", "legendre"}
        ``auto``: after the terms are chosen, test each kept term's coefficient for a
        variation in space (:mod:`discover.fields`: cubic splines of the spatial
        coordinates, kept where the held-out error drops by more than its standard error)
        and, on a long record of a grid's own estimators, in time (folds of time slabs, two
        standard errors); the equation then prints the field by name (``D(x)*u_xx``,
        ``D(t)*u_xx``).  For the strong form and both weak forms (grids, stations,
        scattered points); ``none`` (the default) keeps constant coefficients.

    Returns
    -------
    Discovery
    """
    given = locals()
    settings = FindSettings(**{k: given[k] for k in FindSettings.names()}).check()
    budget = None if memory is None else parse_memory(memory)
    if chunks is not None and (type(chunks) is not int or chunks < 1):
        raise DataError(f"chunks must be a whole number >= 1, not {chunks!r}", parameter="chunks")
    prepared = None
    if chunks is not None or needs_chunks(data, var, budget):
        try:
            prepared = prepare_lazy(data, var, settings, time=time, time_unit=time_unit)
        except NotChunkable as exc:
            if chunks is not None:
                raise
            warnings.warn(f"{exc}; loading the data whole", UserWarning, stacklevel=2)
    if prepared is not None:
        chunked = CHUNKED.get(prepared.settings.method, ChunkedGridBuilder)
        builder = chunked(
            prepared.settings.method,
            memory=budget or parse_memory(DEFAULT_MEMORY),
            chunk=chunks,
            scheduler=scheduler,
            progress=progress,
        )
    else:
        if is_many(data):  # many files below the budget: read them whole
            data = open_lazy(data).load()
        prepared = prepare(data, var, settings, time=time, coords=coords, time_unit=time_unit)
        builder = builder_for(prepared.settings.method)
    clib = prepared.complex_library()
    library = prepared.library() if clib is None else clib.real
    built = builder.build(prepared, library, prepared.settings)
    if clib is not None:  # one complex regression (discover.complexfield)
        built, library = stack(built, clib), clib
    fits = {f: fit_field(f, built, library, prepared) for f in library.fields}
    return _assemble(prepared, library, built, fits)


@dataclass
class VariantFit:
    """The sparsity path of one field on one variant, its pick and its stability check."""

    index: int
    path: SparsityPath
    best: Candidate
    stable: Any
    factors: list[np.ndarray]

    @property
    def cv(self) -> float:
        return self.best.cv


@dataclass
class FieldFit:
    """What the selection found for one field."""

    equation: Equation
    path: SparsityPath
    variant: dict[str, Any]
    diagnostics: dict[str, Any]


def fit_field(fld: str, built: RegressionSystems, library: Library, prepared: Prepared) -> FieldFit:
    """Select the model of one field: the path on every variant, the builder's pick among
    them, then intervals (:func:`_uncertainty`) and, for the weak form, the noise's bias."""
    settings = prepared.settings
    tables = [s.tables.get(fld) for s in built.systems]
    if built.systems[0].factors:  # rows reduced to factors by the builder
        blocks = [s.factors[fld] for s in built.systems]
        factors = [b.total() for b in blocks]
        zero = not np.any(factors[0][:, -1])
        groups = collinear_gram(factors[0], blocks[0].n_rows, library.names)
    else:
        zero = not np.any(tables[0][1])
        groups = [] if zero else collinear_terms(tables[0][0], library.names)
        factors = [_net(triangular(X, y), s, fld) for (X, y), s in zip(tables, built.systems)]
    if zero:
        raise DataError(f"the time derivative of '{fld}' is zero everywhere; nothing to explain")
    _warn_collinear(fld, groups)
    fits = [_fit_variant(fld, built, k, factors, library, settings) for k in range(len(tables))]
    fit = fits[built.pick([f.cv for f in fits])]
    system = built.systems[fit.index]
    terms, uncertainty = _uncertainty(
        fit, system, fld, library.names, settings, backward=built.backward
    )
    if built.debias is not None and fit.index == 0:
        table = tables[0] if tables[0] is not None else (factors[0], None)
        terms = _debias(built.debias, fld, table, terms, library.names, uncertainty)
    if built.refresh is not None and fit.index == 0 and terms:
        terms = _noise_bias(built.refresh, fld, terms, library.names, uncertainty)
    field_report = None
    if settings.fields != "none" and terms:
        terms, field_report = _coefficient_fields(fld, system, built.form, terms, library, prepared)
    eq = Equation(
        library.time_derivative(fld).name,
        terms,
        fields=library.fields,
        coords=library.coords,
        units=dict(prepared.samples.units),
    )
    diagnostics = {
        "variants": [
            {**built.systems[f.index].variant, "terms": list(f.best.terms),
             "relative_error": f.best.relative_error, "cv": f.cv}
            for f in fits
        ],
        "uncertainty": uncertainty,
        "relative_error": fit.best.relative_error,
        "n_candidates": len(fit.path.candidates),
        "collinear_terms": [list(g) for g in groups],
        **built.diagnostics,
    }  # fmt: skip
    if field_report is not None:
        diagnostics["coefficient_fields"] = field_report
    return FieldFit(eq, fit.path, system.variant, diagnostics)


def _choose(fld, system, library, idx, prepared):
    """:func:`discover.fields.choose_fields` on one regression system."""
    samples = prepared.samples
    space = list(samples.coords[1:])
    X, y = system.tables[fld]
    modulate = system.modulate or strong_modulate(X, system.points, samples.coords)
    rows = system.points  # the field is fitted over the rows' span, held constant beyond
    extent = {c: (float(rows[:, i + 1].min()), float(rows[:, i + 1].max()))
              for i, c in enumerate(space)}  # fmt: skip
    if any(hi <= lo for lo, hi in extent.values()):
        from .fields import FieldChoice

        skipped = {"skipped": "the rows do not extend in every spatial coordinate"}
        return FieldChoice({}, {j: 0.0 for j in idx}, skipped)
    mode = prepared.settings.fields
    time, time_size, time_folds = None, None, None
    if prepared.settings.method != "neural":  # the interpolant's bias drifts in time
        time, time_size = _long_record(system, samples)
    if time:
        time_folds = time_slab_folds(system.points[:, 0], n_folds=int(system.folds.max()) + 1)
    return choose_fields(
        X, y, system.folds, idx, library.names, modulate, extent,
        fields=library.fields, coords=library.coords, seed=prepared.settings.seed,
        basis="spline" if mode == "auto" else mode,
        max_size=_resolvable(system, samples, extent),
        time=time, max_time_size=time_size, time_folds=time_folds,
    )  # fmt: skip


def _long_record(system, samples) -> tuple[dict | None, int | None]:
    """The time coordinate's range over the rows, offered to the fields when the record is
    long: at least :data:`LONG_RECORD` of the weak form's resolvable intervals (half a test
    function's half-width, :func:`_resolvable`) or, for rows at points, of sampling
    intervals; with the finest field of time it resolves.

    Not offered on the neural interpolant's rows: its smoothing bias drifts as the signal
    decays, and a field of time takes it up (measured at 60 stations with a constant D: a
    false ``D(t)`` in 4 of 4 draws, 2.2-3.6 standard errors, on folds of time slabs)."""
    t = system.points[:, 0]
    lo, hi = float(t.min()), float(t.max())
    half = system.variant.get("half_width")
    c = samples.coords[0]
    if half and samples.grid is not None:
        a = samples.grid[c].values
        step = float(abs(a[1] - a[0])) if a.size > 1 else 1.0
        # boxes shrunk to fit a short axis (weakgrid.half_width_cap) do not make it long
        n = int((hi - lo) // max(max(half[0], WEAK_MIN_HALF) * step / 2, 1e-300))
    else:
        n = np.unique(t).size - 1
    return ({c: (lo, hi)}, n) if hi > lo and n >= LONG_RECORD else (None, None)


def _rows_of(system, library, idx, prepared):
    """The regression rebuilt on the kept terms alone where that is cheap (the grid's
    builders): the weak form's boxes then reach as near the edges as those terms allow
    (products that need mollified derivatives keep them further in); the variant reported
    is kept.  The neural builder's rows stay (a rebuild would refit the interpolant)."""
    method = prepared.settings.method
    if method == "neural" or system.factors:
        return system, library, idx
    sub = copy.copy(library)
    sub.terms = [library.terms[j] for j in idx]
    built = builder_for(method).build(prepared, sub, prepared.settings)
    same = [
        s
        for s in built.systems
        if s.variant.get("box_scale") == system.variant.get("box_scale")
        and s.variant.get("accuracy") == system.variant.get("accuracy")
    ]
    return (same or built.systems)[0], sub, list(range(len(idx)))


def _resolvable(system, samples, extent) -> int | None:
    """The finest field the weak form resolves: intervals no shorter than half a test
    function's half-width (its rows average over boxes); None for rows at points."""
    half = system.variant.get("half_width")
    if not half or samples.grid is None:
        return None
    sizes = []
    for c, m in zip(samples.coords[1:], half[1:]):
        a = samples.grid[c].values
        step = float(abs(a[1] - a[0])) if a.size > 1 else 1.0
        lo, hi = extent[c]
        sizes.append(int((hi - lo) // max(m * step / 2, 1e-300)))
    return max(1, min(sizes))


def _coefficient_fields(fld, system, form, terms, library, prepared):
    """The stage of coefficient fields (:mod:`discover.fields`): the kept terms, those whose
    coefficient varies in space with a field, the others refitted beside them.  Where terms
    drop out (they stood in for a varying coefficient), the test runs again on the rows of
    the terms that remain."""
    if isinstance(library, ComplexLibrary):
        return terms, {"skipped": "not available for a complex field"}
    if system.modulate is None and (system.factors or form != "strong"):
        return terms, {"skipped": f"not available for the {form} form of this builder"}
    samples = prepared.samples
    space = list(samples.coords[1:])
    if not space:
        return terms, {"skipped": "no spatial coordinate"}
    idx = [library.names.index(t.term) for t in terms]
    for _ in range(3):
        sub_system, sub, sub_idx = _rows_of(system, library, idx, prepared)
        choice = _choose(fld, sub_system, sub, sub_idx, prepared)
        back = dict(zip(sub_idx, idx))
        found = {back[j]: f for j, f in choice.fields.items()}
        coef = {back[j]: c for j, c in choice.coef.items()}
        kept = [j for j in idx if j in found or j in coef]
        if choice.report.get("skipped") or len(kept) == len(idx):
            break
        idx = kept
    if not found:
        return terms, choice.report
    at = {c: samples.points[:, i] for i, c in enumerate(samples.coords)}
    out = []
    for t in terms:
        j = library.names.index(t.term)
        if j in found:
            f = found[j]
            out.append(TermEstimate(t.term, float(np.mean(f.values(at))), None, t.inclusion, f))
        elif j in coef:
            ci = None if t.ci is None else (t.ci[0] + coef[j] - t.coef, t.ci[1] + coef[j] - t.coef)
            out.append(TermEstimate(t.term, coef[j], ci, t.inclusion))
        # else dropped: it stood in for the variation of another coefficient
    return out, choice.report


def _fit_variant(fld, built, k, factors, library, settings) -> VariantFit:
    """The path of ``fld`` on variant ``k``, unstable models marked, and its pick."""
    system = built.systems[k]
    options = dict(regressor=settings.regressor, n_eff=system.n_eff[fld], backward=built.backward,
                   significance=_significance(built))  # fmt: skip
    if system.factors:
        path = sparsity_path_factors(system.factors[fld], library.names, **options)
    else:
        X, y = system.tables[fld]
        path = sparsity_path(X, y, library.names, folds=system.folds,
                             noise=_noise_of(system, fld), **options)  # fmt: skip
    stable = _stability_check(factors, k)
    path.mark_unstable({c.support for c in path.candidates if not stable(c.support)})
    if built.backward:  # the weak form on the grid: single-term swaps of the pick
        best = refine_by_swaps(path, path.fold_factors, settings.select, stable=stable)
    else:
        best = path.best(settings.select)
    logger.info("%s %s: %s (cv %.3g)", fld, system.variant, best.terms, best.cv)
    return VariantFit(k, path, best, stable, factors)


def _noise_of(system: RegressionSystem, fld: str):
    """``(labels, n) ->`` the noise's expected share of ``[X y]ᵀ[X y]`` per label of the
    rows of ``fld``, where the builder knows it; the selection is net of its part between
    columns (:func:`discover.select.net_of_noise`)."""
    if system.noise is None:
        return None
    return lambda labels, n: system.noise(fld, labels, n)


def _net(R: np.ndarray, system: RegressionSystem, fld: str) -> np.ndarray:
    """The factor ``R`` of all rows net of the noise's share, where it is known."""
    noise = _noise_of(system, fld)
    if noise is None:
        return R
    return net_of_noise(R[None], noise(np.zeros(system.n_rows, dtype=int), 1))[0]


def _significance(built: RegressionSystems) -> float | None:
    """The significance filter's level: the weak form on the grid's (its libraries are
    large and its noise heavy), none elsewhere."""
    return SIGNIFICANCE if built.backward else None


def _warn_collinear(fld: str, groups: list[tuple[str, ...]]) -> None:
    """Warn of terms that are zero or nearly collinear on the data."""
    for g in groups:
        what = (
            f"term {g[0]} is zero on the data"
            if len(g) == 1
            else "terms " + ", ".join(g) + " are nearly collinear on the data"
        )
        warnings.warn(
            f"{fld}: {what}; their coefficients cannot be told apart (drop some with a "
            "smaller degree= / max_order=, or give data that varies more)",
            CollinearityWarning,
            stacklevel=4,
        )


def _uncertainty(
    fit: VariantFit, system: RegressionSystem, fld: str, names: list[str], settings, *, backward
) -> tuple[list[TermEstimate], dict]:
    """Each kept term with its interval and inclusion probability, and how they came about.

    The interval is ``coef ± z·√(se_b² + se_d²)``: ``se_b`` the block-bootstrap standard
    error (block jackknife over the folds when ``n_bootstrap == 0``) — the larger of the
    spread of the chosen model refitted on each resample and of the term's coefficient in
    each resample's own selected model (:attr:`discover.select.Ensemble.selection_se`: the
    model-selection part) — and ``se_d`` the largest change of the coefficient when the same
    model is refitted with the neighbouring derivative variants (stencil orders; the weak
    form's other box size) — the estimator's bias, which resampling rows cannot see, because
    every row shares the same discretization.
    """
    from scipy.stats import norm

    best, factors, i = fit.best, fit.factors, fit.index
    idx = list(best.support)
    coef = best.coef[idx]
    inclusion = None
    report: dict[str, Any] = {"method": "block jackknife over the folds", "level": CI_LEVEL}
    n_bootstrap = settings.n_bootstrap
    if n_bootstrap and idx:
        idx, coef, se_b, inclusion, report = _bootstrap(
            fit, system, fld, names, settings, backward=backward
        )
    else:
        lo, hi = best.interval(CI_LEVEL).T if idx else (coef, coef)
        se_b = (hi - lo) / 2 / norm.ppf(0.5 + CI_LEVEL / 2)
    se_d = np.zeros(len(idx))
    if idx:
        for cj in _neighbour_fits(factors, i, idx)[1]:
            se_d = np.maximum(se_d, np.abs(cj - coef))
    half = norm.ppf(0.5 + CI_LEVEL / 2) * np.sqrt(se_b**2 + se_d**2)
    kept_names = [names[j] for j in idx]
    report["se_bootstrap" if n_bootstrap else "se_jackknife"] = dict(zip(kept_names, se_b.tolist()))
    report["se_discretization"] = dict(zip(kept_names, se_d.tolist()))
    terms = [
        TermEstimate(
            names[j],
            float(c),
            (float(c - h), float(c + h)),
            None if inclusion is None else float(inclusion[j]),
        )
        for j, c, h in zip(idx, coef, half)
    ]
    return terms, report


def _bootstrap(fit: VariantFit, system: RegressionSystem, fld: str, names, settings, *, backward):
    """The block bootstrap of the whole selection (:func:`discover.select.ensemble`): the
    kept terms (those below :data:`MIN_INCLUSION` dropped and the rest refitted), their
    coefficients, bootstrap standard errors and inclusion, and the report."""
    idx = list(fit.best.support)
    coef = fit.best.coef[idx]
    options = dict(
        support=idx,
        criterion=settings.select,
        regressor=settings.regressor,
        stable=fit.stable,
        n_models=settings.n_bootstrap,
        library_fraction=settings.library_fraction,
        n_eff=system.n_eff[fld],
        seed=settings.seed,
        backward=backward,
    )
    if system.factors:  # chunked data: per-(block, fold) factors instead of rows
        ens = ensemble_factors(system.factors[fld], names, **options)
    else:
        X, y = system.tables[fld]
        ens = ensemble(X, y, names, points=system.points, folds=system.folds,
                       noise=_noise_of(system, fld), **options)  # fmt: skip
    se_b, inclusion = np.maximum(ens.coef_se, ens.selection_se), ens.inclusion
    report = {
        "method": "block bootstrap of the selection",
        "level": CI_LEVEL,
        **ens.settings,
        "inclusion": {names[j]: float(q) for j, q in enumerate(inclusion) if q > 0},
        "se_refit": {names[j]: float(v) for j, v in zip(idx, ens.coef_se)},
        "se_selection": {names[j]: float(v) for j, v in zip(idx, ens.selection_se)},
        "models": [{"terms": list(m), "frequency": f} for m, f in ens.models()[:5]],
    }
    weak = [j for j in idx if inclusion[j] < MIN_INCLUSION]
    if weak and len(weak) < len(idx):  # never report a term the resamples do not support
        keep = [k for k, j in enumerate(idx) if inclusion[j] >= MIN_INCLUSION]
        idx = [idx[k] for k in keep]
        coef, se_b = refit(fit.factors[fit.index], idx), se_b[keep]
        report["dropped_below_inclusion"] = [names[j] for j in weak]
    return idx, coef, se_b, inclusion, report


def _neighbour_fits(
    factors: list[np.ndarray], i: int, idx: list[int]
) -> tuple[np.ndarray, list[np.ndarray]]:
    """The model ``idx`` fitted on variant ``i`` and on its neighbouring variants (from the
    variants' triangular factors)."""
    near = [j for j in (i - 1, i + 1) if 0 <= j < len(factors)]
    return refit(factors[i], idx), [refit(factors[j], idx) for j in near]


def _stability_check(factors: list[np.ndarray], i: int):
    """``support -> bool``: does each coefficient of the model, fitted on variant ``i``, move
    by less than :data:`STABILITY` of itself when refitted on the neighbouring variants?"""
    cache: dict[tuple[int, ...], bool] = {}

    def stable(support: tuple[int, ...]) -> bool:
        if support not in cache:
            ok = True
            if support:
                ci, others = _neighbour_fits(factors, i, list(support))
                ok = not any(np.any(np.abs(cj - ci) > STABILITY * np.abs(ci)) for cj in others)
            cache[support] = ok
        return cache[support]

    return stable


def _debias(debias, fld: str, table, terms: list[TermEstimate], names, report: dict) -> list:
    """The weak form's coefficients with the noise's share of the Gram matrix taken out
    (:meth:`discover.weakgrid.WeakGridSystems.debiased`); intervals move with them."""
    idx = [names.index(t.term) for t in terms]
    c = debias(fld, *table, idx)
    if c is None:
        return terms
    report["noise_debiased"] = {t.term: float(v - t.coef) for t, v in zip(terms, c)}
    return [
        TermEstimate(
            t.term, float(v), t.ci and (t.ci[0] + v - t.coef, t.ci[1] + v - t.coef), t.inclusion
        )
        for t, v in zip(terms, c)
    ]


def _noise_bias(refresh, fld: str, terms: list[TermEstimate], names, report: dict) -> list:
    """The intervals widened by the noise's remaining bias: the move of each coefficient
    when the model is estimated again on the data with fresh noise of the estimated σ
    (:func:`discover.weakgrid.fresh_noise_fit`), added in quadrature as a standard error."""
    from scipy.stats import norm

    c = refresh(fld, [names.index(t.term) for t in terms])
    if c is None:
        return terms
    z = norm.ppf(0.5 + CI_LEVEL / 2)
    move = np.abs(np.asarray(c) - [t.coef for t in terms])
    report["se_noise_bias"] = {t.term: float(m) for t, m in zip(terms, move)}
    out = []
    for t, m in zip(terms, move):
        half = 0.5 * (t.ci[1] - t.ci[0]) if t.ci else 0.0
        half = float(np.sqrt(half**2 + (z * m) ** 2))
        out.append(TermEstimate(t.term, t.coef, (t.coef - half, t.coef + half), t.inclusion))
    return out


def _assemble(
    prepared: Prepared, library: Library, built: RegressionSystems, fits: dict[str, FieldFit]
) -> Discovery:
    """The :class:`Discovery`: equations, paths, and the settings as used."""
    s = prepared.settings
    settings = {
        **s.asdict(),
        "accuracy_chosen": {f: fit.variant.get("accuracy") for f, fit in fits.items()},
        "form": built.form,
        "extra": list(s.extra),
        "ci_level": CI_LEVEL,
        "n_terms_library": len(library),
        "library": library.names,
        "n_rows_used": built.n_rows,
        "noise_estimate": prepared.noise,
        "units": dict(s.units or {}),
        "preset": prepared.preset,
        "preset_reason": prepared.preset_reason,
        "scale": {k: list(v) for k, v in (s.scale or {}).items()},
        "sel": dict(s.sel or {}),
        "holdout_start": prepared.held["start"],
        "holdout_stations": prepared.held["stations"],
    }
    del settings["neural"]  # the interpolant reports its own settings in the diagnostics
    equations = [fit.equation for fit in fits.values()]
    complex_equations = []
    if isinstance(library, ComplexLibrary):
        complex_equations = [from_fit(eq, library) for eq in equations]
        equations = [e for c in complex_equations for e in c.real_pair()]
        settings["complex_fields"] = {library.field: list(library.pair)}
        settings["complex_library"] = library.complex_names
    return Discovery(
        equations,
        settings,
        DataInfo.of(prepared.samples),
        {f: fit.diagnostics for f, fit in fits.items()},
        prepared.transform,
        paths={f: fit.path for f, fit in fits.items()},
        library=library,
        samples=prepared.samples,
        complex_equations=complex_equations,
    )
