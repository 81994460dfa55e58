"""Operators and methods of :class:`~gradkit.Tensor`, and NumPy's dispatch to gradkit.

Every method is a gradkit operation from :mod:`gradkit.ops`, so a Tensor method and
the matching ``gradkit.numpy`` function are one definition. ``__array_ufunc__`` and
``__array_function__`` route plain NumPy calls on Tensors (``numpy.sin(t)``,
``numpy.sum(t)``) to the same operations instead of silently dropping the gradient.
"""

from __future__ import annotations

import functools

from . import elementwise, graph, linalg, ops, statistics
from .errors import GradkitError
from .graph import Tensor, holds_batch, raw


def _swapped(f):
    def method(self, other):
        return f(other, self)

    method.__name__ = f"__r{f.__name__}__"
    return method


def _setitem(self, index, value):
    raise GradkitError(
        "Tensor does not support item assignment (it would break the recorded graph); "
        "build the new array with gradkit.numpy.where, concatenate or pad instead"
    )


def _transpose(self, *axes):
    if len(axes) == 1 and isinstance(axes[0], tuple | list):
        axes = axes[0]
    return ops.transpose(self, axes or None)


def _reshape(self, *shape):
    return ops.reshape(self, shape[0] if len(shape) == 1 else shape)


_BINARY = {
    "add": ops.add, "sub": ops.subtract, "mul": ops.multiply, "truediv": ops.divide,
    "pow": ops.power, "matmul": ops.matmul, "mod": elementwise.remainder,
}
for _name, _f in _BINARY.items():
    setattr(Tensor, f"__{_name}__", _f)
    setattr(Tensor, f"__r{_name}__", _swapped(_f))

for _name, _f in {
    "lt": ops.less, "le": ops.less_equal, "gt": ops.greater, "ge": ops.greater_equal,
    "eq": ops.equal, "ne": ops.not_equal, "neg": ops.negative, "pos": ops.positive,
    "abs": ops.absolute, "getitem": ops.getitem,
}.items():
    setattr(Tensor, f"__{_name}__", _f)
for _name, _f in {"and": ops.bitwise_and, "or": ops.bitwise_or, "xor": ops.bitwise_xor,
                  "floordiv": ops.floor_divide}.items():  # masks: no derivative
    setattr(Tensor, f"__{_name}__", _f)
    setattr(Tensor, f"__r{_name}__", _swapped(_f))


def _in_place(f, symbol: str):
    """``p += v`` on a leaf that requires grad: under ``no_grad`` (an optimiser's step
    written by hand) the leaf itself changes, as in PyTorch; while recording, refused (it
    would rebind the name and leave the parameter as it was). Any other tensor: a new one,
    the name rebound."""
    def method(self, other):
        if self._prim is None and self._trace == graph.EAGER:
            if graph._grad_enabled:
                raise GradkitError(
                    f"Tensor {symbol}=: a leaf tensor that requires grad cannot change in "
                    f"place while operations are recorded; update it under "
                    f"`with gradkit.no_grad():`, or write `x = x {symbol} ...` for a new "
                    f"tensor")
            self.data = raw(f(self, other))
            return self
        return f(self, other)

    method.__name__ = f"__i{f.__name__}__"
    return method


for _name, _symbol in (("add", "+"), ("sub", "-"), ("mul", "*"), ("truediv", "/"),
                       ("pow", "**"), ("matmul", "@"), ("mod", "%")):
    setattr(Tensor, f"__i{_name}__", _in_place(_BINARY[_name], _symbol))
Tensor.__invert__ = ops.invert
Tensor.__hash__ = lambda self: id(self)  # __eq__ is elementwise, identity hashes
Tensor.__setitem__ = _setitem

