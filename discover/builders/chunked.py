"""Derivatives on grids larger than memory: slabs of time steps, reduced at once to factors.

The data are cut into slabs of time steps (the chunks).  Each chunk is read with a halo of
:data:`HALO` time steps on either side, so that every stencil of its core points is the
one the whole grid gives; its derivatives and library columns are computed, and its rows
are reduced at once to per-(space–time block, fold) triangular factors
(:class:`~discover.select.BlockFactors`).  The factors of all chunks are merged as they
arrive, so the full feature matrix never exists and memory is bounded by the chunk size.
The selection (path, stability, bootstrap) then works on the factors alone.

Block and fold labels come from the coordinates alone: each axis's slab edges are the
quantiles of the rows' coordinates, which on a grid without gaps are those of the axis
values repeated (:func:`axis_edges`), so that the folds are the in-memory path's and the
equation is the same up to round-off.  (With missing values the edges are those of the
grid without gaps: the folds are then close to, not equal to, the in-memory ones.)

The effective size of the residual (AIC/BIC only) is an estimate: the lag-one
autocorrelations of the full model's residual measured on the middle chunk, applied to all
rows (exact when one chunk holds the data).

Chunks are dask tasks: dask's local threads by default, a ``dask.distributed`` cluster
when ``scheduler=`` names one.
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from ..differentiate import METHODS, differentiate
from ..errors import DataError
from ..io import Samples
from ..select import BlockFactors, effective_size, refit
from .base import Builder, RegressionSystem, RegressionSystems, check_rows, strong_tables

__all__ = ["HALO", "ChunkedGridBuilder", "RowLayout", "axis_edges"]

logger = logging.getLogger(__name__)

#: time steps read on either side of a chunk (the widest time stencil of a registered
#: method: finite differences of accuracy ≤ 14, Savitzky–Golay's default window)
HALO = 8
#: share of the memory budget the chunks in flight take (the rest: Python, the libraries,
#: the merged factors)
CHUNK_SHARE = 0.6
#: slab counts per coordinate of the folds' boxes and of the bootstrap's blocks
FOLD_BLOCKS, BOOT_BLOCKS = 4, 8


def slabs(nt: int, step: int) -> list[tuple[int, int]]:
    """The chunks' cores: ``[start, stop)`` of each run of ``step`` time steps.

    >>> slabs(7, 3)
    [(0, 3), (3, 6), (6, 7)]
    """
    return [(a, min(a + step, nt)) for a in range(0, nt, step)]


def axis_edges(values: np.ndarray, repeat: int, n_blocks: int) -> np.ndarray:
    """The ``n_blocks``-quantile edges of ``values`` (ascending) each repeated ``repeat``
    times, as :func:`numpy.quantile` (linear) gives them, without repeating anything.

    >>> v = np.array([0.0, 1.0, 2.0, 5.0, 9.0])
    >>> bool(np.allclose(axis_edges(v, 3, 4), np.quantile(np.repeat(v, 3), [0.25, 0.5, 0.75])))
    True
    """
    m = values.size * repeat
    out = []
    for q in np.linspace(0, 1, n_blocks + 1)[1:-1]:
        pos = (m - 1) * q
        i = int(np.floor(pos))
        a, b = values[i // repeat], values[min(i + 1, m - 1) // repeat]
        out.append(a + (b - a) * (pos - i))
    return np.array(out)


@dataclass
class RowLayout:
    """Where the rows lie on the grid and which block and fold each belongs to, from the
    axes alone: per axis, the index range of the rows and each index's slab."""

    extent: list[tuple[int, int]]
    slab4: list[np.ndarray]
    slab8: list[np.ndarray]
    fold_of: np.ndarray
    n_folds: int

    @classmethod
    def of(cls, axes: list[np.ndarray], extent, *, n_folds: int, seed: int) -> RowLayout:
        sizes = [hi - lo for lo, hi in extent]
        total = int(np.prod(sizes))
        if total == 0:
            raise DataError(
                "no rows fit in the grid (a test-function box or stencil is wider than an "
                f"axis: {[a.size for a in axes]} points); use a larger grid or --method fd"
            )
        slabs: dict[int, list[np.ndarray]] = {}
        for nb in (FOLD_BLOCKS, BOOT_BLOCKS):
            slabs[nb] = [
                np.searchsorted(axis_edges(a[lo:hi], total // s, nb), a, side="right")
                for a, (lo, hi), s in zip(axes, extent, sizes)
            ]
        boxes = np.zeros(1, dtype=np.int64)  # every box of the gap-free rows, sorted
        for sl, (lo, hi) in zip(slabs[FOLD_BLOCKS], extent):
            boxes = (boxes[:, None] * FOLD_BLOCKS + np.unique(sl[lo:hi])[None, :]).ravel()
        boxes = np.unique(boxes)
        if boxes.size < n_folds:
            raise DataError(
                f"the grid gives {boxes.size} space–time blocks for {n_folds} folds; "
                "use fewer n_folds= or more memory= (the in-memory path)",
                parameter="n_folds",
            )
        perm = np.random.default_rng(seed).permutation(boxes)  # as select.block_folds
        fold_of = np.empty(boxes.max() + 1, dtype=np.int64)
        fold_of[perm] = np.arange(perm.size) % n_folds
        return cls(list(extent), slabs[FOLD_BLOCKS], slabs[BOOT_BLOCKS], fold_of, n_folds)

    def units(self, index: tuple[np.ndarray, ...]) -> np.ndarray:
        """``block * n_folds + fold`` of rows at grid indices ``index`` (one array per axis)."""
        b4 = np.zeros(index[0].shape, dtype=np.int64)
        b8 = np.zeros(index[0].shape, dtype=np.int64)
        for s4, s8, i in zip(self.slab4, self.slab8, index):
            b4 = b4 * FOLD_BLOCKS + s4[i]
            b8 = b8 * BOOT_BLOCKS + s8[i]
        return b8 * self.n_folds + self.fold_of[b4]


@dataclass
class ChunkSpec:
    """What every chunk task needs (sent once to each worker)."""

    fields: tuple[str, ...]
    coords: tuple[str, ...]
    axes: list[np.ndarray]
    method: str
    variants: list[dict[str, Any]]
    library: Any
    layout: RowLayout

    def _samples(self, values: dict[str, np.ndarray], start: int) -> Samples:
        n = next(iter(values.values())).shape[0]
        axes = [self.axes[0][start : start + n], *self.axes[1:]]
        grid = xr.Dataset(
            {f: (self.coords, np.asarray(v, dtype=float)) for f, v in values.items()},
            coords=dict(zip(self.coords, axes, strict=True)),
        )
        d = len(self.coords)
        return Samples(
            self.fields, self.coords, np.empty((0, d)), np.empty((0, len(self.fields))),
            "grid", grid,
        )  # fmt: skip

    def features(self, values, start: int, core: tuple[int, int]) -> list[dict]:
        """Every variant's derivatives on the core's time steps: those with a time order
        from the whole slab (the halo), the others from the core alone."""
        sl = slice(core[0] - start, core[1] - start)
        needed = self.library.derivatives_needed()
        timed = [d for d in needed if d.orders[0]]
        flat = [d for d in needed if not d.orders[0]]
        whole = self._samples(values, start) if timed else None
        part = self._samples({f: v[sl] for f, v in values.items()}, core[0]) if flat else None
        out = []
        for v in self.variants:
            feats = {}
            if timed:
                ds = differentiate(whole, timed, method=self.method, **v)
                feats.update({k: ds[k].values[sl] for k in ds.data_vars})
            if flat:
                ds = differentiate(part, flat, method=self.method, **v)
                feats.update({k: ds[k].values for k in ds.data_vars})
            out.append(feats)
        return out

    def tables(self, values, start: int, core: tuple[int, int]):
        """Per variant (a generator, one design matrix at a time), field -> (X, y) of the
        core's rows; and the rows (grid mask, index)."""
        feats = self.features(values, start, core)
        rows = np.ones((core[1] - core[0], *(a.size for a in self.axes[1:])), dtype=bool)
        for f in feats:
            for arr in f.values():
                rows &= np.isfinite(arr)
        index = np.nonzero(rows)
        index = (index[0] + core[0], *index[1:])
        at = {c: a[i] for c, a, i in zip(self.coords, self.axes, index, strict=True)}
        out = (
            strong_tables(self.library, {**at, **{k: arr[rows] for k, arr in f.items()}})
            for f in feats
        )
        return out, rows, index


def chunk_factors(values: dict[str, np.ndarray], start: int, core, spec: ChunkSpec):
    """Per variant, field -> :class:`BlockFactors` of the rows of one chunk."""
    tables, _, index = spec.tables(values, start, core)
    units = spec.layout.units(index)
    n_folds = spec.layout.n_folds
    out = []
    for t in tables:  # one variant's design matrix at a time
        out.append({f: BlockFactors.from_units(X, y, units, n_folds) for f, (X, y) in t.items()})
        del t
    return out


def _merge(acc, part):
    if acc is None:
        return part
    return [
        {f: BlockFactors.merge([a[f], p[f]]) for f in a} for a, p in zip(acc, part, strict=True)
    ]


class ChunkedGridBuilder(Builder):
    """The strong form of a registered derivative method (:class:`GridBuilder`'s systems)
    on a grid read slab by slab (see the module notes).

    Parameters
    ----------
    method : str
        A derivative method of :data:`discover.differentiate.METHODS`.
    memory : int
        Bytes the chunks in flight may take together.
    chunk : int, optional
        Time steps per chunk; default from ``memory``.
    scheduler : optional
        A ``dask.distributed`` client, cluster or address; default dask's local threads.
    progress : bool
        A progress bar over chunks (tqdm).
    """

    def __init__(self, method="fd", *, memory=2 * 10**9, chunk=None, scheduler=None,
                 progress=False):  # fmt: skip
        self.method, self.memory, self.chunk = method, memory, chunk
        self.scheduler, self.progress = scheduler, progress

    def build(self, prepared, library, settings) -> RegressionSystems:
        samples = prepared.samples
        spec = self._spec(samples, library, settings)
        nt = spec.axes[0].size
        step = self.chunk or self._chunk_length(spec, samples)
        cores = slabs(nt, step)
        acc = self._run(samples, spec, cores)
        n_rows = next(iter(acc[0].values())).n_rows
        check_rows(n_rows, library)
        n_eff = self._effective_sizes(samples, spec, cores[len(cores) // 2], acc)
        systems = [
            RegressionSystem(v, {}, np.empty((0, len(spec.coords))), np.empty(0), ne, factors=a)
            for v, a, ne in zip(spec.variants, acc, n_eff)
        ]
        from .grid import GridBuilder

        info = {"chunked": {"time_steps_per_chunk": step, "n_chunks": len(cores),
                            "halo": HALO, "n_eff": "estimated on the middle chunk"}}  # fmt: skip
        return RegressionSystems(
            systems, "strong", pick=GridBuilder._picker(spec.variants, settings), diagnostics=info
        )

    def _spec(self, samples, library, settings) -> ChunkSpec:
        axes = [np.asarray(samples.grid[c].values, dtype=float) for c in samples.coords]
        variants = METHODS[self.method].variants(settings.accuracy)
        extent = _extent(axes, samples, self.method, variants, library)
        layout = RowLayout.of(axes, extent, n_folds=settings.n_folds, seed=settings.seed)
        return ChunkSpec(
            samples.fields, samples.coords, axes, self.method, variants, library, layout
        )

    def _chunk_length(self, spec: ChunkSpec, samples) -> int:
        """Time steps per chunk so that the chunks in flight fit in ``memory``: as many
        chunks in flight (up to 4) as leave each at least twice the halo, else one."""
        nd = len(spec.library.derivatives_needed())
        per_point = 12 * (  # bytes, with a margin of 1.5
            len(spec.variants) * (nd + len(spec.coords))
            + nd
            + 3 * (len(spec.library) + 1) * len(spec.fields)
        )
        points = int(np.prod([a.size for a in spec.axes[1:]]))
        n_timed = sum(1 for d in spec.library.derivatives_needed() if d.orders[0])
        halo = 12 * (len(spec.fields) + len(spec.variants) * n_timed) * points * 2 * HALO
        return self._fit_steps(per_point * points, halo, spec.axes[0].size)

    def _fit_steps(self, per_step: int, halo_bytes: int, nt: int, least: int = 4) -> int:
        """Steps per chunk (and ``self.workers``, chunks in flight) for ``per_step`` bytes
        a core time step and ``halo_bytes`` a chunk's halo: fewer chunks in flight (down to
        one) rather than fewer than ``least`` steps each.  Never fewer than ``least // 2``:
        a chunk of one step would read its whole halo for it (30 times the work of the
        weak form at 10⁸ values); a budget below that is exceeded, with a warning."""
        budget = int(CHUNK_SHARE * self.memory)
        self.workers = 2 if self.scheduler is not None else min(4, os.cpu_count() or 1)

        def fit() -> int:
            return (budget // self.workers - halo_bytes) // per_step

        while self.workers > 1 and fit() < least:
            self.workers -= 1
        floor = max(1, least // 2)
        if fit() < floor:
            need = (halo_bytes + floor * per_step) / CHUNK_SHARE
            warnings.warn(
                f"memory={self.memory / 1e9:.2g} GB is below what one chunk needs "
                f"(~{need / 1e9:.2g} GB: {floor} time steps and the halo); using that",
                stacklevel=2,
            )
        return int(min(nt, max(floor, fit())))

    @staticmethod
    def _tasks(samples, spec, cores, task, halo):
        """One dask task per chunk: its slab with ``halo`` time steps each side."""
        import dask

        nt = spec.axes[0].size
        for a, b in cores:
            lo, hi = max(0, a - halo), min(nt, b + halo)
            values = {f: samples.grid[f].data[lo:hi] for f in spec.fields}
            yield dask.delayed(task, pure=True)(values, lo, (a, b), spec)

    def _run(self, samples, spec, cores, task=chunk_factors, halo=HALO, merge=None):
        """Every chunk's factors, merged as they arrive (dask; a progress bar if asked)."""
        import dask
        from tqdm.auto import tqdm

        from ..lazy import client_for

        bar = tqdm(total=len(cores), unit="chunk", disable=not self.progress, desc="chunks")
        acc = None
        merge = merge or _merge
        client = client_for(self.scheduler)
        tasks = list(self._tasks(samples, spec, cores, task, halo))
        if client is not None:
            from dask.distributed import Client, as_completed

            try:
                with client.as_current():
                    for fut in as_completed(client.compute(tasks)):
                        acc = merge(acc, fut.result())
                        fut.release()
                        bar.update()
            finally:
                if not isinstance(self.scheduler, Client):
                    client.close()
        else:
            width = getattr(self, "workers", min(4, os.cpu_count() or 1))
            local = dask.config.get("scheduler", "threads")  # "synchronous" to profile
            for i in range(0, len(tasks), width):
                batch = tasks[i : i + width]
                for part in dask.compute(*batch, scheduler=local, num_workers=width):
                    acc = merge(acc, part)
                bar.update(len(batch))
        bar.close()
        return acc

    def _effective_sizes(self, samples, spec, core, acc) -> list[dict[str, float]]:
        """Per variant and field: the effective size of the full model's residual, its
        lag-one autocorrelations measured on the chunk ``core`` (the module notes)."""
        nt = spec.axes[0].size
        lo, hi = max(0, core[0] - HALO), min(nt, core[1] + HALO)
        values = {f: np.asarray(samples.grid[f].data[lo:hi]) for f in spec.fields}
        tables, rows, _ = spec.tables(values, lo, core)
        out = []
        for t, a in zip(tables, acc):
            sizes = {}
            for f, (X, y) in t.items():
                total = a[f]
                c = refit(total.total(), list(range(X.shape[1])))
                resid = np.full(rows.shape, np.nan)
                resid[rows] = y - X @ c
                share = effective_size(resid) / max(int(rows.sum()), 1)
                sizes[f] = float(max(2.0, total.n_rows * share))
            out.append(sizes)
        return out


def _extent(axes, samples, method, variants, library) -> list[tuple[int, int]]:
    """Per axis, the index range where every variant's derivatives are defined on a grid
    without gaps (a small probe of zeros per axis: the other axes cut to 64 points)."""
    d = len(axes)
    needed = library.derivatives_needed()
    out = []
    for j in range(d):
        probe_axes = [a if k == j else a[:64] for k, a in enumerate(axes)]
        shape = tuple(a.size for a in probe_axes)
        grid = xr.Dataset(
            {f: (samples.coords, np.zeros(shape)) for f in samples.fields},
            coords=dict(zip(samples.coords, probe_axes, strict=True)),
        )
        probe = Samples(
            samples.fields, samples.coords, np.empty((0, d)), np.empty((0, 1)), "grid", grid
        )
        ok = np.ones(shape, dtype=bool)
        for v in variants:
            feats = differentiate(probe, needed, method=method, **v)
            for name in feats.data_vars:
                ok &= np.isfinite(feats[name].values)
        valid = np.flatnonzero(ok.any(axis=tuple(k for k in range(d) if k != j)))
        if valid.size == 0:
            raise DataError(f"no point of axis '{samples.coords[j]}' has every derivative")
        out.append((int(valid[0]), int(valid[-1]) + 1))
    return out
