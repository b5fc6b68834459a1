"""The chunked, out-of-core path: the same equation as in memory, lazily opened files, a
dask.distributed cluster, the memory budget and its one-line errors."""

from __future__ import annotations

import warnings
from pathlib import Path

import discover.datasets
import numpy as np
import pytest
import xarray as xr
from discover.datasets import make_dataset
from typer.testing import CliRunner

from discover import find
from discover.builders.chunked import RowLayout, axis_edges
from discover.cli import app
from discover.errors import DataError
from discover.lazy import needs_chunks, parse_memory
from discover.select import block_folds, block_labels

_HERE = Path(__file__).resolve().parents[1] / "datasets"
if not (Path(discover.datasets.__file__).parent / "large.py").exists():  # another checkout's
    discover.datasets.__path__.insert(0, str(_HERE))
from discover.datasets.large import write_large  # noqa: E402


def _coefs(result) -> list[dict[str, float]]:
    return [{t.term: t.coef for t in eq.terms} for eq in result.equations]


def _same(a, b, rtol: float = 1e-8) -> None:
    for ca, cb in zip(_coefs(a), _coefs(b), strict=True):
        assert ca.keys() == cb.keys()
        for k in ca:
            assert abs(ca[k] - cb[k]) <= rtol * abs(ca[k]), (k, ca[k], cb[k])


