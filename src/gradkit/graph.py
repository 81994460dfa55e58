"""The traced value and the machinery that records primitives and replays them backwards.

A :class:`Tensor` is both what a PyTorch-style user holds (``requires_grad``,
``.backward()``, ``.grad``) and the box that the functional transforms (``grad``,
``vjp``...) wrap their inputs in. Each box belongs to a *trace*, an integer:

* ``CONST`` (-1): a constant, recorded by nobody;
* ``EAGER`` (0): the PyTorch-style graph of tensors created with ``requires_grad=True``;
* 1, 2, 3...: one per functional transform call, numbered in the order they start,
  so an inner (nested) transform always has a higher number than the ones around it.

A primitive applied to boxes of several traces records itself in the highest one
only, and computes its value by applying itself again to the unboxed arguments,
which may still be boxes of lower traces. That recursion is what makes derivatives
of any order work without perturbation confusion: an inner transform sees the
boxes of outer ones as constants, and its derivative rules, written with gradkit
operations, are themselves recorded by the outer traces.
"""

from __future__ import annotations

import itertools
from contextlib import contextmanager
from operator import attrgetter
from typing import Any

from .backend import (
    NUMPY_ROUTE,
    array_of,
    dtype_of,
    is_foreign,
    library_of,
    namespace,
    one_library,
    standard_only,
    xp,
)
from .errors import ConversionError, GradkitError, NaNError, OpError

__all__ = ["Tensor", "tensor", "no_grad", "enable_grad", "debug_nans", "defprimitive",
           "nondifferentiable", "raw", "plain", "rebatch", "holds_batch", "carries_derivative",
           "batch_traces"]

CONST = -1
EAGER = 0


class _Batched:
    """The ``_prim`` of a box of a ``vmap`` trace: its value carries the batch on axis 0."""

    __name__ = "vmap"

    def __repr__(self) -> str:
        return "BATCHED"


BATCHED = _Batched()
# gradkit.batching, set when it is imported: it imports this module, and a batched box
# exists only once it has been.
_batching: Any = None
_trace_ids = itertools.count(1)

# Module globals rather than attributes of an object: they are read on the hot path.
_grad_enabled = True
_debug_nans = False
_hooked = 0  # hooks registered on eager tensors; the backward pass looks for none otherwise


def new_trace() -> int:
    """A fresh trace number, higher than every trace started before it."""
    return next(_trace_ids)


