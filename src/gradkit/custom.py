"""User-defined derivative rules: ``custom_vjp`` and ``stop_gradient``."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable

from . import ops
from ._rules import _dtype, _shape
from .backend import xp
from .errors import GradkitError, ShapeMismatchError
from .graph import BATCHED, CONST, EAGER, Tensor, _box, carries_derivative, raw
from .tree import _LEAF, tree_flatten, tree_map, tree_unflatten

__all__ = ["custom_vjp", "stop_gradient"]


def stop_gradient(x):
    """The value of ``x`` as a constant: no derivative flows through it, at any order.

    Examples
    --------
    >>> import gradkit as gk
    >>> gk.grad(lambda x: x * gk.stop_gradient(x))(3.0)
    np.float64(3.0)
    """
    return tree_map(raw, x)


class custom_vjp:
    """Give a function a hand-written vector-Jacobian rule (as ``jax.custom_vjp``).

    ``fwd(*args)`` returns ``(output, residuals)``; ``bwd(residuals, g)`` returns a
    tuple with one cotangent per positional argument (``None`` for a zero one). The
    output may be one array or a pytree of arrays (a tuple, list or dict); ``g`` then
    has the same structure. Keyword arguments are bound to their positions by the
    function's signature, as JAX does (keyword-only parameters are refused). Write
    ``bwd`` with ``gradkit.numpy`` so that higher derivatives flow through it.

    Examples
    --------
    >>> import gradkit as gk, gradkit.numpy as gnp
    >>> @gk.custom_vjp
    ... def clip_gradient(x):
    ...     return x
    >>> def fwd(x):
    ...     return x, None
    >>> def bwd(res, g):
    ...     return (gnp.clip(g, -1.0, 1.0),)
    >>> clip_gradient.defvjp(fwd, bwd)
    >>> gk.grad(lambda x: 5.0 * clip_gradient(x))(2.0)
    np.float64(1.0)
    """

    def __init__(self, fun: Callable):
        if not callable(fun):
            raise GradkitError(f"custom_vjp: expected a function, got {type(fun).__name__}")
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.fwd: Callable | None = None
        self.bwd: Callable | None = None
        self.__name__ = getattr(fun, "__name__", "custom_vjp")
        self.vjps = ()
        try:
            self._signature = inspect.signature(fun)
        except (TypeError, ValueError):  # a builtin without a signature: positional only
            self._signature = None
        self._npos = 0 if self._signature is None else sum(
            p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
            for p in self._signature.parameters.values())

    def defvjp(self, fwd: Callable, bwd: Callable) -> None:
        if not callable(fwd) or not callable(bwd):
            raise GradkitError(f"custom_vjp {self.__name__}: defvjp(fwd, bwd) needs two "
                               f"functions")
        self.fwd = fwd
        self.bwd = bwd

    def _positional(self, args: tuple, kwargs: dict) -> tuple:
        """Keyword arguments moved to their positions (the rule is per position)."""
        if self._signature is None:
            raise GradkitError(f"custom_vjp {self.__name__}: keyword arguments need a "
                               f"function with a signature")
        try:
            bound = self._signature.bind(*args, **kwargs)
        except TypeError as e:
            raise GradkitError(f"custom_vjp {self.__name__}: {e}") from None
        bound.apply_defaults()
        if bound.kwargs:
            raise GradkitError(f"custom_vjp {self.__name__}: keyword-only arguments "
                               f"({', '.join(bound.kwargs)}) are not supported; make them "
                               f"positional")
        return bound.args

    def __call__(self, *args, **kwargs):
        if kwargs or len(args) < self._npos:  # keywords or defaults to bind
            args = self._positional(args, kwargs)
        top = CONST
        box = None
        for a in args:
            if type(a) is Tensor and a._trace > top:
                top = a._trace
                box = a
        if box is not None and box._prim is BATCHED:
            if any(carries_derivative(a) for a in args):
                return self._batched(args, top)
            return self.fun(*args)  # no derivative taken below the batch: the value alone
        if top <= EAGER and top != EAGER or self.fwd is None:
            if self.fwd is None and top != CONST:
                raise GradkitError(f"custom_vjp {self.__name__}: call .defvjp(fwd, bwd) "
                                   f"before differentiating it")
            return self.fun(*args)
        unboxed = [a._value if type(a) is Tensor and a._trace == top else a for a in args]
        parents = tuple((i, a) for i, a in enumerate(args)
                        if type(a) is Tensor and a._trace == top)
        nested = any(type(u) is Tensor and u._trace > CONST for u in unboxed)
        # Nested traces below this one record this function as custom too (the value
        # by recursion); the residuals come from fwd at this level.
        fwd_out = self.fwd(*unboxed)
        if not (isinstance(fwd_out, tuple) and len(fwd_out) == 2):
            raise GradkitError(f"custom_vjp {self.__name__}: fwd must return a pair "
                               f"(output, residuals), got {type(fwd_out).__name__}")
        out, res = fwd_out
        if nested:
            out = self(*unboxed)
        leaves, out_def = tree_flatten(out)
        if out_def == _LEAF:
            return _box(out, top, self, parents, (res, None), {})
        # Several outputs: one node runs bwd; each output is a node that hands its
        # cotangent to it, in its slot.
        shapes = [(_shape(o), _dtype(o)) for o in leaves]
        node = _box(None, top, self, parents, (res, (out_def, shapes)), {})
        outs = [_box(o, top, _Slot(k, len(leaves), self.__name__), ((0, node),), (), {})
                for k, o in enumerate(leaves)]
        return tree_unflatten(out_def, outs)

    def _batched(self, args, top: int):
        """This function on the batch of vmap ``top``, differentiated by traces below it
        (``grad(vmap(f))``): a custom_vjp of the whole batch whose fwd and bwd are vmaps of
        the user's, so the user's rule still gives the derivative."""
        from .batching import _batch_box, vmap  # it imports this module

        if self.fwd is None:
            raise GradkitError(f"custom_vjp {self.__name__}: call .defvjp(fwd, bwd) before "
                               f"differentiating it")
        axes = tuple(0 if type(a) is Tensor and a._trace == top else None for a in args)

        def bwd(res, g):
            cts = vmap(self.bwd)(res, g)
            if not isinstance(cts, tuple):
                raise GradkitError(f"custom_vjp {self.__name__}: bwd must return a tuple with "
                                   f"one cotangent per argument, got {type(cts).__name__}")
            # An argument shared by the batch gets the sum of the examples' cotangents.
            return tuple(ct if ct is None or ax == 0 else ops.sum(ct, axis=0)
                         for ct, ax in zip(cts, axes))

        whole = custom_vjp(vmap(self.fun, in_axes=axes))
        whole.__name__ = self.__name__
        whole.defvjp(vmap(self.fwd, in_axes=axes), bwd)
        out = whole(*[a._value if ax == 0 else a for a, ax in zip(args, axes)])
        return tree_map(lambda o: _batch_box(o, top), out)

    def joint(self, g, node):
        res, multi = node._args
        if multi is None:
            nb = len(_shape(g)) - len(_shape(node._value))
            batch = _shape(g)[:nb]
            cts = self._batched_bwd(res, g, nb, lambda ct: ct)
        else:
            out_def, shapes = multi
            batch, parts = g.fill(shapes)
            nb = len(batch)
            cts = self._batched_bwd(res, parts, nb, lambda ps: tree_unflatten(out_def, ps))
        out = []
        for i, p in node._parents:
            ct = cts[i]
            if ct is None:
                ct = xp.zeros(batch + p.shape, dtype=p.dtype)
            elif _shape(ct) != batch + p.shape:
                raise ShapeMismatchError(
                    f"custom_vjp {self.__name__}: bwd returned a cotangent of shape "
                    f"{_shape(ct)[nb:]} for argument {i}, which has shape {p.shape}")
            out.append(ct)
        return out

    def _batched_bwd(self, res, g, nb: int, pack):
        """bwd on the cotangent ``g`` (an array, or a list of per-output arrays that
        ``pack`` turns into the output's structure), one basis vector at a time when
        it carries ``nb`` batch axes: a user's bwd need not know about them."""
        if nb == 0:
            return self._bwd(res, pack(g))
        parts = g if isinstance(g, list) else [g]
        lead = _shape(parts[0])[:nb]
        flat = [ops.reshape(p, (-1,) + _shape(p)[nb:]) for p in parts]
        n = _shape(flat[0])[0]
        per = []
        for k in range(n):
            rows = [ops.getitem(f, k) for f in flat]
            per.append(self._bwd(res, pack(rows if isinstance(g, list) else rows[0])))
        return tuple(None if per[0][i] is None else
                     ops.reshape(ops.stack([p[i] for p in per]), lead + _shape(per[0][i]))
                     for i in range(len(per[0])))

    def _bwd(self, res, g):
        cts = self.bwd(res, g)
        if not isinstance(cts, tuple):
            raise GradkitError(f"custom_vjp {self.__name__}: bwd must return a tuple with one "
                               f"cotangent per argument, got {type(cts).__name__}")
        return cts


class _Slot:
    """The rule of one output of a multi-output custom_vjp: its cotangent, in its slot."""

    vjps = ()

    def __init__(self, k: int, n: int, name: str):
        self.k, self.n = k, n
        self.__name__ = f"{name} (output {k})"

    def joint(self, g, node):
        return [_Cotangents(self.n, {self.k: g})]


class _Cotangents:
    """Cotangents of some outputs of a multi-output node; ``+`` merges them."""

    def __init__(self, n: int, parts: dict):
        self.n, self.parts = n, parts

    def __add__(self, other):
        merged = dict(self.parts)
        for k, v in other.parts.items():
            merged[k] = merged[k] + v if k in merged else v
        return _Cotangents(self.n, merged)

    def fill(self, shapes):
        """(batch shape, one cotangent per output, zeros for outputs that got none)."""
        k, v = next(iter(self.parts.items()))
        batch = _shape(v)[:len(_shape(v)) - len(shapes[k][0])]
        return batch, [self.parts[i] if i in self.parts else
                       xp.zeros(batch + shapes[i][0], dtype=shapes[i][1])
                       for i in range(self.n)]
