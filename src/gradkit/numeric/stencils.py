"""Finite-difference stencils: offsets and weights of the textbook formulas, exactly."""

from __future__ import annotations

from fractions import Fraction
from functools import cache
from math import factorial

from ..backend import xp

__all__ = ["stencil", "error_powers"]


@cache
def stencil(n: int, method: str, accuracy: int) -> tuple:
    """Integer offsets and weights of the order-``accuracy`` formula for ``f^(n)``.

    ``sum(w * f(x + offsets * h)) / h**n = f^(n)(x) + O(h**accuracy)``. Central stencils
    are symmetric (``accuracy`` even), forward ones use ``0, 1, ...``, backward ones their
    negatives. Offsets with a zero weight are dropped.

    Examples
    --------
    >>> stencil(1, "central", 2)
    (array([-1.,  1.]), array([-0.5,  0.5]))
    >>> stencil(2, "forward", 1)
    (array([0., 1., 2.]), array([ 1., -2.,  1.]))
    """
    if method == "central":
        half = (n + 1) // 2 - 1 + accuracy // 2
        offsets = list(range(-half, half + 1))
    elif method == "forward":
        offsets = list(range(n + accuracy))
    else:
        offsets = list(range(-(n + accuracy - 1), 1))
    m = len(offsets)
    # Solve sum_j w_j o_j^k / k! = [k == n] for k < m exactly (Gauss-Jordan on fractions).
    rows = [[Fraction(o) ** k / factorial(k) for o in offsets] + [Fraction(int(k == n))]
            for k in range(m)]
    for c in range(m):
        pivot = next(r for r in range(c, m) if rows[r][c] != 0)
        rows[c], rows[pivot] = rows[pivot], rows[c]
        for r in range(m):
            if r != c and rows[r][c] != 0:
                factor = rows[r][c] / rows[c][c]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[c])]
    weights = [rows[r][m] / rows[r][r] for r in range(m)]
    keep = [j for j in range(m) if weights[j] != 0]
    return (xp.array([offsets[j] for j in keep], dtype=xp.float64),
            xp.array([float(weights[j]) for j in keep]))


def error_powers(method: str, accuracy: int, count: int) -> list[int]:
    """Powers of ``h`` in the truncation error of a stencil, leading term first.

    Symmetric (central) stencils have only every other power.

    Examples
    --------
    >>> error_powers("central", 2, 3), error_powers("forward", 1, 3)
    ([2, 4, 6], [1, 2, 3])
    """
    step = 2 if method == "central" else 1
    return [accuracy + step * j for j in range(count)]
