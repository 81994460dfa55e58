"""Euclidean projections onto simple convex sets, for projected gradient methods.

Each function takes a pytree of arrays (or one array) and projects every leaf, so it can
be passed as an optimiser's ``project=`` argument: ``SGD(lr, project=project_simplex)``
minimises over the probability simplex. For bounds that differ per call, bind them:
``project=functools.partial(project_box, lo=0.0, hi=1.0)``.
"""

from __future__ import annotations

from ..backend import xp
from ..errors import GradkitError
from ..graph import raw
from ..tree import tree_flatten, tree_unflatten
from ..validation import check_axis, check_real, float_leaves, invalid

__all__ = ["project_box", "project_nonnegative", "project_simplex"]


def _bound_leaves(bound, treedef, n: int, name: str, owner: str) -> list:
    """Per-leaf bounds: a pytree like ``x``, or one scalar or array for every leaf."""
    leaves, bdef = tree_flatten(bound)
    if n > 1 and bdef == treedef:
        return [xp.asarray(raw(b)) for b in leaves]
    try:
        one = xp.asarray(raw(bound))
    except (TypeError, ValueError):
        one = None
    if one is None or one.dtype.kind not in "fiub":
        raise invalid(owner, name, "a scalar, an array, or a pytree with the structure of x",
                      bound)
    return [one] * n


def project_box(x, lo=-xp.inf, hi=xp.inf):
    """Project onto the box ``lo <= x <= hi`` (componentwise clipping).

    Parameters
    ----------
    x : array or pytree of arrays
        The point to project.
    lo, hi : float, array, or pytree like ``x``
        Bounds, broadcast against each leaf; ``-inf`` or ``inf`` leaves a side open.

    Returns
    -------
    The projection, with the structure of ``x``.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.optim import project_box
    >>> project_box(np.array([-2.0, 0.5, 3.0]), lo=0.0, hi=1.0)
    array([0. , 0.5, 1. ])
    """
    owner = "project_box"
    leaves, treedef = float_leaves(x, "x", owner, convert=True)
    los = _bound_leaves(lo, treedef, len(leaves), "lo", owner)
    his = _bound_leaves(hi, treedef, len(leaves), "hi", owner)
    out = []
    for i, (a, lo_i, hi_i) in enumerate(zip(leaves, los, his)):
        if xp.isnan(lo_i).any() or xp.isnan(hi_i).any() or (lo_i > hi_i).any():
            raise GradkitError(f"{owner}: lo must be <= hi componentwise (leaf {i}), got "
                               f"lo={lo_i!r}, hi={hi_i!r}")
        try:
            clipped = xp.clip(a, lo_i, hi_i)
        except ValueError as e:
            raise GradkitError(f"{owner}: bounds of shapes {lo_i.shape} and {hi_i.shape} do "
                               f"not broadcast to leaf {i} of shape {a.shape}") from e
        if clipped.shape != a.shape:
            raise GradkitError(f"{owner}: bounds of shapes {lo_i.shape} and {hi_i.shape} do "
                               f"not broadcast to leaf {i} of shape {a.shape}")
        out.append(xp.asarray(clipped, dtype=a.dtype))    # a 0-d leaf stays 0-d
    return tree_unflatten(treedef, out)


def project_nonnegative(x):
    """Project onto the non-negative orthant: ``maximum(x, 0)``.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.optim import project_nonnegative
    >>> project_nonnegative({"w": np.array([-1.0, 2.0])})
    {'w': array([0., 2.])}
    """
    leaves, treedef = float_leaves(x, "x", "project_nonnegative", convert=True)
    return tree_unflatten(treedef, [xp.asarray(xp.maximum(a, 0), dtype=a.dtype) for a in leaves])


def project_simplex(x, s: float = 1.0, axis: int = -1):
    """Project onto the simplex ``{w : w >= 0, sum(w) = s}`` along ``axis``.

    The exact Euclidean projection ``argmin ||w - x||`` by the sort-based algorithm
    (Held, Wolfe & Crowder 1974; Duchi et al. 2008), ``O(n log n)``: with ``u`` the
    entries sorted in decreasing order, ``rho`` the largest ``j`` such that
    ``u_j > (u_1 + ... + u_j - s) / j``, and ``theta = (u_1 + ... + u_rho - s) / rho``,
    the projection is ``maximum(x - theta, 0)``. Every 1-d slice along ``axis`` is
    projected independently, all at once.

    Parameters
    ----------
    x : array or pytree of arrays
        The point(s) to project; each leaf is projected along ``axis``.
    s : float, default 1
        The positive sum of the simplex (1: probability vectors).
    axis : int, default -1
        The axis along which entries sum to ``s``.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.optim import project_simplex
    >>> project_simplex(np.array([0.5, 1.5, -1.0]))
    array([0., 1., 0.])
    >>> project_simplex(np.array([[0.2, 0.2], [3.0, 1.0]]))
    array([[0.5, 0.5],
           [1. , 0. ]])
    """
    owner = "project_simplex"
    total = check_real(s, "s", owner, low=0.0, low_open=True)
    leaves, treedef = float_leaves(x, "x", owner, convert=True)
    out = []
    for i, a in enumerate(leaves):
        if a.ndim == 0:
            raise invalid(owner, f"x leaf {i}", "an array of at least one dimension (the "
                          "simplex is along an axis)", a)
        ax = check_axis(axis, "axis", owner, a.ndim)
        if a.shape[ax] == 0:
            raise invalid(owner, f"x leaf {i}", f"non-empty along axis {axis}", a)
        out.append(xp.moveaxis(_simplex_last(xp.moveaxis(a, ax, -1), total), -1, ax))
    return tree_unflatten(treedef, out)


def _simplex_last(v, s: float):
    n = v.shape[-1]
    u = -xp.sort(-v, axis=-1)
    css = xp.cumsum(u, axis=-1) - s
    k = xp.arange(1, n + 1, dtype=v.dtype)
    positive = u * k > css            # u_j > css_j / j, without dividing
    # rho: the last j where it holds (always at least j = 1, where it reads s > 0).
    rho = n - xp.argmax(positive[..., ::-1], axis=-1)
    theta = xp.take_along_axis(css, (rho - 1)[..., None], axis=-1) / rho[..., None]
    return xp.maximum(v - theta.astype(v.dtype, copy=False), 0)
