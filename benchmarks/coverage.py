"""Coverage of the 95% intervals over hidden random cases: ``python -m benchmarks coverage``.

Each case is a 1-D PDE drawn at random — advection–diffusion, Burgers, KdV, Fisher–KPP or
Kuramoto–Sivashinsky — with random coefficients, a random initial state (the generator's
seed), a random grid (``nx``, ``nt``) and Gaussian noise of standard deviation
``σ = p·rms(u)`` (weak SINDy's convention) with its own seed.  ``discover.find`` runs with its
defaults (``max_order=4`` for KS, as the README says it needs) and every true term is scored:

* *covered*: the term was found and its reported 95% interval holds the true coefficient (a
  missed term counts as not covered);
* *inclusion*: its bootstrap inclusion probability (0 when missed).

The cases come from :func:`draw_case` with a base seed (``--seed``); nothing about them is
known to the method.  Writes ``coverage.csv`` (one row per true term) and ``coverage.md``
to ``--out`` and prints, per noise level, the coverage and the inclusion.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from .report import write_csv

__all__ = ["PDES", "draw_case", "main", "run_case", "summarize"]

#: the PDEs drawn from, with the library's highest order each needs
PDES: dict[str, int] = {
    "advection_diffusion": 3,
    "burgers": 3,
    "kdv": 3,
    "fisher_kpp": 3,
    "kuramoto_sivashinsky": 4,
}


def _coefficients(name: str, rng: np.random.Generator) -> dict[str, float]:
    """Random coefficients of generator ``name`` (ranges where its solutions stay sound)."""
    sign = float(rng.choice([-1.0, 1.0]))
    if name == "advection_diffusion":
        return {"velocity": sign * rng.uniform(0.2, 2.0), "diffusivity": rng.uniform(0.01, 0.2)}
    if name == "burgers":
        return {"advection": sign * rng.uniform(0.3, 3.0), "viscosity": rng.uniform(0.03, 0.3)}
    if name == "kdv":
        return {
            "nonlinear": sign * rng.uniform(1.0, 8.0),
            "dispersion": float(rng.choice([-1.0, 1.0])) * rng.uniform(0.2, 2.0),
        }
    if name == "fisher_kpp":
        return {
            "diffusivity": rng.uniform(0.02, 0.5),
            "growth": rng.uniform(0.3, 2.0),
            "saturation": -rng.uniform(0.3, 2.0),
        }
    if name == "kuramoto_sivashinsky":
        keys = ("advection", "antidiffusion", "hyperdiffusion")
        return {k: -rng.uniform(0.7, 1.3) for k in keys} | {"t_end": 150.0}
    raise KeyError(name)


def draw_case(seed: int, index: int) -> dict[str, Any]:
    """Case ``index`` of the draw ``seed``: PDE, coefficients, data seed and grid size."""
    rng = np.random.default_rng([seed, index, 19])
    start = int(np.random.default_rng([seed, 19]).integers(len(PDES)))
    name = list(PDES)[(start + index) % len(PDES)]  # each PDE in turn, all else at random
    params = _coefficients(name, rng)
    nx = int(rng.integers(160, 321))
    nt = int(rng.integers(101, 302))
    return {
        "index": index,
        "pde": name,
        "params": params,
        "data_seed": int(rng.integers(1000)),
        "noise_seed": int(rng.integers(2**31)),
        "nx": nx,
        "nt": nt,
        "max_order": PDES[name],
    }


def noisy_dataset(case: dict[str, Any], p: float):
    """The case's clean field with noise ``σ = p·rms(u)``, and its true coefficients."""
    from discover.datasets import generate, make_dataset

    problem = generate(case["pde"], seed=case["data_seed"], **case["params"])
    ds = make_dataset(problem, nx=case["nx"], nt=case["nt"])
    u = ds["u"].values
    rng = np.random.default_rng([case["noise_seed"], round(1000 * p)])
    ds["u"].values = u + p * np.sqrt(np.mean(u**2)) * rng.standard_normal(u.shape)
    return ds, dict(problem.coefficients)


