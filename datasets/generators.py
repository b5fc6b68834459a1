"""Generators of benchmark fields from known PDEs, exact or spectrally accurate.

Each generator returns a :class:`Problem`: the true equation (as a string that
:func:`sympy.sympify` reads), its coefficients, the domain, and a function that evaluates
the solution on any tensor grid of times and positions.  :func:`make_dataset` turns a problem
into a CF-style :class:`xarray.Dataset` (gridded, station or scattered layout, with noise and
missing values on request) whose attributes record the true equation.

The coefficients are keyword arguments; the data follows whatever values are given, so that
tests can use coefficients the discovery code has never seen.
"""

from __future__ import annotations

import inspect
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from discover.solve.spectral import etdrk4, etdrk4_states, fourier_interpolate, wavenumbers

__all__ = ["GENERATORS", "Problem", "generate", "make_dataset"]


@dataclass
class Problem:
    """A known PDE with a way to evaluate its solution.

    Attributes
    ----------
    name : str
    equation : str
        ``"u_t = <rhs>"`` with the rhs in SymPy syntax.
    coefficients : dict
        Term name -> coefficient, e.g. ``{"u*u_x": -1.0, "u_xx": 0.1}``.
    space : dict
        Spatial coordinate -> (start, end) of the domain (periodic: end excluded).
    t_end : float
    evaluate : callable
        ``evaluate(t, *xs)`` with 1-D arrays returns the field on the tensor grid
        ``(len(t), len(x), ...)``.
    periodic : bool
    continuous_time : bool
        Whether ``evaluate`` takes any times (exact solutions) or only a uniform grid from 0.
    """

    name: str
    equation: str
    coefficients: dict[str, float]
    space: dict[str, tuple[float, float]]
    t_end: float
    evaluate: Callable[..., np.ndarray]
    periodic: bool = True
    continuous_time: bool = True
    fields: tuple[str, ...] = ("u",)
    description: str = ""
    extra: dict = field(default_factory=dict)


def _rhs(coefs: dict[str, float]) -> str:
    parts = []
    for term, c in coefs.items():
        sign = "-" if c < 0 else "+"
        parts.append(f"{sign} {abs(c)!r}*{term}")
    s = " ".join(parts)
    return s[2:] if s.startswith("+ ") else "-" + s[2:]


def _grid(start: float, end: float, n: int) -> np.ndarray:
    return start + (end - start) * np.arange(n) / n


def _random_modes(rng: np.random.Generator, kmax: int) -> tuple[np.ndarray, np.ndarray]:
    amp = rng.normal(size=kmax) / np.arange(1, kmax + 1)
    phase = rng.uniform(0, 2 * np.pi, size=kmax)
    return amp, phase


# ---------------------------------------------------------------- exact Fourier solutions


def heat(*, diffusivity: float = 0.1, seed: int = 0, kmax: int = 8) -> Problem:
    """``u_t = D u_xx`` on the periodic interval [0, 2π): an exact Fourier series."""
    return advection_diffusion(
        velocity=0.0, diffusivity=diffusivity, seed=seed, kmax=kmax, _name="heat"
    )


def advection_diffusion(
    *,
    velocity: float = 1.0,
    diffusivity: float = 0.05,
    seed: int = 0,
    kmax: int = 8,
    t_end: float = 5.0,
    _name: str = "advection_diffusion",
) -> Problem:
    """``u_t = -c u_x + D u_xx`` on the periodic interval [0, 2π): an exact Fourier series."""
    rng = np.random.default_rng(seed)
    amp, phase = _random_modes(rng, kmax)
    k = np.arange(1, kmax + 1)

    def evaluate(t: np.ndarray, x: np.ndarray) -> np.ndarray:
        t = np.asarray(t, float)[:, None, None]
        x = np.asarray(x, float)[None, :, None]
        arg = k * (x - velocity * t) + phase
        return np.sum(amp * np.exp(-diffusivity * k**2 * t) * np.cos(arg), axis=-1)

    coefs = {"u_xx": diffusivity} if velocity == 0 else {"u_x": -velocity, "u_xx": diffusivity}
    return Problem(
        _name,
        "u_t = " + _rhs(coefs),
        coefs,
        {"x": (0.0, 2 * np.pi)},
        t_end if velocity else 2.0,
        evaluate,
        description="exact Fourier-series solution",
    )


