"""The prepare stage of :func:`discover.find`: load, hold out, apply the preset, declare the
transform, and choose the method (DESIGN.md's data flow, before the builders).

:func:`prepare` returns :class:`Prepared`: the samples the builders work on and every choice
made on the way, which :func:`find` records in the result's settings.
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import xarray as xr

from .builders import builder_for
from .complexfield import ComplexLibrary
from .differentiate import is_uniform
from .errors import DataError
from .io import Samples, Transform, load, split_holdout, station_table, transform
from .library import Library
from .presets import PRESETS, choose_preset
from .settings import FindSettings
from .weakgrid import MIN_HALF as WEAK_MIN_HALF
from .weather import transport_terms

__all__ = [
    "NotChunkable",
    "Prepared",
    "auto_method",
    "estimate_noise",
    "prepare",
    "prepare_lazy",
    "station_support",
]

logger = logging.getLogger(__name__)


@dataclass
class Prepared:
    """The data ready for the builders, and the settings as the preparation left them.

    ``settings`` is the caller's, with ``method`` resolved, ``max_order``/``degree`` capped
    and ``extra``/``units``/``scale`` merged with the preset's and the centring.
    """

    samples: Samples
    settings: FindSettings
    transform: Transform | None = None
    noise: float | None = None
    preset: str | None = None
    preset_reason: str = "none"
    held: dict[str, Any] = field(default_factory=lambda: {"start": None, "stations": None})

    def library(self) -> Library:
        """The candidate terms the builders evaluate (for a complex field, the real
        monomials of :meth:`complex_library`)."""
        s = self.settings
        clib = self.complex_library()
        if clib is not None:
            return clib.real
        try:
            return Library(
                self.samples.fields,
                self.samples.coords,
                max_order=s.max_order,
                degree=s.degree,
                extra=s.extra,
                include_constant=s.include_constant,
            )
        except ValueError as exc:
            raise DataError(str(exc)) from None

    def complex_library(self) -> ComplexLibrary | None:
        """The complex field's library (:mod:`discover.complexfield`), or None for real data."""
        if not self.samples.complex:
            return None
        (name, pair), s = next(iter(self.samples.complex.items())), self.settings
        try:
            return ComplexLibrary(
                name,
                pair,
                self.samples.coords,
                max_order=s.max_order,
                degree=s.degree,
                include_constant=s.include_constant,
            )
        except ValueError as exc:
            raise DataError(str(exc)) from None


def _check_complex(samples: Samples, settings: FindSettings) -> None:
    """A complex field is discovered alone, with its own library (no ``extra=`` terms)."""
    if not samples.complex:
        return
    if len(samples.complex) > 1 or len(samples.fields) != 2:
        raise DataError(
            f"a complex field is discovered alone; give var= one complex field, not "
            f"{', '.join(samples.fields)}",
            parameter="var",
        )
    if settings.extra:
        raise DataError(
            "extra= terms are not taken for a complex field (its library is the "
            "phase-equivariant family of discover.complexfield); leave extra= out",
            parameter="extra",
        )


def prepare(data, var, settings: FindSettings, **read) -> Prepared:
    """Load (``read``: time, coords, time_unit), hold out, apply the preset and the declared
    transform, cap the derivative order to what stations support, estimate the noise and
    resolve ``method="auto"``."""
    samples = data if isinstance(data, Samples) else _load(data, var, settings, read)
    out = Prepared(samples, settings)
    _check_complex(samples, settings)
    if settings.holdout:
        out.samples, out.held = split_holdout(out.samples, settings.holdout)
    out.preset, out.preset_reason = choose_preset(out.samples, settings.preset)
    chosen = PRESETS[out.preset].settings(out.samples) if out.preset else None
    if chosen is not None:
        out.settings = _with_preset(out, chosen)
        logger.info("preset %s: %s", out.preset, out.preset_reason)
    _declare_transform(out)
    s = out.settings
    if out.samples.layout == "station":
        s = replace(s, max_order=station_support(out.samples, s.max_order))
    if chosen is not None and chosen.transport:
        s = replace(s, extra=(*s.extra, *transport_terms(out.samples)))
    measurable = out.samples.grid is not None or out.samples.layout == "station"
    out.noise = estimate_noise(out.samples) if measurable else None
    if s.method == "auto":
        s = replace(s, method=auto_method(out.samples, out.noise))
    if builder_for(s.method).needs_grid and out.samples.grid is None:
        raise DataError(
            f"the '{s.method}' method needs gridded data, but the layout is "
            f"'{out.samples.layout}'; use method=neural",
            parameter="method",
        )
    out.settings = s
    return out


class NotChunkable(DataError):
    """Settings or data the chunked path does not take (:func:`prepare_lazy`)."""


#: time steps of the head that the chunked path estimates the noise and the preset on
HEAD_STEPS = 64