def run_case(case: dict[str, Any], p: float, find_options: dict | None = None) -> list[dict]:
    """``discover.find`` with its defaults on one noisy case: one row per true term."""
    import discover

    ds, truth = noisy_dataset(case, p)
    t0 = time.perf_counter()
    c0 = time.process_time()
    d = discover.find(ds, "u", max_order=case["max_order"], **(find_options or {}))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    found = {t.term: t for t in d.equations[0].terms}
    extra = sorted(set(found) - set(truth))
    parts = d.diagnostics["u"]["uncertainty"]
    rows = []
    for term, true in truth.items():
        t = found.get(term)
        lo, hi = t.ci if t is not None and t.ci else (np.nan, np.nan)
        se = {
            k: parts.get(key, {}).get(term, np.nan)
            for k, key in (("se_refit", "se_refit"), ("se_selection", "se_selection"),
                           ("se_box", "se_discretization"), ("se_noise", "se_noise_bias"))
        }  # fmt: skip
        rows.append(
            {
                "noise": p,
                "case": case["index"],
                "pde": case["pde"],
                "nx": case["nx"],
                "nt": case["nt"],
                "term": term,
                "true": true,
                "coef": t.coef if t is not None else 0.0,
                "lo": lo,
                "hi": hi,
                "covered": bool(t is not None and lo <= true <= hi),
                "inclusion": (t.inclusion or 0.0) if t is not None else 0.0,
                **se,
                "right_terms": not extra and set(found) == set(truth),
                "extra": " ".join(extra),
                "method": d.settings.get("method"),
                "wall_s": wall,
                "cpu_s": cpu,
            }
        )
    return rows


def summarize(rows: list[dict]) -> list[dict]:
    """Per noise level: cases, true terms, found, covered, inclusion >= 0.9, times."""
    out = []
    for p in sorted({r["noise"] for r in rows}):
        sel = [r for r in rows if r["noise"] == p]
        cases = {r["case"]: r for r in sel}
        inc = np.array([float(r["inclusion"]) for r in sel])
        found = [r for r in sel if np.isfinite(float(r["lo"]))]
        width = [(float(r["hi"]) - float(r["lo"])) / 2 / abs(float(r["true"])) for r in found]
        out.append(
            {
                "noise": p,
                "cases": len(cases),
                "right": sum(_true(r["right_terms"]) for r in cases.values()),
                "terms": len(sel),
                "found": len(found),
                "covered": sum(_true(r["covered"]) for r in sel),
                "inclusion_ok": int(np.sum(inc >= 0.9)),
                "min_inclusion": float(inc.min()) if inc.size else float("nan"),
                "half_width": float(np.median(width)) if width else float("nan"),
                "wall_s": float(np.median([float(r["wall_s"]) for r in cases.values()])),
                "cpu_s": float(np.median([float(r["cpu_s"]) for r in cases.values()])),
            }
        )
    return out


#: the interval's parts, for the ablation: name -> (bootstrap parts, of which the larger;
#: bias parts, added in quadrature); None: the reported interval
PARTS = {
    "bootstrap refit only": (("se_refit",), ()),
    "+ selection spread": (("se_refit", "se_selection"), ()),
    "+ box size": (("se_refit", "se_selection"), ("se_box",)),
    "+ fresh-noise check (the default)": None,
}


def _covers(r: dict, part) -> bool:
    if not np.isfinite(float(r["lo"])):
        return False
    if part is None:
        return float(r["lo"]) <= float(r["true"]) <= float(r["hi"])
    boot, bias = part
    se_b = max(float(r[k]) for k in boot)
    half = 1.959963984540054 * np.sqrt(se_b**2 + sum(float(r[k]) ** 2 for k in bias))
    return abs(float(r["coef"]) - float(r["true"])) <= half


