"""``python -m discover.datasets``: the shipped samples of real data.

``python -m discover.datasets list`` names them; ``python -m discover.datasets sample NAME OUT.nc
[--force]`` writes one to a file (an existing file is kept unless ``--force``).  A bad name or
path is one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import sys

from discover.errors import DataError

from .samples import SAMPLES, write_sample


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m discover.datasets", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="name the shipped samples")
    one = sub.add_parser("sample", help="write a shipped sample to a netCDF file")
    one.add_argument("name", help=f"one of: {', '.join(SAMPLES)}")
    one.add_argument("out", help="the netCDF file to write")
    one.add_argument("--force", action="store_true", help="overwrite an existing file")
    args = parser.parse_args(argv)
    if args.command == "list":
        for name, sample in SAMPLES.items():
            print(f"{name}: {sample.description}")
        return 0
    try:
        out = write_sample(args.name, args.out, force=args.force)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {out}: {SAMPLES[args.name].description}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
