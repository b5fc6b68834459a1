"""The neural interpolant on grids larger than memory: a sample drawn chunk by chunk.

The interpolant never needs every value of a large grid: its Adam phase sees
``adam_steps × batch_size`` draws (4·10⁶ with the defaults) and its L-BFGS phase a fixed
subset, so past a few hundred thousand points more data change the fit little and cost
memory.  The grid is therefore read slab by slab (the chunked path's dask tasks, on a
cluster when asked) and each slab keeps a random share of its points — every point of the
grid has the same chance, :data:`MAX_POINTS` expected in all — so memory is bounded by the
sample and one slab, not by the file.  The regression is then built on the interpolant as on
data in memory (:class:`~discover.builders.neural.NeuralBuilder`): the weak form's boxes on
the data's own axes, thinned to at most :data:`EVALUATION_POINTS` (the interpolant is
evaluated there, the data are not read again), or the strong form at collocation points.

When the grid has at most :data:`MAX_POINTS` points the sample is the whole grid, in the
order the in-memory path reads it, and the result is the in-memory path's.
"""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import xarray as xr

from ..io import Samples
from .chunked import ChunkedGridBuilder, slabs
from .neural import NeuralBuilder

__all__ = ["EVALUATION_POINTS", "MAX_POINTS", "ChunkedNeuralBuilder", "draw_sample"]

#: expected size of the sample the interpolant trains on
MAX_POINTS = 500_000
#: at most this many points of the data's axes carry the weak form's integrals
EVALUATION_POINTS = 1_000_000
#: bytes a sampled point takes in a slab's task (coordinates and values, float64, and masks)
_BYTES_PER_POINT = 24


class ChunkedNeuralBuilder(ChunkedGridBuilder):
    """The neural builder on a lazily opened grid (see the module notes).

    Parameters
    ----------
    memory : int
        Bytes the slabs in flight may take together.
    chunk : int, optional
        Time steps per slab; default from ``memory``.
    scheduler : optional
        A ``dask.distributed`` client, cluster or address; default dask's local threads.
    progress : bool
        A progress bar over slabs (tqdm).
    max_points : int
        The sample's expected size.
    """

    def __init__(self, method="neural", *, memory=2 * 10**9, chunk=None, scheduler=None,
                 progress=False, max_points=MAX_POINTS):  # fmt: skip
        super().__init__(method, memory=memory, chunk=chunk, scheduler=scheduler,
                         progress=progress)  # fmt: skip
        self.max_points = max_points

    def build(self, prepared, library, settings):
        samples = prepared.samples
        nt = samples.grid.sizes["t"]
        per_step = _BYTES_PER_POINT * len(samples.fields) * _space_size(samples)
        step = self.chunk or self._fit_steps(per_step, 0, nt)
        cores = slabs(nt, step)

        def run(task):
            spec = SimpleNamespace(fields=samples.fields, axes=[np.empty(nt)])
            parts = self._run(samples, spec, cores, task=task, halo=0, merge=_collect)
            return [part for _, part in sorted(parts, key=lambda item: item[0])]

        sample = draw_sample(samples, self.max_points, seed=settings.seed, run=run)
        out = NeuralBuilder().build(replace(prepared, samples=sample), library, settings)
        out.diagnostics["chunked"] = {
            "time_steps_per_chunk": step,
            "n_chunks": len(cores),
            "sampled_points": len(sample.points),
            "of_points": int(nt * _space_size(samples)),
            "evaluation_axes": {c: int(sample.grid.sizes[c]) for c in sample.coords},
        }
        return out


def _space_size(samples) -> int:
    return int(np.prod([samples.grid.sizes[c] for c in samples.coords[1:]]))


def _collect(acc, part):
    return [*(acc or []), part]


def draw_sample(samples, max_points: int, *, seed: int = 0, run=None) -> Samples:
    """The sample of a lazily opened grid the interpolant trains on: each point kept with
    probability ``max_points / n`` (all of them when ``n ≤ max_points``), read slab by slab.

    Parameters
    ----------
    samples : discover.lazy.LazySamples
        The grid, not loaded.
    max_points : int
        The sample's expected size.
    seed : int
        Each slab draws from its own stream ``(seed, first step)``: the sample does not
        depend on the slab length's order of arrival.
    run : callable, optional
        ``run(task) -> list of parts`` over the slabs (the builder's dask tasks); default
        one slab of every time step in turn.

    Returns
    -------
    Samples
        Scattered points of the grid (rows with a missing value dropped), ``layout="grid"``
        and ``grid`` holding the data's axes only (no values), thinned to at most
        :data:`EVALUATION_POINTS` points.
    """
    grid = samples.grid
    n = int(grid.sizes["t"]) * _space_size(samples)
    share = min(1.0, max_points / n)
    task = _SlabTask(samples, share, seed)
    if run is None:
        nt = grid.sizes["t"]
        parts = [task({f: grid[f].data[a : a + 1] for f in samples.fields}, a) for a in range(nt)]
    else:
        parts = run(task)
    points = np.concatenate([p for p, _ in parts])
    values = np.concatenate([v for _, v in parts])
    return replace(samples, points=points, values=values, grid=_thinned_axes(samples))


class _SlabTask:
    """One slab's share of the sample: ``(values, start, core, spec) -> (start, (points,
    values))`` for the builder's tasks, ``(values, start) -> (points, values)`` alone."""

    def __init__(self, samples, share: float, seed: int):
        self.axes = [np.asarray(samples.grid[c].values, dtype=float) for c in samples.coords]
        self.fields, self.share, self.seed = samples.fields, share, seed

    def __call__(self, values, start, core=None, spec=None):
        vals = np.stack([np.asarray(values[f], dtype=np.float64) for f in self.fields], -1)
        shape = vals.shape[:-1]
        keep = np.ones(shape, bool)
        if self.share < 1:
            keep = np.random.default_rng([self.seed, start]).random(shape) < self.share
        keep &= np.isfinite(vals).all(axis=-1)
        index = np.nonzero(keep)
        pts = np.stack(
            [self.axes[0][start + index[0]], *(a[i] for a, i in zip(self.axes[1:], index[1:]))],
            axis=1,
        )
        part = (pts, vals[index])
        return part if core is None else (start, part)


def _thinned_axes(samples) -> xr.Dataset:
    """The grid's axes (no values), the longest thinned first (every k-th value kept) until
    their product is at most :data:`EVALUATION_POINTS`: short axes keep their resolution,
    which the weak form's boxes (sized in points) need."""
    axes = {c: np.asarray(samples.grid[c].values, dtype=float) for c in samples.coords}
    stride = dict.fromkeys(axes, 1)

    def length(c: str) -> int:
        return -(-axes[c].size // stride[c])

    while np.prod([length(c) for c in axes]) > EVALUATION_POINTS:
        stride[max(axes, key=length)] += 1
    return xr.Dataset(coords={c: a[:: stride[c]] for c, a in axes.items()})