class Tensor:
    """An array that records the operations applied to it, for differentiation.

    Parameters
    ----------
    data : array_like
        The value. It is converted with ``numpy.asarray``.
    requires_grad : bool, default False
        Record operations on this tensor so that ``.backward()`` can fill ``.grad``.
        Only floating-point tensors can require gradients.
    dtype : data-type, optional
        The dtype to convert ``data`` to.

    Examples
    --------
    >>> import gradkit as gk
    >>> x = gk.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> y = (x ** 2).sum()
    >>> y.backward()
    >>> x.grad
    Tensor([2., 4., 6.])
    """

    __slots__ = ("_value", "_trace", "_prim", "_parents", "_args", "_kw", "_grad", "_seq",
                 "_hooks", "__weakref__")
    # NumPy defers binary operators and ufuncs to us (see __array_ufunc__).
    __array_priority__ = 1000

    def __init__(self, data, requires_grad: bool = False, dtype=None):
        if type(data) is Tensor and holds_batch(data):
            raise ConversionError("gradkit.tensor() of a batched value inside gradkit.vmap "
                                  "would mix the examples of the batch; use the value as it is")
        value = array_of(raw(data), dtype=dtype)
        if requires_grad and not xp.issubdtype(value.dtype, xp.inexact):
            raise GradkitError(
                f"Tensor(requires_grad=True): only floating-point tensors can require "
                f"gradients, got dtype {value.dtype}"
            )
        self._value = value
        self._trace = EAGER if requires_grad else CONST
        self._prim = None
        self._parents = ()
        self._args = ()
        self._kw = _EMPTY
        self._grad = None
        self._seq = next(_creation)

    # -- basic properties -------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        # Inside vmap a batched value shows one example's shape, as in JAX: one axis fewer
        # for each batch box around the array. A loop, not a property call per box, and
        # an ndarray's own shape, not numpy.shape (two Python calls): rules ask often.
        drop = 0
        v = self
        while type(v) is Tensor:
            if v._prim is BATCHED:
                drop += 1
            v = v._value
        shape = v.shape if type(v) is xp.ndarray else xp.shape(v)
        return shape[drop:] if drop else shape

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(xp.prod(self.shape, dtype=xp.int64))

    @property
    def dtype(self):
        v = self._value
        while type(v) is Tensor:
            v = v._value
        return dtype_of(v)

    @property
    def requires_grad(self) -> bool:
        return self._trace >= EAGER

    @property
    def is_leaf(self) -> bool:
        return self._prim is None

    @property
    def data(self):
        """The value as a plain array; assigning replaces it in place (same shape),
        which is how optimisers update parameters without recording anything."""
        return raw(self)

    @data.setter
    def data(self, value) -> None:
        if self._prim is not None:
            raise GradkitError("Tensor.data: only leaf tensors can be assigned to")
        new = array_of(raw(value))
        old = self._value
        if type(old) is Tensor or new.shape != xp.shape(old):
            raise GradkitError(f"Tensor.data: new value has shape {new.shape}, the tensor "
                               f"has shape {xp.shape(old)}")
        self._value = new.astype(old.dtype, copy=False)

    @property
    def grad(self):
        """Accumulated gradient of a leaf tensor after ``.backward()`` (None before)."""
        try:
            return self._grad
        except AttributeError:
            return None

    @grad.setter
    def grad(self, value):
        if value is None:
            self._grad = None
            return
        g = array_of(raw(value))
        if g.shape != self.shape or g.dtype != self.dtype:
            raise GradkitError(f"Tensor.grad: assigned a gradient of {g.dtype}{list(g.shape)} "
                               f"to a tensor of {self.dtype}{list(self.shape)}; they must "
                               f"match")
        self._grad = Tensor(g)

    def __len__(self) -> int:
        shape = self.shape
        if not shape:
            raise TypeError("len() of a 0-d tensor")
        return shape[0]

    def __hash__(self):
        return id(self)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    # -- conversion ---------------------------------------------------------------------
    # A traced value converted to a plain array or number leaves the trace: its derivative
    # would silently become zero. Those conversions raise instead; bool() stays allowed,
    # so Python control flow on values works (as in JAX's grad).
    def _refuse(self, what: str) -> None:
        if holds_batch(self):
            raise ConversionError(
                f"{what} of a batched value inside gradkit.vmap would mix the examples of "
                f"the batch; compute with gradkit.numpy functions instead of NumPy or math")
        if self._trace > EAGER:
            raise ConversionError(
                f"{what} of a traced value inside a gradkit transform would drop its "
                f"derivative; compute with gradkit.numpy functions instead of NumPy or "
                f"math, or take gradkit.stop_gradient(x) and convert outside the transform")

    def _not_one(self, what: str) -> str:
        return (f"{what} of a Tensor of shape {self.shape}: only a tensor of one element "
                f"(a 0-d one for float() and int()) converts to a Python number")

    def numpy(self):
        """The value as a NumPy array, without gradient information (as ``detach()``).

        Refused for a traced value inside a transform (it would drop the derivative).
        """
        self._refuse("Tensor.numpy()")
        return raw(self)

    def item(self):
        """The value of a one-element tensor as a Python number."""
        self._refuse("Tensor.item()")
        try:
            return raw(self).item()
        except ValueError:
            raise ValueError(self._not_one("Tensor.item()")) from None

    def tolist(self):
        """The value as nested Python lists of numbers (as ``ndarray.tolist``)."""
        self._refuse("Tensor.tolist()")
        return xp.asarray(raw(self)).tolist()

    def detach(self) -> Tensor:
        """A constant tensor with the same value, cut from every graph."""
        return Tensor(raw(self))

    def __array__(self, dtype=None, copy=None):
        if self._trace >= EAGER:
            if self._trace == EAGER:
                raise ConversionError(
                    "converting a Tensor that requires grad to a NumPy array (numpy.asarray, "
                    "numpy.array or a NumPy function) would drop its gradient; use "
                    "tensor.detach() (or tensor.numpy()) for the value, or gradkit.numpy "
                    "functions to keep the gradient")
            self._refuse("numpy.asarray (or another NumPy conversion, or indexing a NumPy "
                         "array with it: gradkit.numpy.take(array, index) batches)")
        value = xp.asarray(raw(self), dtype=dtype)
        return value.copy() if copy else value

    def __float__(self):
        self._refuse("float()")
        try:
            return float(raw(self))
        except TypeError:
            raise TypeError(self._not_one("float()")) from None

    def __int__(self):
        self._refuse("int()")
        try:
            return int(raw(self))
        except TypeError:
            raise TypeError(self._not_one("int()")) from None

    def __complex__(self):
        self._refuse("complex()")
        return complex(raw(self))

    def __index__(self):
        self._refuse("Using as an index (__index__)")
        return raw(self).__index__()

    def __bool__(self):
        if holds_batch(self):
            raise ConversionError(
                "bool() of a batched value inside gradkit.vmap: Python control flow would "
                "need one answer for the whole batch; use gradkit.numpy.where instead")
        return bool(raw(self))

    def __repr__(self):
        body = repr(xp.asarray(plain(self)))
        body = body[body.index("(") + 1: body.rindex(")")] if body.startswith("array(") else body
        extra = ""
        if self._prim is BATCHED:
            extra = f", batched on axis 0 of trace {self._trace}"
        elif self._trace > EAGER:
            extra = f", trace={self._trace}"
        elif self._trace == EAGER and self._prim is not None:
            extra = f", grad_fn={self._prim.__name__}"
        elif self._trace == EAGER:
            extra = ", requires_grad=True"
        return f"Tensor({body}{extra})"

    # -- PyTorch-style backward ---------------------------------------------------------
    def backward(self, gradient=None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs=None) -> None:
        """Accumulate the gradient of this tensor into ``.grad`` of the leaves it depends on.

        Parameters
        ----------
        gradient : array_like, optional
            The cotangent to start from; required unless the tensor has one element.
        retain_graph : bool, optional
            Accepted for PyTorch's sake: gradkit never frees a graph, so ``backward`` may
            always be called again on the same graph.
        create_graph : bool, default False
            ``True`` (a differentiable backward pass) is refused: use the functional
            transforms (``grad(grad(f))``, ``hessian``) for higher derivatives.
        inputs : Tensor or sequence of Tensor, optional
            Accumulate only into these leaves.

        Examples
        --------
        >>> import gradkit as gk
        >>> w = gk.tensor([1.0, 2.0], requires_grad=True)
        >>> loss = (w * w).sum()
        >>> loss.backward(retain_graph=True)
        >>> loss.backward()
        >>> w.grad
        Tensor([4., 8.])
        """
        if self._trace != EAGER:
            raise GradkitError(
                "Tensor.backward: this tensor does not require grad and has no graph; "
                "create its inputs with requires_grad=True"
            )
        if create_graph:
            raise GradkitError("Tensor.backward: create_graph=True is not supported; use the "
                               "functional transforms (gradkit.grad, hessian) for higher "
                               "derivatives")
        shape = self.shape
        if gradient is None:
            if int(xp.prod(shape)) != 1:
                raise GradkitError(
                    f"Tensor.backward: gradient can be created implicitly only for a tensor "
                    f"with one element, this one has shape {shape}; pass gradient="
                )
            g = xp.ones(shape, dtype=self.dtype)
        else:
            g = array_of(raw(gradient), dtype=self.dtype)
            if g.shape != shape:
                raise GradkitError(
                    f"Tensor.backward: gradient has shape {g.shape}, the tensor has shape {shape}"
                )
        wanted = None
        if inputs is not None:
            inputs = (inputs,) if type(inputs) is Tensor else tuple(inputs)
            if not inputs:
                raise GradkitError("Tensor.backward: inputs= is empty; pass the leaves to "
                                   "accumulate into, or None for all of them")
            for t in inputs:
                if type(t) is not Tensor or t._prim is not None or t._trace != EAGER:
                    raise GradkitError("Tensor.backward: inputs= takes leaf tensors created "
                                       "with requires_grad=True (an intermediate's gradient: "
                                       "gradkit.grad of the function that makes it)")
            wanted = {id(t) for t in inputs}
        grads, leaves = backward_pass(self, g)
        for leaf in leaves:
            if leaf._trace == EAGER and (wanted is None or id(leaf) in wanted):
                ct = grads.get(id(leaf))
                if ct is None:
                    continue
                ct = array_of(raw(_run_hooks(leaf, ct)), dtype=leaf.dtype)
                old = leaf.grad
                with xp.errstate(invalid="ignore", over="ignore"):  # inf + -inf: NaN, as ever
                    leaf._grad = Tensor(ct if old is None else old._value + ct)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Start (or stop) recording operations on this leaf tensor, in place; returns it.

        Examples
        --------
        >>> import gradkit as gk
        >>> gk.tensor([1.0]).requires_grad_().requires_grad
        True
        """
        if self._prim is not None:
            raise GradkitError("Tensor.requires_grad_: only leaf tensors can change "
                               "requires_grad; use .detach() for a constant copy")
        if self._trace > EAGER:
            raise GradkitError("Tensor.requires_grad_: not on a traced value inside a "
                               "transform")
        if requires_grad and not xp.issubdtype(self.dtype, xp.inexact):
            raise GradkitError(f"Tensor.requires_grad_: only floating-point tensors can "
                               f"require gradients, got dtype {self.dtype}")
        self._trace = EAGER if requires_grad else CONST
        return self

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed by ``backward()``.

        The hook receives the gradient as a Tensor and may return a replacement (or
        None to keep it). Returns a handle whose ``remove()`` unregisters the hook.

        Examples
        --------
        >>> import gradkit as gk
        >>> w = gk.tensor([1.0, 2.0], requires_grad=True)
        >>> handle = w.register_hook(lambda g: g * 10)
        >>> (w * w).sum().backward()
        >>> w.grad
        Tensor([20., 40.])
        """
        global _hooked
        if self._trace != EAGER:
            raise GradkitError("Tensor.register_hook: the tensor does not require grad; "
                               "hooks run in Tensor.backward()")
        if not callable(hook):
            raise GradkitError(f"Tensor.register_hook: hook must be callable, got "
                               f"{type(hook).__name__}")
        hooks = getattr(self, "_hooks", None)
        if hooks is None:
            hooks = self._hooks = []
        hooks.append(hook)
        _hooked += 1
        return _HookHandle(hooks, hook)

    def zero_grad(self) -> None:
        self._grad = None


