"""Speed and accuracy of the neural solver on the re-solve that ``make demo`` validates.

``python -m benchmarks neural-solver [--repeats 3] [--threads 1] [--rows all|default|NAME,…]``

The generated Burgers field (``discover generate burgers``: the exact Cole–Hopf solution,
256 × 101, no noise), ``find --holdout last:20%``, then the discovered equation re-solved
from the data's state at the hold-out's start over the hold-out window
(:func:`discover.validate.validate` with ``solver="neural"``).  The error is validate's: the
relative L2 error against the data at the held-out times.  Each row is solved ``--repeats``
times with seeds 0, 1, … (the network's weights and the collocation points change; the
data do not); the table gives the median and the worst error, and the median wall and CPU
seconds of the solve (CPU: this process's, all threads).

Rows are cumulative changes from the solver as it was before issue #24 (``before``) to
today's default (``default``), then variants tried on top of the default and not kept.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch
from discover.datasets import make_dataset

import discover
from discover.validate import validate

__all__ = ["ROWS", "main", "run_row"]

_BEFORE = {
    "lift": "network",
    "precision": "float64",
    "n_points": 2048,
    "adam_steps": 1000,
    "lbfgs_steps": 2000,
}
_FAST = {"n_points": 1024, "adam_steps": 500, "lbfgs_steps": 500}

#: name -> (what changed, solver options); ``{}`` is today's default
ROWS: dict[str, tuple[str, dict[str, Any]]] = {
    "before": (
        "before #24: G a fitted network, float64, 2048 points, 1000 Adam + 2000 L-BFGS",
        _BEFORE,
    ),
    "trig-lift": (
        "+ G the trigonometric interpolant of the grid's start values",
        {**_BEFORE, "lift": "auto"},
    ),
    "fewer-steps": ("+ 1024 points, 500 Adam + 500 L-BFGS", {**_BEFORE, "lift": "auto", **_FAST}),
    "default": ("+ N trained in float32, evaluated in float64 (today's default)", {}),
    "causal": ("default + causal weights in time (ε = 1)", {"causal": 1.0}),
    "residual-resampling": ("default + points drawn by their residual", {"resampling": "residual"}),
    "windows-2": (
        "default, 2 time-marching windows (steps halved, warm start)",
        {"windows": 2, "adam_steps": 250, "lbfgs_steps": 250},
    ),
    "windows-2-full": (
        "default, 2 time-marching windows (full steps each, warm start)",
        {"windows": 2},
    ),
    "fewest-steps": (
        "default with 300 Adam + 200 L-BFGS",
        {"adam_steps": 300, "lbfgs_steps": 200},
    ),
}


def burgers_case() -> tuple[Any, Any]:
    """The generated Burgers data and what ``find --holdout last:20%`` made of it."""
    data = make_dataset("burgers")
    return data, discover.find(data, "u", holdout="last:20%")


def run_row(name: str, data, result, *, repeats: int, threads: int) -> dict[str, Any]:
    """One row: the solve repeated with seeds ``0 … repeats-1``."""
    label, options = ROWS[name]
    errors, walls, cpus = [], [], []
    for seed in range(repeats):
        torch.set_num_threads(threads)
        cpu = time.process_time()
        v = validate(
            result,
            data,
            solver="neural",
            solver_options={**options, "seed": seed, "num_threads": threads},
        )
        cpus.append(time.process_time() - cpu)
        errors.append(float(v.errors["equation"]))
        walls.append(float(v.info["seconds"]))
    return {
        "row": name,
        "change": label,
        "options": options,
        "errors": errors,
        "error_median": statistics.median(errors),
        "error_max": max(errors),
        "wall_median": statistics.median(walls),
        "cpu_median": statistics.median(cpus),
        "walls": walls,
        "threads": threads,
    }


def markdown(rows: list[dict[str, Any]]) -> str:
    head = (
        "| change | rel. L2 median | worst | wall s (median) | CPU s (median) |\n"
        "|---|---|---|---|---|"
    )
    lines = [
        f"| {r['change']} | {r['error_median']:.2g} | {r['error_max']:.2g} | "
        f"{r['wall_median']:.1f} | {r['cpu_median']:.1f} |"
        for r in rows
    ]
    return "\n".join([head, *lines])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks neural-solver", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rows", default="all", help="all, or names: " + ", ".join(ROWS))
    parser.add_argument("--out", type=Path, help="also write the rows as JSON lines here")
    args = parser.parse_args(argv)
    names = list(ROWS) if args.rows == "all" else args.rows.split(",")
    unknown = [n for n in names if n not in ROWS]
    if unknown:
        parser.error(f"unknown rows {unknown}; valid: {', '.join(ROWS)}")
    data, result = burgers_case()
    print(f"equation: {result.equations[0]}", flush=True)
    rows = []
    for name in names:
        rows.append(run_row(name, data, result, repeats=args.repeats, threads=args.threads))
        print(json.dumps(rows[-1]), flush=True)
        if args.out is not None:
            with args.out.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(rows[-1]) + "\n")
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
