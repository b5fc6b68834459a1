"""λ–ω reaction–diffusion with hidden coefficients: ``python -m benchmarks lambda-omega``.

Two real fields ``u, v`` on a periodic 2-D square (``datasets.generators.lambda_omega``:
``u_t = d_u Δu + u − u³ − u v² + β u² v + β v³`` and its partner), each draw with its own
diffusivities ``d_u, d_v ∈ [0.05, 0.2]``, ``β ∈ ±[0.5, 1.5]``, random initial state and noise
σ = p·rms of each field (weak SINDy's convention).  ``discover.find`` (the default method —
the weak form on the grid — with ``max_order=2``, ``degree=3``: 110 candidates per field)
and pysindy's weak form (``WeakPDELibrary``, K = 500, STLSQ with its threshold chosen in
hindsight against the truth) run on the same arrays in this process.  Prints, per draw and
noise level, whether each found exactly the 7 + 7 true terms, the worst relative coefficient
error over the true terms (a missed term counts 100%), and the wall and CPU seconds.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from .methods import _found, pysindy_weak, score


def dataset(seed: int, noise: float, *, nx: int = 128, nt: int = 101):
    """Draw ``seed``'s λ–ω problem on ``nx² × nt`` with noise σ = ``noise``·rms of each field.

    Returns the dataset and its true coefficients as ``{"u: term": c, …}``.
    """
    from discover.datasets import generate, make_dataset

    rng = np.random.default_rng([seed, 1919])
    du, dv = rng.uniform(0.05, 0.2, 2)
    beta = rng.uniform(0.5, 1.5) * rng.choice([-1, 1])
    problem = generate(
        "lambda_omega", diffusivity_u=du, diffusivity_v=dv, beta=beta, seed=seed + 100
    )
    ds = make_dataset(problem, nx=nx, nt=nt)
    noise_rng = np.random.default_rng([seed, round(noise * 1000), 7])
    for f in ds.data_vars:
        v = ds[f].values
        ds[f].values = v + noise * np.sqrt(np.mean(v**2)) * noise_rng.standard_normal(v.shape)
    truth = json.loads(ds.attrs["true_coefficients"])
    return ds, {f"{f}: {t}": c for f, terms in truth.items() for t, c in terms.items()}


def _names(s: dict) -> str:
    """Missed and extra terms, named when few."""
    out = []
    for key, sign in (("missed", "−"), ("extra", "+")):
        terms = s[key]
        out.append(", ".join(sign + t for t in terms) if len(terms) <= 3 else f"{sign}{len(terms)}")
    return "; ".join(o for o in out if o) or "–"


def _timed(fn):
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t0, time.process_time() - c0


def run_draw(seed: int, noise: float, *, nx: int, nt: int, n_bootstrap: int, pysindy: bool):
    """One draw: ``{method: (score, wall s, CPU s)}``."""
    ds, truth = dataset(seed, noise, nx=nx, nt=nt)
    return score_methods(ds, truth, ["u", "v"], pysindy=pysindy, degree=3, max_order=2,
                         n_bootstrap=n_bootstrap)  # fmt: skip


def score_methods(ds, truth: dict, fields, *, pysindy: bool, degree: int, **find_options):
    """``discover.find(ds, fields, degree=degree, **find_options)`` and, with ``pysindy``,
    pysindy's weak form (order 2, the same ``degree``) on one draw, each scored against
    ``truth``: ``{method: (score, wall s, CPU s)}``."""
    import discover

    res, wall, cpu = _timed(lambda: discover.find(ds, fields, degree=degree, **find_options))
    out = {"discover": (score(_found(res), truth), wall, cpu)}
    if pysindy:
        got, wall, cpu = _timed(lambda: pysindy_weak(ds, 2, truth, degree=degree))
        out["pysindy_weak"] = (score(got["found"], truth), wall, cpu)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks lambda-omega", description=__doc__.split("\n\n")[0]
    )
    args = draw_arguments(parser, argv, draws=5, seed=0, noise=[0.1, 0.2], grid=[128, 101])
    nx, nt = args.grid
    print(f"λ–ω {nx} × {nx} × {nt}, σ = p·rms per field, find(n_bootstrap={args.bootstrap})")
    return draw_table(args, run_draw)


def draw_arguments(
    parser: argparse.ArgumentParser,
    argv: list[str] | None,
    *,
    draws: int,
    seed: int,
    noise: list[float],
    grid: list[int],
) -> argparse.Namespace:
    """The options of a benchmark of random draws on a 2-D grid, parsed."""
    parser.add_argument("--draws", type=int, default=draws)
    parser.add_argument("--seed", type=int, default=seed, help="first draw")
    parser.add_argument("--noise", type=float, nargs="+", default=noise)
    parser.add_argument("--grid", type=int, nargs=2, default=grid, metavar=("NX", "NT"))
    parser.add_argument("--bootstrap", type=int, default=100, help="find's n_bootstrap")
    parser.add_argument("--no-pysindy", action="store_true")
    return parser.parse_args(argv)


def draw_table(args: argparse.Namespace, run) -> int:
    """Run ``run(seed, noise, nx=, nt=, n_bootstrap=, pysindy=)`` for every draw and noise
    level; print one table row per method, then each method's count within 5% and median
    (a draw with wrong terms counts as 100%)."""
    nx, nt = args.grid
    print("\n| noise | draw | method | right | worst error | missed (−), extra (+) | wall | CPU |")
    print("|---|---|---|---|---|---|---|---|")
    errors: dict[tuple[float, str], list[float]] = {}
    for noise in args.noise:
        for seed in range(args.seed, args.seed + args.draws):
            res = run(seed, noise, nx=nx, nt=nt, n_bootstrap=args.bootstrap,
                      pysindy=not args.no_pysindy)  # fmt: skip
            for method, (s, wall, cpu) in res.items():
                # a draw with a missed or extra term is not within 5%, whatever its error
                errors.setdefault((noise, method), []).append(s["max_error"] if s["right"] else 1.0)
                print(
                    f"| {noise:.0%} | {seed} | {method} | {'yes' if s['right'] else 'no'} | "
                    f"{100 * s['max_error']:.2f}% | {_names(s)} | "
                    f"{wall:.0f} s | {cpu:.0f} s |",
                    flush=True,
                )
    print("\n| noise | method | within 5% | median worst error |\n|---|---|---|---|")
    for (noise, method), e in errors.items():
        ok = sum(x < 0.05 for x in e)
        print(f"| {noise:.0%} | {method} | {ok}/{len(e)} | {100 * np.median(e):.2f}% |")
    return 0