class _HookHandle:
    def __init__(self, hooks: list, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        global _hooked
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)
            _hooked -= 1


def _run_hooks(node, g):
    hooks = getattr(node, "_hooks", None) if _hooked else None
    if not hooks:
        return g
    for hook in list(hooks):
        new = hook(Tensor(raw(g)))
        if new is not None:
            new = array_of(raw(new))
            if new.shape != xp.shape(raw(g)):
                raise GradkitError(f"Tensor.register_hook: the hook returned shape "
                                   f"{new.shape}, the gradient has shape {xp.shape(raw(g))}")
            g = new
    return g


_EMPTY: dict = {}
_new_tensor = object.__new__
# Creation order: a node is always created after its parents, so sorting by it gives a
# topological order without a second graph traversal.
_creation = itertools.count()


def _box(value, trace, prim, parents, args, kw):
    t = _new_tensor(Tensor)
    t._value = value
    t._trace = trace
    t._prim = prim
    t._parents = parents
    t._args = args
    t._kw = kw
    t._seq = next(_creation)
    return t


def leaf(value, trace: int) -> Tensor:
    """A box that starts a trace: no parents, gradients are read off it at the end."""
    return _box(value, trace, None, (), (), _EMPTY)


def tensor(data, requires_grad: bool = False, dtype=None) -> Tensor:
    """Create a :class:`Tensor` (as ``torch.tensor``).

    Examples
    --------
    >>> import gradkit as gk
    >>> gk.tensor([1.0, 2.0], requires_grad=True).requires_grad
    True
    """
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def holds_batch(x) -> bool:
    """Whether ``x`` is, or holds inside its boxes, a batched value of ``vmap``."""
    while type(x) is Tensor:
        if x._prim is BATCHED:
            return True
        x = x._value
    return False


