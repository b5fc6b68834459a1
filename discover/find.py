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

import logging
import math
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .differentiate import METHODS, differentiate, is_uniform
from .equation import Equation, TermEstimate
from .interpolate import NeuralInterpolant
from .io import (
    DEGREE_UNITS,
    DataError,
    Samples,
    degree_kind,
    hours_per,
    load,
    split_holdout,
    transform,
)
from .library import Library
from .regress import check_regressor
from .results import DataInfo, Discovery
from .select import (
    CollinearityWarning,
    block_folds,
    check_criterion,
    collinear_terms,
    effective_size,
    ensemble,
    refit,
    sparsity_path,
    triangular,
)
from .weak import SCALES, evaluation_grid, inner_box, inside_hull, weak_systems
from .weakgrid import MIN_HALF as WEAK_MIN_HALF
from .weakgrid import grid_weak_systems
from .weather import PRESETS, transport_terms

__all__ = ["Discovery", "find"]

logger = logging.getLogger(__name__)

#: finite-difference accuracies tried by ``accuracy="auto"``
AUTO_ACCURACIES = (2, 4, 6)
#: a coefficient that moves by more than this fraction of itself between stencils is unstable
STABILITY = 0.5


#: how the neural method builds the regression (the first is the default)
FORMS = ("weak", "strong")

#: relative noise (σ / std u) above which ``method="auto"`` leaves finite differences
NOISE_FOR_NEURAL = 2e-3


def estimate_noise(samples: Samples) -> float:
    """Noise level of gridded data relative to the field's spread, from 4th differences.

    For white noise of standard deviation σ, the 4th difference ``(1, -4, 6, -4, 1)`` has
    standard deviation ``√70 σ``, while a smooth field contributes only ``h⁴ ∂⁴u``; the
    robust (median absolute deviation) estimate along each axis is taken, and the smallest.

    >>> import numpy as np, xarray as xr
    >>> from discover.io import load
    >>> x = np.linspace(0, 6, 200); t = np.linspace(0, 1, 50)
    >>> u = np.sin(x)[None, :] * np.exp(-t)[:, None]
    >>> noisy = u + 0.05 * u.std() * np.random.default_rng(0).normal(size=u.shape)
    >>> ds = lambda v: xr.Dataset({"u": (("t", "x"), v)}, coords={"t": t, "x": x})
    >>> bool(estimate_noise(load(ds(u), "u")) < 1e-3)
    True
    >>> bool(0.04 < estimate_noise(load(ds(noisy), "u")) < 0.06)
    True
    """
    if samples.grid is None:
        raise ValueError("noise is estimated on gridded data")
    out = np.inf
    for fld in samples.fields:
        u = samples.grid[fld].values
        spread = float(np.nanstd(u)) or 1.0
        for ax in range(u.ndim):
            if u.shape[ax] < 9:
                continue
            d = np.diff(u, n=4, axis=ax)
            d = d[np.isfinite(d)]
            sigma = 1.4826 * np.median(np.abs(d - np.median(d))) / np.sqrt(70)
            out = min(out, sigma / spread)
    return float(out) if np.isfinite(out) else 0.0


def auto_method(samples: Samples, noise: float | None) -> str:
    """The derivative method ``method="auto"`` takes, by the rule measured on the benchmark.

    Station and scattered data: ``neural`` (the interpolant is the only way to a grid).
    Gridded data: ``fd`` when the estimated noise is at most :data:`NOISE_FOR_NEURAL` (clean
    data, where high-order stencils are exact to rounding and their stability check prunes
    the terms that only soak up discretization error; the weak form, as accurate on clean KS
    and Burgers, keeps such terms with coefficients of 1e-7 on a clean 2-D grid); ``weak``
    (the weak form on the data's own grid, :mod:`discover.weakgrid`) when the grid is
    noisier and every axis is uniform with room for test functions — measured far better
    than finite differences from 1% noise on (KS, Burgers, advection–diffusion: 0.03-0.15%
    error where finite differences lose a term); ``neural`` otherwise (uneven axes).
    A clean field with a shock is the known exception: finite differences fail on it and
    ``method="weak"`` finds it (0.2%).
    """
    if samples.grid is None or noise is None:
        return "neural"
    if noise <= NOISE_FOR_NEURAL:
        return "fd"
    for c in samples.coords:
        a = np.asarray(samples.grid[c].values, dtype=float)
        if a.size < 2 * WEAK_MIN_HALF + 1 or not is_uniform(a):
            return "neural"
    return "weak"