def ablation(rows: list[dict]) -> str:
    """Coverage per noise level with the interval built from fewer of its parts (the same
    centre): what each part adds."""
    lines = ["| noise | " + " | ".join(PARTS) + " |", "|---" * (len(PARTS) + 1) + "|"]
    for p in sorted({r["noise"] for r in rows}):
        sel = [r for r in rows if r["noise"] == p]
        cells = []
        for part in PARTS.values():
            hit = sum(_covers(r, part) for r in sel)
            cells.append(f"{hit}/{len(sel)} = {100 * hit / len(sel):.0f}%")
        lines.append(f"| {100 * p:g}% | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _true(v: Any) -> bool:
    return v is True or v == "True"


def markdown(summary: list[dict]) -> str:
    lines = [
        "| noise (σ = p·rms u) | cases (right terms) | true terms | covered by the 95% interval "
        "| inclusion ≥ 0.9 | lowest inclusion | median half-width / |true| | median wall (CPU) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in summary:
        lines.append(
            f"| {100 * s['noise']:g}% | {s['cases']} ({s['right']}) | {s['terms']} "
            f"| {s['covered']}/{s['terms']} = **{100 * s['covered'] / s['terms']:.0f}%** "
            f"| {s['inclusion_ok']}/{s['terms']} | {s['min_inclusion']:.2f} "
            f"| {100 * s['half_width']:.2g}% | {s['wall_s']:.1f} s ({s['cpu_s']:.1f} s) |"
        )
    return "\n".join(lines)


def _misses(rows: list[dict]) -> str:
    bad = [r for r in rows if not _true(r["covered"]) or float(r["inclusion"]) < 0.9]
    return "\n".join(
        f"- {100 * float(r['noise']):g}% case {r['case']} {r['pde']} ({r['nx']}×{r['nt']}) "
        f"{r['term']}: true {float(r['true']):.4g}, found {float(r['coef']):.4g} "
        f"[{float(r['lo']):.4g}, {float(r['hi']):.4g}], inclusion {float(r['inclusion']):.2f}"
        + (f", extra {r['extra']}" if r["extra"] else "")
        for r in bad
    )


def _init_worker() -> None:
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks coverage", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--cases", type=int, default=20, help="hidden cases per noise level")
    parser.add_argument("--noise", nargs="+", type=float, default=[0.1, 0.5])
    parser.add_argument("--seed", type=int, default=2026, help="base seed of the draw")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes of one thread")
    parser.add_argument("--out", type=Path, default=Path("build/coverage"))
    parser.add_argument(
        "--table", type=Path, metavar="COVERAGE_CSV", help="only re-render a run's coverage.md"
    )
    args = parser.parse_args(argv)
    if args.table is not None:
        rerender(args.table)
        return 0
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    cases = [draw_case(args.seed, i) for i in range(args.cases)]
    tasks = [(c, p) for p in args.noise for c in cases]
    args.out.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    t0 = time.perf_counter()
    with ProcessPoolExecutor(
        args.jobs, mp_context=get_context("spawn"), initializer=_init_worker
    ) as pool:
        futures = {pool.submit(run_case, c, p): (c, p) for c, p in tasks}
        for i, fut in enumerate(as_completed(futures), 1):
            c, p = futures[fut]
            got = fut.result()
            rows += got
            ok = sum(r["covered"] for r in got)
            print(
                f"[{i}/{len(tasks)} {time.perf_counter() - t0:5.0f} s] {100 * p:g}% "
                f"case {c['index']} {c['pde']}: {ok}/{len(got)} covered, "
                f"inclusion {min(r['inclusion'] for r in got):.2f}",
                file=sys.stderr,
            )
    rows.sort(key=lambda r: (r["noise"], r["case"], r["term"]))
    write_csv(rows, args.out / "coverage.csv")
    head = (
        f"`python -m benchmarks coverage --cases {args.cases} --seed {args.seed}`: "
        f"{len(cases)} hidden cases per noise level, "
        f"{time.perf_counter() - t0:.0f} s in {args.jobs} process(es)"
    )
    (args.out / "cases.json").write_text(json.dumps(cases, indent=1) + "\n")
    render(rows, head, args.out)
    return 0


def render(rows: list[dict], head: str, out: Path) -> None:
    """Write ``coverage.md`` (the summary, the ablation, the misses) to ``out``; print it."""
    text = (
        head
        + "\n\n"
        + markdown(summarize(rows))
        + "\n\nCoverage with fewer parts of the interval (same centre):\n\n"
        + ablation(rows)
        + "\n\nTrue terms not covered or with inclusion below 0.9:\n\n"
        + (_misses(rows) or "- none")
        + "\n"
    )
    (out / "coverage.md").write_text(text)
    print(text)


def rerender(csv_path: Path) -> None:
    """``coverage.md`` again from a finished run's ``coverage.csv`` (beside it)."""
    with open(csv_path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        r["noise"], r["case"] = float(r["noise"]), int(r["case"])
    first = (csv_path.parent / "coverage.md").read_text().splitlines()[0]
    render(rows, first, csv_path.parent)
