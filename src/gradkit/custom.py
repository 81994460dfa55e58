"""User-defined derivative rules: ``custom_vjp`` and ``stop_gradient``."""

from __future__ import annotations

import functools
from collections.abc import Callable

from . import ops
from .backend import xp
from .errors import GradkitError, ShapeMismatchError
from .graph import CONST, EAGER, Tensor, _box, raw
from .tree import tree_map

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
    tuple with one cotangent per positional argument (``None`` for none). Arguments
    are arrays; the output is one array. Write ``bwd`` with ``gradkit.numpy`` so that
    higher derivatives flow through it.

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
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.fwd: Callable | None = None
        self.bwd: Callable | None = None
        self.__name__ = getattr(fun, "__name__", "custom_vjp")
        self.vjps = ()

    def defvjp(self, fwd: Callable, bwd: Callable) -> None:
        self.fwd = fwd
        self.bwd = bwd

    def __call__(self, *args):
        top = CONST
        for a in args:
            if type(a) is Tensor and a._trace > top:
                top = a._trace
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
        out, res = self.fwd(*unboxed)
        if nested:
            out = self(*unboxed)
        return _box(out, top, self, parents, (res,), {})

    def joint(self, g, node):
        res = node._args[0]
        nb = len(ops._shape(g)) - len(ops._shape(node._value))
        if nb == 0:
            cts = self._bwd(res, g)
        else:
            # A user's bwd need not know about batch axes: run it per basis vector.
            lead = ops._shape(g)[:nb]
            flat = ops.reshape(g, (-1,) + ops._shape(g)[nb:])
            per = [self._bwd(res, ops.getitem(flat, k)) for k in range(ops._shape(flat)[0])]
            cts = tuple(ops.reshape(ops.stack([p[i] for p in per]), lead + ops._shape(per[0][i]))
                        for i in range(len(per[0])))
        out = []
        batch = ops._shape(g)[:nb]
        for i, p in node._parents:
            ct = cts[i]
            if ct is None:
                ct = xp.zeros(batch + p.shape, dtype=p.dtype)
            elif ops._shape(ct) != batch + p.shape:
                raise ShapeMismatchError(
                    f"custom_vjp {self.__name__}: bwd returned a cotangent of shape "
                    f"{ops._shape(ct)[nb:]} for argument {i}, which has shape {p.shape}")
            out.append(ct)
        return out

    def _bwd(self, res, g):
        cts = self.bwd(res, g)
        if not isinstance(cts, tuple):
            raise GradkitError(f"custom_vjp {self.__name__}: bwd must return a tuple with one "
                               f"cotangent per argument, got {type(cts).__name__}")
        return cts
