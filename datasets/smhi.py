"""SMHI open data (the Swedish Meteorological and Hydrological Institute): its CSV files,
read into the station layout ``var(time, station)``, and a client of its open-data API.

An SMHI meteorological-observations file (``smhi-opendata_<parameter>_<station>_….csv``)
is UTF-8 with a byte-order mark, semicolon-separated, and made of blocks separated by blank
lines: the station (name, number, measuring height), the parameter (name, description,
unit), the station's position history (from, to, height above sea, latitude, longitude),
then the data: ``Datum;Tid (UTC);<parameter>;Kvalitet`` for hourly values, or
``Från Datum Tid (UTC);Till Datum Tid (UTC);Representativt dygn;<parameter>;Kvalitet`` for
daily ones, with free comment text in the trailing columns of the first rows.  Quality
codes: ``G`` checked and approved, ``Y`` suspect or aggregated (rough archive checks and
unchecked real-time values).

>>> import io
>>> text = '''\\ufeffStationsnamn;Klimatnummer;Mäthöjd (meter över marken)
... Test A;1;2.0
...
... Parameternamn;Beskrivning;Enhet
... Lufttemperatur;momentanvärde, 1 gång/tim;degree celsius
...
... Tidsperiod (fr.o.m);Tidsperiod (t.o.m);Höjd;Latitud;Longitud
... 2000-01-01 00:00:00;2020-01-01 00:00:00;10.0;59.0;18.0
...
... Datum;Tid (UTC);Lufttemperatur;Kvalitet;;Tidsutsnitt:
... 2019-01-01;00:00:00;-1.5;G;;a comment
... 2019-01-01;01:00:00;-1.9;Y
... '''
>>> ds = read_smhi_csv(io.StringIO(text))
>>> ds["T"].dims, ds["T"].attrs["units"], ds["quality"].values[:, 0].tolist()
(('time', 'station'), 'degC', ['G', 'Y'])
>>> float(ds["lat"][0]), str(ds["name"].values[0])
(59.0, 'Test A')
"""

from __future__ import annotations

import io
import json
import logging
import re
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd
import xarray as xr

from discover.io import DataError

__all__ = [
    "API",
    "PARAMETERS",
    "fetch_smhi",
    "merge_stations",
    "read_smhi_csv",
]

logger = logging.getLogger(__name__)

#: SMHI's open-data API for meteorological observations (no key needed)
API = "https://opendata-download-metobs.smhi.se/api/version/1.0"
#: parameter number -> (variable name, long name); the unit comes from the file
PARAMETERS: dict[int, tuple[str, str]] = {
    1: ("T", "air temperature, hourly instantaneous"),
    2: ("T", "air temperature, daily mean"),
    19: ("Tmin", "air temperature, daily minimum"),
    20: ("Tmax", "air temperature, daily maximum"),
    4: ("wind_speed", "wind speed, hourly mean"),
    3: ("wind_direction", "wind direction, hourly mean"),
    9: ("p", "air pressure at sea level"),
    6: ("rh", "relative humidity"),
}
PERIODS = ("latest-hour", "latest-day", "latest-months", "corrected-archive")
_UNITS = {"degree celsius": "degC", "celsius": "degC", "m/s": "m s-1", "hektopascal": "hPa"}


def _blocks(text: str) -> list[list[list[str]]]:
    """The file's blank-line-separated blocks, as rows of semicolon-separated cells; the
    data block runs to the end of the file (it has no blank lines)."""
    blocks: list[list[list[str]]] = [[]]
    for line in text.lstrip("\ufeff").splitlines():
        if not line.strip(";").strip():
            if blocks[-1]:
                blocks.append([])
            continue
        blocks[-1].append(line.split(";"))
    return [b for b in blocks if b]


def _block(blocks: list[list[list[str]]], first: str, what: str, source: str) -> list[list[str]]:
    for b in blocks:
        if b[0][0].strip().startswith(first):
            return b
    raise DataError(f"{source} has no {what} block (a header starting '{first}'): not an SMHI CSV")


