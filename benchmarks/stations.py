"""Station data with hidden coefficients: ``python -m benchmarks stations``.

Issue #19's station check: 60 random stations, 10% of the readings missing, 5% noise.  Each
draw of each 1-D equation (advection–diffusion, Burgers, Fisher–KPP) has its own coefficients
(the ranges of :mod:`benchmarks.coverage`), its own initial state (the generator's seed) and
its own station layout, missing readings and noise (``make_dataset``'s seed).  The noise is the
station generator's convention, σ = p·std(u) (PDE-FIND's).  ``discover.find`` runs with its
defaults (the neural interpolant, as for all station data).  Per case: exactly the true terms
(yes/no), the largest relative coefficient error over the true terms (a missed term counts
100%), the missed and extra terms and the CPU seconds; per equation the count of cases right
within 10%.  Writes ``stations.csv`` and ``stations.md`` to ``--out``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from .coverage import _coefficients, _init_worker
from .report import write_csv

__all__ = ["EQUATIONS", "draw_case", "main", "run_case"]

#: the equations drawn from
EQUATIONS = ("advection_diffusion", "burgers", "fisher_kpp")
#: the check's tolerance on every true coefficient
TOLERANCE = 0.10


def draw_case(name: str, seed: int, index: int) -> dict[str, Any]:
    """Draw ``index`` of equation ``name`` under base seed ``seed``: coefficients, the
    initial-state seed and the layout seed (stations, missing readings, noise)."""
    rng = np.random.default_rng([seed, index, EQUATIONS.index(name), 1919])
    return {
        "pde": name,
        "index": index,
        "params": _coefficients(name, rng),
        "data_seed": int(rng.integers(1000)),
        "layout_seed": int(rng.integers(2**31 - 8000)),
    }


def station_dataset(case: dict[str, Any], *, n_stations: int = 60, missing: float = 0.1,
                    noise: float = 0.05):  # fmt: skip
    """The case's station dataset and its true coefficients."""
    from discover.datasets import generate, make_dataset

    problem = generate(case["pde"], seed=case["data_seed"], **case["params"])
    ds = make_dataset(
        problem, layout="station", n_stations=n_stations, missing=missing, noise=noise,
        seed=case["layout_seed"],
    )  # fmt: skip
    return ds, dict(problem.coefficients)


def score(found: dict[str, float], truth: dict[str, float]) -> dict[str, Any]:
    """Right terms, the largest relative error over the true terms, missed and extra terms."""
    errors = [abs(found[k] / v - 1) if k in found else 1.0 for k, v in truth.items()]
    extra = sorted(set(found) - set(truth))
    missed = sorted(set(truth) - set(found))
    right = not extra and not missed
    return {
        "right_terms": right,
        "max_error": float(max(errors)),
        "ok": bool(right and max(errors) < TOLERANCE),
        "missed": " ".join(missed),
        "extra": " ".join(extra),
    }


def run_case(case: dict[str, Any], find_options: dict | None = None) -> dict[str, Any]:
    """``discover.find`` with its defaults on one station case: one row."""
    import discover

    ds, truth = station_dataset(case)
    t0, c0 = time.perf_counter(), time.process_time()
    d = discover.find(ds, "u", **(find_options or {}))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    eq = d.equations[0]
    found = {t.term: float(t.coef) for t in eq.terms}
    interp = d.diagnostics["u"].get("interpolant", {})
    noise = d.settings.get("noise_estimate")
    return {
        "pde": case["pde"],
        "draw": case["index"],
        "params": " ".join(f"{k}={v:.4g}" for k, v in case["params"].items()),
        "data_seed": case["data_seed"],
        "layout_seed": case["layout_seed"],
        **score(found, truth),
        "equation": str(eq),
        "method": d.settings.get("method"),
        "noise_estimate": np.nan if noise is None else float(noise),
        "val_rmse": float(max(interp.get("relative_val_rmse", [np.nan]))),
        "width": interp.get("network", {}).get("width"),
        "wall_s": wall,
        "cpu_s": cpu,
    }


def markdown(rows: list[dict], head: str) -> str:
    """The per-case table and the per-equation summary."""
    lines = [head, "", "| equation | draw | right terms | max error | missed | extra | CPU s |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in rows:
        lines.append(
            f"| {r['pde']} | {r['draw']} | {'yes' if _true(r['right_terms']) else 'no'} "
            f"| {100 * float(r['max_error']):.1f}% | {r['missed'] or '–'} | {r['extra'] or '–'} "
            f"| {float(r['cpu_s']):.0f} |"
        )
    lines += ["", f"| equation | right within {TOLERANCE:.0%} | median error | worst error "
              "| median CPU s |", "|---|---|---|---|---|"]  # fmt: skip
    for name in dict.fromkeys(r["pde"] for r in rows):
        sel = [r for r in rows if r["pde"] == name]
        err = [float(r["max_error"]) for r in sel]
        ok = sum(_true(r["ok"]) for r in sel)
        lines.append(
            f"| {name} | **{ok}/{len(sel)}** | {100 * np.median(err):.1f}% "
            f"| {100 * max(err):.1f}% | {np.median([float(r['cpu_s']) for r in sel]):.0f} |"
        )
    return "\n".join(lines) + "\n"


def _true(v: Any) -> bool:
    return v is True or v == "True"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks stations", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--draws", type=int, default=10, help="draws per equation")
    parser.add_argument("--seed", type=int, default=0, help="base seed of the draws")
    parser.add_argument("--equations", nargs="+", choices=EQUATIONS, default=list(EQUATIONS))
    parser.add_argument("--jobs", type=int, default=2, help="worker processes of one thread")
    parser.add_argument("--out", type=Path, default=Path("build/stations"))
    args = parser.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    cases = [draw_case(n, args.seed, i) for n in args.equations for i in range(args.draws)]
    args.out.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    t0 = time.perf_counter()
    with ProcessPoolExecutor(
        args.jobs, mp_context=get_context("spawn"), initializer=_init_worker
    ) as pool:
        futures = [pool.submit(run_case, c) for c in cases]
        for i, fut in enumerate(as_completed(futures), 1):
            r = fut.result()
            rows.append(r)
            print(
                f"[{i}/{len(cases)} {time.perf_counter() - t0:5.0f} s] {r['pde']} draw "
                f"{r['draw']}: {'ok' if r['ok'] else 'MISS'} {100 * r['max_error']:.1f}% "
                f"{r['equation']}",
                file=sys.stderr,
            )
    rows.sort(key=lambda r: (EQUATIONS.index(r["pde"]), r["draw"]))
    write_csv(rows, args.out / "stations.csv")
    head = (
        f"`python -m benchmarks stations --draws {args.draws} --seed {args.seed}`: 60 random "
        f"stations, 10% missing, 5% noise (σ = p·std u), find's defaults; "
        f"{time.perf_counter() - t0:.0f} s in {args.jobs} process(es)"
    )
    text = markdown(rows, head)
    (args.out / "stations.md").write_text(text)
    print(text)
    return 0
