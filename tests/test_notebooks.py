"""The notebooks run from top to bottom."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


@pytest.mark.parametrize("name", ["quickstart.ipynb"])
def test_notebook_executes(name, tmp_path):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "".join(o.get("text", "") for o in outputs)
    assert "u_t = 0.07*u_xx - 1.3*u*u_x" in text


WEATHER_DATA = [
    Path(__file__).resolve().parents[2] / "shared" / "data" / sub
    for sub in ("era5", "smhi-45towns", "smhi-csv")
]


@pytest.mark.skipif(
    not all(p.exists() for p in WEATHER_DATA),
    reason="the shared weather data (../shared/data/era5, smhi-45towns, smhi-csv) is absent",
)
def test_weather_notebook_executes(tmp_path):
    nb = nbformat.read(NOTEBOOKS / "weather.ipynb", as_version=4)
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "".join(o.get("text", "") for o in outputs)
    assert "Falsterbo A" in text and "'Y'" in text
    assert "T_t = " in text and "km" in text and "/days" in text  # the towns, in km and days
    assert "t2m_t = " in text and "K/h" in text  # ERA5, in K and hours
    assert "persistence" in text and "climatology" in text
    assert "PDE:" in text and "ODE:" in text
