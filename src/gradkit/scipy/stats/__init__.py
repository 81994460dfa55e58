"""Differentiable statistical distributions (as ``jax.scipy.stats``): :mod:`.norm`."""

from . import norm

__all__ = ["norm"]
