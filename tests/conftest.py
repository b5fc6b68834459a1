"""Shared fixtures: seeded random numbers, the shared data folder, small generated fields."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from discover.datasets import shared_data_dir


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261123)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"shared data folder not found at {path} (it lives beside the repository)")
    return path


@pytest.fixture
def grid_ds() -> xr.Dataset:
    """A small smooth gridded field u(t, x) with units and long names."""
    t = np.linspace(0, 1, 21)
    x = np.linspace(0, 2 * np.pi, 40)
    u = np.exp(-0.1 * t)[:, None] * np.sin(x)[None, :] + 0.1 * x[None, :]
    ds = xr.Dataset({"u": (("t", "x"), u)}, coords={"t": t, "x": x})
    ds["u"].attrs.update(units="K", long_name="temperature")
    ds["x"].attrs.update(units="km")
    return ds


@pytest.fixture
def write_nc(tmp_path):
    """Write a dataset to a netCDF file in tmp_path and return its path."""

    def write(ds: xr.Dataset, name: str = "data.nc") -> Path:
        path = tmp_path / name
        ds.to_netcdf(path)
        return path

    return write
