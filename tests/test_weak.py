"""The weak form: integration by parts onto test functions, exact on known fields."""

import numpy as np
import pytest

from discover.io import load
from discover.library import Library
from discover.weak import WeakBoxes, half_widths, weak_parts, weak_systems


def test_weak_parts_moves_derivatives_where_it_can():
    lib = Library(("u",), ("t", "x"), max_order=3, degree=2)
    parts = {t.name: weak_parts(t) for t in lib.terms}
    assert str(parts["u_xx"][0]) == "u" and parts["u_xx"][1] == (0, 2)
    assert str(parts["u**2*u_x"][0]) == "u**3/3" and parts["u**2*u_x"][1] == (0, 1)
    assert parts["u*u_xxx"][1] == (0, 0)  # not a derivative of a simpler term
    assert parts["u**2"][1] == (0, 0) and parts["1"][1] == (0, 0)
    two = Library(("u", "v"), ("t", "x", "y"), max_order=1, degree=1)
    p2 = {t.name: weak_parts(t) for t in two.terms}
    assert p2["v_y"][1] == (0, 0, 1) and str(p2["v_y"][0]) == "v"
    assert p2["u*v_x"][1] == (0, 0, 0)  # a cross term stays as it is


@pytest.mark.parametrize("orders", [(1, 0), (0, 1), (0, 2), (0, 3), (1, 1)])
def test_integration_by_parts_is_exact(orders):
    """∫ψ ∂^α u = (-1)^|α| ∫ ∂^α ψ u for a smooth field, to quadrature accuracy."""
    t = np.linspace(0, 2, 121)
    x = np.linspace(-3, 3, 301)
    T, X = np.meshgrid(t, x, indexing="ij")
    u = np.sin(1.3 * X - 0.7 * T) * np.exp(-0.2 * T) + 0.1 * X**3
    # the analytic derivative
    k, w = 1.3, -0.7
    phase = k * X + w * T
    amp = np.exp(-0.2 * T)
    exact = {
        (1, 0): amp * (w * np.cos(phase) - 0.2 * np.sin(phase)),
        (0, 1): amp * k * np.cos(phase) + 0.3 * X**2,
        (0, 2): -amp * k**2 * np.sin(phase) + 0.6 * X,
        (0, 3): -amp * k**3 * np.cos(phase) + 0.6,
        (1, 1): k * amp * (-w * np.sin(phase) - 0.2 * np.cos(phase)),
    }[orders]
    boxes = WeakBoxes((t, x), half_width=half_widths((121, 301)), order=3)
    strong = boxes.integrate(exact, (0, 0))
    weak = (-1) ** sum(orders) * boxes.integrate(u, orders)
    assert np.max(np.abs(weak - strong)) < 1e-4 * np.max(np.abs(strong))


def test_boxes_stay_inside_and_errors_are_clear():
    t = np.linspace(0, 1, 30)
    x = np.linspace(0, 1, 40)
    y = np.linspace(0, 1, 40)
    disk = lambda p: (p[:, 1] - 0.5) ** 2 + (p[:, 2] - 0.5) ** 2 < 0.2  # noqa: E731
    boxes = WeakBoxes((t, x, y), half_width=(4, 6, 6), order=2, inside=disk)
    assert len(boxes) > 0 and np.all(disk(boxes.centers))
    with pytest.raises(ValueError, match="does not fit"):
        WeakBoxes((t, x), half_width=(4, 30), order=2)
    with pytest.raises(ValueError, match="do not match"):
        boxes.integrate(np.zeros((3, 3)), (0, 0, 0))


class _Exact:
    """An 'interpolant' that returns a known field and its derivatives."""

    def __init__(self, c: float, d: float):
        self.c, self.d = c, d

    def derivatives(self, pts, orders):
        t, x = pts[:, 0], pts[:, 1]
        out = {}
        for o in orders:
            # u = exp(-d k² t) sin(k(x - c t)) with k = 1 solves u_t = -c u_x + d u_xx
            ph = x - self.c * t
            amp = np.exp(-self.d * t)
            base = [np.sin, np.cos, lambda p: -np.sin(p), lambda p: -np.cos(p)]
            assert o[0] == 0 or o == (1, 0)
            if o == (1, 0):
                val = amp * (-self.c * np.cos(ph) - self.d * np.sin(ph))
            else:
                val = amp * base[o[1] % 4](ph)
            out[o] = val[:, None]
        return out


def test_weak_systems_recover_a_known_equation():
    import xarray as xr

    t = np.linspace(0, 2, 60)
    x = np.linspace(0, 2 * np.pi, 150)
    c, d = 0.7, 0.15
    u = np.exp(-d * t)[:, None] * np.sin(x[None, :] - c * t[:, None])
    samples = load(xr.Dataset({"u": (("t", "x"), u)}, coords={"t": t, "x": x}), "u")
    lib = Library(("u",), ("t", "x"), max_order=2, degree=0, include_constant=False)
    systems, centers, n_eff, _ = weak_systems(_Exact(c, d), samples, lib)
    assert len(systems) == len(centers) == len(n_eff) == 2
    X, y = systems[0]["u"]
    coef = np.linalg.lstsq(X, y, rcond=None)[0]
    assert lib.names == ["u_x", "u_xx"]
    np.testing.assert_allclose(coef, [-c, d], rtol=1e-4)


def test_the_modulator_moves_a_coefficient_field_by_the_product_rule():
    """Term ``u_xx`` times a field ``φ(x)``: the modulated columns equal ``∫ψ φ u_xx`` taken
    with the exact ``u_xx`` (the field's derivatives land on the test function exactly)."""
    import xarray as xr

    t = np.linspace(0, 2, 60)
    x = np.linspace(0, 2 * np.pi, 150)
    u = np.exp(-0.15 * t)[:, None] * np.sin(x[None, :] - 0.7 * t[:, None])
    samples = load(xr.Dataset({"u": (("t", "x"), u)}, coords={"t": t, "x": x}), "u")
    lib = Library(("u",), ("t", "x"), max_order=2, degree=0, include_constant=False)
    _, _, _, mods = weak_systems(_Exact(0.7, 0.15), samples, lib)

    def basis(at, deriv):  # φ_0 = 1, φ_1 = sin(x), and their derivatives
        k = (deriv or {}).get("x", 0)
        one = np.ones_like(at["x"]) if k == 0 else np.zeros_like(at["x"])
        return np.stack([one, np.sin(at["x"] + k * np.pi / 2)], axis=1)

    cols = mods[0](lib.names.index("u_xx"), basis)
    exact = _Exact(0.7, 0.15)
    from discover.weak import evaluation_grid

    axes = evaluation_grid(samples, margin=0.1)
    T, X = np.meshgrid(*axes, indexing="ij")
    uxx = exact.derivatives(np.stack([T.ravel(), X.ravel()], 1), [(0, 2)])[(0, 2)][:, 0]
    boxes = WeakBoxes(axes, half_width=half_widths(T.shape), order=2)
    strong = [boxes.integrate((f * uxx).reshape(T.shape), (0, 0)) for f in (1.0, np.sin(X.ravel()))]
    for k in range(2):
        np.testing.assert_allclose(
            cols[:, k], strong[k], rtol=1e-3, atol=1e-4 * np.abs(strong[k]).max()
        )
