"""``vmap``: a function of one example, mapped over a batch without a Python loop.

``vmap(f)(xs)`` calls ``f`` once, on *batched* values: boxes of a fresh trace whose value
carries the batch on axis 0 and whose ``shape`` is one example's. A primitive applied to a
batched value runs its *batching rule*, which calls the primitive once on the whole batch
(moving or adding the batch axis where the primitive needs it) and boxes the result.
Traces nest as for ``grad``: a transform started inside ``f`` (``grad``, ``jacobian``,
another ``vmap``) records above the batch, one started outside below it, so
``vmap(grad(f))`` gives per-example gradients and ``grad(vmap(f))`` the gradient of a
batched computation.

A primitive without a rule raises :class:`~gradkit.GradkitError` naming it; nothing falls
back to a loop.
"""

from __future__ import annotations

import math
import string
import sys
from collections.abc import Callable
from typing import Any

from . import graph, ops
from .backend import array_of, xp
from .errors import GradkitError, OpError, ShapeMismatchError
from .graph import BATCHED, Tensor, _box, new_trace, plain, raw
from .tree import tree_flatten, tree_unflatten

__all__ = ["vmap"]

_EMPTY: dict = {}


# -- boxes ------------------------------------------------------------------------------


def _batch_box(value, trace: int) -> Tensor:
    return _box(value, trace, BATCHED, (), (), _EMPTY)


def _shape(x) -> tuple:
    t = type(x)
    if t is Tensor or t is xp.ndarray:
        return x.shape
    if t is float or t is int or t is type or isinstance(x, xp.dtype | xp.generic):
        return ()  # scalars (NumPy's too), and the dtype argument of astype
    return xp.shape(x)


def _ndim(x) -> int:
    return len(_shape(x))


def _size(vals, batched) -> int:
    for v, b in zip(vals, batched):
        if b:
            return _shape(v)[0]
    raise GradkitError("vmap: internal error: a batching rule saw no batched argument")


def apply_batched(prim, args, kw, trace: int):
    """Run ``prim``'s batching rule on ``args``, some of them boxes of batch ``trace``."""
    rule = getattr(prim, "batch", None)
    if rule is None:
        if not prim.ufunc:  # a NumPy ufunc is elementwise: its rule needs no writing
            raise GradkitError(f"vmap: {prim.__name__} has no batching rule yet; compute "
                               f"it outside vmap, or with other gradkit.numpy functions")
        rule = _elementwise
    vals, batched = _split(args, trace)
    # This runs once per primitive under vmap: the elementwise rule is inlined and the box
    # built here (one Python call each saved, on the path of every vmap(grad(f))).
    try:
        if rule is _elementwise:
            out = prim(*_align(vals, batched), **kw)
        elif rule in _WANT_TRACE:
            out = rule(prim, vals, batched, kw, trace)
        else:
            out = rule(prim, vals, batched, kw)
    except OpError as e:
        raise _in_the_batch(e, vals, batched) from e
    if isinstance(out, tuple):
        return tuple(_box(o, trace, BATCHED, (), (), _EMPTY) for o in out)
    return _box(out, trace, BATCHED, (), (), _EMPTY)


def _in_the_batch(e: OpError, vals, batched) -> OpError:
    """``e`` saying that its shapes are the batch's (NumPy saw the whole batch at once)."""
    note = "inside vmap"
    if note in str(e):  # said by a vmap nested in this one
        return e
    return OpError(f"{e} ({note}, over a batch of {_size(vals, batched)}: the shapes and "
                   f"axes shown are the batch's, its axis first)")


def _split(args, trace: int) -> tuple[list, list]:
    """The values under the boxes of batch ``trace`` in ``args``, and which args had one."""
    vals, batched = [], []
    for a in args:
        if type(a) is Tensor and a._trace == trace:
            vals.append(a._value)
            batched.append(True)
        else:
            vals.append(a)
            batched.append(False)
    return vals, batched


def _top_batch(args) -> int:
    top = -1
    for a in args:
        while type(a) is Tensor:
            if a._prim is BATCHED:
                top = max(top, a._trace)
                break
            a = a._value
    return top


def apply_batched_constant(nd, args, kw):
    """A function without derivative (a comparison, ``argmax``...) on batched values."""
    rule = getattr(nd, "batch", None)
    if rule is None:
        if not getattr(nd, "ufunc", False):  # a NumPy ufunc is elementwise: mapped as it is
            raise GradkitError(f"vmap: {nd.__name__} has no batching rule yet; compute it "
                               f"outside vmap, or with other gradkit.numpy functions")
        rule = _elementwise_constant
    trace = _top_batch(args)
    peeled = []
    for a in args:
        while type(a) is Tensor and a._trace > trace:  # boxes above the batch: constant
            a = a._value
        peeled.append(a)
    vals, batched = _split(peeled, trace)
    try:
        out, is_batched = rule(nd, vals, batched, kw)
    except OpError as e:
        raise _in_the_batch(e, vals, batched) from e
    return _box(out, trace, BATCHED, (), (), _EMPTY) if is_batched else out


# -- rules ------------------------------------------------------------------------------


