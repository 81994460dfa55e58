"""Differentiable SciPy functions, as ``jax.scipy`` and ``autograd.scipy``: special functions
(:mod:`gradkit.scipy.special`) and the normal distribution (:mod:`gradkit.scipy.stats.norm`).

Values come from SciPy itself; gradkit adds the derivative rules, written with gradkit
operations so that every order works. Unlike the rest of gradkit this namespace needs
SciPy (``pip install 'gradkit[recipes]'`` or ``pip install scipy``); ``import gradkit``
and ``import gradkit.numpy`` never import it.

Examples
--------
>>> import gradkit as gk
>>> from gradkit.scipy.special import gammaln
>>> float(gk.grad(gammaln)(1.0))  # digamma(1) = -Euler's constant
-0.5772156649015329
"""

try:
    import scipy.special as _scipy_special  # noqa: F401
except ImportError as _e:
    raise ImportError(
        "gradkit.scipy needs SciPy, which is not installed: "
        "pip install 'gradkit[recipes]' (or pip install scipy)"
    ) from _e

from ..numpy import _wrap_composites  # noqa: E402
from . import special, stats  # noqa: E402

_wrap_composites(vars(special))
_wrap_composites(vars(stats.norm))

__all__ = ["special", "stats"]
