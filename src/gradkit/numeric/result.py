"""The result object shared by every function of :mod:`gradkit.numeric`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..backend import xp

__all__ = ["DerivativeResult"]


@dataclass(frozen=True, repr=False)
class DerivativeResult:
    """A numerical derivative with an estimate of its error.

    Attributes
    ----------
    df : ndarray or numpy scalar
        The derivative: shaped like ``x`` for :func:`~gradkit.numeric.derivative` and
        :func:`~gradkit.numeric.directional_derivative`, like ``x`` for ``gradient``,
        ``f(x).shape + x.shape`` for ``jacobian`` and ``x.shape + x.shape`` for ``hessian``.
    error : ndarray or numpy scalar
        An estimate of ``|df - exact|``, shaped like ``df``: the larger part of it bounds the
        truncation error (from the spread of successive Richardson extrapolants), the rest
        bounds the rounding error (from the magnitude of the function values).
    nfev : ndarray, numpy integer or int
        Function evaluations: per point for ``derivative`` (shaped like ``x``); the total
        number of points at which ``f`` was evaluated for the functions of vectors.
    success : ndarray or numpy bool
        ``False`` where no estimate could be made or where its error estimate is too large
        to trust (see ``message``); shaped like ``df``.
    message : str or ndarray of str
        What happened, per entry of ``df`` (a plain ``str`` when ``df`` is a scalar).

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.numeric import derivative
    >>> res = derivative(np.exp, 0.0)
    >>> bool(abs(res.df - 1.0) <= res.error <= 1e-12), bool(res.success), str(res.message)
    (True, True, 'converged')
    """

    df: Any
    error: Any
    nfev: Any
    success: Any
    message: Any

    def __repr__(self) -> str:
        with xp.printoptions(precision=17 if xp.ndim(self.df) == 0 else 8):
            parts = [f"df={self.df!r}", f"error={self.error!r}", f"nfev={self.nfev!r}",
                     f"success={self.success!r}", f"message={self.message!r}"]
        return "DerivativeResult(" + ", ".join(parts) + ")"


MESSAGES = {
    0: "converged",
    1: ("the error estimate is large relative to the derivative: f may be noisy or not "
        "smooth here, or rounding error dominates"),
    2: "f is not finite near x at every step tried",
    3: "no estimate: the step search ran out of levels",
}


def messages(status, notes=None):
    """Per-entry messages: the note (if any), then the meaning of the status code."""
    base = xp.empty(status.shape, dtype=object)
    for code, text in MESSAGES.items():
        base[status == code] = text
    if notes is None:
        return base
    return xp.where(notes == "", base, notes + xp.where(status == 0, "", "; " + base))


def build(value, error, nfev, status, notes, shape: tuple, nfev_shape=None) -> DerivativeResult:
    """A result with every per-entry array reshaped to ``shape`` (scalars unwrapped)."""
    msg = messages(status, notes).reshape(shape)
    value = value.reshape(shape)
    error = error.reshape(shape)
    success = (status == 0).reshape(shape)
    if nfev_shape is not None:
        nfev = xp.asarray(nfev).reshape(nfev_shape)
    if shape == ():
        nfev = nfev[()] if isinstance(nfev, xp.ndarray) else nfev
        return DerivativeResult(value[()], error[()], nfev, success[()], str(msg[()]))
    return DerivativeResult(value, error, nfev, success, msg.astype(str))