def read_smhi_csv(
    path: str | Path | IO[str], *, drop_suspect: bool = False, name: str | None = None
) -> xr.Dataset:
    """Read one SMHI open-data CSV file into the station layout.

    Parameters
    ----------
    path : path or text stream
        The file as SMHI delivers it.
    drop_suspect : bool
        Set values of quality ``Y`` (suspect or aggregated) to NaN; the codes stay in
        ``quality`` either way.
    name : str, optional
        The variable's name; by default from the parameter (``T`` for air temperature, see
        :data:`PARAMETERS`), else the parameter's own name.

    Returns
    -------
    xarray.Dataset
        ``var(time, station)`` (one station) in the file's unit (``degC`` for ``degree
        celsius``), ``quality(time, station)`` with the codes, and per station ``lat``,
        ``lon`` (degrees, the latest position), ``height`` (m above sea), ``name`` and
        ``station_id``; times in UTC (daily values at their representative day).  The
        position history is kept in ``attrs["positions"]`` (JSON).
    """
    source = str(getattr(path, "name", path))
    if hasattr(path, "read"):
        text = path.read()
    else:
        try:
            text = Path(path).read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise DataError(f"{source} is not UTF-8 text: not an SMHI CSV file") from None
    blocks = _blocks(text)
    station = _block(blocks, "Stationsnamn", "station", source)
    param = _block(blocks, "Parameternamn", "parameter", source)
    pos = _block(blocks, "Tidsperiod (fr.o.m)", "position", source)
    data = next((b for b in blocks if b[0][0].strip() in ("Datum", "Från Datum Tid (UTC)")), None)
    if data is None:
        raise DataError(f"{source} has no data block ('Datum;Tid (UTC);…'): not an SMHI CSV")
    try:
        st_name, st_id = station[1][0].strip(), int(station[1][1])
        positions = [
            {
                "from": r[0],
                "to": r[1],
                "height": float(r[2]),
                "lat": float(r[3]),
                "lon": float(r[4]),
            }
            for r in pos[1:]
        ]
    except (IndexError, ValueError) as exc:
        raise DataError(f"{source}: cannot read the station or position block ({exc})") from None
    if not positions:
        raise DataError(f"{source} gives no station position (latitude, longitude)")
    pname, pdesc, punit = (c.strip() for c in param[1][:3])
    header = [c.strip() for c in data[0]]
    daily = header[0] == "Från Datum Tid (UTC)"
    vcol = 3 if daily else 2
    if len(header) <= vcol + 1 or header[vcol + 1] != "Kvalitet":
        raise DataError(f"{source}: data header {';'.join(header[:5])!r} has no Kvalitet column")
    rows = [r for r in data[1:] if len(r) > vcol + 1 and r[0].strip()]
    if daily:
        times = pd.to_datetime([r[2] for r in rows], format="%Y-%m-%d", errors="coerce")
    else:
        times = pd.to_datetime(
            [f"{r[0]} {r[1]}" for r in rows], format="%Y-%m-%d %H:%M:%S", errors="coerce"
        )
    values = pd.to_numeric(pd.Series([r[vcol] for r in rows]), errors="coerce").to_numpy(float)
    quality = np.array([r[vcol + 1].strip() for r in rows], dtype=object)
    bad = np.isnat(times.to_numpy())
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(f"{source}: row {i + 1} of the data has an unreadable date {rows[i][:2]}")
    if drop_suspect:
        values = np.where(quality == "Y", np.nan, values)
    if np.isnan(values).all():
        why = " (every value is flagged Y and drop_suspect is on)" if drop_suspect else ""
        raise DataError(f"{source} has no usable values{why}")
    frame = pd.DataFrame({"v": values, "q": quality}, index=times)
    frame = frame[~frame.index.duplicated(keep="first")].sort_index()
    var = name or ("T" if pname == "Lufttemperatur" else _ident(pname))
    last = positions[-1]
    ds = xr.Dataset(
        {
            var: (
                ("time", "station"),
                frame["v"].to_numpy()[:, None],
                {
                    "units": _UNITS.get(punit.lower(), punit),
                    "long_name": f"{pname} ({pdesc})",
                },
            ),
            "quality": (
                ("time", "station"),
                frame["q"].to_numpy(dtype=str)[:, None],
                {"long_name": "SMHI quality code", "flag_values": "G Y"},
            ),
        },
        coords={
            "time": ("time", frame.index.to_numpy(), {"standard_name": "time"}),
            "station": ("station", [st_id]),
            "lat": ("station", [last["lat"]], {"units": "degrees_north", "long_name": "latitude"}),
            "lon": ("station", [last["lon"]], {"units": "degrees_east", "long_name": "longitude"}),
            "height": ("station", [last["height"]], {"units": "m", "long_name": "height"}),
            "name": ("station", [st_name]),
        },
        attrs={
            "source": f"SMHI open data, {Path(source).name}",
            "institution": "SMHI (Swedish Meteorological and Hydrological Institute)",
            "positions": json.dumps({str(st_id): positions}),
            "smhi_parameter": pname,
        },
    )
    return ds


