"""Helpers that derivative rules share: shapes, axes, batch axes and undoing broadcasts.

Every module that defines primitives (``ops``, ``linalg``, ``elementwise``, ``scipy``,
``nn``...) or handles cotangents (``custom``, ``transforms``) takes these from here,
not from each other. What belongs here: small functions of shapes, dtypes and axes,
and the cotangent plumbing that rules of many primitives repeat (``sum_to`` undoing a
broadcast, ``_expand`` undoing a reduction, ``_mT`` the matrix transpose). A rule that
belongs to one primitive stays beside that primitive.

Remember that a cotangent ``g`` may carry leading batch axes beyond the primitive's
output ``ans`` (``_nb(g, ans)`` of them): helpers keep them in front, and count the
axes they reduce over from the end.
"""

from __future__ import annotations

import operator

from .backend import broadcast_like, dtype_of, is_foreign, xp
from .errors import GradkitError
from .graph import Tensor, plain


def _shape(x) -> tuple:
    try:
        return x.shape
    except AttributeError:
        return xp.shape(x)


def _ndim(x) -> int:
    return len(_shape(x))


def _nb(g, ans) -> int:
    """Number of leading batch axes that cotangent ``g`` carries beyond ``ans``."""
    return len(_shape(g)) - len(_shape(ans))


def _dtype(x):
    x = plain(x)
    return x.dtype if type(x) is xp.ndarray else dtype_of(x)


def _axis_error(call: str | None, message: str) -> GradkitError:
    return GradkitError(f"{call}: {message}" if call else message)


def _out_of_bounds(axis: int, ndim: int, call: str | None) -> GradkitError:
    return _axis_error(call, f"axis {axis} is out of bounds for an array of dimension {ndim}")


def _axis_index(axis, ndim: int, call: str | None = None) -> int:
    """``axis`` as a non-negative index among ``ndim`` axes (NumPy's negative axes count
    from the end); out of range, a GradkitError naming ``call``, never a wrap modulo
    ``ndim``."""
    if type(axis) is int and -ndim <= axis < ndim:  # the common case, cheaply
        return axis + ndim if axis < 0 else axis
    try:
        a = operator.index(axis)
    except TypeError:
        raise _axis_error(call, f"axis must be an integer, got {axis!r}") from None
    if -ndim <= a < ndim:
        return a + ndim if a < 0 else a
    raise _out_of_bounds(a, ndim, call)


def _axis_indices(axes, ndim: int, call: str | None = None, unique: bool = True) -> tuple:
    """Several axes (one int, or a sequence) as non-negative indices, as
    :func:`_axis_index`; an axis given twice is a GradkitError too unless ``unique`` is
    false."""
    if type(axes) is int or isinstance(axes, xp.integer):
        axes = (axes,)
    out = []
    for a in axes:
        if type(a) is int and -ndim <= a < ndim:
            out.append(a + ndim if a < 0 else a)
        else:
            out.append(_axis_index(a, ndim, call))
    if unique and len(out) > 1 and len(set(out)) != len(out):
        seen = set()
        for a, i in zip(axes, out):
            if i in seen:
                raise _axis_error(call, f"repeated axis {int(a)} in {tuple(axes)}")
            seen.add(i)
    return tuple(out)


def _neg_axes(axis, ndim: int, call: str | None = None) -> tuple:
    """Axes as a tuple of negative numbers, immune to leading batch axes (all ``ndim`` of
    them when ``axis`` is None); an out-of-range axis raises a GradkitError naming
    ``call``."""
    if axis is None:
        return tuple(range(-ndim, 0))
    if isinstance(axis, int | xp.integer):
        axis = (axis,)
    out = []
    for a in axis:
        a = int(a)
        if not -ndim <= a < ndim:
            raise _out_of_bounds(a, ndim, call)
        out.append(a % ndim - ndim)
    return tuple(out)


def _keepdims_shape(shape: tuple, axis) -> tuple:
    axes = {a % len(shape) for a in _neg_axes(axis, len(shape))} if shape else set()
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


# The helpers below are written with gradkit operations (so that rules using them stay
# differentiable); they reach them as ``ops.<name>`` at call time, see the import at the end.


def sum_to(ct, nb: int, shape: tuple):
    """Undo broadcasting: sum ``ct`` (with ``nb`` batch axes in front) down to ``shape``."""
    cshape = _shape(ct)
    if cshape == shape:
        return ct
    lead = len(cshape) - nb - len(shape)
    axes = tuple(range(nb, nb + lead)) + tuple(
        nb + lead + i for i, s in enumerate(shape) if s == 1 and cshape[nb + lead + i] != 1
    )
    if len(axes) == lead:  # only leading axes to drop: one reduction, no reshape
        return ops.sum(ct, axis=axes)
    ct = ops.sum(ct, axis=axes, keepdims=True)
    return ops.reshape(ct, cshape[:nb] + shape) if lead else ct


def _ub(ct, g, ans, x):
    """``sum_to`` for the rule of an elementwise op whose argument ``x`` was broadcast."""
    xs = _shape(x)
    if _shape(ct) == xs:
        return ct
    return sum_to(ct, _nb(g, ans), xs)


def _expand(g, ans, xshape: tuple, axis, keepdims: bool, like=None):
    """Broadcast the cotangent of a reduction back over the reduced axes (in the library
    of the reduced input ``like``, when given and not NumPy: see ``broadcast_like``)."""
    nb = _nb(g, ans)
    batch = _shape(g)[:nb]
    if not keepdims:
        g = ops.reshape(g, batch + _keepdims_shape(xshape, axis))
    if like is not None and not nb and type(g) is not Tensor and is_foreign(like):
        return broadcast_like(g, xshape, like)  # a constant: no derivative to record
    return ops.broadcast_to(g, batch + xshape)


def _expand_value(ans, xshape: tuple, axis, keepdims: bool):
    """The value of a reduction with its reduced axes put back (length 1), unbatched."""
    if not keepdims:
        ans = ops.reshape(ans, _keepdims_shape(xshape, axis))
    return ans


_LAST_TWO_SWAPPED = {n: tuple(range(n - 2)) + (n - 1, n - 2) for n in range(2, 33)}


def _mT(a):
    """Swap the last two axes (the matrix transpose of a stack)."""
    # The transpose primitive itself: ops.transpose would normalise the axes again.
    return ops._transpose(a, _LAST_TWO_SWAPPED[_ndim(a)])


# ops imports this module for its own rules: importing it last lets either module be
# imported first (every name above exists by the time ops asks for it).
from . import ops  # noqa: E402
