"""Gradient clipping on pytrees: by global norm and by value.

The same clipping is built into every first-order optimiser through its ``clip_norm=``
and ``clip_value=`` arguments, applied to the gradients before the update::

    Adam(lr=1e-3, clip_norm=1.0)
"""

from __future__ import annotations

from ..backend import xp
from ..errors import GradkitError
from ..tree import tree_unflatten
from ..validation import check_real, float_leaves

__all__ = ["global_norm", "clip_by_global_norm", "clip_by_value"]


def _norm_of_leaves(leaves: list) -> float:
    # Scaled by the largest component, so float32 gradients of 1e20 do not overflow.
    scale = max((float(xp.max(xp.abs(a))) for a in leaves if a.size), default=0.0)
    if scale == 0.0 or not xp.isfinite(scale):
        return scale
    total = sum(float(xp.sum(xp.square(a / scale), dtype=xp.float64)) for a in leaves)
    return scale * float(xp.sqrt(total))


def _clip_leaves_by_norm(leaves: list, max_norm: float) -> list:
    norm = _norm_of_leaves(leaves)
    if norm <= max_norm:
        return leaves
    factor = max_norm / norm
    # asarray: arithmetic on a 0-d array gives a NumPy scalar, and a 0-d leaf stays 0-d.
    return [xp.asarray(a * factor, dtype=a.dtype) for a in leaves]


def _clip_leaves_by_value(leaves: list, max_value: float) -> list:
    return [xp.asarray(xp.clip(a, -max_value, max_value), dtype=a.dtype) for a in leaves]


def global_norm(tree) -> float:
    """The 2-norm of all the leaves of ``tree`` taken together, as one vector.

    Computed with scaling, so that it does not overflow where the sum of squares would.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.optim import global_norm
    >>> global_norm({"w": np.array([3.0, 0.0]), "b": np.array(4.0)})
    5.0
    """
    return _norm_of_leaves(float_leaves(tree, "tree", "global_norm", convert=True)[0])


def clip_by_global_norm(grads, max_norm: float):
    """Rescale ``grads`` so that their global 2-norm is at most ``max_norm``.

    Every leaf is multiplied by the same factor ``max_norm / global_norm(grads)`` when
    that is below 1, which keeps the direction of the whole gradient; otherwise the
    gradients are returned unchanged. Dtypes are kept.

    Parameters
    ----------
    grads : pytree of arrays
        Gradients (arrays or Tensors); the result holds arrays.
    max_norm : float
        A positive bound.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.optim import clip_by_global_norm
    >>> clip_by_global_norm([np.array([3.0, 0.0]), np.array([4.0])], 1.0)
    [array([0.6, 0. ]), array([0.8])]
    """
    owner = "clip_by_global_norm"
    bound = check_real(max_norm, "max_norm", owner, low=0.0, low_open=True)
    leaves, treedef = float_leaves(grads, "grads", owner, convert=True)
    if not all(xp.isfinite(a).all() for a in leaves):
        raise GradkitError("clip_by_global_norm: grads hold NaN or inf; there is no norm to "
                           "clip to")
    return tree_unflatten(treedef, _clip_leaves_by_norm(leaves, bound))


def clip_by_value(grads, max_value: float):
    """Clip every gradient component to ``[-max_value, max_value]``.

    Parameters
    ----------
    grads : pytree of arrays
        Gradients (arrays or Tensors); the result holds arrays.
    max_value : float
        A positive bound.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.optim import clip_by_value
    >>> clip_by_value({"w": np.array([-3.0, 0.5, 2.0])}, 1.0)
    {'w': array([-1. ,  0.5,  1. ])}
    """
    owner = "clip_by_value"
    bound = check_real(max_value, "max_value", owner, low=0.0, low_open=True)
    leaves, treedef = float_leaves(grads, "grads", owner, convert=True)
    return tree_unflatten(treedef, _clip_leaves_by_value(leaves, bound))
