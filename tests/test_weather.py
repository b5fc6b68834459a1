"""Weather data: the SMHI CSV reader (real file and small files in its format), merging
stations, the fetch command, the weather preset and forcing terms, units in the report."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from discover.datasets import shared_data_dir
from discover.datasets.smhi import fetch_smhi, merge_stations, read_smhi_csv
from typer.testing import CliRunner

import discover
from discover.cli import app
from discover.equation import Equation
from discover.io import DataError, load
from discover.weather import weather_settings

runner = CliRunner()
FALSTERBO = shared_data_dir() / "smhi-csv" / "smhi-opendata_1_52240_20200905_163726.csv"
TOWNS = shared_data_dir() / "smhi-45towns" / "smhi_45towns_2014.nc"
ERA5 = shared_data_dir() / "era5" / "era5_t2m_2019-03_uk.nc"

POSITIONS = (
    "Tidsperiod (fr.o.m);Tidsperiod (t.o.m);Höjd (meter över havet);"
    "Latitud (decimalgrader);Longitud (decimalgrader)"
)
HEAD = """\ufeffStationsnamn;Klimatnummer;Mäthöjd (meter över marken)
{name};{number};2.0

Parameternamn;Beskrivning;Enhet
Lufttemperatur;{desc};{unit}

{positions}
2000-01-01 00:00:00;2010-01-01 00:00:00;5.0;{lat0};{lon0}
2010-01-01 00:00:00;2020-01-01 00:00:00;7.0;{lat};{lon}

"""


def smhi_file(
    path: Path,
    rows: list[tuple[str, str, float, str]],
    *,
    name: str = "Test A",
    number: int = 1,
    lat: float = 59.0,
    lon: float = 18.0,
    unit: str = "degree celsius",
) -> Path:
    """A file in SMHI's hourly format (comment text in the first rows' trailing columns)."""
    text = HEAD.format(
        positions=POSITIONS,
        name=name,
        number=number,
        desc="momentanvärde, 1 gång/tim",
        unit=unit,
        lat0=lat - 0.1,
        lon0=lon,
        lat=lat,
        lon=lon,
    )
    text += "Datum;Tid (UTC);Lufttemperatur;Kvalitet;;Tidsutsnitt:\n"
    for i, (d, t, v, q) in enumerate(rows):
        text += f"{d};{t};{v};{q}" + (";;Kvalitetskoderna: G, Y\n" if i < 2 else "\n")
    path.write_text(text, encoding="utf-8")
    return path


def assert_math_compiles(tex: str) -> None:
    """The LaTeX is one ``equation`` environment whose body TeX's math parser accepts
    (matplotlib's mathtext: the same grammar for sub/superscripts, fractions, functions)."""
    from matplotlib.mathtext import MathTextParser

    lines = tex.strip().splitlines()
    assert lines[0] == "\\begin{equation}" and lines[-1] == "\\end{equation}", tex
    body = " ".join(lines[1:-1]).strip()
    assert body.count("{") == body.count("}")
    MathTextParser("path").parse(f"${body}$")  # raises ValueError on bad TeX


def hours(day: str, n: int, start: float = 0.0, q: str = "G") -> list[tuple[str, str, float, str]]:
    return [(day, f"{h:02d}:00:00", start + 0.5 * h, q) for h in range(n)]


# ----------------------------------------------------------------------------- reader
@pytest.mark.skipif(not FALSTERBO.exists(), reason=f"shared SMHI file absent: {FALSTERBO}")
def test_reads_the_real_falsterbo_file_with_its_quality_codes():
    ds = read_smhi_csv(FALSTERBO)
    assert ds["T"].dims == ("time", "station") and ds.sizes["time"] > 95_000
    assert ds["T"].attrs["units"] == "degC"
    assert str(ds["name"].values[0]) == "Falsterbo A" and int(ds["station"][0]) == 52240
    assert float(ds["lat"][0]) == pytest.approx(55.3837) and float(ds["lon"][0]) == 12.8166
    assert ds["time"].values[0] == np.datetime64("2009-07-01T06:00")
    assert float(ds["T"][0, 0]) == 19.7 and float(ds["T"][2, 0]) == 23.1
    codes = ds["quality"].values[:, 0]
    assert set(np.unique(codes)) == {"G", "Y"} and codes[2] == "Y"
    assert np.all(np.diff(ds["time"].values) > np.timedelta64(0))
    dropped = read_smhi_csv(FALSTERBO, drop_suspect=True)
    assert np.isnan(dropped["T"].values[codes == "Y"]).all()
    assert not np.isnan(dropped["T"].values[codes == "G"]).any()


def test_reads_hourly_and_daily_files_and_keeps_the_position_history(tmp_path):
    ds = read_smhi_csv(smhi_file(tmp_path / "a.csv", hours("2019-01-01", 5)))
    assert ds.sizes["time"] == 5 and float(ds["lat"][0]) == 59.0
    assert float(ds["height"][0]) == 7.0  # the latest position
    assert '"lat": 58.9' in ds.attrs["positions"]
    daily = HEAD.format(positions=POSITIONS, name="D", number=2, desc="medelvärde 1 dygn",
                        unit="degree celsius", lat0=60, lon0=15, lat=60, lon=15)  # fmt: skip
    daily += (
        "Från Datum Tid (UTC);Till Datum Tid (UTC);Representativt dygn;Lufttemperatur;Kvalitet\n"
    )
    daily += "2019-01-01 00:00:01;2019-01-02 00:00:00;2019-01-01;-3.2;G\n"
    daily += "2019-01-02 00:00:01;2019-01-03 00:00:00;2019-01-02;-4.0;Y\n"
    (tmp_path / "d.csv").write_text(daily, encoding="utf-8")
    d = read_smhi_csv(tmp_path / "d.csv")
    assert d["T"].values[:, 0].tolist() == [-3.2, -4.0]
    assert d["time"].values[1] == np.datetime64("2019-01-02")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("just text\n", "no station block"),
        ("Stationsnamn;Klimatnummer\nA;1\n\nParameternamn;Beskrivning;Enhet\nL;x;C\n\n"
         "Tidsperiod (fr.o.m);Tidsperiod (t.o.m);Höjd;Lat;Lon\n\nDatum;Tid (UTC);L;Kvalitet\n"
         "2019-01-01;00:00:00;1.0;G\n", "no station position"),
    ],
)  # fmt: skip
def test_unreadable_files_get_one_line_errors(tmp_path, content, message):
    p = tmp_path / "bad.csv"
    p.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=message):
        read_smhi_csv(p)