def _align(vals, batched) -> list:
    """Batched operands with one example's axes right-aligned against the others'.

    NumPy broadcasting aligns from the right, so an unbatched operand already lines up
    with a batched one's example axes; a batched operand with fewer example axes than
    another needs ones inserted after its batch axis. ``vals`` itself when none does
    (the usual case: every primitive under vmap asks, so the shapes are read inline).
    """
    shapes = []
    nd = 0
    for v, b in zip(vals, batched):
        if v is None:
            shapes.append(None)
            continue
        t = type(v)
        s = v.shape if t is xp.ndarray or t is Tensor else _shape(v)
        shapes.append(s)
        if len(s) - b > nd:
            nd = len(s) - b
    out = None
    for k, s in enumerate(shapes):
        if batched[k] and len(s) - 1 < nd:
            if out is None:
                out = list(vals)
            out[k] = ops._reshape(vals[k], (s[0],) + (1,) * (nd - len(s) + 1) + s[1:])
    return vals if out is None else out


def _elementwise(prim, vals, batched, kw):
    return prim(*_align(vals, batched), **kw)


def _multiply(prim, vals, batched, kw):
    vals = _align(vals, batched)
    if len(vals) == 2 and not kw and all(batched):
        out = _outer(*vals)
        if out is not None:
            return out
    return prim(*vals, **kw)


def _outer(a, b):
    """``a * b`` by einsum when it is a stack of outer products, ``a`` of shape
    (..., m, 1) and ``b`` (..., 1, n) or the other way round; else None.

    NumPy's broadcasting multiply walks such a product one short row at a time, and
    per-example gradients of a dense layer are exactly this: the outer primitive's own
    forward computes it (an einsum, the longer axis innermost).
    """
    if not (type(a) is type(b) is xp.ndarray and a.dtype == b.dtype
            and a.dtype.kind in "fc" and a.ndim == b.ndim >= 3):
        return None
    if a.shape[-1] != 1:
        a, b = b, a
    if a.shape[-1] != 1 or b.shape[-2] != 1 or a.shape[:-2] != b.shape[:-2]:
        return None
    return ops._outer_fwd(a[..., 0], b[..., 0, :])


def _elementwise_constant(nd, vals, batched, kw):
    return nd(*_align(vals, batched), **kw), True


def _negative_axes(axis, nd: int, call: str) -> tuple:
    """One example's axes as negative numbers: the batch axis in front never moves them."""
    if axis is None:
        return tuple(range(-nd, 0))
    axes = (axis,) if isinstance(axis, int | xp.integer) else tuple(axis)
    out = []
    for a in axes:
        a = int(a)
        if not -nd <= a < nd:
            raise GradkitError(f"{call}: axis {a} is out of bounds for an example of "
                               f"dimension {nd} (inside vmap)")
        out.append(a % nd - nd)
    return tuple(out)


def _axis_arg(vals, kw, position: int, default=None):
    if "axis" in kw:
        return kw["axis"], "kw"
    if len(vals) > position:
        return vals[position], "pos"
    return default, "kw"


def _reduction(prim, vals, batched, kw):
    """``prim(x, axis=None, keepdims=False)`` over one example's axes."""
    x = vals[0]
    axis, where = _axis_arg(vals, kw, 1)
    axes = _negative_axes(axis, len(_shape(x)) - 1, prim.__name__)
    if where == "pos":
        return prim(x, axes, *vals[2:], **kw)
    return prim(x, *vals[1:], **{**kw, "axis": axes})


def _weighted_reduction(prim, vals, batched, kw):
    """``prim(a, b, axes, *rest)``: ``a`` and ``b`` broadcast together, then reduced."""
    a, b = _align(vals[:2], batched[:2])
    nd = max(_ndim(vals[0]) - batched[0], _ndim(vals[1]) - batched[1])
    return prim(a, b, _negative_axes(vals[2], nd, prim.__name__), *vals[3:], **kw)


def _reduction_constant(nd, vals, batched, kw):
    return _reduction(nd, vals, batched, kw), True


def _along_axis(prim, vals, batched, kw, default=None):
    """``prim(x, axis, ...)`` along one axis; ``axis=None`` on the flattened example.
    ``default``: the axis when none is given (None for cumsum and argmax, -1 for argsort)."""
    x = vals[0]
    axis, where = _axis_arg(vals, kw, 1, default)
    if axis is None:
        flat = _flattened(x)
        rest = vals[2:] if where == "pos" else vals[1:]
        # cumsum, argmax, argmin and argsort of a whole example answer for the flattened one
        return prim(flat, -1, *rest, **{k: v for k, v in kw.items() if k != "axis"})
    (ax,) = _negative_axes(axis, _ndim(x) - 1, prim.__name__)
    if where == "pos":
        return prim(x, ax, *vals[2:], **kw)
    return prim(x, *vals[1:], **{**kw, "axis": ax})


def _along_axis_constant(nd, vals, batched, kw):
    return _along_axis(nd, vals, batched, kw), True


def _along_last_axis_constant(nd, vals, batched, kw):
    return _along_axis(nd, vals, batched, kw, -1), True


def _per_example_meta(nd, vals, batched, kw):
    """``shape``, ``ndim``, ``size``, ``zeros_like``...: one example's, not batched."""
    stand_ins = [xp.empty(_shape(v)[1:], dtype=xp.result_type(plain(v))) if b else v
                 for v, b in zip(vals, batched)]
    return nd(*stand_ins, **kw), False


def _flattened(x):
    """Each example flattened: (batch, its size), spelled out (NumPy cannot infer a -1
    next to an empty batch)."""
    s = _shape(x)
    return ops._reshape(x, (s[0], math.prod(s[1:])))


