"""The samples of real data shipped with the package (discover.datasets.samples)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from discover.datasets import SAMPLES, open_sample, sample_path, write_sample
from discover.datasets.__main__ import main as datasets_main
from discover.datasets.samples import build_smhi_45towns

from discover.errors import DataError, UnknownNameError

ROOT = Path(__file__).resolve().parents[1]


def test_the_towns_sample_is_the_station_layout_with_its_licence():
    ds = open_sample("smhi_45towns")
    assert ds["T"].dims == ("time", "station")
    assert ds.sizes == {"time": 62, "station": 45}
    assert ds["T"].attrs["units"] == "degC"
    assert ds["lat"].attrs["units"] == "degrees_north"
    assert float(ds["lat"].min()) > 55 and float(ds["lat"].max()) < 68.5
    assert bool(np.all(np.isfinite(ds["T"].values)))
    assert "CC BY 4.0" in ds.attrs["license"]
    assert "SMHI" in ds.attrs["attribution"] and "Processed" in ds.attrs["attribution"]
    assert sample_path("smhi_45towns").stat().st_size < 1_000_000


def test_the_readme_carries_the_attribution():
    text = (ROOT / "datasets" / "data" / "README.md").read_text(encoding="utf-8")
    assert "CC BY 4.0" in text and "SMHI" in text
    assert "smhi_45towns.nc" in text


def test_a_wrong_name_lists_the_valid_ones():
    with pytest.raises(
        UnknownNameError, match="unknown sample 'towns' for name=; valid samples: 'smhi_45towns'"
    ):
        open_sample("towns")
    assert "smhi_45towns" in SAMPLES


def test_write_sample_keeps_an_existing_file_unless_forced(tmp_path):
    out = write_sample("smhi_45towns", tmp_path / "towns.nc")
    assert out.read_bytes() == sample_path("smhi_45towns").read_bytes()
    out.write_bytes(b"mine")
    with pytest.raises(DataError, match="exists; use --force"):
        write_sample("smhi_45towns", out)
    assert out.read_bytes() == b"mine"
    write_sample("smhi_45towns", out, force=True)
    assert xr.load_dataset(out).sizes["station"] == 45
    with pytest.raises(DataError, match="does not exist"):
        write_sample("smhi_45towns", tmp_path / "no" / "towns.nc")
    with pytest.raises(DataError, match="is a folder"):
        write_sample("smhi_45towns", tmp_path)
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left behind


def test_the_module_command_writes_a_sample_and_fails_in_one_line(tmp_path, capsys):
    assert datasets_main(["sample", "smhi_45towns", str(tmp_path / "t.nc")]) == 0
    assert (tmp_path / "t.nc").is_file()
    assert datasets_main(["sample", "towns", str(tmp_path / "u.nc")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: unknown sample 'towns'") and len(err.splitlines()) == 1
    assert not (tmp_path / "u.nc").exists()
    assert datasets_main(["list"]) == 0
    assert "smhi_45towns: SMHI" in capsys.readouterr().out


def test_the_shipped_file_is_the_shared_data_unchanged(shared_data):
    src = shared_data / "smhi-45towns"
    if not (src / "T.csv").is_file():
        pytest.skip(f"{src} has no T.csv")
    rebuilt = build_smhi_45towns(src)
    shipped = open_sample("smhi_45towns")
    xr.testing.assert_identical(rebuilt, shipped)
    reference = xr.load_dataset(src / "smhi_45towns_2014.nc")
    np.testing.assert_array_equal(shipped["T"].values, reference["T"].values)
    np.testing.assert_array_equal(shipped["lon"].values, reference["lon"].values)


@pytest.mark.slow
def test_the_built_wheel_installs_the_sample(tmp_path):
    """What a fresh clone installs: build the wheel from the package's own files and open
    the sample from the installed copy."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "discover_cli.py"):
        shutil.copy(ROOT / name, src / name)
    skip = shutil.ignore_patterns("__pycache__", "datasets")
    shutil.copytree(ROOT / "discover", src / "discover", ignore=skip)
    shutil.copytree(
        ROOT / "datasets", src / "datasets", ignore=shutil.ignore_patterns("__pycache__")
    )
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    subprocess.run(
        [
            *pip,
            "wheel",
            str(src),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path / "wheel"),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = (tmp_path / "wheel").glob("discover-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "discover/datasets/data/smhi_45towns.nc" in names
    assert "discover/datasets/data/README.md" in names
    site = tmp_path / "site"
    subprocess.run(
        [*pip, "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
        check=True,
        capture_output=True,
    )
    code = "from discover.datasets import open_sample, sample_path; "
    code += (
        "print(sample_path('smhi_45towns')); print(open_sample('smhi_45towns').sizes['station'])"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out[0].startswith(str(site)) and out[1] == "45"
    demo = [sys.executable, "-m", "discover.datasets", "sample", "smhi_45towns", "towns.nc"]
    subprocess.run(demo, env=env, cwd=tmp_path, check=True, capture_output=True)  # make demo's step
    assert xr.load_dataset(tmp_path / "towns.nc").sizes["station"] == 45
