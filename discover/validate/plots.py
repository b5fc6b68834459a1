"""Plots of a :class:`~discover.validate.Validation`: on a grid, data, solution and their
difference over the window with each model's error against lead time; at stations, time
series at a few stations with the error against lead time.  Units and long names come from
the data."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .baselines import BASELINES
from .outcome import HELD_OUT

if TYPE_CHECKING:
    from .outcome import Validation

__all__ = ["plot"]


def plot(v: Validation, path: str | Path | None = None):
    """The figure of ``v`` (grid, stations or scattered points), saved to ``path`` (PNG)
    when given."""
    import matplotlib

    if path is not None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    if v.samples.layout == "station":
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), constrained_layout=True)
        _station_series(v, axes[0])
        _station_leads(v, axes[1])
    elif v.samples.layout == "scattered":
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), constrained_layout=True)
        _scattered_points(v, axes[0])
        _station_leads(v, axes[1])
    else:
        fig, axes = plt.subplots(2, 2, figsize=(11, 8), constrained_layout=True)
        _grid_maps(v, [axes[0, 0], axes[0, 1], axes[1, 0]])
        _grid_leads(v, axes[1, 1])
    fig.suptitle(v.info["equations"][0], fontsize=10)
    if path is not None:
        fig.savefig(path, dpi=110)
        plt.close(fig)
    return fig


def _axis_label(v: Validation, sym: str) -> str:
    """``temperature [K]``: a symbol's long name (or data name) and unit."""
    s = v.samples
    name = s.long_names.get(sym) or s.names.get(sym, sym)
    unit = s.units.get(sym)
    return f"{name} [{unit}]" if unit else name


def _grid_maps(v: Validation, axes: list[Any]) -> None:
    """Data, solution and error: a (t, x) image over the window in 1-D, maps at the last
    held-out time in 2-D."""
    s = v.samples
    f = s.fields[0]
    space = [c for c in v.data[f].dims if c != "t"]
    data, sol = v.data[f], v.solution[f]
    err = sol - data
    vmin, vmax = float(data.min()), float(data.max())
    elim = float(np.nanmax(np.abs(err.values))) or 1.0
    if len(space) == 1:
        x, y, when = space[0], "t", "over the window"

        def pick(da):
            return da

    else:
        x, y = space[-1], space[0]
        last = float(data["t"].values[-1])
        when = f"at {_axis_label(v, 't').split(' [')[0]} = {last:g}"

        def pick(da):
            return da.sel(t=last)

    kw = {"x": x, "y": y}
    for ax, da in ((axes[0], data), (axes[1], sol)):
        pick(da).plot(ax=ax, vmin=vmin, vmax=vmax, cbar_kwargs={"label": _axis_label(v, f)}, **kw)
    pick(err).plot(
        ax=axes[2],
        cmap="RdBu_r",
        vmin=-elim,
        vmax=elim,
        cbar_kwargs={"label": f"solution − data [{s.units.get(f, '')}]"},
        **kw,
    )
    for ax in axes:
        ax.set_xlabel(_axis_label(v, x))
        ax.set_ylabel(_axis_label(v, y))
    axes[0].set_title(f"data {when}")
    axes[1].set_title(f"re-solved ({v.info['solver']}) {when}")
    axes[2].set_title(f"error {when}")


def _grid_leads(v: Validation, ax: Any) -> None:
    """Each model's RMSE against lead time, in the field's units."""
    s = v.samples
    f = s.fields[0]
    lead = np.asarray(v.per_time_rmse["t"]) - v.info["t_start"]
    for k in v.errors:
        style = "-o" if k == "equation" else BASELINES[k].style if k in BASELINES else "-"
        rmse = np.maximum(v.per_time_rmse[k], 1e-16)
        ax.semilogy(lead, rmse, style, label=v.label(k), markersize=3)
    t_unit = s.units.get("t")
    ax.set_xlabel(f"lead time [{t_unit}]" if t_unit else "lead time")
    ax.set_ylabel(f"RMSE [{s.units[f]}]" if s.units.get(f) else "RMSE")
    ax.set_title(f"held-out error (equation {v.ratio:.3g}× below persistence)")
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)


def _station_series(v: Validation, ax: Any) -> None:
    """Data (dots) and the re-solved equation (lines) at up to four stations, held-out
    ones first."""
    s = v.samples
    f = s.fields[0]
    name = s.names.get(f, f)
    unit = s.units.get(f, "")
    tunit = s.units.get("t") or s.time_unit or ""
    data, sol = v.data[name], v.solution[name]
    held = np.asarray(v.data["held_out"].values, bool)
    order = [*np.flatnonzero(held), *np.flatnonzero(~held)]
    order = [k for k in order if np.isfinite(sol.values[:, k]).any()][:4]
    t = v.data["t"].values
    for j, k in enumerate(order):
        where = ", ".join(f"{c} {v.data[c].values[k]:.4g}" for c in v.data.coords
                          if c not in ("t", "held_out"))  # fmt: skip
        tag = " (held out)" if held[k] else ""
        ax.plot(t, data.values[:, k], "o", color=f"C{j}", markersize=3)
        ax.plot(t, sol.values[:, k], "-", color=f"C{j}", label=f"{where}{tag}")
    ax.set_xlabel(f"t [{tunit}]" if tunit else "t")
    ax.set_ylabel(f"{name} [{unit}]" if unit else name)
    ax.set_title("stations: data (dots) and re-solved equation (lines)")
    ax.legend(fontsize=7)


def _scattered_points(v: Validation, ax: Any) -> None:
    """The re-solved equation against the held-out observations, coloured by time."""
    s = v.samples
    name = s.names.get(s.fields[0], s.fields[0])
    data, sol = v.data[name].values, v.solution[name].values
    dots = ax.scatter(data, sol, c=v.data["t"].values, s=6, cmap="viridis")
    lo, hi = float(np.nanmin(data)), float(np.nanmax(data))
    ax.plot([lo, hi], [lo, hi], "k-", lw=0.8)
    ax.set_xlabel(f"held-out {name}")
    ax.set_ylabel(f"re-solved {name}")
    ax.set_title("held-out observations: re-solved against measured")
    ax.figure.colorbar(dots, ax=ax, label="t")


def _station_leads(v: Validation, ax: Any) -> None:
    """Each model's RMSE against lead time, held-out stations dashed."""
    s = v.samples
    f = s.fields[0]
    unit = s.units.get(f, "")
    tunit = s.units.get("t") or s.time_unit or ""
    lead = np.asarray(v.per_time_rmse["t"]) - v.info["t_start"]
    for k in v.errors:
        style = "--" if k.endswith(HELD_OUT) else "-"
        ax.plot(lead, v.per_time_rmse[k], style, marker="o", markersize=3, label=v.label(k))
    ax.set_xlabel(f"lead time [{tunit}]" if tunit else "lead time")
    ax.set_ylabel(f"RMSE [{unit}]" if unit else "RMSE")
    ax.set_title("error against lead time")
    ax.legend(fontsize=7)
    ax.grid(True, alpha=0.3)