def prepare_lazy(data, var, settings: FindSettings, *, time=None, time_unit="days") -> Prepared:
    """:func:`prepare` for the chunked path: the data opened lazily
    (:func:`discover.lazy.lazy_samples`); the noise estimated on the first
    :data:`HEAD_STEPS` time steps; settings that need the whole data in memory (a hold-out,
    a declared transform, a preset, centring) refused in one line."""
    from .differentiate import METHODS
    from .lazy import lazy_samples, open_lazy

    if var is None:
        raise DataError("no variable given; name the field with var=", parameter="var")
    for name in ("holdout", "units", "scale"):
        if getattr(settings, name):
            raise NotChunkable(
                f"{name}= is not taken by the chunked path (data above the memory budget); "
                "give a larger memory= (--memory) to load the data whole",
                parameter=name,
            )
    if isinstance(data, xr.DataArray):
        data = data.to_dataset(name=data.name or "u")
    ds = data if isinstance(data, xr.Dataset) else open_lazy(data)
    source = None if isinstance(data, xr.Dataset) else str(data)
    samples = lazy_samples(ds, var, time=time, time_unit=time_unit, sel=settings.sel, source=source)
    head = load(samples.grid.isel(t=slice(0, HEAD_STEPS)).load(), list(samples.fields))
    preset, reason = choose_preset(head, settings.preset)
    if preset is not None:
        raise NotChunkable(
            f"the {preset} preset is not taken by the chunked path; give preset='none' "
            "(--preset none) or a larger memory= (--memory)",
            parameter="preset",
        )
    offsets = _lazy_offsets(samples, settings.degree)
    if offsets:
        raise NotChunkable(
            f"fields far from zero ({', '.join(offsets)}) are "
            "centred only in memory; centre them in the file, or give degree=1 or a larger "
            "memory= (--memory)"
        )
    out = Prepared(samples, settings, preset=None, preset_reason=reason)
    out.noise = estimate_noise(head)
    s = settings
    if s.method == "auto":
        s = replace(s, method=auto_method(head, out.noise))
    if s.method not in (*METHODS, "weak", "weak-gls", "neural"):
        raise NotChunkable(
            f"the chunked path (data above the memory budget) takes weak, weak-gls, neural and the "
            f"derivative methods {', '.join(METHODS)}, not method={s.method!r}; give one, or a "
            "larger memory=",
            parameter="method",
        )
    out.settings = s
    return out


def _lazy_offsets(samples: Samples, degree: int) -> list[str]:
    """Fields whose mean is far from zero (:func:`_centring`), by one lazy pass."""
    if degree < 2:
        return []
    out = []
    for f in samples.fields:
        v = samples.grid[f]
        m, s = float(v.mean()), float(v.std())
        if s > 0 and abs(m) > OFFSET_RATIO * s:
            out.append(f)
    return out


def _load(data, var, settings: FindSettings, read: dict) -> Samples:
    if var is None:
        raise DataError("no variable given; name the field with var=", parameter="var")
    return load(data, var, sel=settings.sel, **read)


def _with_preset(out: Prepared, chosen) -> FindSettings:
    """The caller's settings merged with a preset's (the caller's units and extra win;
    order and degree capped; ``method="auto"`` replaced when the preset says so)."""
    s = out.settings
    extra = [*chosen.extra, *(e for e in s.extra if e not in chosen.extra)]
    new = replace(
        s,
        units={**chosen.units, **(s.units or {})},
        extra=tuple(extra),
        max_order=min(s.max_order, chosen.max_order),
        degree=min(s.degree, chosen.degree),
    )
    if s.method == "auto" and chosen.method:
        new = replace(new, method=chosen.method)
        out.preset_reason += f"; method {chosen.method} ({chosen.method_reason})"
    return new


def _declare_transform(out: Prepared) -> None:
    """Centre far-from-zero fields for a polynomial library, then apply the declared
    transform (units and scale) to the samples."""
    s = out.settings
    scale = {**_centring(out.samples, s.degree, s.units or {}), **(s.scale or {})}
    out.settings = replace(s, scale=scale)
    if s.units or scale:
        out.samples, out.transform = transform(out.samples, s.units, scale=scale)


#: fields whose mean exceeds this many standard deviations are centred for a polynomial library
OFFSET_RATIO = 3.0


#: relative noise (σ / std u) above which ``method="auto"`` leaves finite differences
NOISE_FOR_NEURAL = 2e-3


def estimate_noise(samples: Samples) -> float:
    """Noise level of gridded or station data relative to the field's spread, from 4th
    differences.

    For white noise of standard deviation σ, the 4th difference ``(1, -4, 6, -4, 1)`` has
    standard deviation ``√70 σ``, while a smooth field contributes only ``h⁴ ∂⁴u``; the
    robust (median absolute deviation) estimate along each axis is taken, and the smallest.
    Station data: along time at each station (five consecutive readings present).

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
    if samples.grid is not None:
        tables = [samples.grid[fld].values for fld in samples.fields]
        axes = None
    elif samples.layout == "station":
        values = station_table(samples)[2]  # (time, station, field): along time only
        tables, axes = [values[..., k] for k in range(len(samples.fields))], (0,)
    else:
        raise ValueError("noise is estimated on gridded and station data")
    out = np.inf
    for u in tables:
        spread = float(np.nanstd(u)) or 1.0
        for ax in axes or range(u.ndim):
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


def _centring(samples: Samples, degree: int, units: dict) -> dict[str, tuple[float, float]]:
    """Fields far from zero (|mean| > :data:`OFFSET_RATIO`·std, a temperature in kelvin)
    centred and scaled, ``(v - mean)/std``, when the library multiplies fields (degree >= 2):
    otherwise ``T*X`` is nearly collinear with ``X``.  The transform reports the result in
    the data's units."""
    if degree < 2:
        return {}
    out = {}
    paired = {f for pair in samples.complex.values() for f in pair}  # never centre ψ
    for j, f in enumerate(samples.fields):
        v = samples.values[:, j]
        m, s = float(np.nanmean(v)), float(np.nanstd(v))
        if f not in paired and f not in units and s > 0 and abs(m) > OFFSET_RATIO * s:
            out[f] = (1 / s, -m / s)
    return out
