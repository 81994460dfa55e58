"""The table of primitive cases that ``test_primitives.py`` runs, and its drawing helpers.

Each ``cases_*.py`` module registers its cases here with ``@case(name)``; every case
draws a function of float arrays and its arguments, values taken from the primitive's
own domain, away from kinks, ties, poles and singular matrices.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

settings.register_profile(
    "gradkit-primitives",
    max_examples=10,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROFILE = settings.get_profile("gradkit-primitives")

F32 = np.dtype(np.float32)


# -- the drawn example ---------------------------------------------------------------------


@dataclass(frozen=True)
class Ex:
    """A function of float arrays, its arguments, and optionally NumPy's version of it."""

    f: Callable
    args: tuple
    note: str = ""
    ref: Callable | None = None


CASES: dict = {}


def case(name: str):
    """Register a composite strategy (``draw -> Ex``) under ``name``."""

    def register(fn):
        CASES[name] = st.composite(fn)()
        return fn

    return register


# -- value and shape helpers ---------------------------------------------------------------


def shape(draw, min_dims=0, max_dims=3, min_side=1, max_side=4) -> tuple:
    return draw(hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                                 max_side=max_side))


def reals(draw, shp, lo=-3.0, hi=3.0) -> np.ndarray:
    return draw(hnp.arrays(np.float64, shp, elements=st.floats(lo, hi)))


def nonzero(draw, shp, lo=0.3, hi=3.0) -> np.ndarray:
    """Magnitudes in [lo, hi], either sign: away from the kink or pole at 0."""
    mag = reals(draw, shp, lo, hi)
    neg = draw(hnp.arrays(np.bool_, shp))
    return np.where(neg, -mag, mag)


def distinct(draw, shp, step=0.3, positive=False) -> np.ndarray:
    """Values at least ``step / 2`` apart: no ties for max, min, sort."""
    n = math.prod(shp)
    perm = np.array(draw(st.permutations(range(n))), dtype=np.float64).reshape(shp)
    noise = reals(draw, shp, 0.0, 0.5)
    if positive:
        return (perm + 1.0 + noise) * step
    return (perm - n / 2 + noise) * step


def distinct_nonzero(draw, shp, step=0.3) -> np.ndarray:
    """Distinct magnitudes, either sign: no ties in |x| and no kink of |x|."""
    mag = distinct(draw, shp, step, positive=True)
    neg = draw(hnp.arrays(np.bool_, shp))
    return np.where(neg, -mag, mag)


def grid(draw, shp, offset) -> np.ndarray:
    """Integers (plus ``offset``) jittered by at most 0.1: two grids with offsets 0 and 0.5
    stay at least 0.3 apart, so maximum, minimum and clip never see a tie."""
    ints = draw(hnp.arrays(np.int64, shp, elements=st.integers(-3, 3))).astype(np.float64)
    return ints + offset + reals(draw, shp, -0.1, 0.1)


def axis_arg(draw, ndim, none=True, tuples=True):
    options = [st.none()] if none or ndim == 0 else []
    if ndim:
        options.append(st.integers(-ndim, ndim - 1))
        if tuples:
            options.append(hnp.valid_tuple_axes(ndim, min_size=1))
    return draw(st.one_of(options))


def reduced_count(shp, axis) -> int:
    if axis is None:
        return math.prod(shp)
    axes = (axis,) if isinstance(axis, int) else axis
    return math.prod(shp[a] for a in axes)


def well_conditioned(draw, batch, n) -> np.ndarray:
    """Strictly diagonally dominant (every eigenvalue at least 1 from 0), rows of either
    sign so that determinants of both signs occur."""
    m = reals(draw, batch + (n, n), -1.0, 1.0)
    signs = np.where(draw(hnp.arrays(np.bool_, batch + (n, 1))), -1.0, 1.0)
    return signs * (m + (n + 1.0) * np.eye(n))


def dom(values, *bounds):
    """A domain: ``draw, shape -> array``, from one of the helpers above and its bounds."""
    return lambda draw, shp: values(draw, shp, *bounds)


def eye_like(a, n):
    return np.eye(n, dtype=a.dtype)