def carries_derivative(x) -> bool:
    """Whether ``x`` is, or holds under its batch boxes, a box of a derivative trace."""
    while type(x) is Tensor:
        if x._prim is not BATCHED:
            return x._trace > CONST
        x = x._value
    return False


def raw(x):
    """The value of ``x`` without derivatives: the plain array inside its boxes.

    Inside ``vmap`` a batched value stays batched (a box of the batch around the plain
    array), so that a mask or a constant computed from it still has one entry per
    example; :func:`plain` unwraps everything.
    """
    while type(x) is Tensor:
        if x._prim is BATCHED:
            inner = raw(x._value)
            return x if inner is x._value else _box(inner, x._trace, BATCHED, (), (), _EMPTY)
        x = x._value
    return x


def batch_traces(x) -> tuple:
    """The vmap traces ``x`` is batched in, outermost box first."""
    traces = []
    while type(x) is Tensor:
        if x._prim is BATCHED:
            traces.append(x._trace)
        x = x._value
    return tuple(traces)


def rebatch(value, like):
    """``value``, computed on ``plain(like)``, boxed in the batches ``like`` carries (a
    constant: no derivative flows through it)."""
    for trace in reversed(batch_traces(like)):
        value = _box(value, trace, BATCHED, (), (), _EMPTY)
    return value


def plain(x):
    """The array inside every box of ``x``, a batch's too (its batch axis in front)."""
    while type(x) is Tensor:
        x = x._value
    return x


# -- modes ------------------------------------------------------------------------------
@contextmanager
def no_grad():
    """Stop recording PyTorch-style (eager) operations inside the block.

    The functional transforms (``grad``, ``vjp``...) keep working inside it.

    Examples
    --------
    >>> import gradkit as gk
    >>> w = gk.tensor(2.0, requires_grad=True)
    >>> with gk.no_grad():
    ...     y = w * 3
    >>> y.requires_grad
    False
    """
    global _grad_enabled
    before = _grad_enabled
    _grad_enabled = False
    try:
        yield
    finally:
        _grad_enabled = before


