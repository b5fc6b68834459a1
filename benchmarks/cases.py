"""The benchmark's datasets: clean fields with their true equations, and the noise.

Each :class:`Case` loads a clean field once; :func:`noisy` adds Gaussian noise of standard
deviation ``p·std(u)`` (the convention of PDE-FIND and DeePyMoD, ``convention="std"``) or
``p·rms(u)`` (weak SINDy's and E-WSINDy's, ``convention="rms"``) with a seed of its own, so
every method of one run sees the very same numbers.  Each field of a case gets its own
noise; a complex field (NLS) gets complex noise of the same mean square ``|ε|²``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
import xarray as xr
from discover.datasets import make_dataset
from discover.datasets.pdefind import PDEFIND, load_pdefind, shared_data_dir

__all__ = ["CASES", "CONVENTIONS", "NOISE_LEVELS", "Case", "noisy", "unavailable"]

#: relative noise levels p: PDE-FIND's small ones and E-WSINDy's (0, 10, 50, 100, 150, 200%)
NOISE_LEVELS: tuple[float, ...] = (0.0, 0.01, 0.05, 0.10, 0.20, 0.50, 1.0, 1.5, 2.0)
#: noise conventions: σ = p·std(u) (PDE-FIND, DeePyMoD) or σ = p·rms(u) (weak SINDy)
CONVENTIONS: tuple[str, ...] = ("std", "rms")


@dataclass(frozen=True)
class Case:
    """One benchmark dataset.

    Attributes
    ----------
    name : str
        Short name used on the command line and in the CSV.
    label : str
        What the table calls it (source and size).
    load : callable
        Returns the clean dataset ``u(t, x[, y])`` (or ``u(t, station)``) with
        ``attrs["true_coefficients"]``.
    max_order : int
        Highest spatial derivative in every method's library (the same for all methods).
    gridded : bool
        False for station data, where pysindy has no entry.
    pdefind : str, optional
        The PDE-FIND file it reads (the case is skipped where the shared data is absent).
    cost : float
        Rough relative run time, to start the long runs first.
    max_seeds : int, optional
        Noise seeds per level at most (the table shows the runs behind each median).
    degree : int
        Polynomial degree of every method's library (3 for the cubic terms of NLS and λ–ω).
    """

    name: str
    label: str
    load: Callable[[], xr.Dataset]
    max_order: int = 3
    gridded: bool = True
    pdefind: str | None = None
    cost: float = 1.0
    max_seeds: int | None = None
    degree: int = 2

    def truth(self, ds: xr.Dataset) -> dict[str, float]:
        """Term -> coefficient; several fields' (a dict per field) as ``"field: term"``."""
        truth = json.loads(ds.attrs["true_coefficients"])
        if all(isinstance(v, dict) for v in truth.values()):
            return {f"{f}: {t}": c for f, terms in truth.items() for t, c in terms.items()}
        return truth


def _stations(name: str, n: int, nt: int) -> Callable[[], xr.Dataset]:
    def load() -> xr.Dataset:
        # positions drawn once (seed 0); the noise seeds vary the noise only
        return make_dataset(name, layout="station", n_stations=n, nt=nt, seed=0)

    return load


def _ks_window() -> xr.Dataset:
    # the first quarter of the periodic interval (no longer periodic), all 251 times: the
    # whole 1024 × 251 field costs the neural default minutes per run on 2 cores
    ds = load_pdefind("kuramoto_sivashinsky").isel(x=slice(0, 256))
    ds.attrs["periodic"] = 0
    return ds


def _shock() -> xr.Dataset:
    # inviscid Burgers, amplitude 10³ on [-4000, 4000]: a shock forms at mid-record
    return make_dataset("burgers_shock", nx=256, nt=101)


