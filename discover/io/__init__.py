"""Open measured fields and hand them on as :class:`Samples`.

This package's one job: take a netCDF file or an :class:`xarray.Dataset`, pick the
variable(s), check dims, coordinates, units and missing values, detect the layout and hand
on one :class:`Samples` structure that the rest of the pipeline reads.

==========================  ====================================================================
module                      its one job
==========================  ====================================================================
:mod:`~.reading`            open netCDF files, symbols, time decoding, ``sel``, value checks
:mod:`~.layouts`            the layouts (grid, station, scattered), one plug-in each
:mod:`~.loading`            :func:`load`: reading, then the layout's loader
:mod:`~.units`              units, conversions, declared transforms (:func:`transform`)
:mod:`~.geodesy`            latitude/longitude: continuous longitudes, local projection
:mod:`~.holdout`            the hold-outs ``find`` leaves out and ``validate`` scores on
:mod:`~.samples`            :class:`Samples`
==========================  ====================================================================

Datetime times are decoded to a float unit (days unless asked otherwise) counted from the
first time, and the origin is recorded.  Names used in equations are *symbols*: the time
is always ``t``, ``latitude``/``longitude`` become ``lat``/``lon`` and other names are kept
(made into valid identifiers).

Examples
--------
>>> import numpy as np, xarray as xr
>>> from discover.io import load
>>> x = np.linspace(0, 1, 20); t = np.linspace(0, 1, 10)
>>> ds = xr.Dataset({"u": (("t", "x"), np.sin(x)[None, :] * np.exp(-t)[:, None])},
...                 coords={"t": t, "x": x})
>>> s = load(ds, "u")
>>> s.layout, s.coords, s.n_samples
('grid', ('t', 'x'), 200)
"""

from ..errors import DataError
from .geodesy import DEGREE_UNITS, EARTH_RADIUS, degree_kind
from .holdout import (
    HOLDOUT_KINDS,
    HOLDOUT_SEED,
    at_positions,
    holdout_start,
    holdout_stations,
    parse_holdout,
    split_holdout,
    station_positions,
    station_table,
)
from .layouts import LAYOUTS, MIN_POINTS_PER_DIM, MIN_SAMPLES, Layout, Request
from .loading import load
from .reading import ENSEMBLE_DIMS, TIME_UNITS, open_dataset, parse_sel, select, symbol_name
from .samples import Samples
from .units import UNITS, Transform, hours_per, transform, unit_conversion

__all__ = [
    "DEGREE_UNITS",
    "EARTH_RADIUS",
    "ENSEMBLE_DIMS",
    "HOLDOUT_KINDS",
    "HOLDOUT_SEED",
    "LAYOUTS",
    "MIN_POINTS_PER_DIM",
    "MIN_SAMPLES",
    "TIME_UNITS",
    "UNITS",
    "DataError",
    "Layout",
    "Request",
    "Samples",
    "Transform",
    "at_positions",
    "degree_kind",
    "holdout_start",
    "holdout_stations",
    "hours_per",
    "load",
    "open_dataset",
    "parse_holdout",
    "parse_sel",
    "select",
    "split_holdout",
    "station_positions",
    "station_table",
    "symbol_name",
    "transform",
    "unit_conversion",
]