@contextmanager
def enable_grad():
    """Record eager operations again inside a ``no_grad`` block."""
    global _grad_enabled
    before = _grad_enabled
    _grad_enabled = True
    try:
        yield
    finally:
        _grad_enabled = before


@contextmanager
def debug_nans():
    """Raise :class:`~gradkit.NaNError` at the first traced operation that produces a NaN.

    Every recorded primitive and every derivative rule run in a backward pass is
    checked; outside this block NaN propagates as in NumPy, with no check on the hot
    path.

    Examples
    --------
    >>> import gradkit as gk, gradkit.numpy as gnp
    >>> with gk.debug_nans():
    ...     gk.grad(lambda x: gnp.sqrt(x - 2.0))(1.0)
    Traceback (most recent call last):
    ...
    gradkit.errors.NaNError: sqrt produced NaN (forward pass, output shape ())
    """
    global _debug_nans
    before = _debug_nans
    _debug_nans = True
    try:
        with xp.errstate(invalid="ignore", divide="ignore"):
            yield
    finally:
        _debug_nans = before


def _check_nan(value, where: str, phase: str) -> None:
    v = raw(value)
    if not isinstance(v, xp.ndarray | xp.generic | float):
        return  # not an array: the cotangents of a multi-output node, checked at its rule
    if xp.issubdtype(xp.result_type(v), xp.inexact) and xp.isnan(v).any():
        raise NaNError(f"{where} produced NaN ({phase}, output shape {xp.shape(v)})")


# -- primitives -------------------------------------------------------------------------
def _describe(a) -> str:
    if type(a) is Tensor or isinstance(a, xp.ndarray | xp.generic) or is_foreign(a):
        # (another library's dtype prints with its module: its last name is NumPy's)
        return f"{str(dtype_of(plain(a))).rsplit('.', 1)[-1]}{list(xp.shape(raw(a)))}"
    if isinstance(a, list | tuple):
        return "[" + ", ".join(_describe(b) for b in a[:6]) + (", ..." if len(a) > 6 else "") + "]"
    return type(a).__name__


def _refuse_foreign(name: str, args, kw, exc: Exception) -> None:
    """Raise ``op_error`` for any failure when an argument is another library's array
    (Dask...): that library lacks the operation. NumPy's own failures propagate."""
    if any(is_foreign(a) for a in args):
        raise op_error(name, args, kw, exc) from exc


def refuse_standard(name: str, args, kw, exc: Exception) -> None:
    """Raise a clear error for any failure of function ``name`` on arrays of a library
    that speaks only the Array API standard (array-api-strict...): a gradkit function
    built from NumPy calls beyond the standard's (the primitives' own failures are
    reported by the primitives)."""
    flat = [b for a in (*args, *kw.values()) for b in (a if isinstance(a, list | tuple) else (a,))]
    own = [v for v in map(plain, flat) if standard_only(v)]
    if own:
        library = library_of(own[0])
        raise OpError(f"{name}({', '.join(_describe(a) for a in args)}): {type(exc).__name__}:"
                      f" {exc} ({library} arrays: gradkit computes {name} with NumPy "
                      f"functions beyond the Array API standard; compute it on NumPy "
                      f"arrays)") from exc


def op_error(name: str, args, kw, exc: Exception) -> OpError:
    shown = ", ".join(_describe(a) for a in args)
    kws = "".join(f", {k}={v!r}" for k, v in kw.items())
    foreign = sorted({library_of(a) for a in args if is_foreign(a)})
    if not foreign:
        return OpError(f"{name}({shown}{kws}): {exc}")
    return OpError(f"{name}({shown}{kws}): {type(exc).__name__}: {exc} ({' and '.join(foreign)} "
                   f"arrays: that library does not compute {name} this way; compute it on "
                   f"NumPy arrays)")


def _doc(fwd, name: str, kind: str) -> str:
    module = getattr(fwd, "__module__", None) or ""
    if module.startswith("gradkit") and fwd.__doc__:
        return fwd.__doc__
    if module and not module.startswith(("gradkit", "numpy", "scipy", "functools")):
        return fwd.__doc__ or f"{kind} ``{name}``."  # a user's own primitive
    # NumPy's own docstrings carry doctests of NumPy's: point to them instead.
    return f"{kind} ``numpy.{name}``; see NumPy's documentation for the arguments."