def advection_diffusion_2d(
    *,
    velocity_x: float = 0.8,
    velocity_y: float = -0.5,
    diffusivity: float = 0.05,
    seed: int = 0,
    kmax: int = 4,
) -> Problem:
    """``u_t = -a u_x - b u_y + D (u_xx + u_yy)`` on the periodic square [0, 2π)²."""
    rng = np.random.default_rng(seed)
    ks = [
        (kx, ky)
        for kx in range(0, kmax + 1)
        for ky in range(-kmax, kmax + 1)
        if (kx, ky) > (0, 0) and kx * kx + ky * ky <= kmax * kmax
    ]
    amp = rng.normal(size=len(ks)) / np.array([np.hypot(*kk) for kk in ks])
    phase = rng.uniform(0, 2 * np.pi, size=len(ks))
    kx = np.array([kk[0] for kk in ks], float)
    ky = np.array([kk[1] for kk in ks], float)

    def evaluate(t: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        t = np.asarray(t, float)[:, None, None, None]
        x = np.asarray(x, float)[None, :, None, None]
        y = np.asarray(y, float)[None, None, :, None]
        arg = kx * (x - velocity_x * t) + ky * (y - velocity_y * t) + phase
        decay = np.exp(-diffusivity * (kx**2 + ky**2) * t)
        return np.sum(amp * decay * np.cos(arg), axis=-1)

    coefs = {"u_x": -velocity_x, "u_y": -velocity_y, "u_xx": diffusivity, "u_yy": diffusivity}
    return Problem(
        "advection_diffusion_2d",
        "u_t = " + _rhs(coefs),
        coefs,
        {"x": (0.0, 2 * np.pi), "y": (0.0, 2 * np.pi)},
        4.0,
        evaluate,
        description="exact 2-D Fourier-series solution",
    )


def burgers(*, advection: float = -1.0, viscosity: float = 0.1, seed: int = 0) -> Problem:
    """``u_t = a u u_x + ν u_xx`` on [-8, 8) (periodic), exact through the Cole–Hopf map.

    With ``v = -a u``, ``v`` solves ``v_t = -v v_x + ν v_xx`` and ``v = -2ν φ_x / φ`` where
    ``φ`` solves the heat equation; ``φ`` is an exact Fourier series (resolved on 4096 modes).
    """
    if advection == 0 or viscosity <= 0:
        raise ValueError("burgers needs a nonzero advection coefficient and a positive viscosity")
    rng = np.random.default_rng(seed)
    length, x0 = 16.0, -8.0
    n = 4096
    xf = _grid(x0, x0 + length, n)
    c = rng.uniform(-3.5, -0.5)
    v0 = np.exp(-((xf - c) ** 2)) * (1.0 + 0.3 * rng.normal())
    v0 -= v0.mean()  # a periodic potential needs a zero mean
    k = wavenumbers(n, length)
    vh = np.fft.rfft(v0)
    Fh = np.zeros_like(vh)
    Fh[1:] = vh[1:] / (1j * k[1:])
    F = np.fft.irfft(Fh, n=n)  # F' = v0
    phi0 = np.exp(-(F - F.min()) / (2 * viscosity))
    ph = np.fft.rfft(phi0) / n
    w = np.full(k.size, 2.0)
    w[0] = w[-1] = 1.0
    keep = np.abs(ph) * w > 1e-17 * np.abs(ph[0])
    ph, kk, ww = ph[keep], k[keep], w[keep]

    def evaluate(t: np.ndarray, x: np.ndarray) -> np.ndarray:
        t = np.asarray(t, float)
        out = np.empty((t.size, np.size(x)))
        e = np.exp(1j * np.outer(np.asarray(x, float) - x0, kk))  # (nx, nk)
        for i, ti in enumerate(t):
            a = ph * ww * np.exp(-viscosity * kk**2 * ti)
            phi = np.real(e @ a)
            phix = np.real(e @ (1j * kk * a))
            out[i] = -2 * viscosity * phix / phi
        return out / -advection

    coefs = {"u*u_x": advection, "u_xx": viscosity}
    return Problem(
        "burgers",
        "u_t = " + _rhs(coefs),
        coefs,
        {"x": (x0, x0 + length)},
        10.0,
        evaluate,
        description="exact Cole–Hopf solution",
    )


def kdv(*, nonlinear: float = -6.0, dispersion: float = -1.0, seed: int = 0) -> Problem:
    """``u_t = α u u_x + β u_xxx``: the exact two-soliton solution (Hirota), solitons of
    different speeds that collide (one soliton alone would also solve ``u_t = -c u_x``).

    Built from the standard ``v_t = -6 v v_x - v_xxx`` by ``u(x, t) = A v(±x, |β| t)``; the
    domain [-25, 25) is wide enough that the solitons' tails vanish (< 1e-5) at its ends.
    """
    if nonlinear == 0 or dispersion == 0:
        raise ValueError("kdv needs nonzero nonlinear and dispersion coefficients")
    rng = np.random.default_rng(seed)
    s = abs(dispersion)
    sign = 1.0 if dispersion < 0 else -1.0  # x -> sign*x (reflect for β > 0)
    amp = -6 * s / nonlinear if dispersion < 0 else 6 * s / nonlinear
    k1, k2 = 1.0 + 0.1 * rng.uniform(-1, 1), 0.6 + 0.05 * rng.uniform(-1, 1)
    d1, d2 = 13.0 * k1, 3.0 * k2  # the fast one starts at x ≈ -13, behind the slow one
    log_a12 = 2 * np.log((k1 - k2) / (k1 + k2))

    def standard(xs: np.ndarray, ts: np.ndarray) -> np.ndarray:
        # F = sum_j exp(a_j), slopes s_j; u = 2 (F F'' - F'^2)/F^2 = sum_{i<j} 2 (s_i - s_j)^2
        # exp(a_i + a_j) / F^2: all terms positive, no cancellation.
        th1 = k1 * xs - k1**3 * ts + d1
        th2 = k2 * xs - k2**3 * ts + d2
        a = np.stack([np.zeros_like(th1), th1, th2, th1 + th2 + log_a12])
        sl = np.array([0.0, k1, k2, k1 + k2])
        m = a.max(axis=0)
        ea = np.exp(a - m)
        f = ea.sum(axis=0)
        num = np.zeros_like(th1)
        for i in range(4):
            for j in range(i + 1, 4):
                num += (sl[i] - sl[j]) ** 2 * ea[i] * ea[j]
        return 2 * num / f**2

    def evaluate(t: np.ndarray, x: np.ndarray) -> np.ndarray:
        ts = s * np.asarray(t, float)[:, None]
        xs = sign * np.asarray(x, float)[None, :]
        return amp * standard(xs, ts)

    coefs = {"u*u_x": nonlinear, "u_xxx": dispersion}
    return Problem(
        "kdv",
        "u_t = " + _rhs(coefs),
        coefs,
        {"x": (-25.0, 25.0)},
        20.0 / s,
        evaluate,
        periodic=False,
        description="exact two-soliton solution (Hirota)",
    )


# ---------------------------------------------------------------- spectral solutions


def _spectral_problem(
    name: str,
    coefs: dict[str, float],
    x0: float,
    length: float,
    t_end: float,
    u0: Callable[[np.ndarray], np.ndarray],
    lin: Callable[[np.ndarray], np.ndarray],
    nonlin: Callable[[np.ndarray, np.ndarray, int], np.ndarray],
    n: int,
    dt: float,
) -> Problem:
    def evaluate(t: np.ndarray, x: np.ndarray) -> np.ndarray:
        t = np.asarray(t, float)
        if t[0] != 0:
            raise ValueError(f"{name}: times must start at 0")
        xf = _grid(x0, x0 + length, n)
        k = wavenumbers(n, length)
        sol = etdrk4(u0(xf), lin(k), lambda v: nonlin(v, k, n), t, dt=dt)
        return fourier_interpolate(sol, x0, length, np.asarray(x, float))

    return Problem(
        name,
        "u_t = " + _rhs(coefs),
        coefs,
        {"x": (x0, x0 + length)},
        t_end,
        evaluate,
        continuous_time=False,
        description="ETDRK4 pseudo-spectral solution",
    )


def fisher_kpp(
    *,
    diffusivity: float = 0.1,
    growth: float = 1.0,
    saturation: float = -1.0,
    seed: int = 0,
) -> Problem:
    """``u_t = D u_xx + r u + s u²`` (Fisher–KPP for ``s = -r``), periodic on [0, 40)."""
    rng = np.random.default_rng(seed)
    centers = rng.uniform(0, 40, size=3)
    widths = rng.uniform(1.0, 2.5, size=3)
    level = -growth / saturation if saturation != 0 else 1.0

    def u0(x: np.ndarray) -> np.ndarray:
        out = np.zeros_like(x)
        for c, w in zip(centers, widths):
            d = (x - c + 20) % 40 - 20
            out += 0.4 * level * np.exp(-((d / w) ** 2))
        return out

    def nonlin(v: np.ndarray, k: np.ndarray, n: int) -> np.ndarray:
        u = np.fft.irfft(v, n=n)
        return saturation * np.fft.rfft(u * u)

    coefs = {"u_xx": diffusivity, "u": growth, "u**2": saturation}
    return _spectral_problem(
        "fisher_kpp",
        coefs,
        0.0,
        40.0,
        8.0,
        u0,
        lambda k: growth - diffusivity * k**2,
        nonlin,
        512,
        0.005,
    )


def kuramoto_sivashinsky(
    *,
    advection: float = -1.0,
    antidiffusion: float = -1.0,
    hyperdiffusion: float = -1.0,
    seed: int = 0,
    t_end: float = 40.0,
) -> Problem:
    """``u_t = a u u_x + b u_xx + c u_xxxx`` on the periodic interval [0, 32π) (Kassam &
    Trefethen's set-up for the defaults -1, -1, -1), up to ``t_end``."""
    rng = np.random.default_rng(seed)
    phase = rng.uniform(0, 2 * np.pi)

    def u0(x: np.ndarray) -> np.ndarray:
        return np.cos(x / 16 + phase) * (1 + np.sin(x / 16 + phase))

    def nonlin(v: np.ndarray, k: np.ndarray, n: int) -> np.ndarray:
        u = np.fft.irfft(v, n=n)
        return advection * 0.5j * k * np.fft.rfft(u * u)

    coefs = {"u*u_x": advection, "u_xx": antidiffusion, "u_xxxx": hyperdiffusion}
    return _spectral_problem(
        "kuramoto_sivashinsky",
        coefs,
        0.0,
        32 * np.pi,
        t_end,
        u0,
        lambda k: -antidiffusion * k**2 + hyperdiffusion * k**4,
        nonlin,
        512,
        0.02,
    )


def lambda_omega(
    *,
    diffusivity_u: float = 0.1,
    diffusivity_v: float = 0.1,
    beta: float = 1.0,
    seed: int = 0,
    n: int = 128,
) -> Problem:
    """The λ–ω reaction–diffusion system (Rudy et al. 2017), two fields on [0, 20)², periodic:

    ``u_t = λ(A) u - ω(A) v + d_u Δu``, ``v_t = ω(A) u + λ(A) v + d_v Δv`` with
    ``A² = u² + v²``, ``λ = 1 - A²``, ``ω = -β A²`` — expanded, cubic polynomials:
    ``u_t = u - u³ - u v² + β u² v + β v³ + d_u Δu`` and
    ``v_t = v - v³ - u² v - β u³ - β u v² + d_v Δv``.

    The initial state is a random smooth periodic field (modes up to wavenumber 3 per axis);
    it organizes into travelling phase waves and spirals.  ETDRK4 pseudo-spectral, ``n²``.

    >>> p = lambda_omega(beta=0.8)
    >>> p.fields, p.coefficients["v"]["u**3"]
    (('u', 'v'), -0.8)
    """
    length = 20.0
    rng = np.random.default_rng(seed)
    k = wavenumbers(n, length)
    kx = 2 * np.pi * np.fft.fftfreq(n, d=length / n)
    k2 = kx[:, None] ** 2 + k[None, :] ** 2
    xs = _grid(0.0, length, n)
    X, Y = np.meshgrid(xs, xs, indexing="ij")

    def smooth_field() -> np.ndarray:
        out = np.zeros_like(X)
        for i in range(-3, 4):
            for j in range(0, 4):
                a, ph = rng.normal() / (1 + i * i + j * j) ** 0.5, rng.uniform(0, 2 * np.pi)
                out += a * np.cos(2 * np.pi * (i * X + j * Y) / length + ph)
        return out / np.abs(out).max()

    u0, v0 = smooth_field(), smooth_field()
    lin = np.stack([1.0 - diffusivity_u * k2, 1.0 - diffusivity_v * k2])

    def nonlin(w: np.ndarray) -> np.ndarray:
        u, v = np.fft.irfft2(w[0], s=(n, n)), np.fft.irfft2(w[1], s=(n, n))
        a2 = u * u + v * v
        return np.stack(
            [np.fft.rfft2(-a2 * u + beta * a2 * v), np.fft.rfft2(-beta * a2 * u - a2 * v)]
        )

    def evaluate(t: np.ndarray, x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
        t = np.asarray(t, float)
        if t[0] != 0:
            raise ValueError("lambda_omega: times must start at 0")
        w0 = np.stack([np.fft.rfft2(u0), np.fft.rfft2(v0)])
        states = etdrk4_states(w0, lin, nonlin, t, dt=0.01)
        out = {}
        for i, name in enumerate(("u", "v")):
            f = np.stack([np.fft.irfft2(w[i], s=(n, n)) for w in states])
            f = fourier_interpolate(f, 0.0, length, np.asarray(y, float))  # last axis: y
            f = fourier_interpolate(np.swapaxes(f, 1, 2), 0.0, length, np.asarray(x, float))
            out[name] = np.swapaxes(f, 1, 2)
        return out

    coefs = {
        "u": {
            "u_xx": diffusivity_u,
            "u_yy": diffusivity_u,
            "u": 1.0,
            "u**3": -1.0,
            "u*v**2": -1.0,
            "u**2*v": beta,
            "v**3": beta,
        },
        "v": {
            "v_xx": diffusivity_v,
            "v_yy": diffusivity_v,
            "v": 1.0,
            "v**3": -1.0,
            "u**2*v": -1.0,
            "u**3": -beta,
            "u*v**2": -beta,
        },
    }
    return Problem(
        "lambda_omega",
        "; ".join(f"{f}_t = " + _rhs(c) for f, c in coefs.items()),
        coefs,
        {"x": (0.0, length), "y": (0.0, length)},
        10.0,
        evaluate,
        continuous_time=False,
        fields=("u", "v"),
        description="λ–ω reaction–diffusion, ETDRK4 pseudo-spectral solution",
    )


def burgers_shock(*, advection: float = -1.0, amplitude: float = 1000.0, seed: int = 0) -> Problem:
    """Inviscid Burgers ``u_t = a u u_x`` with a shock: the exact entropy solution.

    A Gaussian hump of height ``amplitude`` on [-4000, 4000] (a non-periodic domain)
    steepens and breaks at ``t ≈ 1.17 w / amplitude`` (``w = 1000``); the shock then runs
    ahead of the hump until ``t_end`` (twice the breaking time).  With ``v = -a u`` solving
    ``v_t + v v_x = 0``, the Lax–Oleinik formula gives ``v(x, t) = (x - y*) / t`` where ``y*``
    minimizes ``(x - y)² / (2t) + V0(y)`` (``V0`` the integral of ``v(·, 0)``, exact through
    the error function): the global minimum is found on a fine grid of ``y`` and polished by
    bisection on the characteristic equation ``y + t v0(y) = x``, so the solution is exact
    to rounding away from the shock and the shock sits where the entropy condition puts it.

    >>> p = burgers_shock(advection=-2.0)
    >>> u = p.evaluate(np.array([0.0, p.t_end]), np.linspace(-4000, 4000, 801))
    >>> bool(np.abs(np.diff(u[1])).max() > 50 * np.abs(np.diff(u[0])).max())
    True
    """
    if advection == 0 or amplitude <= 0:
        raise ValueError("burgers_shock needs a nonzero advection and a positive amplitude")
    from scipy.special import erf

    rng = np.random.default_rng(seed)
    width = 1000.0
    height = amplitude * (1.0 + 0.2 * rng.uniform(-1, 1))  # of v = -a u
    center = -2500.0 + 300.0 * rng.uniform(-1, 1)

    def v0(y: np.ndarray) -> np.ndarray:
        return height * np.exp(-(((y - center) / width) ** 2))

    def big_v0(y: np.ndarray) -> np.ndarray:
        return height * width * np.sqrt(np.pi) / 2 * erf((y - center) / width)

    # y* lies between x - t·max v (≥ -4000 - 2.4 w) and x (≤ 4000): spacing 2
    ys = np.linspace(-6500.0, 4000.0, 5251)

    def at(t: float, x: np.ndarray) -> np.ndarray:
        if t == 0:
            return v0(x)
        g = (x[:, None] - ys[None, :]) ** 2 / (2 * t) + big_v0(ys)[None, :]
        k = np.argmin(g, axis=1)
        dy = ys[1] - ys[0]
        lo, hi = ys[k] - dy, ys[k] + dy
        for _ in range(60):  # y + t v0(y) - x is increasing through the minimizer's root
            mid = 0.5 * (lo + hi)
            below = mid + t * v0(mid) - x < 0
            lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
        return (x - 0.5 * (lo + hi)) / t

    def evaluate(t: np.ndarray, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, float)
        return np.stack([at(float(ti), x) for ti in np.asarray(t, float)]) / -advection

    t_end = 2 * 1.166 * width / height
    coefs = {"u*u_x": advection}
    return Problem(
        "burgers_shock",
        "u_t = " + _rhs(coefs),
        coefs,
        {"x": (-4000.0, 4000.0)},
        t_end,
        evaluate,
        periodic=False,
        description="exact entropy solution (Lax–Oleinik) with a shock",
    )


#: the split-step solver's largest step (it differs from PDE-FIND's nls.mat by 1.4e-5 of max|ψ|)
MAX_STEP = 2.5e-4


def nls(
    *,
    dispersion: float = 0.5,
    nonlinearity: float = 1.0,
    damping: float = 0.0,
    seed: int = 0,
    n: int = 512,
) -> Problem:
    """The nonlinear Schrödinger equation, a complex field on the periodic [-5, 5):

    ``I*psi_t = -a psi_xx - b |psi|² psi - I γ psi``, i.e. ``psi_t = I a psi_xx +
    I b |psi|² psi - γ psi`` (``a`` the dispersion, ``b`` the nonlinearity, ``γ`` an
    optional damping), by Strang split-step Fourier: the linear step exact in Fourier space,
    the nonlinear one exact in space (it keeps ``|psi|``), steps of at most
    :data:`MAX_STEP`.  The field
    comes as its real pair ``psi_re``, ``psi_im`` (``discover find --var psi`` reads it as
    one complex field).  Seed 0 starts from PDE-FIND's ``2 sech(x)`` (t ∈ [0, π], the
    ``nls.mat`` benchmark with the default coefficients); other seeds from a sech pulse of
    random height, place and phase gradient.

    >>> p = nls(dispersion=0.3, nonlinearity=-0.8)
    >>> p.equation
    'I*psi_t = -0.3*psi_xx + 0.8*Abs(psi)**2*psi'
    >>> p.coefficients["psi"]["psi_xx"]
    [0.0, 0.3]
    """
    length, x0, n = 10.0, -5.0, int(n)
    rng = np.random.default_rng(int(seed))
    xs = _grid(x0, x0 + length, n)
    if seed == 0:
        amp, centre, m = 2.0, 0.0, 0
    else:
        amp, centre, m = rng.uniform(1.5, 2.5), rng.uniform(-1, 1), int(rng.integers(-1, 2))
    psi0 = amp / np.cosh(xs - centre) * np.exp(2j * np.pi * m * (xs - x0) / length)
    k = 2 * np.pi * np.fft.fftfreq(n, d=length / n)
    lin = -1j * dispersion * k**2 - damping

    def evaluate(t: np.ndarray, x: np.ndarray) -> dict[str, np.ndarray]:
        t = np.asarray(t, float)
        if t[0] != 0:
            raise ValueError("nls: times must start at 0")
        psi, out = psi0.astype(complex), [psi0]
        for dt_out in np.diff(t):
            steps = max(1, math.ceil(dt_out / MAX_STEP))
            h = dt_out / steps
            half, full = np.exp(lin * h / 2), np.exp(lin * h)
            # Strang: L/2 N L N … L N L/2 (the inner half steps merged)
            v = half * np.fft.fft(psi)
            for i in range(steps):
                psi = np.fft.ifft(v)
                psi = psi * np.exp(1j * nonlinearity * (psi.real**2 + psi.imag**2) * h)
                v = (full if i < steps - 1 else half) * np.fft.fft(psi)
            psi = np.fft.ifft(v)
            out.append(psi)
        sol = np.stack(out)
        xq = np.asarray(x, float)
        return {
            "psi_re": fourier_interpolate(sol.real, x0, length, xq),
            "psi_im": fourier_interpolate(sol.imag, x0, length, xq),
        }

    # coefficients of psi_t as [real, imaginary] parts
    coefs = {"psi_xx": [0.0, dispersion], "Abs(psi)**2*psi": [0.0, nonlinearity]}
    if damping:
        coefs["psi"] = [-damping, 0.0]
    printed = {"psi_xx": -dispersion, "Abs(psi)**2*psi": -nonlinearity}
    if damping:
        printed["I*psi"] = -damping
    return Problem(
        "nls",
        "I*psi_t = " + _rhs(printed),
        {"psi": coefs},
        {"x": (x0, x0 + length)},
        float(np.pi),
        evaluate,
        continuous_time=False,
        fields=("psi_re", "psi_im"),
        description="nonlinear Schrödinger equation (complex psi as psi_re, psi_im), "
        "split-step Fourier solution",
    )


GENERATORS: dict[str, Callable[..., Problem]] = {
    "heat": heat,
    "advection_diffusion": advection_diffusion,
    "burgers": burgers,
    "kdv": kdv,
    "fisher_kpp": fisher_kpp,
    "kuramoto_sivashinsky": kuramoto_sivashinsky,
    "advection_diffusion_2d": advection_diffusion_2d,
    "lambda_omega": lambda_omega,
    "burgers_shock": burgers_shock,
    "nls": nls,
}


def generate(name: str, **params: float) -> Problem:
    """The :class:`Problem` of the generator ``name`` (see :data:`GENERATORS`).

    >>> generate("burgers", viscosity=0.05).equation
    'u_t = -1.0*u*u_x + 0.05*u_xx'
    """
    try:
        gen = GENERATORS[name]
    except KeyError:
        valid = ", ".join(repr(k) for k in GENERATORS)
        raise ValueError(f"unknown dataset '{name}'; valid names: {valid}") from None
    known = [p for p in inspect.signature(gen).parameters]
    for key, value in params.items():
        if key not in known:
            raise ValueError(
                f"'{name}' has no parameter '{key}'; its parameters: {', '.join(known) or 'none'}"
            )
        if not math.isfinite(float(value)):
            raise ValueError(f"parameter {key} of '{name}' must be a finite number, not {value}")
    return gen(**params)


#: the fewest points along a dim, stations and observations a usable file has
MIN_POINTS, MIN_STATIONS, MIN_OBS = 5, 3, 20


def _check_sampling(layout: str, **sizes: int) -> None:
    """One-line errors for a sampling that would give an unusable file."""
    nx, nt, stride = sizes["nx"], sizes["nt"], sizes["stride"]
    if stride < 1:
        raise ValueError(f"stride must be at least 1, not {stride}")
    for name, n in (("nx", nx), ("nt", nt)):
        if n // stride < MIN_POINTS:
            raise ValueError(
                f"{name} = {n} gives fewer than {MIN_POINTS} points (after stride {stride}); "
                f"give --{name} {MIN_POINTS * stride} or more"
            )
    if layout == "station" and sizes["n_stations"] < MIN_STATIONS:
        raise ValueError(
            f"{sizes['n_stations']} station(s) cannot give spatial derivatives; give "
            f"--n-stations {MIN_STATIONS} or more (60 by default)"
        )
    if layout == "scattered" and sizes["n_obs"] < MIN_OBS:
        raise ValueError(f"--n-obs must be at least {MIN_OBS}, not {sizes['n_obs']}")


def make_dataset(
    problem: Problem | str,
    *,
    nx: int = 256,
    nt: int = 101,
    noise: float = 0.0,
    seed: int = 0,
    layout: str = "grid",
    n_stations: int = 60,
    missing: float = 0.0,
    n_obs: int = 2000,
    stride: int = 1,
) -> xr.Dataset:
    """Sample a problem into a CF-style dataset.

    Parameters
    ----------
    problem : Problem or str
        A problem, or the name of a generator run with its default coefficients.
    nx, nt : int
        Points per spatial dim and number of times of the full grid.
    noise : float
        Gaussian noise of standard deviation ``noise * std(u)`` (σ = p·std(u), as PDE-FIND).
    seed : int
        Seed of the noise, the missing values and the station/observation positions.
    layout : {"grid", "station", "scattered"}
        ``grid``: ``u(t, x[, y])``; ``station``: ``u(t, station)`` at ``n_stations`` random
        positions (coordinate ``x`` on ``station``); ``scattered``: ``u(obs)`` at ``n_obs``
        random space–time points (coordinates ``t`` and ``x`` on ``obs``).
    missing : float
        Fraction of values set to NaN at random.
    stride : int
        Keep every ``stride``-th point along each dim of the grid.

    Returns
    -------
    xarray.Dataset
        With the true equation in ``attrs["true_equation"]`` and the coefficients, as JSON,
        in ``attrs["true_coefficients"]``.
    """
    _check_sampling(layout, nx=nx, nt=nt, n_stations=n_stations, n_obs=n_obs, stride=stride)
    if isinstance(problem, str):
        problem = generate(problem)
    rng = np.random.default_rng(seed + 7919)
    t = np.linspace(0.0, problem.t_end, nt)
    space = list(problem.space)
    axes = [
        _grid(a, b, nx) if problem.periodic else np.linspace(a, b, nx)
        for a, b in problem.space.values()
    ]
    coords_attrs = {"units": "1"}
    if len(problem.fields) > 1 and layout != "grid":
        raise ValueError(f"{problem.name} has several fields: only the grid layout is generated")
    if layout == "grid":
        vals = problem.evaluate(t, *axes)
        vals = vals if isinstance(vals, dict) else {"u": vals}
        sl = (slice(None, None, stride),) * (len(space) + 1)
        t = t[::stride]
        axes = [a[::stride] for a in axes]
        ds = xr.Dataset(
            {f: (("t", *space), v[sl]) for f, v in vals.items()},
            coords={"t": t, **dict(zip(space, axes))},
        )
    elif layout in ("station", "scattered"):
        if len(space) != 1:
            raise ValueError("station and scattered layouts are generated for 1-D problems")
        a, b = problem.space[space[0]]
        margin = 0.0 if problem.periodic else 0.05 * (b - a)
        if layout == "station":
            xs = np.sort(rng.uniform(a + margin, b - margin, size=n_stations))
            u = problem.evaluate(t, xs)
            ds = xr.Dataset(
                {"u": (("t", "station"), u)},
                coords={"t": t, "station": np.arange(n_stations), "x": ("station", xs)},
            )
        else:
            xs = rng.uniform(a + margin, b - margin, size=n_obs)
            if problem.continuous_time:
                ts = rng.uniform(0, problem.t_end, size=n_obs)
                u = _scatter_eval(problem, ts, xs)
            else:
                it = rng.integers(0, nt, size=n_obs)
                ts = t[it]
                full = problem.evaluate(t, xs)
                u = full[it, np.arange(n_obs)]
            ds = xr.Dataset({"u": (("obs",), u)}, coords={"t": ("obs", ts), "x": ("obs", xs)})
    else:
        raise ValueError(
            f"unknown layout '{layout}'; valid layouts: 'grid', 'station', 'scattered'"
        )
    for f in problem.fields:
        u = ds[f].values
        if noise:
            u = u + noise * np.std(u) * rng.standard_normal(u.shape)
        if missing:
            u = np.where(rng.uniform(size=u.shape) < missing, np.nan, u)
        ds[f].values = u
        name = problem.name + " field" + (f" {f}" if len(problem.fields) > 1 else "")
        ds[f].attrs.update({"long_name": name, "units": "1"})
    ds["t"].attrs.update({"long_name": "time", "units": "1", "standard_name": "time"})
    for c in space:
        ds[c].attrs.update({"long_name": f"position {c}", **coords_attrs})
    ds.attrs.update(
        {
            "Conventions": "CF-1.8",
            "title": f"{problem.name}: {problem.description}",
            "source": "discover.datasets generator",
            "true_equation": problem.equation,
            "true_coefficients": json.dumps(problem.coefficients),
            "noise_level": float(noise),
            "missing_fraction": float(missing),
            "seed": int(seed),
            "periodic": int(problem.periodic),
            "layout": layout,
        }
    )
    return ds


def _scatter_eval(problem: Problem, ts: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Evaluate an exact solution at scattered (t, x) pairs, a time at a time in blocks."""
    order = np.argsort(ts)
    out = np.empty(ts.size)
    for block in np.array_split(order, max(1, ts.size // 50)):
        tb = ts[block]
        full = problem.evaluate(tb, xs[block])  # (nb, nb): only the diagonal is needed
        out[block] = np.diagonal(full)
    return out
