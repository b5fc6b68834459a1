"""The ``discover`` script's entry point.

It lives outside the package so that an interrupt while the package is still being imported
(torch takes seconds) ends with one line and exit status 130, not a traceback.
"""

import sys


def main() -> None:
    try:
        from discover.cli import main as run
    except KeyboardInterrupt:
        print("discover: interrupted", file=sys.stderr)
        sys.exit(130)
    run()


if __name__ == "__main__":
    main()
