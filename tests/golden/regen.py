"""Pin (or re-check) the golden outputs of ``discover find`` / ``discover validate``.

Run ``python tests/golden/regen.py`` to write them (before a refactor); ``tests/test_golden.py``
re-runs the same commands and compares.  Each case is one CLI call; generated data are
written by ``discover generate`` with fixed seeds, real data come from the shared folder.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent

#: generated inputs: name -> ``discover generate`` arguments
GENERATED = {
    "clean_fd": ["advection_diffusion", "--nx", "128", "--nt", "51"],
    "noisy_neural": ["burgers", "--nx", "96", "--nt", "41", "--noise", "0.1", "--seed", "3"],
    "stations": [
        "advection_diffusion", "--nx", "128", "--nt", "51", "--layout", "station",
        "--n-stations", "60", "--noise", "0.02", "--seed", "2",
    ],
}  # fmt: skip

#: case -> (input: a GENERATED key or a path under the shared data folder, find arguments,
#: validate arguments or None); slow cases are marked in the test
CASES = {
    "clean_fd": ("clean_fd", ["--var", "u", "--holdout", "last:20%"], []),
    "noisy_neural": (
        "noisy_neural", ["--var", "u", "--method", "neural", "--bootstrap", "20"], None,
    ),
    "stations": ("stations", ["--var", "u", "--bootstrap", "20"], None),
    "era5": (
        "era5/era5_t2m_2019-03_uk.nc", ["--var", "t2m", "--holdout", "last:72"],
        ["--leads", "1h,6h,24h"],
    ),
    "towns": ("smhi-45towns/smhi_45towns_2014.nc", ["--var", "T", "--bootstrap", "20"], None),
}  # fmt: skip
SLOW = {"noisy_neural", "stations", "towns"}

#: keys that depend on where and when a run happened, not on what it computed
VOLATILE = {"file", "version", "seconds", "wall_s", "elapsed", "time_s"}


def discover(*args: str) -> None:
    """``discover ARGS`` with the package of this checkout."""
    cmd = [sys.executable, "-c", "import discover_cli; discover_cli.main()", *args]
    done = subprocess.run(cmd, cwd=HERE.parents[1], capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"discover {' '.join(args)}: {done.stderr.strip()[-500:]}")


def run_case(name: str, shared: Path, work: Path) -> dict:
    """The find JSON (and the validate JSON, when the case has one) of one case."""
    source, find_args, validate_args = CASES[name]
    if source in GENERATED:
        data = work / f"{source}.nc"
        if not data.exists():
            discover("generate", *GENERATED[source][:1], str(data), *GENERATED[source][1:])
    else:
        data = shared / source
    out = work / f"{name}.json"
    discover("find", str(data), *find_args, "--json", str(out), "--force")
    result = {"find": json.loads(out.read_text())}
    if validate_args is not None:
        vout = work / f"{name}.validate.json"
        discover("validate", str(out), str(data), *validate_args, "--json", str(vout), "--force")
        result["validate"] = json.loads(vout.read_text())
    return strip(result)


def strip(obj):
    """``obj`` without the volatile keys."""
    if isinstance(obj, dict):
        return {k: strip(v) for k, v in obj.items() if k not in VOLATILE}
    if isinstance(obj, list):
        return [strip(v) for v in obj]
    return obj


def main(names: list[str]) -> None:
    sys.path.insert(0, str(HERE.parents[1]))
    from discover.datasets import shared_data_dir

    with tempfile.TemporaryDirectory() as tmp:
        for name in names or list(CASES):
            got = run_case(name, shared_data_dir(), Path(tmp))
            (HERE / f"{name}.json").write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
            print("pinned", name, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