def _reshape(prim, vals, batched, kw):
    x, shape = vals
    if type(shape) is not tuple:  # ops.reshape passes a tuple: nothing to convert
        shape = (shape,) if isinstance(shape, int | xp.integer) else tuple(shape)
    s = _shape(x)
    if s[0] == 0 and -1 in shape:  # NumPy cannot infer the -1 next to an empty batch
        shape = xp.empty(s[1:], dtype=bool).reshape(shape).shape
    return prim(x, (s[0],) + shape)


def _transpose(prim, vals, batched, kw):
    x, axes = vals
    nd = _ndim(x) - 1
    if axes is None:
        return prim(x, (0,) + tuple(range(nd, 0, -1)))
    return prim(x, (0,) + tuple(a + nd + 1 for a in _negative_axes(axes, nd, "transpose")))


def _broadcast_to(prim, vals, batched, kw):
    x, shape = vals
    shape = (shape,) if isinstance(shape, int | xp.integer) else tuple(shape)
    (x,) = _align_to(x, len(shape))
    return prim(x, (_shape(x)[0],) + shape)


def _align_to(x, nd: int) -> tuple:
    s = _shape(x)
    if len(s) - 1 < nd:
        x = ops._reshape(x, (s[0],) + (1,) * (nd - len(s) + 1) + s[1:])
    return (x,)


def _with_batch(v, n: int):
    """An unbatched operand broadcast to a batch of ``n`` along a new axis 0."""
    s = _shape(v)
    return ops._broadcast_to(ops._reshape(v, (1,) + s), (n,) + s)


def _matmul_pair(a, b, ba: bool, bb: bool):
    """``a @ b`` for one example each, on the batch: returns the batched product."""
    s = _shape(a)
    pa, pb = len(s) - ba, _ndim(b) - bb
    if pa == 0 or pb == 0:
        raise GradkitError("matmul: an operand is a scalar (inside vmap); use multiply")
    if ba and not bb and pb == 2:
        # The batch and a's stacks folded into the rows of one matrix product: NumPy
        # would otherwise multiply a stack of small matrices, one BLAS call each.
        if len(s) == 2:
            return ops.matmul(a, b)
        out = ops.matmul(ops._reshape(a, (math.prod(s[:-1]), s[-1])), b)
        return ops._reshape(out, s[:-1] + _shape(b)[-1:])
    if bb and not ba and pa == 2 and pb == 1:
        return ops.matmul(b, ops._transpose(a, (1, 0)))
    n = _shape(a)[0] if ba else _shape(b)[0]
    if pa == 1:      # a vector: a row on the left, removed from the product afterwards
        s = _shape(a)
        a = ops._reshape(a, s[:-1] + (1, s[-1]))
    if pb == 1:      # a column on the right
        s = _shape(b)
        b = ops._reshape(b, s + (1,))
    qa, qb = max(pa, 2), max(pb, 2)
    # NumPy aligns the stacks from the right: the batch axis must sit before all of them.
    if not ba:
        a = _with_batch(a, n)
    if not bb:
        b = _with_batch(b, n)
    (a,) = _align_to(a, max(qa, qb))
    (b,) = _align_to(b, max(qa, qb))
    out = ops.matmul(a, b)
    s = _shape(out)
    if pb == 1:
        s = s[:-1]
    if pa == 1:
        s = s[:-2] + s[-1:] if pb != 1 else s[:-1]
    return out if s == _shape(out) else ops._reshape(out, s)


def _matmul(prim, vals, batched, kw):
    a, b = vals
    return _matmul_pair(a, b, *batched)


def _matmul_add(prim, vals, batched, kw):
    a, b, c = vals
    ba, bb, bc = batched
    if not (ba or bb):
        product, pb = ops.matmul(a, b), False
    else:
        product, pb = _matmul_pair(a, b, ba, bb), True
    return ops.add(*_align([product, c], [pb, bc]))


def _log_softmax_vjp(prim, vals, batched, kw):
    g, ans, axis = vals  # axis: negative, so the batch axis in front never moves it
    g, ans = _align([g, ans], batched[:2])
    return prim(g, ans, axis)


def _einsum(prim, vals, batched, kw):
    subscripts, operands = vals[0], vals[1:]
    spec = subscripts.replace(" ", "")
    inputs, arrow, output = spec.partition("->")
    terms = inputs.split(",")
    if not arrow:
        letters = [c for c in inputs if c.isalpha()]
        output = ("..." if "..." in inputs else "") + "".join(
            sorted(c for c in set(letters) if letters.count(c) == 1))
    free = next(c for c in string.ascii_letters if c not in spec)
    terms = [free + t if b else t for t, b in zip(terms, batched[1:])]
    return prim(",".join(terms) + "->" + free + output, *operands, **kw)


def batched_like(a, index: tuple):
    """``a`` batched like the batched entries of ``index`` (broadcast by adding a batched
    zero, which records in whatever traces ``a`` belongs to)."""
    trace = _top_batch(index)
    if _peel_to(a, trace):
        return a
    n = next(_shape(i._value)[0] for i in index if type(i) is Tensor and i._trace == trace)
    zero = xp.zeros((n,) + (1,) * len(_shape(a)), dtype=xp.result_type(plain(a)))
    if isinstance(a, xp.ndarray | xp.generic):  # in no trace: the same sum, undispatched
        return _batch_box(a + zero, trace)
    return ops.add(a, _batch_box(zero, trace))


