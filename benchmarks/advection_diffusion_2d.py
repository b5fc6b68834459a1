"""2-D advection–diffusion with hidden coefficients: ``python -m benchmarks
advection-diffusion-2d``.

Issue #19's check "2-D advection–diffusion within 5% at 20% noise", over random draws:
``u_t = −a u_x − b u_y + D (u_xx + u_yy)`` (``datasets.generators.advection_diffusion_2d``,
periodic square) with ``a, b ∈ ±[0.3, 1]``, ``D ∈ [0.02, 0.08]``, the generator's random
initial state, and noise σ = p·rms(u) (weak SINDy's convention).  ``discover.find`` with its
defaults (the weak form on the grid; ``--bootstrap`` resamples) and pysindy's weak form
(``WeakPDELibrary``, K = 500, order 2, degree 2, STLSQ with its threshold chosen in hindsight
against the truth) run on the same arrays in this process.  Prints, per draw, whether each
found exactly the four true terms, the worst relative coefficient error over them (a missed
term counts 100%) and the wall and CPU seconds; then the count within 5% and the median.
"""

from __future__ import annotations

import argparse

import numpy as np

from .lambda_omega import draw_arguments, draw_table, score_methods


def dataset(seed: int, noise: float, *, nx: int = 40, nt: int = 31):
    """Draw ``seed``'s problem on ``nx² × nt`` with noise σ = ``noise``·rms(u).

    Returns the dataset and its true coefficients.
    """
    from discover.datasets import generate, make_dataset

    rng = np.random.default_rng([seed, 77])
    a, b = rng.uniform(0.3, 1.0, 2) * rng.choice([-1, 1], 2)
    diffusivity = rng.uniform(0.02, 0.08)
    problem = generate(
        "advection_diffusion_2d", velocity_x=a, velocity_y=b, diffusivity=diffusivity, seed=seed
    )
    ds = make_dataset(problem, nx=nx, nt=nt)
    u = ds["u"].values
    ds["u"].values = u + noise * np.sqrt(np.mean(u**2)) * rng.standard_normal(u.shape)
    return ds, {"u_x": -a, "u_y": -b, "u_xx": diffusivity, "u_yy": diffusivity}


def run_draw(seed: int, noise: float, *, nx: int, nt: int, n_bootstrap: int, pysindy: bool):
    """One draw: ``{method: (score, wall s, CPU s)}`` (find's defaults, degree 2)."""
    ds, truth = dataset(seed, noise, nx=nx, nt=nt)
    return score_methods(ds, truth, "u", pysindy=pysindy, degree=2, n_bootstrap=n_bootstrap)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks advection-diffusion-2d", description=__doc__.split("\n\n")[0]
    )
    args = draw_arguments(parser, argv, draws=24, seed=300, noise=[0.2], grid=[40, 31])
    nx, nt = args.grid
    print(f"2-D advection–diffusion {nx} × {nx} × {nt}, σ = p·rms(u), "
          f"find(n_bootstrap={args.bootstrap})")  # fmt: skip
    return draw_table(args, run_draw)
