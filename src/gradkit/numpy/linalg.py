"""``gradkit.numpy.linalg``: differentiable linear algebra, NumPy's for everything else."""

import numpy as _np

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
__all__ = ["cholesky", "cond", "det", "eigh", "eigvalsh", "inv", "lstsq", "matrix_norm",
           "matrix_power", "matrix_rank", "multi_dot", "norm", "pinv", "qr", "slogdet",
           "solve", "svd", "svdvals", "tensorinv", "tensorsolve", "vector_norm"]


def __getattr__(name):
    return getattr(_np.linalg, name)
