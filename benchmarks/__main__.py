"""``python -m benchmarks``: see :mod:`benchmarks.run`; ``python -m benchmarks neural-solver``:
see :mod:`benchmarks.neural_solver`."""

import sys

if __name__ == "__main__":
    if sys.argv[1:2] == ["neural-solver"]:
        from .neural_solver import main as neural_solver

        sys.exit(neural_solver(sys.argv[2:]))
    from .run import main

    sys.exit(main())
