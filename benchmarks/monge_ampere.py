"""Monge–Ampère: input-convex network against a plain network with a convexity penalty.

``python -m benchmarks.monge_ampere [--quick]`` solves the same problems with both networks
(Nyström & Vestberg 2021, section on the penalty approach) and prints a Markdown table:
relative L2 error at 10⁴ random interior points, the share of those points where the Hessian
is not positive definite, the smallest Hessian eigenvalue, and the wall time.  One thread per
solve (``torch.set_num_threads(1)``), so the times are those of one core.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass

import numpy as np
import torch
from discover.datasets.monge_ampere import monge_ampere_case

from discover.solve import Box, Disk, Problem, solve

__all__ = ["PROBLEMS", "main", "run_one"]


@dataclass(frozen=True)
class Setting:
    name: str
    kind: str
    domain: object
    dim: int = 2
    noise: float = 0.0
    center: tuple[float, ...] | None = None


PROBLEMS = (
    Setting("radial, disk", "radial", Disk(radius=1.0)),
    Setting("radial, square", "radial", Box(x=(-1, 1), y=(-1, 1))),
    Setting("random, disk", "random", Disk(radius=1.0)),
    Setting("point singularity, disk", "singular", Disk(radius=1.0), center=(0.1, 0.05)),
    Setting("radial, disk, 5% noise on f", "radial", Disk(radius=1.0), noise=0.05),
    Setting("radial, 4-D box", "radial", Box(x=(-1, 1), y=(-1, 1), z=(-1, 1), w=(-1, 1)), dim=4),
)


def run_one(setting: Setting, network: str, *, steps: tuple[int, int], seed: int = 0) -> dict:
    """Solve one setting with one network; errors against the exact solution."""
    case = monge_ampere_case(setting.kind, dim=setting.dim, seed=seed, center=setting.center)
    problem = Problem(case.equation, setting.domain, boundary=case.exact)
    t0 = time.perf_counter()
    sol = solve(
        problem,
        "neural",
        network=network,
        adam_steps=steps[0],
        lbfgs_steps=steps[1],
        n_points=1024 if setting.dim == 2 else 2048,
        source_noise=setting.noise,
        num_threads=1,
        seed=seed,
    )
    seconds = time.perf_counter() - t0
    pts = setting.domain.sample(10_000, np.random.default_rng(seed + 1))
    exact = case.exact(*pts.T)
    err = sol(pts)[:, 0] - exact
    lam = sol.min_eigenvalue(pts)
    return {
        "rel_l2": float(np.linalg.norm(err) / np.linalg.norm(exact)),
        "max_err": float(np.max(np.abs(err)) / np.max(np.abs(exact))),
        "nonconvex": float(np.mean(lam <= 0)),
        "min_eig": float(lam.min()),
        "seconds": seconds,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few steps (a smoke test)")
    parser.add_argument("--only", default=None, help="run settings whose name contains this")
    parser.add_argument("--network", default=None, help="icnn or mlp (default: both)")
    parser.add_argument("--steps", default=None, help="Adam,L-BFGS steps (default 500,1000)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    steps = (50, 50) if args.quick else (500, 1000)
    if args.steps:
        steps = tuple(int(s) for s in args.steps.split(","))
    print("| problem | network | rel. L2 | rel. max | non-convex points | min eig D²u | wall s |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for setting in PROBLEMS:
        if args.only and args.only not in setting.name:
            continue
        for network in (args.network,) if args.network else ("icnn", "mlp"):
            r = run_one(setting, network, steps=steps)
            print(
                f"| {setting.name} | {network} | {r['rel_l2']:.2e} | {r['max_err']:.2e} | "
                f"{100 * r['nonconvex']:.1f}% | {r['min_eig']:.3g} | {r['seconds']:.0f} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
