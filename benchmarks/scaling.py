"""Scaling of ``discover find`` with the number of values: wall time, time per value, peak memory.

``python -m benchmarks.scaling --values 1e6 1e7 [1e8] [--out DIR]`` writes clean 2-D
advection–diffusion fields (``u_t = -0.8 u_x + 0.5 u_y + 0.05 (u_xx + u_yy)``, float32) of
each size in ten netCDF files (:func:`discover.datasets.large.write_large`, a slab at a time),
then runs each method in a fresh process and records its wall time, its CPU time (all its
threads: the fair measure on a machine shared with other jobs) and peak resident memory
(``ru_maxrss`` of that process).  Methods:

``fd``
    ``discover find GLOB --var u --method fd --bootstrap 0`` with the default memory budget
    (2 GB): in memory below it, chunked above (:mod:`discover.builders.chunked`).
``fd_chunked``
    The same, chunked whatever the size (``--memory 200MB``).
``weak``, ``weak_chunked``
    The same with ``--method weak`` (:mod:`discover.builders.chunked_weak` when chunked).
``neural_chunked``
    ``--method neural`` chunked (``--memory 200MB``): the interpolant trains on a sample of
    at most 5·10⁵ points drawn slab by slab (:mod:`discover.builders.chunked_neural`).
``pysindy_fd``
    pysindy's PDE-FIND on the whole array in memory (:func:`benchmarks.methods.pysindy_fd`),
    only up to ``--pysindy-max`` values.

Results go to ``DIR/scaling.csv`` and a Markdown table ``DIR/scaling.md``.
"""

from __future__ import annotations

import argparse
import csv
import glob
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

#: grid (nt, nx, ny) per number of values
SHAPES = {10**6: (100, 100, 100), 10**7: (1000, 100, 100), 10**8: (1000, 100, 1000),
          101 * 128 * 128: (101, 128, 128)}  # fmt: skip
TRUTH = {"u_x": -0.8, "u_y": 0.5, "u_xx": 0.05, "u_yy": 0.05}


def _child(method: str, pattern: str, max_order: str = "2") -> dict:
    """Run one method in this process; its wall time, peak memory and equation."""
    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    if method.startswith("pysindy"):
        import xarray as xr

        from .methods import pysindy_fd

        ds = xr.open_mfdataset(sorted(glob.glob(pattern))).load()
        found = pysindy_fd(ds, int(max_order), TRUTH)["found"]
        eq = " + ".join(f"{c:.4g}*{k}" for k, c in found.items())
    else:
        from discover import find

        memory = "200MB" if method.endswith("_chunked") else "2GB"
        how = method.split("_")[0]
        r = find(pattern, "u", method=how, n_bootstrap=0, max_order=int(max_order), memory=memory)
        eq = str(r.equations[0]) + (" (chunked)" if "chunked" in r.diagnostics["u"] else "")
    wall = time.perf_counter() - t0
    use = resource.getrusage(resource.RUSAGE_SELF)
    cpu = use.ru_utime + use.ru_stime  # every thread of the process, the imports included
    return {"wall_s": wall, "cpu_s": cpu, "peak_bytes": use.ru_maxrss * 1024, "equation": eq}


def _write(values: int, root: Path) -> str:
    import discover.datasets

    here = Path(__file__).resolve().parents[1] / "datasets"
    if not (Path(discover.datasets.__file__).parent / "large.py").exists():  # a worktree
        discover.datasets.__path__.insert(0, str(here))
    from discover.datasets.large import write_large

    nt, nx, ny = SHAPES[values]
    d = root / f"v{values:.0e}"
    if not (d / "u_009.nc").exists():
        write_large(d, nt=nt, nx=nx, ny=ny, n_files=10)
    return str(d / "u_*.nc")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.scaling", description=__doc__)
    p.add_argument("--values", nargs="+", type=float, default=[1e6, 1e7])
    p.add_argument(
        "--methods", nargs="+", default=["fd", "fd_chunked", "weak_chunked", "pysindy_fd"]
    )
    p.add_argument("--pysindy-max", type=float, default=1e6)
    p.add_argument("--max-order", type=int, default=2, help="of the library (both tools)")
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/scaling"))
    p.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "discover_scaling")
    p.add_argument("--append", action="store_true", help="add to the table in --out")
    p.add_argument("--child", nargs=3, metavar=("METHOD", "GLOB", "ORDER"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(_child(*args.child)))
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for v in (int(x) for x in args.values):
        pattern = _write(v, args.data)
        for m in args.methods:
            if m.startswith("pysindy") and v > args.pysindy_max:
                continue
            cmd = [sys.executable, "-m", "benchmarks.scaling", "--child", m, pattern,
                   str(args.max_order)]  # fmt: skip
            res = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
            if res.returncode:
                print(res.stderr[-2000:], file=sys.stderr)
                continue
            out = json.loads(res.stdout.strip().splitlines()[-1])
            row = {"values": v, "shape": "x".join(map(str, SHAPES[v])), "method": m,
                   "max_order": args.max_order, **out,
                   "us_per_value": 1e6 * out["wall_s"] / v,
                   "cpu_us_per_value": 1e6 * out["cpu_s"] / v}  # fmt: skip
            print(json.dumps(row), file=sys.stderr)
            rows.append(row)
    if args.append and (args.out / "scaling.csv").exists():
        with (args.out / "scaling.csv").open() as fh:
            old = [_parsed(r) for r in csv.DictReader(fh)]
        rows = old + rows
    _table(rows, args.out)
    return 0


def _parsed(row: dict) -> dict:
    keys = ("wall_s", "cpu_s", "peak_bytes", "us_per_value", "cpu_us_per_value")
    nums = {k: float(row[k]) if row.get(k) else float("nan") for k in keys}
    return {**row, "values": int(row["values"]), **nums}


def _table(rows: list[dict], out: Path) -> None:
    with (out / "scaling.csv").open("w", newline="") as fh:
        names = list(dict.fromkeys(k for r in rows for k in r))
        w = csv.DictWriter(fh, fieldnames=names, restval="")
        w.writeheader()
        w.writerows(rows)
    lines = [
        "| values | grid (t×x×y) | method | order | wall time | time per value "
        "| CPU per value | peak memory | equation |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r['values']:.0e} | {r['shape']} | {r['method']} | {r.get('max_order') or 2} | "
            f"{r['wall_s']:.0f} s | {r['us_per_value']:.1f} µs | "
            f"{r.get('cpu_us_per_value', float('nan')):.1f} µs | "
            f"{r['peak_bytes'] / 1e9:.2f} GB | {r['equation']} |"
        )
    (out / "scaling.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