def _quiet_find(*args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return find(*args, **kw)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_labels_from_axes_are_those_of_the_points(seed):
    rng = np.random.default_rng(seed)
    axes = [np.sort(rng.uniform(0, 10, n)) for n in rng.integers(9, 30, size=3)]
    extent = [(int(rng.integers(0, 3)), a.size - int(rng.integers(0, 3))) for a in axes]
    layout = RowLayout.of(axes, extent, n_folds=5, seed=seed)
    index = np.meshgrid(*[np.arange(lo, hi) for lo, hi in extent], indexing="ij")
    index = tuple(i.ravel() for i in index)
    points = np.stack([a[i] for a, i in zip(axes, index)], axis=1)
    units = layout.units(index)
    assert np.array_equal(units % 5, block_folds(points, n_folds=5, seed=seed))
    assert np.array_equal(units // 5, block_labels(points, n_blocks=8))
    v = axes[0][extent[0][0] : extent[0][1]]
    assert np.allclose(axis_edges(v, 7, 4), np.quantile(np.repeat(v, 7), [0.25, 0.5, 0.75]))


@pytest.mark.parametrize(("seed", "chunk"), [(0, 5), (1, 7), (2, 16)])
def test_chunked_fd_gives_the_in_memory_equation(seed, chunk):
    ds = make_dataset("advection_diffusion_2d", nx=24, nt=31, seed=seed)
    a = _quiet_find(ds, "u", method="fd", n_bootstrap=10, memory=None)
    b = _quiet_find(ds, "u", method="fd", n_bootstrap=10, chunks=chunk)
    _same(a, b)
    assert b.diagnostics["u"]["chunked"]["n_chunks"] == -(-31 // chunk)
    assert a.settings["n_rows_used"] == b.settings["n_rows_used"]
    ia, ib = a.diagnostics["u"]["uncertainty"], b.diagnostics["u"]["uncertainty"]
    assert ia["inclusion"] == pytest.approx(ib["inclusion"])


@pytest.mark.slow
def test_chunked_fd_on_a_million_values_matches_in_memory():
    ds = make_dataset("advection_diffusion_2d", nx=100, nt=100, seed=3)
    assert ds["u"].size == 10**6
    a = _quiet_find(ds, "u", method="fd", n_bootstrap=0, memory=None)
    b = _quiet_find(ds, "u", method="fd", n_bootstrap=0, memory="200MB")
    assert b.diagnostics["u"]["chunked"]["n_chunks"] > 1
    _same(a, b)


def _same_main(a, b, rtol: float = 1e-8, floor: float = 1e-4) -> None:
    """Same terms; coefficients above ``floor`` equal to ``rtol`` (the weak form keeps terms
    of 1e-8 on clean data, whose round-off is relatively larger)."""
    for ca, cb in zip(_coefs(a), _coefs(b), strict=True):
        assert ca.keys() == cb.keys()
        big = [k for k in ca if abs(ca[k]) > floor]
        assert big
        for k in big:
            assert abs(ca[k] - cb[k]) <= rtol * abs(ca[k]), (k, ca[k], cb[k])


@pytest.mark.parametrize(("seed", "noise", "chunk"), [(0, 0.0, 9), (1, 0.01, 14), (2, 0.02, 25)])
def test_chunked_weak_gives_the_in_memory_equation(seed, noise, chunk):
    ds = make_dataset("advection_diffusion_2d", nx=36, nt=45, noise=noise, seed=seed)
    a = _quiet_find(ds, "u", method="weak", n_bootstrap=5, memory=None, max_order=2)
    b = _quiet_find(ds, "u", method="weak", n_bootstrap=5, chunks=chunk, max_order=2)
    assert b.diagnostics["u"]["chunked"]["n_chunks"] > 1
    assert (
        a.diagnostics["u"]["weak_grid"]["half_width"]
        == b.diagnostics["u"]["weak_grid"]["half_width"]
    )
    _same_main(a, b)
    if noise:
        assert "noise_debiased" in b.diagnostics["u"]["uncertainty"]


@pytest.mark.slow
def test_chunked_weak_on_a_million_values_matches_in_memory():
    ds = make_dataset("advection_diffusion_2d", nx=128, nt=61, noise=0.01, seed=4)
    assert ds["u"].size > 0.99e6
    a = _quiet_find(ds, "u", method="weak", n_bootstrap=0, memory=None)
    b = _quiet_find(ds, "u", method="weak", n_bootstrap=0, memory="300MB")
    assert b.diagnostics["u"]["chunked"]["n_chunks"] > 1
    _same_main(a, b)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> list[Path]:
    return write_large(tmp_path_factory.mktemp("large"), nt=30, nx=24, ny=20, n_files=3,
                       dtype="float64")  # fmt: skip


def test_many_files_by_a_glob_give_the_in_memory_equation(files):
    whole = xr.open_mfdataset(files).load()
    assert whole["u"].shape == (30, 24, 20)
    a = _quiet_find(whole, "u", method="fd", n_bootstrap=0, memory=None)
    b = _quiet_find(str(files[0].parent / "u_*.nc"), "u", method="fd", n_bootstrap=0,
                    memory="1MB")  # fmt: skip
    assert "chunked" in b.diagnostics["u"]
    _same(a, b)
    assert b.data.file.endswith("u_*.nc")
    c = _quiet_find([str(f) for f in files], "u", method="fd", n_bootstrap=0, memory=None)
    assert "chunked" not in c.diagnostics["u"]  # below the budget: read whole
    _same(a, c, rtol=1e-12)


@pytest.mark.slow
def test_a_local_cluster_of_two_processes_gives_the_same_equation(files):
    from dask.distributed import LocalCluster

    a = _quiet_find(files, "u", method="fd", n_bootstrap=0, chunks=8)
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1) as cluster:
        b = _quiet_find(files, "u", method="fd", n_bootstrap=0, chunks=8, scheduler=cluster)
    _same(a, b, rtol=1e-12)


def test_the_memory_budget_chooses_the_path():
    ds = make_dataset("advection_diffusion_2d", nx=16, nt=21)
    assert needs_chunks(ds, "u", "1MB") and not needs_chunks(ds, "u", "2GB")
    assert not needs_chunks(ds, "u", None)
    small = _quiet_find(ds, "u", method="fd", n_bootstrap=0, memory="1MB")
    big = _quiet_find(ds, "u", method="fd", n_bootstrap=0)
    assert "chunked" in small.diagnostics["u"] and "chunked" not in big.diagnostics["u"]


@pytest.mark.parametrize("text", ["lots", "-2GB", "2XB", "", "0"])
def test_bad_memory_is_one_line(text):
    with pytest.raises(DataError, match="memory must be a positive size"):
        parse_memory(text)


def test_memory_sizes():
    assert parse_memory("2GB") == 2 * 10**9 and parse_memory("1.5 GiB") == 3 * 2**29
    assert parse_memory("300mb") == 3 * 10**8 and parse_memory(12345) == 12345


def test_cli_bad_memory_exits_2_with_one_line(tmp_path):
    path = tmp_path / "u.nc"
    make_dataset("advection_diffusion_2d", nx=16, nt=21).to_netcdf(path)
    res = CliRunner().invoke(app, ["find", str(path), "--var", "u", "--memory", "lots"])
    assert res.exit_code == 2
    assert "memory must be a positive size" in res.output
    assert len(res.output.strip().splitlines()) == 1


def test_chunked_path_refuses_what_needs_the_whole_data():
    ds = make_dataset("advection_diffusion_2d", nx=16, nt=21)
    with pytest.raises(DataError, match="holdout= is not taken by the chunked path"):
        find(ds, "u", chunks=5, holdout="last:20%")


def test_chunked_neural_is_the_in_memory_fit_when_the_sample_holds_every_point():
    """A grid smaller than the sample: every point, in the in-memory order, and the same
    equation; the slabs' sample is the one a single pass draws."""
    ds = make_dataset("advection_diffusion", nx=48, nt=31, noise=0.02, seed=4)
    kw = {"method": "neural", "n_bootstrap": 0, "neural": {"adam_steps": 150, "lbfgs_steps": 30}}
    whole = _quiet_find(ds, "u", **kw)
    chunked = _quiet_find(ds, "u", chunks=7, **kw)
    _same(whole, chunked, rtol=1e-10)
    info = chunked.diagnostics["u"]["chunked"]
    assert info["sampled_points"] == info["of_points"] == 48 * 31
    assert info["n_chunks"] == 5


def test_chunked_neural_sample_is_bounded_and_does_not_depend_on_the_slabs():
    from discover.builders.chunked_neural import draw_sample
    from discover.lazy import lazy_samples

    ds = make_dataset("advection_diffusion_2d", nx=24, nt=41).chunk({"t": 8})
    lazy = lazy_samples(ds, "u")
    a = draw_sample(lazy, 2000, seed=3)
    assert 1700 < len(a.points) < 2300  # each of 41·24·24 points kept with p = 2000/23616
    assert np.allclose(
        a.values[:, 0],
        ds["u"]
        .interp(t=("p", a.points[:, 0]), x=("p", a.points[:, 1]), y=("p", a.points[:, 2]))
        .values,
    )
    b = draw_sample(lazy, 2000, seed=3)
    assert np.array_equal(a.points, b.points)
    assert not np.array_equal(a.points, draw_sample(lazy, 2000, seed=4).points)


def test_the_neural_evaluation_axes_thin_the_longest_axis_first():
    from types import SimpleNamespace

    from discover.builders.chunked_neural import EVALUATION_POINTS, _thinned_axes

    axes = {"t": np.arange(3000.0), "x": np.arange(40.0), "y": np.arange(2000.0)}
    thin = _thinned_axes(SimpleNamespace(grid=xr.Dataset(coords=axes), coords=tuple(axes)))
    assert thin.sizes["x"] == 40  # short axes keep every point
    assert np.prod(list(thin.sizes.values())) <= EVALUATION_POINTS
    assert thin["t"].values[0] == 0 and np.all(np.diff(thin["t"].values) > 1)


@pytest.mark.parametrize("seed", range(6))
def test_integrals_at_the_queried_points_are_the_whole_slabs(seed):
    from discover.builders.chunked_weak import _correlate_at
    from discover.weakgrid import _correlate

    rng = np.random.default_rng(seed)
    ndim = int(rng.integers(1, 4))
    v = rng.normal(size=rng.integers(20, 40, size=ndim))
    kernels = [rng.normal(size=int(rng.integers(1, 9))) for _ in range(ndim)]
    valid = v.shape[0] - kernels[0].size + 1
    rows = np.sort(rng.choice(valid, size=int(rng.integers(1, valid)), replace=False))
    strides = [int(s) for s in rng.integers(1, 4, size=ndim - 1)]
    whole = _correlate(v, kernels)[(rows, *(slice(0, None, s) for s in strides))]
    assert np.allclose(_correlate_at(v, kernels, rows, strides), whole, atol=1e-12)


def test_a_budget_below_one_chunk_warns_and_keeps_whole_halos():
    ds = make_dataset("advection_diffusion_2d", nx=48, nt=61)
    with pytest.warns(UserWarning, match="below what one chunk needs"):
        r = find(ds, "u", method="weak", n_bootstrap=0, memory="100kB")
    assert "chunked" in r.diagnostics["u"]


def test_a_grid_too_small_for_one_box_is_one_line():
    # boxes shrink with a short axis (weakgrid.half_width_cap): 24 points now fit a box,
    # 16 do not
    ds = make_dataset("advection_diffusion_2d", nx=16, nt=41)
    with pytest.raises(DataError, match="at least 17 points; 'x' has 16"):
        _quiet_find(ds, "u", method="weak", n_bootstrap=0, memory="100kB")
    ds = make_dataset("advection_diffusion_2d", nx=24, nt=41)
    d = _quiet_find(ds, "u", method="weak", n_bootstrap=0, memory="100kB")
    assert d.settings["method"] == "weak"