def test_an_all_flagged_series_is_an_error_when_flags_are_dropped(tmp_path):
    p = smhi_file(tmp_path / "y.csv", hours("2019-01-01", 4, q="Y"))
    assert read_smhi_csv(p).sizes["time"] == 4
    with pytest.raises(DataError, match="every value is flagged Y"):
        read_smhi_csv(p, drop_suspect=True)


# ----------------------------------------------------------------------------- merging
def test_stations_merge_on_a_common_time_axis_with_gaps(tmp_path):
    a = read_smhi_csv(smhi_file(tmp_path / "a.csv", hours("2019-01-01", 6), number=1))
    b = read_smhi_csv(
        smhi_file(tmp_path / "b.csv", hours("2019-01-01", 8)[3:], number=2, name="B", lat=60)
    )
    m = merge_stations([a, b])
    assert m["T"].dims == ("time", "station") and m.sizes == {"time": 8, "station": 2}
    assert np.isnan(m["T"].sel(station=2).values[:3]).all()
    assert np.isnan(m["T"].sel(station=1).values[6:]).all()
    assert m["quality"].sel(station=2).values[0] == ""
    assert m["lat"].values.tolist() == [59.0, 60.0]
    assert [str(n) for n in m["name"].values] == ["Test A", "B"]


@pytest.mark.parametrize(
    ("second", "message"),
    [
        ({"number": 2, "rows": hours("2019-02-01", 3)}, "do not overlap in time"),
        ({"number": 2, "unit": "kelvin"}, "different units"),
        ({"number": 1}, "station numbers repeat"),
    ],
)
def test_merging_bad_stations_fails_with_one_line(tmp_path, second, message):
    a = read_smhi_csv(smhi_file(tmp_path / "a.csv", hours("2019-01-01", 4)))
    rows = second.pop("rows", hours("2019-01-01", 4))
    b = read_smhi_csv(smhi_file(tmp_path / "b.csv", rows, **second))
    with pytest.raises(DataError, match=message):
        merge_stations([a, b])


# ----------------------------------------------------------------------------- fetch
def test_fetch_reads_csv_files_and_writes_the_station_layout(tmp_path):
    a = smhi_file(tmp_path / "a.csv", hours("2019-01-01", 6), number=1)
    b = smhi_file(tmp_path / "b.csv", hours("2019-01-01", 6), number=2, lat=61.0)
    out = tmp_path / "st.nc"
    res = runner.invoke(app, ["fetch", "smhi", "--csv", str(a), "--csv", str(b), "--out", str(out)])
    assert res.exit_code == 0, res.output
    ds = xr.open_dataset(out)
    assert ds["T"].shape == (6, 2) and ds["lat"].attrs["units"] == "degrees_north"
    res = runner.invoke(app, ["fetch", "smhi", "--csv", str(a), "--out", str(out)])
    assert res.exit_code == 2 and "exists" in res.output  # never overwritten without --force


