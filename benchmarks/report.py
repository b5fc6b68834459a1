"""Medians over seeds, the markdown table, the CSV and the plot of error against noise."""

from __future__ import annotations

import csv
import math
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

from .cases import CASES
from .methods import METHODS

__all__ = ["append_csv", "cost_table", "highest_noise", "markdown", "plot", "read_csv", "summarize"]

FIELDS = (
    "dataset",
    "noise",
    "seed",
    "method",
    "convention",
    "right",
    "max_error",
    "wall_s",
    "peak_mib",
    "found",
    "extra",
    "missed",
    "note",
    "failed",
)


def append_csv(rows: list[dict[str, Any]], path: Path) -> None:
    """Add lines, one per (dataset, noise, seed, method), to ``path`` (header when new)."""
    new = not path.exists()
    if not new:  # drop a line cut short by a stopped run
        text = path.read_bytes()
        if text and not text.endswith(b"\n"):
            path.write_bytes(text[: text.rfind(b"\n") + 1])
    with open(path, "a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS, extrasaction="ignore")
        if new:
            w.writeheader()
        for r in rows:
            w.writerow({k: (" ".join(v) if isinstance(v, list) else v) for k, v in r.items()})


def write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    """Write ``rows`` to ``path`` (columns: the first row's keys), replacing the file."""
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def summarize(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Medians over seeds per (dataset, noise, method); failed runs count as wrong."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        groups[(r["dataset"], r["noise"], r["method"])].append(r)
    out = []
    for (dataset, noise, method), rs in groups.items():
        ok = [r for r in rs if not r.get("failed")]
        out.append(
            {
                "dataset": dataset,
                "noise": noise,
                "method": method,
                "runs": len(rs),
                "right": sum(bool(r["right"]) for r in ok),
                "max_error": statistics.median(r["max_error"] for r in ok) if ok else math.nan,
                "wall_s": statistics.median(r["wall_s"] for r in ok) if ok else math.nan,
                "peak_mib": statistics.median(r["peak_mib"] for r in ok) if ok else math.nan,
                "failed": len(rs) - len(ok),
            }
        )
    order = {name: i for i, name in enumerate(CASES)}
    morder = {name: i for i, name in enumerate(METHODS)}
    out.sort(key=lambda s: (order[s["dataset"]], s["noise"], morder[s["method"]]))
    return out


def highest_noise(
    summary: list[dict[str, Any]],
) -> dict[tuple[str, str], tuple[float | None, list[float]]]:
    """Per (dataset, method): the highest noise up to which most seeds give the right terms
    at *every* level (None where clean data already fails), and the higher levels where
    they happen to be right again."""
    levels: dict[tuple[str, str], list[tuple[float, bool]]] = defaultdict(list)
    for s in summary:
        levels[(s["dataset"], s["method"])].append((s["noise"], 2 * s["right"] > s["runs"]))
    out: dict[tuple[str, str], tuple[float | None, list[float]]] = {}
    for key, seq in levels.items():
        seq.sort()
        best, k = None, 0
        while k < len(seq) and seq[k][1]:
            best = seq[k][0]
            k += 1
        out[key] = (best, [p for p, ok in seq[k:] if ok])
    return out


def read_csv(path: Path) -> list[dict[str, Any]]:
    """The rows :func:`append_csv` wrote, with their types."""
    rows = []
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            if r.get("failed") is None:  # a line cut short by a stopped run
                continue
            r["noise"] = float(r["noise"])
            r["seed"] = int(r["seed"])
            r["right"] = r["right"] == "True"
            for k in ("max_error", "wall_s", "peak_mib"):
                r[k] = float(r[k])
            rows.append(r)
    return rows


def _pct(p: float) -> str:
    return f"{100 * p:.3g}%"


def _cell(s: dict[str, Any] | None) -> str:
    if s is None:
        return "–"
    if s["failed"] == s["runs"]:
        return "failed"
    err = s["max_error"]
    err_txt = "≥100%" if err >= 1 else _pct(err)
    mark = "**" if 2 * s["right"] > s["runs"] else ""
    return f"{mark}{s['right']}/{s['runs']}{mark} · {err_txt} · {s['wall_s']:.3g} s"


def markdown(summary: list[dict[str, Any]], methods: list[str]) -> str:
    """The table (one row per dataset and noise level) and the highest-noise table."""
    by = {(s["dataset"], s["noise"], s["method"]): s for s in summary}
    datasets = list(dict.fromkeys(s["dataset"] for s in summary))
    head = ["dataset", "noise", *(METHODS[m][0] for m in methods)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for d in datasets:
        levels = sorted({s["noise"] for s in summary if s["dataset"] == d})
        for i, p in enumerate(levels):
            first = CASES[d].label if i == 0 else ""
            cells = [_cell(by.get((d, p, m))) for m in methods]
            if not CASES[d].gridded:
                cells = [
                    c if c != "–" else "no entry (needs a grid)" if m.startswith("pysindy") else c
                    for c, m in zip(cells, methods, strict=True)
                ]
            lines.append(f"| {first} | {_pct(p)} | " + " | ".join(cells) + " |")
    best = highest_noise(summary)
    lines += [
        "",
        "Highest noise up to which each method finds the right terms at every level (in most "
        "seeds); higher levels where it is right again in brackets:",
        "",
        "| dataset | " + " | ".join(METHODS[m][0] for m in methods) + " |",
        "|" + "---|" * (len(methods) + 1),
    ]
    for d in datasets:
        cells = []
        for m in methods:
            if (d, m) not in best:
                cells.append("no entry" if m.startswith("pysindy") else "–")
                continue
            b, again = best[(d, m)]
            cell = "none" if b is None else _pct(b)
            if again:
                cell += " (" + ", ".join(_pct(p) for p in again) + ")"
            cells.append(cell)
        lines.append(f"| {CASES[d].label} | " + " | ".join(cells) + " |")
    lines += ["", *cost_table(summary, methods)]
    return "\n".join(lines)


def cost_table(summary: list[dict[str, Any]], methods: list[str]) -> list[str]:
    """Median wall time and peak memory of each method over all its runs on grids, and
    the ratio of its median time to pysindy PDE-FIND's on the same runs."""
    grids = [s for s in summary if CASES[s["dataset"]].gridded and not s["failed"]]
    ref = {(s["dataset"], s["noise"]): s["wall_s"] for s in grids if s["method"] == "pysindy_fd"}
    lines = [
        "Cost on the gridded datasets (medians over every dataset and noise level):",
        "",
        "| method | wall time | peak memory above the start | time / pysindy PDE-FIND's |",
        "|---|---|---|---|",
    ]
    for m in methods:
        ss = [s for s in grids if s["method"] == m]
        if not ss:
            continue
        ratios = [s["wall_s"] / ref[k] for s in ss if (k := (s["dataset"], s["noise"])) in ref]
        ratio = f"{statistics.median(ratios):.3g}×" if ratios else "–"
        lines.append(
            f"| {METHODS[m][0]} | {statistics.median(s['wall_s'] for s in ss):.3g} s | "
            f"{statistics.median(s['peak_mib'] for s in ss):.3g} MiB | {ratio} |"
        )
    return lines


def plot(summary: list[dict[str, Any]], methods: list[str], path: Path) -> None:
    """Median max. coefficient error against noise, one panel per dataset, a line per
    method; filled markers where most seeds give the right terms."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = list(dict.fromkeys(s["dataset"] for s in summary))
    ncol = min(3, len(datasets))
    nrow = math.ceil(len(datasets) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.4 * nrow), squeeze=False)
    for ax, d in zip(axes.flat, datasets, strict=False):
        for j, m in enumerate(methods):
            ss = [s for s in summary if s["dataset"] == d and s["method"] == m]
            if not ss:
                continue
            xs = [max(s["noise"], 1e-3) for s in ss]
            ys = [min(max(s["max_error"], 1e-5), 1.0) for s in ss]
            ax.plot(xs, ys, "-", color=f"C{j}", label=METHODS[m][0])
            for x, y, s in zip(xs, ys, ss, strict=True):
                right = 2 * s["right"] > s["runs"]
                ax.plot(x, y, "o", color=f"C{j}", mfc=f"C{j}" if right else "white")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(CASES[d].label, fontsize=9)
        ax.set_xlabel("noise σ / std(u) or rms(u), as the run says  (0 drawn at 0.1%)")
        ax.set_ylabel("max. relative coefficient error")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(datasets) :]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(methods), fontsize=8)
    fig.suptitle("median over seeds; filled: right terms in most seeds; errors ≥ 100% drawn at 1")
    fig.tight_layout(rect=(0, 0.05, 1, 0.96))
    fig.savefig(path, dpi=110)
    plt.close(fig)
