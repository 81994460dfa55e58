"""Weight initialisers seeded by a NumPy :class:`~numpy.random.Generator`.

Each initialiser takes a shape in PyTorch's layout (``(out, in)`` for a linear weight,
``(out, in, kh, kw)`` for a convolution) and a random generator, and returns a plain
NumPy array. Fan-in and fan-out follow PyTorch: ``fan_in = in * kh * kw`` and
``fan_out = out * kh * kw``.

=================  =========================================  ========================
name               distribution                               keeps the variance of
=================  =========================================  ========================
``he_uniform``     U(-b, b), b = sqrt(6 / fan_in)             ReLU activations (fwd)
``he_normal``      N(0, 2 / fan_in)                           ReLU activations (fwd)
``glorot_uniform`` U(-b, b), b = sqrt(6 / (fan_in + fan_out))  activations and gradients
``glorot_normal``  N(0, 2 / (fan_in + fan_out))               activations and gradients
=================  =========================================  ========================

``kaiming_*`` and ``xavier_*`` are aliases.

Examples
--------
>>> import numpy as np
>>> from gradkit.nn import init
>>> w = init.he_normal((256, 128), np.random.default_rng(0))
>>> w.dtype, w.shape
(dtype('float32'), (256, 128))
>>> bool(abs(w.std() - (2 / 128) ** 0.5) < 0.005)
True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from ..validation import invalid, is_integer

__all__ = ["as_generator", "fans", "he_uniform", "he_normal", "glorot_uniform", "glorot_normal",
           "kaiming_uniform", "kaiming_normal", "xavier_uniform", "xavier_normal", "zeros",
           "ones", "normal", "uniform", "get"]

Initializer = Callable[..., np.ndarray]


def as_generator(rng: np.random.Generator | int | None) -> np.random.Generator:
    """A :class:`numpy.random.Generator` from a generator, an integer seed or None.

    ``None`` gives a generator seeded from fresh OS entropy (not reproducible); pass an
    integer or a generator for reproducible weights.

    Examples
    --------
    >>> from gradkit.nn.init import as_generator
    >>> float(as_generator(0).random()) == float(as_generator(0).random())
    True
    """
    return _generator(rng, "nn.init.as_generator")


def _generator(rng, call: str) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or is_integer(rng):
        return np.random.default_rng(rng)
    raise invalid(call, "rng", "a numpy.random.Generator, an integer seed or None", rng)


def fans(shape: Sequence[int]) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight of the given shape (PyTorch's convention).

    Examples
    --------
    >>> from gradkit.nn.init import fans
    >>> fans((10, 64)), fans((32, 16, 3, 3))
    ((64, 10), (144, 288))
    """
    return _fans(shape, "nn.init.fans")


def _root(numerator: float, fan: int) -> float:
    """``sqrt(numerator / fan)``; 0 for a fan of 0, a weight with no elements to draw (as
    PyTorch, which initialises it as a no-op)."""
    return math.sqrt(numerator / fan) if fan else 0.0


def _fans(shape, call: str) -> tuple[int, int]:
    shape = tuple(int(s) for s in shape)
    if not shape:
        raise invalid(call, "shape", "the shape of a weight, with at least one dimension",
                      shape)
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _check_dtype(dtype, call: str) -> np.dtype:
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise invalid(call, "dtype", "a floating-point dtype", dtype)
    return dtype


def _uniform(shape, rng, low: float, high: float, dtype, call: str) -> np.ndarray:
    dtype = _check_dtype(dtype, call)
    return _generator(rng, call).uniform(low, high, size=tuple(shape)).astype(dtype, copy=False)


def _normal(shape, rng, std: float, mean: float, dtype, call: str) -> np.ndarray:
    dtype = _check_dtype(dtype, call)
    draws = _generator(rng, call).standard_normal(size=tuple(shape))
    return (draws * std + mean).astype(dtype, copy=False)


def uniform(shape: Sequence[int], rng=None, low: float = -1.0, high: float = 1.0, *,
            dtype=np.float32) -> np.ndarray:
    """Samples of U(low, high) (drawn in float64, then cast: the same numbers for any dtype)."""
    return _uniform(shape, rng, low, high, dtype, "nn.init.uniform")


