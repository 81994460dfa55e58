"""Errors raised by :mod:`gradkit.numeric`.

Every one derives from :class:`gradkit.errors.GradkitError` (and so from ``ValueError`` and
``TypeError``); the message names the argument at fault.
"""

from ..errors import GradkitError

__all__ = ["NumericError", "DerivativeArgumentError", "FunctionOutputError"]


class NumericError(GradkitError):
    """Base class of the errors raised by :mod:`gradkit.numeric`."""


class DerivativeArgumentError(NumericError):
    """An argument is out of range: ``n``, ``x``, ``method``, ``accuracy``, ``step``, ``v``.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.numeric import derivative
    >>> derivative(np.sin, 1.0, n=7)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    gradkit.numeric.errors.DerivativeArgumentError: numeric.derivative: n must be ..., got 7
    """


class FunctionOutputError(NumericError):
    """The function ``f`` returned something of the wrong shape or type."""