def collocation_points(
    samples: Samples, *, margin: float = 0.1, max_points: int = 20000, seed: int = 0
) -> np.ndarray:
    """Points where the interpolant's derivatives feed the regression: spread through the
    data's domain, a ``margin`` (fraction of each coordinate's span) away from its edges,
    where any interpolant is weakest; inside the stations' convex hull in 2-D and 3-D."""
    rng = np.random.default_rng(seed)
    if samples.grid is not None:
        mesh = np.meshgrid(*evaluation_grid(samples, margin=margin), indexing="ij")
        pts = np.stack([m.ravel() for m in mesh], axis=1)
        if len(pts) > max_points:
            pts = pts[np.sort(rng.choice(len(pts), max_points, replace=False))]
        return pts
    a, b = inner_box(samples, margin)
    n = int(min(max_points, max(5000, 4 * samples.n_samples)))
    pts = a + (b - a) * rng.uniform(size=(4 * n, len(a)))
    inside = inside_hull(samples)
    if inside is not None:
        pts = pts[inside(pts)]
    return pts[:n]


#: a grid's interpolant whose held-out RMS exceeds the estimated noise by this factor is
#: underfitting: a larger network is fitted too, and the one with the lower held-out error kept
GROW_AT = 1.05
#: the larger network (and longer L-BFGS phase) tried then.  600 L-BFGS steps: 1000 lowered
#: the held-out error a little further (advection-diffusion at 5% noise: 0.0516 against
#: 0.0552 of std u) at 1.5 times the cost, with the same terms on every benchmark case tried
LARGER = {"width": 64, "depth": 4, "lbfgs_steps": 600, "patience": 600}


def _fit_interpolant(samples: Samples, settings: dict, noise: float | None) -> NeuralInterpolant:
    """Fit the interpolant; on a grid, grow it when the held-out error says it underfits.

    The held-out RMS of a good fit is close to the noise (4th-difference estimate, which
    needs no model); well above it, the network misses structure in the data, e.g. the fast
    early decay of high modes.  Network size is then chosen by held-out error between the
    default and :data:`LARGER`, unless the caller fixed the size.
    """
    interp = NeuralInterpolant(**settings).fit(samples)
    val = max(interp.fit_report_["relative_val_rmse"])
    fixed = {"width", "depth"} & set(settings)
    if noise is None or fixed or noise <= 0 or val <= GROW_AT * noise:
        interp.fit_report_["size_choice"] = {"tried": [interp.fit_report_["network"]]}
        return interp
    logger.info(
        "held-out RMS %.3g > %.2f x noise %.3g: fitting a larger network", val, GROW_AT, noise
    )
    bigger = NeuralInterpolant(**{**settings, **LARGER}).fit(samples)
    tried = [
        {**f.fit_report_["network"], "relative_val_rmse": f.fit_report_["relative_val_rmse"]}
        for f in (interp, bigger)
    ]
    best = min((interp, bigger), key=lambda f: max(f.fit_report_["relative_val_rmse"]))
    best.fit_report_["size_choice"] = {"tried": tried, "noise_estimate": noise, "grow_at": GROW_AT}
    return best


def choose_preset(samples: Samples, preset: str | None) -> tuple[str | None, str]:
    """The preset to apply (None for none) and why: ``auto`` takes ``weather`` for data on
    latitude/longitude.

    >>> import numpy as np, xarray as xr
    >>> from discover.io import load
    >>> ds = xr.Dataset({"T": (("time", "lat"), np.ones((6, 5)).cumsum(0), {"units": "K"})},
    ...     coords={"time": ("time", np.arange(6.0), {"units": "hours"}),
    ...             "lat": ("lat", np.arange(50.0, 55), {"units": "degrees_north"})})
    >>> choose_preset(load(ds, "T"), "auto")
    ('weather', 'auto: coordinates lat in degrees')
    """
    if preset in (None, "none"):
        return None, "none"
    if preset == "auto":
        geo = [c for c in samples.space if samples.units.get(c) in DEGREE_UNITS]
        kinds = {c: degree_kind(c, samples.units[c]) for c in geo}
        if not geo:
            return None, "auto: no latitude/longitude"
        if None in kinds.values() or "lat" not in kinds.values():
            return None, "auto: coordinates in degrees, but not a latitude with it"
        if hours_per(samples.units.get("t") or samples.time_unit) is None:
            return None, "auto: latitude/longitude, but time has no unit of hours or days"
        return "weather", f"auto: coordinates {', '.join(geo)} in degrees"
    if preset not in PRESETS:
        raise DataError(
            f"unknown preset '{preset}'; valid presets: auto, none, {', '.join(PRESETS)}"
        )
    return preset, "chosen"


