"""discover.io: layouts, decoding, and a one-line error for every kind of bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from discover.io import DataError, load, symbol_name, transform


def test_grid_layout_keeps_units_and_names(grid_ds):
    s = load(grid_ds, "u")
    assert s.layout == "grid"
    assert s.coords == ("t", "x") and s.fields == ("u",)
    assert s.n_samples == 21 * 40
    assert s.units == {"u": "K", "x": "km"}
    assert s.long_names["u"] == "temperature"
    assert s.grid is not None and s.grid["u"].dims == ("t", "x")
    np.testing.assert_allclose(s.values[:, 0], grid_ds["u"].values.ravel())


def test_grid_decreasing_coordinate_is_sorted(grid_ds):
    flipped = grid_ds.isel(x=slice(None, None, -1))
    s = load(flipped, "u")
    assert np.all(np.diff(s.grid["x"].values) > 0)
    np.testing.assert_allclose(s.grid["u"].values, grid_ds["u"].values)


def test_grid_transposed_dims_put_time_first(grid_ds):
    s = load(grid_ds.transpose("x", "t"), "u")
    assert s.grid["u"].dims == ("t", "x")


def test_datetime_time_decoded_to_days_with_origin(grid_ds):
    times = pd.date_range("2019-03-01", periods=21, freq="6h")
    ds = grid_ds.assign_coords(t=times).rename(t="time")
    s = load(ds, "u")
    assert s.coords[0] == "t" and s.names["t"] == "time"
    assert s.time_unit == "days" and s.time_origin == "2019-03-01T00:00:00"
    np.testing.assert_allclose(s.grid["t"].values, np.arange(21) * 0.25)
    hours = load(ds, "u", time_unit="hours")
    np.testing.assert_allclose(hours.grid["t"].values, np.arange(21) * 6.0)
    assert hours.units["t"] == "hours"


def test_nan_values_are_dropped_from_samples(grid_ds):
    ds = grid_ds.copy(deep=True)
    ds["u"][3, 5] = np.nan
    s = load(ds, "u")
    assert s.n_samples == 21 * 40 - 1
    assert np.isnan(s.grid["u"].values[3, 5])


def test_station_layout(rng):
    x = np.sort(rng.uniform(0, 10, 12))
    ds = xr.Dataset(
        {"T": (("time", "station"), rng.normal(size=(30, 12)))},
        coords={"time": np.arange(30.0), "station": np.arange(12), "x": ("station", x)},
    )
    s = load(ds, "T")
    assert s.layout == "station" and s.coords == ("t", "x") and s.grid is None
    assert s.n_samples == 360
    np.testing.assert_allclose(np.unique(s.points[:, 1]), x)


def test_station_layout_lat_lon_names(rng):
    ds = xr.Dataset(
        {"T": (("time", "station"), rng.normal(size=(10, 6)))},
        coords={
            "time": np.arange(10.0),
            "station": np.arange(6),
            "latitude": ("station", rng.uniform(55, 68, 6)),
            "longitude": ("station", rng.uniform(12, 22, 6)),
            "height": ("station", rng.uniform(0, 500, 6)),
        },
    )
    s = load(ds, "T")
    assert s.coords == ("t", "latitude", "longitude") or s.coords == ("t", "lat", "lon")
    assert s.names["lat"] == "latitude"  # height is not a position


def test_scattered_layout(rng):
    n = 300
    ds = xr.Dataset(
        {"u": (("obs",), rng.normal(size=n))},
        coords={"t": ("obs", rng.uniform(0, 1, n)), "x": ("obs", rng.uniform(0, 1, n))},
    )
    s = load(ds, "u")
    assert s.layout == "scattered" and s.coords == ("t", "x") and s.n_samples == n


def test_symbol_names():
    assert symbol_name("longitude") == "lon"
    assert symbol_name("air temp") == "air_temp"
    assert symbol_name("lambda") == "lambda_"


# ---------------------------------------------------------------- bad input


def _bad_cases(grid_ds):
    t, x = grid_ds["t"].values, grid_ds["x"].values
    u = grid_ds["u"].values
    nonmono = x.copy()
    nonmono[[5, 6]] = nonmono[[6, 5]]
    dup = x.copy()
    dup[7] = dup[6]
    return {
        "missing variable": (grid_ds, "w", "valid variables: 'u'"),
        "no time coordinate": (
            xr.Dataset({"u": (("a", "x"), u)}, coords={"a": t, "x": x}),
            "u",
            "no time",
        ),
        "non-monotonic": (grid_ds.assign_coords(x=nonmono), "u", "not monotonic"),
        "duplicate": (grid_ds.assign_coords(x=dup), "u", "duplicate"),
        "too few points": (grid_ds.isel(x=slice(0, 3)), "u", "only 3 points along 'x'"),
        "all NaN": (grid_ds.assign(u=grid_ds["u"] * np.nan), "u", "all NaN"),
        "constant": (grid_ds.assign(u=grid_ds["u"] * 0 + 2.5), "u", "constant"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "missing variable",
        "no time coordinate",
        "non-monotonic",
        "duplicate",
        "too few points",
        "all NaN",
        "constant",
    ],
)
def test_bad_input_one_line_error(grid_ds, case):
    ds, var, expected = _bad_cases(grid_ds)[case]
    with pytest.raises(DataError) as info:
        load(ds, var)
    msg = str(info.value)
    assert expected in msg
    assert "\n" not in msg


def test_unreadable_files(tmp_path):
    text = tmp_path / "notes.nc"
    text.write_text("this is not netCDF")
    with pytest.raises(DataError, match="not a netCDF file"):
        load(text, "u")
    with pytest.raises(DataError, match="no such file"):
        load(tmp_path / "missing.nc", "u")
    with pytest.raises(DataError, match="is a folder"):
        load(tmp_path, "u")


def test_time_only_variable_is_rejected():
    ds = xr.Dataset({"u": (("t",), np.arange(10.0))}, coords={"t": np.arange(10.0)})
    with pytest.raises(DataError, match="time only"):
        load(ds, "u")


def _latlon(lat_units="degrees_north"):
    t = np.arange(6.0)
    lat = np.linspace(60.0, 56.0, 9)  # decreasing, as ERA5
    lon = np.linspace(10.0, 14.0, 11)
    u = np.random.default_rng(1).normal(size=(6, 9, 11))
    return xr.Dataset(
        {"T": (("time", "latitude", "longitude"), u, {"units": "K"})},
        coords={
            "time": ("time", t, {"units": "h"}),
            "latitude": ("latitude", lat, {"units": lat_units}),
            "longitude": ("longitude", lon, {"units": "degrees_east"}),
        },
    )


def test_local_projection_of_lat_lon_to_km():
    s, tr = transform(load(_latlon(), "T"), {"lat": "km", "lon": "km", "T": "degC"})
    assert s.coords == ("t", "y", "x") and s.units["x"] == "km" and s.units["T"] == "degC"
    assert s.names["y"] == "latitude"
    deg = 6371.0088 * np.pi / 180  # km per degree of latitude
    ys, xs = s.grid["y"].values, s.grid["x"].values
    assert np.allclose([ys.min(), ys.max()], [-2 * deg, 2 * deg])
    assert np.allclose(xs.max() - xs.min(), 4 * deg * np.cos(np.deg2rad(58.0)))
    assert np.isclose(
        s.grid["T"].values.mean(), load(_latlon(), "T").grid["T"].values.mean() - 273.15
    )
    assert tr.renames == {"lat": "y", "lon": "x"}
    back = tr.inverse()
    assert back.renames == {"y": "lat", "x": "lon"} and back.units["lat"] == "degrees_north"


def test_transform_errors_are_one_line_data_errors():
    s = load(_latlon(), "T")
    with pytest.raises(DataError, match="needs a latitude"):
        no_lat = _latlon().rename(latitude="row")
        no_lat["row"].attrs["units"] = "1"
        transform(load(no_lat, "T"), {"lon": "km"})
    with pytest.raises(DataError, match="symbols of the data"):
        transform(s, {"z": "km"})
    with pytest.raises(DataError, match="only be rescaled"):
        transform(s, scale={"t": (1.0, 3.0)})
    with pytest.raises(DataError, match="both converted"):
        transform(s, {"T": "degC"}, scale={"T": (2.0, 0.0)})
    with pytest.raises(DataError, match="cannot convert 'h' \\(time\\)"):
        transform(s, {"t": "km"})
