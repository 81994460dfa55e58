"""Numerical derivatives you can trust: a value, an error estimate, and what it cost.

When there is no formula to differentiate, :func:`derivative` differentiates a function of
one variable (orders 1 to 4; central, forward, backward differences or the complex step)
with an adaptive step, Richardson extrapolation and an honest error estimate, vectorised
over an array of points. :func:`gradient`, :func:`jacobian`, :func:`hessian` and
:func:`directional_derivative` do the same for functions of arrays, evaluating ``f`` in
batches when it accepts a trailing batch axis. Every function returns a
:class:`DerivativeResult` (``df``, ``error``, ``nfev``, ``success``, ``message``).

Examples
--------
>>> import numpy as np
>>> import gradkit.numeric as gn
>>> res = gn.derivative(np.log, [0.1, 1.0, 10.0])
>>> bool(np.allclose(res.df, [10.0, 1.0, 0.1], rtol=1e-12, atol=0))
True
>>> bool(np.all(np.abs(res.df - [10.0, 1.0, 0.1]) <= res.error))
True
"""

from .errors import DerivativeArgumentError, FunctionOutputError, NumericError
from .finite import derivative
from .multivariate import directional_derivative, gradient, hessian, jacobian
from .result import DerivativeResult

__all__ = [
    "derivative", "gradient", "jacobian", "hessian", "directional_derivative",
    "DerivativeResult", "NumericError", "DerivativeArgumentError", "FunctionOutputError",
]
