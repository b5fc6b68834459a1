"""Benchmark table: ``python -m benchmarks [--quick] [--datasets ...] [--seeds N]``.

For each dataset (the PDE-FIND fields in ``../shared/data/pde-find`` and the project's own
generators) at noise levels 0–200% (σ = p·std u, or p·rms u with ``--convention rms``) over
noise seeds, run ``discover find`` (default, ``--method fd`` and ``--method weak``),
pysindy's PDE-FIND and pysindy's weak form on the same
noisy array in the same worker process, and record right terms, the worst relative
coefficient error, wall time and peak memory.  Writes ``results.csv`` (every run),
``table.md`` (medians over seeds, and the highest noise with the right terms per method)
and ``errors.png`` (error against noise) to ``--out``, and prints the table.

Cases run in ``--jobs`` worker processes sharing the cores: by default one per core, of one
thread each.  The neural fits use a core far better alone than split over two threads (a
fit of 2 threads runs 1.1-1.25 times faster than of one), so one case per core finishes the
run sooner; every method of a case runs in the same process under the same conditions, so
their ratios hold.  Noise 0 is run once: every method is deterministic on clean data.

``results.csv`` grows as cases finish, so a long run can stop and go on later:
``--resume`` runs only the cases missing from ``--out``'s results, with the settings stored
in its ``run.json``, and only while the code that decides the numbers (the Python files of
``discover/``, ``datasets/``, ``benchmarks/``; ``pyproject.toml``, ``constraints.txt``) is
the committed code that made them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from .cases import CASES, CONVENTIONS, NOISE_LEVELS, noisy, unavailable
from .methods import METHODS, THRESHOLDS, measure, score
from .report import append_csv, markdown, plot, read_csv, summarize

QUICK = {"datasets": ["burgers"], "noise": [0.0, 0.01, 0.10], "seeds": 1}


def run_case(
    name: str, noise: float, seed: int, methods: list[str], convention: str = "std"
) -> list[dict[str, Any]]:
    """Every method in ``methods`` on case ``name`` with this noise (σ = noise·std u, or
    noise·rms u with ``convention="rms"``) and seed."""
    case = CASES[name]
    ds = noisy(name, noise, seed, convention)
    truth = case.truth(ds)
    rows = []
    for m in methods:
        _, fn, needs_truth, gridded_only = METHODS[m]
        if gridded_only and not case.gridded:
            continue
        args = (ds, case.max_order, truth) if needs_truth else (ds, case.max_order)
        if case.degree != 2:  # the runners' default degree is 2
            args = (*args, case.degree)
        # pysindy's weak library draws its subdomains from NumPy's global generator: seed it
        # per case and method, or the same command gives another table
        np.random.seed([seed, round(noise * 1000)])  # noqa: NPY002 (the one pysindy uses)
        row: dict[str, Any] = {"dataset": name, "noise": noise, "seed": seed, "method": m}
        row["convention"] = convention
        try:
            out, wall, peak = measure(lambda fn=fn, args=args: fn(*args))
        except Exception as exc:  # a method that fails on a case is a result, not a crash
            row.update(right=False, max_error=float("inf"), wall_s=0.0, peak_mib=0.0)
            row["failed"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            rows.append(row)
            continue
        found = out["found"]
        row.update(score(found, truth))
        row.update(
            wall_s=wall,
            peak_mib=peak,
            found=" + ".join(f"{c:.6g}*{t}" for t, c in found.items()),
            note=out.get("note", ""),
            failed="",
        )
        rows.append(row)
    return rows


def _init_worker(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def _cores() -> int:
    """The CPUs this process may use (a container's share, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def _git(*args: str) -> str:
    """``git ARGS`` in this repository, its output stripped."""
    root = Path(__file__).resolve().parents[1]
    return subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def _commit() -> str:
    """The checked-out commit, with ``+changes`` when tracked files differ from it."""
    try:
        dirty = _git("status", "--porcelain", "--untracked-files=no")
        return _git("rev-parse", "--short", "HEAD") + ("+changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _machine() -> str:
    return f"{platform.machine()} {os.cpu_count()} cores"


#: what decides the numbers: the Python files under these folders, and these files
CODE_DIRS = ("discover", "datasets", "benchmarks")
CODE_FILES = ("pyproject.toml", "constraints.txt")


def _code_version() -> str:
    """A hash of the committed code that decides the numbers (:data:`CODE_DIRS`' Python
    files and :data:`CODE_FILES`; results and notes beside them do not count), with
    ``+changes`` when the working tree differs from it (such a run cannot be resumed)."""
    paths = [*(f"{d}/*.py" for d in CODE_DIRS), *CODE_FILES]
    try:
        listing = _git("ls-tree", "-r", "HEAD", "--", *CODE_DIRS, *CODE_FILES)
        dirty = _git("status", "--porcelain", "--untracked-files=no", "--", *paths)
    except (OSError, subprocess.CalledProcessError):
        return "unknown+changes"
    code = [ln for ln in listing.splitlines() if ln.endswith((".py", *CODE_FILES))]
    digest = hashlib.sha1("\n".join(code).encode()).hexdigest()[:12]
    return digest + ("+changes" if dirty else "")


#: the settings a resumed run takes from ``run.json``
RESUMED = ("datasets", "noise", "seeds", "methods", "jobs", "convention")


def _resume(args: argparse.Namespace, parser: argparse.ArgumentParser) -> dict[str, Any]:
    """The stored meta of ``args.out``'s run, its settings copied into ``args``."""
    meta_path, csv_path = args.out / "run.json", args.out / "results.csv"
    if not meta_path.exists() or not csv_path.exists():
        parser.error(f"--resume needs {meta_path} and {csv_path} of an earlier run")
    meta = json.loads(meta_path.read_text())
    code = _code_version()
    if "+changes" in code or meta.get("code") != code:
        parser.error(
            f"{csv_path} was made by code {meta.get('code')}, but the code now is {code}; "
            "its numbers would not compare: start a new run with another --out"
        )
    if meta.get("machine") != _machine():
        parser.error(
            f"{csv_path} was measured on {meta.get('machine')}, this is {_machine()}; wall times "
            "would not compare: start a new run with another --out"
        )
    for key in RESUMED:
        setattr(args, key, meta["settings"].get(key, "std" if key == "convention" else None))
    return meta


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small subset (Burgers at 0, 1, 10%%, one seed: about 30 s)",
    )
    parser.add_argument("--datasets", nargs="+", choices=list(CASES), help="default: all")
    parser.add_argument("--noise", nargs="+", type=float, help="levels p (default: all six)")
    parser.add_argument("--seeds", type=int, help="noise seeds per level (default 3)")
    parser.add_argument(
        "--convention",
        choices=list(CONVENTIONS),
        default="std",
        help="noise σ = p·std(u) (PDE-FIND, DeePyMoD; default) or p·rms(u) (weak SINDy)",
    )
    parser.add_argument("--methods", nargs="+", choices=list(METHODS), help="default: all")
    parser.add_argument(
        "--jobs",
        type=int,
        help="worker processes, sharing the cores (default: one per core, of one thread each)",
    )
    parser.add_argument("--out", type=Path, default=Path("build/bench"), help="output folder")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="go on with the unfinished run in --out (its settings; the same code only)",
    )
    parser.add_argument(
        "--table",
        type=Path,
        metavar="RESULTS_CSV",
        help="only re-render table.md and errors.png from a finished run's results.csv",
    )
    args = parser.parse_args(argv)
    quick = QUICK if args.quick else {}
    args.datasets = args.datasets or quick.get("datasets") or list(CASES)
    args.noise = args.noise or quick.get("noise") or list(NOISE_LEVELS)
    args.seeds = args.seeds or quick.get("seeds") or 3
    args.methods = args.methods or list(METHODS)
    for p in args.noise:
        if not 0 <= p < 10:
            parser.error(f"noise levels are fractions of std(u) or rms(u) in [0, 10), not {p}")
    args.jobs = _cores() if args.jobs is None else args.jobs
    if args.seeds < 1 or args.jobs < 1:
        parser.error("--seeds and --jobs must be at least 1")
    args.meta = _resume(args, parser) if args.resume else None
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if args.table is not None:  # re-render a finished run
        meta = json.loads((args.table.parent / "run.json").read_text())
        render(read_csv(args.table), meta, args.table.parent)
        return 0
    datasets = []
    for d in args.datasets:
        why = unavailable(CASES[d])
        if why:
            print(f"skipping {d}: {why}", file=sys.stderr)
        else:
            datasets.append(d)
    if not datasets:
        print("no dataset can run here", file=sys.stderr)
        return 2
    csv_path = args.out / "results.csv"
    done_rows = read_csv(csv_path) if args.resume else []
    done = {(r["dataset"], r["noise"], r["seed"]) for r in done_rows}
    tasks = [
        (d, p, s)
        for d in datasets
        for p in sorted(args.noise, reverse=True)
        for s in range(min(args.seeds, CASES[d].max_seeds or args.seeds) if p else 1)
        if (d, p, s) not in done
    ]
    tasks.sort(key=lambda task: -CASES[task[0]].cost * (task[1] > 0))  # long ones first
    threads = max(1, _cores() // args.jobs)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)  # the workers inherit it before importing NumPy
    print(
        f"{len(tasks)} runs ({len(datasets)} datasets, noise {args.noise}, {args.seeds} seeds"
        + (f"; {len(done)} done before" if done else "")
        + f") in {args.jobs} processes of {threads} thread(s)",
        file=sys.stderr,
    )
    meta = args.meta or {
        "command": "python -m benchmarks " + " ".join(argv if argv is not None else sys.argv[1:]),
        "date": dt.date.today().isoformat(),
        "commit": _commit(),  # the code that runs, before any edit made while it runs
        "code": _code_version(),
        "machine": _machine(),
        "jobs": args.jobs,
        "threads": threads,
        "seeds": args.seeds,
        "minutes": 0.0,
        "methods": args.methods,
        "settings": {k: getattr(args, k) for k in RESUMED},
    }
    meta["status"] = "running"

    def save_meta() -> None:
        (args.out / "run.json").write_text(json.dumps(meta, indent=2) + "\n")

    args.out.mkdir(parents=True, exist_ok=True)
    if not args.resume:
        csv_path.unlink(missing_ok=True)
    save_meta()
    t0 = time.perf_counter()
    before = float(meta["minutes"])
    rows: list[dict[str, Any]] = list(done_rows)
    with ProcessPoolExecutor(
        args.jobs, mp_context=get_context("spawn"), initializer=_init_worker, initargs=(threads,)
    ) as pool:
        futures = {
            pool.submit(run_case, *task, args.methods, args.convention): task for task in tasks
        }
        for i, fut in enumerate(as_completed(futures), 1):
            d, p, s = futures[fut]
            got = fut.result()
            rows += got
            append_csv(got, csv_path)
            meta["minutes"] = round(before + (time.perf_counter() - t0) / 60, 1)
            save_meta()
            took = ", ".join(f"{r['method']} {r['wall_s']:.1f} s" for r in got)
            print(
                f"[{i}/{len(tasks)} {time.perf_counter() - t0:6.0f} s] {d} {100 * p:g}% "
                f"seed {s}: {took}",
                file=sys.stderr,
            )
    meta["status"] = "done"
    meta["minutes"] = round(before + (time.perf_counter() - t0) / 60, 1)
    if args.resume:
        meta["resumed"] = meta.get("resumed", 0) + 1
    save_meta()
    render(rows, meta, args.out)
    return 0


def render(rows: list[dict[str, Any]], meta: dict[str, Any], out: Path) -> None:
    """Write ``table.md`` and ``errors.png`` to ``out`` and print the table."""
    summary = summarize(rows)
    methods = [m for m in meta["methods"] if any(r["method"] == m for r in rows)]
    header = (
        f"`{meta['command'].strip()}`: {meta['date']}, commit {meta['commit']}, "
        f"{meta['machine']}, {meta['jobs']} process(es) of {meta['threads']} thread(s), "
        f"{meta['seeds']} noise seed(s) per level, noise σ = p·"
        f"{meta['settings'].get('convention', 'std')}(u), {meta['minutes']} min in all"
        + (f" (in {meta['resumed'] + 1} parts)" if meta.get("resumed") else "")
        + ".\n\n"
        "Each cell: seeds with the right terms / runs (bold: most of them) · median worst "
        "relative coefficient error over the true terms (a missed term counts 100%) · "
        f"median wall time.  pysindy's STLSQ threshold is the best of {len(THRESHOLDS)} "
        "chosen against the true equation (in hindsight).\n\n"
    )
    table = header + markdown(summary, methods)
    (out / "table.md").write_text(table + "\n")
    plot(summary, methods, out / "errors.png")
    print(table)
    print(f"\nwrote {out}/table.md, errors.png", file=sys.stderr)