def defprimitive(fwd, name: str | None = None, *vjps):
    """Define a differentiable primitive: a NumPy-level forward function and its rules.

    This is how gradkit defines each of its own primitives, and how to add one: a
    function NumPy computes fast, or whose derivative should not be the derivative of
    its steps (a solver, a stable formula, a kink given a chosen value).

    Parameters
    ----------
    fwd : callable
        ``fwd(*args, **kwargs)`` computes the value on plain NumPy arrays.
    name : str, optional
        The name shown in error messages, ``repr`` and ``debug_nans`` (default
        ``fwd.__name__``).
    *vjps : callable or None
        One vector-Jacobian rule per positional argument of ``fwd``, in order:
        ``rule(g, ans, *args, **kwargs)`` returns the cotangent of its argument given
        the cotangent ``g`` of the output ``ans``. ``None`` marks an argument that gets
        no gradient (an index, a mask, a shape); arguments past the last rule get none
        either.

    Returns
    -------
    callable
        The primitive: on plain arrays it calls ``fwd`` directly; on :class:`Tensor`
        arguments it computes the value and records itself, for every transform
        (``grad``, ``jacobian``, ``Tensor.backward``...). ``fwd`` and ``vjps`` are kept
        as its attributes of the same names.

    Notes
    -----
    Write the rules with gradkit operations (``gradkit.numpy``, or the primitive
    itself), not NumPy on their arguments: the arguments may be traced values, and a
    rule written in gradkit operations is differentiated in turn, which gives
    derivatives of any order. ``g`` may carry leading batch axes beyond ``ans``'s shape
    (``g.ndim - ans.ndim`` of them, how ``jacobian`` pushes every basis vector in one
    pass): a rule keeps them in front, and counts the axes it reduces over from the end.
    An argument that NumPy broadcast must get its cotangent summed back to its own
    shape. :func:`gradkit.check_grads` tests a new rule against finite differences.

    Examples
    --------
    >>> import numpy as np
    >>> import gradkit as gk, gradkit.numpy as gnp
    >>> def _logcosh(x):
    ...     return np.logaddexp(x, -x) - np.log(2.0)
    >>> logcosh = gk.defprimitive(_logcosh, "logcosh", lambda g, ans, x: g * gnp.tanh(x))
    >>> x = np.array([0.0, 1.0])
    >>> gk.elementwise_grad(logcosh)(x)                    # tanh(x)
    array([0.        , 0.76159416])
    >>> gk.elementwise_grad(gk.elementwise_grad(logcosh))(x)   # 1 - tanh(x)**2
    array([1.        , 0.41997434])
    """
    if name is not None and not isinstance(name, str):
        raise GradkitError(f"defprimitive: name must be a string or None (the rules come "
                           f"after it), got {type(name).__name__}")
    for i, rule in enumerate(vjps):
        if rule is not None and not callable(rule):
            raise GradkitError(f"defprimitive {name or fwd.__name__}: the rule for argument "
                               f"{i} must be callable or None, got {type(rule).__name__}")
    name = name or fwd.__name__

    def prim(*args, **kw):
        for a in args:
            t = type(a)
            if t is Tensor:
                return _apply(prim, args, kw)
            if t not in NUMPY_ROUTE:
                if any(type(b) is Tensor for b in args):
                    return _apply(prim, args, kw)
                one_library(args)
                if standard_only(a):
                    return _call_standard(prim, args, kw)
        try:
            return fwd(*args, **kw)
        except ConversionError as e:  # a list or tuple of traced values
            return call_lifted(prim, args, kw, e)
        except GradkitError:
            raise
        except (ValueError, TypeError, IndexError, xp.linalg.LinAlgError) as e:
            raise op_error(name, args, kw, e) from e
        except Exception as e:
            _refuse_foreign(name, args, kw, e)
            raise

    prim.__name__ = name
    prim.__qualname__ = name
    prim.__doc__ = _doc(fwd, name, "Differentiable")
    prim.fwd = fwd
    prim.vjps = vjps
    # A rule for all arguments at once, ``joint(g, node)`` returning the cotangents of
    # node's parents: gradkit's own concatenate and einsum set it after defining them.
    prim.joint = None
    prim.ufunc = isinstance(fwd, xp.ufunc)  # NumPy's ufunc keywords: refused when traced
    return prim


def _inexact(x: Tensor) -> bool:
    """Whether ``x`` holds floating or complex values (which have derivatives)."""
    return xp.dtype(dtype_of(plain(x))).kind in "fc"