CASES: dict[str, Case] = {
    c.name: c
    for c in (
        Case(
            "burgers",
            "Burgers, PDE-FIND burgers.mat (256 × 101)",
            lambda: load_pdefind("burgers"),
            pdefind="burgers",
        ),
        Case(
            "kdv",
            "KdV, PDE-FIND kdv.mat (512 × 201)",
            lambda: load_pdefind("kdv"),
            pdefind="kdv",
            cost=4.0,
        ),
        Case(
            "ks",
            "Kuramoto–Sivashinsky, PDE-FIND, x < 25 (256 × 251 of 1024 × 251)",
            _ks_window,
            max_order=4,
            pdefind="kuramoto_sivashinsky",
            cost=3.0,
        ),
        Case(
            "ks_full",
            "Kuramoto–Sivashinsky, PDE-FIND, whole domain (1024 × 251)",
            lambda: load_pdefind("kuramoto_sivashinsky"),
            max_order=4,
            pdefind="kuramoto_sivashinsky",
            cost=6.0,
        ),
        Case(
            "nls",
            "NLS (complex), PDE-FIND nls.mat (512 × 501)",
            lambda: load_pdefind("nls"),
            pdefind="nls",
            degree=3,
            cost=3.0,
        ),
        Case(
            "burgers_shock",
            "inviscid Burgers with a shock, generated (256 × 101)",
            _shock,
        ),
        Case(
            "advection_diffusion",
            "advection–diffusion, generated (256 × 101)",
            lambda: make_dataset("advection_diffusion", nx=256, nt=101),
        ),
        Case(
            "fisher_kpp",
            "Fisher–KPP, generated (256 × 101)",
            lambda: make_dataset("fisher_kpp", nx=256, nt=101),
        ),
        Case(
            "advection_diffusion_2d",
            "2-D advection–diffusion, generated (40 × 40 × 31), one seed",
            lambda: make_dataset("advection_diffusion_2d", nx=40, nt=31),
            max_order=2,
            cost=10.0,
            # the neural default fits this grid in about 5 minutes on 2 cores: 3 seeds
            # of 5 noise levels would take the full run past an hour
            max_seeds=1,
        ),
        Case(
            "lambda_omega",
            "λ–ω reaction–diffusion, two fields u, v, generated (64 × 64 × 41), one seed",
            lambda: make_dataset("lambda_omega", nx=64, nt=41),
            max_order=2,
            degree=3,
            cost=10.0,
            max_seeds=1,
        ),
        Case(
            "burgers_stations",
            "Burgers at 60 random stations, generated (60 × 101)",
            _stations("burgers", 60, 101),
            gridded=False,
        ),
    )
}


def unavailable(case: Case) -> str | None:
    """Why ``case`` cannot run here (its shared data file is absent), or None."""
    if case.pdefind is None:
        return None
    path = shared_data_dir() / "pde-find" / PDEFIND[case.pdefind]["file"]
    return None if path.exists() else f"{path} is absent"


def _noise(u: np.ndarray, convention: str, rng: np.random.Generator) -> np.ndarray:
    """Noise of size std(u) or rms(u); for a complex field, complex noise with
    ``E|ε|² = size²`` (``size/√2`` on each part), size from ``|u - mean u|`` or ``|u|``."""
    centred = u - np.nanmean(u)
    size = np.sqrt(np.nanmean(np.abs(centred if convention == "std" else u) ** 2))
    if np.iscomplexobj(u):
        parts = rng.standard_normal(u.shape) + 1j * rng.standard_normal(u.shape)
        return size / np.sqrt(2) * parts
    return size * rng.standard_normal(u.shape)


@cache
def clean(name: str) -> xr.Dataset:
    """The clean dataset of case ``name`` (loaded once per process)."""
    return CASES[name].load()


def noisy(name: str, noise: float, seed: int, convention: str = "std") -> xr.Dataset:
    """Case ``name`` with Gaussian noise σ = ``noise``·std(u) (``convention="std"``) or
    ``noise``·rms(u) (``"rms"``) drawn from ``seed``.

    Noise 0 returns the clean data.  The generator is seeded by ``(seed, noise)``, so each
    level has its own draws and the same call always gives the same numbers.
    """
    if convention not in CONVENTIONS:
        raise ValueError(f"unknown noise convention '{convention}'; valid: 'std', 'rms'")
    ds = clean(name).copy(deep=True)
    if noise:
        rng = np.random.default_rng([seed, round(noise * 1000)])
        for f in ds.data_vars:
            ds[f].values = ds[f].values + noise * _noise(ds[f].values, convention, rng)
    ds.attrs["noise"] = noise
    ds.attrs["noise_convention"] = convention
    ds.attrs["noise_seed"] = seed
    return ds
