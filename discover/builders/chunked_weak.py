"""The weak form on grids larger than memory (:mod:`discover.weakgrid`, slab by slab).

The query points' lattice is the in-memory one; it is cut into slabs of time steps.  Each
chunk reads its slab with a halo of a box half-width plus a mollifier half-width on either
side in time, so that every test-function integral of its query points is the one the
whole grid gives (up to the round-off of FFT convolutions of another length), and reduces
its rows at once to per-(block, fold) factors (:class:`~discover.select.BlockFactors`).

* Box sizes: the corner rule on the spectra of *all* lines, streamed (lines along space
  from slabs of time steps, lines along time from slabs of the first space axis): the
  in-memory half-widths.
* Block and fold labels: from the lattice's axes (:class:`.chunked.RowLayout`), the
  in-memory folds on a grid without gaps.
* Noise σ (Hermite powers, debiasing): estimated on the first 64 time steps (a median is
  not streamed): the in-memory σ when the record is that short, an estimate otherwise.
* The noise's share of the Gram matrix (debiasing the chosen model): a second pass over
  the chunks, for the chosen terms only.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from ..library import parse_symbol
from ..select import BlockFactors
from ..weak import weak_parts
from ..weakgrid import (
    MOLLIFIER,
    QUERY,
    SCALES,
    Mollified,
    _axes,
    _bump,
    _correlate,
    _noise_sigma,
    _values,
    box_half_widths,
    boxes_from_corners,
    bump_power,
    corner_of_spectrum,
    line_spectra,
)
from .base import RegressionSystem, RegressionSystems, check_rows
from .chunked import ChunkedGridBuilder, RowLayout, slabs

__all__ = ["ChunkedWeakBuilder"]


class WeakSpec:
    """What every weak chunk task needs: per box size its half-widths, strides, lattice
    and layout."""

    def __init__(self, samples, library, settings, half_width, sigma):
        self.fields, self.coords, self.library = samples.fields, samples.coords, library
        self.axes = _axes(samples)
        self.h = [float(a[1] - a[0]) for a in self.axes]
        self.parts = [weak_parts(t) for t in library.terms]
        self.p = bump_power(max([max(b) for _, b in self.parts] + [1]), half_width)
        self.sigma = sigma
        #: the data's mollified derivatives a chunk keeps (one slab-sized array each)
        self.n_derivs = len({s for g, _ in self.parts for s in g.free_symbols
                             if (d := parse_symbol(s.name, library.fields, library.coords))
                             and d.total_order})  # fmt: skip
        self.derivs = self.n_derivs > 0
        shape = [a.size for a in self.axes]
        self.sizes = []
        for scale in SCALES:
            half = box_half_widths(half_width, shape, scale)
            stride = [max(1, m // QUERY) for m in half]
            mh = [max(2, round(MOLLIFIER * m)) for m in half]
            lattice = [np.arange(m, n - m, s) for m, n, s in zip(half, shape, stride)]
            extent = [self._kept(lat, m, mh_d, n) for lat, m, mh_d, n in
                      zip(lattice, half, mh, shape)]  # fmt: skip
            layout = RowLayout.of(
                [a[lat] for a, lat in zip(self.axes, lattice)],
                extent,
                n_folds=settings.n_folds,
                seed=settings.seed,
            )
            self.sizes.append((scale, half, stride, mh, lattice, extent, layout))

    def _kept(self, lattice, m, mh, n) -> tuple[int, int]:
        """The lattice indices whose box stays clear of the edges (a mollifier's reach when a
        term keeps a derivative of the data), on a grid without gaps."""
        edge = mh if self.derivs else 0
        ok = np.flatnonzero((lattice - m >= edge) & (lattice + m <= n - 1 - edge))
        return (int(ok[0]), int(ok[-1]) + 1) if ok.size else (0, 0)

    def halo(self) -> int:
        return max(size[1][0] + size[3][0] for size in self.sizes)


def weak_chunk(values: dict, start: int, core: tuple[int, int], spec: WeakSpec):
    """Per box size, field -> :class:`BlockFactors` of the query points whose time index
    lies in ``core``."""
    n = next(iter(values.values())).shape[0]
    axes = [spec.axes[0][start : start + n], *spec.axes[1:]]
    mesh = dict(zip(spec.coords, np.meshgrid(*axes, indexing="ij", sparse=True), strict=True))
    out = []
    for k, (_, half, stride, mh, _, _, layout) in enumerate(spec.sizes):
        data, sel, keep, index = _slab_selection(values, start, core, spec, k)
        at = (sel[0], stride[1:], keep)
        deriv = Mollified(data, mh, spec.p, spec.h)
        cols = []
        for g, beta in spec.parts:
            v = _values(g, spec.library, data, deriv, spec.sigma, mesh)
            cols.append((-1) ** sum(beta) * _integral(v, beta, half, spec, at))
            del v
        del deriv
        X = np.column_stack(cols)
        t_order = (1,) + (0,) * (len(half) - 1)
        units = layout.units(index)
        out.append(
            {
                f: BlockFactors.from_units(
                    X, -_integral(data[f], t_order, half, spec, at), units, layout.n_folds
                )
                for f in spec.fields
            }
        )
    return out


def _slab_selection(values, start, core, spec, k):
    """The slab's data (NaN as 0) and, for box size ``k``, the chunk's query points
    (``sel`` of the valid correlation, ``keep`` of those) and their lattice index."""
    nt = spec.axes[0].size
    raw = {f: np.asarray(v, dtype=float) for f, v in values.items()}
    n = next(iter(raw.values())).shape[0]
    data = {f: np.nan_to_num(v, nan=0.0) for f, v in raw.items()}
    nan = sum((~np.isfinite(v)).astype(float) for v in raw.values())
    _, half, stride, mh, lattice, _, _ = spec.sizes[k]
    missing = _missing(nan, mh, spec.derivs, start == 0, start + n == nt)
    kt = np.flatnonzero((lattice[0] >= core[0]) & (lattice[0] < core[1]))
    rows = lattice[0][kt] - start - half[0]
    sel = (rows, *(slice(0, None, s) for s in stride[1:]))
    keep = _correlate_at(missing, [np.ones(2 * m + 1) for m in half], rows, stride[1:]) < 0.5
    index = np.nonzero(keep)
    return data, sel, keep, (kt[index[0]], *index[1:])


def weak_gram_chunk(values, start, core, spec: WeakSpec, *, fld: str, idx: list[int]):
    """One chunk's share of the noise's Gram matrix ``(N_XX, N_Xy)`` of the columns ``idx``
    (:meth:`discover.weakgrid.WeakGridSystems.debiased`), first box size."""
    import sympy as sp

    from ..weakgrid import _monomials, _pair_sum

    data, sel, keep, _ = _slab_selection(values, start, core, spec, 0)
    half, stride = spec.sizes[0][1], spec.sizes[0][2][1:]
    kern = [[_bump(m, spec.p, b, hd) for m, b, hd in zip(half, beta, spec.h)]
            for _, beta in spec.parts]  # fmt: skip
    signs = [(-1) ** sum(beta) for _, beta in spec.parts]
    polys = [_monomials(g, spec.library.fields) for g, _ in spec.parts]
    t_order = (1,) + (0,) * (len(half) - 1)
    t_kern = [_bump(m, spec.p, b, hd) for m, b, hd in zip(half, t_order, spec.h)]

    def integrate(v, kernels):
        return _correlate_at(v, kernels, sel[0], stride)[keep]

    def pair(pa, pb, ka, kb) -> float:
        if pa is None or pb is None:
            return 0.0
        return _pair_sum(pa, pb, ka, kb, data, spec.sigma, spec.library, integrate)

    nxx = np.array([[signs[i] * signs[j] * pair(polys[i], polys[j], kern[i], kern[j])
                     for j in idx] for i in idx])  # fmt: skip
    py = _monomials(sp.Symbol(fld), spec.library.fields)
    nxy = np.array([-signs[i] * pair(py, polys[i], t_kern, kern[i]) for i in idx])
    return nxx, nxy


def _add(acc, part):
    return part if acc is None else tuple(a + b for a, b in zip(acc, part, strict=True))


def _missing(nan, mh, derivs, first, last) -> np.ndarray:
    """Where mollified derivatives are wrong: a mollifier's reach of a gap or of the grid's
    edge (the slab's own edges in time are not the grid's unless ``first``/``last``)."""
    if not derivs:
        return nan
    if nan.any():
        missing = _correlate(nan, [np.ones(2 * m + 1) for m in mh], mode="same") > 0.5
    else:
        missing = np.zeros(nan.shape, dtype=bool)
    for d, m in enumerate(mh):
        edge = [slice(None)] * nan.ndim
        for sl, is_edge in ((slice(0, m), first), (slice(-m, None), last)):
            if d or is_edge:
                edge[d] = sl
                missing[tuple(edge)] = True
    return missing.astype(float)


def _integral(values, beta, half, spec, at) -> np.ndarray:
    """The test-function integrals of ``values`` at the chunk's query points ``at``: their
    rows in the slab, the strides along space and which of them are kept."""
    rows, strides, keep = at
    kernels = [_bump(m, spec.p, b, hd) for m, b, hd in zip(half, beta, spec.h)]
    return _correlate_at(values, kernels, rows, strides)[keep]


class ChunkedWeakBuilder(ChunkedGridBuilder):
    """The weak form on the grid (:class:`~discover.builders.weak.WeakGridBuilder`'s
    systems) read slab by slab (see the module notes)."""

    def build(self, prepared, library, settings) -> RegressionSystems:
        samples = prepared.samples
        parts = [weak_parts(t) for t in library.terms]
        order = max([max(b) for _, b in parts] + [1])
        corners = self._corners(samples)
        half_width, _ = boxes_from_corners([samples.grid.sizes[c] for c in samples.coords],
                                           corners, order)  # fmt: skip
        head = {f: np.asarray(samples.grid[f].data[:64], dtype=float) for f in samples.fields}
        sigma = {f: _noise_sigma(v) for f, v in head.items()}
        spec = WeakSpec(samples, library, settings, half_width, sigma)
        nt = spec.axes[0].size
        step = self.chunk or self._weak_chunk_length(spec)
        cores = slabs(nt, step)
        acc = self._run(samples, spec, cores, task=weak_chunk, halo=spec.halo())
        systems = []
        for (scale, half, stride, *_), a in zip(spec.sizes, acc):
            n_rows = next(iter(a.values())).n_rows
            check_rows(n_rows, library)
            overlap = np.prod([s / (2 * m + 1) for s, m in zip(stride, half)])
            n_eff = float(max(2.0, n_rows * overlap))
            systems.append(
                RegressionSystem(
                    {"box_scale": float(scale), "half_width": half},
                    {},
                    np.empty((0, len(spec.coords))),
                    np.empty(0),
                    dict.fromkeys(spec.fields, n_eff),
                    factors=a,
                )
            )
        builder = self

        def debias(fld, R, _, idx):
            """:meth:`~discover.weakgrid.WeakGridSystems.debiased` from the first box size's
            factor ``R`` and the noise's Gram matrix streamed over the chunks."""
            if not idx or not any(sigma.values()):
                return None
            task = partial(weak_gram_chunk, fld=fld, idx=list(idx))
            nxx, nxy = builder._run(samples, spec, cores, task=task, halo=spec.halo(),
                                    merge=_add)  # fmt: skip
            A = R[:, list(idx)]
            gram = A.T @ A
            G = gram - nxx
            if np.any(np.linalg.eigvalsh(G) <= 1e-3 * np.diag(gram).min()):
                return None
            return np.linalg.solve(G, A.T @ R[:, -1] - nxy)

        info = {"half_width": [int(m) for m in half_width], "corner_index": corners,
                "bump_power": spec.p, "noise_sigma": sigma}  # fmt: skip
        chunked = {"time_steps_per_chunk": step, "n_chunks": len(cores), "halo": spec.halo(),
                   "noise_sigma": "estimated on the first 64 time steps",
                   "noise_debiasing": "noise Gram matrix streamed (second pass)"}  # fmt: skip
        return RegressionSystems(
            systems,
            "weak",
            backward=True,
            debias=debias,
            diagnostics={"weak_grid": info, "chunked": chunked},
        )

    def _weak_chunk_length(self, spec: WeakSpec) -> int:
        """A slab holds its data, gaps and masks, the mollified derivatives, one term's
        values and an FFT's work arrays (8 bytes a value, a margin of 1.5); the test
        functions' integrals are taken at the queried rows only, so a chunk's halo costs
        memory and the slab-wide work, not the integrals'."""
        per_point = 12 * (2 * len(spec.fields) + spec.n_derivs + 6)
        per_step = per_point * int(np.prod([a.size for a in spec.axes[1:]]))
        halo = per_step * 2 * spec.halo()
        return self._fit_steps(per_step, halo, spec.axes[0].size, least=2 * spec.halo())

    def _corners(self, samples) -> list[int]:
        """The corners of the spectra (:func:`discover.weakgrid.choose_half_widths`) of
        every line, read slab by slab."""
        grid = samples.grid
        shape = [grid.sizes[c] for c in samples.coords]
        corners = []
        for ax in range(len(shape)):
            along = 1 if ax == 0 else 0  # slabs across another axis keep whole lines
            step = max(1, int(self.memory // (16 * np.prod(shape) / shape[along])) // 4)
            ks = []
            for f in samples.fields:
                total, count = 0.0, 0
                for a in range(0, shape[along], step):
                    idx = [slice(None)] * len(shape)
                    idx[along] = slice(a, a + step)
                    v = np.nan_to_num(np.asarray(grid[f].data[tuple(idx)], dtype=float), nan=0.0)
                    lines = line_spectra(v, ax)
                    total, count = total + lines.sum(axis=0), count + lines.shape[0]
                ks.append(corner_of_spectrum(total / count))
            corners.append(max(ks))
        return corners


def _correlate_at(v, kernels, rows, strides) -> np.ndarray:
    """``_correlate(v, kernels)[rows, ::strides[0], ::strides[1], …]`` as banded matrix
    products at those points only: along time at the queried rows (no work is spent on the
    slab's halo), then along space at the strided points."""
    out = np.tensordot(_band(kernels[0], rows, v.shape[0]), v, axes=(1, 0))
    for d, (k, s) in enumerate(zip(kernels[1:], strides), start=1):
        at = np.arange(0, out.shape[d] - k.size + 1, s)
        out = np.moveaxis(np.tensordot(_band(k, at, out.shape[d]), out, axes=(1, d)), 0, d)
    return out


def _band(k: np.ndarray, at: np.ndarray, n: int) -> np.ndarray:
    """The ``(len(at), n)`` matrix whose row ``i`` is ``k`` from column ``at[i]`` on."""
    w = np.zeros((at.size, n))
    w[np.arange(at.size)[:, None], at[:, None] + np.arange(k.size)] = k
    return w