def _peel_to(a, trace: int) -> bool:
    """Whether ``a`` holds a box of batch ``trace``."""
    while type(a) is Tensor and a._trace >= trace:
        if a._trace == trace:
            return True
        a = a._value
    return False


def _here(i, trace: int) -> bool:
    return type(i) is Tensor and i._trace == trace


def _any_here(index, trace: int) -> bool:
    """Whether an entry of ``index`` is batched by ``trace`` (one call, not one per entry:
    every indexing under vmap asks)."""
    for i in index:
        if type(i) is Tensor and i._trace == trace:
            return True
    return False


def _batched_index(index, advanced, trace: int, n: int):
    """The batch's index: an ``arange`` of the batch in front of one example's index,
    entries batched by ``trace`` replaced by their values (entries batched by an outer vmap
    stay boxed, for its rule). Returns it, its advanced positions, and the axes that hold
    one example's advanced dimensions after the batch axis."""
    shapes = [_shape(index[k]._value)[1:] if _here(index[k], trace) else _shape(index[k])
              for k in advanced]
    adv_nd = len(shapes[0] if len(shapes) == 1 else xp.broadcast_shapes(*shapes))
    # A batched entry's example axes right-aligned with the others', after the batch axis
    # (unbatched entries broadcast from the right by themselves).
    values = [_align_to(i._value, adv_nd)[0] if _here(i, trace) else i for i in index]
    rows = xp.arange(n).reshape((n,) + (1,) * adv_nd)
    new_index = (rows,) + tuple(values)
    new_advanced = [0] + [k + 1 for k in advanced]
    return new_index, new_advanced, adv_nd


def _basic_before(index, advanced, nd: int) -> int:
    """Axes of one example's result before its advanced block (adjacent advanced entries)."""
    consumed = sum(1 for i in index if i is not None and i is not Ellipsis)
    count = 0
    for i in index[:advanced[0]]:
        if i is Ellipsis:
            count += nd - consumed
        else:
            count += 1
    return count


def _getitem(prim, vals, batched, kw, trace):
    x, (index, advanced) = vals
    if _any_here(index, trace):
        n = _shape(x)[0]
        new_index, new_advanced, adv_nd = _batched_index(index, advanced, trace, n)
        out = prim(ops.batched_by_index(x, new_index), (new_index, new_advanced))
        before = 0 if ops._front_moves(advanced) else _basic_before(index, advanced,
                                                                     _ndim(x) - 1)
        if before:  # NumPy put the advanced block first; one example has it later
            out = ops.moveaxis(out, tuple(range(1, 1 + adv_nd)),
                               tuple(range(1 + before, 1 + before + adv_nd)))
        return out
    index = (slice(None),) + index
    out = prim(ops.batched_by_index(x, index), (index, [k + 1 for k in advanced]))
    if ops._front_moves(advanced):  # NumPy put the advanced axes first, then the batch
        out = ops.moveaxis(out, ops._adv_ndim(index[1:], advanced), 0)
    return out


def _scatter_add(prim, vals, batched, kw, trace):
    g, (index, advanced), shape, nb = vals
    if _any_here(index, trace):
        n = _shape(g)[0]
        new_index, new_advanced, adv_nd = _batched_index(index, advanced, trace, n)
        before = 0 if ops._front_moves(advanced) else _basic_before(index, advanced,
                                                                     len(shape))
        if nb:  # a Jacobian's basis axes lead, the batch is the first axis of the index
            g = ops.moveaxis(g, 0, nb)
        if before:  # lay g out as the batch's getitem left it
            g = ops.moveaxis(g, tuple(range(nb + 1 + before, nb + 1 + before + adv_nd)),
                             tuple(range(nb + 1, nb + 1 + adv_nd)))
        out = prim(ops.batched_by_index(g, new_index), (new_index, new_advanced),
                   (n,) + tuple(shape), nb)
        return ops.moveaxis(out, nb, 0) if nb else out
    return prim(ops.batched_by_index(g, index), (index, advanced), shape, nb + 1)


def _concatenate(prim, vals, batched, kw):
    axis, arrays = vals[0], vals[1:]
    n = _size(vals, batched)
    nd = _ndim(arrays[0]) - batched[1]
    (ax,) = _negative_axes(axis, nd, "concatenate")
    arrays = [a if b else _with_batch(a, n) for a, b in zip(arrays, batched[1:])]
    return prim(ax, *arrays)


def _axes_rule(prim, vals, batched, kw):
    """``prim(x, axes, ...)`` with ``axes`` one example's (``None``: all of them)."""
    x, axes = vals[0], vals[1]
    return prim(x, _negative_axes(axes, _ndim(x) - 1, prim.__name__), *vals[2:], **kw)


def _roll(prim, vals, batched, kw):
    x, shift, axes = vals
    if axes is None:
        return ops._reshape(prim(_flattened(x), shift, -1), _shape(x))
    return prim(x, shift, _negative_axes(axes, _ndim(x) - 1, "roll"))


def _last_axes(prim, vals, batched, kw):
    """Primitives acting on trailing axes only (``triu``, ``tril``...): as they are."""
    if any(batched[1:]):
        raise GradkitError(f"vmap: {prim.__name__} with a batched parameter is not supported")
    return prim(*vals, **kw)


def _diagonal(prim, vals, batched, kw):
    x, offset, axis1, axis2 = vals
    nd = _ndim(x) - 1
    (a1,) = _negative_axes(axis1, nd, "diagonal")
    (a2,) = _negative_axes(axis2, nd, "diagonal")
    return prim(x, offset, a1, a2)


