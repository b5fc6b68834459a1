"""Small samples of real data shipped with the package, opened by name (like
``xarray.tutorial.open_dataset``, but installed, so nothing is downloaded).

``smhi_45towns``
    Daily mean air temperature at 45 Swedish towns (Stockholm, Göteborg, Malmö, Uppsala, …
    Kiruna; 55.6–67.9 °N, 12.0–22.2 °E), 62 consecutive days of autumn 2014, in the station
    layout ``T(time, station)`` with ``lat``, ``lon`` on ``station``.  Data: SMHI (Swedish
    Meteorological and Hydrological Institute) open data, licensed CC BY 4.0; as published
    in the repository MartinSundin/Connected-graph-constraint (MIT), converted to CF netCDF.
    The source does not state the first date, so time is a day index.  The licence and the
    attribution travel in the file's global attributes.

Examples
--------
>>> ds = open_sample("smhi_45towns")
>>> ds["T"].dims, ds.sizes["station"], ds.attrs["license"]
(('time', 'station'), 45, 'CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/)')
>>> open_sample("towns")
Traceback (most recent call last):
...
discover.errors.UnknownNameError: unknown sample 'towns' for name=; valid samples: 'smhi_45towns'
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import xarray as xr

from discover.errors import DataError
from discover.registry import Registry

__all__ = ["SAMPLES", "Sample", "build_smhi_45towns", "open_sample", "sample_path", "write_sample"]


@dataclass(frozen=True)
class Sample:
    """A shipped data file: its name in ``discover/datasets/data/`` and one line about it."""

    file: str
    description: str


#: shipped samples by name
SAMPLES: Registry[Sample] = Registry("sample", parameter="name")
SAMPLES.register(
    "smhi_45towns",
    Sample(
        "smhi_45towns.nc",
        "SMHI daily mean air temperature at 45 Swedish towns, 62 days of autumn 2014 (CC BY 4.0)",
    ),
)

#: what the file's global attributes say about where the data come from and on what terms
SMHI_ATTRIBUTION = {
    "title": "Daily mean air temperature at 45 Swedish towns, autumn 2014",
    "institution": "SMHI (Swedish Meteorological and Hydrological Institute)",
    "source": (
        "SMHI open data (meteorological observations, air temperature, daily means), "
        "https://www.smhi.se/data; as published in MartinSundin/Connected-graph-constraint, "
        "data/T.csv and data/coord45.csv (commit 6ab07e9, an MIT-licensed repository)"
    ),
    "license": "CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/)",
    "attribution": (
        "Contains data from SMHI (Swedish Meteorological and Hydrological Institute), "
        "licensed under CC BY 4.0. Processed: converted to CF netCDF by the discover project; "
        "values unchanged"
    ),
    "history": (
        "T.csv (45 stations x 62 days) and coord45.csv (lat, lon) joined into T(time, station); "
        "time is a day index since the source does not state the first date (October to "
        "December 2014)"
    ),
    "Conventions": "CF-1.8",
}


def sample_path(name: str) -> Path:
    """The installed file of the sample ``name``.

    >>> sample_path("smhi_45towns").name
    'smhi_45towns.nc'
    """
    entry = SAMPLES[name]
    path = Path(str(resources.files("discover.datasets").joinpath("data", entry.file)))
    if not path.is_file():
        raise DataError(
            f"the sample '{name}' is not installed ({path} is missing); reinstall the package "
            "from a clone that has datasets/data/",
            parameter="name",
        )
    return path


def open_sample(name: str) -> xr.Dataset:
    """The sample ``name`` loaded into memory (see the module notes for the names).

    Parameters
    ----------
    name : str
        One of :data:`SAMPLES`; a wrong name is one line that lists the valid ones.
    """
    return xr.load_dataset(sample_path(name))


def write_sample(name: str, out: str | Path, *, force: bool = False) -> Path:
    """Copy the sample ``name`` to ``out`` (a netCDF file); an existing file is kept unless
    ``force``."""
    source = sample_path(name)
    out = Path(out)
    if out.is_dir():
        raise DataError(f"'{out}' is a folder; give a file name such as {out / name}.nc")
    if not out.parent.is_dir():
        raise DataError(f"the folder '{out.parent}' does not exist; create it first")
    if out.exists() and not force:
        raise DataError(f"'{out}' exists; use --force to overwrite it, or choose another path")
    data = source.read_bytes()
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return out


def build_smhi_45towns(source: str | Path) -> xr.Dataset:
    """The shipped ``smhi_45towns`` sample, rebuilt from the folder that holds ``T.csv`` (45
    rows of 62 days, °C) and ``coord45.csv`` (45 rows ``lat,lon``).

    This is how ``datasets/data/smhi_45towns.nc`` was made::

        build_smhi_45towns("../shared/data/smhi-45towns").to_netcdf(
            "datasets/data/smhi_45towns.nc", encoding=SAMPLE_ENCODING)
    """
    source = Path(source)
    temps = np.loadtxt(source / "T.csv", delimiter=",", ndmin=2)
    coords = np.loadtxt(source / "coord45.csv", delimiter=",", ndmin=2)
    if temps.shape[0] != coords.shape[0] or coords.shape[1] != 2:
        raise DataError(
            f"T.csv has {temps.shape[0]} stations but coord45.csv {coords.shape[0]} rows of "
            "lat,lon; give the two files of the same stations"
        )
    n_station, n_day = temps.shape
    day = {
        "long_name": "day index, autumn 2014 (first date not stated by the source)",
        "units": "days",
    }
    lat = {"units": "degrees_north", "standard_name": "latitude"}
    lon = {"units": "degrees_east", "standard_name": "longitude"}
    t_attrs = {"long_name": "daily mean air temperature", "units": "degC"}
    return xr.Dataset(
        {"T": (("time", "station"), temps.T, t_attrs)},
        coords={
            "time": ("time", np.arange(n_day, dtype=float), day),
            "station": ("station", np.arange(n_station), {"long_name": "town number"}),
            "lat": ("station", coords[:, 0], lat),
            "lon": ("station", coords[:, 1], lon),
        },
        attrs=dict(SMHI_ATTRIBUTION),
    )


#: how the shipped files are stored (compressed; values unchanged)
SAMPLE_ENCODING = {v: {"zlib": True, "complevel": 9} for v in ("T", "lat", "lon")}
