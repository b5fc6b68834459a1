"""Monge–Ampère: input-convex network against a plain network with a convexity penalty.

``python -m benchmarks.monge_ampere [--quick] [--only TEXT] [--network icnn|mlp]`` solves the
same problems with both networks (Nyström & Vestberg 2021, section on the penalty approach)
and prints a Markdown table: relative L2 error at 10⁴ random interior points, the share of
those points where the Hessian is not positive definite, the smallest Hessian eigenvalue, and
the wall time.  One thread per solve (``torch.set_num_threads(1)``), so the times are those
of one core.  Noise on the source has ``σ = p·rms(f)`` at fixed collocation points.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass

import numpy as np
import torch
from discover.datasets.monge_ampere import monge_ampere_case

from discover.solve import Ball, Box, Disk, Problem, solve

__all__ = ["PROBLEMS", "main", "run_one"]


@dataclass(frozen=True)
class Setting:
    name: str
    kind: str
    domain: object
    dim: int = 2
    noise: float = 0.0
    center: tuple[float, ...] | None = None
    seed: int = 0
    terms: int = 1
    steps: tuple[int, int] = (500, 1000)  # Adam, L-BFGS
    n_points: int = 1024


_BOX4 = Box(x=(-1, 1), y=(-1, 1), z=(-1, 1), w=(-1, 1))
_STEPS4 = (100, 600)  # above two dimensions L-BFGS does the work (see the README)

PROBLEMS = (
    Setting("radial, disk", "radial", Disk(radius=1.0)),
    Setting("radial, square", "radial", Box(x=(-1, 1), y=(-1, 1))),
    Setting("random (seed 0), disk", "random", Disk(radius=1.0)),
    Setting(
        "point singularity at (0.1, 0.05), disk", "singular", Disk(radius=1.0), center=(0.1, 0.05)
    ),
    Setting("jump: f = 1 for r < 1/2, 2 outside, disk", "jump", Disk(radius=1.0)),
    Setting("radial, disk, 5% noise on f", "radial", Disk(radius=1.0), noise=0.05),
    Setting("radial, 3-D ball", "radial", Ball(radius=1.0, dim=3), dim=3, steps=(200, 800)),
    Setting("jump, 3-D ball", "jump", Ball(radius=1.0, dim=3), dim=3, steps=(200, 800)),
    Setting("radial, 4-D box", "radial", _BOX4, dim=4, steps=_STEPS4),
    Setting("random (seed 3), 4-D box", "random", _BOX4, dim=4, seed=3, steps=_STEPS4),
    Setting(
        "random, 2 exponentials (seed 5), 4-D box",
        "random",
        _BOX4,
        dim=4,
        seed=5,
        terms=2,
        steps=_STEPS4,
    ),
    Setting("radial, 4-D ball", "radial", Ball(radius=1.0, dim=4), dim=4, steps=_STEPS4),
)


def run_one(setting: Setting, network: str, *, steps: tuple[int, int] | None = None) -> dict:
    """Solve one setting with one network; errors against the exact solution at 10⁴ random
    interior points."""
    case = monge_ampere_case(
        setting.kind, dim=setting.dim, seed=setting.seed, center=setting.center, terms=setting.terms
    )
    problem = Problem(case.equation, setting.domain, boundary=case.exact)
    adam, lbfgs = steps or setting.steps
    t0 = time.perf_counter()
    sol = solve(
        problem,
        "neural",
        network=network,
        adam_steps=adam,
        lbfgs_steps=lbfgs,
        n_points=setting.n_points,
        source_noise=setting.noise,
        num_threads=1,
        seed=0,
    )
    seconds = time.perf_counter() - t0
    pts = setting.domain.sample(10_000, np.random.default_rng(1))
    exact = case.exact(*pts.T)
    err = sol(pts)[:, 0] - exact
    lam = sol.min_eigenvalue(pts)
    return {
        "rel_l2": float(np.linalg.norm(err) / np.linalg.norm(exact)),
        "max_err": float(np.max(np.abs(err)) / np.max(np.abs(exact))),
        "nonconvex": float(np.mean(lam <= 0)),
        "min_eig": float(lam.min()),
        "seconds": seconds,
        "steps": f"{adam} + {lbfgs}",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few steps (a smoke test)")
    parser.add_argument("--only", default=None, help="run settings whose name contains this")
    parser.add_argument("--network", default=None, help="icnn or mlp (default: both)")
    parser.add_argument("--steps", default=None, help="Adam,L-BFGS steps for every setting")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    steps = (50, 50) if args.quick else None
    if args.steps:
        steps = tuple(int(s) for s in args.steps.split(","))
    print(
        "| problem | network | steps | rel. L2 | rel. max | non-convex points | min eig D²u "
        "| wall s |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for setting in PROBLEMS:
        if args.only and args.only not in setting.name:
            continue
        for network in (args.network,) if args.network else ("icnn", "mlp"):
            r = run_one(setting, network, steps=steps)
            print(
                f"| {setting.name} | {network} | {r['steps']} | {r['rel_l2']:.2e} | "
                f"{r['max_err']:.2e} | {100 * r['nonconvex']:.1f}% | {r['min_eig']:.3g} | "
                f"{r['seconds']:.0f} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