def _apply(prim, args, kw):
    if kw and prim.ufunc:
        raise GradkitError(
            f"{prim.__name__}: the ufunc keyword {next(iter(kw))}= is not supported on traced "
            f"values (a traced result is always a new array); apply it to the result instead, "
            f"e.g. with gradkit.numpy.where or astype")
    top = CONST
    box = None
    for a in args:
        if type(a) is Tensor and a._trace > top:
            top = a._trace
            box = a
    if top == EAGER and not _grad_enabled:
        top = CONST
    if top == CONST:
        out = prim(*[a._value if type(a) is Tensor else a for a in args], **kw)
        return Tensor(out) if isinstance(out, xp.ndarray | xp.generic) or (
            type(out) is not tuple and standard_only(out)) else out
    if box._prim is BATCHED:
        return _batching.apply_batched(prim, args, kw, top)
    unboxed = []
    parents = []
    vjps = prim.vjps
    joint = prim.joint is not None
    nested = False
    for i, a in enumerate(args):
        if type(a) is Tensor:
            t = a._trace
            if t == top:
                if joint or (i < len(vjps) and vjps[i] is not None):
                    parents.append((i, a))
                elif i >= len(vjps) and _inexact(a):  # None would mark it as meant
                    raise GradkitError(
                        f"{prim.__name__}: argument {i} has no derivative rule, and a traced "
                        f"value there would silently get a zero gradient; pass "
                        f"gradkit.stop_gradient(value) if none is wanted")
                a = a._value
                if type(a) is Tensor:
                    nested = True
            elif t == CONST or (t == EAGER and not _grad_enabled):
                a = raw(a)
            else:
                nested = True
        unboxed.append(a)
    # Below the top trace: recurse so lower traces record too (straight to _apply: a
    # box is among the arguments, prim would only look for it); otherwise go straight
    # to NumPy.
    try:
        value = _apply(prim, unboxed, kw) if nested else _call_fwd(prim, unboxed, kw)
    except ConversionError as e:
        return call_lifted(prim, args, kw, e)
    if _debug_nans:
        _check_nan(value, f"{prim.__name__}", "forward pass")
    if not parents:
        return value
    return _box(value, top, prim, tuple(parents), tuple(unboxed), kw or _EMPTY)


def holds_tensor(obj) -> bool:
    """Whether ``obj`` is a Tensor or a (nested) list or tuple holding one."""
    if type(obj) is Tensor:
        return True
    if isinstance(obj, list | tuple):
        for o in obj:
            if holds_tensor(o):
                return True
    return False


def _raw_nested(obj):
    if isinstance(obj, list | tuple) and holds_tensor(obj):
        return [_raw_nested(o) for o in obj]
    return raw(obj)


def call_lifted(f, args, kw, error: ConversionError):
    """``f`` again, with every list or tuple that holds Tensors stacked into one traced
    array; ``error`` again when there is none (it was about something else).

    Called only after NumPy refused to convert a traced value, so it costs nothing on the
    usual path.
    """
    from .arguments import array_from_nested  # it imports this module

    lifted = False

    def lift(a):
        nonlocal lifted
        if isinstance(a, list | tuple) and holds_tensor(a):
            lifted = True
            return array_from_nested(a)
        return a

    new_args = [lift(a) for a in args]
    new_kw = {k: lift(v) for k, v in kw.items()}
    if not lifted:
        raise error
    return f(*new_args, **new_kw)


def _call_fwd(prim, args, kw):
    for a in args:
        if type(a) not in NUMPY_ROUTE:
            one_library(args)
            if standard_only(a):
                return _call_standard(prim, args, kw)
    try:
        return prim.fwd(*args, **kw)
    except GradkitError:
        raise
    except (ValueError, TypeError, IndexError, xp.linalg.LinAlgError) as e:
        raise op_error(prim.__name__, args, kw, e) from e
    except Exception as e:
        _refuse_foreign(prim.__name__, args, kw, e)
        raise


def _call_standard(fn, args, kw, fwd=None):
    """``fn``'s forward on arrays of a library that speaks only the Array API standard,
    through that library's namespace; a clear error where the standard lacks it."""
    from .standard import standard_forward, to_namespace  # only when such arrays arrive

    fwd = fn.fwd if fwd is None else fwd
    own = [a for a in args if standard_only(a)]
    ns = namespace(*own)
    f = standard_forward(fwd, ns)
    library = ns.__name__.split(".")[0]
    if f is None:
        raise OpError(f"{fn.__name__}({', '.join(_describe(a) for a in args)}): {library} "
                      f"arrays: the Array API standard has no {fn.__name__}; compute it on "
                      f"NumPy arrays")
    device = own[0].device
    try:
        return f(*to_namespace(args, ns, device), **to_namespace(kw, ns, device))
    except GradkitError:
        raise
    except Exception as e:
        raise OpError(f"{fn.__name__}({', '.join(_describe(a) for a in args)}): "
                      f"{type(e).__name__}: {e} ({library} arrays: gradkit computes them "
                      f"with the Array API standard alone, which has no {fn.__name__} this "
                      f"way; compute it on NumPy arrays)") from e


