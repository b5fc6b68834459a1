"""Weak form on the gridded data itself: no network, no derivative of the data.

The builder of the ``"weak"`` method of :func:`discover.find`.  It is weak SINDy (Messenger &
Bortz, J. Comput. Phys. 443, 2021) on this project's library and selection:

* separable test functions ``ψ(t, x, …) = Π_d (1 - s_d²)^p`` on boxes of ``2m_d + 1`` grid
  points, centred on a lattice of query points (every ``stride`` points along each axis);
* each library term written as a derivative ``∂^β g`` of a simpler expression where
  possible (:func:`discover.weak.weak_parts`: ``u_xxxx = ∂⁴u``, ``u*u_x = ∂(u²/2)``): the
  derivative moves onto ψ, so only values of the raw data enter;
* the other terms (``u*u_xx``, ``u_x**2``) use *mollified* derivatives of the data (the data
  convolved with the derivative of a narrow normalized bump), then are integrated against ψ;
* every integral ``∫ ∂^β ψ · g`` at every query point is a separable convolution
  (:func:`scipy.signal.fftconvolve` along one axis at a time), so a 256 × 300 case with a
  4th-order library builds in a fraction of a second;
* powers of the field are corrected for the noise's bias: with ``y = u + σ ε``, the
  probabilists' Hermite polynomial ``σ^k He_k(y/σ)`` has mean ``u^k`` (``y² - σ²``,
  ``y³ - 3σ²y``), with σ estimated from 4th differences of the data;
* the noise shared between columns (one grid point's noise enters every column whose box
  covers it) is known per row (:class:`RowNoise`), and the selection's Gram matrices are
  taken net of it (:func:`discover.select.net_of_noise`), so that no term is kept for
  cancelling another's noise.

Test-function size (the corner rule)
-------------------------------------
Along each axis the power spectrum of the data (averaged over the other axes) is flat at
high wavenumbers where noise dominates and falls off at low ones where the field lives.
Following Messenger & Bortz, the *corner* ``k_c`` is where a two-line fit of the cumulative
sum of the log-spectrum bends (:func:`corner_wavenumber`).  The bump ``(1 - s²)^p`` of
half-width ``m h`` is close to a Gaussian of standard deviation ``m h / √(2p + 3)``, whose
Fourier transform at ``k`` is ``exp(-(k m h)² / (2(2p + 3)))``; the half-width is chosen
so that this attenuation at the corner is ``exp(-TAU²/2)``:
``m = TAU √(2p + 3) / (k_c h)``, clipped to ``[MIN_HALF, MAX_FRACTION · n]`` points.  With a
clean field the corner sits at the resolution limit and the boxes stay small; with noise it
moves down to where the noise floor meets the signal and the boxes grow.  On an axis of
fewer than 54 points the size cap is below ``MIN_HALF`` and wins (down to ``SHORT_HALF``,
:func:`half_width_cap`): there the number of distinct boxes, not each box's smoothing, sets
the error.  On such boxes the exponent ``p`` is lowered too (:func:`bump_power`), so that the
bump keeps at least the width in grid points that it has at ``MIN_HALF``: a bump of 1 grid
point's standard deviation is barely resolved, and its derivatives amplify the noise.

Stability check and intervals: the same system is built with boxes :data:`SCALES` times the
chosen size (smaller where a larger box would hit the size cap, :func:`box_half_widths`); a
model whose coefficients move by more than half between the two is unstable
(:func:`discover.find._stability_check`), and the move enters the reported interval, with
the move under fresh noise (:func:`fresh_noise_fit`).

Examples
--------
>>> import numpy as np, xarray as xr
>>> from discover.io import load
>>> from discover.library import Library
>>> t = np.linspace(0, 2, 101); x = np.linspace(0, 2 * np.pi, 128, endpoint=False)
>>> u = np.exp(-0.1 * t)[:, None] * np.sin(x)[None, :]     # u_t = 0.1 u_xx
>>> s = load(xr.Dataset({"u": (("t", "x"), u)}, coords={"t": t, "x": x}), "u")
>>> lib = Library(("u",), ("t", "x"), max_order=2, degree=1)
>>> b = grid_weak_systems(s, lib)
>>> X, y = b.systems[0]["u"]
>>> c = np.linalg.lstsq(X[:, [lib.names.index("u_xx")]], y, rcond=None)[0]
>>> bool(abs(c[0] - 0.1) < 1e-4)
True
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import sympy as sp
from scipy.signal import fftconvolve

from .differentiate import is_uniform
from .errors import DataError
from .library import Library, parse_symbol
from .weak import product_rule, weak_parts
from .weakgls import NoiseJacobian

__all__ = [
    "Mollified",
    "WeakGridSystems",
    "box_half_widths",
    "bump_power",
    "corner_of_spectrum",
    "corner_wavenumber",
    "fresh_noise_fit",
    "grid_weak_systems",
    "half_width_from_corner",
    "line_spectra",
]

logger = logging.getLogger(__name__)

#: attenuation of the test function's spectrum at the corner wavenumber: exp(-TAU²/2)
TAU = 2.0
#: the bump exponent is ``p = max(order, 1) + BUMP_EXTRA`` (its derivatives up to the highest
#: one a term needs vanish smoothly at the box's edge)
BUMP_EXTRA = 6
#: fewest points in a box's half-width, and the largest half-width as a fraction of the axis;
#: where the two conflict (an axis of fewer than 54 points) the fraction wins, down to
#: ``SHORT_HALF`` points (:func:`half_width_cap`)
MIN_HALF = 8
MAX_FRACTION = 0.15
SHORT_HALF = 4
#: box sizes built, as multiples of the chosen one: the first gives the fit, the second the
#: stability check and the discretization part of the interval
SCALES = (1.0, 1.3)
#: query points per box half-width along each axis (the lattice's stride is ``m / QUERY``)
QUERY = 4
#: most grid values :class:`RowNoise` may visit, about 5 s on one core (beyond it the
#: selection uses the raw Gram matrices: λ–ω's 110-term library on 128 × 128 × 101 would
#: visit 7·10⁸, about a minute per box size; a 1-D library of 20 terms on 1024 × 251, 10⁷)
NET_BUDGET = 50_000_000
#: half-width of the mollifier used for terms that keep a derivative of the data, as a
#: fraction of the test function's
MOLLIFIER = 0.5


@dataclass
class WeakGridSystems:
    """The regression systems of the weak form on the data's grid, one per box size.

    Attributes
    ----------
    systems : list of dict
        Per box size, field -> ``(X, y)``: one row per query point, one column per term.
    centers : list of ndarray
        Per box size, the query points' coordinates (for block cross-validation).
    n_eff : list of float
        Per box size, the number of non-overlapping boxes (for AIC/BIC).
    variants : list of dict
        Per box size, its settings (half-widths in grid points, scale).
    info : dict
        How the sizes were chosen (corner wavenumbers, noise estimate), for the report.
    """

    systems: list[dict[str, tuple[np.ndarray, np.ndarray]]]
    centers: list[np.ndarray]
    n_eff: list[float]
    variants: list[dict]
    info: dict = field(default_factory=dict)
    noise_gram: Callable[[str, Sequence[int]], tuple[np.ndarray, np.ndarray]] | None = None
    #: per box size, ``(j, basis) -> columns`` of term ``j`` times each basis function of a
    #: coefficient field, exact by the product rule (:mod:`discover.fields`)
    modulators: list[Callable] = field(default_factory=list)
    #: the first box size's rows as linear maps of the noise (generalized least squares)
    jacobian: NoiseJacobian | None = None
    #: per box size, the noise's share of each row's Gram matrix (:class:`RowNoise`)
    row_noise: list = field(default_factory=list)

    def debiased(self, fld: str, X: np.ndarray, y: np.ndarray, idx: Sequence[int]):
        """Least squares of ``y`` on the columns ``idx`` of ``X`` (the first box size) with
        the noise's expected share of ``XᵀX`` and ``Xᵀy`` taken out (errors in variables),
        then, where it applies, one step of generalized least squares weighted by the
        residual's noise covariance (:mod:`discover.weakgls`); ``None`` when no noise Gram
        is known or the corrected matrix is not positive definite."""
        if self.noise_gram is None or not len(idx):
            return None
        nxx, nxy = self.noise_gram(fld, list(idx))
        A = X[:, list(idx)]
        G = A.T @ A - nxx
        c = None
        if not np.any(np.linalg.eigvalsh(G) <= 1e-3 * np.diag(A.T @ A).min()):
            c = np.linalg.solve(G, A.T @ y - nxy)
        if self.jacobian is not None:
            start = c if c is not None else np.linalg.lstsq(A, y, rcond=None)[0]
            step = self.jacobian.fit(fld, X, y, idx, start)
            c = step if step is not None else c
        return c


def corner_wavenumber(u: np.ndarray, axis: int) -> int:
    """Index of the corner of the power spectrum of ``u`` along ``axis``.

    The spectrum ``|û_k|`` (averaged over the other axes) is turned into
    ``L_k = Σ_{j ≤ k} log|û_j|``; signal makes it rise steeply at low ``k`` and noise
    linearly at high ``k``.  The corner is the ``k`` where a continuous two-segment fit of
    ``L`` has the smallest squared error.

    >>> rng = np.random.default_rng(0); x = np.linspace(0, 2 * np.pi, 512, endpoint=False)
    >>> u = np.sin(3 * x)[None, :] + 0.5 * np.cos(7 * x)[None, :] + 0.01 * rng.normal(size=(4, 512))
    >>> 7 <= corner_wavenumber(u, 1) <= 40
    True
    """
    return corner_of_spectrum(line_spectra(u, axis).mean(axis=0))


def line_spectra(u: np.ndarray, axis: int) -> np.ndarray:
    """``|û_k|`` of every line of ``u`` along ``axis`` (mean removed, Hann window), one row
    a line: :func:`corner_wavenumber` averages them (a sum over slabs of lines will do)."""
    v = np.moveaxis(np.asarray(u, dtype=float), axis, -1)
    v = v - v.mean(axis=-1, keepdims=True)
    n = v.shape[-1]
    win = np.hanning(n)  # the data are not periodic in general
    return np.abs(np.fft.rfft(v * win, axis=-1)).reshape(-1, n // 2 + 1)


def corner_of_spectrum(spec: np.ndarray) -> int:
    """The corner (:func:`corner_wavenumber`) of a line-averaged spectrum ``|û_k|``."""
    logs = np.log(np.maximum(spec, 1e-300 + spec.max() * 1e-16))
    cum = np.cumsum(logs - logs.min())
    k = np.arange(cum.size, dtype=float)
    best, arg = np.inf, 1
    for c in range(2, cum.size - 2):
        err = 0.0
        for sl in (slice(0, c + 1), slice(c, None)):
            a = np.polyfit(k[sl], cum[sl], 1)
            err += float(np.sum((np.polyval(a, k[sl]) - cum[sl]) ** 2))
        if err < best:
            best, arg = err, c
    return int(arg)


def half_width_from_corner(n: int, corner: int, p: int) -> int:
    """Half-width (grid points) of the bump ``(1 - s²)^p`` whose spectrum is down to
    ``exp(-TAU²/2)`` at the corner wavenumber (index ``corner`` of an ``n``-point axis).

    >>> half_width_from_corner(256, 20, 8), half_width_from_corner(256, 5, 8)
    (18, 38)
    """
    k_h = 2 * np.pi * max(corner, 1) / n  # wavenumber times the grid spacing
    m = TAU * np.sqrt(2 * p + 3) / k_h
    cap = half_width_cap(n)
    upper = max(MIN_HALF, int(MAX_FRACTION * n)) if cap >= MIN_HALF else cap
    return int(min(max(round(m), MIN_HALF), upper))


def half_width_cap(n: int) -> int:
    """The largest half-width (grid points) on an axis of ``n`` points: ``MAX_FRACTION · n``,
    at least ``SHORT_HALF``.

    Below 54 points this cap is under ``MIN_HALF`` and wins: on an axis of 31 points a box of
    half-width 8 spans 17 of them and leaves about 8 distinct rows, and the rows' scatter,
    not the test function's smoothing, sets the error (2-D advection–diffusion on
    40 × 40 × 31 at 20% noise: half-widths 8 → within 5% in 3 of 16 draws; 6/5 → 12 of 16).

    >>> half_width_cap(300), half_width_cap(40), half_width_cap(20)
    (45, 6, 4)
    """
    return max(SHORT_HALF, round(MAX_FRACTION * n))


def bump_power(order: int, half_width: Sequence[int]) -> int:
    """The exponent ``p`` of the bump ``(1 - s²)^p`` for a library of derivative ``order``
    on boxes of ``half_width`` grid points per axis.

    ``order + BUMP_EXTRA``, unless a box is below ``MIN_HALF`` points (a short axis,
    :func:`half_width_cap`): then ``p`` is lowered, down to ``order + 2``, so that the bump's
    standard deviation ``m / √(2p + 3)`` stays at least that of the usual bump at
    ``MIN_HALF`` points (1.75 grid points for a 3rd-order library).  A narrower bump is
    barely resolved by the grid: its derivatives, sampled at about one point per standard
    deviation, amplify the noise (2-D advection–diffusion on 40 × 40 × 31, half-widths
    5, 6, 6, at 20% noise: ``p`` 9 → 5 takes the draws within 5% from 19 to 28 of 40; ``order
    + 1`` is too rough: on clean data it leaves 16% in a diffusion coefficient, ``order + 2``
    0.5%).

    >>> bump_power(3, [18, 20]), bump_power(3, [5, 6, 6]), bump_power(2, [7, 9])
    (9, 5, 5)
    """
    p = order + BUMP_EXTRA
    width = MIN_HALF / np.sqrt(2 * p + 3)
    fit = int(np.floor(((min(half_width) / width) ** 2 - 3) / 2 + 1e-9))
    return int(min(p, max(order + 2, fit)))


def _bump(m: int, p: int, order: int, h: float) -> np.ndarray:
    """``h · d^order/dz^order (1 - s²)^p`` at the ``2m + 1`` points of a box (``z = s m h``)."""
    poly = np.polynomial.Polynomial([1.0, 0.0, -1.0]) ** p
    s = np.linspace(-1.0, 1.0, 2 * m + 1)
    return poly.deriv(order)(s) / (m * h) ** order * h if order else poly(s) * h


def _correlate(v: np.ndarray, kernels: Sequence[np.ndarray], mode: str = "valid") -> np.ndarray:
    """``Σ_j K(j) v(i + j)`` with the separable kernel ``Π_d kernels[d]``, axis by axis."""
    out = v
    for d, k in enumerate(kernels):
        shape = [1] * v.ndim
        shape[d] = k.size
        out = fftconvolve(out, k[::-1].reshape(shape), mode=mode, axes=d)
    return out


def _hermite_power(y: np.ndarray, k: int, sigma: float) -> np.ndarray:
    """``σ^k He_k(y/σ)``: an unbiased estimate of ``u^k`` from ``y = u + N(0, σ²)``."""
    if sigma <= 0 or k < 2:
        return y**k
    prev, out = np.ones_like(y), y  # σⁿ Heₙ(y/σ) by Heₙ₊₁(x) = x Heₙ(x) − n Heₙ₋₁(x)
    for n in range(1, k):
        prev, out = out, y * out - (n * sigma**2) * prev
    return out


def _values(
    expr: sp.Expr,
    library: Library,
    data: dict[str, np.ndarray],
    deriv,
    sigma: dict[str, float],
    coords: dict[str, np.ndarray],
) -> np.ndarray:
    """``expr`` on the grid: powers of a field noise-corrected, derivatives mollified.

    A product with a mollified derivative of a field whose value (or another derivative) is
    also a factor (``u*u_xx``, ``u**2*v*u_yy``) is taken as the Wick product of its noisy
    factors (:func:`_wick`) when ``deriv`` knows its kernels (:class:`Mollified`): the
    derivative's noise is correlated with the value's at the same point, so the plain
    product is biased by ``σ²`` times the kernel's centre weight.
    """
    expr = sp.expand(expr)
    total = np.zeros(next(iter(data.values())).shape)
    for term in sp.Add.make_args(expr):
        coef, rest = term.as_coeff_Mul()
        val = np.full(total.shape, float(coef))
        factors: list[tuple[str, tuple[int, ...] | None]] = []
        for base, exp in rest.as_powers_dict().items():
            if base == 1:
                continue
            name, k = str(base), int(exp)
            if name in coords:
                val = val * coords[name] ** k
            elif name in data:
                factors += [(name, None)] * k
            else:
                d = parse_symbol(name, library.fields, library.coords)
                if d is None:
                    raise DataError(f"term {term} cannot be evaluated on the grid")
                factors += [(d.field, tuple(d.orders))] * k
        total = total + val * _noisy_product(factors, data, deriv, sigma)
    return total


def _noisy_product(factors, data, deriv, sigma) -> np.ndarray:
    """The unbiased product of ``factors`` (``(field, None)`` a value of the field,
    ``(field, orders)`` a mollified derivative): Hermite polynomials for powers of the
    fields, the Wick product when a derivative shares its field's noise with another
    factor."""
    fields = [f for f, _ in factors]
    shared = any(o is not None and fields.count(f) > 1 for f, o in factors)
    if shared and hasattr(deriv, "noise_cov") and any(sigma[f] > 0 for f in fields):
        return _wick(factors, data, deriv, sigma)
    val = np.ones(next(iter(data.values())).shape)
    for f in dict.fromkeys(f for f, o in factors if o is None):
        val = val * _hermite_power(data[f], factors.count((f, None)), sigma[f])
    for f, o in factors:
        if o is not None:
            val = val * deriv(f, o)
    return val


def _wick(factors, data, deriv, sigma) -> np.ndarray:
    """The Wick product ``:X₁⋯Xₙ:`` of jointly Gaussian noisy factors, whose mean is the
    product of the clean ones: ``:X₁⋯Xₙ: = Xₙ :X₁⋯Xₙ₋₁: − Σᵢ Cov(Xᵢ, Xₙ) :⋯X̂ᵢ⋯Xₙ₋₁:``.

    ``Cov`` of two factors of one field is ``σ²`` times the overlap of their kernels at the
    same point (the identity for a value; :meth:`Mollified.noise_cov`); factors of
    different fields have independent noises.  With values only this is the Hermite
    recursion of :func:`_hermite_power`.

    >>> d = {"u": np.array([2.0])}
    >>> m = Mollified(d, [2], 2, [1.0])
    >>> float(_wick([("u", None)] * 3, d, m, {"u": 0.5})[0])  # 2³ - 3 · 0.25 · 2
    6.5
    """
    shape = next(iter(data.values())).shape
    memo: dict[tuple[int, ...], np.ndarray] = {(): np.ones(shape)}

    def value(i: int) -> np.ndarray:
        f, o = factors[i]
        return data[f] if o is None else deriv(f, o)

    def cov(i: int, j: int) -> float:
        (fi, oi), (fj, oj) = factors[i], factors[j]
        return sigma[fi] ** 2 * deriv.noise_cov(oi, oj) if fi == fj else 0.0

    def w(idx: tuple[int, ...]) -> np.ndarray:
        if idx not in memo:
            last, rest = idx[-1], idx[:-1]
            out = value(last) * w(rest)
            for k, i in enumerate(rest):
                c = cov(i, last)
                if c:
                    out = out - c * w(rest[:k] + rest[k + 1 :])
            memo[idx] = out
        return memo[idx]

    return w(tuple(range(len(factors))))


class Mollified:
    """The data's derivatives, mollified: each field correlated with derivatives of the
    normalized bump ``(1 - s²)^p`` of half-width ``mh`` points per axis (cached per field and
    orders); callable as ``deriv(field, orders)``.

    >>> m = Mollified({"u": np.arange(20.0)}, [3], 4, [0.5])
    >>> round(float(m("u", (1,))[10]), 2)  # u = 2x (a 3-point mollifier: 1% off)
    2.02
    """

    def __init__(self, data: dict[str, np.ndarray], mh: Sequence[int], p: int, h: Sequence[float]):
        self.data, self.mh, self.p, self.h = data, list(mh), p, list(h)
        self._cache: dict = {}

    def kernels(self, orders: Sequence[int]) -> list[np.ndarray]:
        """Per axis, the correlation kernel of the derivative ``orders``: ``∂^o (φ * u)(x) =
        Σ_j φ^(o)(x - x_j) u_j``, a correlation with ``φ^(o)(-z) = (-1)^o φ^(o)(z)`` (``φ``
        even)."""
        return [
            (-1) ** o * _bump(m, self.p, o, hd) / _bump(m, self.p, 0, hd).sum()
            for m, o, hd in zip(self.mh, orders, self.h)
        ]

    def __call__(self, fld: str, orders: tuple[int, ...]) -> np.ndarray:
        key = (fld, tuple(orders))
        if key not in self._cache:
            self._cache[key] = _correlate(self.data[fld], self.kernels(orders), mode="same")
        return self._cache[key]

    def noise_cov(self, a: Sequence[int] | None, b: Sequence[int] | None) -> float:
        """The covariance, per unit noise variance, of two factors of one field at the same
        point: values (``None``) or mollified derivatives (their kernels' overlap)."""
        if a is None and b is None:
            return 1.0
        if a is None or b is None:
            ks = self.kernels(b if a is None else a)
            return float(np.prod([k[k.size // 2] for k in ks]))
        return float(np.prod([ka @ kb for ka, kb in zip(self.kernels(a), self.kernels(b))]))


def _has_derivative(g: sp.Expr, library: Library) -> bool:
    """Whether ``g`` contains a derivative symbol of a field (it then needs mollifying)."""
    for s in g.free_symbols:
        d = parse_symbol(s.name, library.fields, library.coords)
        if d is not None and d.total_order:
            return True
    return False


def _noise_sigma(u: np.ndarray) -> float:
    """Absolute noise σ from 4th differences along each axis (the smallest estimate)."""
    out = np.inf
    for ax in range(u.ndim):
        if u.shape[ax] < 9:
            continue
        d = np.diff(u, n=4, axis=ax)
        d = d[np.isfinite(d)]
        out = min(out, 1.4826 * np.median(np.abs(d - np.median(d))) / np.sqrt(70))
    return float(out) if np.isfinite(out) else 0.0


def _axes(samples) -> list[np.ndarray]:
    if samples.grid is None:
        raise DataError(
            f"the 'weak' method needs gridded data, but the layout is '{samples.layout}'; "
            "use --method neural"
        )
    axes = [np.asarray(samples.grid[c].values, dtype=float) for c in samples.coords]
    for c, a in zip(samples.coords, axes):
        if a.size < 2 * MIN_HALF + 1 or not is_uniform(a):
            raise DataError(
                f"the 'weak' method needs uniformly spaced coordinates with at least "
                f"{2 * MIN_HALF + 1} points; '{c}' has {a.size} (use --method neural or fd)"
            )
    return axes


def choose_half_widths(samples, order: int) -> tuple[list[int], list[int], int]:
    """Half-widths (grid points) per axis from the corner rule, the corners, and the bump's
    power (:func:`boxes_from_corners`) for a library of derivative ``order``."""
    corners = []
    for ax in range(len(samples.coords)):
        ks = [
            corner_wavenumber(np.nan_to_num(samples.grid[f].values, nan=0.0), ax)
            for f in samples.fields
        ]
        corners.append(max(ks))
    half, p = boxes_from_corners(samples.grid[samples.fields[0]].shape, corners, order)
    return half, corners, p


def boxes_from_corners(
    shape: Sequence[int], corners: Sequence[int], order: int
) -> tuple[list[int], int]:
    """Half-widths per axis (:func:`half_width_from_corner`) and the bump's power
    (:func:`bump_power`); where a short axis lowers the power, the other axes take the
    corner rule's width for the lowered bump.

    >>> boxes_from_corners([31, 40, 40], [2, 3, 3], 3), boxes_from_corners([256], [20], 3)
    (([5, 6, 6], 5), ([19], 9))
    """
    p = order + BUMP_EXTRA
    half = [half_width_from_corner(n, c, p) for n, c in zip(shape, corners)]
    q = bump_power(order, half)
    if q < p:
        half = [half_width_from_corner(n, c, q) for n, c in zip(shape, corners)]
    return half, q


def box_half_widths(half_width: Sequence[int], shape: Sequence[int], scale: float) -> list[int]:
    """The half-widths of the boxes ``scale`` times the chosen ones, per axis.

    Clipped to ``[MIN_HALF, half_width_cap(n)]`` (the cap wins on short axes); where a
    larger box (``scale > 1``) would be clipped back to the chosen size, the axis takes a
    box ``scale`` times *smaller* instead, so that the neighbouring size differs (down to
    ``SHORT_HALF`` on a short axis, ``MIN_HALF`` on a long one; the stability check and the
    discretization part of the interval compare against it: a neighbour equal to the chosen
    box would see no change, and the interval would miss the estimator's bias).

    >>> box_half_widths([20, 30], [300, 200], 1.3)  # x is at its cap (0.15 · 200 = 30)
    [26, 23]
    >>> box_half_widths([20, 30], [300, 200], 1.0)
    [20, 30]
    """
    out = []
    for m, n in zip(half_width, shape):
        cap = half_width_cap(n)
        low = MIN_HALF if cap >= MIN_HALF else SHORT_HALF  # a short axis may go below MIN_HALF
        base = int(min(max(MIN_HALF, m), cap))
        half = int(min(max(MIN_HALF, round(scale * m)), cap))
        if scale > 1 and half <= base + (scale - 1) * base / 2:  # clipped: go smaller
            half = max(low, round(base / scale))
        out.append(int(half))
    return out


def grid_weak_systems(
    samples,
    library: Library,
    *,
    half_width: Sequence[int] | None = None,
    scales: Sequence[float] = SCALES,
    noise_correction: bool = True,
    gls: bool = False,
) -> WeakGridSystems:
    """The weak-form regression systems of every field, built on the data's own grid.

    Parameters
    ----------
    samples : Samples
        Gridded samples with uniformly spaced coordinates (NaN allowed: boxes touching one
        are left out).
    library : Library
    half_width : sequence of int, optional
        Box half-widths in grid points per coordinate (time first); default: the corner rule.
    scales : sequence of float
        Box sizes built, as multiples of ``half_width``.
    noise_correction : bool
        Correct powers of a field for the noise's bias (Hermite polynomials).
    gls : bool
        Debiased fits take the generalized least squares step (:mod:`discover.weakgls`).

    Returns
    -------
    WeakGridSystems
    """
    axes = _axes(samples)
    h = [float(a[1] - a[0]) for a in axes]
    parts = [weak_parts(t) for t in library.terms]
    order = max([max(b) for _, b in parts] + [1])
    corners = None
    if half_width is None:
        half_width, corners, p = choose_half_widths(samples, order)
    else:
        p = bump_power(order, half_width)
    raw = {f: np.asarray(samples.grid[f].values, dtype=float) for f in samples.fields}
    missing = np.zeros(raw[samples.fields[0]].shape)
    for v in raw.values():
        missing = missing + ~np.isfinite(v)
    data = {f: np.nan_to_num(v, nan=0.0) for f, v in raw.items()}
    sigma = {f: _noise_sigma(raw[f]) if noise_correction else 0.0 for f in samples.fields}
    mesh = dict(zip(samples.coords, np.meshgrid(*axes, indexing="ij"), strict=True))
    systems, centers, n_eff, variants, modulators = [], [], [], [], []
    noise_gram = jacobian = None
    row_noise = []
    for scale in scales:
        half = box_half_widths(half_width, missing.shape, scale)
        sys_, cen, ne, gram, mod, noise = _one_size(
            library, parts, data, missing, sigma, mesh, axes, h, half, p, gram=not systems
        )
        if gram:
            noise_gram, jacobian = gram
        modulators.append(mod)
        row_noise.append(noise if noise_correction else None)
        systems.append(sys_)
        centers.append(cen)
        n_eff.append(ne)
        variants.append({"box_scale": float(scale), "half_width": half})
    info = {
        "half_width": [int(m) for m in half_width],
        "corner_index": corners,
        "bump_power": p,
        "noise_sigma": sigma,
        "generalized_least_squares": bool(gls and noise_correction),
        "selection_net_of_shared_noise": bool(row_noise and row_noise[0] is not None),
    }
    logger.info("weak form on the grid: half-widths %s (corners %s)", half_width, corners)
    if not noise_correction:
        noise_gram = jacobian = None
    return WeakGridSystems(
        systems, centers, n_eff, variants, info, noise_gram, modulators,
        jacobian if gls else None, row_noise,
    )  # fmt: skip


def fresh_noise_fit(
    samples, library: Library, built: WeakGridSystems, fld: str, idx: Sequence[int], *, seed=0
) -> np.ndarray | None:
    """The model ``idx`` of ``fld`` fitted again, with the same boxes and the same noise
    correction, on the data plus fresh Gaussian noise of the estimated σ (the noise's
    variance doubled).

    If the noise correction left no bias the coefficients would move only by the fresh
    noise's scatter; a bias growing with σ² moves them by about its own size (the first step
    of SIMEX, Cook & Stefanski 1994).  :func:`discover.find.fit_field` takes the move into
    the interval.  ``None`` when there is no noise to double or the fit fails.
    """
    sigma = built.info.get("noise_sigma") or {}
    if not idx or not any(v > 0 for v in sigma.values()):
        return None
    rng = np.random.default_rng([seed, 19])
    grid = samples.grid.copy(deep=False)
    for f in samples.fields:
        v = np.asarray(grid[f].values, dtype=float)
        grid[f] = grid[f].copy(data=v + sigma.get(f, 0.0) * rng.standard_normal(v.shape))
    again = grid_weak_systems(
        replace(samples, grid=grid),
        library,
        half_width=built.info["half_width"],
        scales=(1.0,),
        gls=built.jacobian is not None,
    )
    X, y = again.systems[0][fld]
    c = again.debiased(fld, X, y, idx)
    if c is None:
        c = np.linalg.lstsq(X[:, list(idx)], y, rcond=None)[0]
    return c


def _one_size(library, parts, data, missing, sigma, mesh, axes, h, half, p, *, gram=False):
    """The systems for one box size: rows at the lattice of query points (and, with
    ``gram``, the noise's expected share of the Gram matrix, :meth:`WeakGridSystems.debiased`)."""
    ndim = len(axes)
    stride = [max(1, m // QUERY) for m in half]
    mh = [max(2, round(MOLLIFIER * m)) for m in half]
    if any(_has_derivative(g, library) for g, _ in parts):
        # mollified derivatives are wrong within a mollifier's reach of an edge or a gap
        missing = _correlate(missing, [np.ones(2 * m + 1) for m in mh], mode="same") > 0.5
        for d, m in enumerate(mh):
            edge = [slice(None)] * ndim
            for sl in (slice(0, m), slice(-m, None)):
                edge[d] = sl
                missing[tuple(edge)] = True
        missing = missing.astype(float)
    # valid centres: boxes wholly inside the grid and touching no missing value
    bad = _correlate(missing, [np.ones(2 * m + 1) for m in half]) > 0.5
    sel = tuple(slice(0, None, s) for s in stride)
    keep = ~bad[sel]
    if keep.sum() <= len(library):
        raise DataError(
            f"only {int(keep.sum())} test-function boxes fit in the data (half-widths {half} "
            "points); the weak method needs a larger grid, or use --method fd"
        )
    deriv = Mollified(data, mh, p, h)

    def integral(values: np.ndarray, beta: Sequence[int]) -> np.ndarray:
        kernels = [_bump(m, p, b, hd) for m, b, hd in zip(half, beta, h)]
        return _correlate(values, kernels)[sel][keep]

    cols = []
    for g, beta in parts:
        v = _values(g, library, data, deriv, sigma, mesh)
        cols.append((-1) ** sum(beta) * integral(v, beta))
    X = np.column_stack(cols)
    t_order = (1,) + (0,) * (ndim - 1)
    systems = {f: (X, -integral(data[f], t_order)) for f in library.fields}
    grids = [a[m : a.size - m][::s] for a, m, s in zip(axes, half, stride)]
    cen = np.stack([c[keep] for c in np.meshgrid(*grids, indexing="ij")], axis=1)
    overlap = np.prod([s / (2 * m + 1) for s, m in zip(stride, half)])
    # each term's kernel, sign and polynomial (the noise Gram, the GLS step, RowNoise)
    kern = [[_bump(m, p, b, hd) for m, b, hd in zip(half, beta, h)] for _, beta in parts]
    signs = [(-1) ** sum(beta) for _, beta in parts]
    polys = [_monomials(g, library.fields) for g, _ in parts]
    t_kern = [_bump(m, p, b, hd) for m, b, hd in zip(half, t_order, h)]
    ng = None
    if gram:

        def pair(pa, pb, ka, kb) -> float:
            if pa is None or pb is None:
                return 0.0
            return _pair_sum(pa, pb, ka, kb, data, sigma, library,
                             lambda v, k: _correlate(v, k)[sel][keep])  # fmt: skip

        def ng(fld: str, idx: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
            """``(N_XX, N_Xy)`` of the columns ``idx`` for field ``fld``."""
            nxx = np.array(
                [
                    [signs[i] * signs[j] * pair(polys[i], polys[j], kern[i], kern[j]) for j in idx]
                    for i in idx
                ]
            )
            py = _monomials(sp.Symbol(fld), library.fields)  # y = -∫ψ_t u_f
            nxy = np.array([-signs[i] * pair(py, polys[i], t_kern, kern[i]) for i in idx])
            return nxx, nxy

        jac = NoiseJacobian(
            data,
            sigma,
            polys,
            kern,
            signs,
            t_kern,
            stride,
            keep,
            list(library.fields),
            {f: deriv(f, (0,) * ndim) for f in data},
        )
        ng = (ng, jac)

    noise = None
    if any(v > 0 for v in sigma.values()) and RowNoise.cost(polys, missing.size) <= NET_BUDGET:
        noise = RowNoise(
            polys, kern, signs, t_kern, list(library.fields), data, sigma,
            lambda v, k: _correlate(v, k)[sel][keep],
        )  # fmt: skip

    def modulate(j: int, basis) -> np.ndarray:
        """Term ``j``'s columns with each basis function of a coefficient field."""
        g, beta = parts[j]
        v = _values(g, library, data, deriv, sigma, mesh)
        flat = {c: m.ravel() for c, m in mesh.items()}
        return product_rule(beta, v, basis, flat, integral)

    return systems, cen, float(max(2.0, keep.sum() * overlap)), ng, modulate, noise


class RowNoise:
    """The noise's expected share of ``[X y]ᵀ[X y]`` between columns, per row of the weak
    form on the grid.

    Row ``q`` of the column ``∂^β g`` (the derivative on the test function) carries the
    noise ``Σ_z K_β(z − q) (g(y) − g(u))(z)``; two columns ``a``, ``b`` with polynomial ``g``
    share ``E[δX_a δX_b] = Σ_z K_a K_b Cov(g_a, g_b)(z)`` of it (the Hermite covariance of the
    noise-corrected polynomials, :func:`_poly_cov`), and the left-hand side
    ``-∫ ∂_t ψ · u_f`` likewise.  Columns that keep a mollified derivative of the data
    (``u*u_xx``) are not polynomials: their share is taken as zero.  Only shares between
    two different columns are computed (:func:`discover.select.net_of_noise` uses no other).
    """

    def __init__(self, polys, kernels, signs, t_kernel, fields, data, sigma, integrate):
        self.p = len(polys)
        self.cols = [j for j, g in enumerate(polys) if g is not None]
        self.polys, self.kernels, self.signs = polys, kernels, signs
        self.t_kernel, self.fields = t_kernel, fields
        self.data, self.sigma, self.integrate = data, sigma, integrate
        self._cov: dict = {}
        self._rows: dict = {}

    @staticmethod
    def cost(polys: Sequence[dict | None], grid_size: int) -> int:
        """Grid values visited to compute every share (the pairs of polynomial columns,
        the left-hand side included, whose covariance varies in space: those of two
        linear columns are constant and cost nothing)."""
        lin = [g for g in polys if g is not None and all(sum(e) <= 1 for e in g)]
        nonlin = sum(g is not None for g in polys) - len(lin)
        return (nonlin * (nonlin - 1) // 2 + nonlin * (len(lin) + 1)) * grid_size

    def _column(self, j, fld):
        """Polynomial, kernel and sign of column ``j`` (``self.p``: the left-hand side)."""
        if j < self.p:
            return self.polys[j], self.kernels[j], self.signs[j]
        e = tuple(int(f == fld) for f in self.fields)
        return {e: 1.0}, self.t_kernel, -1

    def _pair(self, a, b, fld):
        """Per-row share of columns ``a``, ``b`` (a scalar where it is the same in every
        row: both linear in the fields, whose noise covariance is constant)."""
        pa, ka, sa = self._column(a, fld)
        pb, kb, sb = self._column(b, fld)
        key = (tuple(sorted(pa.items())), tuple(sorted(pb.items())))
        if key not in self._cov:
            cov = _poly_cov(pa, pb, self.data, self.sigma, self.fields)
            flat = np.ptp(cov) <= 1e-12 * max(float(np.abs(cov).max()), 1e-300)
            self._cov[key] = float(cov.flat[0]) if flat else cov
        cov = self._cov[key]
        kk = [x * y for x, y in zip(ka, kb)]
        if np.isscalar(cov):
            return sa * sb * cov * float(np.prod([k.sum() for k in kk]))
        return sa * sb * self.integrate(cov, kk)

    def shares(self, fld: str, labels: np.ndarray, n_labels: int) -> np.ndarray:
        """``(n_labels, p + 1, p + 1)``: the shares between columns summed over the rows of
        each label (``labels``: one per row, ``0 … n_labels - 1``; the last column the
        left-hand side of ``fld``); zero on the diagonal."""
        p = self.p
        out = np.zeros((n_labels, p + 1, p + 1))
        cols = [*self.cols, p]
        counts = np.bincount(labels, minlength=n_labels).astype(float)
        for i, a in enumerate(cols):
            for b in cols[i + 1 :]:
                key = (a, b if b < p else fld)
                if key not in self._rows:
                    self._rows[key] = self._pair(a, b, fld)
                v = self._rows[key]
                s = counts * v if np.isscalar(v) else np.bincount(labels, v, minlength=n_labels)
                out[:, a, b] = out[:, b, a] = s
        return out


def _monomials(g: sp.Expr, fields: Sequence[str]) -> dict | None:
    """``g`` as ``{exponents over fields: coefficient}``; None unless a polynomial in the
    fields alone (terms with derivatives or coordinates are left uncorrected)."""
    syms = [sp.Symbol(f) for f in fields]
    if not g.free_symbols or not g.free_symbols <= set(syms):
        return None
    poly = sp.Poly(sp.expand(g), *syms)
    return {tuple(int(e) for e in k): float(c) for k, c in poly.terms()}


def _pair_cov(a: tuple, b: tuple, data, sigma, fields) -> np.ndarray:
    """Covariance of the noise-corrected monomials ``u^a`` and ``u^b`` at each grid point:
    ``Σ_{m≠0} Π_f C(a_f, m_f) C(b_f, m_f) m_f! σ_f^{2m_f} · u^{a+b-2m}`` (Hermite
    expansion), with ``u^{a+b-2m}`` itself estimated without bias."""
    from itertools import product
    from math import comb, factorial

    shape = next(iter(data.values())).shape
    out = np.zeros(shape)
    for m in product(*[range(min(x, y) + 1) for x, y in zip(a, b)]):
        if not any(m):
            continue
        w = np.ones(shape)
        for f, ai, bi, mi in zip(fields, a, b, m):
            w = (
                w
                * (comb(ai, mi) * comb(bi, mi) * factorial(mi) * sigma[f] ** (2 * mi))
                * _hermite_power(data[f], ai + bi - 2 * mi, sigma[f])
            )
        out += w
    return out


def _poly_cov(pa: dict, pb: dict, data, sigma, fields) -> np.ndarray:
    """The noise's covariance of two noise-corrected polynomials of the fields (monomial
    form, :func:`_monomials`) at each grid point (:func:`_pair_cov` term by term)."""
    cov = np.zeros(next(iter(data.values())).shape)
    for ea, ca in pa.items():
        for eb, cb in pb.items():
            cov = cov + ca * cb * _pair_cov(ea, eb, data, sigma, fields)
    return cov


def _pair_sum(pa, pb, ka, kb, data, sigma, library, integrate) -> float:
    """``Σ_rows Σ_z K_a K_b Cov(g_a, g_b)`` for two polynomial columns; ``integrate(v,
    kernels)`` gives the test-function integrals of ``v`` at the kept rows."""
    cov = _poly_cov(pa, pb, data, sigma, library.fields)
    if not np.any(cov):
        return 0.0
    return float(np.sum(integrate(cov, [x * y for x, y in zip(ka, kb)])))