def _pad(prim, vals, batched, kw):
    x, pad_width, value = vals
    widths = tuple(tuple(p) for p in pad_width)
    if not batched[2]:
        return prim(x, ((0, 0),) + widths, value)
    # One value per example: pad with zeros, then add each example's value on the border
    n, dtype = _shape(value)[0], xp.result_type(plain(x))
    if _ndim(value) != 1:
        raise GradkitError("vmap: pad with batched constant_values takes one value per "
                           f"example, got per-example shape {_shape(value)[1:]}")
    example = _shape(x)[1:] if batched[0] else _shape(x)
    padded = prim(x, ((0, 0),) + widths if batched[0] else widths, 0)
    value = ops._reshape(ops.astype(value, dtype), (n,) + (1,) * len(example))
    return ops.add(padded, ops.multiply(value, ops._border(example, widths, dtype)))


def _windows(prim, vals, batched, kw):
    x, window_shape, axes = vals
    return prim(x, window_shape, _negative_axes(axes, _ndim(x) - 1, "sliding_window_view"))


def _unwindow(prim, vals, batched, kw):
    g, window_shape, axes, xshape = vals
    return prim(g, window_shape, _negative_axes(axes, len(xshape), "sliding_window_view"),
                (_shape(g)[0],) + tuple(xshape))


def _cumprod(prim, vals, batched, kw):
    x, axis = vals
    (ax,) = _negative_axes(axis, _ndim(x) - 1, "cumprod")
    return prim(x, ax)


def _stacked(prim, vals, batched, kw):
    """NumPy's linalg broadcasts over leading axes: the batch is one more of them. Other
    arguments (a cached decomposition, options) pass as they are."""
    if any(batched[1:]):
        raise GradkitError(f"vmap: {prim.__name__} with a batched second argument is not "
                           f"supported yet")
    return prim(*vals, **kw)


def _zeros_of_shape(prim, vals, batched, kw):
    """``prim(x, shape)`` making an array of ``shape`` (one example's) from ``x``."""
    x, shape = vals
    return prim(x, (_shape(x)[0],) + tuple(shape))


def _value_shaped(nd, vals, batched, kw):
    """``nonzero`` and the functions built on it: one result per example, of a length
    that depends on its values."""
    raise GradkitError(f"vmap: {nd.__name__} (and where(condition) alone, extract, "
                       f"compress) gives results whose shape depends on the values, which "
                       f"no batch can hold; use gradkit.numpy.where(condition, x, y) to keep "
                       f"the shape")


def _stacked_constant(nd, vals, batched, kw):
    """``linalg.matrix_rank``: NumPy's takes stacks of matrices, the batch one more axis."""
    if any(batched[1:]):
        raise GradkitError(f"vmap: {nd.__name__} with a batched tolerance is not supported")
    return nd(*vals, **kw), True


def _all_close(nd, vals, batched, kw):
    """``allclose`` and ``array_equal``: one answer per example, from the elementwise test
    over that example's axes (examples of different shapes are never equal)."""
    a, b = _align(vals[:2], batched[:2])
    sa, sb = (_shape(v)[k:] for v, k in zip(vals[:2], batched[:2]))
    rest = dict(zip(("rtol", "atol", "equal_nan"), vals[2:])) | kw
    n = _size(vals, batched)
    if nd.__name__ == "array_equal":
        if sa != sb:
            return xp.zeros(n, bool), True
        same = ops.equal(a, b)
        if rest.get("equal_nan"):
            same = ops.logical_or(same, ops.logical_and(ops.isnan(a), ops.isnan(b)))
    else:
        same = ops.isclose(a, b, **rest)
    nd_ = len(xp.broadcast_shapes(sa, sb))
    return ops.all(same, axis=tuple(range(1, 1 + nd_))) if nd_ else same, True


def _searchsorted(nd, vals, batched, kw):
    """``searchsorted(a, v, side, sorter)``: with ``a`` shared, NumPy's on the whole batch
    of ``v``; with ``a`` batched, each query's count of the elements of its example's ``a``
    before it (NaN sorts last, as in NumPy), one comparison per pair."""
    from .counting import count_nonzero

    args = dict(zip(("side", "sorter"), vals[2:])) | kw
    a, v = vals[0], vals[1]
    side, sorter = args.get("side", "left"), args.get("sorter")
    if not batched[0] and not any(batched[2:]):
        return nd(a, v, **args), True
    n = _size(vals, batched)
    a = a if batched[0] else _with_batch(a, n)
    if sorter is not None:
        a = ops.take_along_axis(a, sorter if any(batched[3:]) else _with_batch(sorter, n), -1)
    vd = _ndim(v) - batched[1]
    q = ops.expand_dims(v if batched[1] else ops.expand_dims(v, 0), -1)
    rows = ops._reshape(a, (n,) + (1,) * vd + _shape(a)[1:])
    if side == "right":
        before = ops.logical_or(ops.less_equal(rows, q), ops.isnan(q))
    else:
        before = ops.logical_or(ops.less(rows, q), ops.logical_and(
            ops.isnan(q), ops.logical_not(ops.isnan(rows))))
    return count_nonzero(before, axis=-1), True


