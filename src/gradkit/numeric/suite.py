"""The 75-case accuracy suite of :mod:`gradkit.numeric`, shared by tests and benchmarks.

Fifteen functions at five points each, chosen to be hard in different ways: a pole, a
square root near 0, fast oscillation, wide dynamic range, a function that accepts no
complex input. Each entry is ``name: (f, f', f'', points, accepts_complex)`` with the
exact derivatives written out. It needs SciPy (``erf``, ``gammaln`` and their
derivatives), which gradkit itself does not depend on.
"""

from __future__ import annotations

import numpy as np

__all__ = ["accuracy_suite"]


def _rational(x):
    return (x**3 - 2 * x + 1) / (x**2 + x + 1)


def _rational_d1(x):
    num, den = x**3 - 2 * x + 1, x**2 + x + 1
    return ((3 * x**2 - 2) * den - num * (2 * x + 1)) / den**2


def _rational_d2(x):
    num, den = x**3 - 2 * x + 1, x**2 + x + 1
    n1, d1, n2, d2 = 3 * x**2 - 2, 2 * x + 1, 6 * x, 2.0
    return (n2 * den**2 - 2 * n1 * den * d1 - num * den * d2 + 2 * num * d1**2) / den**3


def accuracy_suite() -> dict:
    """The suite as ``name: (f, f', f'', points, accepts_complex)``.

    Examples
    --------
    >>> suite = accuracy_suite()
    >>> len(suite), sum(len(case[3]) for case in suite.values())
    (15, 75)
    """
    from scipy import special

    _C = 2 / np.sqrt(np.pi)  # erf' = _C exp(-x^2)
    suite = {
        "exp": (np.exp, np.exp, np.exp, [-2, -0.5, 0, 1, 5], True),
        "log": (np.log, lambda x: 1 / x, lambda x: -1 / x**2, [0.1, 0.5, 1, 10, 100], True),
        "sin": (np.sin, np.cos, lambda x: -np.sin(x), [0, 0.5, 1.5, 3, 100], True),
        "1/(1+x^2)": (lambda x: 1 / (1 + x**2), lambda x: -2 * x / (1 + x**2) ** 2,
                      lambda x: (6 * x**2 - 2) / (1 + x**2) ** 3, [-3, -1, 0, 0.5, 2], True),
        "x**2.5": (lambda x: x**2.5, lambda x: 2.5 * x**1.5, lambda x: 3.75 * x**0.5,
                   [0.01, 0.5, 1, 2, 10], True),
        "exp*sin": (lambda x: np.exp(x) * np.sin(x), lambda x: np.exp(x) * (np.sin(x) + np.cos(x)),
                    lambda x: 2 * np.exp(x) * np.cos(x), [-1, 0, 1, 2, 5], True),
        "tanh": (np.tanh, lambda x: 1 / np.cosh(x) ** 2,
                 lambda x: -2 * np.tanh(x) / np.cosh(x) ** 2, [-2, 0, 0.5, 1, 3], True),
        "erf": (special.erf, lambda x: _C * np.exp(-(x**2)),
                lambda x: -2 * x * _C * np.exp(-(x**2)), [-1, 0, 0.5, 1, 2], True),
        "rational": (_rational, _rational_d1, _rational_d2, [-2, -0.5, 0, 1, 3], True),
        "exp(10x)": (lambda x: np.exp(10 * x), lambda x: 10 * np.exp(10 * x),
                     lambda x: 100 * np.exp(10 * x), [-1, 0, 0.5, 1, 2], True),
        "sin(50x)": (lambda x: np.sin(50 * x), lambda x: 50 * np.cos(50 * x),
                     lambda x: -2500 * np.sin(50 * x), [0, 0.1, 0.5, 1, 2], True),
        "1e-8x^3+1": (lambda x: 1e-8 * x**3 + 1, lambda x: 3e-8 * x**2, lambda x: 6e-8 * x,
                      [0.1, 0.5, 1, 2, 5], True),
        "1/(x-1)": (lambda x: 1 / (x - 1), lambda x: -1 / (x - 1) ** 2, lambda x: 2 / (x - 1) ** 3,
                    [0.5, 0.8, 0.9, 0.95, 0.99], True),
        "sqrt": (np.sqrt, lambda x: 0.5 / np.sqrt(x), lambda x: -0.25 / x**1.5,
                 [1e-4, 1e-3, 1e-2, 0.1, 1], True),
        "gammaln": (special.gammaln, special.digamma, lambda x: special.polygamma(1, x),
                    [0.5, 1, 2.5, 5, 20], False),
    }
    return suite