def station_support(samples: Samples, max_order: int) -> int:
    """The highest spatial derivative order the stations can support, at most ``max_order``.

    A polynomial of order ``k`` in ``d`` space dims has ``C(k + d, d)`` coefficients, so
    ``n`` stations in general position determine derivatives up to the largest such ``k``
    with ``C(k + d, d) <= n`` (2-D: 3 stations for slopes, 6 for curvatures).  Fewer than
    ``d + 1`` stations, or stations on a line (a plane), support none: a one-line error.
    A lower cap than asked is a warning.
    """
    pos = np.unique(samples.points[:, 1:], axis=0)
    d = pos.shape[1]
    rank = np.linalg.matrix_rank(pos - pos.mean(axis=0)) if len(pos) > 1 else 0
    if max_order > 0 and rank < d:
        where = "at one place" if rank == 0 else f"on a {'line' if rank == 1 else 'plane'}"
        raise DataError(
            f"{len(pos)} station(s) {where} cannot give derivatives in {d} space dims: give "
            f"at least {d + 1} stations not all {where.split()[-1]}, or use max_order=0 "
            "(--max-order 0) for an ODE at each station"
        )
    k = 0
    while k < max_order and math.comb(k + 1 + d, d) <= len(pos):
        k += 1
    if k < max_order:
        warnings.warn(
            f"{len(pos)} stations in {d} space dims support spatial derivatives up to order "
            f"{k} only (order {k + 1} needs {math.comb(k + 1 + d, d)}); max_order lowered "
            f"from {max_order} to {k}",
            UserWarning,
            stacklevel=3,
        )
    return k


def _strong(library: Library, table: dict[str, np.ndarray]) -> dict:
    """Field -> (design matrix, time derivative) from a table of derivatives at points."""
    X = library.matrix(table)
    return {f: (X, table[library.time_derivative(f).name]) for f in library.fields}


#: level of the reported coefficient intervals
CI_LEVEL = 0.95
#: a term whose inclusion over the resamples is below this is dropped and the rest refitted
MIN_INCLUSION = 0.5
#: fields whose mean exceeds this many standard deviations are centred for a polynomial library
OFFSET_RATIO = 3.0


def _uncertainty(
    best,
    tables: list[tuple[np.ndarray, np.ndarray]],
    factors: list[np.ndarray],
    i: int,
    names: list[str],
    *,
    points: np.ndarray,
    folds: np.ndarray,
    select: str,
    regressor: str,
    stable,
    n_eff: float | None,
    n_bootstrap: int,
    library_fraction: float,
    seed: int,
    backward: bool = False,
) -> tuple[list[TermEstimate], dict]:
    """Each kept term with its interval and inclusion probability, and how they came about.

    The interval is ``coef ± z·√(se_b² + se_d²)``: ``se_b`` the block-bootstrap standard
    error (block jackknife over the folds when ``n_bootstrap == 0``), ``se_d`` the largest
    change of the coefficient when the same model is refitted with the neighbouring
    derivative variants (stencil orders; the weak form's other box size) — the part of the
    error that resampling rows cannot see, because every row shares the same discretization.
    """
    from scipy.stats import norm

    idx = list(best.support)
    coef = best.coef[idx]
    X, y = tables[i]
    inclusion = None
    report: dict[str, Any] = {"method": "block jackknife over the folds", "level": CI_LEVEL}
    if n_bootstrap and idx:
        ens = ensemble(
            X,
            y,
            names,
            points=points,
            folds=folds,
            support=idx,
            criterion=select,
            regressor=regressor,
            stable=stable,
            n_models=n_bootstrap,
            library_fraction=library_fraction,
            n_eff=n_eff,
            seed=seed,
            backward=backward,
        )
        se_b = ens.coef_se
        inclusion = ens.inclusion
        report = {
            "method": "block bootstrap of the selection",
            "level": CI_LEVEL,
            **ens.settings,
            "inclusion": {names[j]: float(q) for j, q in enumerate(inclusion) if q > 0},
            "models": [{"terms": list(m), "frequency": f} for m, f in ens.models()[:5]],
        }
        weak = [j for j in idx if inclusion[j] < MIN_INCLUSION]
        if weak and len(weak) < len(idx):  # never report a term the resamples do not support
            keep = [k for k, j in enumerate(idx) if inclusion[j] >= MIN_INCLUSION]
            idx = [idx[k] for k in keep]
            coef, se_b = refit(factors[i], idx), se_b[keep]
            report["dropped_below_inclusion"] = [names[j] for j in weak]
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


