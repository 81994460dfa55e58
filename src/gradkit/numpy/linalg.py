"""``gradkit.numpy.linalg``: differentiable linear algebra, NumPy's for everything else."""

import numpy as _np

from ..linalg import cholesky, det, eigh, inv, norm, slogdet, solve  # noqa: F401


def __getattr__(name):
    return getattr(_np.linalg, name)