def nondifferentiable(fwd, name: str | None = None):
    """Wrap a NumPy function whose result carries no gradient (comparisons, argmax...)."""
    name = name or fwd.__name__

    def nd(*args, **kw):
        for a in args:
            if type(a) is Tensor and holds_batch(a):
                return _batching.apply_batched_constant(nd, args, kw)
        try:
            plain_args = [raw(a) for a in args]
            for a in plain_args:
                if type(a) not in NUMPY_ROUTE:
                    one_library(plain_args)
                    if standard_only(a):
                        return _call_standard(nd, plain_args, kw, fwd)
            return fwd(*plain_args, **{k: raw(v) for k, v in kw.items()})
        except ConversionError:  # Tensors inside lists: their values, as for a bare Tensor
            return nd(*[_raw_nested(a) for a in args],
                      **{k: _raw_nested(v) for k, v in kw.items()})
        except GradkitError:
            raise
        except (ValueError, TypeError, IndexError) as e:
            raise op_error(name, args, kw, e) from e
        except Exception as e:
            _refuse_foreign(name, [raw(a) for a in args], kw, e)
            raise

    nd.__name__ = name
    nd.__qualname__ = name
    nd.__doc__ = _doc(fwd, name, "Non-differentiable (no gradient flows through it)")
    nd.differentiable = False
    nd.ufunc = isinstance(fwd, xp.ufunc)  # elementwise: vmap maps it without a rule
    return nd


# -- the backward pass ------------------------------------------------------------------
def _toposort(end: Tensor) -> list:
    """Nodes reachable from ``end``, each after every node that consumes it."""
    seen = {id(end)}
    nodes = [end]
    stack = [end]
    while stack:
        for _, p in stack.pop()._parents:
            k = id(p)
            if k not in seen:
                seen.add(k)
                nodes.append(p)
                stack.append(p)
    nodes.sort(key=_by_creation, reverse=True)
    return nodes


_by_creation = attrgetter("_seq")


def backward_pass(end: Tensor, g) -> tuple[dict, list]:
    """Propagate cotangent ``g`` from ``end`` to every node of its trace.

    Returns the cotangents of the leaves, keyed by ``id``, and the leaves themselves.
    """
    # A rule at a pole or a kink may produce inf or NaN: that is the derivative's honest
    # value (as in JAX and PyTorch), not a NumPy warning to raise; debug_nans() names it.
    with xp.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return _backward_pass(end, g)


def _backward_pass(end: Tensor, g) -> tuple[dict, list]:
    try:
        if type(g) is xp.ndarray or not standard_only(plain(g)):
            return _backward_steps(end, g)
        # A library of the standard alone (array-api-strict) raises, rather than defers,
        # when a Tensor is on the right of its operator: its arrays enter the rules boxed.
        grads, leaves = _backward_steps(end, _const_box(g), True)
        return {k: v._value if type(v) is Tensor and v._trace == CONST else v
                for k, v in grads.items()}, leaves
    except GradkitError:
        raise
    except Exception as e:
        refuse_standard("the backward pass", [end], {}, e)
        raise


def _const_box(a):
    return Tensor(a) if type(a) is not Tensor and standard_only(a) else a


def _backward_steps(end: Tensor, g, boxed: bool = False) -> tuple[dict, list]:
    grads = {id(end): g}
    leaves = []
    check = _debug_nans
    for node in _toposort(end):
        parents = node._parents
        if not parents:
            leaves.append(node)
            continue
        g = grads.pop(id(node), None)
        if g is None:
            continue
        if _hooked:
            g = _run_hooks(node, g)
        prim = node._prim
        value, args = node._value, node._args
        if boxed:
            value, args = _const_box(value), tuple(_const_box(a) for a in args)
        if prim.joint is not None:
            cts = prim.joint(g, node)
        elif len(parents) == 1:
            cts = (prim.vjps[parents[0][0]](g, value, *args, **node._kw),)
        else:
            vjps = prim.vjps
            kw = node._kw
            cts = [vjps[i](g, value, *args, **kw) for i, _ in parents]
        for (i, p), ct in zip(parents, cts):
            if check:
                _check_nan(ct, f"the derivative rule of {prim.__name__} (argument {i})",
                           "backward pass")
            k = id(p)
            prev = grads.get(k)
            grads[k] = ct if prev is None else prev + ct
    return grads, leaves
