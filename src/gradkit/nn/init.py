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

from ..errors import GradkitError

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
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, int | np.integer):
        return np.random.default_rng(rng)
    raise GradkitError(f"rng must be a numpy.random.Generator, an integer seed or None, "
                       f"got {type(rng).__name__}")


def fans(shape: Sequence[int]) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight of the given shape (PyTorch's convention).

    Examples
    --------
    >>> from gradkit.nn.init import fans
    >>> fans((10, 64)), fans((32, 16, 3, 3))
    ((64, 10), (144, 288))
    """
    shape = tuple(int(s) for s in shape)
    if not shape:
        raise GradkitError("fans: a weight needs at least one dimension, got shape ()")
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _check_dtype(dtype) -> np.dtype:
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise GradkitError(f"initialisers make floating-point weights, got dtype {dtype}")
    return dtype


def uniform(shape: Sequence[int], rng=None, low: float = -1.0, high: float = 1.0, *,
            dtype=np.float32) -> np.ndarray:
    """Samples of U(low, high) (drawn in float64, then cast: the same numbers for any dtype)."""
    dtype = _check_dtype(dtype)
    return as_generator(rng).uniform(low, high, size=tuple(shape)).astype(dtype, copy=False)


def normal(shape: Sequence[int], rng=None, std: float = 1.0, mean: float = 0.0, *,
           dtype=np.float32) -> np.ndarray:
    """Samples of N(mean, std**2) (drawn in float64, then cast)."""
    dtype = _check_dtype(dtype)
    draws = as_generator(rng).standard_normal(size=tuple(shape))
    return (draws * std + mean).astype(dtype, copy=False)


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
    fan_in, _ = fans(shape)
    bound = math.sqrt(6.0 / fan_in)
    return uniform(shape, rng, -bound, bound, dtype=dtype)


def he_normal(shape: Sequence[int], rng=None, *, dtype=np.float32) -> np.ndarray:
    """He (Kaiming) normal: N(0, 2 / fan_in), for ReLU networks."""
    fan_in, _ = fans(shape)
    return normal(shape, rng, math.sqrt(2.0 / fan_in), dtype=dtype)


def glorot_uniform(shape: Sequence[int], rng=None, *, dtype=np.float32) -> np.ndarray:
    """Glorot (Xavier) uniform: U(-b, b) with b = sqrt(6 / (fan_in + fan_out)).

    Examples
    --------
    >>> from gradkit.nn.init import glorot_uniform
    >>> w = glorot_uniform((20, 30), rng=1, dtype="float64")
    >>> bool(abs(w).max() <= (6 / 50) ** 0.5), w.dtype
    (True, dtype('float64'))
    """
    fan_in, fan_out = fans(shape)
    bound = math.sqrt(6.0 / (fan_in + fan_out))
    return uniform(shape, rng, -bound, bound, dtype=dtype)


def glorot_normal(shape: Sequence[int], rng=None, *, dtype=np.float32) -> np.ndarray:
    """Glorot (Xavier) normal: N(0, 2 / (fan_in + fan_out))."""
    fan_in, fan_out = fans(shape)
    return normal(shape, rng, math.sqrt(2.0 / (fan_in + fan_out)), dtype=dtype)


def zeros(shape: Sequence[int], rng=None, *, dtype=np.float32) -> np.ndarray:
    """All zeros (``rng`` is accepted and ignored, so every initialiser has one signature)."""
    return np.zeros(tuple(shape), dtype=_check_dtype(dtype))


def ones(shape: Sequence[int], rng=None, *, dtype=np.float32) -> np.ndarray:
    """All ones (``rng`` is ignored)."""
    return np.ones(tuple(shape), dtype=_check_dtype(dtype))


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
    if callable(init):
        return init
    try:
        return _BY_NAME[init]
    except (KeyError, TypeError):
        raise GradkitError(f"unknown initialiser {init!r}; choose one of "
                           f"{sorted(_BY_NAME)} or pass a callable") from None
