"""The methods compared, each run on one noisy dataset in the calling process.

Every runner returns the equation it found as ``{term: coefficient}`` in this project's
term names (``u*u_x``, ``u_xx``), plus notes.  :func:`measure` times a call and records the
peak resident memory above the level at its start (Linux: ``/proc/self/clear_refs``
resets the high-water mark, so the figure holds for torch's and NumPy's allocations alike).

pysindy is given every advantage we can name: the same library as ours (polynomials of
degree 2 — 3 for the cubic NLS — times derivatives up to the case's order, with a
constant; a complex field as its real pair, since pysindy has no complex library), periodic
derivatives where the data are periodic, and STLSQ's threshold chosen *in hindsight* — the best of a
grid against the true equation, which no user can do — reported as such.
"""

from __future__ import annotations

import re
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import sympy as sp
import xarray as xr

from discover.parsing import parse_expr

__all__ = ["METHODS", "measure", "score"]

#: STLSQ thresholds tried for pysindy (the best one is kept)
THRESHOLDS = np.geomspace(1e-3, 1e2, 21)


def _status_kib(key: str) -> int | None:
    """A line of ``/proc/self/status`` in KiB: ``VmRSS`` (resident now) or ``VmHWM`` (peak)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    try:  # give freed heap pages back first, or reused pages would hide new allocations
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def measure(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """``(fn(), wall seconds, peak MiB above the resident memory at the start)``.

    The memory is NaN where the platform cannot reset its high-water mark.
    """
    ok = _reset_peak()
    base = (_status_kib("VmRSS") or 0) if ok else 0
    t0 = time.perf_counter()
    out = fn()
    wall = time.perf_counter() - t0
    peak = _status_kib("VmHWM") if ok else None
    return out, wall, (max(peak - base, 0) / 1024 if peak is not None else float("nan"))


def canonical(term: str) -> str:
    """One spelling per term: ``'u_x*u'`` and ``'u*u_x'`` both give ``'u*u_x'``; a term of
    one of several fields keeps its ``"field: "`` prefix."""
    field, sep, rest = term.rpartition(": ")
    return field + sep + sp.sstr(parse_expr(rest))


def score(found: dict[str, float], truth: dict[str, float]) -> dict[str, Any]:
    """Right terms (the exact set) and the worst relative error over the true terms.

    A true term the method missed counts as a 100% error; extra terms do not change the
    error but make the terms wrong.
    """
    found = {canonical(k): v for k, v in found.items() if v}
    truth = {canonical(k): v for k, v in truth.items()}
    err = max(abs(found.get(k, 0.0) / v - 1) for k, v in truth.items())
    return {
        "right": set(found) == set(truth),
        "max_error": float(err),
        "extra": sorted(set(found) - set(truth)),
        "missed": sorted(set(truth) - set(found)),
    }


# ----------------------------------------------------------------------------- discover
def _fields(ds: xr.Dataset) -> str | list[str]:
    """The field(s) of a case: its data variable(s) (``u``; ``u``, ``v``; a complex ``u``)."""
    names = list(ds.data_vars)
    return names[0] if len(names) == 1 else names


def _found(res) -> dict[str, Any]:
    """``{term: coefficient}``; for several fields (or a complex field's real pair)
    ``{"field: term": coefficient}``."""
    if len(res.equations) == 1:
        return res.equations[0].coefficients
    return {f"{e.field}: {t}": c for e in res.equations for t, c in e.coefficients.items()}


def _note(res) -> str:
    ce = getattr(res, "complex_equations", None)
    return f"method {res.settings.get('method')}" + (f"; {ce[0]}" if ce else "")


def discover_default(ds: xr.Dataset, max_order: int, degree: int = 2) -> dict[str, Any]:
    """``discover.find`` with its defaults (the CLI's ``discover find DATA --var u``)."""
    import discover

    res = discover.find(ds, _fields(ds), max_order=max_order, degree=degree)
    return {"found": _found(res), "note": _note(res)}


def discover_fd(ds: xr.Dataset, max_order: int, degree: int = 2) -> dict[str, Any]:
    """``discover.find(..., method="fd")``: finite differences, accuracy chosen by the data."""
    import discover

    res = discover.find(ds, _fields(ds), max_order=max_order, method="fd", degree=degree)
    return {"found": _found(res), "note": _note(res) if res.complex_equations else ""}


def discover_weak(ds: xr.Dataset, max_order: int, degree: int = 2) -> dict[str, Any]:
    """``discover.find(..., method="weak")``: the weak form on the data's own grid (what
    ``auto`` takes on noisy uniform grids; here on clean data too)."""
    import discover

    res = discover.find(ds, _fields(ds), max_order=max_order, method="weak", degree=degree)
    return {"found": _found(res), "note": _note(res) if res.complex_equations else ""}


def discover_weak_gls(ds: xr.Dataset, max_order: int, degree: int = 2) -> dict[str, Any]:
    """``discover.find(..., method="weak-gls")``: the weak form with the chosen model refitted
    by generalized least squares (:mod:`discover.weakgls`)."""
    import discover

    res = discover.find(ds, _fields(ds), max_order=max_order, method="weak-gls", degree=degree)
    return {"found": _found(res), "note": _note(res) if res.complex_equations else ""}


# ----------------------------------------------------------------------------- pysindy
def _pysindy_name(name: str, coords: list[str], fields: dict[str, str] | None = None) -> str:
    """pysindy's feature name (``uu_1``, ``u^2u_11``, ``u_12``; with several fields
    ``a^2 ba_11``) -> ours (``u*u_x`` ...); ``fields`` maps pysindy's one-letter feature names
    to our field symbols (default ``{"u": "u"}``)."""
    fields = fields or {"u": "u"}
    if name == "1":
        return "1"
    expr = sp.Integer(1)
    letters = "".join(fields)
    for f, deriv, power in re.findall(rf"([{letters}])(?:_(\d+)|\^(\d+))?", name):
        if deriv:
            suffix = "".join(sorted(coords[int(d) - 1] for d in deriv))
            expr *= sp.Symbol(f"{fields[f]}_{suffix}")
        else:
            expr *= sp.Symbol(fields[f]) ** int(power or 1)
    return sp.sstr(expr)


def _pysindy_fields(ds: xr.Dataset, coords: list[str]) -> tuple[np.ndarray, dict[str, str]]:
    """The case's fields as pysindy's array ``(x…, t, n_fields)`` and one-letter feature
    name -> field symbol.  pysindy has no complex library: a complex field goes in as its
    real pair (``u_re``, ``u_im``), as a user would have to give it."""
    arrays, names = [], []
    for f in ds.data_vars:
        v = ds[f].transpose(*coords, "t").values
        if np.iscomplexobj(v):
            arrays += [v.real, v.imag]
            names += [f"{f}_re", f"{f}_im"]
        else:
            arrays.append(v)
            names.append(f)
    letters = ["u"] if names == ["u"] else [chr(ord("a") + i) for i in range(len(names))]
    return np.stack(arrays, axis=-1), dict(zip(letters, names))


def _recording_stlsq(threshold: float):
    """pysindy's STLSQ that keeps the library matrix it was fitted on, for the other thresholds."""
    import pysindy as ps

    class RecordingSTLSQ(ps.STLSQ):
        def fit(self, x_, y, *args, **kwargs):
            self.data_ = (x_, y)
            return super().fit(x_, y, *args, **kwargs)

    return RecordingSTLSQ(threshold=threshold, alpha=1e-5, normalize_columns=True)


def _pysindy(
    ds: xr.Dataset, max_order: int, truth: dict[str, float], weak: bool, degree: int = 2
) -> dict:
    import pysindy as ps

    coords = [c for c in ds[next(iter(ds.data_vars))].dims if c != "t"]
    u, fields = _pysindy_fields(ds, coords)
    t = ds["t"].values
    axes = [ds[c].values for c in coords]
    periodic = bool(ds.attrs.get("periodic", 0))
    poly = ps.PolynomialLibrary(degree=degree, include_bias=False)
    if weak:
        grid = np.stack(np.meshgrid(*axes, t, indexing="ij"), axis=-1)
        lib = ps.WeakPDELibrary(
            function_library=poly,
            derivative_order=max_order,
            spatiotemporal_grid=grid,
            include_bias=True,
            K=500,
            differentiation_method=ps.FiniteDifference,
            diff_kwargs={"is_uniform": True, "periodic": periodic},
        )
    else:
        grid = axes[0] if len(axes) == 1 else np.stack(np.meshgrid(*axes, indexing="ij"), -1)
        lib = ps.PDELibrary(
            function_library=poly,
            derivative_order=max_order,
            spatial_grid=grid,
            include_bias=True,
            differentiation_method=ps.FiniteDifference,
            diff_kwargs={"is_uniform": True, "periodic": periodic},
        )
    recording = _recording_stlsq(float(THRESHOLDS[0]))
    model = ps.SINDy(optimizer=recording, feature_library=lib)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(u, t=t, feature_names=list(fields))
        names = [_pysindy_name(n, coords, fields) for n in model.get_feature_names()]
        theta, target = recording.data_
        best = None
        for thr in THRESHOLDS:
            opt = ps.STLSQ(threshold=float(thr), alpha=1e-5, normalize_columns=True)
            opt.fit(theta, target)
            found = {}
            for f, row in zip(fields.values(), opt.coef_, strict=False):
                prefix = "" if len(fields) == 1 else f"{f}: "
                found.update({prefix + n: float(c) for n, c in zip(names, row, strict=True) if c})
            s = score(found, truth)
            key = (s["right"], -s["max_error"])
            if best is None or key > best[0]:
                best = (key, found, float(thr))
    return {"found": best[1], "note": f"threshold {best[2]:.3g} (best of {len(THRESHOLDS)})"}


def pysindy_fd(
    ds: xr.Dataset, max_order: int, truth: dict[str, float], degree: int = 2
) -> dict[str, Any]:
    """pysindy's PDE-FIND: ``PDELibrary`` (finite differences) + STLSQ."""
    return _pysindy(ds, max_order, truth, weak=False, degree=degree)


def pysindy_weak(
    ds: xr.Dataset, max_order: int, truth: dict[str, float], degree: int = 2
) -> dict[str, Any]:
    """pysindy's weak form: ``WeakPDELibrary`` (K = 500 subdomains) + STLSQ."""
    return _pysindy(ds, max_order, truth, weak=True, degree=degree)


#: method name -> (label, runner, needs the truth (threshold in hindsight), gridded only)
METHODS: dict[str, tuple[str, Callable[..., dict], bool, bool]] = {
    "discover": ("discover find (default)", discover_default, False, False),
    "discover_fd": ("discover find --method fd", discover_fd, False, True),
    "discover_weak": ("discover find --method weak", discover_weak, False, True),
    "discover_weak_gls": ("discover find --method weak-gls", discover_weak_gls, False, True),
    "pysindy_fd": ("pysindy PDE-FIND (FD + STLSQ)", pysindy_fd, True, True),
    "pysindy_weak": ("pysindy weak form (WeakPDELibrary + STLSQ)", pysindy_weak, True, True),
}