def _centring(samples: Samples, degree: int, units: dict) -> dict[str, tuple[float, float]]:
    """Fields far from zero (|mean| > :data:`OFFSET_RATIO`·std, a temperature in kelvin)
    centred and scaled, ``(v - mean)/std``, when the library multiplies fields (degree >= 2):
    otherwise ``T*X`` is nearly collinear with ``X``.  The transform reports the result in
    the data's units."""
    if degree < 2:
        return {}
    out = {}
    for j, f in enumerate(samples.fields):
        v = samples.values[:, j]
        m, s = float(np.nanmean(v)), float(np.nanstd(v))
        if f not in units and s > 0 and abs(m) > OFFSET_RATIO * s:
            out[f] = (1 / s, -m / s)
    return out


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


def _debias(built, fld: str, table, terms: list[TermEstimate], names, report: dict) -> list:
    """The weak form's coefficients with the noise's share of the Gram matrix taken out
    (:meth:`discover.weakgrid.WeakGridSystems.debiased`); intervals move with them."""
    idx = [names.index(t.term) for t in terms]
    c = built.debiased(fld, *table, idx)
    if c is None:
        return terms
    report["noise_debiased"] = {t.term: float(v - t.coef) for t, v in zip(terms, c)}
    return [
        TermEstimate(
            t.term, float(v), t.ci and (t.ci[0] + v - t.coef, t.ci[1] + v - t.coef), t.inclusion
        )
        for t, v in zip(terms, c)
    ]


