"""The optimizers of the neural core on small benchmark fields: held-out error, spread over
seeds and wall time of the interpolant's fit, one optimizer against another.

Run one case at a time (each takes a few minutes on one thread)::

    OMP_NUM_THREADS=1 python -m benchmarks.optimizers burgers --seeds 5

Each seed draws the generator's random initial state, the noise (σ = p·std(u)), the
held-out split and the network's weights.  Every optimizer gets the same budget of gradient
evaluations in its first phase and the same L-BFGS phase after it (``lbfgs`` runs L-BFGS
alone).  The error is the held-out RMS residual relative to std(u), against the *clean*
field (so it measures how well the fit removes the noise, not the noise itself).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from discover.datasets import generate, make_dataset

from discover.interpolate import NeuralInterpolant
from discover.io import load

OPTIMIZERS = ("adam", "entropy-sgd", "langevin", "lbfgs")
CASES = {
    "burgers": dict(nx=64, nt=32),
    "advection_diffusion": dict(nx=64, nt=32),
    "kdv": dict(nx=64, nt=32),
}


def run_case(name: str, seeds: int, noise: float, steps: int, lbfgs: int) -> list[dict]:
    """One row per optimizer: median and spread of the clean held-out error, seconds."""
    torch.set_num_threads(1)
    rows = []
    for opt in OPTIMIZERS:
        errs, secs = [], []
        for seed in range(seeds):
            ds = make_dataset(generate(name, seed=seed), noise=noise, seed=seed, **CASES[name])
            clean = make_dataset(generate(name, seed=seed), **CASES[name])
            samples = load(ds, "u")
            t0 = time.perf_counter()
            f = NeuralInterpolant(
                adam_steps=steps, lbfgs_steps=lbfgs, optimizer=opt, seed=seed, num_threads=1
            ).fit(samples)
            secs.append(time.perf_counter() - t0)
            truth = load(clean, "u")
            pred = f.predict(truth.points)[:, 0]
            ref = truth.values[:, 0]
            errs.append(float(np.sqrt(np.mean((pred - ref) ** 2)) / ref.std()))
        rows.append(
            {
                "case": name,
                "optimizer": opt,
                "median": float(np.median(errs)),
                "min": float(np.min(errs)),
                "max": float(np.max(errs)),
                "seconds": float(np.median(secs)),
                "errors": errs,
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("case", choices=list(CASES))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--noise", type=float, default=0.05)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--lbfgs", type=int, default=150)
    args = parser.parse_args()
    run_case(args.case, args.seeds, args.noise, args.steps, args.lbfgs)


if __name__ == "__main__":
    main()