def test_fetch_without_network_is_one_line_and_exit_2(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(ConnectionError, match="cannot reach SMHI"):
        fetch_smhi(1, [52240])
    res = runner.invoke(
        app, ["fetch", "smhi", "--stations", "52240", "--out", str(tmp_path / "x.nc")]
    )
    assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1
    assert not (tmp_path / "x.nc").exists()


def test_fetch_asks_smhi_for_the_documented_url(monkeypatch, tmp_path):
    body = smhi_file(tmp_path / "a.csv", hours("2019-01-01", 3), number=52240).read_bytes()
    asked = []

    class Response:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def read(self):
            return body

    def fake(url, timeout):
        asked.append(url)
        return Response()

    monkeypatch.setattr(urllib.request, "urlopen", fake)
    ds = fetch_smhi(1, [52240], "corrected-archive")
    assert asked == [
        "https://opendata-download-metobs.smhi.se/api/version/1.0/parameter/1/station/52240"
        "/period/corrected-archive/data.csv"
    ]
    assert ds.sizes["time"] == 3
    with pytest.raises(DataError, match="valid periods"):
        fetch_smhi(1, [52240], "yesterday")


# ----------------------------------------------------------------------------- preset, units
def _station_ds(step_days: float, n: int) -> xr.Dataset:
    t = np.arange(n) * step_days
    return xr.Dataset(
        {"T": (("time", "station"), np.arange(4.0 * n).reshape(n, 4), {"units": "K"})},
        coords={
            "time": ("time", t, {"units": "days"}),
            "lat": ("station", [55.0, 56, 57, 58], {"units": "degrees_north"}),
            "lon": ("station", [12.0, 14, 13, 15], {"units": "degrees_east"}),
        },
    )


def test_weather_preset_declares_units_and_forcing():
    hourly = weather_settings(load(_station_ds(1 / 24, 100), "T"))
    assert hourly["units"] == {"t": "h", "lat": "km", "lon": "km"}
    assert hourly["extra"] == ["T", "sin(pi*t/12)", "cos(pi*t/12)"]
    daily = weather_settings(load(_station_ds(1.0, 60), "T"))
    assert daily["units"]["t"] == "days" and daily["extra"] == ["T"]
    long = weather_settings(load(_station_ds(1.0, 400), "T"))
    assert long["extra"] == ["T", "sin(2*pi*t/365)", "cos(2*pi*t/365)"]
    bare = _station_ds(1.0, 60)
    bare["lat"].attrs = {}
    with pytest.raises(DataError, match="no degree units"):
        weather_settings(load(bare, "T"))


def test_coefficients_carry_their_units():
    eq = Equation("T_t", [("T_x", -20.0), ("T", -0.05), ("sin(pi*t/12)", 0.3)],
                  fields=["T"], coords=["t", "y", "x"],
                  units={"T": "K", "t": "h", "x": "km", "y": "km"})  # fmt: skip
    assert eq.coefficient_units() == {"T_x": "km/h", "T": "1/h", "sin(pi*t/12)": "K/h"}
    assert "km/h" in eq.summary() and "K/h" in eq.summary()
    assert eq.to_dict()["coefficient_units"]["T"] == "1/h"


def _forced() -> xr.Dataset:
    """u_t = -0.5 u + sin(pi t): an ODE forced in time, the same at every x."""
    t = np.linspace(0, 10, 101)
    x = np.linspace(0, 1, 64)
    w = np.pi
    forced = (0.5 * np.sin(w * t) - w * np.cos(w * t)) / (0.25 + w**2)
    u = np.exp(-0.5 * t)[:, None] * (1 + 0.3 * x[None] ** 2) + forced[:, None]
    return xr.Dataset({"u": (("t", "x"), u)}, coords={"t": t, "x": x})


def test_forcing_terms_in_the_coordinates_are_found():
    """The forcing term enters the library as a function of the coordinate t."""
    extra = ["sin(pi*t)", "cos(pi*t)"]
    fd = discover.find(_forced(), "u", method="fd", extra=extra, max_order=2, degree=1)
    c = fd.equations[0].coefficients
    assert set(c) == {"u", "sin(pi*t)"}
    assert c["u"] == pytest.approx(-0.5, rel=1e-3) and c["sin(pi*t)"] == pytest.approx(1, rel=1e-3)


@pytest.mark.slow
def test_forcing_terms_are_found_by_the_neural_weak_form():
    """The same through the neural interpolant and the weak form (about a minute)."""
    nn = discover.find(
        _forced(), "u", method="neural", extra=["sin(pi*t)", "cos(pi*t)"], max_order=2,
        degree=1, n_bootstrap=0, neural={"adam_steps": 600, "lbfgs_steps": 100},
    )  # fmt: skip
    c = nn.equations[0].coefficients
    assert set(c) == {"u", "sin(pi*t)"}
    assert c["u"] == pytest.approx(-0.5, rel=0.05) and c["sin(pi*t)"] == pytest.approx(1, rel=0.05)


@pytest.mark.skipif(not TOWNS.exists(), reason=f"shared SMHI towns file absent: {TOWNS}")
def test_swedish_towns_give_an_equation_in_km_and_days(tmp_path):
    out = tmp_path / "towns.json"
    tex = tmp_path / "towns.tex"
    res = runner.invoke(
        app,
        ["find", str(TOWNS), "--var", "T", "--json", str(out), "--latex", str(tex),
         "--bootstrap", "0"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert res.output.startswith("preset weather (auto: coordinates lat, lon in degrees")
    import json

    doc = json.loads(out.read_text())
    eq = doc["equations"][0]
    assert eq["lhs"] == "T_t" and eq["units"]["x"] == "km" and eq["units"]["t"] == "days"
    assert all(u.endswith("/days") for u in eq["coefficient_units"].values())
    assert "/days" in res.output
    assert_math_compiles(tex.read_text())


@pytest.mark.skipif(not ERA5.exists(), reason=f"shared ERA5 file absent: {ERA5}")
def test_era5_gives_an_equation_in_units_and_latex_with_the_plain_command(tmp_path):
    """Done-when of issue #7: ``discover find era5.nc --var t2m --latex out.tex``."""
    tex = tmp_path / "out.tex"
    res = runner.invoke(app, ["find", str(ERA5), "--var", "t2m", "--latex", str(tex)])
    assert res.exit_code == 0, res.output
    first = res.output.splitlines()[0]
    assert first.startswith("preset weather (auto:") and "method fd" in first
    assert "K/h" in res.output and r"\mathrm{K}" in tex.read_text()
    assert_math_compiles(tex.read_text())


def test_the_preset_is_chosen_by_the_coordinates():
    from discover.presets import choose_preset

    geo = load(_station_ds(1.0, 60), "T")
    assert choose_preset(geo, "auto")[0] == "weather"
    assert choose_preset(geo, "none") == (None, "none")
    plain = xr.Dataset({"u": (("t", "x"), np.arange(48.0).reshape(6, 8) ** 2)},
                       coords={"t": np.arange(6.0), "x": np.arange(8.0)})  # fmt: skip
    assert choose_preset(load(plain, "u"), "auto")[0] is None
    for name, unit in (("theta", "degrees"), ("lon", "degrees_east")):  # no latitude
        polar = plain.rename(x=name).assign_coords({name: (name, np.arange(8.0), {"units": unit})})
        assert choose_preset(load(polar, "u"), "auto")[0] is None
    with pytest.raises(DataError, match="valid presets: 'auto', 'none', 'weather'"):
        choose_preset(geo, "climate")
    r = discover.find(_forced(), "u", method="fd", max_order=1, degree=1, n_bootstrap=0)
    assert r.settings["preset"] is None and r.transform is None


@pytest.mark.skipif(not TOWNS.exists(), reason=f"shared SMHI towns file absent: {TOWNS}")
def test_towns_are_forecast_at_stations_the_discovery_never_saw(tmp_path):
    from discover.validate import validate

    towns = xr.open_dataset(TOWNS)
    r = discover.find(towns, "T", holdout="last:20%,stations:9", n_bootstrap=0)
    held = r.settings["holdout_stations"]
    assert len(held) == 9 and r.samples.n_samples < 36 * 62
    quick = {"adam_steps": 150, "lbfgs_steps": 150}  # the full neural solve: a slow test
    v = validate(r, towns, solver_options=quick)
    assert v.info["solver"] in ("neural", "ode")  # auto: the neural core unless an ODE
    assert len(v.info["holdout_stations"]) == 9 and v.info["n_stations"] == 45
    leads = v.at_leads([1.0, 2.0, 5.0])
    for key in ("equation @ held-out stations", "persistence @ held-out stations"):
        assert all(np.isfinite(leads[key])) and all(0 < e < 10 for e in leads[key])