def _solve(prim, vals, batched, kw):
    a, b = vals
    if not batched[0]:
        a = _with_batch(a, _shape(b)[0])
    if not batched[1]:
        b = _with_batch(b, _shape(a)[0])
    nd = max(_ndim(a), _ndim(b)) - 1  # align the stacks of matrices after the batch axis
    (a,) = _align_to(a, nd)
    (b,) = _align_to(b, nd)
    return prim(a, b)


def _lstsq(prim, vals, batched, kw):
    """``linalg.lstsq``'s ``x`` and residuals, read from the cache lstsq computed for the
    whole batch; ``a`` and ``b`` both get the batch, so that in the derivative rules a
    vector ``b`` is still one axis short of ``a``."""
    a, b, cache = vals
    n = _size(vals, batched)
    return prim(a if batched[0] else _with_batch(a, n), b if batched[1] else _with_batch(b, n),
                cache)


_ELEMENTWISE = (
    "negative", "positive", "abs", "sqrt", "cbrt", "exp", "expm1", "exp2", "log", "log1p",
    "log2", "log10", "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh",
    "tanh", "arcsinh", "arccosh", "arctanh", "square", "reciprocal", "relu", "sigmoid",
    "softplus", "add", "subtract", "multiply", "divide", "power", "maximum", "minimum",
    "arctan2", "hypot", "logaddexp", "where", "clip", "astype",
)
_REDUCTIONS = ("sum", "mean", "prod", "max", "min", "logsumexp", "softmax", "log_softmax")
_ALONG_AXIS = ("cumsum",)
_CONSTANT_ELEMENTWISE = (
    "sign", "floor", "ceil", "rint", "trunc", "greater", "greater_equal", "less",
    "less_equal", "equal", "not_equal", "logical_and", "logical_or", "logical_not", "isnan",
    "isinf", "isfinite", "round", "isclose", "bitwise_and", "bitwise_or", "bitwise_xor",
    "invert", "floor_divide",
)


def give_rules(namespace: dict) -> None:
    """Rules for a module of elementwise primitives (``gradkit.scipy``'s, which the core
    does not import): elementwise, except the reductions named as NumPy's."""
    for key, prim in list(namespace.items()):
        if callable(prim) and hasattr(prim, "vjps") and not hasattr(prim, "batch"):
            if key == "_lse_b":  # logsumexp(a, b, axes, ...) with weights b
                prim.batch = _weighted_reduction
            else:
                prim.batch = _reduction if prim.__name__ in _REDUCTIONS else _elementwise


def _primitive(module, name: str):
    """The primitive called ``name`` in ``module`` (the public function may wrap it)."""
    for attr in (f"_{name}", name, f"_a{name}", {"abs": "absolute"}.get(name, "")):
        prim = getattr(module, attr, None)
        if prim is not None and hasattr(prim, "vjps") and prim.__name__ == name:
            return prim
    raise GradkitError(f"vmap: no primitive {name!r} in {module.__name__}")


def _lift(v, n: int, lead: int, tail: int):
    """A per-example operand of ``tail`` axes as (batch, 1 x lead, its axes): aligned with
    an input whose examples carry ``lead`` leading axes (a Jacobian's basis)."""
    s = _shape(v)
    return ops._reshape(v, (n,) + (1,) * lead + s[len(s) - tail:])


def _conv(prim, vals, batched, kw):
    """The convolution's forward carries leading axes itself; per-example weights or bias
    go through its im2col form, one batched matrix product."""
    from .nn import functional

    x, w, b, kh, kwd = vals
    if not (batched[1] or batched[2]):
        return prim(*vals)
    n = _size(vals, batched)
    x = x if batched[0] else _with_batch(x, n)
    lead = _ndim(x) - 5
    out = ops.matmul(functional._im2col(x, kh, kwd),
                     _lift(w, n, lead, 2) if batched[1] else w)
    if b is None:
        return out
    return ops.add(out, _lift(ops._reshape(b, _shape(b)[:-1] + (1, _shape(b)[-1])), n, lead, 2)
                   if batched[2] else b)


def _conv_input_grad(prim, vals, batched, kw):
    """The transposed convolution: with per-example weights, one kernel offset at a time
    (a loop over the kernel, not the batch), each a batched product padded into place."""
    g, w, kh, kwd, xshape = vals
    if not batched[1]:
        return prim(*vals)
    n = _size(vals, batched)
    g = g if batched[0] else _with_batch(g, n)
    lead = _ndim(g) - 3
    h, wd, c = xshape[-3:]
    ho, wo = h - kh + 1, wd - kwd + 1
    g4 = ops._reshape(g, _shape(g)[:-2] + (-1, ho, wo, _shape(g)[-1]))
    w = _lift(w, n, lead + 2, 2)  # against g4's (..., N, H', W', F)
    out = None
    for a in range(kh):
        for bb in range(kwd):
            k = (a * kwd + bb) * c
            part = ops.matmul(g4, ops.swapaxes(w[..., k:k + c, :], -1, -2))
            pads = ((0, 0),) * (_ndim(part) - 3) + ((a, kh - 1 - a), (bb, kwd - 1 - bb), (0, 0))
            part = ops.pad(part, pads)
            out = part if out is None else ops.add(out, part)
    return out


# Rules that need to know which vmap they serve: the index holds other vmaps' boxes too.
_WANT_TRACE = {_getitem, _scatter_add}


