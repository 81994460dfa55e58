"""BLAS threads for recipes whose matrices are small."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

__all__ = ["single_blas_thread"]


@contextlib.contextmanager
def single_blas_thread() -> Iterator[None]:
    """Run BLAS on one thread inside the block (threadpoolctl, a scikit-learn dependency).

    The matrices of the digits recipes are small (batches of 32): with several BLAS
    threads on a busy 2-core machine, the digits MLP's training measured 60 times slower
    (90 s against 1.5 s) than on one.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn installs it
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield
