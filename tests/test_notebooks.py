"""The notebooks run from top to bottom."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from discover.datasets import shared_data_dir
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def executed_text(name: str, tmp_path: Path, timeout: int) -> str:
    """Run notebook ``name`` top to bottom in ``tmp_path``; its printed text (no errors)."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    return "".join(o.get("text", "") for o in outputs)


@pytest.mark.parametrize("name", ["quickstart.ipynb"])
def test_notebook_executes(name, tmp_path):
    text = executed_text(name, tmp_path, timeout=300)
    assert "u_t = 0.07*u_xx - 1.3*u*u_x" in text


WEATHER_DATA = [shared_data_dir() / sub for sub in ("era5", "smhi-45towns", "smhi-csv")]


@pytest.mark.skipif(
    not all(p.exists() for p in WEATHER_DATA),
    reason="the shared weather data (../shared/data/era5, smhi-45towns, smhi-csv) is absent",
)
def test_weather_notebook_executes(tmp_path):
    text = executed_text("weather.ipynb", tmp_path, timeout=600)
    assert "Falsterbo A" in text and "'Y'" in text
    assert "T_t = " in text and "km" in text and "/days" in text  # the towns, in km and days
    assert "t2m_t = " in text and "K/h" in text  # ERA5, in K and hours
    assert "persistence" in text and "climatology" in text
    assert "PDE:" in text and "ODE:" in text


def test_training_notebook_executes(tmp_path):
    text = executed_text("training.ipynb", tmp_path, timeout=300)
    assert "held-out relative RMSE" in text and "dimension" in text


def test_monge_ampere_notebook_executes(tmp_path):
    text = executed_text("monge_ampere.ipynb", tmp_path, timeout=300)
    assert "det(hessian(u))" in text
    rel = float(text.split("relative L2 error ")[1].split(";")[0])
    assert rel < 1e-2
    assert "(positive at 100% of 10^4 points)" in text


@pytest.mark.slow
def test_coefficient_fields_notebook_executes(tmp_path):
    text = executed_text("coefficient_fields.ipynb", tmp_path, timeout=1500)
    assert "1-D box" in text and "2-D polygon" in text and "3-D box" in text
    assert "D(x)*u_xx" in text and "max D / min D = 1: u_t = " in text
    assert "T_x*U" in text and "T_y*V" in text
    assert "diurnal amplitude" in text or "ERA5 data not found" in text