def _variants(method: str, accuracy: int | str) -> list[dict]:
    if method != "fd":
        return [{}]
    if accuracy == "auto":
        return [{"accuracy": a} for a in AUTO_ACCURACIES]
    if not isinstance(accuracy, int) or accuracy < 1:
        raise DataError(f"accuracy must be 'auto' or a whole number >= 1, not {accuracy!r}")
    return [{"accuracy": a} for a in sorted({max(2, accuracy - 2), accuracy, accuracy + 2})]


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
    method : {"auto", "weak", "neural", "fd", "savgol", "spectral"}
        How derivatives are computed. ``weak``: the weak form on the data's own grid
        (:mod:`discover.weakgrid`; no derivative of the data).  ``auto`` (:func:`auto_method`):
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

    Returns
    -------
    Discovery
    """
    try:
        check_criterion(select)
        check_regressor(regressor)
    except ValueError as exc:
        raise DataError(str(exc)) from None
    if not isinstance(n_bootstrap, int) or n_bootstrap < 0 or n_bootstrap == 1:
        raise DataError(f"n_bootstrap must be 0 or a whole number >= 2, not {n_bootstrap!r}")
    if not 0 < library_fraction <= 1:
        raise DataError(f"library_fraction must be in (0, 1], not {library_fraction}")
    if form not in FORMS:
        raise DataError(f"unknown form '{form}'; valid forms: " + ", ".join(repr(f) for f in FORMS))
    valid_methods = ("auto", "neural", "weak", *METHODS)
    if method not in valid_methods:
        raise DataError(
            f"unknown method '{method}'; valid methods: "
            + ", ".join(repr(m) for m in valid_methods)
        )
    if isinstance(data, Samples):
        samples = data
    else:
        if var is None:
            raise DataError("no variable given; name the field with var= / --var")
        samples = load(data, var, time=time, coords=coords, time_unit=time_unit, sel=sel)
    held: dict[str, Any] = {"start": None, "stations": None}
    if holdout:
        samples, held = split_holdout(samples, holdout)
    preset, why = choose_preset(samples, preset)
    if preset is not None:
        chosen = PRESETS[preset](samples)
        units = {**chosen["units"], **(units or {})}
        extra = [*chosen["extra"], *(e for e in extra if e not in chosen["extra"])]
        max_order = min(max_order, chosen["max_order"])
        degree = min(degree, chosen["degree"])
        if method == "auto" and chosen.get("method"):
            method = chosen["method"]
            why += f"; method {method} ({chosen['method_reason']})"
        logger.info("preset %s: %s", preset, why)
    scale = {**_centring(samples, degree, units or {}), **(scale or {})}
    tr = None
    if units or scale:
        samples, tr = transform(samples, units, scale=scale)
    if samples.layout == "station":
        max_order = station_support(samples, max_order)
    if preset is not None and chosen.get("transport"):
        extra = [*extra, *transport_terms(samples)]
    noise = estimate_noise(samples) if samples.grid is not None else None
    if method == "auto":
        method = auto_method(samples, noise)
    if method != "neural" and samples.grid is None:
        raise DataError(
            f"the '{method}' method needs gridded data, but the layout is '{samples.layout}'; "
            "use --method neural"
        )
    try:
        library = Library(
            samples.fields,
            samples.coords,
            max_order=max_order,
            degree=degree,
            extra=extra,
            include_constant=include_constant,
        )
    except ValueError as exc:
        raise DataError(str(exc)) from None
    needed = library.derivatives_needed()
    fit_report = None
    # per derivative variant: field -> (X, y); rows located at `points`
    systems: list[dict[str, tuple[np.ndarray, np.ndarray]]]
    grid_rows = None  # FD: which grid points are rows (effective size of the residual)
    n_eff_of: list[float | None]
    weak_info = None
    if method == "weak":  # the weak form on the data's own grid (discover.weakgrid)
        built = grid_weak_systems(samples, library)
        systems, centers, n_eff_of = built.systems, built.centers, built.n_eff
        variants, points, weak_info = built.variants, built.centers[0], built.info
    elif method == "neural":
        interp = _fit_interpolant(samples, dict(neural or {}), noise)
        fit_report = interp.fit_report_
        if form == "weak":
            try:
                systems, centers, n_eff_of = weak_systems(interp, samples, library)
            except ValueError as exc:
                raise DataError(f"{exc} (or use form='strong' / --form strong)") from None
            variants = [{"box_scale": sc} for sc in SCALES]
            points = centers[0]
        else:
            points = collocation_points(samples, seed=seed)
            d = interp.derivatives(points, [tuple(n.orders) for n in needed])
            k = {f: i for i, f in enumerate(samples.fields)}
            table = {n.name: d[tuple(n.orders)][:, k[n.field]] for n in needed}
            table.update(zip(samples.coords, points.T, strict=True))
            systems = [_strong(library, table)]
            variants, n_eff_of = [{}], [None]
    else:
        variants = _variants(method, accuracy)
        feats = [differentiate(samples, needed, method=method, **v) for v in variants]
        # rows where every variant and every feature is finite: comparisons use the same rows
        grid_rows = np.ones(samples.grid[samples.fields[0]].shape, dtype=bool)
        for f in feats:
            for name in f.data_vars:
                grid_rows &= np.isfinite(f[name].values)
        mesh = np.meshgrid(*[samples.grid[c].values for c in samples.coords], indexing="ij")
        points = np.stack([m[grid_rows] for m in mesh], axis=1)
        coords_at = {c: m[grid_rows] for c, m in zip(samples.coords, mesh, strict=True)}
        systems = [
            _strong(library, {**coords_at, **{k: f[k].values[grid_rows] for k in f.data_vars}})
            for f in feats
        ]
        n_eff_of = [None] * len(variants)
    if len(points) <= len(library):
        raise DataError(
            f"only {len(points)} rows are left for the regression (edges are trimmed and gaps "
            f"spread); the {len(library)}-term library needs more: a finer grid, a lower "
            "--max-order or a smaller --degree"
        )
    # where each variant's rows lie, and their cross-validation folds (the weak form's boxes
    # move with their size; the other variants share their rows)
    if method == "weak" or (method == "neural" and form == "weak"):
        row_points = centers
        fold_of = [block_folds(c, n_folds=n_folds, seed=seed) for c in centers]
    else:
        row_points = [points] * len(systems)
        fold_of = [block_folds(points, n_folds=n_folds, seed=seed)] * len(systems)

    equations, paths, diagnostics = [], {}, {}
    chosen_variants = {}
    for fld in samples.fields:
        lhs = library.time_derivative(fld).name
        tables = [sys_[fld] for sys_ in systems]
        if not np.any(tables[0][1]):
            raise DataError(
                f"the time derivative of '{fld}' is zero everywhere; nothing to explain"
            )
        groups = collinear_terms(tables[0][0], library.names)
        for g in groups:
            what = (
                f"term {g[0]} is zero on the data"
                if len(g) == 1
                else "terms " + ", ".join(g) + " are nearly collinear on the data"
            )
            warnings.warn(
                f"{fld}: {what}; their coefficients cannot be told apart (drop some with a "
                "smaller --degree/--max-order, or give data that varies more)",
                CollinearityWarning,
                stacklevel=2,
            )
        factors = [triangular(X, y) for X, y in tables]
        results = []
        for i, (X, y) in enumerate(tables):
            n_eff = n_eff_of[i]
            if grid_rows is not None:
                full = np.linalg.lstsq(X, y, rcond=None)[0]
                resid = np.full(grid_rows.shape, np.nan)
                resid[grid_rows] = y - X @ full
                n_eff = effective_size(resid)
            path = sparsity_path(
                X,
                y,
                library.names,
                folds=fold_of[i],
                regressor=regressor,
                n_eff=n_eff,
                backward=method == "weak",
            )
            stable = _stability_check(factors, i)
            unstable = {c.support for c in path.candidates if not stable(c.support)}
            path.mark_unstable(unstable)
            best = path.best(select)
            results.append((best.cv, i, path, best, n_eff, stable))
            logger.info("%s %s: %s (cv %.3g)", fld, variants[i], best.terms, best.cv)
        if method == "fd" and accuracy == "auto":
            _, i, path, best, n_eff, stable = min(results, key=lambda r: (r[0], r[1]))
        elif method == "fd":
            i = next(k for k, v in enumerate(variants) if v.get("accuracy") == accuracy)
            _, _, path, best, n_eff, stable = results[i]
        else:  # the first box size (weak form; the others check stability), or the only one
            _, i, path, best, n_eff, stable = results[0]
        chosen_variants[fld] = variants[i]
        terms, uncertainty = _uncertainty(
            best,
            tables,
            factors,
            i,
            library.names,
            points=row_points[i],
            folds=fold_of[i],
            select=select,
            regressor=regressor,
            stable=stable,
            n_eff=n_eff,
            n_bootstrap=n_bootstrap,
            library_fraction=library_fraction,
            seed=seed,
            backward=method == "weak",
        )
        if method == "weak" and i == 0:
            terms = _debias(built, fld, tables[0], terms, library.names, uncertainty)
        equations.append(
            Equation(
                lhs,
                terms,
                fields=samples.fields,
                coords=samples.coords,
                units=dict(samples.units),
            )
        )
        paths[fld] = path
        diagnostics[fld] = {
            "variants": [
                {**variants[k], "terms": list(b.terms), "relative_error": b.relative_error, "cv": c}
                for c, k, _, b, _, _ in results
            ],
            "uncertainty": uncertainty,
            "relative_error": best.relative_error,
            "n_candidates": len(path.candidates),
            "collinear_terms": [list(g) for g in groups],
        }
        if fit_report is not None:
            diagnostics[fld]["interpolant"] = fit_report
        if weak_info is not None:
            diagnostics[fld]["weak_grid"] = weak_info
    settings = {
        "method": method,
        "accuracy": accuracy,
        "accuracy_chosen": {f: v.get("accuracy") for f, v in chosen_variants.items()},
        "form": form if method == "neural" else ("weak" if method == "weak" else "strong"),
        "max_order": max_order,
        "degree": degree,
        "extra": list(extra),
        "include_constant": include_constant,
        "select": select,
        "regressor": regressor,
        "n_folds": n_folds,
        "n_bootstrap": n_bootstrap,
        "library_fraction": library_fraction,
        "ci_level": CI_LEVEL,
        "seed": seed,
        "n_terms_library": len(library),
        "library": library.names,
        "n_rows_used": len(points),
        "noise_estimate": noise,
        "units": dict(units or {}),
        "preset": preset,
        "preset_reason": why,
        "scale": {k: list(v) for k, v in (scale or {}).items()},
        "holdout": holdout,
        "sel": dict(sel or {}),
        "holdout_start": held["start"],
        "holdout_stations": held["stations"],
    }
    return Discovery(
        equations,
        settings,
        DataInfo.of(samples),
        diagnostics,
        tr,
        paths=paths,
        library=library,
        samples=samples,
    )
