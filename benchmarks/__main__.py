"""``python -m benchmarks``: see :mod:`benchmarks.run`; ``python -m benchmarks neural-solver``:
see :mod:`benchmarks.neural_solver`; ``python -m benchmarks coverage``: see
:mod:`benchmarks.coverage`; ``python -m benchmarks speed``: see :mod:`benchmarks.speed`;
``python -m benchmarks lambda-omega``: see :mod:`benchmarks.lambda_omega`; ``python -m
benchmarks invert``: see :mod:`benchmarks.invert`; ``python -m benchmarks stations``: see
:mod:`benchmarks.stations`; ``python -m benchmarks advection-diffusion-2d``: see
:mod:`benchmarks.advection_diffusion_2d`."""

import sys

if __name__ == "__main__":
    if sys.argv[1:2] == ["neural-solver"]:
        from .neural_solver import main as neural_solver

        sys.exit(neural_solver(sys.argv[2:]))
    if sys.argv[1:2] == ["coverage"]:
        from .coverage import main as coverage

        sys.exit(coverage(sys.argv[2:]))
    if sys.argv[1:2] == ["invert"]:
        from .invert import main as invert

        sys.exit(invert(sys.argv[2:]))
    if sys.argv[1:2] == ["stations"]:
        from .stations import main as stations

        sys.exit(stations(sys.argv[2:]))
    if sys.argv[1:2] == ["speed"]:
        from .speed import main as speed

        sys.exit(speed(sys.argv[2:]))
    if sys.argv[1:2] == ["lambda-omega"]:
        from .lambda_omega import main as lambda_omega

        sys.exit(lambda_omega(sys.argv[2:]))
    if sys.argv[1:2] == ["advection-diffusion-2d"]:
        from .advection_diffusion_2d import main as advection_diffusion_2d

        sys.exit(advection_diffusion_2d(sys.argv[2:]))
    from .run import main

    sys.exit(main())