def _install() -> None:
    """Attach the rules to gradkit's primitives (``prim.batch``)."""
    from . import elementwise, nn  # noqa: F401  (their primitives get rules too)
    from .nn import functional

    table: dict[Callable, Callable] = {}
    for names, rule in ((_ELEMENTWISE, _elementwise), (_REDUCTIONS, _reduction),
                        (_ALONG_AXIS, _along_axis)):
        for name in names:
            table[_primitive(ops, name)] = rule
    table[ops.multiply] = _multiply
    table.update({ops._reshape: _reshape, ops._transpose: _transpose,
                  ops._broadcast_to: _broadcast_to, ops.matmul: _matmul,
                  ops.matmul_add: _matmul_add, ops._einsum: _einsum,
                  ops._getitem: _getitem, ops._scatter_add: _scatter_add,
                  ops._concat: _concatenate, ops._flip: _axes_rule, ops._roll: _roll,
                  ops._triu: _last_axes, ops._tril: _last_axes, ops._diagonal: _diagonal,
                  ops._outer: _elementwise, ops._log_softmax_vjp: _log_softmax_vjp})
    from . import linalg, statistics

    table.update({ops._pad_constant: _pad, ops._diag_embed: _last_axes,
                  ops._windows: _windows, ops._unwindow: _unwindow,
                  statistics._cumprod: _cumprod, linalg._solve: _solve,
                  linalg._undefined: _zeros_of_shape, linalg._lstsq_x: _lstsq,
                  linalg._lstsq_res: _lstsq})
    for name in ("inv", "det", "_logabsdet", "_cofactors", "_cholesky", "_eigh_w", "_eigh_v",
                 "_eigvalsh", "_svd_u", "_svd_s", "_svd_vh", "_svdvals", "_qr_q", "_qr_r",
                 "_pinv"):
        table[getattr(linalg, name)] = _stacked
    for name in ("sinc", "imag", "angle", "nan_to_num", "remainder", "fmod", "fmax", "fmin",
                 "float_power", "logaddexp2", "heaviside", "deg2rad", "rad2deg", "radians",
                 "degrees", "fabs"):
        table[getattr(elementwise, f"_{name}")] = _elementwise
    table[linalg._norm2] = _reduction
    table[linalg._unit] = _reduction
    table[functional._conv] = _conv
    table[functional._conv_input_grad] = _conv_input_grad
    for name in ("leaky_relu",):
        prim = getattr(functional, f"_{name}", None)
        if prim is not None:
            table[prim] = _elementwise
    for prim in vars(elementwise).values():
        if callable(prim) and hasattr(prim, "vjps") and getattr(prim, "ufunc", False):
            table[prim] = _elementwise
    for prim, rule in table.items():
        prim.batch = rule
    for name in _CONSTANT_ELEMENTWISE:
        getattr(ops, name).batch = _elementwise_constant
    for name in ("any", "all"):
        getattr(ops, name).batch = _reduction_constant
    for name in ("argmax", "argmin"):
        getattr(ops, name).batch = _along_axis_constant
    ops.argsort.batch = _along_last_axis_constant
    for name in ("shape", "ndim", "size", "zeros_like", "ones_like"):
        getattr(ops, name).batch = _per_example_meta
    from . import counting, shaping

    shaping.empty_like.batch = _per_example_meta
    counting.count_nonzero.batch = _reduction_constant
    counting._searchsorted.batch = _searchsorted
    for nd in (ops.nonzero, counting.flatnonzero, counting.argwhere):
        nd.batch = _value_shaped
    ops.allclose.batch = _all_close
    ops.array_equal.batch = _all_close
    linalg.matrix_rank.batch = _stacked_constant


# -- vmap -------------------------------------------------------------------------------


def _prefix(axes, tree, where: str) -> list:
    """``axes`` (an int, None, or a pytree prefix of ``tree``) for each leaf of ``tree``."""
    if axes is None or isinstance(axes, int):
        if type(tree) is xp.ndarray or type(tree) is Tensor:  # a leaf: nothing to flatten
            return [axes]
        return [axes] * len(tree_flatten(tree)[0])
    if isinstance(axes, list | tuple) and isinstance(tree, list | tuple) and \
            len(axes) == len(tree):
        return [a for sub_a, sub_t in zip(axes, tree) for a in _prefix(sub_a, sub_t, where)]
    if isinstance(axes, dict) and isinstance(tree, dict) and set(axes) == set(tree):
        return [a for k in tree for a in _prefix(axes[k], tree[k], where)]
    whose = "outputs'" if where == "out_axes" else "arguments'"
    lengths = ""
    if isinstance(axes, list | tuple) and isinstance(tree, list | tuple):
        lengths = f" ({len(axes)} entries for {len(tree)} items)"
    raise ShapeMismatchError(f"vmap: {where} must be an int, None, or a prefix of the "
                             f"{whose} structure, got {axes!r}{lengths}")


def _check_axes(axes, where: str) -> None:
    if isinstance(axes, list | tuple):
        for a in axes:
            _check_axes(a, where)
    elif isinstance(axes, dict):
        for a in axes.values():
            _check_axes(a, where)
    elif axes is not None and (not isinstance(axes, int) or isinstance(axes, bool)):
        raise GradkitError(f"vmap: {where} entries must be ints or None, got {axes!r}")


