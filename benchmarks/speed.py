"""End-to-end time of one noisy 1-D grid: ``python -m benchmarks speed``.

A Kuramoto–Sivashinsky field of 256 × 300 (``t ≤ 150``, random coefficients in
[-1.3, -0.7]) with 10% noise (σ = p·rms u), and the same for KdV and Burgers, each run
``--repeats`` times in this process: ``discover.find`` with its defaults (the weak form on the
grid, 100 block-bootstrap resamples for the intervals) against pysindy's weak form
(``WeakPDELibrary``, K = 500, STLSQ with the threshold chosen in hindsight, as in the
benchmark table) on the same array.  Prints the median wall and CPU seconds of each and their
ratio; a machine shared with other jobs inflates the wall times, not the CPU times.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from .methods import pysindy_weak

#: the cases: generator, grid and library order
CASES = {
    "kuramoto_sivashinsky": (256, 300, 4),
    "kdv": (256, 300, 3),
    "burgers": (256, 300, 3),
}


def dataset(name: str, seed: int, noise: float = 0.1):
    """The case ``name`` with random coefficients and noise σ = ``noise``·rms(u)."""
    from discover.datasets import generate, make_dataset

    rng = np.random.default_rng([seed, 19])
    if name == "kuramoto_sivashinsky":
        keys = ("advection", "antidiffusion", "hyperdiffusion")
        params = {k: -rng.uniform(0.7, 1.3) for k in keys} | {"t_end": 150.0}
    elif name == "kdv":
        params = {"nonlinear": -rng.uniform(2.0, 8.0), "dispersion": -rng.uniform(0.5, 2.0)}
    else:
        params = {"advection": -rng.uniform(0.5, 2.0), "viscosity": rng.uniform(0.05, 0.2)}
    nx, nt, order = CASES[name]
    ds = make_dataset(generate(name, seed=seed, **params), nx=nx, nt=nt)
    u = ds["u"].values
    ds["u"].values = u + noise * np.sqrt(np.mean(u**2)) * rng.standard_normal(u.shape)
    return ds, order


def timed(fn) -> tuple[object, float, float]:
    """``(fn(), wall seconds, CPU seconds of this process)``."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t0, time.process_time() - c0


def main(argv: list[str] | None = None) -> int:
    import discover

    parser = argparse.ArgumentParser(
        prog="python -m benchmarks speed", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--cases", nargs="+", choices=list(CASES), default=list(CASES))
    parser.add_argument("--repeats", type=int, default=3, help="noise seeds per case")
    parser.add_argument("--noise", type=float, default=0.1)
    args = parser.parse_args(argv)
    rows = []
    for name in args.cases:
        for seed in range(args.repeats):
            ds, order = dataset(name, seed, args.noise)
            truth = json.loads(ds.attrs["true_coefficients"])
            d, wall, cpu = timed(lambda ds=ds, order=order: discover.find(ds, "u", max_order=order))
            _, pw, pc = timed(lambda ds=ds, order=order, t=truth: pysindy_weak(ds, order, t))
            rows.append((name, seed, wall, cpu, pw, pc))
            print(
                f"{name} seed {seed}: discover {wall:.2f} s ({cpu:.2f} s CPU), "
                f"pysindy weak {pw:.2f} s ({pc:.2f} s CPU); {d.equations[0]}"
            )
    print("\n| case (256 × 300, 10% noise) | discover find (default) | pysindy weak form | ratio |")
    print("|---|---|---|---|")
    for name in args.cases:
        r = np.array([row[2:] for row in rows if row[0] == name])
        med = np.median(r, axis=0)
        print(
            f"| {name} | {med[0]:.2f} s ({med[1]:.2f} s CPU) | {med[2]:.2f} s "
            f"({med[3]:.2f} s CPU) | {med[0] / med[2]:.2f}× ({med[1] / med[3]:.2f}× CPU) |"
        )
    allr = np.array([row[2:] for row in rows])
    med = np.median(allr, axis=0)
    print(
        f"| all | {med[0]:.2f} s ({med[1]:.2f} s CPU) | {med[2]:.2f} s ({med[3]:.2f} s CPU) "
        f"| {med[0] / med[2]:.2f}× ({med[1] / med[3]:.2f}× CPU) |"
    )
    return 0