def normal(shape: Sequence[int], rng=None, std: float = 1.0, mean: float = 0.0, *,
           dtype=np.float32) -> np.ndarray:
    """Samples of N(mean, std**2) (drawn in float64, then cast)."""
    return _normal(shape, rng, std, mean, dtype, "nn.init.normal")


def he_uniform(shape: Sequence[int], rng=None, *, dtype=np.float32) -> np.ndarray:
    """He (Kaiming) uniform: U(-b, b) with b = sqrt(6 / fan_in), for ReLU networks.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.nn.init import he_uniform
    >>> w = he_uniform((64, 24), rng=0)
    >>> bool(np.abs(w).max() <= 0.5)
    True
    """
    call = "nn.init.he_uniform"
    fan_in, _ = _fans(shape, call)
    bound = _root(6.0, fan_in)
    return _uniform(shape, rng, -bound, bound, dtype, call)


def he_normal(shape: Sequence[int], rng=None, *, dtype=np.float32) -> np.ndarray:
    """He (Kaiming) normal: N(0, 2 / fan_in), for ReLU networks."""
    call = "nn.init.he_normal"
    fan_in, _ = _fans(shape, call)
    return _normal(shape, rng, _root(2.0, fan_in), 0.0, dtype, call)


def glorot_uniform(shape: Sequence[int], rng=None, *, dtype=np.float32) -> np.ndarray:
    """Glorot (Xavier) uniform: U(-b, b) with b = sqrt(6 / (fan_in + fan_out)).

    Examples
    --------
    >>> from gradkit.nn.init import glorot_uniform
    >>> w = glorot_uniform((20, 30), rng=1, dtype="float64")
    >>> bool(abs(w).max() <= (6 / 50) ** 0.5), w.dtype
    (True, dtype('float64'))
    """
    call = "nn.init.glorot_uniform"
    fan_in, fan_out = _fans(shape, call)
    bound = _root(6.0, fan_in + fan_out)
    return _uniform(shape, rng, -bound, bound, dtype, call)


def glorot_normal(shape: Sequence[int], rng=None, *, dtype=np.float32) -> np.ndarray:
    """Glorot (Xavier) normal: N(0, 2 / (fan_in + fan_out))."""
    call = "nn.init.glorot_normal"
    fan_in, fan_out = _fans(shape, call)
    return _normal(shape, rng, _root(2.0, fan_in + fan_out), 0.0, dtype, call)


def zeros(shape: Sequence[int], rng=None, *, dtype=np.float32) -> np.ndarray:
    """All zeros (``rng`` is accepted and ignored, so every initialiser has one signature)."""
    return np.zeros(tuple(shape), dtype=_check_dtype(dtype, "nn.init.zeros"))


def ones(shape: Sequence[int], rng=None, *, dtype=np.float32) -> np.ndarray:
    """All ones (``rng`` is ignored)."""
    return np.ones(tuple(shape), dtype=_check_dtype(dtype, "nn.init.ones"))


kaiming_uniform = he_uniform
kaiming_normal = he_normal
xavier_uniform = glorot_uniform
xavier_normal = glorot_normal

_BY_NAME: dict[str, Initializer] = {
    "he_uniform": he_uniform, "he_normal": he_normal, "glorot_uniform": glorot_uniform,
    "glorot_normal": glorot_normal, "kaiming_uniform": he_uniform, "kaiming_normal": he_normal,
    "xavier_uniform": glorot_uniform, "xavier_normal": glorot_normal, "zeros": zeros,
    "ones": ones, "normal": normal, "uniform": uniform,
}


def get(init: str | Initializer) -> Initializer:
    """An initialiser from its name, or the callable itself.

    A callable must accept ``(shape, rng, *, dtype)`` and return an array of that shape.

    Examples
    --------
    >>> from gradkit.nn import init
    >>> init.get("xavier_normal") is init.glorot_normal
    True
    """
    return _initializer(init, "nn.init.get")


def _initializer(init, call: str) -> Initializer:
    if callable(init):
        return init
    if isinstance(init, str) and init in _BY_NAME:
        return _BY_NAME[init]
    raise invalid(call, "init", "a callable or one of " + ", ".join(map(repr, sorted(_BY_NAME))),
                  init)