def vmap(fun: Callable, in_axes: Any = 0, out_axes: Any = 0,
         axis_size: int | None = None) -> Callable:
    """Map ``fun`` over a batch axis of its arguments, in one call (as ``jax.vmap``).

    Parameters
    ----------
    fun : callable
        A function of one example, written with ``gradkit.numpy``.
    in_axes : int, None or pytree, default 0
        For each argument, the axis holding the batch (``None``: not batched, the same
        value for every example); a pytree prefix of the arguments.
    out_axes : int, None or pytree, default 0
        Where the batch axis goes in each output (``None``: an output that does not depend
        on the batch).
    axis_size : int, optional
        The batch size, needed only when no argument is batched.

    Returns
    -------
    callable
        ``fun`` mapped over the batch. It composes with ``grad``, ``jvp``, ``vjp``,
        ``jacobian``, ``hessian`` and itself: ``vmap(grad(loss), in_axes=(None, 0, 0))``
        gives per-example gradients.

    Examples
    --------
    >>> import numpy as np
    >>> import gradkit as gk, gradkit.numpy as gnp
    >>> w = np.array([1.0, 2.0])
    >>> xs = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> gk.vmap(lambda w, x: gnp.dot(w, x) ** 2, in_axes=(None, 0))(w, xs)
    array([1., 4., 9.])
    >>> gk.vmap(gk.grad(lambda w, x: gnp.dot(w, x) ** 2), in_axes=(None, 0))(w, xs)
    array([[2., 0.],
           [0., 4.],
           [6., 6.]])
    """
    if not callable(fun):
        raise GradkitError(f"vmap: expected a function, got {type(fun).__name__}")
    _check_axes(in_axes, "in_axes")
    _check_axes(out_axes, "out_axes")
    if axis_size is not None and (not isinstance(axis_size, int | xp.integer) or
                                  isinstance(axis_size, bool) or axis_size < 0):
        raise GradkitError(f"vmap: axis_size must be a non-negative int, got {axis_size!r}")
    name = getattr(fun, "__name__", "function")

    def batched(*args, **kwargs):
        axes = _prefix(tuple(in_axes) if isinstance(in_axes, list) else in_axes, args,
                       "in_axes")
        positional = len(axes)
        leaves, tree = tree_flatten((args, kwargs))
        if kwargs:  # as jax.vmap: keyword arguments are mapped over their axis 0
            axes = axes + [0] * (len(leaves) - positional)
        sizes = set()
        moved = []
        for k, (leaf, ax) in enumerate(zip(leaves, axes)):
            if ax is None:
                moved.append(None)
                continue
            s = _shape(leaf)
            if not -len(s) <= ax < len(s):
                if k >= positional:
                    raise ShapeMismatchError(
                        f"vmap of {name}: keyword arguments are mapped over their axis 0 "
                        f"(as in jax.vmap), but one has shape {s}; pass it positionally, "
                        f"with in_axes None for it")
                raise ShapeMismatchError(f"vmap of {name}: in_axes {ax} is out of bounds for "
                                         f"an argument of shape {s}")
            sizes.add(s[ax])
            moved.append(ax % len(s))
        if len(sizes) > 1:
            raise ShapeMismatchError(f"vmap of {name}: the batched arguments have different "
                                     f"batch sizes {sorted(sizes)}")
        n = sizes.pop() if sizes else axis_size
        if n is None:
            raise GradkitError(f"vmap of {name}: no argument is batched; give axis_size")
        if axis_size is not None and axis_size != n:
            raise ShapeMismatchError(f"vmap of {name}: axis_size={axis_size} but the batch "
                                     f"has {n}")
        trace = new_trace()
        boxed = []
        for leaf, ax in zip(leaves, moved):
            if ax is None:
                boxed.append(leaf)
                continue
            if not isinstance(leaf, Tensor):
                leaf = array_of(leaf)
                value = leaf if ax == 0 else xp.moveaxis(leaf, ax, 0)
            else:
                value = leaf if ax == 0 else ops.moveaxis(leaf, ax, 0)
            boxed.append(_batch_box(value, trace))
        args, kwargs = tree_unflatten(tree, boxed)
        out = fun(*args, **kwargs)
        outs, out_tree = tree_flatten(out)
        o_axes = [out_axes] * len(outs) if out_axes is None or isinstance(out_axes, int) \
            else _prefix(out_axes, out, "out_axes")
        result = []
        for k, (o, ax) in enumerate(zip(outs, o_axes)):
            batched_out = type(o) is Tensor and o._trace == trace
            if type(o) is Tensor and o._trace > trace:
                raise GradkitError(f"vmap of {name}: an output belongs to a transform "
                                   f"started inside the function and never finished")
            if ax is None:
                if batched_out:
                    which = f"output {k} (of {len(outs)}, flattened)" if len(outs) > 1 \
                        else "an output"
                    raise GradkitError(f"vmap of {name}: out_axes None for {which}, which "
                                       f"depends on the batch")
                result.append(o)
                continue
            value = o._value if batched_out else _with_batch(o, n)
            if not isinstance(value, Tensor) and type(o) is not Tensor:
                value = raw(value)
            nd = len(value.shape) if type(value) is xp.ndarray else _ndim(value)
            if not -nd <= ax < nd:
                raise ShapeMismatchError(f"vmap of {name}: out_axes {ax} is out of bounds "
                                         f"for an output of {nd} axes")
            result.append(value if ax % nd == 0 else ops.moveaxis(value, 0, ax))
        return tree_unflatten(out_tree, result)

    batched.__name__ = f"vmap({name})"
    batched.__doc__ = getattr(fun, "__doc__", None)
    return batched


_install()
graph._batching = sys.modules[__name__]
