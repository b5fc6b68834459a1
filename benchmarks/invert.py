"""Accuracy of ``discover invert`` on random Poisson problems: ``python -m benchmarks invert``.

Issue #21, item 1: ``-div(a grad u) = f`` with a coefficient ``a`` drawn at random
(:func:`discover.datasets.inverse.random_coefficient`: ``exp`` of three random low-frequency
cosines, max/min about 3) and a random smooth ``u``; ``f = -div(a grad u)`` exactly (a
manufactured solution, SymPy).  The data: ``u`` with Gaussian noise σ = 0.05·std(u), half of
its points dropped at random, ``f`` where the domain is, ``a`` on the boundary only.  Each
cell runs ``--draws`` draws (seeds ``--seed``, ``--seed + 1``, …; a draw changes the
coefficient, the solution, the points, the noise and the gaps) and reports the relative L2
error of ``a`` at least 0.1 from the boundary (median and worst) and the CPU seconds of the
inversion (this process, all threads).

Cells: ``1d`` (101 points), ``square`` (41² grid), ``scattered`` (1500 random points in the
square, a tenth on its boundary), ``polygon`` (41² grid on an L-shaped domain), ``3d``
(17³ grid).  ``--coupling`` and ``--form`` choose the method of
:func:`discover.invert.invert`.
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

#: cell -> (dimension, domain, layout, points per dimension or in all)
CELLS = {
    "1d": (1, "box", "grid", 101),
    "square": (2, "box", "grid", 41),
    "scattered": (2, "box", "scattered", 1500),
    "polygon": (2, "polygon", "grid", 41),
    "3d": (3, "box", "grid", 17),
}
#: the issue's targets (relative L2 error of ``a`` away from the boundary)
TARGETS = {"1d": 0.05, "square": 0.05, "scattered": 0.05, "polygon": 0.05, "3d": 0.10}
EQ = "-div(a*grad(u)) = f"


def run_one(cell: str, seed: int, settings: dict) -> dict:
    """One draw of ``cell``: the error of ``a`` and the CPU seconds of the inversion."""
    import torch
    from discover.datasets.inverse import coefficient_error, poisson_inverse

    from discover.invert import invert

    torch.set_num_threads(1)
    dim, domain, layout, n = CELLS[cell]
    ds = poisson_inverse(dim=dim, domain=domain, layout=layout, n=n, seed=seed)
    args = ", ".join("xyz"[:dim])
    c0, t0 = time.process_time(), time.perf_counter()
    inv = invert(EQ, ds, [f"a({args})"], seed=seed, **settings)
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    return {
        "cell": cell,
        "seed": seed,
        "error": coefficient_error(inv.fields["a"], ds),
        "cpu_s": cpu,
        "wall_s": wall,
        "spread": float(np.nanmean(inv.fields["a_std"].values)),
    }


def summary(rows: list[dict]) -> str:
    """A Markdown table: per cell the errors, their median and worst, the target, CPU s."""
    lines = [
        "| cell | draws | errors of `a` | median | worst | target | CPU s (median) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for cell in CELLS:
        rs = [r for r in rows if r["cell"] == cell]
        if not rs:
            continue
        errs = [r["error"] for r in rs]
        lines.append(
            f"| {cell} | {len(rs)} | {', '.join(f'{e:.1%}' for e in errs)} | "
            f"{np.median(errs):.1%} | {max(errs):.1%} | {TARGETS[cell]:.0%} | "
            f"{np.median([r['cpu_s'] for r in rs]):.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks invert", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--cells", default=",".join(CELLS), help="comma-separated cells")
    parser.add_argument("--draws", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1000, help="seed of the first draw")
    parser.add_argument("--coupling", default="joint", help="joint or fixed")
    parser.add_argument("--form", default="auto", help="auto, weak, strong or solve")
    parser.add_argument(
        "--smoothing", type=float, default=None, help="curvature prior (default: none)"
    )
    parser.add_argument("--ensemble", type=int, default=1)
    parser.add_argument("--steps", type=int, default=None, help="Adam steps (default: invert's)")
    parser.add_argument("--lbfgs-steps", type=int, default=None)
    parser.add_argument("--jobs", type=int, default=1, help="draws run in parallel processes")
    parser.add_argument("--out", type=Path, default=None, help="write the rows as JSON")
    ns = parser.parse_args(argv)
    cells = [c.strip() for c in ns.cells.split(",") if c.strip()]
    bad = [c for c in cells if c not in CELLS]
    if bad:
        parser.error(f"unknown cell '{bad[0]}'; valid cells: {', '.join(CELLS)}")
    settings: dict = {"coupling": ns.coupling, "form": ns.form, "ensemble": ns.ensemble}
    if ns.smoothing is not None:
        settings["smoothing"] = ns.smoothing
    if ns.steps is not None:
        settings["steps"] = ns.steps
    if ns.lbfgs_steps is not None:
        settings["lbfgs_steps"] = ns.lbfgs_steps
    jobs = [(c, ns.seed + k, settings) for c in cells for k in range(ns.draws)]
    rows = []
    if ns.jobs > 1:
        with ProcessPoolExecutor(ns.jobs) as pool:
            for row in pool.map(run_one, *zip(*jobs)):
                rows.append(row)
                print(json.dumps(row), flush=True)
    else:
        for job in jobs:
            rows.append(run_one(*job))
            print(json.dumps(rows[-1]), flush=True)
    print(f"noise σ = 0.05·std(u), half of the points missing; settings {settings}")
    print(summary(rows))
    if ns.out is not None:
        ns.out.write_text(json.dumps({"settings": settings, "rows": rows}, indent=2) + "\n")
    return 0
