"""The core demo: three ways to differentiate, then gradient, Hessian and Jacobian."""

from __future__ import annotations

import numpy as onp

from . import numpy as np
from .transforms import grad, hessian, jacobian


def _square(x):
    return x**2


def derivative_table(x: float = 3.0, h: float = 1e-5) -> list[tuple[str, float, float]]:
    """d/dx x**2 at ``x`` by forward difference, central difference and autodiff.

    Returns rows ``(method, value, absolute error)``; the exact value is ``2 * x``.

    Examples
    --------
    >>> rows = derivative_table()
    >>> [err == 0.0 for _, _, err in rows]
    [False, False, True]
    """
    exact = 2.0 * x
    forward = (_square(x + h) - _square(x)) / h
    central = (_square(x + h) - _square(x - h)) / (2 * h)
    auto = float(grad(_square)(x))
    return [
        (f"forward difference, h={h:g}", forward, abs(forward - exact)),
        (f"central difference, h={h:g}", central, abs(central - exact)),
        ("automatic differentiation", auto, abs(auto - exact)),
    ]


def rosenbrock(p):
    """The Rosenbrock function (1 - x)^2 + 100 (y - x^2)^2."""
    x, y = p[0], p[1]
    return (1.0 - x) ** 2 + 100.0 * (y - x**2) ** 2


def polar_to_cartesian(p):
    """(r, theta) -> (r cos theta, r sin theta)."""
    r, theta = p[0], p[1]
    return np.stack([r * np.cos(theta), r * np.sin(theta)])


def run(out=print) -> dict:
    """Print the demo; return the measured errors (used by the tests)."""
    out("gradkit demo: the derivative of f(x) = x**2 at x = 3 (exact: 6)")
    out(f"  {'method':32s} {'value':>22s} {'abs. error':>12s}")
    rows = derivative_table()
    for name, value, err in rows:
        out(f"  {name:32s} {value:22.16f} {err:12.3e}")
    p = onp.array([-1.2, 1.0])
    g = grad(rosenbrock)(p)
    h = hessian(rosenbrock)(p)
    x, y = p
    g_exact = onp.array([-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)])
    h_exact = onp.array([[2 - 400 * (y - x**2) + 800 * x**2, -400 * x], [-400 * x, 200.0]])
    out("\nRosenbrock function at (-1.2, 1): gradient and Hessian by autodiff")
    out(f"  gradient  {onp.array2string(g, precision=6)}   max error vs closed form "
        f"{onp.abs(g - g_exact).max():.1e}")
    out(f"  Hessian   {onp.array2string(h, precision=6).replace(chr(10), chr(10) + ' ' * 12)}"
        f"   max error {onp.abs(h - h_exact).max():.1e}")
    q = onp.array([2.0, onp.pi / 6])
    j = jacobian(polar_to_cartesian)(q)
    j_exact = onp.array([[onp.cos(q[1]), -q[0] * onp.sin(q[1])],
                         [onp.sin(q[1]), q[0] * onp.cos(q[1])]])
    out("\nPolar to Cartesian map at r = 2, theta = pi/6: Jacobian (its determinant is r)")
    out(f"  Jacobian  {onp.array2string(j, precision=6).replace(chr(10), chr(10) + ' ' * 12)}"
        f"   max error {onp.abs(j - j_exact).max():.1e}, det {onp.linalg.det(j):.12f}")
    return {
        "forward_error": rows[0][2],
        "central_error": rows[1][2],
        "autodiff_error": rows[2][2],
        "gradient_error": float(onp.abs(g - g_exact).max()),
        "hessian_error": float(onp.abs(h - h_exact).max()),
        "jacobian_error": float(onp.abs(j - j_exact).max()),
    }
