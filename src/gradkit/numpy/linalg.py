"""``gradkit.numpy.linalg``: differentiable linear algebra, NumPy's for everything else."""

import numpy as _np

from .. import ops as _ops
from .._rules import _axis_index, _ndim, _shape
from ..errors import GradkitError as _GradkitError
from ..linalg import (  # noqa: F401
    EighResult,
    QRResult,
    SlogdetResult,
    SVDResult,
    cholesky,
    cond,
    det,
    eigh,
    eigvalsh,
    inv,
    lstsq,
    matrix_norm,
    matrix_power,
    matrix_rank,
    multi_dot,
    norm,
    pinv,
    qr,
    slogdet,
    solve,
    svd,
    svdvals,
    tensorinv,
    tensorsolve,
    vector_norm,
)

# The names gradkit defines; everything else (LinAlgError, eig...) is NumPy's own.
__all__ = ["cholesky", "cond", "cross", "det", "diagonal", "eigh", "eigvalsh", "inv", "lstsq",
           "matmul", "matrix_norm", "matrix_power", "matrix_rank", "matrix_transpose",
           "multi_dot", "norm", "outer", "pinv", "qr", "slogdet", "solve", "svd", "svdvals",
           "tensordot", "tensorinv", "tensorsolve", "trace", "vecdot", "vector_norm"]


# NumPy 2's array-API spellings in numpy.linalg: the same operations over the last axes.
def matmul(x1, x2, /):
    """``x1 @ x2`` (as ``numpy.linalg.matmul``)."""
    return _ops.matmul(x1, x2)


def outer(x1, x2, /):
    """Outer product of two vectors (as ``numpy.linalg.outer``)."""
    if _ndim(x1) != 1 or _ndim(x2) != 1:
        raise _GradkitError(f"linalg.outer: needs two 1-D arrays, got shapes "
                            f"{_shape(x1)} and {_shape(x2)}")
    return _ops.outer(x1, x2)


def cross(x1, x2, /, *, axis=-1):
    """Cross product of 3-vectors along ``axis`` (as ``numpy.linalg.cross``)."""
    from ..series import cross as _cross

    for x in (x1, x2):
        _axis_index(axis, _ndim(x), "linalg.cross")
    if _shape(x1)[axis] != 3 or _shape(x2)[axis] != 3:
        raise _GradkitError(f"linalg.cross: axis {axis} must have size 3, got shapes "
                            f"{_shape(x1)} and {_shape(x2)}")
    return _cross(x1, x2, axis=axis)


def tensordot(x1, x2, /, *, axes=2):
    """Tensor dot product (as ``numpy.linalg.tensordot``)."""
    return _ops.tensordot(x1, x2, axes=axes)


def trace(x, /, *, offset=0, dtype=None):
    """Sum of the diagonal of the last two axes (as ``numpy.linalg.trace``)."""
    out = _ops.trace(x, offset=offset, axis1=-2, axis2=-1)
    return out if dtype is None else _ops.astype(out, dtype)


def diagonal(x, /, *, offset=0):
    """The diagonal of the last two axes (as ``numpy.linalg.diagonal``)."""
    return _ops.diagonal(x, offset, -2, -1)


def vecdot(x1, x2, /, *, axis=-1):
    """Dot product of vectors along ``axis``, broadcasting the rest (as ``numpy.vecdot``)."""
    return _ops.sum(_ops.multiply(x1, x2), axis=axis)


def matrix_transpose(x, /):
    """Swap the last two axes (as ``numpy.linalg.matrix_transpose``)."""
    if _ndim(x) < 2:
        raise _GradkitError(f"linalg.matrix_transpose: needs at least 2 dimensions, got "
                            f"shape {_shape(x)}")
    return _ops.swapaxes(x, -1, -2)


def __getattr__(name):
    return getattr(_np.linalg, name)