def _ident(text: str) -> str:
    return re.sub(r"\W+", "_", text.strip()).strip("_") or "value"


def merge_stations(datasets: Iterable[xr.Dataset]) -> xr.Dataset:
    """Several stations' datasets (e.g. from :func:`read_smhi_csv`) on one time axis.

    Times present at any station form the axis; a station's missing times are NaN (quality
    ``""``).  All stations must carry the same variable in the same unit, and the records
    must overlap in time.

    Raises
    ------
    DataError
        Different variables or units, a station twice, or records that do not overlap.
    """
    dss = list(datasets)
    if not dss:
        raise DataError("no stations to merge; give at least one dataset")
    vars_ = [[v for v in d.data_vars if v != "quality"] for d in dss]
    if any(v != vars_[0] for v in vars_):
        raise DataError(f"stations carry different variables {vars_}; merge one parameter")
    units = {str(d[v].attrs.get("units")) for d in dss for v in vars_[0]}
    if len(units) > 1:
        raise DataError(
            f"stations give {vars_[0][0]} in different units {sorted(units)}; convert them "
            "to one unit first"
        )
    ids = [int(i) for d in dss for i in d["station"].values]
    if len(set(ids)) < len(ids):
        raise DataError(f"station numbers repeat in {ids}; give each station once")
    spans = [(d["time"].values.min(), d["time"].values.max(), d) for d in dss]
    start, end = max(s for s, _, _ in spans), min(e for _, e, _ in spans)
    if start > end:
        late = max(spans, key=lambda s: s[0])[2]
        early = min(spans, key=lambda s: s[1])[2]
        raise DataError(
            f"station {late['name'].values[0]!s} starts ({str(start)[:10]}) after "
            f"{early['name'].values[0]!s} ends ({str(end)[:10]}): the records do not "
            "overlap in time; choose stations with a common period"
        )
    merged = xr.concat(dss, dim="station", join="outer", fill_value={"quality": ""})
    merged.attrs = {
        **dss[0].attrs,
        "positions": json.dumps(
            {k: v for d in dss for k, v in json.loads(d.attrs.get("positions", "{}")).items()}
        ),
        "source": "SMHI open data, " + ", ".join(str(i) for i in ids),
    }
    return merged


def fetch_smhi(
    parameter: int,
    stations: Sequence[int],
    period: str = "corrected-archive",
    *,
    drop_suspect: bool = False,
    timeout: float = 60.0,
) -> xr.Dataset:
    """Download stations' records from SMHI's open-data API and merge them.

    ``GET {API}/parameter/{parameter}/station/{id}/period/{period}/data.csv`` for each
    station, read with :func:`read_smhi_csv`, merged with :func:`merge_stations`.

    Parameters
    ----------
    parameter : int
        SMHI parameter number (1: hourly air temperature, 2: daily mean; see
        :data:`PARAMETERS` and SMHI's list at ``{API}/parameter.json``).
    stations : sequence of int
        Station numbers (e.g. 52240 Falsterbo A, 98230 Stockholm-Observatoriekullen A).
    period : {"corrected-archive", "latest-months", "latest-day", "latest-hour"}
    drop_suspect : bool
        Passed to :func:`read_smhi_csv`.

    Raises
    ------
    DataError
        Bad arguments, or SMHI has no such data (the message gives the URL).
    ConnectionError
        SMHI cannot be reached (no network).
    """
    if period not in PERIODS:
        raise DataError(f"unknown SMHI period '{period}'; valid periods: {', '.join(PERIODS)}")
    if not stations:
        raise DataError("no stations given; give SMHI station numbers, e.g. 52240")
    out = []
    for sid in stations:
        url = f"{API}/parameter/{int(parameter)}/station/{int(sid)}/period/{period}/data.csv"
        logger.info("fetching %s", url)
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp:
                text = resp.read().decode("utf-8-sig")
        except urllib.error.HTTPError as exc:
            raise DataError(
                f"SMHI has no parameter {parameter} for station {sid} in period '{period}' "
                f"(HTTP {exc.code} from {url})"
            ) from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise ConnectionError(f"cannot reach SMHI's open-data API at {API}: {exc}") from None
        out.append(read_smhi_csv(io.StringIO(text), drop_suspect=drop_suspect))
    return merge_stations(out)
