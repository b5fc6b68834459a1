"""Reader for the benchmark fields of Rudy et al. (2017), PDE-FIND's ``Datasets/*.mat``.

The files are not part of this project; tests and benchmarks read them from
``../shared/data/pde-find`` (see :func:`shared_data_dir`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xarray as xr

__all__ = ["PDEFIND", "load_pdefind", "shared_data_dir"]

#: file name -> (variable names in the file: x, t, u; whether u is stored (t, x); true equation)
PDEFIND: dict[str, dict] = {
    "burgers": {
        "file": "burgers.mat",
        "keys": ("x", "t", "usol"),
        "time_first": False,
        "equation": "u_t = -1.0*u*u_x + 0.1*u_xx",
        "coefficients": {"u*u_x": -1.0, "u_xx": 0.1},
    },
    "kdv": {
        "file": "kdv.mat",
        "keys": ("x", "t", "usol"),
        "time_first": False,
        "equation": "u_t = -6.0*u*u_x - 1.0*u_xxx",
        "coefficients": {"u*u_x": -6.0, "u_xxx": -1.0},
    },
    "kuramoto_sivashinsky": {
        "file": "kuramoto_sivishinky.mat",
        "keys": ("x", "tt", "uu"),
        "time_first": False,
        "equation": "u_t = -1.0*u*u_x - 1.0*u_xx - 1.0*u_xxxx",
        "coefficients": {"u*u_x": -1.0, "u_xx": -1.0, "u_xxxx": -1.0},
    },
    "nls": {
        "file": "nls.mat",
        "keys": ("x", "t", "usol"),
        "time_first": True,
        "equation": "I*u_t = -0.5*u_xx - Abs(u)**2*u",
        # the real pair u = u_re + I*u_im (the complex coefficients: u_xx 0.5i, |u|²u 1i)
        "coefficients": {
            "u_re": {"u_im_xx": -0.5, "u_im**3": -1.0, "u_im*u_re**2": -1.0},
            "u_im": {"u_re_xx": 0.5, "u_re**3": 1.0, "u_im**2*u_re": 1.0},
        },
    },
}


def shared_data_dir() -> Path:
    """The folder of shared read-only data (``../shared/data`` beside the repository)."""
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"


def load_pdefind(name_or_path: str | Path) -> xr.Dataset:
    """Read a PDE-FIND ``.mat`` file as a dataset ``u(t, x)`` (real part; NLS stays complex).

    Parameters
    ----------
    name_or_path : str or Path
        A key of :data:`PDEFIND` (read from :func:`shared_data_dir`) or a path to the file.
    """
    from scipy.io import loadmat

    path = Path(name_or_path)
    name = path.stem if path.suffix else str(name_or_path)
    key = {v["file"]: k for k, v in PDEFIND.items()}.get(path.name, name)
    if key not in PDEFIND:
        raise ValueError(
            f"unknown PDE-FIND dataset '{name}'; valid names: "
            + ", ".join(repr(k) for k in PDEFIND)
        )
    meta = PDEFIND[key]
    if not path.suffix:
        path = shared_data_dir() / "pde-find" / meta["file"]
    if not path.exists():
        raise FileNotFoundError(f"PDE-FIND file not found: '{path}'")
    mat = loadmat(path)
    kx, kt, ku = meta["keys"]
    x = np.asarray(mat[kx], dtype=float).ravel()
    t = np.asarray(mat[kt], dtype=float).ravel()
    u = np.asarray(mat[ku])
    if not meta["time_first"]:
        u = u.T
    if key != "nls":
        u = np.real(u).astype(float)
    ds = xr.Dataset({"u": (("t", "x"), u)}, coords={"t": t, "x": x})
    ds.attrs.update(
        {
            "title": f"PDE-FIND benchmark '{key}' (Rudy et al. 2017)",
            "source": str(path),
            "true_equation": meta["equation"],
            "true_coefficients": json.dumps(meta["coefficients"]),
            "periodic": 1,
        }
    )
    return ds