for _name in ("sum", "mean", "prod", "max", "min", "var", "std", "cumsum", "clip", "dot",
              "exp", "log", "sqrt", "sin", "cos", "tan", "tanh", "sigmoid", "relu",
              "softplus", "squeeze", "ravel", "swapaxes", "astype", "argmax", "argmin",
              "argsort", "diagonal", "trace", "round", "take", "repeat", "flip"):
    setattr(Tensor, _name, getattr(ops, _name))
for _name in ("any", "all", "nonzero"):
    setattr(Tensor, _name, getattr(ops, _name))
for _name in ("cumprod", "ptp"):
    setattr(Tensor, _name, getattr(statistics, _name))
for _name in ("conj", "conjugate"):
    setattr(Tensor, _name, getattr(elementwise, _name))
Tensor.abs = ops.absolute
Tensor.astype = lambda self, dtype, copy=True: ops.astype(self, dtype)  # always a new node
Tensor.copy = ops.positive  # a new node with the same value: gradients flow through it
Tensor.clone = ops.positive
Tensor.flatten = ops.ravel
Tensor.reshape = _reshape
Tensor.view = _reshape
Tensor.transpose = _transpose
Tensor.T = property(lambda self: ops.transpose(self))
Tensor.mT = property(lambda self: ops.swapaxes(self, -1, -2))
Tensor.norm = linalg.norm


# NumPy ufuncs whose gradkit operation has another name; the rest share NumPy's name.
_UFUNC_ALIASES = {"true_divide": "divide", "fabs": "absolute", "conjugate": "conj"}


@functools.cache
def _gnp():
    from . import numpy as gnp  # imported on first use: it imports this module

    return gnp


def _constant(a) -> bool:
    return type(a) is not Tensor or a._trace == graph.CONST


def _array_ufunc(self, ufunc, method, *inputs, **kwargs):
    name = _UFUNC_ALIASES.get(ufunc.__name__, ufunc.__name__)
    f = _gnp().__dict__.get(name)
    if method != "__call__" or f is None or not callable(f) or kwargs:
        if all(_constant(a) for a in inputs + tuple(kwargs.get("out", ()))):
            # constants only (a .grad, a detached value): NumPy's own, nothing to record
            out = kwargs.get("out")
            kw = kwargs if out is None else {**kwargs, "out": tuple(raw(o) for o in out)}
            return getattr(ufunc, method)(*[raw(a) for a in inputs], **kw)
        raise GradkitError(
            f"numpy.{ufunc.__name__}{'' if method == '__call__' else '.' + method} has no "
            f"gradkit derivative rule for Tensors (keyword arguments such as out= are not "
            f"supported); use the functions of gradkit.numpy"
        )
    return f(*inputs)


# NumPy's submodules whose functions gradkit.numpy (or its linalg) mirrors.
_NAMESPACES = {"numpy": "", "numpy.lib.stride_tricks": "", "numpy.linalg": "linalg"}


def _array_function(self, func, types, args, kwargs):
    gnp = _gnp()
    sub = _NAMESPACES.get(getattr(func, "__module__", ""))
    namespace = None if sub is None else (gnp.linalg if sub else gnp)
    f = None if namespace is None else vars(namespace).get(func.__name__)
    if f is None or func.__name__.startswith("_") or not callable(f):
        raise GradkitError(
            f"{getattr(func, '__module__', 'numpy')}.{func.__name__} has no gradkit "
            f"derivative rule; call it on tensor.detach() for a constant, or build it from "
            f"gradkit.numpy operations"
        )
    if func in _ACTIVE and any(holds_batch(a) for a in args):
        # gradkit's version handed a batched value back to NumPy's
        raise GradkitError(f"vmap: numpy.{func.__name__} has no batching rule (gradkit "
                           f"computes it with NumPy on one array)")
    _ACTIVE.add(func)
    try:
        return f(*args, **kwargs)
    finally:
        _ACTIVE.discard(func)


_ACTIVE: set = set()


Tensor.__array_ufunc__ = _array_ufunc
Tensor.__array_function__ = _array_function
__all__ = ["raw"]
